"""The state dict: a model's weights and buffers as {dotted name: array}, and loading them back.

The keys are PyTorch's ("features.0.weight", "features.1.running_mean"), in registration order:
each module's parameters, then its buffers. Loading is all or nothing: every key, type and shape
is checked before a single array is replaced, so a failed load leaves the model as it was.
"""
import collections
from collections.abc import Mapping

import numpy as np

from tinymed.autograd import Tensor

IncompatibleKeys = collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _slots(model):
    """{dotted key: (module, "_parameters" or "_buffers", name, current value)}, PyTorch's order."""
    slots = {}
    for module_name, module in model.named_modules(remove_duplicate=False):
        for kind in ("_parameters", "_buffers"):
            for name, current in getattr(module, kind).items():
                if current is not None:
                    slots[f"{module_name}.{name}" if module_name else name] = (module, kind, name, current)
    return slots


def _array(current):
    return current.data if isinstance(current, Tensor) else current


def state_dict(model):
    """{dotted name: copy of the array} for every parameter and buffer of `model`."""
    return {key: _array(current).copy() for key, (_, _, _, current) in _slots(model).items()}


def load_state_dict(model, state_dict, strict=True):
    """Copy the arrays of `state_dict` into `model`'s parameters and buffers with the same keys
    (see `Module.load_state_dict`); returns IncompatibleKeys(missing_keys, unexpected_keys)."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"load_state_dict: state_dict must be a dict of arrays, got {type(state_dict).__name__}")
    slots = _slots(model)
    missing = [k for k in slots if k not in state_dict]
    unexpected = [k for k in state_dict if k not in slots]
    if strict and (missing or unexpected):
        raise ValueError(
            f"load_state_dict: the state dict does not match {type(model).__name__} "
            f"(missing keys: {missing}; unexpected keys: {unexpected}); "
            f"pass strict=False to load only the keys that match"
        )
    new_values = [(module, kind, name, _checked(key, state_dict[key], _array(current)))
                  for key, (module, kind, name, current) in slots.items() if key in state_dict]
    for module, kind, name, array in new_values:  # only now, when every value has passed
        if kind == "_parameters":
            module._parameters[name].data = array
        else:
            module._buffers[name] = array
    return IncompatibleKeys(missing, unexpected)


def _checked(key, value, current):
    """`value` as a new array of `current`'s shape and dtype (never written in place: an array
    may be read-only while a graph holds it)."""
    value = value.data if isinstance(value, Tensor) else value
    value = np.asarray(value) if isinstance(value, np.generic) else value
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        what = f"an array of dtype {value.dtype}" if isinstance(value, np.ndarray) else type(value).__name__
        raise TypeError(f"load_state_dict: {key!r} must be a numeric np.ndarray, got {what}")
    if value.shape != current.shape:
        raise ValueError(
            f"load_state_dict: shape mismatch for {key!r}: the state dict has "
            f"{value.shape} but the model has {current.shape}"
        )
    return value.astype(current.dtype)
