"""The tensor methods a PyTorch user reaches for: each against PyTorch (values and gradients, in
float64, when torch is installed) and against central differences; hypothesis draws the shapes."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tinymed as tm
from tinymed import tensor_methods, tensor_shapes, tensor_values
from tinymed.testing import assert_gradients, shapes, tensors


def matches_torch(tm_fn, torch_fn, *arrays, rtol=1e-10):
    """tm_fn(*tensors) and torch_fn(*torch tensors) agree in value and in every input's gradient
    for the same upstream gradient."""
    torch = pytest.importorskip("torch")
    ours = [tm.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = tm_fn(*ours), torch_fn(*theirs)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=1e-12)
    g = np.random.default_rng(0).standard_normal(expected.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(a.grad), b.grad.numpy(), rtol=rtol, atol=1e-12)


arrays = st.builds(lambda t: t.data, tensors(shape=shapes(min_dims=1, max_dims=3)))
# values apart and away from 0, where max, min, abs and norm have kinks
separated = tensors(shape=shapes(min_dims=1, max_dims=3, min_side=2, max_side=3), unique=True,
                    elements=st.integers(-16, 16).filter(bool).map(lambda i: i / 8))


# -- the silent bugs ----------------------------------------------------------------------------------


def test_eq_and_ne_are_elementwise_bool_tensors_and_tensors_hash_by_identity():
    a, b = tm.tensor([1.0, 2.0, 3.0]), tm.tensor([1.0, 0.0, 3.0])
    assert (a == b).tolist() == [True, False, True] and (a == b).dtype == bool
    assert (a != b).tolist() == [False, True, False]
    assert (a == 2.0).tolist() == [False, True, False]
    same_values = tm.tensor([1.0, 2.0, 3.0])
    table = {a: "a", same_values: "other"}
    assert table[a] == "a" and len({a, same_values}) == 2
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(a == same_values)


@given(x=arrays, data=st.data())
def test_transpose_with_two_dims_swaps_them_as_pytorch(x, data):
    torch = pytest.importorskip("torch")
    d0, d1 = (data.draw(st.integers(-x.ndim, x.ndim - 1)) for _ in range(2))
    assert tm.tensor(x).transpose(d0, d1).shape == tuple(torch.tensor(x).transpose(d0, d1).shape)
    matches_torch(lambda t: t.transpose(d0, d1), lambda t: t.transpose(d0, d1), x)


def test_transpose_of_a_matrix_with_0_1_is_its_transpose():
    x = tm.tensor([[1.0, 2.0, 3.0]])
    assert x.transpose(0, 1).tolist() == [[1.0], [2.0], [3.0]]
    assert x.t().tolist() == x.T.tolist() == x.transpose().tolist() == [[1.0], [2.0], [3.0]]
    y = tm.tensor(np.zeros((2, 3, 4)))
    assert y.transpose(2, 0, 1).shape == y.permute(2, 0, 1).shape == (4, 2, 3)  # NumPy's full permutation


@pytest.mark.parametrize("case", ["x ** 0", "learnable base and exponent", "0 ** x"])
def test_pow_at_base_zero_matches_pytorch(case):
    fns = {"x ** 0": lambda a, b: a**0.0 + b, "learnable base and exponent": lambda a, b: a**b,
           "0 ** x": lambda a, b: 0.0**b + a}
    matches_torch(fns[case], fns[case], np.array([0.0, 0.0, 0.0, 1.5]), np.array([0.0, 1.0, 2.0, 1.5]))


# -- dim= and keepdim= beside axis= and keepdims= -----------------------------------------------------

REDUCTIONS = {
    "sum": lambda t, d, k: t.sum(dim=d, keepdim=k),
    "mean": lambda t, d, k: t.mean(dim=d, keepdim=k),
    "amax": lambda t, d, k: t.amax(dim=d, keepdim=k),
    "amin": lambda t, d, k: t.amin(dim=d, keepdim=k),
    "logsumexp": lambda t, d, k: t.logsumexp(dim=d, keepdim=k),
    "var": lambda t, d, k: t.var(dim=d, keepdim=k),
    "std": lambda t, d, k: t.std(dim=d, keepdim=k),
    "norm": lambda t, d, k: t.norm(dim=d, keepdim=k),
}


@pytest.mark.parametrize("name", REDUCTIONS)
@given(x=separated, data=st.data())
def test_reductions_with_dim_and_keepdim_match_pytorch(name, x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    keepdim = data.draw(st.booleans())
    fn = REDUCTIONS[name]
    matches_torch(lambda t: fn(t, dim, keepdim), lambda t: fn(t, dim, keepdim), x.data)
    assert_gradients(lambda t: fn(t, dim, keepdim), x)


@given(x=separated, data=st.data())
def test_prod_over_a_dim_matches_pytorch(x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    matches_torch(lambda t: t.prod(dim), lambda t: t.prod(dim), x.data)


def test_numpy_spelling_gives_the_same_as_pytorch_spelling():
    x = tm.tensor(np.arange(24.0).reshape(2, 3, 4))
    for name in ("sum", "mean", "amax", "amin", "prod", "logsumexp", "var", "std", "norm"):
        torch_way = getattr(x, name)(dim=(0, 2) if name in ("sum", "mean", "amax", "amin") else 1, keepdim=True)
        numpy_way = getattr(x, name)(axis=(0, 2) if name in ("sum", "mean", "amax", "amin") else 1, keepdims=True)
        np.testing.assert_array_equal(torch_way.data, numpy_way.data)
    np.testing.assert_array_equal(x.max(axis=1).data, x.amax(1).data)


def test_var_and_std_use_pytorchs_correction_of_one_by_default():
    x = tm.tensor([1.0, 2.0, 4.0, 7.0])
    data = np.array([1.0, 2.0, 4.0, 7.0])
    assert x.var().item() == pytest.approx(np.var(data, ddof=1))
    assert x.var(unbiased=False).item() == pytest.approx(np.var(data))
    assert x.std(correction=0).item() == pytest.approx(np.std(data))


def test_max_with_dim_returns_values_and_indices_as_pytorch():
    torch = pytest.importorskip("torch")
    x = np.array([[1.0, 5.0, 5.0], [7.0, 2.0, 7.0]])  # ties: the gradient goes to the returned index
    ours, theirs = tm.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    for name in ("max", "min"):
        values, indices = getattr(ours, name)(dim=1)
        expected = getattr(theirs, name)(dim=1)
        assert indices.tolist() == expected.indices.tolist() and indices.dtype == np.int64
        np.testing.assert_array_equal(values.data, expected.values.detach().numpy())
        values.sum().backward()
        expected.values.sum().backward()
        np.testing.assert_array_equal(np.asarray(ours.grad), theirs.grad.numpy())
        assert getattr(ours, name)(1, keepdim=True).values.shape == (2, 1)


@given(x=tensors(shape=shapes(min_dims=1, max_dims=3), unique=True), data=st.data())
def test_argmax_and_argmin_match_pytorch(x, data):
    torch = pytest.importorskip("torch")
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    keepdim = data.draw(st.booleans())
    t = torch.tensor(x.data)
    assert x.argmax().item() == t.argmax().item()
    assert x.argmin(dim, keepdim).tolist() == t.argmin(dim, keepdim).tolist()
    assert x.argmax(dim=dim).tolist() == t.argmax(dim=dim).tolist()


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_and_log_softmax_along_a_dim_match_pytorch(dim):
    x = np.random.default_rng(1).standard_normal((3, 4)) * 5
    matches_torch(lambda t: t.softmax(dim), lambda t: t.softmax(dim), x)
    matches_torch(lambda t: t.log_softmax(dim=dim), lambda t: t.log_softmax(dim=dim), x)


def test_norm_p1_and_inf_match_pytorch():
    x = np.array([[1.0, -3.0, 2.0], [0.5, 4.0, -1.0]])
    matches_torch(lambda t: t.norm(1), lambda t: t.norm(1), x)
    matches_torch(lambda t: t.norm(float("inf"), dim=1), lambda t: t.norm(float("inf"), dim=1), x)
    matches_torch(lambda t: t.norm(3, dim=0), lambda t: t.norm(3, dim=0), x)


# -- element-wise ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sin", "cos", "exp", "tanh", "sigmoid", "abs"])
@given(x=arrays)
def test_elementwise_methods_and_functions_match_pytorch(name, x):
    assume(np.all(np.abs(x) > 1e-3))
    torch = pytest.importorskip("torch")
    matches_torch(lambda t: getattr(t, name)(), lambda t: getattr(torch, name)(t), x)
    np.testing.assert_array_equal(getattr(tm, name)(tm.tensor(x)).data, getattr(tm.tensor(x), name)().data)


@given(x=arrays, data=st.data())
def test_clamp_maximum_minimum_match_pytorch(x, data):
    torch = pytest.importorskip("torch")
    lo, hi = data.draw(st.sampled_from([(-0.5, None), (None, 0.7), (-0.5, 0.7)]))
    assume(np.all(np.abs(np.abs(x) - 0.5) > 1e-3) and np.all(np.abs(x - 0.7) > 1e-3))
    matches_torch(lambda t: t.clamp(min=lo, max=hi), lambda t: t.clamp(min=lo, max=hi), x)
    y = np.flip(x).copy()
    matches_torch(lambda a, b: tm.maximum(a, b), torch.maximum, x, y)
    matches_torch(lambda a, b: tm.minimum(a, b), torch.minimum, x, y)


def test_function_forms_are_the_methods():
    x = tm.tensor(np.array([[0.5, 1.0], [2.0, 3.0]]))
    pairs = [(tm.exp(x), x.exp()), (tm.log(x), x.log()), (tm.sqrt(x), x.sqrt()), (tm.relu(x), x.relu()),
             (tm.sum(x, dim=1), x.sum(1)), (tm.mean(x, 0), x.mean(axis=0)), (tm.matmul(x, x), x @ x),
             (tm.clamp(x, 1.0, 2.0), x.clip(1.0, 2.0))]
    for a, b in pairs:
        np.testing.assert_array_equal(a.data, b.data)
    with pytest.raises(TypeError, match="tm.exp: input must be a Tensor, got list"):
        tm.exp([1.0])


# -- shapes ---------------------------------------------------------------------------------------------


@given(x=tensors(shape=shapes(min_dims=1, max_dims=3)), data=st.data())
def test_view_unsqueeze_squeeze_permute_match_pytorch(x, data):
    torch = pytest.importorskip("torch")
    perm = tuple(data.draw(st.permutations(range(x.ndim))))
    d = data.draw(st.integers(-x.ndim - 1, x.ndim))
    s = data.draw(st.integers(-x.ndim, x.ndim - 1))
    for fn in (lambda t: t.view(-1), lambda t: t.permute(*perm), lambda t: t.unsqueeze(d),
               lambda t: t.squeeze(), lambda t: t.squeeze(s), lambda t: t.flatten(),
               lambda t: t.unsqueeze(0).flatten(0, 1), lambda t: t.clone()):
        matches_torch(fn, fn, x.data)
        assert_gradients(fn, x)


@given(x=tensors(shape=shapes(min_dims=1, max_dims=3, max_side=3)), data=st.data())
def test_expand_and_repeat_match_pytorch(x, data):
    target = tuple(data.draw(st.sampled_from([1, 3])) if n == 1 else n for n in x.shape)
    reps = data.draw(st.lists(st.integers(1, 3), min_size=x.ndim, max_size=x.ndim + 1))
    matches_torch(lambda t: t.expand(2, *target), lambda t: t.expand(2, *target), x.data)
    matches_torch(lambda t: t.expand(-1, *x.shape[1:]), lambda t: t.expand(-1, *x.shape[1:]), x.data)
    matches_torch(lambda t: t.repeat(*reps), lambda t: t.repeat(*reps), x.data)


@given(x=tensors(shape=shapes(min_dims=1, max_dims=3, max_side=6)), data=st.data())
def test_split_and_chunk_match_pytorch(x, data):
    torch = pytest.importorskip("torch")
    dim = data.draw(st.integers(0, x.ndim - 1))
    size = data.draw(st.integers(1, 4))
    for ours, theirs in [(x.split(size, dim), torch.tensor(x.data).split(size, dim)),
                         (x.chunk(size, dim), torch.tensor(x.data).chunk(size, dim))]:
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a.data, b.numpy())
    sections = [1, x.shape[dim] - 1] if x.shape[dim] > 1 else [1]
    assert [p.shape[dim] for p in x.split(sections, dim)] == sections
    assert_gradients(lambda t: tm.cat([p * (i + 1) for i, p in enumerate(t.split(size, dim))], dim), x)


def test_gather_and_masked_fill_match_pytorch():
    torch = pytest.importorskip("torch")
    x = np.arange(12.0).reshape(3, 4) / 7
    index = np.array([[0, 0], [3, 1], [2, 2]])
    matches_torch(lambda t: t.gather(1, tm.tensor(index)), lambda t: t.gather(1, torch.tensor(index)), x)
    mask = x > 0.8
    matches_torch(lambda t: t.masked_fill(tm.tensor(mask), -1.0), lambda t: t.masked_fill(torch.tensor(mask), -1.0), x)


def test_sizes_lists_numbers_and_iteration():
    x = tm.tensor(np.arange(6.0).reshape(2, 3))
    assert x.size() == (2, 3) and x.size(0) == 2 and x.size(-1) == 3
    assert x.size == 6 and x.numel() == 6 and x.dim() == 2  # .size stays NumPy's element count
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and tm.tensor(2.5).tolist() == 2.5
    loss = tm.tensor(0.123456)
    assert float(loss) == pytest.approx(0.123456) and f"{loss:.4f}" == "0.1235" and f"{loss}" == str(loss)
    assert int(tm.tensor(3.9)) == 3 and bool(tm.tensor(0.0)) is False
    assert [1, 2, 3][tm.tensor(2)] == 3
    assert 4.0 in x and 7.0 not in x
    assert len(x) == 2 and [row.tolist() for row in x] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        iter(tm.tensor(1.0)).__next__()


def test_conversions_between_dtypes_and_to_the_cpu():
    x = tm.tensor([1.7, -2.5], requires_grad=True)
    assert x.double().dtype == tm.float64 and x.to(tm.float64).dtype == np.float64
    assert x.to("cpu") is x and x.cpu() is x and x.to(tm.device("cpu"), tm.float32) is x
    assert x.long().tolist() == [1, -2] and x.long().dtype == tm.int64 and not x.long().requires_grad
    assert x.bool().tolist() == [True, True] and x.int().dtype == np.int32
    assert x.to(tm.zeros(1, dtype=tm.float64)).dtype == np.float64
    x.double().sum().backward()  # float to float stays in the graph
    assert np.asarray(x.grad).tolist() == [1.0, 1.0] and x.grad.dtype == np.float32
    with pytest.raises(ValueError, match="tinymed is a NumPy library and runs on the CPU only"):
        x.to("cuda")


# -- in place, under no_grad ----------------------------------------------------------------------------


def test_hand_written_sgd_step_under_no_grad():
    w = tm.tensor([1.0, -2.0], requires_grad=True)
    (w * w).sum().backward()
    with tm.no_grad():
        w -= 0.1 * w.grad
    assert w.tolist() == pytest.approx([0.8, -1.6]) and w.requires_grad and w.is_leaf
    w.grad.zero_()
    assert np.asarray(w.grad).tolist() == [0.0, 0.0]


def test_in_place_methods_change_the_tensor_and_return_it():
    t = tm.tensor([1.0, 2.0, 3.0])
    assert t.add_(1.0) is t and t.tolist() == [2.0, 3.0, 4.0]
    t.sub_(tm.tensor([1.0, 1.0, 1.0]), alpha=2)
    assert t.tolist() == [0.0, 1.0, 2.0]
    t.mul_(3)
    t += 1
    t *= 2
    t /= 2
    assert t.tolist() == [1.0, 4.0, 7.0]
    assert t.clamp_(max=5.0).tolist() == [1.0, 4.0, 5.0]
    assert t.fill_(2.5).tolist() == [2.5, 2.5, 2.5]
    assert t.copy_(np.array(7.0)).tolist() == [7.0, 7.0, 7.0]  # src broadcasts
    assert t.zero_().tolist() == [0.0, 0.0, 0.0] and t.dtype == np.float32


def test_in_place_on_a_tensor_that_requires_grad_is_refused_outside_no_grad():
    w = tm.tensor([1.0, 2.0], requires_grad=True)
    for update in (lambda: w.__isub__(1.0), lambda: w.zero_(), lambda: w.copy_(np.ones(2)), lambda: w.mul_(2)):
        with pytest.raises(RuntimeError, match="requires grad is invisible to backward: do it under tm.no_grad"):
            update()
    assert w.tolist() == [1.0, 2.0]


def test_in_place_on_an_array_a_live_graph_saved_is_refused():
    w = tm.tensor([1.0, 2.0], requires_grad=True)
    x = tm.tensor([3.0, 4.0])
    loss = (w * x).sum()  # Mul saved x for w's gradient
    with pytest.raises(ValueError, match="saved it for backward"):
        x.add_(1.0)
    loss.backward()
    assert np.asarray(w.grad).tolist() == [3.0, 4.0]
    x.add_(1.0)  # the graph is gone: allowed
    assert x.tolist() == [4.0, 5.0]


def test_in_place_keeps_the_dtype_and_the_shape():
    i = tm.tensor([1, 2])
    with pytest.raises(TypeError, match=r"\+=: the result is float64 but this tensor is int64"):
        i += 0.5
    with pytest.raises(ValueError, match=r"add_: a value of shape \(2, 2\) does not broadcast .* cannot change the shape"):
        tm.tensor([1.0, 2.0]).add_(np.ones((2, 2)))


# -- every method is a named def with a docstring ---------------------------------------------------------


def test_every_operator_and_method_is_a_named_def_with_a_docstring():
    for cls in (tensor_methods.MathMethods, tensor_shapes.ShapeMethods, tensor_values.ValueMethods):
        for name, value in vars(cls).items():
            if callable(value) and name != "__hash__":
                attached = getattr(tm.Tensor, name)
                assert attached.__name__ != "<lambda>" and attached.__doc__, name
                assert attached.__qualname__ in (f"Tensor.{name}", f"Tensor.{attached.__name__}")
    assert "element-wise" in tm.Tensor.__add__.__doc__


def test_a_wrong_keyword_names_the_public_method():
    x = tm.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=r"Tensor.sum\(\) got an unexpected keyword argument 'dims'"):
        x.sum(dims=0)
    with pytest.raises(TypeError, match="sum: got both dim= and axis="):
        x.sum(dim=0, axis=0)
    with pytest.raises(TypeError, match="mean: got both keepdim= and keepdims="):
        x.mean(keepdim=True, keepdims=True)


def test_clip_keeps_the_numpy_keyword_names_lo_and_hi_of_the_api():
    x = tm.tensor([-1.0, 0.5, 2.0])
    np.testing.assert_array_equal(x.clip(lo=0.0, hi=1.0).numpy(), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(x.clip(hi=1.0).numpy(), [-1.0, 0.5, 1.0])
