"""The metrics of `tinymed.metrics` that take every threshold at once: the ROC and
precision-recall curves, the areas under them (ROC AUC, average precision), the thresholds read
off them (Youden's J, a target sensitivity), and the calibration curve of probabilities.

All of them are importable from `tinymed.metrics`, whose docstring gives the conventions: ``y``
labels 0/1, ``scores`` where higher means "more likely positive", (N,) for one label; ``roc_auc``
and ``average_precision`` also take (N, C) and give one value per column.
"""
import numpy as np

from tinymed import validate
from tinymed.metrics_checks import labels_and_scores, require_classes

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
    y, scores = labels_and_scores(y, scores, "roc_curve", one_label=True)
    require_classes(y, "roc_curve")
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
    y, scores = labels_and_scores(y, scores, "roc_auc")
    require_classes(y, "roc_auc")
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
    y, scores = labels_and_scores(y, scores, "precision_recall_curve", one_label=True)
    require_classes(y, "precision_recall_curve", need_negatives=False)
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
    y, scores = labels_and_scores(y, scores, "average_precision")
    require_classes(y, "average_precision", need_negatives=False)
    y2, s2 = y.reshape(len(y), -1), scores.reshape(len(y), -1)
    ap = np.empty(y2.shape[1])
    for c in range(y2.shape[1]):
        tps, fps, _ = _counts_at_thresholds(y2[:, c], s2[:, c])
        recall = tps / tps[-1]
        ap[c] = np.sum(np.diff(recall, prepend=0.0) * tps / (tps + fps))
    return float(ap[0]) if y.ndim == 1 else ap


# --- Choosing a threshold ----------------------------------------------------------------------

def youden_threshold(y, scores):
    """The threshold maximising Youden's J = sensitivity + specificity - 1 (= TPR - FPR).

    y, scores: (N,) -> a float, one of the scores; predict positive when score >= it. Among
    equally good thresholds the highest is returned.
    """
    y, scores = labels_and_scores(y, scores, "youden_threshold", one_label=True)
    require_classes(y, "youden_threshold")
    tps, fps, thresholds = _counts_at_thresholds(y, scores)
    # J * n_pos * n_neg in integers, so that equally good thresholds tie exactly.
    return float(thresholds[np.argmax(tps * fps[-1] - fps * tps[-1])])


def threshold_for_sensitivity(y, scores, target):
    """The highest threshold whose sensitivity is at least ``target`` (a screening test's choice).

    y, scores: (N,) -> a float, one of the scores; predict positive when score >= it.
    target in (0, 1]. A higher threshold keeps more specificity, so the highest is the best.
    """
    validate.real(target, "threshold_for_sensitivity: target", above=0, max=1)
    y, scores = labels_and_scores(y, scores, "threshold_for_sensitivity", one_label=True)
    require_classes(y, "threshold_for_sensitivity", need_negatives=False)
    tps, _, thresholds = _counts_at_thresholds(y, scores)
    # tps / n_pos only grows as the threshold falls, so the first that reaches target is highest.
    return float(thresholds[np.argmax(tps >= target * tps[-1])])


# --- Calibration: does a probability of 0.8 mean 80%? -----------------------------------------

def calibration_curve(y, probs, n_bins=10):
    """Reliability diagram: in each probability bin, the observed fraction of positives.

    y, probs: (N,), probs in [0, 1]. The bins are n_bins equal widths over [0, 1], closed on the
    right like scikit-learn's: (0.1, 0.2], with 0 in the first. Empty bins are dropped. Returns
    prob_true (B,) (fraction of positives in each non-empty bin), prob_pred (B,) (mean
    probability there; prob_true == prob_pred for a calibrated model) and counts (B,) (examples
    per bin); the first two equal scikit-learn's ``calibration_curve(strategy="uniform")``.
    """
    y, probs = labels_and_scores(y, probs, "calibration_curve", name="probs", one_label=True)
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
