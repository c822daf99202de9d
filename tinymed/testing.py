"""Tools for testing ops and layers, and for grading students' code.

Needs the test extra (`pip install "tinymed[test]"`), for hypothesis. A grader checks a student's
op in three lines::

    from tinymed.testing import assert_gradients
    x = tm.tensor(np.random.randn(3, 4), dtype=np.float64, requires_grad=True)
    assert_gradients(student.Sigmoid.apply, x)

and a property test draws the shapes::

    @given(tensors(shape=shapes(max_dims=3)))
    def test_sigmoid(x):
        assert_gradients(lambda t: t.sigmoid(), x)
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinymed.autograd import Tensor
from tinymed.gradcheck import gradcheck


def shapes(min_dims=1, max_dims=3, min_side=1, max_side=4):
    """Strategy for array shapes, small enough for a gradient check."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Strategy for a pair of shapes that broadcast together, e.g. ((2, 1, 3), (4, 1))."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    ).map(lambda result: result.input_shapes)


def tensors(shape=None, dtype=np.float64, elements=None, requires_grad=True, unique=False):
    """Strategy for Tensors.

    shape: a tuple, or a strategy of tuples (default: `shapes()`).
    elements: a strategy for the values (default: floats in [-2, 2]).
    unique: all values distinct (for max/min, where ties make the derivative one-sided).
    """
    if shape is None:
        shape = shapes()
    if elements is None:
        elements = st.floats(-2, 2, allow_nan=False, width=np.dtype(dtype).itemsize * 8)
    arrays = hnp.arrays(dtype, shape, elements=elements, unique=unique)
    return arrays.map(lambda a: Tensor(a, requires_grad=requires_grad))


def assert_gradients(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Assert that `fn(*inputs)`'s backward agrees with central differences for every input
    that requires grad (float64). Raises `tinymed.GradcheckError`, an AssertionError, naming the
    input, the element and both values."""
    gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=True)


def check_module_gradients(module, input_shape, seed=0, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Gradient-check a layer or model: the input and every trainable parameter, in float64.

    The module is cast to float64 in place (`module.double()`), and the input is drawn from a
    standard normal with `seed`. Returns the module.
    """
    module.double()
    x = Tensor(np.random.default_rng(seed).standard_normal(input_shape), requires_grad=True)
    params = [p for p in module.parameters() if p.requires_grad]

    # The parameters are inputs of the check: gradcheck nudges them in place, and the module
    # reads them, so the lambda needs only the input.
    gradcheck(lambda x, *_: module(x), (x, *params), eps=eps, atol=atol, rtol=rtol, raise_exception=True)
    return module
