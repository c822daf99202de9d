"""Run every tutorial notebook top to bottom, at full size, and store it with its outputs, so that
the figures and numbers show on the repository page without anyone running anything.

    python tutorials/run_notebooks.py                    # every NN_*.ipynb in tutorials/
    python tutorials/run_notebooks.py 03 05_transfer_learning.ipynb   # some of them

Full size: TINYMED_QUICK is removed from the kernel's environment (the test suite sets it to run
the same notebooks small, in a temporary folder, without writing them back). Each notebook runs
in a fresh kernel whose working folder is a temporary one, so that nothing it writes lands in
tutorials/. A notebook that fails is not written; the script says which, and exits with 1.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbclient
import nbformat

TUTORIALS = Path(__file__).resolve().parent


def notebooks(names):
    """The notebooks named (by prefix, e.g. "03", or file name), or all of them."""
    every = sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return every
    chosen = []
    for name in names:
        matches = [p for p in every if p.name == name or p.name.startswith(name)]
        if len(matches) != 1:
            sys.exit(f"run_notebooks: {name!r} names {len(matches)} notebooks; choose from "
                     f"{[p.name for p in every]}")
        chosen += matches
    return chosen


def run(path, timeout):
    """Execute the notebook at `path` in a fresh kernel and write it back with its outputs."""
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="tinymed-notebook-") as folder:
        client = nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                         resources={"metadata": {"path": folder}})
        client.execute()
    nbformat.write(notebook, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebooks to run (default: all)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    args = parser.parse_args(argv)
    os.environ.pop("TINYMED_QUICK", None)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    failed = []
    for path in notebooks(args.names):
        start = time.perf_counter()
        print(f"{path.name} ...", end=" ", flush=True)
        try:
            run(path, args.timeout)
        except nbclient.exceptions.CellExecutionError as error:
            print(f"FAILED, not written:\n{error}")
            failed.append(path.name)
            continue
        print(f"{time.perf_counter() - start:.0f} s")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
