"""Model answer to the tinymed homework (tutorials/homework/assignment.ipynb).

Each `# %% name` line starts one `%%solution name` cell of the notebook: the given cells
(`setup`, `conv_helpers`, `log_sigmoid`) word for word, and the exercises answered. Grade it with

    TINYMED_SOLUTION=tutorials/homework/reference_solution.py python -m pytest tutorials/homework/grader.py
"""
# %% setup
import numpy as np

import tinymed as tm

# %% sigmoid
class Sigmoid(tm.Function):
    """s = 1 / (1 + e^-x), element-wise: any shape in, the same shape out. ds/dx = s (1 - s)."""

    @staticmethod
    def forward(ctx, x):
        # e^-|x| lies in (0, 1], so nothing overflows: for x >= 0 use 1 / (1 + e^-x), and for
        # x < 0 the same fraction multiplied by e^x / e^x, that is e^x / (1 + e^x).
        e = np.exp(-np.abs(x))
        s = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved_tensors
        return grad * s * (1 - s)


# %% conv_helpers
def conv_output_size(size, kernel, stride, padding):
    """Output length along one axis: floor((size + 2 * padding - kernel) / stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def im2col(x, kh, kw, stride, padding):
    """Every kh x kw patch of x as a column: x (N, C, H, W) -> cols (C*kh*kw, N*H'*W').

    Row (c, i, j) of cols holds x_padded[n, c, i + stride*p, j + stride*q] for every output
    pixel (n, p, q), so `weight.reshape(O, C*kh*kw) @ cols` is the convolution, (O, N*H'*W').
    One slice copy per kernel offset (i, j): kh*kw copies, no loop over pixels.
    """
    n, c, h, w = x.shape
    ho, wo = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((c, kh, kw, n, ho, wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride]  # (N, C, H', W')
            cols[:, i, j] = patch.transpose(1, 0, 2, 3)
    return cols.reshape(c * kh * kw, n * ho * wo)


def col2im(cols, x_shape, kh, kw, stride, padding):
    """The adjoint of im2col: cols (C*kh*kw, N*H'*W') -> (N, C, H, W), overlaps summed.

    Each entry of cols goes back to the pixel of x it was copied from, and pixels that were
    copied into several patches receive the sum: the same loop as im2col, with +=.
    """
    n, c, h, w = x_shape
    ho, wo = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    cols = cols.reshape(c, kh, kw, n, ho, wo)
    xp = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride] += cols[:, i, j].transpose(1, 0, 2, 3)
    return xp[:, :, padding:padding + h, padding:padding + w]


# %% conv2d
class Conv2d(tm.Function):
    """2-d convolution (cross-correlation, as in PyTorch):

        out[n, o, p, q] = b[o] + sum_{c, i, j} W[o, c, i, j] * x_pad[n, c, s*p + i, s*q + j]

    x (N, C, H, W), weight (O, C, kh, kw), bias (O,) -> out (N, O, H', W').
    Call it as `Conv2d.apply(x, weight, bias, stride=1, padding=0)`.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, *, stride=1, padding=0):
        n, _, h, w = x.shape
        o, _, kh, kw = weight.shape
        ho, wo = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
        cols = im2col(x, kh, kw, stride, padding)                  # (C*kh*kw, N*H'*W')
        out = weight.reshape(o, -1) @ cols + bias.reshape(o, 1)    # (O, N*H'*W')
        ctx.save_for_backward(cols, weight)
        ctx.x_shape, ctx.stride, ctx.padding = x.shape, stride, padding
        return out.reshape(o, n, ho, wo).transpose(1, 0, 2, 3)

    @staticmethod
    def backward(ctx, grad):
        cols, weight = ctx.saved_tensors
        o, _, kh, kw = weight.shape
        # The forward was one matrix product, out2d = W2d @ cols + b; grad arrives as (N, O, H', W')
        # and becomes g2d (O, N*H'*W'), its columns in the order of the columns of cols.
        g = grad.transpose(1, 0, 2, 3).reshape(o, -1)
        dbias = g.sum(axis=1)                                      # each b[o] is added to every output pixel
        dweight = (g @ cols.T).reshape(weight.shape)               # d(W2d @ cols)/dW2d: g2d @ cols^T
        dcols = weight.reshape(o, -1).T @ g                        # d(W2d @ cols)/dcols: W2d^T @ g2d
        dx = col2im(dcols, ctx.x_shape, kh, kw, ctx.stride, ctx.padding)
        return dx, dweight, dbias


# %% log_sigmoid
class LogSigmoid(tm.Function):
    """log sigmoid(x) = min(x, 0) - log(1 + e^-|x|), finite for any x; d/dx = 1 - sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        e = np.exp(-np.abs(x))
        return grad * np.where(x >= 0, e / (1 + e), 1 / (1 + e))  # sigmoid(-x), computed stably


def log_sigmoid(x):
    """log p for p = sigmoid(x); log(1 - p) is log_sigmoid(-x). Same shape in and out."""
    return LogSigmoid.apply(x)


# %% class_weights
def course_class_weights(labels):
    """labels (N,) or (N, C) of 0/1 -> (pos_weights, neg_weights): numbers, or (C,) per label.

    w_pos = fraction of negative examples, w_neg = fraction of positive examples, so that
    w_pos * n_pos == w_neg * n_neg: both classes weigh the same in the loss.
    """
    freq_pos = np.asarray(labels, dtype=np.float64).mean(axis=0)
    return 1.0 - freq_pos, freq_pos


# %% weighted_bce
def weighted_bce(logits, targets, pos_weights, neg_weights):
    """The course's weighted loss, the mean over all N*C elements of

        -(w_pos[c] * y * log sigmoid(x) + w_neg[c] * (1 - y) * log(1 - sigmoid(x)))

    logits: Tensor (N,) or (N, C). targets: array of 0/1, the same shape. pos_weights,
    neg_weights: numbers, or arrays (C,). Returns a scalar Tensor (shape ()).
    """
    y = np.asarray(targets)
    positive = pos_weights * y * log_sigmoid(logits)
    negative = neg_weights * (1 - y) * log_sigmoid(-logits)
    return -(positive + negative).mean()


# %% oversampler
class OverSampler:
    """Indices of a balanced epoch: every class drawn up to the majority count M.

    labels: (N,) class labels (any values). Each epoch keeps every sample once and adds
    M - n_k random copies (with replacement) of class k's samples, then shuffles:
    len = K * M for K classes. `seed` makes the sequence of epochs reproducible.
    """

    def __init__(self, labels, seed=None):
        labels = np.asarray(labels)
        self.members = [np.flatnonzero(labels == k) for k in np.unique(labels)]
        self.majority = max(len(m) for m in self.members)
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return len(self.members) * self.majority

    def __iter__(self):
        parts = []
        for m in self.members:
            parts += [m, self.rng.choice(m, size=self.majority - len(m), replace=True)]
        epoch = self.rng.permutation(np.concatenate(parts))
        return iter(epoch.tolist())
