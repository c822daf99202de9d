"""Weight files: `tm.save` / `tm.load` write and read state dicts as plain, safe .npz files.

A weight file is a NumPy .npz archive (a zip of .npy arrays) that `numpy.load(path,
allow_pickle=False)` reads, whatever its name says: `tm.save(model.state_dict(), "model.pt")`
writes exactly `model.pt`, in this format. Loading never unpickles, so opening a weight file can
never run code (a PyTorch `.pt` file is a pickle, and is refused with the recipe to convert it).

- A state dict ({name: array}) is stored as it is: one .npy entry per key, plus one JSON
  metadata entry (`METADATA_KEY`: when it was saved, and what `metadata=` adds).
- A checkpoint of nested dicts, lists and numbers, such as
  `{"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}`, stores each array
  as an entry named by its path ("model/conv.weight", "optimizer/state/0/exp_avg") and the
  shape of the tree, with its numbers, strings and the array entries' names, as JSON
  (`STRUCTURE_KEY`). `tm.load` rebuilds the same dicts (int keys stay ints), lists and tuples.

Saving writes a temporary file `.NAME.XXXXXXXX.tmp` in the same folder and renames it into place,
so an interrupted save leaves the previous file intact. A save killed outright (the process
gone) cannot remove its temporary file; the next save to the same path removes such leftovers
(only names of that pattern, and only those last written before this process imported tinymed).
"""
import collections.abc
import datetime
import json
import os
import re
import tempfile
import time
import zipfile
import zlib

import numpy as np

from tinymed import validate
from tinymed.autograd import Tensor

__all__ = ["save", "load", "load_metadata", "state_arrays", "METADATA_KEY", "STRUCTURE_KEY"]

METADATA_KEY = "__tinymed_metadata__"
STRUCTURE_KEY = "__tinymed_structure__"
_RESERVED = (METADATA_KEY, STRUCTURE_KEY)
_NUMERIC_KINDS = "biuf"
_STARTED = time.time()  # temp files last written before this are not from a save of this process

_FROM_PYTORCH = (
    "{where}: {path!r} is a PyTorch file (torch.save writes Python pickles, and loading a pickle "
    "can run any code, so tinymed never opens one). Convert it once, in PyTorch: "
    "state = torch.load({path!r}, weights_only=True) (or state = model.state_dict()); "
    "np.savez('weights.npz', **{{k: v.detach().cpu().numpy() for k, v in state.items()}}); "
    "then tm.load('weights.npz')"
)

# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------


def save(obj, path, metadata=None):
    """Write `obj` to the weight file `path` (any name: "model.npz", "model.pt"), atomically.

    obj: a state dict {name: array or Tensor}, or a checkpoint dict that nests dicts, lists,
    tuples, numeric arrays, numbers, strings and None. metadata: a JSON-serialisable dict (what
    the weights were trained on, with which seed...), stored with the time of saving; read it
    back with `load_metadata`. As `torch.save(obj, path)`, but never a pickle.
    """
    arrays, structure = _encode(obj)
    if metadata is not None and not isinstance(metadata, collections.abc.Mapping):
        raise TypeError(f"save: metadata must be a dict or None, got {type(metadata).__name__}")
    info = {"saved_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    info.update(metadata or {})
    try:
        entries = {METADATA_KEY: np.array(json.dumps(info))}
    except (TypeError, ValueError) as e:
        raise TypeError(f"save: metadata must be JSON-serialisable: {e}") from None
    if structure is not None:
        entries[STRUCTURE_KEY] = np.array(json.dumps(structure))
    path = validate.file_path(path, "save: path")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: the folder {folder!r} does not exist")
    _remove_stale_temp_files(path)
    _write_atomically(path, {**arrays, **entries})


def _encode(obj):
    """({entry name: array}, structure or None): None for a flat state dict of arrays."""
    if hasattr(obj, "state_dict") and hasattr(obj, "parameters"):
        raise TypeError(f"save: got the model {type(obj).__name__} itself; tinymed saves state dicts only "
                        f"(no pickles): tm.save(model.state_dict(), path)")
    if not isinstance(obj, collections.abc.Mapping):
        raise TypeError(f"save: state_dict must be a dict of arrays (or a checkpoint dict), got {type(obj).__name__}")
    for key in obj:
        if key in _RESERVED:
            raise ValueError(f"save: {key!r} is a name tinymed keeps for itself; rename that key")
    if (all(isinstance(k, str) and "\x00" not in k for k in obj)  # a zip member's name ends at a NUL
            and all(isinstance(v, (np.ndarray, Tensor)) for v in obj.values())):
        return state_arrays(obj, "save"), None
    arrays = {}
    return arrays, _tree(obj, "", arrays)


def _numeric(value, name):
    """A Tensor's or an array's numeric array (what a .npy entry may hold)."""
    array = value.data if isinstance(value, Tensor) else value
    if not isinstance(array, np.ndarray) or array.dtype.kind not in _NUMERIC_KINDS:
        what = f"an array of dtype {array.dtype}" if isinstance(array, np.ndarray) else type(array).__name__
        hint = " (a checkpoint? pass its state dict, e.g. checkpoint['model'])" if isinstance(array, dict) else ""
        raise TypeError(f"{name} must be a numeric np.ndarray, got {what}{hint}")
    return array


def _tree(obj, name, arrays):
    """A JSON description of `obj`; its arrays go into `arrays` under their path as entry name.

    A node is a JSON number, string, bool or null, or one of {"array": entry name},
    {"list": [nodes]}, {"tuple": [nodes]}, {"dict": [[key, node], ...]} (pairs keep int keys ints).
    """
    if isinstance(obj, (np.ndarray, Tensor)):
        entry = (name or "array").replace("\x00", "\\0")
        while entry in arrays or entry in _RESERVED:
            entry += "'"
        arrays[entry] = _numeric(obj, f"save: {name!r}")
        return {"array": entry}
    if isinstance(obj, collections.abc.Mapping):
        pairs = []
        for key, value in obj.items():
            if not (isinstance(key, str) or validate.is_int(key)):
                raise TypeError(f"save: {name or 'the dict'!r} has the key {key!r}; keys must be strings or ints")
            key = key if isinstance(key, str) else int(key)
            pairs.append([key, _tree(value, f"{name}/{key}" if name else str(key), arrays)])
        return {"dict": pairs}
    if isinstance(obj, (list, tuple)):
        kind = "tuple" if isinstance(obj, tuple) else "list"
        return {kind: [_tree(v, f"{name}/{i}", arrays) for i, v in enumerate(obj)]}
    if isinstance(obj, np.generic) and obj.dtype.kind in _NUMERIC_KINDS:
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"save: {name!r} is a {type(obj).__name__}; a weight file holds numeric arrays, numbers, "
                    f"strings, None, and lists, tuples and dicts of them")


def _write_atomically(path, entries):
    """np.savez into a temporary file beside `path`, then rename it into place."""
    folder, base = os.path.split(os.path.abspath(path))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{base}.", suffix=".tmp")
        os.chmod(tmp, _new_file_mode(path))  # mkstemp makes it private (0600); give the usual mode
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **entries)  # to an open file: NumPy adds no ".npz" to the name
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        _unlink(tmp)
        raise type(e)(e.errno, f"save: cannot write {path!r}: {e.strerror} (is the folder writable?)") from None
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(path):
    if path is not None and os.path.exists(path):
        os.unlink(path)


def _remove_stale_temp_files(path):
    """Remove what killed saves to `path` left: `.NAME.XXXXXXXX.tmp` (mkstemp's 8 characters),
    last written before this process imported tinymed, so never a save that is running here."""
    folder, base = os.path.split(os.path.abspath(path))
    pattern = re.compile(rf"\.{re.escape(base)}\.[a-z0-9_]{{8}}\.tmp")
    for name in os.listdir(folder):
        if pattern.fullmatch(name):
            leftover = os.path.join(folder, name)
            try:
                if os.path.getmtime(leftover) < _STARTED:
                    os.unlink(leftover)
            except OSError:
                pass  # removed meanwhile, or not ours to remove: the save goes on


def _new_file_mode(path):
    """The mode of the file being replaced, or what a plain open() would give (0666 - umask)."""
    if os.path.exists(path):
        return os.stat(path).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def load(path, map_location=None, weights_only=True):
    """Read a weight file written by `save` (or by `numpy.savez`): {key: array}, or the
    checkpoint's nested dicts.

    Only numeric arrays are read; a file holding pickled objects is refused without being
    unpickled, and so is a PyTorch .pt file (the message says how to convert it). A missing file
    is a FileNotFoundError; a truncated, corrupt or foreign one a ValueError naming the file.
    The metadata entry is left out (see `load_metadata`). `map_location` ("cpu") and
    `weights_only` are accepted for PyTorch's `torch.load(path, map_location=...)`: tinymed
    always loads on the CPU and only ever weights.
    """
    validate.device(map_location, "load: map_location")
    validate.boolean(weights_only, "load: weights_only")
    path = validate.file_path(path, "load: path")
    with _open(path, "load") as archive:
        arrays = {}
        for key in archive.files:
            if key in _RESERVED:
                continue
            array = _read(archive, path, key, "load")
            if array.dtype.kind not in _NUMERIC_KINDS:
                raise ValueError(f"load: {path!r} entry {key!r} has dtype {array.dtype}, not a numeric array")
            arrays[key] = array
        if STRUCTURE_KEY not in archive.files:
            return arrays
        structure = _json(archive, path, STRUCTURE_KEY, "load")
    return _rebuild(structure, arrays, path)


def load_metadata(path):
    """The metadata dict stored by `save` ({} for a plain .npz without it)."""
    path = validate.file_path(path, "load_metadata: path")
    with _open(path, "load_metadata") as archive:
        if METADATA_KEY not in archive.files:
            return {}
        info = _json(archive, path, METADATA_KEY, "load_metadata")
    if not isinstance(info, dict):
        raise ValueError(f"load_metadata: {path!r} holds metadata that is a JSON {type(info).__name__}, "
                         f"not an object {{...}}; it was not written by tm.save")
    return info


def _open(path, where):
    """The NpzFile at `path`, after checking by its first bytes that it is a zip of .npy files."""
    validate.existing_file(path, where, "weight file")
    with open(path, "rb") as f:
        head = f.read(6)
    if head.startswith(b"\x80"):  # a pickle (protocol 2+): PyTorch's legacy format, or worse
        raise ValueError(_FROM_PYTORCH.format(where=where, path=path))
    if head.startswith(b"\x93NUMPY"):
        raise ValueError(f"{where}: {path!r} holds a single .npy array, not a .npz weight file")
    if not head.startswith(b"PK"):
        raise ValueError(f"{where}: {path!r} is not a .npz weight file (write weight files with tm.save or numpy.savez)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{where}: {path!r} is not a .npz weight file (or is truncated or corrupt): {e}") from None
    if any(name == "data.pkl" or name.endswith("/data.pkl") for name in archive.files):
        archive.close()
        raise ValueError(_FROM_PYTORCH.format(where=where, path=path))
    return archive


def _read(archive, path, key, where):
    try:
        value = archive[key]
    except ValueError as e:
        if "pickle" in str(e) or "Object arrays" in str(e):
            raise ValueError(
                f"{where}: {path!r} entry {key!r} holds pickled Python objects; tinymed never "
                f"unpickles (loading a pickle can run arbitrary code)"
            ) from None
        raise ValueError(f"{where}: {path!r} entry {key!r} is corrupt: {e}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as e:
        raise ValueError(f"{where}: {path!r} is truncated or corrupt (entry {key!r}): {e}") from None
    if not isinstance(value, np.ndarray):  # NumPy hands over the raw bytes of a member without a .npy header
        raise ValueError(f"{where}: {path!r} entry {key!r} is not a .npy array (it has no .npy header); "
                         f"the file was not written by tm.save or numpy.savez")
    return value


def _json(archive, path, key, where):
    text = str(_read(archive, path, key, where))
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ValueError(f"{where}: {path!r} entry {key!r} is not valid JSON ({e})") from None


def _rebuild(node, arrays, path):
    """The object a structure entry describes (see `_tree`); anything else is a damaged file."""
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, dict) and len(node) == 1:
        (kind, content), = node.items()
        if kind == "array" and isinstance(content, str) and content in arrays:
            return arrays[content]
        if kind in ("list", "tuple") and isinstance(content, list):
            items = [_rebuild(c, arrays, path) for c in content]
            return tuple(items) if kind == "tuple" else items
        if kind == "dict" and isinstance(content, list) and all(
                isinstance(p, list) and len(p) == 2 and isinstance(p[0], (str, int)) for p in content):
            return {key: _rebuild(value, arrays, path) for key, value in content}
    raise ValueError(f"load: {path!r} has a damaged {STRUCTURE_KEY!r} entry (at {str(node)[:60]!r})")


def state_arrays(state_dict, where):
    """`state_dict` checked as {str key: numeric array} (Tensors read as their arrays)."""
    if not isinstance(state_dict, collections.abc.Mapping):
        raise TypeError(f"{where}: state_dict must be a dict of arrays, got {type(state_dict).__name__}")
    for key in state_dict:
        if not isinstance(key, str) or key in _RESERVED:
            raise ValueError(f"{where}: keys must be strings other than {_RESERVED}, got {key!r}")
    return {key: _numeric(value, f"{where}: {key!r}") for key, value in state_dict.items()}
