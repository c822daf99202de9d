"""The math of the layers, as functions on tensors (`import tinymed.nn.functional as F`).

Layers (`nn.Linear`, `nn.GELU`, ...) hold the parameters and the state; the functions here do
the computing. An op that is a few tensor operations (linear, silu, flatten) is written with
them, so autograd derives its backward; the others are Functions of their own, with the
backward derived by hand right under the forward, because the composed graph would be slower
or numerically unsafe. Each docstring says which.

Every public function here is a boundary: it checks its input once (`tinymed.nn.checks`,
`tinymed.validate`), so a layer's `forward` is one line that calls it.

Convolution lives in `tinymed.nn.conv`, pooling in `tinymed.nn.pooling`, batch and layer
normalisation in `tinymed.nn.normalization`, the losses in `tinymed.nn.loss_functions` and
`tinymed.nn.weighted_losses`, and the Functions of softmax and log_softmax in `tinymed.ops` (the
losses use log_softmax too); all are imported here, so `F` is one namespace, as in PyTorch.
"""
import math

import numpy as np

from tinymed import ops, validate
from tinymed.autograd import Function
from tinymed.nn.checks import tensor_input
from tinymed.nn.conv import conv2d  # F is one namespace
from tinymed.nn.loss_functions import (
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, l1_loss, mse_loss, nll_loss,
)
from tinymed.nn.normalization import batch_norm, layer_norm
from tinymed.nn.pooling import adaptive_avg_pool2d, avg_pool2d, global_avg_pool2d, max_pool2d
from tinymed.nn.weighted_losses import focal_loss, weighted_binary_cross_entropy
from tinymed.ops import Softmax  # its Function sits beside LogSoftmax's; F.Softmax as before
from tinymed.random import get_generator

__all__ = [
    "linear", "batch_norm", "layer_norm", "dropout", "dropout2d", "flatten", "unflatten",
    "relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "silu", "softplus", "softmax", "log_softmax",
    "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "global_avg_pool2d",
    "binary_cross_entropy_with_logits", "binary_cross_entropy", "cross_entropy", "nll_loss", "mse_loss",
    "l1_loss", "weighted_binary_cross_entropy", "focal_loss",
]


# ---------------------------------------------------------------------------------------------
# Linear
# ---------------------------------------------------------------------------------------------


def linear(x, weight, bias=None):
    """y = x W^T + b, PyTorch's layout: x (..., in_features), weight (out_features, in_features),
    bias (out_features,) -> y (..., out_features). Composed: autograd derives dL/dx = g W,
    dL/dW = g^T x, dL/db = sum of g over the batch."""
    validate.ndim(weight, "linear: weight", 2, "(out_features, in_features)")
    tensor_input("linear", x, weight)
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: x has {x.shape[-1] if x.ndim else 'no'} features in its last axis but weight "
            f"expects {weight.shape[1]} (x.shape={x.shape}, weight.shape={weight.shape})"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},) to match weight.shape={weight.shape}, got {bias.shape}")
    out = ops.MatMul.apply(x, ops.Transpose.apply(weight, axes=None))
    return out if bias is None else out + bias


# ---------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------


class Dropout(Function):
    # out = x * keep / (1 - p): the gradient flows only through the kept elements, same scale.
    @staticmethod
    def forward(ctx, x, *, keep, scale):
        scaled_mask = keep.astype(x.dtype) * scale
        ctx.save_for_backward(scaled_mask)
        return x * scaled_mask  # keep may be smaller and broadcast (dropout2d: one per channel)

    @staticmethod
    def backward(ctx, g):
        (scaled_mask,) = ctx.saved_tensors
        return g * scaled_mask


def _dropout(fn, x, p, training, seed, mask_shape):
    p = validate.probability(p, f"{fn}: p")
    training = validate.boolean(training, f"{fn}: training")
    rng = get_generator(seed, name=f"{fn}: seed")
    if not training or p == 0:
        return x
    keep = rng.random(mask_shape) >= p
    return Dropout.apply(x, keep=keep, scale=0.0 if p == 1 else 1.0 / (1.0 - p))


def dropout(x, p=0.5, training=True, seed=None):
    """Inverted dropout: in training, zero each element with probability p and scale the kept
    ones by 1 / (1 - p), so E[out] = x and evaluation needs no rescaling; with training=False,
    return x itself. p == 1 gives zeros. Any shape in, the same shape out.

    seed: int, numpy.random.Generator or None (the library's default Generator); the mask is
    drawn in float64 whatever x's dtype, so a seed gives the same mask for float32 and float64.
    """
    tensor_input("dropout", x)
    return _dropout("dropout", x, p, training, seed, x.shape)


def dropout2d(x, p=0.5, training=True, seed=None):
    """Channel dropout: (N, C, H, W) -> the same shape, each whole channel map zeroed with
    probability p and the rest scaled by 1 / (1 - p). Neighbouring pixels are correlated, so
    zeroing single pixels barely regularises a convolution; zeroing channels does."""
    validate.ndim(tensor_input("dropout2d", x), "dropout2d: x", 4, "(N, C, H, W)")
    return _dropout("dropout2d", x, p, training, seed, x.shape[:2] + (1, 1))


# ---------------------------------------------------------------------------------------------
# Reshaping: Flatten and Unflatten's math (PyTorch spells these torch.flatten / torch.unflatten)
# ---------------------------------------------------------------------------------------------


def _dim(fn, x, dim, name="dim"):
    """An axis of x, -ndim <= dim < ndim -> its index from 0."""
    return validate.integer(dim, f"{fn}: {name} (x.shape={x.shape})", min=-x.ndim, max=x.ndim - 1) % x.ndim


def flatten(x, start_dim=0, end_dim=-1):
    """Axes start_dim..end_dim (both included) merged into one; composed from reshape.
    flatten(x of (N, C, H, W), 1) -> (N, C*H*W)."""
    tensor_input("flatten", x)
    start, end = _dim("flatten", x, start_dim, "start_dim"), _dim("flatten", x, end_dim, "end_dim")
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for x.shape={x.shape}")
    return x.reshape(*x.shape[:start], math.prod(x.shape[start : end + 1]), *x.shape[end + 1 :])


def unflatten(x, dim, sizes):
    """Axis `dim` split into `sizes` (one of them may be -1); composed from reshape.
    unflatten(x of (N, 784), 1, (1, 28, 28)) -> (N, 1, 28, 28)."""
    tensor_input("unflatten", x)
    axis = _dim("unflatten", x, dim)
    given = tuple(sizes) if isinstance(sizes, (tuple, list)) else ()
    if not given or not all(validate.is_int(s) and (s >= 1 or s == -1) for s in given) or given.count(-1) > 1:
        raise ValueError(f"unflatten: sizes must be a tuple of ints >= 1 (one may be -1), got {sizes!r}")
    known = math.prod(s for s in given if s != -1)
    fits = x.shape[axis] % known == 0 if -1 in given else x.shape[axis] == known
    if not fits:
        raise ValueError(f"unflatten: sizes {given} do not multiply to x.shape[{dim}] = {x.shape[axis]} (x.shape={x.shape})")
    return x.reshape(*x.shape[:axis], *given, *x.shape[axis + 1 :])


# ---------------------------------------------------------------------------------------------
# Activations, element-wise: any shape in, the same shape out
# ---------------------------------------------------------------------------------------------


def relu(x):
    """max(x, 0) (Function in ops)."""
    return ops.ReLU.apply(tensor_input("relu", x))


def sigmoid(x):
    """1 / (1 + exp(-x)), computed without overflow for any x (Function in ops)."""
    return ops.Sigmoid.apply(tensor_input("sigmoid", x))


def tanh(x):
    """tanh(x) (Function in ops)."""
    return ops.Tanh.apply(tensor_input("tanh", x))


def silu(x):
    """x * sigmoid(x) (also called swish); composed, so autograd derives
    d/dx = sigmoid(x) (1 + x (1 - sigmoid(x)))."""
    return tensor_input("silu", x) * ops.Sigmoid.apply(x)


class LeakyReLU(Function):
    """x where x > 0, else slope * x.  Derivative: 1 where x > 0, else slope (at 0 too, as PyTorch)."""

    @staticmethod
    def forward(ctx, x, *, negative_slope):
        positive = x > 0
        ctx.save_for_backward(positive)
        ctx.slope = negative_slope
        return np.where(positive, x, x * negative_slope)

    @staticmethod
    def backward(ctx, g):
        (positive,) = ctx.saved_tensors
        return np.where(positive, g, g * ctx.slope)


def leaky_relu(x, negative_slope=0.01):
    """x if x > 0 else negative_slope * x: a small gradient for negative inputs keeps units alive."""
    slope = validate.real(negative_slope, "leaky_relu: negative_slope")
    return LeakyReLU.apply(tensor_input("leaky_relu", x), negative_slope=slope)


class ELU(Function):
    """x where x > 0, else alpha (e^x - 1).  Derivative: 1 where x > 0, else alpha e^x = out + alpha."""

    @staticmethod
    def forward(ctx, x, *, alpha):
        positive = x > 0
        out = np.where(positive, x, alpha * np.expm1(np.minimum(x, 0)))  # min: no overflow for x > 0
        ctx.save_for_backward(positive, out)
        ctx.alpha = alpha
        return out

    @staticmethod
    def backward(ctx, g):
        positive, out = ctx.saved_tensors
        return np.where(positive, g, g * (out + ctx.alpha))


def elu(x, alpha=1.0):
    """x if x > 0 else alpha * (exp(x) - 1): smooth, and negative outputs push the mean to 0."""
    alpha = validate.real(alpha, "elu: alpha")
    return ELU.apply(tensor_input("elu", x), alpha=alpha)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class GELU(Function):
    """out = x Phi(x), Phi the standard normal CDF, Phi(x) = (1 + erf(x / sqrt 2)) / 2.
    Derivative: Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi).

    approximate="tanh": Phi(x) ~ (1 + t) / 2, t = tanh(k (x + 0.044715 x^3)), k = sqrt(2 / pi);
    derivative (1 + t) / 2 + x (1 - t^2) k (1 + 3 * 0.044715 x^2) / 2."""

    @staticmethod
    def forward(ctx, x, *, approximate):
        if approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * x**3)
            t = np.tanh(inner)
            ctx.save_for_backward(x, t)
            cdf = 0.5 * (1 + t)
        else:
            # imported here: scipy.special loads scipy's own BLAS, which would escape the
            # one-thread limit tinymed.threads sets when tinymed is imported
            from scipy.special import erf

            cdf = 0.5 * (1 + erf(x / math.sqrt(2)))
            ctx.save_for_backward(x, cdf)
        ctx.approximate = approximate
        return x * cdf

    @staticmethod
    def backward(ctx, g):
        x, saved = ctx.saved_tensors
        if ctx.approximate == "tanh":
            t = saved
            slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        else:
            pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
            slope = saved + x * pdf
        return g * slope


def gelu(x, approximate="none"):
    """x * Phi(x), the Gaussian error linear unit of BERT and ViT: exact with erf (PyTorch's
    default), or PyTorch's tanh approximation with approximate="tanh"."""
    approximate = validate.one_of(approximate, "gelu: approximate", ("none", "tanh"))
    return GELU.apply(tensor_input("gelu", x), approximate=approximate)


class Softplus(Function):
    """out = log(1 + e^(beta x)) / beta, stably (max(z, 0) + log(1 + e^-|z|)) / beta with
    z = beta x; out = x where z > threshold (the two agree there to float precision).
    Derivative: sigmoid(z) = (1 + tanh(z / 2)) / 2, and 1 where z > threshold."""

    @staticmethod
    def forward(ctx, x, *, beta, threshold):
        z = x * beta
        linear = z > threshold
        ctx.save_for_backward(z, linear)
        return np.where(linear, x, (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / beta)

    @staticmethod
    def backward(ctx, g):
        z, linear = ctx.saved_tensors
        return np.where(linear, g, g * 0.5 * (1 + np.tanh(0.5 * z)))


def softplus(x, beta=1.0, threshold=20.0):
    """A smooth ReLU, log(1 + exp(beta x)) / beta, and x itself where beta x > threshold
    (PyTorch's defaults and semantics)."""
    beta = validate.positive(beta, "softplus: beta")
    threshold = validate.real(threshold, "softplus: threshold")
    return Softplus.apply(tensor_input("softplus", x), beta=beta, threshold=threshold)


# ---------------------------------------------------------------------------------------------
# Softmax and log_softmax
# ---------------------------------------------------------------------------------------------


def _softmax_axis(fn, x, dim, axis):
    """PyTorch's `dim` or NumPy's `axis` (not both), default the last."""
    tensor_input(fn, x)
    if dim is not None and axis is not None:
        raise TypeError(f"{fn}: give dim or axis (the same thing), not both")
    return _dim(fn, x, -1 if dim is None and axis is None else (axis if dim is None else dim))


def softmax(x, dim=None, *, axis=None):
    """Probabilities along `dim` (default the last; `axis=` too): each slice sums to 1; same
    shape in and out. (PyTorch guesses a dim when none is given, with a warning; here it is -1.)"""
    return Softmax.apply(x, axis=_softmax_axis("softmax", x, dim, axis))


def log_softmax(x, dim=None, *, axis=None):
    """log(softmax(x)) along `dim` (default the last; `axis=` too), computed stably (Function in
    ops): same shape in and out."""
    return ops.LogSoftmax.apply(x, axis=_softmax_axis("log_softmax", x, dim, axis))
