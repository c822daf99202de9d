"""Specification of tinymed.datasets: synthetic phantoms and shapes, file loaders, patient split."""
import csv

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
    ({"n": 0}, ValueError, r"make_chest_xrays: n must be >= 1, got 0"),
    ({"n": 2.0}, TypeError, r"make_chest_xrays: n must be an int, got float"),
    ({"n": True}, TypeError, r"make_chest_xrays: n must be an int, got bool"),
    ({"prevalence": -0.1}, ValueError, r"make_chest_xrays: prevalence must be in \[0.0, 1.0\]"),
    ({"prevalence": 1.5}, ValueError, r"make_chest_xrays: prevalence must be in .* got 1.5"),
    ({"prevalence": "5%"}, TypeError, r"make_chest_xrays: prevalence must be a number, got str"),
    ({"image_size": 8}, ValueError, r"make_chest_xrays: image_size must be >= 16, got 8"),
    ({"mass_contrast": -1.0}, ValueError, r"make_chest_xrays: mass_contrast must be in"),
    ({"noise": -0.1}, ValueError, r"make_chest_xrays: noise must be in"),
    ({"rib_contrast": -0.1}, ValueError, r"make_chest_xrays: rib_contrast must be in"),
    ({"variation": 3.0}, ValueError, r"make_chest_xrays: variation must be in \[0.0, 2.0\]"),
    ({"mass_radius": 2.0}, TypeError, r"make_chest_xrays: mass_radius must be a \(low, high\)"),
    ({"mass_radius": (2.0, 1.0)}, ValueError, r"mass_radius high must be in \[2.0, 2.5\], got 1.0"),
    ({"mass_radius": (0.1, 1.0)}, ValueError, r"mass_radius low must be in \[0.5, "),
    ({"mass_radius": (1.0, 3.0)}, ValueError, r"mass_radius high must be in \[1.0, 2.5\]"),
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
    ({"n": 0}, ValueError, r"make_shapes: n must be >= 1, got 0"),
    ({"n": 1.5}, TypeError, r"make_shapes: n must be an int, got float"),
    ({"image_size": 15}, ValueError, r"make_shapes: image_size must be >= 16, got 15"),
    ({"seed": 1.0}, TypeError, r"make_shapes: seed must be an int"),
])
def test_make_shapes_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_shapes(**{"n": 4, **kwargs})
