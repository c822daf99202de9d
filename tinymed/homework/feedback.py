"""The notebook's "check yourself" cells: the visible checks of one exercise, in the kernel.

    from tinymed.homework import Checker
    check = Checker("autograd")
    check("sigmoid")       # prints a few lines per failing check: what is wrong, for what input

Only the visible checks run here (the hidden ones, on other inputs, run when the instructor
grades). Nothing here is installed beyond tinymed. While an instructor grades
(TINYMED_HOMEWORK_GRADING=1) the call does nothing: the grader runs the checks itself.
"""
import os
import sys

from tinymed.homework import forbidden, notebook, spec
from tinymed.homework.sandbox import attempt, decode, encode


def _exercise_source(namespace, name):
    """The latest run of the cell `# EXERCISE: name`, from IPython's input history, if any."""
    history = namespace.get("In") or []
    for source in reversed(history):
        if isinstance(source, str) and notebook.exercise_of(source) == name:
            return source
    return None


class Checker:
    def __init__(self, assignment):
        self.assignment = spec.assignment(assignment)

    def __call__(self, exercise, namespace=None):
        """Run the visible checks of `exercise` on the caller's names; print the verdicts."""
        if os.environ.get("TINYMED_HOMEWORK_GRADING"):
            return None
        namespace = sys._getframe(1).f_globals if namespace is None else namespace
        print(self.verdicts(exercise, namespace))
        return None

    def verdicts(self, exercise, namespace):
        """The text `check(exercise)` prints."""
        exercise = self.assignment.exercise(exercise)
        source = _exercise_source(namespace, exercise.name)
        uses = forbidden.static_uses([source], [("your cell", source)], exercise.forbidden) if source else []
        visible = [c for c in exercise.checks if c.visibility == "visible"]
        lines, score = [], 0.0
        for check in visible:
            answer, error, hits = attempt(check, exercise, namespace)
            if uses or hits:
                message = forbidden.verdict(exercise.name, uses or hits)
            else:
                message = error or check.judge(decode(encode(answer)))
            score += 0 if message else check.points
            mark = "ok  " if not message else "FAIL"
            lines.append(f"  {mark}  {check.name}  ({0 if message else check.points:g}/{check.points:g})")
            lines += [f"        {line}" for line in (message or "").splitlines()]
        hidden = [c for c in exercise.checks if c.visibility != "visible"]
        total = sum(c.points for c in visible)
        head = f"{exercise.name}: {score:g}/{total:g} points on the visible checks"
        if hidden:
            head += f"; {len(hidden)} more check(s) ({sum(c.points for c in hidden):g} points) run when graded"
        return "\n".join([head, *lines])
