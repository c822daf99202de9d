"""BLAS thread control: set, read back, limit for a block."""
import pytest

import tinymed as tm
from tinymed import threads


def test_blas_threads_limits_inside_the_block_and_restores_after():
    before = tm.get_num_threads()
    with threads.blas_threads(1):
        assert tm.get_num_threads() == 1
    assert tm.get_num_threads() == before


def test_set_num_threads_sticks_until_changed():
    before = tm.get_num_threads()
    try:
        tm.set_num_threads(1)
        assert tm.get_num_threads() == 1
    finally:
        tm.set_num_threads(before)
    assert tm.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_a_thread_count_must_be_a_positive_int(bad):
    with pytest.raises(ValueError, match="must be an int >= 1"):
        tm.set_num_threads(bad)
    with pytest.raises(ValueError, match="must be an int >= 1"):
        threads.blas_threads(bad)
