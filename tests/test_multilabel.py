"""Multi-label chest phantoms (several findings per image, each with its own prevalence), the
per-label ROC figure, and the course's per-label weighted loss raising the rare findings'
sensitivity over plain BCE."""
import numpy as np
import pytest

from tinymed import data, datasets, imbalance, metrics, nn, optim, plots, train
from tinymed.models import SimpleCNN


def test_findings_are_mass_nodule_effusion_cardiomegaly_from_rare_to_common():
    assert datasets.FINDINGS == ("mass", "nodule", "effusion", "cardiomegaly")
    images, labels = datasets.make_chest_findings(500, seed=0)
    assert images.shape == (500, 1, 32, 32) and images.dtype == np.float32
    assert labels.shape == (500, 4) and labels.dtype == np.int64
    assert 0 <= images.min() and images.max() <= 1
    # exactly round(n * prevalence) images per finding: 0.03, 0.02, 0.08, 0.20 of 500
    assert labels.sum(axis=0).tolist() == [15, 10, 40, 100]


def test_findings_are_drawn_independently_so_some_images_hold_several():
    _, labels = datasets.make_chest_findings(2000, prevalences=(0.3, 0.3, 0.3, 0.3), seed=1)
    both = (labels[:, 0] & labels[:, 3]).mean()
    assert both == pytest.approx(0.3 * 0.3, abs=0.03)
    assert (labels.sum(axis=1) >= 2).any() and (labels.sum(axis=1) == 0).any()


def test_the_same_seed_gives_the_same_bodies_whatever_the_prevalences():
    none, no_labels = datasets.make_chest_findings(60, prevalences=(0, 0, 0, 0), seed=2)
    some, labels = datasets.make_chest_findings(60, prevalences=(0.2, 0.2, 0.2, 0.2), seed=2)
    clear = labels.sum(axis=1) == 0
    assert no_labels.sum() == 0 and clear.any() and not clear.all()
    np.testing.assert_array_equal(some[clear], none[clear])
    again, _ = datasets.make_chest_findings(60, prevalences=(0.2, 0.2, 0.2, 0.2), seed=2)
    np.testing.assert_array_equal(again, some)


@pytest.mark.parametrize("k", range(4))
def test_each_finding_adds_attenuation_to_its_twin_image(k):
    """A finding brightens its image (more attenuation) where it lies: compare each image that
    holds only finding k with the same body drawn without findings."""
    prevalences = [0.0] * 4
    prevalences[k] = 0.5
    with_finding, labels = datasets.make_chest_findings(40, prevalences=tuple(prevalences), seed=3)
    twins, _ = datasets.make_chest_findings(40, prevalences=(0, 0, 0, 0), seed=3)
    sick = labels[:, k] == 1
    difference = (with_finding - twins)[sick]
    assert (difference.sum(axis=(1, 2, 3)) > 0).all()
    np.testing.assert_array_equal(with_finding[~sick], twins[~sick])
    if datasets.FINDINGS[k] == "effusion":  # fluid settles at the base of a lung
        rows = difference.clip(0).sum(axis=(0, 1, 3))
        assert rows[16:].sum() > 3 * rows[:16].sum()


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n": 0}, ValueError, r"make_chest_findings: n must be an int >= 1, got 0"),
    ({"prevalences": (0.1, 0.2)}, TypeError, r"prevalences must be 4 fractions, one per finding"),
    ({"prevalences": 0.1}, TypeError, r"prevalences must be 4 fractions"),
    ({"prevalences": (0.1, 0.2, 1.5, 0.1)}, ValueError, r"prevalences\[2\] \(effusion\) must be .* <= 1, got 1.5"),
    ({"image_size": 8}, ValueError, r"make_chest_findings: image_size must be an int >= 16, got 8"),
])
def test_make_chest_findings_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        datasets.make_chest_findings(**{"n": 10, **kwargs})


def test_roc_per_label_draws_a_panel_per_label_and_a_curve_per_method():
    rng = np.random.default_rng(0)
    y = (rng.random((50, 3)) < 0.3).astype(int)
    y[0] = 1
    y[1] = 0
    scores = {"good": y + rng.random((50, 3)) * 0.5, "noise": rng.random((50, 3))}
    fig = plots.roc_per_label(y, scores, ["a", "b", "c"])
    panels = [ax for ax in fig.axes if ax.lines]
    assert len(panels) == 3 and all(len(ax.lines) == 3 for ax in panels)  # two methods and chance
    assert panels[1].get_title() == f"b ({y[:, 1].mean():.0%} of images)"
    assert panels[0].lines[0].get_label() == "good (1.00)"
    with pytest.raises(ValueError, match=r"roc_per_label: names has 2 entries but y has 3 labels"):
        plots.roc_per_label(y, scores, ["a", "b"])


def test_class_weights_per_label_make_every_label_contribute_equally_to_the_class_sum_loss():
    _, labels = datasets.make_chest_findings(400, seed=4)
    w_pos, w_neg = imbalance.class_weights(labels)
    np.testing.assert_allclose(w_pos, 1 - labels.mean(axis=0))
    np.testing.assert_allclose(w_pos * labels.mean(axis=0), w_neg * (1 - labels.mean(axis=0)))


@pytest.mark.slow
def test_per_label_weights_raise_the_rare_findings_sensitivity_over_plain_bce():
    x, y = datasets.make_chest_findings(1000, seed=5)
    x_test, y_test = datasets.make_chest_findings(500, seed=6)
    w_pos, w_neg = imbalance.class_weights(y)
    sensitivity = {}
    for name, loss in (("plain", nn.BCEWithLogitsLoss()),
                       ("weighted", nn.WeightedBCELoss(w_pos, w_neg, reduction="class_sum"))):
        model = SimpleCNN(num_classes=4, seed=0)
        loader = data.DataLoader(data.ArrayDataset(x, y.astype(np.float32)), 64, shuffle=True, seed=0)
        train.fit(model, loss, optim.Adam(model.parameters(), 3e-3), loader, epochs=3, progress=False,
                  on_epoch_end=lambda m, epoch: train.update_bn(m, x[:256]))
        scores = 1 / (1 + np.exp(-train.predict(model, x_test)))
        sensitivity[name] = [metrics.sensitivity(y_test[:, k], scores[:, k]) for k in range(4)]
    for k in range(3):  # mass, nodule, effusion: 2-8% of images
        assert sensitivity["weighted"][k] > sensitivity["plain"][k] + 0.2, (k, sensitivity)
