"""Bad inputs to the data loaders and the command line (issue 12): each case a line, each
ending in a clear error that names the row, the file, the entry or the folder."""
import os
import zipfile

import matplotlib.image
import numpy as np
import pytest

from tinymed import cli, datasets


@pytest.fixture
def folder(tmp_path):
    """images/ with one good PNG, and a PNG outside it, next to images/."""
    images = tmp_path / "images"
    images.mkdir()
    pixels = np.full((4, 4, 3), 200, np.uint8)
    matplotlib.image.imsave(images / "good.png", pixels)
    matplotlib.image.imsave(tmp_path / "outside.png", pixels)
    return tmp_path, images


def csv_naming(tmp_path, image_name):
    path = tmp_path / "labels.csv"
    path.write_text(f"Image,Mass,PatientId\ngood.png,0,p1\n{image_name},1,p2\n")
    return str(path)


def test_load_image_csv_refuses_a_relative_path_that_climbs_out_of_image_dir(folder):
    tmp_path, images = folder
    with pytest.raises(ValueError, match=r"data row 2: the image '\.\./outside\.png' resolves to .*outside "
                                         r"image_dir .*; image paths must stay inside image_dir"):
        datasets.load_image_csv(csv_naming(tmp_path, "../outside.png"), images)


def test_load_image_csv_refuses_an_absolute_path_outside_image_dir(folder):
    tmp_path, images = folder
    outside = str(tmp_path / "outside.png")
    with pytest.raises(ValueError, match=r"data row 2: the image .*outside\.png.* outside image_dir"):
        datasets.load_image_csv(csv_naming(tmp_path, outside), images)


def test_load_image_csv_refuses_a_symbolic_link_pointing_out_of_image_dir(folder):
    tmp_path, images = folder
    os.symlink(tmp_path / "outside.png", images / "link.png")
    with pytest.raises(ValueError, match=r"data row 2: the image 'link\.png' resolves to .*outside\.png, outside"):
        datasets.load_image_csv(csv_naming(tmp_path, "link.png"), images)


def test_load_image_csv_accepts_paths_that_stay_inside_image_dir(folder):
    tmp_path, images = folder
    (images / "sub").mkdir()
    os.symlink(images / "good.png", images / "sub" / "inner.png")  # a link that stays inside is fine
    images_read, _, _ = datasets.load_image_csv(csv_naming(tmp_path, "sub/../sub/inner.png"), images,
                                                image_size=2)
    np.testing.assert_allclose(images_read, 200 / 255, rtol=1e-6)


def test_load_image_csv_names_the_row_and_file_of_a_file_that_is_not_an_image(folder):
    tmp_path, images = folder
    (images / "notes.png").write_text("this is text, not a PNG")
    with pytest.raises(ValueError, match=r"load_image_csv: .*labels\.csv data row 2: .*notes\.png is not an "
                                         r"image tinymed can read"):
        datasets.load_image_csv(csv_naming(tmp_path, "notes.png"), images)


def test_load_medmnist_says_which_key_of_a_split_is_missing(tmp_path):
    path = tmp_path / "half.npz"
    np.savez(path, train_images=np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(ValueError, match=r"half\.npz: has train_images but no train_labels"):
        datasets.load_medmnist(str(path))


def npz_with_raw_member(path):
    """An .npz whose train_labels member is raw bytes, not an .npy array."""
    np.savez(path, train_images=np.zeros((2, 3, 3), np.uint8))
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("train_labels.npy", b"no header here, just bytes")
    return str(path)


def test_load_medmnist_names_the_file_and_the_entry_without_a_npy_header(tmp_path):
    path = npz_with_raw_member(tmp_path / "raw.npz")
    with pytest.raises(ValueError, match=r"load_medmnist: .*raw\.npz: entry train_labels is not a NumPy "
                                         r"array \(no \.npy header\)"):
        datasets.load_medmnist(path)


def test_demo_on_a_npz_without_npy_header_prints_one_line_and_exits_2(tmp_path, capsys):
    path = npz_with_raw_member(tmp_path / "bad.npz")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--data", path, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.count("\n") == 1 and "bad.npz: entry train_labels is not a NumPy array" in err


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc, where no one can create files")
def test_pretrain_into_an_unwritable_folder_fails_in_one_line_before_training(tmp_path, capsys, monkeypatch):
    trained = []
    monkeypatch.setattr(cli, "pretrain", lambda *args, **kwargs: trained.append(args))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["pretrain", "--out", "/proc/self/w.npz", "--n", "16", "--epochs", "1"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and trained == []
    assert err.count("\n") == 1 and "--out /proc/self/w.npz: cannot write into the folder /proc/self" in err
