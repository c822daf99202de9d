"""Making tensors as PyTorch does: values and dtypes against PyTorch (when installed), seeds that
give bit-identical random tensors, memory shared by from_numpy, and joins with dim=."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinymed as tm
from tinymed.testing import assert_gradients, shapes, tensors


def same_as_torch(ours, theirs):
    """Same dtype, and the same values within float32 rounding (linspace: PyTorch computes in
    float32, tinymed in float64 and rounds once)."""
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("call", [
    lambda m: m.zeros(2, 3), lambda m: m.zeros((2, 3)), lambda m: m.ones([4]),
    lambda m: m.full((2, 2), 7), lambda m: m.full((3,), 0.5), lambda m: m.full((2,), True),
    lambda m: m.arange(5), lambda m: m.arange(2, 11, 3), lambda m: m.arange(0.0, 1.0, 0.25),
    lambda m: m.arange(-1, 1, 0.5), lambda m: m.linspace(-1, 1, 7), lambda m: m.eye(3), lambda m: m.eye(2, 4),
    lambda m: m.zeros(2, dtype=m.float64), lambda m: m.ones(3, dtype=m.long), lambda m: m.arange(4, dtype=m.float),
    lambda m: m.tensor([1, 2]), lambda m: m.tensor([1.5, 2.0]), lambda m: m.tensor([True, False]),
    lambda m: m.tensor([[1, 2]], dtype=m.double),
])
def test_factories_give_pytorchs_values_and_dtypes(call):
    torch = pytest.importorskip("torch")
    same_as_torch(call(tm), call(torch))


def test_empty_is_zeros_of_the_size_and_dtype():
    # PyTorch's empty leaves the memory as it was; tinymed's zeros keep a lesson's output fixed
    assert tm.empty(2, 3, dtype=tm.float64).tolist() == [[0.0] * 3] * 2 and tm.empty(1).dtype == np.float32


def test_dtype_names_are_numpy_dtypes_as_pytorch_names_them():
    assert tm.float32 == tm.float == np.float32 and tm.float64 == tm.double == np.float64
    assert tm.int64 == tm.long == np.int64 and tm.bool == np.bool_ and tm.int32 == np.int32
    assert tm.zeros(1).dtype == tm.float32 and tm.tensor([1]).dtype == tm.int64


def test_requires_grad_and_device_arguments():
    w = tm.zeros(2, 3, requires_grad=True, device="cpu")
    assert w.requires_grad and w.is_leaf and w.device == tm.device("cpu") and str(w.device) == "cpu"
    assert tm.randn(2, device=tm.device("cpu")).shape == (2,)
    for make in (lambda: tm.ones(2, device="cuda"), lambda: tm.tensor([1.0], device="cuda:0"),
                 lambda: tm.device("cuda")):
        with pytest.raises(ValueError, match="runs on the CPU only"):
            make()
    assert tm.cuda.is_available() is False and tm.cuda.device_count() == 0
    with pytest.raises(TypeError, match="only float tensors can require grad"):
        tm.arange(3, requires_grad=True)


@pytest.mark.parametrize("make", [
    lambda **k: tm.randn(3, 4, **k), lambda **k: tm.rand((5,), **k), lambda **k: tm.randint(0, 10, (6,), **k),
    lambda **k: tm.randn_like(tm.zeros(2, 2), **k), lambda **k: tm.rand_like(tm.zeros(3, dtype=tm.float64), **k),
])
def test_a_seed_gives_bit_identical_random_tensors(make):
    tm.manual_seed(3)
    first = make().data
    tm.manual_seed(3)
    np.testing.assert_array_equal(make().data, first)
    np.testing.assert_array_equal(make(generator=11).data, make(generator=11).data)
    assert not np.array_equal(make(generator=11).data, make(generator=12).data)


def test_random_factories_draw_the_right_distribution_shape_and_dtype():
    x = tm.randn(20000, generator=0)
    assert x.dtype == np.float32 and abs(x.mean().item()) < 0.03 and abs(x.std().item() - 1) < 0.03
    u = tm.rand(20000, dtype=tm.float64, generator=0)
    assert u.dtype == np.float64 and u.data.min() >= 0 and u.data.max() < 1 and abs(u.mean().item() - 0.5) < 0.01
    i = tm.randint(3, 7, (1000,), generator=0)
    assert i.dtype == np.int64 and set(i.tolist()) == {3, 4, 5, 6}
    assert tm.randint(5, (2, 3), generator=0).shape == (2, 3) and tm.randn((), generator=0).shape == ()


def test_like_factories_take_shape_and_dtype_from_the_input():
    x = tm.tensor(np.ones((2, 3)), dtype=tm.float64)
    for made in (tm.zeros_like(x), tm.ones_like(x), tm.full_like(x, 4.0), tm.randn_like(x), tm.rand_like(x)):
        assert made.shape == (2, 3) and made.dtype == np.float64
    assert tm.ones_like(x, dtype=tm.long).dtype == np.int64 and tm.full_like(x, 4.0).data.tolist()[0] == [4.0] * 3
    with pytest.raises(TypeError, match="zeros_like: expected a Tensor, got list"):
        tm.zeros_like([1.0])


def test_from_numpy_shares_memory_and_as_tensor_shares_when_it_can():
    n = np.ones(3)
    t = tm.from_numpy(n)
    np.add(n, 1, out=n)
    assert t.tolist() == [2.0, 2.0, 2.0]
    t.add_(1)
    assert n.tolist() == [3.0, 3.0, 3.0]  # as PyTorch's tutorial shows: one memory
    assert tm.as_tensor(n).numpy() is n or np.shares_memory(tm.as_tensor(n).numpy(), n)
    assert not np.shares_memory(tm.as_tensor(n, dtype=tm.float32).numpy(), n)
    assert tm.as_tensor(t) is t and tm.as_tensor([1, 2]).dtype == np.int64
    with pytest.raises(TypeError, match="from_numpy: expected a NumPy array, got list"):
        tm.from_numpy([1.0])


@given(data=st.data(), n=st.integers(1, 3))
def test_cat_and_stack_with_dim_match_pytorch(data, n):
    torch = pytest.importorskip("torch")
    base = data.draw(shapes(min_dims=1, max_dims=3))
    dim = data.draw(st.integers(-len(base), len(base) - 1))
    parts = [data.draw(tensors(shape=base[:dim % len(base)] + (data.draw(st.integers(1, 3)),) + base[dim % len(base) + 1:]))
             for _ in range(n)]
    same_as_torch(tm.cat(parts, dim=dim), torch.cat([torch.tensor(p.data) for p in parts], dim=dim))
    np.testing.assert_array_equal(tm.concatenate(parts, axis=dim).data, tm.cat(parts, dim).data)
    assert_gradients(lambda *ts: tm.cat(ts, dim=dim), *parts)
    same = [data.draw(tensors(shape=base)) for _ in range(n)]
    new = data.draw(st.integers(-len(base) - 1, len(base)))
    same_as_torch(tm.stack(same, dim=new), torch.stack([torch.tensor(p.data) for p in same], dim=new))
    assert_gradients(lambda *ts: tm.stack(ts, dim=new), *same)


def test_factory_arguments_are_checked():
    cases = [
        (lambda: tm.zeros(-1), ValueError, r"zeros: size must be a shape of sizes >= 0, got \(-1,\)"),
        (lambda: tm.ones("3"), TypeError, "ones: size must be a shape"),
        (lambda: tm.arange(0, 5, 0), ValueError, "arange: step must not be 0"),
        (lambda: tm.linspace(0, 1, 2.5), TypeError, "linspace: steps must be an int"),
        (lambda: tm.randint(5, 2, (3,)), ValueError, "randint: high must be > low, got low=5, high=2"),
        (lambda: tm.randint(5), TypeError, "randint: give a size"),
        (lambda: tm.randn(2, dtype=tm.int64), TypeError, "randn: dtype must be float32 or float64"),
        (lambda: tm.zeros(2, dtype="text"), TypeError, "zeros: dtype must be float32, float64, an integer type or bool"),
        (lambda: tm.cat([]), ValueError, "cat: needs at least one tensor"),
        (lambda: tm.cat(tm.zeros(2)), TypeError, r"cat: expected a list or tuple of tensors, got one Tensor; wrap it: \[t\]"),
        (lambda: tm.cat([tm.zeros(2), tm.zeros(2)], dim=1), ValueError, "cat: dim 1 is out of range"),
        (lambda: tm.stack([tm.zeros(2)], dim=0, axis=0), TypeError, "stack: got both dim= and axis="),
        (lambda: tm.full((2,), "x"), TypeError, "full: fill_value must be a number"),
        (lambda: tm.randn(2, generator="seed"), TypeError, "randn: generator must be an int, a numpy.random.Generator or None"),
    ]
    for make, error, message in cases:
        with pytest.raises(error, match=message):
            make()
