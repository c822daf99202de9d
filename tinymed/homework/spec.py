"""What an assignment is: exercises, each a list of checks with points and a visibility.

A check runs in two halves, so that a submission cannot touch what it is judged against:

    run(namespace) -> answer      the student's side: calls the student's code on fixed inputs
                                  and returns plain data (arrays, numbers, lists). In grading it
                                  runs in a child process (tinymed.homework.sandbox).
    judge(answer) -> str | None   the grader's side: computes the reference from the same inputs
                                  and returns None when the answer is right, else a message a
                                  student can act on. In grading it runs in the parent process.

Points and visibility of every check of an assignment are written next to each other in its
module under tinymed/homework/assignments/: that module is the one place to change them.
"""
import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tinymed import validate

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")  # Gradescope's words
ASSIGNMENTS_DIR = Path(__file__).with_name("assignments")


@dataclass(frozen=True)
class Check:
    name: str                      # "backward: dL/dx", unique within its exercise
    points: float
    run: Callable[[dict], object]  # student's side: run(namespace) -> answer
    judge: Callable[[object], "str | None"]  # grader's side: None if right, else why not
    visibility: str = "visible"    # hidden checks use other inputs than the visible ones

    def __post_init__(self):
        validate.one_of(self.visibility, f"Check {self.name!r}: visibility", VISIBILITIES)
        validate.positive(self.points, f"Check {self.name!r}: points")


@dataclass(frozen=True)
class Exercise:
    """One graded cell of the notebook: its first line is `# EXERCISE: <name>`.

    `forbidden`: dotted names of the library's own answer to this exercise (a module, class or
    function, e.g. "tinymed.ops.Sigmoid"); a submission whose exercise uses one scores 0 on it.
    """
    name: str
    checks: tuple
    forbidden: tuple = ()
    names: tuple = ()              # the names the exercise cell must define

    @property
    def points(self):
        return sum(c.points for c in self.checks)


@dataclass(frozen=True)
class Assignment:
    name: str                      # the command's NAME: `tinymed homework make autograd`
    title: str
    tutorial: str                  # the tutorial it follows, e.g. "01_autograd.ipynb"
    exercises: tuple
    notebook: Path = field(default=None)  # the instructor notebook (solutions marked)

    @property
    def points(self):
        return sum(e.points for e in self.exercises)

    def exercise(self, name):
        for e in self.exercises:
            if e.name == name:
                return e
        raise ValueError(f"assignment {self.name!r} has no exercise {name!r}; its exercises: "
                       f"{', '.join(e.name for e in self.exercises)}")


def assignments():
    """Every assignment, name -> Assignment, in the order of the tutorials."""
    found = []
    for info in pkgutil.iter_modules([str(ASSIGNMENTS_DIR)]):
        module = importlib.import_module(f"tinymed.homework.assignments.{info.name}")
        found.append(module.ASSIGNMENT)
    found.sort(key=lambda a: a.tutorial)
    return {a.name: a for a in found}


def assignment(name):
    """The assignment called `name`; a ValueError names the known ones."""
    known = assignments()
    return known[validate.one_of(name, "assignment", list(known))]


def notebook_path(module_name):
    """The instructor notebook beside an assignment module: autograd.py -> autograd.ipynb."""
    return ASSIGNMENTS_DIR / f"{module_name.rsplit('.', 1)[-1]}.ipynb"
