"""`tinymed homework list | make NAME --out DIR | grade NAME SUBMISSION [--json PATH]`.

The top-level command adds it with `add_parser(subparsers)` and runs it with `run(args)`;
`python -m tinymed.homework ...` runs the same subcommands on their own (`main`).
"""
import argparse
import sys

from tinymed.homework import gradescope, grader, results, spec


def _subcommands(parser):
    commands = parser.add_subparsers(dest="homework_command", required=True, metavar="command")
    commands.add_parser("list", help="the assignments, their exercises and points",
                        description="One assignment a line: its name, points, tutorial, and its exercises with points.")
    m = commands.add_parser("make", help="write the student notebook, the instructor notebook and autograder.zip",
                            description="Write NAME.ipynb (solutions stripped: hand it out), NAME-instructor.ipynb "
                                        "(the model answer) and autograder.zip (upload it to Gradescope).")
    m.add_argument("name", metavar="NAME", help="an assignment (see `list`)")
    m.add_argument("--out", required=True, metavar="DIR", help="folder to write into (created)")
    g = commands.add_parser("grade", help="grade a filled notebook or .py file",
                            description="Grade SUBMISSION (a .ipynb or .py file, or a folder holding one) in a "
                                        "separate process; print a table of every check's points and message.")
    g.add_argument("name", metavar="NAME", help="an assignment (see `list`)")
    g.add_argument("submission", metavar="SUBMISSION", help="the student's notebook or .py file, or a folder holding it")
    g.add_argument("--json", metavar="PATH", help="also write Gradescope's results.json to PATH")
    g.add_argument("--timeout", type=float, default=grader.TIME_LIMIT, metavar="SECONDS",
                   help=f"time limit per cell and per check (default {grader.TIME_LIMIT:g})")


def add_parser(subparsers):
    """Add the `homework` subcommand to the top-level command's subparsers."""
    parser = subparsers.add_parser("homework", help="assignments, a grader and a Gradescope packer for instructors",
                                   description="Six assignments, one per tutorial: list them, make the notebooks "
                                               "and Gradescope's autograder.zip, grade submissions.")
    _subcommands(parser)
    return parser


def _list():
    for a in spec.assignments().values():
        exercises = ", ".join(f"{e.name} ({e.points:g})" for e in a.exercises)
        print(f"{a.name:<14} {a.points:>3g} points  after {a.tutorial}: {exercises}")
    return 0


def _make(args):
    paths = gradescope.make(spec.assignment(args.name), args.out)
    for what, path in paths.items():
        print(f"{what:<11} {path}")
    return 0


def _grade(args):
    try:
        report = grader.grade(spec.assignment(args.name), args.submission, args.timeout)
    except (FileNotFoundError, ValueError) as error:
        if args.json:  # Gradescope shows the student this output instead of an empty result
            results.write_failure(str(error), args.json)
        raise
    print(results.table(report))
    if args.json:
        results.write_gradescope(report, args.json)
    return 0


def run(args):
    """Run a parsed `homework` command; the exit status (2 for a bad name or a missing file)."""
    command = {"list": lambda a: _list(), "make": _make, "grade": _grade}[args.homework_command]
    try:
        return command(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"tinymed homework {args.homework_command}: error: {error}", file=sys.stderr)
        return 2


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tinymed.homework", description=__doc__.splitlines()[0])
    _subcommands(parser)
    return run(parser.parse_args(argv))
