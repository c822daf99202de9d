"""Datasets, the DataLoader that batches them, and the samplers that rebalance what it draws.

PyTorch's shapes: a ``Dataset`` has ``len`` and ``dataset[i]``; a sampler yields indices; the
``DataLoader`` cuts the indices into batches and stacks the samples into NumPy arrays.
An ``ArrayDataset`` without a per-sample transform hands over a whole batch with one fancy index
per array, so loading costs almost nothing next to the model.

The imbalance samplers (``OverSampler``, ``UnderSampler``, ``BalancedBatchSampler``) draw a new
balanced epoch at every ``iter``; for multi-label targets use ``WeightedRandomSampler``.
The image transforms live in ``tinymed.transforms`` and are importable from here too.
Everything here is plain NumPy and knows nothing of the autograd engine.
"""
import numpy as np

from tinymed import validate
from tinymed.imbalance import _class_indices, _class_labels
from tinymed.random import get_generator
from tinymed.transforms import (  # noqa: F401  (re-exported: data.Normalize, data.Compose, ...)
    Compose,
    Normalize,
    RandomHorizontalFlip,
    RandomRotation,
    RandomShift,
    RandomVerticalFlip,
)

__all__ = [
    "Dataset", "ArrayDataset", "Subset", "DataLoader", "RandomSampler", "WeightedRandomSampler",
    "OverSampler", "UnderSampler", "BalancedBatchSampler", "Compose", "Normalize",
    "RandomHorizontalFlip", "RandomVerticalFlip", "RandomShift", "RandomRotation",
]


def _indices(values, n, name):
    """``values`` as a 1-D array of dataset indices in [0, n). Floats are refused (NumPy would
    truncate 1.7 to row 1) and so are negatives (they would wrap round to the last rows)."""
    idx = np.asarray(values)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        shown = idx.ravel()[:5].tolist() if idx.dtype.kind in "biuf" else ""
        raise ValueError(f"{name} must be a 1-D array of ints, got shape {idx.shape} dtype {idx.dtype} {shown}".rstrip())
    idx = idx.astype(np.intp)
    outside = idx[(idx < 0) | (idx >= n)]
    if outside.size:
        raise ValueError(f"{name} must be in [0, {n}) for a dataset of {n} samples, got {outside[:5].tolist()}")
    return idx


def _collate(samples):
    """A list of samples (tuples, or single values) -> a tuple of stacked arrays, one per field."""
    if isinstance(samples[0], tuple):
        return tuple(np.stack([s[j] for s in samples]) for j in range(len(samples[0])))
    return (np.stack(samples),)


class Dataset:
    """Base class: a subclass defines ``__len__`` and ``__getitem__(i) -> tuple`` (one sample).

    ``get_batch(indices)`` returns the samples at ``indices`` stacked, as a tuple of arrays; this
    default asks for each sample in turn, and a subclass that can do better (``ArrayDataset``)
    overrides it. The ``DataLoader`` calls ``get_batch`` when a dataset has it.
    """

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def get_batch(self, indices):
        return _collate([self[int(i)] for i in indices])


class ArrayDataset(Dataset):
    """Samples are rows of NumPy arrays: ``ArrayDataset(images, labels)``, like ``TensorDataset``.

    ``arrays``: each (N, ...), all the same N. ``transform``: a callable applied to one sample of
    the *first* array (the input), e.g. ``Compose([Normalize(...), RandomShift(2)])``.
    ``dataset[i]`` -> tuple of one row per array; ``dataset[indices]`` (an index array or slice)
    -> tuple of batches, one fancy index per array when there is no transform.
    """

    def __init__(self, *arrays, transform=None):
        if not arrays:
            raise ValueError(f"{type(self).__name__}: needs at least one array, got none")
        arrays = tuple(np.asarray(a) for a in arrays)
        if any(a.ndim == 0 for a in arrays):
            shapes = [a.shape for a in arrays]
            raise ValueError(f"{type(self).__name__}: every array needs a first (sample) axis, got shapes {shapes}")
        lengths = [a.shape[0] for a in arrays]
        if len(set(lengths)) != 1:
            raise ValueError(f"{type(self).__name__}: all arrays must have the same first length, got lengths {lengths}")
        self.arrays = arrays
        self.transform = validate.callable_or_none(transform, f"{type(self).__name__}: transform")

    def __len__(self):
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        if not validate.is_int(index):
            return self.get_batch(index)
        sample = tuple(a[index] for a in self.arrays)
        if self.transform is None:
            return sample
        return (self.transform(sample[0]),) + sample[1:]

    def get_batch(self, indices):
        batch = tuple(a[indices] for a in self.arrays)
        if self.transform is None:
            return batch
        return (np.stack([self.transform(x) for x in batch[0]]),) + batch[1:]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (1-D ints in [0, len(dataset))), in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = _indices(indices, len(dataset), "Subset: indices")

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        if validate.is_int(index):
            return self.dataset[int(self.indices[index])]
        return self.get_batch(index)

    def get_batch(self, indices):
        wanted = self.indices[indices]
        fetch = getattr(self.dataset, "get_batch", None)
        return fetch(wanted) if fetch else _collate([self.dataset[int(i)] for i in wanted])


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


class DataLoader:
    """Batches of a dataset: ``for x, y in DataLoader(ArrayDataset(x, y), batch_size=32, shuffle=True)``.

    Yields tuples of NumPy arrays, one per field of a sample, stacked along a new first axis.
    The order of an epoch comes from, at most one of:

    - ``shuffle=True``: a ``RandomSampler`` seeded with ``seed``: a new permutation every epoch,
      the same sequence of epochs for the same seed;
    - ``sampler``: any iterable of indices with ``len`` (``WeightedRandomSampler``, ``OverSampler``,
      ..., or a plain list), which carries its own seed; indices must be ints in [0, len(dataset))
      (NumPy would silently truncate 1.7 and wrap -1 round to the last row, so they are checked);
    - ``batch_sampler``: an iterable of index lists (``BalancedBatchSampler``), which fixes the
      batches, so ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last`` stay at their defaults
      (PyTorch's rule);
    - none: the samples in order.

    ``len(loader)`` is the number of batches: ``ceil(n / batch_size)``, or ``n // batch_size``
    with ``drop_last=True`` (n = len(sampler), else len(dataset)). A dataset with ``get_batch``
    (``ArrayDataset``, ``Subset``) hands over each batch at once; any other is read sample by sample.
    ``tinymed.utils.data.DataLoader`` is this loader with PyTorch's signature, yielding Tensors.
    """

    def __init__(
        self, dataset, batch_size=1, shuffle=False, sampler=None, drop_last=False, seed=None, batch_sampler=None
    ):
        _check_loader(dataset, batch_size, shuffle, sampler, drop_last, seed, batch_sampler)
        if isinstance(sampler, (list, tuple, np.ndarray, range)):
            sampler = _indices(sampler, len(dataset), "DataLoader: sampler")
        self.dataset, self.batch_size, self.drop_last, self.batch_sampler = dataset, int(batch_size), drop_last, batch_sampler
        self.sampler = RandomSampler(len(dataset), seed=seed) if shuffle else sampler

    def _n(self):
        return len(self.sampler) if self.sampler is not None else len(self.dataset)

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return self._n() // self.batch_size if self.drop_last else -(-self._n() // self.batch_size)

    def _fetch(self, indices):
        get_batch = getattr(self.dataset, "get_batch", None)
        return get_batch(indices) if get_batch else _collate([self.dataset[int(i)] for i in indices])

    def _order(self, indices, name):
        """The indices of an epoch (or batch): a list given as sampler was checked in __init__, our
        samplers' are right by construction, any other sampler's are checked as they come."""
        if isinstance(indices, np.ndarray):
            return indices
        if isinstance(indices, Sampler):
            return np.fromiter(indices, dtype=np.intp)
        return _indices(list(indices), len(self.dataset), f"DataLoader: {name}")

    def __iter__(self):
        if self.batch_sampler is not None:
            for batch in self.batch_sampler:
                yield self._fetch(self._order(batch, "batch_sampler"))
            return
        order = np.arange(len(self.dataset)) if self.sampler is None else self._order(self.sampler, "sampler")
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield self._fetch(order[start:start + self.batch_size])


def _check_loader(dataset, batch_size, shuffle, sampler, drop_last, seed, batch_sampler):
    """The DataLoader's arguments, and how they combine (PyTorch's rules)."""
    if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        raise TypeError(f"DataLoader: dataset must have __len__ and __getitem__, got {type(dataset).__name__}")
    if isinstance(dataset, tuple) and len(dataset) > 1 and all(isinstance(a, np.ndarray) for a in dataset):
        raise TypeError(f"DataLoader: dataset is a tuple of {len(dataset)} arrays, so its samples would be the "
                        f"arrays themselves; to batch rows of (X, y) together pass data.ArrayDataset(X, y)")
    validate.integer(batch_size, "DataLoader: batch_size", min=1)
    validate.boolean(shuffle, "DataLoader: shuffle")
    validate.boolean(drop_last, "DataLoader: drop_last")
    for name, value in (("sampler", sampler), ("batch_sampler", batch_sampler)):
        if isinstance(value, type) or (value is not None and not hasattr(value, "__iter__")):
            what = f"the class {value.__name__} (make one: {value.__name__}(...))" if isinstance(value, type) else type(value).__name__
            raise TypeError(f"DataLoader: {name} must be an iterable of indices, got {what}")
    if isinstance(sampler, BalancedBatchSampler):
        raise ValueError("DataLoader: BalancedBatchSampler yields whole batches; pass it as batch_sampler=, not sampler=")
    if shuffle and sampler is not None:
        raise ValueError("DataLoader: shuffle=True and sampler are exclusive (the sampler decides the order)")
    if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
        raise ValueError(
            "DataLoader: batch_sampler fixes the batches, so batch_size, shuffle, sampler and drop_last "
            "must stay at their defaults"
        )
    if seed is not None and not shuffle:
        raise ValueError("DataLoader: seed is used only for shuffle=True; give a sampler its own seed")
    size = getattr(batch_sampler if batch_sampler is not None else sampler, "data_size", None)
    if size is not None and size != len(dataset):
        raise ValueError(
            f"DataLoader: the sampler indexes {size} samples but the dataset has {len(dataset)} "
            f"(a WeightedRandomSampler needs one weight per sample, not per class)"
        )
