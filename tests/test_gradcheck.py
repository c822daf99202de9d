"""gradcheck: passes correct backwards, catches wrong ones and says where."""
import numpy as np
import pytest

import tinymed as tm
from tinymed.autograd import Function


class WrongSquare(Function):
    """x^2 with the classic student slip: forgetting the factor 2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return x * g


def test_gradcheck_passes_a_correct_backward_for_any_output_shape():
    x = tm.tensor(np.random.default_rng(0).standard_normal((2, 3)), requires_grad=True)
    w = tm.tensor(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
    assert tm.gradcheck(lambda x, w: (x @ w).tanh(), (x, w))
    assert tm.gradcheck(lambda x: (x * x).sum(), x)


def test_gradcheck_names_input_element_and_both_values_on_failure():
    c = tm.tensor(np.array([1.0, 2.0]))
    x = tm.tensor(np.array([3.0, -1.0]), requires_grad=True)
    with pytest.raises(tm.GradcheckError, match=r"input 1 \(shape \(2,\)\), element \(0,\), output element \(0,\): analytic 3 but numeric 6"):
        tm.gradcheck(lambda c, x: c * WrongSquare.apply(x), (c, x))


def test_gradcheck_error_is_an_assertion_error_for_pytest_graders():
    assert issubclass(tm.GradcheckError, AssertionError)


def test_gradcheck_can_return_false_instead_of_raising():
    x = tm.tensor(np.array([3.0]), requires_grad=True)
    assert tm.gradcheck(WrongSquare.apply, x, raise_exception=False) is False


def test_gradcheck_refuses_float32_and_says_why():
    x = tm.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="input 0 is float32, but gradcheck needs float64.*rounding error"):
        tm.gradcheck(lambda t: t * 2, x)


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="no input requires grad"):
        tm.gradcheck(lambda t: t * 2, tm.tensor(np.ones(2)))


def test_gradcheck_leaves_the_inputs_grad_and_data_as_they_were():
    x = tm.tensor(np.array([1.0, 2.0]), requires_grad=True)
    x.grad = np.array([5.0, 5.0])
    data = x.data.copy()
    tm.gradcheck(lambda t: (t * t).sum(), x)
    assert x.grad.tolist() == [5.0, 5.0]
    np.testing.assert_array_equal(x.data, data)


def test_gradcheck_catches_a_wrong_gradient_of_a_broadcast_input():
    class BadBroadcastMul(Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return g * b, g * a / 2  # b's gradient halved

    a = tm.tensor(np.ones((2, 3)), requires_grad=True)
    b = tm.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(tm.GradcheckError, match="input 1"):
        tm.gradcheck(BadBroadcastMul.apply, (a, b))


def test_gradcheck_fails_a_backward_that_returns_nan():
    class NanSquare(Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g * np.nan

    x = tm.tensor(np.array([3.0]), requires_grad=True)
    with pytest.raises(tm.GradcheckError, match="analytic nan but numeric 6"):
        tm.gradcheck(NanSquare.apply, x)


@pytest.mark.parametrize("eps", [0, -1e-6, float("nan"), "1e-6"])
def test_gradcheck_refuses_an_eps_that_is_not_a_positive_number(eps):
    # eps=0 divides by zero: every numeric derivative is nan, which once passed silently.
    x = tm.tensor(np.array([3.0]), requires_grad=True)
    with pytest.raises(ValueError, match=r"gradcheck: eps must be a finite number > 0, got"):
        tm.gradcheck(WrongSquare.apply, x, eps=eps)


def test_gradcheck_refuses_a_negative_tolerance():
    x = tm.tensor(np.array([3.0]), requires_grad=True)
    with pytest.raises(ValueError, match=r"gradcheck: atol must be a finite number >= 0, got -1"):
        tm.gradcheck(lambda t: t * 2, x, atol=-1)


def test_gradcheck_says_fn_must_be_a_function():
    x = tm.tensor(np.array([3.0]), requires_grad=True)
    with pytest.raises(TypeError, match="gradcheck: fn must be a function of the inputs returning a Tensor, got Tensor"):
        tm.gradcheck(x, x)
