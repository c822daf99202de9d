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
    """max(x, 0), the usual choice between layers. Its gradient is 1 where x > 0 and 0
    elsewhere: it does not shrink from layer to layer as sigmoid's does, but a unit whose inputs
    are all negative stops learning (LeakyReLU and ELU keep a gradient there)."""

    def forward(self, x):
        return F.relu(x)


class Sigmoid(_Activation):
    """1 / (1 + exp(-x)), in (0, 1): a logit turned into a probability. To train a classifier,
    give the logits to BCEWithLogitsLoss rather than Sigmoid then BCELoss: it stays accurate
    where the sigmoid rounds to 0 or 1."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(_Activation):
    """tanh(x) = 2 sigmoid(2x) - 1, in (-1, 1): a sigmoid centred on 0."""

    def forward(self, x):
        return F.tanh(x)


class SiLU(_Activation):
    """x * sigmoid(x) (swish): a smooth ReLU that dips a little below 0 (to -0.28 at x = -1.28)
    before rising."""

    def forward(self, x):
        return F.silu(x)


class LeakyReLU(_Activation):
    """x if x > 0 else negative_slope * x.

    negative_slope: the slope for x < 0 (PyTorch's default 0.01). Where ReLU's gradient is 0
    for every negative input, this small slope keeps a unit whose inputs are all negative
    learning."""

    _options = ("negative_slope",)

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__(inplace)
        self.negative_slope = validate.real(negative_slope, "LeakyReLU: negative_slope")

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)


class ELU(_Activation):
    """x if x > 0 else alpha * (exp(x) - 1).

    alpha: the output tends to -alpha as x -> -inf (PyTorch's default 1.0)."""

    _options = ("alpha",)

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(inplace)
        self.alpha = validate.real(alpha, "ELU: alpha")

    def forward(self, x):
        return F.elu(x, alpha=self.alpha)


class GELU(_Activation):
    """x * Phi(x), Phi the normal CDF: exact (erf), or approximate="tanh"."""

    _options = ("approximate",)

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = validate.one_of(approximate, "GELU: approximate", ("none", "tanh"))

    def forward(self, x):
        return F.gelu(x, self.approximate)


class Softplus(_Activation):
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold: a smooth ReLU.

    beta: > 0, the sharpness; the larger, the closer to ReLU (at x = 0 the output is
    log(2) / beta). threshold: where beta x exceeds it the output is x itself, which the
    formula equals there to float precision (PyTorch's defaults 1.0 and 20.0)."""

    _options = ("beta", "threshold")

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = validate.positive(beta, "Softplus: beta")
        self.threshold = validate.real(threshold, "Softplus: threshold")

    def forward(self, x):
        return F.softplus(x, beta=self.beta, threshold=self.threshold)


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
