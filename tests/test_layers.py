"""Layers (tinymed.nn.layers) and their initialisation (tinymed.nn.init).

Each layer is checked three ways: its gradients against finite differences (float64), its
forward against PyTorch's layer with the same weights when torch is installed, and its
behaviour at the boundary (dtypes, shapes, error messages).
"""
import math

import numpy as np
import pytest

import tinymed as tm
import tinymed.nn as nn
from tinymed.nn import init
from tinymed.nn.layers import (
    AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten, GlobalAvgPool2d, Linear,
    MaxPool2d, ReLU, Sigmoid, Tanh,
)


# ---------------------------------------------------------------------------------------------
# Initialisation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nonlinearity, param, expected",
    [("linear", None, 1.0), ("conv2d", None, 1.0), ("sigmoid", None, 1.0), ("tanh", None, 5 / 3),
     ("relu", None, math.sqrt(2)), ("selu", None, 0.75), ("leaky_relu", None, math.sqrt(2 / 1.0001)),
     ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("leaky_relu", math.sqrt(5), math.sqrt(1 / 3))],
)
def test_calculate_gain_follows_pytorchs_table(nonlinearity, param, expected):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(expected)


def test_calculate_gain_rejects_an_unknown_nonlinearity():
    with pytest.raises(ValueError, match="calculate_gain: unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


@pytest.mark.parametrize(
    "shape, fans", [((5, 3), (3, 5)), ((16, 3, 3, 3), (27, 144)), ((4, 2, 5), (10, 20))]
)
def test_fans_multiply_the_channel_axes_by_the_receptive_field(shape, fans):
    assert init._calculate_fan_in_and_fan_out(np.zeros(shape)) == fans


def test_fans_need_two_dimensions():
    with pytest.raises(ValueError, match=r"at least 2 dimensions.*got shape \(7,\)"):
        init._calculate_fan_in_and_fan_out(np.zeros(7))


def test_initialisers_match_pytorchs_calculate_gain_and_fans():
    torch = pytest.importorskip("torch")
    for name in ["linear", "tanh", "relu", "selu", "leaky_relu"]:
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))
    w = torch.empty(8, 3, 5, 5)
    assert init._calculate_fan_in_and_fan_out(w.numpy()) == torch.nn.init._calculate_fan_in_and_fan_out(w)


# fan_in = 32 * 3 * 3 = 288, fan_out = 64 * 3 * 3 = 576; the expected numbers are PyTorch's
# formulas written out: uniform bound = sqrt(3) * std.
_SHAPE = (64, 32, 3, 3)
_INIT_CASES = [
    # (initialiser, kwargs, bound of the uniform or None for a normal, std)
    # the default a=0 is a leaky ReLU of slope 0, i.e. a ReLU: gain sqrt(2)
    (init.kaiming_uniform_, {}, math.sqrt(6 / 288), math.sqrt(2 / 288)),
    (init.kaiming_uniform_, {"a": 0.2}, math.sqrt(3 * 2 / 1.04 / 288), math.sqrt(2 / 1.04 / 288)),
    (init.kaiming_uniform_, {"a": math.sqrt(5)}, 1 / math.sqrt(288), 1 / math.sqrt(3 * 288)),
    (init.kaiming_uniform_, {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(6 / 576), math.sqrt(2 / 576)),
    (init.kaiming_normal_, {"nonlinearity": "relu"}, None, math.sqrt(2 / 288)),
    (init.xavier_uniform_, {"gain": 2.0}, math.sqrt(3) * 2 * math.sqrt(2 / 864), 2 * math.sqrt(2 / 864)),
    (init.xavier_normal_, {}, None, math.sqrt(2 / 864)),
]


@pytest.mark.parametrize(
    "fn, kwargs, bound, std", _INIT_CASES, ids=[f"{c[0].__name__}{c[1]}" for c in _INIT_CASES]
)
def test_initialisers_have_the_bound_and_std_of_pytorchs_formula(fn, kwargs, bound, std):
    w = fn(np.empty(_SHAPE, dtype=np.float64), seed=0, **kwargs)
    if bound is not None:
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.99 * bound  # 165888 draws reach the edge
    assert abs(w.mean()) < 0.01 * std
    assert w.std() == pytest.approx(std, rel=0.01)


def test_the_same_seed_gives_identical_weights_and_another_seed_different_ones():
    a = init.kaiming_uniform_(np.empty((6, 4)), seed=3)
    b = init.kaiming_uniform_(np.empty((6, 4)), seed=3)
    c = init.kaiming_uniform_(np.empty((6, 4)), seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_seed_none_is_reproducible_through_manual_seed():
    tm.manual_seed(11)
    a = init.xavier_normal_(np.empty((5, 5)))
    tm.manual_seed(11)
    b = init.xavier_normal_(np.empty((5, 5)))
    np.testing.assert_array_equal(a, b)


def test_initialising_a_tensor_rebinds_its_data_with_the_same_dtype():
    t = tm.tensor(np.zeros((3, 4), dtype=np.float32), requires_grad=True)
    old = t.data
    out = init.kaiming_normal_(t, seed=0)
    assert out is t and t.data is not old
    assert t.dtype == np.float32 and t.requires_grad
    assert np.all(old == 0)  # the old array, which a graph may still hold, is left alone
    assert np.all(init.ones_(t).data == 1) and np.all(init.zeros_(t).data == 0)


def test_initialising_an_array_overwrites_it_in_place_keeping_its_dtype():
    a = np.zeros((3, 4), dtype=np.float32)
    assert init.uniform_(a, -2.0, -1.0, seed=0) is a
    assert a.dtype == np.float32 and np.all((a >= -2) & (a <= -1))


def test_initialisers_reject_bad_arguments():
    with pytest.raises(TypeError, match="kaiming_uniform_: expected a tinymed Tensor or a NumPy array, got list"):
        init.kaiming_uniform_([[1.0, 2.0]])
    with pytest.raises(TypeError, match="xavier_normal_: expected a float tensor or array, got dtype int64"):
        init.xavier_normal_(np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="kaiming_normal_: mode must be 'fan_in' or 'fan_out', got 'fan_avg'"):
        init.kaiming_normal_(np.zeros((2, 2)), mode="fan_avg")
    with pytest.raises(ValueError, match="uniform_: needs a <= b, got a=1, b=0"):
        init.uniform_(np.zeros(3), 1, 0)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _randn(*shape, seed=0, dtype=np.float64, requires_grad=False):
    data = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return tm.tensor(data, requires_grad=requires_grad)


def _to_torch(layer, torch_layer):
    """torch_layer in float64 with the tinymed layer's parameters and buffers (strict keys)."""
    import torch

    torch_layer = torch_layer.double()
    torch_layer.load_state_dict({k: torch.from_numpy(v) for k, v in layer.state_dict().items()})
    return torch_layer


def _torch_input(x):
    import torch

    return torch.from_numpy(x.data.copy()).requires_grad_(True)


def _randomised_batch_norm(bn, seed=0):
    """A BatchNorm with non-trivial weight, bias and running statistics (rebound, never in place)."""
    rng = np.random.default_rng(seed)
    c, dtype = bn.num_features, bn.weight.dtype
    bn.weight.data = rng.uniform(0.5, 1.5, c).astype(dtype)
    bn.bias.data = rng.normal(size=c).astype(dtype)
    bn.running_mean = rng.normal(size=c).astype(dtype)
    bn.running_var = rng.uniform(0.5, 2.0, c).astype(dtype)
    return bn


def _randomised_layer_norm(ln, seed=0):
    rng = np.random.default_rng(seed)
    ln.weight.data = rng.uniform(0.5, 1.5, ln.normalized_shape).astype(ln.weight.dtype)
    ln.bias.data = rng.normal(size=ln.normalized_shape).astype(ln.bias.dtype)
    return ln


def _frozen_batch_norm_with_trainable_affine():
    # Frozen (running statistics), but weight and bias still require grad so gradcheck sees them.
    bn = _randomised_batch_norm(BatchNorm2d(2)).freeze()
    bn.weight.requires_grad_(True)
    bn.bias.requires_grad_(True)
    return bn


# ---------------------------------------------------------------------------------------------
# Every layer: gradients and dtype
# ---------------------------------------------------------------------------------------------

# (id, factory, input shape), tiny: gradcheck costs two forwards per input element.
_LAYERS = [
    ("Linear", lambda: Linear(3, 2, seed=0), (4, 3)),
    ("Linear-3d-input", lambda: Linear(3, 2, seed=0), (2, 2, 3)),
    ("Linear-no-bias", lambda: Linear(3, 2, bias=False, seed=0), (4, 3)),
    ("Conv2d", lambda: Conv2d(2, 3, 3, seed=0), (2, 2, 4, 4)),
    ("Conv2d-stride-padding", lambda: Conv2d(2, 2, (3, 2), stride=(2, 1), padding=(1, 0), seed=0), (1, 2, 5, 4)),
    ("Conv2d-no-bias", lambda: Conv2d(1, 2, 2, stride=2, padding=1, bias=False, seed=0), (2, 1, 3, 3)),
    ("MaxPool2d", lambda: MaxPool2d(2), (2, 2, 4, 4)),
    ("MaxPool2d-overlapping-padded", lambda: MaxPool2d(3, stride=2, padding=1), (1, 2, 5, 5)),
    ("AvgPool2d", lambda: AvgPool2d(2), (2, 2, 4, 4)),
    ("AvgPool2d-overlapping-padded", lambda: AvgPool2d((3, 2), stride=1, padding=(1, 0)), (1, 2, 3, 4)),
    ("GlobalAvgPool2d", lambda: GlobalAvgPool2d(), (2, 3, 3, 2)),
    ("BatchNorm1d-train", lambda: _randomised_batch_norm(BatchNorm1d(3)), (5, 3)),
    ("BatchNorm1d-3d-train", lambda: _randomised_batch_norm(BatchNorm1d(2)), (3, 2, 4)),
    ("BatchNorm2d-train", lambda: _randomised_batch_norm(BatchNorm2d(2)), (3, 2, 2, 3)),
    ("BatchNorm2d-eval", lambda: _randomised_batch_norm(BatchNorm2d(2)).eval(), (3, 2, 2, 3)),
    ("BatchNorm2d-frozen", _frozen_batch_norm_with_trainable_affine, (3, 2, 2, 3)),
    ("Dropout-eval", lambda: Dropout(0.5, seed=0).eval(), (3, 4)),
    ("ReLU", lambda: ReLU(), (3, 4)),
    ("Sigmoid", lambda: Sigmoid(), (3, 4)),
    ("Tanh", lambda: Tanh(), (3, 4)),
    ("Flatten", lambda: Flatten(), (2, 3, 2, 2)),
    ("Conv2d-same-dilated-grouped", lambda: Conv2d(4, 2, 3, padding="same", dilation=2, groups=2, seed=0), (1, 4, 5, 5)),
    ("Conv2d-valid-depthwise", lambda: Conv2d(2, 2, 2, padding="valid", groups=2, seed=0), (2, 2, 3, 3)),
    ("MaxPool2d-ceil", lambda: MaxPool2d(2, ceil_mode=True), (1, 2, 5, 5)),
    ("AvgPool2d-ceil-pad-not-counted", lambda: AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), (1, 2, 6, 6)),
    ("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d((2, 3)), (1, 2, 5, 7)),
    ("BatchNorm2d-no-affine-no-stats", lambda: BatchNorm2d(2, affine=False, track_running_stats=False).eval(), (3, 2, 2, 3)),
    ("LayerNorm", lambda: _randomised_layer_norm(nn.LayerNorm((3, 4))), (2, 3, 4)),
    ("LayerNorm-no-affine", lambda: nn.LayerNorm(4, elementwise_affine=False), (3, 4)),
    ("Dropout2d-eval", lambda: nn.Dropout2d(0.5, seed=0).eval(), (2, 3, 2, 2)),
    ("LeakyReLU", lambda: nn.LeakyReLU(0.2), (3, 4)),
    ("ELU", lambda: nn.ELU(0.7), (3, 4)),
    ("GELU", lambda: nn.GELU(), (3, 4)),
    ("GELU-tanh", lambda: nn.GELU("tanh"), (3, 4)),
    ("SiLU", lambda: nn.SiLU(), (3, 4)),
    ("Softplus", lambda: nn.Softplus(beta=2.0, threshold=3.0), (3, 4)),
    ("Softmax", lambda: nn.Softmax(dim=1), (3, 4)),
    ("LogSoftmax", lambda: nn.LogSoftmax(dim=0), (3, 4)),
    ("Unflatten", lambda: nn.Unflatten(1, (2, 3)), (2, 6)),
    ("Flatten-middle", lambda: Flatten(1, 2), (2, 3, 2, 2)),
]
_LAYER_IDS = [case[0] for case in _LAYERS]


@pytest.mark.parametrize("name, factory, shape", _LAYERS, ids=_LAYER_IDS)
def test_every_layer_passes_gradcheck_for_its_input_and_its_parameters(name, factory, shape):
    layer = factory().double()
    x = _randn(*shape, requires_grad=True)
    assert tm.gradcheck(lambda x: layer(x), (x,))
    params = [p for p in layer.parameters() if p.requires_grad]
    if params:
        x_constant = _randn(*shape, seed=1)
        # gradcheck nudges each parameter's .data in turn; the lambda reads them through the layer
        assert tm.gradcheck(lambda *ps: layer(x_constant), params)


@pytest.mark.parametrize("name, factory, shape", _LAYERS, ids=_LAYER_IDS)
def test_every_layer_keeps_float32_in_and_out_and_in_its_gradients(name, factory, shape):
    layer = factory()
    x = _randn(*shape, dtype=np.float32, requires_grad=True)
    out = layer(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32
    for p in layer.parameters():
        assert p.dtype == np.float32
        assert p.grad is None or p.grad.dtype == np.float32


@pytest.mark.parametrize("name, factory, shape", _LAYERS, ids=_LAYER_IDS)
def test_every_layer_rejects_a_bare_numpy_array_and_the_note_names_it(name, factory, shape):
    layer = factory()
    with pytest.raises(TypeError, match=rf"x must be a tinymed Tensor, got ndarray .*\nin {type(layer).__name__}\("):
        layer(np.zeros(shape, dtype=np.float32))


def test_dropout_in_training_passes_gradcheck_when_each_call_draws_the_same_mask():
    x = _randn(3, 5, requires_grad=True)
    assert tm.gradcheck(lambda x: Dropout(0.4, seed=3)(x), (x,))


# ---------------------------------------------------------------------------------------------
# Linear and Conv2d: initialisation, PyTorch, repr
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layer, fan_in",
    [(Linear(400, 300, seed=0), 400), (Conv2d(16, 64, 5, seed=0), 16 * 5 * 5)],
    ids=["Linear", "Conv2d"],
)
def test_weights_and_bias_are_uniform_within_one_over_sqrt_fan_in_as_in_pytorch(layer, fan_in):
    bound = 1 / math.sqrt(fan_in)
    for p in (layer.weight, layer.bias):
        assert p.dtype == np.float32
        assert np.abs(p.data).max() <= bound
    # U(-b, b) has standard deviation b / sqrt(3)
    assert layer.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    assert layer.bias.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.2)


def test_parameter_shapes_are_pytorchs():
    assert Linear(5, 3).weight.shape == (3, 5) and Linear(5, 3).bias.shape == (3,)
    conv = Conv2d(4, 8, (3, 5))
    assert conv.weight.shape == (8, 4, 3, 5) and conv.bias.shape == (8,)
    assert Conv2d(4, 8, 3, bias=False).bias is None
    assert [name for name, _ in Conv2d(4, 8, 3, bias=False).named_parameters()] == ["weight"]


@pytest.mark.parametrize("make", [lambda s: Linear(6, 4, seed=s), lambda s: Conv2d(2, 3, 3, seed=s)], ids=["Linear", "Conv2d"])
def test_the_same_seed_gives_the_same_layer_and_another_seed_another(make):
    a, b, c = make(5), make(5), make(6)
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(value, b.state_dict()[key])
    assert not np.array_equal(a.weight.data, c.weight.data)
    tm.manual_seed(2)
    d = make(None)
    tm.manual_seed(2)
    np.testing.assert_array_equal(d.weight.data, make(None).weight.data)


def test_layers_are_created_in_the_default_dtype():
    tm.set_default_dtype(np.float64)
    try:
        assert Linear(2, 2).weight.dtype == np.float64
        assert BatchNorm2d(2).running_var.dtype == np.float64
    finally:
        tm.set_default_dtype(np.float32)
    assert Conv2d(1, 1, 1).weight.dtype == np.float32


def test_linear_matches_pytorch_forward_and_backward():
    torch = pytest.importorskip("torch")
    layer = Linear(5, 3, seed=0).double()
    ref = _to_torch(layer, torch.nn.Linear(5, 3))
    x = _randn(2, 4, 5, requires_grad=True)
    xt = _torch_input(x)
    out = layer(x)
    out_t = ref(xt)
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(g)
    out_t.backward(torch.from_numpy(g))
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, ref.bias.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "kernel_size, stride, padding",
    [(3, 1, 0), (3, 1, 1), (3, 2, 1), (1, 1, 0), (2, 2, 0), ((3, 5), (2, 1), (1, 2)), (4, 3, 2)],
)
def test_conv2d_matches_pytorch_forward_and_backward(kernel_size, stride, padding):
    torch = pytest.importorskip("torch")
    layer = Conv2d(3, 4, kernel_size, stride=stride, padding=padding, seed=0).double()
    ref = _to_torch(layer, torch.nn.Conv2d(3, 4, kernel_size, stride=stride, padding=padding))
    x = _randn(2, 3, 9, 8, requires_grad=True)
    xt = _torch_input(x)
    out, out_t = layer(x), ref(xt)
    assert out.shape == tuple(out_t.shape)
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(g)
    out_t.backward(torch.from_numpy(g))
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, ref.bias.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_linear_and_conv2d_print_as_in_pytorch():
    assert repr(Conv2d(1, 16, 3, padding=1)) == "Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert repr(Linear(64, 1)) == "Linear(in_features=64, out_features=1, bias=True)"
    torch = pytest.importorskip("torch")
    for ours, theirs in [
        (Linear(3, 4, bias=False), torch.nn.Linear(3, 4, bias=False)),
        (Conv2d(1, 16, 3, padding=1), torch.nn.Conv2d(1, 16, 3, padding=1)),
        (Conv2d(3, 8, (3, 5), stride=2, bias=False), torch.nn.Conv2d(3, 8, (3, 5), stride=2, bias=False)),
    ]:
        assert repr(ours) == repr(theirs)


def test_other_layers_print_pytorchs_repr_without_the_options_they_lack():
    assert repr(MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(AvgPool2d(3, stride=1, padding=1)) == "AvgPool2d(kernel_size=3, stride=1, padding=1)"
    # PyTorch's repr (2.13 adds "bias=True" after affine)
    assert repr(BatchNorm2d(16)) == "BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    assert repr(BatchNorm1d(8, momentum=None, affine=False)) == "BatchNorm1d(8, eps=1e-05, momentum=None, affine=False, track_running_stats=True)"
    assert repr(Dropout(0.25)) == "Dropout(p=0.25, inplace=False)"
    assert repr(Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(GlobalAvgPool2d()) == "GlobalAvgPool2d()"
    assert repr(ReLU()) == "ReLU()"
    torch = pytest.importorskip("torch")
    for ours, theirs in [
        (MaxPool2d(2), torch.nn.MaxPool2d(2)),
        (MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
        (AvgPool2d(3, stride=1, padding=1), torch.nn.AvgPool2d(3, stride=1, padding=1)),
        (Dropout(0.25), torch.nn.Dropout(0.25)),
        (Flatten(), torch.nn.Flatten()),
        (nn.Unflatten(1, (1, 28, 28)), torch.nn.Unflatten(1, (1, 28, 28))),
        (nn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1)),
        (nn.LayerNorm(8), torch.nn.LayerNorm(8)),
        (nn.Dropout2d(0.1), torch.nn.Dropout2d(0.1)),
        (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
        (nn.ELU(), torch.nn.ELU()),
        (nn.GELU(), torch.nn.GELU()),
        (nn.SiLU(), torch.nn.SiLU()),
        (nn.Softplus(), torch.nn.Softplus()),
        (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)),
        (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1)),
        (ReLU(inplace=True), torch.nn.ReLU(inplace=True)),
        (Conv2d(4, 8, 3, padding="same", dilation=2, groups=2), torch.nn.Conv2d(4, 8, 3, padding="same", dilation=2, groups=2)),
    ]:
        assert repr(ours) == repr(theirs)


# ---------------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------------

_POOL_SETTINGS = [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 1)), (3, 1, 0), (2, 1, 1)]


@pytest.mark.parametrize("kind", ["MaxPool2d", "AvgPool2d"])
@pytest.mark.parametrize("kernel_size, stride, padding", _POOL_SETTINGS)
def test_pooling_matches_pytorch_forward_and_backward(kind, kernel_size, stride, padding):
    torch = pytest.importorskip("torch")
    ours = {"MaxPool2d": MaxPool2d, "AvgPool2d": AvgPool2d}[kind](kernel_size, stride, padding)
    ref = getattr(torch.nn, kind)(kernel_size, stride, padding)
    x = _randn(2, 3, 7, 6, requires_grad=True)
    xt = _torch_input(x)
    out, out_t = ours(x), ref(xt)
    assert out.shape == tuple(out_t.shape)
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(g)
    out_t.backward(torch.from_numpy(g))
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_global_avg_pool_is_the_mean_of_each_channel():
    x = _randn(3, 4, 5, 6)
    out = GlobalAvgPool2d()(x)
    assert out.shape == (3, 4)
    expected = [[x.data[n, c].mean() for c in range(4)] for n in range(3)]
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)


def test_global_avg_pool_matches_pytorchs_adaptive_avg_pool_and_flatten():
    torch = pytest.importorskip("torch")
    x = _randn(2, 5, 7, 3)
    ref = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    np.testing.assert_allclose(GlobalAvgPool2d()(x).data, ref(_torch_input(x)).detach().numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# BatchNorm
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, torch_name, shape",
    [
        (lambda **kw: BatchNorm1d(3, **kw), "BatchNorm1d", (6, 3)),
        (lambda **kw: BatchNorm1d(3, **kw), "BatchNorm1d", (4, 3, 5)),
        (lambda **kw: BatchNorm2d(3, **kw), "BatchNorm2d", (4, 3, 5, 2)),
    ],
    ids=["1d", "1d-with-length", "2d"],
)
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batch_norm_matches_pytorch_over_several_training_steps_then_in_eval(make, torch_name, shape, momentum):
    torch = pytest.importorskip("torch")
    bn = _randomised_batch_norm(make(momentum=momentum, eps=1e-3)).double()
    ref = _to_torch(bn, getattr(torch.nn, torch_name)(3, momentum=momentum, eps=1e-3))
    for step in range(4):
        x = _randn(*shape, seed=step)
        x.data = x.data * (step + 1) + step  # statistics that move from batch to batch
        np.testing.assert_allclose(bn(x).data, ref(_torch_input(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
        for key, value in ref.state_dict().items():
            np.testing.assert_allclose(bn.state_dict()[key], value.numpy(), rtol=1e-12, err_msg=key)
    assert bn.num_batches_tracked == 4 and bn.num_batches_tracked.dtype == np.int64
    bn.eval()
    ref.eval()
    x = _randn(*shape, seed=9)
    np.testing.assert_allclose(bn(x).data, ref(_torch_input(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    assert bn.num_batches_tracked == 4


def test_batch_norm_backward_in_training_mode_matches_pytorch():
    torch = pytest.importorskip("torch")
    bn = _randomised_batch_norm(BatchNorm2d(3)).double()
    ref = _to_torch(bn, torch.nn.BatchNorm2d(3))
    x = _randn(4, 3, 3, 2, requires_grad=True)
    xt = _torch_input(x)
    g = np.random.default_rng(1).standard_normal(x.shape)
    bn(x).backward(g)
    ref(xt).backward(torch.from_numpy(g))
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(bn.weight.grad, ref.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(bn.bias.grad, ref.bias.grad.numpy(), rtol=1e-10)


def test_batch_norm_in_training_normalises_each_channel_to_mean_0_and_variance_1():
    x = _randn(8, 3, 4, 4)
    x.data = x.data * np.array([1.0, 5.0, 0.1]).reshape(1, 3, 1, 1) + np.array([0.0, -3.0, 7.0]).reshape(1, 3, 1, 1)
    out = BatchNorm2d(3).double()(x).data
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1, rtol=1e-3)  # var / (var + eps)


def test_batch_norm_starts_with_pytorchs_parameters_and_buffers():
    bn = BatchNorm2d(4)
    assert [k for k in bn.state_dict()] == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    np.testing.assert_array_equal(bn.weight.data, np.ones(4))
    np.testing.assert_array_equal(bn.bias.data, np.zeros(4))
    np.testing.assert_array_equal(bn.running_mean, np.zeros(4))
    np.testing.assert_array_equal(bn.running_var, np.ones(4))
    assert bn.running_mean.dtype == bn.running_var.dtype == np.float32
    assert bn.num_batches_tracked.shape == () and bn.num_batches_tracked.dtype == np.int64
    bn.double()
    assert bn.running_mean.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64


def test_a_frozen_batch_norm_uses_and_keeps_its_running_statistics_even_in_training_mode():
    bn = BatchNorm2d(3)
    for step in range(3):  # some non-trivial statistics first
        bn(_randn(4, 3, 5, 5, seed=step, dtype=np.float32) + step)
    bn.freeze()
    assert bn.training and not bn.weight.requires_grad
    before = {k: v.copy() for k, v in bn.state_dict().items()}
    x = _randn(4, 3, 5, 5, seed=10, dtype=np.float32) * 3
    outputs = [bn(x).data for _ in range(3)]
    for key, value in bn.state_dict().items():
        assert value.dtype == before[key].dtype
        np.testing.assert_array_equal(value, before[key], err_msg=key)
    expected = (x.data - bn.running_mean.reshape(1, 3, 1, 1)) / np.sqrt(bn.running_var.reshape(1, 3, 1, 1) + 1e-5)
    np.testing.assert_allclose(outputs[0], expected, rtol=1e-5, atol=1e-6)
    bn.unfreeze()
    bn(x)
    assert bn.num_batches_tracked == 4
    assert not np.array_equal(bn.running_mean, before["running_mean"])


def test_batch_norm_in_eval_mode_leaves_its_buffers_alone():
    bn = _randomised_batch_norm(BatchNorm1d(3)).eval()
    before = {k: v.copy() for k, v in bn.state_dict().items()}
    bn(_randn(5, 3, dtype=np.float32))
    for key, value in bn.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_batch_norm_with_momentum_none_keeps_the_plain_average_of_the_batch_means():
    bn = BatchNorm1d(2, momentum=None).double()
    batches = [_randn(5, 2, seed=s) + 3 * s for s in range(4)]
    for x in batches:
        bn(x)
    np.testing.assert_allclose(bn.running_mean, np.mean([x.data.mean(axis=0) for x in batches], axis=0), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Dropout, activations, Flatten
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_zeros_a_fraction_p_and_scales_the_rest_by_one_over_one_minus_p(p):
    x = tm.tensor(np.ones((200, 500)), requires_grad=True)
    out = Dropout(p, seed=0)(x)
    zeroed = out.data == 0
    # 100,000 draws: the fraction's standard error is below 0.0016
    assert zeroed.mean() == pytest.approx(p, abs=0.01)
    np.testing.assert_allclose(out.data[~zeroed], 1 / (1 - p), rtol=1e-12)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, out.data)  # d out / d x = mask / (1 - p)


def test_dropout_statistics_match_pytorchs():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ours = Dropout(0.3, seed=0)(tm.tensor(np.ones((300, 300)))).data
    theirs = torch.nn.Dropout(0.3)(torch.ones(300, 300, dtype=torch.float64)).numpy()
    assert (ours == 0).mean() == pytest.approx((theirs == 0).mean(), abs=0.01)
    assert set(np.unique(ours)) == set(np.unique(theirs))  # {0, 1 / 0.7}


def test_dropout_draws_a_new_mask_each_call_and_a_seed_reproduces_the_sequence():
    x = tm.tensor(np.ones((4, 50)))
    a = Dropout(0.5, seed=7)
    b = Dropout(0.5, seed=7)
    first, second = a(x).data, a(x).data
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(b(x).data, first)
    np.testing.assert_array_equal(b(x).data, second)
    layer = Dropout(0.5)
    tm.manual_seed(3)
    c = layer(x).data
    tm.manual_seed(3)
    np.testing.assert_array_equal(layer(x).data, c)


def test_dropout_in_eval_mode_returns_the_input_unchanged():
    x = _randn(3, 4)
    np.testing.assert_array_equal(Dropout(0.9, seed=0).eval()(x).data, x.data)


def test_activations_compute_their_formulas():
    x = _randn(4, 5)
    np.testing.assert_array_equal(ReLU()(x).data, np.maximum(x.data, 0))
    np.testing.assert_allclose(Sigmoid()(x).data, 1 / (1 + np.exp(-x.data)), rtol=1e-12)
    np.testing.assert_allclose(Tanh()(x).data, np.tanh(x.data), rtol=1e-12)


@pytest.mark.parametrize("start_axis, expected", [(1, (2, 60)), (2, (2, 3, 20)), (0, (120,)), (-1, (2, 3, 4, 5))])
def test_flatten_joins_the_axes_from_start_axis_on(start_axis, expected):
    x = _randn(2, 3, 4, 5)
    out = Flatten(start_axis)(x)
    assert out.shape == expected
    np.testing.assert_array_equal(out.data, x.data.reshape(expected))


# ---------------------------------------------------------------------------------------------
# Bad arguments and inputs: the message names the layer, the expected and the actual shapes
# ---------------------------------------------------------------------------------------------


def test_a_conv2d_given_the_wrong_number_of_channels_names_both_and_the_layer():
    x = tm.tensor(np.zeros((8, 1, 28, 28), dtype=np.float32))
    with pytest.raises(
        ValueError,
        match=r"conv2d: weight has 3 input channels but x has 1 \(x.shape=\(8, 1, 28, 28\), weight.shape=\(16, 3, 3, 3\)\)"
              r"\nin Conv2d\(3, 16, kernel_size=\(3, 3\), stride=\(1, 1\)\)$",
    ):
        Conv2d(3, 16, 3)(x)


def test_the_note_names_the_failing_layer_by_its_path_in_the_model():
    model = nn.Sequential(nn.Sequential(Linear(3, 4)), ReLU())
    with pytest.raises(ValueError, match=r"linear: x has 5 features .*\nin 0.0: Linear\(in_features=3, out_features=4, bias=True\)$"):
        model(tm.tensor(np.zeros((2, 5), dtype=np.float32)))


@pytest.mark.parametrize(
    "layer, shape, message",
    [
        (Conv2d(1, 4, 3), (1, 28, 28), r"conv2d: x must be 4-d \(N, C, H, W\), got shape \(1, 28, 28\)\nin Conv2d\(1, 4, "),
        (Conv2d(1, 4, 5, padding=1), (2, 1, 2, 9), r"conv2d: kernel \(5, 5\) is larger than the padded input \(4, 11\)"),
        (Linear(10, 2), (4, 12), r"linear: x has 12 features in its last axis but weight expects 10 \(x.shape=\(4, 12\), "
                                 r"weight.shape=\(2, 10\)\)\nin Linear\(in_features=10, "),
        (BatchNorm2d(3), (8, 4, 5, 5), r"batch_norm: running_mean has shape \(3,\) but x has 4 channels in axis 1 "
                                       r"\(x.shape=\(8, 4, 5, 5\)\); expected shape \(4,\)\nin BatchNorm2d\(3, "),
        (BatchNorm1d(3), (1, 3), r"training needs more than one value per channel .* got x.shape=\(1, 3\) \(use a larger batch, or eval\(\)\)"),
        (MaxPool2d(2), (3, 8, 8), r"max_pool2d: x must be 4-d \(N, C, H, W\), got shape \(3, 8, 8\)\nin MaxPool2d\(kernel_size=2, "),
        (MaxPool2d(2, padding=2), (1, 1, 8, 8), r"max_pool2d: padding \(2, 2\) must be at most half of kernel_size \(2, 2\)"),
        (AvgPool2d(4), (1, 1, 3, 8), r"avg_pool2d: kernel \(4, 4\) is larger than the padded input \(3, 8\)"),
        (GlobalAvgPool2d(), (3, 8), r"global_avg_pool2d: x must be 4-d \(N, C, H, W\), got shape \(3, 8\)\nin GlobalAvgPool2d\(\)"),
        (Flatten(2), (3, 8), r"flatten: start_dim \(x.shape=\(3, 8\)\) must be an int >= -2 and <= 1, got 2\nin Flatten\(start_dim=2, end_dim=-1\)"),
    ],
    ids=lambda v: v if isinstance(v, tuple) else None,
)
def test_layers_reject_inputs_of_the_wrong_shape_naming_the_function_the_shape_and_the_layer(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer(tm.tensor(np.zeros(shape, dtype=np.float32)))


def test_layers_reject_a_float64_input_to_float32_weights_and_a_bare_array():
    with pytest.raises(TypeError, match=r"linear: x is float64 but the weights are float32.*\nin Linear\("):
        Linear(3, 2)(_randn(4, 3))
    with pytest.raises(TypeError, match=r"conv2d: x must be a tinymed Tensor, got ndarray \(wrap it with tm.tensor\(x\)\)\nin Conv2d\("):
        Conv2d(1, 1, 1)(np.zeros((1, 1, 2, 2), dtype=np.float32))


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: Linear(0, 3), ValueError, r"Linear: in_features must be an int >= 1, got 0"),
        (lambda: Linear(3, 2.0), TypeError, r"Linear: out_features must be an int >= 1, got 2.0"),
        (lambda: Conv2d(3, 16, 0), ValueError, r"Conv2d: kernel_size must be an int >= 1 or a pair of them \(h, w\), got 0"),
        (lambda: Conv2d(3, 16, (3, 3, 3)), TypeError, r"Conv2d: kernel_size must be an int >= 1 or a pair of them \(h, w\), got \(3, 3, 3\)"),
        (lambda: Conv2d(3, 16, 3, padding=-1), ValueError, r"Conv2d: padding must be an int >= 0 or a pair of them \(h, w\), got -1"),
        (lambda: Conv2d(3, 16, 3, padding="full"), ValueError, r"Conv2d: padding must be one of 'valid', 'same', got 'full'"),
        (lambda: Conv2d(3, 16, 3, stride=2, padding="same"), ValueError, r"Conv2d: padding='same' needs stride 1"),
        (lambda: Conv2d(3, 16, 3, groups=2), ValueError, r"Conv2d: groups=2 must divide in_channels=3 and out_channels=16"),
        (lambda: AvgPool2d(2, stride=0), ValueError, r"AvgPool2d: stride must be an int >= 1 or a pair of them \(h, w\), got 0"),
        (lambda: MaxPool2d(2, ceil_mode=1), TypeError, r"MaxPool2d: ceil_mode must be True or False, got 1"),
        (lambda: BatchNorm2d(8, eps=0), ValueError, r"BatchNorm2d: eps must be a finite number > 0, got 0"),
        (lambda: BatchNorm1d(8, momentum=1.5), ValueError, r"BatchNorm1d: momentum must be a finite number >= 0 and <= 1, got 1.5"),
        (lambda: BatchNorm1d(8, affine="no"), TypeError, r"BatchNorm1d: affine must be True or False, got 'no'"),
        (lambda: nn.LayerNorm((4, 0)), ValueError, r"LayerNorm: normalized_shape must be sizes >= 1, got \(4, 0\)"),
        (lambda: Dropout(1.5), ValueError, r"Dropout: p must be a finite number >= 0 and <= 1, got 1.5"),
        (lambda: Flatten(1.0), TypeError, r"Flatten: start_dim must be an int, got 1.0"),
        (lambda: nn.Unflatten(1, 28), TypeError, r"Unflatten: unflattened_size must be a tuple of ints, got 28"),
        (lambda: nn.AdaptiveAvgPool2d(0), ValueError, r"AdaptiveAvgPool2d: output_size must be an int >= 1"),
        (lambda: nn.LeakyReLU("0.1"), TypeError, r"LeakyReLU: negative_slope must be a finite number, got '0.1'"),
        (lambda: nn.GELU("exact"), ValueError, r"GELU: approximate must be one of 'none', 'tanh', got 'exact'"),
        (lambda: nn.Softplus(beta=0), ValueError, r"Softplus: beta must be a finite number > 0, got 0"),
        (lambda: nn.Softmax(dim=1.0), TypeError, r"Softmax: dim must be an int, got 1.0"),
    ],
)
def test_layers_reject_bad_constructor_arguments_by_name(make, error, message):
    with pytest.raises(error, match=message):
        make()


# ---------------------------------------------------------------------------------------------
# The layers added for PyTorch fluency, against their PyTorch twins with the same state dict
# ---------------------------------------------------------------------------------------------


# (id, our layer, its PyTorch twin given torch.nn, input shape)
_TWINS = [
    ("Conv2d-same-dilated-grouped", lambda: Conv2d(4, 6, 3, padding="same", dilation=2, groups=2, seed=0),
     lambda tn: tn.Conv2d(4, 6, 3, padding="same", dilation=2, groups=2), (2, 4, 7, 6)),
    ("Conv2d-depthwise-strided", lambda: Conv2d(3, 3, 3, stride=2, padding=1, groups=3, seed=0),
     lambda tn: tn.Conv2d(3, 3, 3, stride=2, padding=1, groups=3), (2, 3, 7, 8)),
    ("Conv2d-same-even-kernel", lambda: Conv2d(2, 3, (2, 4), padding="same", seed=0),
     lambda tn: tn.Conv2d(2, 3, (2, 4), padding="same"), (1, 2, 5, 6)),
    ("MaxPool2d-ceil", lambda: MaxPool2d(3, 2, 1, ceil_mode=True), lambda tn: tn.MaxPool2d(3, 2, 1, ceil_mode=True), (2, 2, 8, 7)),
    ("AvgPool2d-ceil", lambda: AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
     lambda tn: tn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 2, 8, 7)),
    ("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d((2, 3)), lambda tn: tn.AdaptiveAvgPool2d((2, 3)), (2, 3, 5, 7)),
    ("BatchNorm2d-no-affine-no-stats-eval", lambda: BatchNorm2d(3, affine=False, track_running_stats=False).eval(),
     lambda tn: tn.BatchNorm2d(3, affine=False, track_running_stats=False).eval(), (4, 3, 2, 2)),
    ("BatchNorm1d-no-affine-train", lambda: BatchNorm1d(3, affine=False), lambda tn: tn.BatchNorm1d(3, affine=False), (5, 3)),
    ("LayerNorm", lambda: _randomised_layer_norm(nn.LayerNorm((3, 4), eps=1e-3)), lambda tn: tn.LayerNorm((3, 4), eps=1e-3), (2, 3, 4)),
    ("LayerNorm-no-bias", lambda: nn.LayerNorm(4, bias=False), lambda tn: tn.LayerNorm(4, bias=False), (3, 4)),
    ("LeakyReLU", lambda: nn.LeakyReLU(0.2), lambda tn: tn.LeakyReLU(0.2), (3, 4)),
    ("ELU", lambda: nn.ELU(0.7), lambda tn: tn.ELU(0.7), (3, 4)),
    ("GELU", lambda: nn.GELU(), lambda tn: tn.GELU(), (3, 4)),
    ("GELU-tanh", lambda: nn.GELU("tanh"), lambda tn: tn.GELU("tanh"), (3, 4)),
    ("SiLU", lambda: nn.SiLU(), lambda tn: tn.SiLU(), (3, 4)),
    ("Softplus", lambda: nn.Softplus(2.0, 3.0), lambda tn: tn.Softplus(2.0, 3.0), (3, 4)),
    ("Softmax", lambda: nn.Softmax(dim=1), lambda tn: tn.Softmax(dim=1), (2, 3, 4)),
    ("LogSoftmax", lambda: nn.LogSoftmax(dim=-1), lambda tn: tn.LogSoftmax(dim=-1), (2, 3, 4)),
    ("Flatten", lambda: Flatten(0, 1), lambda tn: tn.Flatten(0, 1), (2, 3, 4)),
    ("Unflatten", lambda: nn.Unflatten(1, (2, 2)), lambda tn: tn.Unflatten(1, (2, 2)), (3, 4, 5)),
]


@pytest.mark.parametrize("name, ours_factory, theirs_factory, shape", _TWINS, ids=[case[0] for case in _TWINS])
def test_new_layers_match_their_pytorch_twin_forward_gradients_and_buffers(name, ours_factory, theirs_factory, shape):
    torch = pytest.importorskip("torch")
    ours = ours_factory().double()
    theirs = _to_torch(ours, theirs_factory(torch.nn))
    x = _randn(*shape, requires_grad=True)
    xt = _torch_input(x)
    out, out_t = ours(x), theirs(xt)
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(g)
    out_t.backward(torch.from_numpy(g))
    np.testing.assert_allclose(np.asarray(x.grad), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(np.asarray(p.grad), dict(theirs.named_parameters())[name].grad.numpy(), rtol=1e-9, atol=1e-12)
    for name, b in ours.named_buffers():
        np.testing.assert_allclose(b, dict(theirs.named_buffers())[name].numpy(), rtol=1e-12)


def test_batch_norm_without_running_stats_uses_the_batch_in_eval_mode_too():
    bn = BatchNorm2d(2, track_running_stats=False).eval()
    assert bn.running_mean is None and "running_mean" not in bn.state_dict()
    x = _randn(4, 2, 3, 3, dtype=np.float32)
    out = bn(x).data
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-6)
    assert [name for name, _ in BatchNorm1d(3, affine=False).named_parameters()] == []


def test_dropout2d_layer_draws_a_new_channel_mask_each_call_and_is_the_identity_in_eval():
    drop = nn.Dropout2d(0.5, seed=0)
    x = tm.tensor(np.ones((4, 6, 2, 2), dtype=np.float32))
    a, b = drop(x).data, drop(x).data
    assert not np.array_equal(a, b)
    assert drop.eval()(x) is x


def test_conv2d_padding_same_keeps_the_image_size_for_any_kernel():
    for kernel in (1, 2, 3, (4, 5)):
        assert Conv2d(1, 2, kernel, padding="same", dilation=2)(_randn(1, 1, 7, 6, dtype=np.float32)).shape == (1, 2, 7, 6)


def test_max_pool_layer_with_return_indices_gives_pytorchs_indices():
    torch = pytest.importorskip("torch")
    x = _randn(2, 3, 7, 6)
    out, indices = MaxPool2d(3, 2, 1, ceil_mode=True, return_indices=True)(x)
    theirs, their_indices = torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True, return_indices=True)(torch.from_numpy(x.data))
    np.testing.assert_array_equal(out.data, theirs.numpy())
    np.testing.assert_array_equal(indices.data, their_indices.numpy())
