"""The recorded graph: its nodes (`tensor.grad_fn`), and a drawing of it (`tm.draw_graph`).

Every op that has an input requiring grad records a `Node` on its output: which Function made
the tensor, the ctx its forward filled, and its inputs. Following `.inputs` (or PyTorch's
`.next_functions`) from a loss reaches every tensor the loss was computed from; `backward()` in
`autograd.py` walks exactly these records.

    >>> y = (x * w).sum()
    >>> y.grad_fn, y.grad_fn.next_functions
    (<SumBackward>, ((<MulBackward>, 0),))

`draw_graph(y)` draws it with matplotlib alone (no graphviz program to install).
"""
import numpy as np


class Node:
    """A record in the graph, `tensor.grad_fn`: the Function `fn` that made a tensor, the `ctx`
    its forward filled, and its `inputs` (one per positional input: a Tensor, or None for a
    constant). `name` ("MulBackward") and `next_functions` are PyTorch's view of the graph:
    one `(node, 0)` pair per positional input, the node being the input's grad_fn, an
    `AccumulateGrad` for a leaf that requires grad, or None for data and constants. PyTorch's
    `name()` is a method, ours a property; its names end in a version number ("MulBackward0"),
    and it leaves out some constants (`x ** 2` has one pair there, two here)."""

    __slots__ = ("fn", "ctx", "inputs")

    def __init__(self, fn, ctx, inputs):
        self.fn, self.ctx, self.inputs = fn, ctx, inputs

    @property
    def name(self):
        return f"{self.fn.__name__}Backward"

    @property
    def next_functions(self):
        return tuple((_grad_node(t), 0) for t in self.inputs)

    def __repr__(self):
        return f"<{self.name}>"


class AccumulateGrad:
    """The end of a path in `next_functions`: backward adds the gradient into `variable.grad`."""

    name, next_functions = "AccumulateGrad", ()

    def __init__(self, variable):
        self.variable = variable

    def __eq__(self, other):  # one leaf, one AccumulateGrad (as PyTorch keeps one per leaf)
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)

    __repr__ = Node.__repr__


def _grad_node(tensor):
    if tensor is None or not tensor.requires_grad:
        return None
    return tensor.grad_fn or AccumulateGrad(tensor)


class RemovableHandle:
    """What `tensor.register_hook(hook)` returns: `.remove()` takes the hook off again."""

    def __init__(self, tensor, hook):
        self.tensor, self.hook = tensor, hook

    def remove(self):
        self.tensor._hooks = tuple(h for h in self.tensor._hooks if h is not self.hook)


# ---------------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------------

_OP, _LEAF, _DATA = "#cde5f7", "#c8ecc8", "#e4e4e4"  # box colours: op result, leaf with grad, data


def draw_graph(output, names=None, max_depth=12, ax=None, title=None):
    """Draw the graph that computed `output`; returns the matplotlib Figure.

    One box per tensor: blue for the result of an op (its node's name and shape), green for a
    leaf that requires grad (its shape, and after backward its `.grad`), grey for data that needs
    no grad. Arrows point from a result to its inputs, the way `backward()` travels; the output is
    on the right, and each tensor is placed by its longest distance from it.
    names: optional {label: tensor}, to show variable names in the boxes.
    max_depth: the columns drawn; the rest of a deeper graph is one box that counts it.
    """
    import matplotlib.pyplot as plt

    labels = {id(t): label for label, t in (names or {}).items()}
    order, depth = _by_depth(output)
    shown = [t for t in order if depth[id(t)] <= max_depth]
    hidden = len(order) - len(shown)
    columns = {}
    for t in shown:
        columns.setdefault(depth[id(t)], []).append(t)
    right = max(columns) + (1 if hidden else 0)
    rows = max(len(c) for c in columns.values())
    if ax is None:
        _, ax = plt.subplots(figsize=(min(1.9 * (right + 1), 24), min(1.0 * rows + 0.9, 16)))
    boxes = {}
    for d, tensors in columns.items():
        for i, t in enumerate(tensors):
            boxes[id(t)] = _box(ax, right - d, (len(tensors) - 1) / 2 - i, _label(t, labels.get(id(t))), _colour(t))
    if hidden:
        boxes["more"] = _box(ax, 0, 0, f"... {hidden} more tensors\n(max_depth={max_depth})", "white")
    for t in shown:
        for k, parent in enumerate(_inputs(t)):
            target = boxes.get(id(parent), boxes.get("more"))
            repeat = sum(p is parent for p in _inputs(t)[:k])  # a repeated input gets a curved arrow
            _arrow(ax, boxes[id(t)], target, repeat)
    ax.set_xlim(-0.6, right + 0.6)
    ax.set_ylim(-rows / 2 - 0.1, rows / 2 + 0.1)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax.figure


def _inputs(tensor):
    node = tensor.grad_fn
    return [] if node is None else [t for t in node.inputs if t is not None]


def _by_depth(output):
    """Every tensor `output` was computed from, each after all the tensors that use it, and its
    longest distance from `output` (Kahn's algorithm: a tensor is placed once its users are)."""
    users, stack, seen = {}, [output], {id(output)}
    while stack:
        for parent in _inputs(stack.pop()):
            users[id(parent)] = users.get(id(parent), 0) + 1
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    order, depth, ready = [], {id(output): 0}, [output]
    while ready:
        t = ready.pop()
        order.append(t)
        for parent in _inputs(t):
            depth[id(parent)] = max(depth.get(id(parent), 0), depth[id(t)] + 1)
            users[id(parent)] -= 1
            if users[id(parent)] == 0:
                ready.append(parent)
    return order, depth


def _label(tensor, name):
    op = "leaf" if tensor.grad_fn is None else tensor.grad_fn.name
    lines = [name, op, str(tensor.shape)]
    if tensor.grad is not None:
        grad = np.asarray(tensor.grad)
        lines.append("grad " + (np.array2string(grad.ravel(), precision=3, separator=", ") if grad.size <= 3
                                else f"|max| {np.abs(grad).max():.3g}"))
    return "\n".join(line for line in lines if line)


def _colour(tensor):
    return _OP if tensor.grad_fn is not None else _LEAF if tensor.requires_grad else _DATA


def _box(ax, x, y, text, colour):
    return ax.text(x, y, text, ha="center", va="center", fontsize=8,
                   bbox=dict(boxstyle="round", fc=colour, ec="grey"))


def _arrow(ax, child, parent, repeat):
    ax.annotate("", xy=(0.5, 0.5), xycoords=parent, xytext=(0.5, 0.5), textcoords=child,
                arrowprops=dict(arrowstyle="->", color="grey", shrinkA=1, shrinkB=1,
                                patchA=child.get_bbox_patch(), patchB=parent.get_bbox_patch(),
                                connectionstyle=f"arc3,rad={0.35 * repeat}"))
