"""The engine's overhead: forward and backward of a tiny graph, where NumPy's work is negligible
and what is timed is tinymed's bookkeeping per op.

    python benchmarks/bench_engine.py

Graph: (a * a + a).sum().backward() with a of shape (8, 8): three ops forward, three backward.
Compared with PyTorch on the CPU when it is importable, and with the same arithmetic done by
hand in NumPy (the floor: what the math costs without any graph).
"""
import timeit

import numpy as np

import tinymed as tm


def best_of(fn, number, repeat=7):
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def tinymed_step(a):
    a.grad = None
    (a * a + a).sum().backward()


def numpy_by_hand(a):
    out = (a * a + a).sum()
    grad = np.ones_like(a) * (2 * a + 1)
    return out, grad


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 8)).astype(np.float32)
    a = tm.tensor(x, requires_grad=True)
    rows = [("tinymed", best_of(lambda: tinymed_step(a), 2000))]
    rows.append(("NumPy by hand (no graph)", best_of(lambda: numpy_by_hand(x), 2000)))
    try:
        import torch

        torch.set_num_threads(1)
        t = torch.tensor(x, requires_grad=True)

        def torch_step():
            t.grad = None
            (t * t + t).sum().backward()

        rows.append(("PyTorch (CPU)", best_of(torch_step, 2000)))
    except ImportError:
        rows.append(("PyTorch (CPU)", None))

    print("(a * a + a).sum().backward(), a: (8, 8) float32")
    for name, seconds in rows:
        shown = "not installed" if seconds is None else f"{seconds * 1e6:8.1f} us"
        print(f"  {name:<26} {shown}")
    if rows[-1][1]:
        print(f"  tinymed / PyTorch: {rows[0][1] / rows[-1][1]:.2f}x")


if __name__ == "__main__":
    main()
