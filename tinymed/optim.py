"""Optimizers: how gradients become parameter updates (the schedules are in `lr_scheduler`).

After `loss.backward()` every parameter `p` holds `p.grad` = dL/dp. An optimizer turns that
gradient into a step: plain SGD moves `p` against the gradient, momentum remembers past
gradients, Adam scales each coordinate by a running estimate of the gradient's size.

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

Updates rebind `p.data` to a new array of the parameter's dtype (float32 stays float32) rather
than writing into it: a graph may still hold the old array read-only. The optimizer's own state
(momentum buffers, moments) is never seen by a graph, so it is updated in place.
"""

import numpy as np

from tinymed import lr_scheduler  # the schedules: optim.lr_scheduler.StepLR, as in PyTorch, or optim.StepLR
from tinymed.autograd import Tensor
from tinymed.lr_scheduler import CosineAnnealingLR, LinearLR, StepLR

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "StepLR", "CosineAnnealingLR", "LinearLR", "lr_scheduler"]


def _option(group, key, owner):
    """Turn group[key] into a Python float, so no NumPy scalar can promote float32 updates."""
    value = group[key]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: {key} must be a number, got {value!r}")
    group[key] = float(value)
    return group[key]


class Optimizer:
    """Base class: parameter groups, skipping frozen parameters, zero_grad, state dicts.

    `params`: an iterable of float leaf Tensors (e.g. `model.parameters()`), or of dicts, each
    `{"params": iterable of Tensors, **options}`; options missing from a dict come from
    `defaults`. `param_groups` is the list of those dicts (options may be changed between steps:
    that is how schedules work). `state[id(p)]` holds what the optimizer remembers about `p`.
    A subclass implements `_update(p, grad, state, group) -> new array for p`.
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.param_groups = []
        self.state = {}  # id(param) -> dict of state arrays; the groups keep each param alive
        name = type(self).__name__
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
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add a dict `{"params": ..., **options}`; missing options come from the defaults."""
        name = type(self).__name__
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(
                f"{name}: a parameter group must be a dict with a 'params' entry, got {param_group!r:.80}"
            )
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{name}: a parameter group has an empty 'params' list")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
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
        unknown = set(param_group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(f"{name}: unknown option(s) {sorted(unknown)} in a parameter group")
        group = {**self.defaults, **param_group, "params": params}
        self._check_options(group)
        self.param_groups.append(group)

    def _check_options(self, group):
        """Validate (and normalise to Python numbers) one group's options; subclasses extend."""
        for key in ("lr", "weight_decay"):
            if _option(group, key, type(self).__name__) < 0.0:
                raise ValueError(f"{type(self).__name__}: {key} must be >= 0, got {group[key]}")

    def zero_grad(self):
        """Set every parameter's `.grad` to None (as PyTorch's default `set_to_none=True`)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self):
        """Update every parameter that requires grad and has a `.grad`; leave the others alone."""
        for group in self.param_groups:
            # Options may have changed since (a schedule, a user): check them again, and make
            # them Python floats, as a NumPy float64 lr would turn float32 parameters into float64.
            self._check_options(group)
            for p in group["params"]:
                if not p.requires_grad or p.grad is None:
                    continue  # before weight decay and momentum: a frozen parameter never moves
                grad = np.asarray(p.grad)
                if grad.shape != p.shape:
                    raise ValueError(
                        f"{type(self).__name__}.step: a parameter of shape {p.shape} has a grad "
                        f"of shape {grad.shape}"
                    )
                if grad.dtype != p.dtype:
                    # a float64 grad would silently turn a float32 parameter into float64
                    raise TypeError(
                        f"{type(self).__name__}.step: a {p.dtype} parameter has a {grad.dtype} grad"
                    )
                state = self.state.setdefault(id(p), {})
                p.data = self._update(p.data, grad, state, group)

    def _update(self, p, grad, state, group):
        raise NotImplementedError

    def state_dict(self):
        """`{"state": {index: {name: array copy or int}}, "param_groups": [{options, "params": [indices]}]}`.

        As PyTorch's: parameters are numbered 0, 1, ... in group order, and only parameters that
        have state appear in "state". Plain dicts, lists, numbers and NumPy arrays only.
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
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError(f"{name}: expected a dict with keys 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}: the state dict has {len(saved_groups)} parameter groups but this "
                f"optimizer has {len(self.param_groups)}"
            )
        params_by_index = {}
        for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}: parameter group {g} has {len(saved['params'])} parameters in the "
                    f"state dict but {len(group['params'])} here"
                )
            params_by_index.update(zip(saved["params"], group["params"]))
        new_state = {}
        for index, saved in state_dict["state"].items():
            if index not in params_by_index:
                raise ValueError(f"{name}: state for parameter {index}, which no group lists")
            p = params_by_index[index]
            entry = {}
            for key, value in saved.items():
                if isinstance(value, np.ndarray):
                    if value.shape != p.shape:
                        raise ValueError(
                            f"{name}: state '{key}' of parameter {index} has shape {value.shape} "
                            f"but the parameter has shape {p.shape}"
                        )
                    value = value.astype(p.dtype, copy=True)
                entry[key] = value
            new_state[id(p)] = entry
        new_groups = []
        for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            options = {k: v for k, v in saved.items() if k != "params"}
            if set(options) != set(self.defaults):
                raise ValueError(
                    f"{name}: parameter group {g} has options {sorted(options)} but this "
                    f"optimizer's are {sorted(self.defaults)}"
                )
            new_groups.append({**options, "params": group["params"]})
            self._check_options(new_groups[-1])
        for group, new in zip(self.param_groups, new_groups):
            group.update(new)
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            options = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} parameters, {options}")
        return "\n".join(lines + [")"])


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

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0, nesterov=False, dampening=0.0):
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                        nesterov=nesterov, dampening=dampening)
        super().__init__(params, defaults)

    def _check_options(self, group):
        super()._check_options(group)
        for key in ("momentum", "dampening"):
            if _option(group, key, "SGD") < 0.0:
                raise ValueError(f"SGD: {key} must be >= 0, got {group[key]}")
        group["nesterov"] = bool(group["nesterov"])
        if group["nesterov"] and (group["momentum"] == 0.0 or group["dampening"] != 0.0):
            raise ValueError(
                f"SGD: nesterov=True needs momentum > 0 and dampening 0, got "
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
        m_hat = m / (1 - beta1**t),  v_hat = v / (1 - beta2**t)   (undo the bias towards 0)
        p     = p - lr * m_hat / (sqrt(v_hat) + eps)

    State per parameter: "step" (int), "exp_avg" (m), "exp_avg_sq" (v), PyTorch's names.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def _check_options(self, group):
        name = type(self).__name__
        super()._check_options(group)
        try:
            beta1, beta2 = (float(b) for b in group["betas"])
        except (TypeError, ValueError):
            raise TypeError(f"{name}: betas must be a pair of numbers, got {group['betas']!r}") from None
        for i, b in enumerate((beta1, beta2)):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"{name}: betas[{i}] must be in [0, 1), got {b}")
        group["betas"] = (beta1, beta2)
        if not _option(group, "eps", name) > 0.0:
            raise ValueError(f"{name}: eps must be > 0, got {group['eps']}")

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

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _update(self, p, grad, state, group):
        p = p * (1.0 - group["lr"] * group["weight_decay"])
        return p - self._adam_step(grad, state, group)

