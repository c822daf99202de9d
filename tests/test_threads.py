"""The threading policy: one BLAS thread, tinymed's own thread count set and read back."""
import os
import subprocess
import sys

import pytest
from threadpoolctl import threadpool_info

import tinymed as tm
from tinymed import threads


def blas_thread_counts():
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_importing_tinymed_leaves_the_blas_one_thread_and_tinymed_one_per_usable_core():
    code = ("import os, tinymed, threadpoolctl; "
            "print([p['num_threads'] for p in threadpoolctl.threadpool_info() if p['user_api'] == 'blas'], "
            "tinymed.get_num_threads(), len(os.sched_getaffinity(0)))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    blas, ours, cores = out.rsplit(" ", 2)
    assert set(eval(blas)) <= {1} and int(ours) == int(cores)


def test_set_num_threads_sets_tinymeds_threads_and_keeps_the_blas_at_one():
    before = tm.get_num_threads()
    try:
        tm.set_num_threads(3)
        assert tm.get_num_threads() == 3
        assert set(blas_thread_counts()) <= {1}
    finally:
        tm.set_num_threads(before)
    assert tm.get_num_threads() == before


def test_blas_threads_gives_the_blas_more_threads_inside_the_block_only():
    with threads.blas_threads(2):
        assert set(blas_thread_counts()) <= {2}
    assert set(blas_thread_counts()) <= {1}


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError), ("2", TypeError)])
def test_a_thread_count_must_be_an_int_of_at_least_one(bad, error):
    with pytest.raises(error, match=r"set_num_threads: n must be an int >= 1, got"):
        tm.set_num_threads(bad)
    with pytest.raises(error, match=r"blas_threads: n must be an int >= 1, got"):
        threads.blas_threads(bad)
