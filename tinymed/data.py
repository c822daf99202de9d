"""Datasets, the DataLoader that batches them, and the samplers that rebalance what it draws.

PyTorch's shapes: a ``Dataset`` has ``len`` and ``dataset[i]``; a sampler yields indices; the
``DataLoader`` cuts the indices into batches and stacks the samples into NumPy arrays.
An ``ArrayDataset`` without a per-sample transform hands over a whole batch with one fancy index
per array, so loading costs almost nothing next to the model.

The imbalance samplers (``OverSampler``, ``UnderSampler``, ``BalancedBatchSampler``) draw a new
balanced epoch at every ``iter``; for multi-label targets use ``WeightedRandomSampler``. The
samplers live in ``tinymed.samplers`` and the image transforms in ``tinymed.transforms``; both
are importable from here too.
Everything here is plain NumPy and knows nothing of the autograd engine.
"""
import numpy as np

from tinymed import validate
from tinymed.samplers import (  # noqa: F401  (re-exported: data.OverSampler, data.Sampler, ...)
    BalancedBatchSampler,
    OverSampler,
    RandomSampler,
    Sampler,
    UnderSampler,
    WeightedRandomSampler,
)
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
