"""Normalisation: batch norm (statistics per channel, over the batch) and layer norm
(statistics per example, over its last axes); the math (`F.batch_norm`, `F.layer_norm`, each a
Function with its backward under its forward) and the layers that keep the weights and the
running statistics (`nn.BatchNorm1d`, `nn.BatchNorm2d`, `nn.LayerNorm`).

Both compute xhat = (x - mean) / sqrt(var + eps) and return xhat * weight + bias; they differ
only in which values share a mean: a channel across the batch (batch norm, which therefore
behaves differently in training and evaluation), or one example's features (layer norm, the
same in both modes, and independent of the batch size).
"""
import numpy as np

from tinymed import validate
from tinymed.autograd import Function, get_default_dtype
from tinymed.nn.checks import tensor_input
from tinymed.nn.module import Module, Parameter

# ---------------------------------------------------------------------------------------------
# Batch normalisation: the math
# ---------------------------------------------------------------------------------------------


def _per_channel_sum(a, b=None):
    """sum over every axis but 1 of a (or of a * b): (N, C, ...) -> (C,). einsum on the
    (N, C, L) view makes one pass without a temporary, about twice as fast as a.sum(axes)."""
    a3 = a.reshape(a.shape[0], a.shape[1], -1)
    if b is None:
        return np.einsum("ncl->c", a3)
    return np.einsum("ncl,ncl->c", a3, b.reshape(a3.shape))


class BatchNormFunction(Function):
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


def _check_running(name, array, channels, x_shape, training):
    if array is None:
        if not training:
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
    if training and not array.flags.writeable:
        raise ValueError(f"batch_norm: {name} is read-only, but training mode updates it in place")


def _check_affine(fn, name, value, shape, x_shape):
    if value is not None and tuple(value.shape) != shape:
        raise ValueError(f"{fn}: {name} must have shape {shape} for x.shape={x_shape}, got {tuple(value.shape)}")


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
    tensor_input("batch_norm", x, weight)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: x must have a channel axis 1, shape (N, C, ...), got shape {x.shape}")
    channels = x.shape[1]
    training = validate.boolean(training, "batch_norm: training")
    momentum = validate.probability(momentum, "batch_norm: momentum")
    eps = validate.positive(eps, "batch_norm: eps")
    _check_running("running_mean", running_mean, channels, x.shape, training)
    _check_running("running_var", running_var, channels, x.shape, training)
    if training and x.size // channels < 2:
        raise ValueError(
            f"batch_norm: training needs more than one value per channel to compute a variance, "
            f"got x.shape={x.shape} (use a larger batch, or eval())"
        )
    _check_affine("batch_norm", "weight", weight, (channels,), x.shape)
    _check_affine("batch_norm", "bias", bias, (channels,), x.shape)
    return BatchNormFunction.apply(
        x, np.ones(channels) if weight is None else weight, np.zeros(channels) if bias is None else bias,
        running_mean=running_mean, running_var=running_var, training=training, momentum=momentum, eps=eps,
    )


# ---------------------------------------------------------------------------------------------
# Layer normalisation: the math
# ---------------------------------------------------------------------------------------------


class LayerNormFunction(Function):
    """y = xhat * weight + bias, xhat = (x - mean) * inv_std over the last k axes of each
    example (m values), inv_std = 1 / sqrt(var + eps), var biased.

    Backward, with dxhat = g * weight and means over the same m values:
        dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
    (batch norm's formula, with the statistics taken along the other axes);
    dweight = sum of g * xhat and dbias = sum of g over the leading (batch) axes."""

    @staticmethod
    def forward(ctx, x, weight, bias, *, k, eps):
        axes = tuple(range(x.ndim - k, x.ndim))
        centred = x - x.mean(axis=axes, keepdims=True)
        inv_std = 1.0 / np.sqrt((centred * centred).mean(axis=axes, keepdims=True) + eps)
        xhat = centred * inv_std
        ctx.save_for_backward(xhat, inv_std, weight)
        ctx.axes = axes
        return xhat * weight + bias

    @staticmethod
    def backward(ctx, g):
        xhat, inv_std, weight = ctx.saved_tensors
        leading = tuple(range(g.ndim - len(ctx.axes)))
        dxhat = g * weight
        mean_dxhat = dxhat.mean(axis=ctx.axes, keepdims=True)
        mean_dxhat_xhat = (dxhat * xhat).mean(axis=ctx.axes, keepdims=True)
        dx = inv_std * (dxhat - mean_dxhat - xhat * mean_dxhat_xhat)
        return dx, (g * xhat).sum(axis=leading), g.sum(axis=leading)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalisation over the last len(normalized_shape) axes: x (*, *normalized_shape)
    -> the same shape, e.g. (N, L, D) with normalized_shape (D,) normalises each of the N*L
    vectors. weight and bias have shape normalized_shape (None: 1 and 0)."""
    shape = validate.shape(normalized_shape, "layer_norm: normalized_shape")
    tensor_input("layer_norm", x, weight)
    if not shape or x.ndim < len(shape) or x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"layer_norm: x must end in normalized_shape {shape}, got x.shape={x.shape}")
    eps = validate.positive(eps, "layer_norm: eps")
    _check_affine("layer_norm", "weight", weight, shape, x.shape)
    _check_affine("layer_norm", "bias", bias, shape, x.shape)
    return LayerNormFunction.apply(
        x, np.ones(shape) if weight is None else weight, np.zeros(shape) if bias is None else bias,
        k=len(shape), eps=eps,
    )


# ---------------------------------------------------------------------------------------------
# The layers
# ---------------------------------------------------------------------------------------------


class _BatchNorm(Module):
    """Batch normalisation over axis 1 (the features or channels):

        y = (x - mean) / sqrt(var + eps) * weight + bias

    Training mode: mean and var are the batch's (var biased, over every axis but 1), and the
    running statistics move towards them:
        running = (1 - momentum) * running + momentum * batch statistic
    (running_var is updated with the unbiased batch variance, as PyTorch does), and
    num_batches_tracked += 1. `momentum=None` gives the plain average of all batches seen
    (momentum = 1 / num_batches_tracked), as in PyTorch.
    Eval mode: mean and var are the running statistics, which are left alone.
    Frozen (`module.freeze()`): as eval mode, even while the model trains (unlike PyTorch,
    where only `.eval()` stops the updates): a frozen pretrained layer keeps computing exactly
    the features it learned. `F.batch_norm` updates running_mean / running_var in place, as
    PyTorch does (safe: no graph ever saves them); num_batches_tracked is rebound.
    weight starts at ones, bias at zeros; running_mean zeros, running_var ones.
    affine=False: no weight and bias (1 and 0). track_running_stats=False: no running
    statistics (the buffers are None); the batch's statistics are used in every mode.
    The input's number of axes is not checked (F.batch_norm takes any (N, C, ...));
    PyTorch's BatchNorm2d refuses a 2-d input.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__()
        where = type(self).__name__
        self.num_features = validate.integer(num_features, f"{where}: num_features", min=1)
        self.eps = validate.positive(eps, f"{where}: eps")
        self.momentum = None if momentum is None else validate.probability(momentum, f"{where}: momentum")
        self.affine = validate.boolean(affine, f"{where}: affine")
        self.track_running_stats = validate.boolean(track_running_stats, f"{where}: track_running_stats")
        dtype = get_default_dtype()
        self.register_parameter("weight", Parameter(np.ones(self.num_features, dtype=dtype)) if affine else None)
        self.register_parameter("bias", Parameter(np.zeros(self.num_features, dtype=dtype)) if affine else None)
        track = self.track_running_stats
        self.register_buffer("running_mean", np.zeros(self.num_features, dtype=dtype) if track else None)
        self.register_buffer("running_var", np.ones(self.num_features, dtype=dtype) if track else None)
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64) if track else None)

    def reset_running_stats(self):
        """Forget the running statistics: mean 0, variance 1, no batches seen."""
        if self.track_running_stats:
            self.running_mean = np.zeros_like(self.running_mean)
            self.running_var = np.ones_like(self.running_var)
            self.num_batches_tracked = np.array(0, dtype=np.int64)

    def forward(self, x):
        tracking = self.running_mean is not None
        use_batch_stats = not tracking or (self.training and not self.frozen)
        updates = tracking and use_batch_stats
        # A 0-d int64 array, as PyTorch's; `array + 1` would give a NumPy scalar.
        seen = np.array(self.num_batches_tracked + 1, dtype=np.int64) if updates else None
        momentum = (1.0 / float(seen) if self.momentum is None else self.momentum) if updates else 0.0
        out = batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                         training=use_batch_stats, momentum=momentum, eps=self.eps)
        if updates:
            self.num_batches_tracked = seen
        return out

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of features: x (N, C) or (N, C, L) -> the same shape; statistics per
    feature C, over N (and L). See `_BatchNorm` for the formula and the modes."""


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of channels: x (N, C, H, W) -> the same shape; statistics per channel
    C, over N, H and W. See `_BatchNorm` for the formula and the modes."""


class LayerNorm(Module):
    """Layer normalisation (transformers, and CNNs that train with tiny batches): each example
    normalised over its last axes, `normalized_shape` (an int or a tuple), with learnable
    weight (ones) and bias (zeros) of that shape. x (*, *normalized_shape) -> the same shape.
    The same in training and evaluation: no running statistics.
    elementwise_affine=False: no weight and bias; bias=False: weight only."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True):
        super().__init__()
        self.normalized_shape = validate.shape(normalized_shape, "LayerNorm: normalized_shape")
        if not self.normalized_shape or 0 in self.normalized_shape:
            raise ValueError(f"LayerNorm: normalized_shape must be sizes >= 1, got {normalized_shape!r}")
        self.eps = validate.positive(eps, "LayerNorm: eps")
        self.elementwise_affine = validate.boolean(elementwise_affine, "LayerNorm: elementwise_affine")
        affine = self.elementwise_affine
        self._with_bias = with_bias = validate.boolean(bias, "LayerNorm: bias")
        dtype = get_default_dtype()
        self.register_parameter("weight", Parameter(np.ones(self.normalized_shape, dtype)) if affine else None)
        self.register_parameter(
            "bias", Parameter(np.zeros(self.normalized_shape, dtype)) if affine and with_bias else None)

    def forward(self, x):
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, bias={self._with_bias}"


__all__ = ["batch_norm", "layer_norm", "BatchNorm1d", "BatchNorm2d", "LayerNorm"]
