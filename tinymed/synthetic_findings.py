"""Multi-label chest X-ray phantoms: several findings in one image, each with its own
prevalence, as in the course's 14-finding chest X-ray assignment. Re-exported by
`tinymed.datasets`.

The bodies are `make_chest_xrays`'s (see `tinymed.synthetic`); on them four findings are drawn:

    mass          a faint disc, 1.5-2.5 pixels in radius, inside a lung (as make_chest_xrays)
    nodule        a smaller, denser disc, 1.0-1.5 pixels, inside a lung
    effusion      fluid at the base of one lung: the lung field fills from the diaphragm up to a
                  level that rises towards the side (the meniscus)
    cardiomegaly  the heart 30-45% wider and taller than the body's own

SYNTHETIC DATA: drawings, not medical images; no diagnostic value.
"""
import numpy as np

from tinymed import validate
from tinymed.random import get_generator
# the phantom's building blocks and the drawing tools, shared within the synthetic-data files
from tinymed.synthetic import _LUNGS, _add_discs, _chest_parameters, _draw_chests, _mass_centres
from tinymed.synthetic_drawing import _sigmoid, _uniform

FINDINGS = ("mass", "nodule", "effusion", "cardiomegaly")
# rare to common, as in screening: 1 in 50 films shows a nodule, 1 in 5 an enlarged heart
DEFAULT_PREVALENCES = (0.03, 0.02, 0.08, 0.20)


def _effusion(attenuation, p, x, y, lungs):
    """Fluid in one lung (N,): below the level, inside that lung field, extra attenuation."""
    side = p["effusion_side"].reshape(-1, 1, 1)  # -1: the patient's right lung (image left), +1: left
    centre_x = np.where(side < 0, _LUNGS[0][0], _LUNGS[1][0]).astype(np.float32)
    lateral = np.maximum(side * (x - centre_x), 0)  # frame units away from the lung's centre line
    level = p["effusion_level"].reshape(-1, 1, 1) - 0.6 * lateral  # the meniscus climbs the side wall
    edge = np.float32(1.5 / x.shape[-1])
    fluid = _sigmoid((y - level) / 0.03) * _sigmoid(-lungs / edge) * (side * x > 0.05)
    attenuation += p["effusion_contrast"].reshape(-1, 1, 1) * fluid


def _findings(attenuation, p, x, y, lungs):
    _add_discs(attenuation, p["nodule_centre"], p["nodule_radius"], p["nodule_contrast"], x.shape[-1])
    _effusion(attenuation, p, x, y, lungs)


def make_chest_findings(n, prevalences=DEFAULT_PREVALENCES, image_size=32, seed=None):
    """Synthetic chest X-ray phantoms with several findings at once: (N, K) 0/1 targets.

    Each finding k of ``FINDINGS`` (mass, nodule, effusion, cardiomegaly) is present in exactly
    ``round(n * prevalences[k])`` images, chosen independently of the other findings (so some
    images hold two or more, most none). Every draw but the findings' presence is independent
    of ``prevalences``: the same seed gives the same bodies, with or without findings.

    Args:
        n: number of images, >= 1.
        prevalences: one fraction in [0, 1] per finding, in the order of ``FINDINGS``; the
            default (0.03, 0.02, 0.08, 0.20) spans rare to common.
        image_size: S >= 16; the anatomy and the findings scale with S.
        seed: int, numpy.random.Generator or None (the library's default Generator).

    Returns:
        images (N, 1, S, S) float32 in [0, 1] and labels (N, 4) int64, column k = FINDINGS[k].
    """
    name = "make_chest_findings"
    n = validate.integer(n, f"{name}: n", min=1)
    if not isinstance(prevalences, (tuple, list, np.ndarray)) or len(prevalences) != len(FINDINGS):
        raise TypeError(f"{name}: prevalences must be {len(FINDINGS)} fractions, one per finding "
                        f"{FINDINGS}, got {prevalences!r}")
    prevalences = [validate.probability(v, f"{name}: prevalences[{k}] ({FINDINGS[k]})")
                   for k, v in enumerate(prevalences)]
    image_size = validate.integer(image_size, f"{name}: image_size", min=16)
    rng = get_generator(seed, name=f"{name}: seed")

    labels = np.zeros((n, len(FINDINGS)), dtype=np.int64)
    for k, prevalence in enumerate(prevalences):
        labels[rng.permutation(n)[:round(n * prevalence)], k] = 1
    present = {finding: labels[:, k].astype(np.float32) for k, finding in enumerate(FINDINGS)}
    p = _chest_parameters(rng, n, np.float32(1), np.float32(0.04))
    pixels = np.float32(image_size / 32)
    for finding, (low, high), (weak, strong) in (("mass", (1.5, 2.5), (0.45, 0.65)),
                                                 ("nodule", (1.0, 1.5), (0.6, 0.85))):
        p[f"{finding}_radius"] = _uniform(rng, n, low, high) * pixels
        p[f"{finding}_contrast"] = _uniform(rng, n, weak, strong) * present[finding]
        p[f"{finding}_centre"] = _mass_centres(rng, p, p[f"{finding}_radius"], image_size)
    # after the discs are placed, so that their draws do not depend on which hearts are large
    # (an enlarged heart may then overlap a disc, as a real one hides what lies behind it)
    p["heart_size"] = p["heart_size"] * (1 + present["cardiomegaly"] * _uniform(rng, n, 0.30, 0.45))
    p["effusion_side"] = np.where(rng.random(n) < 0.5, -1, 1).astype(np.float32)
    p["effusion_level"] = _uniform(rng, n, 0.15, 0.35)
    p["effusion_contrast"] = _uniform(rng, n, 0.3, 0.45) * present["effusion"]
    images, _ = _draw_chests(p, image_size, 0.2, rng, _findings)
    return images, labels
