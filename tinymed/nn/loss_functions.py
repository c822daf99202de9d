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

Targets and weights are constants: no gradient flows to them.
`binary_cross_entropy[_with_logits]` take soft labels in [0, 1], as PyTorch does; unlike
PyTorch, targets outside [0, 1] raise a ValueError. The course's losses for imbalanced labels
(`weighted_binary_cross_entropy`, `focal_loss`) are in `tinymed.nn.weighted_losses`.
"""
import numpy as np

from tinymed import ops, validate
from tinymed.autograd import Function, Tensor

__all__ = [
    "binary_cross_entropy_with_logits", "binary_cross_entropy", "cross_entropy", "nll_loss",
    "mse_loss", "l1_loss",
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
    return validate.one_of(reduction, f"{fn}: reduction", allowed)


def _as_input(fn, name, x):
    """The prediction as a non-empty float Tensor (a NumPy array becomes a constant tensor of its
    dtype). Empty is refused: the mean of no losses is nan, and an empty batch is a bug upstream."""
    if not isinstance(x, Tensor):
        try:
            x = Tensor(x)
        except TypeError:
            raise TypeError(f"{fn}: {name} must be a Tensor or an array of floats, got {type(x).__name__}") from None
    if x.dtype.kind != "f":
        raise TypeError(f"{fn}: {name} must be a float tensor, got dtype {x.dtype}")
    return validate.not_empty(x, f"{fn}: {name}")


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


def _class_indices(fn, t, shape, ignore_index):
    """Class indices (N, d1, ...) for logits of shape (N, C, d1, ...) -> (index, keep): the
    indices as ints (0 where ignored) and the mask of targets that count (!= ignore_index)."""
    expected = shape[:1] + shape[2:]
    if t.shape != expected:
        raise ValueError(
            f"{fn}: target has shape {t.shape} but logits has shape {shape}: expected class indices "
            f"of shape {expected} or class probabilities of shape {shape}"
        )
    fractional = t != np.round(t)
    if fractional.any():
        raise ValueError(f"{fn}: class indices in target must be whole numbers, found {t[fractional][:5].tolist()}")
    keep = t != ignore_index
    bad = keep & ((t < 0) | (t >= shape[1]))
    if bad.any():
        raise ValueError(
            f"{fn}: target holds class index {t[bad].flat[0]:g}, out of range for {shape[1]} classes "
            f"(valid: 0 to {shape[1] - 1}, or ignore_index={ignore_index})"
        )
    return np.where(keep, t, 0).astype(np.intp), keep


def _class_inputs(fn, name, x, target, weight, ignore_index, reduction):
    """The checks cross_entropy and nll_loss share -> (x, target array, class weights (C,))."""
    x = _as_input(fn, name, x)
    if x.ndim < 2:
        raise ValueError(f"{fn}: {name} must have shape (N, C) or (N, C, d1, ...), got shape {x.shape}")
    weight = _as_weight(fn, "weight", weight)
    if weight is not None and weight.shape != (x.shape[1],):
        raise ValueError(f"{fn}: weight must have one entry per class, shape ({x.shape[1]},), got shape {weight.shape}")
    validate.integer(ignore_index, f"{fn}: ignore_index")
    _check_reduction(fn, reduction)
    return x, _as_target(fn, target), np.ones(x.shape[1]) if weight is None else weight


def _one_hot(index, n_classes):
    """(N, d1, ...) ints -> (N, C, d1, ...) float64 one-hot."""
    return np.moveaxis(np.eye(n_classes)[index], -1, 1)


def _class_weighted_mean(fn, loss, w, index, keep):
    """PyTorch's "mean" for class indices: sum_i l_i / sum_i w_(y_i), over the targets kept."""
    total_weight = float(w[index][keep].sum())
    if total_weight == 0:  # PyTorch returns nan here
        raise ValueError(f"{fn}: every target is ignored or its class has weight 0, so the weighted mean is undefined")
    return loss.sum() / total_weight


def cross_entropy(logits, target, weight=None, reduction="mean", label_smoothing=0.0, ignore_index=-100):
    """Softmax cross-entropy (PyTorch's), via a stable log_softmax over the class axis 1.

    logits: (N, C) or (N, C, d1, ...). target: class indices (N,) or (N, d1, ...) in [0, C)
    (whole-number floats are accepted), or class probabilities of logits' shape. With q the
    one-hot target (or the given probabilities), eps = label_smoothing, q' = (1 - eps) q + eps / C
    and w the class weights (C,) (default all 1):

        l_i = -sum_c w_c q'_ic log softmax(x_i)_c

    Targets equal to `ignore_index` (class indices only) count for nothing: l_i = 0.
    "mean" is PyTorch's weighted mean sum_i l_i / sum_i w_(y_i) over the targets not ignored, for
    class indices (the plain mean when weight is None), and sum_i l_i / N for probabilities;
    "sum"; "none" gives (N, d1, ...). Composed from log_softmax (a Function) and tensor ops.
    """
    fn = "cross_entropy"
    x, t, w = _class_inputs(fn, "logits", logits, target, weight, ignore_index, reduction)
    n_classes = x.shape[1]
    if n_classes < 2:
        # PyTorch allows it, but softmax over one class is 1: the loss is 0 and nothing learns.
        raise ValueError(
            f"{fn}: logits has one class (shape {x.shape}), so the softmax is always 1 and the loss "
            f"always 0; a one-output binary model needs binary_cross_entropy_with_logits (BCEWithLogitsLoss)"
        )
    label_smoothing = validate.probability(label_smoothing, f"{fn}: label_smoothing")
    if t.shape == x.shape:
        q = t.astype(np.float64)
        outside = ~((q >= 0) & (q <= 1))
        if outside.any():
            raise ValueError(f"{fn}: class probabilities in target must be in [0, 1], found {q[outside][:5].tolist()}")
        keep = None
    else:
        index, keep = _class_indices(fn, t, x.shape, ignore_index)
        q = _one_hot(index, n_classes)
    q = (1 - label_smoothing) * q + label_smoothing / n_classes
    w_q = q * w.reshape((n_classes,) + (1,) * (x.ndim - 2))
    if keep is not None:
        w_q = w_q * np.expand_dims(keep, 1)
    loss = -(ops.LogSoftmax.apply(x, axis=1) * w_q).sum(axis=1)
    if reduction == "mean" and keep is not None:
        return _class_weighted_mean(fn, loss, w, index, keep)
    return _reduce(loss, reduction)


def nll_loss(input, target, weight=None, reduction="mean", ignore_index=-100):
    """Negative log-likelihood (PyTorch's): input are log-probabilities (N, C) or (N, C, d1, ...),
    e.g. from log_softmax; target class indices (N,) or (N, d1, ...):

        l_i = -w_(y_i) * input[i, y_i]        (0 where y_i == ignore_index)

    nll_loss(log_softmax(x, 1), y) is cross_entropy(x, y). Reductions as cross_entropy's.
    Composed: picking input[i, y_i] is a product with the one-hot target, summed over classes.
    """
    fn = "nll_loss"
    x, t, w = _class_inputs(fn, "input", input, target, weight, ignore_index, reduction)
    index, keep = _class_indices(fn, t, x.shape, ignore_index)
    picked = _one_hot(index, x.shape[1]) * np.expand_dims(w[index] * keep, 1)
    loss = -(x * picked).sum(axis=1)
    if reduction == "mean":
        return _class_weighted_mean(fn, loss, w, index, keep)
    return _reduce(loss, reduction)


def _regression_inputs(fn, input, target, reduction):
    x = _as_input(fn, "input", input)
    t = _as_target(fn, target)
    if t.shape != x.shape:
        raise ValueError(f"{fn}: target has shape {t.shape} but input has shape {x.shape} (PyTorch would broadcast them, with a warning)")
    _check_reduction(fn, reduction)
    return x, t


def mse_loss(input, target, reduction="mean"):
    """Mean squared error (PyTorch's): l = (x - y)^2 per element, any shape, target the same
    shape. Composed: autograd derives dl/dx = 2 (x - y). The target is a constant here."""
    x, t = _regression_inputs("mse_loss", input, target, reduction)
    diff = x - t
    return _reduce(diff * diff, reduction)


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error (PyTorch's): l = |x - y| per element, any shape, target the same
    shape. Composed: dl/dx = sign(x - y) (0 where x == y, as PyTorch). The target is a constant."""
    x, t = _regression_inputs("l1_loss", input, target, reduction)
    return _reduce((x - t).abs(), reduction)
