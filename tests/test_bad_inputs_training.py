"""Bad input to the training kit (imbalance, data, optim, schedules, weight files, transfer):
each case a clear ValueError/TypeError naming the argument, never a silent wrong result or a raw
NumPy/Python error. One line per case, so that none can come back."""
import os
import zipfile

import numpy as np
import pytest

import tinymed as tm
from tinymed import data, imbalance, metrics, models, optim, transfer
from tinymed.transforms import RandomHorizontalFlip

NAN, INF = float("nan"), float("inf")


def param():
    return tm.tensor(np.zeros(2), requires_grad=True)


def loader_over_six(**kwargs):
    return data.DataLoader(data.ArrayDataset(np.arange(6)), **kwargs)


CASES = [
    # NaN is not a class: it was a third class (sample_weights, samplers) or a KeyError (resample)
    (lambda: imbalance.sample_weights([0, NAN, NAN, 1]), ValueError, r"sample_weights: y (hold|holds|contain|contains) NaN at positions \[1, 2\]"),
    (lambda: imbalance.resample(np.zeros((4, 2)), [0, NAN, 1, 1]), ValueError, r"resample: y (hold|holds|contain|contains) NaN at positions \[1\]"),
    (lambda: data.OverSampler([0, NAN, 1, 1]), ValueError, r"OverSampler: labels (hold|holds|contain|contains) NaN"),
    (lambda: data.UnderSampler([0, 0, 1, NAN]), ValueError, r"UnderSampler: labels (hold|holds|contain|contains) NaN"),
    (lambda: data.BalancedBatchSampler([0, NAN, 1, 1], 2), ValueError, r"BalancedBatchSampler: labels (hold|holds|contain|contains) NaN"),
    (lambda: imbalance.class_weights([0, NAN, 1]), ValueError, r"class_weights: labels must be exactly 0 or 1, found \[nan\]"),
    (lambda: imbalance.balanced_class_weights([0.0, NAN]), ValueError, r"balanced_class_weights: y (hold|holds|contain|contains) NaN at positions \[1\]"),
    # sampler indices: floats were truncated, negatives wrapped round
    (lambda: loader_over_six(sampler=[0.5, 1.7]), ValueError, r"DataLoader: sampler must be a 1-D array of ints, got .*float64 \[0.5, 1.7\]"),
    (lambda: loader_over_six(sampler=[-1, -2]), ValueError, r"DataLoader: sampler must be in \[0, 6\) for a dataset of 6 samples, got \[-1, -2\]"),
    (lambda: loader_over_six(sampler=np.array([0, 6])), ValueError, r"DataLoader: sampler must be in \[0, 6\) .* got \[6\]"),
    (lambda: list(loader_over_six(sampler=_Yields([0.0, 2.5]))), ValueError, r"DataLoader: sampler must be a 1-D array of ints"),
    (lambda: list(loader_over_six(batch_sampler=[[0, 1], [5, -1]])), ValueError, r"DataLoader: batch_sampler must be in \[0, 6\) .* got \[-1\]"),
    (lambda: data.Subset(data.ArrayDataset(np.arange(3)), [0.5]), ValueError, r"Subset: indices must be a 1-D array of ints"),
    (lambda: loader_over_six(shuffle="yes"), TypeError, r"DataLoader: shuffle must be True or False, got 'yes'"),
    # weights
    (lambda: data.WeightedRandomSampler([1.0, NAN], 2), ValueError, r"WeightedRandomSampler: weights must be finite, >= 0, and not all 0, got \[nan\]"),
    # every optimizer hyper-parameter is a finite number
    (lambda: optim.SGD([param()], lr=NAN), ValueError, r"SGD: lr must be a finite number >= 0, got nan"),
    (lambda: optim.SGD([param()], lr=INF), ValueError, r"SGD: lr must be a finite number >= 0, got inf"),
    (lambda: optim.SGD([param()], lr=0.1, momentum=NAN), ValueError, r"SGD: momentum must be a finite number >= 0, got nan"),
    (lambda: optim.SGD([param()], lr=0.1, weight_decay=INF), ValueError, r"SGD: weight_decay must be a finite number >= 0, got inf"),
    (lambda: optim.SGD([param()], lr=0.1, dampening=NAN), ValueError, r"SGD: dampening must be a finite number"),
    (lambda: optim.Adam([param()], betas=(NAN, 0.999)), ValueError, r"Adam: betas\[0\] must be a finite number >= 0 and < 1, got nan"),
    (lambda: optim.AdamW([param()], betas=(0.9, INF)), ValueError, r"AdamW: betas\[1\] must be a finite number"),
    (lambda: optim.Adam([param()], eps=NAN), ValueError, r"Adam: eps must be a finite number > 0, got nan"),
    (lambda: optim.Adam([param()], weight_decay=NAN), ValueError, r"Adam: weight_decay must be a finite number"),
    (lambda: optim.RMSprop([param()], alpha=NAN), ValueError, r"RMSprop: alpha must be a finite number"),
    (lambda: optim.RMSprop([param()], momentum=INF), ValueError, r"RMSprop: momentum must be a finite number"),
    (lambda: optim.Adagrad([param()], lr_decay=NAN), ValueError, r"Adagrad: lr_decay must be a finite number"),
    (lambda: optim.Adagrad([param()], eps=INF), ValueError, r"Adagrad: eps must be a finite number > 0, got inf"),
    (lambda: optim.SGD([{"params": [param()], "lr": NAN}], lr=0.1), ValueError, r"SGD: lr must be a finite number >= 0, got nan"),
    (lambda: optim.SGD([param()], lr=np.array([0.1, 0.2])), TypeError, r"SGD: lr must be a finite number >= 0, got a ndarray"),
    (lambda: transfer.param_groups(models.SimpleCNN(seed=0), lr=NAN), ValueError, r"param_groups: lr must be a finite number >= 0, got nan"),
    (lambda: transfer.param_groups(models.SimpleCNN(seed=0), lr=0.1, head_lr=INF), ValueError, r"param_groups: head_lr must be a finite"),
    # schedules
    (lambda: optim.StepLR(optim.SGD([param()], lr=0.1), step_size=2, gamma=NAN), ValueError, r"StepLR: gamma must be a finite number > 0"),
    (lambda: optim.CosineAnnealingLR(optim.SGD([param()], lr=0.1), T_max=5, eta_min=INF), ValueError, r"CosineAnnealingLR: eta_min must be a finite"),
    (lambda: optim.ReduceLROnPlateau(optim.SGD([param()], lr=0.1)).step(NAN), ValueError, r"ReduceLROnPlateau.step: metrics must be a finite number"),
    (lambda: optim.OneCycleLR(optim.SGD([param()], lr=0.1), max_lr=NAN, total_steps=5), ValueError, r"OneCycleLR: max_lr must be a finite number > 0"),
    # metrics and transforms
    (lambda: metrics.bootstrap_ci(metrics.roc_auc, [0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8], level=NAN), ValueError, r"bootstrap_ci: level"),
    (lambda: metrics.threshold_for_sensitivity([0, 1], [0.2, 0.8], NAN), ValueError, r"threshold_for_sensitivity: target must be a finite"),
    (lambda: RandomHorizontalFlip(p=NAN), ValueError, r"RandomHorizontalFlip: p \(a probability\) must be a finite number"),
    # weight files: what is not a state dict
    (lambda: tm.save(models.SimpleCNN(seed=0), "never-written.pt"), TypeError, r"save: got the model SimpleCNN itself.*tm.save\(model.state_dict\(\), path\)"),
    (lambda: tm.save({"model": {"f": print}}, "never-written.pt"), TypeError, r"save: 'model/f' is a builtin_function_or_method"),
    (lambda: tm.save({1.5: np.ones(1), "a": 1}, "never-written.pt"), TypeError, r"save: 'the dict' has the key 1.5; keys must be strings or ints"),
    (lambda: tm.save({transfer.METADATA_KEY: np.ones(1)}, "never-written.pt"), ValueError, r"is a name tinymed keeps for itself"),
    (lambda: tm.load("never-read.pt", map_location="cuda"), ValueError, r"load: map_location must be 'cpu': tinymed .* runs on the CPU only"),
]


class _Yields:
    """A user's sampler: an iterable with len, not one of tinymed's."""

    def __init__(self, indices):
        self.indices = indices

    def __iter__(self):
        return iter(self.indices)

    def __len__(self):
        return len(self.indices)


@pytest.mark.parametrize("call, error, match", CASES, ids=[str(i) for i in range(len(CASES))])
def test_bad_training_input_raises_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()
    assert not os.path.exists("never-written.pt")


def test_a_nan_learning_rate_set_later_in_param_groups_is_refused_at_step_and_nothing_moves():
    p = param()
    for opt, key, value in ((optim.SGD([p], lr=0.1, momentum=0.9), "lr", NAN),
                            (optim.Adam([p]), "betas", (0.9, NAN)),
                            (optim.RMSprop([p]), "weight_decay", INF),
                            (optim.Adagrad([p]), "eps", NAN)):
        p.grad = np.ones(2)
        opt.param_groups[0][key] = value
        with pytest.raises(ValueError, match=rf"{type(opt).__name__}.step: param_groups\[0\]\['{key}'\]"):
            opt.step()
        np.testing.assert_array_equal(p.data, [0.0, 0.0])


def test_weights_whose_sum_overflows_draw_in_proportion_instead_of_failing():
    sampler = data.WeightedRandomSampler([1e308, 1e308, 0.0], 4000, seed=0)
    counts = np.bincount(list(sampler), minlength=3)
    assert counts[2] == 0 and abs(counts[0] - 2000) < 200


def test_a_save_into_a_folder_that_cannot_be_written_names_the_users_path(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", os.path.join(kwargs["dir"], ".w.npz.abcdefgh.tmp"))

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    target = str(tmp_path / "w.npz")
    with pytest.raises(PermissionError, match=r"save: cannot write '.*w.npz': Permission denied") as caught:
        tm.save({"w": np.ones(1)}, target)
    assert ".tmp" not in str(caught.value)


@pytest.mark.skipif(not os.path.isdir("/sys"), reason="needs Linux's /sys, a folder nobody can write to")
def test_a_save_into_sys_names_the_users_path():
    with pytest.raises(OSError, match=r"save: cannot write '/sys/w.npz'") as caught:
        tm.save({"w": np.ones(1)}, "/sys/w.npz")
    assert ".tmp" not in str(caught.value)


def test_a_text_file_is_not_a_weight_file_and_the_message_never_mentions_pickles(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("learning rate 0.1, 30 epochs")
    with pytest.raises(ValueError, match=r"load: '.*notes.npz' is not a .npz weight file") as caught:
        tm.load(path)
    assert "pickle" not in str(caught.value).lower()


def _npz_with_a_raw_member(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("good.npy", _npy_bytes(np.ones(2)))
        archive.writestr("raw.npy", b"no header, just bytes")


def _npy_bytes(array):
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize("load", [tm.load, lambda path: transfer.load_pretrained(tm.nn.Linear(2, 1), path)],
                         ids=["tm.load", "load_pretrained"])
def test_an_npz_member_without_a_npy_header_is_named_with_its_file(tmp_path, load):
    path = tmp_path / "odd.npz"
    _npz_with_a_raw_member(path)
    with pytest.raises(ValueError, match=r"'.*odd.npz' entry 'raw' is not a .npy array \(it has no .npy header\)"):
        load(path)


def test_a_zip_holding_data_pkl_is_refused_as_a_pytorch_file(tmp_path):
    path = tmp_path / "checkpoint.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02 pickled")
    with pytest.raises(ValueError, match=r"is a PyTorch file .* Convert it once"):
        tm.load(path)


@pytest.mark.parametrize("metadata, match", [
    ("[1, 2]", r"load_metadata: '.*m.npz' holds metadata that is a JSON list, not an object"),
    ("not json {", r"load_metadata: '.*m.npz' entry '__tinymed_metadata__' is not valid JSON"),
])
def test_load_metadata_refuses_metadata_that_is_not_a_json_object(tmp_path, metadata, match):
    path = tmp_path / "m.npz"
    np.savez(path, w=np.ones(1), **{transfer.METADATA_KEY: np.array(metadata)})
    with pytest.raises(ValueError, match=match):
        transfer.load_metadata(path)


@pytest.mark.parametrize("structure", ['{"array": "missing"}', '{"set": [1]}', '{"dict": [[1.5, 2]]}', "[" * 100_000])
def test_a_damaged_structure_entry_is_refused_naming_the_file(tmp_path, structure):
    path = tmp_path / "c.npz"
    np.savez(path, w=np.ones(1), **{"__tinymed_structure__": np.array(structure)})
    with pytest.raises(ValueError, match=r"load: '.*c.npz' (has a damaged|entry '__tinymed_structure__' is not valid JSON)"):
        tm.load(path)


def test_a_killed_save_leaves_no_temporary_file_behind_after_the_next_save(tmp_path):
    leftover = tmp_path / ".w.npz.x1y2z3w4.tmp"
    leftover.write_bytes(b"PK half a zip")
    os.utime(leftover, (0, 0))
    tm.save({"w": np.ones(1)}, tmp_path / "w.npz")
    assert os.listdir(tmp_path) == ["w.npz"]

