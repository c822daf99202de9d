"""Weight initialisers: PyTorch's formulas (`torch.nn.init`), seeded the tinymed way.

Why initialisation matters: a layer's output variance is fan_in * Var(w) * E[x^2]. If that
factor is far from 1, activations (and gradients) shrink or grow geometrically with depth.
The schemes below pick Var(w) so that it stays close to 1:

- Kaiming / He (for ReLU-like layers): Var(w) = gain^2 / fan, with fan = fan_in (keeps the
  forward variance) or fan_out (keeps the backward variance).
- Xavier / Glorot (for tanh / sigmoid / linear layers): Var(w) = gain^2 * 2 / (fan_in + fan_out),
  a compromise between the two directions.

A uniform U(-b, b) has variance b^2 / 3, so a uniform initialiser with standard deviation `std`
uses the bound b = sqrt(3) * std.

Every function takes a `tinymed.Tensor` (e.g. a Parameter) or a float NumPy array and fills it
"in place", as PyTorch's trailing underscore says: a NumPy array is overwritten element by
element; a Tensor gets a NEW array of the same dtype bound to its `.data` (rebinding is always
safe, even while a graph holds the old array read-only). Each returns what it was given.

The random ones take `seed: int | numpy.random.Generator | None` (see `tinymed.random`): the same
int gives bit-identical weights; None draws from the default Generator (`tm.manual_seed`).
The numbers drawn differ from PyTorch's (another generator), their distribution is the same.
"""
import math

import numpy as np

from tinymed.autograd import Tensor
from tinymed.random import get_generator

_LINEAR_GAIN = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The factor by which a nonlinearity changes the standard deviation to make up for (PyTorch's).

    linear, conv*, sigmoid: 1;  tanh: 5/3;  relu: sqrt(2);  selu: 3/4;
    leaky_relu: sqrt(2 / (1 + slope^2)) with slope = `param` (0.01 when None).
    """
    if nonlinearity in _LINEAR_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4.0
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: param must be a number for leaky_relu, got {param!r}")
        return math.sqrt(2.0 / (1.0 + slope**2))
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one of "
        f"{', '.join(_LINEAR_GAIN)}, tanh, relu, leaky_relu, selu"
    )


def _array(tensor, name):
    """The float array behind `tensor` (a Tensor or an ndarray)."""
    array = tensor.data if isinstance(tensor, Tensor) else tensor
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name}: expected a tinymed Tensor or a NumPy array, got {type(tensor).__name__}")
    if array.dtype.kind != "f":
        raise TypeError(f"{name}: expected a float tensor or array, got dtype {array.dtype}")
    return array


def _fill(tensor, values):
    """Write `values` into `tensor`: rebind a Tensor's `.data`, overwrite an ndarray's elements."""
    if isinstance(tensor, Tensor):
        tensor.data = np.asarray(values, dtype=tensor.data.dtype)
    else:
        tensor[...] = values
    return tensor


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight: Linear (out, in) or Conv (out, in, kh, kw).

    fan_in = in * receptive field, fan_out = out * receptive field, where the receptive field is
    the product of the axes after the first two (kh * kw for a 2-d convolution, 1 for Linear).
    """
    shape = _array(tensor, "_calculate_fan_in_and_fan_out").shape
    if len(shape) < 2:
        raise ValueError(
            f"_calculate_fan_in_and_fan_out: fan in and fan out need a tensor with at least 2 "
            f"dimensions (out, in, ...), got shape {shape}"
        )
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _fan(tensor, mode, name):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{name}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, seed=None):
    """Fill with draws from U(a, b)."""
    array = _array(tensor, "uniform_")
    if not a <= b:
        raise ValueError(f"uniform_: needs a <= b, got a={a}, b={b}")
    rng = get_generator(seed)
    return _fill(tensor, rng.uniform(a, b, size=array.shape))


def normal_(tensor, mean=0.0, std=1.0, seed=None):
    """Fill with draws from N(mean, std^2)."""
    array = _array(tensor, "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    rng = get_generator(seed)
    return _fill(tensor, rng.normal(mean, std, size=array.shape))


def zeros_(tensor):
    """Fill with 0."""
    _array(tensor, "zeros_")
    return _fill(tensor, 0.0)


def ones_(tensor):
    """Fill with 1."""
    _array(tensor, "ones_")
    return _fill(tensor, 1.0)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", seed=None):
    """He initialisation, uniform: U(-bound, bound) with

        std = gain / sqrt(fan),   bound = sqrt(3) * std,   gain = calculate_gain(nonlinearity, a)

    `a` is the negative slope of the leaky ReLU that follows (0 means ReLU: gain sqrt(2));
    `mode` "fan_in" (default) or "fan_out". PyTorch's Linear and Conv2d use a=sqrt(5), which
    gives gain sqrt(1/3) and bound = 1 / sqrt(fan_in).
    """
    if _array(tensor, "kaiming_uniform_").size == 0:
        return tensor  # nothing to fill (and a fan of 0); PyTorch warns and does nothing too
    fan = _fan(tensor, mode, "kaiming_uniform_")
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, seed=seed)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", seed=None):
    """He initialisation, normal: N(0, std^2) with std = gain / sqrt(fan) (see kaiming_uniform_)."""
    if _array(tensor, "kaiming_normal_").size == 0:
        return tensor
    fan = _fan(tensor, mode, "kaiming_normal_")
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, seed=seed)


def xavier_uniform_(tensor, gain=1.0, seed=None):
    """Glorot initialisation, uniform: U(-bound, bound) with

        std = gain * sqrt(2 / (fan_in + fan_out)),   bound = sqrt(3) * std
    """
    if _array(tensor, "xavier_uniform_").size == 0:
        return tensor
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, seed=seed)


def xavier_normal_(tensor, gain=1.0, seed=None):
    """Glorot initialisation, normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    if _array(tensor, "xavier_normal_").size == 0:
        return tensor
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(tensor, 0.0, std, seed=seed)
