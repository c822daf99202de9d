"""The differentiable operations: arithmetic and element-wise functions, each a Function
whose backward sits right under its forward.

The element-wise functions (exp, log, sin, sigmoid, ...) share one forward and one backward,
`Elementwise`'s: the chain rule is the same product for all of them, dL/da = g * f'(a), so each
is only its formula f and its derivative df, one line each, side by side.

Notation in the comments: `g` is dL/d(out), the gradient arriving from above; each backward
returns dL/d(input) = g * d(out)/d(input) (the chain rule). Inputs that were broadcast get
their gradient summed back to shape by the engine (`autograd.unbroadcast`), so none of the
backwards below do it themselves. The arguments arrive checked: the public methods in
`tinymed.tensor_methods` validate axes and shapes, so a forward holds only its math.

The reductions (sum, mean, max, ..., softmax) are in `tinymed.ops_reduce`, the ops that
move values without changing them (reshape, transpose, indexing, joining) in
`tinymed.ops_shape`; both are imported at the bottom, so `ops` is one namespace of every op.
"""
import numpy as np

from tinymed.autograd import Function

# ---------------------------------------------------------------------------------------------
# Arithmetic (with NumPy broadcasting)
# ---------------------------------------------------------------------------------------------


class Add(Function):
    # out = a + b  ->  dout/da = 1, dout/db = 1
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    # out = a - b  ->  dout/da = 1, dout/db = -1
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, -g


class Mul(Function):
    # out = a * b  ->  dout/da = b, dout/db = a
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da = g * b if ctx.needs_input_grad[0] else None
        db = g * a if ctx.needs_input_grad[1] else None
        return da, db


class Div(Function):
    # out = a / b  ->  dout/da = 1 / b, dout/db = -a / b^2
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da = g / b if ctx.needs_input_grad[0] else None
        db = -g * a / (b * b) if ctx.needs_input_grad[1] else None
        return da, db


class Pow(Function):
    """out = a ** b  ->  dout/da = b * a^(b-1), dout/db = a^b * ln(a).

    At a = 0 both formulas meet 0 * inf; PyTorch (and the limit along the data) gives 0:
    dout/da = 0 where b == 0 (a ** 0 is constant 1), dout/db = 0 where a == 0 and b >= 0.
    The exponent and the logarithm are taken at safe stand-ins there, so no inf is ever made."""

    @staticmethod
    def forward(ctx, a, b):
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        da = db = None
        if ctx.needs_input_grad[0]:
            da = g * b * a ** np.where(b == 0, 1, b - 1)  # b == 0: 0 * a^1 = 0
        if ctx.needs_input_grad[1]:
            db = g * out * np.log(np.where((a == 0) & (b >= 0), 1, a))  # there: 0^b * ln 1 = 0
        return da, db


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


class MatMul(Function):
    """a @ b with NumPy's rules: 1-d, 2-d and batched (..., n, k) @ (..., k, m) -> (..., n, m).

    For 2-d, out = a b gives dL/da = g b^T and dL/db = a^T g. A 1-d `a` is treated as a row
    (1, k) and a 1-d `b` as a column (k, 1); the extra axis is dropped again afterwards.
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if b.ndim == 1:
            g = np.expand_dims(g, -1)
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        da = db = None
        if ctx.needs_input_grad[0]:
            da = g @ np.swapaxes(b2, -1, -2)
            da = da[..., 0, :] if a.ndim == 1 else da
        if ctx.needs_input_grad[1]:
            db = np.swapaxes(a2, -1, -2) @ g
            db = db[..., 0] if b.ndim == 1 else db
        return da, db


class Maximum(Function):
    """Element-wise max(a, b)  ->  dout/da = 1 where a > b, dout/db = 1 where b > a; at a tie
    each gets 1/2 (as torch.maximum)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(np.sign(a - b))  # +1 where a wins, -1 where b wins, 0 at a tie
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        share_a = (1 + s) / 2  # 1, 0 or 1/2
        return g * share_a, g * (1 - share_a)


class Minimum(Function):
    # min(a, b): a wins where a < b, so the sign is taken the other way and Maximum's backward holds.
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(np.sign(b - a))
        return np.minimum(a, b)

    backward = Maximum.backward


# ---------------------------------------------------------------------------------------------
# Element-wise functions
# ---------------------------------------------------------------------------------------------


class Elementwise(Function):
    """out = f(a), applied to each element on its own: out_i depends on a_i alone, so the chain
    rule is one product per element, dL/da = g * f'(a). It is written once, here; each op below
    gives only its function `f` and its derivative `df`, side by side: a table of formulas, as
    PyTorch keeps its derivatives (tools/autograd/derivatives.yaml).

    A derivative is written with the input `a` or, where that is simpler, with the output
    out = f(a) (d exp(a)/da = exp(a) is the output itself). That one array is all the backward
    keeps, and all the graph lock protects; `df_takes_output = True` marks the ops whose df
    takes `out`. f and df are plain functions of NumPy arrays, with no self: the class is only
    their namespace, and forward and backward read them off it (`cls.f`)."""

    df_takes_output = False

    @classmethod
    def forward(cls, ctx, a):
        out = cls.f(a)
        ctx.save_for_backward(out if cls.df_takes_output else a)
        return out

    @classmethod
    def backward(cls, ctx, g):
        (a_or_out,) = ctx.saved_tensors
        return g * cls.df(a_or_out)  # dL/da = dL/dout * dout/da


class Exp(Elementwise):
    """e ** a, element-wise. d exp(a)/da = exp(a): the output itself."""

    df_takes_output = True
    def f(a): return np.exp(a)
    def df(out): return out


class Log(Elementwise):
    """The natural logarithm, element-wise (nan below 0, -inf at 0, as NumPy). d log(a)/da = 1/a."""

    def f(a): return np.log(a)
    def df(a): return 1 / a


class Sqrt(Elementwise):
    """The square root, element-wise. d sqrt(a)/da = 1 / (2 sqrt(a)) = 0.5 / out."""

    df_takes_output = True
    def f(a): return np.sqrt(a)
    def df(out): return 0.5 / out


class Abs(Elementwise):
    """|a|, element-wise. d|a|/da = sign(a) (0 at 0, as PyTorch)."""

    def f(a): return np.abs(a)
    def df(a): return np.sign(a)


class Sin(Elementwise):
    """The sine, element-wise (radians). d sin(a)/da = cos(a)."""

    def f(a): return np.sin(a)
    def df(a): return np.cos(a)


class Cos(Elementwise):
    """The cosine, element-wise (radians). d cos(a)/da = -sin(a)."""

    def f(a): return np.cos(a)
    def df(a): return -np.sin(a)


class ReLU(Function):
    """max(a, 0), element-wise: gradient 1 where a > 0, else 0. (Not an Elementwise: the mask
    a > 0 that the forward makes anyway is the derivative, so it is kept, not recomputed.)"""

    @staticmethod
    def forward(ctx, a):
        positive = a > 0
        ctx.save_for_backward(positive)
        return a * positive

    @staticmethod
    def backward(ctx, g):
        (positive,) = ctx.saved_tensors
        return g * positive


def _sigmoid(a):
    """1 / (1 + e^-a), computed as e^a / (1 + e^a) for a < 0 so exp never overflows."""
    e = np.exp(-np.abs(a))  # in (0, 1]: safe for any a
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Elementwise):
    """s(a) = 1 / (1 + e^-a), computed by `_sigmoid` so exp never overflows. ds/da = s (1 - s)."""

    df_takes_output = True
    def f(a): return _sigmoid(a)
    def df(s): return s * (1 - s)


class Tanh(Elementwise):
    """The hyperbolic tangent, element-wise. d tanh(a)/da = 1 - tanh(a)^2 = 1 - out^2."""

    df_takes_output = True
    def f(a): return np.tanh(a)
    def df(out): return 1 - out * out


class LogSigmoid(Elementwise):
    # log sigmoid(a) = min(a, 0) - log(1 + e^-|a|)  ->  d/da = 1 - sigmoid(a) = sigmoid(-a)
    def f(a): return np.minimum(a, 0) - np.log1p(np.exp(-np.abs(a)))
    def df(a): return _sigmoid(-a)


class Clamp(Function):
    # Gradient 1 where lo <= a <= hi, else 0 (as torch.clamp). lo or hi may be None.
    @staticmethod
    def forward(ctx, a, lo=None, hi=None):
        inside = np.ones(a.shape, dtype=bool)
        if lo is not None:
            inside &= a >= lo
        if hi is not None:
            inside &= a <= hi
        ctx.save_for_backward(inside)
        return np.clip(a, lo, hi).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (inside,) = ctx.saved_tensors
        return g * inside


class Cast(Function):
    """Change the float dtype; the gradient is cast back to the input's dtype."""

    keeps_dtype = False

    @staticmethod
    def forward(ctx, a, *, dtype):
        ctx.dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.dtype)


from tinymed.ops_reduce import LogSoftmax, LogSumExp, Max, Mean, Min, Norm, Prod, Softmax, Sum  # noqa: E402,F401
from tinymed.ops_shape import (  # noqa: E402,F401  (one namespace: ops.Transpose as ops.Add)
    Clone, Concatenate, Expand, GetItem, Repeat, Reshape, Stack, Transpose, Where,
)
