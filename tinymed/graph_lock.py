"""The graph lock: an array saved for backward is read-only while a graph needs it.

A rail, not part of the lecture: read `autograd.py` first; this file only keeps it safe.

**Why.** `Mul.forward` saves its inputs' arrays, because d(a*b)/da = b. Change `b` in place
between the forward and the backward and the gradient is computed from the new values, wrong,
silently::

    w = tm.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    w.data[0] = 5.0           # refused: loss's graph still needs w's array
    loss.backward()

PyTorch catches this at backward time with version counters ("one of the variables needed for
gradient computation has been modified by an inplace operation"); tinymed, as MyGrad, refuses
the write itself, so the error points at the line that is wrong.

**How.** When a Function records a node, `ctx.save_for_backward` calls `lock(arrays)`: each
array, and every array it is a view of, is made read-only (`flags.writeable = False`) and
counted, since several nodes may save the same array. When a node is done with them (after
`backward()`, or when the graph is garbage collected) `unlock` counts down, and at zero the array
is writeable again. A view can be made writeable only once its base is, so an unlocked view waits
until its base is unlocked too.

**The message.** NumPy's own error for a write into a read-only array is the bare "assignment
destination is read-only". So `Tensor.data` and `Tensor.numpy()` hand a locked array out as a
`LockedArray` view: it reads as the array does (its results are plain arrays), and a write into
it (`x.data[0] = 5`, `x.numpy()[0] = 5`, `x.data += 1`) raises `GraphLockError` (a ValueError)
saying why and what to do. An array reached another way (`np.asarray(x)`, a view taken from an
op's output) still gets NumPy's message, and is just as protected.

**Switching it off.** `tm.graph_lock.set_enabled(False)`, or for a block
`with tm.graph_lock.enabled(False): ...`. Nothing new is locked then (arrays already locked stay
so until their graph is done): you promise not to change an array between a forward and its
backward. The lock costs a few flag flips per saved array; `benchmarks/bench_engine.py` measures it.
"""
import contextlib

import numpy as np

from tinymed import validate

_enabled = True

# id(array) -> [array, count, view]: the arrays locked here, how many nodes need each, and the
# LockedArray view that Tensor.data hands out for it (made when first asked for).
_locked = {}

# Arrays no graph needs any more, waiting to be made writeable once their bases are.
_unlocking = []


class GraphLockError(ValueError, RuntimeError):
    """A write into an array that a live graph saved for backward. A ValueError (as NumPy's
    read-only error) and a RuntimeError (as PyTorch's in-place modification error)."""


MESSAGE = (
    "this array is read-only because a graph that is still alive saved it for backward: changing it "
    "now would make the gradients wrong. Call backward() first (or let the graph go: del the "
    "output), change a copy (x.data.copy()), or rebind instead (x.data = new_array). To switch the "
    "lock off: tm.graph_lock.set_enabled(False)"
)


def is_enabled():
    """True when saved arrays are locked (the default)."""
    return _enabled


def set_enabled(mode):
    """Lock saved arrays (True, the default) or not (False), from now on."""
    global _enabled
    _enabled = validate.boolean(mode, "graph_lock.set_enabled: mode")


@contextlib.contextmanager
def enabled(mode):
    """`with tm.graph_lock.enabled(False):` lock nothing new inside the block."""
    previous = _enabled
    set_enabled(mode)
    try:
        yield
    finally:
        set_enabled(previous)


def lock(arrays):
    """Make each array (and the arrays it is a view of) read-only; return what was locked, for
    `unlock`."""
    if not _enabled:
        return []
    locked = []
    for array in arrays:
        if isinstance(array, np.ndarray):
            locked += _lock_chain(array)
    return locked


def unlock(locked):
    """Count down the arrays `lock` returned; make writeable those no graph needs any more."""
    for a in reversed(locked):  # bases first
        entry = _locked[id(a)]
        entry[1] -= 1
        if entry[1] == 0:
            del _locked[id(a)]
            _unlocking.append(a)
    if _unlocking:
        _make_writeable()


def guarded(array):
    """`array` itself, or its explaining LockedArray view while a graph holds it locked."""
    entry = _locked.get(id(array))
    if entry is None:
        return array
    if entry[2] is None:
        entry[2] = array.view(LockedArray)
    return entry[2]


def _lock_chain(array):
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
            _locked[id(a)] = [a, 1, None]
        else:
            continue  # read-only for another reason: not ours to unlock
        locked.append(a)
    return locked


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


def _plain(a):
    return a.view(np.ndarray) if isinstance(a, LockedArray) else a


class LockedArray(np.ndarray):
    """A view of a locked array: reads as the array does, refuses writes with `MESSAGE`."""

    def _check_writeable(self):
        if self.flags.writeable:
            return
        if isinstance(self.base, np.ndarray) and self.base.flags.writeable:
            self.flags.writeable = True  # the graph is gone since this view was handed out
            return
        raise GraphLockError(MESSAGE)

    def __setitem__(self, index, value):
        self._check_writeable()
        super().__setitem__(index, value)

    def fill(self, value):
        self._check_writeable()
        super().fill(value)

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        # Results are plain arrays; an in-place ufunc (x.data += 1) writing here is checked.
        if out is not None:
            for o in out:
                if isinstance(o, LockedArray):
                    o._check_writeable()
            kwargs["out"] = tuple(_plain(o) for o in out)
        return getattr(ufunc, method)(*(_plain(i) for i in inputs), **kwargs)

    def copy(self, order="C"):
        return self.view(np.ndarray).copy(order)

    def astype(self, *args, **kwargs):
        return self.view(np.ndarray).astype(*args, **kwargs)
