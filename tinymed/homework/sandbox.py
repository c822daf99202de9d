"""Running the student's code: the child process of grading, and the errors it reports.

    python -m tinymed.homework.sandbox JOB.json

runs the submission's cells in one namespace (as a notebook runs them), then the student's side
of every check (`Check.run`), and writes one JSON line per event to its standard output: which
cell or check starts, and each check's answer or error. It judges nothing: the parent compares
the answers with references it computes itself (tinymed.homework.grader), so nothing the
submission does in here can change them. Each cell and each check has a time limit (a timer
interrupts endless loops; the parent kills the process if that fails); `sys.exit` in a cell ends
only that cell. The child's address space is limited (where the system allows it), so a
runaway allocation is a MemoryError in the cell that made it, not a machine out of memory.
"""
import contextlib
import importlib
import io
import json
import linecache
import os
import signal
import sys
import traceback

import numpy as np

from tinymed.homework import forbidden


class TimeLimit(BaseException):
    """Raised by the timer; a BaseException so that `except Exception` in student code lets it by."""


@contextlib.contextmanager
def time_limit(seconds):
    if not seconds or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise TimeLimit(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def student_line(tb):
    """'cell 5, line 3: `return grad * s @ x`' for the innermost frame of the student's code."""
    frames = [f for f in traceback.extract_tb(tb) if forbidden.is_student_file(f.filename)]
    if not frames:
        return None
    f = frames[-1]
    where = f.filename[1:-1] if f.filename.startswith("<cell ") else "your code"
    return f"{where}, line {f.lineno}" + (f": `{f.line.strip()}`" if f.line else "")


def describe(error):
    """A short message for an exception raised while running the student's code."""
    if isinstance(error, NotImplementedError):
        where = student_line(error.__traceback__)
        return f"not implemented yet ({where}): replace `raise NotImplementedError` with your code"
    if isinstance(error, TimeLimit):
        return f"took longer than {error.args[0]:g} s and was stopped (an endless loop?)"
    if isinstance(error, SystemExit):
        return f"called sys.exit({error.code!r}) / exit(); grading went on without the rest of that code"
    where = student_line(error.__traceback__)
    text = f"{type(error).__name__}: {error}"
    return f"{text}\n    raised in {where}" if where else text


def attempt(check, exercise, namespace, seconds=None):
    """Run the student's side of `check`: (answer, error message or None, [(forbidden name, where)])."""
    missing = [n for n in exercise.names if n not in namespace]
    if missing:
        return None, (f"your notebook defines no `{missing[0]}`: write it in the cell that starts "
                      f"`# EXERCISE: {exercise.name}` and run that cell"), []
    uses = forbidden.identity_uses(namespace, exercise.names, exercise.forbidden)
    tracer = forbidden.Tracer(forbidden.forbidden_code(exercise.forbidden))
    answer, error = None, None
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise"), time_limit(seconds), tracer:
            answer = check.run(namespace)
    except (Exception, TimeLimit, SystemExit) as e:
        error = describe(e)
    return answer, error, uses + [(name, "called while the checks ran") for name in tracer.hits]


def encode(x):
    """Plain JSON for an answer: arrays (and Tensors) become {"__array__", "dtype", "shape"}."""
    if hasattr(x, "data") and hasattr(x, "requires_grad"):
        x = x.data
    if isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind in "biuf":
        return {"__array__": np.asarray(x).tolist(), "dtype": str(x.dtype), "shape": list(np.shape(x))}
    if isinstance(x, dict):
        return {str(k): encode(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [encode(v) for v in x]
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    return {"__object__": type(x).__name__}


def decode(x):
    if isinstance(x, dict) and "__array__" in x:
        return np.array(x["__array__"], dtype=x["dtype"]).reshape(x["shape"])
    if isinstance(x, dict) and "__object__" in x:
        return Unreadable(x["__object__"])
    if isinstance(x, dict):
        return {k: decode(v) for k, v in x.items()}
    if isinstance(x, list):
        return [decode(v) for v in x]
    return x


class Unreadable:
    """An answer that was neither numbers nor arrays: what a judge sees of it is its type."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"a {self.type_name} object"


def run_cell(cell, namespace, seconds):
    """exec one cell, its lines visible to tracebacks; the error's message, or None."""
    filename = f"<cell {cell.number}>"
    linecache.cache[filename] = (len(cell.source), None, cell.source.splitlines(keepends=True), filename)
    try:
        code = compile(cell.source, filename, "exec")
        with time_limit(seconds):
            exec(code, namespace)
    except SyntaxError as error:
        return f"SyntaxError: {error.msg}\n    in cell {cell.number}, line {error.lineno}: `{(error.text or '').strip()}`"
    except (Exception, TimeLimit, SystemExit) as error:
        return describe(error)
    return None


def limit_memory(n_bytes):
    """Cap this process's address space at `n_bytes` (POSIX; elsewhere nothing is capped)."""
    try:
        import resource
    except ImportError:
        return
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard == resource.RLIM_INFINITY or hard > n_bytes:  # soft and hard: the student's code cannot raise it
        resource.setrlimit(resource.RLIMIT_AS, (n_bytes, n_bytes))


def main(job_path):
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    if job.get("memory_limit"):
        limit_memory(job["memory_limit"])
    events = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # what student code writes to fd 1 cannot break the event stream
    sys.stdout = io.StringIO()

    def emit(**event):
        events.write(json.dumps(encode(event)) + "\n")
        events.flush()

    from tinymed.homework.notebook import Cell
    assignment = importlib.import_module(job["module"]).ASSIGNMENT
    namespace = {"__name__": "__main__"}
    for number, source, exercise in job["cells"]:
        if number in job["skip_cells"]:
            continue
        emit(event="cell", cell=number, exercise=exercise)
        error = run_cell(Cell(number, source, exercise), namespace, job["time_limit"])
        if error:
            emit(event="cell_error", cell=number, exercise=exercise, message=error)
    done = {tuple(d) for d in job["done"]}
    for exercise in assignment.exercises:
        if exercise.name in job["skip_exercises"]:
            continue
        for index, check in enumerate(exercise.checks):
            if (exercise.name, index) in done:
                continue
            emit(event="check", exercise=exercise.name, check=index)
            answer, error, hits = attempt(check, exercise, namespace, job["time_limit"])
            emit(event="answer", exercise=exercise.name, check=index, answer=answer, error=error, borrowed=hits)
    emit(event="done")


if __name__ == "__main__":
    main(sys.argv[1])
