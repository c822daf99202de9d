"""Losses: the course's weighted loss and its worked example, gradients by central differences,
values and gradients against PyTorch (when installed) and against the plain formulas in
tests/reference/losses_reference.py, stability at huge logits, dtypes, and every bad input."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinymed as tm
from tinymed.nn.losses import (
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, FocalLoss, L1Loss, MSELoss, NLLLoss, WeightedBCELoss,
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, focal_loss, l1_loss, mse_loss,
    nll_loss, weighted_binary_cross_entropy,
)
from tinymed.testing import assert_gradients
from reference import losses_reference as ref

REDUCTIONS = ["mean", "sum", "none"]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def leaf(array, dtype=np.float64):
    return tm.tensor(np.asarray(array, dtype=dtype), requires_grad=True)


def scalar_of(loss):
    """A scalar to call backward on, for every reduction."""
    return loss.sum() if loss.ndim else loss


def data(seed=0, shape=(4, 3)):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 2, size=shape)
    y = (rng.random(shape) < 0.4).astype(np.float64)
    return rng, x, y


# -- the course's story: 6 normal X-rays, 2 masses ------------------------------------------------

NORMALS_AND_MASSES = np.array([0, 0, 0, 0, 0, 0, 1, 1], dtype=np.float64)


def test_course_weights_make_positive_and_negative_contributions_equal():
    logits = tm.tensor(np.zeros(8))  # an untrained model: p = 0.5 for every X-ray
    per_example = weighted_binary_cross_entropy(logits, NORMALS_AND_MASSES, 6 / 8, 2 / 8, reduction="none").data
    positive = per_example[NORMALS_AND_MASSES == 1].sum()
    negative = per_example[NORMALS_AND_MASSES == 0].sum()
    assert positive == pytest.approx(2 * 6 / 8 * math.log(2))
    assert negative == pytest.approx(6 * 2 / 8 * math.log(2))
    assert positive == pytest.approx(negative)

    plain = weighted_binary_cross_entropy(logits, NORMALS_AND_MASSES, 1.0, 1.0, reduction="none").data
    assert plain[NORMALS_AND_MASSES == 0].sum() == pytest.approx(3 * plain[NORMALS_AND_MASSES == 1].sum())


def test_weighted_loss_gives_a_constant_predictor_no_pull_towards_the_majority():
    def bias_gradient(pos_weight, neg_weight):
        bias = leaf(0.0)
        logits = bias * np.ones(8)
        weighted_binary_cross_entropy(logits, NORMALS_AND_MASSES, pos_weight, neg_weight).backward()
        return bias.grad.item()

    # Unweighted, d(mean loss)/d(bias) = mean(p - y) = 0.5 - 2/8 > 0: descent lowers p, calls all normal.
    assert bias_gradient(1.0, 1.0) == pytest.approx(0.25)
    assert bias_gradient(6 / 8, 2 / 8) == pytest.approx(0.0, abs=1e-15)


def test_from_labels_takes_the_course_weights_from_the_training_labels():
    loss = WeightedBCELoss.from_labels(NORMALS_AND_MASSES)
    assert float(loss.pos_weights) == pytest.approx(6 / 8)
    assert float(loss.neg_weights) == pytest.approx(2 / 8)
    multi = WeightedBCELoss.from_labels(np.array([[1, 0], [0, 0], [0, 1], [0, 1]]), reduction="class_sum")
    np.testing.assert_allclose(multi.pos_weights, [3 / 4, 2 / 4])
    np.testing.assert_allclose(multi.neg_weights, [1 / 4, 2 / 4])
    assert multi.reduction == "class_sum"


def test_class_sum_reproduces_the_graders_number_computed_by_hand():
    y = np.array([[1, 1, 1], [1, 1, 0], [0, 1, 0], [1, 0, 1]], dtype=np.float64)
    w_pos, w_neg, eps = [0.25, 0.25, 0.5], [0.75, 0.75, 0.5], 1e-7
    probs = tm.tensor(np.full((4, 3), 0.7))
    # Column 0: 3 positives, 1 negative; column 1: the same; column 2: 2 and 2. Mean over 4 rows each.
    column_0 = -(3 * 0.25 * math.log(0.7 + eps) + 1 * 0.75 * math.log(0.3 + eps)) / 4
    column_2 = -(2 * 0.5 * math.log(0.7 + eps) + 2 * 0.5 * math.log(0.3 + eps)) / 4
    expected = column_0 + column_0 + column_2
    loss = weighted_binary_cross_entropy(probs, y, w_pos, w_neg, from_logits=False, reduction="class_sum")
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    module = WeightedBCELoss(w_pos, w_neg, from_logits=False, reduction="class_sum")
    assert module(probs, y).item() == pytest.approx(expected, rel=1e-12)


# -- against the plain formulas (always run) -------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS + ["class_sum"])
@pytest.mark.parametrize("from_logits", [True, False])
def test_weighted_bce_matches_the_formula_element_by_element(reduction, from_logits):
    rng, x, y = data(1)
    values = x if from_logits else rng.uniform(0.01, 0.99, size=x.shape)
    w_pos, w_neg = [0.8, 0.3, 0.5], [0.2, 0.7, 0.5]
    out = weighted_binary_cross_entropy(tm.tensor(values), y, w_pos, w_neg, from_logits, 1e-7, reduction)
    expected = ref.weighted_bce(values.tolist(), y.tolist(), w_pos, w_neg, from_logits, 1e-7, reduction)
    np.testing.assert_allclose(out.data.ravel() if reduction == "none" else out.item(), expected, rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_matches_the_formula(reduction):
    rng, x, y = data(2)
    weight, pos_weight = rng.uniform(0.1, 2, size=(4, 1)), np.array([0.5, 1.0, 3.0])
    out = binary_cross_entropy_with_logits(tm.tensor(x), y, weight, pos_weight, reduction)
    full = lambda w: np.broadcast_to(w, x.shape).tolist()  # noqa: E731
    expected = ref.bce_with_logits(x.tolist(), y.tolist(), full(weight), full(pos_weight), reduction)
    np.testing.assert_allclose(out.data.ravel() if reduction == "none" else out.item(), expected, rtol=1e-12)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_matches_the_formula_with_weighted_mean(reduction, label_smoothing):
    rng = np.random.default_rng(3)
    x, t, weight = rng.normal(0, 2, size=(5, 4)), rng.integers(0, 4, size=5), rng.uniform(0.2, 3, size=4)
    out = cross_entropy(tm.tensor(x), t, weight, reduction, label_smoothing)
    expected = ref.cross_entropy(x.tolist(), t.tolist(), weight.tolist(), label_smoothing, reduction)
    np.testing.assert_allclose(out.data if reduction == "none" else out.item(), expected, rtol=1e-12)


@pytest.mark.parametrize("alpha, gamma", [(0.25, 2.0), (None, 2.0), (-1, 0.5), (0.9, 0.0)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_focal_loss_matches_the_retinanet_formula(alpha, gamma, reduction):
    _, x, y = data(4)
    out = focal_loss(tm.tensor(x), y, alpha, gamma, reduction)
    expected = ref.focal(x.ravel().tolist(), y.ravel().tolist(), None if alpha is None or alpha < 0 else alpha,
                         gamma, reduction)
    np.testing.assert_allclose(out.data.ravel() if reduction == "none" else out.item(), expected, rtol=1e-12)


def test_focal_loss_with_gamma_0_and_no_alpha_is_bce():
    _, x, y = data(5)
    focal = focal_loss(tm.tensor(x), y, alpha=None, gamma=0.0, reduction="none")
    bce = binary_cross_entropy_with_logits(tm.tensor(x), y, reduction="none")
    np.testing.assert_allclose(focal.data, bce.data, rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_matches_the_formula_and_clamps_at_100(reduction):
    p = np.array([0.0, 1.0, 0.3, 1.0, 0.0, 0.5, 0.9])
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.2, 0.0])
    out = binary_cross_entropy(tm.tensor(p), y, reduction=reduction)
    expected = ref.bce(p.tolist(), y.tolist(), reduction)
    np.testing.assert_allclose(out.data if reduction == "none" else out.item(), expected, rtol=1e-12)
    if reduction == "none":
        assert out.data[0] == 100.0 and out.data[1] == 100.0 and out.data[3] == 0.0


# -- gradients: central differences in float64 -----------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_gradient(reduction):
    rng, x, y = data(6, shape=(3, 2))
    y[0, 0] = 0.35  # a soft label
    weight, pos_weight = rng.uniform(0.1, 2, size=(3, 2)), np.array([2.0, 0.5])
    assert tm.gradcheck(lambda a: binary_cross_entropy_with_logits(a, y, weight, pos_weight, reduction), leaf(x))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_gradient(reduction):
    rng, _, y = data(7, shape=(3, 2))
    p, weight = rng.uniform(0.05, 0.95, size=(3, 2)), rng.uniform(0.1, 2, size=(1, 2))
    assert tm.gradcheck(lambda a: binary_cross_entropy(a, y, weight, reduction), leaf(p))


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradient_with_class_indices(reduction, label_smoothing):
    rng = np.random.default_rng(8)
    x, t, weight = rng.normal(size=(4, 3)), np.array([0, 2, 2, 1]), np.array([0.5, 2.0, 1.0])
    assert tm.gradcheck(lambda a: cross_entropy(a, t, weight, reduction, label_smoothing), leaf(x))


def test_cross_entropy_gradient_with_probabilities_and_extra_axes():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(2, 3, 2))
    indices = rng.integers(0, 3, size=(2, 2))
    probs = rng.dirichlet(np.ones(3), size=(2, 2)).transpose(0, 2, 1)
    weight = np.array([1.0, 3.0, 0.5])
    assert tm.gradcheck(lambda a: cross_entropy(a, indices, weight, label_smoothing=0.1), leaf(x))
    assert tm.gradcheck(lambda a: cross_entropy(a, probs, weight, reduction="none"), leaf(x))


@pytest.mark.parametrize("reduction", REDUCTIONS + ["class_sum"])
@pytest.mark.parametrize("from_logits", [True, False])
def test_weighted_bce_gradient(reduction, from_logits):
    rng, x, y = data(10, shape=(3, 2))
    values = x if from_logits else rng.uniform(0.05, 0.95, size=x.shape)
    fn = lambda a: weighted_binary_cross_entropy(a, y, [0.7, 0.4], [0.3, 0.6], from_logits, 1e-7, reduction)  # noqa: E731
    assert tm.gradcheck(fn, leaf(values))


@pytest.mark.parametrize("alpha, gamma", [(0.25, 2.0), (None, 0.5), (0.6, 0.0)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_focal_loss_gradient(alpha, gamma, reduction):
    _, x, y = data(11, shape=(3, 2))
    assert tm.gradcheck(lambda a: focal_loss(a, y, alpha, gamma, reduction), leaf(x))


# -- against PyTorch ------------------------------------------------------------------------------


def torch_pair(torch, array):
    return leaf(array), torch.tensor(array, requires_grad=True)


def assert_same(torch_loss, ours, ours_input, torch_input, rtol=1e-10):
    scalar_of(ours).backward()
    (torch_loss.sum() if torch_loss.ndim else torch_loss).backward()
    np.testing.assert_allclose(ours.data, torch_loss.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours_input.grad, torch_input.grad.numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_agrees_with_pytorch(torch, reduction):
    rng, x, y = data(12, shape=(5, 3))
    weight, pos_weight = rng.uniform(0.1, 2, size=(5, 1)), np.array([0.5, 1.0, 4.0])
    ours_x, torch_x = torch_pair(torch, x)
    ours = BCEWithLogitsLoss(weight, pos_weight, reduction)(ours_x, y)
    theirs = torch.nn.BCEWithLogitsLoss(torch.tensor(weight), reduction=reduction, pos_weight=torch.tensor(pos_weight))
    assert_same(theirs(torch_x, torch.tensor(y)), ours, ours_x, torch_x)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_agrees_with_pytorch_including_p_0_and_1(torch, reduction):
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.3, 0.5, 0.999])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.25, 0.0])
    weight = np.linspace(0.5, 2, 7)
    ours_p, torch_p = torch_pair(torch, p)
    ours = binary_cross_entropy(ours_p, y, weight, reduction)
    theirs = torch.nn.functional.binary_cross_entropy(torch_p, torch.tensor(y), torch.tensor(weight), reduction=reduction)
    # At p = 0 or 1 the gradient is (p - y) / 1e-12; PyTorch's 1e-12 is a float32 constant, 4e-9 off.
    assert_same(theirs, ours, ours_p, torch_p, rtol=1e-8)
    assert np.isfinite(np.asarray(ours_p.grad)).all()


@pytest.mark.parametrize("label_smoothing", [0.0, 0.15])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("target_kind", ["indices", "probabilities"])
def test_cross_entropy_agrees_with_pytorch(torch, reduction, label_smoothing, target_kind):
    rng = np.random.default_rng(13)
    x, weight = rng.normal(0, 2, size=(6, 4, 2)), rng.uniform(0.2, 3, size=4)
    target = rng.integers(0, 4, size=(6, 2)) if target_kind == "indices" else \
        rng.dirichlet(np.ones(4), size=(6, 2)).transpose(0, 2, 1)
    ours_x, torch_x = torch_pair(torch, x)
    ours = CrossEntropyLoss(weight, reduction, label_smoothing)(ours_x, target)
    theirs = torch.nn.CrossEntropyLoss(torch.tensor(weight), reduction=reduction, label_smoothing=label_smoothing)
    assert_same(theirs(torch_x, torch.tensor(target)), ours, ours_x, torch_x)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_focal_loss_gradient_agrees_with_pytorch_autograd_of_the_formula(torch, reduction):
    _, x, y = data(14, shape=(5, 3))
    ours_x, torch_x = torch_pair(torch, x)
    ours = FocalLoss(alpha=0.3, gamma=1.5, reduction=reduction)(ours_x, y)
    # torchvision.ops.sigmoid_focal_loss, written out (torchvision may not be installed)
    p, t = torch.sigmoid(torch_x), torch.tensor(y)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(torch_x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    theirs = (0.3 * t + 0.7 * (1 - t)) * ce * (1 - p_t) ** 1.5
    theirs = {"mean": theirs.mean(), "sum": theirs.sum(), "none": theirs}[reduction]
    assert_same(theirs, ours, ours_x, torch_x)


# -- huge logits: finite values, finite and correct gradients --------------------------------------

HUGE = np.array([1000.0, -1000.0, 1000.0, -1000.0])
HUGE_TARGETS = np.array([1.0, 0.0, 0.0, 1.0])  # two right with certainty, two wrong with certainty


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_finite_at_logits_of_1000(dtype):
    x = leaf(HUGE, dtype)
    loss = binary_cross_entropy_with_logits(x, HUGE_TARGETS, pos_weight=2.0, reduction="none")
    np.testing.assert_array_equal(loss.data, [0.0, 0.0, 1000.0, 2000.0])
    loss.sum().backward()
    # d/dx = (1 + (pw - 1) y) sigmoid(x) - pw y
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0, -2.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weighted_bce_and_focal_are_finite_at_logits_of_1000(dtype):
    x = leaf(HUGE, dtype)
    weighted = weighted_binary_cross_entropy(x, HUGE_TARGETS, 0.75, 0.25, reduction="none")
    np.testing.assert_array_equal(weighted.data, [0.0, 0.0, 250.0, 750.0])
    weighted.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.25, -0.75])

    for gamma in (0.0, 0.5, 2.0):
        x = leaf(HUGE, dtype)
        focal = focal_loss(x, HUGE_TARGETS, alpha=0.25, gamma=gamma, reduction="sum")
        focal.backward()
        assert focal.item() == pytest.approx(0.75 * 1000 + 0.25 * 1000)
        assert np.isfinite(np.asarray(x.grad)).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_finite_at_logits_of_1000(dtype):
    x = leaf([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]], dtype)
    loss = cross_entropy(x, np.array([1, 1]), reduction="none")
    np.testing.assert_allclose(loss.data, [2000.0, 0.0])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad, [[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]], atol=1e-6)


# -- properties -------------------------------------------------------------------------------------

matrix_shapes = st.tuples(st.integers(1, 5), st.integers(1, 4))


@st.composite
def logits_and_labels(draw, low=-30.0, high=30.0):
    shape = draw(matrix_shapes)
    x = draw(hnp.arrays(np.float64, shape, elements=st.floats(low, high)))
    y = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0])))
    return x, y


@given(logits_and_labels())
def test_weighted_bce_with_unit_weights_is_plain_bce(xy):
    x, y = xy
    weighted = weighted_binary_cross_entropy(tm.tensor(x), y, 1.0, 1.0, reduction="none")
    plain = binary_cross_entropy_with_logits(tm.tensor(x), y, reduction="none")
    np.testing.assert_allclose(weighted.data, plain.data, rtol=1e-12)

    p = np.clip(1 / (1 + np.exp(-x)), 1e-6, 1 - 1e-6)
    weighted_p = weighted_binary_cross_entropy(tm.tensor(p), y, 1.0, 1.0, from_logits=False, epsilon=1e-300)
    # log(1 - p + 1e-300) here (the epsilon vanishes in the rounding), log1p(-p) there: equal up to the rounding of 1 - p
    assert weighted_p.item() == pytest.approx(binary_cross_entropy(tm.tensor(p), y).item(), rel=1e-9)


@given(logits_and_labels(low=-1000.0, high=1000.0), st.floats(0, 1), st.floats(0, 5))
def test_every_loss_is_non_negative(xy, weight, gamma):
    x, y = xy
    losses = [
        binary_cross_entropy_with_logits(tm.tensor(x), y, weight, 2.0 * weight, reduction="none"),
        weighted_binary_cross_entropy(tm.tensor(x), y, weight, 1 - weight, reduction="none"),
        focal_loss(tm.tensor(x), y, alpha=weight, gamma=gamma, reduction="none"),
    ]
    if x.shape[1] > 1:  # one class is refused: its softmax cross-entropy is always 0
        losses.append(cross_entropy(tm.tensor(x), np.zeros(x.shape[0], dtype=int), reduction="none", label_smoothing=weight))
    for loss in losses:
        assert (loss.data >= 0).all()


@given(logits_and_labels(), st.lists(st.floats(0, 2), min_size=4, max_size=4))
def test_class_sum_is_the_sum_of_per_column_means(xy, weights):
    x, y = xy
    n_labels = x.shape[1]
    w_pos, w_neg = np.array(weights[:n_labels]), np.array(weights[::-1][:n_labels])
    table = weighted_binary_cross_entropy(tm.tensor(x), y, w_pos, w_neg, reduction="none").data
    class_sum = weighted_binary_cross_entropy(tm.tensor(x), y, w_pos, w_neg, reduction="class_sum")
    assert class_sum.item() == pytest.approx(sum(table[:, c].mean() for c in range(n_labels)), rel=1e-12, abs=1e-12)


# -- dtypes, Modules --------------------------------------------------------------------------------

LOSSES = {
    "bce_with_logits": lambda x, y: binary_cross_entropy_with_logits(x, y, np.ones(3), np.full(3, 2.0)),
    "bce": lambda x, y: binary_cross_entropy(x.sigmoid(), y),
    "cross_entropy": lambda x, y: cross_entropy(x, np.array([0, 2, 1, 1]), np.arange(1.0, 4.0), label_smoothing=0.1),
    "weighted_bce": lambda x, y: weighted_binary_cross_entropy(x, y, np.array([0.6, 0.7, 0.8]), 0.3),
    "weighted_bce_probs": lambda x, y: weighted_binary_cross_entropy(x.sigmoid(), y, 0.6, 0.4, from_logits=False),
    "focal": lambda x, y: focal_loss(x, y),
}


@pytest.mark.parametrize("name", LOSSES)
def test_float32_in_gives_float32_loss_and_gradient(name):
    _, x, y = data(15)
    x32 = leaf(x, np.float32)
    loss = LOSSES[name](x32, y)
    loss.backward()
    assert loss.dtype == np.float32 and x32.grad.dtype == np.float32
    x64 = leaf(x)
    LOSSES[name](x64, y).backward()
    np.testing.assert_allclose(x32.grad, x64.grad, rtol=1e-4, atol=1e-6)


def test_loss_modules_have_no_parameters_and_keep_class_weights_as_buffers():
    module = WeightedBCELoss([0.75, 0.5], [0.25, 0.5], reduction="class_sum")
    assert list(module.parameters()) == []
    assert set(module.state_dict()) == {"pos_weights", "neg_weights"}
    assert set(BCEWithLogitsLoss(pos_weight=[2.0]).state_dict()) == {"pos_weight"}
    assert set(CrossEntropyLoss(weight=[1.0, 2.0]).state_dict()) == {"weight"}
    assert module.float().pos_weights.dtype == np.float32
    assert module.double().pos_weights.dtype == np.float64


def test_loss_modules_compute_their_functional_form():
    rng, x, y = data(16)
    t = rng.integers(0, 3, size=4)
    pairs = [
        (BCEWithLogitsLoss(pos_weight=[1.0, 2.0, 3.0], reduction="sum"),
         lambda a: binary_cross_entropy_with_logits(a, y, pos_weight=[1.0, 2.0, 3.0], reduction="sum")),
        (WeightedBCELoss(0.7, 0.3, reduction="none"), lambda a: weighted_binary_cross_entropy(a, y, 0.7, 0.3, reduction="none")),
        (FocalLoss(alpha=None, gamma=1.0), lambda a: focal_loss(a, y, None, 1.0)),
    ]
    for module, function in pairs:
        np.testing.assert_array_equal(module(tm.tensor(x), y).data, function(tm.tensor(x)).data)
    np.testing.assert_array_equal(CrossEntropyLoss([1.0, 2.0, 3.0], label_smoothing=0.1)(tm.tensor(x), t).data,
                                  cross_entropy(tm.tensor(x), t, [1.0, 2.0, 3.0], label_smoothing=0.1).data)


def test_loss_modules_show_their_options():
    assert repr(WeightedBCELoss([0.75, 0.5], [0.25, 0.5], reduction="class_sum")) == (
        "WeightedBCELoss(pos_weights=[0.75, 0.5], neg_weights=[0.25, 0.5], from_logits=True, epsilon=1e-07, "
        "reduction='class_sum')"
    )
    assert repr(BCEWithLogitsLoss(pos_weight=[3.0])) == "BCEWithLogitsLoss(pos_weight=[3], reduction='mean')"
    assert repr(CrossEntropyLoss(label_smoothing=0.1)) == "CrossEntropyLoss(reduction='mean', label_smoothing=0.1, ignore_index=-100)"
    assert repr(FocalLoss()) == "FocalLoss(alpha=0.25, gamma=2.0, reduction='mean')"


# -- bad input --------------------------------------------------------------------------------------

X, Y = tm.tensor(np.zeros((4, 3))), np.zeros((4, 3))

BAD_CALLS = [
    (lambda: binary_cross_entropy_with_logits(X, np.zeros((4, 2))), r"binary_cross_entropy_with_logits: target has shape \(4, 2\) but logits has shape \(4, 3\)"),
    (lambda: binary_cross_entropy(X, np.zeros(4)), r"binary_cross_entropy: target has shape \(4,\) but probs has shape \(4, 3\)"),
    (lambda: weighted_binary_cross_entropy(X, Y.T, 1, 1), r"weighted_binary_cross_entropy: target has shape \(3, 4\) but input has shape \(4, 3\)"),
    (lambda: focal_loss(X, np.zeros((4, 3, 1))), r"focal_loss: target has shape \(4, 3, 1\) but logits has shape \(4, 3\)"),
    (lambda: binary_cross_entropy_with_logits(X, Y + 1.5), r"target values must be in \[0, 1\], found \[1.5\]"),
    (lambda: binary_cross_entropy(X, Y - 1), r"binary_cross_entropy: target values must be in \[0, 1\], found \[-1.0\]"),
    (lambda: weighted_binary_cross_entropy(X, Y + 0.5, 1, 1), r"weighted_binary_cross_entropy: target values must be exactly 0 or 1, found \[0.5\]"),
    (lambda: focal_loss(X, Y + 2), r"focal_loss: target values must be exactly 0 or 1, found \[2.0\]"),
    (lambda: binary_cross_entropy(X + 1.2, Y), r"binary_cross_entropy: probs must be probabilities in \[0, 1\], found \[1.2"),
    (lambda: weighted_binary_cross_entropy(X - 3, Y, 1, 1, from_logits=False), r"input must be probabilities in \[0, 1\].*from_logits=True"),
    (lambda: cross_entropy(X, np.array([0, 1, 3, 2])), r"cross_entropy: target holds class index 3, out of range for 3 classes \(valid: 0 to 2, or ignore_index=-100\)"),
    (lambda: cross_entropy(X, np.array([0, -1, 2, 2])), r"cross_entropy: target holds class index -1, out of range"),
    (lambda: cross_entropy(X, np.array([0, 1.5, 2, 2])), r"cross_entropy: class indices in target must be whole numbers, found \[1.5\]"),
    (lambda: cross_entropy(X, np.array([0, 1, 2])), r"cross_entropy: target has shape \(3,\) but logits has shape \(4, 3\)"),
    (lambda: cross_entropy(tm.tensor(np.zeros(3)), np.array(1)), r"cross_entropy: logits must have shape \(N, C\)"),
    (lambda: cross_entropy(X, Y + 2), r"cross_entropy: class probabilities in target must be in \[0, 1\]"),
    (lambda: cross_entropy(X, np.zeros(4, dtype=int), weight=[1.0, 2.0]), r"cross_entropy: weight must have one entry per class, shape \(3,\), got shape \(2,\)"),
    (lambda: cross_entropy(X, np.zeros(4, dtype=int), label_smoothing=1.5), r"cross_entropy: label_smoothing must be a finite number >= 0 and <= 1, got 1.5"),
    (lambda: binary_cross_entropy_with_logits(X, Y, reduction="avg"), r"binary_cross_entropy_with_logits: reduction must be one of 'mean', 'sum', 'none', got 'avg'"),
    (lambda: cross_entropy(X, np.zeros(4, dtype=int), reduction="class_sum"), r"cross_entropy: reduction must be one of"),
    (lambda: weighted_binary_cross_entropy(X, Y, 1, 1, reduction="classsum"), r"reduction must be one of 'mean', 'sum', 'none', 'class_sum', got 'classsum'"),
    (lambda: focal_loss(X, Y, reduction=None), r"focal_loss: reduction must be one of .* got None"),
    (lambda: weighted_binary_cross_entropy(X, Y, [0.5, 0.5], 1), r"weighted_binary_cross_entropy: pos_weights has 2 entries but the target has 3 label\(s\) \(shape \(4, 3\)\)"),
    (lambda: weighted_binary_cross_entropy(X, Y, 1, np.ones((3, 1))), r"neg_weights must be a number or one weight per label, shape \(C,\), got shape \(3, 1\)"),
    (lambda: weighted_binary_cross_entropy(X, Y, [0.5, -0.1, 0.5], 1), r"weighted_binary_cross_entropy: pos_weights must be finite and non-negative, found \[-0.1\]"),
    (lambda: weighted_binary_cross_entropy(X, Y, 1, 1, epsilon=-1e-7), r"weighted_binary_cross_entropy: epsilon must be a finite number >= 0, got -1e-07"),
    (lambda: weighted_binary_cross_entropy(tm.tensor(np.zeros((2, 2, 2))), np.zeros((2, 2, 2)), 1, 1), r"input must have shape \(N,\) or \(N, C\)"),
    (lambda: binary_cross_entropy_with_logits(X, Y, weight=-np.ones(3)), r"binary_cross_entropy_with_logits: weight must be finite and non-negative"),
    (lambda: binary_cross_entropy_with_logits(X, Y, pos_weight=np.ones(2)), r"pos_weight of shape \(2,\) does not broadcast to the input's shape \(4, 3\)"),
    (lambda: binary_cross_entropy(X, Y, weight=[np.nan, 1.0, 1.0]), r"binary_cross_entropy: weight must be finite and non-negative, found \[nan\]"),
    (lambda: cross_entropy(X, np.zeros(4, dtype=int), weight=[1.0, -2.0, 1.0]), r"cross_entropy: weight must be finite and non-negative"),
    (lambda: CrossEntropyLoss()(tm.tensor(np.zeros((4, 1))), np.array([0, 1, 1, 0])), r"cross_entropy: logits has one class \(shape \(4, 1\)\).*needs binary_cross_entropy_with_logits"),
    (lambda: focal_loss(X, Y, alpha=1.5), r"focal_loss: alpha must be a finite number <= 1, got 1.5"),
    (lambda: focal_loss(X, Y, gamma=-1.0), r"focal_loss: gamma must be a finite number >= 0, got -1.0"),
    (lambda: BCEWithLogitsLoss(reduction="mena"), r"BCEWithLogitsLoss: reduction must be one of"),
    (lambda: BCEWithLogitsLoss(pos_weight=[-1.0]), r"BCEWithLogitsLoss: pos_weight must be finite and non-negative"),
    (lambda: CrossEntropyLoss(weight=np.ones((2, 2))), r"CrossEntropyLoss: weight must have shape \(C,\)"),
    (lambda: CrossEntropyLoss(label_smoothing=-0.1), r"CrossEntropyLoss: label_smoothing must be a finite number >= 0 and <= 1, got -0.1"),
    (lambda: WeightedBCELoss([1.0, 1.0], [1.0, 1.0, 1.0]), r"WeightedBCELoss: pos_weights has 2 labels but neg_weights has 3"),
    (lambda: WeightedBCELoss(-1.0, 1.0), r"WeightedBCELoss: pos_weights must be finite and non-negative"),
    (lambda: WeightedBCELoss(1.0, 1.0, reduction="average"), r"WeightedBCELoss: reduction must be one of .*'class_sum'"),
    (lambda: WeightedBCELoss([0.5, 0.5], [0.5, 0.5])(X, Y), r"weighted_binary_cross_entropy: pos_weights has 2 entries but the target has 3"),
    (lambda: FocalLoss(gamma=-2), r"FocalLoss: gamma must be a finite number >= 0, got -2"),
]


@pytest.mark.parametrize("call, message", BAD_CALLS, ids=[m[:48] for _, m in BAD_CALLS])
def test_bad_values_raise_a_value_error_naming_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


BAD_TYPES = [
    (lambda: binary_cross_entropy_with_logits(tm.tensor(np.zeros(3, dtype=int)), np.zeros(3)), r"binary_cross_entropy_with_logits: logits must be a float tensor, got dtype int64"),
    (lambda: cross_entropy(X, np.array(["a", "b", "c", "d"])), r"cross_entropy: target must hold numbers, got dtype <U1"),
    (lambda: focal_loss(X, tm.tensor(Y, requires_grad=True)), r"focal_loss: target requires grad, but targets are constants here: pass target.detach\(\)"),
    (lambda: weighted_binary_cross_entropy(X, Y, "heavy", 1), r"weighted_binary_cross_entropy: pos_weights must be a number or an array of numbers, got str"),
    (lambda: focal_loss({"x": 1}, Y), r"focal_loss: logits must be a Tensor or an array of floats, got dict"),
    (lambda: FocalLoss(alpha="0.25"), r"FocalLoss: alpha must be a finite number <= 1, got '0.25'"),
    (lambda: CrossEntropyLoss(label_smoothing=None), r"CrossEntropyLoss: label_smoothing must be a finite number >= 0 and <= 1, got None"),
    (lambda: weighted_binary_cross_entropy(X, Y, 1, None), r"weighted_binary_cross_entropy: neg_weights is required"),
]


@pytest.mark.parametrize("call, message", BAD_TYPES, ids=[m[:48] for _, m in BAD_TYPES])
def test_bad_types_raise_a_type_error_naming_the_argument(call, message):
    with pytest.raises(TypeError, match=message):
        call()


def test_float_class_indices_from_tm_tensor_are_accepted():
    x = tm.tensor(np.zeros((2, 3)))
    assert cross_entropy(x, tm.tensor([0, 2])).item() == pytest.approx(math.log(3))


def test_cross_entropy_mean_with_every_target_weighted_zero_is_refused():
    logits = tm.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="every target is ignored or its class has weight 0"):
        cross_entropy(logits, np.array([0, 0]), weight=np.array([0.0, 1.0, 1.0]))


# -- the losses added for PyTorch fluency: MSE, L1, NLL, BCELoss, ignore_index ------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_and_l1_match_their_formulas_and_finite_differences(reduction):
    _, x, y = data(21, shape=(3, 4))
    squares = [(a - b) ** 2 for a, b in zip(x.ravel(), y.ravel())]
    absolutes = [abs(a - b) for a, b in zip(x.ravel(), y.ravel())]
    for fn, per_element in ((mse_loss, squares), (l1_loss, absolutes)):
        expected = np.reshape(ref.reduce(per_element, reduction), (3, 4) if reduction == "none" else ())
        np.testing.assert_allclose(fn(tm.tensor(x), y, reduction=reduction).data, expected, rtol=1e-12)
        assert_gradients(lambda x: fn(x, y, reduction=reduction), leaf(x))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore", [False, True])
def test_nll_loss_matches_the_loop_reference_and_finite_differences(reduction, ignore):
    rng = np.random.default_rng(22)
    log_probs, weight = rng.normal(size=(6, 4)), rng.uniform(0.2, 3, size=4)
    target = rng.integers(0, 4, size=6)
    if ignore:
        target[[1, 4]] = -100
    expected = ref.nll(log_probs, target, weight, -100, reduction)
    np.testing.assert_allclose(nll_loss(tm.tensor(log_probs), target, weight, reduction).data, expected, rtol=1e-12)
    assert_gradients(lambda x: nll_loss(x, target, weight, reduction), leaf(log_probs))


def test_log_softmax_then_nll_loss_is_cross_entropy():
    _, x, _ = data(23, shape=(5, 3))
    y = np.array([0, 2, 1, 1, 0])
    logits = tm.tensor(x)
    np.testing.assert_allclose(nll_loss(tm.nn.functional.log_softmax(logits, dim=1), y).data,
                               cross_entropy(logits, y).data, rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_new_losses_agree_with_pytorch(torch, reduction):
    rng = np.random.default_rng(24)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    for ours_loss, theirs_loss in ((MSELoss(reduction), torch.nn.MSELoss(reduction=reduction)),
                                   (L1Loss(reduction), torch.nn.L1Loss(reduction=reduction))):
        ours_x, torch_x = torch_pair(torch, x)
        assert_same(theirs_loss(torch_x, torch.tensor(y)), ours_loss(ours_x, y), ours_x, torch_x)
    weight, target = rng.uniform(0.2, 3, size=3), np.array([0, 2, -1, 1, 2])
    log_probs = rng.normal(size=(5, 3, 2))
    target_2d = np.stack([target, target[::-1]], axis=1)
    ours_x, torch_x = torch_pair(torch, log_probs)
    ours = NLLLoss(weight, reduction, ignore_index=-1)(ours_x, target_2d)
    theirs = torch.nn.NLLLoss(torch.tensor(weight), ignore_index=-1, reduction=reduction)(torch_x, torch.tensor(target_2d))
    assert_same(theirs, ours, ours_x, torch_x)
    p = rng.uniform(0.01, 0.99, size=(5, 3))
    ours_p, torch_p = torch_pair(torch, p)
    ours = BCELoss(weight, reduction)(ours_p, (y > 0).astype(float))
    theirs = torch.nn.BCELoss(torch.tensor(weight), reduction=reduction)(torch_p, torch.tensor((y > 0).astype(float)))
    assert_same(theirs, ours, ours_p, torch_p)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_ignore_index_agrees_with_pytorch(torch, reduction, label_smoothing):
    rng = np.random.default_rng(25)
    x, weight = rng.normal(0, 2, size=(6, 4)), rng.uniform(0.2, 3, size=4)
    target = np.array([0, 3, 255, 1, 255, 2])
    ours_x, torch_x = torch_pair(torch, x)
    ours = CrossEntropyLoss(weight, reduction, label_smoothing, ignore_index=255)(ours_x, target)
    theirs = torch.nn.CrossEntropyLoss(torch.tensor(weight), ignore_index=255, reduction=reduction,
                                       label_smoothing=label_smoothing)
    assert_same(theirs(torch_x, torch.tensor(target)), ours, ours_x, torch_x)
    assert np.all(np.asarray(ours_x.grad)[[2, 4]] == 0)


def test_cross_entropy_ignored_targets_do_not_count_in_the_mean():
    x = tm.tensor(np.zeros((3, 2)))
    assert cross_entropy(x, np.array([0, -100, 1])).item() == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="every target is ignored"):
        cross_entropy(x, np.array([-100, -100, -100]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_ignored_targets_gradient_matches_finite_differences(reduction):
    _, x, _ = data(26, shape=(5, 3, 2))
    target = np.array([[0, 2], [-100, 1], [1, -100], [2, 2], [0, -100]])
    assert_gradients(lambda x: cross_entropy(x, target, np.array([0.5, 1.0, 2.0]), reduction, 0.1), leaf(x))
