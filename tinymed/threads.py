"""How many threads tinymed computes with, and why the BLAS gets only one of them.

The policy, applied when tinymed is imported:

- NumPy's BLAS (OpenBLAS: the matrix products) runs with ONE thread. OpenBLAS's idle threads
  spin while they wait for work; with another program busy on one core of a 2-core machine,
  the spinning threads wait for each other and a SimpleCNN training step took 15 times longer
  than with one thread (benchmarks/bench_threads.py; the README has the figures).
- tinymed's own threads (tinymed.parallel) share the batch instead: the fast convolution and
  pooling cut it into blocks of images and run the blocks on `get_num_threads()` Python
  threads: OMP_NUM_THREADS if it is set (PyTorch reads it too), else one per usable core.
  NumPy releases Python's lock while it copies and multiplies, so the blocks really run side
  by side, and a thread that waits sleeps instead of spinning: a busy core slows a step down
  by its share, no more.

`set_num_threads(n)` (PyTorch's name) changes tinymed's thread count; the BLAS stays at one
thread. To give the BLAS more threads for a block of code (a large Linear layer on an idle
machine), use `with threads.blas_threads(n): ...`.
"""
import os

from threadpoolctl import threadpool_limits

from tinymed import validate


def _usable_cores():
    """The cores this process may run on (a container's or taskset's limit included)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _default_threads():
    """OMP_NUM_THREADS when it is a positive int, as PyTorch; else one per usable core."""
    setting = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(setting) if setting.isdigit() and int(setting) > 0 else _usable_cores()


_num_threads = _default_threads()


def use_one_blas_thread():
    """The policy above: the BLAS runs with one thread (called when tinymed is imported)."""
    threadpool_limits(limits=1, user_api="blas")


def set_num_threads(n):
    """Let tinymed compute with `n` threads from now on (as `torch.set_num_threads`)."""
    global _num_threads
    _num_threads = validate.integer(n, "set_num_threads: n", min=1)
    use_one_blas_thread()


def get_num_threads():
    """How many threads tinymed's fast paths use (as `torch.get_num_threads`)."""
    return _num_threads


def blas_threads(n):
    """A context manager: the BLAS uses `n` threads inside the `with` block, as before after.

        with threads.blas_threads(2):
            big_linear_layer(x)
    """
    return threadpool_limits(limits=validate.integer(n, "blas_threads: n", min=1), user_api="blas")


use_one_blas_thread()
