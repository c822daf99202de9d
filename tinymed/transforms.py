"""Per-sample image transforms for ``ArrayDataset(..., transform=...)``: x (C, H, W) -> (C, H, W).

Each takes one float image, returns a new one of the same shape and dtype (float32 in, float32
out) and never changes its input. The random ones hold their own Generator (``seed``), so a seeded
pipeline gives the same augmented images run after run. ``Compose([...])`` chains them.
Also importable from ``tinymed.data``.
"""
import numpy as np

from tinymed import validate
from tinymed.random import get_generator

__all__ = ["Compose", "Normalize", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomShift", "RandomRotation"]


def _image(x, where):
    """The transforms' input: one float image (C, H, W) as a NumPy array (what a dataset holds)."""
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        got = f"dtype {x.dtype}" if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"{where}: x must be a float NumPy array (C, H, W), got {got}")
    if x.ndim != 3:
        raise ValueError(f"{where}: x must be one image of shape (C, H, W), got shape {x.shape}")
    return x


class Compose:
    """Apply ``transforms`` in order: ``Compose([f, g])(x) == g(f(x))``."""

    def __init__(self, transforms):
        if callable(transforms) or not hasattr(transforms, "__iter__"):
            raise TypeError(f"Compose: transforms must be a list of transforms, got {type(transforms).__name__} "
                            f"(wrap a single one in a list: Compose([t]))")
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got {type(t).__name__}")

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x


class Normalize:
    """Per channel: ``out[c] = (x[c] - mean[c]) / std[c]``.

    ``mean``, ``std``: numbers or sequences of length C (std > 0). As ``torchvision``'s
    ``Normalize``; computed in the image's dtype, so float32 stays float32.
    """

    def __init__(self, mean, std):
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1:
            raise ValueError(
                f"Normalize: mean and std must be numbers or 1-D sequences, "
                f"got shapes {self.mean.shape}, {self.std.shape}"
            )
        if not (self.std > 0).all():
            raise ValueError(f"Normalize: std must be > 0, got {self.std.tolist()}")

    def __call__(self, x):
        x = _image(x, "Normalize")
        for name, value in (("mean", self.mean), ("std", self.std)):
            if value.size not in (1, x.shape[0]):
                raise ValueError(
                    f"Normalize: {name} has {value.size} entries but x has {x.shape[0]} channels (x.shape={x.shape})"
                )
        mean = self.mean.astype(x.dtype)[:, None, None]
        std = self.std.astype(x.dtype)[:, None, None]
        return (x - mean) / std


class RandomHorizontalFlip:
    """Mirror left-right (``x[:, :, ::-1]``) with probability ``p``.

    A questionable augmentation for chest X-rays: they are not left-right symmetric (the heart
    is on the patient's left, the liver on the right), so a flipped film shows an anatomy that
    (dextrocardia aside) does not occur, and a model may learn that side does not matter.
    """

    def __init__(self, p=0.5, seed=None):
        self.p = validate.probability(p, "RandomHorizontalFlip: p (a probability)")
        self.rng = get_generator(seed, name="RandomHorizontalFlip: seed")

    def __call__(self, x):
        x = _image(x, "RandomHorizontalFlip")
        return x[:, :, ::-1].copy() if self.rng.random() < self.p else x.copy()


class RandomVerticalFlip:
    """Mirror top-bottom (``x[:, ::-1, :]``) with probability ``p``."""

    def __init__(self, p=0.5, seed=None):
        self.p = validate.probability(p, "RandomVerticalFlip: p (a probability)")
        self.rng = get_generator(seed, name="RandomVerticalFlip: seed")

    def __call__(self, x):
        x = _image(x, "RandomVerticalFlip")
        return x[:, ::-1, :].copy() if self.rng.random() < self.p else x.copy()


class RandomShift:
    """Translate by whole pixels: ``out[:, i, j] = x[:, i - dy, j - dx]``, dy and dx uniform in
    [-max_shift, max_shift], drawn per call.

    Pixels shifted in from outside are 0 (``fill="zero"``) or copies of the nearest edge pixel
    (``fill="edge"``). Small shifts mimic a patient positioned slightly differently.
    """

    def __init__(self, max_shift, seed=None, fill="zero"):
        self.max_shift = validate.integer(max_shift, "RandomShift: max_shift (pixels)", min=0)
        self.fill = validate.one_of(fill, "RandomShift: fill", ("zero", "edge"))
        self.rng = get_generator(seed, name="RandomShift: seed")

    def __call__(self, x):
        x = _image(x, "RandomShift")
        s = self.max_shift
        dy, dx = self.rng.integers(-s, s + 1, size=2)
        # Pad by s on every side, then cut the window that starts s - dy rows, s - dx columns in.
        padded = np.pad(x, ((0, 0), (s, s), (s, s)), mode="constant" if self.fill == "zero" else "edge")
        return padded[:, s - dy:s - dy + x.shape[1], s - dx:s - dx + x.shape[2]].copy()


class RandomRotation:
    """Rotate about the image centre by an angle drawn uniformly from [-degrees, degrees]
    (or from ``degrees = (lo, hi)``), counter-clockwise as displayed, as ``torchvision``.

    Bilinear interpolation (``scipy.ndimage.rotate(order=1, reshape=False)``), so the output has
    the input's shape; corners rotated in from outside are 0.
    """

    def __init__(self, degrees, seed=None):
        if validate.is_real(degrees):
            degrees = validate.non_negative(degrees, "RandomRotation: degrees (when a number)")
            degrees = (-degrees, degrees)
        if not (isinstance(degrees, (tuple, list)) and len(degrees) == 2 and degrees[0] <= degrees[1]):
            raise ValueError(
                f"RandomRotation: degrees must be a number >= 0 or a pair (lo, hi) with lo <= hi, got {degrees!r}"
            )
        self.degrees = (float(degrees[0]), float(degrees[1]))
        self.rng = get_generator(seed, name="RandomRotation: seed")

    def __call__(self, x):
        x = _image(x, "RandomRotation")
        angle = self.rng.uniform(*self.degrees)
        from scipy import ndimage  # imported here: it takes a quarter of a second to import

        out = ndimage.rotate(x, angle, axes=(1, 2), reshape=False, order=1, mode="constant", cval=0.0)
        return out.astype(x.dtype, copy=False)
