"""The experiment behind `tinymed demo`: six ways to train one small CNN on a rare disease.

A screening set holds few positives (masses on synthetic chest X-rays, pneumonia on the real
X-rays shipped with tinymed, or a MedMNIST file, made imbalanced). The same SimpleCNN, from the
same initial weights, on the same split, is trained:

    plain BCE                 the baseline: calling everything "normal" is almost always right
    weighted BCE              w_pos = fraction of negatives, w_neg = fraction of positives
    oversampling              every epoch draws the positives up to the negatives' count
    undersampling             every epoch draws the negatives down to the positives' count
    pre-trained (frozen)      the shipped shapes features, fixed; only the head trains (weighted)
    pre-trained (fine-tuned)  the shipped features, all layers train, the body at a lower rate

Each is scored on the same test set: the AUC with a bootstrap 95% interval (how well it ranks
cases, whatever the threshold) and, at threshold 0.5, sensitivity, specificity, PPV and NPV
(the calls a reader would act on). `run` prints the table and sentences computed from it, and
writes the figures (`tinymed.demo_figures`).
"""
import os
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit

from tinymed import data, datasets, demo_figures, imbalance, metrics, nn, optim, train, transfer
from tinymed.models import SimpleCNN

METHODS = ("plain BCE", "weighted BCE", "oversampling", "undersampling",
           "pre-trained (frozen)", "pre-trained (fine-tuned)")


@dataclass(frozen=True)
class Settings:
    """Sizes and training options of a run; `phantom` holds `make_chest_xrays`'s keyword knobs
    (the difficulty of the synthetic task)."""

    n_train: int
    n_val: int
    n_test: int
    image_size: int
    epochs: int
    batch_size: int = 64
    lr: float = 3e-3          # Adam, for the models trained from scratch and for the heads
    body_lr: float = 3e-4     # the pre-trained body, when fine-tuning all layers
    n_bootstraps: int = 500
    phantom: dict = field(default_factory=dict)


DEFAULT = Settings(n_train=1200, n_val=300, n_test=1000, image_size=32, epochs=4)
# seconds, for the tests: tiny images and sets, one epoch; the numbers mean nothing
QUICK = Settings(n_train=100, n_val=40, n_test=100, image_size=16, epochs=1, batch_size=32,
                 n_bootstraps=100)


@dataclass
class Split:
    """Images (N, 1, H, W) and 0/1 labels (N,) of the three splits, what a positive is called,
    notes on where the data came from, and for synthetic data the (row, col) of each mass
    (N, 2), NaN rows for negatives."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    positive: tuple = ("mass", "masses")
    notes: list = field(default_factory=list)
    train_centre: np.ndarray = None
    test_centre: np.ndarray = None


def synthetic_split(prevalence, seed, settings):
    """Three independent draws of `make_chest_xrays` at the same prevalence: a screening
    population, so the test set is as imbalanced as the training set and PPV and NPV mean what
    they would in practice."""
    rng = np.random.default_rng(seed)
    (x_train, y_train, info), (x_val, y_val, _), (x_test, y_test, test_info) = (
        datasets.make_chest_xrays(n, prevalence, settings.image_size, seed=rng,
                                  return_info=True, **settings.phantom)
        for n in (settings.n_train, settings.n_val, settings.n_test))
    knobs = "".join(f", {k}={v}" for k, v in settings.phantom.items())
    note = (f"Synthetic chest X-ray phantoms ({settings.image_size}x{settings.image_size}"
            f"{knobs}), {prevalence:.1%} with a mass in every split.")
    return Split(x_train, y_train, x_val, y_val, x_test, y_test, notes=[note],
                 train_centre=info["mass_centre"], test_centre=test_info["mass_centre"])


def _grey_and_small(images, size=32):
    """(N, C, H, W) -> (N, 1, H', W'): channels averaged to grey (the shipped weights are
    grey), and images larger than `size` shrunk by an integer block mean to about `size`."""
    images = images.mean(axis=1, keepdims=True)
    k = -(-images.shape[-1] // size)
    if k > 1:
        n, _, h, w = images.shape
        images = images[:, :, :h - h % k, :w - w % k]
        images = images.reshape(n, 1, h // k, k, w // k, k).mean(axis=(3, 5))
    return images


def medmnist_split(path, prevalence, seed, settings, quick=False):
    """The three splits of a MedMNIST file with one binary label. When a training or validation
    set holds a larger fraction of positives than `prevalence`, a random subset of its positives
    is kept, just enough for `prevalence` (at least one); the test set is left as in the file.
    `quick` first caps every split at the quick sizes (a random subset)."""
    rng = np.random.default_rng(seed)
    splits, notes = {}, []
    caps = {"train": settings.n_train, "val": settings.n_val, "test": settings.n_test}
    for name, cap in caps.items():
        x, y = datasets.load_medmnist(path, name)
        if y.ndim != 1 or not np.isin(y, (0, 1)).all():
            found = f"labels of shape {y.shape}" if y.ndim != 1 else f"labels {np.unique(y)[:6].tolist()}"
            raise ValueError(f"demo: {path} has {found} in its {name} split; the demo needs one "
                             f"binary (0/1) label, as PneumoniaMNIST or BreastMNIST have")
        if quick and len(y) > cap:
            keep = np.sort(rng.choice(len(y), cap, replace=False))
            x, y = x[keep], y[keep]
        splits[name] = (_grey_and_small(x), y)
    size = splits["train"][0].shape[-1]
    notes.append(f"{os.path.basename(path)}: {size}x{size} grey images, label 1 is positive.")
    for name in ("train", "val"):
        x, y = splits[name]
        if y.mean() <= prevalence or y.min() == 1:
            notes.append(f"Its {name} set is {y.mean():.1%} positive, already at most "
                         f"--prevalence {prevalence}: used as it is.")
            continue
        keep = datasets.imbalanced_subset(y, prevalence, seed=rng)
        splits[name] = (x[keep], y[keep])
        notes.append(f"Its {name} set is {y.mean():.1%} positive: kept {int(y[keep].sum())} of its "
                     f"{int(y.sum())} positives, to make it {y[keep].mean():.1%} positive "
                     f"(--prevalence {prevalence}).")
    notes.append(f"Its test set is used as it is ({splits['test'][1].mean():.1%} positive): "
                 f"PPV and NPV hold at that prevalence.")
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = splits.values()
    return Split(x_train, y_train, x_val, y_val, x_test, y_test, ("positive", "positives"), notes)


def pneumonia_split(prevalence, seed, settings, quick=False):
    """`medmnist_split` on the real chest X-rays shipped with tinymed (datasets.load_pneumonia's
    file): the training and validation sets cut down to `prevalence`, the test set balanced."""
    split = medmnist_split(datasets.pneumonia_path(), prevalence, seed, settings, quick)
    split.positive = ("pneumonia", "pneumonia cases")
    split.notes[0] = ("Real paediatric chest X-rays shipped with tinymed (PneumoniaMNIST, MedMNIST v2, "
                      "CC BY 4.0; see tinymed/realdata/README.md): 28x28 grey, label 1 is pneumonia.")
    return split


def check_split(split):
    """Each split needs both classes (class weights, AUC): raise a ValueError saying which not."""
    for name, y, least in (("training", split.y_train, 2), ("validation", split.y_val, 1),
                           ("test", split.y_test, 2)):
        n_pos = int(y.sum())
        if min(n_pos, len(y) - n_pos) < least:
            raise ValueError(f"demo: the {name} set has {n_pos} positives and {len(y) - n_pos} "
                             f"negatives; it needs at least {least} of each (raise --prevalence, "
                             f"or drop --quick for larger sets)")


# ----------------------------------------------------------------------------------------------
# Training


@dataclass
class Result:
    """One trained method: model, History, training seconds, images drawn per epoch, and the
    predicted probabilities on the test set."""

    name: str
    model: object
    history: object
    seconds: float
    per_epoch: int
    scores: np.ndarray


def _recipe(name, split, settings, seeds):
    """(model, loss, optimizer, loader, one-line description) of the method `name`."""
    y, lr = split.y_train, settings.lr
    model = SimpleCNN(seed=np.random.default_rng(seeds["init"]))
    dataset = data.ArrayDataset(split.x_train, y.astype(np.float32))
    order = np.random.default_rng(seeds["order"])
    loader = data.DataLoader(dataset, settings.batch_size, shuffle=True, seed=order)
    w_pos, w_neg = imbalance.class_weights(y)
    weighted = nn.WeightedBCELoss(w_pos, w_neg)
    with_weights = f"weighted BCE (w_pos={w_pos:.3f}, w_neg={w_neg:.3f})"
    if name in ("plain BCE", "weighted BCE"):
        plain = name == "plain BCE"
        return (model, nn.BCEWithLogitsLoss() if plain else weighted,
                optim.Adam(model.parameters(), lr), loader, "BCE" if plain else with_weights)
    if name in ("oversampling", "undersampling"):
        sampler = (data.OverSampler if name == "oversampling" else data.UnderSampler)(y, seed=order)
        loader = data.DataLoader(dataset, settings.batch_size, sampler=sampler)
        return (model, nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr), loader,
                f"BCE on {type(sampler).__name__} epochs, half positive")
    transfer.load_pretrained(model, transfer.pretrained_path())
    if name == "pre-trained (frozen)":
        transfer.freeze_to(model, len(model.features))
        return (model, weighted, optim.Adam(model.parameters(), lr), loader,
                f"shapes features frozen, only the head trains, {with_weights}")
    transfer.freeze_to(model, 0)  # nothing frozen: every layer fine-tunes
    groups = transfer.param_groups(model, lr=settings.body_lr, head_lr=lr)
    return (model, weighted, optim.Adam(groups, lr), loader,
            f"shapes features, all layers train (body lr {settings.body_lr:g}, head lr {lr:g}), "
            f"{with_weights}")


def train_all(split, settings, seed, progress=None, out=None):
    """Train the six methods in turn and predict the test set. All start from the same initial
    weights (the pre-trained ones then replace their features) and shuffle with the same
    stream. After each epoch: BatchNorm statistics recomputed on 256 training images
    (`train.update_bn`), then the validation loss and AUC. `progress`: as `train.fit`'s (None:
    bars only when the output is a terminal)."""
    init, order, bn = np.random.SeedSequence(seed).spawn(3)
    seeds = {"init": init, "order": order}
    bn_images = split.x_train[np.random.default_rng(bn).permutation(len(split.x_train))[:256]]
    val = data.DataLoader(data.ArrayDataset(split.x_val, split.y_val.astype(np.float32)), 256)
    results = []
    for i, name in enumerate(METHODS, 1):
        model, loss_fn, optimizer, loader, how = _recipe(name, split, settings, seeds)
        print(f"[{i}/{len(METHODS)}] {name}: {how}; {len(loader.sampler)} images per epoch",
              file=out, flush=True)
        history = train.fit(model, loss_fn, optimizer, loader, settings.epochs, val, progress,
                            on_epoch_end=lambda model, epoch: train.update_bn(model, bn_images))
        # probabilities in float64: float32 would round many of them to exactly 0 or 1 and tie
        probabilities = expit(train.predict(model, split.x_test)[:, 0].astype(np.float64))
        results.append(Result(name, model, history, sum(history.seconds), len(loader.sampler),
                              probabilities))
    return results


# ----------------------------------------------------------------------------------------------
# The table and what it shows


def measure(results, y, seed, n_bootstraps):
    """One dict per method: the AUC as a BootstrapCI (the same resamples for every method), TP
    and FN, sensitivity, specificity, PPV and NPV at threshold 0.5, seconds, images per epoch,
    and the validation loss and AUC per epoch."""
    rows = []
    for r in results:
        c = metrics.confusion_counts(y, r.scores)
        rows.append({"name": r.name, "seconds": r.seconds, "per_epoch": r.per_epoch,
                     "tp": c.tp, "fn": c.fn, "val_loss": r.history.val_loss,
                     "val_auc": r.history.val_auc,
                     "auc": metrics.bootstrap_ci(metrics.roc_auc, y, r.scores,
                                                 n_bootstraps=n_bootstraps, seed=seed),
                     **{key: fn(y, r.scores) for key, fn in (
                         ("sens", metrics.sensitivity), ("spec", metrics.specificity),
                         ("ppv", metrics.ppv), ("npv", metrics.npv))}})
    return rows


def format_table(rows):
    width = max(len(r["name"]) for r in rows)
    lines = [f"{'method':<{width}}  {'AUC [95% CI]':<21}   sens   spec    PPV    NPV    time",
             "-" * (width + 61)]
    for r in rows:
        cells = ("n/a" if np.isnan(r[k]) else f"{r[k]:.3f}" for k in ("sens", "spec", "ppv", "npv"))
        lines.append(f"{r['name']:<{width}}  {str(r['auc']):<21}  "
                     + " ".join(f"{c:>6}" for c in cells) + f"  {r['seconds']:5.1f} s")
    return "\n".join(lines)


def _overlap(a, b):
    return a.low <= b.high and b.low <= a.high


def _names(rows):
    names = [r["name"] for r in rows]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def findings(rows, positives="masses"):
    """Sentences read off the table's numbers: who finds the positives at 0.5 and at what cost
    in specificity, which AUC differences are larger than the bootstrap intervals, what the
    pre-trained features did, and how much data each method drew."""
    plain, others = rows[0], rows[1:]
    total = plain["tp"] + plain["fn"]
    if plain["tp"] == 0:
        found, share = f"none of the {total}", "it calls every one of them normal."
    else:
        found = f"{plain['tp']} of the {total}"
        share = ("it misses most of them." if plain["tp"] < plain["fn"] else "half of them."
                 if plain["tp"] == plain["fn"] else "most of them, on this run.")
    lines = [f"Plain BCE finds {found} test {positives} at threshold 0.5 "
             f"(sensitivity {plain['sens']:.2f}): {share}"]
    raised = [r for r in others if r["tp"] > plain["tp"]]
    if raised:
        lines.append("Sensitivity rose above plain BCE's with " + _names(raised)
                     + f" (to {min(r['sens'] for r in raised):.2f}-{max(r['sens'] for r in raised):.2f}"
                     f"), at a specificity of {min(r['spec'] for r in raised):.2f}-"
                     f"{max(r['spec'] for r in raised):.2f} (plain BCE: {plain['spec']:.2f})"
                     + ("." if len(raised) == len(others) else
                        f"; it did not rise with {_names([r for r in others if r not in raised])}."))
    else:
        lines.append("No method found more of them than plain BCE at threshold 0.5.")
    best = max(rows, key=lambda r: r["auc"].estimate)
    close = [r for r in rows if r is not best and _overlap(r["auc"], best["auc"])]
    apart = [r for r in rows if r is not best and r not in close]
    text = f"Highest AUC: {best['name']}, {best['auc']}."
    if close:
        text += f" Its 95% interval overlaps those of {_names(close)}: that ranking may be chance."
    if apart:
        text += f" It is clearly above {_names(apart)}."
    lines.append(text)
    remedies = rows[1:4]
    moved = [r for r in remedies if r in raised and _overlap(r["auc"], plain["auc"])]
    if moved:
        lines.append(f"AUC interval overlapping plain BCE's, yet more {positives} found at 0.5: "
                     f"{_names(moved)}. There the operating point moved more than the ranking of "
                     f"cases improved.")
    for verdict, test in (("above", lambda r: r["auc"].low > plain["auc"].high),
                          ("below", lambda r: r["auc"].high < plain["auc"].low)):
        clear = [r for r in remedies if test(r)]
        if clear:
            lines.append(f"AUC interval clearly {verdict} plain BCE's: {_names(clear)}.")
    lines.extend(_miscalibrated(remedies))
    frozen, tuned = rows[4], rows[5]
    scratch = max(rows[:4], key=lambda r: r["auc"].estimate)
    verdict = ("above" if tuned["auc"].low > scratch["auc"].high else
               "below" if tuned["auc"].high < scratch["auc"].low else "within the interval of")
    lines.append(f"Pre-training on shapes: fine-tuning all layers gave AUC "
                 f"{tuned['auc'].estimate:.3f}, {verdict} the best model trained from scratch "
                 f"({scratch['name']}, {scratch['auc'].estimate:.3f}); with the features frozen, "
                 f"{frozen['auc'].estimate:.3f}.")
    sizes = ", ".join(f"{r['name']} {r['per_epoch']}" for r in rows[2:4])
    lines.append(f"Images drawn per epoch: {sizes}, the others {plain['per_epoch']}; training "
                 f"took {min(r['seconds'] for r in rows):.1f}-{max(r['seconds'] for r in rows):.1f} s.")
    return lines


def _miscalibrated(rows):
    """A sentence for each method whose validation loss rose by more than 10% from its lowest
    while its validation AUC stayed within 0.02 of its best: the ranking held, the
    probabilities drifted (balanced training makes them too high at a low prevalence)."""
    lines = []
    for r in rows:
        loss, auc = np.asarray(r["val_loss"]), np.asarray(r["val_auc"])
        if len(loss) < 2 or np.isnan(auc).any() or loss[-1] <= 1.1 * loss.min():
            continue
        if auc[-1] >= auc.max() - 0.02:
            lines.append(f"{r['name'][0].upper() + r['name'][1:]}: validation loss rose ({loss.min():.2f} -> "
                         f"{loss[-1]:.2f}) while its validation AUC held ({auc.max():.3f} -> "
                         f"{auc[-1]:.3f}): that is miscalibration, not overfitting (balanced training "
                         f"pushes its probabilities up, towards p = 1.00, while it still ranks cases "
                         f"as well); tutorial 06, section 6, shows how to correct it.")
    return lines


def run(split, settings, seed, out_dir, progress=None, out=None):
    """Train, print the table and the findings, write the figures; return the table's rows."""
    for note in split.notes:
        print(note, file=out)
    epochs = f"{settings.epochs} epoch{'s' if settings.epochs > 1 else ''}"
    print(f"{len(split.y_train)} training images ({int(split.y_train.sum())} positive), "
          f"{len(split.y_val)} validation ({int(split.y_val.sum())}), {len(split.y_test)} test "
          f"({int(split.y_test.sum())}); {epochs} per method, seed {seed}.\n", file=out, flush=True)
    results = train_all(split, settings, seed, progress, out)
    rows = measure(results, split.y_test, seed, settings.n_bootstraps)
    print("\n" + format_table(rows) + "\n", file=out)
    for line in findings(rows, split.positive[1]):
        print("- " + line, file=out)
    print("\nFigures:", file=out)
    for path in demo_figures.figures(out_dir, split, results, rows, seed):
        print(f"  {path}: {demo_figures.FIGURE_GUIDE[os.path.basename(path)]}", file=out)
    return rows
