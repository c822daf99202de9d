"""Convolution and pooling, each a Function with its backward right under its forward.

Convolution as one matrix product (im2col)
------------------------------------------
Every output pixel of a convolution is the dot product of the (C, kh, kw) kernel with the patch
of the padded image under it. Copy each patch into a column of a matrix, and the convolution of
one image is a single matrix product:

    cols[(c, i, j), (y, x)] = x_padded[c, sh*y + i, sw*x + j]             (C*kh*kw, H'*W')
    out = W.reshape(O, C*kh*kw) @ cols                                     (O, H'*W')

`cols` is built by looping over the kh*kw kernel offsets (i, j), never over output pixels: the
pixels that kernel entry (i, j) sees, for all channels and all output positions, form one
strided slice of the padded image (a "window"), copied as a whole. The backward is the same
picture read backwards (g = dL/d(out), reshaped to (O, H'*W')):

    dW    = g @ cols^T                     (O, H'W') @ (H'W', C*kh*kw) -> (O, C*kh*kw)
    dcols = W^T @ g                        (C*kh*kw, O) @ (O, H'W')    -> (C*kh*kw, H'W')
    dx    = col2im(dcols): the same loop over offsets with +=, adding each window back where it
            was copied from (a pixel under several kernel entries gets the sum of their grads)
    db    = g summed over images and pixels

Speed (benchmarks/bench_conv.py times this against PyTorch and a naive version):
- Images go through in blocks of about 4 MB of columns, so a block's columns are still in the
  CPU cache when the matrix product reads them. The backward rebuilds the columns from x
  instead of keeping them from the forward (PyTorch's CPU convolution does the same): a layer
  keeps x, not kh*kw copies of it.
- With stride 1, output rows are computed Wp wide instead of W' wide (see `_Grid`), so that
  every window is one unbroken run of memory: col2im's += runs about 3x faster on those than on
  (H', W') windows with a gap after every row. (A side effect: rows of H'*Wp, not H'*W' = 64*64,
  avoid the power-of-two lengths on which OpenBLAS's matrix products are slower.)
Pooling loops over the kernel offsets in the same way.
"""
import numpy as np

from tinymed.autograd import Function, Tensor

_BLOCK_BYTES = 4 * 2**20  # bytes of columns per block of images: about what the cache holds


def _blocks(n_images, bytes_per_image):
    """Slices of the batch axis, each holding about _BLOCK_BYTES of columns."""
    step = max(1, _BLOCK_BYTES // max(1, bytes_per_image))
    return [slice(start, start + step) for start in range(0, n_images, step)]


class _Grid:
    """Where a (kh, kw) kernel sliding with `stride` over an (H, W) image padded by `padding`
    lands: the output size H' x W' and the window of the padded image each kernel offset sees.

    Kernel offset (i, j) sees padded[sh*y + i, sw*x + j] at output pixel (y, x): the strided
    slice padded[i : i + sh*H' : sh, j : j + sw*W' : sw], an (H', W') window.

    With wide=True and stride 1 (conv2d), output rows are computed Wp wide instead of W': read
    the padded image as one long row `flat`, and the window of offset (i, j) is the unbroken run
    flat[i*Wp + j : i*Wp + j + H'*Wp]. The last kw-1 entries of each of its rows wrap around into
    the next image row; the outputs made from them are thrown away. NumPy adds (+=) an unbroken
    run about 3x faster than a window with a gap after every row of W'.
    """

    def __init__(self, x_shape, kernel, stride, padding, wide=False):
        self.H, self.W = x_shape[2:]
        self.kernel, self.stride, self.padding = kernel, stride, padding
        (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
        self.Hp, self.Wp = self.H + 2 * ph, self.W + 2 * pw
        self.out_h, self.out_w = (self.Hp - kh) // sh + 1, (self.Wp - kw) // sw + 1  # floor mode
        self.wide = wide and stride == (1, 1)
        self.row_len = self.Wp if self.wide else self.out_w  # outputs computed per row

    def pad(self, x, value=0.0):
        """Images (n, C, H, W) -> (n, C, Hp, Wp), the border filled with `value`; when wide,
        one more row of `value` at the bottom, for the last window's wrapped-around entries."""
        if self.padding == (0, 0) and not self.wide:
            return x
        extra = 1 if self.wide else 0
        padded = np.full(x.shape[:2] + (self.Hp + extra, self.Wp), value, x.dtype)
        self.inside(padded)[...] = x
        return padded

    def inside(self, padded):
        """The (n, C, H, W) image within the padding (a view)."""
        (ph, pw) = self.padding
        return padded[:, :, ph : ph + self.H, pw : pw + self.W]

    def window(self, padded, i, j):
        """The (n, C, H', row_len) view of `padded` that kernel offset (i, j) sees."""
        (sh, sw), n_c = self.stride, padded.shape[:2]
        if self.wide:
            flat, start = padded.reshape(n_c + (-1,)), i * self.Wp + j
            return flat[:, :, start : start + self.out_h * self.Wp].reshape(n_c + (self.out_h, self.Wp))
        return padded[:, :, i : i + sh * self.out_h : sh, j : j + sw * self.out_w : sw]

    def zeros(self, n_c, dtype):
        """A zero gradient of the padded images' shape."""
        return np.zeros(n_c + (self.Hp + (1 if self.wide else 0), self.Wp), dtype)


def _im2col(padded, grid):
    """Padded images (n, C, ., Wp) -> columns (n, C*kh*kw, H'*row_len): kh*kw window copies."""
    (n, c), (kh, kw) = padded.shape[:2], grid.kernel
    cols = np.empty((n, c, kh, kw, grid.out_h, grid.row_len), padded.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = grid.window(padded, i, j)
    return cols.reshape(n, c * kh * kw, grid.out_h * grid.row_len)


def _col2im(dcols, grid):
    """The adjoint of _im2col: (n, C*kh*kw, H'*row_len) -> padded (n, C, ., Wp), summing overlaps."""
    (kh, kw), n = grid.kernel, dcols.shape[0]
    dcols = dcols.reshape(n, -1, kh, kw, grid.out_h, grid.row_len)  # (n, C, kh, kw, H', row_len)
    dpadded = grid.zeros(dcols.shape[:2], dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            grid.window(dpadded, i, j)[...] += dcols[:, :, i, j]
    return dpadded


# ---------------------------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------------------------


class Conv2d(Function):
    """x (N, C, H, W), weight (O, C, kh, kw), optional bias (O,) -> (N, O, H', W')."""

    @staticmethod
    def forward(ctx, x, weight, bias=None, *, stride, padding):
        (N, C, H, W), (O, _, kh, kw) = x.shape, weight.shape
        grid = _Grid(x.shape, (kh, kw), stride, padding, wide=True)
        w2 = weight.reshape(O, C * kh * kw)
        out = np.empty((N, O, grid.out_h, grid.out_w), x.dtype)
        for block in _blocks(N, w2.shape[1] * grid.out_h * grid.row_len * x.itemsize):
            cols = _im2col(grid.pad(x[block]), grid)  # (n, CKK, H'*row_len), CKK = C*kh*kw
            out_rows = w2 @ cols  # (O, CKK) @ (n, CKK, H'*row_len) -> (n, O, H'*row_len)
            if bias is not None:
                out_rows += bias[:, None]
            # (n, O, H', W'): drop the wrapped-around outputs at the end of each row, if any
            out[block] = out_rows.reshape(-1, O, grid.out_h, grid.row_len)[..., : grid.out_w]
        ctx.save_for_backward(x, weight)
        ctx.grid = grid
        ctx.has_bias = bias is not None
        return out

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        grid = ctx.grid
        (N, C, H, W), (O, _, kh, kw) = x.shape, weight.shape
        need_x, need_w = ctx.needs_input_grad[:2]
        w2 = weight.reshape(O, C * kh * kw)
        dx = np.empty_like(x) if need_x else None
        dw = np.zeros_like(w2) if need_w else None
        for block in _blocks(N, w2.shape[1] * grid.out_h * grid.row_len * x.itemsize):
            g_rows = np.zeros((g[block].shape[0], O, grid.out_h, grid.row_len), g.dtype)
            g_rows[..., : grid.out_w] = g[block]  # wrapped-around outputs get no gradient
            g_rows = g_rows.reshape(-1, O, grid.out_h * grid.row_len)  # (n, O, H'*row_len)
            if need_w:
                cols = _im2col(grid.pad(x[block]), grid)  # rebuilt: the forward kept only x
                # dW = sum over images of g @ cols^T, computed transposed: (cols @ g^T)^T
                # puts the long H'*row_len axis in the rows, where the BLAS runs it faster.
                dw += np.matmul(cols, g_rows.transpose(0, 2, 1)).sum(axis=0).T
            if need_x:
                dcols = w2.T @ g_rows  # (CKK, O) @ (n, O, H'*row_len) -> (n, CKK, H'*row_len)
                dx[block] = grid.inside(_col2im(dcols, grid))  # (n, C, H, W)
        dw = dw.reshape(weight.shape) if need_w else None
        if not ctx.has_bias:
            return dx, dw
        db = g.sum(axis=(0, 2, 3)) if ctx.needs_input_grad[2] else None
        return dx, dw, db


# ---------------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------------


class MaxPool2d(Function):
    """Maximum over each kh x kw window; the border is padded with -inf (never the max)."""

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding):
        grid = _Grid(x.shape, kernel, stride, padding)
        padded = grid.pad(x, value=-np.inf)
        # start from offset 0 of every window; argmax: the offset i*kw + j each maximum came from
        out = grid.window(padded, 0, 0).copy()
        argmax = np.zeros(out.shape, np.min_scalar_type(kernel[0] * kernel[1]))
        for offset in range(1, kernel[0] * kernel[1]):
            # one strided copy, so that the four operations below run on contiguous memory
            window = np.ascontiguousarray(grid.window(padded, *divmod(offset, kernel[1])))
            # Strictly greater: on ties the first offset in row-major order keeps the max,
            # as in PyTorch; a NaN always wins, so it propagates as in PyTorch.
            better = (window > out) | np.isnan(window)
            np.maximum(out, window, out=out)
            # argmax = offset where better, else unchanged; offsets only grow along this loop, so
            # that is max(argmax, better * offset): arithmetic, which NumPy runs several times
            # faster than the masked assignment argmax[better] = offset.
            np.maximum(argmax, better * argmax.dtype.type(offset), out=argmax)
        ctx.save_for_backward(argmax)
        ctx.grid = grid
        return out

    @staticmethod
    def backward(ctx, g):
        (argmax,) = ctx.saved_tensors
        grid, (kh, kw) = ctx.grid, ctx.grid.kernel
        dpadded = grid.zeros(g.shape[:2], g.dtype)
        for offset in range(kh * kw):
            # each output's gradient goes to the one input that was its maximum
            grid.window(dpadded, *divmod(offset, kw))[...] += g * (argmax == offset)
        return grid.inside(dpadded)


class AvgPool2d(Function):
    """Mean over each kh x kw window of the zero-padded input; the divisor is always kh*kw."""

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding):
        grid = _Grid(x.shape, kernel, stride, padding)
        padded = grid.pad(x)
        out = np.zeros(x.shape[:2] + (grid.out_h, grid.out_w), x.dtype)
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                out += grid.window(padded, i, j)
        ctx.grid = grid
        return out / (kernel[0] * kernel[1])

    @staticmethod
    def backward(ctx, g):
        grid, (kh, kw) = ctx.grid, ctx.grid.kernel
        g = g / (kh * kw)  # every input in a window gets 1/(kh*kw) of the window's gradient
        dpadded = grid.zeros(g.shape[:2], g.dtype)
        for i in range(kh):
            for j in range(kw):
                grid.window(dpadded, i, j)[...] += g
        return grid.inside(dpadded)


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
    if not isinstance(bias, (Tensor, np.ndarray)):
        raise TypeError(f"conv2d: bias must be a Tensor, a NumPy array or None, got {type(bias).__name__}")
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"conv2d: bias must have shape ({weight.shape[0]},), one entry per output channel "
                         f"of weight (weight.shape={tuple(weight.shape)}), got shape {tuple(bias.shape)}")
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
