"""How many threads NumPy's BLAS (the matrix products under every layer) may use.

tinymed's matrices are small (a 32x32 image batch makes matrices of a few hundred rows), so a
second BLAS thread gains little, and when the cores are busy with anything else OpenBLAS's
threads wait for each other: on a loaded 2-core machine the demo took 172 s with two threads
and 34 s with one (benchmarks/bench_demo.py). `tinymed demo` and `tinymed pretrain` therefore
run with one thread unless told otherwise; in your own scripts, call `set_num_threads` (the name
is PyTorch's), or set OPENBLAS_NUM_THREADS before NumPy is imported.
"""
from threadpoolctl import threadpool_info, threadpool_limits


def set_num_threads(n):
    """Let BLAS use `n` threads from now on (as `torch.set_num_threads`)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: n must be an int >= 1, got {n!r}")
    threadpool_limits(limits=n, user_api="blas")


def get_num_threads():
    """How many threads BLAS may use now (the largest over the BLAS libraries loaded)."""
    counts = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    return max(counts, default=1)


def blas_threads(n):
    """A context manager: BLAS uses `n` threads inside the `with` block, as many as before after.

        with threads.blas_threads(1):
            train.fit(...)
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"blas_threads: n must be an int >= 1, got {n!r}")
    return threadpool_limits(limits=n, user_api="blas")
