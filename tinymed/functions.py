"""PyTorch's function forms of the tensor methods: `tm.exp(x)` is `x.exp()`, `tm.sum(x, dim=1)`
is `x.sum(dim=1)`, `tm.maximum(a, b)` is `a.maximum(b)`. Each passes its arguments on to the
method of the same name, where they are checked and documented (see `tinymed.tensor_methods`).
"""
from tinymed.autograd import Tensor


def _tensor(name, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"tm.{name}: input must be a Tensor, got {type(input).__name__} (make one with tm.tensor)")
    return input


def exp(input):
    """e ** input, element-wise."""
    return _tensor("exp", input).exp()


def log(input):
    """Natural logarithm, element-wise."""
    return _tensor("log", input).log()


def sqrt(input):
    """Square root, element-wise."""
    return _tensor("sqrt", input).sqrt()


def abs(input):
    """Absolute value, element-wise."""
    return _tensor("abs", input).abs()


def sin(input):
    """Sine, element-wise."""
    return _tensor("sin", input).sin()


def cos(input):
    """Cosine, element-wise."""
    return _tensor("cos", input).cos()


def tanh(input):
    """Hyperbolic tangent, element-wise."""
    return _tensor("tanh", input).tanh()


def sigmoid(input):
    """1 / (1 + e ** -input), element-wise."""
    return _tensor("sigmoid", input).sigmoid()


def relu(input):
    """max(input, 0), element-wise."""
    return _tensor("relu", input).relu()


def clamp(input, min=None, max=None):
    """input limited to [min, max]."""
    return _tensor("clamp", input).clamp(min, max)


def sum(input, *args, **kwargs):
    """input.sum(dim=None, keepdim=False) (or axis=, keepdims=)."""
    return _tensor("sum", input).sum(*args, **kwargs)


def mean(input, *args, **kwargs):
    """input.mean(dim=None, keepdim=False) (or axis=, keepdims=)."""
    return _tensor("mean", input).mean(*args, **kwargs)


def matmul(input, other):
    """input @ other."""
    return _tensor("matmul", input) @ other


def maximum(input, other):
    """max(input, other) element-wise, broadcasting."""
    return _tensor("maximum", input).maximum(other)


def minimum(input, other):
    """min(input, other) element-wise, broadcasting."""
    return _tensor("minimum", input).minimum(other)
