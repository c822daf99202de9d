"""The engine's bad-input catalogue: each wrong input a user can hand the engine gets an error that
names the argument, what came and the fix (issue 12), never a NumPy traceback or a silent inf."""
import numpy as np
import pytest

import tinymed as tm
from tinymed import graph_lock
from tinymed.engine_checks import check_fits
from tinymed.grad_mode import set_grad_enabled


class Identity(tm.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, g):
        return g


class Float64Backward(Identity):
    @staticmethod
    def backward(ctx, g):
        return g.astype(np.float64)


def leaf():
    return tm.tensor([1.0, 2.0], requires_grad=True)


def hooked(hook):
    x = leaf()
    x.register_hook(hook)
    return (x * 2).sum()


CASES = [
    # (what the user did, error type, the message names...)
    (lambda: (leaf() * 2).backward(grad="abc"), TypeError, r"backward: grad must be a Tensor, a NumPy array or a number .* got 'abc'"),
    (lambda: (leaf() * 2).backward(gradient="abc"), TypeError, r"backward: gradient must be .* got 'abc'"),
    (lambda: (leaf() * 2).backward(gradient=np.ones(2), grad=np.ones(2)), TypeError, "got both gradient= and grad="),
    (lambda: (leaf() * 2).backward(), ValueError, r"output has shape \(2,\); a non-scalar output needs an explicit grad"),
    (lambda: (leaf() * 2).backward(np.ones(3)), ValueError, r"gradient has shape \(3,\) but the output has shape \(2,\)"),
    (lambda: tm.tensor([1.0]).sum().backward(), RuntimeError, "does not require grad and has no graph"),
    (lambda: tm.tensor(1e40), ValueError, r"Tensor: the value 1e\+40 does not fit in float32 .* would become inf"),
    (lambda: tm.tensor([1.0, -3e39]), ValueError, r"the value -3e\+39 does not fit in float32"),
    (lambda: tm.tensor(np.array([1e300])).float(), ValueError, r"float: the value 1e\+300 does not fit in float32"),
    (lambda: tm.tensor([[1.0, 2.0], [3.0]]), ValueError, "nested lists must all have the same length"),
    (lambda: tm.tensor(["a", "b"]), TypeError, "Tensor: data must be numbers or bools, got list of dtype <U1"),
    (lambda: tm.tensor([1.0], dtype=np.float16), TypeError, "Tensor: dtype must be float32, float64, an integer type or bool"),
    (lambda: tm.tensor([1, 2], requires_grad=True), TypeError, "only float tensors can require grad, this one is int64"),
    (lambda: leaf().requires_grad_("yes"), TypeError, "requires_grad must be True or False, got 'yes'"),
    (lambda: setattr(leaf(), "grad", np.zeros(3, np.float32)), ValueError, r"grad: a gradient of shape \(3,\) for a tensor of shape \(2,\)"),
    (lambda: setattr(leaf(), "grad", np.zeros(2)), TypeError, "grad: a float64 gradient for a float32 tensor"),
    (lambda: tm.tensor([1.0]).register_hook(print), RuntimeError, "register_hook: this tensor does not require grad"),
    (lambda: leaf().register_hook("print"), TypeError, "register_hook: hook must be a function of the gradient, got 'print'"),
    (lambda: hooked(lambda g: np.ones(5)).backward(), ValueError, r"the hook returned a gradient of shape \(5,\) for a tensor of shape \(2,\)"),
    (lambda: set_grad_enabled(1), TypeError, "set_grad_enabled: mode must be True or False, got 1"),
    (lambda: tm.no_grad("x"), TypeError, "no_grad: use it as"),
    (lambda: graph_lock.set_enabled("off"), TypeError, "graph_lock.set_enabled: mode must be True or False"),
    (lambda: tm.tensor([1.0]) + tm.tensor([1.0], dtype=np.float64), TypeError, r"different float dtypes \(float32, float64\).*\.double\(\)"),
    (lambda: Float64Backward.apply(leaf()).sum().backward(), TypeError,
     "Float64Backward.backward returned a float64 gradient for a float32 input"),
    (lambda: Identity.apply("abc"), TypeError, "Identity: expected a Tensor, a NumPy array or a number, got str"),
]


@pytest.mark.parametrize("call, error, message", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_a_bad_input_gets_an_error_that_names_it(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("write", [lambda x: x.data.__setitem__(0, 5.0), lambda x: x.numpy().__setitem__(0, 5.0)],
                         ids=["data", "numpy"])
def test_writing_into_an_array_a_live_graph_saved_says_why_it_is_read_only(write):
    x = leaf()
    y = (x * x).sum()
    with pytest.raises(ValueError, match="read-only because a graph that is still alive saved it for backward.*"
                                         "Call backward\\(\\) first"):
        write(x)
    del y


def test_a_value_that_fits_is_cast_without_complaint_and_inf_stays_inf():
    np.testing.assert_array_equal(check_fits(np.array([3e38, -np.inf, np.nan]), np.float32, "t")[:2],
                                  np.array([3e38, -np.inf], dtype=np.float32))
    assert tm.tensor(np.inf).item() == np.inf  # an inf given is the user's own, not an overflow
