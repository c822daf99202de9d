"""Notebooks as plain JSON (no nbformat needed): read a submission's cells, strip solutions.

A submission is a filled notebook (.ipynb) or a Python file (.py). Its exercise cells are found
by their first line, `# EXERCISE: <name>` (kept by every notebook editor, unlike metadata), or,
when a student deleted that line, by the names the cell defines; in a .py file that line starts
a cell, as does a `# %%` line (the percent format of Jupytext, VS Code and Spyder).

The instructor notebook marks each answer nbgrader's way, and `student_notebook` replaces it:

    ### BEGIN SOLUTION                   # YOUR CODE HERE
    s = ...                        ->     raise NotImplementedError
    ### END SOLUTION
"""
import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

MARKER = re.compile(r"^#\s*EXERCISE:\s*(\w+)", re.M)
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclass(frozen=True)
class Cell:
    number: int             # 1-based, counting code cells, as a student counts them
    source: str
    exercise: str = None    # the exercise this cell answers, if any

    @property
    def label(self):
        return f"cell {self.number}" + (f" (exercise {self.exercise})" if self.exercise else "")


def exercise_of(source):
    first = next((line for line in source.splitlines() if line.strip()), "")
    match = MARKER.match(first)
    return match.group(1) if match else None


def read(path):
    """A notebook file as a dict (the JSON of nbformat 4)."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write(notebook, path):
    Path(path).write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def source_of(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _python_cells(text):
    """Split a .py file at `# %%` lines and at `# EXERCISE:` lines."""
    chunks, current = [], []
    for line in text.splitlines(keepends=True):
        if (line.startswith("# %%") or MARKER.match(line)) and "".join(current).strip():
            chunks.append("".join(current))
            current = []
        if not line.startswith("# %%"):
            current.append(line)
    chunks.append("".join(current))
    return [c for c in chunks if c.strip()]


def cells(path):
    """The code cells of a submission (.ipynb or .py), in order."""
    path = Path(path)
    if path.suffix == ".ipynb":
        sources = [source_of(c) for c in read(path).get("cells", []) if c.get("cell_type") == "code"]
    elif path.suffix == ".py":
        sources = _python_cells(path.read_text(encoding="utf-8"))
    else:
        raise ValueError(f"grade: a submission is a .ipynb or .py file, got {path.name!r}")
    return [Cell(i + 1, s, exercise_of(s)) for i, s in enumerate(sources)]


def _defined(source):
    """The names a cell defines at its top level: functions, classes, assignments."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def tag_unmarked(cells, exercises):
    """For an exercise whose `# EXERCISE:` line was deleted, the untagged cells that define one of
    its names become its cells, so that a lost first line costs nothing."""
    marked = {c.exercise for c in cells}
    tagged = list(cells)
    for exercise in exercises:
        if exercise.name in marked:
            continue
        for k, cell in enumerate(tagged):
            if cell.exercise is None and _defined(cell.source) & set(exercise.names):
                tagged[k] = Cell(cell.number, cell.source, exercise.name)
    return tagged


def find_submission(path, assignment_name):
    """`path` itself if it is a file; in a folder (Gradescope's /autograder/submission), the one
    notebook or .py file in it, preferring `<assignment_name>.ipynb`."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"grade: no submission at {path}")
    preferred = path / f"{assignment_name}.ipynb"
    if preferred.is_file():
        return preferred
    found = sorted(p for p in path.rglob("*") if p.suffix in (".ipynb", ".py") and ".ipynb_checkpoints" not in p.parts)
    notebooks = [p for p in found if p.suffix == ".ipynb"] or found
    if len(notebooks) != 1:
        raise FileNotFoundError(
            f"grade: expected one .ipynb (or .py) file in {path}, found {len(notebooks)}"
            + (f": {', '.join(p.name for p in notebooks)}" if notebooks else "")
            + f"; name the submission {assignment_name}.ipynb")
    return notebooks[0]


def strip_solutions(source):
    """`source` with every BEGIN/END SOLUTION block replaced by `raise NotImplementedError`."""
    out, inside = [], False
    for line in source.splitlines():
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise ValueError(f"{BEGIN} inside another solution block:\n{source}")
            inside = True
            indent = line[:len(line) - len(line.lstrip())]
            out += [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError"]
        elif marker == END:
            if not inside:
                raise ValueError(f"{END} without {BEGIN}:\n{source}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN} without {END}:\n{source}")
    return "\n".join(out)


def student_notebook(instructor):
    """The notebook handed to students: solutions stripped, outputs cleared."""
    cells = []
    for cell in instructor["cells"]:
        cell = dict(cell)
        if cell["cell_type"] == "code":
            cell.update(source=strip_solutions(source_of(cell)), outputs=[], execution_count=None)
        cells.append(cell)
    return {**instructor, "cells": cells}
