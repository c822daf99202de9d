"""The threading policy under load: SimpleCNN steps and conv2d, idle and with one core busy.

    python benchmarks/bench_threads.py [--rounds 7] [--busy-seconds 600]

Times, at 1 and 2 threads, on an idle machine and while another process keeps one core busy
(a bounded busy loop this script starts, and stops when it is done or interrupted):

- a SimpleCNN SGD step, batch (64, 1, 64, 64) (bench_step.py's step);
- conv2d forward + backward, x (32, 16, 64, 64), weight (32, 16, 3, 3), padding 1
  (bench_conv.py's case);

each with tinymed's policy (one BLAS thread, tinymed's own threads over blocks of the batch),
with tinymed 0.1's policy (tinymed on one thread, the BLAS on n threads: OpenBLAS's threads
spin while they wait), and with PyTorch on n threads when it is installed (the naive NumPy
convolution of bench_conv.py otherwise). The figure is the median over the rounds; the
candidates take turns round after round, so a change in the load slows them alike. "Idle"
means no process of ours is busy: what else runs on the machine shows in the spread.
"""
import argparse
import subprocess
import sys
import time

import numpy as np
from bench_conv import conv_candidates
from bench_step import tinymed_step, torch_step

import tinymed as tm
from tinymed import threads

BUSY_LOOP = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


def median_times(candidates, rounds):
    """{name: fn} -> {name: median seconds}, the candidates in turn, round after round."""
    for fn in candidates.values():
        fn()  # warm up
    times = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def with_threads(n, policy, fn):
    """fn run with n threads under `policy`: "tinymed" (one BLAS thread, n of tinymed's) or
    "blas" (tinymed 0.1: one thread of tinymed's, n of the BLAS's)."""

    def run():
        if policy == "tinymed":
            tm.set_num_threads(n)
            return fn()
        tm.set_num_threads(1)
        with threads.blas_threads(n):
            return fn()

    return run


def workloads(torch):
    rng = np.random.default_rng(0)
    x = rng.random((64, 1, 64, 64), dtype=np.float32)
    y = (rng.random((64, 1)) < 0.1).astype(np.float32)
    steps = {"tinymed": tinymed_step(x, y)[1]}
    if torch is not None:
        steps["PyTorch"] = torch_step(x, y)
    xc = rng.standard_normal((32, 16, 64, 64), dtype=np.float32)
    w = rng.standard_normal((32, 16, 3, 3), dtype=np.float32) * 0.1
    b = rng.standard_normal(32, dtype=np.float32)
    g = rng.standard_normal((32, 32, 64, 64), dtype=np.float32)
    convs = {name: (lambda s=s: s(True)) for name, s in conv_candidates(xc, w, b, g, torch).items()}
    convs["PyTorch" if torch is not None else "naive NumPy"] = convs.pop("PyTorch (CPU)" if torch is not None else "naive NumPy")
    return {"SimpleCNN step": steps, "conv2d fwd+bwd": convs}


def measure(work, n, torch, rounds):
    """{(workload, candidate): median seconds} at n threads."""
    results = {}
    for name, fns in work.items():
        candidates = {"tinymed": with_threads(n, "tinymed", fns["tinymed"]),
                      "tinymed, BLAS threads (0.1)": with_threads(n, "blas", fns["tinymed"])}
        for other in set(fns) - {"tinymed"}:
            if other == "PyTorch":
                torch.set_num_threads(n)
            candidates[other] = fns[other]
        results.update({(name, c): t for c, t in median_times(candidates, rounds).items()})
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--busy-seconds", type=int, default=600, help="upper bound on the busy loop's life")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    work = workloads(torch)
    yardstick = "PyTorch" if torch is not None else "naive NumPy"
    print(f"NumPy {np.__version__}" + (f", PyTorch {torch.__version__}" if torch else ", PyTorch not installed")
          + f"; median of {args.rounds} rounds; times in ms\n")
    print(f"| load | threads | workload | tinymed | tinymed, BLAS threads (0.1) | {yardstick} | tinymed / {yardstick} |")
    print("|---|---|---|---|---|---|---|")
    for load in ("idle", "one core busy"):
        busy = None
        try:
            if load != "idle":
                busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP.format(seconds=args.busy_seconds)])
                time.sleep(0.5)
            for n in (1, 2):
                results = measure(work, n, torch, args.rounds)
                for name in work:
                    ours, old = results[(name, "tinymed")], results[(name, "tinymed, BLAS threads (0.1)")]
                    other = results.get((name, yardstick))
                    other_text = "" if other is None else f"{other * 1e3:.0f}"
                    ratio = "" if other is None else f"{ours / other:.2f}x"
                    print(f"| {load} | {n} | {name} | {ours * 1e3:.0f} | {old * 1e3:.0f} | {other_text} | {ratio} |", flush=True)
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()


if __name__ == "__main__":
    main()
