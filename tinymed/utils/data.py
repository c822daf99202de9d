"""`torch.utils.data` for tinymed: PyTorch's names and signatures, batches as Tensors.

    import tinymed as torch
    dataset = torch.utils.data.TensorDataset(images, labels)
    train_set, val_set = torch.utils.data.random_split(dataset, [0.8, 0.2], generator=0)
    loader = torch.utils.data.DataLoader(train_set, batch_size=32, shuffle=True)
    for x, y in loader:          # Tensors, as PyTorch's
        ...

The machinery is `tinymed.data`'s (plain NumPy: it yields arrays and takes `seed=`); this module
only adapts PyTorch's spelling:

- batches come out as Tensors (a list of them per batch for tuple samples, as PyTorch's
  `default_collate`); `tinymed.data.DataLoader` keeps yielding NumPy arrays;
- `generator=` takes what `seed=` takes everywhere in tinymed: an int, a `numpy.random.Generator`
  or None (the default Generator that `tm.manual_seed` resets); not a `torch.Generator`;
- samplers take the dataset (`RandomSampler(dataset)`), where `tinymed.data`'s take its length;
- `num_workers` and `pin_memory` are accepted and change nothing: tinymed loads batches in the
  main process, on the CPU.
"""
import collections.abc
import itertools
import math

import numpy as np

from tinymed import data, validate
from tinymed.autograd import Tensor
from tinymed.data import Dataset, Sampler, Subset
from tinymed.random import get_generator

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "DataLoader", "default_collate", "Sampler",
           "SequentialSampler", "RandomSampler", "WeightedRandomSampler"]


class TensorDataset(data.ArrayDataset):
    """Samples are rows of tensors of one length N: `dataset[i]` -> `(tensors[0][i], tensors[1][i], ...)`,
    each a Tensor. Tensors or NumPy arrays are accepted; `dataset.tensors` holds them as Tensors."""

    def __init__(self, *tensors):
        super().__init__(*(np.asarray(t) for t in tensors))
        self.tensors = tuple(Tensor(a) for a in self.arrays)

    def __getitem__(self, index):
        return tuple(Tensor(np.asarray(a)) for a in super().__getitem__(index))


def default_collate(batch):
    """A list of samples -> one batch, as PyTorch's `default_collate`: Tensors, arrays and numbers
    stacked into a Tensor along a new first axis (Python floats give float64, ints int64, as
    PyTorch); tuples and lists field by field (a list); dicts key by key; strings as a list."""
    first = batch[0]
    if isinstance(first, collections.abc.Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, (tuple, list)):
        return [default_collate(list(field)) for field in zip(*batch)]
    if isinstance(first, str):
        return list(batch)
    if isinstance(first, (Tensor, np.ndarray, np.generic)):
        return Tensor(np.stack([np.asarray(sample) for sample in batch]))
    if isinstance(first, (bool, int, float)):
        dtype = bool if isinstance(first, bool) else np.int64 if isinstance(first, int) else np.float64
        return Tensor(np.array(batch, dtype=dtype))
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; "
                    f"pass DataLoader(..., collate_fn=your_function)")


class DataLoader(data.DataLoader):
    """PyTorch's `DataLoader(dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None,
    num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, generator=None)`: batches as
    Tensors (see the module docstring). `generator` seeds the shuffle; without `shuffle` it is
    ignored, as PyTorch's. A dataset of arrays (`TensorDataset`, a `Subset` of one) is read a
    whole batch at a time; any other sample by sample, then `collate_fn` (`default_collate`).
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, generator=None, persistent_workers=False):
        validate.integer(num_workers, "DataLoader: num_workers", min=0)
        validate.boolean(pin_memory, "DataLoader: pin_memory")
        validate.boolean(persistent_workers, "DataLoader: persistent_workers")
        shuffle = False if shuffle is None else shuffle
        self.collate_fn = validate.callable_or_none(collate_fn, "DataLoader: collate_fn")
        super().__init__(dataset, batch_size=batch_size, shuffle=shuffle, sampler=sampler, drop_last=drop_last,
                         seed=generator if shuffle is True else None, batch_sampler=batch_sampler)

    def _fetch(self, indices):
        if self.collate_fn is None and _holds_arrays(self.dataset):
            return [Tensor(a) for a in self.dataset.get_batch(indices)]
        return (self.collate_fn or default_collate)([self.dataset[int(i)] for i in indices])


def _holds_arrays(dataset):
    """True for an ArrayDataset (TensorDataset) or a Subset of one: whole batches by fancy indexing."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    return isinstance(dataset, data.ArrayDataset)


def random_split(dataset, lengths, generator=None):
    """Split `dataset` into non-overlapping random `Subset`s of the given `lengths`, as PyTorch's.

    lengths: ints summing to len(dataset), or fractions summing to 1 (each part gets
    floor(n * fraction) samples, and the remainder goes one by one to the first parts).
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(validate.is_int(k) for k in lengths):
        counts = [validate.integer(k, f"random_split: lengths[{i}]", min=0) for i, k in enumerate(lengths)]
    else:
        fractions = [validate.probability(f, f"random_split: lengths[{i}]") for i, f in enumerate(lengths)]
        if not math.isclose(sum(fractions), 1.0):
            raise ValueError(f"random_split: fractions must sum to 1, got {lengths} (sum {sum(fractions)})")
        counts = [math.floor(n * f) for f in fractions]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    if sum(counts) != n:
        raise ValueError(f"random_split: lengths {counts} sum to {sum(counts)} but the dataset has {n} samples")
    order = get_generator(generator, name="random_split: generator").permutation(n)
    return [Subset(dataset, order[end - k:end]) for end, k in zip(itertools.accumulate(counts), counts)]


class SequentialSampler(Sampler):
    """The indices 0 .. len(data_source) - 1, in order, every epoch."""

    def __init__(self, data_source):
        self.data_size = len(data_source)

    def __len__(self):
        return self.data_size

    def _epoch(self):
        return np.arange(self.data_size)


class RandomSampler(data.RandomSampler):
    """PyTorch's `RandomSampler(data_source, replacement=False, num_samples=None, generator=None)`."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        super().__init__(len(data_source), seed=generator, replacement=replacement, num_samples=num_samples)


class WeightedRandomSampler(data.WeightedRandomSampler):
    """PyTorch's `WeightedRandomSampler(weights, num_samples, replacement=True, generator=None)`:
    one weight per sample (a Tensor, an array or a list)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        super().__init__(np.asarray(weights), num_samples, replacement=replacement, seed=generator)
