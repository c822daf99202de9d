"""Pooling: the readable versions, forward and backward, and the public pooling functions.

A pooling window slides over each channel of each image as a convolution kernel does, and
the pixels under it become one number: their maximum (max pooling) or their mean (average
pooling). As in im2col (tinymed.nn.conv), the loop runs over the kh*kw window entries (i, j),
never over output pixels: entry (i, j) sees the strided slice

    x_pad[:, :, dh*i : dh*i + sh*H' : sh, dw*j : dw*j + sw*W' : sw]          (N, C, H', W')

Max: stack the kh*kw slices on a last axis and take the max; its gradient goes to the entry
that was the maximum (the first one on ties, as PyTorch). Mean: add the slices and divide by
the window's count; its gradient is shared equally among the window's cells.

Sizes follow PyTorch: H' = (H + 2p - d*(k - 1) - 1) // s + 1, or rounded up with ceil_mode,
where a last window that would start in the bottom/right padding is dropped. The public
functions at the bottom check their arguments once and run the fast path
(tinymed.nn.conv_fast); tests/test_conv_fast.py holds both equal.
"""
import numpy as np

from tinymed import validate
from tinymed.autograd import Function, Tensor
from tinymed.nn import conv_fast
from tinymed.nn.checks import tensor_input
from tinymed.nn.conv import out_hw, window_fits


def slices(x_pad, kernel, stride, dilation, hw):
    """The (N, C, H', W') slice that each window entry (i, j) sees, in row-major order of (i, j)."""
    (kh, kw), (sh, sw), (dh, dw), (out_h, out_w) = kernel, stride, dilation, hw
    return [x_pad[:, :, dh * i : dh * i + sh * out_h : sh, dw * j : dw * j + sw * out_w : sw]
            for i in range(kh) for j in range(kw)]


UNPADDED = ((0, 0), (0, 0))  # out_hw of an image that is padded already


def _pad(x, padding, value):
    return np.pad(x, ((0, 0), (0, 0)) + tuple(padding), constant_values=value)


class MaxPool2d(Function):
    """(N, C, H, W) -> (N, C, H', W'), the maximum of each window; the padding is -inf.
    padding: ((top, bottom), (left, right)), ceil_mode's extra rows included."""

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding, dilation):
        x_pad = _pad(x, padding, -np.inf)
        hw = out_hw(x_pad.shape, kernel, stride, UNPADDED, dilation)
        windows = np.stack(slices(x_pad, kernel, stride, dilation, hw), axis=-1)
        argmax = windows.argmax(axis=-1)  # (N, C, H', W'): which entry i*kw + j; NaN counts as the max
        ctx.save_for_backward(argmax)
        ctx.shapes = (x.shape, x_pad.shape)
        ctx.options = (kernel, stride, padding, dilation)
        return np.take_along_axis(windows, argmax[..., None], axis=-1)[..., 0]

    @staticmethod
    def backward(ctx, g):
        (argmax,) = ctx.saved_tensors
        (x_shape, pad_shape), (kernel, stride, ((pt, _), (pl, _)), dilation) = ctx.shapes, ctx.options
        dx_pad = np.zeros(pad_shape, g.dtype)
        for entry, seen in enumerate(slices(dx_pad, kernel, stride, dilation, g.shape[2:])):
            seen += np.where(argmax == entry, g, 0)  # only the maximum gets the gradient
        return dx_pad[:, :, pt : pt + x_shape[2], pl : pl + x_shape[3]]


def window_counts(image_hw, kernel, stride, padding, count_include_pad):
    """(H', W'): how many cells of each window an average divides by. The cells on the image
    count; the zero padding counts too when count_include_pad, but never ceil_mode's extra
    rows and columns beyond it (PyTorch's rule)."""
    (H, W), ((pt, pb), (pl, pr)) = image_hw, padding
    counted = np.zeros((1, 1, H + pt + pb, W + pl + pr))
    if count_include_pad:
        counted[:, :, : H + 2 * pt, : W + 2 * pl] = 1  # the image and its symmetric padding
    else:
        counted[:, :, pt : pt + H, pl : pl + W] = 1
    hw = out_hw(counted.shape, kernel, stride, UNPADDED, (1, 1))
    return sum(slices(counted, kernel, stride, (1, 1), hw))[0, 0]


class AvgPool2d(Function):
    """(N, C, H, W) -> (N, C, H', W'), the sum of each window of the zero-padded input divided
    by its count (window_counts)."""

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding, count_include_pad):
        divisor = window_counts(x.shape[2:], kernel, stride, padding, count_include_pad).astype(x.dtype)
        x_pad = _pad(x, padding, 0)
        hw = out_hw(x_pad.shape, kernel, stride, UNPADDED, (1, 1))
        ctx.shapes, ctx.divisor = (x.shape, x_pad.shape), divisor
        ctx.options = (kernel, stride, padding)
        return sum(slices(x_pad, kernel, stride, (1, 1), hw)) / divisor

    @staticmethod
    def backward(ctx, g):
        (x_shape, pad_shape), (kernel, stride, ((pt, _), (pl, _))) = ctx.shapes, ctx.options
        share = g / ctx.divisor  # d(sum / count)/d(cell) = 1 / count, for every cell of the window
        dx_pad = np.zeros(pad_shape, g.dtype)
        for seen in slices(dx_pad, kernel, stride, (1, 1), g.shape[2:]):
            seen += share
        return dx_pad[:, :, pt : pt + x_shape[2], pl : pl + x_shape[3]]


def adaptive_bins(size, out):
    """PyTorch's adaptive bins along one axis: bin i covers [floor(i*size/out), ceil((i+1)*size/out))."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


class AdaptiveAvgPool2d(Function):
    """(N, C, H, W) -> (N, C, out_h, out_w): the mean of each adaptive bin (bins may overlap)."""

    @staticmethod
    def forward(ctx, x, *, output_size):
        rows, cols = adaptive_bins(x.shape[2], output_size[0]), adaptive_bins(x.shape[3], output_size[1])
        out = np.empty(x.shape[:2] + tuple(output_size), x.dtype)
        for y, (r0, r1) in enumerate(rows):
            for z, (c0, c1) in enumerate(cols):
                out[:, :, y, z] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
        ctx.x_shape, ctx.bins = x.shape, (rows, cols)
        return out

    @staticmethod
    def backward(ctx, g):
        rows, cols = ctx.bins
        dx = np.zeros(ctx.x_shape, g.dtype)
        for y, (r0, r1) in enumerate(rows):
            for z, (c0, c1) in enumerate(cols):
                # each cell of the bin gets 1 / (its area) of the bin's gradient
                dx[:, :, r0:r1, c0:c1] += g[:, :, y, z, None, None] / ((r1 - r0) * (c1 - c0))
        return dx


class GlobalAvgPool2d(Function):
    """(N, C, H, W) -> (N, C): the mean of each channel's H x W plane."""

    @staticmethod
    def forward(ctx, x):
        ctx.x_shape = x.shape
        return x.mean(axis=(2, 3))

    @staticmethod
    def backward(ctx, g):
        N, C, H, W = ctx.x_shape
        return np.broadcast_to(g[:, :, None, None] / (H * W), ctx.x_shape)  # a view, no copy


# ---------------------------------------------------------------------------------------------
# The public functions: arguments checked here, once; then the fast path computes.
# ---------------------------------------------------------------------------------------------


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over kh x kw windows: (N, C, H, W) -> (N, C, H', W'),
    H' = (H + 2*ph - dh*(kh - 1) - 1) // sh + 1 (rounded up with ceil_mode; W' alike).

    stride defaults to kernel_size; padding (at most half the kernel) pads with -inf; the
    gradient of each output goes to its maximum, on ties to the first in row-major window order;
    a NaN is the maximum. With return_indices, also returns (N, C, H', W') int64 indices of each
    maximum in its flattened H*W input plane. As torch.nn.functional.max_pool2d.
    """
    kernel, stride, dilation, padding = _pool_options("max_pool2d", x, kernel_size, stride, padding, dilation,
                                                      ceil_mode)
    out = conv_fast.MaxPool2d.apply(x, kernel=kernel, stride=stride, padding=padding, dilation=dilation)
    if not validate.boolean(return_indices, "max_pool2d: return_indices"):
        return out
    return out, Tensor(conv_fast.max_indices(x.data, kernel, stride, padding, dilation))


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over kh x kw windows: (N, C, H, W) -> (N, C, H', W'), H' = (H + 2*ph - kh) // sh + 1
    (rounded up with ceil_mode; W' alike).

    stride defaults to kernel_size; padding (at most half the kernel) adds zeros, which count in
    the mean's divisor when count_include_pad (the default); ceil_mode's extra cells beyond the
    padding never count. As torch.nn.functional.avg_pool2d (without divisor_override).
    """
    kernel, stride, _, padding = _pool_options("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
    counts = window_counts(x.shape[2:], kernel, stride, padding,
                           validate.boolean(count_include_pad, "avg_pool2d: count_include_pad"))
    return conv_fast.AvgPool2d.apply(x, kernel=kernel, stride=stride, padding=padding, divisor=counts)


def adaptive_avg_pool2d(x, output_size):
    """Mean over adaptive bins: (N, C, H, W) -> (N, C, out_h, out_w). Bin i along an axis of size
    H covers [floor(i*H/out_h), ceil((i+1)*H/out_h)), as torch.nn.functional.adaptive_avg_pool2d;
    output_size is an int, a pair, or a pair with None (keep that axis's size)."""
    validate.ndim(tensor_input("adaptive_avg_pool2d", x), "adaptive_avg_pool2d: x", 4, "(N, C, H, W)")
    sizes = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    sizes = tuple(x.shape[2 + axis] if size is None else size for axis, size in enumerate(sizes[:2])) + sizes[2:]
    out_h, out_w = validate.pair(sizes, "adaptive_avg_pool2d: output_size", min=1)
    (H, W) = x.shape[2:]
    if H % out_h == 0 and W % out_w == 0:  # equal bins that tile the image: plain average pooling
        return avg_pool2d(x, (H // out_h, W // out_w))
    return AdaptiveAvgPool2d.apply(x, output_size=(out_h, out_w))


def global_avg_pool2d(x):
    """Mean over each channel's whole plane: (N, C, H, W) -> (N, C). PyTorch spells it
    adaptive_avg_pool2d(x, 1).flatten(1)."""
    validate.ndim(tensor_input("global_avg_pool2d", x), "global_avg_pool2d: x", 4, "(N, C, H, W)")
    return GlobalAvgPool2d.apply(x)


def _pool_options(fn, x, kernel_size, stride, padding, dilation, ceil_mode):
    """Checked (kernel, stride, dilation, ((top, bottom), (left, right))), ceil_mode's extra rows and
    columns added at the bottom and right."""
    validate.ndim(tensor_input(fn, x), f"{fn}: x", 4, "(N, C, H, W)")
    kernel = validate.pair(kernel_size, f"{fn}: kernel_size", min=1)
    stride = kernel if stride is None else validate.pair(stride, f"{fn}: stride", min=1)
    pad = validate.pair(padding, f"{fn}: padding", min=0)
    dilation = validate.pair(dilation, f"{fn}: dilation", min=1)
    ceil_mode = validate.boolean(ceil_mode, f"{fn}: ceil_mode")
    if pad[0] > kernel[0] // 2 or pad[1] > kernel[1] // 2:
        raise ValueError(f"{fn}: padding {pad} must be at most half of kernel_size {kernel} "
                         f"(as in PyTorch)")
    window_fits(fn, x, kernel, ((pad[0], pad[0]), (pad[1], pad[1])), dilation)
    return kernel, stride, dilation, tuple(_pad_after(size, k, s, p, d, ceil_mode)
                                 for size, k, s, p, d in zip(x.shape[2:], kernel, stride, pad, dilation))


def _pad_after(size, kernel, stride, pad, dilation, ceil_mode):
    """(before, after) padding of one axis: `pad`, and with ceil_mode enough more after it for
    the last, partial window, unless that window would start in the padding (PyTorch's rule)."""
    span = dilation * (kernel - 1) + 1
    out = (size + 2 * pad - span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return (pad, max(pad, (out - 1) * stride + span - size - pad))
