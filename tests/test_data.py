from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference import data_reference as ref
from tinymed import data, imbalance

# --- datasets -------------------------------------------------------------------------------


def images_and_labels(n=10, shape=(1, 4, 4)):
    x = np.arange(n * int(np.prod(shape)), dtype=np.float32).reshape(n, *shape)
    return x, np.arange(n) % 3


def test_array_dataset_returns_one_row_of_each_array_as_a_tuple():
    x, y = images_and_labels()
    ds = data.ArrayDataset(x, y)
    assert len(ds) == 10
    sample = ds[3]
    assert isinstance(sample, tuple) and len(sample) == 2
    np.testing.assert_array_equal(sample[0], x[3])
    assert sample[1] == y[3]


def test_array_dataset_hands_over_a_batch_by_fancy_index():
    x, y = images_and_labels()
    ds = data.ArrayDataset(x, y)
    index = np.array([7, 2, 2, 9])
    xb, yb = ds[index]
    np.testing.assert_array_equal(xb, x[index])
    np.testing.assert_array_equal(yb, y[index])
    np.testing.assert_array_equal(ds[2:5][0], x[2:5])


def test_array_dataset_transform_applies_to_the_input_of_each_sample_only():
    x, y = images_and_labels()
    ds = data.ArrayDataset(x, y, transform=lambda image: image * 2)
    np.testing.assert_array_equal(ds[4][0], 2 * x[4])
    assert ds[4][1] == y[4]
    xb, yb = ds[np.array([1, 5])]
    np.testing.assert_array_equal(xb, 2 * x[[1, 5]])
    np.testing.assert_array_equal(yb, y[[1, 5]])


def test_array_dataset_rejects_arrays_of_different_lengths():
    with pytest.raises(ValueError, match=r"ArrayDataset: all arrays must have the same first length, got lengths \[10, 9\]"):
        data.ArrayDataset(np.zeros((10, 2)), np.zeros(9))
    with pytest.raises(ValueError, match=r"ArrayDataset: needs at least one array"):
        data.ArrayDataset()
    with pytest.raises(ValueError, match=r"every array needs a first \(sample\) axis"):
        data.ArrayDataset(np.float32(1.0))
    with pytest.raises(TypeError, match=r"ArrayDataset: transform must be callable or None, got 3"):
        data.ArrayDataset(np.zeros(3), transform=3)


def test_subset_reads_the_chosen_samples_in_its_order():
    x, y = images_and_labels()
    sub = data.Subset(data.ArrayDataset(x, y), [8, 1, 4])
    assert len(sub) == 3
    np.testing.assert_array_equal(sub[0][0], x[8])
    xb, yb = sub[np.array([2, 0])]
    np.testing.assert_array_equal(xb, x[[4, 8]])
    np.testing.assert_array_equal(yb, y[[4, 8]])


def test_subset_rejects_indices_outside_the_dataset():
    ds = data.ArrayDataset(np.zeros(5))
    with pytest.raises(ValueError, match=r"Subset: indices must be in \[0, 5\) for a dataset of 5 samples, got \[5, -1\]"):
        data.Subset(ds, [0, 5, -1])
    with pytest.raises(ValueError, match=r"Subset: indices must be a 1-D array of ints"):
        data.Subset(ds, [0.5])


class CountingDataset(data.ArrayDataset):
    """Records every per-sample read, to show that batches do not go through them."""

    def __init__(self, *arrays, **kwargs):
        super().__init__(*arrays, **kwargs)
        self.sample_reads = 0

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            self.sample_reads += 1
        return super().__getitem__(index)


def test_loader_reads_an_array_dataset_batch_by_batch_not_sample_by_sample():
    x, y = images_and_labels(100)
    ds = CountingDataset(x, y)
    batches = list(data.DataLoader(ds, batch_size=32, shuffle=True, seed=0))
    list(data.DataLoader(data.Subset(ds, np.arange(50)), batch_size=8))
    assert len(batches) == 4 and ds.sample_reads == 0


class PlainDataset:
    """Not a data.Dataset: only __len__ and __getitem__, returning a single array per sample."""

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return np.full(3, i, dtype=np.float32)


def test_loader_stacks_samples_of_any_dataset_with_len_and_getitem():
    batches = list(data.DataLoader(PlainDataset(), batch_size=2))
    assert [b[0].shape for b in batches] == [(2, 3), (2, 3), (1, 3)]
    np.testing.assert_array_equal(batches[2][0], [[4, 4, 4]])


# --- DataLoader -----------------------------------------------------------------------------


def test_loader_batches_in_order_with_a_short_last_batch():
    x, y = images_and_labels(10)
    loader = data.DataLoader(data.ArrayDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3
    assert [xb.shape for xb, _ in batches] == [(4, 1, 4, 4), (4, 1, 4, 4), (2, 1, 4, 4)]
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), y)


def test_drop_last_drops_the_short_batch():
    x, y = images_and_labels(10)
    loader = data.DataLoader(data.ArrayDataset(x, y), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [xb.shape[0] for xb, _ in loader] == [4, 4]
    exact = data.DataLoader(data.ArrayDataset(x, y), batch_size=5, drop_last=True)
    assert len(exact) == 2 and [xb.shape[0] for xb, _ in exact] == [5, 5]


@given(st.integers(1, 60), st.integers(1, 16), st.integers(0, 2**32 - 1))
def test_a_shuffled_epoch_shows_every_sample_once(n, batch_size, seed):
    loader = data.DataLoader(data.ArrayDataset(np.arange(n)), batch_size=batch_size, shuffle=True, seed=seed)
    for _ in range(2):
        batches = [b for (b,) in loader]
        assert len(batches) == len(loader) == -(-n // batch_size)
        assert sorted(np.concatenate(batches).tolist()) == list(range(n))


def epochs(loader, count=3):
    return [np.concatenate([batch[-1] for batch in loader]).tolist() for _ in range(count)]


def test_shuffle_draws_a_new_order_each_epoch_and_the_same_epochs_for_a_seed():
    ds = data.ArrayDataset(np.arange(50))
    first = epochs(data.DataLoader(ds, batch_size=8, shuffle=True, seed=3))
    assert first[0] != first[1] != first[2]
    assert epochs(data.DataLoader(ds, batch_size=8, shuffle=True, seed=3)) == first
    assert epochs(data.DataLoader(ds, batch_size=8, shuffle=True, seed=4)) != first


def test_loader_draws_its_epoch_from_the_sampler():
    y = np.array([0] * 8 + [1] * 2)
    loader = data.DataLoader(data.ArrayDataset(np.arange(10), y), batch_size=4, sampler=data.OverSampler(y, seed=0))
    assert len(loader) == 4  # 16 draws
    labels = np.concatenate([yb for _, yb in loader])
    assert Counter(labels.tolist()) == {0: 8, 1: 8}


def test_loader_takes_balanced_batches_as_batch_sampler():
    y = np.array([0] * 12 + [1] * 3)
    sampler = data.BalancedBatchSampler(y, batch_size=4, seed=0)
    loader = data.DataLoader(data.ArrayDataset(np.arange(15), y), batch_sampler=sampler)
    batches = list(loader)
    assert len(loader) == len(batches) == 6
    for index, labels in batches:
        np.testing.assert_array_equal(labels, y[index])
        assert Counter(labels.tolist()) == {0: 2, 1: 2}


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"shuffle": True, "sampler": data.RandomSampler(6)}, ValueError, r"DataLoader: shuffle=True and sampler are exclusive"),
        ({"seed": 0}, ValueError, r"DataLoader: seed is used only for shuffle=True"),
        ({"batch_size": 0}, ValueError, r"DataLoader: batch_size must be an int >= 1, got 0"),
        ({"batch_size": 2.0}, TypeError, r"batch_size must be an int >= 1, got 2.0"),
        ({"sampler": data.BalancedBatchSampler([0, 1] * 3, 2)}, ValueError, r"pass it as batch_sampler="),
        (
            {"batch_size": 4, "batch_sampler": data.BalancedBatchSampler([0, 1] * 3, 2)},
            ValueError,
            r"DataLoader: batch_sampler fixes the batches",
        ),
        (
            {"sampler": data.WeightedRandomSampler([0.2, 0.8], num_samples=6)},
            ValueError,
            r"DataLoader: the sampler indexes 2 samples but the dataset has 6 .*one weight per sample, not per class",
        ),
        ({"sampler": data.OverSampler([0, 1, 1])}, ValueError, r"the sampler indexes 3 samples but the dataset has 6"),
    ],
)
def test_loader_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        data.DataLoader(data.ArrayDataset(np.arange(6)), **kwargs)


def test_loader_needs_a_dataset_with_len_and_getitem():
    with pytest.raises(TypeError, match=r"DataLoader: dataset must have __len__ and __getitem__, got int"):
        data.DataLoader(5)


# --- samplers -------------------------------------------------------------------------------


def test_random_sampler_yields_a_fresh_permutation_each_epoch():
    sampler = data.RandomSampler(30, seed=0)
    first, second = list(sampler), list(sampler)
    assert len(sampler) == 30
    assert sorted(first) == sorted(second) == list(range(30))
    assert first != second
    again = data.RandomSampler(30, seed=0)
    assert [list(again), list(again)] == [first, second]
    with pytest.raises(ValueError, match=r"RandomSampler: n must be an int >= 1, got 0"):
        data.RandomSampler(0)


def test_weighted_sampler_draws_in_proportion_to_the_weights():
    sampler = data.WeightedRandomSampler([1.0, 3.0, 0.0], num_samples=40_000, seed=0)
    counts = np.bincount(list(sampler), minlength=3) / 40_000
    assert len(sampler) == 40_000
    assert counts[2] == 0  # weight 0: never drawn
    assert abs(counts[1] - 0.75) < 0.01


def test_weighted_sampler_without_replacement_draws_distinct_indices():
    sampler = data.WeightedRandomSampler(np.ones(20), num_samples=20, replacement=False, seed=1)
    assert sorted(sampler) == list(range(20))


def test_sample_weights_make_the_weighted_sampler_draw_classes_evenly():
    y = np.array([0] * 95 + [1] * 5)
    sampler = data.WeightedRandomSampler(imbalance.sample_weights(y), num_samples=20_000, seed=0)
    assert abs(np.mean(y[list(sampler)]) - 0.5) < 0.02


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"weights": [[1.0, 2.0]]}, ValueError, r"WeightedRandomSampler: weights must have shape \(N,\), one per sample"),
        ({"weights": [1.0, -1.0]}, ValueError, r"weights must be finite, >= 0, and not all 0"),
        ({"weights": [0.0, 0.0]}, ValueError, r"not all 0"),
        ({"weights": [1.0, np.inf]}, ValueError, r"finite"),
        ({"num_samples": 0}, ValueError, r"WeightedRandomSampler: num_samples must be an int >= 1, got 0"),
        ({"num_samples": 3, "replacement": False}, ValueError, r"num_samples=3 without replacement .* only 2 are non-zero"),
        ({"replacement": "no"}, TypeError, r"replacement must be True or False, got 'no'"),
    ],
)
def test_weighted_sampler_rejects_bad_arguments(kwargs, error, message):
    arguments = {"weights": [1.0, 2.0, 0.0], "num_samples": 2, **kwargs}
    with pytest.raises(error, match=message):
        data.WeightedRandomSampler(**arguments)


label_vectors = st.lists(st.integers(0, 3), min_size=2, max_size=80).filter(lambda v: len(set(v)) > 1).map(np.array)


@given(label_vectors, st.integers(0, 2**32 - 1))
def test_oversampler_epochs_bring_every_class_to_the_majority_count(y, seed):
    sampler = data.OverSampler(y, seed=seed)
    sizes = Counter(y.tolist())
    majority = max(sizes.values())
    for _ in range(2):
        epoch = list(sampler)
        assert len(epoch) == len(sampler) == len(sizes) * majority
        assert Counter(y[epoch].tolist()) == {label: majority for label in sizes}
        times = Counter(epoch)
        for i, label in enumerate(y.tolist()):
            # each sample repeated as evenly as possible: floor or ceil of majority / class size
            assert majority // sizes[label] <= times[i] <= -(-majority // sizes[label])


@given(label_vectors, st.integers(0, 2**32 - 1))
def test_undersampler_epochs_bring_every_class_to_the_minority_count(y, seed):
    sampler = data.UnderSampler(y, seed=seed)
    sizes = Counter(y.tolist())
    minority = min(sizes.values())
    epoch = list(sampler)
    assert len(epoch) == len(sampler) == len(sizes) * minority
    assert Counter(y[epoch].tolist()) == {label: minority for label in sizes}
    assert len(set(epoch)) == len(epoch)  # without replacement


def test_undersampler_shows_each_minority_sample_exactly_once_and_new_normals_each_epoch():
    y = np.array([0] * 50 + [1] * 5)
    sampler = data.UnderSampler(y, seed=0)
    first, second = list(sampler), list(sampler)
    for epoch in (first, second):
        assert sorted(i for i in epoch if y[i] == 1) == [50, 51, 52, 53, 54]
    assert {i for i in first if y[i] == 0} != {i for i in second if y[i] == 0}


@given(label_vectors, st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_balanced_batches_hold_every_class_equally(y, per_class, seed):
    classes = sorted(set(y.tolist()))
    sampler = data.BalancedBatchSampler(y, batch_size=per_class * len(classes), seed=seed)
    batches = list(sampler)
    largest = max(Counter(y.tolist()).values())
    assert len(batches) == len(sampler) == -(-largest // per_class)
    for batch in batches:
        assert isinstance(batch, list)
        assert Counter(y[batch].tolist()) == {label: per_class for label in classes}
    assert set(np.concatenate(batches).tolist()) == set(range(len(y)))  # every sample appears


def test_sampler_epochs_mix_the_classes():
    y = np.array([0] * 30 + [1] * 10)
    for sampler in (data.OverSampler(y, seed=0), data.UnderSampler(y, seed=0)):
        labels = y[list(sampler)]
        assert np.count_nonzero(np.diff(labels)) > 3  # not one run of each class
    batches = np.array(list(data.BalancedBatchSampler(y, batch_size=4, seed=0)))
    assert set(y[batches[:, 0]].tolist()) == {0, 1}  # no class owns a fixed position in the batch


@pytest.mark.parametrize(
    "make",
    [
        lambda y, seed: data.RandomSampler(len(y), seed=seed),
        lambda y, seed: data.WeightedRandomSampler(np.ones(len(y)), num_samples=len(y), seed=seed),
        lambda y, seed: data.OverSampler(y, seed=seed),
        lambda y, seed: data.UnderSampler(y, seed=seed),
        lambda y, seed: data.BalancedBatchSampler(y, batch_size=4, seed=seed),
    ],
)
def test_every_sampler_draws_new_epochs_and_the_same_epochs_for_a_seed(make):
    y = np.array([0] * 30 + [1] * 10)
    sampler = make(y, 11)
    epochs = [list(sampler) for _ in range(3)]
    assert epochs[0] != epochs[1] != epochs[2]
    again = make(y, 11)
    assert [list(again) for _ in range(3)] == epochs
    other = make(y, 12)
    assert list(other) != epochs[0]
    from_generator = make(y, np.random.default_rng(11))
    assert list(from_generator) == epochs[0]


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda y: data.OverSampler(y), "OverSampler"),
        (lambda y: data.UnderSampler(y), "UnderSampler"),
        (lambda y: data.BalancedBatchSampler(y, batch_size=4), "BalancedBatchSampler"),
    ],
)
def test_label_samplers_refuse_multilabel_targets_and_point_to_the_weighted_sampler(make, name):
    multilabel = np.array([[0, 1], [1, 1], [0, 0], [1, 0]])
    with pytest.raises(ValueError, match=rf"{name}: labels has shape \(4, 2\), a multi-label target.*WeightedRandomSampler"):
        make(multilabel)
    with pytest.raises(ValueError, match=rf"{name}: labels hold a single class"):
        make(np.zeros(4))
    with pytest.raises(ValueError, match=rf"{name}: labels must be a non-empty array"):
        make(np.zeros(0))


def test_label_samplers_read_an_n_by_1_column_as_one_label_per_sample():
    y = np.array([0, 0, 0, 1])
    assert list(data.OverSampler(y[:, None], seed=0)) == list(data.OverSampler(y, seed=0))


def test_balanced_batch_size_must_divide_among_the_classes():
    with pytest.raises(ValueError, match=r"BalancedBatchSampler: batch_size=5 must be divisible by the number of classes, 3"):
        data.BalancedBatchSampler([0, 1, 2, 2], batch_size=5)
    with pytest.raises(ValueError, match=r"BalancedBatchSampler: batch_size must be an int >= 1, got 0"):
        data.BalancedBatchSampler([0, 1], batch_size=0)


# --- transforms -----------------------------------------------------------------------------


def image(shape=(2, 5, 6), dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


all_transforms = [
    lambda: data.Normalize([0.5, -1.0], [2.0, 0.5]),
    lambda: data.RandomHorizontalFlip(seed=0),
    lambda: data.RandomVerticalFlip(seed=0),
    lambda: data.RandomShift(2, seed=0),
    lambda: data.RandomShift(2, seed=0, fill="edge"),
    lambda: data.RandomRotation(15, seed=0),
    lambda: data.Compose([data.RandomShift(1, seed=0), data.RandomRotation(10, seed=0)]),
]


@pytest.mark.parametrize("make", all_transforms)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transforms_keep_shape_and_dtype_and_leave_the_input_alone(make, dtype):
    x = image(dtype=dtype)
    before = x.copy()
    transform = make()
    for _ in range(5):
        out = transform(x)
        assert out.shape == x.shape and out.dtype == dtype
        assert not np.shares_memory(out, x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("make", all_transforms)
def test_transforms_are_reproducible_for_a_seed(make):
    x = image()
    first, again = make(), make()
    for _ in range(5):
        np.testing.assert_array_equal(first(x), again(x))


def test_flips_are_exact_mirrors():
    x = image()
    np.testing.assert_array_equal(data.RandomHorizontalFlip(p=1.0)(x), x[:, :, ::-1])
    np.testing.assert_array_equal(data.RandomVerticalFlip(p=1.0)(x), x[:, ::-1, :])
    np.testing.assert_array_equal(data.RandomHorizontalFlip(p=0.0)(x), x)
    flip = data.RandomHorizontalFlip(p=0.5, seed=0)
    outcomes = [np.array_equal(flip(x), x[:, :, ::-1]) for _ in range(200)]
    assert 60 < sum(outcomes) < 140


def test_normalize_matches_the_per_channel_formula():
    x = image((3, 4, 4))
    mean, std = [0.1, 0.2, 0.3], [1.0, 2.0, 4.0]
    np.testing.assert_allclose(data.Normalize(mean, std)(x), ref.normalize(x, mean, std), rtol=1e-6)
    np.testing.assert_allclose(data.Normalize(0.5, 2.0)(x), (x - 0.5) / 2.0, rtol=1e-6)


@pytest.mark.parametrize("fill", ["zero", "edge"])
def test_random_shift_is_a_whole_pixel_translation_within_max_shift(fill):
    x = image((1, 6, 7))
    shift = data.RandomShift(2, seed=0, fill=fill)
    seen = set()
    for _ in range(30):
        out = shift(x)
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if np.array_equal(out, ref.shift(x, dy, dx, fill))]
        assert matches
        seen.add(matches[0])
    assert len(seen) > 5
    np.testing.assert_array_equal(data.RandomShift(0)(x), x)


def test_rotation_by_zero_is_the_identity_and_by_ninety_a_quarter_turn_anticlockwise():
    x = image((2, 7, 7))
    np.testing.assert_allclose(data.RandomRotation(0, seed=0)(x), x, atol=1e-6)
    np.testing.assert_allclose(data.RandomRotation((90, 90))(x), np.rot90(x, 1, axes=(1, 2)), atol=1e-5)


def test_compose_applies_transforms_in_order():
    x = image()
    out = data.Compose([data.Normalize(1.0, 1.0), data.Normalize(0.0, 2.0)])(x)
    np.testing.assert_allclose(out, (x - 1.0) / 2.0, rtol=1e-6)


def test_a_transformed_dataset_feeds_augmented_batches_to_the_loader():
    x, y = images_and_labels(8)
    ds = data.ArrayDataset(x, y, transform=data.RandomHorizontalFlip(p=1.0))
    (xb, yb), = list(data.DataLoader(ds, batch_size=8))
    np.testing.assert_array_equal(xb, x[:, :, :, ::-1])


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: data.Normalize(0.0, 1.0)(np.zeros((2, 3, 3), dtype=np.uint8)),
            TypeError,
            r"Normalize: x must be a float NumPy array \(C, H, W\), got dtype uint8",
        ),
        (
            lambda: data.RandomShift(1)(np.zeros((3, 3), dtype=np.float32)),
            ValueError,
            r"RandomShift: x must be one image of shape \(C, H, W\), got shape \(3, 3\)",
        ),
        (lambda: data.RandomRotation(5)([[0.0]]), TypeError, r"RandomRotation: x must be a float NumPy array.*got list"),
        (lambda: data.Normalize([0.0, 0.0], [1.0, 1.0])(image((3, 2, 2))), ValueError, r"Normalize: mean has 2 entries but x has 3 channels"),
        (lambda: data.Normalize(0.0, 0.0), ValueError, r"Normalize: std must be > 0, got \[0.0\]"),
        (lambda: data.RandomHorizontalFlip(p=1.5), ValueError, r"RandomHorizontalFlip: p \(a probability\) must be a finite number >= 0 and <= 1, got 1.5"),
        (lambda: data.RandomVerticalFlip(p=-0.1), ValueError, r"RandomVerticalFlip: p \(a probability\) must be"),
        (lambda: data.RandomShift(-1), ValueError, r"RandomShift: max_shift \(pixels\) must be an int >= 0, got -1"),
        (lambda: data.RandomShift(1.5), TypeError, r"max_shift \(pixels\) must be an int"),
        (lambda: data.RandomShift(1, fill="wrap"), ValueError, r"RandomShift: fill must be one of 'zero', 'edge', got 'wrap'"),
        (lambda: data.RandomRotation(-5), ValueError, r"RandomRotation: degrees \(when a number\) must be a finite number >= 0, got -5"),
        (lambda: data.RandomRotation((10, 5)), ValueError, r"degrees must be a number >= 0 or a pair \(lo, hi\) with lo <= hi"),
        (lambda: data.Compose([data.Normalize(0, 1), "flip"]), TypeError, r"Compose: every transform must be callable, got str"),
        (lambda: data.RandomRotation(5, seed="x"), TypeError, r"RandomRotation: seed must be an int"),
    ],
)
def test_transforms_reject_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_pytorch_habits_and_slips_at_the_loader_are_named_with_the_fix():
    X, y = np.zeros((6, 1, 4, 4), np.float32), np.array([0, 1, 0, 1, 0, 1])
    with pytest.raises(TypeError, match=r"DataLoader: dataset is a tuple of 2 arrays.*pass data.ArrayDataset\(X, y\)"):
        data.DataLoader((X, y), batch_size=2)
    with pytest.raises(TypeError, match=r"DataLoader: sampler must be an iterable of indices, got the class RandomSampler"):
        data.DataLoader(data.ArrayDataset(X, y), batch_size=2, sampler=data.RandomSampler)
    with pytest.raises(TypeError, match=r"RandomSampler: n is the number of samples, an int, got ArrayDataset; pass len\(dataset\)"):
        data.RandomSampler(data.ArrayDataset(X, y))
    with pytest.raises(TypeError, match=r"WeightedRandomSampler: weights must be numbers, one per sample, got dtype <U"):
        data.WeightedRandomSampler(["a", "b"], 2)
    with pytest.raises(TypeError, match=r"Compose: transforms must be a list of transforms, got RandomShift \(wrap a single one"):
        data.Compose(data.RandomShift(1))
