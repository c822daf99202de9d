"""The command line: `tinymed demo` and `tinymed pretrain` (`python -m tinymed ...` runs it too).

    tinymed demo                       six ways to train on rare masses, compared (see tinymed.demo)
    tinymed demo --data pneumonia      the same on real chest X-rays shipped with tinymed (offline)
    tinymed demo --data FILE.npz       the same on a MedMNIST file with one binary label
    tinymed pretrain --out FILE.npz    train SimpleCNN on make_shapes: the shipped weights
    tinymed homework list|make|grade   graded assignments for instructors (see tinymed.homework)

Progress bars show only when the output is a terminal (`--no-progress` turns them off there too).

Bad arguments end with a one-line message on stderr and exit status 2, as argparse's own errors
do; the library's ValueError / FileNotFoundError about the user's input are turned into such a
message here, at the boundary, instead of a traceback.
"""
import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time

import numpy as np

from tinymed import data, datasets, demo, nn, optim, threads, train, transfer
from tinymed.homework import cli as homework_cli
from tinymed.models import SimpleCNN

PRETRAIN_DEFAULTS = {"epochs": 12, "seed": 0, "n": 8000}
PRETRAIN_IMAGE_SIZE = 32


class _Parser(argparse.ArgumentParser):
    """argparse, with errors on one line (no usage block above them)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(str(message).split())}\n")


def _number_type(kind, test, expected):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    return parse


_positive_int = _number_type(int, lambda v: v >= 1, "an integer >= 1")
_seed = _number_type(int, lambda v: v >= 0, "an integer >= 0")
_prevalence = _number_type(float, lambda v: 0 < v < 1, "a fraction strictly between 0 and 1")


def _add_demo(commands):
    d = commands.add_parser(
        "demo", help="train SimpleCNN six ways on rare disease and compare them",
        description="Train the same SimpleCNN six ways (plain BCE, weighted BCE, oversampling, "
                    "undersampling, pre-trained frozen, pre-trained fine-tuned) on imbalanced "
                    "data, print a table of AUC, sensitivity, specificity, PPV and NPV, and write "
                    "figures. Without --data it uses synthetic chest X-ray phantoms.")
    d.add_argument("--out", default="tinymed-demo", metavar="DIR",
                   help="folder for the PNG figures (created; default ./tinymed-demo)")
    d.add_argument("--data", metavar="pneumonia|FILE.npz",
                   help="'pneumonia': the real chest X-rays shipped with tinymed (no download); "
                        "or a MedMNIST .npz file with one binary label, e.g. breastmnist.npz")
    d.add_argument("--prevalence", type=_prevalence, default=0.05, metavar="P",
                   help="fraction of positives in training (default 0.05)")
    d.add_argument("--epochs", type=_positive_int, metavar="N",
                   help=f"epochs per method (default {demo.DEFAULT.epochs}, {demo.QUICK.epochs} "
                        f"with --quick)")
    d.add_argument("--seed", type=_seed, default=0, metavar="S",
                   help="the same seed gives the same table (default 0)")
    _add_common(d)
    d.add_argument("--quick", action="store_true",
                   help="a seconds-long run on tiny data (also: TINYMED_QUICK=1)")
    return d


def _add_pretrain(commands):
    p = commands.add_parser(
        "pretrain", help="train SimpleCNN on the shapes data set (the shipped weights)",
        description="Train SimpleCNN(num_classes=%d) on datasets.make_shapes with cross-entropy, "
                    "report its accuracy on a fresh test set, save the weights with their "
                    "metadata and write the metadata as JSON beside them."
                    % len(datasets.SHAPE_CLASSES))
    p.add_argument("--out", required=True, metavar="FILE.npz", help="the weight file to write")
    p.add_argument("--epochs", type=_positive_int, default=PRETRAIN_DEFAULTS["epochs"], metavar="N")
    p.add_argument("--seed", type=_seed, default=PRETRAIN_DEFAULTS["seed"], metavar="S")
    p.add_argument("--n", type=_positive_int, default=PRETRAIN_DEFAULTS["n"], metavar="N",
                   help="training images (default %(default)s)")
    _add_common(p)
    return p


def _add_common(command):
    command.add_argument("--threads", type=_positive_int, metavar="N",
                         help="tinymed's threads (default: one per core; the BLAS always uses one, see tinymed.threads)")
    command.add_argument("--no-progress", action="store_true",
                         help="no progress bars (they show only on a terminal anyway)")


def build_parser():
    parser = _Parser(prog="tinymed", description="tinymed: deep learning for medical imaging "
                                                 "in pure NumPy.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    parser.commands = {"demo": _add_demo(commands), "pretrain": _add_pretrain(commands),
                       "homework": homework_cli.add_parser(commands)}
    return parser


def _quick_from_env():
    return os.environ.get("TINYMED_QUICK", "").strip().lower() not in ("", "0", "false", "no")


def run_demo(args, parser):
    start = time.perf_counter()
    quick = args.quick or _quick_from_env()
    settings = demo.QUICK if quick else demo.DEFAULT
    if args.epochs is not None:
        settings = dataclasses.replace(settings, epochs=args.epochs)
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        parser.error(f"--out {args.out} is a file; give a folder for the figures")
    try:
        if args.data is None:
            split = demo.synthetic_split(args.prevalence, args.seed, settings)
        elif args.data == "pneumonia":
            split = demo.pneumonia_split(args.prevalence, args.seed, settings, quick)
        else:
            split = demo.medmnist_split(args.data, args.prevalence, args.seed, settings, quick)
        demo.check_split(split)
        transfer.pretrained_path()  # the shipped weights are there
        os.makedirs(args.out, exist_ok=True)
    except (ValueError, OSError) as error:  # OSError: a missing file, an --out we cannot create
        parser.error(str(error))
    demo.run(split, settings, args.seed, args.out, progress=_progress(args))
    print(f"Total time: {time.perf_counter() - start:.1f} s"
          + (" (quick mode: tiny data, the numbers mean nothing)" if quick else ""))
    return 0


def _progress(args):
    return False if args.no_progress else None  # None: bars only on a terminal (train.fit)


def pretrain(out, epochs, seed, n, progress=None, stream=None):
    """Train SimpleCNN(num_classes=len(SHAPE_CLASSES)) on `n` shapes images (32x32) for
    `epochs` epochs (Adam, lr 3e-3 annealed by a cosine to 0, batch 64), measure its accuracy
    on max(n // 4, 200) fresh images, and save it to `out` (a .npz weight file) with metadata,
    also written as JSON next to it (same name, .json). Returns the metadata dict."""
    rng = np.random.default_rng(seed)
    x, y = datasets.make_shapes(n, PRETRAIN_IMAGE_SIZE, seed=rng)
    x_test, y_test = datasets.make_shapes(max(n // 4, 200), PRETRAIN_IMAGE_SIZE, seed=rng)
    model = SimpleCNN(num_classes=len(datasets.SHAPE_CLASSES), seed=rng)
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    schedule = optim.CosineAnnealingLR(optimizer, T_max=epochs)
    loader = data.DataLoader(data.ArrayDataset(x, y), batch_size=64, shuffle=True, seed=rng)
    loss_fn = nn.CrossEntropyLoss()

    def end_of_epoch(model, epoch):
        schedule.step()

    history = train.fit(model, loss_fn, optimizer, loader, epochs, progress=progress, on_epoch_end=end_of_epoch)
    for epoch, loss in enumerate(history.train_loss, 1):
        print(f"epoch {epoch}/{epochs}: train loss {loss:.4f}", file=stream)
    train.update_bn(model, x[:1024])
    accuracy = float(np.mean(train.predict(model, x_test).argmax(axis=1) == y_test))
    metadata = {
        "command": f"tinymed pretrain --out {out} --epochs {epochs} "
                   f"--seed {seed} --n {n}",
        "seed": seed, "epochs": epochs, "n": n, "image_size": PRETRAIN_IMAGE_SIZE,
        "accuracy": round(accuracy, 4), "test_n": len(y_test),
        "classes": list(datasets.SHAPE_CLASSES),
        "training": "Adam lr 3e-3, cosine annealing per epoch, batch 64, cross-entropy; "
                    "BatchNorm statistics recomputed at the end (tinymed.train.update_bn)",
    }
    transfer.save(model.state_dict(), out, metadata=metadata)
    metadata = transfer.load_metadata(out)
    with open(os.path.splitext(out)[0] + ".json", "w") as file:
        json.dump(metadata, file, indent=2)
        file.write("\n")
    chance = 1 / len(datasets.SHAPE_CLASSES)
    print(f"Test accuracy {accuracy:.3f} on {len(y_test)} fresh images (chance {chance:.3f}); "
          f"saved {out}", file=stream)
    return metadata


def run_pretrain(args, parser):
    folder = os.path.dirname(os.path.abspath(args.out))
    if os.path.isdir(args.out):
        parser.error(f"--out {args.out} is a folder; give a .npz file name")
    if not args.out.endswith(".npz"):
        parser.error(f"--out must name a .npz file, got {args.out}")
    if not os.path.isdir(folder):
        parser.error(f"--out {args.out}: the folder {folder} does not exist")
    try:  # before training, not after: a trial file where the weights will go
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        parser.error(f"--out {args.out}: cannot write into the folder {folder} "
                     f"({error.strerror or error}); choose a folder you can write to")
    if args.n < 2 * len(datasets.SHAPE_CLASSES):
        parser.error(f"--n must be at least {2 * len(datasets.SHAPE_CLASSES)} (two images per "
                     f"class), got {args.n}")
    pretrain(args.out, args.epochs, args.seed, args.n, progress=_progress(args))
    return 0


# command name -> run(args, its parser) -> exit status; build_parser adds each one's parser
RUNNERS = {"demo": run_demo, "pretrain": run_pretrain, "homework": lambda args, parser: homework_cli.run(args)}


def main(argv=None):
    """Run the command line with `argv` (default: sys.argv[1:]); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run = RUNNERS[args.command]
    if getattr(args, "threads", None) is not None:
        threads.set_num_threads(args.threads)
    try:
        return run(args, parser.commands[args.command])
    except KeyboardInterrupt:
        print(f"tinymed {args.command}: interrupted", file=sys.stderr)
        return 130
