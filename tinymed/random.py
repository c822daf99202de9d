"""The library's randomness: one default Generator, and how every random component takes `seed`.

Every function or class in tinymed that draws random numbers (initialisation, dropout, samplers,
splits, synthetic data) takes ``seed: int | numpy.random.Generator | None``:

- an ``int`` gives a fresh ``numpy.random.Generator`` seeded with it, so the same int gives
  bit-identical results every time;
- a ``Generator`` is used as it is (and advanced), so one generator can drive a whole experiment;
- ``None`` means the library's default Generator, which ``tinymed.manual_seed(n)`` resets
  (like ``torch.manual_seed``).
"""
import numpy as np

_default_generator = np.random.default_rng()


def manual_seed(seed):
    """Reset the default Generator, so that everything drawn with ``seed=None`` is reproducible.

    Returns the new Generator.
    """
    global _default_generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"manual_seed: seed must be >= 0, got {seed}")
    _default_generator = np.random.default_rng(int(seed))
    return _default_generator


def default_generator():
    """The Generator that ``seed=None`` stands for."""
    return _default_generator


def get_generator(seed=None, name="seed"):
    """Turn a ``seed`` argument (int, Generator or None) into a ``numpy.random.Generator``."""
    if seed is None:
        return _default_generator
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"{name} must be >= 0, got {seed}")
        return np.random.default_rng(int(seed))
    raise TypeError(
        f"{name} must be an int, a numpy.random.Generator or None, got {type(seed).__name__}"
    )
