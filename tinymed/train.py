"""The training loop, written out once: fit, evaluate, predict.

One step of training is always the same five lines, and `fit` is those lines in two loops::

    optimizer.zero_grad()             # forget the last step's gradients
    logits = model(x)                 # forward: build the graph
    loss = loss_fn(logits, y)         # one number
    loss.backward()                   # backward: d loss / d every parameter
    optimizer.step()                  # move each parameter against its gradient
"""
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm  # the text bar: works in terminals and notebooks, with no widget library

from tinymed import metrics, validate
from tinymed.autograd import Tensor, no_grad
from tinymed.nn.layers import BatchNorm1d, BatchNorm2d
from tinymed.nn.module import Module


@dataclass
class History:
    """Per-epoch records of a `fit`: train_loss, val_loss and val_auc (nan where not measured,
    e.g. without a validation loader, or when the validation set holds one class only), and the
    seconds each epoch took."""

    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_auc: list = field(default_factory=list)
    seconds: list = field(default_factory=list)

    def __repr__(self):
        rows = ["epoch  train_loss  val_loss  val_auc  seconds"]
        for i, values in enumerate(zip(self.train_loss, self.val_loss, self.val_auc, self.seconds), 1):
            rows.append("{:>5}  {:>10.4f}  {:>8.4f}  {:>7.3f}  {:>7.1f}".format(i, *values))
        return "History(\n" + "\n".join(rows) + "\n)"


def _target_like(y, out):
    # A binary model outputs (N, 1) logits while labels come as (N,): give them the same shape.
    if y.ndim == 1 and out.shape == (len(y), 1):
        return y.reshape(-1, 1)
    return y


def _scores(logits):
    """Probabilities from logits: a sigmoid per column (binary and multi-label outputs)."""
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))


def _auc(labels, logits):
    if logits.ndim == 2 and logits.shape[1] == 1:
        logits = logits[:, 0]
    if labels.shape != logits.shape:
        return float("nan")  # e.g. multi-class softmax outputs: AUC is per class, not one number
    try:
        return float(np.mean(metrics.roc_auc(labels, _scores(logits))))
    except ValueError:  # only one class present
        return float("nan")


def _check_loader(loader, name):
    expected = f"{name} must be a DataLoader (or any iterable of (x, y) batches)"
    if isinstance(loader, (np.ndarray, Tensor)) or (
            isinstance(loader, (tuple, list)) and loader and isinstance(loader[0], (np.ndarray, Tensor))):
        # Iterating an array, or an (X, y) pair, yields single examples or whole arrays, not batches.
        raise TypeError(f"{expected}, got {_kind(loader)}: wrap the arrays as "
                        f"data.DataLoader(data.ArrayDataset(X, y), batch_size=...)")
    if not hasattr(loader, "__iter__") or hasattr(loader, "get_batch"):
        hint = " (wrap it: data.DataLoader(dataset, batch_size=...))" if hasattr(loader, "__getitem__") else ""
        raise TypeError(f"{expected}, got {type(loader).__name__}{hint}")


def _kind(value):
    if isinstance(value, (tuple, list)):
        first = f" (first item: {type(value[0]).__name__})" if value else ""
        return f"a {type(value).__name__} of length {len(value)}{first}"
    return f"{type(value).__name__} of shape {tuple(value.shape)}" if hasattr(value, "shape") else type(value).__name__


def _xy(batch, name):
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise ValueError(f"{name} must yield (x, y) batches, got {_kind(batch)} (a dataset of images "
                         f"alone? use data.ArrayDataset(images, labels))")
    return batch[0], batch[1]


def _check_parts(where, model, loss_fn=None):
    if not isinstance(model, Module):
        what = f"the class {model.__name__} (call it to make a model)" if isinstance(model, type) else type(model).__name__
        raise TypeError(f"{where}: model must be an nn.Module, got {what}")
    if loss_fn is not None and (isinstance(loss_fn, type) or not callable(loss_fn)):
        what = f"the class {loss_fn.__name__}" if isinstance(loss_fn, type) else type(loss_fn).__name__
        raise TypeError(f"{where}: loss_fn must be a loss such as nn.BCEWithLogitsLoss() (an instance), got {what}")


def fit(model, loss_fn, optimizer, train_loader, epochs=1, val_loader=None, progress=None,
        on_epoch_end=None):
    """Train `model` for `epochs` passes over `train_loader`; return a `History`.

    train_loader / val_loader: iterables of (x, y) NumPy batches, x (N, C, H, W) or (N, D),
    y (N,) or (N, L) (a DataLoader). Labels (N,) for (N, 1) outputs are reshaped to (N, 1).
    progress: show a tqdm bar per epoch with the running loss; None (the default) shows it only
        when the output (stderr, where tqdm writes) is a terminal, so that a log file does not
        fill with hundreds of redrawn bars.
    on_epoch_end: called as `on_epoch_end(model, epoch)` after each epoch's training, before
        the validation, e.g. `lambda model, epoch: train.update_bn(model, images)` or a
        learning-rate schedule's step.
    After each epoch the model is evaluated on `val_loader` (loss and ROC AUC) in eval mode.
    """
    _check_parts("fit", model, loss_fn)
    if not (hasattr(optimizer, "step") and hasattr(optimizer, "zero_grad")):
        raise TypeError(f"fit: optimizer must be an optimizer such as optim.SGD(model.parameters(), lr=0.1), "
                        f"got {type(optimizer).__name__}")
    _check_loader(train_loader, "fit: train_loader")
    if val_loader is not None:
        _check_loader(val_loader, "fit: val_loader")
    epochs = validate.integer(epochs, "fit: epochs", min=1)
    progress = sys.stderr.isatty() if progress is None else validate.boolean(progress, "fit: progress")
    history = History()
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        total, count = 0.0, 0
        bar = tqdm(train_loader, desc=f"epoch {epoch}/{epochs}", leave=False, disable=not progress)
        for batch in bar:
            x, y = _xy(batch, "fit: train_loader")
            optimizer.zero_grad()
            out = model(Tensor(x, dtype=_dtype(model)))
            loss = loss_fn(out, _target_like(y, out))
            loss.backward()
            optimizer.step()
            total += loss.item() * len(x)
            count += len(x)
            bar.set_postfix(loss=f"{total / count:.4f}")
        if count == 0:
            raise ValueError("fit: train_loader yielded no batches (is drop_last dropping the only batch?)")
        history.train_loss.append(total / count)
        if on_epoch_end is not None:
            on_epoch_end(model, epoch)
        if val_loader is not None:
            result = evaluate(model, val_loader, loss_fn)
            history.val_loss.append(result["loss"])
            history.val_auc.append(result["auc"])
        else:
            history.val_loss.append(float("nan"))
            history.val_auc.append(float("nan"))
        history.seconds.append(time.perf_counter() - start)
    return history


def update_bn(model, images, batch_size=128):
    """Recompute the running statistics of every BatchNorm layer that trains, as the plain
    average over `images` (N, C, H, W) at the current weights (PyTorch's
    `torch.optim.swa_utils.update_bn`). Frozen layers keep theirs; modes are restored.

    Why: eval mode normalises with running averages of past batches (momentum 0.1: roughly the
    last ten). After a few hundred fast Adam steps the weights have moved since those batches,
    and the stale statistics shift the logits enough to flip many calls at threshold 0.5 from
    one epoch to the next. Recomputed, eval mode computes what training computed.
    """
    _check_parts("update_bn", model)
    if not isinstance(images, (np.ndarray, Tensor)):
        raise TypeError(f"update_bn: images must be an array (N, C, H, W), got {type(images).__name__}")
    layers = [m for m in model.modules() if isinstance(m, (BatchNorm1d, BatchNorm2d)) and not m.frozen]
    momenta = [m.momentum for m in layers]
    modes = [(m, m.training) for m in model.modules()]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over all the batches below
    model.train()
    try:
        with no_grad():
            for x, _ in _batches(np.asarray(images), batch_size):
                model(Tensor(x, dtype=_dtype(model)))
    finally:
        for m, momentum in zip(layers, momenta):
            m.momentum = momentum
        for m, mode in modes:
            m.training = mode


def _dtype(model):
    first = next(iter(model.parameters()), None)
    return np.float32 if first is None else first.dtype


def _batches(x_or_loader, batch_size):
    if isinstance(x_or_loader, (np.ndarray, Tensor)):
        x = np.asarray(x_or_loader)
        for start in range(0, len(x), batch_size):
            yield x[start:start + batch_size], None
    else:
        for batch in x_or_loader:
            yield _xy(batch, "predict: x_or_loader")


def predict(model, x_or_loader, batch_size=256):
    """The model's raw outputs (e.g. logits) for every example, stacked over batches.

    x_or_loader: an array (N, ...) or a loader of (x, y) batches. Runs in eval mode (dropout
    off, BatchNorm on its running statistics) under no_grad, and restores the model's mode.
    """
    batch_size = validate.integer(batch_size, "predict: batch_size", min=1)
    _check_parts("predict", model)
    if not isinstance(x_or_loader, (np.ndarray, Tensor)):
        _check_loader(x_or_loader, "predict: x_or_loader (when not an array)")
    outputs, _ = _run(model, x_or_loader, batch_size)
    return outputs


def _run(model, x_or_loader, batch_size):
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    outputs, labels = [], []
    try:
        with no_grad():
            for x, y in _batches(x_or_loader, batch_size):
                outputs.append(model(Tensor(x, dtype=_dtype(model))).data)
                if y is not None:
                    labels.append(np.asarray(y))
    finally:
        for m, mode in modes:
            m.training = mode
    if not outputs:
        raise ValueError("predict: no examples to predict on (empty array or loader)")
    return np.concatenate(outputs), (np.concatenate(labels) if labels else None)


def evaluate(model, loader, loss_fn=None):
    """Loss (mean over examples) and ROC AUC of `model` on a loader of (x, y) batches.

    Returns a dict with "loss" (nan without `loss_fn`), "auc" (mean over label columns; nan if
    a column has one class only), "logits" (N, ...) and "labels".
    """
    _check_parts("evaluate", model, loss_fn)
    _check_loader(loader, "evaluate: loader")
    logits, labels = _run(model, loader, batch_size=None)
    loss = float("nan")
    if loss_fn is not None:
        with no_grad():
            out = Tensor(logits)
            loss = loss_fn(out, _target_like(labels, out)).item()
    return {"loss": loss, "auc": _auc(labels, logits), "logits": logits, "labels": labels}
