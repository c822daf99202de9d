"""Assignment 4, after tutorial 04 (resampling): random over- and undersampling, and a sampler
of balanced batches.

The data sets are built so that the answer can be read off the output: column 0 of X is each
sample's index and column 1 its label, so the grader sees which samples were kept or copied and
that rows stayed with their labels, whatever random numbers the student drew.
"""
import numpy as np

from tinymed.homework.judge import equal
from tinymed.homework.spec import Assignment, Check, Exercise, notebook_path


def data(counts):
    """X (N, 2) = [index, label], y (N,): `counts[k]` samples of class k, classes interleaved."""
    y = np.concatenate([np.full(n, k) for k, n in enumerate(counts)])
    y = y[np.random.default_rng(len(y)).permutation(len(y))]
    return np.stack([np.arange(len(y)), y], axis=1).astype(float), y


def resampled(ns, name, counts, seed=0):
    X, y = data(counts)
    X_res, y_res = ns[name](X, y, seed=seed)
    return [np.asarray(X_res), np.asarray(y_res)]


def describe(counts):
    return "classes of " + ", ".join(str(n) for n in counts) + " samples"


def balanced(counts, target, what):
    """The message if the resampled labels do not hold `target` samples of every class."""
    def judge(got):
        X_res, y_res = got
        context = describe(counts)
        if X_res.ndim != 2 or len(X_res) != len(y_res):
            return f"X_res ({X_res.shape}) and y_res ({y_res.shape}) should have one row per sample ({context})"
        for k in range(len(counts)):
            n = int(np.sum(y_res == k))
            if n != target:
                return f"class {k} has {n} samples after {what} but every class should have {target} ({context})"
        if not np.array_equal(X_res[:, 1], y_res):
            return f"some rows of X_res no longer sit with their labels in y_res: index X and y together ({context})"
        return None
    return judge


def keeps_all(counts):
    def judge(got):
        kept = set(np.asarray(got[0])[:, 0].astype(int).tolist())
        missing = sorted(set(range(sum(counts))) - kept)
        return (f"sample {missing[0]} is missing after oversampling: keep every sample once, then add copies "
                f"({describe(counts)})") if missing else None
    return judge


def with_replacement(counts):
    def judge(got):
        ids, copies = np.unique(np.asarray(got[0])[:, 0].astype(int), return_counts=True)
        if copies.max() >= 3:
            return None
        extra = max(counts) - min(counts)
        return (f"none of the {extra} extra copies of the minority class repeats a sample twice, which drawing with "
                f"replacement does almost surely here ({describe(counts)}): oversampling draws WITH replacement, "
                f"`rng.choice(members, size=extra, replace=True)`")
    return judge


def reproducible(name, counts):
    def run(ns):
        return [resampled(ns, name, counts, 0)[0], resampled(ns, name, counts, 0)[0], resampled(ns, name, counts, 1)[0]]

    def judge(got):
        if not np.array_equal(got[0], got[1]):
            return (f"two calls with seed=0 gave different results: draw from np.random.default_rng(seed) "
                    f"({describe(counts)})")
        if np.array_equal(got[0], got[2]):
            return f"seed=0 and seed=1 gave the same result: use the seed ({describe(counts)})"
        return None
    return run, judge


OVER = Exercise("oversample", names=("random_oversample",), forbidden=(
    "tinymed.imbalance", "tinymed.data.OverSampler", "tinymed.data.WeightedRandomSampler", "imblearn",
    "sklearn.utils.resample"), checks=(
    Check("every class grown to the majority count", 1, run=lambda ns: resampled(ns, "random_oversample", (9, 6, 5)),
          judge=balanced((9, 6, 5), 9, "oversampling")),
    Check("every original sample kept", 1, run=lambda ns: resampled(ns, "random_oversample", (9, 6, 5)),
          judge=keeps_all((9, 6, 5))),
    Check("copies drawn with replacement", 1, run=lambda ns: resampled(ns, "random_oversample", (80, 50)),
          judge=with_replacement((80, 50))),
    Check("edge case: 2 samples grown to 10", 1, visibility="after_due_date",
          run=lambda ns: resampled(ns, "random_oversample", (10, 2)),
          judge=lambda got: balanced((10, 2), 10, "oversampling")(got) or keeps_all((10, 2))(got)),
    Check("the same seed gives the same result", 1, visibility="hidden",
          run=reproducible("random_oversample", (12, 7))[0], judge=reproducible("random_oversample", (12, 7))[1]),
))


def subset(counts):
    def judge(got):
        ids = np.asarray(got[0])[:, 0].astype(int)
        if len(set(ids.tolist())) != len(ids):
            return f"a sample appears twice after undersampling: draw a subset without replacement ({describe(counts)})"
        return None
    return judge


UNDER = Exercise("undersample", names=("random_undersample",), forbidden=(
    "tinymed.imbalance", "tinymed.data.UnderSampler", "imblearn", "sklearn.utils.resample"), checks=(
    Check("every class cut to the minority count", 1, run=lambda ns: resampled(ns, "random_undersample", (9, 4, 6)),
          judge=balanced((9, 4, 6), 4, "undersampling")),
    Check("a subset without repeats", 1, run=lambda ns: resampled(ns, "random_undersample", (30, 25)),
          judge=subset((30, 25))),
    Check("the same seed gives the same result", 1, visibility="hidden",
          run=reproducible("random_undersample", (12, 7))[0], judge=reproducible("random_undersample", (12, 7))[1]),
))

LABELS = np.array([0] * 10 + [1] * 3 + [2] * 5)[np.random.default_rng(5).permutation(18)]


def epochs(ns, labels, batch_size):
    sampler = ns["BalancedBatchSampler"](labels.copy(), batch_size, seed=0)
    return [len(sampler), [[int(i) for i in batch] for batch in sampler], [[int(i) for i in b] for b in sampler]]


def batches_balanced(labels, batch_size):
    per_class = batch_size // len(np.unique(labels))
    context = f"labels with {np.bincount(labels).tolist()} samples per class, batch_size={batch_size}"

    def judge(got):
        for b, batch in enumerate(got[1]):
            if any(not 0 <= i < len(labels) for i in batch):
                return f"batch {b} holds an index outside 0..{len(labels) - 1} ({context})"
            counts = np.bincount(labels[batch], minlength=labels.max() + 1).tolist()
            if counts != [per_class] * len(counts):
                return f"batch {b} holds {counts} samples of the classes; each should hold {per_class} ({context})"
        return None
    return judge


def epoch_length(labels, batch_size):
    per_class = batch_size // len(np.unique(labels))
    expected = -(-np.bincount(labels).max() // per_class)
    context = f"labels with {np.bincount(labels).tolist()} samples per class, batch_size={batch_size}"

    def judge(got):
        largest = np.flatnonzero(labels == np.bincount(labels).argmax())
        seen = {i for batch in got[1] for i in batch}
        return (equal("len(sampler)", got[0], expected, context, "ceil(largest class / (batch_size / K)) batches")
                or equal("the number of batches in an epoch", len(got[1]), expected, context)
                or (f"sample {sorted(set(largest) - seen)[0]} of the largest class never appears in an epoch ({context})"
                    if set(largest) - seen else None))
    return judge


BATCHES = Exercise("balanced_batches", names=("BalancedBatchSampler",), forbidden=(
    "tinymed.data.BalancedBatchSampler", "tinymed.data.OverSampler", "tinymed.imbalance", "imblearn"), checks=(
    Check("every batch holds batch_size / K of each class", 2, run=lambda ns: epochs(ns, LABELS, 6),
          judge=batches_balanced(LABELS, 6)),
    Check("an epoch's length and the largest class shown whole", 1, run=lambda ns: epochs(ns, LABELS, 6),
          judge=epoch_length(LABELS, 6)),
    Check("each epoch drawn afresh", 1, visibility="hidden", run=lambda ns: epochs(ns, LABELS, 6),
          judge=lambda got: "two epochs of one sampler are identical: draw a new epoch in every __iter__"
          if got[1] == got[2] else None),
))

ASSIGNMENT = Assignment(
    name="resampling", title="Resampling", tutorial="04_resampling.ipynb",
    exercises=(OVER, UNDER, BATCHES), notebook=notebook_path(__name__))
