"""Transfer learning: weight files, loading pre-trained weights, freezing layers, fine-tuning.

Networks are data-hungry and medical data sets are small. The recipe:

1. **Pre-train** a network on a large, general data set. Its early layers learn generic
   features (edges, blobs, textures) that almost any image task needs; its later layers learn
   features specific to that task.
2. **Transfer** the weights into the network for the medical task (`load_pretrained`). Layers
   whose shape differs, typically the classifier head (10 shape classes vs 1 disease), are
   skipped and stay freshly initialised.
3. **Fine-tune** on the medical data, in one of two ways:

   - **only the later layers**, with the early ones frozen (`freeze_to(model, n)`). Choose this
     when the medical set is small: there are few parameters to fit, so little room to overfit,
     and the early layers' generic edge and texture detectors need no re-learning.
   - **all layers** (`freeze_to(model, 0)`), usually with a smaller learning rate for the
     pre-trained body than for the new head (`param_groups`). Choose this when there is more
     data, or when the images differ a lot from the pre-training images (grey-scale X-rays vs
     natural photos): then even the early features profit from adapting.

   Why the *early* layers are the ones to freeze: features grow from generic to specific with
   depth, so the shallow layers transfer best, while the deep layers and the head are the ones
   that must learn the new task.

Weight files are plain `.npz` (readable with `numpy.load(path, allow_pickle=False)`), holding
the state dict's keys as they are plus one JSON metadata entry. Loading never unpickles, so
opening a weight file can never run code. Saving writes a temporary file in the same folder and
renames it into place, so an interrupted save leaves the previous file intact.

Weights from PyTorch: export them as NumPy arrays and load them strictly into the matching
tinymed model (the keys and layouts are PyTorch's)::

    state = {k: v.detach().cpu().numpy() for k, v in torch_model.state_dict().items()}
    tm.save(state, "simplecnn.npz", metadata={"source": "PyTorch"})
    model.load_state_dict(tm.load("simplecnn.npz"))            # strict=True
"""
import collections.abc
import datetime
import fnmatch
import json
import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field

import numpy as np

from tinymed.autograd import Tensor
from tinymed.nn.module import Module

METADATA_KEY = "__tinymed_metadata__"
_NUMERIC_KINDS = "biuf"

# ---------------------------------------------------------------------------------------------
# Weight files
# ---------------------------------------------------------------------------------------------


def _numeric_arrays(state_dict, where):
    if not isinstance(state_dict, collections.abc.Mapping):
        raise TypeError(f"{where}: state_dict must be a dict of arrays, got {type(state_dict).__name__}")
    arrays = {}
    for key, value in state_dict.items():
        if not isinstance(key, str) or key == METADATA_KEY:
            raise ValueError(f"{where}: keys must be strings other than {METADATA_KEY!r}, got {key!r}")
        value = value.data if isinstance(value, Tensor) else value
        if not isinstance(value, np.ndarray) or value.dtype.kind not in _NUMERIC_KINDS:
            what = f"an array of dtype {value.dtype}" if isinstance(value, np.ndarray) else type(value).__name__
            raise TypeError(f"{where}: {key!r} must be a numeric np.ndarray, got {what}")
        arrays[key] = value
    return arrays


def save(state_dict, path, metadata=None):
    """Write `state_dict` ({key: numeric array}) to the .npz file `path`, atomically.

    metadata: a JSON-serialisable dict (what the weights were trained on, with which seed...),
    stored beside the arrays with the time of saving; read it back with `load_metadata`.
    The file is written to a temporary file in the same folder and renamed into place, so an
    interrupted or failed save leaves any previous file at `path` untouched.
    """
    arrays = _numeric_arrays(state_dict, "save")
    if metadata is not None and not isinstance(metadata, collections.abc.Mapping):
        raise TypeError(f"save: metadata must be a dict or None, got {type(metadata).__name__}")
    info = {"saved_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    info.update(metadata or {})
    try:
        text = json.dumps(info)
    except (TypeError, ValueError) as e:
        raise TypeError(f"save: metadata must be JSON-serialisable: {e}") from None

    path = _path(path, "save")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: the folder {folder!r} does not exist")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        os.chmod(tmp, _new_file_mode(path))  # mkstemp makes it private (0600); give the usual mode
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays, **{METADATA_KEY: np.array(text)})
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _path(path, where):
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"{where}: path must be a file path (a str or pathlib.Path), got {type(path).__name__}")
    return os.fspath(path)


def _module(model, where):
    if not isinstance(model, Module):
        what = f"the class {model.__name__} (call it to make a model)" if isinstance(model, type) else type(model).__name__
        raise TypeError(f"{where}: model must be an nn.Module, got {what}")


def _new_file_mode(path):
    """The mode of the file being replaced, or what a plain open() would give (0666 - umask)."""
    if os.path.exists(path):
        return os.stat(path).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _open(path, where):
    path = _path(path, where)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{where}: no weight file at {path!r}")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{where}: {path!r} is not a .npz weight file (or is truncated or corrupt): {e}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{where}: {path!r} holds a single .npy array, not a .npz weight file")
    return archive


def _read(archive, path, key, where):
    try:
        return archive[key]
    except ValueError as e:
        if "pickle" in str(e) or "Object arrays" in str(e):
            raise ValueError(
                f"{where}: {path!r} entry {key!r} holds pickled Python objects; tinymed never "
                f"unpickles (loading a pickle can run arbitrary code)"
            ) from None
        raise ValueError(f"{where}: {path!r} entry {key!r} is corrupt: {e}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as e:
        raise ValueError(f"{where}: {path!r} is truncated or corrupt (entry {key!r}): {e}") from None


def load(path):
    """Read a weight file written by `save` (or by `numpy.savez`): {key: array}.

    Only numeric arrays are accepted; a file holding pickled objects is refused without being
    unpickled. A missing file is a FileNotFoundError; a truncated or corrupt one a ValueError
    naming the file. The metadata entry is left out (see `load_metadata`).
    """
    state = {}
    with _open(path, "load") as archive:
        for key in archive.files:
            if key == METADATA_KEY:
                continue
            array = _read(archive, path, key, "load")
            if array.dtype.kind not in _NUMERIC_KINDS:
                raise ValueError(f"load: {os.fspath(path)!r} entry {key!r} has dtype {array.dtype}, not a numeric array")
            state[key] = array
    return state


def load_metadata(path):
    """The metadata dict stored by `save` ({} for a plain .npz without it)."""
    with _open(path, "load_metadata") as archive:
        if METADATA_KEY not in archive.files:
            return {}
        return json.loads(str(_read(archive, path, METADATA_KEY, "load_metadata")))


PRETRAINED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained")


def pretrained_path(name="simplecnn_shapes"):
    """The path of a weight file shipped in tinymed/pretrained/ (see the JSON beside it for how
    it was made), e.g. `transfer.load_pretrained(model, transfer.pretrained_path())`."""
    path = os.path.join(PRETRAINED_DIR, f"{name}.npz")
    if not os.path.isfile(path):
        shipped = sorted(f[:-4] for f in os.listdir(PRETRAINED_DIR) if f.endswith(".npz")) if os.path.isdir(PRETRAINED_DIR) else []
        raise FileNotFoundError(f"pretrained_path: no shipped weights named {name!r}; shipped: {shipped}")
    return path


# ---------------------------------------------------------------------------------------------
# Loading pre-trained weights into a new model
# ---------------------------------------------------------------------------------------------


@dataclass
class LoadReport:
    """What `load_pretrained` did with each key (lists of keys).

    loaded: name and shape matched, value copied. skipped: in both, but the shape differs (e.g.
    a new classifier head); `shapes[key]` is (source shape, model shape). missing: in the model,
    not in the source (left as initialised). unexpected: in the source, not in the model.
    excluded: matched an `exclude` pattern.
    """

    loaded: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)
    excluded: list = field(default_factory=list)
    shapes: dict = field(default_factory=dict)

    def __str__(self):
        counts = ", ".join(f"{len(getattr(self, k))} {k}" for k in ("loaded", "skipped", "missing", "unexpected", "excluded"))
        rows = [(status, key) for status in ("loaded", "skipped", "missing", "unexpected", "excluded") for key in getattr(self, status)]
        width = max((len(key) for _, key in rows), default=0)
        lines = [f"LoadReport: {counts}"]
        for status, key in rows:
            shape = self.shapes.get(key)
            if status == "skipped":
                detail = f"shape differs: source {shape[0]} vs model {shape[1]}"
            else:
                detail = "" if shape is None else str(shape)
            lines.append(f"  {status:<10}  {key:<{width}}  {detail}".rstrip())
        return "\n".join(lines)


def load_pretrained(model, source, exclude=()):
    """Copy into `model` every weight of `source` whose key and shape match; report the rest.

    source: a weight-file path or a state dict. exclude: glob patterns of keys to leave alone
    (e.g. ("classifier.*",) to keep a fresh head even when its shape happens to match).
    Keys whose shape differs, such as a classifier for another number of classes, are skipped
    and reported rather than raising, because that is the normal case in transfer learning.
    Returns a `LoadReport`; `print(report)` shows a table.
    """
    _module(model, "load_pretrained")
    if isinstance(exclude, str):
        exclude = (exclude,)
    if not isinstance(exclude, collections.abc.Iterable) or not all(isinstance(p, str) for p in exclude):
        raise TypeError(f"load_pretrained: exclude must be a glob pattern or a tuple of them, e.g. "
                        f"('classifier.*',), got {exclude!r}")
    state = load(source) if isinstance(source, (str, os.PathLike)) else _numeric_arrays(source, "load_pretrained")
    target = model.state_dict()
    report = LoadReport()
    for key, value in state.items():
        if any(fnmatch.fnmatchcase(key, pattern) for pattern in exclude):
            report.excluded.append(key)
        elif key not in target:
            report.unexpected.append(key)
        elif value.shape != target[key].shape:
            report.skipped.append(key)
            report.shapes[key] = (value.shape, target[key].shape)
        else:
            report.loaded.append(key)
            report.shapes[key] = value.shape
    report.missing = [k for k in target if k not in state]
    model.load_state_dict({k: state[k] for k in report.loaded}, strict=False)
    return report


# ---------------------------------------------------------------------------------------------
# Freezing and fine-tuning
# ---------------------------------------------------------------------------------------------


def _features(model, where):
    _module(model, where)
    features = getattr(model, "features", None)
    if features is None or not hasattr(features, "children"):
        raise ValueError(f"{where}: the model needs a `features` module (as models.SimpleCNN has), got {type(model).__name__}")
    return list(features.children())


def freeze_to(model, n):
    """Freeze the first `n` children of `model.features`; everything after them trains.

    n = len(model.features): train only the classifier (the pre-trained features are fixed).
    n = 0: fine-tune all layers. Frozen layers' parameters stop requiring grad and their
    BatchNorm statistics stop updating (see `Module.freeze`). Returns the model.
    """
    layers = _features(model, "freeze_to")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= len(layers):
        raise ValueError(f"freeze_to: n must be an int from 0 to {len(layers)} (the number of feature layers), got {n!r}")
    model.unfreeze()
    for layer in layers[:n]:
        layer.freeze()
    return model


def param_groups(model, lr, head_lr=None):
    """Parameter groups for discriminative learning rates: the body at `lr`, the classifier
    head at `head_lr` (default: `lr`). Pass the result to an optimizer:
    `optim.SGD(transfer.param_groups(model, lr=1e-3, head_lr=1e-2), lr=1e-3, momentum=0.9)`.

    A pre-trained body needs only small corrections, while a freshly initialised head has
    everything to learn, hence a larger rate for the head. Frozen parameters are included (the
    optimizer skips them while they are frozen, and trains them once unfrozen).
    """
    _module(model, "param_groups")
    if getattr(model, "classifier", None) is None:
        raise ValueError(f"param_groups: the model needs a `classifier` module, got {type(model).__name__}")
    for name, value in (("lr", lr), ("head_lr", head_lr)):
        if value is not None and (not isinstance(value, (int, float)) or value < 0):
            raise ValueError(f"param_groups: {name} must be a number >= 0, got {value!r}")
    head = [p for name, p in model.named_parameters() if name.startswith("classifier.")]
    body = [p for name, p in model.named_parameters() if not name.startswith("classifier.")]
    return [{"params": body, "lr": lr}, {"params": head, "lr": lr if head_lr is None else head_lr}]
