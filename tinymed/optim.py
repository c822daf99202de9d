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

Parameter groups give different parts of a model their own options, e.g. a small learning rate
for pretrained layers and a larger one for a new classifier head:

    optim.SGD([{"params": model.features.parameters(), "lr": 1e-3},
               {"params": model.classifier.parameters()}], lr=1e-2, momentum=0.9)

Frozen parameters are skipped FIRST. `step()` ignores every parameter that does not require
grad or whose `.grad` is None, before weight decay or momentum are applied. This matters in
transfer learning: a frozen layer gets no gradient, yet weight decay (g = grad + wd*p) would
still shrink it, and a momentum buffer filled before the layer was frozen would keep moving it.
Skipping first guarantees that a frozen parameter stays bit-identical, whatever the options.

Options are checked where they enter: by the constructor, `add_param_group` and
`load_state_dict`, and, because a user or a schedule may write `param_groups[i]["lr"]` at any
time, once more per group at each `step()` (a handful of numbers: cheap). Every option must be a
finite number (NaN and inf are refused), made a Python float so that no NumPy float64 scalar can
promote float32 parameters.

Updates rebind `p.data` to a new array of the parameter's dtype (float32 stays float32) rather
than writing into it: a graph may still hold the old array read-only. The optimizer's own state
(momentum buffers, moments) is never seen by a graph, so it is updated in place.
"""

import numpy as np

from tinymed import lr_scheduler  # the schedules: optim.lr_scheduler.StepLR, as in PyTorch, or optim.StepLR
from tinymed import validate
from tinymed.autograd import Tensor
from tinymed.lr_scheduler import (
    CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR, MultiStepLR, OneCycleLR, ReduceLROnPlateau, StepLR,
)

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler", "StepLR", "MultiStepLR",
    "ExponentialLR", "CosineAnnealingLR", "LinearLR", "LambdaLR", "OneCycleLR", "ReduceLROnPlateau",
]


def _betas(value, name):
    """A pair (beta1, beta2), each in [0, 1) -> tuple of floats (a list from a saved file too)."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair of numbers in [0, 1), e.g. (0.9, 0.999), got {value!r}")
    return tuple(validate.real(b, f"{name}[{i}]", min=0, below=1) for i, b in enumerate(value))


class Optimizer:
    """Base class: parameter groups, skipping frozen parameters, zero_grad, state dicts.

    `params`: an iterable of float leaf Tensors (e.g. `model.parameters()`), or of dicts, each
    `{"params": iterable of Tensors, **options}`; options missing from a dict come from
    `defaults`. `param_groups` is the list of those dicts (options may be changed between steps:
    that is how schedules work). `state[id(p)]` holds what the optimizer remembers about `p`.
    A subclass lists its options' checks in `checks` ({option: validator}) and implements
    `_update(p, grad, state, group) -> new array for p`.
    """

    checks = {"lr": validate.non_negative, "weight_decay": validate.non_negative}

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.param_groups = []
        self.state = {}  # id(param) -> dict of state arrays; the groups keep each param alive
        for group in _groups(params, type(self).__name__):
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add a dict `{"params": ..., **options}`; missing options come from the defaults."""
        name = type(self).__name__
        params = _group_params(param_group, name, seen={id(p) for g in self.param_groups for p in g["params"]})
        unknown = set(param_group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(f"{name}: unknown option(s) {sorted(unknown)} in a parameter group")
        group = {**self.defaults, **param_group, "params": params}
        self._check_options(group, lambda key: f"{name}: {key}")
        self.param_groups.append(group)

    def _check_options(self, group, label):
        """Validate one group's options in place (Python floats, bools, pairs); `label(key)` is
        the name an error message shows. Subclasses add rules between options."""
        for key, check in self.checks.items():
            group[key] = check(group[key], label(key))

    def zero_grad(self):
        """Set every parameter's `.grad` to None (as PyTorch's default `set_to_none=True`)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self):
        """Update every parameter that requires grad and has a `.grad`; leave the others alone."""
        name = type(self).__name__
        for i, group in enumerate(self.param_groups):
            self._check_options(group, lambda key: f"{name}.step: param_groups[{i}][{key!r}]")
            for p in group["params"]:
                if not p.requires_grad or p.grad is None:
                    continue  # before weight decay and momentum: a frozen parameter never moves
                grad = np.asarray(p.grad)
                _check_grad(p, grad, name)
                state = self.state.setdefault(id(p), {})
                p.data = self._update(p.data, grad, state, group)

    def _update(self, p, grad, state, group):
        raise NotImplementedError

    def state_dict(self):
        """`{"state": {index: {name: array copy or int}}, "param_groups": [{options, "params": [indices]}]}`.

        As PyTorch's: parameters are numbered 0, 1, ... in group order, and only parameters that
        have state appear in "state". Plain dicts, lists, numbers and NumPy arrays only, so
        `tm.save({"optimizer": opt.state_dict(), ...}, path)` writes it to a safe weight file.
        """
        params = [p for group in self.param_groups for p in group["params"]]
        index = {id(p): i for i, p in enumerate(params)}
        state = {
            index[key]: {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in s.items()}
            for key, s in self.state.items() if s
        }
        groups, start = [], 0
        for group in self.param_groups:
            n = len(group["params"])
            groups.append({**group, "params": list(range(start, start + n))})
            start += n
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore options and state saved by `state_dict()` from an optimizer over parameters of
        the same shapes, grouped the same way. Arrays are copied and cast to each parameter's dtype."""
        name = f"{type(self).__name__}.load_state_dict"
        params_by_index = _match_groups(state_dict, self.param_groups, name)
        new_state = {}
        for index, saved in state_dict["state"].items():
            index = int(index)  # a str from a JSON file written by another tool
            if index not in params_by_index:
                raise ValueError(f"{name}: state for parameter {index}, which no group lists")
            p = params_by_index[index]
            new_state[id(p)] = {key: _state_value(value, p, key, index, name) for key, value in saved.items()}
        new_groups = []
        for g, (saved, group) in enumerate(zip(state_dict["param_groups"], self.param_groups)):
            options = {k: v for k, v in saved.items() if k != "params"}
            unknown = set(options) - set(self.defaults)
            if unknown:
                raise ValueError(
                    f"{name}: parameter group {g} has options {sorted(unknown)}, which this optimizer does "
                    f"not have (its options are {sorted(self.defaults)}): a state dict of another optimizer?"
                )
            # an option missing from an older state dict (Adam's amsgrad) keeps this optimizer's value
            new_groups.append({**self.defaults, **options, "params": group["params"]})
            self._check_options(new_groups[-1], lambda key: f"{name}: param_groups[{g}][{key!r}]")
        for group, new in zip(self.param_groups, new_groups):
            group.update(new)
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            options = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} parameters, {options}")
        return "\n".join(lines + [")"])


# ---------------------------------------------------------------------------------------------
# The checks of what an optimizer is given (the rails; the update rules follow below)
# ---------------------------------------------------------------------------------------------


def _groups(params, name):
    """`params` (Tensors or group dicts) as a non-empty list of group dicts."""
    if isinstance(params, (Tensor, dict)):
        raise TypeError(
            f"{name}: params must be an iterable of Tensors or of dicts, got a single "
            f"{type(params).__name__} (wrap it in a list)"
        )
    if hasattr(params, "parameters") and hasattr(params, "named_parameters"):
        raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts, got the model "
                        f"{type(params).__name__}: pass model.parameters()")
    groups = list(params)
    if not groups:
        raise ValueError(f"{name}: params is an empty list; there is nothing to optimize")
    return groups if isinstance(groups[0], dict) else [{"params": groups}]


def _group_params(param_group, name, seen):
    """The list of float leaf Tensors of one group, none of them in `seen` (ids) or twice."""
    if not isinstance(param_group, dict) or "params" not in param_group:
        raise TypeError(
            f"{name}: a parameter group must be a dict with a 'params' entry, got {param_group!r:.80}"
        )
    params = param_group["params"]
    params = [params] if isinstance(params, Tensor) else list(params)
    if not params:
        raise ValueError(f"{name}: a parameter group has an empty 'params' list")
    seen = set(seen)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: params[{i}] must be a Tensor, got {type(p).__name__}")
        if p.dtype.kind != "f":
            raise TypeError(f"{name}: params[{i}] must be a float tensor, got dtype {p.dtype}")
        if not p.is_leaf:
            raise ValueError(
                f"{name}: params[{i}] was computed by {p.grad_fn}; only leaf tensors "
                f"(parameters) can be optimized"
            )
        if id(p) in seen:
            raise ValueError(
                f"{name}: params[{i}] (shape {p.shape}) appears twice (in two parameter "
                f"groups or twice in one); each parameter must be in exactly one group"
            )
        seen.add(id(p))
    return params


def _check_grad(p, grad, name):
    if grad.shape != p.shape:
        raise ValueError(f"{name}.step: a parameter of shape {p.shape} has a grad of shape {grad.shape}")
    if grad.dtype != p.dtype:
        # a float64 grad would silently turn a float32 parameter into float64
        raise TypeError(f"{name}.step: a {p.dtype} parameter has a {grad.dtype} grad")


def _match_groups(state_dict, param_groups, name):
    """{saved parameter index: parameter}, after checking that the groups line up."""
    if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
        raise ValueError(f"{name}: expected a dict with keys 'state' and 'param_groups'")
    saved_groups = state_dict["param_groups"]
    if len(saved_groups) != len(param_groups):
        raise ValueError(
            f"{name}: the state dict has {len(saved_groups)} parameter groups but this "
            f"optimizer has {len(param_groups)}"
        )
    params_by_index = {}
    for g, (saved, group) in enumerate(zip(saved_groups, param_groups)):
        if len(saved["params"]) != len(group["params"]):
            raise ValueError(
                f"{name}: parameter group {g} has {len(saved['params'])} parameters in the "
                f"state dict but {len(group['params'])} here"
            )
        params_by_index.update(zip((int(i) for i in saved["params"]), group["params"]))
    return params_by_index


def _state_value(value, p, key, index, name):
    """A saved state entry: an array of p's shape (copied, in p's dtype), or a number as it is."""
    if not isinstance(value, np.ndarray):
        return value
    if value.shape != p.shape:
        raise ValueError(
            f"{name}: state '{key}' of parameter {index} has shape {value.shape} "
            f"but the parameter has shape {p.shape}"
        )
    return value.astype(p.dtype, copy=True)


# ---------------------------------------------------------------------------------------------
# The update rules
# ---------------------------------------------------------------------------------------------


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
