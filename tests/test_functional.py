"""nn.functional: linear, batch_norm, dropout, activations, softmax and log_softmax, checked
against central differences, plain-loop references (tests/reference) and, when installed, PyTorch."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinymed as tm
import tinymed.nn.functional as F
from tinymed.testing import assert_gradients

from reference import functional_reference as ref


def randn(*shape, seed=0, dtype=np.float64, requires_grad=True):
    data = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return tm.tensor(data, requires_grad=requires_grad)


# -- linear --------------------------------------------------------------------------------------


def test_linear_is_x_times_weight_transposed_plus_bias():
    x, w, b = randn(5, 3), randn(4, 3, seed=1), randn(4, seed=2)
    out = F.linear(x, w, b)
    assert out.shape == (5, 4)
    np.testing.assert_allclose(out.data, x.data @ w.data.T + b.data, rtol=1e-12)
    np.testing.assert_allclose(F.linear(x, w).data, x.data @ w.data.T, rtol=1e-12)


def test_linear_maps_the_last_axis_of_a_batch_of_any_rank():
    x, w = randn(2, 3, 4), randn(5, 4, seed=1)
    assert F.linear(x, w).shape == (2, 3, 5)
    np.testing.assert_allclose(F.linear(x, w).data[1, 2], w.data @ x.data[1, 2], rtol=1e-12)


@pytest.mark.parametrize("x_shape", [(3, 2), (2, 2, 2)])
def test_linear_gradients_match_finite_differences(x_shape):
    assert_gradients(F.linear, randn(*x_shape), randn(3, 2, seed=1), randn(3, seed=2))
    assert_gradients(F.linear, randn(*x_shape), randn(3, 2, seed=1))


def test_linear_matches_pytorch_forward_and_gradients():
    torch = pytest.importorskip("torch")
    x, w, b = randn(6, 3), randn(2, 3, seed=1), randn(2, seed=2)
    g = np.random.default_rng(3).standard_normal((6, 2))
    F.linear(x, w, b).backward(g)
    tx, tw, tb = (torch.tensor(t.data, requires_grad=True) for t in (x, w, b))
    out = torch.nn.functional.linear(tx, tw, tb)
    out.backward(torch.tensor(g))
    np.testing.assert_allclose(F.linear(x, w, b).data, out.detach().numpy(), rtol=1e-12)
    for ours, theirs in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12)


def test_linear_feature_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"linear: x has 5 features .* expects 3 \(x.shape=\(2, 5\), weight.shape=\(4, 3\)\)"):
        F.linear(randn(2, 5), randn(4, 3))


def test_linear_rejects_a_weight_that_is_not_2d_and_a_bias_of_the_wrong_length():
    with pytest.raises(ValueError, match=r"linear: weight must be 2-d .* got shape \(3,\)"):
        F.linear(randn(2, 3), randn(3))
    with pytest.raises(ValueError, match=r"linear: bias must have shape \(4,\) .* got \(3,\)"):
        F.linear(randn(2, 3), randn(4, 3), randn(3))


# -- batch_norm ----------------------------------------------------------------------------------


def stats(channels, seed=5):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(channels), rng.uniform(0.5, 2.0, channels)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 5)])
def test_batch_norm_training_matches_the_definition_and_updates_running_stats(shape):
    x, w, b = randn(*shape), randn(3, seed=1), randn(3, seed=2)
    rm, rv = stats(3)
    expected, expected_rm, expected_rv = ref.batch_norm(x.data, rm, rv, w.data, b.data, True, 0.3, 1e-5)
    out = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.3)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rm, expected_rm, rtol=1e-12)
    np.testing.assert_allclose(rv, expected_rv, rtol=1e-12)


@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 4, 5)])
def test_batch_norm_eval_uses_the_running_stats_and_leaves_them_alone(shape):
    x, w, b = randn(*shape), randn(3, seed=1), randn(3, seed=2)
    rm, rv = stats(3)
    before = rm.copy(), rv.copy()
    expected, _, _ = ref.batch_norm(x.data, rm, rv, w.data, b.data, False, 0.1, 1e-5)
    np.testing.assert_allclose(F.batch_norm(x, rm, rv, w, b).data, expected, rtol=1e-10, atol=1e-12)
    assert np.array_equal(rm, before[0]) and np.array_equal(rv, before[1])


@pytest.mark.parametrize("shape", [(5, 2), (3, 2, 2, 3)])
def test_batch_norm_training_backward_matches_the_staged_chain_rule(shape):
    x, w, b = randn(*shape), randn(2, seed=1), randn(2, seed=2)
    g = np.random.default_rng(3).standard_normal(shape)
    rm, rv = stats(2)
    F.batch_norm(x, rm, rv, w, b, training=True).backward(g)
    dx, dw, db = ref.batch_norm_training_backward(x.data, w.data, g, 1e-5)
    np.testing.assert_allclose(x.grad, dx, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(w.grad, dw, rtol=1e-10)
    np.testing.assert_allclose(b.grad, db, rtol=1e-10)


@pytest.mark.parametrize("shape", [(4, 3), (2, 2, 3), (2, 2, 2, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradients_match_finite_differences(shape, training):
    rm, rv = stats(shape[1])

    def fn(x, w, b):  # fresh running arrays each call, so every call sees the same statistics
        return F.batch_norm(x, rm.copy(), rv.copy(), w, b, training=training)

    assert_gradients(fn, randn(*shape), randn(shape[1], seed=1), randn(shape[1], seed=2))


def test_batch_norm_without_weight_and_bias_scales_by_one_and_shifts_by_zero():
    x = randn(5, 2)
    rm, rv = stats(2)
    plain = F.batch_norm(x, rm, rv)
    explicit = F.batch_norm(x, rm, rv, tm.tensor(np.ones(2)), tm.tensor(np.zeros(2)))
    np.testing.assert_array_equal(plain.data, explicit.data)
    assert_gradients(lambda x: F.batch_norm(x, None, None, training=True), x)


@given(hnp.arrays(np.float64, st.tuples(st.integers(2, 6), st.integers(1, 3)),
                  elements=st.floats(-100, 100)))
def test_batch_norm_training_output_has_zero_mean_and_unit_variance_per_channel(x):
    out = F.batch_norm(tm.tensor(x), None, None, training=True).data
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-9)
    variance = x.var(axis=0)  # the output's is variance / (variance + eps): 1 unless ~constant
    np.testing.assert_allclose(out.var(axis=0), variance / (variance + 1e-5), rtol=1e-9, atol=1e-12)


def test_batch_norm_keeps_float32_with_float64_running_stats():
    x = randn(4, 3, dtype=np.float32)
    rm, rv = stats(3)
    assert F.batch_norm(x, rm, rv, training=True).dtype == np.float32
    assert F.batch_norm(x, rm, rv).dtype == np.float32
    assert rm.dtype == np.float64


def test_batch_norm_never_locks_the_running_stats_while_its_graph_lives():
    x = randn(4, 2)
    rm, rv = stats(2)
    first = F.batch_norm(x, rm, rv, training=True).sum()
    second = F.batch_norm(x, rm, rv, training=True).sum()  # updates rm, rv in place again
    assert rm.flags.writeable and rv.flags.writeable
    (first + second).backward()
    eval_graph = F.batch_norm(x, rm, rv).sum()
    F.batch_norm(x, rm, rv, training=True)
    eval_graph.backward()


def test_batch_norm_matches_pytorch_including_running_stats_after_several_steps():
    torch = pytest.importorskip("torch")
    w, b = randn(3, seed=1), randn(3, seed=2)
    rm, rv = np.zeros(3), np.ones(3)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    tw, tb = (torch.tensor(t.data, requires_grad=True) for t in (w, b))
    for step in range(4):
        x = randn(5, 3, 2, 2, seed=10 + step)
        g = np.random.default_rng(20 + step).standard_normal(x.shape)
        out = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.2, eps=1e-3)
        out.backward(g)
        tx = torch.tensor(x.data, requires_grad=True)
        tout = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, training=True, momentum=0.2, eps=1e-3)
        tout.backward(torch.tensor(g))
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(b.grad, tb.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(rm, trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv, trv.numpy(), rtol=1e-12)  # the unbiased running variance
    x = randn(3, 3, 2, 2, seed=99)
    tout = torch.nn.functional.batch_norm(torch.tensor(x.data), trm, trv, tw, tb, training=False, eps=1e-3)
    np.testing.assert_allclose(F.batch_norm(x, rm, rv, w, b, eps=1e-3).data, tout.detach().numpy(), rtol=1e-10)


def test_batch_norm_wrong_running_mean_length_is_a_clear_error():
    with pytest.raises(ValueError, match=r"batch_norm: running_mean has shape \(4,\) but x has 3 channels .*x.shape=\(2, 3\)"):
        F.batch_norm(randn(2, 3), np.zeros(4), np.ones(3))


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.batch_norm(randn(3), np.zeros(3), np.ones(3)), ValueError, r"x must have a channel axis 1"),
    (lambda: F.batch_norm(randn(2, 3), None, None), ValueError, r"running_mean is needed in evaluation mode"),
    (lambda: F.batch_norm(randn(2, 3), [0.0] * 3, np.ones(3)), TypeError, r"running_mean must be a float np.ndarray .* got list"),
    (lambda: F.batch_norm(randn(2, 3), np.zeros(3, dtype=int), np.ones(3)), TypeError, r"running_mean must be a float .* dtype int64"),
    (lambda: F.batch_norm(randn(1, 3), np.zeros(3), np.ones(3), training=True), ValueError, r"training needs more than one value per channel"),
    (lambda: F.batch_norm(randn(2, 3), np.zeros(3), np.ones(3), momentum=1.5), ValueError, r"momentum must be a finite number >= 0 and <= 1, got 1.5"),
    (lambda: F.batch_norm(randn(2, 3), np.zeros(3), np.ones(3), eps=0), ValueError, r"eps must be a finite number > 0, got 0"),
    (lambda: F.batch_norm(randn(2, 3), np.zeros(3), np.ones(3), weight=randn(2)), ValueError, r"weight must have shape \(3,\)"),
    (lambda: F.batch_norm(randn(2, 3), np.zeros(3), np.ones(3), training=1), TypeError, r"training must be True or False, got 1"),
])
def test_batch_norm_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match="batch_norm: " + message):
        call()


def test_batch_norm_refuses_to_update_read_only_running_stats():
    rm = np.zeros(3)
    rm.flags.writeable = False
    with pytest.raises(ValueError, match="batch_norm: running_mean is read-only"):
        F.batch_norm(randn(2, 3), rm, np.ones(3), training=True)


# -- dropout -------------------------------------------------------------------------------------


def test_dropout_gradient_matches_finite_differences_with_a_fixed_seed():
    assert_gradients(lambda x: F.dropout(x, 0.4, seed=3), randn(3, 4))


def test_dropout_zeroes_or_scales_each_element():
    x = randn(50, 40, requires_grad=False)
    out = F.dropout(x, 0.25, seed=0).data
    kept = out != 0
    np.testing.assert_allclose(out[kept], x.data[kept] / 0.75, rtol=1e-12)


def test_dropout_gradient_is_the_same_scaled_mask():
    x = randn(30, 30)
    out = F.dropout(x, 0.6, seed=1)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, (out.data != 0) / 0.4, rtol=1e-12)


def test_dropout_with_the_same_seed_is_bit_identical_and_another_seed_differs():
    x = randn(20, 20, requires_grad=False)
    assert np.array_equal(F.dropout(x, 0.5, seed=7).data, F.dropout(x, 0.5, seed=7).data)
    assert not np.array_equal(F.dropout(x, 0.5, seed=7).data, F.dropout(x, 0.5, seed=8).data)
    tm.manual_seed(11)
    first = F.dropout(x, 0.5).data
    tm.manual_seed(11)
    assert np.array_equal(first, F.dropout(x, 0.5).data)


def test_dropout_draws_a_new_mask_from_a_generator_each_call():
    x = tm.tensor(np.ones((20, 20)))
    rng = np.random.default_rng(0)
    assert not np.array_equal(F.dropout(x, 0.5, seed=rng).data, F.dropout(x, 0.5, seed=rng).data)


def test_dropout_mask_does_not_depend_on_the_dtype():
    x = np.random.default_rng(0).standard_normal((10, 10))
    out64 = F.dropout(tm.tensor(x), 0.3, seed=2).data
    out32 = F.dropout(tm.tensor(x.astype(np.float32)), 0.3, seed=2).data
    assert out32.dtype == np.float32
    assert np.array_equal(out64 != 0, out32 != 0)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_keeps_about_1_minus_p_and_preserves_the_mean(p):
    x = tm.tensor(np.ones((400, 500)))
    out = F.dropout(x, p, seed=4).data
    n = out.size
    # 5 standard deviations of a binomial proportion
    assert abs(np.mean(out != 0) - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)
    assert abs(out.mean() - 1.0) < 5 * np.sqrt(p / (1 - p) / n)


def test_dropout_in_evaluation_or_with_p_zero_returns_the_input_itself():
    x = randn(3, 3)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x


def test_dropout_with_p_one_drops_everything():
    x = randn(3, 3)
    out = F.dropout(x, 1.0, seed=0)
    out.sum().backward()
    assert np.array_equal(out.data, np.zeros((3, 3))) and np.array_equal(x.grad, np.zeros((3, 3)))


@pytest.mark.parametrize("p, error", [(-0.1, ValueError), (1.5, ValueError), ("0.5", TypeError), (True, TypeError)])
def test_dropout_p_outside_0_1_or_not_a_number_is_refused(p, error):
    with pytest.raises(error, match=r"dropout: p must be a finite number >= 0 and <= 1, got"):
        F.dropout(randn(2), p)


def test_dropout_bad_training_flag_and_seed_are_named():
    with pytest.raises(TypeError, match="dropout: training must be True or False, got 'yes'"):
        F.dropout(randn(2), 0.5, training="yes")
    with pytest.raises(TypeError, match="dropout: seed must be an int, a numpy.random.Generator or None"):
        F.dropout(randn(2), 0.5, seed=1.5)


# -- activations ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fn, reference", [
    (F.relu, lambda a: np.maximum(a, 0)),
    (F.sigmoid, lambda a: 1 / (1 + np.exp(-a))),
    (F.tanh, np.tanh),
])
def test_activations_match_numpy_and_finite_differences(fn, reference):
    x = randn(3, 4)
    np.testing.assert_allclose(fn(x).data, reference(x.data), rtol=1e-12)
    assert_gradients(fn, x)


# -- softmax and log_softmax ---------------------------------------------------------------------


def test_softmax_matches_the_definition_and_rows_sum_to_one():
    x = randn(5, 4)
    s = F.softmax(x).data
    np.testing.assert_allclose(s, ref.softmax_rows(x.data), rtol=1e-12)
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(F.softmax(x, axis=0).data, ref.softmax_rows(x.data.T).T, rtol=1e-12)


def test_log_softmax_is_the_log_of_softmax():
    x = randn(2, 3, 4)
    for axis in (0, 1, -1):
        np.testing.assert_allclose(np.exp(F.log_softmax(x, axis).data), F.softmax(x, axis).data, rtol=1e-12)


def test_softmax_and_log_softmax_stay_finite_at_huge_logits():
    x = tm.tensor(np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, -1000.0]], dtype=np.float32))
    s, log_s = F.softmax(x).data, F.log_softmax(x).data
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(log_s))
    np.testing.assert_allclose(s, [[1, 0, 0], [0.5, 0.5, 0]], atol=1e-7)
    np.testing.assert_allclose(log_s, [[0, -2000, -1000], [-np.log(2), -np.log(2), -2000 - np.log(2)]], rtol=1e-6)


@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 5)), elements=st.floats(-50, 50)),
       st.floats(-1e3, 1e3))
def test_softmax_ignores_a_constant_added_to_every_logit(x, c):
    np.testing.assert_allclose(F.softmax(tm.tensor(x + c)).data, F.softmax(tm.tensor(x)).data, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_gradients_match_finite_differences(fn, axis):
    assert_gradients(lambda x: fn(x, axis), randn(2, 3, 2))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_matches_pytorch_forward_and_gradient(name):
    torch = pytest.importorskip("torch")
    x = randn(4, 5)
    g = np.random.default_rng(1).standard_normal((4, 5))
    out = getattr(F, name)(x, axis=1)
    out.backward(g)
    tx = torch.tensor(x.data, requires_grad=True)
    tout = getattr(torch.nn.functional, name)(tx, dim=1)
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_axis_out_of_range_is_named(name):
    with pytest.raises(ValueError, match=rf"{name}: dim \(x.shape=\(2, 3\)\) must be an int >= -2 and <= 1, got 2"):
        getattr(F, name)(randn(2, 3), axis=2)


# -- one namespace -------------------------------------------------------------------------------


def test_functional_is_one_namespace_with_the_convolutions_and_the_losses():
    from tinymed.nn import conv, loss_functions as losses, normalization, pooling, weighted_losses

    for module, names in [
        (conv, ["conv2d"]),
        (pooling, ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "global_avg_pool2d"]),
        (normalization, ["batch_norm", "layer_norm"]),
        (losses, ["binary_cross_entropy_with_logits", "binary_cross_entropy", "cross_entropy", "nll_loss",
                  "mse_loss", "l1_loss"]),
        (weighted_losses, ["weighted_binary_cross_entropy", "focal_loss"]),
    ]:
        for name in names:
            assert getattr(F, name) is getattr(module, name)


# -- the activations added for PyTorch fluency ---------------------------------------------------

_ACTIVATIONS = [
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda a: ref.leaky_relu(a, 0.2), lambda t, x: t.leaky_relu(x, 0.2)),
    ("elu", lambda x: F.elu(x, 0.7), lambda a: ref.elu(a, 0.7), lambda t, x: t.elu(x, 0.7)),
    ("gelu", F.gelu, ref.gelu, lambda t, x: t.gelu(x)),
    ("gelu-tanh", lambda x: F.gelu(x, approximate="tanh"), ref.gelu_tanh, lambda t, x: t.gelu(x, approximate="tanh")),
    ("silu", F.silu, ref.silu, lambda t, x: t.silu(x)),
    ("softplus", lambda x: F.softplus(x, beta=2.0, threshold=3.0), lambda a: ref.softplus(a, 2.0, 3.0),
     lambda t, x: t.softplus(x, beta=2.0, threshold=3.0)),
]
_ACTIVATION_IDS = [case[0] for case in _ACTIVATIONS]


@pytest.mark.parametrize("name, ours, reference, _", _ACTIVATIONS, ids=_ACTIVATION_IDS)
@given(x=hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=4), elements=st.floats(-20, 20)))
def test_new_activations_match_their_formulas_element_by_element(name, ours, reference, _, x):
    np.testing.assert_allclose(ours(tm.tensor(x)).data, reference(x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name, ours, reference, _", _ACTIVATIONS, ids=_ACTIVATION_IDS)
def test_new_activations_gradients_match_finite_differences(name, ours, reference, _):
    x = randn(3, 4) * 3  # away from 0, where leaky_relu and elu bend
    x = tm.tensor(np.where(np.abs(x.data) < 1e-3, 0.5, x.data), requires_grad=True)
    assert_gradients(ours, x)


@pytest.mark.parametrize("name, ours, _, theirs", _ACTIVATIONS, ids=_ACTIVATION_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_new_activations_match_pytorch_forward_and_gradient(name, ours, _, theirs, dtype):
    torch = pytest.importorskip("torch")
    data = np.concatenate([np.linspace(-30, 30, 61), [0.0, 1.5, 1.4999, 1.5001]]).astype(dtype)
    x = tm.tensor(data, requires_grad=True)
    g = np.random.default_rng(1).standard_normal(data.shape).astype(dtype)
    out = ours(x)
    out.backward(g)
    tx = torch.tensor(data, requires_grad=True)
    tout = theirs(torch.nn.functional, tx)
    tout.backward(torch.tensor(g))
    assert out.dtype == dtype
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), **tol)
    np.testing.assert_allclose(np.asarray(x.grad), tx.grad.numpy(), **tol)


def test_softplus_is_finite_and_linear_at_large_inputs():
    x = tm.tensor(np.array([-1000.0, 1000.0], dtype=np.float32), requires_grad=True)
    out = F.softplus(x)
    out.sum().backward()
    np.testing.assert_allclose(out.data, [0.0, 1000.0])
    np.testing.assert_allclose(np.asarray(x.grad), [0.0, 1.0])


def test_softmax_takes_pytorchs_dim_keyword_as_well_as_axis():
    x = randn(2, 3)
    np.testing.assert_array_equal(F.softmax(x, dim=0).data, F.softmax(x, axis=0).data)
    np.testing.assert_array_equal(F.log_softmax(x, 0).data, F.log_softmax(x, axis=0).data)
    with pytest.raises(TypeError, match="softmax: give dim or axis"):
        F.softmax(x, dim=0, axis=0)


# -- layer_norm ------------------------------------------------------------------------------------


@pytest.mark.parametrize("x_shape, normalized_shape", [((4, 5), (5,)), ((2, 3, 4), (3, 4)), ((2, 2, 3), 3)])
def test_layer_norm_matches_the_loop_reference_and_finite_differences(x_shape, normalized_shape):
    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    shape = x_shape[len(x_shape) - k:]
    x, w, b = randn(*x_shape), randn(*shape, seed=1), randn(*shape, seed=2)
    np.testing.assert_allclose(F.layer_norm(x, normalized_shape, w, b).data,
                               ref.layer_norm(x.data, k, w.data, b.data, 1e-5), rtol=1e-10, atol=1e-12)
    assert_gradients(lambda x, w, b: F.layer_norm(x, normalized_shape, w, b), x, w, b)
    assert_gradients(lambda x: F.layer_norm(x, normalized_shape), x)


def test_layer_norm_matches_pytorch_forward_and_gradients():
    torch = pytest.importorskip("torch")
    x, w, b = randn(3, 2, 4), randn(2, 4, seed=1), randn(2, 4, seed=2)
    g = np.random.default_rng(3).standard_normal((3, 2, 4))
    F.layer_norm(x, (2, 4), w, b, eps=1e-3).backward(g)
    tx, tw, tb = (torch.tensor(t.data, requires_grad=True) for t in (x, w, b))
    out = torch.nn.functional.layer_norm(tx, (2, 4), tw, tb, eps=1e-3)
    out.backward(torch.tensor(g))
    np.testing.assert_allclose(F.layer_norm(x, (2, 4), w, b, eps=1e-3).data, out.detach().numpy(), rtol=1e-10)
    for ours, theirs in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(np.asarray(ours.grad), theirs.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_layer_norm_names_a_shape_that_does_not_end_the_input():
    with pytest.raises(ValueError, match=r"layer_norm: x must end in normalized_shape \(3,\), got x.shape=\(2, 4\)"):
        F.layer_norm(randn(2, 4), 3)


# -- dropout2d, flatten, unflatten -------------------------------------------------------------------


def test_dropout2d_zeroes_whole_channels_and_scales_the_rest():
    x = tm.tensor(np.ones((50, 8, 3, 3)))
    out = F.dropout2d(x, 0.25, seed=0).data
    per_channel = out.reshape(50, 8, 9)
    assert np.all((per_channel == 0).all(axis=2) | (per_channel == 1 / 0.75).all(axis=2))
    assert abs((per_channel[:, :, 0] == 0).mean() - 0.25) < 0.06
    assert F.dropout2d(x, 0.25, training=False) is x


def test_dropout2d_gradient_goes_through_the_kept_channels():
    x = randn(2, 3, 2, 2)
    assert_gradients(lambda x: F.dropout2d(x, 0.5, seed=4), x)


@given(st.lists(st.integers(1, 3), min_size=1, max_size=4), st.data())
def test_flatten_then_unflatten_is_the_identity(shape, data):
    start = data.draw(st.integers(-len(shape), len(shape) - 1))
    end = data.draw(st.integers(start % len(shape), len(shape) - 1))
    x = tm.tensor(np.arange(np.prod(shape), dtype=np.float64).reshape(shape))
    flat = F.flatten(x, start, end)
    begin = start % len(shape)
    assert flat.shape == tuple(shape[:begin]) + (int(np.prod(shape[begin:end + 1])),) + tuple(shape[end + 1:])
    back = F.unflatten(flat, begin, tuple(shape[begin:end + 1]))
    np.testing.assert_array_equal(back.data, x.data)


def test_flatten_and_unflatten_gradients_and_bad_sizes():
    assert_gradients(lambda x: F.flatten(x, 1), randn(2, 3, 2))
    assert_gradients(lambda x: F.unflatten(x, 1, (2, -1)), randn(2, 6))
    with pytest.raises(ValueError, match=r"unflatten: sizes \(4, 2\) do not multiply to x.shape\[1\] = 6"):
        F.unflatten(randn(2, 6), 1, (4, 2))
    with pytest.raises(ValueError, match=r"flatten: start_dim 2 comes after end_dim 1"):
        F.flatten(randn(2, 3, 4), 2, 1)
