"""The math of the layers, as functions on tensors (`import tinymed.nn.functional as F`).

Layers (`nn.Linear`, `nn.BatchNorm2d`, ...) hold the parameters and the state; the functions
here do the computing. Ops that are a few tensor operations (linear, the activations) are
written with them, so autograd derives their backward; batch_norm, dropout, softmax and
log_softmax are Functions of their own, with the backward derived by hand right under the
forward, because the composed graph would be slower or numerically unsafe.

Convolution and pooling live in `tinymed.nn.conv`, the loss functions in
`tinymed.nn.loss_functions`, and log_softmax's Function in `tinymed.ops` (the losses use it
too); all are imported here, so `F` is one namespace, as in PyTorch.
"""
from numbers import Real

import numpy as np

from tinymed import ops
from tinymed.autograd import Function, Tensor
from tinymed.nn.conv import avg_pool2d, conv2d, global_avg_pool2d, max_pool2d  # F is one namespace
from tinymed.nn.loss_functions import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    focal_loss,
    weighted_binary_cross_entropy,
)
from tinymed.random import get_generator

__all__ = [
    "linear", "batch_norm", "dropout", "relu", "sigmoid", "tanh", "softmax", "log_softmax",
    "conv2d", "max_pool2d", "avg_pool2d", "global_avg_pool2d",
    "binary_cross_entropy_with_logits", "binary_cross_entropy", "cross_entropy",
    "weighted_binary_cross_entropy", "focal_loss",
]


def _shape(x):
    return x.shape if isinstance(x, Tensor) else np.shape(x)


# ---------------------------------------------------------------------------------------------
# Linear
# ---------------------------------------------------------------------------------------------


def linear(x, weight, bias=None):
    """y = x W^T + b, PyTorch's layout: x (..., in_features), weight (out_features, in_features),
    bias (out_features,) -> y (..., out_features). Autograd derives dL/dx = g W, dL/dW = g^T x,
    dL/db = sum of g over the batch."""
    x_shape, w_shape = _shape(x), _shape(weight)
    if len(w_shape) != 2:
        raise ValueError(f"linear: weight must be 2-d (out_features, in_features), got shape {w_shape}")
    if len(x_shape) == 0 or x_shape[-1] != w_shape[1]:
        raise ValueError(
            f"linear: x has {x_shape[-1] if x_shape else 'no'} features in its last axis but weight "
            f"expects {w_shape[1]} (x.shape={x_shape}, weight.shape={w_shape})"
        )
    if bias is not None and _shape(bias) != (w_shape[0],):
        raise ValueError(f"linear: bias must have shape ({w_shape[0]},) to match weight.shape={w_shape}, got {_shape(bias)}")
    out = ops.MatMul.apply(x, ops.Transpose.apply(weight, axes=None))
    return out if bias is None else out + bias


# ---------------------------------------------------------------------------------------------
# Batch normalisation
# ---------------------------------------------------------------------------------------------


def _per_channel_sum(a, b=None):
    """sum over every axis but 1 of a (or of a * b): (N, C, ...) -> (C,). einsum on the
    (N, C, L) view makes one pass without a temporary, about twice as fast as a.sum(axes)."""
    a3 = a.reshape(a.shape[0], a.shape[1], -1)
    if b is None:
        return np.einsum("ncl->c", a3)
    return np.einsum("ncl,ncl->c", a3, b.reshape(a3.shape))


class BatchNorm(Function):
    """y = xhat * weight + bias, xhat = (x - mean) * inv_std, inv_std = 1 / sqrt(var + eps),
    with mean and var per channel (axis 1), over the m = N*H*W values of each channel.

    Backward: dweight = sum(g * xhat), dbias = sum(g) (sums over the m values of each channel).
    In training mode mean and var depend on x; with dxhat = g * weight the chain rule gives
        dx = (1/m) * inv_std * (m * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))
           = (weight * inv_std / m) * (m * g - dbias - xhat * dweight)
    (the second line reuses the two sums dweight and dbias). In evaluation mode mean and var
    are constants, so dx = g * weight * inv_std.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, *, running_mean, running_var, training, momentum, eps):
        per_channel = (1, -1) + (1,) * (x.ndim - 2)
        m = x.size // x.shape[1]
        if training:
            mean = _per_channel_sum(x) / m
            centred = x - mean.reshape(per_channel)
            var = _per_channel_sum(centred, centred) / m  # biased: what normalises
            if running_mean is not None:
                # In place, as PyTorch; safe because the running arrays are never saved below.
                # The running variance is the unbiased estimate m / (m - 1) * var.
                running_mean *= 1.0 - momentum
                running_mean += momentum * mean
                running_var *= 1.0 - momentum
                running_var += (momentum * m / (m - 1)) * var
        else:
            centred = x - running_mean.astype(x.dtype, copy=False).reshape(per_channel)
            var = running_var.astype(x.dtype, copy=False)
        inv_std = (1.0 / np.sqrt(var + eps)).reshape(per_channel)
        xhat = centred
        xhat *= inv_std  # in place: these arrays are 4 MB a layer, and centred is not needed again
        ctx.save_for_backward(xhat, inv_std, weight)
        ctx.per_channel, ctx.training = per_channel, training
        out = xhat * weight.reshape(per_channel)
        out += bias.reshape(per_channel)
        return out

    @staticmethod
    def backward(ctx, g):
        xhat, inv_std, weight = ctx.saved_tensors
        dweight = _per_channel_sum(g, xhat)
        dbias = _per_channel_sum(g)
        dx = None
        if ctx.needs_input_grad[0]:
            scale = weight.reshape(ctx.per_channel) * inv_std
            if ctx.training:
                m = xhat.size // xhat.shape[1]
                shape = ctx.per_channel
                dx = g * float(m)  # then, in place: m g - dbias - xhat dweight, times scale / m
                dx -= dbias.reshape(shape)
                dx -= xhat * dweight.reshape(shape)
                dx *= scale / m
            else:
                dx = g * scale
        return dx, dweight, dbias


def _check_running(name, array, channels, x_shape, required):
    if array is None:
        if required:
            raise ValueError(f"batch_norm: {name} is needed in evaluation mode (training=False), got None")
        return
    if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
        what = f"an array of dtype {array.dtype}" if isinstance(array, np.ndarray) else type(array).__name__
        raise TypeError(f"batch_norm: {name} must be a float np.ndarray (a buffer), got {what}")
    if array.shape != (channels,):
        raise ValueError(
            f"batch_norm: {name} has shape {array.shape} but x has {channels} channels in axis 1 "
            f"(x.shape={x_shape}); expected shape ({channels},)"
        )


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalisation over axis 1: x (N, C), (N, C, L) or (N, C, H, W) -> the same shape.

    training=True: normalise with the batch's mean and (biased) variance per channel, and move
    the running statistics towards them in place, as PyTorch:
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var  = (1 - momentum) * running_var  + momentum * var * m / (m - 1)   (unbiased)
    (running_mean / running_var may be None there: nothing is tracked).
    training=False: normalise with running_mean and running_var, which are left alone.
    weight and bias (C,) scale and shift (None: 1 and 0). The running arrays are NumPy buffers
    of shape (C,), passed as options, not as differentiable inputs.
    """
    x_shape = _shape(x)
    if len(x_shape) < 2:
        raise ValueError(f"batch_norm: x must have a channel axis 1, shape (N, C, ...), got shape {x_shape}")
    channels = x_shape[1]
    if not isinstance(training, bool):
        raise TypeError(f"batch_norm: training must be a bool, got {type(training).__name__}")
    _check_running("running_mean", running_mean, channels, x_shape, required=not training)
    _check_running("running_var", running_var, channels, x_shape, required=not training)
    if training and running_mean is not None:
        for name, array in (("running_mean", running_mean), ("running_var", running_var)):
            if not array.flags.writeable:
                raise ValueError(f"batch_norm: {name} is read-only, but training mode updates it in place")
    if not (isinstance(momentum, Real) and 0 <= momentum <= 1):
        raise ValueError(f"batch_norm: momentum must be a number in [0, 1], got {momentum!r}")
    if not (isinstance(eps, Real) and eps > 0):
        raise ValueError(f"batch_norm: eps must be a number > 0, got {eps!r}")
    if training and int(np.prod(x_shape)) // channels < 2:
        raise ValueError(
            f"batch_norm: training needs more than one value per channel to compute a variance, "
            f"got x.shape={x_shape}"
        )
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and _shape(value) != (channels,):
            raise ValueError(f"batch_norm: {name} must have shape ({channels},) for x.shape={x_shape}, got {_shape(value)}")
    weight = np.ones(channels) if weight is None else weight
    bias = np.zeros(channels) if bias is None else bias
    return BatchNorm.apply(
        x, weight, bias, running_mean=running_mean, running_var=running_var,
        training=training, momentum=float(momentum), eps=float(eps),
    )


# ---------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------


class Dropout(Function):
    # out = x * keep / (1 - p): the gradient flows only through the kept elements, same scale.
    @staticmethod
    def forward(ctx, x, *, keep, scale):
        scaled_mask = keep.astype(x.dtype) * scale
        ctx.save_for_backward(scaled_mask)
        return x * scaled_mask

    @staticmethod
    def backward(ctx, g):
        (scaled_mask,) = ctx.saved_tensors
        return g * scaled_mask


def dropout(x, p=0.5, training=True, seed=None):
    """Inverted dropout: in training, zero each element with probability p and scale the kept
    ones by 1 / (1 - p), so E[out] = x and evaluation needs no rescaling; with training=False,
    return x itself. p == 1 gives zeros. Any shape in, the same shape out.

    seed: int, numpy.random.Generator or None (the library's default Generator); the mask is
    drawn in float64 whatever x's dtype, so a seed gives the same mask for float32 and float64.
    """
    if isinstance(p, bool) or not isinstance(p, Real) or not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    if not isinstance(training, bool):
        raise TypeError(f"dropout: training must be a bool, got {type(training).__name__}")
    rng = get_generator(seed, name="dropout: seed")
    if not training or p == 0:
        return x
    keep = rng.random(_shape(x)) >= p
    return Dropout.apply(x, keep=keep, scale=0.0 if p == 1 else 1.0 / (1.0 - p))


# ---------------------------------------------------------------------------------------------
# Activations and softmax
# ---------------------------------------------------------------------------------------------


def relu(x):
    """max(x, 0), element-wise."""
    return ops.ReLU.apply(x)


def sigmoid(x):
    """1 / (1 + exp(-x)), element-wise, computed without overflow for any x."""
    return ops.Sigmoid.apply(x)


def tanh(x):
    """tanh(x), element-wise."""
    return ops.Tanh.apply(x)


class Softmax(Function):
    """s = exp(x - max) / sum(exp(x - max)) along `axis`. Subtracting the max changes nothing
    mathematically (it cancels) but keeps exp from overflowing: the largest term is exp(0) = 1.
    Backward: ds_i/dx_j = s_i (delta_ij - s_j), so dL/dx = s * (g - sum(g * s))."""

    @staticmethod
    def forward(ctx, x, *, axis):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        s = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(s)
        ctx.axis = axis
        return s

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        return s * (g - (g * s).sum(axis=ctx.axis, keepdims=True))


def _check_axis(fn, x, axis):
    ndim = len(_shape(x))
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise ValueError(f"{fn}: axis must be an int in [{-ndim}, {ndim}) for x of shape {_shape(x)}, got {axis!r}")
    return int(axis) % ndim


def softmax(x, axis=-1):
    """Probabilities along `axis` (each slice sums to 1): same shape in and out."""
    return Softmax.apply(x, axis=_check_axis("softmax", x, axis))


def log_softmax(x, axis=-1):
    """log(softmax(x)) along `axis`, computed stably: same shape in and out."""
    return ops.LogSoftmax.apply(x, axis=_check_axis("log_softmax", x, axis))
