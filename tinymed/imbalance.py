"""Class imbalance: how rare each class is, the weights that even out the loss, and resampling.

A screening data set may hold 100 normal X-rays for every mass. Trained on it as it is, a model
lowers its loss fastest by calling everything normal. Two remedies, both here:

- **Weighted loss** (``class_weights``): with ``N`` examples and labels ``y_i`` in {0, 1},

      freq_pos = (1/N) * sum_i y_i          freq_neg = (1/N) * sum_i (1 - y_i) = 1 - freq_pos
      w_pos = freq_neg                      w_neg = freq_pos

  so that ``w_pos * freq_pos == w_neg * freq_neg``: each class contributes equally to

      L = -(1/N) * sum_i [ w_pos * y_i * log p_i + w_neg * (1 - y_i) * log(1 - p_i) ].

  With 6 normal and 2 mass examples out of 8: freq_pos = 2/8, w_pos = 6/8 and w_neg = 2/8.
  For several labels (multi-label chest X-rays, ``labels`` of shape (N, C)) everything is per label.
- **Resampling** (``resample``, and the samplers in ``tinymed.data``): draw the rare class more
  often (oversampling) or the common class less often (undersampling) until the counts match.

Everything here is plain NumPy and knows nothing of the autograd engine.
"""
import numpy as np

from tinymed import validate
from tinymed.random import get_generator

__all__ = ["class_frequencies", "class_weights", "balanced_class_weights", "sample_weights", "resample"]

STRATEGIES = ("auto", "minority", "majority", "not minority", "not majority", "all")


def _binary_labels(labels, where):
    """``labels`` as a float64 array of shape (N,) or (N, C) holding only 0 and 1."""
    arr = np.asarray(labels)
    if arr.ndim not in (1, 2) or arr.shape[0] == 0 or (arr.ndim == 2 and arr.shape[1] == 0):
        raise ValueError(f"{where}: labels must have shape (N,) or (N, C) with N, C >= 1, got shape {arr.shape}")
    if arr.dtype != bool and not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{where}: labels must be 0/1 numbers or booleans, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        raise ValueError(
            f"{where}: labels must be exactly 0 or 1, found {np.unique(arr[bad])[:5].tolist()} "
            f"(for multi-class labels use balanced_class_weights or sample_weights)"
        )
    return arr


def class_frequencies(labels):
    """The fraction of positive and of negative examples, per label.

    ``labels``: (N,) or (N, C) of 0/1 (bool, int, or float exactly 0.0 / 1.0).
    Returns ``(pos_freq, neg_freq)`` with ``pos_freq = (1/N) * sum_i y_i`` and
    ``neg_freq = 1 - pos_freq``: two floats for (N,), two float64 arrays of shape (C,) for (N, C).
    """
    arr = _binary_labels(labels, "class_frequencies")
    pos_freq = arr.mean(axis=0)
    neg_freq = 1.0 - pos_freq
    if arr.ndim == 1:
        return float(pos_freq), float(neg_freq)
    return pos_freq, neg_freq


def class_weights(labels):
    """The course's loss weights: each class weighted by the other class's frequency.

    ``labels``: (N,) or (N, C) of 0/1. Returns ``(pos_weights, neg_weights)`` with
    ``w_pos = freq_neg`` and ``w_neg = freq_pos`` (floats for (N,), float64 arrays (C,) for (N, C)),
    so that ``w_pos * freq_pos == w_neg * freq_neg`` per label: both classes contribute equally to
    ``-(1/N) * sum_i [w_pos y_i log p_i + w_neg (1 - y_i) log(1 - p_i)]``. Feed them to
    ``nn.WeightedBCELoss(pos_weights, neg_weights)``.

    Example (the course's): 6 normals and 2 masses in 8 give ``w_pos = 6/8`` and ``w_neg = 2/8``.

    The ratio ``w_pos / w_neg = n_neg / n_pos`` is the usual ``pos_weight`` of PyTorch's
    ``BCEWithLogitsLoss``, which leaves negatives at weight 1; here both classes are weighted and
    the two weights sum to 1.

    A label (column) with no positive or no negative example raises ValueError: the weight of the
    class that is present would be 0, and so would that label's loss, whatever the model predicts.
    """
    arr = _binary_labels(labels, "class_weights")
    pos_freq, neg_freq = class_frequencies(arr)
    columns = arr.reshape(arr.shape[0], -1)
    for c in range(columns.shape[1]):
        n_pos = int(columns[:, c].sum())
        if n_pos in (0, columns.shape[0]):
            which = "labels" if arr.ndim == 1 else f"label column {c}"
            missing, present = ("positive", "negative") if n_pos == 0 else ("negative", "positive")
            raise ValueError(
                f"class_weights: {which} has no {missing} example ({n_pos} of {columns.shape[0]} are 1), "
                f"so the {present} weight (the {missing} frequency) would be 0 and the weighted loss of "
                f"this label would be 0 whatever the model predicts"
            )
    return neg_freq, pos_freq


def _class_labels(y, where, hint, name="y"):
    """``y`` as one class label per sample, shape (N,); an (N, 1) column is read as (N,).

    Multi-label (N, C) targets raise ValueError with ``hint`` saying what to use instead; ``where``
    and ``name`` are the function and argument named in error messages.
    """
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 2:
        raise ValueError(
            f"{where}: {name} has shape {arr.shape}, a multi-label target (several labels per sample), "
            f"but one class per sample, shape (N,), is needed; {hint}"
        )
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise ValueError(f"{where}: {name} must be a non-empty array of shape (N,), got shape {arr.shape}")
    if arr.dtype.kind in "biuf":  # names ("normal", "mass") are classes too; NaN never is
        validate.labels(arr, f"{where}: {name}")
    return arr


def _class_indices(y):
    """The classes of a 1-D ``y`` in sorted order, their counts, and each class's sample indices."""
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    by_class = np.argsort(inverse, kind="stable")
    return classes, counts, np.split(by_class, np.cumsum(counts)[:-1])


_MULTILABEL_HINT = (
    "for multi-label data weight each label in the loss instead: "
    "pos_w, neg_w = imbalance.class_weights(y); nn.WeightedBCELoss(pos_w, neg_w)"
)


def balanced_class_weights(y, num_classes=None):
    """One weight per class, ``n_samples / (n_classes * count_k)``, for ``CrossEntropyLoss(weight=...)``.

    ``y``: (N,) integer class labels 0 .. K-1. Returns float64 (K,), indexed by class, where
    K = ``num_classes`` or, by default, ``max(y) + 1``. This is scikit-learn's
    ``compute_class_weight("balanced", classes=np.arange(K), y=y)``; a class with no sample
    raises ValueError (its weight would be infinite).
    """
    arr = _class_labels(y, "balanced_class_weights", _MULTILABEL_HINT)
    if arr.dtype != bool and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"balanced_class_weights: y must hold integer class labels, got dtype {arr.dtype}")
    if arr.min() < 0:
        raise ValueError(f"balanced_class_weights: y must hold classes 0 .. K-1, found {int(arr.min())}")
    k = int(arr.max()) + 1
    if num_classes is not None:
        k = validate.integer(num_classes, f"balanced_class_weights: num_classes (> max(y) = {k - 1})", min=k)
    counts = np.bincount(arr.astype(np.intp), minlength=k)
    if (counts == 0).any():
        raise ValueError(
            f"balanced_class_weights: class {int(np.flatnonzero(counts == 0)[0])} has no sample in y "
            f"(classes 0 .. {k - 1} expected), so its weight n / (K * 0) would be infinite"
        )
    return arr.shape[0] / (k * counts)


def sample_weights(y):
    """One weight per sample: the inverse frequency of its class, scaled so the weights sum to N.

    ``y``: (N,) class labels (binary or multi-class, any values). Returns float64 (N,) with
    ``w_i = N / (K * count[y_i])`` for K classes present (scikit-learn's
    ``compute_sample_weight("balanced", y)``), so every class carries the same total weight N / K.

    This is what ``data.WeightedRandomSampler`` takes: one weight per *sample*, not per class.
    ``WeightedRandomSampler(sample_weights(y), num_samples=len(y))`` draws each class with
    probability 1/K at every draw.

    Multi-label (N, C) targets raise ValueError: a sample with several labels has no single class
    frequency. Weight the loss per label instead (``class_weights``).
    """
    arr = _class_labels(y, "sample_weights", _MULTILABEL_HINT)
    classes, inverse, counts = np.unique(arr, return_inverse=True, return_counts=True)
    return arr.shape[0] / (len(classes) * counts[inverse.reshape(-1)])


def _strategy(strategy, method):
    """``sampling_strategy`` checked before anything is computed (a dict's counts are checked
    against y's classes in ``_target_counts``)."""
    if isinstance(strategy, str):
        if strategy not in STRATEGIES:
            raise ValueError(
                f"resample: sampling_strategy must be one of {STRATEGIES}, a float or a dict, got {strategy!r}"
            )
        if (method, strategy) in (("over", "majority"), ("under", "minority")):
            raise ValueError(
                f"resample: sampling_strategy={strategy!r} cannot be used with method={method!r} "
                f"(it would {method}sample the {strategy} class, which makes the imbalance worse)"
            )
    elif validate.is_real(strategy):
        return validate.real(strategy, "resample: a float sampling_strategy", above=0, max=1)
    elif not isinstance(strategy, dict):
        raise TypeError(
            f"resample: sampling_strategy must be a str, a float in (0, 1] or a dict {{class: count}}, "
            f"got {type(strategy).__name__}"
        )
    return strategy


def _target_counts(classes, counts, strategy, method):
    """{class: count after resampling} for the classes that are resampled (imbalanced-learn's rules)."""
    n_maj, n_min = counts.max(), counts.min()
    # Ties go to the smallest label, as imbalanced-learn's max()/min() over its sorted class counts.
    majority, minority = classes.tolist()[np.argmax(counts)], classes.tolist()[np.argmin(counts)]
    count = dict(zip(classes.tolist(), counts.tolist()))
    level = n_maj if method == "over" else n_min
    if isinstance(strategy, str):
        keep = {
            "auto": (lambda c: c != majority) if method == "over" else (lambda c: c != minority),
            "all": lambda c: True,
            "minority": lambda c: c == minority,
            "majority": lambda c: c == majority,
            "not minority": lambda c: c != minority,
            "not majority": lambda c: c != majority,
        }[strategy]
        return {c: int(level) for c in count if keep(c)}
    if isinstance(strategy, dict):
        unknown = [c for c in strategy if c not in count]
        if unknown:
            raise ValueError(
                f"resample: sampling_strategy names classes {unknown} that are not in y (y has {list(count)})"
            )
        for c, n in strategy.items():
            validate.integer(n, f"resample: sampling_strategy[{c!r}]", min=0)
            if method == "over" and n < count[c]:
                raise ValueError(
                    f"resample: with method='over' sampling_strategy[{c!r}] = {n} must be >= the "
                    f"{count[c]} samples class {c!r} has"
                )
            if method == "under" and n > count[c]:
                raise ValueError(
                    f"resample: with method='under' sampling_strategy[{c!r}] = {n} must be <= the "
                    f"{count[c]} samples class {c!r} has"
                )
        return {c: int(n) for c, n in strategy.items()}
    if len(classes) != 2:
        raise ValueError(
            f"resample: a float sampling_strategy needs binary y, but y has {len(classes)} classes; use a dict"
        )
    if method == "over":
        # imbalanced-learn: the minority class grows to int(ratio * n_majority), and must grow.
        added = int(n_maj * strategy - count[minority])
        if added <= 0:
            raise ValueError(
                f"resample: sampling_strategy={strategy} would leave the minority class with "
                f"{count[minority] + added} <= its {count[minority]} samples; use a larger ratio"
            )
        return {minority: count[minority] + added}
    # imbalanced-learn: the majority class shrinks to int(n_minority / ratio), and must not grow.
    kept = int(n_min / strategy)
    if kept > count[majority]:
        raise ValueError(
            f"resample: sampling_strategy={strategy} asks for {kept} majority samples but class "
            f"{majority!r} has only {count[majority]}; use a larger ratio"
        )
    return {majority: kept}


def resample(X, y, method="over", sampling_strategy="auto", seed=None):
    """Random over- or undersampling of a data set: ``X`` (N, ...), ``y`` (N,) -> ``(X_res, y_res)``.

    ``method="over"`` keeps every sample and adds copies of randomly drawn samples (with
    replacement) of the classes that must grow; ``method="under"`` keeps a random subset (without
    replacement) of the classes that must shrink. The class counts are imbalanced-learn's
    ``RandomOverSampler`` / ``RandomUnderSampler(...).fit_resample`` for the same strategy:

    - ``"auto"``: every class to the majority count (over) / to the minority count (under);
      ``"not majority"``, ``"not minority"``, ``"minority"`` (over only), ``"majority"`` (under
      only) and ``"all"`` pick which classes move. Ties go to the smallest label.
    - a float ratio in (0, 1], binary ``y`` only: over makes the minority count
      ``int(ratio * n_majority)`` (it must grow); under makes the majority count
      ``int(n_minority / ratio)`` (it must not exceed what there is).
    - a dict ``{class: count}``: the count each named class ends with, ``>= `` its current count
      for over, ``<=`` for under; classes not named are left alone.

    Order of the output: for ``"over"``, the original samples in their order, then the added
    copies, class by class in sorted label order (as imbalanced-learn); for ``"under"``, the kept
    samples in their original order. Shuffle before training (``DataLoader(shuffle=True)``).
    The draws differ from imbalanced-learn's (it uses a ``RandomState``); the same ``seed``
    gives the same result here. ``y_res`` keeps the shape of ``y``, so an (N, 1) column stays one.
    """
    validate.one_of(method, "resample: method", ("over", "under"))
    X = np.asarray(X)
    labels = _class_labels(y, "resample", _MULTILABEL_HINT)
    if X.ndim == 0 or X.shape[0] != labels.shape[0]:
        raise ValueError(
            f"resample: X has {X.shape[0] if X.ndim else 'no'} samples (shape {X.shape}) "
            f"but y has {labels.shape[0]}"
        )
    sampling_strategy = _strategy(sampling_strategy, method)
    rng = get_generator(seed, name="resample: seed")
    classes, counts, members = _class_indices(labels)
    if len(classes) < 2:
        raise ValueError(f"resample: y holds a single class ({classes.tolist()[0]!r}); there is nothing to balance")
    targets = _target_counts(classes, counts, sampling_strategy, method)
    position = {c: k for k, c in enumerate(classes.tolist())}
    if method == "over":
        extra = [
            rng.choice(members[position[c]], size=n - counts[position[c]], replace=True)
            for c, n in sorted(targets.items())
        ]
        index = np.concatenate([np.arange(labels.shape[0]), *extra])
    else:
        kept = [
            rng.choice(members[k], size=targets[c], replace=False) if c in targets else members[k]
            for k, c in enumerate(classes.tolist())
        ]
        index = np.sort(np.concatenate(kept))
    return X[index], np.asarray(y)[index]
