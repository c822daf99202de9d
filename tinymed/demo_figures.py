"""The figures of `tinymed demo`: training images, ROC curves, training curves, first-layer
filters, and where the best model looks (saliency and Grad-CAM), each with a line saying what
to look for in it."""
import os

import numpy as np

from tinymed import transfer
from tinymed.models import SimpleCNN

FILTERS_TITLE = ("First-layer filters (3x3, red +, blue -): random noise as initialised; after "
                 "pre-training on shapes,\nlook for smooth patterns, a red side against a blue side "
                 "(an edge detector, at some angle) or a centre against its surround")
FIGURE_GUIDE = {
    "samples.png": "training images of both classes",
    "roc.png": "every threshold at once; the dots are the calls at 0.5",
    "training_curves.png": "loss and AUC per epoch (a loss that rises while the AUC holds is "
                           "miscalibration, not overfitting)",
    "filters.png": "the first layer's 16 filters before and after pre-training",
    "saliency.png": "the best model on test positives: saliency (which pixels move the logit) "
                    "above, Grad-CAM (which regions of the last convolution's maps speak for "
                    "the positive class) below",
}


def figures(out, split, results, rows, seed):
    """Write samples.png, roc.png, training_curves.png, filters.png and saliency.png (saliency
    and Grad-CAM maps of the best model) to `out`; return their paths."""
    from matplotlib.patches import Circle

    from tinymed import plots  # here: matplotlib takes a moment to import

    def save(fig, name):
        fig.savefig(os.path.join(out, name), dpi=110)
        return os.path.join(out, name)

    rng = np.random.default_rng(seed)
    y, singular = split.y_train, split.positive[0]
    pick = np.r_[rng.choice(np.flatnonzero(y == 1), min(8, int(y.sum())), replace=False),
                 rng.choice(np.flatnonzero(y == 0), min(8, int(len(y) - y.sum())), replace=False)]
    marks = None if split.train_centre is None else split.train_centre[pick]
    paths = [save(plots.image_grid(split.x_train[pick], [singular if y[i] else "normal" for i in pick],
                                   marks=marks, title="Training images" + (
                                       " (red circle: the mass)" if marks is not None else "")),
                  "samples.png")]
    fig = plots.roc_curves({r.name: (split.y_test, r.scores) for r in results},
                           title="ROC curves on the test set (dots: threshold 0.5)")
    for line, r in zip(fig.axes[0].lines, rows):  # where each method's calls at 0.5 fall
        fig.axes[0].plot(1 - r["spec"], r["sens"], "o", color=line.get_color(), markersize=6)
    paths.append(save(fig, "roc.png"))
    paths.append(save(plots.training_curves(
        {r.name: r.history for r in results},
        title="Training curves (losses: each method's own, so weighted losses are smaller "
              "by design; the validation AUCs compare)"), "training_curves.png"))
    before = SimpleCNN(seed=np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0]))
    after = transfer.load(transfer.pretrained_path())["features.0.weight"]
    paths.append(save(plots.compare_filters(
        before.features[0].weight.data, after, titles=("random init", "pre-trained"),
        title=FILTERS_TITLE), "filters.png"))
    best = results[max(range(len(rows)), key=lambda i: rows[i]["auc"].estimate)]
    show = np.flatnonzero(split.y_test == 1)[:6]
    images = split.x_test[show]
    maps = {"saliency": plots.saliency(best.model, images),
            "Grad-CAM": plots.grad_cam(best.model, images, best.model.features[10])}
    fig = plots.saliency_overlay(images, maps, titles=[f"p = {best.scores[i]:.2f}" for i in show],
                                 title=f"Where {best.name} looks, on test {split.positive[1]}"
                                       + (" (cyan circle: the mass)" if marks is not None else ""))
    if split.test_centre is not None:
        for ax, (row, col) in zip(fig.axes, np.tile(split.test_centre[show], (2, 1))):
            ax.add_patch(Circle((col, row), split.x_test.shape[-1] / 8, fill=False,
                                color="cyan", linewidth=1))
    paths.append(save(fig, "saliency.png"))
    return paths
