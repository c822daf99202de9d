"""General "shapes" images for pre-training: one of eight shapes or textures per image, on a
background of gratings and blotches. Rich in edges, corners and textures, unlike X-rays, they
play the part ImageNet plays for a real X-ray model. Re-exported by `tinymed.datasets` (and
`tinymed.synthetic`).

Images are float32 (N, 1, S, S) in [0, 1], labels int64, drawn as `synthetic_drawing.py` says.
"""
import numpy as np

from tinymed import validate
from tinymed.random import get_generator
# the drawing tools shared within the synthetic-data files
from tinymed.synthetic_drawing import _CHUNK_PIXELS, _col, _frame, _gaussian_blur, _pixel_centres, _sigmoid, _uniform

SHAPE_CLASSES = ("disc", "square", "triangle", "cross", "ring", "star", "stripes", "checkerboard")


def _shape_level(name, u, v):
    """Level of one class's shape in its own unit frame (u, v): negative inside, about the
    distance to the edge in units of the shape's half-size."""
    r = np.sqrt(u * u + v * v)
    if name in ("disc", "stripes"):
        return r - 1
    if name in ("square", "checkerboard"):
        return np.maximum(np.abs(u), np.abs(v)) - 0.85
    if name == "triangle":  # equilateral, inradius 0.5: the furthest of its three sides
        return np.max([u * np.cos(a) + v * np.sin(a)
                       for a in np.pi / 2 + 2 * np.pi / 3 * np.arange(3)], axis=0) - 0.5
    if name == "cross":
        return np.minimum(np.maximum(np.abs(u) - 1, np.abs(v) - 0.3),
                          np.maximum(np.abs(u) - 0.3, np.abs(v) - 1))
    if name == "ring":
        return np.abs(r - 0.75) - 0.25
    return r - (0.6 + 0.4 * np.cos(5 * np.arctan2(v, u)))  # star, five points


def _shape_fill(name, u, v, frequency):
    """The inside of a shape: flat, or for the texture classes a high-contrast pattern."""
    if name == "stripes":
        return 0.5 + 0.5 * np.tanh(3 * np.sin(np.pi * frequency * u))
    if name == "checkerboard":
        squares = np.sin(np.pi * frequency * u) * np.sin(np.pi * frequency * v)
        return 0.5 + 0.5 * np.tanh(3 * squares)
    return np.ones_like(u)


def make_shapes(n, image_size=32, seed=None):
    """General "shapes" images for pre-training: edges, corners and textures, unlike X-rays.

    Each image holds one shape of the classes in ``SHAPE_CLASSES`` (label = its index there):
    disc, square, triangle, cross, ring, star, and two textured ones, stripes (a striped disc) and
    checkerboard (a chequered square). Every image draws its own position, size, rotation,
    contrast and polarity (brighter or darker than the background), on a background of random
    gratings and blotches, with Gaussian noise. The classes are balanced: their counts differ by
    at most one, in a seeded random order. It plays the part ImageNet plays for a real X-ray
    model: a larger, general task whose early filters (edges, textures) can be transferred.

    Args:
        n: number of images, >= 1.
        image_size: S, >= 16.
        seed: int, numpy.random.Generator or None (the library's default Generator).

    Returns:
        images (N, 1, S, S) float32 in [0, 1] and labels (N,) int64 in [0, len(SHAPE_CLASSES)).
    """
    n = validate.integer(n, "make_shapes: n", min=1)
    image_size = validate.integer(image_size, "make_shapes: image_size", min=16)
    rng = get_generator(seed, name="make_shapes: seed")
    labels = rng.permutation(np.arange(n) % len(SHAPE_CLASSES)).astype(np.int64)
    polarity = np.where(rng.random(n) < 0.5, -1, 1).astype(np.float32)
    p = {"centre": rng.uniform(-0.35, 0.35, (n, 2)).astype(np.float32),
         "size": _uniform(rng, n, 0.35, 0.6),  # half-size, image units
         "angle": _uniform(rng, n, 0, 2 * np.pi),
         "frequency": _uniform(rng, n, 2.5, 4.5),  # stripe pairs per half-size
         "strength": _uniform(rng, n, 0.2, 0.45) * polarity,
         "level": _uniform(rng, n, 0.3, 0.7),
         # three gratings in the background: amplitude, frequency, direction, phase in [0, 1)
         "gratings": rng.random((n, 3, 4), dtype=np.float32),
         "noise": _uniform(rng, n, 0.01, 0.06), "labels": labels}
    images = np.empty((n, 1, image_size, image_size), dtype=np.float32)
    chunk = max(1, _CHUNK_PIXELS // image_size ** 2)
    for start in range(0, n, chunk):
        part = {key: value[start:start + chunk] for key, value in p.items()}
        images[start:start + chunk, 0] = _render_shapes(part, image_size, rng)
    return images, labels


def _render_shapes(p, size, rng):
    """Draw the shapes images (N, S, S) for the parameters ``p``."""
    n = len(p["labels"])
    g = _pixel_centres(size)
    background = np.broadcast_to(_col(p["level"]), (n, size, size)).copy()
    for amplitude, frequency, direction, phase in p["gratings"].transpose(1, 2, 0):
        a = _col(2 * np.pi * direction)
        along = np.cos(a) * g[None, None, :] + np.sin(a) * g[None, :, None]
        background += _col(0.08 * amplitude) * np.sin(np.pi * _col(1 + 5 * frequency) * along
                                                       + _col(2 * np.pi * phase))
    # blotches: white noise blurred to a tenth of the image
    sigma = np.full(n, size / 10, dtype=np.float32)
    background += 0.5 * _gaussian_blur(rng.standard_normal((n, size, size), dtype=np.float32),
                                       sigma, int(np.ceil(2 * size / 10)))
    u, v = _frame(size, p["centre"], p["size"], p["angle"])
    shape = np.empty_like(u)
    pixels_per_unit = np.float32(size / 2) * _col(p["size"])  # shape units -> pixels
    for label, name in enumerate(SHAPE_CLASSES):
        i = np.flatnonzero(p["labels"] == label)
        soft = _sigmoid(-2 * _shape_level(name, u[i], v[i]) * pixels_per_unit[i])  # edge ~1 px
        shape[i] = soft * _shape_fill(name, u[i], v[i], _col(p["frequency"][i]))
    images = background + _col(p["strength"]) * shape
    images += _col(p["noise"]) * rng.standard_normal(u.shape, dtype=np.float32)
    return np.clip(images, 0, 1)
