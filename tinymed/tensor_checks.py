"""The argument checks of the tensor methods (`tensor_methods`, `tensor_shapes`,
`tensor_values`): each turns a wrong axis, shape, permutation or operand into an error that
names the method, the argument and the fix, before any op runs. A rail: a reader of the methods
can skip it.
"""
import math

import numpy as np

from tinymed import validate
from tinymed.autograd import Tensor


def is_int(value):
    """validate.is_int with a fast path: a plain int answers at once, where asking numbers.Integral
    (an ABC) costs microseconds on every reshape and reduction."""
    return type(value) is int or validate.is_int(value)


def broadcastable(name, a, b):
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        raise ValueError(f"{name}: shapes {a} and {b} do not broadcast (compared from the right, each pair "
                         f"of sizes must be equal or 1)") from None


def broadcasts_to(shape, target):
    """Does an array of `shape` broadcast to exactly `target`?"""
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def operand_shape(name, x):
    """The shape of a Tensor, array or number; anything else is a TypeError naming it."""
    if isinstance(x, (Tensor, np.ndarray)) or validate.is_real(x) or isinstance(x, (bool, np.bool_)):
        return np.shape(x)
    raise TypeError(f"{name}: expected a Tensor, a NumPy array or a number, got {type(x).__name__} {x!r:.40}")


def operand(name, x):
    """The other operand of a comparison or an in-place update: a Tensor's array, a NumPy array,
    or a number as it is."""
    if isinstance(x, (int, float)):
        return x
    if isinstance(x, Tensor):
        return x.numpy()
    array = None if isinstance(x, (str, bytes)) or x is None else np.asarray(x)
    if array is None or array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a Tensor, a NumPy array or a number, got {type(x).__name__} {x!r:.40}")
    return array


def matmul_shapes(a, b):
    if len(a) == 0 or len(b) == 0:
        raise ValueError(f"matmul: operands must have at least 1 dim, got shapes {a} and {b}")
    k_b = b[0] if len(b) == 1 else b[-2]
    if a[-1] != k_b:
        raise ValueError(f"matmul: shapes {a} and {b} do not match: the last axis of the first ({a[-1]}) must "
                         f"equal the {'only' if len(b) == 1 else 'second-to-last'} axis of the second ({k_b})")


def either(name, torch_name, torch_value, numpy_name, numpy_value):
    """One argument spelled two ways (dim/axis, keepdim/keepdims): (the name used, its value)."""
    if torch_value is not None and numpy_value is not None:
        raise TypeError(f"{name}: got both {torch_name}= and {numpy_name}=; they are one argument "
                        f"(PyTorch's and NumPy's spelling), pass one")
    return (numpy_name, numpy_value) if numpy_value is not None else (torch_name, torch_value)


def one_axis(name, arg, value, ndim):
    """One axis in [-ndim, ndim) -> its non-negative number."""
    if not is_int(value):
        raise TypeError(f"{name}: {arg} must be an int, got {value!r}")
    if not -max(ndim, 1) <= value < max(ndim, 1):
        raise ValueError(f"{name}: {arg} {value} is out of range for a tensor with {ndim} dims")
    return value % max(ndim, 1)


def required_axis(name, x, dim, axis):
    """The one axis (dim= or axis=, required) that softmax normalises along."""
    arg, value = either(name, "dim", dim, "axis", axis)
    if value is None:
        raise TypeError(f"{name}: give the axis to normalise along, e.g. dim=-1 (or dim=1 for (N, C) logits)")
    return one_axis(name, arg, value, x.ndim)


def reduction(name, x, dim, keepdim, axis, keepdims, nonempty=False):
    """(sorted non-negative axes, keepdims) of a reduction, from either spelling."""
    if dim is None and axis is None and keepdim is None and keepdims is None and not (nonempty and 0 in x.shape):
        return tuple(range(x.ndim)), False  # x.sum(): the common case, nothing to check
    arg, value = either(name, "dim", dim, "axis", axis)
    keep = either(name, "keepdim", keepdim, "keepdims", keepdims)
    keep = False if keep[1] is None else validate.boolean(keep[1], f"{name}: {keep[0]}")
    if value is None:
        axes = tuple(range(x.ndim))
    elif is_int(value):
        axes = (one_axis(name, arg, value, x.ndim),)
    else:
        values = value if isinstance(value, (tuple, list)) else (value,)
        if not all(is_int(v) for v in values):
            raise TypeError(f"{name}: {arg} must be None, an int or a tuple of ints, got {value!r}")
        axes = tuple(sorted(one_axis(name, arg, v, x.ndim) for v in values))
        if len(set(axes)) != len(axes):
            raise ValueError(f"{name}: {arg} {value!r} names an axis twice")
    if nonempty and 0 in x.shape and any(x.shape[ax] == 0 for ax in axes):
        raise ValueError(f"{name}: the input is empty along the reduced axes (shape {x.shape}); a {name} of "
                         f"no values is undefined (check the batch or the mask that selected it)")
    return axes, keep


def correction(name, unbiased, correction):
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}: got both unbiased= and correction=; pass one (correction=1 is unbiased=True)")
    if correction is not None:
        return validate.integer(correction, f"{name}: correction", min=0)
    return 0 if unbiased is not None and not validate.boolean(unbiased, f"{name}: unbiased") else 1


def bounds(name, lo, hi):
    """clamp's min and max: each None or a number, min <= max when both are given."""
    for arg, value in (("min", lo), ("max", hi)):
        if value is not None and not (type(value) in (int, float) and value == value):  # fast path: a plain number, not NaN
            validate.real(value, f"{name}: {arg}", finite=False)
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"{name}: min must be <= max, got min={lo}, max={hi}")
    return lo, hi


def bool_mask(name, mask, shape):
    mask = mask.numpy() if isinstance(mask, Tensor) else np.asarray(mask)
    if mask.dtype != bool:
        raise TypeError(f"{name}: mask must be boolean (e.g. t > 0), got dtype {mask.dtype}")
    if not broadcasts_to(mask.shape, shape):
        raise ValueError(f"{name}: a mask of shape {mask.shape} does not broadcast to the tensor's shape {shape}")
    return mask


def shape_args(shape):
    """t.reshape(2, 3) and t.reshape((2, 3)) both give (2, 3)."""
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def new_shape(name, x, shape):
    """Raise, naming the shape, when `x` cannot take `shape` (called after NumPy refused it)."""
    if not all(is_int(n) for n in shape):
        raise TypeError(f"{name}: the shape must be ints, got {shape!r}")
    known = math.prod(n for n in shape if n != -1)
    fits = known == x.numel() if -1 not in shape else known > 0 and x.numel() % known == 0
    if shape.count(-1) > 1 or any(n < -1 for n in shape) or not fits:
        raise ValueError(f"{name}: cannot reshape a tensor of shape {x.shape} ({x.numel()} elements) to {shape}")


def permutation(name, x, axes):
    if not all(is_int(a) for a in axes) or sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
        raise ValueError(f"{name}: axes {axes} are not a permutation of the {x.ndim} axes of shape {x.shape}")
    return tuple(a % x.ndim for a in axes)
