"""Convolution as one matrix product (im2col): the readable version, forward and backward.

Every output pixel of a convolution is the dot product of the (C, kh, kw) kernel with the patch
of the padded image under it. Copy every patch of every image into a column of one matrix, and
the whole convolution is a single matrix product:

    cols[(c, i, j), (n, y, x)] = x_pad[n, c, sh*y + dh*i, sw*x + dw*j]      (C*kh*kw, N*H'*W')
    out = weight.reshape(O, C*kh*kw) @ cols                                   (O, N*H'*W')

    x_pad (one channel), kernel 2x2, stride 1:      cols (one row per kernel entry (i, j)):

        a b c                                        (0,0):  a b d e
        d e f      patches:  a b | b c | d e | e f   (0,1):  b c e f
        g h i                d e | e f | g h | h i   (1,0):  d e g h
                                                     (1,1):  e f h i

`im2col` builds `cols` with a loop over the kh*kw kernel entries (i, j), never over output
pixels: the pixels that entry (i, j) sees, for every image, channel and output position, are one
strided slice of the padded images, copied as a whole into one row block of `cols`. The
backward is the same picture read backwards (g = dL/d(out), reshaped to (O, N*H'*W')):

    dweight = g @ cols^T                  (O, N*H'*W') @ (N*H'*W', C*kh*kw)
    dcols   = weight^T @ g                (C*kh*kw, O) @ (O, N*H'*W')
    dx      = col2im(dcols): the same loop over kernel entries with +=, adding each slice back
              where it was copied from (a pixel under several kernel entries gets their sum)
    dbias   = g summed over images and pixels

Dilation dh spreads the kernel entries dh pixels apart; groups split the C input and O output
channels into `groups` independent convolutions (one matrix product each, batched).

This file is what to read to learn convolution; `F.conv2d` runs the same math faster (blocks of
images, threads), in `tinymed.nn.conv_fast`, and a test holds the two equal.
"""
import numpy as np

from tinymed import validate
from tinymed.autograd import Function
from tinymed.nn import conv_fast
from tinymed.nn.checks import tensor_input


def out_hw(x_shape, kernel, stride, padding, dilation):
    """(H', W'): how many positions the dilated kernel takes along each padded axis,
    H' = (H + top + bottom - dh*(kh - 1) - 1) // sh + 1."""
    return tuple((size + before + after - d * (k - 1) - 1) // s + 1
                 for size, k, s, (before, after), d in zip(x_shape[2:], kernel, stride, padding, dilation))


def im2col(x, kernel, stride, padding, dilation):
    """Images (N, C, H, W) -> columns (C*kh*kw, N*H'*W'), one column per patch.
    padding: ((top, bottom), (left, right)) zeros."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    x_pad = np.pad(x, ((0, 0), (0, 0)) + tuple(padding))
    (N, C), (out_h, out_w) = x.shape[:2], out_hw(x.shape, kernel, stride, padding, dilation)
    cols = np.empty((C, kh, kw, N, out_h, out_w), x.dtype)
    for i in range(kh):
        for j in range(kw):
            # what kernel entry (i, j) sees at every output pixel: (N, C, H', W')
            seen = x_pad[:, :, dh * i : dh * i + sh * out_h : sh, dw * j : dw * j + sw * out_w : sw]
            cols[:, i, j] = seen.transpose(1, 0, 2, 3)
    return cols.reshape(C * kh * kw, N * out_h * out_w)


def col2im(dcols, x_shape, kernel, stride, padding, dilation):
    """The adjoint of im2col: (C*kh*kw, N*H'*W') -> (N, C, H, W), overlaps summed."""
    (kh, kw), (sh, sw), (dh, dw), ((pt, pb), (pl, pr)) = kernel, stride, dilation, padding
    (N, C, H, W), (out_h, out_w) = x_shape, out_hw(x_shape, kernel, stride, padding, dilation)
    dcols = dcols.reshape(C, kh, kw, N, out_h, out_w)
    dx_pad = np.zeros((N, C, H + pt + pb, W + pl + pr), dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            dx_pad[:, :, dh * i : dh * i + sh * out_h : sh, dw * j : dw * j + sw * out_w : sw] += (
                dcols[:, i, j].transpose(1, 0, 2, 3))
    return dx_pad[:, :, pt : pt + H, pl : pl + W]


class Conv2d(Function):
    """x (N, C, H, W), weight (O, C/groups, kh, kw), optional bias (O,) -> (N, O, H', W')
    (H', W' as out_hw).

    Options (already checked, as F.conv2d passes them): stride (sh, sw), padding
    ((top, bottom), (left, right)), dilation (dh, dw), groups.
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None, *, stride, padding, dilation, groups):
        N = x.shape[0]
        O, _, kh, kw = weight.shape
        cols = im2col(x, (kh, kw), stride, padding, dilation)  # (C*kh*kw, N*H'*W')
        # group k convolves input channels [k*C/groups, (k+1)*C/groups) with filters
        # [k*O/groups, (k+1)*O/groups): one (O/g, CKK/g) @ (CKK/g, M) product per group
        w_groups = weight.reshape(groups, O // groups, -1)
        out = w_groups @ cols.reshape(groups, -1, cols.shape[1])  # (groups, O/groups, N*H'*W')
        out = out.reshape(O, N, -1)
        if bias is not None:
            out += bias[:, None, None]
        ctx.save_for_backward(x, weight, cols)
        ctx.options = (stride, padding, dilation, groups)
        out = out.reshape((O, N) + out_hw(x.shape, (kh, kw), stride, padding, dilation))
        return out.transpose(1, 0, 2, 3)  # (N, O, H', W')

    @staticmethod
    def backward(ctx, g):
        x, weight, cols = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.options
        O, _, kh, kw = weight.shape
        g_groups = g.transpose(1, 0, 2, 3).reshape(groups, O // groups, -1)  # (groups, O/g, M)
        w_groups = weight.reshape(groups, O // groups, -1)  # (groups, O/g, CKK/g)
        cols = cols.reshape(groups, -1, cols.shape[1])  # (groups, CKK/g, M)
        dweight = (g_groups @ cols.transpose(0, 2, 1)).reshape(weight.shape)  # g @ cols^T
        dcols = (w_groups.transpose(0, 2, 1) @ g_groups).reshape(-1, cols.shape[2])  # W^T @ g
        dx = col2im(dcols, x.shape, (kh, kw), stride, padding, dilation)
        if len(ctx.needs_input_grad) == 2:
            return dx, dweight
        return dx, dweight, g.sum(axis=(0, 2, 3))  # dbias


# ---------------------------------------------------------------------------------------------
# The public function: its arguments are checked here, once; then the fast path computes.
# ---------------------------------------------------------------------------------------------


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution (cross-correlation, as in PyTorch): (N, C, H, W) -> (N, O, H', W').

    out[n, o, y, x] = bias[o] + sum_{c, i, j} weight[o, c, i, j] * x_pad[n, g*C/groups + c, y*sh + i*dh, x*sw + j*dw]
    (g the group of filter o), H' = (H + 2*ph - dh*(kh - 1) - 1) // sh + 1 (W' alike).
    weight: (O, C/groups, kh, kw); bias: (O,) or None; stride, dilation: an int or a pair
    (h, w); padding: an int, a pair, "valid" (no padding) or "same" (the output has the
    input's size; needs stride 1; an odd total padding puts the extra row/column at the
    bottom/right, as PyTorch); groups divides both C and O. Same semantics, defaults and layouts
    as torch.nn.functional.conv2d. Computed by `tinymed.nn.conv_fast.Conv2d` (the readable
    version is `Conv2d` above; a test holds them equal).
    """
    validate.ndim(weight, "conv2d: weight", 4, "(O, C/groups, kh, kw)")
    validate.ndim(tensor_input("conv2d", x, weight), "conv2d: x", 4, "(N, C, H, W)")
    stride = validate.pair(stride, "conv2d: stride", min=1)
    dilation = validate.pair(dilation, "conv2d: dilation", min=1)
    groups = validate.integer(groups, "conv2d: groups", min=1)
    C, (O, C_per_group) = x.shape[1], weight.shape[:2]
    if C % groups or O % groups:
        raise ValueError(f"conv2d: groups={groups} must divide both the input channels ({C}) and the "
                         f"output channels ({O}) (x.shape={tuple(x.shape)}, weight.shape={tuple(weight.shape)})")
    if C_per_group * groups != C:
        expected = "" if groups == 1 else f" (C/groups = {C}/{groups})"
        raise ValueError(f"conv2d: weight has {C_per_group} input channels but x has {C // groups}{expected} "
                         f"(x.shape={tuple(x.shape)}, weight.shape={tuple(weight.shape)})")
    kernel = tuple(weight.shape[2:])
    padding = _padding("conv2d", padding, kernel, stride, dilation)
    window_fits("conv2d", x, kernel, padding, dilation)
    options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    if bias is None:
        return conv_fast.Conv2d.apply(x, weight, **options)
    validate.ndim(bias, "conv2d: bias", 1, "(O,)")
    if bias.shape != (O,):
        raise ValueError(f"conv2d: bias must have shape ({O},), one entry per output channel "
                         f"of weight (weight.shape={tuple(weight.shape)}), got shape {tuple(bias.shape)}")
    return conv_fast.Conv2d.apply(x, weight, bias, **options)


def _padding(fn, padding, kernel, stride, dilation):
    """An int, a pair, "valid" or "same" -> ((top, bottom), (left, right))."""
    if isinstance(padding, str):
        validate.one_of(padding, f"{fn}: padding", ("valid", "same"))
        if padding == "valid":
            return ((0, 0), (0, 0))
        if stride != (1, 1):
            raise ValueError(f"{fn}: padding='same' needs stride 1 (as in PyTorch), got stride={stride}; "
                             f"pad with an int instead")
        # total dilation*(k - 1) on each axis; the odd one out at the bottom / right, as PyTorch
        totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return tuple((t // 2, t - t // 2) for t in totals)
    ph, pw = validate.pair(padding, f"{fn}: padding", min=0)
    return ((ph, ph), (pw, pw))


def window_fits(fn, x, kernel, padding, dilation=(1, 1)):
    """The padded image must be at least as large as the (dilated) kernel or window."""
    padded = tuple(n + before + after for n, (before, after) in zip(x.shape[2:], padding))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if span[0] > padded[0] or span[1] > padded[1]:
        dilated = "" if dilation == (1, 1) else f" (dilated by {dilation}: {span})"
        raise ValueError(f"{fn}: kernel {kernel}{dilated} is larger than the padded input {padded} "
                         f"(x.shape={tuple(x.shape)}, padding={padding})")

