"""The fast path of convolution and pooling: what F.conv2d and the pooling functions run.

Same math as the readable versions (tinymed.nn.conv, tinymed.nn.pooling; tests/test_conv_fast.py
holds them equal), three tricks added:

- Blocks of images on threads: the batch is cut into blocks of about 4 MB of im2col columns
  (a block's columns are still in the CPU cache when the matrix product reads them), and the
  blocks run on tinymed's threads (tinymed.parallel). The backward rebuilds a block's columns
  from x instead of keeping them from the forward (PyTorch's CPU convolution does the same): a
  layer keeps x, not kh*kw copies of it.
- Wide rows (stride 1): output rows are computed Wp wide instead of W' wide (see `_Grid`), so
  that every window is one unbroken run of memory: col2im's += runs about 3x faster on those
  than on (H', W') windows with a gap after every row.
- Max pooling updates its running maximum and argmax with branch-free arithmetic.

Options arrive checked and resolved by the public functions: padding as ((top, bottom),
(left, right)), including ceil_mode's extra rows at the bottom/right for pooling.
"""
import numpy as np

from tinymed import parallel
from tinymed.autograd import Function


class _Grid:
    """Where a (kh, kw) kernel with `stride` and `dilation` lands on an (H, W) image padded by
    ((top, bottom), (left, right)): the output size H' x W' and the window each kernel entry sees.

    Kernel entry (i, j) sees padded[sh*y + dh*i, sw*x + dw*j] at output pixel (y, x): the strided
    slice padded[dh*i : dh*i + sh*H' : sh, dw*j : dw*j + sw*W' : sw], an (H', W') window.

    With wide=True and stride 1, output rows are computed Wp wide instead of W': read the padded
    image as one long row `flat`, and the window of entry (i, j) is the unbroken run
    flat[dh*i*Wp + dw*j : ... + H'*Wp]. The last entries of each of its rows wrap around into
    the next image row; the outputs made from them are thrown away. One extra padding row at the
    bottom holds the last window's wrapped-around entries.
    """

    def __init__(self, x_shape, kernel, stride, padding, dilation, wide=False):
        self.H, self.W = x_shape[2:]
        self.kernel, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation
        (kh, kw), (sh, sw), ((pt, pb), (pl, pr)), (dh, dw) = kernel, stride, padding, dilation
        self.Hp, self.Wp = self.H + pt + pb, self.W + pl + pr
        self.out_h, self.out_w = (self.Hp - dh * (kh - 1) - 1) // sh + 1, (self.Wp - dw * (kw - 1) - 1) // sw + 1
        self.wide = wide and stride == (1, 1)
        self.row_len = self.Wp if self.wide else self.out_w  # outputs computed per row
        self.extra = 1 if self.wide else 0

    def pad(self, x, value=0.0):
        """Images (n, C, H, W) -> (n, C, Hp (+1 when wide), Wp), the border filled with `value`."""
        if self.padding == ((0, 0), (0, 0)) and not self.wide:
            return x
        padded = np.full(x.shape[:2] + (self.Hp + self.extra, self.Wp), value, x.dtype)
        self.inside(padded)[...] = x
        return padded

    def inside(self, padded):
        """The (n, C, H, W) image within the padding (a view)."""
        ((pt, _), (pl, _)) = self.padding
        return padded[:, :, pt : pt + self.H, pl : pl + self.W]

    def window(self, padded, i, j):
        """The (n, C, H', row_len) view of `padded` that kernel entry (i, j) sees."""
        (sh, sw), (dh, dw), n_c = self.stride, self.dilation, padded.shape[:2]
        if self.wide:
            flat, start = padded.reshape(n_c + (-1,)), dh * i * self.Wp + dw * j
            return flat[:, :, start : start + self.out_h * self.Wp].reshape(n_c + (self.out_h, self.Wp))
        return padded[:, :, dh * i : dh * i + sh * self.out_h : sh, dw * j : dw * j + sw * self.out_w : sw]

    def cols_bytes(self, x):
        """Bytes of one image's im2col columns: what a block of images is sized by."""
        return x.shape[1] * self.kernel[0] * self.kernel[1] * self.out_h * self.row_len * x.itemsize

    def zeros(self, n_c, dtype):
        """A zero gradient of the padded images' shape."""
        return np.zeros(n_c + (self.Hp + self.extra, self.Wp), dtype)

    def im2col(self, padded):
        """Padded images (n, C, ., Wp) -> columns (n, C*kh*kw, H'*row_len): kh*kw window copies."""
        (n, c), (kh, kw) = padded.shape[:2], self.kernel
        cols = np.empty((n, c, kh, kw, self.out_h, self.row_len), padded.dtype)
        for i in range(kh):
            for j in range(kw):
                cols[:, :, i, j] = self.window(padded, i, j)
        return cols.reshape(n, c * kh * kw, self.out_h * self.row_len)

    def col2im(self, dcols):
        """The adjoint of im2col: (n, C*kh*kw, H'*row_len) -> padded (n, C, ., Wp), overlaps summed."""
        (kh, kw), n = self.kernel, dcols.shape[0]
        dcols = dcols.reshape(n, -1, kh, kw, self.out_h, self.row_len)
        dpadded = self.zeros(dcols.shape[:2], dcols.dtype)
        for i in range(kh):
            for j in range(kw):
                self.window(dpadded, i, j)[...] += dcols[:, :, i, j]
        return dpadded


# ---------------------------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------------------------


class Conv2d(Function):
    """x (N, C, H, W), weight (O, C/groups, kh, kw), optional bias (O,) -> (N, O, H', W')."""

    @staticmethod
    def forward(ctx, x, weight, bias=None, *, stride, padding, dilation, groups):
        N, (O, _, kh, kw) = x.shape[0], weight.shape
        grid = _Grid(x.shape, (kh, kw), stride, padding, dilation, wide=True)
        w = weight.reshape(groups, O // groups, -1)  # (groups, O/g, CKK/g), CKK = C*kh*kw
        out = np.empty((N, O, grid.out_h, grid.out_w), x.dtype)

        def one_block(rows):
            cols = grid.im2col(grid.pad(x[rows]))  # (n, CKK, H'*row_len)
            cols = cols.reshape(cols.shape[0], groups, -1, cols.shape[2])  # (n, groups, CKK/g, L)
            out_rows = (w @ cols).reshape(-1, O, grid.out_h, grid.row_len)  # (n, O, H', row_len)
            out[rows] = out_rows[..., : grid.out_w]  # drop the wrapped-around outputs, if any
            if bias is not None:
                out[rows] += bias[:, None, None]

        parallel.run(one_block, parallel.blocks(N, grid.cols_bytes(x)))
        ctx.save_for_backward(x, weight)
        ctx.grid, ctx.groups = grid, groups
        return out

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        grid, groups = ctx.grid, ctx.groups
        N, (O, _, kh, kw) = x.shape[0], weight.shape
        need_x, need_w = ctx.needs_input_grad[:2]
        need_b = len(ctx.needs_input_grad) == 3 and ctx.needs_input_grad[2]
        w = weight.reshape(groups, O // groups, -1)
        dx = np.empty_like(x) if need_x else None

        def one_block(rows):
            g_rows = np.zeros((g[rows].shape[0], O, grid.out_h, grid.row_len), g.dtype)
            g_rows[..., : grid.out_w] = g[rows]  # wrapped-around outputs get no gradient
            g_rows = g_rows.reshape(-1, groups, O // groups, grid.out_h * grid.row_len)  # (n, groups, O/g, L)
            if need_x:
                dcols = w.transpose(0, 2, 1) @ g_rows  # W^T @ g: (n, groups, CKK/g, L)
                dx[rows] = grid.inside(grid.col2im(dcols.reshape(dcols.shape[0], -1, dcols.shape[3])))
            dw = db = None
            if need_w:
                cols = grid.im2col(grid.pad(x[rows]))  # rebuilt: the forward kept only x
                cols = cols.reshape(cols.shape[0], groups, -1, cols.shape[2])
                # dW = sum over images of g @ cols^T, computed transposed: (cols @ g^T)^T puts
                # the long L axis in the rows, where the BLAS runs it faster.
                dw = np.matmul(cols, g_rows.transpose(0, 1, 3, 2)).sum(axis=0)  # (groups, CKK/g, O/g)
            if need_b:
                db = np.einsum("ngol->go", g_rows).reshape(O)  # g summed over images and pixels
            return dw, db

        dws, dbs = zip(*parallel.run(one_block, parallel.blocks(N, grid.cols_bytes(x))))
        dw = sum(dws).transpose(0, 2, 1).reshape(weight.shape) if need_w else None
        if len(ctx.needs_input_grad) == 2:
            return dx, dw
        return dx, dw, sum(dbs) if need_b else None


# ---------------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------------


class MaxPool2d(Function):
    """Maximum over each kh x kw window (dilated by dilation); padding is -inf (never the max).
    The argmax is the kernel entry i*kw + j each maximum came from."""

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding, dilation):
        grid = _Grid(x.shape, kernel, stride, padding, dilation)
        ctx.grid = grid
        out = np.empty(x.shape[:2] + (grid.out_h, grid.out_w), x.dtype)
        argmax = np.empty(out.shape, np.min_scalar_type(kernel[0] * kernel[1]))

        def one_block(rows):
            out[rows], argmax[rows] = max_and_argmax(grid.pad(x[rows], value=-np.inf), grid)

        parallel.run(one_block, parallel.blocks(x.shape[0], x[:1].nbytes))
        ctx.save_for_backward(argmax)
        return out

    @staticmethod
    def backward(ctx, g):
        (argmax,) = ctx.saved_tensors
        grid, (kh, kw) = ctx.grid, ctx.grid.kernel
        dx = np.empty(g.shape[:2] + (grid.H, grid.W), g.dtype)

        def one_block(rows):
            dpadded = grid.zeros(g[rows].shape[:2], g.dtype)
            for entry in range(kh * kw):
                # each output's gradient goes to the one input that was its maximum
                grid.window(dpadded, *divmod(entry, kw))[...] += g[rows] * (argmax[rows] == entry)
            dx[rows] = grid.inside(dpadded)

        parallel.run(one_block, parallel.blocks(g.shape[0], dx[:1].nbytes))
        return dx


def max_and_argmax(padded, grid):
    """The maximum of each window of `padded` (n, C, ., .) and the kernel entry it came from."""
    kw = grid.kernel[1]
    out = grid.window(padded, 0, 0).copy()
    argmax = np.zeros(out.shape, np.min_scalar_type(grid.kernel[0] * kw))
    for entry in range(1, grid.kernel[0] * kw):
        # one strided copy, so that the four operations below run on contiguous memory
        window = np.ascontiguousarray(grid.window(padded, *divmod(entry, kw)))
        # Strictly greater: on ties the first entry in row-major order keeps the max, as in
        # PyTorch; a NaN always wins, so it propagates as in PyTorch.
        better = (window > out) | np.isnan(window)
        np.maximum(out, window, out=out)
        # argmax = entry where better, else unchanged; entries only grow along this loop, so that
        # is max(argmax, better * entry): arithmetic, several times faster than argmax[better] = entry.
        np.maximum(argmax, better * argmax.dtype.type(entry), out=argmax)
    return out, argmax


def max_indices(x, kernel, stride, padding, dilation):
    """Where each window's maximum lies in its flattened H*W input plane: (N, C, H', W') int64
    (max_pool2d's return_indices, as PyTorch's)."""
    grid = _Grid(x.shape, kernel, stride, padding, dilation)
    _, entry = max_and_argmax(grid.pad(x, value=-np.inf), grid)
    i, j = np.divmod(entry.astype(np.int64), kernel[1])
    row = np.arange(grid.out_h)[:, None] * stride[0] + i * dilation[0] - padding[0][0]
    col = np.arange(grid.out_w) * stride[1] + j * dilation[1] - padding[1][0]
    return row * grid.W + col


class AvgPool2d(Function):
    """Sum over each kh x kw window of the zero-padded input, divided by `divisor` (H', W'):
    how many cells of each window count (pooling.window_counts)."""

    @staticmethod
    def forward(ctx, x, *, kernel, stride, padding, divisor):
        grid = _Grid(x.shape, kernel, stride, padding, (1, 1))
        out = np.zeros(x.shape[:2] + (grid.out_h, grid.out_w), x.dtype)
        divisor = divisor.astype(x.dtype)

        def one_block(rows):
            padded = grid.pad(x[rows])
            for i in range(kernel[0]):
                for j in range(kernel[1]):
                    out[rows] += grid.window(padded, i, j)
            out[rows] /= divisor

        parallel.run(one_block, parallel.blocks(x.shape[0], x[:1].nbytes))
        ctx.grid, ctx.divisor = grid, divisor
        return out

    @staticmethod
    def backward(ctx, g):
        grid, (kh, kw) = ctx.grid, ctx.grid.kernel
        dx = np.empty(g.shape[:2] + (grid.H, grid.W), g.dtype)

        def one_block(rows):
            share = g[rows] / ctx.divisor  # every cell of a window gets its share of the gradient
            dpadded = grid.zeros(share.shape[:2], g.dtype)
            for i in range(kh):
                for j in range(kw):
                    grid.window(dpadded, i, j)[...] += share
            dx[rows] = grid.inside(dpadded)

        parallel.run(one_block, parallel.blocks(g.shape[0], dx[:1].nbytes))
        return dx
