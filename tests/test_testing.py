"""tinymed.testing: the strategies draw what they promise; the assertions catch wrong backwards."""
import numpy as np
import pytest
from hypothesis import given

import tinymed as tm
from tinymed import nn
from tinymed.autograd import Function
from tinymed.testing import assert_gradients, broadcastable_shapes, check_module_gradients, shapes, tensors


@given(tensors())
def test_tensors_are_float64_leaves_that_require_grad_with_values_in_range(t):
    assert t.dtype == np.float64 and t.requires_grad and t.is_leaf
    assert np.all(np.abs(t.data) <= 2)


@given(shapes(min_dims=2, max_dims=3, max_side=3))
def test_shapes_respect_their_bounds(shape):
    assert 2 <= len(shape) <= 3 and all(1 <= n <= 3 for n in shape)


@given(broadcastable_shapes())
def test_broadcastable_shapes_broadcast(pair):
    np.broadcast_shapes(*pair)


class HalfGradient(Function):
    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, g):
        return g  # should be 2 * g


class Doubler(nn.Module):
    def forward(self, x):
        return HalfGradient.apply(x)


def test_assert_gradients_passes_a_right_backward_and_names_a_wrong_one():
    x = tm.tensor(np.array([0.5, -1.0]), requires_grad=True)
    assert_gradients(lambda t: t.sigmoid(), x)
    with pytest.raises(AssertionError, match="input 0 .* analytic 1 but numeric 2"):
        assert_gradients(HalfGradient.apply, x)


def test_check_module_gradients_checks_the_input_and_every_parameter():
    layer = check_module_gradients(nn.Conv2d(2, 3, 3, padding=1, seed=0), (2, 2, 5, 4))
    assert all(p.dtype == np.float64 for p in layer.parameters())
    check_module_gradients(nn.Sequential(nn.Linear(4, 3, seed=0), nn.Tanh(), nn.Linear(3, 2, seed=1)), (5, 4))
    with pytest.raises(tm.GradcheckError, match="input 0"):
        check_module_gradients(Doubler(), (3,))


def test_check_module_gradients_catches_a_wrong_parameter_gradient():
    class WrongBias(nn.Module):
        def __init__(self):
            super().__init__()
            self.bias = nn.Parameter(np.zeros(3))

        def forward(self, x):
            return x + HalfGradient.apply(self.bias)

    with pytest.raises(tm.GradcheckError, match="input 1"):
        check_module_gradients(WrongBias(), (2, 3))
