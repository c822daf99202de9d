"""The shared validators: each returns the clean value or names the argument, what was
expected and what came (TypeError for a wrong type, ValueError for a wrong value)."""
import math

import numpy as np
import pytest

from tinymed import validate as check


def test_integer_accepts_python_and_numpy_ints_and_returns_int():
    assert check.integer(3, "n", min=1) == 3
    assert type(check.integer(np.int64(3), "n")) is int


@pytest.mark.parametrize("bad, error", [(True, TypeError), (2.0, TypeError), ("3", TypeError), (0, ValueError)])
def test_integer_refuses_bools_floats_strings_and_small_values(bad, error):
    with pytest.raises(error, match=r"n must be an int >= 1, got"):
        check.integer(bad, "n", min=1)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_real_refuses_nan_and_infinity(bad):
    with pytest.raises(ValueError, match="lr must be a finite number > 0, got"):
        check.positive(bad, "lr")


def test_real_bounds_are_named_in_the_message():
    assert check.probability(0.25, "p") == 0.25
    with pytest.raises(ValueError, match=r"p must be a finite number >= 0 and <= 1, got 1.5"):
        check.probability(1.5, "p")
    with pytest.raises(ValueError, match=r"eps must be a finite number > 0, got 0.0"):
        check.positive(0, "eps")
    with pytest.raises(TypeError, match="got True"):
        check.real(True, "momentum")
    assert check.real(math.inf, "x", finite=False) == math.inf


def test_pair_expands_an_int_and_checks_both():
    assert check.pair(3, "k", min=1) == (3, 3)
    assert check.pair([2, 5], "k", min=1) == (2, 5)
    with pytest.raises(ValueError, match=r"k must be an int >= 1 or a pair of them \(h, w\), got \(0, 2\)"):
        check.pair((0, 2), "k", min=1)
    with pytest.raises(TypeError):
        check.pair((1, 2, 3), "k")
    with pytest.raises(TypeError):
        check.pair(1.5, "k")


def test_boolean_refuses_truthy_values():
    assert check.boolean(np.bool_(True), "flag") is True
    for bad in (1, "yes", None):
        with pytest.raises(TypeError, match="flag must be True or False"):
            check.boolean(bad, "flag")


def test_one_of_lists_the_choices():
    with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum', got 'avg'"):
        check.one_of("avg", "reduction", ("mean", "sum"))


def test_shape_accepts_an_int_or_a_sequence():
    assert check.shape(3, "size") == (3,)
    assert check.shape([2, np.int32(0)], "size") == (2, 0)
    with pytest.raises(ValueError):
        check.shape((2, -1), "size")
    with pytest.raises(TypeError):
        check.shape((2.5,), "size")


def test_ndim_names_the_layout():
    with pytest.raises(ValueError, match=r"conv2d: x must be 4-d \(N, C, H, W\), got shape \(3, 4\)"):
        check.ndim(np.zeros((3, 4)), "conv2d: x", 4, "(N, C, H, W)")
    with pytest.raises(TypeError, match="must be a Tensor or a NumPy array"):
        check.ndim([1, 2], "x", 1)


def test_not_empty_and_labels():
    with pytest.raises(ValueError, match=r"input is empty \(shape \(0, 3\)\)"):
        check.not_empty(np.zeros((0, 3)), "input")
    with pytest.raises(ValueError, match=r"labels contain NaN at positions \[1, 2\]"):
        check.labels([0, np.nan, np.nan, 1], "labels")
    with pytest.raises(TypeError):
        check.labels(["a", "b"], "labels")
    np.testing.assert_array_equal(check.labels([0, 1], "labels"), [0, 1])


def test_float_dtype_and_device():
    assert check.float_dtype("float64") == np.float64
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got int64"):
        check.float_dtype(np.int64)
    assert check.device("cpu") == "cpu" and check.device(None) == "cpu"
    with pytest.raises(ValueError, match="runs on the CPU only, got 'cuda'"):
        check.device("cuda")


def test_file_path_accepts_str_and_pathlib_and_names_anything_else(tmp_path):
    assert check.file_path(tmp_path / "w.npz", "save: path") == str(tmp_path / "w.npz")
    with pytest.raises(TypeError, match=r"save: path must be a file path \(a str or pathlib.Path\), got int"):
        check.file_path(3, "save: path")


def test_existing_file_names_the_caller_the_kind_and_the_path(tmp_path):
    there = tmp_path / "labels.csv"
    there.write_text("Image\n")
    assert check.existing_file(there, "load_image_csv", "csv_path") == str(there)
    with pytest.raises(FileNotFoundError, match=r"load_image_csv: image file .*b\.png does not exist"):
        check.existing_file(tmp_path / "b.png", "load_image_csv", "image file")
    with pytest.raises(FileNotFoundError, match=r"load: weight file .* is a folder, not a file"):
        check.existing_file(tmp_path, "load", "weight file")
    with pytest.raises(TypeError, match=r"load_image_csv: csv_path must be a file path .* got NoneType"):
        check.existing_file(None, "load_image_csv", "csv_path")
