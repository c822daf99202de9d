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

Here: the metrics at a threshold, the bootstrap interval and the report. The curves that take
every threshold at once (ROC, precision-recall, calibration), their areas and the thresholds
read off them are in ``metrics_curves.py``; the input checks in ``metrics_checks.py``. Every
name is importable from here: ``metrics.roc_auc``.
"""
from typing import NamedTuple

import numpy as np

from tinymed import validate
from tinymed.metrics_checks import as_labels, as_threshold, labels_and_scores, require_classes
# the curves, their areas and the thresholds read off them: tinymed.metrics.roc_auc, as before
from tinymed.metrics_curves import (  # noqa: F401
    average_precision, calibration_curve, precision_recall_curve, roc_auc, roc_curve, threshold_for_sensitivity,
    youden_threshold,
)
from tinymed.random import get_generator


# --- Metrics at a threshold --------------------------------------------------------------------

class ConfusionCounts(NamedTuple):
    """True/false positives/negatives: ints for (N,) input, int arrays of C for (N, C)."""

    tp: int | np.ndarray
    tn: int | np.ndarray
    fp: int | np.ndarray
    fn: int | np.ndarray


def _confusion(y, scores, threshold, caller):
    y, scores = labels_and_scores(y, scores, caller)
    predicted = scores >= as_threshold(threshold, scores, caller)
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
    y = as_labels(y, "prevalence")
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


# --- How sure we are: a bootstrap interval around any metric -----------------------------------

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
    y, scores = labels_and_scores(y, scores, "bootstrap_ci", one_label=True)
    require_classes(y, "bootstrap_ci")
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


# --- A report ----------------------------------------------------------------------------------

def report(y, scores, names=None, threshold=0.5):
    """A plain-text table, one row per label: N, prevalence, AUC and the metrics at the threshold.

    y, scores: (N,) or (N, C); ``names``: C label names (default "label 0", "label 1", ...);
    ``threshold``: a number, or C numbers (then shown as a column). n/a marks an undefined value:
    the AUC of a column with one class, a ratio whose denominator is 0.
    """
    y, scores = labels_and_scores(y, scores, "report")
    t = as_threshold(threshold, scores, "report")
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
