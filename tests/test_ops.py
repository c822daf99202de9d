"""Every op: its forward against plain NumPy and its backward against central differences,
on shapes drawn by hypothesis (broadcasting included)."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinymed as tm
from tinymed.testing import assert_gradients, broadcastable_shapes, shapes, tensors

positive = st.floats(0.5, 3.0)
away_from_zero = st.floats(0.1, 2.0).flatmap(lambda v: st.sampled_from([v, -v]))


def assert_forward(out, expected):
    assert isinstance(out, tm.Tensor)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


# -- binary arithmetic with broadcasting, both operand orders -------------------------------------

BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "pow": (lambda a, b: a**b, np.power),
}


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_op_with_broadcasting(name, data):
    shape_a, shape_b = data.draw(broadcastable_shapes())
    elements_b = positive if name in ("div", "pow") else None
    a = data.draw(tensors(shape=shape_a, elements=positive if name == "pow" else None))
    b = data.draw(tensors(shape=shape_b, elements=elements_b))
    op, reference = BINARY[name]
    assert_forward(op(a, b), reference(a.data, b.data))
    assert_gradients(op, a, b)


@pytest.mark.parametrize("name", BINARY)
def test_binary_op_with_a_number_or_array_on_either_side(name):
    op, reference = BINARY[name]
    x = tm.tensor(np.array([[0.5, 1.5], [2.0, 2.5]]), requires_grad=True)
    c = np.array([1.5, 2.0])
    assert_forward(op(x, 2.0), reference(x.data, 2.0))
    assert_forward(op(2.0, x), reference(2.0, x.data))
    assert_forward(op(c, x), reference(c, x.data))
    assert_gradients(lambda t: op(t, 2.0), x)
    assert_gradients(lambda t: op(2.0, t), x)
    assert_gradients(lambda t: op(c, t), x)


@given(tensors())
def test_neg(x):
    assert_forward(-x, -x.data)
    assert_gradients(lambda t: -t, x)


def test_pow_gradients_at_base_zero_are_zero_not_nan():
    # x ** 0 is constant 1: d/dx = 0 also at x = 0 (0 * 0^-1 would be nan)
    x = tm.tensor(np.array([0.0, 2.0]), requires_grad=True)
    (x**0.0).sum().backward()
    assert np.asarray(x.grad).tolist() == [0.0, 0.0]
    # a learnable exponent at base 0: d(0^b)/db = 0^b ln 0 -> 0 for b >= 0
    base = tm.tensor(np.array([0.0, 0.0, 2.0]))
    b = tm.tensor(np.array([0.0, 1.5, 1.5]), requires_grad=True)
    (base**b).sum().backward()
    np.testing.assert_allclose(np.asarray(b.grad), [0.0, 0.0, 2.0**1.5 * np.log(2.0)])
    b.grad = None
    (0.0**b).sum().backward()
    assert np.asarray(b.grad).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@given(data=st.data())
def test_maximum_minimum_with_broadcasting(name, data):
    shape_a, shape_b = data.draw(broadcastable_shapes())
    a, b = data.draw(tensors(shape=shape_a)), data.draw(tensors(shape=shape_b))
    assume(np.all(np.abs(np.subtract(a.data, b.data)) > 1e-3))  # a tie is a kink
    assert_forward(getattr(tm, name)(a, b), getattr(np, name)(a.data, b.data))
    assert_gradients(getattr(tm, name), a, b)


def test_maximum_shares_the_gradient_at_a_tie():
    a = tm.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    b = tm.tensor(np.array([2.0, 2.0, 2.0]), requires_grad=True)
    a.maximum(b).sum().backward()
    assert np.asarray(a.grad).tolist() == [0.0, 0.5, 1.0]
    assert np.asarray(b.grad).tolist() == [1.0, 0.5, 0.0]


# -- matmul ----------------------------------------------------------------------------------------

matmul_shapes = st.sampled_from(
    [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
     ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((2, 1, 2, 3), (4, 3, 2)), ((4, 2, 3), (3,))]
)


@given(data=st.data(), pair=matmul_shapes)
def test_matmul_one_two_and_batched(data, pair):
    a = data.draw(tensors(shape=pair[0]))
    b = data.draw(tensors(shape=pair[1]))
    assert_forward(a @ b, a.data @ b.data)
    assert_gradients(lambda a, b: a @ b, a, b)


def test_matmul_shape_mismatch_names_both_shapes():
    a, b = tm.tensor(np.ones((2, 3))), tm.tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) do not match: .*\(3\).*\(4\)"):
        a @ b
    with pytest.raises(ValueError, match="at least 1 dim"):
        a @ tm.tensor(2.0, dtype=np.float64)


# -- reductions --------------------------------------------------------------------------------------


@st.composite
def tensor_and_axis(draw, separated=False):
    # max/min need values apart by more than eps: a near-tie makes the derivative one-sided.
    elements = st.integers(-16, 16).map(lambda i: i / 8) if separated else None
    x = draw(tensors(elements=elements, unique=separated))
    axis = draw(st.one_of(
        st.none(),
        st.integers(-x.ndim, x.ndim - 1),
        st.lists(st.integers(0, x.ndim - 1), min_size=1, max_size=x.ndim, unique=True).map(tuple),
    ))
    return x, axis, draw(st.booleans())


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod"])
@given(case=st.data())
def test_reductions_over_axes_with_keepdims(name, case):
    x, axis, keepdims = case.draw(tensor_and_axis(separated=name in ("max", "min")))
    out = getattr(x, name)(axis=axis, keepdims=keepdims)
    assert_forward(out, getattr(np, "a" + name if name in ("max", "min") else name)(x.data, axis=axis, keepdims=keepdims))
    assert_gradients(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims), x)


def test_max_shares_the_gradient_between_ties():
    x = tm.tensor(np.array([1.0, 3.0, 3.0]), requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.5]


@given(case=tensor_and_axis())
def test_logsumexp_and_norm_over_axes(case):
    x, axis, keepdims = case
    axes = tuple(range(x.ndim)) if axis is None else axis
    expected = np.log(np.exp(x.data).sum(axis=axes, keepdims=keepdims))
    assert_forward(x.logsumexp(axis=axis, keepdims=keepdims), expected)
    assert_gradients(lambda t: t.logsumexp(axis=axis, keepdims=keepdims), x)
    assume(np.all(np.abs(x.data) > 1e-3))  # |x| has a kink at 0
    for p in (1, 2, 3):
        norm = (np.abs(x.data) ** p).sum(axis=axes, keepdims=keepdims) ** (1 / p)
        assert_forward(x.norm(p, axis=axis, keepdims=keepdims), norm)
        assert_gradients(lambda t: t.norm(p, axis=axis, keepdims=keepdims), x)


@given(x=tensors(elements=st.sampled_from([0.0, 0.0, -1.5, 0.5, 2.0])))
def test_prod_gradient_is_exact_where_elements_are_zero(x):
    # d prod / d x_i = the product of the others, also when x_i or another element is 0
    expected = [np.prod(np.delete(x.data.ravel(), i)) for i in range(x.data.size)]
    x.prod().backward()
    np.testing.assert_allclose(np.asarray(x.grad).ravel(), expected, rtol=1e-12, atol=0)  # zeros exactly


def test_logsumexp_of_huge_and_all_minus_inf_values():
    x = tm.tensor(np.array([[1000.0, 1000.0], [-np.inf, -np.inf]]))
    np.testing.assert_allclose(x.logsumexp(dim=1).data, [1000.0 + np.log(2.0), -np.inf])


def test_norm_gradient_at_the_zero_vector_is_zero():
    x = tm.tensor(np.zeros(3), requires_grad=True)
    x.norm().backward()
    assert np.asarray(x.grad).tolist() == [0.0, 0.0, 0.0]


def test_a_reduction_axis_out_of_range_is_a_clear_error():
    with pytest.raises(ValueError, match="axis 2 is out of range for a tensor with 2 dims"):
        tm.tensor(np.ones((2, 3))).sum(axis=2)


# -- element-wise functions ------------------------------------------------------------------------

UNARY = {
    "exp": (lambda t: t.exp(), np.exp, None),
    "log": (lambda t: t.log(), np.log, positive),
    "sqrt": (lambda t: t.sqrt(), np.sqrt, positive),
    "abs": (lambda t: t.abs(), np.abs, away_from_zero),
    "relu": (lambda t: t.relu(), lambda a: np.maximum(a, 0), away_from_zero),
    "sigmoid": (lambda t: t.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), None),
    "tanh": (lambda t: t.tanh(), np.tanh, None),
    "sin": (lambda t: t.sin(), np.sin, None),
    "cos": (lambda t: t.cos(), np.cos, None),
    "clip": (lambda t: t.clip(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), None),
}


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_elementwise_function(name, data):
    op, reference, elements = UNARY[name]
    x = data.draw(tensors(elements=elements))
    if name == "clip":
        assume(np.all(np.abs(np.abs(x.data) - 0.5) > 1e-3))  # away from the kinks
    assert_forward(op(x), reference(x.data))
    assert_gradients(op, x)


def test_sigmoid_is_stable_at_extreme_logits():
    x = tm.tensor(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=np.float32), requires_grad=True)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        y = x.sigmoid()
        y.sum().backward()
    assert y.data.tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.0], abs=1e-20)
    assert np.all(np.isfinite(np.asarray(x.grad)))


def test_clamp_with_one_bound_only():
    x = tm.tensor(np.array([-2.0, 0.5, 3.0]), requires_grad=True)
    y = x.clamp(min=0.0)
    assert y.data.tolist() == [0.0, 0.5, 3.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0]


# -- shapes and indexing ------------------------------------------------------------------------------


@given(x=tensors(shape=shapes(min_dims=1, max_dims=4)), data=st.data())
def test_reshape_transpose_T_flatten(x, data):
    shape = data.draw(st.permutations(x.shape)).copy()
    assert_forward(x.reshape(*shape), x.data.reshape(shape))
    assert_gradients(lambda t: t.reshape(shape), x)
    axes = tuple(data.draw(st.permutations(range(x.ndim))))
    assert_forward(x.permute(*axes), x.data.transpose(axes))
    assert_gradients(lambda t: t.permute(*axes), x)
    assert_forward(x.T, x.data.T)
    assert_gradients(lambda t: t.T, x)
    start = data.draw(st.integers(0, x.ndim - 1))
    assert_forward(x.flatten(start), x.data.reshape(x.shape[:start] + (-1,)))
    assert_gradients(lambda t: t.flatten(start), x)


@given(x=tensors(shape=shapes(min_dims=1, max_dims=3, max_side=3)), data=st.data())
def test_expand_repeat_clone(x, data):
    target = tuple(data.draw(st.integers(1, 3)) if n == 1 else n for n in x.shape)
    lead = data.draw(st.lists(st.integers(1, 3), max_size=2))
    assert_forward(x.expand(*lead, *target), np.broadcast_to(x.data, (*lead, *target)))
    assert_gradients(lambda t: t.expand(*lead, *target), x)
    reps = data.draw(st.lists(st.integers(1, 3), min_size=x.ndim, max_size=x.ndim + 1))
    assert_forward(x.repeat(*reps), np.tile(x.data, reps))
    assert_gradients(lambda t: t.repeat(*reps), x)
    assert_forward(x.clone(), x.data)
    assert_gradients(lambda t: t.clone(), x)


@given(x=tensors(shape=shapes(min_dims=1, max_dims=3, min_side=1)), data=st.data())
def test_basic_indexing(x, data):
    index = data.draw(hnp.basic_indices(x.shape, allow_newaxis=True, allow_ellipsis=True))
    assert_forward(x[index], x.data[index])
    assert_gradients(lambda t: t[index], x)


@given(x=tensors(shape=shapes(min_dims=1, max_dims=3)), data=st.data())
def test_integer_array_indexing_accumulates_repeated_indices(x, data):
    index = np.array(data.draw(st.lists(st.integers(0, x.shape[0] - 1), min_size=1, max_size=6)))
    assert_forward(x[index], x.data[index])
    assert_gradients(lambda t: t[index], x)


def test_repeated_index_gets_the_sum_of_its_gradients():
    x = tm.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    x[[0, 0, 2]].sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 1.0]


def test_boolean_mask_and_tensor_indices():
    x = tm.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    y = x[x > 0]
    assert y.data.tolist() == [1.0, 3.0]
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0]
    idx = tm.tensor(np.array([2, 1]))
    assert x[idx].data.tolist() == [3.0, -2.0]


# -- joining and choosing ------------------------------------------------------------------------------


@given(data=st.data(), n=st.integers(1, 3))
def test_concatenate_and_stack(data, n):
    base = data.draw(shapes(min_dims=1, max_dims=3))
    axis = data.draw(st.integers(0, len(base) - 1))
    concat_shapes = [base[:axis] + (data.draw(st.integers(1, 3)),) + base[axis + 1:] for _ in range(n)]
    parts = [data.draw(tensors(shape=s)) for s in concat_shapes]
    assert_forward(tm.concatenate(parts, axis=axis), np.concatenate([p.data for p in parts], axis=axis))
    assert_gradients(lambda *ts: tm.concatenate(ts, axis=axis), *parts)
    same = [data.draw(tensors(shape=base)) for _ in range(n)]
    new_axis = data.draw(st.integers(0, len(base)))
    assert_forward(tm.stack(same, axis=new_axis), np.stack([p.data for p in same], axis=new_axis))
    assert_gradients(lambda *ts: tm.stack(ts, axis=new_axis), *same)


@given(data=st.data())
def test_where_with_broadcasting(data):
    shape_a, shape_b = data.draw(broadcastable_shapes())
    a, b = data.draw(tensors(shape=shape_a)), data.draw(tensors(shape=shape_b))
    cond = data.draw(hnp.arrays(bool, np.broadcast_shapes(shape_a, shape_b)))
    assert_forward(tm.where(cond, a, b), np.where(cond, a.data, b.data))
    assert_gradients(lambda a, b: tm.where(cond, a, b), a, b)


def test_joining_errors_name_the_shapes():
    with pytest.raises(ValueError, match="at least one tensor"):
        tm.concatenate([])
    with pytest.raises(ValueError, match=r"stack: all tensors must have the same shape, got \[\(2,\), \(3,\)\]"):
        tm.stack([tm.tensor(np.ones(2)), tm.tensor(np.ones(3))])
    with pytest.raises(ValueError, match=r"concatenate: cannot join shapes \[\(2, 2\), \(3, 3\)\] along axis 0"):
        tm.concatenate([tm.tensor(np.ones((2, 2))), tm.tensor(np.ones((3, 3)))])
    with pytest.raises(TypeError, match="condition must be boolean"):
        tm.where(np.array([1, 0]), tm.tensor([1.0, 2.0]), 0.0)
    with pytest.raises(ValueError, match=r"cannot reshape a tensor of shape \(2, 3\) \(6 elements\) to \(4,\)"):
        tm.tensor(np.ones((2, 3))).reshape(4)
    with pytest.raises(ValueError, match="not a permutation"):
        tm.tensor(np.ones((2, 3))).transpose(0, 0, 1)


def test_every_op_keeps_float32():
    x = tm.tensor(np.linspace(0.5, 2.0, 6).reshape(2, 3), dtype=np.float32, requires_grad=True)
    results = [x + 1, x - 1, x * 2, x / 2, x**2, 2**x, -x, x @ x.T, x.sum(), x.mean(0), x.max(axis=1),
               x.min(), x.exp(), x.log(), x.sqrt(), x.abs(), x.clip(1, 2), x.relu(), x.sigmoid(),
               x.tanh(), x.reshape(3, 2), x.T, x.flatten(), x[0], tm.concatenate([x, x]),
               tm.stack([x, x]), tm.where(x.data > 1, x, 0.0), x.maximum(x * 2), x.minimum(1.5), x.prod(1),
               x.logsumexp(1), x.norm(), x.var(1), x.std(), x.sin(), x.cos(), x.expand(4, 2, 3), x.repeat(2, 1),
               x.clone(), x.softmax(1), x.log_softmax(0), x.max(dim=1).values, x.masked_fill(x > 1, 0.0),
               x.unsqueeze(0), x.t(), x.split(1)[1], x.gather(1, np.array([[0], [2]]))]
    for y in results:
        assert y.dtype == np.float32, y.grad_fn
        y.sum().backward()
        assert x.grad.dtype == np.float32, y.grad_fn


def test_bad_arguments_to_tensor_methods_are_named():
    x = tm.tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) do not broadcast"):
        x + np.ones(4)
    with pytest.raises(ValueError, match=r"mul: shapes \(5,\) and \(2, 3\) do not broadcast"):
        np.ones(5) * x
    with pytest.raises(ValueError, match=r"where: condition, input and other of shapes \(2, 3\), \(2, 3\), \(3, 2\) do not broadcast"):
        tm.where(np.ones((2, 3), bool), x, np.ones((3, 2)))
    with pytest.raises(TypeError, match="Add: expected a Tensor, a NumPy array or a number, got NoneType"):
        x + None
    with pytest.raises(TypeError, match="axis must be None, an int or a tuple of ints, got 'a'"):
        x.mean(axis="a")
    with pytest.raises(ValueError, match="clamp: min must be <= max, got min=3, max=1"):
        x.clip(3, 1)
    with pytest.raises(ValueError, match="flatten: start_dim 5 is out of range for a tensor with 2 dims"):
        x.flatten(5)


def test_tensor_construction_errors_are_named():
    with pytest.raises(ValueError, match="Tensor: cannot make an array of this list.*inhomogeneous"):
        tm.tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match="requires_grad must be True or False, got 'yes'"):
        tm.tensor([1.0], requires_grad="yes")
    with pytest.raises(TypeError, match=r"len\(\) of a 0-d tensor"):
        len(tm.tensor(1.0))
    assert tm.tensor([tm.tensor(1.0), tm.tensor(2.0)]).data.tolist() == [1.0, 2.0]
