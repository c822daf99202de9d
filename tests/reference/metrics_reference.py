"""Slow metrics by their definitions, in plain Python loops, to check tinymed.metrics against."""


def confusion_counts(y, scores, threshold):
    tp = tn = fp = fn = 0
    for label, score in zip(y, scores):
        predicted = score >= threshold
        if label == 1 and predicted:
            tp += 1
        elif label == 0 and not predicted:
            tn += 1
        elif label == 0 and predicted:
            fp += 1
        else:
            fn += 1
    return tp, tn, fp, fn


def pairwise_auc(y, scores):
    """P(score of a positive > score of a negative) over all pairs, a tie counting half."""
    positives = [s for label, s in zip(y, scores) if label == 1]
    negatives = [s for label, s in zip(y, scores) if label == 0]
    wins = 0.0
    for p in positives:
        for n in negatives:
            if p > n:
                wins += 1.0
            elif p == n:
                wins += 0.5
    return wins / (len(positives) * len(negatives))


def roc_points(y, scores):
    """(fpr, tpr) when each distinct score, highest first, is the threshold (score >= t)."""
    n_pos = sum(1 for label in y if label == 1)
    n_neg = len(y) - n_pos
    points = [(0.0, 0.0)]
    for t in sorted(set(scores), reverse=True):
        tp, _, fp, _ = confusion_counts(y, scores, t)
        points.append((fp / n_neg, tp / n_pos))
    return points


def trapezoid_area(points):
    return sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in zip(points, points[1:]))


def average_precision(y, scores):
    """sum over distinct thresholds t, highest first, of (recall(t) - previous recall) * precision(t)."""
    n_pos = sum(1 for label in y if label == 1)
    ap, previous_recall = 0.0, 0.0
    for t in sorted(set(scores), reverse=True):
        tp, _, fp, _ = confusion_counts(y, scores, t)
        recall, precision = tp / n_pos, tp / (tp + fp)
        ap += (recall - previous_recall) * precision
        previous_recall = recall
    return ap


def calibration_bins(y, probs, n_bins):
    """(fraction of positives, mean prob, count) of each non-empty bin (k/n, (k+1)/n], 0 in the first."""
    bins = [[] for _ in range(n_bins)]
    for label, p in zip(y, probs):
        k = 0
        while k < n_bins - 1 and p > (k + 1) / n_bins:
            k += 1
        bins[k].append((label, p))
    return [
        (sum(label for label, _ in b) / len(b), sum(p for _, p in b) / len(b), len(b))
        for b in bins
        if b
    ]


def quantile(values, q):
    """The q-quantile of `values` by linear interpolation between the sorted values (NumPy's default):
    position h = (n - 1) q, between the floor(h)-th and the next, in proportion."""
    ordered = sorted(values)
    h = (len(ordered) - 1) * q
    below = int(h)
    if below + 1 == len(ordered):
        return ordered[below]
    return ordered[below] + (h - below) * (ordered[below + 1] - ordered[below])


def bootstrap_auc(y, scores, n_bootstraps, level, rng):
    """(estimate, low, high) of the stratified percentile bootstrap of the pairwise AUC.

    Each resample draws, with `rng.choice` (the same calls as tinymed's, so that one seed gives the
    same resamples), as many indices among the positives, then among the negatives, as there are.
    """
    positives = [i for i, label in enumerate(y) if label == 1]
    negatives = [i for i, label in enumerate(y) if label == 0]
    values = []
    for _ in range(n_bootstraps):
        index = list(rng.choice(positives, len(positives))) + list(rng.choice(negatives, len(negatives)))
        values.append(pairwise_auc([y[i] for i in index], [scores[i] for i in index]))
    return pairwise_auc(y, scores), quantile(values, (1 - level) / 2), quantile(values, (1 + level) / 2)
