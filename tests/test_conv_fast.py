"""The fast paths (tinymed.nn.conv_fast) equal the readable versions (tinymed.nn.conv,
tinymed.nn.pooling) on drawn shapes and options; the PyTorch options (dilation, groups,
padding "same"/"valid", ceil_mode, count_include_pad, return_indices, adaptive pooling) are
gradchecked in float64 and compared with PyTorch when it is installed."""
import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinymed as tm
from test_conv import distinct, leaf, randn
from tinymed import parallel
from tinymed.nn import conv, conv_fast, pooling


def grads_of(fn, arrays, g_seed=9):
    """fn's output and the gradients of every input for a random output gradient."""
    leaves = [leaf(a) for a in arrays]
    out = fn(*leaves)
    out.backward(randn(*out.shape, seed=g_seed))
    return [out.data] + [np.asarray(t.grad) for t in leaves]


def assert_all_close(a, b, rtol=1e-10, atol=1e-12):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------------
# The fast path equals the readable one
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def small_blocks(threads):
    """Blocks of one image, on `threads` threads: the drawn batches of up to 5 images are cut
    into several blocks, which the threads share. Restores both settings after."""
    before, threads_before = parallel.BLOCK_BYTES, tm.get_num_threads()
    parallel.BLOCK_BYTES = 1
    tm.set_num_threads(threads)
    try:
        yield
    finally:
        parallel.BLOCK_BYTES = before
        tm.set_num_threads(threads_before)


@st.composite
def conv_options(draw):
    groups = draw(st.integers(1, 3))
    C, O = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = ((draw(st.integers(0, 2)), draw(st.integers(0, 2))), (draw(st.integers(0, 2)), draw(st.integers(0, 2))))
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    H = draw(st.integers(max(1, span[0] - sum(padding[0])), 7))
    W = draw(st.integers(max(1, span[1] - sum(padding[1])), 7))
    x_shape, w_shape = (draw(st.integers(1, 5)), C, H, W), (O, C // groups) + kernel
    return x_shape, w_shape, {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


@settings(deadline=None)
@given(conv_options(), st.booleans(), st.sampled_from([1, 2]), st.integers(0, 2**16))
def test_fast_conv2d_equals_the_readable_one(options, with_bias, threads, seed):
    x_shape, w_shape, opts = options
    arrays = [randn(*x_shape, seed=seed), randn(*w_shape, seed=seed + 1)] + ([randn(w_shape[0], seed=seed + 2)] if with_bias else [])
    with small_blocks(threads):
        fast = grads_of(lambda *t: conv_fast.Conv2d.apply(*t, **opts), arrays)
    readable = grads_of(lambda *t: conv.Conv2d.apply(*t, **opts), arrays)
    assert_all_close(fast, readable)


@st.composite
def pool_options(draw, dilation=True):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pad = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dil)]
    H = draw(st.integers(max(1, span[0] - 2 * pad[0]), 8))
    W = draw(st.integers(max(1, span[1] - 2 * pad[1]), 8))
    x_shape = (draw(st.integers(1, 5)), draw(st.integers(1, 2)), H, W)
    return x_shape, kernel, stride, pad, dil, draw(st.booleans())


@settings(deadline=None)
@given(pool_options(), st.sampled_from([1, 2]), st.integers(0, 2**16))
def test_fast_max_pool2d_equals_the_readable_one(options, threads, seed):
    x_shape, kernel, stride, pad, dilation, ceil_mode = options
    padding = tuple(pooling._pad_after(n, k, s, p, d, ceil_mode)
                    for n, k, s, p, d in zip(x_shape[2:], kernel, stride, pad, dilation))
    opts = {"kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation}
    x = distinct(*x_shape, seed=seed)
    with small_blocks(threads):
        fast = grads_of(lambda t: conv_fast.MaxPool2d.apply(t, **opts), [x])
    readable = grads_of(lambda t: pooling.MaxPool2d.apply(t, **opts), [x])
    assert_all_close(fast, readable, rtol=0, atol=0)


@settings(deadline=None)
@given(pool_options(dilation=False), st.booleans(), st.sampled_from([1, 2]), st.integers(0, 2**16))
def test_fast_avg_pool2d_equals_the_readable_one(options, count_include_pad, threads, seed):
    x_shape, kernel, stride, pad, _, ceil_mode = options
    padding = tuple(pooling._pad_after(n, k, s, p, 1, ceil_mode) for n, k, s, p in zip(x_shape[2:], kernel, stride, pad))
    counts = pooling.window_counts(x_shape[2:], kernel, stride, padding, count_include_pad)
    x = randn(*x_shape, seed=seed)
    with small_blocks(threads):
        fast = grads_of(lambda t: conv_fast.AvgPool2d.apply(t, kernel=kernel, stride=stride, padding=padding, divisor=counts), [x])
    readable = grads_of(lambda t: pooling.AvgPool2d.apply(
        t, kernel=kernel, stride=stride, padding=padding, count_include_pad=count_include_pad), [x])
    assert_all_close(fast, readable)


# ---------------------------------------------------------------------------------------------
# The PyTorch options: gradients against central differences (float64)
# ---------------------------------------------------------------------------------------------

# (x shape, weight shape, options)
CONV_OPTION_CASES = [
    ((2, 4, 6, 5), (6, 2, 3, 3), {"groups": 2}),
    ((1, 3, 5, 5), (3, 1, 3, 2), {"groups": 3, "padding": 1}),  # depthwise
    ((2, 2, 7, 6), (3, 2, 3, 3), {"dilation": 2}),
    ((1, 2, 7, 8), (2, 2, 2, 3), {"dilation": (2, 1), "stride": (2, 1), "padding": (1, 2)}),
    ((2, 2, 5, 6), (3, 2, 3, 2), {"padding": "same"}),  # even kernel width: extra column on the right
    ((1, 2, 6, 6), (2, 2, 4, 4), {"padding": "same", "dilation": (1, 2)}),
    ((1, 2, 5, 6), (2, 2, 3, 3), {"padding": "valid", "stride": 2}),
]


@pytest.mark.parametrize("x_shape, w_shape, options", CONV_OPTION_CASES)
def test_conv2d_options_gradients_match_finite_differences(x_shape, w_shape, options):
    x, w, b = leaf(randn(*x_shape)), leaf(randn(*w_shape, seed=1)), leaf(randn(w_shape[0], seed=2))
    assert tm.gradcheck(lambda x, w, b: conv.conv2d(x, w, b, **options), (x, w, b))


# (x shape, kernel_size, options)
POOL_OPTION_CASES = [
    ((1, 2, 5, 5), 2, {"ceil_mode": True}),
    ((2, 1, 6, 7), 3, {"stride": 2, "padding": 1, "ceil_mode": True}),  # a last window starts in the padding
    ((1, 2, 7, 6), (2, 3), {"stride": (3, 2), "ceil_mode": True}),
    ((1, 2, 5, 5), 3, {"stride": 2, "padding": 1}),
]


@pytest.mark.parametrize("x_shape, kernel_size, options", POOL_OPTION_CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_options_gradients_match_finite_differences(x_shape, kernel_size, options, count_include_pad):
    x = leaf(randn(*x_shape))
    assert tm.gradcheck(lambda x: pooling.avg_pool2d(x, kernel_size, **options, count_include_pad=count_include_pad), (x,))


@pytest.mark.parametrize("x_shape, kernel_size, options", POOL_OPTION_CASES + [((1, 2, 7, 7), 3, {"dilation": 2, "stride": 1})])
def test_max_pool2d_options_gradients_match_finite_differences(x_shape, kernel_size, options):
    x = leaf(distinct(*x_shape))
    assert tm.gradcheck(lambda x: pooling.max_pool2d(x, kernel_size, **options), (x,))


@pytest.mark.parametrize("x_shape, output_size", [((2, 2, 7, 5), 3), ((1, 2, 5, 6), (2, 4)), ((1, 1, 4, 6), (2, None))])
def test_adaptive_avg_pool2d_gradients_match_finite_differences(x_shape, output_size):
    x = leaf(randn(*x_shape))
    assert tm.gradcheck(lambda x: pooling.adaptive_avg_pool2d(x, output_size), (x,))


# ---------------------------------------------------------------------------------------------
# The PyTorch options against PyTorch
# ---------------------------------------------------------------------------------------------


def torch_grads(torch_fn, arrays, out_shape, g_seed=9):
    torch = pytest.importorskip("torch")
    leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = torch_fn(*leaves)
    assert tuple(out.shape) == out_shape
    out.backward(torch.tensor(randn(*out_shape, seed=g_seed)))
    return [out.detach().numpy()] + [t.grad.numpy() for t in leaves]


@pytest.mark.parametrize("x_shape, w_shape, options", CONV_OPTION_CASES)
def test_conv2d_options_match_torch(x_shape, w_shape, options):
    torch = pytest.importorskip("torch")
    arrays = [randn(*x_shape), randn(*w_shape, seed=1), randn(w_shape[0], seed=2)]
    mine = grads_of(lambda *t: conv.conv2d(*t, **options), arrays)
    theirs = torch_grads(lambda *t: torch.nn.functional.conv2d(*t, **options), arrays, mine[0].shape)
    assert_all_close(mine, theirs)


@pytest.mark.parametrize("x_shape, kernel_size, options", POOL_OPTION_CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_options_match_torch(x_shape, kernel_size, options, count_include_pad):
    torch = pytest.importorskip("torch")
    opts = dict(options, count_include_pad=count_include_pad)
    mine = grads_of(lambda t: pooling.avg_pool2d(t, kernel_size, **opts), [randn(*x_shape)])
    theirs = torch_grads(lambda t: torch.nn.functional.avg_pool2d(t, kernel_size, **opts), [randn(*x_shape)], mine[0].shape)
    assert_all_close(mine, theirs)


@pytest.mark.parametrize("x_shape, kernel_size, options", POOL_OPTION_CASES + [((1, 2, 7, 7), 3, {"dilation": 2, "stride": 1})])
def test_max_pool2d_options_and_indices_match_torch(x_shape, kernel_size, options):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).integers(0, 3, size=x_shape).astype(np.float64)  # many ties
    X = leaf(x)
    out, indices = pooling.max_pool2d(X, kernel_size, **options, return_indices=True)
    out.backward(randn(*out.shape, seed=9))
    tx = torch.tensor(x, requires_grad=True)
    t_out, t_indices = torch.nn.functional.max_pool2d(tx, kernel_size, **options, return_indices=True)
    t_out.backward(torch.tensor(randn(*out.shape, seed=9)))
    np.testing.assert_array_equal(out.data, t_out.detach().numpy())
    np.testing.assert_array_equal(indices.data, t_indices.numpy())
    assert indices.dtype == np.int64 and not indices.requires_grad
    np.testing.assert_allclose(X.grad, tx.grad.numpy(), rtol=1e-12)


@settings(deadline=None, max_examples=30)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 5), st.integers(1, 5))
def test_adaptive_avg_pool2d_matches_torch_on_drawn_sizes(H, W, out_h, out_w):
    torch = pytest.importorskip("torch")
    x = randn(2, 2, H, W)
    mine = grads_of(lambda t: pooling.adaptive_avg_pool2d(t, (out_h, out_w)), [x])
    theirs = torch_grads(lambda t: torch.nn.functional.adaptive_avg_pool2d(t, (out_h, out_w)), [x], (2, 2, out_h, out_w))
    assert_all_close(mine, theirs)


def test_adaptive_bins_overlap_as_torch_when_the_size_does_not_divide():
    # 5 pixels into 3 bins: [0, 2), [1, 4), [3, 5)
    assert pooling.adaptive_bins(5, 3) == [(0, 2), (1, 4), (3, 5)]


def test_same_padding_keeps_the_size_and_puts_the_odd_pixel_bottom_right():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 0, 0] = 1.0
    w = np.ones((1, 1, 2, 2))  # total padding 1 per axis: 0 before, 1 after
    out = conv.conv2d(tm.tensor(x), tm.tensor(w), padding="same")
    assert out.shape == (1, 1, 4, 4)
    assert out.data[0, 0, 0, 0] == 1.0 and out.data[0, 0].sum() == 1.0  # no padding before
