"""The layers: Modules that hold weights (or settings) and call the math in `nn.functional`.

Each layer does three things, and nothing else:

1. creates its parameters with PyTorch's shapes and initialisation, so state dicts are
   interchangeable (Linear weight (out, in), Conv2d weight (out, in, kh, kw), BatchNorm
   weight / bias / running_mean / running_var / num_batches_tracked);
2. checks its input at the boundary, so a wrong shape fails here with a message naming the
   layer, what it expected and what came, not deep inside a matrix product;
3. calls the function in `nn.functional` that does the math (forward and backward live there).

Every layer that draws random numbers (Linear and Conv2d at initialisation, Dropout at every
call) takes `seed: int | numpy.random.Generator | None` (see `tinymed.random`).
"""
import math
import numbers

import numpy as np

from tinymed.autograd import Tensor, get_default_dtype
from tinymed.nn import functional as F
from tinymed.nn import init
from tinymed.nn.module import Module, Parameter
from tinymed.random import get_generator

# ---------------------------------------------------------------------------------------------
# Checking arguments and inputs
# ---------------------------------------------------------------------------------------------


def _name(layer):
    return f"{type(layer).__name__}({layer.extra_repr()})"


def _int(value, name, where, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{where}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _pair(value, name, where, minimum):
    """An int or a pair of ints -> (int, int), as PyTorch's `_pair`."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2:
        raise ValueError(f"{where}: {name} must be an int or a pair of ints, got {value!r}")
    return tuple(_int(v, name, where, minimum) for v in pair)


def _check_input(layer, x, ndims=None, what=""):
    """x must be a Tensor with one of `ndims` dimensions (any when None), of the layer's dtype."""
    if not isinstance(x, Tensor):
        hint = " (wrap it with tm.tensor(x))" if isinstance(x, np.ndarray) else ""
        raise TypeError(f"{_name(layer)}: expected a tinymed Tensor, got {type(x).__name__}{hint}")
    if ndims is not None and x.ndim not in ndims:
        raise ValueError(f"{_name(layer)}: expected {what}, got x.shape={tuple(x.shape)}")
    weight = layer._parameters.get("weight")
    if weight is not None and x.dtype.kind == "f" and x.dtype != weight.dtype:
        raise TypeError(
            f"{_name(layer)}: x is {x.dtype} but the layer's weights are {weight.dtype}; convert "
            f"one of them (x.float() / x.double(), or model.float() / model.double())"
        )


def _check_size(layer, x, axis, expected, what):
    if x.shape[axis] != expected:
        raise ValueError(f"{_name(layer)}: expected input with {expected} {what}, got x.shape={tuple(x.shape)}")


def _check_window(layer, x, kernel_size, padding):
    """The (padded) image must be at least as large as the kernel or pooling window."""
    kh, kw = kernel_size
    h, w = x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1]
    if h < kh or w < kw:
        raise ValueError(
            f"{_name(layer)}: the input is {x.shape[2]}x{x.shape[3]} pixels ({h}x{w} with padding), "
            f"smaller than the {kh}x{kw} window (x.shape={tuple(x.shape)})"
        )


def _uniform_fan_in_(layer, rng):
    """PyTorch's default for Linear and Conv2d: weight kaiming_uniform_(a=sqrt(5)), which is
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    (Kaiming's paper would use a ReLU gain of sqrt(2); PyTorch kept this older default.)"""
    init.kaiming_uniform_(layer.weight, a=math.sqrt(5), seed=rng)
    if layer.bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(layer.weight)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(layer.bias, -bound, bound, seed=rng)


# ---------------------------------------------------------------------------------------------
# Layers with weights
# ---------------------------------------------------------------------------------------------


class Linear(Module):
    """A fully connected layer: y = x W^T + b.

    x: (*, in_features) -> (*, out_features). weight: (out_features, in_features), bias:
    (out_features,), in the default dtype (float32), initialised as PyTorch's: both
    U(-1/sqrt(in_features), 1/sqrt(in_features)), drawn from `seed`.
    """

    def __init__(self, in_features, out_features, bias=True, seed=None):
        super().__init__()
        self.in_features = _int(in_features, "in_features", "Linear", 1)
        self.out_features = _int(out_features, "out_features", "Linear", 1)
        dtype = get_default_dtype()
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        self.bias = Parameter(np.empty(self.out_features, dtype=dtype)) if bias else None
        self.reset_parameters(seed)

    def reset_parameters(self, seed=None):
        """Draw fresh weights (e.g. a new head for transfer learning)."""
        _uniform_fan_in_(self, get_generator(seed))

    def forward(self, x):
        _check_input(self, x)
        if x.ndim == 0:
            raise ValueError(f"{_name(self)}: expected an input (*, {self.in_features}), got a 0-d tensor")
        _check_size(self, x, -1, self.in_features, "features in its last axis")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Conv2d(Module):
    """A 2-d convolution (cross-correlation, as in every framework): O filters of size C x kh x kw
    slide over the image with `stride`, after zero `padding`.

    x: (N, C, H, W) -> (N, O, H', W'), H' = (H + 2 padding - kh) // stride + 1 (W' alike).
    weight: (O, C, kh, kw), bias: (O,), both U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
    fan_in = C kh kw (PyTorch's default), drawn from `seed`. kernel_size, stride and padding are
    an int or a pair (rows, columns). No dilation or groups.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True, seed=None):
        super().__init__()
        self.in_channels = _int(in_channels, "in_channels", "Conv2d", 1)
        self.out_channels = _int(out_channels, "out_channels", "Conv2d", 1)
        self.kernel_size = _pair(kernel_size, "kernel_size", "Conv2d", 1)
        self.stride = _pair(stride, "stride", "Conv2d", 1)
        self.padding = _pair(padding, "padding", "Conv2d", 0)
        dtype = get_default_dtype()
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.bias = Parameter(np.empty(self.out_channels, dtype=dtype)) if bias else None
        self.reset_parameters(seed)

    def reset_parameters(self, seed=None):
        """Draw fresh weights."""
        _uniform_fan_in_(self, get_generator(seed))

    def forward(self, x):
        _check_input(self, x, (4,), "a 4-d input (N, C, H, W)")
        _check_size(self, x, 1, self.in_channels, "channels")
        _check_window(self, x, self.kernel_size, self.padding)
        return F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.bias is None:
            s += ", bias=False"
        return s


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
    """

    _input_dims = ()
    _input_text = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        where = type(self).__name__
        self.num_features = _int(num_features, "num_features", where, 1)
        if not (isinstance(eps, numbers.Real) and eps > 0):
            raise ValueError(f"{where}: eps must be a number > 0, got {eps!r}")
        if momentum is not None and not (isinstance(momentum, numbers.Real) and 0 <= momentum <= 1):
            raise ValueError(f"{where}: momentum must be a number in [0, 1] or None, got {momentum!r}")
        self.eps = float(eps)
        self.momentum = None if momentum is None else float(momentum)
        dtype = get_default_dtype()
        self.weight = Parameter(np.ones(self.num_features, dtype=dtype))
        self.bias = Parameter(np.zeros(self.num_features, dtype=dtype))
        self.register_buffer("running_mean", np.zeros(self.num_features, dtype=dtype))
        self.register_buffer("running_var", np.ones(self.num_features, dtype=dtype))
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def reset_running_stats(self):
        """Forget the running statistics: mean 0, variance 1, no batches seen."""
        self.running_mean = np.zeros_like(self.running_mean)
        self.running_var = np.ones_like(self.running_var)
        self.num_batches_tracked = np.array(0, dtype=np.int64)

    def forward(self, x):
        _check_input(self, x, self._input_dims, self._input_text)
        _check_size(self, x, 1, self.num_features, "features (axis 1)")
        use_batch_stats = self.training and not self.frozen
        if use_batch_stats and x.size // x.shape[1] < 2:
            raise ValueError(
                f"{_name(self)}: training needs more than one value per feature to compute a "
                f"variance, got x.shape={tuple(x.shape)} (use a larger batch, or eval())"
            )
        momentum = 0.0
        if use_batch_stats:
            # A 0-d int64 array, as PyTorch's; `array + 1` would give a NumPy scalar.
            self.num_batches_tracked = np.array(self.num_batches_tracked + 1, dtype=np.int64)
            momentum = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        return F.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias,
            training=use_batch_stats, momentum=momentum, eps=self.eps,
        )

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of features: x (N, C) or (N, C, L) -> the same shape; statistics per
    feature C, over N (and L). See `_BatchNorm` for the formula and the modes."""

    _input_dims = (2, 3)
    _input_text = "a 2-d (N, C) or 3-d (N, C, L) input"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of channels: x (N, C, H, W) -> the same shape; statistics per channel
    C, over N, H and W. See `_BatchNorm` for the formula and the modes."""

    _input_dims = (4,)
    _input_text = "a 4-d input (N, C, H, W)"


# ---------------------------------------------------------------------------------------------
# Layers without weights
# ---------------------------------------------------------------------------------------------


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        where = type(self).__name__
        stride = kernel_size if stride is None else stride
        # The pairs are for the checks; the arguments are kept as given for repr, as PyTorch.
        self._kernel = _pair(kernel_size, "kernel_size", where, 1)
        self._padding = _pair(padding, "padding", where, 0)
        _pair(stride, "stride", where, 1)
        if any(p > k // 2 for p, k in zip(self._padding, self._kernel)):
            raise ValueError(
                f"{where}: padding must be at most half the kernel size, got padding={padding!r} "
                f"for kernel_size={kernel_size!r}"
            )
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def _check(self, x):
        _check_input(self, x, (4,), "a 4-d input (N, C, H, W)")
        _check_window(self, x, self._kernel, self._padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """The maximum of each kernel_size window, moved by `stride` (default: kernel_size, so the
    windows tile the image). Padding pads with -inf (never the maximum).
    x: (N, C, H, W) -> (N, C, H', W'), H' = (H + 2 padding - k) // stride + 1.
    The gradient goes to the position of each window's maximum."""

    def forward(self, x):
        self._check(x)
        return F.max_pool2d(x, self.kernel_size, stride=self.stride, padding=self.padding)


class AvgPool2d(_Pool2d):
    """The mean of each kernel_size window, moved by `stride` (default: kernel_size). Padding
    pads with zeros that count in the mean (PyTorch's count_include_pad=True).
    x: (N, C, H, W) -> (N, C, H', W'), H' = (H + 2 padding - k) // stride + 1."""

    def forward(self, x):
        self._check(x)
        return F.avg_pool2d(x, self.kernel_size, stride=self.stride, padding=self.padding)


class GlobalAvgPool2d(Module):
    """The mean over each channel's whole image: (N, C, H, W) -> (N, C).

    PyTorch writes this as `AdaptiveAvgPool2d(1)` followed by `Flatten()`."""

    def forward(self, x):
        _check_input(self, x, (4,), "a 4-d input (N, C, H, W)")
        return F.global_avg_pool2d(x)


class Dropout(Module):
    """In training mode, zero each element with probability p and scale the rest by 1 / (1 - p)
    (so the expected output equals the input); in eval mode, return x unchanged. Any shape.

    The layer keeps its own Generator: successive calls draw different masks, and the same
    `seed` reproduces the whole sequence. `seed=None` draws from the library's default
    Generator at each call (reset by `tm.manual_seed`).
    """

    def __init__(self, p=0.5, seed=None):
        super().__init__()
        if not (isinstance(p, numbers.Real) and 0 <= p <= 1):
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self._generator = None if seed is None else get_generator(seed)

    def forward(self, x):
        _check_input(self, x)
        return F.dropout(x, self.p, training=self.training, seed=self._generator)

    def extra_repr(self):
        return f"p={self.p}"


class ReLU(Module):
    """max(x, 0), element-wise. Any shape."""

    def forward(self, x):
        _check_input(self, x)
        return F.relu(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)), element-wise. Any shape."""

    def forward(self, x):
        _check_input(self, x)
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x), element-wise. Any shape."""

    def forward(self, x):
        _check_input(self, x)
        return F.tanh(x)


class Flatten(Module):
    """Join the axes from `start_axis` on: (N, C, H, W) -> (N, C*H*W) with the default 1.
    (PyTorch's Flatten(start_dim=1, end_dim=-1); there is no end_axis here.)"""

    def __init__(self, start_axis=1):
        super().__init__()
        if isinstance(start_axis, bool) or not isinstance(start_axis, numbers.Integral):
            raise ValueError(f"Flatten: start_axis must be an int, got {start_axis!r}")
        self.start_axis = int(start_axis)

    def forward(self, x):
        _check_input(self, x)
        if not -x.ndim <= self.start_axis < x.ndim:
            raise ValueError(
                f"{_name(self)}: x has {x.ndim} axes, so start_axis={self.start_axis} does not exist "
                f"(x.shape={tuple(x.shape)})"
            )
        return x.flatten(self.start_axis % x.ndim)

    def extra_repr(self):
        return f"start_axis={self.start_axis}"
