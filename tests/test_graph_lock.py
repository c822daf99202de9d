"""The graph lock: arrays saved for backward are read-only while a graph needs them, a write says
why and what to do, and the lock can be switched off."""
import numpy as np
import pytest

import tinymed as tm
from tinymed import graph_lock

EXPLAINED = "read-only because a graph that is still alive saved it for backward"


@pytest.fixture
def locked():
    """w, and a loss whose graph saved w's array."""
    w = tm.tensor([1.0, 2.0], requires_grad=True)
    return w, (w * w).sum()


# -- arrays saved for backward cannot change underneath the graph -----------------------------------


def test_saved_array_is_read_only_while_the_graph_lives_and_writeable_after_backward():
    w = tm.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    with pytest.raises(ValueError, match="read-only"):
        w.data[0] = 5.0
    with tm.no_grad(), pytest.raises(RuntimeError, match="read-only because a graph that is still alive saved it"):
        w[0] = 5.0
    y.backward()
    w.data[0] = 5.0  # the graph is freed: writeable again
    assert w.data[0] == 5.0


def test_saved_array_is_writeable_again_when_the_graph_is_dropped():
    w = tm.tensor([1.0, 2.0], requires_grad=True)
    y = w * w
    del y
    with tm.no_grad():
        w[1] = 7.0
    assert w.data.tolist() == [1.0, 7.0]


def test_a_view_of_a_saved_array_is_protected_too():
    base = np.arange(4.0)
    x = tm.from_numpy(base[1:])  # shares memory with base
    x.requires_grad_(True)
    y = (x * x).sum()
    with pytest.raises(ValueError, match="read-only"):
        base[1] = 10.0
    y.backward()
    base[1] = 10.0


def test_assignment_into_a_tensor_that_requires_grad_needs_no_grad():
    w = tm.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="under tm.no_grad"):
        w[0] = 2.0


def test_a_view_and_its_base_saved_by_different_graphs_unlock_in_any_order():
    base = tm.tensor(np.arange(4.0), requires_grad=True)
    view = base[1:]  # its data is a view of base's array
    y1 = (view * view).sum()  # locks the view and its base
    y2 = (base * base).sum()  # locks the base again
    y1.backward()
    assert not view.data.flags.writeable  # its base is still needed by y2's graph
    y2.backward()
    assert view.data.flags.writeable and base.data.flags.writeable




# -- the message a write meets ----------------------------------------------------------------------


@pytest.mark.parametrize("write", [
    lambda w: w.data.__setitem__(0, 5.0),        # w.data[0] = 5
    lambda w: w.numpy().__setitem__(0, 5.0),     # w.numpy()[0] = 5
    lambda w: w.data.__iadd__(1.0),              # w.data += 1
    lambda w: np.add(w.data, 1.0, out=w.data),
    lambda w: w.data.fill(0.0),
    lambda w: w.data[:1].__setitem__(0, 5.0),    # through a slice of the locked array
], ids=["setitem", "numpy-setitem", "iadd", "ufunc-out", "fill", "slice"])
def test_a_write_into_a_locked_array_says_why_and_what_to_do(locked, write):
    w, loss = locked
    with pytest.raises(graph_lock.GraphLockError, match=EXPLAINED) as error:
        write(w)
    assert "Call backward() first" in str(error.value) and "set_enabled(False)" in str(error.value)
    assert w.data.tolist() == [1.0, 2.0]  # nothing was written
    loss.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])  # from the values the graph saw


def test_graph_lock_error_is_a_value_error_as_numpys_and_a_runtime_error_as_pytorchs():
    assert issubclass(graph_lock.GraphLockError, ValueError)
    assert issubclass(graph_lock.GraphLockError, RuntimeError)


def test_reading_a_locked_array_gives_plain_arrays(locked):
    w, _ = locked
    assert isinstance(w.data, np.ndarray) and w.data is w.data  # one view while locked
    for result in (w.data * 2, w.data.sum(), np.exp(w.data), w.data.copy(), w.data.astype(np.float64)):
        assert type(result) in (np.ndarray, np.float32, np.float64)
    copy = w.data.copy()
    copy[0] = 9.0  # a copy is the user's own array
    assert w.data.tolist() == [1.0, 2.0]


def test_rebinding_data_is_allowed_while_the_graph_lives(locked):
    w, loss = locked
    w.data = w.data - 1.0  # a new array: the graph keeps the old one
    loss.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])
    assert w.data.tolist() == [0.0, 1.0]


def test_a_locked_view_held_past_backward_becomes_writeable(locked):
    w, loss = locked
    held = w.data
    loss.backward()
    held[0] = 3.0
    assert w.data.tolist() == [3.0, 2.0]


# -- switching it off ------------------------------------------------------------------------------


def test_set_enabled_false_locks_nothing_new():
    w = tm.tensor([1.0, 2.0], requires_grad=True)
    try:
        graph_lock.set_enabled(False)
        assert not graph_lock.is_enabled()
        loss = (w * w).sum()
        w.data[0] = 3.0  # allowed, and the gradient now uses the new value: the user's promise
        loss.backward()
    finally:
        graph_lock.set_enabled(True)
    np.testing.assert_array_equal(w.grad, [6.0, 4.0])
    loss = (w * w).sum()  # switched on again: this graph locks
    with pytest.raises(graph_lock.GraphLockError):
        w.data[0] = 1.0


def test_enabled_false_as_a_block_restores_the_lock_afterwards():
    w = tm.tensor([1.0], requires_grad=True)
    with graph_lock.enabled(False):
        y = w * 2
        w.data[0] = 4.0
    assert graph_lock.is_enabled()
    y = w * w
    with pytest.raises(graph_lock.GraphLockError):
        w.data[0] = 1.0
    del y


def test_set_enabled_wants_a_bool():
    with pytest.raises(TypeError, match=r"graph_lock.set_enabled: mode must be True or False, got 0"):
        graph_lock.set_enabled(0)
