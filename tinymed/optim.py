"""Optimizers: how gradients become parameter updates (the schedules are in `lr_scheduler`).

After `loss.backward()` every parameter `p` holds `p.grad` = dL/dp. An optimizer turns that
gradient into a step: plain SGD moves `p` against the gradient, momentum remembers past
gradients, Adam scales each coordinate by a running estimate of the gradient's size (RMSprop
and Adagrad by the running or the summed squared gradient).

    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in loader:
        opt.zero_grad()                 # grads to None, so backward starts from zero
        loss_fn(model(x), y).backward()
        opt.step()

What every optimizer shares (parameter groups, skipping frozen parameters first, the checks of
options, state dicts) is the base class `Optimizer`, in `tinymed.optimizer` and importable from
here as `optim.Optimizer`. Each optimizer below only says how one parameter's gradient becomes
its new value.
"""

import numpy as np

from tinymed import lr_scheduler  # the schedules: optim.lr_scheduler.StepLR, as in PyTorch, or optim.StepLR
from tinymed import validate
from tinymed.lr_scheduler import (
    CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR, MultiStepLR, OneCycleLR, ReduceLROnPlateau, StepLR,
)
from tinymed.optimizer import Optimizer

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler", "StepLR", "MultiStepLR",
    "ExponentialLR", "CosineAnnealingLR", "LinearLR", "LambdaLR", "OneCycleLR", "ReduceLROnPlateau",
]


def _betas(value, name):
    """A pair (beta1, beta2), each in [0, 1) -> tuple of floats (a list from a saved file too)."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair of numbers in [0, 1), e.g. (0.9, 0.999), got {value!r}")
    return tuple(validate.real(b, f"{name}[{i}]", min=0, below=1) for i, b in enumerate(value))


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 decay.

    Per parameter p with gradient g, as `torch.optim.SGD`::

        g   = g + weight_decay * p                      (L2 penalty, added to the gradient)
        buf = g                                         (first step)
        buf = momentum * buf + (1 - dampening) * g      (later steps; only if momentum > 0)
        g   = g + momentum * buf   if nesterov   else   buf
        p   = p - lr * g

    Nesterov needs momentum > 0 and dampening 0 (as PyTorch).
    """

    checks = {**Optimizer.checks, "momentum": validate.non_negative, "dampening": validate.non_negative,
              "nesterov": validate.boolean}

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0, nesterov=False, dampening=0.0):
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                        nesterov=nesterov, dampening=dampening)
        super().__init__(params, defaults)

    def _check_options(self, group, label):
        super()._check_options(group, label)
        if group["nesterov"] and (group["momentum"] == 0.0 or group["dampening"] != 0.0):
            raise ValueError(
                f"{label('nesterov')}=True needs momentum > 0 and dampening 0, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}"
            )

    def _update(self, p, grad, state, group):
        momentum, wd = group["momentum"], group["weight_decay"]
        if wd != 0.0:
            grad = grad + wd * p
        if momentum != 0.0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= momentum
                buf += (1.0 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        return p - group["lr"] * grad


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with L2 weight decay added to the gradient, as `torch.optim.Adam`.

    Per parameter p with gradient g, at step t = 1, 2, ...::

        g     = g + weight_decay * p                    (L2 penalty: also rescaled by Adam)
        m     = beta1 * m + (1 - beta1) * g             (running mean of the gradient)
        v     = beta2 * v + (1 - beta2) * g**2          (running mean of its square)
        v     = max(v_max, v)   if amsgrad              (AMSGrad: the denominator never shrinks)
        m_hat = m / (1 - beta1**t),  v_hat = v / (1 - beta2**t)   (undo the bias towards 0)
        p     = p - lr * m_hat / (sqrt(v_hat) + eps)

    State per parameter: "step" (int), "exp_avg" (m), "exp_avg_sq" (v) and, with amsgrad,
    "max_exp_avg_sq" (v_max), PyTorch's names.
    """

    checks = {**Optimizer.checks, "betas": _betas, "eps": validate.positive, "amsgrad": validate.boolean}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))

    def _update(self, p, grad, state, group):
        if group["weight_decay"] != 0.0:
            grad = grad + group["weight_decay"] * p
        return p - self._adam_step(grad, state, group)

    @staticmethod
    def _adam_step(grad, state, group):
        """The moment updates and the step lr * m_hat / (sqrt(v_hat) + eps), shared with AdamW."""
        beta1, beta2 = group["betas"]
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(grad), exp_avg_sq=np.zeros_like(grad))
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1.0 - beta1) * grad
        v *= beta2
        v += (1.0 - beta2) * grad * grad
        if group["amsgrad"]:
            v = state.setdefault("max_exp_avg_sq", np.zeros_like(grad))
            np.maximum(v, state["exp_avg_sq"], out=v)
        m_hat = m / (1.0 - beta1**t)
        v_hat = v / (1.0 - beta2**t)
        return group["lr"] * m_hat / (np.sqrt(v_hat) + group["eps"])


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as `torch.optim.AdamW`.

    The decay shrinks the parameter directly instead of entering the gradient, so Adam's
    per-coordinate scaling does not weaken it where gradients are large::

        p = p * (1 - lr * weight_decay)
        p = p - lr * m_hat / (sqrt(v_hat) + eps)        (the Adam step on the raw gradient)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)

    def _update(self, p, grad, state, group):
        p = p * (1.0 - group["lr"] * group["weight_decay"])
        return p - self._adam_step(grad, state, group)


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e): divide each coordinate by a running RMS of its gradient,
    as `torch.optim.RMSprop` (PyTorch's defaults)::

        g   = g + weight_decay * p
        v   = alpha * v + (1 - alpha) * g**2            (running mean of the squared gradient)
        avg = sqrt(v) + eps
        avg = sqrt(v - g_avg**2) + eps   if centered    (g_avg = alpha * g_avg + (1 - alpha) * g:
                                                         divide by a running standard deviation)
        buf = momentum * buf + g / avg,  p = p - lr * buf   if momentum > 0
        p   = p - lr * g / avg                              otherwise

    State per parameter: "step", "square_avg" (v), "momentum_buffer", "grad_avg", PyTorch's
    names. Unlike PyTorch, alpha must be at most 1 and eps above 0.
    """

    checks = {**Optimizer.checks, "alpha": validate.probability, "eps": validate.positive,
              "momentum": validate.non_negative, "centered": validate.boolean}

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered)
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        alpha, momentum = group["alpha"], group["momentum"]
        if group["weight_decay"] != 0.0:
            grad = grad + group["weight_decay"] * p
        if not state:
            state.update(step=0, square_avg=np.zeros_like(grad))
        state["step"] += 1
        v = state["square_avg"]
        v *= alpha
        v += (1.0 - alpha) * grad * grad
        if group["centered"]:
            g_avg = state.setdefault("grad_avg", np.zeros_like(grad))
            g_avg *= alpha
            g_avg += (1.0 - alpha) * grad
            avg = np.sqrt(v - g_avg * g_avg) + group["eps"]
        else:
            avg = np.sqrt(v) + group["eps"]
        step = grad / avg
        if momentum > 0.0:
            buf = state.setdefault("momentum_buffer", np.zeros_like(grad))
            buf *= momentum
            buf += step
            step = buf
        return p - group["lr"] * step


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): divide each coordinate by the root of the sum of all its
    squared gradients so far, as `torch.optim.Adagrad` (PyTorch's defaults). At step t = 1, 2, ...::

        g   = g + weight_decay * p
        lr_t = lr / (1 + (t - 1) * lr_decay)
        s   = s + g**2                                  (s starts at initial_accumulator_value)
        p   = p - lr_t * g / (sqrt(s) + eps)

    Coordinates with large gradients slow down for good; a rarely active feature keeps a large
    step. State per parameter: "step", "sum", PyTorch's names (created at the first step here,
    at construction in PyTorch). Unlike PyTorch, eps must be above 0.
    """

    checks = {**Optimizer.checks, "lr_decay": validate.non_negative, "eps": validate.positive,
              "initial_accumulator_value": validate.non_negative}

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        if group["weight_decay"] != 0.0:
            grad = grad + group["weight_decay"] * p
        if not state:
            state.update(step=0, sum=np.full_like(grad, group["initial_accumulator_value"]))
        state["step"] += 1
        lr = group["lr"] / (1.0 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += grad * grad
        return p - lr * grad / (np.sqrt(state["sum"]) + group["eps"])
