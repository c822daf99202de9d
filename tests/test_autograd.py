"""The engine: the backward walk, accumulation, .grad as a Tensor, hooks, dtypes, the graph's nodes."""
import gc

import numpy as np
import pytest

import tinymed as tm
from tinymed.autograd import Function, unbroadcast


def leaf(values, dtype=np.float64):
    return tm.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


class Square(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


# -- the chain rule and the walk ---------------------------------------------------------------


def test_backward_of_a_polynomial_matches_its_derivative_by_hand():
    x = leaf([1.0, -2.0, 3.0])
    y = (x * x * x - 2 * x + 1).sum()
    y.backward()
    np.testing.assert_allclose(x.grad, 3 * x.data**2 - 2)


def test_a_tensor_used_twice_receives_the_sum_of_both_gradients():
    a = leaf([2.0])
    (a + a).sum().backward()
    assert a.grad.tolist() == [2.0]
    b = leaf([3.0])
    c = b * 2
    (c * c).sum().backward()  # d(4 b^2)/db = 8 b
    assert b.grad.tolist() == [24.0]


def test_diamond_graph_visits_the_shared_node_once_with_its_complete_gradient():
    x = leaf([1.5])
    h = x.exp()  # used by two branches
    y = (h * 2 + h.log()).sum()  # 2 e^x + x
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * np.exp(1.5) + 1)


def test_gradients_accumulate_in_leaves_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_a_graph_100000_nodes_deep_goes_backward_without_recursion():
    x = leaf([1.0])
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]


def test_a_deep_graph_dropped_without_backward_is_freed_safely():
    x = leaf([1.0])
    y = x
    for _ in range(100_000):
        y = y * 1.0
    del y
    gc.collect()
    x.data[0] = 2.0  # no node holds x's array any more, so it is writeable again


def test_non_scalar_output_needs_an_explicit_grad():
    x = leaf([1.0, 2.0])
    y = x * 2
    with pytest.raises(ValueError, match=r"non-scalar output needs an explicit grad"):
        y.backward()
    y.backward(np.array([1.0, 10.0]))
    assert x.grad.tolist() == [2.0, 20.0]


def test_grad_of_the_wrong_shape_is_refused():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\) but the output has shape \(2,\)"):
        y.backward(np.ones(3))
    with pytest.raises(ValueError, match=r"backward: grad has shape \(3,\)"):
        y.backward(grad=np.ones(3))


def test_backward_twice_through_a_freed_graph_says_retain_graph():
    x = leaf([1.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([3.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [12.0]


def test_backward_on_a_tensor_without_graph_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tm.tensor([1.0]).sum().backward()


def test_only_leaves_keep_grad_unless_retain_grad():
    x = leaf([2.0])
    h = x * 3
    k = (x * 4).retain_grad()
    (h * k).sum().backward()
    assert h.grad is None
    np.testing.assert_allclose(k.grad, [6.0])  # d(h k)/dk = h


def test_no_grad_records_no_graph_as_context_and_decorator():
    x = leaf([1.0])
    with tm.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None

    @tm.no_grad()
    def double(t):
        return t * 2

    assert double(x).grad_fn is None
    assert (x * 2).grad_fn.name == "MulBackward"


def test_detach_cuts_the_graph():
    x = leaf([1.0])
    y = (x * 2).detach()
    assert y.is_leaf and not y.requires_grad


# -- broadcasting is undone once, in the engine --------------------------------------------------


@pytest.mark.parametrize(
    "grad_shape, shape, axes",
    [((2, 3), (3,), (0,)), ((2, 3), (2, 1), (1,)), ((4, 2, 3), (1, 3), (0, 1)), ((2, 3), (), (0, 1))],
)
def test_unbroadcast_sums_over_the_broadcast_axes(grad_shape, shape, axes):
    g = np.arange(np.prod(grad_shape), dtype=float).reshape(grad_shape)
    np.testing.assert_array_equal(unbroadcast(g, shape), g.sum(axis=axes).reshape(shape))


def test_a_broadcast_operand_gets_its_gradient_summed_back_to_its_shape():
    a = leaf(np.ones((2, 3)))
    b = leaf([1.0, 2.0, 3.0])
    (a * b).sum().backward()
    assert b.grad.shape == (3,)
    assert b.grad.tolist() == [2.0, 2.0, 2.0]


# -- dtypes ----------------------------------------------------------------------------------------


def test_dtypes_are_inferred_as_pytorch_infers_them():
    assert tm.tensor(1.5).dtype == np.float32  # Python floats: the default float dtype
    assert tm.tensor([1, 2]).dtype == np.int64  # Python ints: int64, so they can index
    assert tm.tensor([True, False]).dtype == np.bool_
    assert tm.tensor([1, 2.5]).dtype == np.float32  # a list takes its widest element's kind
    assert tm.tensor(np.array([1.0])).dtype == np.float64  # an array keeps its dtype
    assert tm.tensor(np.array([1, 2], dtype=np.int32)).dtype == np.int32
    assert tm.tensor(tm.tensor([1.0], dtype=np.float64)).dtype == np.float64  # so does a tensor
    assert tm.tensor([1.0], dtype=np.float64).dtype == np.float64
    assert tm.tensor([1, 2], dtype=np.float32).dtype == np.float32
    assert tm.tensor([tm.tensor(1.0), tm.tensor(2.0)]).tolist() == [1.0, 2.0]  # a list of tensors


def test_integer_tensors_stay_integer_until_a_float_joins():
    a, b = tm.tensor([1, 2]), tm.tensor([3, 4])
    assert (a + b).dtype == np.int64 and (a + b).tolist() == [4, 6]
    assert (a * 3).dtype == np.int64
    assert (a * 2.5).dtype == np.float32  # a float constant: the default float dtype
    assert (a + tm.tensor([0.5, 0.5], dtype=np.float64)).dtype == np.float64  # int op float: the float's
    assert (a / b).dtype == np.float32 and (a / b).tolist() == pytest.approx([1 / 3, 0.5])
    assert (tm.tensor([True, False]) + 1).dtype == np.int64


def test_set_default_dtype_switches_to_float64_and_back():
    try:
        tm.set_default_dtype(np.float64)
        assert tm.tensor([1.0]).dtype == np.float64
    finally:
        tm.set_default_dtype(np.float32)
    assert tm.get_default_dtype() == np.float32
    with pytest.raises(TypeError, match="float32 or float64"):
        tm.set_default_dtype(np.int32)


def test_constants_take_the_tensors_dtype_so_float32_stays_float32():
    x = tm.tensor([1.0, 2.0], requires_grad=True)
    y = x * np.array([0.5, 0.25]) + 1.0 + np.float64(2.0)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    z = np.array([1.0, 1.0]) - x  # ndarray first: Tensor.__rsub__ runs
    assert isinstance(z, tm.Tensor) and z.dtype == np.float32


def test_mixing_float32_and_float64_tensors_raises_instead_of_promoting():
    a = tm.tensor([1.0])
    b = tm.tensor([1.0], dtype=np.float64)
    with pytest.raises(TypeError, match=r"different float dtypes \(float32, float64\).*\.double\(\)"):
        a + b
    assert (a.double() + b).dtype == np.float64


def test_cast_is_differentiable_and_returns_the_gradient_in_the_original_dtype():
    x = tm.tensor([2.0], requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0]


def test_a_forward_that_promotes_to_float64_is_caught():
    class Promote(Function):
        @staticmethod
        def forward(ctx, x):
            return x * np.ones(1)  # a float64 array sneaks in

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError, match="Promote.forward returned float64 for float32 inputs"):
        Promote.apply(tm.tensor([1.0]))


def test_only_float_tensors_can_require_grad():
    with pytest.raises(TypeError, match="only float tensors can require grad"):
        tm.tensor(np.array([1, 2]), requires_grad=True)


def test_non_numeric_data_is_refused():
    with pytest.raises(TypeError, match="Tensor"):
        tm.tensor(["a", "b"])


# -- custom Functions ------------------------------------------------------------------------------


def test_a_custom_function_plugs_into_the_graph():
    x = leaf([1.0, -3.0])
    y = Square.apply(x)
    assert y.grad_fn.name == "SquareBackward" and repr(y.grad_fn) == "<SquareBackward>"
    y.sum().backward()
    assert x.grad.tolist() == [2.0, -6.0]


def test_a_backward_returning_too_few_gradients_is_reported():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="Bad.backward returned 1 gradients for 2 inputs"):
        Bad.apply(leaf([1.0]), leaf([2.0])).sum().backward()


def test_needs_input_grad_tells_backward_what_to_compute():
    seen = []

    class Spy(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            seen.append(ctx.needs_input_grad)
            return g, None

    Spy.apply(leaf([1.0]), tm.tensor([2.0], dtype=np.float64)).sum().backward()
    assert seen == [(True, False)]


# -- what a tensor shows -----------------------------------------------------------------------------


def test_repr_shows_values_shape_dtype_and_the_op_that_made_it():
    x = tm.tensor([[1.0, 2.0]], requires_grad=True)
    assert repr(x) == "Tensor([[1., 2.]], shape=(1, 2), dtype=float32, requires_grad=True)"
    assert "grad_fn=<MulBackward>" in repr(x * 2)
    assert "shape=(100,)" in repr(tm.tensor(np.zeros(100)))


def test_item_numpy_len_and_array_protocol():
    x = tm.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert len(x) == 2 and x.size == 4 and x.ndim == 2
    assert x.sum().item() == 10.0
    assert np.asarray(x) is x.numpy()
    with pytest.raises(ValueError, match="one-element"):
        x.item()


@pytest.mark.parametrize("wrong", [np.ones((3, 2)), np.ones(()), np.ones((2, 4))])
def test_a_backward_returning_a_gradient_of_the_wrong_shape_is_reported(wrong):
    class WrongShape(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return wrong

    with pytest.raises(RuntimeError, match=r"WrongShape.backward returned a gradient of shape .* for an input of shape \(2, 3\)"):
        WrongShape.apply(leaf(np.ones((2, 3)))).sum().backward()


def test_one_no_grad_instance_entered_twice_restores_recording():
    off = tm.no_grad()
    with off:
        with off:
            pass
        assert (leaf([1.0]) * 2).grad_fn is None
    assert (leaf([1.0]) * 2).grad_fn.name == "MulBackward"

    @tm.no_grad()
    def countdown(n):
        return countdown(n - 1) if n else leaf([1.0]) * 2

    assert countdown(3).grad_fn is None
    assert (leaf([1.0]) * 2).grad_fn.name == "MulBackward"


# -- .grad is a Tensor (PyTorch's design) -------------------------------------------------------------


def test_grad_is_a_tensor_of_the_leafs_shape_and_dtype_outside_the_graph():
    x = tm.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert isinstance(x.grad, tm.Tensor)
    assert x.grad.shape == (2,) and x.grad.dtype == np.float32
    assert not x.grad.requires_grad and x.grad.grad_fn is None
    assert np.asarray(x.grad).tolist() == [2.0, 4.0]


def test_assigning_grad_takes_none_a_tensor_or_an_array_of_the_right_shape_and_dtype():
    x = tm.tensor([1.0, 2.0], requires_grad=True)
    x.grad = np.array([0.5, 0.5], dtype=np.float32)
    assert isinstance(x.grad, tm.Tensor)
    (x * 1.0).sum().backward()
    assert x.grad.tolist() == [1.5, 1.5]  # backward adds to what is there
    x.grad = None
    assert x.grad is None
    with pytest.raises(ValueError, match=r"grad: a gradient of shape \(3,\) for a tensor of shape \(2,\)"):
        x.grad = np.zeros(3, dtype=np.float32)
    with pytest.raises(TypeError, match=r"grad: a float64 gradient for a float32 tensor"):
        x.grad = np.zeros(2)


def test_a_scalar_leaf_gets_a_zero_dimensional_tensor_grad():
    x = tm.tensor(3.0, requires_grad=True)
    (x * tm.tensor([1.0, 2.0])).sum().backward()  # broadcast from () to (2,) and summed back
    assert x.grad.shape == () and x.grad.item() == 3.0


# -- backward's argument, by PyTorch's name or tinymed's -----------------------------------------------


def test_backward_takes_the_upstream_gradient_as_gradient_or_grad():
    for kwargs in ({"gradient": np.array([1.0, 10.0])}, {"grad": np.array([1.0, 10.0])}):
        x = leaf([1.0, 2.0])
        (x * 2).backward(**kwargs)
        assert x.grad.tolist() == [2.0, 20.0]
    x = leaf([1.0, 2.0])
    (x * 2).backward(tm.tensor(np.array([1.0, 1.0])), retain_graph=None)
    assert x.grad.tolist() == [2.0, 2.0]
    with pytest.raises(TypeError, match="got both gradient= and grad="):
        (x * 2).backward(gradient=np.ones(2), grad=np.ones(2))


# -- hooks --------------------------------------------------------------------------------------------


def test_a_hook_sees_the_complete_gradient_as_a_tensor_and_may_replace_it():
    x = leaf([1.0, 2.0])
    h = x * 3
    seen = []
    h.register_hook(lambda g: seen.append(g) or None)  # observe only
    handle = x.register_hook(lambda g: g * 10)  # replace what x accumulates
    (h * h).sum().backward()
    assert isinstance(seen[0], tm.Tensor) and seen[0].tolist() == [6.0, 12.0]  # d(h^2)/dh = 2h
    assert x.grad.tolist() == [180.0, 360.0]  # 10 * 3 * 2h
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_a_hook_on_an_intermediate_tensor_changes_what_flows_to_the_leaves():
    x = leaf([1.0, 2.0])
    h = x * 2
    h.register_hook(lambda g: np.zeros_like(g))  # an array works as a replacement too
    (h * x).sum().backward()  # x receives h (direct) + 2 * dL/dh (through h), the latter zeroed
    assert x.grad.tolist() == [2.0, 4.0]


# -- the graph's nodes: PyTorch's view -------------------------------------------------------------------


def test_grad_fn_and_next_functions_have_pytorchs_shape():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    data = tm.tensor(np.array([1.0, 1.0]))
    loss = (x * w + data).sum()
    assert loss.grad_fn.name == "SumBackward"
    ((add, index),) = loss.grad_fn.next_functions
    assert index == 0 and add.name == "AddBackward"
    (mul, _), (none, _) = add.next_functions  # `data` needs no grad: None, as in PyTorch
    assert mul.name == "MulBackward" and none is None
    (acc_x, _), (acc_w, _) = mul.next_functions
    assert acc_x.name == "AccumulateGrad" and acc_x.variable is x and acc_w.variable is w
    assert acc_x.next_functions == () and repr(acc_x) == "<AccumulateGrad>"
    assert x.is_leaf and x.grad_fn is None and not loss.is_leaf


def test_next_functions_name_the_same_ops_as_pytorch():
    torch = pytest.importorskip("torch")

    def names(node):  # depth-first, as a beginner prints loss.grad_fn.next_functions
        if node is None:
            return ["None"]
        name = node.name() if callable(node.name) else node.name
        return [name.rstrip("0123456789").replace("torch::autograd::", "")] + [n for child, _ in node.next_functions for n in names(child)]

    def loss_of(lib, x, w):
        return (((x * w).sigmoid() - 1.0) * 2 / x.exp()).mean()

    x, w = np.ones((2, 3)), np.full((3,), 0.5)
    ours = loss_of(tm, tm.tensor(x), tm.tensor(w, requires_grad=True))
    theirs = loss_of(torch, torch.tensor(x), torch.tensor(w, requires_grad=True))
    assert names(ours.grad_fn) == names(theirs.grad_fn)
