"""The drawing tools the synthetic-data generators share (`synthetic.py`'s chest X-ray phantoms,
`synthetic_shapes.py`'s shapes, `synthetic_findings.py`'s findings): soft edges, one random
value per image broadcast over the pixels, each image's own coordinate frame, a Gaussian blur.

Every image of a batch is drawn at once: its parameters are (N,) arrays, shaped (N, 1, 1) by
`_col` so that they broadcast over (N, S, S) coordinate grids. The image spans [-1, 1] on both
axes, x to the right, y downwards. The names keep their underscore: they are the synthetic-data
files' own, not tinymed's API.
"""
import numpy as np

_CHUNK_PIXELS = 2 ** 17  # pixels drawn at once: temporaries stay in cache, memory stays bounded


def _sigmoid(z):
    return 0.5 + 0.5 * np.tanh(0.5 * z)  # = 1 / (1 + exp(-z)), without overflow warnings


def _uniform(rng, n, low, high):
    return rng.uniform(low, high, n).astype(np.float32)


def _col(a):
    return a[:, None, None]  # (N,) -> (N, 1, 1): one value per image, broadcast over the pixels


def _pixel_centres(size):
    """The S pixel centres along an image axis spanning [-1, 1]: -1 + (i + 0.5) * 2 / S."""
    return (np.arange(size, dtype=np.float32) + 0.5) * np.float32(2 / size) - 1


def _frame(size, shift, scale, angle):
    """Pixel centres in each image's own drawing frame: x, y of shape (N, S, S).

    The image spans [-1, 1] on both axes (x to the right, y downwards); the frame is the image
    moved by ``shift`` (N, 2), then rotated by ``angle`` (N,) and scaled by ``scale`` (N,):
    (x, y) = R(-angle) (g - shift) / scale for every pixel centre g.
    """
    g = _pixel_centres(size)
    gx = g[None, None, :] - _col(shift[:, 0])
    gy = g[None, :, None] - _col(shift[:, 1])
    c, s = _col(np.cos(angle)), _col(np.sin(angle))
    return (c * gx + s * gy) / _col(scale), (c * gy - s * gx) / _col(scale)


def _gaussian_blur(images, sigma, radius):
    """Separable Gaussian blur of images (N, S, S), one sigma per image (N,) in pixels, with
    the edge pixels repeated outwards."""
    offsets = np.arange(-radius, radius + 1, dtype=np.float32)
    w = np.exp(-0.5 * (offsets[None, :] / sigma[:, None]) ** 2)
    w /= w.sum(axis=1, keepdims=True)
    size = images.shape[-1]
    for _ in range(2):  # along the rows, then, transposed, along the columns
        padded = np.pad(images, ((0, 0), (0, 0), (radius, radius)), mode="edge")
        images = sum(_col(w[:, k]) * padded[:, :, k:k + size] for k in range(2 * radius + 1))
        images = images.transpose(0, 2, 1)
    return images
