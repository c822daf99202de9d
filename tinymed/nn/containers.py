"""Containers: modules that hold other modules in order (Sequential, ModuleList), by name
(ModuleDict), parameters in order (ParameterList), or nothing (Identity). A plain Python list
or dict of layers would hide their parameters from `parameters()` and `state_dict()`; these
register them, under the keys PyTorch uses ("0", "1", ... or the dict's keys)."""
from collections.abc import Mapping

import numpy as np

from tinymed import validate
from tinymed.nn.module import Module, Parameter


class Sequential(Module):
    """Modules applied one after the other: `Sequential(a, b, c)(x) == c(b(a(x)))`.

    Children are named "0", "1", ... (the state-dict keys "0.weight", ...), or by the keys of a
    single dict argument. `seq[i]`, `len(seq)`, `for m in seq`; `seq[i] = module` replaces a
    layer; `seq[1:3]` is a Sequential of those layers that keeps their names, as in PyTorch.
    """

    def __init__(self, *modules):
        super().__init__()
        named = modules[0].items() if len(modules) == 1 and isinstance(modules[0], dict) else (
            (str(i), m) for i, m in enumerate(modules))
        for name, m in named:
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: entry {name} must be a Module, got {type(m).__name__}")
            self.add_module(name, m)

    _registry = "_modules"

    def _key(self, index):
        keys = list(getattr(self, self._registry))
        if not validate.is_int(index):
            raise TypeError(f"{type(self).__name__}: index must be an int or a slice, got {type(index).__name__}")
        if not -len(keys) <= index < len(keys):
            raise IndexError(f"{type(self).__name__}: index {index} is out of range for {len(keys)} entries")
        return keys[index]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(dict(list(self._modules.items())[index]))
        return self._modules[self._key(index)]

    def __setitem__(self, index, module):
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}: can only hold Modules, got {type(module).__name__}")
        self._modules[self._key(index)] = module

    def __len__(self):
        return len(getattr(self, self._registry))

    def __iter__(self):
        return iter(getattr(self, self._registry).values())

    def forward(self, x):
        for module in self:
            x = module(x)
        return x


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain Python list would hide them).
    It has no forward: the owning module decides how to call them."""

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    _registry = "_modules"
    _key = Sequential._key
    __len__ = Sequential.__len__
    __iter__ = Sequential.__iter__
    __setitem__ = Sequential.__setitem__

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(list(self)[index])
        return self._modules[self._key(index)]

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.append: expected a Module, got {type(module).__name__}")
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self


class ModuleDict(Module):
    """Modules by name, registered in insertion order (PyTorch's): `d["head"]`, `d["head"] = m`,
    `"head" in d`, `len(d)`, `keys()`, `values()`, `items()`, `update(...)`, iteration over the
    keys. Like ModuleList it has no forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        if key not in self._modules:
            raise KeyError(f"ModuleDict: no module named {key!r}; it holds {list(self._modules)}")
        return self._modules[key]

    def __setitem__(self, key, module):
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict: keys must be strings (they become state-dict keys), got {key!r}")
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: {key!r} must be a Module, got {type(module).__name__}")
        self.add_module(key, module)

    def __delitem__(self, key):
        self[key]  # the KeyError above for a missing key
        del self._modules[key]

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules):
        """Add (or replace) modules from a dict or from (name, module) pairs."""
        for key, module in (modules.items() if isinstance(modules, Mapping) else modules):
            self[key] = module


class ParameterList(Module):
    """Parameters in a list, registered as "0", "1", ... (PyTorch's): `pl[i]`, `len(pl)`,
    iteration, `append`, `extend`. A Tensor or array given to it becomes a Parameter."""

    _registry = "_parameters"
    _key = Sequential._key
    __len__ = Sequential.__len__
    __iter__ = Sequential.__iter__

    def __init__(self, values=()):
        super().__init__()
        self.extend(values)

    def __getitem__(self, index):
        return self._parameters[self._key(index)]

    def __setitem__(self, index, value):
        self.register_parameter(self._key(index), value if isinstance(value, Parameter) else Parameter(value))

    def append(self, value):
        self.register_parameter(str(len(self)), value if isinstance(value, Parameter) else Parameter(value))
        return self

    extend = ModuleList.extend

    def extra_repr(self):
        return "\n".join(f"({i}): Parameter of shape {tuple(p.shape)} ({p.dtype})" for i, p in enumerate(self))


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. to remove a model's head)."""

    def forward(self, x):
        return x
