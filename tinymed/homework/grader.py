"""Grading a submission: run it in a child process, judge its answers here, total the points.

    report = grade(assignment("autograd"), "filled.ipynb")
    report.score, report.max_score, report.results   # one Result per check

The child (tinymed.homework.sandbox) runs the student's code and sends back answers; the
judges and their references run in this process, on inputs this process makes. If the child
dies (os._exit, a crash in C, a segfault) or stops answering (an endless loop the timer could not
stop), the exercise it was on scores 0 with the reason, and a new child carries on without the
cell or the exercise that killed the last one.
"""
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tinymed import validate
from tinymed.homework import forbidden, notebook
from tinymed.homework.sandbox import decode

TIME_LIMIT = 20.0   # seconds per cell and per check
MEMORY_LIMIT = 4 * 2**30  # bytes of address space for the child: a runaway allocation is a MemoryError there
GRACE = 5.0         # more seconds before the parent kills a child that went silent


@dataclass(frozen=True)
class Result:
    exercise: str
    check: str
    number: str          # "2.3": exercise 2, check 3 (Gradescope's `number`)
    score: float
    max_score: float
    visibility: str
    message: str         # "" when the check passed

    @property
    def passed(self):
        return not self.message


@dataclass(frozen=True)
class Report:
    assignment: str
    submission: str
    results: tuple
    notes: tuple         # what went wrong outside the checks (a cell that raised, a dead child)

    @property
    def score(self):
        return sum(r.score for r in self.results)

    @property
    def max_score(self):
        return sum(r.max_score for r in self.results)


def _child(job, workdir):
    """Start a child on `job`; a thread puts its event lines on a queue (None at its end)."""
    job_path = Path(workdir) / "job.json"
    job_path.write_text(json.dumps(job), encoding="utf-8")
    env = dict(os.environ, TINYMED_HOMEWORK_GRADING="1", MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    stderr = open(Path(workdir) / "stderr.txt", "ab")
    process = subprocess.Popen([sys.executable, "-m", "tinymed.homework.sandbox", str(job_path)], cwd=workdir,
                               env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr)
    lines = queue.Queue()

    def read():
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return process, lines, stderr


def _events(job, workdir, time_limit):
    """The child's events, then one ("died", reason) event if it ended without "done"."""
    process, lines, stderr = _child(job, workdir)
    try:
        while True:
            try:
                line = lines.get(timeout=time_limit + GRACE)
            except queue.Empty:
                process.kill()
                yield {"event": "died", "reason": f"took longer than {time_limit:g} s and was stopped (an endless loop?)"}
                return
            if line is None:
                process.wait()
                yield {"event": "died", "reason": f"ended the grading process (exit status {process.returncode}): "
                                                  f"os._exit, a crash, or running out of memory"}
                return
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            yield event
            if event.get("event") == "done":
                return
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()
        stderr.close()


def _static(assignment, cells):
    """exercise name -> the verdict message, for exercises whose cells name a forbidden object."""
    sources = [c.source for c in cells]
    verdicts = {}
    for exercise in assignment.exercises:
        mine = [(c.label, c.source) for c in cells if c.exercise == exercise.name]
        uses = forbidden.static_uses(sources, mine, exercise.forbidden)
        if uses:
            verdicts[exercise.name] = forbidden.verdict(exercise.name, uses)
    return verdicts


def run_submission(assignment, cells, time_limit=TIME_LIMIT):
    """Run the cells in children until every check has an answer or a reason it has none.
    Returns (answers {(exercise, check index): event}, failed {exercise: reason}, notes)."""
    answers, failed, notes = {}, {}, []
    skip_cells = []
    module = assignment_module(assignment)
    with tempfile.TemporaryDirectory(prefix="tinymed-grade-") as workdir:
        for _ in range(len(cells) + sum(len(e.checks) for e in assignment.exercises) + 1):
            job = {"module": module, "cells": [[c.number, c.source, c.exercise] for c in cells],
                   "skip_cells": skip_cells, "skip_exercises": sorted(failed), "done": [list(k) for k in answers],
                   "time_limit": time_limit, "memory_limit": MEMORY_LIMIT}
            where = None
            for event in _events(job, workdir, time_limit):
                kind = event["event"]
                if kind == "cell":
                    where = ("cell", event["cell"], event["exercise"])
                elif kind == "check":
                    where = ("check", event["check"], event["exercise"])
                elif kind == "cell_error":
                    label = f"cell {event['cell']}" + (f" (exercise {event['exercise']})" if event["exercise"] else "")
                    notes.append(f"{label} raised: {event['message']}")
                elif kind == "answer":
                    answers[(event["exercise"], event["check"])] = event
                elif kind == "died":
                    if where is None:
                        notes.append(f"the submission could not be run: {event['reason']}")
                        return answers, failed, notes
                    place, number, exercise = where
                    if place == "cell":
                        skip_cells.append(number)
                        notes.append(f"cell {number} {event['reason']}; grading went on without it")
                    if exercise:
                        failed[exercise] = f"{'its cell' if place == 'cell' else 'a check of it'} {event['reason']}"
            if not where or kind == "done":
                break
    return answers, failed, notes


def assignment_module(assignment):
    """The module that defines `assignment` (the child imports it to find the checks)."""
    return f"tinymed.homework.assignments.{Path(assignment.notebook).stem}"


def _judge(check, event):
    if event["error"]:
        return event["error"]
    try:
        return check.judge(decode(event["answer"]))
    except Exception as error:  # an answer of a shape no judge expected: still the student's answer
        return f"your answer could not be checked ({type(error).__name__}: {error})"


def grade(assignment, submission, time_limit=TIME_LIMIT):
    """Grade the notebook or .py file `submission` (or the one in a folder): a Report."""
    time_limit = validate.positive(time_limit, "grade: time_limit")
    path = notebook.find_submission(submission, assignment.name)
    cells = notebook.tag_unmarked(notebook.cells(path), assignment.exercises)
    static = _static(assignment, cells)
    answers, failed, notes = run_submission(assignment, cells, time_limit)
    marked = {c.exercise for c in cells if c.exercise}
    results = []
    for e_number, exercise in enumerate(assignment.exercises, 1):
        borrowed = [tuple(use) for (name, _), event in sorted(answers.items()) if name == exercise.name
                    for use in event["borrowed"]]
        for c_number, check in enumerate(exercise.checks, 1):
            event = answers.get((exercise.name, c_number - 1))
            if exercise.name not in marked:
                message = (f"no cell starts with `# EXERCISE: {exercise.name}` or defines "
                           f"{' or '.join(f'`{n}`' for n in exercise.names)}: keep that first line in its cell")
            elif exercise.name in static:
                message = static[exercise.name]
            elif borrowed:
                message = forbidden.verdict(exercise.name, borrowed)
            elif exercise.name in failed:
                message = f"exercise {exercise.name}: {failed[exercise.name]}"
            elif event is None:
                message = "not run: the grading process stopped before this check"
            else:
                message = _judge(check, event) or ""
            results.append(Result(exercise.name, check.name, f"{e_number}.{c_number}",
                                  0.0 if message else float(check.points), float(check.points),
                                  check.visibility, message))
    return Report(assignment.name, str(path), tuple(results), tuple(notes))
