"""Making tensors, as PyTorch does: `tm.tensor`, `zeros`, `ones`, `full`, `arange`, `linspace`,
`eye`, `randn`, `rand`, `randint`, the `*_like` forms, `from_numpy`, `as_tensor`, joining
(`cat`, `stack`) and choosing (`where`), and the CPU-only `device` / `cuda`.

A rail beside the engine: each factory builds a NumPy array and wraps it, so a reader of the
engine can skip this file. Conventions, PyTorch's unless said:

- sizes as `zeros(2, 3)` or `zeros((2, 3))`; `dtype=` (default: the default float dtype,
  float32, except where PyTorch infers an integer: `arange` of ints, `randint`, `full` of an
  int), `requires_grad=`, `device=` ("cpu" only: tinymed runs on NumPy).
- the random ones draw from tinymed's library Generator (`tinymed.random`; reset it with
  `tm.manual_seed(n)`), or from `generator=` (a seed or a numpy.random.Generator), so a seed
  gives bit-identical tensors. The numbers differ from PyTorch's (another generator).
- `empty` gives zeros (NumPy's empty memory would make a lesson's output depend on chance).
"""
import types

import numpy as np

from tinymed import validate
from tinymed.autograd import Tensor, get_default_dtype
from tinymed.engine_checks import numeric_dtype
from tinymed.ops import Concatenate, Stack, Where
from tinymed.random import get_generator

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

# ---------------------------------------------------------------------------------------------
# From data
# ---------------------------------------------------------------------------------------------


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new Tensor holding a copy of `data` (same as `Tensor(...)`, as `torch.tensor`): Python
    floats become the default float dtype, ints int64, bools bool; an array keeps its dtype."""
    validate.device(device, "tensor: device")
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def from_numpy(array):
    """A Tensor that shares `array`'s memory (no copy, as `torch.from_numpy`): a change to one
    is seen in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__} (use tm.tensor for lists)")
    if array.dtype.kind not in "biu" and array.dtype not in _FLOATS:
        numeric_dtype(array.dtype, "from_numpy: the array's dtype")  # raises, naming the dtype
    return Tensor._make(array)


def as_tensor(data, dtype=None, device=None):
    """`data` as a Tensor without copying when it can: a Tensor of that dtype is returned as is,
    a NumPy array of that dtype is shared (from_numpy); anything else is copied."""
    validate.device(device, "as_tensor: device")
    dtype = None if dtype is None else numeric_dtype(dtype, "as_tensor: dtype")
    if isinstance(data, Tensor) and dtype in (None, data.dtype):
        return data
    if isinstance(data, np.ndarray) and dtype in (None, data.dtype):
        return from_numpy(data)
    return Tensor(data, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Filled with a value, a range or random numbers
# ---------------------------------------------------------------------------------------------


def _size(name, size):
    """zeros(2, 3), zeros((2, 3)) and zeros([2, 3]) all mean the shape (2, 3)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return validate.shape(tuple(size), f"{name}: size")


def _made(name, array, dtype, device, requires_grad):
    """The new array as a tensor of `dtype` (default: the default float dtype)."""
    validate.device(device, f"{name}: device")
    dtype = get_default_dtype() if dtype is None else numeric_dtype(dtype, f"{name}: dtype")
    return from_numpy(np.asarray(array, dtype=dtype)).requires_grad_(requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros: zeros(2, 3) or zeros((2, 3))."""
    return _made("zeros", np.zeros(_size("zeros", size)), dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of ones."""
    return _made("ones", np.ones(_size("ones", size)), dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    """A tensor to be filled in: here zeros (PyTorch leaves the memory uninitialised)."""
    return _made("empty", np.zeros(_size("empty", size)), dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of `size` filled with `fill_value` (an int gives int64, a bool bool, a float the
    default float dtype, as PyTorch)."""
    if isinstance(fill_value, (bool, np.bool_)):
        inferred = np.bool_
    elif validate.is_int(fill_value):
        inferred = np.int64
    else:
        inferred = None  # the default float dtype
        validate.real(fill_value, "full: fill_value", finite=False)
    dtype = inferred if dtype is None else dtype
    return _made("full", np.full(_size("full", (size,)), fill_value), dtype, device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """start, start + step, ... up to but not including end (arange(5) is 0..4). All ints
    give int64, any float the default float dtype (as PyTorch)."""
    start, end = (0, start) if end is None else (start, end)
    for arg, value in (("start", start), ("end", end), ("step", step)):
        validate.real(value, f"arange: {arg}")
    if step == 0:
        raise ValueError("arange: step must not be 0")
    if dtype is None and all(validate.is_int(v) for v in (start, end, step)):
        dtype = np.int64
    return _made("arange", np.arange(start, end, step), dtype, device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """`steps` evenly spaced values from start to end, both included."""
    validate.real(start, "linspace: start")
    validate.real(end, "linspace: end")
    steps = validate.integer(steps, "linspace: steps", min=0)
    return _made("linspace", np.linspace(start, end, steps), dtype, device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The n x m identity matrix (m = n by default)."""
    n = validate.integer(n, "eye: n", min=0)
    m = n if m is None else validate.integer(m, "eye: m", min=0)
    return _made("eye", np.eye(n, m), dtype, device, requires_grad)


def _random_dtype(name, dtype):
    return get_default_dtype() if dtype is None else validate.float_dtype(dtype, f"{name}: dtype")


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples (mean 0, std 1), from the library Generator or `generator`."""
    dtype = _random_dtype("randn", dtype)
    values = get_generator(generator, "randn: generator").standard_normal(_size("randn", size), dtype=dtype)
    return _made("randn", values, dtype, device, requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1), from the library Generator or `generator`."""
    dtype = _random_dtype("rand", dtype)
    values = get_generator(generator, "rand: generator").random(_size("rand", size), dtype=dtype)
    return _made("rand", values, dtype, device, requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Random integers in [low, high) of shape `size`: randint(10, (3,)) or randint(2, 10, (3,)),
    int64 unless `dtype` says otherwise."""
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: give a size, e.g. tm.randint(0, 10, (3,))")
    low, high = validate.integer(low, "randint: low"), validate.integer(high, "randint: high")
    if high <= low:
        raise ValueError(f"randint: high must be > low, got low={low}, high={high}")
    values = get_generator(generator, "randint: generator").integers(low, high, _size("randint", (size,)))
    return _made("randint", values, np.int64 if dtype is None else dtype, device, requires_grad)


def _like(name, t):
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(t).__name__}")
    return t.shape


def zeros_like(input, dtype=None, device=None, requires_grad=False):
    """Zeros of input's shape and dtype."""
    return zeros(_like("zeros_like", input), dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False):
    """Ones of input's shape and dtype."""
    return ones(_like("ones_like", input), dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    """`fill_value` in input's shape and dtype."""
    return full(_like("full_like", input), fill_value, dtype=dtype or input.dtype, device=device,
                requires_grad=requires_grad)


def randn_like(input, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples of input's shape and (float) dtype."""
    return randn(_like("randn_like", input), generator=generator, dtype=dtype or input.dtype, device=device,
                 requires_grad=requires_grad)


def rand_like(input, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform [0, 1) samples of input's shape and (float) dtype."""
    return rand(_like("rand_like", input), generator=generator, dtype=dtype or input.dtype, device=device,
                requires_grad=requires_grad)


# ---------------------------------------------------------------------------------------------
# Joining and choosing
# ---------------------------------------------------------------------------------------------


def _tensor_list(name, tensors):
    if isinstance(tensors, (Tensor, np.ndarray)):
        raise TypeError(f"{name}: expected a list or tuple of tensors, got one {type(tensors).__name__}; "
                        f"wrap it: [t]")
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{name}: needs at least one tensor, got an empty sequence")
    return tensors


def _join_axis(name, dim, axis, ndim):
    if dim is not None and axis is not None:
        raise TypeError(f"{name}: got both dim= and axis=; they are one argument, pass one")
    value = 0 if dim is None and axis is None else (axis if dim is None else dim)
    if not validate.is_int(value):
        raise TypeError(f"{name}: dim must be an int, got {value!r}")
    if not -ndim <= value < ndim:
        raise ValueError(f"{name}: dim {value} is out of range for the result's {ndim} dims")
    return value % ndim


def cat(tensors, dim=None, *, axis=None):
    """Join tensors along an existing axis `dim` (default 0; shapes must agree elsewhere)."""
    return _join_along("cat", tensors, dim, axis)


def concatenate(tensors, axis=None, *, dim=None):
    """NumPy's name for `cat`: join tensors along an existing axis (default 0)."""
    return _join_along("concatenate", tensors, dim, axis)


def _join_along(name, tensors, dim, axis):
    tensors = _tensor_list(name, tensors)
    shapes = [tuple(np.shape(t)) for t in tensors]
    dim = _join_axis(name, dim, axis, max(len(shapes[0]), 1))
    if any(len(s) != len(shapes[0]) or s[:dim] + s[dim + 1:] != shapes[0][:dim] + shapes[0][dim + 1:] for s in shapes):
        raise ValueError(f"{name}: cannot join shapes {shapes} along axis {dim}: all sizes but that axis's must agree")
    return Concatenate.apply(*tensors, axis=dim)


def stack(tensors, dim=None, *, axis=None):
    """Join tensors of one shape along a new axis `dim` (default 0)."""
    tensors = _tensor_list("stack", tensors)
    shapes = {tuple(np.shape(t)) for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return Stack.apply(*tensors, axis=_join_axis("stack", dim, axis, len(shapes.pop()) + 1))


def where(condition, input, other):
    """Element-wise `input if condition else other` (condition: bool; all broadcast as NumPy)."""
    cond = np.asarray(condition)
    if cond.dtype != bool:
        raise TypeError(f"where: condition must be boolean (e.g. x > 0), got dtype {cond.dtype}")
    shapes = cond.shape, np.shape(input), np.shape(other)
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"where: condition, input and other of shapes {shapes[0]}, {shapes[1]}, {shapes[2]} "
                         f"do not broadcast") from None
    return Where.apply(input, other, cond=cond)


# ---------------------------------------------------------------------------------------------
# Devices: the CPU only
# ---------------------------------------------------------------------------------------------


class device:
    """`tm.device("cpu")`, accepted wherever PyTorch code passes a device; any other device is a
    ValueError (tinymed runs on NumPy, on the CPU)."""

    def __init__(self, type="cpu", index=None):
        validate.device(type if index is None else f"{type}:{index}", "device")
        self.type = "cpu"

    def __str__(self):
        return "cpu"

    def __repr__(self):
        return "device(type='cpu')"

    def __eq__(self, other):
        return str(other) in ("cpu", "cpu:0")

    def __hash__(self):
        return hash("cpu")


def is_available():
    """False: tinymed has no GPU support (`tm.cuda.is_available()`, as torch.cuda)."""
    return False


def device_count():
    """0 GPUs (`tm.cuda.device_count()`)."""
    return 0


cuda = types.SimpleNamespace(is_available=is_available, device_count=device_count)
