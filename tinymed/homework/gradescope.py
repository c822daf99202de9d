"""`make`: the student notebook, the instructor notebook and Gradescope's autograder.zip.

Gradescope unpacks autograder.zip into /autograder/source, runs `setup.sh` once to build the
image, then `run_autograder` for each submission (uploaded to /autograder/submission/), which
must write /autograder/results/results.json. tinymed is not on the package index, so the zip
carries a wheel of the tinymed that made it, built here from the installed package's files
(stdlib zipfile, a dist-info written by hand: no build tools, no network).
"""
import base64
import hashlib
import importlib.metadata
import io
import os
import stat
import zipfile
from pathlib import Path

import tinymed
from tinymed.homework import notebook

PACKAGE = Path(tinymed.__file__).resolve().parent

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, to build the grading image: install the tinymed this zip carries.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v pip3 >/dev/null; then apt-get update && apt-get install -y python3 python3-pip; fi
# Ubuntu 24.04's Python refuses system-wide installs (PEP 668) unless told this image is disposable
pip3 install --no-cache-dir ./{wheel} || pip3 install --no-cache-dir --break-system-packages ./{wheel}
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission. The variables let you try it on your own machine:
#   TINYMED_SUBMISSION=dir TINYMED_RESULTS=out/results.json TINYMED_PYTHON=python ./run_autograder
SUBMISSION="${{TINYMED_SUBMISSION:-/autograder/submission}}"
RESULTS="${{TINYMED_RESULTS:-/autograder/results/results.json}}"
PYTHON="${{TINYMED_PYTHON:-python3}}"
"$PYTHON" -m tinymed.homework grade {name} "$SUBMISSION" --json "$RESULTS"
exit 0  # the score is in results.json; a non-zero status would hide it behind an error
"""


def _requirements():
    """tinymed's runtime requirements (no extras), from its installed metadata or pyproject.toml."""
    try:
        return [r for r in importlib.metadata.requires("tinymed") or [] if "extra ==" not in r]
    except importlib.metadata.PackageNotFoundError:
        pass
    pyproject = PACKAGE.parent / "pyproject.toml"
    if pyproject.is_file():
        import tomllib
        return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    raise RuntimeError("make: cannot tell tinymed's requirements: install tinymed (pip install .) and run make again")


def _digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(out_dir):
    """A pure-Python wheel of the tinymed being run, in `out_dir`; its path."""
    version = tinymed.__version__
    info = f"tinymed-{version}.dist-info"
    files = {}
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files[f"tinymed/{path.relative_to(PACKAGE).as_posix()}"] = path.read_bytes()
    metadata = [f"Metadata-Version: 2.1", "Name: tinymed", f"Version: {version}",
                "Summary: Deep learning for medical imaging from scratch, in pure NumPy.", "Requires-Python: >=3.10"]
    metadata += [f"Requires-Dist: {r}" for r in _requirements()]
    files[f"{info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: tinymed.homework\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{info}/entry_points.txt"] = b"[console_scripts]\ntinymed = tinymed.cli:main\n"
    record = "".join(f"{name},{_digest(data)},{len(data)}\n" for name, data in files.items()) + f"{info}/RECORD,,\n"
    files[f"{info}/RECORD"] = record.encode()
    path = Path(out_dir) / f"tinymed-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
    return path


def _executable(zip_file, name, text):
    entry = zipfile.ZipInfo(name)
    entry.external_attr = (stat.S_IFREG | 0o755) << 16
    entry.compress_type = zipfile.ZIP_DEFLATED
    zip_file.writestr(entry, text)


def make(assignment, out_dir):
    """Write <name>.ipynb (students), <name>-instructor.ipynb and autograder.zip into `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    instructor = notebook.read(assignment.notebook)
    paths = {"student": out / f"{assignment.name}.ipynb", "instructor": out / f"{assignment.name}-instructor.ipynb",
             "autograder": out / "autograder.zip"}
    notebook.write(notebook.student_notebook(instructor), paths["student"])
    notebook.write(instructor, paths["instructor"])
    wheel = build_wheel(out)
    try:
        with zipfile.ZipFile(paths["autograder"], "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(wheel, wheel.name)
            _executable(archive, "setup.sh", SETUP.format(wheel=wheel.name))
            _executable(archive, "run_autograder", RUN.format(name=assignment.name))
    finally:
        os.remove(wheel)
    return paths
