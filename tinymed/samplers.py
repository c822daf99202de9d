"""Samplers: which dataset indices an epoch visits, and how often (PyTorch's `Sampler` idea).

A sampler yields one epoch of indices, drawn afresh at every ``iter``; the ``DataLoader`` (in
``tinymed.data``, which re-exports everything here) cuts them into batches. ``RandomSampler``
shuffles; ``WeightedRandomSampler`` draws with per-sample probabilities (the tool for
multi-label targets); the imbalance samplers (``OverSampler``, ``UnderSampler``,
``BalancedBatchSampler``) draw a new class-balanced epoch each time. Plain NumPy.
"""
import numpy as np

from tinymed import validate
from tinymed.imbalance import _class_indices, _class_labels
from tinymed.random import get_generator

__all__ = ["Sampler", "RandomSampler", "WeightedRandomSampler", "OverSampler", "UnderSampler", "BalancedBatchSampler"]


class Sampler:
    """Base class of the samplers: ``iter`` yields one epoch of dataset indices, drawn afresh.

    ``data_size`` is the number of dataset samples the sampler indexes into; the ``DataLoader``
    checks it against ``len(dataset)``. A subclass defines ``_epoch() -> index array`` and ``__len__``.
    """

    data_size = None

    def __iter__(self):
        return iter(self._epoch().tolist())


class RandomSampler(Sampler):
    """Each epoch, a fresh random permutation of 0 .. n-1 (``torch`` takes the dataset; this takes ``n``).

    As PyTorch's: ``num_samples`` (default n) indices per epoch, drawn with ``replacement`` or,
    without, from as many fresh permutations as needed (cut to ``num_samples``).
    """

    def __init__(self, n, seed=None, replacement=False, num_samples=None):
        if hasattr(n, "__len__") and hasattr(n, "__getitem__"):
            raise TypeError(f"RandomSampler: n is the number of samples, an int, got {type(n).__name__}; "
                            f"pass len(dataset) (PyTorch's takes the dataset)")
        self.data_size = validate.integer(n, "RandomSampler: n", min=1)
        self.replacement = validate.boolean(replacement, "RandomSampler: replacement")
        self.num_samples = self.data_size if num_samples is None else validate.integer(
            num_samples, "RandomSampler: num_samples", min=1)
        self.rng = get_generator(seed, name="RandomSampler: seed")

    def __len__(self):
        return self.num_samples

    def _epoch(self):
        if self.replacement:
            return self.rng.integers(self.data_size, size=self.num_samples)
        permutations = -(-self.num_samples // self.data_size)
        return np.concatenate([self.rng.permutation(self.data_size) for _ in range(permutations)])[:self.num_samples]


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability ``weights[i] / sum(weights)`` each epoch.

    PyTorch's semantics: ``weights`` (N,) holds one non-negative weight per *sample* (they need
    not sum to 1); ``replacement=False`` draws distinct indices, each draw proportional to the
    weights of those left. Per-class weights are the classic mistake: turn them into per-sample
    weights with ``imbalance.sample_weights(y)`` (or ``class_w[y]``); the ``DataLoader`` refuses
    a sampler whose ``len(weights)`` differs from ``len(dataset)``.
    """

    def __init__(self, weights, num_samples, replacement=True, seed=None):
        w = np.asarray(weights)
        if w.dtype.kind not in "biuf":
            raise TypeError(f"WeightedRandomSampler: weights must be numbers, one per sample, got dtype {w.dtype}")
        w = w.astype(np.float64)
        if w.ndim != 1 or w.size == 0:
            raise ValueError(
                f"WeightedRandomSampler: weights must have shape (N,), one per sample, got shape {w.shape}"
            )
        if not np.isfinite(w).all() or (w < 0).any() or w.max() <= 0:
            bad = w[~np.isfinite(w) | (w < 0)][:5].tolist()
            raise ValueError(f"WeightedRandomSampler: weights must be finite, >= 0, and not all 0, got {bad or 'all 0'}")
        self.num_samples = validate.integer(num_samples, "WeightedRandomSampler: num_samples", min=1)
        self.replacement = validate.boolean(replacement, "WeightedRandomSampler: replacement")
        if not self.replacement and self.num_samples > np.count_nonzero(w):
            raise ValueError(
                f"WeightedRandomSampler: num_samples={self.num_samples} without replacement needs as many "
                f"non-zero weights, but only {np.count_nonzero(w)} are non-zero"
            )
        self.weights, self.data_size = w, w.size
        # The draw probabilities, scaled by the largest weight first so that the sum cannot
        # overflow (weights of 1e308 are legal and their sum is not).
        scaled = w / w.max()
        self.probabilities = scaled / scaled.sum()
        self.rng = get_generator(seed, name="WeightedRandomSampler: seed")

    def __len__(self):
        return self.num_samples

    def _epoch(self):
        return self.rng.choice(self.data_size, size=self.num_samples, replace=self.replacement, p=self.probabilities)


_USE_WEIGHTED_SAMPLER = (
    "a sample with several labels belongs to several classes at once, so classes cannot be "
    "balanced by counting; use WeightedRandomSampler(weights, num_samples) with one weight per "
    "sample (e.g. imbalance.sample_weights(labels[:, c]) for the label c that matters most), "
    "or weight the loss per label with imbalance.class_weights(labels)"
)


def _label_groups(labels, where):
    """The index array of each class in ``labels`` (N,), for the label-balancing samplers."""
    y = _class_labels(labels, where, _USE_WEIGHTED_SAMPLER, name="labels")
    classes, _, members = _class_indices(y)
    if len(classes) < 2:
        raise ValueError(f"{where}: labels hold a single class ({classes.tolist()[0]!r}); there is nothing to balance")
    return y.shape[0], members


def _spread(members, count, rng):
    """``count`` indices of ``members``, spread as evenly as possible (unshuffled).

    Every member appears ``count // n`` times, and ``count % n`` of them, chosen at random, once
    more: for ``count <= n`` a random subset without replacement, for ``count > n`` whole copies
    topped up at random.
    """
    full, extra = divmod(count, len(members))
    return np.concatenate([np.tile(members, full), rng.choice(members, size=extra, replace=False)])


class _EqualClassSampler(Sampler):
    """Every class brought to one count each epoch (``_pick`` of the class sizes), shuffled."""

    def __init__(self, labels, seed=None):
        where = type(self).__name__
        self.data_size, self.members = _label_groups(labels, where)
        self.count = self._pick(len(m) for m in self.members)
        self.rng = get_generator(seed, name=f"{where}: seed")

    def __len__(self):
        return len(self.members) * self.count

    def _epoch(self):
        return self.rng.permutation(np.concatenate([_spread(m, self.count, self.rng) for m in self.members]))


class OverSampler(_EqualClassSampler):
    """Each epoch, every class drawn up to the majority count M, shuffled: ``len = K * M``.

    ``labels``: (N,) class labels (an (N, 1) column is read as (N,)). Every sample of a majority
    class appears once; a class of n samples is repeated as evenly as possible: each of its
    samples ``M // n`` times and ``M % n`` of them, chosen afresh each epoch, once more.
    imbalanced-learn's ``RandomOverSampler`` draws the extra copies with replacement instead;
    the class counts are the same, the spread here is more even.
    """

    _pick = max


class UnderSampler(_EqualClassSampler):
    """Each epoch, every class drawn down to the minority count m, shuffled: ``len = K * m``.

    ``labels``: (N,) class labels. Each sample of a minority class appears exactly once; the other
    classes give m samples drawn without replacement, a different subset every epoch, so over many
    epochs the model still sees all the majority data (unlike ``imbalance.resample(method="under")``,
    which throws the rest away once).
    """

    _pick = min


class BalancedBatchSampler(Sampler):
    """Yields batches (lists of indices) that hold every class equally: ``batch_size / K`` each.

    ``labels``: (N,) class labels; ``batch_size`` must be divisible by the number of classes K.
    One epoch is ``len = ceil(n_max / (batch_size / K))`` batches, just enough for every sample of
    the largest class to appear (once, or twice for a few when the division is not exact); each
    class's samples are spread as evenly as possible over the epoch, as in ``OverSampler``.
    Pass it to ``DataLoader(dataset, batch_sampler=...)``.
    """

    def __init__(self, labels, batch_size, seed=None):
        self.data_size, self.members = _label_groups(labels, "BalancedBatchSampler")
        self.batch_size = validate.integer(batch_size, "BalancedBatchSampler: batch_size", min=1)
        k = len(self.members)
        if self.batch_size % k:
            raise ValueError(
                f"BalancedBatchSampler: batch_size={self.batch_size} must be divisible by the number of "
                f"classes, {k}"
            )
        self.per_class = self.batch_size // k
        self.num_batches = -(-max(len(m) for m in self.members) // self.per_class)
        self.rng = get_generator(seed, name="BalancedBatchSampler: seed")

    def __len__(self):
        return self.num_batches

    def _epoch(self):
        """(num_batches, batch_size): row b is batch b, classes mixed within the row."""
        count = self.num_batches * self.per_class
        columns = [
            self.rng.permutation(_spread(m, count, self.rng)).reshape(self.num_batches, self.per_class)
            for m in self.members
        ]
        return self.rng.permuted(np.concatenate(columns, axis=1), axis=1)
