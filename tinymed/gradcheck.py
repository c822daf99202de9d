"""Check a backward against the definition of the derivative (central differences).

For every input element x_i and output element y_j, the analytic derivative dy_j/dx_i (from
`backward`) must match the numeric one

    (f(x + eps e_i)_j - f(x - eps e_i)_j) / (2 eps)        error O(eps^2)

to within `atol + rtol * |numeric|`. This is how every op and layer in tinymed is tested, and
how a grader checks a student's backward.
"""
import numpy as np

from tinymed.autograd import Tensor, no_grad


class GradcheckError(AssertionError):
    """A backward disagrees with finite differences. An AssertionError, so pytest shows it as a
    failed check (PyTorch's GradcheckError is a RuntimeError)."""


def _outputs(fn, inputs):
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    return out


def _position(flat_index, shape):
    return tuple(int(i) for i in np.unravel_index(flat_index, shape))


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compare the analytic Jacobian of `fn` with central differences, for every input that
    requires grad.

    fn: called as `fn(*inputs)`, returns a Tensor of any shape.
    inputs: a Tensor or a tuple of them; those that require grad must be float64 (float32's
        7 significant digits are all lost in a difference of size eps).
    Returns True; on a mismatch raises `GradcheckError` (or returns False when
    `raise_exception=False`) naming the input, the element, and both values.
    Cost: one backward per output element and two forward calls per input element, so keep
    shapes small.
    """
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be a function of the inputs returning a Tensor, got {type(fn).__name__}")
    for name, value, least in (("eps", eps, "> 0"), ("atol", atol, ">= 0"), ("rtol", rtol, ">= 0")):
        number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
        if not number or not np.isfinite(value) or value < 0 or (value == 0 and least == "> 0"):
            raise ValueError(f"gradcheck: {name} must be a finite number {least}, got {value!r}")
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {i} is {inputs[i].dtype}, but gradcheck needs float64: with "
                f"eps={eps}, f(x+eps) - f(x-eps) in float32 (about 7 significant digits) is mostly "
                f"rounding error. Use tm.tensor(..., dtype=np.float64) or .double()"
            )

    saved_grads = [inputs[i].grad for i in checked]
    out = _outputs(fn, inputs)
    if out.dtype != np.float64:
        raise TypeError(f"gradcheck: fn returned {out.dtype}; with float64 inputs it should return float64")

    # Analytic Jacobian: one backward per output element j, with grad = e_j.
    analytic = [np.zeros((out.size, inputs[i].size)) for i in checked]
    for j in range(out.size):
        for i in checked:
            inputs[i].grad = None
        seed = np.zeros(out.size)
        seed[j] = 1.0
        if out.requires_grad:
            out.backward(seed.reshape(out.shape), retain_graph=True)
        for column, i in enumerate(checked):
            if inputs[i].grad is not None:
                analytic[column][j] = np.asarray(inputs[i].grad).ravel()
    for i, grad in zip(checked, saved_grads):
        inputs[i].grad = grad

    # Numeric Jacobian: nudge one element at a time. The data is replaced, never written in
    # place, because the graph built above holds the original arrays read-only.
    with no_grad():
        for column, i in enumerate(checked):
            x = inputs[i]
            original = x.data
            for k in range(x.size):
                nudged = original.copy()
                nudged.flat[k] += eps
                x.data = nudged
                plus = _outputs(fn, inputs).data.ravel().copy()  # may be a view of `nudged`
                nudged.flat[k] -= 2 * eps
                minus = _outputs(fn, inputs).data.ravel()
                x.data = original
                numeric = (plus - minus) / (2 * eps)
                a = analytic[column][:, k]
                # Written as "not close" so that a NaN on either side counts as a mismatch.
                bad = ~(np.abs(a - numeric) <= atol + rtol * np.abs(numeric))
                if bad.any():
                    j = int(np.argmax(np.where(bad, np.abs(a - numeric), -1)))
                    message = (
                        f"gradcheck: input {i} (shape {x.shape}), element "
                        f"{_position(k, x.shape)}, output element {_position(j, out.shape)}: analytic "
                        f"{a[j]:.6g} but numeric {numeric[j]:.6g} (atol={atol}, rtol={rtol})"
                    )
                    if raise_exception:
                        raise GradcheckError(message)
                    return False
    return True
