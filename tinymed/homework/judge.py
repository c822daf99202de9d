"""The grader's side of a check: compare an answer with the reference, say what is wrong.

`close(what, got, expected, context, hints=...)` returns None when `got` matches, else one
message: which quantity, for what input, the worst element, how many differ, and a hint when the
answer equals a known mistake (`hints`: pairs of (message, the value that mistake gives)).
"""
import numpy as np


def _fmt(x):
    return f"{x:.6g}" if isinstance(x, (float, np.floating)) else repr(x)


def _matches(got, value, rtol, atol):
    value = np.asarray(value)
    return got.shape == value.shape and np.allclose(got, value, rtol=rtol, atol=atol)


def close(what, got, expected, context, hints=(), rtol=1e-6, atol=1e-9, dtype=None):
    """None if `got` has `expected`'s shape (and `dtype`, when given) and values, else why not."""
    if got is None:
        return f"{what}: your code returned None ({context}); did you forget a `return`?"
    try:
        array = np.asarray(got, dtype=float if dtype is None and np.asarray(got).dtype.kind in "biu" else None)
    except (TypeError, ValueError):
        array = np.asarray(None)
    if array.dtype.kind not in "biuf":
        return f"{what} should be numbers (an array), got {repr(got)[:200]} ({context})"
    got, expected = array, np.asarray(expected)
    if got.shape != expected.shape:
        return f"{what} has shape {got.shape} but should have shape {expected.shape} ({context})"
    if dtype is not None and got.dtype != np.dtype(dtype):
        return f"{what} is {got.dtype} but should stay {np.dtype(dtype)} ({context}): keep the input's dtype"
    bad = ~np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=False)
    if not bad.any():
        return None
    worst = np.unravel_index(np.argmax(np.where(bad, np.nan_to_num(np.abs(got - expected), nan=np.inf), -1.0)),
                             got.shape)
    where = f"at index {tuple(int(i) for i in worst)} " if got.ndim else ""
    message = (f"{what} is wrong ({context}): {where}expected {_fmt(expected[worst])}, got {_fmt(got[worst])}"
               + (f"; {int(bad.sum())} of {bad.size} values differ." if got.size > 1 else "."))
    named = [text for text, value in hints if _matches(got, value, rtol, atol)]
    if named:
        return message + " " + " ".join(named)
    if got.size > 1 and np.allclose(np.sort(got, axis=None), np.sort(expected, axis=None), rtol=rtol, atol=atol):
        return message + " The right numbers in the wrong places: check the order of your transposes and reshapes."
    return message


def dtype_only(what, got, dtype):
    """None if `got` is an array of `dtype`, else why not."""
    got = np.asarray(got)
    if got.dtype != np.dtype(dtype):
        return f"{what} is {got.dtype} but should stay {np.dtype(dtype)}: keep the input's dtype"
    return None


def finite(what, got, context):
    """None if every value of `got` is a finite number, else which one is not."""
    got = np.asarray(got, dtype=float)
    if np.isfinite(got).all():
        return None
    bad = tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0])
    return f"{what} holds {got[bad]} at index {bad} ({context}): every value should be finite"


def equal(what, got, expected, context, hint=""):
    """None if `got == expected` (numbers, strings, lists), else why not."""
    if got == expected:
        return None
    return f"{what} is wrong ({context}): expected {_fmt(expected)}, got {_fmt(got)}." + (f" {hint}" if hint else "")

