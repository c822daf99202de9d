"""The rails: named checks of a public function's arguments, used once, at the boundary.

A student reading `ops.py` or `nn/functional.py` sees the math; the questions "is this an int
>= 1?", "is this a probability?", "is this a pair of ints?" are asked here, by the public
function or constructor that receives the argument, and never again inside.

Every check takes the value and its name as the message should show it, usually prefixed with
the function that received it (`"conv2d: stride"`), and returns the value in a clean form (an
`int`, a `float`, a tuple). A wrong *type* raises `TypeError`, a wrong *value* `ValueError`,
a file that is not there `FileNotFoundError`; the message says what was expected and what came,
in the house style:

    conv2d: stride must be an int >= 1 or a pair of them, got 0
"""
import math
import os
from numbers import Integral, Real

import numpy as np

# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------


def is_int(value):
    """True for Python and NumPy integers, False for bools (True is not a count)."""
    if type(value) is int:  # the common case, without the slow isinstance(value, Integral)
        return True
    return isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))


def is_real(value):
    """True for Python and NumPy ints and floats, False for bools."""
    return isinstance(value, Real) and not isinstance(value, (bool, np.bool_))


def integer(value, name, min=None, max=None):
    """An int (not a bool) in [min, max] -> int."""
    bounds = _bounds_text(min, max)
    if not is_int(value):
        raise TypeError(f"{name} must be an int{bounds}, got {_show(value)}")
    if (min is not None and value < min) or (max is not None and value > max):
        raise ValueError(f"{name} must be an int{bounds}, got {value!r}")
    return int(value)


def real(value, name, min=None, max=None, above=None, below=None, finite=True):
    """A finite number (int or float, not a bool) with min <= value <= max and
    above < value < below (each bound optional) -> float. NaN never passes; infinity passes
    only with finite=False."""
    if type(value) in (float, int):  # the common case, without the slow isinstance(value, Real)
        v = float(value)
        if (v == v and (not finite or abs(v) != math.inf) and (min is None or v >= min)
                and (max is None or v <= max) and (above is None or v > above) and (below is None or v < below)):
            return v
    text = _bounds_text(min, max, above, below)
    what = "a finite number" if finite else "a number"
    if not is_real(value):
        raise TypeError(f"{name} must be {what}{text}, got {_show(value)}")
    value = float(value)
    if math.isnan(value) or (finite and math.isinf(value)):
        raise ValueError(f"{name} must be {what}{text}, got {value!r}")
    if ((min is not None and value < min) or (max is not None and value > max)
            or (above is not None and value <= above) or (below is not None and value >= below)):
        raise ValueError(f"{name} must be {what}{text}, got {value!r}")
    return value


def positive(value, name):
    """A finite number > 0 -> float (a learning rate, an epsilon, a scale)."""
    return real(value, name, above=0)


def non_negative(value, name):
    """A finite number >= 0 -> float (a weight decay, a momentum)."""
    return real(value, name, min=0)


def probability(value, name):
    """A number in [0, 1] -> float."""
    return real(value, name, min=0, max=1)


def boolean(value, name):
    """True or False (a NumPy bool too; not 0/1, not a string) -> bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_show(value)}")
    return bool(value)


def pair(value, name, min=0):
    """An int or a pair of ints (rows, columns), each >= min -> (int, int), as PyTorch's
    `_pair`: 3 -> (3, 3), (3, 5) -> (3, 5)."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    expected = f"an int >= {min} or a pair of them (h, w)"
    if len(items) != 2 or not all(is_int(v) for v in items):
        raise TypeError(f"{name} must be {expected}, got {value!r}")
    if items[0] < min or items[1] < min:
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(items[0]), int(items[1])


def one_of(value, name, choices):
    """One of `choices` (strings, usually) -> value."""
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def shape(value, name):
    """A shape: a tuple or list of ints >= 0 (or one int) -> tuple of ints."""
    items = (value,) if is_int(value) else value
    if not isinstance(items, (tuple, list)) or not all(is_int(v) for v in items):
        raise TypeError(f"{name} must be a shape, an int or a tuple of ints, got {value!r}")
    if any(v < 0 for v in items):
        raise ValueError(f"{name} must be a shape of sizes >= 0, got {tuple(items)}")
    return tuple(int(v) for v in items)


def callable_or_none(value, name):
    """A function (or None)."""
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable or None, got {_show(value)}")
    return value


def float_dtype(value, name="dtype"):
    """float32 or float64, given as a NumPy dtype, a type or a name -> np.dtype."""
    try:
        dt = np.dtype(value)
    except TypeError:
        raise TypeError(f"{name} must be float32 or float64, got {value!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"{name} must be float32 or float64, got {dt}")
    return dt


def device(value, name="device"):
    """tinymed runs on the CPU only: accept None, "cpu", "cpu:0" or an object whose str() is one
    of them (tm.device("cpu")); refuse "cuda", "mps" and the rest with a clear message."""
    if value is None:
        return "cpu"
    text = str(value)
    if text not in ("cpu", "cpu:0"):
        raise ValueError(f"{name} must be 'cpu': tinymed is a NumPy library and runs on the CPU only, got {text!r}")
    return "cpu"


# ---------------------------------------------------------------------------------------------
# Arrays
# ---------------------------------------------------------------------------------------------


def ndim(x, name, ndims, layout=""):
    """`x` (anything with .shape) must have one of `ndims` dimensions; `layout` names them in the
    message, e.g. ndim(x, "conv2d: x", (4,), "(N, C, H, W)")."""
    ndims = (ndims,) if is_int(ndims) else tuple(ndims)
    if not hasattr(x, "shape"):
        raise TypeError(f"{name} must be a Tensor or a NumPy array, got {_show(x)}")
    if len(x.shape) not in ndims:
        wanted = " or ".join(f"{n}-d" for n in ndims)
        raise ValueError(f"{name} must be {wanted}{' ' + layout if layout else ''}, got shape {tuple(x.shape)}")
    return x


def not_empty(x, name):
    """`x` (anything with .shape or a sequence) must hold at least one element."""
    size = int(np.prod(x.shape)) if hasattr(x, "shape") else len(x)
    if size == 0:
        got = f"shape {tuple(x.shape)}" if hasattr(x, "shape") else "an empty sequence"
        raise ValueError(f"{name} is empty ({got}); it needs at least one element")
    return x


def labels(values, name):
    """Class labels as a NumPy array, refusing NaN (NaN is not a class) and non-numbers."""
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numbers (class labels), got dtype {array.dtype}")
    if array.dtype.kind == "f" and np.isnan(array).any():
        where = np.flatnonzero(np.isnan(array.ravel()))[:5].tolist()
        raise ValueError(f"{name} contain NaN at positions {where}; NaN is not a class (drop or fill those rows)")
    return array


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def file_path(value, name):
    """A file path: a str, bytes or os.PathLike (a pathlib.Path) -> str."""
    if not isinstance(value, (str, bytes, os.PathLike)):
        raise TypeError(f"{name} must be a file path (a str or pathlib.Path), got {type(value).__name__}")
    return os.fsdecode(value)


def existing_file(value, name, kind):
    """The path of a file that is there -> str. `name` is who asks and `kind` what file it
    wanted (or the argument that names it), as the message shows them:

        existing_file("scans/b.png", "load_image_csv", "image file") raises
        FileNotFoundError: load_image_csv: image file scans/b.png does not exist

    A folder at that path is refused the same way (it is not the file that was asked for)."""
    path = file_path(value, f"{name}: {kind}")
    if os.path.isdir(path):
        raise FileNotFoundError(f"{name}: {kind} {path} is a folder, not a file")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{name}: {kind} {path} does not exist")
    return path


# ---------------------------------------------------------------------------------------------
# Message helpers
# ---------------------------------------------------------------------------------------------


def _bounds_text(min=None, max=None, above=None, below=None):
    parts = []
    if min is not None:
        parts.append(f">= {min}")
    if above is not None:
        parts.append(f"> {above}")
    if max is not None:
        parts.append(f"<= {max}")
    if below is not None:
        parts.append(f"< {below}")
    return (" " + " and ".join(parts)) if parts else ""


def _show(value):
    """A short description of a wrong value: its repr when short, else its type."""
    text = repr(value)
    return text if len(text) <= 40 and not isinstance(value, np.ndarray) else f"a {type(value).__name__}"
