"""Specification of tinymed.optim: PyTorch's update rules, frozen parameters never move,
state dicts resume training exactly, schedules give PyTorch's learning rates."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinymed as tm
import tinymed.nn as nn
from tinymed import optim

# A fixed convex quadratic L(p) = 0.5 p.A.p - b.p, whose gradient A p - b the references use.
A = np.array([[3.0, 0.5, 0.0], [0.5, 2.0, 0.3], [0.0, 0.3, 1.0]])
B = np.array([1.0, -2.0, 0.5])
P0 = np.array([0.7, -0.4, 1.3])


def param(*values):
    """A float64 leaf tensor that requires grad."""
    return tm.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def quadratic_grad(p):
    return A @ p - B


# ---------------------------------------------------------------------------------------------
# References written from the formulas, one coordinate at a time with Python floats.
# ---------------------------------------------------------------------------------------------


def sgd_reference(p0, steps, lr, momentum=0.0, weight_decay=0.0, nesterov=False, dampening=0.0):
    p, buf = [float(v) for v in p0], None
    for _ in range(steps):
        g = [gi + weight_decay * pi for gi, pi in zip(quadratic_grad(np.array(p)), p)]
        if momentum:
            if buf is None:
                buf = list(g)
            else:
                buf = [momentum * bi + (1 - dampening) * gi for bi, gi in zip(buf, g)]
            g = [gi + momentum * bi for gi, bi in zip(g, buf)] if nesterov else list(buf)
        p = [pi - lr * gi for pi, gi in zip(p, g)]
    return np.array(p)


def adam_reference(p0, steps, lr, betas, eps, weight_decay, decoupled):
    beta1, beta2 = betas
    p = [float(v) for v in p0]
    m, v = [0.0] * len(p), [0.0] * len(p)
    for t in range(1, steps + 1):
        g = list(quadratic_grad(np.array(p)))
        for i in range(len(p)):
            if decoupled:
                p[i] *= 1 - lr * weight_decay
            else:
                g[i] += weight_decay * p[i]
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] ** 2
            m_hat, v_hat = m[i] / (1 - beta1**t), v[i] / (1 - beta2**t)
            p[i] -= lr * m_hat / (math.sqrt(v_hat) + eps)
    return np.array(p)


def amsgrad_reference(p0, steps, lr, betas, eps):
    beta1, beta2 = betas
    p = [float(v) for v in p0]
    m, v, v_max = [0.0] * len(p), [0.0] * len(p), [0.0] * len(p)
    for t in range(1, steps + 1):
        g = list(quadratic_grad(np.array(p)))
        for i in range(len(p)):
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] ** 2
            v_max[i] = max(v_max[i], v[i])
            p[i] -= lr * (m[i] / (1 - beta1**t)) / (math.sqrt(v_max[i] / (1 - beta2**t)) + eps)
    return np.array(p)


def rmsprop_reference(p0, steps, lr, alpha, eps, weight_decay=0.0, momentum=0.0, centered=False):
    p = [float(v) for v in p0]
    v, g_avg, buf = [0.0] * len(p), [0.0] * len(p), [0.0] * len(p)
    for _ in range(steps):
        g = list(quadratic_grad(np.array(p)))
        for i in range(len(p)):
            gi = g[i] + weight_decay * p[i]
            v[i] = alpha * v[i] + (1 - alpha) * gi**2
            g_avg[i] = alpha * g_avg[i] + (1 - alpha) * gi
            avg = math.sqrt(v[i] - g_avg[i] ** 2 if centered else v[i]) + eps
            buf[i] = momentum * buf[i] + gi / avg
            p[i] -= lr * (buf[i] if momentum else gi / avg)
    return np.array(p)


def adagrad_reference(p0, steps, lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    p = [float(v) for v in p0]
    s = [initial_accumulator_value] * len(p)
    for t in range(1, steps + 1):
        g = list(quadratic_grad(np.array(p)))
        for i in range(len(p)):
            gi = g[i] + weight_decay * p[i]
            s[i] += gi**2
            p[i] -= lr / (1 + (t - 1) * lr_decay) * gi / (math.sqrt(s[i]) + eps)
    return np.array(p)


def run_on_quadratic(make_optimizer, steps, dtype=np.float64):
    p = tm.tensor(P0.astype(dtype), requires_grad=True)
    opt = make_optimizer([p])
    for _ in range(steps):
        opt.zero_grad()
        p.grad = quadratic_grad(p.data.astype(np.float64)).astype(dtype)
        opt.step()
    return p, opt


SGD_CONFIGS = {
    "plain": dict(lr=0.1),
    "momentum": dict(lr=0.1, momentum=0.9),
    "nesterov": dict(lr=0.05, momentum=0.8, nesterov=True),
    "weight_decay": dict(lr=0.1, momentum=0.5, weight_decay=0.1),
    "dampening": dict(lr=0.1, momentum=0.9, dampening=0.3),
}


@pytest.mark.parametrize("config", SGD_CONFIGS.values(), ids=SGD_CONFIGS.keys())
def test_sgd_follows_the_update_formula(config):
    p, _ = run_on_quadratic(lambda ps: optim.SGD(ps, **config), steps=7)
    np.testing.assert_allclose(p.data, sgd_reference(P0, 7, **config), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_follows_the_update_formula(weight_decay):
    kw = dict(lr=0.05, betas=(0.8, 0.95), eps=1e-6, weight_decay=weight_decay)
    p, _ = run_on_quadratic(lambda ps: optim.Adam(ps, **kw), steps=7)
    np.testing.assert_allclose(p.data, adam_reference(P0, 7, decoupled=False, **kw), rtol=1e-12)


def test_adamw_decays_the_parameter_directly_not_through_the_gradient():
    kw = dict(lr=0.05, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.2)
    p, _ = run_on_quadratic(lambda ps: optim.AdamW(ps, **kw), steps=7)
    np.testing.assert_allclose(p.data, adam_reference(P0, 7, decoupled=True, **kw), rtol=1e-12)
    adam_l2, _ = run_on_quadratic(lambda ps: optim.Adam(ps, **kw), steps=7)
    assert not np.allclose(p.data, adam_l2.data)


def test_amsgrad_divides_by_the_largest_second_moment_seen():
    kw = dict(lr=0.05, betas=(0.8, 0.95), eps=1e-6)
    p, opt = run_on_quadratic(lambda ps: optim.Adam(ps, amsgrad=True, **kw), steps=9)
    np.testing.assert_allclose(p.data, amsgrad_reference(P0, 9, **kw), rtol=1e-12)
    state = opt.state[id(p)]
    assert (state["max_exp_avg_sq"] >= state["exp_avg_sq"]).all()
    plain, _ = run_on_quadratic(lambda ps: optim.Adam(ps, **kw), steps=9)
    assert not np.allclose(p.data, plain.data)


RMSPROP_CONFIGS = {
    "plain": dict(lr=0.01, alpha=0.99, eps=1e-8),
    "momentum": dict(lr=0.01, alpha=0.9, eps=1e-8, momentum=0.9),
    "centered": dict(lr=0.01, alpha=0.9, eps=1e-6, centered=True, weight_decay=0.1),
    "centered_momentum": dict(lr=0.02, alpha=0.8, eps=1e-8, centered=True, momentum=0.5),
}


@pytest.mark.parametrize("config", RMSPROP_CONFIGS.values(), ids=RMSPROP_CONFIGS.keys())
def test_rmsprop_follows_the_update_formula(config):
    p, _ = run_on_quadratic(lambda ps: optim.RMSprop(ps, **config), steps=7)
    np.testing.assert_allclose(p.data, rmsprop_reference(P0, 7, **config), rtol=1e-12)


@pytest.mark.parametrize("config", [dict(lr=0.1), dict(lr=0.1, lr_decay=0.3, weight_decay=0.1, initial_accumulator_value=0.5)],
                         ids=["plain", "decay"])
def test_adagrad_follows_the_update_formula(config):
    p, _ = run_on_quadratic(lambda ps: optim.Adagrad(ps, **config), steps=7)
    np.testing.assert_allclose(p.data, adagrad_reference(P0, 7, **config), rtol=1e-12)


def test_adagrad_steps_shrink_as_squared_gradients_add_up():
    # A constant gradient g gives steps lr * g / (sqrt(t) |g|) = lr / sqrt(t).
    p = param(0.0)
    opt = optim.Adagrad([p], lr=0.1, eps=1e-12)
    positions = []
    for _ in range(4):
        p.grad = np.array([2.0])
        opt.step()
        positions.append(p.data[0])
    steps = -np.diff([0.0] + positions)
    np.testing.assert_allclose(steps, 0.1 / np.sqrt([1, 2, 3, 4]), rtol=1e-9)


def test_pytorch_defaults_of_rmsprop_and_adagrad():
    p = param(1.0)
    assert {k: v for k, v in optim.RMSprop([p]).param_groups[0].items() if k != "params"} == dict(
        lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False)
    assert {k: v for k, v in optim.Adagrad([p]).param_groups[0].items() if k != "params"} == dict(
        lr=0.01, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10)


def test_adamw_defaults_to_weight_decay_0_01_and_adam_to_none():
    p = param(1.0)
    assert optim.AdamW([p]).param_groups[0]["weight_decay"] == 0.01
    assert optim.Adam([p]).param_groups[0]["weight_decay"] == 0.0


@given(hnp.arrays(np.float64, st.integers(1, 6),
                  elements=st.floats(-1e3, 1e3).filter(lambda x: abs(x) > 1e-3)))
def test_adams_first_step_moves_every_coordinate_by_lr_against_the_gradients_sign(grad):
    # m_hat = g and v_hat = g**2 after one step, so the step is lr * g / (|g| + eps).
    p = tm.tensor(np.zeros_like(grad), requires_grad=True)
    opt = optim.Adam([p], lr=0.01, eps=1e-12)
    p.grad = grad.copy()
    opt.step()
    np.testing.assert_allclose(p.data, -0.01 * np.sign(grad), rtol=1e-8)


# ---------------------------------------------------------------------------------------------
# Cross-check with torch.optim: same parameters, same gradients, two groups.
# ---------------------------------------------------------------------------------------------

TORCH_CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.1, dampening=0.2)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.5, 0.9), eps=1e-4, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, betas=(0.7, 0.99), weight_decay=0.3)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01, betas=(0.7, 0.99), weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True, eps=1e-6)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1, eps=1e-8)),
]


@pytest.mark.parametrize("name, kwargs", TORCH_CASES)
def test_matches_torch_optim_with_two_groups_of_different_lr(name, kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    shapes = [(3, 2), (2,), (4,)]
    start = [rng.normal(size=s) for s in shapes]
    ours = [tm.tensor(a, requires_grad=True) for a in start]
    theirs = [torch.tensor(a, requires_grad=True) for a in start]

    def groups(ps):
        return [{"params": ps[:2]}, {"params": ps[2:], "lr": kwargs["lr"] * 3}]

    opt = getattr(optim, name)(groups(ours), **kwargs)
    ref = getattr(torch.optim, name)(groups(theirs), **kwargs)
    for _ in range(5):
        for a, b in zip(ours, theirs):
            g = rng.normal(size=a.shape)
            a.grad, b.grad = g.copy(), torch.tensor(g)
        opt.step()
        ref.step()
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-12)
    # The state has PyTorch's names and values, parameter by parameter.
    ref_state = ref.state_dict()["state"]
    for i, state in opt.state_dict()["state"].items():
        for key, value in state.items():
            expected = ref_state[i][key]
            expected = float(expected) if key == "step" else expected.numpy()
            np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Frozen parameters: skipped before weight decay and momentum.
# ---------------------------------------------------------------------------------------------

HEAVY_OPTIONS = {
    "SGD": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True),
    "Adam": lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.1),
    "AdamW": lambda ps: optim.AdamW(ps, lr=0.1, weight_decay=0.1, amsgrad=True),
    "RMSprop": lambda ps: optim.RMSprop(ps, lr=0.1, weight_decay=0.1, momentum=0.9, centered=True),
    "Adagrad": lambda ps: optim.Adagrad(ps, lr=0.1, weight_decay=0.1),
}


@pytest.mark.parametrize("make", HEAVY_OPTIONS.values(), ids=HEAVY_OPTIONS.keys())
def test_parameters_without_grad_or_requires_grad_stay_bit_identical(make):
    trained = param(1.0, 2.0)
    frozen = param(3.0, -4.0)
    unused = param(5.0, 6.0)
    opt = make([trained, frozen, unused])
    frozen.grad = np.array([1.0, 1.0])  # computed before the layer was frozen
    frozen.requires_grad_(False)
    frozen_before, unused_before = frozen.data.copy(), unused.data.copy()
    for _ in range(3):
        trained.grad = np.array([0.5, -0.5])
        opt.step()
    assert frozen.data.tobytes() == frozen_before.tobytes()
    assert unused.data.tobytes() == unused_before.tobytes()
    assert not np.array_equal(trained.data, [1.0, 2.0])


@pytest.mark.parametrize("make", HEAVY_OPTIONS.values(), ids=HEAVY_OPTIONS.keys())
def test_a_parameter_frozen_mid_training_stops_despite_its_momentum(make):
    p = param(1.0, -1.0)
    opt = make([p])
    for _ in range(3):
        p.grad = np.array([1.0, 2.0])
        opt.step()
    p.requires_grad_(False)  # its momentum buffer / moments are far from zero now
    before = p.data.copy()
    opt.step()
    opt.zero_grad()
    p.requires_grad_(True)
    opt.step()  # requires grad again, but no grad: still skipped
    assert p.data.tobytes() == before.tobytes()


class _Affine(nn.Module):
    def __init__(self, weight):
        super().__init__()
        self.weight = nn.Parameter(weight)

    def forward(self, x):
        return x @ self.weight


class _TwoStageNet(nn.Module):
    """`features` then `classifier`, the shape of the models fine-tuned in transfer learning."""

    def __init__(self, rng):
        super().__init__()
        self.features = _Affine(rng.normal(size=(3, 4)))
        self.classifier = _Affine(rng.normal(size=(4, 1)))

    def forward(self, x):
        return self.classifier(self.features(x).relu())


@pytest.mark.parametrize("make", HEAVY_OPTIONS.values(), ids=HEAVY_OPTIONS.keys())
def test_fine_tuning_with_frozen_features_moves_only_the_classifier(make):
    rng = np.random.default_rng(2)
    model = _TwoStageNet(rng)
    x, y = tm.tensor(rng.normal(size=(8, 3))), tm.tensor(rng.normal(size=(8, 1)))
    opt = make(model.parameters())

    def train_step():
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()

    train_step()  # pre-training fills the momentum buffers / moments of the features
    model.features.freeze()
    features_before = model.features.weight.data.copy()
    classifier_before = model.classifier.weight.data.copy()
    for _ in range(3):
        train_step()
    assert model.features.weight.data.tobytes() == features_before.tobytes()
    assert not np.array_equal(model.classifier.weight.data, classifier_before)


def test_zero_grad_sets_every_grad_to_none():
    ps = [param(1.0), param(2.0, 3.0)]
    opt = optim.SGD([{"params": ps[:1]}, {"params": ps[1:]}], lr=0.1)
    (ps[0] * 2.0 + ps[1].sum()).sum().backward()
    assert all(p.grad is not None for p in ps)
    opt.zero_grad()
    assert all(p.grad is None for p in ps)


# ---------------------------------------------------------------------------------------------
# Parameter groups.
# ---------------------------------------------------------------------------------------------


def test_each_group_uses_its_own_options_and_the_defaults_for_the_rest():
    a, b = param(0.0), param(0.0)
    opt = optim.SGD([{"params": [a], "lr": 0.5}, {"params": [b]}], lr=0.1, momentum=0.9)
    assert opt.param_groups[1]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0.9
    a.grad, b.grad = np.array([1.0]), np.array([1.0])
    opt.step()
    assert a.data[0] == -0.5 and b.data[0] == -0.1


def test_add_param_group_adds_a_group_that_the_next_step_updates():
    a, b = param(0.0), param(0.0)
    opt = optim.SGD([a], lr=0.1)
    opt.add_param_group({"params": b, "lr": 1.0})
    a.grad, b.grad = np.array([1.0]), np.array([2.0])
    opt.step()
    assert a.data[0] == -0.1 and b.data[0] == -2.0
    with pytest.raises(ValueError, match="appears twice"):
        opt.add_param_group({"params": [a]})


# ---------------------------------------------------------------------------------------------
# State dicts.
# ---------------------------------------------------------------------------------------------

ROUND_TRIP = {
    "SGD": lambda ps: optim.SGD([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.02}],
                                lr=0.05, momentum=0.9, nesterov=True),
    "Adam": lambda ps: optim.Adam([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.02}], lr=0.05),
    "AdamW": lambda ps: optim.AdamW([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.02}], lr=0.05, amsgrad=True),
    "RMSprop": lambda ps: optim.RMSprop([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.02}], lr=0.05,
                                        momentum=0.5, centered=True),
    "Adagrad": lambda ps: optim.Adagrad([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.02}], lr=0.05),
}


def _train(params, opt, steps):
    for _ in range(steps):
        opt.zero_grad()
        full = np.concatenate([p.data for p in params])
        g = quadratic_grad(full)
        params[0].grad, params[1].grad = g[:1].copy(), g[1:].copy()
        opt.step()


def _is_plain(obj):
    if isinstance(obj, dict):
        return all(isinstance(k, (int, str)) and _is_plain(v) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return all(_is_plain(v) for v in obj)
    return isinstance(obj, (np.ndarray, int, float, bool, str))


@pytest.mark.parametrize("make", ROUND_TRIP.values(), ids=ROUND_TRIP.keys())
def test_state_dict_round_trip_continues_training_identically(make):
    straight = [tm.tensor(P0[:1], requires_grad=True), tm.tensor(P0[1:], requires_grad=True)]
    _train(straight, make(straight), 6)

    first = [tm.tensor(P0[:1], requires_grad=True), tm.tensor(P0[1:], requires_grad=True)]
    opt = make(first)
    _train(first, opt, 3)
    saved = opt.state_dict()
    after_3 = [p.data.copy() for p in first]
    assert _is_plain(saved)
    _train(first, opt, 2)  # updates the live state in place: the saved arrays must be copies

    resumed = [tm.tensor(a, requires_grad=True) for a in after_3]
    fresh = make(resumed)
    fresh.load_state_dict(saved)
    _train(resumed, fresh, 3)
    for p, q in zip(resumed, straight):
        assert p.data.tobytes() == q.data.tobytes()


@pytest.mark.parametrize("make", ROUND_TRIP.values(), ids=ROUND_TRIP.keys())
def test_a_checkpoint_saved_with_tm_save_resumes_training_identically(make, tmp_path):
    straight = [tm.tensor(P0[:1], requires_grad=True), tm.tensor(P0[1:], requires_grad=True)]
    _train(straight, make(straight), 5)
    first = [tm.tensor(P0[:1], requires_grad=True), tm.tensor(P0[1:], requires_grad=True)]
    opt = make(first)
    _train(first, opt, 3)
    tm.save({"params": [p.data for p in first], "optimizer": opt.state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")

    checkpoint = tm.load(tmp_path / "ckpt.pt")
    assert checkpoint["epoch"] == 3
    resumed = [tm.tensor(a, requires_grad=True) for a in checkpoint["params"]]
    fresh = make(resumed)
    fresh.load_state_dict(checkpoint["optimizer"])
    _train(resumed, fresh, 2)
    for p, q in zip(resumed, straight):
        assert p.data.tobytes() == q.data.tobytes()


def test_load_state_dict_restores_options_and_copies_arrays():
    p = param(1.0, 2.0)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.array([1.0, 1.0])
    opt.step()
    saved = opt.state_dict()
    assert saved["param_groups"][0]["params"] == [0]
    q = param(1.0, 2.0)
    other = optim.SGD([q], lr=0.5)
    other.load_state_dict(saved)
    assert other.param_groups[0]["lr"] == 0.1 and other.param_groups[0]["momentum"] == 0.9
    q.grad = np.array([1.0, 1.0])
    other.step()
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"], [1.0, 1.0])


def test_load_state_dict_rejects_a_mismatched_optimizer():
    p = param(1.0, 2.0)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.array([1.0, 1.0])
    opt.step()
    saved = opt.state_dict()
    two = [param(0.0), param(0.0)]
    with pytest.raises(ValueError, match="1 parameter groups but this optimizer has 2"):
        optim.SGD([{"params": two[:1]}, {"params": two[1:]}], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="group 0 has 1 parameters in the state dict but 2 here"):
        optim.SGD(two, lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match=r"has shape \(2,\) but the parameter has shape \(3,\)"):
        optim.SGD([param(0.0, 0, 0)], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match=r"parameter group 0 has options \['dampening', 'momentum', 'nesterov'\], which this "
                                         r"optimizer does not have .* a state dict of another optimizer\?"):
        optim.Adam([param(0.0, 0.0)]).load_state_dict(saved)


def test_a_state_dict_without_an_option_added_later_keeps_this_optimizers_value():
    p = param(1.0, 2.0)
    opt = optim.Adam([p], lr=0.01)
    p.grad = np.array([1.0, -1.0])
    opt.step()
    saved = opt.state_dict()
    del saved["param_groups"][0]["amsgrad"]  # as written before Adam had amsgrad
    other = optim.Adam([param(1.0, 2.0)], amsgrad=True)
    other.load_state_dict(saved)
    assert other.param_groups[0]["amsgrad"] is True and other.param_groups[0]["lr"] == 0.01


# ---------------------------------------------------------------------------------------------
# dtypes, read-only arrays, no graph, convergence.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", HEAVY_OPTIONS.values(), ids=HEAVY_OPTIONS.keys())
def test_float32_parameters_and_state_stay_float32(make):
    p = tm.tensor(P0.astype(np.float32), requires_grad=True)
    opt = make([p])
    opt.param_groups[0]["lr"] = np.float64(0.05)  # as a NumPy-minded schedule might set it
    for _ in range(3):
        p.grad = quadratic_grad(p.data.astype(np.float64)).astype(np.float32)
        opt.step()
    assert p.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[id(p)].values() if isinstance(v, np.ndarray))


def test_step_updates_parameters_that_a_live_graph_holds_read_only_and_builds_no_graph():
    p = param(1.0, 2.0)
    loss = (p * p).sum()
    loss.backward(retain_graph=True)
    assert not p.data.flags.writeable
    optim.SGD([p], lr=0.1, momentum=0.9).step()
    np.testing.assert_allclose(p.data, [0.8, 1.6])
    assert p.is_leaf and p.requires_grad


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: optim.Adam(ps, lr=0.05),
], ids=["SGD", "Adam"])
def test_least_squares_loss_drops_a_hundredfold(make):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 4)).astype(np.float32)
    y = X @ np.array([1.5, -2.0, 0.5, 3.0], dtype=np.float32) + 0.01 * rng.normal(size=64).astype(np.float32)
    w = tm.tensor(np.zeros(4, dtype=np.float32), requires_grad=True)
    opt = make([w])
    losses = []
    for _ in range(150):
        opt.zero_grad()
        loss = ((tm.tensor(X) @ w - tm.tensor(y)) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 100


# ---------------------------------------------------------------------------------------------
# Learning-rate schedules.
# ---------------------------------------------------------------------------------------------


def _two_group_sgd():
    a, b = param(0.0), param(0.0)
    return optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.02}], lr=0.1)


SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.001)),
    ("LinearLR", dict(start_factor=0.25, end_factor=1.0, total_iters=4)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 11], gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 1.0 / (1 + epoch) + 0.01 * epoch)),
    ("OneCycleLR", dict(max_lr=[0.5, 0.1], total_steps=30, cycle_momentum=False)),
    ("OneCycleLR", dict(max_lr=0.5, epochs=5, steps_per_epoch=6, anneal_strategy="linear", cycle_momentum=False)),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=27, three_phase=True, pct_start=0.25, div_factor=10.0,
                        final_div_factor=100.0, cycle_momentum=False)),
]


@pytest.mark.parametrize("name, kwargs", SCHEDULES)
def test_schedules_give_torchs_learning_rates_for_each_group(name, kwargs):
    torch = pytest.importorskip("torch")
    opt = _two_group_sgd()
    ref_opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]},
                               {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.02}], lr=0.1)
    sched = getattr(optim, name)(opt, **kwargs)
    ref = getattr(torch.optim.lr_scheduler, name)(ref_opt, **kwargs)
    for _ in range(25):
        np.testing.assert_allclose(sched.get_last_lr(), ref.get_last_lr(), rtol=1e-12, atol=1e-15)
        assert sched.last_epoch == ref.last_epoch
        ref_opt.step()
        ref.step()
        sched.step()


@pytest.mark.parametrize("name, kwargs", [
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("Adam", dict(lr=0.1, betas=(0.9, 0.99))),
    ("RMSprop", dict(lr=0.1, momentum=0.5)),
])
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_moves_the_momentum_against_the_lr_as_torch(name, kwargs, three_phase):
    torch = pytest.importorskip("torch")
    ours = getattr(optim, name)([param(0.0)], **kwargs)
    theirs = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], **kwargs)
    options = dict(max_lr=1.0, total_steps=20, three_phase=three_phase, base_momentum=0.8, max_momentum=0.9)
    sched, ref = optim.OneCycleLR(ours, **options), torch.optim.lr_scheduler.OneCycleLR(theirs, **options)
    key = "betas" if name == "Adam" else "momentum"
    for _ in range(20):
        ours_group, ref_group = ours.param_groups[0], theirs.param_groups[0]
        np.testing.assert_allclose(ours_group["lr"], ref_group["lr"], rtol=1e-12)
        np.testing.assert_allclose(ours_group[key], ref_group[key], rtol=1e-12)
        theirs.step()
        ref.step()
        ours.step()
        sched.step()
    with pytest.raises(ValueError, match="OneCycleLR: stepped 21 times, but total_steps is 20"):
        sched.step()


def test_one_cycle_needs_momentum_to_cycle_or_cycle_momentum_false():
    with pytest.raises(ValueError, match="OneCycleLR: Adagrad has no momentum or betas to cycle; pass cycle_momentum=False"):
        optim.OneCycleLR(optim.Adagrad([param(0.0)]), max_lr=0.1, total_steps=10)
    sched = optim.OneCycleLR(optim.Adagrad([param(0.0)]), max_lr=0.1, total_steps=10, cycle_momentum=False)
    assert sched.get_last_lr() == pytest.approx([0.1 / 25], rel=1e-12)


PLATEAU_CASES = [
    dict(),
    dict(mode="max", factor=0.5, patience=1),
    dict(patience=2, threshold=0.1, threshold_mode="abs", cooldown=2, min_lr=[0.01, 0.004]),
    dict(mode="max", patience=0, threshold=0.05, threshold_mode="abs", factor=0.3),
    dict(patience=1, threshold=0.2, cooldown=1, eps=1e-3),
]


@pytest.mark.parametrize("kwargs", PLATEAU_CASES)
def test_reduce_on_plateau_cuts_the_lr_when_torch_does(kwargs):
    torch = pytest.importorskip("torch")
    opt = _two_group_sgd()
    ref_opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]},
                               {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.02}], lr=0.1)
    sched = optim.ReduceLROnPlateau(opt, **kwargs)
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(ref_opt, **kwargs)
    rng = np.random.default_rng(0)
    # a metric that improves, stalls, wobbles and improves again
    metrics = np.r_[np.linspace(1.0, 0.5, 6), np.full(5, 0.5), 0.5 + 0.05 * rng.normal(size=12), np.linspace(0.5, 0.1, 8)]
    for value in metrics:
        sched.step(float(value))
        ref.step(float(value))
        np.testing.assert_allclose(sched.get_last_lr(), ref.get_last_lr(), rtol=1e-12)
        assert sched.num_bad_epochs == ref.num_bad_epochs and sched.best == ref.best


def test_reduce_on_plateau_takes_a_one_element_tensor_and_refuses_nan():
    sched = optim.ReduceLROnPlateau(_two_group_sgd(), patience=0)
    sched.step(tm.tensor(1.0))
    sched.step(tm.tensor(2.0))
    assert sched.get_last_lr() == [0.1 * 0.1, 0.02 * 0.1]
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau.step: metrics must be a finite number, got nan"):
        sched.step(float("nan"))


def test_scheduler_state_dicts_go_through_a_weight_file(tmp_path):
    for make in (lambda o: optim.OneCycleLR(o, max_lr=0.5, total_steps=20),
                 lambda o: optim.ReduceLROnPlateau(o, patience=1),
                 lambda o: optim.MultiStepLR(o, milestones=[2, 4])):
        sched = make(_two_group_sgd())
        for value in (3.0, 2.0, 2.5, 2.5):
            sched.step(value) if isinstance(sched, optim.ReduceLROnPlateau) else sched.step()
        tm.save({"scheduler": sched.state_dict()}, tmp_path / "s.pt")
        other = make(_two_group_sgd())
        other.load_state_dict(tm.load(tmp_path / "s.pt")["scheduler"])
        assert other.state_dict() == sched.state_dict()


def _lrs(sched, steps, metrics=None):
    lrs = [sched.get_last_lr()[0]]
    for i in range(steps):
        sched.step(*([] if metrics is None else [metrics[i]]))
        lrs.append(sched.get_last_lr()[0])
    return lrs


def test_multistep_exponential_and_lambda_schedules_by_hand():
    def one():
        return optim.SGD([param(0.0)], lr=1.0)

    assert _lrs(optim.MultiStepLR(one(), milestones=[5, 2, 5], gamma=0.5), 6) == [1, 1, 0.5, 0.5, 0.5, 0.125, 0.125]
    np.testing.assert_allclose(_lrs(optim.ExponentialLR(one(), gamma=0.9), 3), [1, 0.9, 0.81, 0.729])
    assert _lrs(optim.LambdaLR(one(), lr_lambda=lambda epoch: 1 / (epoch + 1)), 3) == [1, 1 / 2, 1 / 3, 1 / 4]


def test_one_cycle_starts_at_max_lr_over_div_factor_peaks_and_ends_at_its_floor():
    opt = optim.SGD([param(0.0)], lr=123.0, momentum=0.9)  # lr is replaced by max_lr / div_factor
    lrs = _lrs(optim.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.3, cycle_momentum=False), 9)
    # the rise ends at step pct_start * total_steps - 1 = 2; the last step, 9, is the floor
    np.testing.assert_allclose([lrs[0], lrs[2], lrs[9]], [1 / 25, 1.0, 1 / 25 / 1e4], rtol=1e-12)
    assert lrs[:3] == sorted(lrs[:3]) and lrs[2:] == sorted(lrs[2:], reverse=True)


def test_reduce_on_plateau_waits_patience_epochs_then_cuts_then_cools_down():
    sched = optim.ReduceLROnPlateau(optim.SGD([param(0.0)], lr=1.0), factor=0.5, patience=1, cooldown=1)
    # best 1.0; two epochs without improvement cut the lr; one epoch of cooldown; two more cut again
    assert _lrs(sched, 7, metrics=[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5]) == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_step_lr_multiplies_by_gamma_every_step_size_epochs():
    opt = _two_group_sgd()
    sched = optim.StepLR(opt, step_size=2, gamma=0.5)
    seen = []
    for _ in range(6):
        seen.append(sched.get_last_lr())
        sched.step()
    np.testing.assert_allclose(seen, [[0.1, 0.02], [0.1, 0.02], [0.05, 0.01], [0.05, 0.01],
                                      [0.025, 0.005], [0.025, 0.005]])


def test_cosine_schedule_reaches_eta_min_at_t_max_and_the_midpoint_halfway():
    opt = _two_group_sgd()
    sched = optim.CosineAnnealingLR(opt, T_max=4, eta_min=0.01)
    lrs = [sched.get_last_lr()]
    for _ in range(4):
        sched.step()
        lrs.append(sched.get_last_lr())
    np.testing.assert_allclose(lrs[0], [0.1, 0.02])
    np.testing.assert_allclose(lrs[2], [(0.1 + 0.01) / 2, (0.02 + 0.01) / 2])
    np.testing.assert_allclose(lrs[4], [0.01, 0.01])


def test_the_optimizer_steps_with_the_scheduled_lr():
    p = param(0.0)
    opt = optim.SGD([p], lr=1.0)
    sched = optim.StepLR(opt, step_size=1, gamma=0.1)
    sched.step()
    p.grad = np.array([1.0])
    opt.step()
    np.testing.assert_allclose(p.data, [-0.1])


def test_scheduler_state_dict_resumes_the_schedule():
    sched = optim.CosineAnnealingLR(_two_group_sgd(), T_max=10)
    for _ in range(4):
        sched.step()
    other = optim.CosineAnnealingLR(_two_group_sgd(), T_max=10)
    other.load_state_dict(sched.state_dict())
    sched.step()
    other.step()
    assert other.last_epoch == 5 and other.get_last_lr() == sched.get_last_lr()


# ---------------------------------------------------------------------------------------------
# Bad input.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("build, error, match", [
    (lambda: optim.SGD([param(1.0)], lr=-0.1), ValueError, "SGD: lr must be a finite number >= 0, got -0.1"),
    (lambda: optim.SGD([param(1.0)], lr="fast"), TypeError, "SGD: lr must be a finite number >= 0, got 'fast'"),
    (lambda: optim.SGD([param(1.0)], lr=0.1, momentum=-0.5), ValueError, "SGD: momentum must be a finite number >= 0"),
    (lambda: optim.SGD([param(1.0)], lr=0.1, weight_decay=-1), ValueError, "SGD: weight_decay must be a finite number >= 0"),
    (lambda: optim.SGD([param(1.0)], lr=0.1, nesterov=True), ValueError, "SGD: nesterov=True needs momentum > 0"),
    (lambda: optim.SGD([param(1.0)], lr=0.1, momentum=0.9, nesterov=True, dampening=0.1),
     ValueError, "nesterov=True needs momentum > 0 and dampening 0"),
    (lambda: optim.Adam([param(1.0)], betas=(1.0, 0.999)), ValueError, r"Adam: betas\[0\] must be a finite number >= 0 and < 1, got 1.0"),
    (lambda: optim.AdamW([param(1.0)], betas=(0.9, -0.1)), ValueError, r"AdamW: betas\[1\] must be a finite number >= 0 and < 1, got -0.1"),
    (lambda: optim.Adam([param(1.0)], betas=0.9), TypeError, "Adam: betas must be a pair"),
    (lambda: optim.Adam([param(1.0)], eps=0.0), ValueError, "Adam: eps must be a finite number > 0"),
    (lambda: optim.SGD([], lr=0.1), ValueError, "SGD: params is an empty list"),
    (lambda: optim.SGD([{"params": []}], lr=0.1), ValueError, "empty 'params' list"),
    (lambda: optim.SGD(param(1.0), lr=0.1), TypeError, "a single Tensor"),
    (lambda: optim.Adam(nn.Linear(2, 1)), TypeError, r"Adam: params must be .* got the model Linear: pass model.parameters\(\)"),
    (lambda: optim.SGD([np.zeros(2)], lr=0.1), TypeError, r"params\[0\] must be a Tensor, got ndarray"),
    (lambda: optim.SGD([tm.tensor(np.array([1, 2]))], lr=0.1), TypeError, "must be a float tensor, got dtype int64"),
    (lambda: optim.SGD([param(1.0) * 2.0], lr=0.1), ValueError, "only leaf tensors"),
    (lambda: optim.SGD([{"params": [param(1.0)], "momentun": 0.9}], lr=0.1), ValueError, r"unknown option\(s\) \['momentun'\]"),
    (lambda: optim.StepLR(_two_group_sgd(), step_size=0), ValueError, "StepLR: step_size must be an int >= 1, got 0"),
    (lambda: optim.CosineAnnealingLR(_two_group_sgd(), T_max=2.5), TypeError, "CosineAnnealingLR: T_max must be an int >= 1, got 2.5"),
    (lambda: optim.StepLR("sgd", step_size=2), TypeError, "must be an optimizer \\(with param_groups\\)"),
    (lambda: optim.MultiStepLR(_two_group_sgd(), milestones=5), TypeError, r"MultiStepLR: milestones must be a list of epochs"),
    (lambda: optim.MultiStepLR(_two_group_sgd(), milestones=[3, -1]), ValueError, r"MultiStepLR: milestones\[1\] must be an int >= 0"),
    (lambda: optim.ExponentialLR(_two_group_sgd(), gamma=float("nan")), ValueError, "ExponentialLR: gamma must be a finite number > 0, got nan"),
    (lambda: optim.LambdaLR(_two_group_sgd(), lr_lambda=0.9), TypeError, "LambdaLR: lr_lambda must be a function of the epoch"),
    (lambda: optim.LambdaLR(_two_group_sgd(), lr_lambda=[lambda e: 1.0]), ValueError,
     "LambdaLR: lr_lambda has 1 entries but the optimizer has 2 parameter groups"),
    (lambda: optim.LambdaLR(_two_group_sgd(), lr_lambda=lambda e: float("inf")), ValueError, r"LambdaLR: lr_lambda\(0\) must be a finite number"),
    (lambda: optim.OneCycleLR(_two_group_sgd(), max_lr=0.1), ValueError, "OneCycleLR: give total_steps, or both epochs and steps_per_epoch"),
    (lambda: optim.OneCycleLR(_two_group_sgd(), max_lr=0.1, total_steps=10, pct_start=1.0), ValueError,
     "OneCycleLR: pct_start must be a finite number > 0 and < 1"),
    (lambda: optim.OneCycleLR(_two_group_sgd(), max_lr=0.1, total_steps=10, anneal_strategy="cosine"), ValueError,
     "OneCycleLR: anneal_strategy must be one of 'cos', 'linear', got 'cosine'"),
    (lambda: optim.ReduceLROnPlateau(_two_group_sgd(), factor=1.0), ValueError, "ReduceLROnPlateau: factor must be a finite number > 0 and < 1"),
    (lambda: optim.ReduceLROnPlateau(_two_group_sgd(), mode="lowest"), ValueError, "ReduceLROnPlateau: mode must be one of 'min', 'max'"),
    (lambda: optim.ReduceLROnPlateau(_two_group_sgd(), patience=-1), ValueError, "ReduceLROnPlateau: patience must be an int >= 0"),
    (lambda: optim.RMSprop([param(1.0)], alpha=1.5), ValueError, "RMSprop: alpha must be a finite number >= 0 and <= 1, got 1.5"),
    (lambda: optim.RMSprop([param(1.0)], centered=1), TypeError, "RMSprop: centered must be True or False, got 1"),
    (lambda: optim.Adagrad([param(1.0)], lr_decay=-0.1), ValueError, "Adagrad: lr_decay must be a finite number >= 0"),
    (lambda: optim.Adam([param(1.0)], amsgrad="yes"), TypeError, "Adam: amsgrad must be True or False"),
])
def test_bad_arguments_raise_naming_the_argument(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_a_parameter_in_two_groups_or_twice_in_one_is_rejected():
    p = param(1.0)
    with pytest.raises(ValueError, match="appears twice"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="appears twice"):
        optim.Adam([p, p])


def test_a_grad_of_the_wrong_shape_or_dtype_is_refused_when_assigned_so_step_never_sees_it():
    p = tm.tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    with pytest.raises(ValueError, match=r"grad: a gradient of shape \(2,\) for a tensor of shape \(3,\)"):
        p.grad = np.zeros(2, dtype=np.float32)
    with pytest.raises(TypeError, match="grad: a float64 gradient for a float32 tensor"):
        p.grad = np.zeros(3)  # would silently turn a float32 parameter into float64
