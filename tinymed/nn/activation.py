"""Activation layers: element-wise nonlinearities (any shape in, the same shape out) and the
softmaxes. Each keeps its options and calls its function in `nn.functional`, where the math,
the derivative and the input check are; the constructor checks the options.

`inplace=True` (PyTorch's memory saver) is accepted and shown by repr; tinymed always returns
a new tensor, which gives the same numbers.
"""
from tinymed import validate
from tinymed.nn import functional as F
from tinymed.nn.module import Module


class _Activation(Module):
    """An activation layer; `_options` names its options for repr, in PyTorch's order."""

    _options = ()

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = validate.boolean(inplace, f"{type(self).__name__}: inplace")

    def extra_repr(self):
        shown = [f"{name}={getattr(self, name)!r}" for name in self._options]
        return ", ".join(shown + (["inplace=True"] if self.inplace else []))


class ReLU(_Activation):
    """max(x, 0)."""

    def forward(self, x):
        return F.relu(x)


class Sigmoid(_Activation):
    """1 / (1 + exp(-x))."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(_Activation):
    """tanh(x)."""

    def forward(self, x):
        return F.tanh(x)


class SiLU(_Activation):
    """x * sigmoid(x) (swish)."""

    def forward(self, x):
        return F.silu(x)


class LeakyReLU(_Activation):
    """x if x > 0 else negative_slope * x."""

    _options = ("negative_slope",)

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__(inplace)
        self.negative_slope = validate.real(negative_slope, "LeakyReLU: negative_slope")

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)


class ELU(_Activation):
    """x if x > 0 else alpha * (exp(x) - 1)."""

    _options = ("alpha",)

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(inplace)
        self.alpha = validate.real(alpha, "ELU: alpha")

    def forward(self, x):
        return F.elu(x, self.alpha)


class GELU(_Activation):
    """x * Phi(x), Phi the normal CDF: exact (erf), or approximate="tanh"."""

    _options = ("approximate",)

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = validate.one_of(approximate, "GELU: approximate", ("none", "tanh"))

    def forward(self, x):
        return F.gelu(x, self.approximate)


class Softplus(_Activation):
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold."""

    _options = ("beta", "threshold")

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = validate.positive(beta, "Softplus: beta")
        self.threshold = validate.real(threshold, "Softplus: threshold")

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)


class Softmax(_Activation):
    """Probabilities along `dim`: each slice sums to 1. dim=None means the last axis
    (PyTorch guesses one from the input's rank, with a warning: give dim)."""

    _options = ("dim",)

    def __init__(self, dim=None):
        super().__init__()
        self.dim = None if dim is None else validate.integer(dim, f"{type(self).__name__}: dim")

    def forward(self, x):
        return F.softmax(x, self.dim)


class LogSoftmax(Softmax):
    """log(softmax(x)) along `dim`, computed stably (pair it with NLLLoss)."""

    def forward(self, x):
        return F.log_softmax(x, self.dim)
