"""How long `tinymed demo` takes, as a user would run it: a fresh process, imports included.

    python benchmarks/bench_demo.py            the default demo, then the quick one
    python benchmarks/bench_demo.py --quick    the quick one only

Each run is timed twice: with the BLAS threads NumPy picks by itself (on this machine, as many
as there are cores), and with OPENBLAS_NUM_THREADS=1 (and its MKL / OpenMP siblings). Besides
the wall-clock time it reports the CPU time the process used: on a machine loaded by other work,
a multi-threaded BLAS waits for cores and the wall-clock time says more about the load than
about tinymed, while the single-threaded CPU time is close to the wall-clock time the run takes
on an idle machine. The target: the default run under 60 s on 2 cores.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def run_demo(quick, extra_env):
    """Run the demo in a new process; return (wall seconds, CPU seconds, exit status)."""
    env = {k: v for k, v in os.environ.items() if k not in ONE_THREAD and k != "TINYMED_QUICK"}
    env.update(extra_env)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "tinymed", "demo", "--out", out] + (["--quick"] if quick else [])
        start = time.perf_counter()
        done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="time only `tinymed demo --quick`")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (1 min)")
    print(f"{'run':<8} {'BLAS threads':<14} {'wall':>8} {'CPU':>8}  status")
    for quick in ([True] if args.quick else [False, True]):
        for label, extra in (("default", {}), ("1", ONE_THREAD)):
            wall, cpu, status = run_demo(quick, extra)
            name = "quick" if quick else "default"
            print(f"{name:<8} {label:<14} {wall:7.1f}s {cpu:7.1f}s  {status}", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} (1 min) at the end")


if __name__ == "__main__":
    main()
