"""The metrics that matter when a disease is rare.

With 1 mass in 100 X-rays, a model that always says "normal" is 99% accurate and finds no
disease. So we look at the confusion counts at a threshold (sensitivity, specificity, PPV, NPV),
at threshold-free rankings (ROC AUC, average precision), at how sure we are of them (a stratified
bootstrap interval) and at whether a probability of 0.8 means 80% (a calibration curve).

Plain NumPy: ``y`` and ``scores`` may be lists, NumPy arrays or anything with ``.numpy()``
(a tinymed Tensor). ``y`` holds labels 0/1 (or booleans); ``scores`` are probabilities or any
real-valued scores where higher means "more likely positive". Shapes are (N,) for one label or
(N, C) for C labels (multi-label chest X-rays): the metrics at a threshold, ``roc_auc``,
``average_precision`` and ``report`` then give one value per column; the curves, the bootstrap
and the threshold choosers take one label at a time. A (N,) with a (N, 1) is one label.

Undefined values: when a ratio's denominator is 0 (the PPV of a model that predicts no
positives, the sensitivity on data with no positives) the metric returns ``nan``, silently.
scikit-learn's ``zero_division`` default returns 0.0 with a warning instead; we prefer nan
because a PPV of 0.0 claims "every positive call was wrong", which is not what happened.
"""
from typing import NamedTuple

import numpy as np

from tinymed import validate
from tinymed.random import get_generator


# --- Checking inputs at the boundary -----------------------------------------------------------

def _array(x, caller, name):
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


def _labels(y, caller):
    y = _array(y, caller, "y")
    bad = np.unique(y[(y != 0) & (y != 1)])
    if bad.size:
        raise ValueError(f"{caller}: labels in y must be 0 or 1, got {bad[:5].tolist()}")
    return y.astype(bool)


def _pair(y, scores, caller, name="scores", one_label=False):
    """Labels as a bool array and scores as float64, of one shape: (N,) or (N, C)."""
    y, scores = _labels(y, caller), _array(scores, caller, name)
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


def _threshold(threshold, scores, caller):
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


def _require_classes(y, caller, need_negatives=True):
    """Raise if a column of y has no positives or (when they are needed) no negatives."""
    y = y.reshape(len(y), -1)
    need = "both positives and negatives" if need_negatives else "at least one positive"
    for c, n_pos in enumerate(y.sum(axis=0)):
        if n_pos == 0 or (need_negatives and n_pos == len(y)):
            column = f" in column {c}" if y.shape[1] > 1 else ""
            only = "negatives (0)" if n_pos == 0 else "positives (1)"
            raise ValueError(f"{caller}: only one class present in y{column} (all {len(y)} "
                             f"labels are {only}); it needs {need}")


# --- Metrics at a threshold --------------------------------------------------------------------

class ConfusionCounts(NamedTuple):
    """True/false positives/negatives: ints for (N,) input, int arrays of C for (N, C)."""

    tp: int | np.ndarray
    tn: int | np.ndarray
    fp: int | np.ndarray
    fn: int | np.ndarray


def _confusion(y, scores, threshold, caller):
    y, scores = _pair(y, scores, caller)
    predicted = scores >= _threshold(threshold, scores, caller)
    counts = [np.sum(y & predicted, axis=0), np.sum(~y & ~predicted, axis=0),
              np.sum(~y & predicted, axis=0), np.sum(y & ~predicted, axis=0)]
    if y.ndim == 1:
        counts = [int(c) for c in counts]
    return ConfusionCounts(*counts)


def _ratio(numerator, denominator):
    """numerator / denominator, nan where the denominator is 0 (and no warning)."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return float(out) if out.ndim == 0 else out


def confusion_counts(y, scores, threshold=0.5):
    """Count TP, TN, FP, FN, calling ``scores >= threshold`` positive.

    y, scores: (N,) -> a ConfusionCounts of ints; (N, C) -> of int arrays (C,). ``threshold`` is
    a number, or for (N, C) a sequence of C numbers. For logits rather than probabilities, the
    threshold matching probability 0.5 is 0.
    """
    return _confusion(y, scores, threshold, "confusion_counts")


def accuracy(y, scores, threshold=0.5):
    """(TP + TN) / N. Misleading when a class is rare: see ``sensitivity``."""
    c = _confusion(y, scores, threshold, "accuracy")
    return _ratio(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn)


def prevalence(y):
    """The fraction of positives, (number of 1s) / N; (N,) -> float, (N, C) -> (C,)."""
    y = _labels(y, "prevalence")
    return _ratio(y.sum(axis=0), len(y))


def sensitivity(y, scores, threshold=0.5):
    """TP / (TP + FN): the fraction of the sick that the model finds (recall, TPR).

    nan if y has no positives.
    """
    c = _confusion(y, scores, threshold, "sensitivity")
    return _ratio(c.tp, c.tp + c.fn)


def specificity(y, scores, threshold=0.5):
    """TN / (TN + FP): the fraction of the healthy that the model clears (TNR).

    nan if y has no negatives.
    """
    c = _confusion(y, scores, threshold, "specificity")
    return _ratio(c.tn, c.tn + c.fp)


def ppv(y, scores, threshold=0.5):
    """TP / (TP + FP): P(sick | positive call) (precision). nan if nothing is called positive."""
    c = _confusion(y, scores, threshold, "ppv")
    return _ratio(c.tp, c.tp + c.fp)


def npv(y, scores, threshold=0.5):
    """TN / (TN + FN): P(healthy | negative call). nan if nothing is called negative."""
    c = _confusion(y, scores, threshold, "npv")
    return _ratio(c.tn, c.tn + c.fn)


def f1(y, scores, threshold=0.5):
    """2 TP / (2 TP + FP + FN), the harmonic mean of PPV and sensitivity.

    nan when TP + FP + FN = 0 (no positives and none predicted); scikit-learn's f1_score gives
    0.0 with a warning there.
    """
    c = _confusion(y, scores, threshold, "f1")
    return _ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn)


# --- Curves and areas: every threshold at once -------------------------------------------------

def _counts_at_thresholds(y, scores):
    """TP and FP counts when each distinct score, highest first, is the threshold.

    y, scores: (N,) -> tps, fps, thresholds, each (T,) with T the number of distinct scores.
    Tied scores are one threshold: they cross it together.
    """
    order = np.argsort(scores, kind="stable")[::-1]
    scores, y = scores[order], y[order]
    last_of_each_value = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tps = np.cumsum(y)[last_of_each_value]
    fps = last_of_each_value + 1 - tps
    return tps, fps, scores[last_of_each_value]


def roc_curve(y, scores):
    """The ROC curve: false and true positive rates at every distinct score used as threshold.

    y, scores: (N,) -> fpr, tpr, thresholds, each (T + 1,) for T distinct scores. As scikit-learn's
    ``roc_curve(y, scores, drop_intermediate=False)``: thresholds decrease, the first is ``inf``
    (nothing positive, the point (0, 0)) and the last is the lowest score (the point (1, 1)).
    scikit-learn's default ``drop_intermediate=True`` also drops collinear points; we keep them all.
    One class only is a ValueError (scikit-learn warns and returns nan).
    """
    y, scores = _pair(y, scores, "roc_curve", one_label=True)
    _require_classes(y, "roc_curve")
    tps, fps, thresholds = _counts_at_thresholds(y, scores)
    return np.r_[0, fps] / fps[-1], np.r_[0, tps] / tps[-1], np.r_[np.inf, thresholds]


def roc_auc(y, scores):
    """Area under the ROC curve: P(a random positive scores above a random negative), ties half.

    By the Mann-Whitney U statistic, with R_i the rank of score i among all N (tied scores share
    their average rank):

        AUC = (sum of R_i over positives - n_pos (n_pos + 1) / 2) / (n_pos n_neg)

    which is O(N log N) and equals the trapezoidal area under ``roc_curve`` and scikit-learn's
    ``roc_auc_score``. (N,) -> float; (N, C) -> (C,), one AUC per column (scikit-learn's
    ``average=None``). A column with one class only is a ValueError naming it.
    """
    y, scores = _pair(y, scores, "roc_auc")
    _require_classes(y, "roc_auc")
    y2, s2 = y.reshape(len(y), -1), scores.reshape(len(y), -1)
    n_pos = y2.sum(axis=0)
    n_neg = len(y2) - n_pos
    from scipy.stats import rankdata  # imported here: scipy.stats takes half a second to import

    rank_sum_pos = np.sum(rankdata(s2, axis=0) * y2, axis=0)
    auc = (rank_sum_pos - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return float(auc[0]) if y.ndim == 1 else auc


def precision_recall_curve(y, scores):
    """Precision and recall at every distinct score used as threshold.

    y, scores: (N,) -> precision (T + 1,), recall (T + 1,), thresholds (T,), exactly as
    scikit-learn's ``precision_recall_curve``: thresholds increase, and a last point
    precision = 1, recall = 0 (no threshold) is appended. Needs at least one positive
    (scikit-learn warns and sets recall to 1 instead).
    """
    y, scores = _pair(y, scores, "precision_recall_curve", one_label=True)
    _require_classes(y, "precision_recall_curve", need_negatives=False)
    tps, fps, thresholds = _counts_at_thresholds(y, scores)
    precision, recall = tps / (tps + fps), tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def average_precision(y, scores):
    """Average precision: AP = sum over thresholds n, highest first, of (R_n - R_{n-1}) P_n.

    P_n and R_n are the precision and recall at the n-th distinct score, with R_0 = 0: the mean
    of the precision over the recall steps, without the trapezoidal interpolation that
    over-estimates it; exactly scikit-learn's ``average_precision_score``. A random ranking scores
    about the prevalence. (N,) -> float; (N, C) -> (C,). A column with no positives is a ValueError.
    """
    y, scores = _pair(y, scores, "average_precision")
    _require_classes(y, "average_precision", need_negatives=False)
    y2, s2 = y.reshape(len(y), -1), scores.reshape(len(y), -1)
    ap = np.empty(y2.shape[1])
    for c in range(y2.shape[1]):
        tps, fps, _ = _counts_at_thresholds(y2[:, c], s2[:, c])
        recall = tps / tps[-1]
        ap[c] = np.sum(np.diff(recall, prepend=0.0) * tps / (tps + fps))
    return float(ap[0]) if y.ndim == 1 else ap


# --- Uncertainty and calibration ---------------------------------------------------------------

class BootstrapCI(NamedTuple):
    """A metric's value on the data and a bootstrap confidence interval around it."""

    estimate: float
    low: float
    high: float

    def __str__(self):
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}]"


def bootstrap_ci(metric, y, scores, n_bootstraps=1000, level=0.95, seed=None):
    """A percentile bootstrap confidence interval for ``metric(y, scores)``.

    Each of the ``n_bootstraps`` resamples draws, with replacement, n_pos examples among the
    positives and n_neg among the negatives (stratified), so every resample keeps the class
    counts and metrics such as the AUC stay defined. The interval is the (1 - level)/2 and
    (1 + level)/2 quantiles of the resampled values. y, scores: (N,) (one label; call it per
    column for several). ``metric`` is any function (y, scores) -> number, e.g. ``roc_auc``,
    or ``lambda y, s: sensitivity(y, s, threshold=0.3)``. Resamples where the metric is nan
    (e.g. PPV with no positive calls) are left out of the quantiles. ``seed``: int, Generator or
    None (see tinymed.random). Returns BootstrapCI(estimate, low, high), where estimate is the
    metric on the data as given.
    """
    if not callable(metric):
        raise TypeError(f"bootstrap_ci: metric must be a function (y, scores) -> number, "
                        f"got {metric!r}")
    y, scores = _pair(y, scores, "bootstrap_ci", one_label=True)
    _require_classes(y, "bootstrap_ci")
    validate.integer(n_bootstraps, "bootstrap_ci: n_bootstraps", min=1)
    validate.real(level, "bootstrap_ci: level (e.g. 0.95)", above=0, below=1)
    rng = get_generator(seed, name="bootstrap_ci: seed")

    labels = y.astype(np.int64)
    positives, negatives = np.flatnonzero(y), np.flatnonzero(~y)

    def evaluate(index):
        value = np.asarray(metric(labels[index], scores[index]), dtype=np.float64)
        if value.ndim != 0:
            raise ValueError(f"bootstrap_ci: metric must return one number, got {value.shape}")
        return float(value)

    estimate = evaluate(np.arange(len(y)))
    values = np.empty(n_bootstraps)
    for b in range(n_bootstraps):
        index = np.r_[rng.choice(positives, len(positives)), rng.choice(negatives, len(negatives))]
        values[b] = evaluate(index)
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise ValueError("bootstrap_ci: the metric was nan on every resample")
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return BootstrapCI(estimate, float(low), float(high))


def calibration_curve(y, probs, n_bins=10):
    """Reliability diagram: in each probability bin, the observed fraction of positives.

    y, probs: (N,), probs in [0, 1]. The bins are n_bins equal widths over [0, 1], closed on the
    right like scikit-learn's: (0.1, 0.2], with 0 in the first. Empty bins are dropped. Returns
    prob_true (B,) (fraction of positives in each non-empty bin), prob_pred (B,) (mean
    probability there; prob_true == prob_pred for a calibrated model) and counts (B,) (examples
    per bin); the first two equal scikit-learn's ``calibration_curve(strategy="uniform")``.
    """
    y, probs = _pair(y, probs, "calibration_curve", name="probs", one_label=True)
    if probs.min() < 0 or probs.max() > 1:
        raise ValueError(
            f"calibration_curve: probs must be in [0, 1], got values from {probs.min()} to "
            f"{probs.max()} (pass probabilities, e.g. sigmoid of logits)"
        )
    validate.integer(n_bins, "calibration_curve: n_bins", min=1)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bin_of = np.searchsorted(edges[1:-1], probs)
    counts = np.bincount(bin_of, minlength=n_bins)
    positives = np.bincount(bin_of, weights=y, minlength=n_bins)
    prob_sums = np.bincount(bin_of, weights=probs, minlength=n_bins)
    kept = counts > 0
    return positives[kept] / counts[kept], prob_sums[kept] / counts[kept], counts[kept]


# --- Choosing a threshold, and a report --------------------------------------------------------

def youden_threshold(y, scores):
    """The threshold maximising Youden's J = sensitivity + specificity - 1 (= TPR - FPR).

    y, scores: (N,) -> a float, one of the scores; predict positive when score >= it. Among
    equally good thresholds the highest is returned.
    """
    y, scores = _pair(y, scores, "youden_threshold", one_label=True)
    _require_classes(y, "youden_threshold")
    tps, fps, thresholds = _counts_at_thresholds(y, scores)
    # J * n_pos * n_neg in integers, so that equally good thresholds tie exactly.
    return float(thresholds[np.argmax(tps * fps[-1] - fps * tps[-1])])


def threshold_for_sensitivity(y, scores, target):
    """The highest threshold whose sensitivity is at least ``target`` (a screening test's choice).

    y, scores: (N,) -> a float, one of the scores; predict positive when score >= it.
    target in (0, 1]. A higher threshold keeps more specificity, so the highest is the best.
    """
    validate.real(target, "threshold_for_sensitivity: target", above=0, max=1)
    y, scores = _pair(y, scores, "threshold_for_sensitivity", one_label=True)
    _require_classes(y, "threshold_for_sensitivity", need_negatives=False)
    tps, _, thresholds = _counts_at_thresholds(y, scores)
    # tps / n_pos only grows as the threshold falls, so the first that reaches target is highest.
    return float(thresholds[np.argmax(tps >= target * tps[-1])])


def report(y, scores, names=None, threshold=0.5):
    """A plain-text table, one row per label: N, prevalence, AUC and the metrics at the threshold.

    y, scores: (N,) or (N, C); ``names``: C label names (default "label 0", "label 1", ...);
    ``threshold``: a number, or C numbers (then shown as a column). n/a marks an undefined value:
    the AUC of a column with one class, a ratio whose denominator is 0.
    """
    y, scores = _pair(y, scores, "report")
    t = _threshold(threshold, scores, "report")
    y2, s2 = y.reshape(len(y), -1), scores.reshape(len(y), -1)
    n_labels = y2.shape[1]
    if names is None:
        names = ["label"] if y.ndim == 1 else [f"label {c}" for c in range(n_labels)]
    names = [names] if isinstance(names, str) else list(names)
    if len(names) != n_labels:
        raise ValueError(f"report: names has {len(names)} entries but there are {n_labels} labels")

    c = confusion_counts(y2, s2, np.broadcast_to(t, (n_labels,)))
    both = (c.tp + c.fn > 0) & (c.tn + c.fp > 0)
    auc = np.full(n_labels, np.nan)
    if both.any():
        auc[both] = roc_auc(y2[:, both], s2[:, both])
    columns = {
        "prevalence": _ratio(c.tp + c.fn, len(y2)), "AUC": auc,
        "sensitivity": _ratio(c.tp, c.tp + c.fn), "specificity": _ratio(c.tn, c.tn + c.fp),
        "PPV": _ratio(c.tp, c.tp + c.fp), "NPV": _ratio(c.tn, c.tn + c.fn),
    }
    if t.ndim == 1:
        columns = {"threshold": t, **columns}
    table = [["label", "N", *columns]]
    for i, name in enumerate(names):
        values = ("n/a" if np.isnan(v[i]) else f"{v[i]:.3f}" for v in columns.values())
        table.append([str(name), str(len(y2)), *values])
    widths = [max(len(row[j]) for row in table) for j in range(len(table[0]))]
    # Names to the left, numbers to the right so that their decimal points line up.
    lines = ["  ".join([row[0].ljust(widths[0])]
                       + [x.rjust(w) for x, w in zip(row[1:], widths[1:])])
             for row in table]
    lines.insert(1, "-" * len(lines[0]))
    if t.ndim == 0:
        lines.append(f"(a score >= {float(t):g} counts as positive)")
    return "\n".join(lines)
