"""The homework kit without grading subprocesses: the assignments' structure, the notebooks
(solutions marked, stripped for students), the model answers passing every check in-process,
the check-yourself feedback, the forbidden-answer detection and the command line."""
import argparse
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tinymed.homework import Checker, cli, forbidden, gradescope, notebook, sandbox, spec
from tinymed.homework.notebook import BEGIN, END

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
ASSIGNMENTS = spec.assignments()
NAMES = list(ASSIGNMENTS)


def instructor_namespace(name, monkeypatch, replace=()):
    """Run the instructor notebook's cells (with `replace` applied), as the grading child does."""
    monkeypatch.setenv("TINYMED_HOMEWORK_GRADING", "1")
    namespace = {"__name__": "__main__"}
    for cell in notebook.cells(ASSIGNMENTS[name].notebook):
        source = cell.source
        for old, new in replace:
            source = source.replace(old, new)
        assert sandbox.run_cell(notebook.Cell(cell.number, source, cell.exercise), namespace, None) is None
    return namespace


def test_there_is_one_assignment_per_tutorial_in_the_tutorials_order():
    tutorials = sorted(p.name for p in TUTORIALS.glob("0*.ipynb"))
    assert [a.tutorial for a in ASSIGNMENTS.values()] == tutorials
    assert NAMES == ["autograd", "cnn", "weighted_loss", "resampling", "transfer", "evaluation"]


@pytest.mark.parametrize("name", NAMES)
def test_every_exercise_has_visible_and_hidden_checks_with_points(name):
    for exercise in ASSIGNMENTS[name].exercises:
        visibilities = [c.visibility for c in exercise.checks]
        assert "visible" in visibilities and set(visibilities) - {"visible"}, exercise.name
        assert all(c.points > 0 for c in exercise.checks)
        assert len({c.name for c in exercise.checks}) == len(exercise.checks)
        assert exercise.forbidden and exercise.names


def test_a_check_refuses_a_visibility_gradescope_does_not_know():
    with pytest.raises(ValueError, match="visibility must be one of 'visible', 'hidden', 'after_due_date'"):
        spec.Check("x", 1, run=None, judge=None, visibility="secret")
    with pytest.raises(ValueError, match="points"):
        spec.Check("x", 0, run=None, judge=None)


@pytest.mark.parametrize("name", NAMES)
def test_the_instructor_notebook_marks_one_cell_per_exercise_in_order(name):
    cells = notebook.cells(ASSIGNMENTS[name].notebook)
    assert [c.exercise for c in cells if c.exercise] == [e.name for e in ASSIGNMENTS[name].exercises]
    for cell in cells:
        if cell.exercise:
            assert BEGIN in cell.source and END in cell.source


@pytest.mark.parametrize("name", NAMES)
def test_the_student_notebook_holds_no_solution_line(name):
    instructor = notebook.read(ASSIGNMENTS[name].notebook)
    student = notebook.student_notebook(instructor)
    given, solution = set(), set()
    for cell in instructor["cells"]:
        inside = False
        for line in notebook.source_of(cell).splitlines():
            if line.strip() in (BEGIN, END):
                inside = line.strip() == BEGIN
            elif line.strip():
                (solution if inside else given).add(line.strip())
    student_lines = {line.strip() for c in student["cells"] for line in notebook.source_of(c).splitlines()}
    assert solution - given
    assert not (solution - given) & student_lines
    assert BEGIN not in json.dumps(student) and END not in json.dumps(student)
    exercise_cells = [c for c in student["cells"] if notebook.exercise_of(notebook.source_of(c))]
    assert all("raise NotImplementedError" in notebook.source_of(c) for c in exercise_cells)
    assert all(not c.get("outputs") for c in student["cells"] if c["cell_type"] == "code")


def test_stripping_keeps_the_indentation_and_refuses_unbalanced_markers():
    source = f"def f(x):\n    {BEGIN}\n    return x + 1\n    {END}\n"
    assert notebook.strip_solutions(source) == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError"
    with pytest.raises(ValueError, match="without"):
        notebook.strip_solutions(f"{BEGIN}\nx = 1\n")
    with pytest.raises(ValueError, match="without"):
        notebook.strip_solutions(f"x = 1\n{END}\n")


def test_a_python_submission_splits_into_cells_at_percent_lines_and_exercise_markers(tmp_path):
    path = tmp_path / "answer.py"
    path.write_text("import numpy as np\n# EXERCISE: auc\ndef auc(y, s):\n    return 1.0\n# %%\nx = 1\n")
    cells = notebook.cells(path)
    assert [(c.number, c.exercise) for c in cells] == [(1, None), (2, "auc"), (3, None)]
    assert cells[1].source.startswith("# EXERCISE: auc\ndef auc")


def test_a_cell_whose_marker_line_was_deleted_is_found_by_the_names_it_defines(tmp_path):
    path = tmp_path / "answer.py"
    path.write_text("import numpy as np\n# %%\ndef auc(y, s):\n    return 1.0\n# %%\nx = auc\n")
    cells = notebook.tag_unmarked(notebook.cells(path), ASSIGNMENTS["evaluation"].exercises)
    assert [c.exercise for c in cells] == [None, "auc", None]


def test_a_submission_folder_must_hold_one_notebook(tmp_path):
    with pytest.raises(FileNotFoundError, match="expected one .ipynb"):
        notebook.find_submission(tmp_path, "auc")
    (tmp_path / "mine.ipynb").write_text("{}")
    assert notebook.find_submission(tmp_path, "auc") == tmp_path / "mine.ipynb"


@pytest.mark.parametrize("name", NAMES)
def test_the_model_answer_passes_every_check_in_process(name, monkeypatch):
    namespace = instructor_namespace(name, monkeypatch)
    for exercise in ASSIGNMENTS[name].exercises:
        for check in exercise.checks:
            answer, error, uses = sandbox.attempt(check, exercise, namespace)
            assert error is None and not uses, (exercise.name, check.name, error, uses)
            assert check.judge(sandbox.decode(sandbox.encode(answer))) is None, (exercise.name, check.name)


def test_check_yourself_shows_the_failing_check_its_input_and_the_mistake_in_a_few_lines(monkeypatch):
    namespace = instructor_namespace("autograd", monkeypatch, [("return grad * s * (1 - s)", "return s * (1 - s)")])
    text = Checker("autograd").verdicts("sigmoid", namespace)
    lines = text.splitlines()
    assert lines[0].startswith("sigmoid: 2/4 points on the visible checks; 2 more check(s)")
    assert "  ok    forward  (1/1)" in lines and "  FAIL  backward: dL/dx  (0/2)" in lines
    assert "x of shape (3, 4)" in text and "multiply it by the upstream gradient" in text
    assert len(lines) <= 8


def test_check_yourself_shows_a_numpy_error_with_the_students_line(monkeypatch):
    namespace = instructor_namespace("autograd", monkeypatch, [("return grad @ b.T, a.T @ grad", "return grad @ b, a.T @ grad")])
    text = Checker("autograd").verdicts("matmul", namespace)
    assert "ValueError" in text and "matmul" in text
    assert "raised in cell 6, line 14: `return grad @ b, a.T @ grad`" in text
    assert "Traceback" not in text and len(text.splitlines()) < 12


def test_check_yourself_does_nothing_while_the_grader_runs_the_notebook(monkeypatch, capsys):
    monkeypatch.setenv("TINYMED_HOMEWORK_GRADING", "1")
    assert Checker("autograd")("sigmoid", {}) is None
    assert capsys.readouterr().out == ""


def test_an_import_of_the_librarys_answer_is_found_through_any_alias():
    setup = "import tinymed as tm\nimport tinymed.nn.functional as F\nfrom tinymed import metrics as m\n"
    names = ("tinymed.ops.Sigmoid", "tinymed.nn.functional.sigmoid", "tinymed.metrics")
    for cheat, found in [("from tinymed.ops import Sigmoid", "tinymed.ops.Sigmoid"),
                         ("y = F.sigmoid(x)", "tinymed.nn.functional.sigmoid"),
                         ("class S(tm.ops.Sigmoid): pass", "tinymed.ops.Sigmoid"),
                         ("y = tm.nn.functional.sigmoid(x)", "tinymed.nn.functional.sigmoid"),
                         ("s = m.sensitivity(y, p)", "tinymed.metrics")]:
        uses = forbidden.static_uses([setup, cheat], [("cell 2", cheat)], names)
        assert uses and uses[0][0] == found and "cell 2, line 1" in uses[0][1], cheat
    assert forbidden.static_uses([setup, "y = tm.tensor(x).exp()"], [("cell 2", "y = tm.tensor(x).exp()")], names) == []


def test_a_re_exported_name_counts_as_the_object_it_names():
    source = "import tinymed.nn.functional as F\nloss = F.weighted_binary_cross_entropy(x, y, 1, 1)"
    from tinymed.nn import functional as F
    defined_in = F.weighted_binary_cross_entropy.__module__
    uses = forbidden.static_uses([source], [("cell 1", source)], (defined_in,))
    assert uses and uses[0][0] == defined_in


def test_the_profiler_catches_a_call_the_source_hides_but_not_the_graders_own_calls():
    import tinymed.metrics as metrics
    codes = forbidden.forbidden_code(("tinymed.metrics",))
    namespace = {}
    exec(compile("def ppv(y, p):\n    return getattr(__import__('tinymed'), 'metr' + 'ics').ppv(y, p)\n", "<cell 4>", "exec"),
         namespace)
    y, p = np.array([1, 0, 1]), np.array([0.9, 0.2, 0.4])
    with forbidden.Tracer(codes) as tracer:
        namespace["ppv"](y, p)
    assert tracer.hits == ["tinymed.metrics"]
    with forbidden.Tracer(codes) as tracer:
        metrics.ppv(y, p)  # this file is not the student's cell
    assert tracer.hits in ([], ["tinymed.metrics"])  # a test file counts as student code: only cells are certain
    assert forbidden.is_student_file("<cell 4>") and not forbidden.is_student_file(metrics.__file__)


def test_the_evaluation_assignment_forbids_tinymeds_metrics_wherever_they_are_defined():
    from tinymed import metrics
    from tinymed.homework.assignments.evaluation import METRICS
    codes = forbidden.forbidden_code(METRICS)
    answers = (metrics.ppv, metrics.bootstrap_ci, metrics.roc_auc, metrics.average_precision,
               metrics.youden_threshold, metrics.calibration_curve)
    assert [f.__name__ for f in answers if f.__code__ not in codes] == []
    cheat = "from tinymed.metrics_curves import roc_auc"
    assert forbidden.static_uses([cheat], [("cell 2", cheat)], METRICS)


def test_a_name_bound_to_the_librarys_class_is_found_by_identity():
    import tinymed as tm
    namespace = {"Mul": getattr(tm.ops, "Mul")}
    assert forbidden.identity_uses(namespace, ("Mul",), ("tinymed.ops.Mul",)) == [
        ("tinymed.ops.Mul", "your `Mul` is (or derives from) it")]


def test_a_sigmoid_derived_from_elementwise_leaves_the_chain_rule_to_the_library_so_it_is_found():
    import tinymed as tm

    class Sigmoid(tm.ops.Elementwise):  # f and f' only: Elementwise's backward does g * f'
        df_takes_output = True
        def f(x): return 1 / (1 + np.exp(-x))
        def df(s): return s * (1 - s)

    sigmoid = next(e for e in ASSIGNMENTS["autograd"].exercises if e.name == "sigmoid")
    assert forbidden.identity_uses({"Sigmoid": Sigmoid}, ("Sigmoid",), sigmoid.forbidden) == [
        ("tinymed.ops.Elementwise", "your `Sigmoid` is (or derives from) it")]


def test_check_for_leakage_of_the_model_answer_takes_a_pandas_dataframe(monkeypatch):
    pandas = pytest.importorskip("pandas")
    check_for_leakage = instructor_namespace("evaluation", monkeypatch)["check_for_leakage"]
    train = pandas.DataFrame({"PatientId": [1, 2, 3], "Image": ["a", "b", "c"]})
    assert check_for_leakage(train, pandas.DataFrame({"PatientId": [4, 3]}), "PatientId")
    assert not check_for_leakage(train, pandas.DataFrame({"PatientId": [4, 5]}), "PatientId")


def test_list_prints_one_assignment_a_line_name_first_with_its_exercises_and_points(capsys):
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == NAMES
    assert "sigmoid (6), mul (4), matmul (4), sum (4), softplus (4)" in lines[0] and "22 points" in lines[0]


def test_a_bad_assignment_name_or_file_exits_2_with_one_line(tmp_path, capsys):
    assert cli.main(["grade", "nope", str(tmp_path)]) == 2
    assert "assignment must be one of 'autograd', 'cnn'" in capsys.readouterr().err
    assert cli.main(["grade", "evaluation", str(tmp_path / "none.ipynb"),
                     "--json", str(tmp_path / "r.json")]) == 2
    assert "no submission at" in capsys.readouterr().err
    assert json.loads((tmp_path / "r.json").read_text())["score"] == 0


def test_the_homework_parser_plugs_into_a_top_level_command():
    parser = argparse.ArgumentParser(prog="tinymed")
    commands = parser.add_subparsers(dest="command", required=True)
    cli.add_parser(commands)
    args = parser.parse_args(["homework", "grade", "cnn", "hw.ipynb", "--json", "r.json"])
    assert (args.command, args.homework_command, args.name, args.submission, args.json) == (
        "homework", "grade", "cnn", "hw.ipynb", "r.json")
    assert cli.run(parser.parse_args(["homework", "list"])) == 0


def test_make_writes_both_notebooks_and_a_zip_with_an_installable_wheel(tmp_path, capsys):
    assert cli.main(["make", "evaluation", "--out", str(tmp_path)]) == 0
    student = notebook.read(tmp_path / "evaluation.ipynb")
    assert "raise NotImplementedError" in json.dumps(student) and BEGIN not in json.dumps(student)
    assert BEGIN in json.dumps(notebook.read(tmp_path / "evaluation-instructor.ipynb"))
    with zipfile.ZipFile(tmp_path / "autograder.zip") as archive:
        names = archive.namelist()
        assert {"setup.sh", "run_autograder"} <= set(names)
        for script in ("setup.sh", "run_autograder"):
            assert (archive.getinfo(script).external_attr >> 16) & 0o111
        run = archive.read("run_autograder").decode()
        assert "-m tinymed.homework grade evaluation" in run and "/autograder/results/results.json" in run
        (wheel_name,) = [n for n in names if n.endswith(".whl")]
        assert f"./{wheel_name}" in archive.read("setup.sh").decode()
        archive.extract(wheel_name, tmp_path)
    with zipfile.ZipFile(tmp_path / wheel_name) as wheel:
        files = set(wheel.namelist())
        info = next(n.split("/")[0] for n in files if n.endswith(".dist-info/METADATA"))
        assert {"tinymed/__init__.py", "tinymed/homework/assignments/evaluation.ipynb", f"{info}/RECORD",
                f"{info}/WHEEL"} <= files
        assert not any("__pycache__" in n for n in files)
        metadata = wheel.read(f"{info}/METADATA").decode()
        assert "Requires-Dist: numpy" in metadata
        record = wheel.read(f"{info}/RECORD").decode().splitlines()
        assert len(record) == len(files)
        for line in record[:-1]:
            name, digest, size = line.split(",")
            assert digest == gradescope._digest(wheel.read(name)) and int(size) == len(wheel.read(name))
