"""The command line: `tinymed demo` (quick runs, in-process and as `python -m tinymed`), the
MedMNIST path, `tinymed pretrain`, the shipped weights, the sentences the demo prints, and every
bad argument ending in one line on stderr with exit status 2."""
import contextlib
import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import tinymed as tm
from tinymed import cli, datasets, demo, train, transfer
from tinymed.metrics import BootstrapCI
from tinymed.models import SimpleCNN

METHODS = ("plain BCE", "weighted BCE", "oversampling", "undersampling",
           "pre-trained (frozen)", "pre-trained (fine-tuned)")
FIGURES = ("samples.png", "roc.png", "training_curves.png", "filters.png", "saliency.png")
NUMBER = r"(?:\d\.\d{3}|n/a)"
ROW = re.compile(rf"^(?P<name>.+?)\s+(?P<auc>\d\.\d{{3}} \[\d\.\d{{3}}, \d\.\d{{3}}\])"
                 rf"(?:\s+{NUMBER}){{4}}\s+\d+\.\d s$")


def table(text):
    """{method: "AUC [low, high]"} for every row of the printed table."""
    rows = {}
    for line in text.splitlines():
        match = ROW.match(line)
        if match:
            rows[match["name"]] = match["auc"]
    return rows


def assert_figures(folder):
    for name in FIGURES:
        with open(os.path.join(folder, name), "rb") as file:
            assert file.read(8) == b"\x89PNG\r\n\x1a\n", name


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = cli.main(["demo", "--quick", "--out", str(out)])
    return status, printed.getvalue(), out


@pytest.mark.slow
def test_quick_demo_exits_0_and_writes_the_five_figures(quick_run):
    status, _, out = quick_run
    assert status == 0
    assert_figures(out)


@pytest.mark.slow
def test_quick_demo_prints_a_table_row_per_method_then_findings(quick_run):
    _, text, _ = quick_run
    assert tuple(table(text)) == METHODS
    assert "Plain BCE finds" in text and "Highest AUC:" in text


@pytest.mark.slow
def test_python_dash_m_tinymed_gives_the_same_auc_column_for_the_same_seed(quick_run, tmp_path):
    done = subprocess.run([sys.executable, "-m", "tinymed", "demo", "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert_figures(tmp_path)
    assert table(done.stdout) == table(quick_run[1])


def write_medmnist(path, counts=None, size=28, labels=None):
    """A tiny file in MedMNIST's layout: uint8 images (N, H, W), labels (N, 1); the positives
    carry a bright square. counts: {split: (negatives, positives)}."""
    counts = counts or {"train": (40, 40), "val": (15, 15), "test": (30, 30)}
    rng = np.random.default_rng(0)
    arrays = {}
    for split, (n_neg, n_pos) in counts.items():
        y = np.r_[np.zeros(n_neg, np.uint8), np.ones(n_pos, np.uint8)]
        x = rng.integers(0, 100, (len(y), size, size)).astype(np.uint8)
        x[y == 1, 10:16, 10:16] += 120
        arrays[f"{split}_images"] = x
        arrays[f"{split}_labels"] = y[:, None] if labels is None else labels(y)
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.slow
def test_demo_on_a_balanced_medmnist_file_subsamples_the_training_positives(tmp_path, monkeypatch, capsys):
    path = write_medmnist(tmp_path / "tiny.npz")
    monkeypatch.setenv("TINYMED_QUICK", "1")  # the environment variable alone gives quick mode
    status = cli.main(["demo", "--data", path, "--prevalence", "0.1", "--out", str(tmp_path / "f")])
    text = capsys.readouterr().out
    assert status == 0
    assert "1 epoch per method" in text
    # 40 negatives: round(0.1 * 40 / 0.9) = 4 positives make 4 / 44 = 9.1%
    assert "kept 4 of its 40 positives, to make it 9.1% positive" in text
    assert "kept 2 of its 15 positives" in text  # validation: round(0.1 * 15 / 0.9) = 2
    assert "44 training images (4 positive)" in text
    assert tuple(table(text)) == METHODS
    assert_figures(tmp_path / "f")


def test_pretrain_on_tiny_n_writes_weights_and_json_with_its_metadata(tmp_path, capsys):
    out = tmp_path / "w.npz"
    assert cli.main(["pretrain", "--out", str(out), "--n", "16", "--epochs", "1", "--seed", "3"]) == 0
    model = SimpleCNN(num_classes=len(datasets.SHAPE_CLASSES))
    model.load_state_dict(tm.load(out))  # strict: every key, every shape
    meta = transfer.load_metadata(out)
    assert {k: meta[k] for k in ("seed", "epochs", "n", "image_size", "classes")} == {
        "seed": 3, "epochs": 1, "n": 16, "image_size": 32, "classes": list(datasets.SHAPE_CLASSES)}
    assert meta["command"] == f"tinymed pretrain --out {out} --epochs 1 --seed 3 --n 16"
    assert 0 <= meta["accuracy"] <= 1
    with open(tmp_path / "w.json") as file:
        assert json.load(file) == meta
    assert f"Test accuracy {meta['accuracy']:.3f}" in capsys.readouterr().out


def test_shipped_weights_fill_every_feature_of_simplecnn_and_recognise_shapes():
    path = transfer.pretrained_path()
    assert os.path.getsize(path) < 200_000
    model = SimpleCNN(num_classes=1)
    report = transfer.load_pretrained(model, path)
    features = sorted(k for k in model.state_dict() if k.startswith("features."))
    assert sorted(report.loaded) == features
    assert sorted(report.skipped) == ["classifier.bias", "classifier.weight"]  # 8 classes vs 1

    classifier = SimpleCNN(num_classes=len(datasets.SHAPE_CLASSES))
    classifier.load_state_dict(tm.load(path))
    x, y = datasets.make_shapes(400, 32, seed=20240601)  # a set the weights never saw
    accuracy = np.mean(train.predict(classifier, x).argmax(axis=1) == y)
    assert accuracy > 3 / len(datasets.SHAPE_CLASSES)
    with open(os.path.splitext(path)[0] + ".json") as file:
        assert json.load(file) == transfer.load_metadata(path)


# ----------------------------------------------------------------------------------------------
# What the demo prints is computed from its numbers


def row(name, auc, tp, fn=10, spec=0.9, seconds=1.0):
    return {"name": name, "auc": BootstrapCI(*auc), "tp": tp, "fn": fn, "sens": tp / (tp + fn),
            "spec": spec, "ppv": 0.5, "npv": 0.9, "seconds": seconds, "per_epoch": 100,
            "val_loss": [0.5, 0.4], "val_auc": [auc[0], auc[0]]}


def rows(**changes):
    base = {"plain BCE": row("plain BCE", (0.80, 0.75, 0.85), tp=0, fn=20, spec=1.0),
            "weighted BCE": row("weighted BCE", (0.81, 0.76, 0.86), tp=15, fn=5, spec=0.7),
            "oversampling": row("oversampling", (0.95, 0.92, 0.97), tp=18, fn=2, spec=0.6),
            "undersampling": row("undersampling", (0.60, 0.52, 0.68), tp=12, fn=8, spec=0.5),
            "pre-trained (frozen)": row("pre-trained (frozen)", (0.70, 0.64, 0.76), tp=10),
            "pre-trained (fine-tuned)": row("pre-trained (fine-tuned)", (0.90, 0.86, 0.94), tp=14)}
    base.update(changes)
    return list(base.values())


def test_findings_name_the_methods_that_raised_sensitivity_and_those_that_did_not():
    text = "\n".join(demo.findings(rows(undersampling=row("undersampling", (0.6, 0.5, 0.7), tp=0))))
    assert "Plain BCE finds none of the 20 test masses" in text and "calls every one of them normal" in text
    assert "it did not rise with undersampling." in text


def test_findings_say_how_many_of_the_positives_plain_bce_misses_when_it_finds_some():
    lines = demo.findings(rows(**{"plain BCE": row("plain BCE", (0.80, 0.75, 0.85), tp=3, fn=17)}))
    assert lines[0].startswith("Plain BCE finds 3 of the 20 test masses") and "misses most" in lines[0]


def test_findings_call_a_rising_validation_loss_with_a_steady_auc_miscalibration():
    drifting = dict(row("oversampling", (0.95, 0.92, 0.97), tp=18, fn=2, spec=0.6),
                    val_loss=[0.74, 0.9, 1.29], val_auc=[0.94, 0.95, 0.95])
    overfit = dict(row("undersampling", (0.60, 0.52, 0.68), tp=12, fn=8, spec=0.5),
                   val_loss=[0.5, 0.9], val_auc=[0.8, 0.6])  # the AUC fell too: not this case
    text = "\n".join(demo.findings(rows(oversampling=drifting, undersampling=overfit)))
    assert ("Oversampling: validation loss rose (0.74 -> 1.29) while its validation AUC held "
            "(0.950 -> 0.950): that is miscalibration, not overfitting") in text
    assert "tutorial 06, section 6" in text
    assert "Undersampling: validation loss rose" not in text
    weighted = dict(row("weighted BCE", (0.81, 0.76, 0.86), tp=15, fn=5), val_loss=[0.5, 0.8], val_auc=[0.9, 0.9])
    assert "Weighted BCE: validation loss rose (0.50 -> 0.80)" in "\n".join(demo.findings(rows(**{"weighted BCE": weighted})))
    assert "miscalibration" not in "\n".join(demo.findings(rows()))


def test_findings_say_so_when_no_method_beats_plain_bce_at_threshold():
    lines = demo.findings([row(r["name"], tuple(r["auc"]), tp=12 if r["name"] == "plain BCE" else 3,
                               fn=8) for r in rows()])
    assert lines[0].endswith("most of them, on this run.")
    assert lines[1] == "No method found more of them than plain BCE at threshold 0.5."


def test_findings_call_exactly_half_the_positives_half():
    plain = row("plain BCE", (0.8, 0.75, 0.85), tp=10, fn=10)
    assert demo.findings(rows(**{"plain BCE": plain}))[0].endswith("(sensitivity 0.50): half of them.")


def test_findings_compare_auc_intervals_rather_than_point_estimates():
    text = "\n".join(demo.findings(rows()))
    # oversampling [0.92, 0.97] overlaps fine-tuning [0.86, 0.94] only
    assert "Highest AUC: oversampling, 0.950 [0.920, 0.970]. Its 95% interval overlaps those of " \
           "pre-trained (fine-tuned): that ranking may be chance." in text
    assert "yet more masses found at 0.5: weighted BCE." in text  # [0.76, 0.86] vs [0.75, 0.85]
    assert "clearly above plain BCE's: oversampling." in text
    assert "clearly below plain BCE's: undersampling." in text
    assert "within the interval of the best model trained from scratch (oversampling" in text


def test_findings_report_pre_training_below_scratch_when_the_intervals_say_so():
    lines = demo.findings(rows(**{"pre-trained (fine-tuned)": row(
        "pre-trained (fine-tuned)", (0.70, 0.65, 0.75), tp=14)}))
    assert any("gave AUC 0.700, below the best model trained from scratch" in line for line in lines)


# ----------------------------------------------------------------------------------------------
# update_bn: eval mode computes what training computed


# ----------------------------------------------------------------------------------------------
# Bad arguments: one line on stderr, exit status 2, no traceback


def bad_arguments(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    text_file = tmp_path / "notes.npz"
    text_file.write_text("hello")
    no_split = tmp_path / "no_split.npz"
    np.savez(no_split, images=np.zeros((2, 4, 4), np.uint8))
    multilabel = write_medmnist(tmp_path / "multi.npz", labels=lambda y: np.c_[y, y])
    multiclass = write_medmnist(tmp_path / "multi_class.npz", labels=lambda y: 2 * y[:, None])
    return [
        (["demo", "--data", str(tmp_path / "missing.npz")], "no such file"),
        (["demo", "--data", str(text_file)], "not a readable .npz file"),
        (["demo", "--data", str(no_split)], "split 'train' is not in the file"),
        (["demo", "--data", multilabel], "labels of shape (80, 2)"),
        (["demo", "--data", multiclass], "labels [0, 2]"),
        (["demo", "--prevalence", "0"], "--prevalence"),
        (["demo", "--prevalence", "1"], "--prevalence"),
        (["demo", "--prevalence", "1.5"], "strictly between 0 and 1"),
        (["demo", "--prevalence", "nan"], "--prevalence"),
        (["demo", "--prevalence", "few"], "--prevalence"),
        (["demo", "--epochs", "0"], "--epochs: expected an integer >= 1, got '0'"),
        (["demo", "--epochs", "2.5"], "--epochs"),
        (["demo", "--seed", "-1"], "--seed"),
        (["demo", "--out", str(a_file)], "is a file"),
        (["demo", "--quick", "--prevalence", "0.001"], "the training set has 0 positives"),
        (["pretrain"], "--out"),
        (["pretrain", "--out", str(tmp_path / "w.txt")], ".npz"),
        (["pretrain", "--out", str(tmp_path)], "is a folder"),
        (["pretrain", "--out", str(tmp_path / "nowhere" / "w.npz")], "does not exist"),
        (["pretrain", "--out", str(tmp_path / "w.npz"), "--n", "3"], "--n must be at least 16"),
        ([], "command"),
        (["train"], "invalid choice"),
    ]


def test_every_bad_argument_exits_2_with_one_line_naming_the_problem(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where the default --out, ./tinymed-demo, would go
    for argv, expected in bad_arguments(tmp_path):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        err = capsys.readouterr().err
        assert exit_info.value.code == 2, argv
        assert err.count("\n") == 1 and err.startswith("tinymed") and "error: " in err, (argv, err)
        assert expected in err, (argv, err)
        assert "Traceback" not in err
    assert not (tmp_path / "nowhere").exists() and (tmp_path / "a_file").is_file()
    assert not (tmp_path / "tinymed-demo").exists()  # no folder made for a run that failed


def test_bad_arguments_through_python_dash_m_exit_2_without_traceback(tmp_path):
    for argv in (["demo", "--prevalence", "2"], ["demo", "--data", str(tmp_path / "missing.npz")]):
        done = subprocess.run([sys.executable, "-m", "tinymed", *argv], capture_output=True,
                              text=True, cwd=tmp_path, timeout=120)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
        assert done.stdout == ""


@pytest.mark.slow
def test_demo_on_the_shipped_pneumonia_x_rays_runs_offline_without_bars_when_asked(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a terminal: bars would show, but --no-progress
    status = cli.main(["demo", "--data", "pneumonia", "--quick", "--no-progress", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert status == 0
    assert "Real paediatric chest X-rays shipped with tinymed (PneumoniaMNIST" in captured.out
    assert "test pneumonia cases at threshold 0.5" in captured.out
    assert tuple(table(captured.out)) == METHODS
    assert_figures(tmp_path)
    assert "epoch 1/1" not in captured.err


def test_demo_help_offers_the_shipped_pneumonia_data_and_no_progress(capsys):
    with pytest.raises(SystemExit):
        cli.main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "'pneumonia': the real chest X-rays shipped with tinymed" in text and "--no-progress" in text


def test_tinymed_homework_is_a_subcommand_of_the_top_level_command(capsys):
    from tinymed import cli

    assert cli.main(["homework", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("autograd", "cnn", "weighted_loss", "resampling", "transfer", "evaluation"):
        assert any(line.startswith(name) for line in out.splitlines()), name
