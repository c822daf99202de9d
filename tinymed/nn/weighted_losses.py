"""The course's losses for imbalanced labels: the weighted binary cross-entropy (each class
weighted by the other class's frequency, so both contribute equally) and the focal loss
(easy examples down-weighted). Both want labels exactly 0 or 1 and compute on logits through
log sigmoid, stably (see `tinymed.nn.loss_functions`, whose checks they share); the Modules
are `nn.WeightedBCELoss` and `nn.FocalLoss`.
"""
from tinymed import ops, validate
from tinymed.nn.loss_functions import (
    REDUCTIONS, _as_input, _as_weight, _binary_target, _check_probs, _check_reduction, _reduce,
)

__all__ = ["weighted_binary_cross_entropy", "focal_loss"]


def _label_weights(fn, name, w, shape=None):
    """One weight for all labels (a number) or one per label: (C,) for targets of shape (N, C)."""
    if w is None:
        raise TypeError(f"{fn}: {name} is required (a number, or one weight per label)")
    arr = _as_weight(fn, name, w)
    if arr.ndim > 1:
        raise ValueError(f"{fn}: {name} must be a number or one weight per label, shape (C,), got shape {arr.shape}")
    n_labels = None if shape is None else (shape[1] if len(shape) == 2 else 1)
    if n_labels is not None and arr.ndim == 1 and arr.shape != (n_labels,):
        raise ValueError(
            f"{fn}: {name} has {arr.size} entries but the target has {n_labels} label(s) (shape {shape}): "
            f"give one weight per label (column), or one number"
        )
    return arr


def _check_alpha(fn, alpha):
    # None or a negative alpha switches alpha weighting off (as torchvision); above 1 is a mistake.
    return None if alpha is None else validate.real(alpha, f"{fn}: alpha", max=1)


def _check_epsilon(fn, epsilon, from_logits):
    """With probabilities, log(p + epsilon) must stay finite at p = 0, so epsilon > 0 (the
    gradient there is then -1 / epsilon, large but finite); logits do not use epsilon."""
    from_logits = validate.boolean(from_logits, f"{fn}: from_logits")
    epsilon = validate.non_negative(epsilon, f"{fn}: epsilon")
    if epsilon == 0 and not from_logits:
        raise ValueError(f"{fn}: epsilon must be > 0 with probabilities (from_logits=False), or "
                         f"log(p + epsilon) is -inf at p = 0 or 1; got 0.0 (the default is 1e-7)")
    return epsilon


def weighted_binary_cross_entropy(input, target, pos_weights, neg_weights, from_logits=True, epsilon=1e-7,
                                  reduction="mean"):
    """The course's weighted loss for imbalanced labels. Per element, for label c:

        l = -(w_pos[c] * y * log p + w_neg[c] * (1 - y) * log(1 - p))

    from_logits=True: input are logits, log p = log sigmoid(x) and log(1 - p) = log sigmoid(-x)
    (stable, no epsilon). from_logits=False: input are probabilities and epsilon goes inside both
    logs, log(p + eps) and log(1 - p + eps), as in the course's grader; there epsilon must be
    > 0, so a probability of exactly 0 or 1 costs at most -log(eps) (16.1 for 1e-7) and its
    gradient is at most 1 / eps, not inf (binary_cross_entropy clamps the log at -100 instead).

    input, target: (N,) or (N, C), target exactly 0/1. pos_weights, neg_weights: numbers, or (C,)
    one per label. Reductions: "mean" over all elements, "sum", "none" ((N,) or (N, C)), and
    "class_sum", the number the course's grader prints:

        L = sum_c (1/N) sum_i -(w_pos[c] y_ic log(p_ic + eps) + w_neg[c] (1 - y_ic) log(1 - p_ic + eps))

    (with eps = 0 and p = sigmoid(x) when from_logits=True).

    Example: 6 normal and 2 mass X-rays. With w_pos = 6/8 (the fraction of negatives) and
    w_neg = 2/8 (of positives), the positives contribute 2 * 6/8 and the negatives 6 * 2/8 times
    their per-example loss: equal, so the majority no longer dominates. Get such weights from
    `tinymed.imbalance.class_weights(labels)`.
    """
    fn = "weighted_binary_cross_entropy"
    x = _as_input(fn, "input", input)
    if x.ndim not in (1, 2):
        raise ValueError(f"{fn}: input must have shape (N,) or (N, C), got shape {x.shape}")
    y = _binary_target(fn, target, "input", x.shape, soft=False)
    w_pos = _label_weights(fn, "pos_weights", pos_weights, x.shape)
    w_neg = _label_weights(fn, "neg_weights", neg_weights, x.shape)
    epsilon = _check_epsilon(fn, epsilon, from_logits)
    _check_reduction(fn, reduction, REDUCTIONS + ("class_sum",))
    if from_logits:
        log_p, log_q = ops.LogSigmoid.apply(x), ops.LogSigmoid.apply(-x)
    else:
        _check_probs(fn, "input", x)
        log_p, log_q = (x + epsilon).log(), (1 - x + epsilon).log()
    loss = -(log_p * (w_pos * y) + log_q * (w_neg * (1 - y)))
    if reduction == "class_sum":
        return loss.mean(axis=0).sum()
    return _reduce(loss, reduction)


def focal_loss(logits, target, alpha=0.25, gamma=2.0, reduction="mean"):
    """Focal loss (Lin et al., RetinaNet, 2017) on logits: down-weights the easy examples.

        p_t = p if y = 1 else 1 - p          alpha_t = alpha if y = 1 else 1 - alpha
        FL  = -alpha_t * (1 - p_t)^gamma * log(p_t)

    computed stably as log p_t = log sigmoid(s x) and (1 - p_t)^gamma = exp(gamma * log sigmoid(-s x)),
    s = 2y - 1, so no power of 0 appears in the gradient either. gamma = 0 and alpha=None is BCE.
    logits, target: the same shape, target exactly 0/1. alpha in [0, 1], or None or negative for
    no alpha weighting. Same as torchvision.ops.sigmoid_focal_loss, whose default reduction is "none".
    """
    fn = "focal_loss"
    x = _as_input(fn, "logits", logits)
    y = _binary_target(fn, target, "logits", x.shape, soft=False)
    alpha = _check_alpha(fn, alpha)
    gamma = validate.non_negative(gamma, f"{fn}: gamma")
    _check_reduction(fn, reduction)
    z = x * (2 * y - 1)                          # the logit of the true class: p_t = sigmoid(z)
    log_pt = ops.LogSigmoid.apply(z)
    modulating = (ops.LogSigmoid.apply(-z) * gamma).exp()  # (1 - p_t)^gamma, via log(1 - p_t)
    loss = -modulating * log_pt
    if alpha is not None and alpha >= 0:
        loss = loss * (alpha * y + (1 - alpha) * (1 - y))
    return _reduce(loss, reduction)
