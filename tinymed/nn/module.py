"""Module and Parameter: how a network keeps its weights, its state and its sub-networks.

A `Module` is a callable object (`model(x)` runs `model.forward(x)`) that owns three kinds of
things, registered automatically when assigned as attributes in `__init__`:

- **parameters** (`self.weight = Parameter(...)`): tensors the optimizer trains;
- **buffers** (`self.register_buffer("running_mean", np.zeros(c))`): plain NumPy arrays that
  are part of the model's state but are not trained by gradient descent (BatchNorm's running
  statistics, `num_batches_tracked`);
- **children** (`self.features = Sequential(...)`): other modules, so models nest.

Everything else (`state_dict`, `train`/`eval`, `freeze`, `summary`, `repr`) is a walk over that
tree. The semantics and the state-dict keys are PyTorch's ("features.0.weight",
"features.1.running_mean"), so weights exported from a PyTorch model load here with strict=True.
"""
import itertools

import numpy as np

from tinymed import validate
from tinymed.autograd import Tensor, get_default_dtype
from tinymed.nn import state_dict as state_dicts
from tinymed.nn.state_dict import IncompatibleKeys  # noqa: F401  (nn.module.IncompatibleKeys, as before)
from tinymed.nn.summary import summary_table


class Parameter(Tensor):
    """A Tensor that is a trainable weight of a Module: it requires grad, and assigning it to a
    Module attribute registers it. Integer data becomes the default float dtype (float32).
    The data is copied (PyTorch's Parameter shares the tensor it wraps)."""

    def __init__(self, data, requires_grad=True):
        array = np.asarray(data.data if isinstance(data, Tensor) else data)
        dtype = array.dtype if array.dtype.kind == "f" else get_default_dtype()
        if array.dtype.kind not in "biuf":
            raise TypeError(f"Parameter: data must be numeric, got dtype {array.dtype}")
        super().__init__(array, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self):
        return "Parameter" + super().__repr__()[len("Tensor"):]


class RemovableHandle:
    """Returned by `register_forward_hook`; `handle.remove()` takes the hook off again."""

    _ids = itertools.count()

    def __init__(self, hooks):
        self._hooks, self.id = hooks, next(self._ids)

    def remove(self):
        self._hooks.pop(self.id, None)


class Module:
    """Base class of every layer and model (PyTorch's `nn.Module`).

    Subclass it, call `super().__init__()` first, assign parameters, buffers and sub-modules as
    attributes, and define `forward`::

        class TwoLayer(Module):
            def __init__(self):
                super().__init__()
                self.hidden = Linear(4, 8)
                self.out = Linear(8, 1)

            def forward(self, x):
                return self.out(self.hidden(x).relu())
    """

    def __init__(self):
        # Written with object.__setattr__ because our __setattr__ needs these dicts to exist.
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_forward_hooks", {})
        self.training = True
        self.frozen = False

    # -- registration ---------------------------------------------------------------------------

    def __setattr__(self, name, value):
        params, buffers, children = (self.__dict__.get(k, {}) for k in ("_parameters", "_buffers", "_modules"))
        if isinstance(value, Parameter):
            self._unregister(name)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._unregister(name)
            self._modules[name] = value
        elif name in params:
            self._empty_slot(params, name, value, "parameter",
                             f"a Parameter or None; to change its values, set {name}.data")
        elif name in buffers:
            buffers[name] = _as_buffer(f"{type(self).__name__}.{name}", value)
        elif name in children:
            self._empty_slot(children, name, value, "child module", "a Module or None")
        else:
            object.__setattr__(self, name, value)

    def _empty_slot(self, registry, name, value, kind, expected):
        """A registered parameter or child can be set to None (it stays registered, as PyTorch's);
        anything else that is not a Parameter or Module is refused."""
        if value is not None:
            raise TypeError(f"{type(self).__name__}: cannot assign {type(value).__name__} to {kind} {name!r} "
                            f"(expected {expected})")
        registry[name] = None

    def __getattr__(self, name):
        # Called only when normal lookup fails: parameters, buffers and children live in dicts.
        for kind in ("_parameters", "_buffers", "_modules"):
            registry = self.__dict__.get(kind, {})
            if name in registry:
                return registry[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        if not self._unregister(name):
            object.__delattr__(self, name)

    def _unregister(self, name):
        """Forget `name` wherever it is registered (a name is one thing at a time)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}: cannot register {name!r} before Module.__init__() was called "
                f"(call super().__init__() first in your __init__)"
            )
        found = False
        for registry in (self.__dict__, self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                found = True
        return found

    def register_parameter(self, name, param):
        """Register `param` (a Parameter, or None for an absent one such as `bias=False`)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got {type(param).__name__}")
        self._unregister(name)
        self._parameters[name] = param

    def register_buffer(self, name, array):
        """Register `array` (np.ndarray or None) as state that is saved but not trained."""
        array = _as_buffer(f"register_buffer({name!r})", array)
        self._unregister(name)
        self._buffers[name] = array

    def add_module(self, name, module):
        """Register `module` as a child under `name` (same as `setattr(self, name, module)`)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got {type(module).__name__}")
        self._unregister(name)
        self._modules[name] = module

    # -- calling ----------------------------------------------------------------------------------

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(): a Module subclass must define one")

    def __call__(self, *args, **kwargs):
        try:
            out = self.forward(*args, **kwargs)
        except Exception as error:
            _name_the_layer(error, self)
            raise
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, out)
            out = out if result is None else result
        return out

    def register_forward_hook(self, hook):
        """Call `hook(module, inputs, output)` after every forward (to record activations, as
        `summary` and Grad-CAM do); a non-None return value replaces the output. Returns a
        handle whose `.remove()` unregisters the hook."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # -- walking the tree -------------------------------------------------------------------------

    def named_modules(self, prefix="", remove_duplicate=True, _seen=None):
        """(name, module) for this module ("") and every descendant, depth first, in order of
        registration; a module reachable by two paths appears once (unless remove_duplicate=False)."""
        _seen = set() if _seen is None else _seen
        if remove_duplicate:
            if id(self) in _seen:
                return
            _seen.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(_join(prefix, name), remove_duplicate, _seen)

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        return ((name, m) for name, m in self._modules.items() if m is not None)

    def children(self):
        return (m for _, m in self.named_children())

    def _named_members(self, kind, prefix, recurse):
        walk = self.named_modules(prefix) if recurse else [(prefix, self)]
        seen = set()
        for module_name, module in walk:
            for name, value in getattr(module, kind).items():
                if value is not None and id(value) not in seen:
                    seen.add(id(value))
                    yield _join(module_name, name), value

    def named_parameters(self, prefix="", recurse=True):
        """(dotted name, Parameter) pairs, e.g. ("features.0.weight", ...); shared ones once."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix="", recurse=True):
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        return (b for _, b in self.named_buffers(recurse=recurse))

    def apply(self, fn):
        """Call `fn(module)` on every descendant and then on self (as PyTorch); returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -- modes, gradients, dtype ------------------------------------------------------------------

    def train(self, mode=True):
        """Set training mode (Dropout drops, BatchNorm uses batch statistics) on self and every
        descendant; `train(False)` is `eval()`. Returns self."""
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool, got {type(mode).__name__}")
        for m in self.modules():
            m.training = mode
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self):
        """Set every parameter's `.grad` to None (gradients accumulate across backward calls)."""
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self, flag=True):
        """Turn gradient tracking of every parameter on or off (BatchNorm statistics are not
        affected: for transfer learning use `freeze()`). Returns self."""
        for p in self.parameters():
            p.requires_grad_(flag)
        return self

    def to(self, *args, device=None, dtype=None):
        """PyTorch's `model.to(device)`, `.to(dtype)`, `.to(device, dtype)`, `.to(tensor)` (its
        dtype), or keywords. The device must be the CPU ("cpu" or tm.device("cpu")): tinymed runs
        on NumPy. A dtype (float32 or float64) casts every parameter (and its grad) and every
        float buffer, by rebinding `.data`, so Parameter objects (held by optimizers) stay the
        same; integer buffers such as `num_batches_tracked` keep their dtype. Returns self."""
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif (isinstance(arg, str) and not arg.startswith("float")) or type(arg).__name__ == "device":
                device = arg
            else:
                dtype = arg
        validate.device(device, "to: device")
        if dtype is None:
            return self
        dtype = validate.float_dtype(dtype, "to: dtype")
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None and p.dtype != dtype:
                    p.data = p.data.astype(dtype)
                    p.grad = None if p.grad is None else np.asarray(p.grad).astype(dtype)
            for name, b in m._buffers.items():
                if b is not None and b.dtype.kind == "f":
                    m._buffers[name] = b.astype(dtype, copy=False)
        return self

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    # -- transfer learning ------------------------------------------------------------------------

    def freeze(self):
        """Freeze self and every descendant, for transfer learning: parameters stop requiring
        grad (optimizers skip them) and `frozen` is set, which BatchNorm reads to normalise with
        its running statistics and leave them untouched even in training mode.

        Why BatchNorm too: a frozen layer should compute exactly the features it was pre-trained
        to compute. If BatchNorm kept updating its running mean and variance from the new (small,
        differently distributed) medical data set, the "frozen" features would drift anyway.
        Keras behaves this way for frozen layers; in PyTorch, `requires_grad_(False)` alone
        freezes the weights but not the statistics (one must also call `.eval()` on those layers).
        Returns self."""
        return self._set_frozen(True)

    def unfreeze(self):
        """Undo `freeze()` on self and every descendant: parameters require grad again and
        BatchNorm updates its running statistics in training mode. Returns self."""
        return self._set_frozen(False)

    def _set_frozen(self, frozen):
        for m in self.modules():
            m.frozen = frozen
            for p in m._parameters.values():
                if p is not None:
                    p.requires_grad_(not frozen)
        return self

    # -- saving and loading -----------------------------------------------------------------------

    def state_dict(self):
        """{dotted name: copy of the array} for every parameter, then every buffer, of each module
        in registration order: PyTorch's keys, e.g. "features.0.weight",
        "features.1.running_mean", "features.1.num_batches_tracked"."""
        return state_dicts.state_dict(self)

    def load_state_dict(self, state_dict, strict=True):
        """Copy the arrays of `state_dict` into the parameters and buffers with the same keys.

        Values are np.ndarrays (NumPy scalars and Tensors are accepted too).
        Returns `IncompatibleKeys(missing_keys, unexpected_keys)`. With strict=True, any missing
        or unexpected key raises a ValueError listing them; a shape mismatch always raises. Values
        are cast to the dtype of the parameter or buffer they replace and bound as new arrays
        (never written in place: an array may be read-only while a graph holds it). Everything is
        checked before anything is loaded, so a failed load leaves the model unchanged (PyTorch
        raises a RuntimeError after loading what it could).
        """
        return state_dicts.load_state_dict(self, state_dict, strict)

    # -- reading a model --------------------------------------------------------------------------

    def extra_repr(self):
        """The text inside this module's parentheses in `repr`, e.g. "in_features=4, out_features=2"."""
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = "".join(f"\n  {line}" for line in ([extra] if extra else []) + lines)
        return f"{type(self).__name__}({body}\n)"

    def summary(self, input_shape=None):
        """A table of the layers: name, type, output shape (when `input_shape`, one example's
        shape without the batch axis, is given), parameter count and whether the parameters
        train; totals at the bottom. See `tinymed.nn.summary`."""
        return summary_table(self, input_shape)


def _name_the_layer(error, module):
    """Add a note to an error raised inside `module`'s forward saying where: the innermost
    layer writes it ("in Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1))"), and each parent
    on the way out prefixes the child's name ("in features.0: Conv2d(...)"). F's message says
    what was wrong; the note says in which layer, so no layer re-checks its input."""
    where = getattr(error, "_tinymed_layer", None)
    if where is None:
        if str(error).startswith(f"{type(module).__name__}:"):
            return  # the message names the module already
        text = f"{type(module).__name__}({module.extra_repr()})"
        error.add_note("")
        where = error._tinymed_layer = {"path": [], "text": text, "last": module, "note": len(error.__notes__) - 1}
    else:
        name = next((n for n, child in module.named_children() if child is where["last"]), None)
        if name is None:
            return  # called as a function, not a registered child: the path would mislead
        where["path"].insert(0, name)
        where["last"] = module
    path = ".".join(where["path"])
    error.__notes__[where["note"]] = f"in {path}: {where['text']}" if path else f"in {where['text']}"


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def _as_buffer(where, value):
    # A NumPy scalar becomes a 0-d array: arithmetic on a 0-d buffer (num_batches_tracked + 1)
    # gives a scalar, and a state dict should hold arrays only.
    if isinstance(value, np.generic):
        return np.asarray(value)
    if value is not None and not isinstance(value, np.ndarray):
        raise TypeError(f"{where}: a buffer must be a np.ndarray or None, got {type(value).__name__}")
    return value
