"""tinymed.utils.data is torch.utils.data: the same names and signatures, batches as Tensors,
over the machinery of tinymed.data (which keeps yielding NumPy arrays)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinymed as tm
import tinymed.utils.data as tud
from tinymed import data


def xy(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return x, np.arange(n) % 3


def test_tinymed_utils_data_is_reachable_as_torch_utils_data():
    import tinymed.utils

    assert tinymed.utils.data is tud
    assert tud.Dataset is data.Dataset and tud.Subset is data.Subset


def test_tensor_dataset_gives_rows_of_tensors_with_their_dtypes():
    x, y = xy()
    ds = tud.TensorDataset(tm.tensor(x), y)
    sample_x, sample_y = ds[4]
    assert isinstance(sample_x, tm.Tensor) and isinstance(sample_y, tm.Tensor)
    np.testing.assert_array_equal(sample_x.numpy(), x[4])
    assert sample_y.item() == y[4] and sample_y.dtype == np.int64
    assert len(ds) == 10 and [t.shape for t in ds.tensors] == [(10, 3), (10,)]
    with pytest.raises(ValueError, match=r"TensorDataset: all arrays must have the same first length, got lengths \[10, 9\]"):
        tud.TensorDataset(x, y[:9])


def test_the_loader_yields_the_batches_of_tinymed_data_as_tensors():
    x, y = xy(11)
    torch_style = tud.DataLoader(tud.TensorDataset(x, y), batch_size=4, shuffle=True, generator=3)
    numpy_style = data.DataLoader(data.ArrayDataset(x, y), batch_size=4, shuffle=True, seed=3)
    assert len(torch_style) == len(numpy_style) == 3
    for epoch in range(2):
        for (tx, ty), (nx, ny) in zip(torch_style, numpy_style, strict=True):
            assert isinstance(tx, tm.Tensor) and isinstance(ty, tm.Tensor)
            np.testing.assert_array_equal(tx.numpy(), nx)
            np.testing.assert_array_equal(ty.numpy(), ny)
            assert tx.dtype == np.float32 and ty.dtype == np.int64


def test_pytorch_keywords_are_accepted_and_shuffle_none_means_in_order():
    x, y = xy(6)
    loader = tud.DataLoader(tud.TensorDataset(x, y), batch_size=4, shuffle=None, num_workers=2, pin_memory=True,
                            drop_last=True, generator=0)
    batches = list(loader)
    assert len(batches) == 1
    np.testing.assert_array_equal(batches[0][1].numpy(), y[:4])
    with pytest.raises(ValueError, match=r"DataLoader: num_workers must be an int >= 0, got -1"):
        tud.DataLoader(tud.TensorDataset(x, y), num_workers=-1)


def test_a_custom_dataset_is_collated_as_pytorchs_default_collate():
    torch = pytest.importorskip("torch")

    class Pairs(tud.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"image": np.full((2, 2), i, dtype=np.float32), "label": i, "weight": 0.5 * i, "name": f"p{i}"}

    ours = list(tud.DataLoader(Pairs(), batch_size=2))
    theirs = list(torch.utils.data.DataLoader(Pairs(), batch_size=2))
    for a, b in zip(ours, theirs, strict=True):
        assert a["name"] == b["name"]
        for key in ("image", "label", "weight"):
            assert str(a[key].dtype) == str(b[key].dtype).replace("torch.", "")
            np.testing.assert_array_equal(a[key].numpy(), b[key].numpy())


def test_a_dataset_of_single_tensors_yields_tensors_not_tuples():
    class Squares(tud.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return tm.tensor(np.array([i * i], dtype=np.float32))

    batches = list(tud.DataLoader(Squares(), batch_size=3))
    assert isinstance(batches[0], tm.Tensor)
    np.testing.assert_array_equal(batches[1].numpy(), [[9.0]])


def test_a_collate_fn_receives_the_list_of_samples():
    x, y = xy(5)
    loader = tud.DataLoader(tud.TensorDataset(x, y), batch_size=2, collate_fn=lambda samples: len(samples))
    assert list(loader) == [2, 2, 1]


@given(n=st.integers(1, 60), fractions=st.sampled_from([[0.8, 0.2], [0.5, 0.3, 0.2], [1 / 3] * 3, [1.0]]))
def test_random_split_by_fractions_gives_torchs_lengths_and_a_partition(n, fractions):
    parts = tud.random_split(tud.TensorDataset(np.arange(n)), fractions, generator=0)
    counts = [int(np.floor(n * f)) for f in fractions]
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    assert [len(p) for p in parts] == counts
    assert sorted(np.concatenate([p.indices for p in parts]).tolist()) == list(range(n))


def test_random_split_matches_torch_lengths_and_refuses_wrong_ones():
    torch = pytest.importorskip("torch")
    ds = tud.TensorDataset(np.arange(10))
    for lengths in ([7, 3], [0.7, 0.3], [0.34, 0.33, 0.33]):
        ours = tud.random_split(ds, lengths, generator=1)
        theirs = torch.utils.data.random_split(range(10), lengths, generator=torch.Generator().manual_seed(1))
        assert [len(p) for p in ours] == [len(p) for p in theirs]
    first, second = tud.random_split(ds, [7, 3], generator=1)
    again = tud.random_split(ds, [7, 3], generator=1)[0]
    np.testing.assert_array_equal(first.indices, again.indices)
    assert isinstance(first[0][0], tm.Tensor)
    with pytest.raises(ValueError, match=r"random_split: lengths \[7, 4\] sum to 11 but the dataset has 10 samples"):
        tud.random_split(ds, [7, 4])
    with pytest.raises(ValueError, match=r"random_split: fractions must sum to 1"):
        tud.random_split(ds, [0.5, 0.4])


def test_samplers_take_the_dataset_and_a_generator_as_pytorchs():
    x, y = xy(8)
    ds = tud.TensorDataset(x, y)
    assert list(tud.SequentialSampler(ds)) == list(range(8))
    shuffled = tud.RandomSampler(ds, generator=5)
    assert sorted(shuffled) == list(range(8)) and len(shuffled) == 8
    drawn = list(tud.RandomSampler(ds, replacement=True, num_samples=50, generator=0))
    assert len(drawn) == 50 and set(drawn) <= set(range(8))
    assert len(set(drawn)) < 50  # with replacement, repeats
    long = list(tud.RandomSampler(ds, num_samples=20, generator=0))
    assert sorted(long[:8]) == sorted(long[8:16]) == list(range(8))  # whole permutations, then cut
    weighted = tud.WeightedRandomSampler(tm.tensor([0.0] * 7 + [1.0]), num_samples=5, generator=0)
    assert list(weighted) == [7] * 5
    loader = tud.DataLoader(ds, batch_size=4, sampler=tud.WeightedRandomSampler([1.0] * 8, 8, generator=2))
    assert sum(len(b[0]) for b in loader) == 8
