"""Losses by their textbook formulas, one element at a time with `math`, to check tinymed.nn.losses.

Written for moderate inputs (|logit| below ~30): sigmoid first, then logs, exactly as the
formulas read, with no stability tricks.
"""
import math


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def reduce(losses, reduction):
    """losses: a flat list of per-element losses."""
    if reduction == "mean":
        return sum(losses) / len(losses)
    if reduction == "sum":
        return sum(losses)
    return losses


def bce_with_logits(x, y, weight, pos_weight, reduction):
    """x, y, weight, pos_weight: lists of rows (N x C), weight/pos_weight already full size."""
    losses = []
    for xr, yr, wr, pr in zip(x, y, weight, pos_weight):
        for xi, yi, wi, pi in zip(xr, yr, wr, pr):
            p = sigmoid(xi)
            losses.append(-wi * (pi * yi * math.log(p) + (1 - yi) * math.log(1 - p)))
    return reduce(losses, reduction)


def bce(p, y, reduction):
    """p, y: flat lists; each log clamped at -100."""
    losses = []
    for pi, yi in zip(p, y):
        log_p = max(math.log(pi), -100.0) if pi > 0 else -100.0
        log_q = max(math.log(1 - pi), -100.0) if pi < 1 else -100.0
        losses.append(-(yi * log_p + (1 - yi) * log_q))
    return reduce(losses, reduction)


def cross_entropy(x, t, weight, label_smoothing, reduction):
    """x: N rows of C logits; t: N class indices; weight: C floats."""
    losses, total_weight = [], 0.0
    for row, target in zip(x, t):
        c = len(row)
        log_z = math.log(sum(math.exp(v) for v in row))
        log_probs = [v - log_z for v in row]
        nll = -weight[target] * log_probs[target]
        smooth = -sum(w * lp for w, lp in zip(weight, log_probs))
        losses.append((1 - label_smoothing) * nll + label_smoothing / c * smooth)
        total_weight += weight[target]
    if reduction == "mean":
        return sum(losses) / total_weight
    return reduce(losses, reduction)


def weighted_bce(values, y, pos_weights, neg_weights, from_logits, epsilon, reduction):
    """values (logits or probabilities), y: N rows of C; pos_weights, neg_weights: C floats."""
    n, c = len(values), len(values[0])
    table = [[0.0] * c for _ in range(n)]
    for i in range(n):
        for j in range(c):
            if from_logits:
                p = sigmoid(values[i][j])
                log_p, log_q = math.log(p), math.log(1 - p)
            else:
                log_p, log_q = math.log(values[i][j] + epsilon), math.log(1 - values[i][j] + epsilon)
            table[i][j] = -(pos_weights[j] * y[i][j] * log_p + neg_weights[j] * (1 - y[i][j]) * log_q)
    if reduction == "class_sum":
        return sum(sum(table[i][j] for i in range(n)) / n for j in range(c))
    return reduce([v for row in table for v in row], reduction)


def focal(x, y, alpha, gamma, reduction):
    """x, y: flat lists; alpha None for no alpha weighting."""
    losses = []
    for xi, yi in zip(x, y):
        p = sigmoid(xi)
        p_t = p if yi == 1 else 1 - p
        alpha_t = 1.0 if alpha is None else (alpha if yi == 1 else 1 - alpha)
        losses.append(-alpha_t * (1 - p_t) ** gamma * math.log(p_t))
    return reduce(losses, reduction)


def nll(log_probs, target, weight, ignore_index, reduction):
    """Negative log-likelihood of (N, C) log-probabilities, one sample at a time."""
    losses, total = [], 0.0
    for row, y in zip(log_probs, target):
        if y == ignore_index:
            losses.append(0.0)
            continue
        losses.append(-weight[int(y)] * float(row[int(y)]))
        total += weight[int(y)]
    if reduction == "none":
        return losses
    return sum(losses) / total if reduction == "mean" else sum(losses)
