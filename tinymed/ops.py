"""The differentiable operations: each a Function whose backward sits right under its forward.

Notation in the comments: `g` is dL/d(out), the gradient arriving from above; each backward
returns dL/d(input) = g * d(out)/d(input) (the chain rule). Inputs that were broadcast get
their gradient summed back to shape by the engine (`autograd.unbroadcast`), so none of the
backwards below do it themselves.
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
    # out = a ** b  ->  dout/da = b * a^(b-1), dout/db = a^b * ln(a)
    @staticmethod
    def forward(ctx, a, b):
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        da = g * b * a ** (b - 1) if ctx.needs_input_grad[0] else None
        db = g * out * np.log(a) if ctx.needs_input_grad[1] else None
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
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: operands must have at least 1 dim, got shapes {a.shape} and {b.shape}")
        k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if a.shape[-1] != k_b:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} do not match: the last axis of the first "
                f"({a.shape[-1]}) must equal the {'only' if b.ndim == 1 else 'second-to-last'} axis of the second ({k_b})"
            )
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


# ---------------------------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------------------------


def _axes(axis, ndim):
    """`axis` (None, int or tuple) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    for ax in axes:
        if isinstance(ax, bool) or not isinstance(ax, (int, np.integer)):
            raise TypeError(f"axis must be None, an int or a tuple of ints, got {axis!r}")
        if not -ndim <= ax < max(ndim, 1):
            raise ValueError(f"axis {ax} is out of range for a tensor with {ndim} dims")
    return tuple(sorted(ax % max(ndim, 1) for ax in axes))


def _expand(g, axes, keepdims):
    """Put back the reduced axes (as length 1) so `g` broadcasts against the input."""
    return g if keepdims else np.expand_dims(g, axes)


class Sum(Function):
    # out = sum_i a_i  ->  dout/da_i = 1: every summed element receives g
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.axes, ctx.keepdims, ctx.shape = _axes(axis, a.ndim), keepdims, a.shape
        return a.sum(axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return np.broadcast_to(_expand(g, ctx.axes, ctx.keepdims), ctx.shape)


class Mean(Function):
    # out = (1/n) sum_i a_i  ->  dout/da_i = 1/n
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.axes, ctx.keepdims, ctx.shape = _axes(axis, a.ndim), keepdims, a.shape
        ctx.n = int(np.prod([a.shape[ax] for ax in ctx.axes]))
        return a.mean(axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return np.broadcast_to(_expand(g, ctx.axes, ctx.keepdims) / ctx.n, ctx.shape)


class Max(Function):
    # The gradient goes to the maximal element; ties share it equally (as torch.amax).
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.axes, ctx.keepdims = _axes(axis, a.ndim), keepdims
        out = a.max(axis=ctx.axes, keepdims=True)
        winners = a == out
        ctx.save_for_backward(winners, winners.sum(axis=ctx.axes, keepdims=True).astype(a.dtype))
        return out if keepdims else np.squeeze(out, axis=ctx.axes)

    @staticmethod
    def backward(ctx, g):
        winners, count = ctx.saved_tensors
        return winners * (_expand(g, ctx.axes, ctx.keepdims) / count)


class Min(Function):
    # min(a) = -max(-a). In backward the two sign flips cancel: the gradient goes to the positions
    # of the minima, exactly as Max's backward sends it to the maxima, so Min reuses it.
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        return Max.forward(ctx, -a, axis=axis, keepdims=keepdims) * -1

    backward = Max.backward


# ---------------------------------------------------------------------------------------------
# Element-wise functions
# ---------------------------------------------------------------------------------------------


class Exp(Function):
    # d exp(a)/da = exp(a): reuse the output
    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


class Log(Function):
    # d log(a)/da = 1/a
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / a


class Sqrt(Function):
    # d sqrt(a)/da = 1 / (2 sqrt(a))
    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g / (2 * out)


class Abs(Function):
    # d|a|/da = sign(a) (0 at 0, as PyTorch)
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * np.sign(a)


class Clip(Function):
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


class ReLU(Function):
    # relu(a) = max(a, 0)  ->  gradient 1 where a > 0, else 0
    @staticmethod
    def forward(ctx, a):
        positive = a > 0
        ctx.save_for_backward(positive)
        return a * positive

    @staticmethod
    def backward(ctx, g):
        (positive,) = ctx.saved_tensors
        return g * positive


class Sigmoid(Function):
    """s(a) = 1 / (1 + e^-a), computed as e^a / (1 + e^a) for a < 0 so exp never overflows.
    ds/da = s (1 - s)."""

    @staticmethod
    def forward(ctx, a):
        e = np.exp(-np.abs(a))  # in (0, 1]: safe for any a
        out = np.where(a >= 0, 1 / (1 + e), e / (1 + e))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        return g * s * (1 - s)


class Tanh(Function):
    # d tanh(a)/da = 1 - tanh(a)^2
    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (1 - out * out)


class LogSigmoid(Function):
    # log sigmoid(x) = min(x, 0) - log(1 + e^-|x|)  ->  d/dx = 1 - sigmoid(x) = sigmoid(-x)
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        e = np.exp(-np.abs(x))  # sigmoid(-x) is e/(1+e) for x >= 0 and 1/(1+e) for x < 0
        return g * np.where(x >= 0, e / (1 + e), 1 / (1 + e))


class LogSoftmax(Function):
    """log softmax(x) = x - max - log(sum(exp(x - max))) along `axis`: exact for any logits,
    where log(softmax(x)) would give log(0) = -inf for a logit far below the max.
    Backward: d out_i / dx_j = delta_ij - softmax_j, so dL/dx = g - softmax * sum(g)."""

    @staticmethod
    def forward(ctx, x, *, axis):
        shifted = x - x.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g - np.exp(out) * g.sum(axis=ctx.axis, keepdims=True)


class Cast(Function):
    """Change the float dtype; the gradient is cast back to the input's dtype."""

    keeps_dtype = False

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.dtype)


# ---------------------------------------------------------------------------------------------
# Shapes and indexing: the gradient is the forward's rearrangement, undone
# ---------------------------------------------------------------------------------------------


class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} ({a.size} elements) to {shape}") from None

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape)


class Transpose(Function):
    # Permute the axes; the gradient is permuted back with the inverse permutation.
    @staticmethod
    def forward(ctx, a, axes=None):
        axes = tuple(reversed(range(a.ndim))) if axes is None else axes
        if sorted(ax % max(a.ndim, 1) for ax in axes) != list(range(a.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {a.ndim} axes of shape {a.shape}")
        ctx.inverse = tuple(np.argsort([ax % a.ndim for ax in axes]))
        return a.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(ctx.inverse)


def _is_advanced(index):
    """Does the index hold integer/boolean arrays (NumPy's advanced indexing)?"""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (list, np.ndarray)) for p in parts)


class GetItem(Function):
    """a[index] for slices, integers, None, Ellipsis, and integer or boolean arrays.

    The gradient scatters g back into zeros of a's shape. With integer arrays an element may
    be picked twice (a[[0, 0]]); its gradient is then the sum of both, which `np.add.at`
    accumulates (plain `zeros[index] += g` would keep only one).
    """

    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.index, ctx.advanced = a.shape, index, _is_advanced(index)
        return a[index]

    @staticmethod
    def backward(ctx, g):
        grad = np.zeros(ctx.shape, dtype=g.dtype)
        if ctx.advanced:
            np.add.at(grad, ctx.index, g)
        else:
            grad[ctx.index] = g
        return grad


class Concatenate(Function):
    # The gradient of each input is its slice of g.
    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis
        ctx.splits = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return tuple(np.split(g, ctx.splits, axis=ctx.axis))


class Stack(Function):
    # The gradient of input i is g's i-th entry along the new axis.
    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis
        return np.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, g):
        return tuple(np.moveaxis(g, ctx.axis, 0))


class Where(Function):
    # out = a where cond else b  ->  a gets g where cond, b gets g elsewhere
    @staticmethod
    def forward(ctx, a, b, cond):
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        da = np.where(cond, g, 0) if ctx.needs_input_grad[0] else None
        db = np.where(cond, 0, g) if ctx.needs_input_grad[1] else None
        return da, db
