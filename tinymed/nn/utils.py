"""Gradient clipping (PyTorch's `torch.nn.utils.clip_grad_norm_` / `clip_grad_value_`): call
between `loss.backward()` and `optimizer.step()` to stop one bad batch from throwing the weights
far away (exploding gradients). Both change the gradients in place, as the trailing _ says."""
import math

import numpy as np

from tinymed import validate
from tinymed.autograd import Tensor


def _grads(fn, parameters):
    """The gradient arrays of the parameters that have one (`np.asarray(p.grad)`: the grad may be
    a NumPy array or a Tensor; either way this is the array itself, changed in place below)."""
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in parameters:
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: parameters must be Tensors (e.g. model.parameters()), got {type(p).__name__}")
    return [np.asarray(p.grad) for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so that their total norm is at most `max_norm`:

        total = (sum over every gradient element of |g|^norm_type) ^ (1 / norm_type)
        g <- g * min(1, max_norm / (total + 1e-6))

    (norm_type=inf: total = the largest |g|). The direction of the step is kept; only its
    length shrinks. Returns the total norm before clipping, as a float (PyTorch returns a
    0-d tensor). error_if_nonfinite=True raises if the total is nan or inf.
    """
    max_norm = validate.positive(max_norm, "clip_grad_norm_: max_norm")
    norm_type = validate.real(norm_type, "clip_grad_norm_: norm_type", above=0, finite=False)
    error_if_nonfinite = validate.boolean(error_if_nonfinite, "clip_grad_norm_: error_if_nonfinite")
    grads = _grads("clip_grad_norm_", parameters)
    if not grads:
        return 0.0
    if math.isinf(norm_type):
        total = max(float(np.abs(g).max(initial=0.0)) for g in grads)
    else:
        total = sum(float(np.sum(np.abs(g, dtype=np.float64) ** norm_type)) for g in grads) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise ValueError(f"clip_grad_norm_: the total norm of the gradients is {total}; "
                         f"a loss or a gradient went non-finite before clipping")
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g *= g.dtype.type(scale)
    return total


def clip_grad_value_(parameters, clip_value):
    """Clip every gradient element into [-clip_value, clip_value], in place. Returns None."""
    clip_value = validate.positive(clip_value, "clip_grad_value_: clip_value")
    for g in _grads("clip_grad_value_", parameters):
        np.clip(g, -clip_value, clip_value, out=g)
