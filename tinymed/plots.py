"""Figures: image grids, ROC and training curves, learned filters, saliency maps.

Every function returns a `matplotlib.figure.Figure` (made without pyplot, so it works with no
screen); save it with `fig.savefig("roc.png")`, or let a notebook display it.
"""
import io

import numpy as np
from matplotlib import figure


from tinymed import metrics
from tinymed.autograd import Tensor


class Figure(figure.Figure):
    """A matplotlib Figure that a notebook shows as a PNG when it is a cell's last value, even
    when pyplot was never imported (IPython calls `_repr_png_`)."""

    def _repr_png_(self):
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


def _grid(n, ncols, size=1.6):
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig = Figure(figsize=(size * ncols, size * nrows + 0.4), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes:
        ax.set_axis_off()
    return fig, axes


def image_grid(images, titles=None, ncols=8, title=None, cmap="gray", marks=None):
    """Show images (N, 1, H, W), (N, H, W) or (N, 3, H, W) in a grid.

    titles: one string per image. marks: optional (N, 2) (row, col) points circled in red,
    e.g. where a synthetic mass was placed (NaN rows are not marked).
    """
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)
    if images.ndim not in (3, 4):
        raise ValueError(f"image_grid: images must be (N, H, W) or (N, C, H, W), got shape {images.shape}")
    fig, axes = _grid(len(images), ncols)
    for i, (ax, image) in enumerate(zip(axes, images)):
        ax.imshow(image, cmap=cmap, vmin=0, vmax=1) if image.ndim == 2 else ax.imshow(np.clip(image, 0, 1))
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
        if marks is not None and np.all(np.isfinite(marks[i])):
            ax.add_patch(_circle(marks[i], radius=image.shape[0] / 8))
    if title:
        fig.suptitle(title)
    return fig


def _circle(center, radius):
    from matplotlib.patches import Circle

    return Circle((center[1], center[0]), radius, fill=False, color="red", linewidth=1.2)


def roc_curves(results, title="ROC curves"):
    """ROC curve of each method: `results` maps a name to (labels, scores)."""
    fig = Figure(figsize=(5.2, 5), layout="constrained")
    ax = fig.subplots()
    for name, (y, scores) in results.items():
        fpr, tpr, _ = metrics.roc_curve(y, scores)
        ax.plot(fpr, tpr, label=f"{name} (AUC {metrics.roc_auc(y, scores):.2f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    ax.set(xlabel="1 - specificity (false positive rate)", ylabel="sensitivity (true positive rate)", title=title)
    ax.set_aspect("equal")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def training_curves(histories, title="Training curves"):
    """Train loss, validation loss and validation AUC per epoch: `histories` maps a name to a
    `train.History`."""
    fig = Figure(figsize=(12, 3.6), layout="constrained")
    axes = fig.subplots(1, 3)
    for name, history in histories.items():
        epochs = np.arange(1, len(history.train_loss) + 1)
        for ax, values in zip(axes, (history.train_loss, history.val_loss, history.val_auc)):
            ax.plot(epochs, values, marker="o", markersize=3, label=name)
    for ax, label in zip(axes, ("train loss", "validation loss", "validation AUC")):
        ax.set(xlabel="epoch", ylabel=label)
        ax.grid(alpha=0.3)
    axes[2].legend(fontsize=8)
    fig.suptitle(title)
    return fig


def filters(weights, title="First-layer filters"):
    """Convolution filters (O, C, kh, kw), the first input channel of each, each scaled to its
    own range (grey is zero when the filter is symmetric about it)."""
    weights = np.asarray(weights)
    if weights.ndim != 4:
        raise ValueError(f"filters: weights must be (O, C, kh, kw), got shape {weights.shape}")
    fig, axes = _grid(len(weights), ncols=8, size=0.9)
    for ax, w in zip(axes, weights[:, 0]):
        limit = np.abs(w).max() or 1.0
        ax.imshow(w, cmap="RdBu_r", vmin=-limit, vmax=limit)
    fig.suptitle(title, fontsize=10)
    return fig


def compare_filters(before, after, titles=("before", "after"), title="First-layer filters"):
    """Two sets of filters (O, C, kh, kw) side by side, one row each."""
    before, after = np.asarray(before)[:, 0], np.asarray(after)[:, 0]
    n = len(before)
    fig = Figure(figsize=(0.8 * n, 2.1), layout="constrained")
    axes = fig.subplots(2, n, squeeze=False)
    for row, (ws, label) in enumerate(zip((before, after), titles)):
        for ax, w in zip(axes[row], ws):
            limit = np.abs(w).max() or 1.0
            ax.imshow(w, cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(label, fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


def saliency(model, images):
    """Vanilla gradient saliency: |d logit / d pixel| for each image (N, C, H, W) -> (N, H, W).

    It is `backward()` put to another use: instead of the gradient with respect to the weights,
    ask for the gradient with respect to the input, which shows the pixels whose change would
    move the prediction most. The model runs in eval mode; its mode is restored.
    """
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        dtype = next(iter(model.parameters())).dtype
        x = Tensor(np.asarray(images), dtype=dtype, requires_grad=True)
        model(x)[:, 0].sum().backward()
    finally:
        for m, mode in modes:
            m.training = mode
    return np.abs(x.grad).max(axis=1)


def saliency_overlay(images, maps, titles=None, ncols=6, title="Saliency"):
    """Images in grey with their saliency maps (N, H, W) over them in colour."""
    images = np.asarray(images)
    images = images[:, 0] if images.ndim == 4 else images
    fig, axes = _grid(len(images), ncols, size=1.9)
    for i, (ax, image, heat) in enumerate(zip(axes, images, maps)):
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        ax.imshow(heat / (heat.max() or 1.0), cmap="inferno", alpha=0.5, vmin=0, vmax=1)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    fig.suptitle(title)
    return fig


def calibration(results, n_bins=10, title="Calibration"):
    """Reliability diagram: `results` maps a name to (labels, probabilities)."""
    fig = Figure(figsize=(5, 5), layout="constrained")
    ax = fig.subplots()
    for name, (y, probs) in results.items():
        prob_true, prob_pred, _ = metrics.calibration_curve(y, probs, n_bins=n_bins)
        ax.plot(prob_pred, prob_true, marker="o", label=name)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")
    ax.set(xlabel="mean predicted probability", ylabel="fraction of positives", title=title)
    ax.legend(fontsize=8)
    return fig
