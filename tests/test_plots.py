"""Figures: each helper draws what it says and refuses what it cannot draw."""
import numpy as np
import pytest

import tinymed as tm
from tinymed import models, plots, train


def test_image_grid_draws_one_panel_per_image_with_titles_and_marks(tmp_path):
    images = np.random.default_rng(0).random((5, 1, 8, 8)).astype(np.float32)
    marks = np.array([[2, 3], [np.nan, np.nan], [4, 4], [1, 1], [6, 2]])
    fig = plots.image_grid(images, titles=list("abcde"), ncols=3, marks=marks)
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == 5
    assert [ax.get_title() for ax in drawn] == list("abcde")
    assert sum(len(ax.patches) for ax in drawn) == 4  # the NaN row is not marked
    fig.savefig(tmp_path / "grid.png")
    assert (tmp_path / "grid.png").stat().st_size > 0
    with pytest.raises(ValueError, match=r"image_grid: images must be .* got shape \(8,\)"):
        plots.image_grid(np.zeros(8))


def test_a_figure_shows_itself_as_png_in_a_notebook():
    png = plots.filters(np.ones((4, 1, 3, 3)))._repr_png_()
    assert png.startswith(b"\x89PNG")


def test_roc_curves_label_each_method_with_its_auc():
    y = np.array([0, 0, 1, 1, 0, 1])
    fig = plots.roc_curves({"good": (y, y + 0.1), "chance": (y, np.zeros(6) + 0.5)})
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels == ["good (AUC 1.00)", "chance (AUC 0.50)", "chance"]


def test_training_curves_plot_every_history_on_three_axes():
    history = train.History(train_loss=[1.0, 0.5], val_loss=[1.1, 0.7], val_auc=[0.6, 0.8], seconds=[1, 1])
    fig = plots.training_curves({"a": history, "b": history})
    assert len(fig.axes) == 3 and all(len(ax.lines) == 2 for ax in fig.axes)
    np.testing.assert_array_equal(fig.axes[2].lines[0].get_ydata(), [0.6, 0.8])


def test_filters_draw_one_panel_per_filter_and_refuse_other_shapes():
    assert sum(1 for ax in plots.filters(np.ones((16, 1, 3, 3))).axes if ax.images) == 16
    assert len(plots.compare_filters(np.ones((4, 1, 3, 3)), np.zeros((4, 1, 3, 3))).axes) == 8
    with pytest.raises(ValueError, match=r"filters: weights must be \(O, C, kh, kw\)"):
        plots.filters(np.ones((3, 3)))


def test_saliency_is_the_absolute_input_gradient_of_the_logit_in_eval_mode():
    model = models.SimpleCNN(seed=0)
    model.train()
    images = np.random.default_rng(1).random((2, 1, 12, 12)).astype(np.float32)
    maps = plots.saliency(model, images)
    assert maps.shape == (2, 12, 12)
    assert all(m.training for m in model.modules())  # the mode is restored
    model.eval()
    x = tm.tensor(images, requires_grad=True)
    model(x).sum().backward()
    np.testing.assert_allclose(maps, np.abs(np.asarray(x.grad)[:, 0]), rtol=1e-6)
    overlay = plots.saliency_overlay(images, maps, titles=["a", "b"])
    assert sum(1 for ax in overlay.axes if ax.images) == 2


def test_calibration_plots_predicted_against_observed():
    y = np.array([0, 0, 1, 1])
    fig = plots.calibration({"m": (y, np.array([0.1, 0.2, 0.8, 0.9]))}, n_bins=2)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [0.0, 1.0])
