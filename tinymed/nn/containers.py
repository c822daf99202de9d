"""Containers: modules that hold other modules in order (Sequential, ModuleList) or none
(Identity)."""

import numpy as np

from tinymed.nn.module import Module


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

    def _key(self, index):
        keys = list(self._modules)
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"{type(self).__name__}: index must be an int or a slice, got {type(index).__name__}")
        if not -len(keys) <= index < len(keys):
            raise IndexError(f"{type(self).__name__}: index {index} is out of range for {len(keys)} modules")
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
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

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


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. to remove a model's head)."""

    def forward(self, x):
        return x
