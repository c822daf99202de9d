"""The layers: Modules that hold weights (or settings) and call the math in `nn.functional`.

Each layer does two things, and nothing else:

1. its constructor checks its arguments and creates its parameters with PyTorch's shapes and
   initialisation, so state dicts are interchangeable (Linear weight (out, in), Conv2d weight
   (out, in / groups, kh, kw));
2. its `forward` is one line that calls the function in `nn.functional`, which checks the
   input once (shape, channels, dtype against the weights) and does the math (forward and
   backward live there). When F refuses an input, the error carries a note naming the layer
   (`Module.__call__` adds it), e.g. "in features.0: Conv2d(1, 16, kernel_size=(3, 3), ...)".

Every layer that draws random numbers (Linear and Conv2d at initialisation, Dropout at every
call) takes `seed: int | numpy.random.Generator | None` (see `tinymed.random`).
Activations are in `nn.activation`, batch and layer norm in `nn.normalization`.
"""
import math

import numpy as np

from tinymed import validate
from tinymed.autograd import get_default_dtype
from tinymed.nn import functional as F
from tinymed.nn import init
from tinymed.nn.activation import ReLU, Sigmoid, Tanh  # noqa: F401 (imported from here by older code)
from tinymed.nn.module import Module, Parameter
from tinymed.nn.normalization import BatchNorm1d, BatchNorm2d  # noqa: F401 (imported from here by train.py)
from tinymed.random import get_generator


def _uniform_fan_in_(layer, seed):
    """PyTorch's default for Linear and Conv2d: weight kaiming_uniform_(a=sqrt(5)), which is
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    (Kaiming's paper would use a ReLU gain of sqrt(2); PyTorch kept this older default.)"""
    rng = get_generator(seed)
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
        self.in_features = validate.integer(in_features, "Linear: in_features", min=1)
        self.out_features = validate.integer(out_features, "Linear: out_features", min=1)
        dtype = get_default_dtype()
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        self.register_parameter("bias", Parameter(np.empty(self.out_features, dtype=dtype)) if bias else None)
        self.reset_parameters(seed)

    def reset_parameters(self, seed=None):
        """Draw fresh weights (e.g. a new head for transfer learning)."""
        _uniform_fan_in_(self, seed)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Conv2d(Module):
    """A 2-d convolution (cross-correlation, as in every framework): O filters of size
    C/groups x kh x kw slide over the image with `stride`, after zero `padding`, their taps
    `dilation` pixels apart.

    x: (N, C, H, W) -> (N, O, H', W'), H' = (H + 2 padding - dilation (kh - 1) - 1) // stride + 1
    (W' alike). kernel_size, stride, dilation: an int or a pair (rows, columns); padding: an int,
    a pair, "valid" (none) or "same" (H' = H; stride 1 only). groups splits the channels into
    that many independent convolutions (groups = C: depthwise). weight: (O, C/groups, kh, kw),
    bias: (O,), both U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = C/groups kh kw
    (PyTorch's default), drawn from `seed`. Zero padding only (no padding_mode).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, seed=None):
        super().__init__()
        self.in_channels = validate.integer(in_channels, "Conv2d: in_channels", min=1)
        self.out_channels = validate.integer(out_channels, "Conv2d: out_channels", min=1)
        self.kernel_size = validate.pair(kernel_size, "Conv2d: kernel_size", min=1)
        self.stride = validate.pair(stride, "Conv2d: stride", min=1)
        self.dilation = validate.pair(dilation, "Conv2d: dilation", min=1)
        self.groups = validate.integer(groups, "Conv2d: groups", min=1)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: groups={groups} must divide in_channels={in_channels} and out_channels={out_channels}")
        if isinstance(padding, str):
            self.padding = validate.one_of(padding, "Conv2d: padding", ("valid", "same"))
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(f"Conv2d: padding='same' needs stride 1 (as in PyTorch), got stride={self.stride}")
        else:
            self.padding = validate.pair(padding, "Conv2d: padding", min=0)
        dtype = get_default_dtype()
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.register_parameter("bias", Parameter(np.empty(self.out_channels, dtype=dtype)) if bias else None)
        self.reset_parameters(seed)

    def reset_parameters(self, seed=None):
        """Draw fresh weights."""
        _uniform_fan_in_(self, seed)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        # PyTorch's repr: the options that differ from the defaults
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


# ---------------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------------


class _Pool2d(Module):
    """kernel_size, stride (default: kernel_size, so the windows tile the image), padding: an int
    or a pair, kept as given for repr, as PyTorch. ceil_mode: round the output size up, so a
    last partial window counts. F checks how they fit together and the input."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False):
        super().__init__()
        where = type(self).__name__
        validate.pair(kernel_size, f"{where}: kernel_size", min=1)
        validate.pair(padding, f"{where}: padding", min=0)
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        validate.pair(self.stride, f"{where}: stride", min=1)
        self.ceil_mode = validate.boolean(ceil_mode, f"{where}: ceil_mode")


class MaxPool2d(_Pool2d):
    """The maximum of each window; padding pads with -inf (never the maximum); taps `dilation`
    apart. x: (N, C, H, W) -> (N, C, H', W'), H' = (H + 2 padding - dilation (k - 1) - 1) // stride + 1.
    The gradient goes to the position of each window's maximum. return_indices=True returns
    (out, indices) as PyTorch."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        validate.pair(dilation, "MaxPool2d: dilation", min=1)
        self.dilation = dilation
        self.return_indices = validate.boolean(return_indices, "MaxPool2d: return_indices")

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(_Pool2d):
    """The mean of each window. Padding pads with zeros that count in the mean unless
    count_include_pad=False. x: (N, C, H, W) -> (N, C, H', W'), H' = (H + 2 padding - k) // stride + 1."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad = validate.boolean(count_include_pad, "AvgPool2d: count_include_pad")

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size, whatever the input's: (N, C, H, W) ->
    (N, C, out_h, out_w); output_size an int or a pair (None keeps that axis).
    `AdaptiveAvgPool2d(1)` then `Flatten()` is `GlobalAvgPool2d()`."""

    def __init__(self, output_size):
        super().__init__()
        sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
        validate.pair(tuple(1 if s is None else s for s in sizes), "AdaptiveAvgPool2d: output_size", min=1)
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class GlobalAvgPool2d(Module):
    """The mean over each channel's whole image: (N, C, H, W) -> (N, C).

    PyTorch writes this as `AdaptiveAvgPool2d(1)` followed by `Flatten()`."""

    def forward(self, x):
        return F.global_avg_pool2d(x)


# ---------------------------------------------------------------------------------------------
# Dropout and reshaping
# ---------------------------------------------------------------------------------------------


class Dropout(Module):
    """In training mode, zero each element with probability p and scale the rest by 1 / (1 - p)
    (so the expected output equals the input); in eval mode, return x unchanged. Any shape.

    The layer keeps its own Generator: successive calls draw different masks, and the same
    `seed` reproduces the whole sequence. `seed=None` draws from the library's default
    Generator at each call (reset by `tm.manual_seed`). `inplace` is accepted (PyTorch's
    memory saver); the result is a new tensor either way.
    """

    _function = staticmethod(F.dropout)

    def __init__(self, p=0.5, inplace=False, seed=None):
        super().__init__()
        self.p = validate.probability(p, f"{type(self).__name__}: p")
        self.inplace = validate.boolean(inplace, f"{type(self).__name__}: inplace")
        self._generator = None if seed is None else get_generator(seed)

    def forward(self, x):
        return self._function(x, self.p, self.training, self._generator)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Channel dropout for (N, C, H, W): in training, each whole channel map is zeroed with
    probability p (the rest scaled by 1 / (1 - p)); eval mode returns x unchanged."""

    _function = staticmethod(F.dropout2d)


class Flatten(Module):
    """Join the axes start_dim..end_dim: (N, C, H, W) -> (N, C*H*W) with the defaults."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = validate.integer(start_dim, "Flatten: start_dim")
        self.end_dim = validate.integer(end_dim, "Flatten: end_dim")

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis `dim` into `unflattened_size`: Unflatten(1, (1, 28, 28)) maps (N, 784) to
    (N, 1, 28, 28)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = validate.integer(dim, "Unflatten: dim")
        if not (isinstance(unflattened_size, (tuple, list)) and all(validate.is_int(s) for s in unflattened_size)):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, got {unflattened_size!r}")
        self.unflattened_size = tuple(int(s) for s in unflattened_size)

    def forward(self, x):
        return F.unflatten(x, self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
