"""One SGD step of SimpleCNN on a batch of 64 grey 64x64 images: time, peak memory, dtypes.

    python benchmarks/bench_step.py [--threads N]

A step is zero_grad, forward, BCE-with-logits loss, backward, SGD (momentum 0.9) update.
Compared with the same step in PyTorch on the CPU (same architecture, same thread count) when
PyTorch is importable; bench_threads.py times it idle and under load. The naive-NumPy comparison of the step's dominant cost, the convolution,
is in bench_conv.py. Peak memory is what NumPy allocated during one step (tracemalloc sees NumPy's
allocations), and every parameter, gradient and activation is checked to be float32.
"""
import argparse
import time
import tracemalloc

import numpy as np

import tinymed as tm
from tinymed import models, nn, optim


def best_time(step, repeat=7):
    step()  # warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def tinymed_step(x, y):
    model = models.SimpleCNN(seed=0)
    sgd = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.BCEWithLogitsLoss()
    inputs = tm.tensor(x)

    def step():
        sgd.zero_grad()
        out = model(inputs)
        loss_fn(out, y).backward()
        sgd.step()
        return out

    return model, step


def torch_step(x, y):
    import torch

    tnn = torch.nn
    model = tnn.Sequential(
        tnn.Conv2d(1, 16, 3, padding=1), tnn.BatchNorm2d(16), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(16, 32, 3, padding=1), tnn.BatchNorm2d(32), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(32, 64, 3, padding=1), tnn.BatchNorm2d(64), tnn.ReLU(),
        tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(64, 1))
    sgd = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = tnn.BCEWithLogitsLoss()
    inputs, targets = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        sgd.zero_grad()
        loss_fn(model(inputs), targets).backward()
        sgd.step()

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=tm.get_num_threads())
    args = parser.parse_args()
    tm.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.random((64, 1, 64, 64), dtype=np.float32)
    y = (rng.random((64, 1)) < 0.1).astype(np.float32)

    model, step = tinymed_step(x, y)
    seconds = best_time(step)
    tracemalloc.start()
    out = step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    dtypes = {p.dtype for p in model.parameters()} | {p.grad.dtype for p in model.parameters()}
    dtypes |= {out.dtype} | {b.dtype for b in model.buffers() if b.dtype.kind == "f"}

    print(f"SimpleCNN SGD step, batch (64, 1, 64, 64), {args.threads} thread(s)")
    print(f"  tinymed        {seconds * 1e3:7.1f} ms   peak memory {peak / 2**20:6.1f} MB   "
          f"float dtypes {sorted(str(d) for d in dtypes)}")
    try:
        import torch
    except ImportError:
        print("  PyTorch        not installed")
        return
    torch.set_num_threads(args.threads)
    torch_seconds = best_time(torch_step(x, y))
    print(f"  PyTorch (CPU)  {torch_seconds * 1e3:7.1f} ms")
    print(f"  tinymed / PyTorch: {seconds / torch_seconds:.2f}x")


if __name__ == "__main__":
    main()
