import math

import numpy as np
import pytest

import tinymed as tm
from tinymed.nn import init


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
