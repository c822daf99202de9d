"""How tensors are used: the operators and methods of `tinymed.Tensor`, each a named function
with a docstring, in PyTorch's spelling with NumPy's kept. This file holds the math (arithmetic,
comparisons, reductions, element-wise functions) and attaches every method to Tensor; the shape
methods are in `tensor_shapes`, the conversions and in-place updates in `tensor_values`, the
argument checks of all three in `tensor_checks`.

Each method is a thin front for a Function in `tinymed.ops` (where the math and its backward
are), or a composition of them (its docstring says which). Three families differ only in their
op, so each is one small function and a table: `_operators` (`+ - * / **` and their reflections),
`_comparison` (`== != < <= > >=`) and `_elementwise_method` (`exp`, `log`, ..., `tanh`); the
table reads as "this operator runs that Function". The arguments are checked here, at
the public boundary, before any op runs, so the ops hold only their math.

Why classes whose methods are copied onto Tensor: `autograd.py` is the lecture (Tensor,
Function, the walk), kept short, and these ~90 methods would drown it. A mixin (`class
Tensor(MathMethods, ...)`) would make autograd import this file, which imports the ops, which
import autograd: a cycle. So the methods are written in class bodies, exactly as they would read
inside `class Tensor`, and `attach` copies them onto Tensor in one block at the bottom.
`help(tm.Tensor.__add__)` shows the docstring, and a traceback or an argument error names the
method (`Tensor.sum() got an unexpected keyword argument`).

PyTorch and NumPy side by side (both spellings work; giving both of a pair is a TypeError):
`dim=`/`keepdim=` or `axis=`/`keepdims=` in every reduction. Where the two differ:
- `a == b` is an element-wise bool tensor (PyTorch); `is` asks "the same tensor?", and tensors
  hash by identity, so they still work as dict keys and in sets.
- `t.max(dim=1)` (or `t.max(1)`) returns (values, indices) as PyTorch, the gradient going to
  each index; `t.max(axis=1)` and `t.amax(1)` return the values, tied maxima sharing the
  gradient (NumPy's and tinymed 0.1's meaning).
- `var`/`std` divide by n - 1 by default (PyTorch's correction=1; NumPy's default is n).
- reducing an empty axis with mean/max/min/logsumexp/var is a ValueError (PyTorch gives nan or
  an error); a sum of nothing is 0 and a product 1, as both.
"""
import collections
import math
from types import FunctionType

import numpy as np

from tinymed import tensor_checks as check
from tinymed import validate
from tinymed.autograd import Tensor
from tinymed.factories import concatenate, from_numpy  # noqa: F401  (models.py imports concatenate from here until merged)
from tinymed.ops import (
    Abs, Add, Clamp, Cos, Div, Exp, Log, LogSoftmax, LogSumExp, MatMul, Max, Maximum, Mean, Min, Minimum,
    Mul, Neg, Norm, Pow, Prod, ReLU, Sigmoid, Sin, Softmax, Sqrt, Sub, Sum, Tanh, Where,
)
from tinymed.tensor_shapes import ShapeMethods
from tinymed.tensor_values import ValueMethods

# (values, indices) of max/min along a dim, as PyTorch's torch.return_types.max.
ValuesIndices = collections.namedtuple("ValuesIndices", ["values", "indices"])


def _operators(name, op, symbol):
    """Tensor's operator `self <symbol> other` (`__<name>__`) and its reflection `other <symbol>
    self` (`__r<name>__`, what Python calls for `2 * t` or `array * t`): the Function `op` on
    the two, element-wise, broadcasting as NumPy."""

    def operator(self, other):
        return _binary(op, self, other)

    def reflected(self, other):
        return _binary(op, other, self)

    operator.__name__, reflected.__name__ = f"__{name}__", f"__r{name}__"
    operator.__doc__ = (f"self {symbol} other, element-wise, broadcasting as NumPy (other: a Tensor, an array "
                        f"or a number): ops.{op.__name__}.")
    reflected.__doc__ = f"other {symbol} self, for a number or an array on the left: ops.{op.__name__}."
    return operator, reflected


def _comparison(name, ufunc, symbol):
    """The operator `self <symbol> other` (Tensor method `name`): an element-wise bool Tensor,
    outside the graph (a comparison has no gradient), as in PyTorch; a mask for indexing or
    tm.where."""

    def comparison(self, other):
        return _compare(ufunc, f"comparison {symbol}", self, other)

    comparison.__name__ = name
    comparison.__doc__ = f"self {symbol} other, element-wise: a bool Tensor (outside the graph)."
    return comparison


class MathMethods:
    """Tensor's arithmetic, comparisons, reductions and element-wise functions."""

    __hash__ = object.__hash__  # == is element-wise; a tensor is hashed (and found in dicts) by identity

    # -- arithmetic: Tensor op Tensor/array/number, both ways, with NumPy broadcasting -------------

    __add__, __radd__ = _operators("add", Add, "+")
    __sub__, __rsub__ = _operators("sub", Sub, "-")
    __mul__, __rmul__ = _operators("mul", Mul, "*")
    __truediv__, __rtruediv__ = _operators("truediv", Div, "/")
    __pow__, __rpow__ = _operators("pow", Pow, "**")  # d/dbase = 0 where the exponent is 0, as PyTorch

    def add(self, other, alpha=1):
        """self + alpha * other (PyTorch's method)."""
        return _binary(Add, self, other if alpha == 1 else other * validate.real(alpha, "add: alpha"))

    def sub(self, other, alpha=1):
        """self - alpha * other (PyTorch's method)."""
        return _binary(Sub, self, other if alpha == 1 else other * validate.real(alpha, "sub: alpha"))

    mul, div = __mul__, __truediv__  # PyTorch's method names

    def pow(self, exponent):
        """self ** exponent (PyTorch's method name)."""
        return _binary(Pow, self, exponent)

    def __neg__(self):
        """-self."""
        return Neg.apply(self)

    def __abs__(self):
        """abs(self): the absolute value, element-wise."""
        return Abs.apply(self)

    def __matmul__(self, other):
        """self @ other, NumPy's matmul: (n,k)@(k,m) -> (n,m), 1-d operands as a row or column,
        (..., n, k) @ (..., k, m) batched with broadcasting."""
        check.matmul_shapes(np.shape(self), check.operand_shape("matmul", other))
        return MatMul.apply(self, other)

    def __rmatmul__(self, other):
        """other @ self."""
        check.matmul_shapes(check.operand_shape("matmul", other), np.shape(self))
        return MatMul.apply(other, self)

    matmul = __matmul__

    def maximum(self, other):
        """max(self, other) element-wise, broadcasting; at a tie each gets half the gradient."""
        return _binary(Maximum, self, other)

    def minimum(self, other):
        """min(self, other) element-wise, broadcasting; at a tie each gets half the gradient."""
        return _binary(Minimum, self, other)

    # -- comparisons: element-wise bool tensors, outside the graph (as PyTorch) ----------------------

    __eq__ = _comparison("__eq__", np.equal, "==")  # `is` asks "the same tensor?"
    __ne__ = _comparison("__ne__", np.not_equal, "!=")
    __lt__ = _comparison("__lt__", np.less, "<")
    __le__ = _comparison("__le__", np.less_equal, "<=")
    __gt__ = _comparison("__gt__", np.greater, ">")
    __ge__ = _comparison("__ge__", np.greater_equal, ">=")
    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__  # PyTorch's method names

    def __contains__(self, value):
        """`value in t`: does some element equal value?"""
        return bool(_compare(np.equal, "in", self, value).any())

    def all(self):
        """True where every element is nonzero: a 0-d bool Tensor."""
        return _result(np.all(self.numpy()))

    def any(self):
        """True where some element is nonzero: a 0-d bool Tensor."""
        return _result(np.any(self.numpy()))

    # -- reductions ----------------------------------------------------------------------------------

    def sum(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        """Sum over `dim` (None: all; an int or a tuple), dropping those axes unless keepdim.
        A sum of no elements is 0 (as NumPy and PyTorch)."""
        axes, keep = check.reduction("sum", self, dim, keepdim, axis, keepdims)
        return Sum.apply(self, axes=axes, keepdims=keep)

    def mean(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        """Mean over `dim` (None: all; an int or a tuple), dropping those axes unless keepdim.
        A mean of no elements is refused (NumPy and PyTorch give nan)."""
        axes, keep = check.reduction("mean", self, dim, keepdim, axis, keepdims, nonempty=True)
        return Mean.apply(self, axes=axes, keepdims=keep)

    def max(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        """The largest element: of all (no arguments), along `dim` as PyTorch (returns
        `(values, indices)`, the gradient going to each index), or over `axis` (an int or a
        tuple) as NumPy (returns the values; tied maxima share the gradient, as `amax`).
        `t.max(other_tensor)` is `t.maximum(other_tensor)`, as PyTorch."""
        return _max_or_min("max", self, dim, keepdim, axis, keepdims)

    def min(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        """The smallest element: as `max`, with (values, indices) for `dim`, values for `axis`."""
        return _max_or_min("min", self, dim, keepdim, axis, keepdims)

    def amax(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        """The maxima over `dim` (None: all; an int or a tuple); tied maxima share the gradient."""
        axes, keep = check.reduction("max", self, dim, keepdim, axis, keepdims, nonempty=True)
        return Max.apply(self, axes=axes, keepdims=keep)

    def amin(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        """The minima over `dim` (None: all; an int or a tuple); tied minima share the gradient."""
        axes, keep = check.reduction("min", self, dim, keepdim, axis, keepdims, nonempty=True)
        return Min.apply(self, axes=axes, keepdims=keep)

    def argmax(self, dim=None, keepdim=False, *, axis=None):
        """Index of the largest element (of the flattened tensor when dim is None) along `dim`:
        an int64 Tensor, outside the graph."""
        return _arg("argmax", np.argmax, self, dim, keepdim, axis)

    def argmin(self, dim=None, keepdim=False, *, axis=None):
        """Index of the smallest element along `dim` (flattened when None): an int64 Tensor."""
        return _arg("argmin", np.argmin, self, dim, keepdim, axis)

    def prod(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        """Product over `dim` (None: all); exact gradient also where elements are 0."""
        axes, keep = check.reduction("prod", self, dim, keepdim, axis, keepdims)
        return Prod.apply(self, axes=axes, keepdims=keep)

    def logsumexp(self, dim=None, keepdim=None, *, axis=None, keepdims=None):
        """log(sum(exp(self))) over `dim` (None: all), without overflow; gradient softmax."""
        axes, keep = check.reduction("logsumexp", self, dim, keepdim, axis, keepdims, nonempty=True)
        return LogSumExp.apply(self, axes=axes, keepdims=keep)

    def var(self, dim=None, unbiased=None, keepdim=None, *, correction=None, axis=None, keepdims=None):
        """Variance over `dim` (None: all): sum((x - mean)^2) / (n - correction). PyTorch's
        default correction=1 (unbiased=True, the sample variance); NumPy's default is 0
        (pass correction=0 or unbiased=False for it). Composed of Mean, Sub, Mul, Sum, Div."""
        axes, keep = check.reduction("var", self, dim, keepdim, axis, keepdims, nonempty=True)
        n = math.prod(self.shape[ax] for ax in axes)
        denominator = n - check.correction("var", unbiased, correction)
        if denominator <= 0:
            raise ValueError(f"var: {n} value(s) with correction {n - denominator} leave n - correction = "
                             f"{denominator}; a variance needs more values (or correction=0)")
        centred = self - Mean.apply(self, axes=axes, keepdims=True)
        return Sum.apply(centred * centred, axes=axes, keepdims=keep) / denominator

    def std(self, dim=None, unbiased=None, keepdim=None, *, correction=None, axis=None, keepdims=None):
        """Standard deviation: var(...).sqrt(), with var's arguments (correction=1 by default)."""
        return self.var(dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims).sqrt()

    def norm(self, p=2, dim=None, keepdim=None, *, axis=None, keepdims=None):
        """The p-norm (sum |x|^p)^(1/p) over `dim` (None: all): p a number >= 1 ("fro" is 2),
        or inf (the largest |x|, composed of Abs and Max). Gradient 0 at the zero vector."""
        axes, keep = check.reduction("norm", self, dim, keepdim, axis, keepdims)
        p = 2 if p == "fro" else validate.real(p, "norm: p", min=1, finite=False)
        if math.isinf(p):
            return Max.apply(Abs.apply(self), axes=axes, keepdims=keep)
        return Norm.apply(self, p=p, axes=axes, keepdims=keep)

    def softmax(self, dim=None, *, axis=None):
        """exp(x) / sum(exp(x)) along `dim` (required, as PyTorch): ops.Softmax."""
        return Softmax.apply(self, axis=check.required_axis("softmax", self, dim, axis))

    def log_softmax(self, dim=None, *, axis=None):
        """log(softmax(x)) along `dim` (required), exact for any logits (ops.LogSoftmax)."""
        return LogSoftmax.apply(self, axis=check.required_axis("log_softmax", self, dim, axis))

    # -- element-wise functions: x.exp() is ops.Exp.apply(x), and so on (`_elementwise_method`) ------

    def clamp(self, min=None, max=None):
        """Values limited to [min, max] (either may be None); gradient 1 inside, 0 outside.
        `clip` is the same (NumPy's and PyTorch's other name)."""
        lo, hi = check.bounds("clamp", min, max)
        return Clamp.apply(self, lo=lo, hi=hi)

    def clip(self, lo=None, hi=None):
        """Values limited to [lo, hi]: `clamp` under NumPy's name (API.md's `clip(lo, hi)`)."""
        return self.clamp(lo, hi)

    def masked_fill(self, mask, value):
        """`value` where `mask` (bool, broadcasting to self) is True, self elsewhere; gradient to
        self where the mask is False (tm.where, composed)."""
        mask = check.bool_mask("masked_fill", mask, self.shape)
        validate.real(value, "masked_fill: value", finite=False)
        return Where.apply(value, self, cond=mask)


def _result(array):
    """A tensor around an array that is no op's output in the graph (a mask, an index)."""
    return from_numpy(np.asarray(array))


def _binary(fn, a, b):
    try:
        return fn.apply(a, b)
    except ValueError:
        check.broadcastable(fn.__name__.lower(), np.shape(a), np.shape(b))
        raise


def _compare(ufunc, name, a, b):
    other = check.operand(name, b)
    try:
        return _result(ufunc(a.numpy(), other))
    except ValueError:
        check.broadcastable(name, a.shape, np.shape(other))
        raise


# max/min -> (the element-wise method, the NumPy-style reduction, the index function)
_MAX_MIN_PARTS = {"max": ("maximum", "amax", np.argmax), "min": ("minimum", "amin", np.argmin)}


def _max_or_min(name, x, dim, keepdim, axis, keepdims):
    """t.max/t.min's three meanings: against another tensor (maximum), over axes as NumPy (amax,
    the values), or along one dim as PyTorch: (values, indices), the values picked at the indices."""
    elementwise, over_axes, arg = _MAX_MIN_PARTS[name]
    if isinstance(dim, Tensor):
        return getattr(x, elementwise)(dim)
    if dim is None:
        return getattr(x, over_axes)(axis=axis, keepdim=keepdim, keepdims=keepdims)
    if axis is not None or keepdims is not None:
        raise TypeError(f"{name}: dim= (PyTorch: values and indices) and axis=/keepdims= (NumPy: values) "
                        f"cannot be mixed")
    (axis,), keep = check.reduction(name, x, dim, keepdim, None, None, nonempty=True)
    indices = arg(x.numpy(), axis=axis, keepdims=True)
    values = x.gather(axis, indices)
    if not keep:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return ValuesIndices(values, _result(indices))


def _arg(name, fn, x, dim, keepdim, axis):
    arg, value = check.either(name, "dim", dim, "axis", axis)
    if x.numel() == 0:
        raise ValueError(f"{name}: the input is empty (shape {x.shape}); it has no largest or smallest element")
    if value is None:
        return _result(np.asarray(fn(x.numpy()), dtype=np.int64))
    axis = check.one_axis(name, arg, value, x.ndim)
    return _result(fn(x.numpy(), axis=axis, keepdims=validate.boolean(keepdim, f"{name}: keepdim")).astype(np.int64))


def _elementwise_method(op):
    """The Tensor method for an element-wise op with no options: `x.sin()` is `ops.Sin.apply(x)`.
    Its name is the op's in lower case, its docstring the op's formula and derivative."""

    def elementwise(self):
        return op.apply(self)

    elementwise.__name__ = op.__name__.lower()
    elementwise.__doc__ = f"ops.{op.__name__} on self: {op.__doc__}"
    return elementwise


for _op in (Exp, Log, Sqrt, Abs, Sin, Cos, ReLU, Sigmoid, Tanh):
    setattr(MathMethods, _op.__name__.lower(), _elementwise_method(_op))


def attach(methods, cls):
    """Copy the methods (and properties) written in the class `methods` onto `cls`."""
    for name, value in vars(methods).items():
        if isinstance(value, FunctionType) and value.__name__ == name:
            value.__qualname__ = f"{cls.__name__}.{name}"
        if isinstance(value, (FunctionType, property)) or name == "__hash__":
            setattr(cls, name, value)


for _methods in (MathMethods, ShapeMethods, ValueMethods):
    attach(_methods, Tensor)
