"""The Optimizer base class: parameter groups, frozen parameters, option checks, state dicts.

The update rules (SGD, Adam, ...) are in `tinymed.optim`; this file holds what they share.
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

from tinymed import validate
from tinymed.autograd import Tensor

__all__ = ["Optimizer"]


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
# The checks of what an optimizer is given
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
