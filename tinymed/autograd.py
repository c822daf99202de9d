"""The engine: reverse-mode automatic differentiation on NumPy arrays.

Read this file top to bottom as a lecture in four parts.

1. **Tensors.** A `Tensor` wraps a NumPy array (`.data`). A tensor that `requires_grad` is a
   variable we want derivatives for; after `backward()` its `.grad` holds d(output)/d(tensor),
   an array of the tensor's own shape.

2. **Functions.** Every differentiable operation is a `Function` with two static methods, side
   by side: `forward(ctx, *arrays)` computes the result from plain arrays and keeps in `ctx`
   whatever the derivative will need; `backward(ctx, grad)` receives dL/d(output) and returns
   dL/d(input) for every input: the chain rule, one op at a time. `Fn.apply(*inputs)` runs
   forward and, when some input requires grad, records a node: the output remembers the
   function, its context and its inputs. Those records form a graph.

3. **The backward walk.** `loss.backward()` visits the graph from the loss back to the leaves
   in reverse topological order (every node after all the nodes that use it), so that when a
   node is reached its gradient is complete: the sum over all its uses. The walk uses an
   explicit stack, not recursion, so a graph 100,000 nodes deep is fine.

4. **Broadcasting.** When `x` of shape (3,) is added to `y` of shape (2, 3), NumPy repeats `x`
   along a new leading axis. The gradient flowing back to `x` has shape (2, 3) and must be
   summed back to (3,). That reduction (`unbroadcast`) is done here, once, for every op, so no
   op's backward has to think about it.

Two safety rails: no op silently turns float32 into float64 (mixing the two raises a TypeError;
numbers and NumPy constants take the tensor's dtype), and an array saved for backward is made
read-only until the graph that needs it is gone, so it cannot be changed underneath the graph.
"""
import contextlib

import numpy as np

# ---------------------------------------------------------------------------------------------
# Global switches: the default float dtype, and whether operations record a graph.
# ---------------------------------------------------------------------------------------------

_default_dtype = np.dtype(np.float32)
_grad_enabled = True

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _as_float_dtype(dtype, name="dtype"):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}") from None
    if dt not in _FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {dt}")
    return dt


def set_default_dtype(dtype):
    """Set the float dtype that Python numbers and lists become (float32 or float64)."""
    global _default_dtype
    _default_dtype = _as_float_dtype(dtype)


def get_default_dtype():
    """The float dtype that Python numbers and lists become (float32 unless changed)."""
    return _default_dtype


class no_grad(contextlib.ContextDecorator):
    """Context manager (or decorator) in which operations record no graph.

    Use it for evaluation and for optimizer steps: it saves the memory and time of recording.
    """

    def __init__(self):
        self._previous = []  # a stack: one instance may be entered again before it exits

    def __enter__(self):
        global _grad_enabled
        self._previous.append(_grad_enabled)
        _grad_enabled = False

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._previous.pop()
        return False


def is_grad_enabled():
    return _grad_enabled


# ---------------------------------------------------------------------------------------------
# Tensor.
# ---------------------------------------------------------------------------------------------


def _nested_arrays(data):
    if isinstance(data, Tensor):
        return data.data
    if isinstance(data, (list, tuple)):
        return [_nested_arrays(d) for d in data]
    return data


class Tensor:
    """An n-dimensional array that can record how it was computed, for `backward()`.

    `Tensor(data, requires_grad=False, dtype=None)`: Python numbers and lists become the
    default float dtype (float32); a NumPy array keeps its dtype unless `dtype` is given, and is
    copied (as `torch.tensor` copies). Only float tensors can require grad.

    Attributes: `.data` (np.ndarray), `.grad` (np.ndarray or None, filled by backward for
    leaves), `.requires_grad`, `.grad_fn` (name of the op that made it, or None for a leaf).
    The operators and methods (+, *, @, sum, exp, reshape, [...], ...) are in
    `tinymed.tensor_methods`, each a front for a Function in `tinymed.ops`.
    """

    __array_ufunc__ = None  # ndarray + Tensor calls Tensor.__radd__ instead of NumPy's loop

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        elif isinstance(data, (list, tuple)):
            data = _nested_arrays(data)  # a list of tensors works as a list of numbers
        try:
            if dtype is not None:
                dtype = _as_float_dtype(dtype)
            elif not isinstance(data, (np.ndarray, np.generic)) and np.asarray(data).dtype.kind in "iuf":
                dtype = _default_dtype
            self.data = np.array(data, dtype=dtype)
        except ValueError as e:
            raise ValueError(f"Tensor: cannot make an array of this {type(data).__name__}: {e}") from None
        if self.data.dtype.kind not in "biuf":
            raise TypeError(f"Tensor: data must be numeric, got dtype {self.data.dtype}")
        self.grad = None
        self.requires_grad = False
        self._node = None
        self._retains_grad = False
        self.requires_grad_(requires_grad)

    @classmethod
    def _make(cls, array):
        """A tensor around an array an op just made: no copy, no checks."""
        t = cls.__new__(cls)
        t.data = array
        t.grad = None
        t.requires_grad = False
        t._node = None
        t._retains_grad = False
        return t

    # -- what a tensor is ---------------------------------------------------------------------

    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)

    @property
    def grad_fn(self):
        """The name of the Function that made this tensor, or None for a leaf."""
        return None if self._node is None else self._node.fn.__name__

    @property
    def is_leaf(self):
        return self._node is None

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor: it holds one number, use .item()")
        return len(self.data)

    def __repr__(self):
        body = np.array2string(
            self.data, separator=", ", prefix="Tensor(", precision=4, threshold=20, edgeitems=2
        )
        extra = f"shape={self.shape}, dtype={self.dtype}"
        if self._node is not None:
            extra += f", grad_fn={self.grad_fn}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}, {extra})"

    # -- leaving the graph ----------------------------------------------------------------------

    def numpy(self):
        """The data as a NumPy array (shared, not copied; treat it as read-only)."""
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element tensor has an item, this one has shape {self.shape}")
        return self.data.item()

    def detach(self):
        """A new leaf tensor sharing this data, cut from the graph."""
        return Tensor._make(self.data)

    def __array__(self, dtype=None, copy=None):
        # np.asarray(tensor) works, so metrics and plots accept tensors as they accept arrays.
        return self.data if dtype is None else self.data.astype(dtype)

    def __setitem__(self, index, value):
        """In-place assignment `t[index] = value`, outside the graph (as under torch.no_grad)."""
        if self.requires_grad and _grad_enabled:
            raise RuntimeError(
                "in-place assignment to a tensor that requires grad is invisible to backward: "
                "do it under tm.no_grad(), or build a new tensor (e.g. with tm.where)"
            )
        if not self.data.flags.writeable:
            raise RuntimeError(
                "cannot assign into this tensor: its data is saved for backward by a graph that "
                "is still alive, and changing it would make the gradients wrong. Call backward() "
                "first, or let the graph go (del the output), or assign to a copy"
            )
        self.data[index] = value.data if isinstance(value, Tensor) else value

    # -- gradients ------------------------------------------------------------------------------

    def requires_grad_(self, flag=True):
        """Turn gradient tracking on or off for this leaf tensor; returns self."""
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"requires_grad must be True or False, got {flag!r}")
        if flag and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad: only float tensors can require grad, this one is {self.dtype}")
        if not flag and self._node is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor: use .detach() instead")
        self.requires_grad = bool(flag)
        return self

    def retain_grad(self):
        """Keep `.grad` on this non-leaf tensor too after backward (leaves always keep it)."""
        self._retains_grad = True
        return self

    def backward(self, grad=None, retain_graph=False):
        """Fill `.grad` of every leaf this tensor depends on with d(self)/d(leaf), added to any
        `.grad` already there (call `zero_grad` between steps). A scalar needs no `grad`; any
        other shape needs `grad` of its shape. The graph is freed unless `retain_graph`."""
        backward(self, grad, retain_graph)


# ---------------------------------------------------------------------------------------------
# Function: forward and backward side by side.
# ---------------------------------------------------------------------------------------------


class Context:
    """What a Function's forward leaves for its backward (PyTorch's `ctx`).

    `ctx.save_for_backward(*arrays)` keeps arrays; `ctx.saved_tensors` gives them back.
    `ctx.needs_input_grad` is a tuple of booleans, one per positional input, so a backward can
    skip gradients nobody asked for. Any other attribute (`ctx.axis = ...`) may be set freely.
    """

    def __init__(self, needs_input_grad, recording):
        self.needs_input_grad = needs_input_grad
        self._recording = recording
        self._locked = []
        self.saved_tensors = ()

    def save_for_backward(self, *arrays):
        if self._recording:
            for a in arrays:
                if isinstance(a, np.ndarray):
                    self._locked += _lock(a)
        self.saved_tensors = arrays

    def release(self):
        """Drop the saved arrays and make them writeable again (the graph is done with them)."""
        _unlock(self._locked)
        self._locked = []
        self.saved_tensors = None

    def __del__(self):
        if self._locked and _unlock is not None:  # (module globals are None at interpreter exit)
            _unlock(self._locked)


class Node:
    """A record in the graph: which Function made a tensor, from which inputs, with what ctx."""

    __slots__ = ("fn", "ctx", "inputs")

    def __init__(self, fn, ctx, inputs):
        self.fn = fn
        self.ctx = ctx
        self.inputs = inputs  # one entry per positional input: a Tensor, or None for a constant

    def __repr__(self):
        return f"<{self.fn.__name__}>"


class Function:
    """Base class of every differentiable operation (the shape of `torch.autograd.Function`).

    Subclass it with two static methods::

        class Square(Function):
            @staticmethod
            def forward(ctx, x):              # x: np.ndarray
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, grad):          # grad: dL/d(output), shape of the output
                (x,) = ctx.saved_tensors
                return 2 * x * grad           # dL/dx, one entry per positional input

        y = Square.apply(t)

    Positional inputs are the differentiable data: Tensors, or NumPy arrays and numbers used as
    constants (they take the dtype of the tensor inputs). Keyword options (axes, shapes,
    indices) are passed to forward untouched. `backward` returns one gradient per positional
    input (a tuple when there are several), None where none is needed. The engine sums each
    gradient back to its input's shape, so a backward may return a broadcast shape.
    """

    keeps_dtype = True  # the output has the inputs' float dtype (only a cast says otherwise)

    @staticmethod
    def forward(ctx, *arrays, **options):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **options):
        dtype = _common_dtype(cls.__name__, inputs)
        arrays = [_constant(x, dtype, cls.__name__) for x in inputs]
        tensors = [x if isinstance(x, Tensor) else None for x in inputs]
        needs = tuple(t is not None and t.requires_grad for t in tensors)
        recording = _grad_enabled and any(needs)

        ctx = Context(needs, recording)
        out = cls.forward(ctx, *arrays, **options)
        out = np.asarray(out)
        if cls.keeps_dtype and out.dtype.kind == "f" and out.dtype != dtype:
            raise TypeError(
                f"{cls.__name__}.forward returned {out.dtype} for {dtype} inputs: some constant "
                f"inside forward promoted the result (use Python numbers or arrays of the input's dtype)"
            )
        result = Tensor._make(out)
        if recording:
            result.requires_grad = True
            result._node = Node(cls, ctx, tensors)
        return result


def _common_dtype(name, inputs):
    """The float dtype an op computes in: that of its float tensors, which must agree."""
    dtypes = {x.data.dtype for x in inputs if isinstance(x, Tensor) and x.data.dtype.kind == "f"}
    if len(dtypes) > 1:
        got = ", ".join(sorted(str(d) for d in dtypes))
        raise TypeError(
            f"{name}: tensors of different float dtypes ({got}) in one op; tinymed never promotes "
            f"silently: convert one with .float() or .double()"
        )
    if dtypes:
        return dtypes.pop()
    return _default_dtype


def _constant(x, dtype, name):
    if isinstance(x, Tensor):
        return x.data if x.data.dtype == dtype else x.data.astype(dtype)
    array = None if x is None else np.asarray(x)
    if array is None or array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a Tensor, a NumPy array or a number, got {type(x).__name__}")
    return array.astype(dtype, copy=False)


# ---------------------------------------------------------------------------------------------
# The backward walk.
# ---------------------------------------------------------------------------------------------


def unbroadcast(grad, shape):
    """Sum `grad` back to `shape`, undoing NumPy broadcasting.

    Broadcasting (a) prepends axes and (b) stretches axes of length 1. The gradient of a
    broadcast input is the sum over the copies: sum away the leading axes, then sum with
    keepdims over the axes that were 1.  (2, 3) -> (3,): sum over axis 0.  (2, 3) -> (2, 1):
    sum over axis 1, keeping it.
    """
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)


def _broadcasts_to(shape, target):
    """Does an array of `shape` broadcast to exactly `target`?"""
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _reverse_topological_order(root):
    """Every tensor that `root` depends on and that requires grad, users before their inputs.

    Depth-first search with an explicit stack: a tensor is emitted after all of its inputs
    (post-order), and the reversed list puts each tensor before everything it was made from.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor._node is not None:
            for parent in tensor._node.inputs:
                if parent is not None and parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
    order.reverse()
    return order


def backward(root, grad=None, retain_graph=False):
    """Compute d(root)/d(leaf) for every leaf that requires grad; add it to the leaf's `.grad`."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no graph "
            "(was it made under no_grad, or from tensors that do not require grad?)"
        )
    if grad is None:
        if root.data.size != 1:
            raise ValueError(
                f"backward: output has shape {root.shape}; a non-scalar output needs an explicit "
                f"grad of that shape (for a loss, reduce it with .sum() or .mean() first)"
            )
        grad = np.ones_like(root.data)
    else:
        grad = grad.data if isinstance(grad, Tensor) else grad
        grad = np.asarray(grad, dtype=root.dtype)
        if grad.shape != root.shape:
            raise ValueError(f"backward: grad has shape {grad.shape} but the output has shape {root.shape}")

    grads = {id(root): grad}
    for tensor in _reverse_topological_order(root):
        g = grads.pop(id(tensor), None)
        if g is None:
            continue
        node = tensor._node
        if node is None or tensor._retains_grad:
            # a copy: g may be a read-only broadcast view, or the same array another input got
            tensor.grad = g.copy() if tensor.grad is None else tensor.grad + g
        if node is None:
            continue
        if node.ctx.saved_tensors is None:
            raise RuntimeError(
                f"backward: the graph through {node.fn.__name__} was already used by a backward "
                f"and freed; pass retain_graph=True to the first backward to go through it twice"
            )
        input_grads = node.fn.backward(node.ctx, g)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        if len(input_grads) != len(node.inputs):
            raise RuntimeError(
                f"{node.fn.__name__}.backward returned {len(input_grads)} gradients for "
                f"{len(node.inputs)} inputs"
            )
        for parent, pg in zip(node.inputs, input_grads):
            if parent is None or not parent.requires_grad or pg is None:
                continue
            pg = np.asarray(pg)
            if pg.shape != parent.shape:
                if not _broadcasts_to(parent.shape, pg.shape):
                    raise RuntimeError(
                        f"{node.fn.__name__}.backward returned a gradient of shape {pg.shape} for "
                        f"an input of shape {parent.shape}"
                    )
                pg = unbroadcast(pg, parent.shape)
            if pg.dtype != parent.dtype:
                raise TypeError(
                    f"{node.fn.__name__}.backward returned a {pg.dtype} gradient for a "
                    f"{parent.dtype} input"
                )
            previous = grads.get(id(parent))
            grads[id(parent)] = pg if previous is None else previous + pg
        if not retain_graph:
            node.ctx.release()


# ---------------------------------------------------------------------------------------------
# Safety rail: an array saved for backward is read-only while a graph needs it.
# ---------------------------------------------------------------------------------------------

# id(array) -> [array, count]: arrays this module made read-only, and how many nodes need them.
_locked = {}


def _lock(array):
    """Make `array` (and the arrays it is a view of) read-only; return what was locked."""
    chain = [array]
    while isinstance(chain[-1].base, np.ndarray):
        chain.append(chain[-1].base)
    locked = []
    for a in chain:
        entry = _locked.get(id(a))
        if entry is not None:
            entry[1] += 1
        elif a.flags.writeable:
            a.flags.writeable = False
            _locked[id(a)] = [a, 1]
        else:
            continue
        locked.append(a)
    return locked


def _unlock(arrays):
    for a in reversed(arrays):  # bases first
        entry = _locked[id(a)]
        entry[1] -= 1
        if entry[1] == 0:
            del _locked[id(a)]
            _unlocking.append(a)
    _make_writeable()


# Arrays no graph needs any more, waiting to be made writeable: a view can be made writeable only
# once its base is, and the base may still be needed by another graph.
_unlocking = []


def _make_writeable():
    progress = True
    while progress:
        progress, waiting = False, []
        for a in _unlocking:
            if isinstance(a.base, np.ndarray) and not a.base.flags.writeable:
                waiting.append(a)
            else:
                a.flags.writeable = True
                progress = True
        _unlocking[:] = waiting
