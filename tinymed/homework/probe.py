"""The student's side of a check: call the student's code on fixed inputs, return plain data.

Inputs are made from seeds (`random(seed, shape)`), so the student's side (a child process) and
the grader's side (the parent) build the same numbers without sending them; every call gets a
fresh copy, so a student function that changes its input in place cannot spoil the next check.
"""
import numpy as np

import tinymed as tm


def random(seed, shape, dtype=np.float64, low=None, high=None):
    """Standard-normal numbers (uniform in [low, high) when given), the same for the same seed."""
    generator = np.random.default_rng(seed)
    values = generator.standard_normal(shape) if low is None else generator.uniform(low, high, shape)
    return values.astype(dtype)


def upstream(shape, seed=1000, dtype=np.float64):
    """The gradient dL/d(out) that a check sends into a backward: random, so that a backward
    that forgets to multiply by it gives different numbers."""
    return random(seed, shape, dtype)


def forward(fn, arrays, **options):
    """fn.apply(*tensors, **options).data for tensors made from `arrays` (no backward)."""
    return forward_of(fn.apply, arrays, **options)


def forward_of(call, arrays, **options):
    """As `forward`, for any call on tensors (the library's own, for a reference)."""
    return np.asarray(call(*(tm.Tensor(np.array(a)) for a in arrays), **options).data)


def gradients(fn, arrays, seed=1000, **options):
    """dL/d(each input) for L = sum(upstream * fn.apply(*inputs)), through the engine's backward.
    A None stands for an input that received no gradient."""
    return gradients_of(fn.apply, arrays, seed, **options)


def gradients_of(call, arrays, seed=1000, **options):
    """As `gradients`, for any call on tensors (the library's own, for a reference);
    seed=None sends an upstream gradient of ones (what a backward that forgets it computes)."""
    leaves = [tm.Tensor(np.array(a), requires_grad=True) for a in arrays]
    out = call(*leaves, **options)
    out.backward(np.ones(out.shape, out.data.dtype) if seed is None else upstream(out.shape, seed, out.data.dtype))
    return [None if leaf.grad is None else np.asarray(leaf.grad) for leaf in leaves]
