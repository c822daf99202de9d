"""Convolution and pooling, each a Function with its backward right under its forward.

Convolution as one matrix product (im2col)
------------------------------------------
Every output pixel of a convolution is the dot product of the (C, kh, kw) kernel with the patch
of the padded image under it. Copy each patch into a column of a matrix, and the convolution of
one image is a single matrix product:

    cols[(c, i, j), (y, x)] = x_padded[c, y*sh + i, x*sw + j]             (C*kh*kw, H'*W')
    out = W.reshape(O, C*kh*kw) @ cols                                     (O, H'*W')

`cols` is built by looping over the kh*kw kernel offsets (i, j), never over output pixels: the
pixels that kernel entry (i, j) sees, for all channels and all output positions, form one
strided slice of the padded image, copied as a whole (C, H', W') plane. The backward is the
same picture read backwards (g = dL/d(out), reshaped to (O, H'*W')):

    dW    = g @ cols^T                     (O, H'W') @ (H'W', C*kh*kw) -> (O, C*kh*kw)
    dcols = W^T @ g                        (C*kh*kw, O) @ (O, H'W')    -> (C*kh*kw, H'W')
    dx    = col2im(dcols): the same loop over offsets with +=, adding each plane back where it
            was copied from (a pixel under several kernel entries gets the sum of their grads)
    db    = g summed over images and pixels

Speed. Images go through in blocks (about 4 MB of columns each), so a block's columns are
still in the CPU cache when the matrix product reads them; and the backward rebuilds the columns
from x instead of keeping them from the forward (as PyTorch does), so a layer keeps x, not
kh*kw copies of it. benchmarks/bench_conv.py times this against PyTorch and a naive version.
Pooling loops over kernel offsets in the same way.
"""
import numpy as np

from tinymed.autograd import Function, Tensor

_BLOCK_BYTES = 4 * 2**20  # bytes of columns per block of images: about what the cache holds


def _blocks(n_images, bytes_per_image):
    """Slices of the batch axis, each holding about _BLOCK_BYTES of columns."""
    step = max(1, _BLOCK_BYTES // max(1, bytes_per_image))
    return [slice(start, start + step) for start in range(0, n_images, step)]


def _pad(x, ph, pw, value=0.0):
    """(N, C, H, W) -> (N, C, H + 2ph, W + 2pw), the border filled with `value`."""
    if ph == 0 and pw == 0:
        return x
    N, C, H, W = x.shape
    xp = np.full((N, C, H + 2 * ph, W + 2 * pw), value, x.dtype)  # np.pad: same, 8x the overhead
    xp[:, :, ph : ph + H, pw : pw + W] = x
    return xp


def _window(a, i, j, out_hw, stride):
    """The (N, C, H', W') plane that kernel offset (i, j) sees: one strided slice of `a`."""
    (out_h, out_w), (sh, sw) = out_hw, stride
    return a[:, :, i : i + sh * out_h : sh, j : j + sw * out_w : sw]


def _im2col(xp, kernel, out_hw, stride):
    """Padded images (n, C, Hp, Wp) -> columns (n, C*kh*kw, H'*W'), one kh*kw loop of copies."""
    (n, c), (kh, kw), (out_h, out_w) = xp.shape[:2], kernel, out_hw
    cols = np.empty((n, c, kh, kw, out_h, out_w), xp.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = _window(xp, i, j, out_hw, stride)
    return cols.reshape(n, c * kh * kw, out_h * out_w)


def _col2im(dcols, padded_shape, kernel, out_hw, stride):
    """The adjoint of _im2col: (n, C*kh*kw, H'*W') -> (n, C, Hp, Wp), summing overlaps."""
    (n, c), (kh, kw) = padded_shape[:2], kernel
    dcols = dcols.reshape(n, c, kh, kw, *out_hw)
    dxp = np.zeros(padded_shape, dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            _window(dxp, i, j, out_hw, stride)[...] += dcols[:, :, i, j]
    return dxp


def _out_size(size, kernel, stride, padding):
    """H' = (H + 2p - k) // s + 1 for both axes (PyTorch's floor mode)."""
    return tuple((n + 2 * p - k) // s + 1 for n, k, s, p in zip(size, kernel, stride, padding))


# ---------------------------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------------------------


class Conv2d(Function):
    """x (N, C, H, W), weight (O, C, kh, kw), optional bias (O,) -> (N, O, H', W')."""

    @staticmethod
    def forward(ctx, x, weight, bias=None, *, stride, padding):
        (N, C, H, W), (O, _, kh, kw) = x.shape, weight.shape
        out_hw = _out_size((H, W), (kh, kw), stride, padding)
        w2 = weight.reshape(O, C * kh * kw)
        out = np.empty((N, O, out_hw[0] * out_hw[1]), x.dtype)
        for block in _blocks(N, w2.shape[1] * out.shape[2] * x.itemsize):
            cols = _im2col(_pad(x[block], *padding), (kh, kw), out_hw, stride)  # (n, CKK, H'W')
            np.matmul(w2, cols, out=out[block])  # (O, CKK) @ (n, CKK, H'W') -> (n, O, H'W')
        if bias is not None:
            out += bias[:, None]
        ctx.save_for_backward(x, weight)
        ctx.geometry = (out_hw, stride, padding)
        ctx.has_bias = bias is not None
        return out.reshape(N, O, *out_hw)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        out_hw, stride, (ph, pw) = ctx.geometry
        (N, C, H, W), (O, _, kh, kw) = x.shape, weight.shape
        need_x, need_w = ctx.needs_input_grad[:2]
        w2 = weight.reshape(O, C * kh * kw)
        g = g.reshape(N, O, out_hw[0] * out_hw[1])
        dx = np.empty_like(x) if need_x else None
        dw = np.zeros_like(w2) if need_w else None
        for block in _blocks(N, w2.shape[1] * g.shape[2] * x.itemsize):
            g_block = g[block]  # (n, O, H'W')
            xp = _pad(x[block], ph, pw)
            if need_w:
                cols = _im2col(xp, (kh, kw), out_hw, stride)  # rebuilt: the forward kept only x
                # dW = sum over images of g @ cols^T, computed transposed: (cols @ g^T)^T
                # puts the long H'W' axis in the rows, where the BLAS runs it faster.
                dw += np.matmul(cols, g_block.transpose(0, 2, 1)).sum(axis=0).T
            if need_x:
                dcols = np.matmul(w2.T, g_block)  # (CKK, O) @ (n, O, H'W') -> (n, CKK, H'W')
                dxp = _col2im(dcols, xp.shape, (kh, kw), out_hw, stride)
                dx[block] = dxp[:, :, ph : ph + H, pw : pw + W]
        dw = dw.reshape(weight.shape) if need_w else None
        if not ctx.has_bias:
            return dx, dw
        db = g.sum(axis=(0, 2)) if ctx.needs_input_grad[2] else None
        return dx, dw, db


# ---------------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------------


class MaxPool2d(Function):
    """Maximum over each kh x kw window; the border is padded with -inf (never the max)."""

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding):
        (kh, kw), (ph, pw) = kernel, padding
        xp = _pad(x, ph, pw, value=-np.inf)
        out_hw = _out_size(x.shape[2:], kernel, stride, padding)
        # start from offset 0 of every window; argmax: the offset i*kw + j each maximum came from
        out = _window(xp, 0, 0, out_hw, stride).copy()
        argmax = np.zeros(out.shape, np.min_scalar_type(kh * kw))
        for offset in range(1, kh * kw):
            window = _window(xp, *divmod(offset, kw), out_hw, stride)
            # Strictly greater: on ties the first offset in row-major order keeps the max,
            # as in PyTorch; a NaN always wins, so it propagates as in PyTorch.
            better = (window > out) | np.isnan(window)
            np.copyto(out, window, where=better)
            np.copyto(argmax, offset, where=better)
        ctx.save_for_backward(argmax)
        ctx.geometry = (x.shape, xp.shape, kernel, out_hw, stride, padding)
        return out

    @staticmethod
    def backward(ctx, g):
        (argmax,) = ctx.saved_tensors
        x_shape, padded_shape, (kh, kw), out_hw, stride, (ph, pw) = ctx.geometry
        dxp = np.zeros(padded_shape, g.dtype)
        for offset in range(kh * kw):
            # each output's gradient goes to the one input that was its maximum
            _window(dxp, *divmod(offset, kw), out_hw, stride)[...] += np.where(argmax == offset, g, 0)
        return dxp[:, :, ph : ph + x_shape[2], pw : pw + x_shape[3]]


class AvgPool2d(Function):
    """Mean over each kh x kw window of the zero-padded input; the divisor is always kh*kw."""

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding):
        (kh, kw), (ph, pw) = kernel, padding
        xp = _pad(x, ph, pw)
        out_hw = _out_size(x.shape[2:], kernel, stride, padding)
        out = np.zeros(x.shape[:2] + out_hw, x.dtype)
        for i in range(kh):
            for j in range(kw):
                out += _window(xp, i, j, out_hw, stride)
        ctx.geometry = (x.shape, xp.shape, kernel, out_hw, stride, padding)
        return out / (kh * kw)

    @staticmethod
    def backward(ctx, g):
        x_shape, padded_shape, (kh, kw), out_hw, stride, (ph, pw) = ctx.geometry
        g = g / (kh * kw)  # every input in a window gets 1/(kh*kw) of the window's gradient
        dxp = np.zeros(padded_shape, g.dtype)
        for i in range(kh):
            for j in range(kw):
                _window(dxp, i, j, out_hw, stride)[...] += g
        return dxp[:, :, ph : ph + x_shape[2], pw : pw + x_shape[3]]


class GlobalAvgPool2d(Function):
    """(N, C, H, W) -> (N, C): the mean of each channel's H x W plane."""

    @staticmethod
    def forward(ctx, x):
        ctx.x_shape = x.shape
        return x.mean(axis=(2, 3))

    @staticmethod
    def backward(ctx, g):
        N, C, H, W = ctx.x_shape
        return np.broadcast_to(g[:, :, None, None] / (H * W), ctx.x_shape).copy()


# ---------------------------------------------------------------------------------------------
# The public functions: check the input here, so a mistake never surfaces deep inside NumPy.
# ---------------------------------------------------------------------------------------------


def _check_4d(fn, name, a):
    if not isinstance(a, (Tensor, np.ndarray)):
        raise TypeError(f"{fn}: {name} must be a Tensor or a NumPy array, got {type(a).__name__}")
    if a.ndim != 4:
        raise ValueError(f"{fn}: {name} must be 4-d {'(N, C, H, W)' if name == 'x' else '(O, C, kh, kw)'}, "
                         f"got shape {tuple(a.shape)}")


def _pair(fn, name, value, smallest):
    """An int or a pair of ints (h, w), each >= smallest -> (h, w)."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair):
        raise TypeError(f"{fn}: {name} must be an int or a pair of ints (h, w), got {value!r}")
    if min(pair) < smallest:
        kind = "positive" if smallest == 1 else "non-negative"
        raise ValueError(f"{fn}: {name} must be {kind}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_fits(fn, x, kernel, padding):
    padded = tuple(n + 2 * p for n, p in zip(x.shape[2:], padding))
    if kernel[0] > padded[0] or kernel[1] > padded[1]:
        raise ValueError(f"{fn}: kernel {kernel} is larger than the padded input {padded} "
                         f"(x.shape={tuple(x.shape)}, padding={padding})")


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-d convolution (cross-correlation, as in PyTorch): (N, C, H, W) -> (N, O, H', W').

    out[n, o, y, x] = bias[o] + sum_{c, i, j} weight[o, c, i, j] * x_pad[n, c, y*sh + i, x*sw + j]
    with H' = (H + 2*ph - kh) // sh + 1 (likewise W'). weight: (O, C, kh, kw); bias: (O,) or None;
    stride, padding: an int or a pair (h, w); zero padding. Same semantics and layouts as
    torch.nn.functional.conv2d (without dilation and groups).
    """
    _check_4d("conv2d", "x", x)
    _check_4d("conv2d", "weight", weight)
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"conv2d: weight has {weight.shape[1]} input channels but x has {x.shape[1]} "
                         f"(x.shape={tuple(x.shape)}, weight.shape={tuple(weight.shape)})")
    stride = _pair("conv2d", "stride", stride, smallest=1)
    padding = _pair("conv2d", "padding", padding, smallest=0)
    _check_fits("conv2d", x, tuple(weight.shape[2:]), padding)
    if bias is None:
        return Conv2d.apply(x, weight, stride=stride, padding=padding)
    if not isinstance(bias, (Tensor, np.ndarray)) or bias.shape != (weight.shape[0],):
        got = f"shape {tuple(bias.shape)}" if isinstance(bias, (Tensor, np.ndarray)) else type(bias).__name__
        raise ValueError(f"conv2d: bias must have shape ({weight.shape[0]},), one entry per output channel "
                         f"of weight (weight.shape={tuple(weight.shape)}), got {got}")
    return Conv2d.apply(x, weight, bias, stride=stride, padding=padding)


def _pool_options(fn, x, kernel_size, stride, padding):
    _check_4d(fn, "x", x)
    kernel = _pair(fn, "kernel_size", kernel_size, smallest=1)
    stride = kernel if stride is None else _pair(fn, "stride", stride, smallest=1)
    padding = _pair(fn, "padding", padding, smallest=0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{fn}: padding {padding} must be at most half of kernel_size {kernel} "
                         f"(as in PyTorch)")
    _check_fits(fn, x, kernel, padding)
    return {"kernel": kernel, "stride": stride, "padding": padding}


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max over kh x kw windows: (N, C, H, W) -> (N, C, H', W'), H' = (H + 2*ph - kh) // sh + 1.

    stride defaults to kernel_size; padding (at most half the kernel) pads with -inf; windows
    that would run past the edge are dropped (floor mode). The gradient of each output goes to
    its maximum; on ties to the first in row-major window order. As torch.nn.functional.max_pool2d.
    """
    return MaxPool2d.apply(x, **_pool_options("max_pool2d", x, kernel_size, stride, padding))


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over kh x kw windows: (N, C, H, W) -> (N, C, H', W'), H' = (H + 2*ph - kh) // sh + 1.

    stride defaults to kernel_size; padding adds zeros that count in the mean (the divisor is
    always kh*kw: PyTorch's default count_include_pad=True); floor mode. As
    torch.nn.functional.avg_pool2d with its defaults.
    """
    return AvgPool2d.apply(x, **_pool_options("avg_pool2d", x, kernel_size, stride, padding))


def global_avg_pool2d(x):
    """Mean over each channel's whole plane: (N, C, H, W) -> (N, C). PyTorch spells it
    adaptive_avg_pool2d(x, 1).flatten(1)."""
    _check_4d("global_avg_pool2d", "x", x)
    return GlobalAvgPool2d.apply(x)
