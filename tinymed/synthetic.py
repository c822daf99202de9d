"""Synthetic chest X-ray phantoms with rare masses, drawn with NumPy: the medical task of the
tutorials. Re-exported by `tinymed.datasets`; the multi-label phantoms are in
`synthetic_findings.py`, the "shapes" pre-training data in `synthetic_shapes.py`.

Images are float32 (N, 1, S, S) in [0, 1], labels int64. Every image of a batch is drawn at
once, with its own parameters (see `synthetic_drawing.py`, the drawing tools these files share).
"""
import numpy as np

from tinymed import validate
from tinymed.random import get_generator
# the drawing tools shared within the synthetic-data files
from tinymed.synthetic_drawing import _CHUNK_PIXELS, _col, _frame, _gaussian_blur, _sigmoid, _uniform
# tinymed.synthetic.make_shapes, as before the shapes had a file of their own
from tinymed.synthetic_shapes import SHAPE_CLASSES, make_shapes  # noqa: F401


# The anatomy is drawn in a frame where the thorax fills [-1, 1] x [-1, 1], x to the image's
# right, y down. Standard PA view: the image's left is the patient's right. Each structure is a
# "level" function, negative inside and roughly the distance to its edge, so that one sigmoid
# gives every edge the same soft width of about a pixel.

# (centre x, centre y, half-width, half-height, top of the diaphragm dome)
_LUNGS = ((-0.44, -0.06, 0.34, 0.72, 0.50),  # patient's right lung: larger, higher diaphragm
          (0.45, -0.04, 0.31, 0.70, 0.57))   # patient's left lung: the heart takes its room
_HEART = (0.12, 0.24, 0.36, 0.30)            # centre x, centre y, half-width, half-height


def _chest_parameters(rng, n, variation, noise):
    """One value per image for every source of anatomical and exposure variation: (N,) arrays."""
    def jitter(width):
        return _uniform(rng, n, -width * variation, width * variation)
    return {"shift": np.stack([jitter(0.06), jitter(0.06)], axis=1), "scale": 1 + jitter(0.07),
            "angle": jitter(0.06), "lung_w": 1 + jitter(0.08), "lung_h": 1 + jitter(0.06),
            "dome": jitter(0.05), "heart_size": 1 + jitter(0.12), "heart_x": jitter(0.04),
            "rib_period": 0.26 * (1 + jitter(0.08)), "rib_phase": jitter(np.pi),
            "rib_curve": 1.2 * (1 + jitter(0.25)), "gamma": np.exp(jitter(0.25)),
            "contrast": 1 + jitter(0.12), "brightness": jitter(0.06),
            "blur": 0.55 + jitter(0.15), "noise": noise * (1 + jitter(0.25))}


def _expand(a, like):
    return a.reshape(-1, *([1] * (like.ndim - 1)))


def _fourth(t):
    t = t * t  # twice as fast as t ** 4, which NumPy computes with pow()
    return t * t


def _heart_level(x, y, p):
    cx, cy, a, b = _HEART
    size = _expand(p["heart_size"], x)
    return (np.sqrt(((x - cx - _expand(p["heart_x"], x)) / (a * size)) ** 2
                    + ((y - cy) / (b * size)) ** 2) - 1) * b


def _mediastinum_level(x, y):
    return np.abs(x - 0.02) - (0.09 + 0.06 * np.maximum(y + 0.4, 0))  # widens towards the heart


def _anatomy_levels(x, y, p):
    """Levels of the lung fields, the heart and the mediastinum at points x, y (N, ...). Each
    lung is an egg (narrow apex) above its diaphragm dome, minus the heart and the mediastinum."""
    w, h, dome = _expand(p["lung_w"], x), _expand(p["lung_h"], x), _expand(p["dome"], x)
    heart, mediastinum = _heart_level(x, y, p), _mediastinum_level(x, y)
    outside_lungs = -np.minimum(heart, mediastinum)
    lungs = None
    for cx, cy, a, b, top in _LUNGS:
        a, b = a * w, b * h
        egg = (np.sqrt(((x - cx) / (a * (1 + 0.35 * (y - cy) / b))) ** 2
                       + ((y - cy) / b) ** 2) - 1) * a
        below_dome = y - (top + dome + 0.3 * ((x - cx) / a) ** 2)
        one = np.maximum(np.maximum(egg, below_dome), outside_lungs)
        lungs = one if lungs is None else np.minimum(lungs, one)
    return lungs, heart, mediastinum


def _mass_centres(rng, p, radius, size, candidates=32, rounds=50):
    """Mass centres (N, 2) (row, col in pixels), each disc of ``radius`` (N,) pixels inside a
    lung field: rejection sampling, ``candidates`` points per image at once, drawn again for
    the images still without a centre, at most ``rounds`` times."""
    n = len(radius)
    cx, cy, a, b, _ = (np.array(v, np.float32) for v in zip(*_LUNGS))
    # a candidate is uniform in one lung's bounding box; the right lung, the larger, more often
    half_width = 1.25 * a[:, None] * p["lung_w"]  # (2, N)
    half_height = b[:, None] * p["lung_h"]
    # the centre and 16 points on a circle a little wider than the disc must lie in the lung:
    # then so do all pixel centres within ``radius``, even beside the heart's bulge
    r = (radius + 0.3) * np.float32(2 / size) / p["scale"]  # pixels -> frame units
    turn = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    ring_x = np.append(0, np.cos(turn)).astype(np.float32)
    ring_y = np.append(0, np.sin(turn)).astype(np.float32)
    x, y = np.full(n, np.nan, np.float32), np.full(n, np.nan, np.float32)
    for _ in range(rounds):
        todo = np.flatnonzero(np.isnan(x))
        if len(todo) == 0:
            break
        lung = np.where(rng.random((len(todo), candidates)) < 0.55, 0, 1)
        u = rng.random((len(todo), candidates, 2), dtype=np.float32) * 2 - 1
        cand_x = cx[lung] + u[..., 0] * half_width[lung, todo[:, None]]
        cand_y = cy[lung] + u[..., 1] * half_height[lung, todo[:, None]]
        rim = r[todo, None, None]
        part = {key: value[todo] for key, value in p.items()}
        lungs = _anatomy_levels(cand_x[..., None] + rim * ring_x,
                                cand_y[..., None] + rim * ring_y, part)[0]
        inside = (lungs < 0).all(axis=2)
        found, first = inside.any(axis=1), inside.argmax(axis=1)
        x[todo[found]] = cand_x[found, first[found]]
        y[todo[found]] = cand_y[found, first[found]]
    if np.isnan(x).any():
        raise ValueError(f"make_chest_xrays: no room in the lungs for a mass of radius "
                         f"{radius[np.isnan(x)].max():.2f} pixels; use a smaller mass_radius")
    c, s = np.cos(p["angle"]), np.sin(p["angle"])
    gx = p["scale"] * (c * x - s * y) + p["shift"][:, 0]
    gy = p["scale"] * (s * x + c * y) + p["shift"][:, 1]
    return np.stack([(gy + 1) * size / 2 - 0.5, (gx + 1) * size / 2 - 0.5], axis=1)


def _add_discs(attenuation, centre, radius, contrast, size):
    """Add a soft-edged disc of extra attenuation to each image (N, S, S) whose ``contrast``
    (N,) is not 0: ``centre`` (N, 2) (row, col) and ``radius`` (N,) in pixels (a mass, a
    nodule)."""
    scale = np.float32(size / 32)
    inside = np.flatnonzero(contrast)
    pixels = np.arange(size, dtype=np.float32)
    centre = centre[inside].astype(np.float32)
    r = np.sqrt((pixels[None, None, :] - _col(centre[:, 1])) ** 2
                + (pixels[None, :, None] - _col(centre[:, 0])) ** 2)
    attenuation[inside] += _col(contrast[inside]) * _sigmoid((_col(radius[inside]) - r) / (0.35 * scale))


def _draw_chests(p, size, rib_contrast, rng, findings=None):
    """Images (N, 1, S, S) and lung masks (N, S, S) for the parameters ``p`` (one (N, ...)
    array per key), drawn a chunk of images at a time."""
    n = len(p["scale"])
    images = np.empty((n, 1, size, size), dtype=np.float32)
    lungs = np.empty((n, size, size), dtype=bool)
    chunk = max(1, _CHUNK_PIXELS // size ** 2)
    for start in range(0, n, chunk):
        part = {key: value[start:start + chunk] for key, value in p.items()}
        images[start:start + chunk, 0], lungs[start:start + chunk] = _render_chests(
            part, size, np.float32(rib_contrast), rng, findings)
    return images, lungs


def _render_chests(p, size, rib_contrast, rng, findings=None):
    """Draw the images (N, S, S) and their lung masks (N, S, S) for the parameters ``p``.
    ``findings(attenuation, p, x, y, lungs)``, when given, adds more to the attenuation
    (N, S, S) in place, before exposure and noise (x, y: the body frame; lungs: the lung
    level, negative inside)."""
    x, y = _frame(size, p["shift"], p["scale"], p["angle"])
    edge = np.float32(1.5 / size)
    ax = np.abs(x)
    lungs, heart, mediastinum = _anatomy_levels(x, y, p)
    superellipse = np.sqrt(np.sqrt(_fourth(ax / 0.97) + _fourth((y - 0.15) / 1.35)))
    body = _sigmoid((1 - superellipse) / edge)
    thorax = (_sigmoid((0.62 - y) / 0.06) * _sigmoid((y + 0.82) / 0.06)
              * _sigmoid((ax - 0.08) / 0.03) * body)
    # posterior ribs arch up from the spine and fall laterally; anterior ribs fall medially
    period, phase = _col(p["rib_period"]), _col(p["rib_phase"])
    posterior = np.cos(2 * np.pi * (y - _col(p["rib_curve"]) * (ax - 0.2) ** 2) / period + phase)
    anterior = np.cos(2 * np.pi * (y + 0.45 * ax) / (1.3 * period) + phase)
    ribs = (_fourth((1 + posterior) / 2) + 0.5 * _fourth((1 + anterior) / 2)) * thorax
    clavicles = (np.exp(-(((y + 0.6 + 0.23 * (ax - 0.1)) / 0.05) ** 2))
                 * _sigmoid((0.85 - ax) / 0.03) * thorax)
    spine = _sigmoid((0.07 - ax) / edge) * (0.7 + 0.3 * np.cos(2 * np.pi * y / 0.2))
    attenuation = (0.78 * body + 0.12 * _sigmoid(-mediastinum / edge) + 0.08 * spine
                   + 0.1 * _sigmoid(-heart / edge) - 0.55 * _sigmoid(-lungs / edge)
                   + rib_contrast * ribs + 0.15 * clavicles)
    _add_discs(attenuation, p["mass_centre"], p["mass_radius"], p["mass_contrast"], size)
    if findings is not None:
        findings(attenuation, p, x, y, lungs)
    # exposure, then the detector: blur and quantum-like noise whose spread grows with the signal
    images = np.clip(attenuation / 1.05, 0, 1) ** _col(p["gamma"])
    images = _col(p["brightness"]) + _col(p["contrast"]) * images
    scale = np.float32(size / 32)
    widest = 0.85 * scale  # the largest blur: 0.55 + 0.15 * variation, at variation 2
    images = _gaussian_blur(images, p["blur"] * scale, int(np.ceil(3 * widest)))
    noise = rng.standard_normal(images.shape, dtype=np.float32)
    images += _col(p["noise"]) * np.sqrt(0.2 + np.clip(images, 0, 1)) * noise
    return np.clip(images, 0, 1), lungs < 0


def make_chest_xrays(n, prevalence=0.05, image_size=32, seed=None, *, mass_contrast=0.4,
                     mass_radius=(1.0, 2.5), noise=0.04, rib_contrast=0.2, variation=1.0,
                     return_info=False):
    """Synthetic frontal (PA) chest X-ray phantoms, some with a small lung mass.

    SYNTHETIC DATA: these are drawings, not medical images, and have no diagnostic value. They
    model, crudely, what a screening chest film looks like at thumbnail size: two dark lung fields
    (egg-shaped, narrow at the apex, each closed below by a diaphragm dome) inside a brighter
    soft-tissue silhouette; the bright heart low in the middle, bulging into the image's right
    (the patient's left); the mediastinum and spine as a bright central column; clavicles; and
    periodic, curved rib shadows across the lungs. Every image varies its position, size,
    rotation, lung and heart shape, rib spacing, exposure (brightness, contrast, gamma), blur and
    noise. A positive image carries a mass: a faint, round, soft-edged opacity whose whole disc
    lies inside one lung field. Nothing else is modelled: no other disease, no devices, no
    patient age or sex, no real anatomy or physics of X-ray attenuation.

    The difficulty is set by the keyword-only knobs; the defaults aim at a task that a small CNN
    trained plainly at 1-5% prevalence mostly misses at threshold 0.5, but that weighting or
    resampling make it find within the demo's minute (SimpleCNN, 1200 images, 4 epochs). At
    mass_contrast=0.25 the task is harder: a pixel-wise logistic regression reaches AUC about
    0.7 on balanced data, and a minute of CNN training barely learns it.

    Args:
        n: number of images, >= 1.
        prevalence: fraction of positives in [0, 1]; exactly ``round(n * prevalence)`` images
            (Python's round) carry a mass, at seeded random positions in the batch.
        image_size: S, the images are S x S, S >= 16. The anatomy and the mass scale with S.
        seed: int, numpy.random.Generator or None (the library's default Generator).
        mass_contrast: the mass's extra attenuation (each mass draws 0.75-1.25 times this); the
            lung-to-soft-tissue difference is 0.5 and a rib adds up to ``rib_contrast``.
        mass_radius: (low, high) radius in pixels at S = 32, drawn uniformly, scaled by S / 32;
            0.5 <= low <= high <= 2.5 (a larger mass would not fit in every lung).
        noise: standard deviation of the detector noise at mid-grey (each image 0.75-1.25 times).
        rib_contrast: the ribs' extra attenuation; ribs are the structures a mass hides among.
        variation: scales every anatomical and exposure variation, in [0, 2]; 0 draws the same
            body in every image (only the noise and the masses differ).
        return_info: also return a dict with "mass_centre" (N, 2) (row, col in pixels, NaN for
            negatives), "mass_radius" (N,) pixels (NaN for negatives) and "lung_mask" (N, S, S).

    Returns:
        images (N, 1, S, S) float32 in [0, 1] and labels (N,) int64 (1 = mass), then the info
        dict when ``return_info``.

    Every draw but the masses' presence is independent of ``prevalence``: the same seed with
    prevalence 0 and 1 gives the same bodies, without and with a mass (twin images).
    """
    name = "make_chest_xrays"
    n = validate.integer(n, f"{name}: n", min=1)
    prevalence = validate.probability(prevalence, f"{name}: prevalence")
    image_size = validate.integer(image_size, f"{name}: image_size", min=16)
    mass_contrast = validate.non_negative(mass_contrast, f"{name}: mass_contrast")
    noise = validate.non_negative(noise, f"{name}: noise")
    rib_contrast = validate.non_negative(rib_contrast, f"{name}: rib_contrast")
    variation = validate.real(variation, f"{name}: variation", min=0, max=2)
    if not (isinstance(mass_radius, (tuple, list)) and len(mass_radius) == 2):
        raise TypeError(f"{name}: mass_radius must be a (low, high) pair, got {mass_radius!r}")
    low = validate.real(mass_radius[0], f"{name}: mass_radius low", min=0.5, max=2.5)
    high = validate.real(mass_radius[1], f"{name}: mass_radius high", min=low, max=2.5)
    rng = get_generator(seed, name=f"{name}: seed")

    p = _chest_parameters(rng, n, np.float32(variation), np.float32(noise))
    p["mass_radius"] = _uniform(rng, n, low, high) * np.float32(image_size / 32)
    strength = np.float32(mass_contrast) * _uniform(rng, n, 0.75, 1.25)
    p["mass_centre"] = _mass_centres(rng, p, p["mass_radius"], image_size)
    labels = np.zeros(n, dtype=np.int64)
    labels[rng.permutation(n)[:round(n * prevalence)]] = 1
    p["mass_contrast"] = strength * labels.astype(np.float32)  # a negative: its twin, no mass

    images, lungs = _draw_chests(p, image_size, rib_contrast, rng)
    if not return_info:
        return images, labels
    positive = (labels == 1)[:, None]
    info = {"mass_centre": np.where(positive, p["mass_centre"].astype(np.float64), np.nan),
            "mass_radius": np.where(positive[:, 0], p["mass_radius"].astype(np.float64), np.nan),
            "lung_mask": lungs}
    return images, labels, info
