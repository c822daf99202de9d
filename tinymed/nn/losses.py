"""Loss Modules (PyTorch's): each keeps its options and class weights (as buffers, so they are in
`state_dict` and follow `.double()`) and calls its function in `tinymed.nn.loss_functions`, where
the math and its numerical stability are explained. `loss = criterion(logits, target)`.
"""
import numpy as np

from tinymed import validate
from tinymed.nn.loss_functions import (  # the functions are importable from here too
    REDUCTIONS,
    _as_weight,
    _check_reduction,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from tinymed.nn.weighted_losses import (
    _check_alpha,
    _check_epsilon,
    _label_weights,
    focal_loss,
    weighted_binary_cross_entropy,
)
from tinymed.nn.module import Module

__all__ = [
    "BCEWithLogitsLoss", "BCELoss", "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "WeightedBCELoss",
    "FocalLoss", "binary_cross_entropy_with_logits", "binary_cross_entropy", "cross_entropy", "nll_loss",
    "mse_loss", "l1_loss", "weighted_binary_cross_entropy", "focal_loss",
]


class _Loss(Module):
    """A loss Module: keeps its options (listed in `_options`, shown by repr), calls its function."""

    _options = ()

    def extra_repr(self):
        def show(v):
            if isinstance(v, np.ndarray) and v.ndim == 1:
                return "[" + ", ".join(f"{e:.4g}" for e in v[:6]) + (", ...]" if v.size > 6 else "]")
            return f"{float(v):.4g}" if isinstance(v, np.ndarray) else repr(v)

        return ", ".join(f"{k}={show(getattr(self, k))}" for k in self._options if getattr(self, k) is not None)


class BCEWithLogitsLoss(_Loss):
    """`binary_cross_entropy_with_logits` as a Module (PyTorch's): `loss = criterion(logits, target)`.

        l = -w * (pw * y * log sigmoid(x) + (1 - y) * log(1 - sigmoid(x))), then `reduction`

    `weight` and `pos_weight` are kept as buffers (in state_dict, cast by .double()).
    """

    _options = ("weight", "pos_weight", "reduction")

    def __init__(self, weight=None, pos_weight=None, reduction="mean"):
        super().__init__()
        self.register_buffer("weight", _as_weight("BCEWithLogitsLoss", "weight", weight))
        self.register_buffer("pos_weight", _as_weight("BCEWithLogitsLoss", "pos_weight", pos_weight))
        self.reduction = _check_reduction("BCEWithLogitsLoss", reduction)

    def forward(self, logits, target):
        return binary_cross_entropy_with_logits(logits, target, self.weight, self.pos_weight, self.reduction)


class BCELoss(_Loss):
    """`binary_cross_entropy` as a Module (PyTorch's), on probabilities:
    l = -w (y max(log p, -100) + (1 - y) max(log(1 - p), -100)). Prefer BCEWithLogitsLoss."""

    _options = ("weight", "reduction")

    def __init__(self, weight=None, reduction="mean"):
        super().__init__()
        self.register_buffer("weight", _as_weight("BCELoss", "weight", weight))
        self.reduction = _check_reduction("BCELoss", reduction)

    def forward(self, probs, target):
        return binary_cross_entropy(probs, target, self.weight, self.reduction)


def _class_weight(where, weight):
    weight = _as_weight(where, "weight", weight)
    if weight is not None and weight.ndim != 1:
        raise ValueError(f"{where}: weight must have shape (C,), one per class, got shape {weight.shape}")
    return weight


class CrossEntropyLoss(_Loss):
    """`cross_entropy` as a Module (PyTorch's): logits (N, C[, d1...]), class indices or probabilities.

        l_i = -sum_c w_c q'_ic log softmax(x_i)_c,  q' = (1 - eps) onehot(y_i) + eps / C

    "mean" divides by sum_i w_(y_i); targets equal to `ignore_index` count for nothing.
    The class `weight` (C,) is a buffer.
    """

    _options = ("weight", "reduction", "label_smoothing", "ignore_index")

    def __init__(self, weight=None, reduction="mean", label_smoothing=0.0, ignore_index=-100):
        super().__init__()
        self.register_buffer("weight", _class_weight("CrossEntropyLoss", weight))
        self.ignore_index = validate.integer(ignore_index, "CrossEntropyLoss: ignore_index")
        self.reduction = _check_reduction("CrossEntropyLoss", reduction)
        self.label_smoothing = validate.probability(label_smoothing, "CrossEntropyLoss: label_smoothing")

    def forward(self, logits, target):
        return cross_entropy(logits, target, self.weight, self.reduction, self.label_smoothing, self.ignore_index)


class NLLLoss(_Loss):
    """`nll_loss` as a Module (PyTorch's): log-probabilities (N, C[, d1...]) and class indices,
    l_i = -w_(y_i) input[i, y_i]; LogSoftmax then NLLLoss is CrossEntropyLoss."""

    _options = ("weight", "reduction", "ignore_index")

    def __init__(self, weight=None, reduction="mean", ignore_index=-100):
        super().__init__()
        self.register_buffer("weight", _class_weight("NLLLoss", weight))
        self.ignore_index = validate.integer(ignore_index, "NLLLoss: ignore_index")
        self.reduction = _check_reduction("NLLLoss", reduction)

    def forward(self, input, target):
        return nll_loss(input, target, self.weight, self.reduction, self.ignore_index)


class _PerElementLoss(_Loss):
    """A loss whose only option is the reduction: `_function(input, target, reduction)`."""

    _options = ("reduction",)

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = _check_reduction(type(self).__name__, reduction)

    def forward(self, input, target):
        return self._function(input, target, self.reduction)


class MSELoss(_PerElementLoss):
    """`mse_loss` as a Module (PyTorch's): (x - y)^2 per element, then `reduction`."""

    _function = staticmethod(mse_loss)


class L1Loss(_PerElementLoss):
    """`l1_loss` as a Module (PyTorch's): |x - y| per element, then `reduction`."""

    _function = staticmethod(l1_loss)


class WeightedBCELoss(_Loss):
    """The course's weighted loss as a Module (see `weighted_binary_cross_entropy`):

        l = -(w_pos * y * log p + w_neg * (1 - y) * log(1 - p)),   p = sigmoid(x) if from_logits

    `pos_weights` / `neg_weights` (numbers or (C,), one per label) are buffers.
    `WeightedBCELoss.from_labels(train_labels)` takes them from the training labels.
    """

    _options = ("pos_weights", "neg_weights", "from_logits", "epsilon", "reduction")

    def __init__(self, pos_weights, neg_weights, from_logits=True, epsilon=1e-7, reduction="mean"):
        super().__init__()
        fn = "WeightedBCELoss"
        self.register_buffer("pos_weights", _label_weights(fn, "pos_weights", pos_weights))
        self.register_buffer("neg_weights", _label_weights(fn, "neg_weights", neg_weights))
        if self.pos_weights.ndim == self.neg_weights.ndim == 1 and self.pos_weights.shape != self.neg_weights.shape:
            raise ValueError(
                f"{fn}: pos_weights has {self.pos_weights.size} labels but neg_weights has {self.neg_weights.size}"
            )
        self.from_logits = validate.boolean(from_logits, f"{fn}: from_logits")
        self.epsilon = _check_epsilon(fn, epsilon, from_logits)
        self.reduction = _check_reduction(fn, reduction, REDUCTIONS + ("class_sum",))

    @classmethod
    def from_labels(cls, labels, **kwargs):
        """The loss with `tinymed.imbalance.class_weights(labels)`: w_pos = fraction of negatives,
        w_neg = fraction of positives, per label. labels: (N,) or (N, C) of 0/1."""
        # Imported here: imbalance sits above nn in the library's layering.
        from tinymed.imbalance import class_weights

        pos_weights, neg_weights = class_weights(labels)
        return cls(pos_weights, neg_weights, **kwargs)

    def forward(self, input, target):
        return weighted_binary_cross_entropy(
            input, target, self.pos_weights, self.neg_weights, self.from_logits, self.epsilon, self.reduction
        )


class FocalLoss(_Loss):
    """`focal_loss` as a Module: FL = -alpha_t (1 - p_t)^gamma log(p_t) on logits, 0/1 targets."""

    _options = ("alpha", "gamma", "reduction")

    def __init__(self, alpha=0.25, gamma=2.0, reduction="mean"):
        super().__init__()
        self.alpha = _check_alpha("FocalLoss", alpha)
        self.gamma = validate.non_negative(gamma, "FocalLoss: gamma")
        self.reduction = _check_reduction("FocalLoss", reduction)

    def forward(self, logits, target):
        return focal_loss(logits, target, self.alpha, self.gamma, self.reduction)
