"""conv2d and pooling (tinymed.nn.conv, tinymed.nn.pooling): gradients against central differences, forwards against
plain-loop references (tests/reference/conv_reference.py), both against PyTorch when installed."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinymed as tm
from reference import conv_reference as ref
from tinymed import parallel
from tinymed.nn import conv_fast
from tinymed.nn.conv import conv2d
from tinymed.nn.pooling import adaptive_avg_pool2d, avg_pool2d, global_avg_pool2d, max_pool2d


def randn(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def distinct(*shape, seed=0):
    """Values at least 0.1 apart, so a max never changes under a finite-difference nudge."""
    values = np.random.default_rng(seed).permutation(int(np.prod(shape))) * 0.1
    return values.reshape(shape).astype(np.float64)


def leaf(array):
    return tm.tensor(array, requires_grad=True)


def pair(v):
    return v if isinstance(v, tuple) else (v, v)


# (x shape, weight shape, stride, padding)
CONV_CASES = [
    ((2, 2, 5, 5), (3, 2, 3, 3), 1, 0),
    ((2, 2, 5, 5), (3, 2, 3, 3), 2, 1),
    ((1, 2, 4, 5), (2, 2, 3, 3), 1, 2),
    ((1, 2, 5, 7), (2, 2, 2, 3), (2, 1), (1, 0)),  # rectangular input, non-square kernel
    ((2, 3, 4, 4), (2, 3, 1, 1), 1, 0),  # 1x1 kernel
    ((2, 3, 4, 4), (2, 3, 1, 1), 2, 1),  # 1x1 kernel, stride 2: some inputs never seen
    ((2, 2, 4, 3), (3, 2, 4, 3), 1, 0),  # kernel == input size: output 1x1
]

# (x shape, kernel_size, stride, padding); several leave rows or columns out (floor mode)
POOL_CASES = [
    ((2, 2, 4, 4), 2, None, 0),
    ((1, 2, 5, 7), 2, None, 0),
    ((1, 2, 5, 6), 3, 2, 1),  # overlapping windows, padding
    ((2, 1, 6, 5), (2, 3), (1, 2), (1, 1)),
    ((1, 2, 3, 3), 3, 1, 0),  # kernel == input size
]


# ---------------------------------------------------------------------------------------------
# Gradients against central differences (float64)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CONV_CASES)
def test_conv2d_gradients_match_finite_differences(x_shape, w_shape, stride, padding):
    x, w, b = leaf(randn(*x_shape)), leaf(randn(*w_shape, seed=1)), leaf(randn(w_shape[0], seed=2))
    assert tm.gradcheck(lambda x, w, b: conv2d(x, w, b, stride=stride, padding=padding), (x, w, b))


def test_conv2d_without_bias_gradients_match_finite_differences():
    x, w = leaf(randn(1, 2, 5, 4)), leaf(randn(2, 2, 3, 2, seed=1))
    assert tm.gradcheck(lambda x, w: conv2d(x, w, stride=(1, 2), padding=1), (x, w))


@pytest.mark.parametrize("x_shape, kernel_size, stride, padding", POOL_CASES)
def test_max_pool2d_gradient_matches_finite_differences(x_shape, kernel_size, stride, padding):
    x = leaf(distinct(*x_shape))
    assert tm.gradcheck(lambda x: max_pool2d(x, kernel_size, stride, padding), (x,))


@pytest.mark.parametrize("x_shape, kernel_size, stride, padding", POOL_CASES)
def test_avg_pool2d_gradient_matches_finite_differences(x_shape, kernel_size, stride, padding):
    x = leaf(randn(*x_shape))
    assert tm.gradcheck(lambda x: avg_pool2d(x, kernel_size, stride, padding), (x,))


def test_global_avg_pool2d_gradient_matches_finite_differences():
    assert tm.gradcheck(global_avg_pool2d, (leaf(randn(2, 3, 4, 5)),))


# ---------------------------------------------------------------------------------------------
# Forwards against the plain-loop references
# ---------------------------------------------------------------------------------------------


@st.composite
def conv_geometry(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    H = draw(st.integers(max(1, kh - 2 * ph), 7))
    W = draw(st.integers(max(1, kw - 2 * pw), 7))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    N, C, O = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return (N, C, H, W), (O, C, kh, kw), stride, (ph, pw)


@given(conv_geometry(), st.booleans(), st.integers(0, 2**16))
def test_conv2d_matches_the_loop_definition(geometry, with_bias, seed):
    x_shape, w_shape, stride, padding = geometry
    x, w, b = randn(*x_shape, seed=seed), randn(*w_shape, seed=seed + 1), randn(w_shape[0], seed=seed + 2)
    b = b if with_bias else None
    out = conv2d(tm.tensor(x), tm.tensor(w), None if b is None else tm.tensor(b), stride=stride, padding=padding)
    np.testing.assert_allclose(out.data, ref.conv2d_loops(x, w, b, stride, padding), rtol=1e-10, atol=1e-12)


@st.composite
def grouped_dilated_geometry(draw):
    groups, (kh, kw) = draw(st.integers(1, 3)), (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation, padding = (draw(st.integers(1, 3)), draw(st.integers(1, 3))), (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    H = draw(st.integers(max(1, dilation[0] * (kh - 1) + 1 - 2 * padding[0]), 8))
    W = draw(st.integers(max(1, dilation[1] * (kw - 1) + 1 - 2 * padding[1]), 8))
    C, O = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    return (draw(st.integers(1, 2)), C, H, W), (O, C // groups, kh, kw), stride, padding, dilation, groups


@given(grouped_dilated_geometry(), st.integers(0, 2**16))
def test_conv2d_with_groups_and_dilation_matches_the_loop_definition(geometry, seed):
    x_shape, w_shape, stride, padding, dilation, groups = geometry
    x, w, b = randn(*x_shape, seed=seed), randn(*w_shape, seed=seed + 1), randn(w_shape[0], seed=seed + 2)
    out = conv2d(tm.tensor(x), tm.tensor(w), tm.tensor(b), stride=stride, padding=padding, dilation=dilation, groups=groups)
    expected = ref.conv2d_loops(x, w, b, stride, padding, dilation, groups)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)


@st.composite
def pool_geometry(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    H = draw(st.integers(max(1, kh - 2 * ph), 8))
    W = draw(st.integers(max(1, kw - 2 * pw), 8))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), H, W), (kh, kw), stride, (ph, pw)


@given(pool_geometry(), st.integers(0, 2**16))
def test_max_pool2d_matches_the_loop_definition(geometry, seed):
    x_shape, kernel, stride, padding = geometry
    x = randn(*x_shape, seed=seed)
    out = max_pool2d(tm.tensor(x), kernel, stride, padding)
    np.testing.assert_array_equal(out.data, ref.max_pool2d_loops(x, kernel, stride, padding))


@given(pool_geometry(), st.integers(0, 2**16))
def test_avg_pool2d_matches_the_loop_definition(geometry, seed):
    x_shape, kernel, stride, padding = geometry
    x = randn(*x_shape, seed=seed)
    out = avg_pool2d(tm.tensor(x), kernel, stride, padding)
    np.testing.assert_allclose(out.data, ref.avg_pool2d_loops(x, kernel, stride, padding), rtol=1e-12, atol=1e-14)


def test_global_avg_pool2d_is_the_mean_of_each_plane():
    x = randn(2, 3, 4, 5)
    expected = [[sum(x[n, c].ravel()) / 20 for c in range(3)] for n in range(2)]
    np.testing.assert_allclose(global_avg_pool2d(tm.tensor(x)).data, expected, rtol=1e-12)


@pytest.mark.parametrize("stride", [1, (2, 1)])  # stride 1 takes the wide-row path
def test_conv2d_gives_the_same_result_whatever_the_block_of_images(monkeypatch, stride):
    # Images go through in blocks of about BLOCK_BYTES of columns; one image per block must agree.
    x, w, b = randn(3, 2, 6, 5), randn(4, 2, 3, 3, seed=1), randn(4, seed=2)
    expected = ref.conv2d_loops(x, w, b, pair(stride), (1, 1))
    grads = []
    for block_bytes in (parallel.BLOCK_BYTES, 1):
        monkeypatch.setattr(parallel, "BLOCK_BYTES", block_bytes)
        X, W = leaf(x), leaf(w)
        out = conv2d(X, W, tm.tensor(b), stride=stride, padding=1)
        np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
        out.backward(np.ones(out.shape))
        grads.append((X.grad, W.grad))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-12)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-12)


def test_max_pool2d_gives_a_tie_gradient_to_the_first_maximum_in_the_window():
    x = leaf(np.ones((1, 1, 4, 4)))
    max_pool2d(x, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1.0  # the top-left element of each 2x2 window
    np.testing.assert_array_equal(x.grad[0, 0], expected)


def test_max_pool2d_propagates_nan_and_gives_it_the_gradient_as_torch_does():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan  # in the first 2x2 window, before its largest number
    x[0, 0, 1, 1] = 100.0
    X = leaf(x)
    out = max_pool2d(X, 2)
    out.sum().backward()
    assert np.isnan(out.data[0, 0, 0, 0]) and not np.isnan(out.data[0, 0].ravel()[1:]).any()
    expected = np.zeros((4, 4))
    expected[0, 1] = expected[1, 3] = expected[3, 1] = expected[3, 3] = 1.0
    np.testing.assert_array_equal(X.grad[0, 0], expected)


# ---------------------------------------------------------------------------------------------
# dtype and which gradients are computed
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, w, b: conv2d(x, w, b, stride=2, padding=1),
        lambda x, w, b: max_pool2d(x, 3, 2, 1),
        lambda x, w, b: avg_pool2d(x, 3, 2, 1),
        lambda x, w, b: global_avg_pool2d(x),
    ],
    ids=["conv2d", "max_pool2d", "avg_pool2d", "global_avg_pool2d"],
)
def test_float32_stays_float32_forward_and_backward(fn):
    x, w, b = (leaf(randn(*s, dtype=np.float32)) for s in [(2, 3, 6, 6), (4, 3, 3, 3), (4,)])
    out = fn(x, w, b)
    assert out.dtype == np.float32
    out.sum().backward()
    for t in (x, w, b):
        assert t.grad is None or t.grad.dtype == np.float32
    assert x.grad is not None


def test_conv2d_of_an_input_that_needs_no_grad_skips_col2im(monkeypatch):
    # The first layer of a network: the image needs no gradient, so no dX is computed.
    def fail(*args, **kwargs):
        raise AssertionError("col2im ran although x does not require grad")

    monkeypatch.setattr(conv_fast._Grid, "col2im", fail)
    x, w, b = tm.tensor(randn(2, 3, 6, 6)), leaf(randn(4, 3, 3, 3, seed=1)), leaf(randn(4, seed=2))
    conv2d(x, w, b, padding=1).sum().backward()
    assert x.grad is None
    assert w.grad.shape == (4, 3, 3, 3) and b.grad.shape == (4,)


def test_conv2d_with_frozen_weight_does_not_rebuild_the_columns_in_backward(monkeypatch):
    # A frozen layer (transfer learning) passes the gradient on to x but needs no dW.
    x, w, b = leaf(randn(2, 3, 6, 6)), tm.tensor(randn(4, 3, 3, 3, seed=1)), tm.tensor(randn(4, seed=2))
    out = conv2d(x, w, b, padding=1)
    calls = []
    real_im2col = conv_fast._Grid.im2col
    monkeypatch.setattr(conv_fast._Grid, "im2col", lambda *args: calls.append(1) or real_im2col(*args))
    out.sum().backward()
    assert calls == [] and w.grad is None and b.grad is None
    assert x.grad.shape == x.shape


# ---------------------------------------------------------------------------------------------
# Against PyTorch
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CONV_CASES)
def test_conv2d_forward_and_gradients_match_torch(x_shape, w_shape, stride, padding):
    torch = pytest.importorskip("torch")
    x, w, b = randn(*x_shape), randn(*w_shape, seed=1), randn(w_shape[0], seed=2)
    X, W, B = leaf(x), leaf(w), leaf(b)
    out = conv2d(X, W, B, stride=stride, padding=padding)
    g = randn(*out.shape, seed=3)
    out.backward(g)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    t_out = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=padding)
    t_out.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    for mine, theirs in [(X, tx), (W, tw), (B, tb)]:
        np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("x_shape, kernel_size, stride, padding", POOL_CASES)
@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
def test_pooling_forward_and_gradient_match_torch(name, x_shape, kernel_size, stride, padding):
    torch = pytest.importorskip("torch")
    x = randn(*x_shape)
    X = leaf(x)
    out = {"max_pool2d": max_pool2d, "avg_pool2d": avg_pool2d}[name](X, kernel_size, stride, padding)
    g = randn(*out.shape, seed=3)
    out.backward(g)
    tx = torch.tensor(x, requires_grad=True)
    t_out = getattr(torch.nn.functional, name)(tx, kernel_size, stride, padding)
    t_out.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(X.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_max_pool2d_breaks_ties_like_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).integers(0, 3, size=(2, 3, 7, 6)).astype(np.float64)  # many ties
    X, tx = leaf(x), torch.tensor(x, requires_grad=True)
    max_pool2d(X, 3, 2, 1).sum().backward()
    torch.nn.functional.max_pool2d(tx, 3, 2, 1).sum().backward()
    np.testing.assert_array_equal(X.grad, tx.grad.numpy())


def test_global_avg_pool2d_matches_torch_adaptive_avg_pool2d():
    torch = pytest.importorskip("torch")
    x = randn(2, 3, 4, 5)
    X, tx = leaf(x), torch.tensor(x, requires_grad=True)
    g = randn(2, 3, seed=1)
    out = global_avg_pool2d(X)
    out.backward(g)
    t_out = torch.nn.functional.adaptive_avg_pool2d(tx, 1).flatten(1)
    t_out.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(X.grad, tx.grad.numpy(), rtol=1e-12)


@pytest.mark.slow
@given(conv_geometry(), st.integers(0, 2**16))
def test_conv2d_float32_matches_torch_on_drawn_shapes(geometry, seed):
    torch = pytest.importorskip("torch")
    x_shape, w_shape, stride, padding = geometry
    x, w = randn(*x_shape, seed=seed, dtype=np.float32), randn(*w_shape, seed=seed + 1, dtype=np.float32)
    X, W = leaf(x), leaf(w)
    out = conv2d(X, W, stride=stride, padding=padding)
    out.sum().backward()
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    torch.nn.functional.conv2d(tx, tw, stride=stride, padding=padding).sum().backward()
    np.testing.assert_allclose(X.grad, tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(W.grad, tw.grad.numpy(), rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------

X28 = tm.tensor(np.zeros((8, 1, 28, 28), np.float32))
W3 = np.zeros((16, 3, 3, 3), np.float32)
W1 = W3[:, :1]


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: conv2d(X28[0], W1), ValueError, r"conv2d: x must be 4-d \(N, C, H, W\), got shape \(1, 28, 28\)"),
        (lambda: conv2d(X28, W3[0]), ValueError, r"conv2d: weight must be 4-d .* got shape \(3, 3, 3\)"),
        (lambda: conv2d(X28.data.tolist(), W3), TypeError, r"conv2d: x must be a tinymed Tensor, got list"),
        (lambda: conv2d(X28.data, W1), TypeError, r"conv2d: x must be a tinymed Tensor, got ndarray \(wrap it with tm.tensor\(x\)\)"),
        (lambda: conv2d(tm.tensor(np.zeros((1, 1, 8, 8), np.uint8)), W1), TypeError, r"conv2d: x holds uint8 .* x.float\(\) / 255"),
        (
            lambda: conv2d(X28, W3),
            ValueError,
            r"conv2d: weight has 3 input channels but x has 1 \(x.shape=\(8, 1, 28, 28\), weight.shape=\(16, 3, 3, 3\)\)",
        ),
        (
            lambda: conv2d(X28, W1, np.zeros(5, np.float32)),
            ValueError,
            r"conv2d: bias must have shape \(16,\).* \(weight.shape=\(16, 1, 3, 3\)\), got shape \(5,\)",
        ),
        (lambda: conv2d(X28, W1, [0.0] * 16), TypeError, "conv2d: bias must be a Tensor or a NumPy array, got a list"),
        (
            lambda: conv2d(X28[:, :, :2, :2], np.zeros((4, 1, 5, 5), np.float32), padding=1),
            ValueError,
            r"conv2d: kernel \(5, 5\) is larger than the padded input \(4, 4\) \(x.shape=\(8, 1, 2, 2\), padding=\(\(1, 1\), \(1, 1\)\)\)",
        ),
        (
            lambda: conv2d(X28[:, :, :5, :5], W1, dilation=3),
            ValueError,
            r"conv2d: kernel \(3, 3\) \(dilated by \(3, 3\): \(7, 7\)\) is larger than the padded input \(5, 5\)",
        ),
        (lambda: conv2d(X28, W1, stride=0), ValueError, r"conv2d: stride must be an int >= 1 or a pair of them \(h, w\), got 0"),
        (lambda: conv2d(X28, W1, stride=(1, -2)), ValueError, r"conv2d: stride must be an int >= 1 .*, got \(1, -2\)"),
        (lambda: conv2d(X28, W1, padding=-1), ValueError, r"conv2d: padding must be an int >= 0 .*, got -1"),
        (lambda: conv2d(X28, W1, stride=1.5), TypeError, r"conv2d: stride must be an int >= 1 or a pair of them \(h, w\), got 1.5"),
        (lambda: conv2d(X28, W1, padding=(1, 1, 1)), TypeError, r"conv2d: padding must be an int >= 0 or a pair"),
        (lambda: conv2d(X28, W1, padding="full"), ValueError, r"conv2d: padding must be one of 'valid', 'same', got 'full'"),
        (lambda: conv2d(X28, W1, stride=2, padding="same"), ValueError, r"conv2d: padding='same' needs stride 1 .* got stride=\(2, 2\)"),
        (lambda: conv2d(X28, W1, dilation=0), ValueError, r"conv2d: dilation must be an int >= 1 .*, got 0"),
        (lambda: conv2d(X28, W1, groups=0), ValueError, r"conv2d: groups must be an int >= 1, got 0"),
        (lambda: conv2d(X28, W1, groups=2.0), TypeError, r"conv2d: groups must be an int >= 1, got 2.0"),
        (
            lambda: conv2d(tm.tensor(np.zeros((1, 4, 6, 6), np.float32)), np.zeros((6, 2, 3, 3), np.float32), groups=4),
            ValueError,
            r"conv2d: groups=4 must divide both the input channels \(4\) and the output channels \(6\)",
        ),
        (
            lambda: conv2d(tm.tensor(np.zeros((1, 4, 6, 6), np.float32)), np.zeros((6, 1, 3, 3), np.float32), groups=2),
            ValueError,
            r"conv2d: weight has 1 input channels but x has 2 \(C/groups = 4/2\)",
        ),
        (lambda: max_pool2d(X28[0], 2), ValueError, r"max_pool2d: x must be 4-d .* got shape \(1, 28, 28\)"),
        (lambda: max_pool2d(X28.data, 2), TypeError, r"max_pool2d: x must be a tinymed Tensor, got ndarray"),
        (lambda: max_pool2d(X28, 0), ValueError, r"max_pool2d: kernel_size must be an int >= 1 or a pair of them \(h, w\), got 0"),
        (lambda: max_pool2d(X28, (2, 2.5)), TypeError, r"max_pool2d: kernel_size must be an int >= 1 .*, got \(2, 2.5\)"),
        (lambda: max_pool2d(X28, 2, dilation=0), ValueError, r"max_pool2d: dilation must be an int >= 1 .*, got 0"),
        (lambda: max_pool2d(X28, 2, ceil_mode=1), TypeError, r"max_pool2d: ceil_mode must be True or False, got 1"),
        (lambda: max_pool2d(X28, 2, return_indices="yes"), TypeError, r"max_pool2d: return_indices must be True or False, got 'yes'"),
        (lambda: avg_pool2d(X28, 2, stride=0), ValueError, r"avg_pool2d: stride must be an int >= 1 .*, got 0"),
        (lambda: avg_pool2d(X28, 2, padding=-1), ValueError, r"avg_pool2d: padding must be an int >= 0 .*, got -1"),
        (lambda: avg_pool2d(X28, 2, count_include_pad=None), TypeError, r"avg_pool2d: count_include_pad must be True or False, got None"),
        (
            lambda: max_pool2d(X28, 3, padding=2),
            ValueError,
            r"max_pool2d: padding \(2, 2\) must be at most half of kernel_size \(3, 3\)",
        ),
        (
            lambda: avg_pool2d(X28[:, :, :3, :3], 6, padding=1),
            ValueError,
            r"avg_pool2d: kernel \(6, 6\) is larger than the padded input \(5, 5\) \(x.shape=\(8, 1, 3, 3\), padding=\(\(1, 1\), \(1, 1\)\)\)",
        ),
        (lambda: adaptive_avg_pool2d(X28, 0), ValueError, r"adaptive_avg_pool2d: output_size must be an int >= 1 .*, got \(0, 0\)"),
        (lambda: adaptive_avg_pool2d(X28, (2, 2, 2)), TypeError, r"adaptive_avg_pool2d: output_size must be an int >= 1 or a pair"),
        (lambda: adaptive_avg_pool2d(X28[0], 1), ValueError, r"adaptive_avg_pool2d: x must be 4-d"),
        (lambda: global_avg_pool2d(X28[0]), ValueError, r"global_avg_pool2d: x must be 4-d .* got shape \(1, 28, 28\)"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()
