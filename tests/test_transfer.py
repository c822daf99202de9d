"""Transfer learning: safe weight files, load_pretrained, freezing, fine-tuning groups."""
import json
import os
import zipfile

import numpy as np
import pytest

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
    with pytest.raises(FileNotFoundError, match="no weight file at .*missing.npz"):
        tm.load(tmp_path / "missing.npz")


def test_a_path_that_is_not_a_path_is_named():
    with pytest.raises(TypeError, match=r"save: path must be a file path \(a str or pathlib.Path\), got int"):
        tm.save({"w": np.ones(1)}, 3)
    with pytest.raises(TypeError, match=r"load: path must be a file path \(a str or pathlib.Path\), got NoneType"):
        tm.load(None)


def test_save_refuses_what_is_not_a_numeric_array_naming_the_key(tmp_path):
    with pytest.raises(TypeError, match=r"'layer.weight' must be a numeric np.ndarray, got list"):
        tm.save({"layer.weight": [1.0, 2.0]}, tmp_path / "w.npz")
    with pytest.raises(TypeError, match=r"'names' must be a numeric np.ndarray, got an array of dtype <U1"):
        tm.save({"names": np.array(["a"])}, tmp_path / "w.npz")
    with pytest.raises(TypeError, match="metadata must be JSON-serialisable"):
        tm.save({"w": np.ones(1)}, tmp_path / "w.npz", metadata={"f": object()})
    with pytest.raises(TypeError, match="state_dict must be a dict"):
        tm.save([np.ones(1)], tmp_path / "w.npz")
    assert not (tmp_path / "w.npz").exists()


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
