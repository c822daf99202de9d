"""How tensors are used: the operators (+ - * / ** @ [] < >), the methods (sum, exp, reshape,
...) and the functions tm.tensor, tm.concatenate, tm.stack and tm.where.

Each is a thin front for a Function in `tinymed.ops`, where the math and its backward are; the
checks here turn a shape or argument mistake into an error that names it, before NumPy sees it.
"""
import numpy as np

from tinymed.autograd import Tensor, _as_float_dtype
from tinymed.ops import (
    Abs, Add, Cast, Clip, Concatenate, Div, Exp, GetItem, Log, MatMul, Max, Mean, Min, Mul, Neg, Pow,
    ReLU, Reshape, Sigmoid, Sqrt, Stack, Sub, Sum, Tanh, Transpose, Where,
)


def tensor(data, requires_grad=False, dtype=None):
    """Make a Tensor (same as `Tensor(...)`, as `torch.tensor`)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _tensor_list(name, tensors):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{name}: needs at least one tensor, got an empty sequence")
    return tensors


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis (shapes must agree except along `axis`)."""
    tensors = _tensor_list("concatenate", tensors)
    try:
        return Concatenate.apply(*tensors, axis=axis)
    except ValueError as e:
        shapes = [tuple(np.shape(t)) for t in tensors]
        raise ValueError(f"concatenate: cannot join shapes {shapes} along axis {axis}: {e}") from None


def stack(tensors, axis=0):
    """Join tensors of one shape along a new axis."""
    tensors = _tensor_list("stack", tensors)
    shapes = {tuple(np.shape(t)) for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return Stack.apply(*tensors, axis=axis)


def where(cond, a, b):
    """Element-wise `a if cond else b` (cond: bool array or tensor; broadcasts as NumPy)."""
    cond = np.asarray(cond.data if isinstance(cond, Tensor) else cond)
    if cond.dtype != bool:
        raise TypeError(f"where: cond must be boolean, got dtype {cond.dtype}")
    shapes = cond.shape, np.shape(a), np.shape(b)
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"where: cond, a and b of shapes {shapes[0]}, {shapes[1]}, {shapes[2]} do not broadcast") from None
    return Where.apply(a, b, cond=cond)


def _index(index):
    """Tensors inside an index become their arrays (tm tensors can index tm tensors)."""
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    return index.data if isinstance(index, Tensor) else index


def _shape_args(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _sum(self, axis=None, keepdims=False):
    """Sum over `axis` (None: all; an int or a tuple), dropping those axes unless keepdims."""
    return Sum.apply(self, axis=axis, keepdims=keepdims)


def _mean(self, axis=None, keepdims=False):
    """Mean over `axis` (None: all; an int or a tuple), dropping those axes unless keepdims."""
    return Mean.apply(self, axis=axis, keepdims=keepdims)


def _max(self, axis=None, keepdims=False):
    """Maximum over `axis`; the gradient goes to the maxima (ties share it)."""
    return Max.apply(self, axis=axis, keepdims=keepdims)


def _min(self, axis=None, keepdims=False):
    """Minimum over `axis`; the gradient goes to the minima (ties share it)."""
    return Min.apply(self, axis=axis, keepdims=keepdims)


def _clip(self, lo=None, hi=None):
    """Values limited to [lo, hi] (either may be None); gradient 1 inside, 0 outside."""
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"clip: lo must be <= hi, got lo={lo}, hi={hi}")
    return Clip.apply(self, lo=lo, hi=hi)


def _reshape(self, *shape):
    """The same values in a new shape: t.reshape(2, 3) or t.reshape((2, 3)); -1 is inferred."""
    return Reshape.apply(self, shape=_shape_args(shape))


def _transpose(self, *axes):
    """Axes permuted: t.transpose(0, 2, 1); no axes reverses them (as .T)."""
    return Transpose.apply(self, axes=_shape_args(axes) or None)


def _flatten(self, start_axis=0):
    """Axes from `start_axis` on merged into one: (N, C, H, W).flatten(1) -> (N, C*H*W)."""
    if isinstance(start_axis, bool) or not isinstance(start_axis, (int, np.integer)) or not 0 <= start_axis < max(self.ndim, 1):
        raise ValueError(f"flatten: start_axis must be an int from 0 to {max(self.ndim, 1) - 1} for shape {self.shape}, got {start_axis!r}")
    return Reshape.apply(self, shape=self.shape[:start_axis] + (-1,))


def _to(self, dtype):
    """This tensor in float `dtype` (float32 or float64), differentiably; self if already so."""
    dtype = _as_float_dtype(dtype)
    return self if self.dtype == dtype else Cast.apply(self, dtype=dtype)


def _unary(fn, doc):
    def method(self):
        return fn.apply(self)

    method.__name__, method.__doc__ = fn.__name__.lower(), doc
    return method


def _elementwise(fn, a, b):
    try:
        return fn.apply(a, b)
    except ValueError:
        shapes = np.shape(a), np.shape(b)
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            raise ValueError(f"{fn.__name__.lower()}: shapes {shapes[0]} and {shapes[1]} do not broadcast "
                             f"(compared from the right, each pair of sizes must be equal or 1)") from None
        raise


Tensor.__add__ = lambda self, other: _elementwise(Add, self, other)
Tensor.__radd__ = lambda self, other: _elementwise(Add, other, self)
Tensor.__sub__ = lambda self, other: _elementwise(Sub, self, other)
Tensor.__rsub__ = lambda self, other: _elementwise(Sub, other, self)
Tensor.__mul__ = lambda self, other: _elementwise(Mul, self, other)
Tensor.__rmul__ = lambda self, other: _elementwise(Mul, other, self)
Tensor.__truediv__ = lambda self, other: _elementwise(Div, self, other)
Tensor.__rtruediv__ = lambda self, other: _elementwise(Div, other, self)
Tensor.__pow__ = lambda self, other: _elementwise(Pow, self, other)
Tensor.__rpow__ = lambda self, other: _elementwise(Pow, other, self)
Tensor.__matmul__ = lambda self, other: MatMul.apply(self, other)
Tensor.__rmatmul__ = lambda self, other: MatMul.apply(other, self)
Tensor.__neg__ = lambda self: Neg.apply(self)
Tensor.__getitem__ = lambda self, index: GetItem.apply(self, index=_index(index))
# Comparisons give boolean tensors outside the graph (masks), as in PyTorch.
Tensor.__gt__ = lambda self, other: Tensor._make(self.data > _index(other))
Tensor.__ge__ = lambda self, other: Tensor._make(self.data >= _index(other))
Tensor.__lt__ = lambda self, other: Tensor._make(self.data < _index(other))
Tensor.__le__ = lambda self, other: Tensor._make(self.data <= _index(other))

Tensor.sum, Tensor.mean, Tensor.max, Tensor.min = _sum, _mean, _max, _min
Tensor.clip, Tensor.reshape, Tensor.transpose, Tensor.flatten = _clip, _reshape, _transpose, _flatten
Tensor.T = property(_transpose, doc="The axes reversed (the transpose of a matrix).")
Tensor.exp = _unary(Exp, "e ** t, element-wise.")
Tensor.log = _unary(Log, "Natural logarithm, element-wise.")
Tensor.sqrt = _unary(Sqrt, "Square root, element-wise.")
Tensor.abs = _unary(Abs, "Absolute value, element-wise (gradient sign(t), 0 at 0).")
Tensor.relu = _unary(ReLU, "max(t, 0), element-wise.")
Tensor.sigmoid = _unary(Sigmoid, "1 / (1 + e ** -t), element-wise, stable for any t.")
Tensor.tanh = _unary(Tanh, "Hyperbolic tangent, element-wise.")
Tensor.to = _to
Tensor.float = lambda self: _to(self, np.float32)
Tensor.double = lambda self: _to(self, np.float64)
