"""Grad mode: no_grad, enable_grad and set_grad_enabled, with PyTorch's spellings and meanings."""
import pytest

import tinymed as tm
from tinymed.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled


def records(x):
    return (x * 2).grad_fn is not None


@pytest.fixture
def x():
    return tm.tensor([1.0], requires_grad=True)


def test_no_grad_works_bare_and_called_as_a_decorator(x):
    @no_grad
    def bare(t):
        return records(t)

    @no_grad()
    def called(t):
        return records(t)

    assert not bare(x) and not called(x)
    assert bare.__name__ == "bare"  # the decorator keeps the function's name
    assert records(x) and is_grad_enabled()


def test_enable_grad_records_again_inside_no_grad(x):
    with no_grad():
        with enable_grad():
            assert records(x)
        assert not records(x)

    @enable_grad
    def inside(t):
        return records(t)

    with no_grad():
        assert inside(x)
        assert not is_grad_enabled()


def test_set_grad_enabled_as_a_call_switches_for_good(x):
    try:
        set_grad_enabled(False)
        assert not is_grad_enabled() and not records(x)
    finally:
        set_grad_enabled(True)
    assert records(x)


def test_set_grad_enabled_as_a_block_and_a_decorator_restores_the_mode(x):
    with set_grad_enabled(False):
        assert not records(x)
        with set_grad_enabled(True):
            assert records(x)
        assert not records(x)
    assert records(x)

    @set_grad_enabled(False)
    def evaluate(t):
        return records(t)

    assert is_grad_enabled()  # decorating changes nothing outside the function
    assert not evaluate(x) and records(x)


def test_the_mode_is_restored_after_an_exception(x):
    with pytest.raises(ZeroDivisionError), no_grad():
        1 / 0
    with pytest.raises(ZeroDivisionError), set_grad_enabled(False):
        1 / 0
    assert is_grad_enabled()


def test_the_names_are_exported_from_the_engine_as_pytorch_keeps_them_in_torch_autograd():
    from tinymed import autograd

    assert autograd.no_grad is no_grad and autograd.enable_grad is enable_grad
    assert autograd.set_grad_enabled is set_grad_enabled and autograd.is_grad_enabled is is_grad_enabled


def test_bad_grad_mode_arguments_are_named():
    with pytest.raises(TypeError, match=r"set_grad_enabled: mode must be True or False, got 'no'"):
        set_grad_enabled("no")
    with pytest.raises(TypeError, match=r"no_grad: use it as `with no_grad\(\):`, `@no_grad` or `@no_grad\(\)`"):
        no_grad(42)
