"""A Report as a table a student can read, and as Gradescope's results.json.

Gradescope reads /autograder/results/results.json:
    {"score": total, "output": text, "visibility": ..., "tests": [
        {"name", "score", "max_score", "number", "output", "visibility"}, ...]}
with visibility one of "visible", "hidden", "after_due_date", "after_published".
"""
import json
import shutil
import textwrap
from pathlib import Path


def _points(x):
    return f"{x:g}"


def table(report, width=None):
    """exercise | check | points | message, one row per check, then the total; messages wrap at
    `width` (default: the terminal's width, 120 when there is none)."""
    width = width or shutil.get_terminal_size((120, 24)).columns
    rows = [(r.exercise, r.check + ("" if r.visibility == "visible" else f" [{r.visibility}]"),
             f"{_points(r.score)}/{_points(r.max_score)}", "ok" if r.passed else r.message) for r in report.results]
    w_ex = max(len("exercise"), *(len(r[0]) for r in rows))
    w_ch = max(len("check"), *(len(r[1]) for r in rows))
    w_pt = max(len("points"), *(len(r[2]) for r in rows))
    indent = w_ex + w_ch + w_pt + 6
    lines = [f"{report.assignment}: {report.submission}",
             f"{'exercise':<{w_ex}}  {'check':<{w_ch}}  {'points':>{w_pt}}  message"]
    for exercise, check, points, message in rows:
        wrapped = []
        for paragraph in message.splitlines():
            wrapped += textwrap.wrap(paragraph, max(40, width - indent)) or [""]
        lines.append(f"{exercise:<{w_ex}}  {check:<{w_ch}}  {points:>{w_pt}}  {wrapped[0]}")
        lines += [" " * indent + more for more in wrapped[1:]]
    lines.append(f"total: {_points(report.score)} / {_points(report.max_score)} points")
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(lines)


def gradescope(report):
    """The results.json dict Gradescope expects."""
    return {
        "score": report.score,
        "output": f"{report.assignment}: {_points(report.score)} / {_points(report.max_score)} points"
                  + "".join(f"\n{n}" for n in report.notes),
        "visibility": "visible",
        "tests": [{"name": f"{r.exercise}: {r.check}", "number": r.number, "score": r.score,
                   "max_score": r.max_score, "output": r.message or "passed", "visibility": r.visibility}
                  for r in report.results],
    }


def write_gradescope(report, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(gradescope(report), indent=1) + "\n", encoding="utf-8")


def write_failure(message, path):
    """results.json for a submission that could not be graded at all: 0 points and why."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"score": 0, "output": message, "visibility": "visible", "tests": []}, indent=1) + "\n",
                    encoding="utf-8")
