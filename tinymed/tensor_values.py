"""Tensor's values outside the graph: dtype and device conversions (`to`, `float`, `long`,
`cpu`), Python numbers and lists (`float(t)`, `f"{t:.4f}"`, `tolist`), and in-place updates
(`w -= lr * w.grad`, `zero_`, `copy_`, ...). Copied onto Tensor by `tensor_methods`.

In-place updates change a tensor's own array without recording anything, so backward cannot
see them: as in PyTorch they are refused on a tensor that requires grad while grad mode is on
(do them under `tm.no_grad()`, as an optimizer step does), and, through the graph lock, on an
array that a live graph saved for backward (`graph_lock`).
"""
import numpy as np

from tinymed import factories, graph_lock
from tinymed import tensor_checks as check
from tinymed import validate
from tinymed.autograd import Tensor
from tinymed.engine_checks import assignable, check_fits, numeric_dtype
from tinymed.ops import Cast


class ValueMethods:
    """Tensor's conversions and in-place updates."""

    # -- dtypes, devices and Python numbers --------------------------------------------------------

    def to(self, *args, dtype=None, device=None):
        """This tensor in another dtype and/or on a device: t.to(tm.float64), t.to("cpu"),
        t.to(other_tensor) (its dtype). tinymed runs on the CPU only. Float to float is
        differentiable; other casts leave the graph."""
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, (str, factories.device)):
                device = arg
            else:
                dtype = arg
        validate.device(device, "to: device")
        return self if dtype is None else _cast(self, dtype, "to")

    @property
    def device(self):
        """Where the data lives: always tm.device("cpu")."""
        return factories.device("cpu")

    def cpu(self):
        """self: tinymed tensors live on the CPU."""
        return self

    def cuda(self, device=None):
        """Refused: tinymed runs on the CPU only."""
        validate.device("cuda", "cuda")

    def float(self):
        """This tensor as float32 (a float64 value too large for float32 is refused)."""
        return _cast(self, np.float32, "float")

    def double(self):
        """This tensor as float64."""
        return _cast(self, np.float64, "double")

    def long(self):
        """This tensor as int64 (floats truncated toward 0), outside the graph."""
        return _cast(self, np.int64, "long")

    def int(self):
        """This tensor as int32, outside the graph."""
        return _cast(self, np.int32, "int")

    def bool(self):
        """This tensor as bool (nonzero is True), outside the graph."""
        return _cast(self, np.bool_, "bool")

    def item(self):
        """The one number of a one-element tensor, as a Python number."""
        if self.numel() != 1:
            raise ValueError(f"item: only a one-element tensor has an item, this one has shape {self.shape}")
        return self._data.item()

    def tolist(self):
        """The values as (nested) Python lists of numbers; a 0-d tensor gives one number."""
        return self.numpy().tolist()

    def __float__(self):
        """float(t) of a one-element tensor."""
        return float(self.item())

    def __int__(self):
        """int(t) of a one-element tensor (truncated toward 0)."""
        return int(self.item())

    def __index__(self):
        """A one-element integer tensor used as an index (range(t), lst[t])."""
        if self.dtype.kind not in "iu":
            raise TypeError(f"only an integer tensor can be used as an index, this one is {self.dtype}")
        return int(self.item())

    def __bool__(self):
        """bool(t) of a one-element tensor; more elements are ambiguous (use .any() or .all())."""
        if self.numel() != 1:
            raise RuntimeError(f"bool() of a tensor with {self.numel()} elements is ambiguous: use "
                               f"(...).any() or (...).all(), or compare tensors with `is`")
        return bool(self.item())

    def __format__(self, spec):
        """f"{t:.4f}" formats a one-element tensor as its number; no spec gives str(t)."""
        if not spec:
            return str(self)
        if self.numel() != 1:
            raise TypeError(f"format spec {spec!r} needs a one-element tensor, this one has shape {self.shape}")
        return format(self.item(), spec)

    # -- in place, outside the graph (optimizer steps under no_grad) ---------------------------------

    def __setitem__(self, index, value):
        """`t[index] = value`, outside the graph (as under torch.no_grad)."""
        assignable(self)
        self._data[index] = np.asarray(value)

    def __iadd__(self, other):
        """self += other in place (under no_grad when self requires grad)."""
        return _in_place("+=", self, np.add, other)

    def __isub__(self, other):
        """self -= other in place: `w -= lr * w.grad` under tm.no_grad()."""
        return _in_place("-=", self, np.subtract, other)

    def __imul__(self, other):
        """self *= other in place."""
        return _in_place("*=", self, np.multiply, other)

    def __itruediv__(self, other):
        """self /= other in place."""
        return _in_place("/=", self, np.true_divide, other)

    def add_(self, other, alpha=1):
        """self += alpha * other in place; returns self."""
        return _in_place("add_", self, np.add, _scaled("add_", other, alpha))

    def sub_(self, other, alpha=1):
        """self -= alpha * other in place; returns self."""
        return _in_place("sub_", self, np.subtract, _scaled("sub_", other, alpha))

    def mul_(self, other):
        """self *= other in place; returns self."""
        return _in_place("mul_", self, np.multiply, other)

    def div_(self, other):
        """self /= other in place; returns self."""
        return _in_place("div_", self, np.true_divide, other)

    def zero_(self):
        """Every element set to 0 in place (`w.grad.zero_()`); returns self."""
        return _in_place("zero_", self, _second, 0)

    def fill_(self, value):
        """Every element set to `value` in place; returns self."""
        return _in_place("fill_", self, _second, validate.real(value, "fill_: value", finite=False))

    def copy_(self, src):
        """The values of `src` (broadcast to self's shape) copied into self in place."""
        return _in_place("copy_", self, _second, src)

    def clamp_(self, min=None, max=None):
        """Values limited to [min, max] in place; returns self."""
        lo, hi = check.bounds("clamp_", min, max)
        return _in_place("clamp_", self, _second, np.clip(self.numpy(), lo, hi))


# ---------------------------------------------------------------------------------------------
# Checks and helpers of the methods above
# ---------------------------------------------------------------------------------------------


def _cast(x, dtype, name):
    """x in `dtype`: float to float through the differentiable Cast, refusing values that would
    overflow; anything else as a new tensor outside the graph."""
    dtype = numeric_dtype(dtype, f"{name}: dtype")
    if dtype == x.dtype:
        return x
    if dtype.kind == "f" and x.dtype.kind == "f":
        check_fits(x.numpy(), dtype, name)
        return Cast.apply(x, dtype=dtype)
    return factories.from_numpy(check_fits(x.numpy(), dtype, name))


def _scaled(name, other, alpha):
    return other if alpha == 1 else check.operand(name, other) * validate.real(alpha, f"{name}: alpha")


def _second(current, value):
    """The ufunc-shaped "replace": the new value, ignoring the current one (zero_, fill_, copy_)."""
    return np.broadcast_to(value, np.shape(current))


def _in_place(name, x, ufunc, other):
    """x's own array <- ufunc(x, other), outside the graph; returns x."""
    try:
        assignable(x)
    except RuntimeError as e:
        raise type(e)(f"{name}: {e}") from None
    current = x.numpy()
    if not current.flags.writeable and not isinstance(current, graph_lock.LockedArray):
        raise ValueError(f"{name}: this tensor's memory is read-only (an expand() view shares each element "
                         f"across many places, or the NumPy array it came from is read-only); change a "
                         f"copy: x = x.clone()")
    other = check.operand(name, other)
    if not check.broadcasts_to(np.shape(other), current.shape):
        raise ValueError(f"{name}: a value of shape {np.shape(other)} does not broadcast to the tensor's shape "
                         f"{current.shape}; an in-place update cannot change the shape")
    new = ufunc(current, other)
    if not np.can_cast(new.dtype, current.dtype, casting="same_kind"):
        raise TypeError(f"{name}: the result is {new.dtype} but this tensor is {current.dtype}; in place the "
                        f"tensor keeps its dtype: convert first (x = x.float())")
    current[...] = new
    return x
