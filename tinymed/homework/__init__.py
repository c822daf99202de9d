"""tinymed's homework kit: six assignments, a grader, and a Gradescope packer.

    tinymed homework list                          the assignments, their exercises and points
    tinymed homework make autograd --out hw1/      student notebook, instructor notebook, autograder.zip
    tinymed homework grade autograd filled.ipynb   a table of every check's points and message

(`python -m tinymed.homework ...` is the same command.) In a notebook, the "check yourself"
cells run an exercise's visible checks: `check = Checker("autograd"); check("sigmoid")`.

The files: spec (what an assignment is), assignments/ (the six, each a module of checks beside
its instructor notebook), probe and judge (the student's and the grader's half of a check),
sandbox (the child process that runs student code), grader (the parent that judges),
forbidden (does an exercise use the library's own answer?), notebook (cells, stripping),
feedback (check-yourself cells), results (table, results.json), gradescope (the zip), cli.
"""
from tinymed.homework.feedback import Checker
from tinymed.homework.grader import grade
from tinymed.homework.spec import assignment, assignments

__all__ = ["Checker", "assignment", "assignments", "grade"]
