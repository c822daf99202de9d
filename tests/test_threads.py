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


def after_import(omp_num_threads=None):
    """(BLAS thread counts, tm.get_num_threads(), usable cores) in a fresh process."""
    code = ("import os, tinymed, threadpoolctl; "
            "print([p['num_threads'] for p in threadpoolctl.threadpool_info() if p['user_api'] == 'blas'], "
            "tinymed.get_num_threads(), len(os.sched_getaffinity(0)), sep=';')")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    if omp_num_threads is not None:
        env["OMP_NUM_THREADS"] = omp_num_threads
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    blas, ours, cores = out.strip().split(";")
    return [int(n) for n in blas.strip("[]").split(",")], int(ours), int(cores)


def test_importing_tinymed_leaves_the_blas_one_thread_and_tinymed_one_per_usable_core():
    blas, ours, cores = after_import()
    assert set(blas) == {1} and ours == cores


def test_omp_num_threads_sets_tinymeds_thread_count_as_it_does_pytorchs():
    blas, ours, _ = after_import("3")
    assert set(blas) == {1} and ours == 3
    assert after_import("zero")[1] == after_import()[1]  # not a count: ignored


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
