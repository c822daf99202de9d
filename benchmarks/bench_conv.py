"""conv2d and max_pool2d, forward and forward + backward: tinymed, a naive NumPy version, PyTorch.

    python benchmarks/bench_conv.py

conv2d: x (32, 16, 64, 64), weight (32, 16, 3, 3), bias, padding 1, float32, gradients for x,
weight and bias (a layer in the middle of a network). max_pool2d: x (32, 32, 64, 64), kernel 2.

The naive convolution is the textbook im2col with the column matrix laid out (N*H'*W', C*kh*kw)
(one patch per row), built by the same loop over kernel offsets; every copy into and out of that
layout is strided, and so are the transposes of the output and of the gradient. The naive
max-pool loops over output pixels. PyTorch runs with as many threads as tinymed (tm.get_num_threads()).

Every implementation is timed in turn, round after round, and the best round is kept, so that
other work on the machine slows all of them alike; on Linux each round also waits (up to 2 s)
until no other process is running.
"""
import os
import time

import numpy as np

import tinymed as tm
from tinymed.nn.conv import conv2d
from tinymed.nn.pooling import max_pool2d

ROUNDS = 15


def wait_until_idle(timeout=2.0):
    """Wait until this is the only running process (the 4th field of /proc/loadavg is
    running/total), or `timeout` seconds; return at once where /proc is not available."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open("/proc/loadavg") as f:
                running = int(f.read().split()[3].split("/")[0])
        except OSError:
            return
        if running <= 1:
            return
        time.sleep(0.05)


def best_times(candidates, rounds=ROUNDS):
    """{name: fn} -> {name: best seconds}, timing the candidates in turn, round after round."""
    for fn in candidates.values():
        fn()  # warm up: first-touch allocations, BLAS thread start-up
    best = {name: float("inf") for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            wait_until_idle()
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


# --- the naive versions ----------------------------------------------------------------------


def naive_conv_forward(x, w, b, pad):
    N, C, H, W = x.shape
    O, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out_h, out_w = H + 2 * pad - k + 1, W + 2 * pad - k + 1
    cols = np.empty((N, out_h, out_w, C, k, k), x.dtype)  # one patch per row
    for i in range(k):
        for j in range(k):
            cols[:, :, :, :, i, j] = xp[:, :, i : i + out_h, j : j + out_w].transpose(0, 2, 3, 1)
    cols = cols.reshape(N * out_h * out_w, C * k * k)
    out = cols @ w.reshape(O, -1).T + b  # (N*H'*W', O)
    return out.reshape(N, out_h, out_w, O).transpose(0, 3, 1, 2).copy(), cols


def naive_conv_backward(g, cols, x, w, pad):
    N, C, H, W = x.shape
    O, _, k, _ = w.shape
    out_h, out_w = g.shape[2:]
    g2 = g.transpose(0, 2, 3, 1).reshape(-1, O)  # (N*H'*W', O)
    dw = (g2.T @ cols).reshape(w.shape)
    db = g2.sum(axis=0)
    dcols = (g2 @ w.reshape(O, -1)).reshape(N, out_h, out_w, C, k, k)
    dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), x.dtype)
    for i in range(k):
        for j in range(k):
            dxp[:, :, i : i + out_h, j : j + out_w] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dxp[:, :, pad : pad + H, pad : pad + W], dw, db


def naive_max_pool(x, g, k, backward):
    """Forward (and backward), one output pixel at a time (kernel k, stride k)."""
    N, C, H, W = x.shape
    out = np.empty((N, C, H // k, W // k), x.dtype)
    dx = np.zeros_like(x)
    for y in range(H // k):
        for z in range(W // k):
            patch = x[:, :, y * k : y * k + k, z * k : z * k + k].reshape(N, C, k * k)
            arg = patch.argmax(axis=2)
            out[:, :, y, z] = np.take_along_axis(patch, arg[:, :, None], axis=2)[:, :, 0]
            if not backward:
                continue
            dpatch = np.zeros((N, C, k * k), x.dtype)
            np.put_along_axis(dpatch, arg[:, :, None], g[:, :, y, z, None], axis=2)
            dx[:, :, y * k : y * k + k, z * k : z * k + k] = dpatch.reshape(N, C, k, k)
    return out, dx


# --- the runs --------------------------------------------------------------------------------


def conv_candidates(x, w, b, g, torch):
    X, Wt, B = (tm.tensor(a, requires_grad=True) for a in (x, w, b))

    def tinymed_step(backward):
        X.grad = Wt.grad = B.grad = None
        y = conv2d(X, Wt, B, padding=1)
        if backward:
            y.backward(g)

    def naive_step(backward):
        out, cols = naive_conv_forward(x, w, b, 1)
        if backward:
            naive_conv_backward(g, cols, x, w, 1)

    steps = {"tinymed": tinymed_step, "naive NumPy": naive_step}
    if torch is not None:
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        tg = torch.tensor(g)

        def torch_step(backward):
            tx.grad = tw.grad = tb.grad = None
            y = torch.nn.functional.conv2d(tx, tw, tb, padding=1)
            if backward:
                y.backward(tg)

        steps["PyTorch (CPU)"] = torch_step
    return steps


def pool_candidates(x, g, torch):
    X = tm.tensor(x, requires_grad=True)

    def tinymed_step(backward):
        X.grad = None
        y = max_pool2d(X, 2)
        if backward:
            y.backward(g)

    steps = {
        "tinymed": tinymed_step,
        "naive NumPy": lambda backward: naive_max_pool(x, g, 2, backward),
    }
    if torch is not None:
        tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g)

        def torch_step(backward):
            tx.grad = None
            y = torch.nn.functional.max_pool2d(tx, 2)
            if backward:
                y.backward(tg)

        steps["PyTorch (CPU)"] = torch_step
    return steps


def report(title, naive, steps):
    forward = best_times({name: (lambda s=s: s(False)) for name, s in steps.items()})
    both = best_times({name: (lambda s=s: s(True)) for name, s in steps.items()})
    print(f"{title}\n  (naive NumPy: {naive})")
    print(f"  {'':<24} {'forward':>10} {'fwd+bwd':>10}")
    for name in steps:
        print(f"  {name:<24} {forward[name] * 1e3:7.1f} ms {both[name] * 1e3:7.1f} ms")
    if "PyTorch (CPU)" in steps:
        for name in list(steps)[:2]:
            ratio_f = forward[name] / forward["PyTorch (CPU)"]
            ratio_b = both[name] / both["PyTorch (CPU)"]
            print(f"  {name + ' / PyTorch':<24} {ratio_f:9.2f}x {ratio_b:9.2f}x")
    print()


def main():
    try:
        import torch
    except ImportError:
        torch = None
    threads = tm.get_num_threads()
    if torch is not None:
        torch.set_num_threads(threads)
    print(f"NumPy {np.__version__}, tinymed threads: {threads} (one BLAS thread)"
          + (f", PyTorch {torch.__version__} threads: {torch.get_num_threads()}" if torch else ", PyTorch not installed"))
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if var in os.environ:
            print(f"{var}={os.environ[var]}")
    print()

    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 16, 64, 64), dtype=np.float32)
    w = rng.standard_normal((32, 16, 3, 3), dtype=np.float32) * 0.1
    b = rng.standard_normal(32, dtype=np.float32)
    g = rng.standard_normal((32, 32, 64, 64), dtype=np.float32)
    report("conv2d: x (32, 16, 64, 64), weight (32, 16, 3, 3), bias, padding 1, float32",
           "im2col with one patch per row, (N*H'*W', C*k*k)", conv_candidates(x, w, b, g, torch))

    x = rng.standard_normal((32, 32, 64, 64), dtype=np.float32)
    g = rng.standard_normal((32, 32, 32, 32), dtype=np.float32)
    report("max_pool2d: x (32, 32, 64, 64), kernel 2, stride 2, float32", "a loop over output pixels",
           pool_candidates(x, g, torch))


if __name__ == "__main__":
    main()
