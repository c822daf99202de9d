"""Transfer learning: weight files, loading pre-trained weights, freezing layers, fine-tuning.

Networks are data-hungry and medical data sets are small. The recipe:

1. **Pre-train** a network on a large, general data set. Its early layers learn generic
   features (edges, blobs, textures) that almost any image task needs; its later layers learn
   features specific to that task.
2. **Transfer** the weights into the network for the medical task (`load_pretrained`). Layers
   whose shape differs, typically the classifier head (10 shape classes vs 1 disease), are
   skipped and stay freshly initialised.
3. **Fine-tune** on the medical data, in one of two ways:

   - **only the later layers**, with the early ones frozen (`freeze_to(model, n)`). Choose this
     when the medical set is small: there are few parameters to fit, so little room to overfit,
     and the early layers' generic edge and texture detectors need no re-learning.
   - **all layers** (`freeze_to(model, 0)`), usually with a smaller learning rate for the
     pre-trained body than for the new head (`param_groups`). Choose this when there is more
     data, or when the images differ a lot from the pre-training images (grey-scale X-rays vs
     natural photos): then even the early features profit from adapting.

   Why the *early* layers are the ones to freeze: features grow from generic to specific with
   depth, so the shallow layers transfer best, while the deep layers and the head are the ones
   that must learn the new task.

Weight files (`save`, `load`, `load_metadata`, importable from here) are plain, safe `.npz`
archives: see `tinymed.weights_file`.

Weights from PyTorch: export them as NumPy arrays and load them strictly into the matching
tinymed model (the keys and layouts are PyTorch's)::

    state = {k: v.detach().cpu().numpy() for k, v in torch_model.state_dict().items()}
    tm.save(state, "simplecnn.npz", metadata={"source": "PyTorch"})
    model.load_state_dict(tm.load("simplecnn.npz"))            # strict=True
"""
import collections.abc
import fnmatch
import os
from dataclasses import dataclass, field

from tinymed import validate
from tinymed.nn.module import Module
from tinymed.weights_file import METADATA_KEY, load, load_metadata, save, state_arrays

__all__ = ["save", "load", "load_metadata", "METADATA_KEY", "pretrained_path", "LoadReport", "load_pretrained",
           "freeze_to", "param_groups"]

PRETRAINED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained")


def pretrained_path(name="simplecnn_shapes"):
    """The path of a weight file shipped in tinymed/pretrained/ (see the JSON beside it for how
    it was made), e.g. `transfer.load_pretrained(model, transfer.pretrained_path())`."""
    path = os.path.join(PRETRAINED_DIR, f"{name}.npz")
    if not os.path.isfile(path):
        shipped = sorted(f[:-4] for f in os.listdir(PRETRAINED_DIR) if f.endswith(".npz")) if os.path.isdir(PRETRAINED_DIR) else []
        raise FileNotFoundError(f"pretrained_path: no shipped weights named {name!r}; shipped: {shipped}")
    return path


# ---------------------------------------------------------------------------------------------
# Loading pre-trained weights into a new model
# ---------------------------------------------------------------------------------------------


def _module(model, where):
    if not isinstance(model, Module):
        what = f"the class {model.__name__} (call it to make a model)" if isinstance(model, type) else type(model).__name__
        raise TypeError(f"{where}: model must be an nn.Module, got {what}")


@dataclass
class LoadReport:
    """What `load_pretrained` did with each key (lists of keys).

    loaded: name and shape matched, value copied. skipped: in both, but the shape differs (e.g.
    a new classifier head); `shapes[key]` is (source shape, model shape). missing: in the model,
    not in the source (left as initialised). unexpected: in the source, not in the model.
    excluded: matched an `exclude` pattern.
    """

    loaded: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)
    excluded: list = field(default_factory=list)
    shapes: dict = field(default_factory=dict)

    def __str__(self):
        counts = ", ".join(f"{len(getattr(self, k))} {k}" for k in ("loaded", "skipped", "missing", "unexpected", "excluded"))
        rows = [(status, key) for status in ("loaded", "skipped", "missing", "unexpected", "excluded") for key in getattr(self, status)]
        width = max((len(key) for _, key in rows), default=0)
        lines = [f"LoadReport: {counts}"]
        for status, key in rows:
            shape = self.shapes.get(key)
            if status == "skipped":
                detail = f"shape differs: source {shape[0]} vs model {shape[1]}"
            else:
                detail = "" if shape is None else str(shape)
            lines.append(f"  {status:<10}  {key:<{width}}  {detail}".rstrip())
        return "\n".join(lines)


def load_pretrained(model, source, exclude=()):
    """Copy into `model` every weight of `source` whose key and shape match; report the rest.

    source: a weight-file path or a state dict. exclude: glob patterns of keys to leave alone
    (e.g. ("classifier.*",) to keep a fresh head even when its shape happens to match).
    Keys whose shape differs, such as a classifier for another number of classes, are skipped
    and reported rather than raising, because that is the normal case in transfer learning.
    Returns a `LoadReport`; `print(report)` shows a table.
    """
    _module(model, "load_pretrained")
    if isinstance(exclude, str):
        exclude = (exclude,)
    if not isinstance(exclude, collections.abc.Iterable) or not all(isinstance(p, str) for p in exclude):
        raise TypeError(f"load_pretrained: exclude must be a glob pattern or a tuple of them, e.g. "
                        f"('classifier.*',), got {exclude!r}")
    state = state_arrays(load(source) if isinstance(source, (str, os.PathLike)) else source, "load_pretrained")
    target = model.state_dict()
    report = LoadReport()
    for key, value in state.items():
        if any(fnmatch.fnmatchcase(key, pattern) for pattern in exclude):
            report.excluded.append(key)
        elif key not in target:
            report.unexpected.append(key)
        elif value.shape != target[key].shape:
            report.skipped.append(key)
            report.shapes[key] = (value.shape, target[key].shape)
        else:
            report.loaded.append(key)
            report.shapes[key] = value.shape
    report.missing = [k for k in target if k not in state]
    model.load_state_dict({k: state[k] for k in report.loaded}, strict=False)
    return report


# ---------------------------------------------------------------------------------------------
# Freezing and fine-tuning
# ---------------------------------------------------------------------------------------------


def _features(model, where):
    _module(model, where)
    features = getattr(model, "features", None)
    if features is None or not hasattr(features, "children"):
        raise ValueError(f"{where}: the model needs a `features` module (as models.SimpleCNN has), got {type(model).__name__}")
    return list(features.children())


def freeze_to(model, n):
    """Freeze the first `n` children of `model.features`; everything after them trains.

    n = len(model.features): train only the classifier (the pre-trained features are fixed).
    n = 0: fine-tune all layers. Frozen layers' parameters stop requiring grad and their
    BatchNorm statistics stop updating (see `Module.freeze`). Returns the model.
    """
    layers = _features(model, "freeze_to")
    n = validate.integer(n, "freeze_to: n (how many of the feature layers to freeze)", min=0, max=len(layers))
    model.unfreeze()
    for layer in layers[:n]:
        layer.freeze()
    return model


def param_groups(model, lr, head_lr=None):
    """Parameter groups for discriminative learning rates: the body at `lr`, the classifier
    head at `head_lr` (default: `lr`). Pass the result to an optimizer:
    `optim.SGD(transfer.param_groups(model, lr=1e-3, head_lr=1e-2), lr=1e-3, momentum=0.9)`.

    A pre-trained body needs only small corrections, while a freshly initialised head has
    everything to learn, hence a larger rate for the head. Frozen parameters are included (the
    optimizer skips them while they are frozen, and trains them once unfrozen).
    """
    _module(model, "param_groups")
    if getattr(model, "classifier", None) is None:
        raise ValueError(f"param_groups: the model needs a `classifier` module, got {type(model).__name__}")
    lr = validate.non_negative(lr, "param_groups: lr")
    head_lr = lr if head_lr is None else validate.non_negative(head_lr, "param_groups: head_lr")
    head = [p for name, p in model.named_parameters() if name.startswith("classifier.")]
    body = [p for name, p in model.named_parameters() if not name.startswith("classifier.")]
    return [{"params": body, "lr": lr}, {"params": head, "lr": head_lr}]
