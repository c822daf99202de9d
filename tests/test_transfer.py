"""Transfer learning: safe weight files, load_pretrained, freezing, fine-tuning groups."""
import json
import os
import tempfile
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinymed as tm
from tinymed import transfer


def small_state():
    rng = np.random.default_rng(0)
    return {
        "features.0.weight": rng.standard_normal((4, 1, 3, 3)).astype(np.float32),
        "features.1.running_var": rng.random(4).astype(np.float64),
        "features.1.num_batches_tracked": np.array(7, dtype=np.int64),
        "classifier.bias": np.zeros(2, dtype=np.float32),
    }


# -- weight files ------------------------------------------------------------------------------------


def test_save_load_round_trip_is_exact_in_values_and_dtypes(tmp_path):
    state = small_state()
    path = tmp_path / "w.npz"
    tm.save(state, path, metadata={"trained_on": "shapes", "seed": 3})
    loaded = tm.load(path)
    assert list(loaded) == list(state)
    for key in state:
        assert loaded[key].dtype == state[key].dtype and loaded[key].shape == state[key].shape
        np.testing.assert_array_equal(loaded[key], state[key])
    meta = transfer.load_metadata(path)
    assert meta["trained_on"] == "shapes" and meta["seed"] == 3 and "saved_at" in meta


def test_a_weight_file_is_a_plain_npz_that_numpy_reads_without_pickle(tmp_path):
    path = tmp_path / "w.npz"
    tm.save(small_state(), path)
    with np.load(path, allow_pickle=False) as f:
        np.testing.assert_array_equal(f["features.0.weight"], small_state()["features.0.weight"])
        assert json.loads(str(f[transfer.METADATA_KEY]))["saved_at"]


def test_an_interrupted_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "w.npz"
    tm.save(small_state(), path)
    before = path.read_bytes()

    def savez_then_crash(f, **arrays):
        f.write(b"PK\x03\x04 half a zip file")
        raise KeyboardInterrupt  # the user pressed Ctrl-C in the middle of writing

    monkeypatch.setattr(np, "savez", savez_then_crash)
    with pytest.raises(KeyboardInterrupt):
        tm.save({"x": np.ones(3)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["w.npz"]  # no temporary file left behind


def test_a_file_with_pickled_objects_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, weight=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ValueError, match=r"evil.npz.*'weight' holds pickled Python objects; tinymed never unpickles"):
        tm.load(path)


def test_a_truncated_file_is_refused_with_its_name(tmp_path):
    path = tmp_path / "cut.npz"
    tm.save(small_state(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut.npz.*(truncated|corrupt)"):
        tm.load(path)


def test_a_file_that_is_not_npz_is_refused(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("these are not weights")
    with pytest.raises(ValueError, match="notes.npz"):
        tm.load(path)
    single = tmp_path / "single.npy"
    np.save(single, np.ones(2))
    with pytest.raises(ValueError, match="single .npy array"):
        tm.load(single)


def test_a_missing_file_is_refused_with_its_name(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"load: weight file .*missing\.npz does not exist"):
        tm.load(tmp_path / "missing.npz")


def test_a_path_that_is_not_a_path_is_named():
    with pytest.raises(TypeError, match=r"save: path must be a file path \(a str or pathlib.Path\), got int"):
        tm.save({"w": np.ones(1)}, 3)
    with pytest.raises(TypeError, match=r"load: path must be a file path \(a str or pathlib.Path\), got NoneType"):
        tm.load(None)


def test_save_refuses_what_is_not_a_numeric_array_naming_the_key(tmp_path):
    with pytest.raises(TypeError, match=r"load_pretrained: 'layer.weight' must be a numeric np.ndarray, got list"):
        transfer.load_pretrained(tm.nn.Linear(2, 1), {"layer.weight": [1.0, 2.0]})
    with pytest.raises(TypeError, match=r"'names' must be a numeric np.ndarray, got an array of dtype <U1"):
        tm.save({"names": np.array(["a"])}, tmp_path / "w.npz")
    with pytest.raises(TypeError, match="metadata must be JSON-serialisable"):
        tm.save({"w": np.ones(1)}, tmp_path / "w.npz", metadata={"f": object()})
    with pytest.raises(TypeError, match="state_dict must be a dict"):
        tm.save([np.ones(1)], tmp_path / "w.npz")
    assert not (tmp_path / "w.npz").exists()


def test_a_checkpoint_of_nested_dicts_round_trips_with_its_types(tmp_path):
    state = small_state()
    checkpoint = {
        "model": state,
        "optimizer": {"state": {0: {"step": 4, "exp_avg": np.ones(3, np.float32)}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "amsgrad": False, "params": [0]}]},
        "epoch": 3, "best": float("inf"), "note": None, "history": [0.5, 0.25], "run": "a/b",
        "count": np.int64(7),
    }
    tm.save(checkpoint, tmp_path / "ckpt.npz")
    loaded = tm.load(tmp_path / "ckpt.npz")
    assert loaded["epoch"] == 3 and loaded["best"] == float("inf") and loaded["note"] is None
    assert loaded["history"] == [0.5, 0.25] and loaded["run"] == "a/b" and loaded["count"] == 7
    group = loaded["optimizer"]["param_groups"][0]
    assert group["betas"] == (0.9, 0.999) and isinstance(group["betas"], tuple) and group["params"] == [0]
    assert list(loaded["optimizer"]["state"]) == [0]  # int keys stay ints
    assert loaded["optimizer"]["state"][0]["exp_avg"].dtype == np.float32
    assert list(loaded["model"]) == list(state)
    for key in state:
        assert loaded["model"][key].dtype == state[key].dtype
        np.testing.assert_array_equal(loaded["model"][key], state[key])
    with np.load(tmp_path / "ckpt.npz", allow_pickle=False) as f:  # still plain NumPy, entries named by path
        np.testing.assert_array_equal(f["model/features.0.weight"], state["features.0.weight"])
        assert "optimizer/state/0/exp_avg" in f.files


arrays = hnp.arrays(st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.bool_]),
                    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
scalars = st.none() | st.booleans() | st.integers(-2**62, 2**62) | st.floats(allow_nan=False) | st.text(max_size=5)
keys = st.text(min_size=1, max_size=6).filter(lambda k: not k.startswith("__tinymed")) | st.integers(0, 9)
trees = st.recursive(arrays | scalars, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
                     | st.dictionaries(keys, inner, max_size=3), max_leaves=8)


def _same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(keys, trees, max_size=4))
def test_any_checkpoint_of_dicts_lists_tuples_arrays_and_numbers_round_trips_exactly(checkpoint):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "c.pt")
        tm.save(checkpoint, path)
        assert _same(checkpoint, tm.load(path))


def test_load_pretrained_names_a_checkpoint_given_for_a_state_dict(tmp_path):
    tm.save({"model": models.SimpleCNN(seed=0).state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    with pytest.raises(TypeError, match=r"load_pretrained: 'model' must be a numeric np.ndarray, got dict \(a checkpoint\? "
                                        r"pass its state dict, e.g. checkpoint\['model'\]\)"):
        transfer.load_pretrained(models.SimpleCNN(), tmp_path / "ckpt.pt")


def test_a_flat_state_dict_saved_as_model_pt_is_written_to_that_exact_name(tmp_path):
    model = models.SimpleCNN(seed=0)
    tm.save(model.state_dict(), tmp_path / "model.pt")
    assert sorted(os.listdir(tmp_path)) == ["model.pt"]
    other = models.SimpleCNN(seed=1)
    other.load_state_dict(tm.load(str(tmp_path / "model.pt"), map_location="cpu"))
    for (key, a), b in zip(model.state_dict().items(), other.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=key)


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_a_pytorch_pt_file_is_refused_with_a_recipe_that_converts_it(tmp_path, monkeypatch, zip_format):
    torch = pytest.importorskip("torch")
    layer = torch.nn.Linear(3, 2)
    path = str(tmp_path / "model.pt")
    torch.save(layer.state_dict(), path, _use_new_zipfile_serialization=zip_format)
    with pytest.raises(ValueError, match=r"is a PyTorch file .* tinymed never opens one\). Convert it once") as caught:
        tm.load(path)
    recipe = str(caught.value).split("Convert it once, in PyTorch: ")[1].split("; then")[0]
    monkeypatch.chdir(tmp_path)  # the recipe writes weights.npz in the current folder
    exec(recipe.replace(" (or state = model.state_dict())", ""), {"torch": torch, "np": np})
    ours = tm.nn.Linear(3, 2)
    ours.load_state_dict(tm.load(tmp_path / "weights.npz"))
    np.testing.assert_array_equal(ours.weight.data, layer.weight.detach().numpy())


def test_a_killed_saves_temporary_file_is_removed_by_the_next_save_and_nothing_else(tmp_path):
    path = tmp_path / "w.npz"
    stale = tmp_path / ".w.npz.k1ll3d_x.tmp"
    fresh = tmp_path / ".w.npz.running1.tmp"  # as if a save in this process were writing it now
    other = tmp_path / ".other.npz.abcdefgh.tmp"
    notes = tmp_path / ".w.npz.notes.txt"
    for leftover in (stale, fresh, other, notes):
        leftover.write_bytes(b"PK half")
    old = time.time() - 3600
    for leftover in (stale, other, notes):
        os.utime(leftover, (old, old))
    tm.save(small_state(), path)
    assert not stale.exists()
    assert fresh.exists() and other.exists() and notes.exists()


def test_a_saved_file_gets_the_usual_permissions_not_the_temporary_files(tmp_path):
    path = tmp_path / "w.npz"
    umask = os.umask(0o022)
    try:
        tm.save(small_state(), path)
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o600)
    tm.save(small_state(), path)  # replacing a file keeps its mode
    assert path.stat().st_mode & 0o777 == 0o600


def test_transfer_functions_given_a_model_class_ask_for_an_instance():
    from tinymed import models
    for call in (lambda: transfer.load_pretrained(models.SimpleCNN, small_state()),
                 lambda: transfer.freeze_to(models.SimpleCNN, 1),
                 lambda: transfer.param_groups(models.SimpleCNN, 0.1)):
        with pytest.raises(TypeError, match=r"model must be an nn.Module, got the class SimpleCNN \(call it to make a model\)"):
            call()


def test_load_pretrained_names_an_exclude_that_is_not_glob_patterns():
    from tinymed import models
    with pytest.raises(TypeError, match=r"load_pretrained: exclude must be a glob pattern or a tuple of them, .* got 3"):
        transfer.load_pretrained(models.SimpleCNN(), {}, exclude=3)
    report = transfer.load_pretrained(models.SimpleCNN(), models.SimpleCNN().state_dict(), exclude="classifier.*")
    assert sorted(report.excluded) == ["classifier.bias", "classifier.weight"]


# -- load_pretrained, freezing, fine-tuning groups -------------------------------------------------

from tinymed import models, nn, optim  # noqa: E402


def batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return tm.tensor(rng.random((n, 1, 12, 12), dtype=np.float32)), (rng.random((n, 1)) < 0.5).astype(np.float32)


def test_a_new_head_takes_the_features_of_a_checkpoint_and_reports_the_skipped_head(tmp_path):
    source = models.SimpleCNN(num_classes=8, seed=1)
    path = tmp_path / "shapes.npz"
    tm.save(source.state_dict(), path)
    target = models.SimpleCNN(num_classes=1, seed=2)
    fresh_head = target.classifier.weight.data.copy()
    report = transfer.load_pretrained(target, path)
    assert report.skipped == ["classifier.weight", "classifier.bias"]
    assert report.shapes["classifier.weight"] == ((8, 64), (1, 64))
    assert report.missing == [] and report.unexpected == [] and report.excluded == []
    features = [k for k in source.state_dict() if k.startswith("features.")]
    assert report.loaded == features
    for key in features:
        np.testing.assert_array_equal(target.state_dict()[key], source.state_dict()[key])
    np.testing.assert_array_equal(target.classifier.weight.data, fresh_head)
    text = str(report)
    assert "21 loaded, 2 skipped" in text and "shape differs: source (8, 64) vs model (1, 64)" in text


def test_load_pretrained_excludes_by_pattern_and_reports_missing_and_unexpected():
    target = models.SimpleCNN(seed=0)
    state = models.SimpleCNN(seed=1).state_dict()
    del state["features.0.bias"]
    state["extra.weight"] = np.ones(3, dtype=np.float32)
    report = transfer.load_pretrained(target, state, exclude=("features.1.*",))
    assert report.missing == ["features.0.bias"]
    assert report.unexpected == ["extra.weight"]
    assert report.excluded == [k for k in state if k.startswith("features.1.")]
    np.testing.assert_array_equal(target.features[0].weight.data, state["features.0.weight"])


def test_frozen_features_stay_bit_identical_under_momentum_and_weight_decay_while_the_head_trains():
    model = models.SimpleCNN(seed=0)
    x, y = batch()
    sgd = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(2):  # momentum buffers filled before freezing
        sgd.zero_grad()
        loss_fn(model(x), y).backward()
        sgd.step()
    model.features.freeze()
    before = model.state_dict()
    model.train()
    for _ in range(3):
        sgd.zero_grad()
        loss_fn(model(x), y).backward()
        sgd.step()
    after = model.state_dict()
    for key in before:
        if key.startswith("features."):
            np.testing.assert_array_equal(after[key], before[key], err_msg=key)  # BatchNorm statistics too
    assert not np.array_equal(after["classifier.weight"], before["classifier.weight"])
    assert "frozen" in model.summary()

    model.features.unfreeze()  # and after unfreezing the features train again
    sgd.zero_grad()
    loss_fn(model(x), y).backward()
    sgd.step()
    assert not np.array_equal(model.state_dict()["features.0.weight"], after["features.0.weight"])
    assert model.state_dict()["features.1.num_batches_tracked"] == after["features.1.num_batches_tracked"] + 1


@pytest.mark.parametrize("n", [0, 4, 12])
def test_freeze_to_freezes_the_first_n_feature_layers_and_nothing_else(n):
    model = models.SimpleCNN(seed=0)
    model.freeze()  # freeze_to starts from scratch: everything after the first n trains
    transfer.freeze_to(model, n)
    for i, layer in enumerate(model.features):
        assert all(p.requires_grad == (i >= n) for p in layer.parameters())
        assert layer.frozen == (i < n)
    assert all(p.requires_grad for p in model.classifier.parameters())


def test_freeze_to_refuses_what_it_cannot_do():
    model = models.SimpleCNN(seed=0)
    with pytest.raises(ValueError, match=r"freeze_to: n \(how many of the feature layers to freeze\) must be an int >= 0 and <= 12, got 13"):
        transfer.freeze_to(model, 13)
    with pytest.raises(ValueError, match="needs a `features` module"):
        transfer.freeze_to(nn.Sequential(nn.Linear(2, 1)), 1)


def test_param_groups_give_the_head_its_own_learning_rate():
    model = models.SimpleCNN(seed=0)
    body, head = transfer.param_groups(model, lr=1e-3, head_lr=1e-2)
    assert body["lr"] == 1e-3 and head["lr"] == 1e-2
    assert [id(p) for p in head["params"]] == [id(p) for p in model.classifier.parameters()]
    assert len(body["params"]) + len(head["params"]) == len(list(model.parameters()))
    adam = optim.Adam(transfer.param_groups(model, lr=1e-3), lr=5.0)
    assert [g["lr"] for g in adam.param_groups] == [1e-3, 1e-3]
    with pytest.raises(ValueError, match="param_groups: head_lr must be a finite number >= 0, got -1"):
        transfer.param_groups(model, lr=1e-3, head_lr=-1)


def test_pytorch_weights_load_strictly_through_a_weight_file_and_give_the_same_outputs(tmp_path):
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    torch.manual_seed(0)
    twin = tnn.Module()
    twin.features = tnn.Sequential(
        tnn.Conv2d(1, 16, 3, padding=1), tnn.BatchNorm2d(16), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(16, 32, 3, padding=1), tnn.BatchNorm2d(32), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(32, 64, 3, padding=1), tnn.BatchNorm2d(64), tnn.ReLU(), tnn.AdaptiveAvgPool2d(1))
    twin.classifier = tnn.Linear(64, 1)
    x = np.random.default_rng(0).random((4, 1, 16, 16), dtype=np.float32)
    twin.train()
    with torch.no_grad():  # one training-mode pass, so the running statistics are not trivial
        twin.features(torch.from_numpy(x))
    twin.eval()
    with torch.no_grad():
        expected = twin.classifier(twin.features(torch.from_numpy(x)).flatten(1)).numpy()
    # The recipe in tinymed.transfer's docstring:
    state = {k: v.detach().cpu().numpy() for k, v in twin.state_dict().items()}
    tm.save(state, tmp_path / "torch.npz", metadata={"source": "PyTorch"})
    model = models.SimpleCNN()
    model.load_state_dict(tm.load(tmp_path / "torch.npz"))  # strict
    model.eval()
    np.testing.assert_allclose(model(tm.tensor(x)).data, expected, rtol=1e-4, atol=1e-5)
