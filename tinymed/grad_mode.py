"""Whether operations record a graph: `no_grad`, `enable_grad`, `set_grad_enabled`.

Recording costs memory (every saved array stays alive until backward) and time. Evaluation and
optimizer steps need no graph, so they run under `no_grad()`:

    with tm.no_grad():              # a context manager
        w -= lr * w.grad

    @tm.no_grad                     # or a decorator, bare or called: @tm.no_grad()
    def predict(model, x): ...

`enable_grad()` turns recording back on inside a `no_grad` block, and `set_grad_enabled(mode)`
chooses by a flag: as a plain call it switches for good (`tm.set_grad_enabled(False)`), as a
context manager it switches back on exit. These are PyTorch's names and meanings, with one
difference: the switch is global to the process, not per thread (tinymed's threads share one
graph mode).
"""
import contextlib
import functools

from tinymed import validate

_enabled = True


def is_grad_enabled():
    """True when operations record a graph (the default), False under `no_grad`."""
    return _enabled


def _set(mode):
    global _enabled
    _enabled = mode


class _GradMode(contextlib.ContextDecorator):
    """A context manager and decorator that sets the mode on entry and restores it on exit."""

    mode = True

    def __new__(cls, func=None):
        self = super().__new__(cls)
        self._previous = []  # a stack: one instance may be entered again before it exits
        if func is None:
            return self
        if not callable(func):
            raise TypeError(f"{cls.__name__}: use it as `with {cls.__name__}():`, `@{cls.__name__}` or "
                            f"`@{cls.__name__}()`, got an argument {func!r}")
        return self(func)  # bare decorator: @no_grad

    def __enter__(self):
        self._previous.append(_enabled)
        _set(self.mode)

    def __exit__(self, *exc):
        _set(self._previous.pop())
        return False


class no_grad(_GradMode):
    """Operations inside record no graph (evaluation, optimizer steps)."""

    mode = False


class enable_grad(_GradMode):
    """Operations inside record a graph again, even within `no_grad`."""

    mode = True


class set_grad_enabled:
    """`set_grad_enabled(mode)`: record a graph or not. Called alone it switches for good; used as
    `with set_grad_enabled(mode):` (or a decorator) it restores the previous mode afterwards."""

    def __init__(self, mode):
        self.mode = validate.boolean(mode, "set_grad_enabled: mode")
        self._previous = _enabled
        _set(self.mode)

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _set(self._previous)
        return False

    def __call__(self, func):
        _set(self._previous)  # as a decorator it applies only inside the function

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(self.mode):
                return func(*args, **kwargs)

        return wrapper
