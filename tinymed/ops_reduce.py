"""The differentiable reductions: sum, mean, max, min, prod, logsumexp, norm over axes, and
log-softmax and softmax along one axis. Each backward sits right under its forward.

A reduction collapses the axes in `axes` (a sorted tuple of non-negative axes: the public
methods in `tinymed.tensor_methods` turn `dim=`/`axis=` into it and check it), keeping them
as length 1 when `keepdims`. Its backward first puts those axes back (`_expand`), so that g
broadcasts against the input, then applies the derivative of one element.
"""
import numpy as np

from tinymed.autograd import Function


# `axes` is a sorted tuple of non-negative axes (the public methods turn dim/axis into it).


def _expand(g, axes, keepdims):
    """Put back the reduced axes (as length 1) so `g` broadcasts against the input."""
    return g if keepdims else np.expand_dims(g, axes)


class Sum(Function):
    # out = sum_i a_i  ->  dout/da_i = 1: every summed element receives g
    @staticmethod
    def forward(ctx, a, axes, keepdims=False):
        ctx.axes, ctx.keepdims, ctx.shape = axes, keepdims, a.shape
        return a.sum(axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return np.broadcast_to(_expand(g, ctx.axes, ctx.keepdims), ctx.shape)


class Mean(Function):
    # out = (1/n) sum_i a_i  ->  dout/da_i = 1/n
    @staticmethod
    def forward(ctx, a, axes, keepdims=False):
        ctx.axes, ctx.keepdims, ctx.shape = axes, keepdims, a.shape
        ctx.n = int(np.prod([a.shape[ax] for ax in ctx.axes]))
        return a.mean(axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return np.broadcast_to(_expand(g, ctx.axes, ctx.keepdims) / ctx.n, ctx.shape)


class Max(Function):
    # The gradient goes to the maximal element; ties share it equally (as torch.amax).
    @staticmethod
    def forward(ctx, a, axes, keepdims=False):
        ctx.axes, ctx.keepdims = axes, keepdims
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
    def forward(ctx, a, axes, keepdims=False):
        return Max.forward(ctx, -a, axes, keepdims) * -1

    backward = Max.backward


class Prod(Function):
    """out = prod_i a_i  ->  dout/da_i = prod_{j != i} a_j.

    Not out / a_i, which fails at a zero: the product of the others is the product of the
    elements before i times that of the elements after i, two running products (cumprod),
    exact with zeros (as PyTorch)."""

    @staticmethod
    def forward(ctx, a, axes, keepdims=False):
        ctx.save_for_backward(a)
        ctx.axes, ctx.keepdims = axes, keepdims
        return a.prod(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        kept = [ax for ax in range(a.ndim) if ax not in ctx.axes]
        order = kept + list(ctx.axes)
        rows = a.transpose(order).reshape([a.shape[ax] for ax in kept] + [-1])  # reduced axes last, as one
        ones = np.ones_like(rows[..., :1])
        before = np.cumprod(np.concatenate([ones, rows[..., :-1]], axis=-1), axis=-1)
        after = np.cumprod(np.concatenate([ones, rows[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = (before * after).reshape([a.shape[ax] for ax in order]).transpose(np.argsort(order))
        return others * _expand(g, ctx.axes, ctx.keepdims)


class LogSumExp(Function):
    """out = log sum_i exp(a_i), computed as m + log sum_i exp(a_i - m) with m = max a, so no
    exp overflows.  dout/da_i = exp(a_i - out) = softmax(a)_i."""

    @staticmethod
    def forward(ctx, a, axes, keepdims=False):
        m = a.max(axis=axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)  # all -inf (or an inf): shift by 0, the sum says it
        with np.errstate(divide="ignore"):  # log(0) = -inf is the answer when every a_i is -inf
            out = m + np.log(np.exp(a - m).sum(axis=axes, keepdims=True))
        ctx.save_for_backward(a, out)
        ctx.axes, ctx.keepdims = axes, keepdims
        return out if keepdims else np.squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        return np.exp(a - out) * _expand(g, ctx.axes, ctx.keepdims)


class Norm(Function):
    """The p-norm (sum_i |a_i|^p)^(1/p), p >= 1 finite (2: the Euclidean length).

    dout/da_i = sign(a_i) |a_i|^(p-1) / out^(p-1)  (for p = 2: a_i / out). At out = 0 (all a_i
    are 0) the gradient is 0, as PyTorch's, not 0/0."""

    @staticmethod
    def forward(ctx, a, p, axes, keepdims=False):
        out = (np.abs(a) ** p).sum(axis=axes, keepdims=True) ** (1 / p)
        ctx.save_for_backward(a, out)
        ctx.p, ctx.axes, ctx.keepdims = p, axes, keepdims
        return out if keepdims else np.squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        p = ctx.p
        scale = np.where(out == 0, 0, 1 / np.where(out == 0, 1, out) ** (p - 1))
        return np.sign(a) * np.abs(a) ** (p - 1) * scale * _expand(g, ctx.axes, ctx.keepdims)


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


class Softmax(Function):
    """s = exp(x - max) / sum(exp(x - max)) along `axis`. Subtracting the max changes nothing
    mathematically (it cancels) but keeps exp from overflowing: the largest term is exp(0) = 1.
    Backward: ds_i/dx_j = s_i (delta_ij - s_j), so dL/dx = s * (g - sum(g * s)): LogSoftmax's
    backward given the gradient g * s, as s = exp(log_softmax(x)) and d exp(u)/du = s."""

    @staticmethod
    def forward(ctx, x, *, axis):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        s = e / e.sum(axis=axis, keepdims=True)
        ctx.axis = axis
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        return s * (g - (g * s).sum(axis=ctx.axis, keepdims=True))
