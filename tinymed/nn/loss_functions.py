"""Loss functions: how wrong a prediction is, as one number that backward() can differentiate.

Two layers, as in PyTorch: these functions (`binary_cross_entropy_with_logits`, ..., re-exported
by `tinymed.nn.functional`) hold the math; the Modules in `tinymed.nn.losses`
(`BCEWithLogitsLoss`, ...) keep the options and the class weights (as buffers) and call them.

Numerical stability. Computing p = sigmoid(x) and then log(1 - p) fails for large logits
(sigmoid(40) == 1.0 in float32, so log(1 - p) = -inf and the gradient is nan). Every loss on
logits here goes through

    log p       = log sigmoid(x)  = min(x, 0) - log(1 + e^-|x|)
    log(1 - p)  = log sigmoid(-x)

which never exponentiates a positive number: losses and gradients stay finite at logits of
+-1000. `cross_entropy` subtracts the row maximum inside log_softmax for the same reason.

Targets and weights are constants: no gradient flows to them. The course's losses
(`weighted_binary_cross_entropy`, `focal_loss`) want labels exactly 0 or 1;
`binary_cross_entropy[_with_logits]` also take soft labels in [0, 1], as PyTorch does. Unlike
PyTorch, targets outside [0, 1] raise a ValueError.
"""
from numbers import Real

import numpy as np

from tinymed import ops
from tinymed.autograd import Function, Tensor

__all__ = [
    "binary_cross_entropy_with_logits", "binary_cross_entropy", "cross_entropy",
    "weighted_binary_cross_entropy", "focal_loss",
]

REDUCTIONS = ("mean", "sum", "none")

# ---------------------------------------------------------------------------------------------
# Stable building blocks: forward and backward side by side
# ---------------------------------------------------------------------------------------------


class _BinaryCrossEntropy(Function):
    """-(y log p + (1 - y) log(1 - p)), each log clamped at -100 as PyTorch does, so p = 0 or 1
    costs at most 100 instead of inf. Backward, also PyTorch's: (p - y) / max(p (1 - p), 1e-12),
    finite at p = 0 and p = 1."""

    @staticmethod
    def forward(ctx, p, target):
        y = target.astype(p.dtype)
        with np.errstate(divide="ignore"):  # log(0) = -inf is expected here: it is clamped
            log_p = np.maximum(np.log(p), -100)
            log_q = np.maximum(np.log1p(-p), -100)
        ctx.save_for_backward(p, y)
        return -(y * log_p + (1 - y) * log_q)

    @staticmethod
    def backward(ctx, g):
        p, y = ctx.saved_tensors
        return g * (p - y) / np.maximum(p * (1 - p), 1e-12)


# ---------------------------------------------------------------------------------------------
# Checks at the boundary
# ---------------------------------------------------------------------------------------------


def _check_reduction(fn, reduction, allowed=REDUCTIONS):
    if not isinstance(reduction, str) or reduction not in allowed:
        raise ValueError(f"{fn}: reduction must be one of {', '.join(map(repr, allowed))}, got {reduction!r}")
    return reduction


def _as_input(fn, name, x):
    """The prediction as a float Tensor (a NumPy array becomes a constant tensor of its dtype)."""
    if not isinstance(x, Tensor):
        try:
            x = Tensor(x)
        except TypeError:
            raise TypeError(f"{fn}: {name} must be a Tensor or an array of floats, got {type(x).__name__}") from None
    if x.dtype.kind != "f":
        raise TypeError(f"{fn}: {name} must be a float tensor, got dtype {x.dtype}")
    return x


def _as_target(fn, target):
    if isinstance(target, Tensor):
        if target.requires_grad:
            raise TypeError(f"{fn}: target requires grad, but targets are constants here: pass target.detach()")
        target = target.data
    t = np.asarray(target)
    if t.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: target must hold numbers, got dtype {t.dtype}")
    return t


def _binary_target(fn, target, name, shape, soft):
    """0/1 labels (or, when `soft`, anything in [0, 1]) of exactly `shape`, as float64."""
    t = _as_target(fn, target).astype(np.float64)
    if t.shape != shape:
        raise ValueError(f"{fn}: target has shape {t.shape} but {name} has shape {shape}")
    bad = ~((t >= 0) & (t <= 1)) if soft else (t != 0) & (t != 1)
    if bad.any():
        expected = "in [0, 1]" if soft else "exactly 0 or 1"
        raise ValueError(f"{fn}: target values must be {expected}, found {np.unique(t[bad])[:5].tolist()}")
    return t


def _check_probs(fn, name, p):
    outside = ~((p.data >= 0) & (p.data <= 1))
    if outside.any():
        raise ValueError(
            f"{fn}: {name} must be probabilities in [0, 1], found {p.data[outside][:5].tolist()} "
            f"(for logits use from_logits=True or binary_cross_entropy_with_logits)"
        )


def _as_weight(fn, name, w, shape=None):
    """A weight as a float64 array: finite, >= 0 and, if `shape` is given, broadcasting to it."""
    if w is None:
        return None
    w = w.data if isinstance(w, Tensor) else w
    try:
        arr = np.asarray(w, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{fn}: {name} must be a number or an array of numbers, got {type(w).__name__}") from None
    bad = ~(np.isfinite(arr) & (arr >= 0))
    if bad.any():
        raise ValueError(f"{fn}: {name} must be finite and non-negative, found {arr[bad][:5].tolist()}")
    if shape is not None:
        try:
            fits = np.broadcast_shapes(arr.shape, shape) == shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{fn}: {name} of shape {arr.shape} does not broadcast to the input's shape {shape}")
    return arr


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


def _check_number(fn, name, value, lo, hi=np.inf):
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{fn}: {name} must be a number, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise ValueError(f"{fn}: {name} must be a number in [{lo}, {hi}], got {value!r}")


def _check_alpha(fn, alpha):
    # None or a negative alpha switches alpha weighting off (as torchvision); above 1 is a mistake.
    if alpha is not None:
        _check_number(fn, "alpha", alpha, -np.inf, 1.0)


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# ---------------------------------------------------------------------------------------------
# The functions
# ---------------------------------------------------------------------------------------------


def binary_cross_entropy_with_logits(logits, target, weight=None, pos_weight=None, reduction="mean"):
    """Binary cross-entropy on logits (PyTorch's), finite for any logit. Per element, p = sigmoid(x):

        l = -w * (pw * y * log p + (1 - y) * log(1 - p))
          = w * ((1 - y) * x + (1 + (pw - 1) * y) * (log(1 + e^-|x|) + max(-x, 0)))

    logits: any shape, e.g. (N,) or (N, C). target: the same shape, in [0, 1] (soft labels allowed).
    weight (w): broadcasts to logits' shape. pos_weight (pw): broadcasts likewise, usually (C,), one
    per label on the last axis (pw = n_neg / n_pos balances a label; only positives are weighted).
    Returns a scalar ("mean" over all elements, "sum") or the per-element losses ("none").
    """
    fn = "binary_cross_entropy_with_logits"
    x = _as_input(fn, "logits", logits)
    y = _binary_target(fn, target, "logits", x.shape, soft=True)
    weight = _as_weight(fn, "weight", weight, x.shape)
    pos_weight = _as_weight(fn, "pos_weight", pos_weight, x.shape)
    _check_reduction(fn, reduction)
    positive = y if pos_weight is None else pos_weight * y
    loss = -(ops.LogSigmoid.apply(x) * positive + ops.LogSigmoid.apply(-x) * (1 - y))
    return _reduce(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy(probs, target, weight=None, reduction="mean"):
    """Binary cross-entropy on probabilities (PyTorch's): per element

        l = -w * (y * max(log p, -100) + (1 - y) * max(log(1 - p), -100))

    The clamp keeps p = 0 or 1 finite. probs: any shape, values in [0, 1] (else ValueError);
    target: the same shape, in [0, 1]; weight: broadcasts to probs' shape. Prefer
    `binary_cross_entropy_with_logits`: a sigmoid followed by this loses precision for large logits.
    """
    fn = "binary_cross_entropy"
    p = _as_input(fn, "probs", probs)
    y = _binary_target(fn, target, "probs", p.shape, soft=True)
    weight = _as_weight(fn, "weight", weight, p.shape)
    _check_reduction(fn, reduction)
    _check_probs(fn, "probs", p)
    loss = _BinaryCrossEntropy.apply(p, target=y)
    return _reduce(loss if weight is None else loss * weight, reduction)


def _class_indices(fn, t, shape):
    """Integer class indices of shape (N, d1, ...) for logits of shape (N, C, d1, ...)."""
    expected = shape[:1] + shape[2:]
    if t.shape != expected:
        raise ValueError(
            f"{fn}: target has shape {t.shape} but logits has shape {shape}: expected class indices "
            f"of shape {expected} or class probabilities of shape {shape}"
        )
    fractional = t != np.round(t)
    if fractional.any():
        raise ValueError(f"{fn}: class indices in target must be whole numbers, found {t[fractional][:5].tolist()}")
    bad = (t < 0) | (t >= shape[1])
    if bad.any():
        raise ValueError(
            f"{fn}: target holds class index {t[bad].flat[0]:g}, out of range for {shape[1]} classes "
            f"(valid: 0 to {shape[1] - 1})"
        )
    return t.astype(np.intp)


def cross_entropy(logits, target, weight=None, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy (PyTorch's), via a stable log_softmax over the class axis 1.

    logits: (N, C) or (N, C, d1, ...). target: class indices (N,) or (N, d1, ...) in [0, C)
    (whole-number floats are accepted, since tm.tensor([0, 2]) is float), or class probabilities
    of logits' shape. With q the one-hot target (or the given probabilities), eps = label_smoothing,
    q' = (1 - eps) q + eps / C and w the class weights (C,) (default all 1):

        l_i = -sum_c w_c q'_ic log softmax(x_i)_c

    "mean" is PyTorch's weighted mean sum_i l_i / sum_i w_(y_i) for class indices (the plain mean
    when weight is None) and sum_i l_i / N for probabilities; "sum"; "none" gives (N, d1, ...).
    """
    fn = "cross_entropy"
    x = _as_input(fn, "logits", logits)
    if x.ndim < 2:
        raise ValueError(f"{fn}: logits must have shape (N, C) or (N, C, d1, ...), got shape {x.shape}")
    n_classes = x.shape[1]
    if n_classes < 2:
        # PyTorch allows it, but softmax over one class is 1: the loss is 0 and nothing learns.
        raise ValueError(
            f"{fn}: logits has one class (shape {x.shape}), so the softmax is always 1 and the loss "
            f"always 0; a one-output binary model needs binary_cross_entropy_with_logits (BCEWithLogitsLoss)"
        )
    t = _as_target(fn, target)
    weight = _as_weight(fn, "weight", weight)
    if weight is not None and weight.shape != (n_classes,):
        raise ValueError(f"{fn}: weight must have one entry per class, shape ({n_classes},), got shape {weight.shape}")
    _check_reduction(fn, reduction)
    _check_number(fn, "label_smoothing", label_smoothing, 0.0, 1.0)

    index = None
    if t.shape == x.shape:
        q = t.astype(np.float64)
        outside = ~((q >= 0) & (q <= 1))
        if outside.any():
            raise ValueError(f"{fn}: class probabilities in target must be in [0, 1], found {q[outside][:5].tolist()}")
    else:
        index = _class_indices(fn, t, x.shape)
        q = np.moveaxis(np.eye(n_classes)[index], -1, 1)  # one-hot (N, d1.., C) -> (N, C, d1..)
    q = (1 - label_smoothing) * q + label_smoothing / n_classes
    w = np.ones(n_classes) if weight is None else weight
    w_q = q * w.reshape((n_classes,) + (1,) * (x.ndim - 2))
    loss = -(ops.LogSoftmax.apply(x, axis=1) * w_q).sum(axis=1)
    if reduction == "mean" and index is not None:
        total_weight = float(w[index].sum())
        if total_weight == 0:  # PyTorch returns nan here
            raise ValueError(f"{fn}: every target's class has weight 0, so the weighted mean is undefined")
        return loss.sum() / total_weight
    return _reduce(loss, reduction)


def weighted_binary_cross_entropy(input, target, pos_weights, neg_weights, from_logits=True, epsilon=1e-7,
                                  reduction="mean"):
    """The course's weighted loss for imbalanced labels. Per element, for label c:

        l = -(w_pos[c] * y * log p + w_neg[c] * (1 - y) * log(1 - p))

    from_logits=True: input are logits, log p = log sigmoid(x) and log(1 - p) = log sigmoid(-x)
    (stable, no epsilon). from_logits=False: input are probabilities and epsilon goes inside both
    logs, log(p + eps) and log(1 - p + eps), as in the course's grader.

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
    _check_number(fn, "epsilon", epsilon, 0.0)
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
    _check_alpha(fn, alpha)
    _check_number(fn, "gamma", gamma, 0.0)
    _check_reduction(fn, reduction)
    z = x * (2 * y - 1)                          # the logit of the true class: p_t = sigmoid(z)
    log_pt = ops.LogSigmoid.apply(z)
    modulating = (ops.LogSigmoid.apply(-z) * gamma).exp()  # (1 - p_t)^gamma, via log(1 - p_t)
    loss = -modulating * log_pt
    if alpha is not None and alpha >= 0:
        loss = loss * (alpha * y + (1 - alpha) * (1 - y))
    return _reduce(loss, reduction)
