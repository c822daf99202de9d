"""Specification of tinymed.datasets: synthetic phantoms and shapes, file loaders, patient split."""
import csv
import hashlib
import os

import matplotlib.image
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinymed import datasets
from tinymed.datasets import (SHAPE_CLASSES, has_leakage, load_image_csv, load_medmnist,
                              make_chest_xrays, make_shapes, patient_split)


def distances_to(centres, size):
    """(N, S, S): each pixel centre's distance to its image's point (row, col) in ``centres``."""
    pixels = np.arange(size)
    return np.hypot(pixels[None, :, None] - centres[:, 0, None, None],
                    pixels[None, None, :] - centres[:, 1, None, None])


# ---------------------------------------------------------------------------------------------
# make_chest_xrays

@pytest.mark.parametrize("size", [16, 32, 45])
def test_chest_xrays_are_float32_images_in_unit_range_with_int64_labels(size):
    images, labels = make_chest_xrays(50, prevalence=0.2, image_size=size, seed=0)
    assert images.shape == (50, 1, size, size) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    assert labels.shape == (50,) and labels.dtype == np.int64
    assert set(np.unique(labels)) == {0, 1}


@given(n=st.integers(1, 150), prevalence=st.floats(0, 1))
def test_exactly_round_n_times_prevalence_images_carry_a_mass(n, prevalence):
    _, labels = make_chest_xrays(n, prevalence=prevalence, image_size=16, seed=1)
    assert labels.sum() == round(n * prevalence)


def test_positives_sit_at_random_places_in_the_batch():
    _, a = make_chest_xrays(200, prevalence=0.1, image_size=16, seed=1)
    _, b = make_chest_xrays(200, prevalence=0.1, image_size=16, seed=2)
    assert not np.array_equal(a, b)
    assert not np.array_equal(np.flatnonzero(a), np.arange(20))


def test_the_same_seed_gives_bit_identical_chest_xrays_and_another_seed_does_not():
    a, la = make_chest_xrays(30, prevalence=0.3, seed=7)
    b, lb = make_chest_xrays(30, prevalence=0.3, seed=7)
    c, _ = make_chest_xrays(30, prevalence=0.3, seed=8)
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    assert not np.array_equal(a, c)


def test_a_generator_seed_is_advanced_so_two_batches_differ():
    rng = np.random.default_rng(0)
    a, _ = make_chest_xrays(5, seed=rng)
    b, _ = make_chest_xrays(5, seed=rng)
    assert not np.array_equal(a, b)


def test_seed_none_follows_manual_seed():
    import tinymed.random
    tinymed.random.manual_seed(3)
    a, _ = make_chest_xrays(4, image_size=16)
    tinymed.random.manual_seed(3)
    b, _ = make_chest_xrays(4, image_size=16)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("size", [16, 32, 64])
def test_a_positive_differs_from_its_negative_twin_only_by_a_bright_round_blob_at_the_mass(size):
    n = 300
    negatives, labels0 = make_chest_xrays(n, prevalence=0.0, image_size=size, seed=5)
    positives, labels1, info = make_chest_xrays(n, prevalence=1.0, image_size=size, seed=5,
                                                return_info=True)
    assert labels0.sum() == 0 and labels1.sum() == n
    diff = (positives - negatives)[:, 0]
    distance = distances_to(info["mass_centre"], size)
    # the blob's own soft edge, then the detector blur (3 sigma), spread it by a few pixels
    reach = info["mass_radius"] + 4 * size / 32
    assert np.abs(diff[distance > reach[:, None, None]]).max() < 1e-4
    assert (diff.sum(axis=(1, 2)) > 0).all()
    weight = np.clip(diff, 0, None)
    rows = (weight.sum(axis=2) * np.arange(size)).sum(axis=1) / weight.sum(axis=(1, 2))
    cols = (weight.sum(axis=1) * np.arange(size)).sum(axis=1) / weight.sum(axis=(1, 2))
    # positive noise differences at the blob's fringe, and clipping, shift the centroid slightly
    off = np.hypot(rows - info["mass_centre"][:, 0], cols - info["mass_centre"][:, 1])
    assert np.median(off) < 0.3 * size / 32 and off.max() < 1.5 * size / 32


@pytest.mark.parametrize("size", [16, 32, 64])
@pytest.mark.parametrize("variation", [0.5, 2.0])
def test_every_pixel_of_a_mass_lies_inside_a_lung_field(size, variation):
    _, labels, info = make_chest_xrays(400, prevalence=1.0, image_size=size, seed=size,
                                       variation=variation, return_info=True)
    radius = info["mass_radius"]
    assert (radius >= 1.0 * size / 32).all() and (radius <= 2.5 * size / 32).all()
    # a disc of radius 0.5 (at 16 pixels) may hold no pixel centre: check the nearest one too
    in_disc = distances_to(info["mass_centre"], size) <= np.maximum(radius, 0.75)[:, None, None]
    assert in_disc.any(axis=(1, 2)).all()
    assert not (in_disc & ~info["lung_mask"]).any()


def test_masses_are_found_in_both_lungs():
    _, _, info = make_chest_xrays(300, prevalence=1.0, seed=0, return_info=True)
    right_of_image = info["mass_centre"][:, 1] > 16
    assert 0.1 < right_of_image.mean() < 0.9


def test_lung_fields_are_darker_than_the_body_around_them():
    images, _, info = make_chest_xrays(200, prevalence=0.0, seed=0, return_info=True)
    lungs = info["lung_mask"]
    assert 0.1 < lungs.mean() < 0.6
    for image, lung in zip(images[:, 0], lungs):
        assert image[lung].mean() < image[~lung].mean() - 0.1


def test_info_of_negatives_is_nan():
    _, labels, info = make_chest_xrays(40, prevalence=0.25, image_size=16, seed=0,
                                       return_info=True)
    negative = labels == 0
    assert np.isnan(info["mass_centre"][negative]).all()
    assert np.isnan(info["mass_radius"][negative]).all()
    assert not np.isnan(info["mass_centre"][~negative]).any()
    assert info["lung_mask"].shape == (40, 16, 16) and info["lung_mask"].dtype == bool


def test_zero_mass_contrast_makes_positives_identical_to_their_twins():
    positives, labels = make_chest_xrays(20, prevalence=1.0, seed=3, mass_contrast=0.0)
    negatives, _ = make_chest_xrays(20, prevalence=0.0, seed=3, mass_contrast=0.0)
    assert labels.all()
    assert np.array_equal(positives, negatives)


def test_a_stronger_mass_contrast_makes_a_brighter_mass():
    negatives, _ = make_chest_xrays(50, prevalence=0.0, seed=4)
    gains = [(make_chest_xrays(50, prevalence=1.0, seed=4, mass_contrast=c)[0] - negatives).sum()
             for c in (0.1, 0.2, 0.4)]
    assert 0 < gains[0] < gains[1] < gains[2]


def test_without_variation_or_noise_every_normal_image_is_the_same_body():
    images, _ = make_chest_xrays(10, prevalence=0.0, seed=0, variation=0.0, noise=0.0)
    assert np.array_equal(images, np.broadcast_to(images[:1], images.shape))
    varied, _ = make_chest_xrays(10, prevalence=0.0, seed=0, noise=0.0)
    assert not np.array_equal(varied[0], varied[1])


def test_the_noise_knob_sets_the_spread_of_the_detector_noise():
    clean, _ = make_chest_xrays(100, prevalence=0.0, seed=2, noise=0.0)
    for level in (0.02, 0.08):
        noisy, _ = make_chest_xrays(100, prevalence=0.0, seed=2, noise=level)
        # spread = level * (0.75..1.25) * sqrt(0.2 + grey): between 0.45 and 1.4 times level
        spread = (noisy - clean).std()
        assert 0.45 * level < spread < 1.4 * level


def test_chest_xrays_of_64_pixels_show_the_same_anatomy_as_32_pixels():
    small, _, info_small = make_chest_xrays(20, prevalence=0.0, seed=9, noise=0.0,
                                            return_info=True)
    big, _, info_big = make_chest_xrays(20, prevalence=0.0, image_size=64, seed=9, noise=0.0,
                                        return_info=True)
    other, _ = make_chest_xrays(20, prevalence=0.0, seed=10, noise=0.0)
    shrunk = big.reshape(20, 1, 32, 2, 32, 2).mean(axis=(3, 5))
    # point-sampled ribs and edges differ from 2x2 means, but far less than two bodies do
    assert np.abs(shrunk - small).mean() < 0.5 * np.abs(shrunk - other).mean()
    lungs_shrunk = info_big["lung_mask"].reshape(20, 32, 2, 32, 2).mean(axis=(2, 4)) > 0.5
    assert (lungs_shrunk != info_small["lung_mask"]).mean() < 0.03


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n": 0}, ValueError, r"make_chest_xrays: n must be an int >= 1, got 0"),
    ({"n": 2.0}, TypeError, r"make_chest_xrays: n must be an int >= 1, got 2.0"),
    ({"n": True}, TypeError, r"make_chest_xrays: n must be an int >= 1, got True"),
    ({"prevalence": -0.1}, ValueError, r"make_chest_xrays: prevalence must be a finite number >= 0 and <= 1, got -0.1"),
    ({"prevalence": 1.5}, ValueError, r"make_chest_xrays: prevalence must be .* <= 1, got 1.5"),
    ({"prevalence": "5%"}, TypeError, r"make_chest_xrays: prevalence must be a finite number .* got '5%'"),
    ({"image_size": 8}, ValueError, r"make_chest_xrays: image_size must be an int >= 16, got 8"),
    ({"mass_contrast": -1.0}, ValueError, r"make_chest_xrays: mass_contrast must be a finite number >= 0, got -1.0"),
    ({"noise": -0.1}, ValueError, r"make_chest_xrays: noise must be a finite number >= 0"),
    ({"rib_contrast": -0.1}, ValueError, r"make_chest_xrays: rib_contrast must be a finite number >= 0"),
    ({"variation": 3.0}, ValueError, r"make_chest_xrays: variation must be a finite number >= 0 and <= 2, got 3.0"),
    ({"mass_radius": 2.0}, TypeError, r"make_chest_xrays: mass_radius must be a \(low, high\)"),
    ({"mass_radius": (2.0, 1.0)}, ValueError, r"mass_radius high must be a finite number >= 2.0 and <= 2.5, got 1.0"),
    ({"mass_radius": (0.1, 1.0)}, ValueError, r"mass_radius low must be a finite number >= 0.5 and <= 2.5, got 0.1"),
    ({"mass_radius": (1.0, 3.0)}, ValueError, r"mass_radius high must be a finite number >= 1.0 and <= 2.5, got 3.0"),
    ({"seed": "x"}, TypeError, r"make_chest_xrays: seed must be an int"),
    ({"seed": -1}, ValueError, r"make_chest_xrays: seed must be >= 0"),
])
def test_make_chest_xrays_rejects_bad_arguments(kwargs, error, match):
    arguments = {"n": 4, **kwargs}
    with pytest.raises(error, match=match):
        make_chest_xrays(**arguments)


# ---------------------------------------------------------------------------------------------
# make_shapes

@pytest.mark.parametrize("size", [16, 32, 40])
def test_shapes_are_float32_images_in_unit_range_with_one_label_per_class_index(size):
    images, labels = make_shapes(40, image_size=size, seed=0)
    assert images.shape == (40, 1, size, size) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    assert labels.dtype == np.int64 and set(labels) == set(range(len(SHAPE_CLASSES)))
    assert 6 <= len(SHAPE_CLASSES) <= 8 and len(set(SHAPE_CLASSES)) == len(SHAPE_CLASSES)


@given(n=st.integers(1, 100), seed=st.integers(0, 2 ** 32 - 1))
def test_shape_classes_are_balanced_to_within_one_image(n, seed):
    _, labels = make_shapes(n, image_size=16, seed=seed)
    counts = np.bincount(labels, minlength=len(SHAPE_CLASSES))
    assert counts.sum() == n and counts.max() - counts.min() <= 1


def test_the_same_seed_gives_bit_identical_shapes_and_another_seed_does_not():
    a, la = make_shapes(20, seed=1)
    b, lb = make_shapes(20, seed=1)
    c, lc = make_shapes(20, seed=2)
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    assert not np.array_equal(a, c) and not np.array_equal(la, lc)


def test_shape_classes_can_be_told_apart_from_their_fourier_magnitudes():
    # |FFT| ignores position, so a nearest-class-mean rule on it sees the shapes and textures
    def features(images):
        centred = images[:, 0] - images[:, 0].mean(axis=(1, 2), keepdims=True)
        return np.log1p(np.abs(np.fft.fft2(centred))).reshape(len(images), -1)
    train_x, train_y = make_shapes(800, seed=0)
    test_x, test_y = make_shapes(400, seed=1)
    train_f, test_f = features(train_x), features(test_x)
    means = np.stack([train_f[train_y == k].mean(axis=0) for k in range(len(SHAPE_CLASSES))])
    guess = np.argmin(((test_f[:, None] - means[None]) ** 2).sum(axis=2), axis=1)
    assert (guess == test_y).mean() > 2 / len(SHAPE_CLASSES)  # chance is 1 / 8


def test_shapes_come_brighter_and_darker_than_their_background():
    images, _ = make_shapes(200, seed=0)
    centre = images[:, 0, 12:20, 12:20].mean(axis=(1, 2))
    border = np.concatenate([images[:, 0, :2].reshape(200, -1), images[:, 0, -2:].reshape(200, -1)],
                            axis=1).mean(axis=1)
    assert (centre > border + 0.1).any() and (centre < border - 0.1).any()


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n": 0}, ValueError, r"make_shapes: n must be an int >= 1, got 0"),
    ({"n": 1.5}, TypeError, r"make_shapes: n must be an int >= 1, got 1.5"),
    ({"image_size": 15}, ValueError, r"make_shapes: image_size must be an int >= 16, got 15"),
    ({"seed": 1.0}, TypeError, r"make_shapes: seed must be an int"),
])
def test_make_shapes_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_shapes(**{"n": 4, **kwargs})


# ---------------------------------------------------------------------------------------------
# load_medmnist

def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_load_medmnist_reads_grey_images_channels_first_and_flattens_single_labels(tmp_path, split):
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, (6, 5, 4), dtype=np.uint8)
    raw_labels = rng.integers(0, 3, (6, 1)).astype(np.uint8)
    other = {f"{s}_{kind}": np.zeros((2, 5, 4) if kind == "images" else (2, 1), np.uint8)
             for s in ("train", "val", "test") if s != split for kind in ("images", "labels")}
    path = write_npz(tmp_path / "grey.npz", **{f"{split}_images": raw, f"{split}_labels": raw_labels},
                     **other)
    images, labels = load_medmnist(path, split=split)
    assert images.shape == (6, 1, 5, 4) and images.dtype == np.float32
    assert labels.shape == (6,) and labels.dtype == np.int64
    for i in range(6):
        for r in range(5):
            for c in range(4):
                assert images[i, 0, r, c] == np.float32(raw[i, r, c] / 255)
    assert labels.tolist() == raw_labels[:, 0].tolist()


def test_load_medmnist_moves_rgb_channels_first_and_keeps_multilabel_columns(tmp_path):
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 256, (3, 4, 5, 3), dtype=np.uint8)
    raw_labels = rng.integers(0, 2, (3, 14)).astype(np.uint8)
    path = write_npz(tmp_path / "rgb.npz", train_images=raw, train_labels=raw_labels)
    images, labels = load_medmnist(path)
    assert images.shape == (3, 3, 4, 5)
    for channel in range(3):
        assert np.array_equal(images[:, channel], raw[..., channel] / np.float32(255))
    assert labels.shape == (3, 14) and labels.dtype == np.int64
    assert np.array_equal(labels, raw_labels)


def test_load_medmnist_never_unpickles_object_arrays(tmp_path):
    objects = np.empty(2, dtype=object)
    objects[:] = [{"a": 1}, {"b": 2}]
    path = write_npz(tmp_path / "evil.npz", train_images=objects,
                     train_labels=np.zeros((2, 1), np.uint8))
    with pytest.raises(ValueError, match=r"load_medmnist: .*evil\.npz: holds pickled objects"):
        load_medmnist(path)


def test_load_medmnist_refuses_a_truncated_file_and_names_it(tmp_path):
    good = write_npz(tmp_path / "good.npz", train_images=np.zeros((4, 3, 3), np.uint8),
                     train_labels=np.zeros((4, 1), np.uint8))
    data = open(good, "rb").read()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"load_medmnist: .*truncated\.npz: not a readable"):
        load_medmnist(str(truncated))


@pytest.mark.parametrize("content", [b"just some text\n", b"\x80\x04K\x01."])  # text, a pickle
def test_load_medmnist_refuses_files_that_are_not_npz_without_suggesting_to_unpickle(tmp_path,
                                                                                    content):
    path = tmp_path / "other.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"other\.npz: not a readable .npz file") as caught:
        load_medmnist(str(path))
    assert "allow_pickle" not in str(caught.value)


def test_load_medmnist_refuses_a_single_npy_array(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(ValueError, match=r"array\.npy: not an .npz archive"):
        load_medmnist(str(path))


def test_load_medmnist_names_a_missing_file(tmp_path):
    missing = str(tmp_path / "nowhere.npz")
    with pytest.raises(FileNotFoundError, match=r"load_medmnist: .*nowhere\.npz: no such file"):
        load_medmnist(missing)


def test_load_medmnist_names_the_splits_a_file_has(tmp_path):
    path = write_npz(tmp_path / "two.npz", **{f"{s}_{k}": np.zeros((1, 2, 2) if k == "images" else (1, 1), np.uint8)
                                              for s in ("train", "test") for k in ("images", "labels")})
    with pytest.raises(ValueError, match=r"split 'val' is not in the file; its splits are \['test', 'train'\]"):
        load_medmnist(path, split="val")


@pytest.mark.parametrize("images, labels, match", [
    (np.zeros((2, 3, 3), np.float32), np.zeros((2, 1), np.uint8),
     r"train_images must be uint8 \(N, H, W\) or \(N, H, W, 3\), got float32 \(2, 3, 3\)"),
    (np.zeros((2, 3, 3, 2), np.uint8), np.zeros((2, 1), np.uint8), r"got uint8 \(2, 3, 3, 2\)"),
    (np.zeros((2, 9), np.uint8), np.zeros((2, 1), np.uint8), r"got uint8 \(2, 9\)"),
    (np.zeros((2, 3, 3), np.uint8), np.zeros(2, np.uint8),
     r"train_labels must be integers \(N, 1\) or \(N, C\), got uint8 \(2,\)"),
    (np.zeros((2, 3, 3), np.uint8), np.zeros((2, 1), np.float64), r"got float64 \(2, 1\)"),
    (np.zeros((2, 3, 3), np.uint8), np.zeros((3, 1), np.uint8),
     r"2 train_images but 3 train_labels"),
])
def test_load_medmnist_rejects_wrong_dtypes_and_shapes(tmp_path, images, labels, match):
    path = write_npz(tmp_path / "bad.npz", train_images=images, train_labels=labels)
    with pytest.raises(ValueError, match=r"load_medmnist: .*bad\.npz: .*" + match):
        load_medmnist(path)


# ---------------------------------------------------------------------------------------------
# load_image_csv

def area_resize_reference(image, size):
    """Area averaging the slow, obvious way: blow every pixel up into a size x size block, so
    that every output pixel covers whole blocks of the blown-up image, and average those."""
    h, w = image.shape
    fine = np.repeat(np.repeat(image.astype(np.float64), size, axis=0), size, axis=1)
    out = np.empty((size, size))
    for i in range(size):
        for j in range(size):
            out[i, j] = fine[i * h:(i + 1) * h, j * w:(j + 1) * w].mean()
    return out


def write_csv(path, header, rows):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


@pytest.fixture
def xray_folder(tmp_path):
    """Three 8-bit PNGs of different sizes (grey, RGB, RGBA) with levels k / 255, a CSV."""
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (10, 7, 1), dtype=np.uint8)
    levels = {"a.png": np.repeat(grey, 3, axis=2), "b.png": rng.integers(0, 256, (6, 6, 3), dtype=np.uint8),
              "c.png": rng.integers(0, 256, (5, 9, 4), dtype=np.uint8)}
    for name, level in levels.items():
        matplotlib.image.imsave(tmp_path / name, level)
    rows = [["a.png", "1", "0", "p1"], ["b.png", "0", "0", "p2"], ["c.png", "1", "1", "p1"]]
    csv_path = write_csv(tmp_path / "labels.csv", ["Image", "Mass", "Nodule", "PatientId"], rows)
    return csv_path, tmp_path, levels


def test_load_image_csv_reads_images_labels_and_patients_in_row_order(xray_folder):
    csv_path, folder, levels = xray_folder
    images, labels, patients = load_image_csv(csv_path, folder, image_size=4)
    assert images.shape == (3, 1, 4, 4) and images.dtype == np.float32
    assert labels.dtype == np.int64 and labels.tolist() == [[1, 0], [0, 0], [1, 1]]
    assert patients.tolist() == ["p1", "p2", "p1"]
    for image, name in zip(images[:, 0], ["a.png", "b.png", "c.png"]):
        grey = levels[name][..., :3].mean(axis=2) / 255  # alpha dropped
        assert np.allclose(image, area_resize_reference(grey, 4), atol=1e-6)


def test_load_image_csv_label_columns_default_to_every_other_column_and_can_be_chosen(xray_folder):
    csv_path, folder, _ = xray_folder
    _, nodule, _ = load_image_csv(csv_path, folder, label_columns=["Nodule"], image_size=2)
    assert nodule.tolist() == [[0], [0], [1]]


def test_load_image_csv_reads_single_channel_pngs_of_8_and_16_bits(tmp_path):
    image_module = pytest.importorskip("PIL.Image")  # matplotlib writes only RGB(A) PNGs
    deep = np.array([[0, 65535], [32768, 1000]], dtype=np.uint16)
    image_module.fromarray(deep).save(tmp_path / "deep.png")
    shallow = np.array([[0, 255], [128, 7]], dtype=np.uint8)
    image_module.fromarray(shallow).save(tmp_path / "shallow.png")
    csv_path = write_csv(tmp_path / "x.csv", ["Image", "Mass", "PatientId"],
                         [["deep.png", 1, 7], ["shallow.png", 0, 8]])
    images, _, patients = load_image_csv(csv_path, tmp_path, image_size=2)
    assert np.allclose(images[0, 0], deep / 65535, atol=1e-6)
    assert np.allclose(images[1, 0], shallow / 255, atol=1e-6)
    assert patients.tolist() == ["7", "8"]


def test_load_image_csv_reads_jpeg_files(tmp_path):
    image_module = pytest.importorskip("PIL.Image")
    image_module.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(tmp_path / "x.jpg")
    csv_path = write_csv(tmp_path / "j.csv", ["Image", "Mass", "PatientId"], [["x.jpg", 0, 1]])
    images, _, _ = load_image_csv(csv_path, tmp_path, image_size=4)
    assert np.allclose(images, 200 / 255, atol=3 / 255)


@pytest.mark.parametrize("n_in, n_out", [(4, 2), (7, 3), (3, 7), (5, 5), (10, 1)])
def test_area_weights_average_the_covered_area(n_in, n_out):
    image = np.random.default_rng(n_in).random((n_in, n_in))
    weights = datasets._area_weights(n_in, n_out)
    assert np.allclose(weights.sum(axis=1), 1)
    assert np.allclose(weights @ image @ weights.T, area_resize_reference(image, n_out))


def test_load_image_csv_names_missing_columns_and_lists_the_present_ones(xray_folder):
    csv_path, folder, _ = xray_folder
    with pytest.raises(ValueError, match=r"has no column\(s\) \['Patient', 'Effusion'\]; its "
                                         r"columns are \['Image', 'Mass', 'Nodule', 'PatientId'\]"):
        load_image_csv(csv_path, folder, patient_column="Patient", label_columns=["Mass", "Effusion"])


def test_load_image_csv_names_a_missing_image_file(xray_folder):
    csv_path, folder, _ = xray_folder
    (folder / "b.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"load_image_csv: .*labels\.csv data row 2: image file .*b\.png does not exist"):
        load_image_csv(csv_path, folder)


@pytest.mark.parametrize("value", ["2", "", "yes", "-1", "0.5"])
def test_load_image_csv_names_the_row_and_column_of_a_label_that_is_not_0_or_1(tmp_path, value):
    rows = [["a.png", "1", "0", "p"], ["a.png", "0", value, "q"]]
    csv_path = write_csv(tmp_path / "bad.csv", ["Image", "Mass", "Nodule", "PatientId"], rows)
    with pytest.raises(ValueError, match=rf"data row 2, column 'Nodule' holds '{value}'; labels must be 0 or 1"):
        load_image_csv(csv_path, tmp_path)


def test_load_image_csv_rejects_bad_arguments(xray_folder, tmp_path):
    csv_path, folder, _ = xray_folder
    with pytest.raises(TypeError, match=r"load_image_csv: label_columns must be a list .* got the string 'Mass'"):
        load_image_csv(csv_path, folder, label_columns="Mass")
    with pytest.raises(ValueError, match=r"load_image_csv: image_size must be an int >= 1, got 0"):
        load_image_csv(csv_path, folder, image_size=0)
    with pytest.raises(FileNotFoundError, match=r"load_image_csv: csv_path .*nope\.csv does not exist"):
        load_image_csv(str(tmp_path / "nope.csv"), folder)
    empty = write_csv(tmp_path / "empty.csv", ["Image", "Mass", "PatientId"], [])
    with pytest.raises(ValueError, match=r"has 0 rows and label columns \['Mass'\]; expected at least one"):
        load_image_csv(empty, folder)


# ---------------------------------------------------------------------------------------------
# patient_split and has_leakage

patient_vectors = st.lists(st.integers(0, 30), min_size=1, max_size=80)
fraction_lists = st.lists(st.integers(1, 10), min_size=1, max_size=4).map(
    lambda weights: tuple(w / sum(weights) for w in weights))


@given(ids=patient_vectors, fractions=fraction_lists, seed=st.integers(0, 2 ** 32 - 1))
def test_patient_split_puts_every_index_in_exactly_one_part_and_no_patient_in_two(ids, fractions,
                                                                                seed):
    parts = patient_split(ids, fractions, seed=seed)
    assert len(parts) == len(fractions)
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(ids)))
    ids = np.array(ids)
    for part in parts:
        assert part.dtype == np.int64 and np.all(np.diff(part) > 0)
    for a in range(len(parts)):
        for b in range(a + 1, len(parts)):
            assert not set(ids[parts[a]]) & set(ids[parts[b]])
            assert not has_leakage(ids[parts[a]], ids[parts[b]])


def test_patient_split_fractions_count_patients_not_images():
    rng = np.random.default_rng(0)
    ids = np.repeat(np.arange(100), rng.integers(1, 20, 100))  # 1 to 19 images per patient
    parts = patient_split(ids, (0.8, 0.1, 0.1), seed=0)
    assert [len(set(ids[part])) for part in parts] == [80, 10, 10]


def test_patient_split_is_seeded():
    ids = [f"patient{k % 37}" for k in range(200)]
    first = patient_split(ids, (0.5, 0.5), seed=3)
    again = patient_split(ids, (0.5, 0.5), seed=3)
    other = patient_split(ids, (0.5, 0.5), seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("ids, fractions, error, match", [
    ([1, 2], (0.5, 0.6), ValueError, r"patient_split: fractions must be positive and sum to 1, got \(0.5, 0.6\)"),
    ([1, 2], (1.2, -0.2), ValueError, r"patient_split: fractions entry must be a finite number >= 0 and <= 1, got 1.2"),
    ([1, 2], (1.0, 0.0), ValueError, r"patient_split: fractions must be positive"),
    ([1, 2], 0.8, TypeError, r"patient_split: fractions must be a non-empty tuple of numbers, got 0.8"),
    ([1, 2], (), TypeError, r"patient_split: fractions must be a non-empty tuple"),
    ([1, 2], ("a", "b"), TypeError, r"patient_split: fractions entry must be a finite number .* got 'a'"),
    ([], (1.0,), ValueError, r"patient_split: patient_ids must be a non-empty 1-D sequence, got shape \(0,\)"),
    ([[1, 2]], (1.0,), ValueError, r"patient_ids must be a non-empty 1-D sequence, got shape \(1, 2\)"),
])
def test_patient_split_rejects_bad_arguments(ids, fractions, error, match):
    with pytest.raises(error, match=match):
        patient_split(ids, fractions, seed=0)


def test_patient_split_accepts_fractions_that_sum_to_one_within_rounding():
    parts = patient_split(list(range(10)), (0.7, 0.2, 0.1 + 5e-7), seed=0)
    assert sum(len(p) for p in parts) == 10


@given(a=st.lists(st.integers(0, 20), max_size=15), b=st.lists(st.integers(0, 20), max_size=15))
def test_has_leakage_is_true_exactly_when_a_patient_is_in_both(a, b):
    assert has_leakage(a, b) == any(x == y for x in a for y in b)


def test_has_leakage_works_on_string_ids_and_arrays():
    assert has_leakage(np.array(["p1", "p2"]), ["p3", "p2"])
    assert not has_leakage(np.array(["p1", "p2"]), np.array(["p3"]))
    assert not has_leakage([], ["p1"])


# ---------------------------------------------------------------------------------------------
# The real X-rays shipped with tinymed; MD5 sums; where to download a missing file

def test_load_pneumonia_gives_the_shipped_balanced_splits():
    sizes = {}
    for split in ("train", "val", "test"):
        images, labels = datasets.load_pneumonia(split)
        assert images.dtype == np.float32 and images.shape[1:] == (1, 28, 28)
        assert 0 <= images.min() and images.max() <= 1 and labels.dtype == np.int64
        sizes[split] = (len(labels), int(labels.sum()))
    assert sizes == {"train": (2428, 1214), "val": (270, 135), "test": (468, 234)}


def test_load_pneumonia_at_a_prevalence_keeps_every_normal_and_a_seeded_share_of_pneumonia():
    _, full = datasets.load_pneumonia("train")
    images, labels = datasets.load_pneumonia("train", prevalence=0.05, seed=3)
    assert (labels == 0).sum() == 1214 and labels.sum() == round(0.05 * 1214 / 0.95)  # 64
    again, _ = datasets.load_pneumonia("train", prevalence=0.05, seed=3)
    other, _ = datasets.load_pneumonia("train", prevalence=0.05, seed=4)
    assert np.array_equal(images, again) and not np.array_equal(images, other)
    with pytest.raises(ValueError, match=r"load_pneumonia: split must be one of 'train', 'val', 'test', got 'dev'"):
        datasets.load_pneumonia("dev")


def test_the_shipped_file_has_its_readme_licence_and_md5():
    folder = os.path.dirname(datasets.pneumonia_path())
    with open(datasets.pneumonia_path(), "rb") as file:
        digest = hashlib.md5(file.read()).hexdigest()
    with open(datasets.pneumonia_path() + ".md5") as file:
        assert file.read().split() == [digest, "pneumoniamnist_balanced.npz"]
    with open(os.path.join(folder, "README.md")) as file:
        readme = file.read()
    assert digest in readme and "Yang" in readme and "Kermany" in readme and "CC BY 4.0" in readme
    with open(os.path.join(folder, "LICENSE.md")) as file:
        assert "creativecommons.org/licenses/by/4.0" in file.read()


def test_a_damaged_copy_of_a_known_file_is_refused_by_its_md5(tmp_path):
    damaged = bytearray(open(datasets.pneumonia_path(), "rb").read())
    damaged[-100] ^= 0xFF
    path = tmp_path / "pneumoniamnist_balanced.npz"
    path.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match=r"its MD5 sum is [0-9a-f]{32} but pneumoniamnist_balanced\.npz's "
                                         r"published sum is 3062d8c693378b506564f35a50301b11: the file is damaged"):
        load_medmnist(str(path))
    renamed = tmp_path / "my_xrays.npz"  # a name tinymed does not know: no sum to check
    renamed.write_bytes(open(datasets.pneumonia_path(), "rb").read())
    assert load_medmnist(str(renamed), "val")[1].shape == (270,)


def test_a_file_named_as_medmnist_publishes_it_must_have_medmnists_md5(tmp_path):
    path = write_npz(tmp_path / "pneumoniamnist.npz", train_images=np.zeros((2, 3, 3), np.uint8),
                     train_labels=np.zeros((2, 1), np.uint8))
    with pytest.raises(ValueError, match=r"published sum is 28209eda62fecd6e6a2d98b1501bb15f: .* download it "
                                         r"again from https://zenodo\.org/records/10519652/files/pneumoniamnist\.npz"):
        load_medmnist(path)


def test_a_missing_medmnist_file_says_where_to_download_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"breastmnist_64\.npz: no such file\. MedMNIST files are downloaded "
                                                r"from https://zenodo\.org/records/10519652/files/breastmnist_64\.npz"
                                                r"\?download=1, .*datasets\.load_pneumonia\(\)"):
        load_medmnist(str(tmp_path / "breastmnist_64.npz"))


@pytest.mark.parametrize("labels, prevalence, n_pos, n_neg", [
    ([0] * 90 + [1] * 10, 0.05, 5, 90),     # too many positives: round(0.05 * 90 / 0.95) = 5 of them kept
    ([0] * 90 + [1] * 10, 0.5, 10, 10),     # too many negatives: as many as the positives
    ([0] * 10 + [1] * 10, 0.001, 1, 10),    # at least one positive
])
def test_imbalanced_subset_keeps_the_rarer_class_whole_and_draws_the_other(labels, prevalence, n_pos, n_neg):
    y = np.array(labels)
    keep = datasets.imbalanced_subset(y, prevalence, seed=0)
    assert np.all(np.diff(keep) > 0)
    assert (y[keep] == 1).sum() == n_pos and (y[keep] == 0).sum() == n_neg


@pytest.mark.parametrize("labels, prevalence, error, match", [
    ([0, 1, 2], 0.1, ValueError, r"imbalanced_subset: labels must be \(N,\) of 0 and 1 with both classes"),
    ([0, 0, 0], 0.1, ValueError, r"with both classes, got shape \(3,\) and values \[0\]"),
    ([0, 1], 0.0, ValueError, r"imbalanced_subset: prevalence must be a finite number > 0 and < 1, got 0.0"),
    ([0, np.nan], 0.5, ValueError, r"imbalanced_subset: labels (hold|contain) NaN at positions \[1\]"),
])
def test_imbalanced_subset_refuses_labels_that_are_not_binary_and_prevalences_outside_0_1(labels, prevalence,
                                                                                          error, match):
    with pytest.raises(error, match=match):
        datasets.imbalanced_subset(labels, prevalence)
