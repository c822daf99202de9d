"""The engine: reverse-mode automatic differentiation on NumPy arrays, in four parts.

1. **Tensor.** A `Tensor` wraps a NumPy array (`.data`). One that `requires_grad` is a variable
   we want derivatives for; `loss.backward()` leaves dL/d(tensor) in its `.grad`, a Tensor as in
   PyTorch (so `w.grad.zero_()` works; `np.asarray(w.grad)` is its array).
2. **Function.** Every differentiable op is a `Function` with two static methods side by side:
   `forward(ctx, *arrays)` computes the result from NumPy arrays and saves in `ctx` what the
   derivative needs; `backward(ctx, g)` gets g = dL/d(output) and returns dL/d(input) for each
   input: the chain rule, one op at a time. `Fn.apply(*inputs)` runs forward and, when an input
   requires grad, records a node (`out.grad_fn`): the function, its ctx and its inputs.
3. **The walk.** `loss.backward()` visits the graph from the loss back to the leaves in reverse
   topological order (each tensor after all the tensors that use it), so its gradient is
   complete, the sum over all its uses, before it is passed on. An explicit stack, no recursion:
   a graph 100,000 nodes deep is fine.
4. **Broadcasting.** When x (3,) is added to y (2, 3), NumPy repeats x along a new axis, so the
   gradient reaching x has shape (2, 3) and must be summed back to (3,). `unbroadcast` does that
   here, once, for every op, so no op's backward thinks about it.

The rails live beside it and can be skipped: `engine_checks` (every check, errors that name the
fix), `dtypes` (no silent float64), `graph_lock` (saved arrays are read-only while a graph needs
them), `grad_mode` (`no_grad`), `graph` (the node's PyTorch view, and `draw_graph`).
"""
import numpy as np

from tinymed import dtypes, engine_checks as checks, graph_lock
from tinymed.dtypes import get_default_dtype, set_default_dtype  # noqa: F401
from tinymed.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from tinymed.graph import Node, RemovableHandle
from tinymed.validate import float_dtype as _as_float_dtype  # noqa: F401  (0.1's name, for nn/module.py until merged)


class Tensor:
    """An n-dimensional array that can record how it was computed, for `backward()`.

    `Tensor(data, requires_grad=False, dtype=None)` copies `data`; dtypes as `torch.tensor`'s
    (arrays keep theirs, Python floats become float32, ints int64, bools bool). Only float
    tensors can require grad. `.grad_fn` is the node that made it (None for a leaf). The
    operators and methods are in `tinymed.tensor_methods`."""

    __array_ufunc__ = None  # ndarray + Tensor calls Tensor.__radd__ instead of NumPy's loop
    # What a new tensor starts with (a leaf, no grad, no hooks): set per tensor only when it changes.
    _grad, grad_fn, requires_grad, _retains_grad, _hooks = None, None, False, False, ()

    def __init__(self, data, requires_grad=False, dtype=None):
        self._data = checks.as_array(data, dtype, dtypes.get_default_dtype())
        self.requires_grad_(requires_grad)

    @classmethod
    def _make(cls, array):  # a tensor around an array an op just made: no copy, no checks
        t = cls.__new__(cls)
        t._data = array
        return t

    data = property(lambda self: graph_lock.guarded(self._data), lambda self, a: setattr(self, "_data", np.asarray(a)),
                    doc="The NumPy array (while a graph needs it, a read-only view that says why: graph_lock).")
    grad = property(lambda self: self._grad,
                    lambda self, g: setattr(self, "_grad", None if g is None else checks.grad_value(self, g)),
                    doc="dL/d(self) after backward, a Tensor of self's shape, or None (set None to clear).")
    shape = property(lambda self: self._data.shape, doc="The size of each axis, a tuple.")
    ndim = property(lambda self: self._data.ndim, doc="The number of axes.")
    dtype = property(lambda self: self._data.dtype, doc="The NumPy dtype of the data.")
    size = property(lambda self: self._data.size, doc="The number of elements.")
    is_leaf = property(lambda self: self.grad_fn is None, doc="Made by the user, not by an op.")

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor: it holds one number, use .item()")
        return len(self._data)

    def __repr__(self):
        body = np.array2string(self._data, separator=", ", prefix="Tensor(", precision=4, threshold=20, edgeitems=2)
        graph = f", grad_fn={self.grad_fn!r}" if self.grad_fn else ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}, shape={self.shape}, dtype={self.dtype}{graph})"

    def numpy(self):
        """The data as a NumPy array, shared, not copied (read-only while a graph needs it)."""
        return self.data

    def detach(self):
        """A new leaf tensor sharing this data, cut from the graph."""
        return Tensor._make(self._data)

    def __array__(self, dtype=None, copy=None):  # np.asarray(tensor): metrics and plots take tensors
        return self._data if dtype is None else self._data.astype(dtype)

    def requires_grad_(self, flag=True):
        """Turn gradient tracking on or off for this leaf tensor; returns self."""
        self.requires_grad = checks.requires_grad_flag(self, flag)
        return self

    def retain_grad(self):
        """Keep `.grad` on this non-leaf tensor too after backward (leaves always keep it)."""
        self._retains_grad = True
        return self

    def register_hook(self, hook):
        """Call `hook(grad)` (grad a Tensor) when backward has this tensor's full gradient; a hook
        may return a replacement. Returns a handle whose `.remove()` takes the hook off."""
        self._hooks = (*self._hooks, checks.hook(self, hook))
        return RemovableHandle(self, hook)

    def backward(self, gradient=None, retain_graph=None, grad=None):
        """Add dL/d(leaf) into `.grad` of every leaf this tensor depends on (call zero_grad
        between steps). A one-element output needs no `gradient` (PyTorch's name; `grad=` works
        too); any other needs one of its shape. The graph is freed unless `retain_graph`."""
        if grad is None:
            backward(self, gradient, retain_graph=bool(retain_graph))
        else:  # grad= is tinymed 0.1's name for gradient=
            backward(self, *checks.backward_keywords(gradient, grad), retain_graph=bool(retain_graph))


class Context:
    """What a forward leaves for its backward (PyTorch's `ctx`): `save_for_backward(*arrays)`,
    `saved_tensors`, `needs_input_grad` (a bool per positional input), and any attribute set."""

    def __init__(self, needs_input_grad, recording):
        self.needs_input_grad, self._recording = needs_input_grad, recording
        self.saved_tensors, self._locked = (), []

    def save_for_backward(self, *arrays):
        if self._recording:
            self._locked += graph_lock.lock(arrays)
        self.saved_tensors = arrays

    def release(self):  # the graph is done with the saved arrays
        graph_lock.unlock(self._locked)
        self._locked, self.saved_tensors = [], None

    def __del__(self):
        if self._locked and getattr(graph_lock, "unlock", None):  # (None at interpreter exit)
            graph_lock.unlock(self._locked)


class Function:
    """Base class of every differentiable op: the shape of `torch.autograd.Function`::

        class Square(Function):
            @staticmethod
            def forward(ctx, x):              # x: np.ndarray
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, g):             # g: dL/d(output), an array of the output's shape
                (x,) = ctx.saved_tensors
                return 2 * x * g              # dL/dx, one entry per positional input

        y = Square.apply(t)

    Unlike PyTorch, forward and backward get and return NumPy arrays, not Tensors: the math reads
    as NumPy and no graph is built inside an op. Arithmetic reads the same (PyTorch's tutorial
    Function `0.5 * (5 * input ** 3 - 3 * input)` runs unchanged), but methods take NumPy's names
    (`np.clip(x, 0, None)`, not `x.clamp(min=0)`). Positional inputs are Tensors, or arrays and
    numbers used as constants; keyword options go to forward untouched. backward returns one
    gradient per positional input (None where not needed) that broadcasts to the input's shape.
    """

    keeps_dtype = True  # the output has the inputs' float dtype (only a cast says otherwise)

    @classmethod
    def apply(cls, *inputs, **options):
        tensors = [x if isinstance(x, Tensor) else None for x in inputs]
        dtype, arrays = dtypes.op_inputs(cls.__name__, inputs, tensors)
        needs = tuple([t is not None and t.requires_grad for t in tensors])
        ctx = Context(needs, recording=is_grad_enabled() and any(needs))
        out = np.asarray(cls.forward(ctx, *arrays, **options))
        if out.dtype != dtype:
            out = dtypes.op_output(cls, out, dtype)
        result = Tensor._make(out)
        if ctx._recording:
            result.requires_grad, result.grad_fn = True, Node(cls, ctx, tensors)
        return result


def _reverse_topological_order(root):
    """Every tensor `root` depends on that requires grad, each before the tensors it was made
    from: a depth-first search with an explicit stack emits a tensor after all its inputs
    (post-order); reversed, users come first."""
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
        elif id(tensor) not in visited:
            visited.add(id(tensor))
            stack.append((tensor, True))
            if tensor.grad_fn is not None:
                stack += [(t, False) for t in tensor.grad_fn.inputs if t is not None and t.requires_grad]
    return order[::-1]


def backward(root, gradient=None, name="gradient", retain_graph=False):
    """The walk: pass each tensor's complete gradient g to the backward of the op that made it,
    and add what comes out to that op's inputs; leaves keep theirs in `.grad`."""
    grads = {id(root): checks.seed_gradient(root, gradient, name)}
    for tensor in _reverse_topological_order(root):
        g = grads.pop(id(tensor), None)
        if g is None:
            continue
        if tensor._hooks:
            g = _run_hooks(tensor, g)
        node = tensor.grad_fn
        if node is None or tensor._retains_grad:
            _accumulate(tensor, g)
        if node is None:
            continue
        for parent, pg in _input_gradients(node, g):
            grads[id(parent)] = grads[id(parent)] + pg if id(parent) in grads else pg
        if not retain_graph:
            node.ctx.release()


def unbroadcast(grad, shape):
    """Sum `grad` back to `shape`. Broadcasting prepends axes and stretches axes of length 1; the
    gradient of a broadcast input is the sum over its copies: (2, 3) -> (3,) sums axis 0,
    (2, 3) -> (2, 1) sums axis 1 keeping it."""
    if grad.shape == shape:
        return grad
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True).reshape(shape)


def _input_gradients(node, g):  # (input, dL/d(input)) for each input that needs it, summed back to its shape
    grads = node.fn.backward(node.ctx, g) if node.ctx.saved_tensors is not None else checks.graph_freed(node)
    grads = grads if type(grads) is tuple else (grads,)  # a one-input backward may return a bare array
    if len(grads) != len(node.inputs):
        checks.gradient_count(node, grads)
    pairs = []
    for parent, pg in zip(node.inputs, grads):
        if pg is not None and parent is not None and parent.requires_grad:
            data = parent._data  # the checks explain a gradient of the wrong shape or dtype
            if not (type(pg) is np.ndarray and pg.shape == data.shape and pg.dtype == data.dtype):
                pg = unbroadcast(checks.input_gradient(node, data, pg), data.shape)
            pairs.append((parent, pg))
    return pairs


def _accumulate(tensor, g):  # a copy: g may be a read-only broadcast view, or another input's very array
    tensor._grad = Tensor._make(np.array(g if tensor._grad is None else tensor._grad._data + g))


def _run_hooks(tensor, g):
    for hook in tensor._hooks:
        g = checks.hook_result(tensor, hook(Tensor._make(np.asarray(g))), g)
    return g

