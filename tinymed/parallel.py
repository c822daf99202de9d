"""The one parallel loop of tinymed: blocks of a batch, on a few threads.

NumPy releases Python's global lock while it copies, runs a ufunc or multiplies matrices, so
plain Python threads working on different images of a batch run truly at the same time. The
fast paths (tinymed.nn.conv_fast) cut the batch into blocks and hand them to `run`:

    out = np.empty(...)
    def one_block(rows):                    # rows: a slice of the batch axis
        out[rows] = ...                     # each block writes only its own images
    parallel.run(one_block, parallel.blocks(N, bytes_per_image))

Why threads of our own rather than the BLAS's: a waiting Python thread sleeps, while a waiting
OpenBLAS thread spins; with another program busy on one core the spinning threads wait for each
other and a step turns many times slower (see tinymed.threads). Blocks are handed out one at a
time, so a thread whose core is shared simply takes fewer blocks. The block size keeps a block's
im2col columns in the CPU cache (about 4 MB); there are several blocks per thread when the
batch allows, so the work evens out.
"""
import threading
from concurrent.futures import ThreadPoolExecutor

from tinymed import threads

BLOCK_BYTES = 4 * 2**20  # bytes of work per block (im2col columns): about what the cache holds
BLOCKS_PER_THREAD = 4  # more blocks than threads, so a thread on a busy core takes fewer

_pool = None
_inside = threading.local()  # set in the pool's threads: a nested run stays on its thread


def blocks(n_items, bytes_per_item):
    """Slices of range(n_items), each of about BLOCK_BYTES, and at least BLOCKS_PER_THREAD per
    thread when there are enough items."""
    by_cache = max(1, BLOCK_BYTES // max(1, bytes_per_item))
    by_threads = max(1, -(-n_items // (BLOCKS_PER_THREAD * threads.get_num_threads())))
    step = min(by_cache, by_threads)
    return [slice(start, min(start + step, n_items)) for start in range(0, n_items, step)]


def run(fn, items):
    """[fn(item) for item in items], the calls spread over tinymed's threads; results in order.
    One thread (tm.set_num_threads(1)), one item, or a call from inside a block: a plain loop."""
    n_threads = threads.get_num_threads()
    if n_threads == 1 or len(items) < 2 or getattr(_inside, "yes", False):
        return [fn(item) for item in items]
    return list(_executor(n_threads).map(lambda item: _in_pool(fn, item), items))


def _in_pool(fn, item):
    _inside.yes = True
    return fn(item)


def _executor(n_threads):
    """The shared pool, rebuilt when the thread count changes."""
    global _pool
    if _pool is None or _pool._max_workers != n_threads:
        if _pool is not None:
            _pool.shutdown(wait=False)
        _pool = ThreadPoolExecutor(n_threads, thread_name_prefix="tinymed")
    return _pool
