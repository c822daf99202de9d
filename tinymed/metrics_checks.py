"""The rails of `metrics`: what y, scores and a threshold must be, checked once, where a metric
receives them (see `tinymed.metrics` for the conventions: labels 0/1, scores where higher means
"more likely positive", shapes (N,) or (N, C)).

Every check names the metric that called it (`caller`), what was expected and what came, e.g.
`roc_auc: only one class present in y (all 40 labels are negatives (0)); it needs both
positives and negatives`.
"""
import numpy as np


def _array(x, caller, name):
    """``x`` (a list, a NumPy array or a Tensor) as a NumPy array of numbers, (N,) or (N, C),
    not empty."""
    if hasattr(x, "numpy") and callable(x.numpy):
        x = x.numpy()
    try:
        arr = np.asarray(x)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{caller}: {name} must be a rectangular array ({err})") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{caller}: {name} must hold numbers, got dtype {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{caller}: {name} is empty (shape {arr.shape})")
    if arr.ndim not in (1, 2):
        raise ValueError(f"{caller}: {name} must have shape (N,) or (N, C), got shape {arr.shape}")
    return arr


def as_labels(y, caller):
    """``y`` as a bool array: 0 and 1 (or False and True) are the only labels."""
    y = _array(y, caller, "y")
    bad = np.unique(y[(y != 0) & (y != 1)])
    if bad.size:
        raise ValueError(f"{caller}: labels in y must be 0 or 1, got {bad[:5].tolist()}")
    return y.astype(bool)


def labels_and_scores(y, scores, caller, name="scores", one_label=False):
    """Labels as a bool array and scores as float64, of one shape: (N,) or (N, C)."""
    y, scores = as_labels(y, caller), _array(scores, caller, name)
    if len(y) != len(scores):
        raise ValueError(f"{caller}: y has {len(y)} entries but {name} has {len(scores)}")
    if y.shape != scores.shape:
        if y.size != scores.size:
            raise ValueError(f"{caller}: y has shape {y.shape} but {name} has {scores.shape}")
        y, scores = y.ravel(), scores.ravel()  # (N,) with (N, 1): one label
    if one_label and y.ndim != 1:
        raise ValueError(
            f"{caller}: expects one label, y and {name} of shape (N,), got {y.shape}; "
            f"call it on each column, e.g. y[:, c], {name}[:, c]"
        )
    scores = scores.astype(np.float64)
    if np.isnan(scores).any():
        where = tuple(np.argwhere(np.isnan(scores))[0].tolist())
        raise ValueError(f"{caller}: {name} contains NaN (first at index {where})")
    return y, scores


def as_threshold(threshold, scores, caller):
    """A number, or for (N, C) scores a sequence of C numbers (one threshold per label)."""
    t = None if isinstance(threshold, (str, bytes)) else np.asarray(threshold)
    if t is None or t.dtype.kind not in "iuf" or t.ndim > 1 or np.isnan(t).any():
        raise ValueError(f"{caller}: threshold must be a number, got {threshold!r}")
    if t.ndim == 1 and (scores.ndim != 2 or t.size != scores.shape[1]):
        n_labels = scores.shape[1] if scores.ndim == 2 else 1
        raise ValueError(
            f"{caller}: threshold has {t.size} entries but scores has {n_labels} label(s)"
        )
    return t.astype(np.float64)


def require_classes(y, caller, need_negatives=True):
    """Raise if a column of y has no positives or (when they are needed) no negatives."""
    y = y.reshape(len(y), -1)
    need = "both positives and negatives" if need_negatives else "at least one positive"
    for c, n_pos in enumerate(y.sum(axis=0)):
        if n_pos == 0 or (need_negatives and n_pos == len(y)):
            column = f" in column {c}" if y.shape[1] > 1 else ""
            only = "negatives (0)" if n_pos == 0 else "positives (1)"
            raise ValueError(f"{caller}: only one class present in y{column} (all {len(y)} "
                             f"labels are {only}); it needs {need}")
