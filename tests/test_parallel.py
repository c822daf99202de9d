"""tinymed.parallel: the blocks cover the batch once, in order; run returns every result in
order, on several threads, and a nested run stays on its thread."""
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinymed as tm
from tinymed import parallel


@pytest.fixture
def two_threads():
    before = tm.get_num_threads()
    tm.set_num_threads(2)
    yield
    tm.set_num_threads(before)


@given(st.integers(0, 200), st.integers(1, 10**7), st.integers(1, 4))
def test_blocks_cover_every_item_once_in_order(n_items, bytes_per_item, n_threads):
    before = tm.get_num_threads()
    tm.set_num_threads(n_threads)
    try:
        blocks = parallel.blocks(n_items, bytes_per_item)
    finally:
        tm.set_num_threads(before)
    covered = [i for block in blocks for i in range(n_items)[block]]
    assert covered == list(range(n_items))
    assert all(block.stop - block.start >= 1 for block in blocks)


def test_blocks_hold_about_block_bytes_and_several_per_thread(two_threads):
    # 100 items of 1 MB: 4 items per 4 MB block; 2 threads ask for at least 8 blocks
    assert {b.stop - b.start for b in parallel.blocks(100, 2**20)} == {4}
    # 16 tiny items: one block would do for the cache, but each thread gets 4 blocks of 2
    assert [b.stop - b.start for b in parallel.blocks(16, 1)] == [2] * 8


def test_run_returns_the_results_in_order_from_several_threads(two_threads):
    names = set()
    barrier = threading.Barrier(2, timeout=10)

    def work(i):
        names.add(threading.current_thread().name)
        if i < 2:
            barrier.wait()  # the first two items meet: they must run at the same time
        return i * i

    assert parallel.run(work, list(range(20))) == [i * i for i in range(20)]
    assert len(names) == 2 and all(name.startswith("tinymed") for name in names)


def test_run_inside_a_block_runs_on_that_thread(two_threads):
    def outer(i):
        me = threading.current_thread().name
        return parallel.run(lambda j: threading.current_thread().name == me, [0, 1, 2])

    assert parallel.run(outer, [0, 1, 2, 3]) == [[True] * 3] * 4


def test_one_thread_runs_a_plain_loop_on_the_calling_thread():
    before = tm.get_num_threads()
    tm.set_num_threads(1)
    try:
        assert parallel.run(lambda i: threading.current_thread().name, [0, 1, 2]) == [threading.current_thread().name] * 3
    finally:
        tm.set_num_threads(before)
