"""The differentiable operations that move values around without changing them: reshape,
transpose, expand, repeat, copy, indexing, joining and choosing.

Each backward undoes the forward's rearrangement: a reshape is reshaped back, a permutation is
permuted back with its inverse, a picked element gets its gradient back in its old place. The
arguments arrive checked (`tinymed.tensor_methods` validates shapes, axes and permutations at
the public methods), so the forwards hold only the rearrangement.
"""
import numpy as np

from tinymed.autograd import Function


class Reshape(Function):
    # The same values in a new shape; the gradient is reshaped back.
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape)


class Transpose(Function):
    # Permute the axes (None reverses them); the gradient is permuted back with the inverse.
    @staticmethod
    def forward(ctx, a, axes=None):
        axes = tuple(reversed(range(a.ndim))) if axes is None else axes
        ctx.inverse = tuple(np.argsort(axes))
        return a.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(ctx.inverse)


class Expand(Function):
    """a broadcast to `shape` (a read-only view, as PyTorch's expand shares memory).

    Each input element appears in many output places, so its gradient is the sum of g over
    them: exactly what the engine's `unbroadcast` does to any gradient of a broadcast shape,
    so backward passes g through and the engine sums it."""

    @staticmethod
    def forward(ctx, a, shape):
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, g):
        return g


class Repeat(Function):
    """a tiled `reps` times along each axis (PyTorch's repeat, NumPy's tile); `reps` may be
    longer than a.ndim (new leading axes).

    Output element (r, i) along an axis is input element i for every copy r: the gradient of
    i is the sum over the copies. Viewing g as (r0, s0, r1, s1, ...) and summing the r axes."""

    @staticmethod
    def forward(ctx, a, reps):
        ctx.shape, ctx.reps = a.shape, reps
        return np.tile(a, reps)

    @staticmethod
    def backward(ctx, g):
        sizes = (1,) * (len(ctx.reps) - len(ctx.shape)) + ctx.shape
        pairs = [n for r, s in zip(ctx.reps, sizes) for n in (r, s)]
        return g.reshape(pairs).sum(axis=tuple(range(0, len(pairs), 2))).reshape(ctx.shape)


class Clone(Function):
    # A copy with its own memory; d(copy)/da = 1.
    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, g):
        return g


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
