"""Figures: image grids, ROC and training curves (per label too), learned filters, saliency and
Grad-CAM maps.

Every function returns a `matplotlib.figure.Figure` (made without pyplot, so it works with no
screen); save it with `fig.savefig("roc.png")`, or let a notebook display it.
"""
import io

import numpy as np
from matplotlib import figure

from tinymed import metrics, validate
from tinymed.autograd import Tensor
from tinymed.nn.module import Module


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


def _in_eval_mode(model, run):
    """Call `run()` with `model` in eval mode; restore every submodule's mode after."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        return run()
    finally:
        for m, mode in modes:
            m.training = mode


def _input(model, images):
    """The images as a Tensor of the model's dtype that requires grad (its .grad: d / d pixel)."""
    dtype = next(iter(model.parameters())).dtype
    return Tensor(np.asarray(images), dtype=dtype, requires_grad=True)


def saliency(model, images):
    """Vanilla gradient saliency: |d logit / d pixel| for each image (N, C, H, W) -> (N, H, W).

    It is `backward()` put to another use: instead of the gradient with respect to the weights,
    ask for the gradient with respect to the input, which shows the pixels whose change would
    move the prediction most. The model runs in eval mode; its mode is restored.
    """
    x = _input(model, images)
    _in_eval_mode(model, lambda: model(x)[:, 0].sum().backward())
    return np.abs(np.asarray(x.grad)).max(axis=1)


def _bilinear(n_in, n_out):
    """(n_out, n_in) linear interpolation with half-pixel centres (OpenCV's INTER_LINEAR, as the
    course resizes; PyTorch's interpolate(mode="bilinear", align_corners=False)): output pixel i
    reads the input at s = (i + 0.5) n_in / n_out - 0.5, clamped to [0, n_in - 1], mixing the
    two pixels around s in proportion to their nearness."""
    s = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    low = np.floor(s).astype(int)
    high = np.minimum(low + 1, n_in - 1)
    weights = np.zeros((n_out, n_in))
    np.add.at(weights, (np.arange(n_out), low), 1 - (s - low))
    np.add.at(weights, (np.arange(n_out), high), s - low)
    return weights


def grad_cam(model, images, layer, target=0):
    """Grad-CAM (Selvaraju et al., 2017), as the course draws it: where in the image the
    evidence for output `target` lies, seen from `layer`. (N, C, H, W) -> (N, H, W) in [0, 1].

        A      = the output of `layer` (N, K, h, w), recorded by a forward hook
        dA     = d score / d A, the score being the logit `target` (backward; A.retain_grad())
        alpha  = dA averaged over the h x w positions (N, K): how much each channel matters
        map    = sum_k alpha_k A_k (N, h, w), resized to (H, W) bilinearly,
                 then ReLU (keep what speaks for the target) and divided by its maximum

    An image whose map is nowhere positive gets all zeros. `layer` is a module of `model`
    whose output has a spatial layout, usually the last convolution block (for SimpleCNN,
    `model.features[10]`, the last ReLU, 8x8 at 32x32 input). The model runs once, in eval
    mode (its modes are restored); it is the model's own forward and backward, nothing is
    recomputed by hand.
    """
    if not isinstance(model, Module):
        raise TypeError(f"grad_cam: model must be an nn.Module, got {type(model).__name__}")
    if not any(m is layer for m in model.modules()):
        raise ValueError(f"grad_cam: layer must be a module of model (e.g. model.features[10]), "
                         f"got {type(layer).__name__}, which model does not contain")
    validate.ndim(np.asarray(images), "grad_cam: images", 4, "(N, C, H, W)")
    target = validate.integer(target, "grad_cam: target", min=0)
    recorded = []

    def record(module, inputs, output):
        output.retain_grad()
        recorded.append(output)

    def forward_and_backward():
        x = _input(model, images)
        handle = layer.register_forward_hook(record)
        try:
            scores = model(x)
        finally:
            handle.remove()
        if target >= scores.shape[1]:
            raise ValueError(f"grad_cam: target must be an output index < {scores.shape[1]}, got {target}")
        if len(recorded) != 1 or recorded[0].ndim != 4:
            shape = tuple(recorded[0].shape) if recorded else None
            raise ValueError(f"grad_cam: layer must run once and give (N, K, h, w) maps; it ran "
                             f"{len(recorded)} time(s), output shape {shape}")
        scores[:, target].sum().backward()  # images are independent in eval mode: one backward
        return np.asarray(recorded[0].data), np.asarray(recorded[0].grad)

    activations, grads = _in_eval_mode(model, forward_and_backward)
    alpha = grads.mean(axis=(2, 3))
    maps = np.einsum("nk,nkhw->nhw", alpha, activations)
    height, width = np.asarray(images).shape[2:]
    maps = _bilinear(maps.shape[1], height) @ maps @ _bilinear(maps.shape[2], width).T
    maps = np.maximum(maps, 0)
    peak = maps.max(axis=(1, 2), keepdims=True)
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)


def saliency_overlay(images, maps, titles=None, ncols=6, title="Saliency"):
    """Images in grey with maps (N, H, W) over them in colour, each map scaled to its maximum.

    `maps` may also be a dict {name: (N, H, W) maps}, e.g. {"saliency": ..., "Grad-CAM": ...}:
    then each image gets one column and each kind of map one row, named on the left.
    """
    images = np.asarray(images)
    images = images[:, 0] if images.ndim == 4 else images
    rows = maps if isinstance(maps, dict) else {None: maps}
    n = len(images)
    if len(rows) == 1:
        fig, axes = _grid(n, ncols, size=1.9)
        axes = axes[None, :n]
    else:
        fig = Figure(figsize=(1.9 * n, 1.9 * len(rows) + 0.4), layout="constrained")
        axes = fig.subplots(len(rows), n, squeeze=False)
    for row, (name, heats) in zip(axes, rows.items()):
        for i, (ax, image, heat) in enumerate(zip(row, images, heats)):
            ax.imshow(image, cmap="gray", vmin=0, vmax=1)
            ax.imshow(heat / (heat.max() or 1.0), cmap="inferno", alpha=0.5, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if titles is not None and row is axes[0]:
                ax.set_title(titles[i], fontsize=8)
        if name is not None:
            row[0].set_ylabel(name, fontsize=9)
    fig.suptitle(title)
    return fig


def roc_per_label(y, scores, names, title="ROC curve per label"):
    """One ROC panel per label of a multi-label problem.

    y: (N, K) 0/1; scores: {method name: (N, K) scores}, one curve per method in each panel;
    names: the K label names (titles, with each label's prevalence in the set).
    """
    y = np.asarray(y)
    validate.ndim(y, "roc_per_label: y", 2, "(N, K)")
    if len(names) != y.shape[1]:
        raise ValueError(f"roc_per_label: names has {len(names)} entries but y has {y.shape[1]} labels")
    fig = Figure(figsize=(3.2 * len(names), 3.6), layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for k, (ax, label) in enumerate(zip(axes, names)):
        for method, s in scores.items():
            s = np.asarray(s)[:, k]
            fpr, tpr, _ = metrics.roc_curve(y[:, k], s)
            ax.plot(fpr, tpr, label=f"{method} ({metrics.roc_auc(y[:, k], s):.2f})")
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
        ax.set(title=f"{label} ({y[:, k].mean():.0%} of images)", xlabel="1 - specificity")
        ax.set_aspect("equal")
        ax.legend(fontsize=7, loc="lower right", title="AUC", title_fontsize=7)
    axes[0].set_ylabel("sensitivity")
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
