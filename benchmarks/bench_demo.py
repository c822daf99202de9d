"""How long `tinymed demo` takes, as a user would run it: a fresh process, imports included.

    python benchmarks/bench_demo.py            the default demo, then the quick one
    python benchmarks/bench_demo.py --quick    the quick one only

Each run is timed with one of tinymed's threads (`--threads 1`) and with one per core
(`--threads N`; the BLAS has one thread either way, see tinymed.threads). Besides the wall-clock
time it reports the CPU time the process used: on a machine loaded by other work the wall-clock
time says as much about the load as about tinymed. The target: the default run under 60 s on 2 cores.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

def run_demo(quick, threads):
    """Run the demo in a new process; return (wall seconds, CPU seconds, exit status)."""
    env = {k: v for k, v in os.environ.items() if k != "TINYMED_QUICK"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "tinymed", "demo", "--out", out, "--threads", str(threads)]
        command += ["--quick"] if quick else []
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
    print(f"{'run':<8} {'threads':<14} {'wall':>8} {'CPU':>8}  status")
    for quick in ([True] if args.quick else [False, True]):
        for threads in (1, os.cpu_count()):
            wall, cpu, status = run_demo(quick, threads)
            name = "quick" if quick else "default"
            print(f"{name:<8} {threads:<14} {wall:7.1f}s {cpu:7.1f}s  {status}", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} (1 min) at the end")


if __name__ == "__main__":
    main()
