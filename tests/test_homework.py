"""The homework kit (tutorials/homework): the grader passes the model answer, fails wrong answers
in the checks of their exercise with a message that says what is wrong, and the assignment
notebook holds a placeholder in every exercise cell and runs once they hold the model answer."""
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

HOMEWORK = Path(__file__).resolve().parent.parent / "tutorials" / "homework"
GRADER = HOMEWORK / "grader.py"
REFERENCE = HOMEWORK / "reference_solution.py"
NOTEBOOK = HOMEWORK / "assignment.ipynb"
EXERCISES = ["sigmoid", "conv2d", "class_weights", "weighted_bce", "oversampler"]


def sections():
    """The `# %% name` sections of the model answer: name -> code, in file order."""
    found = re.findall(r"^# %% (\w+)\n(.*?)(?=^# %% |\Z)", REFERENCE.read_text(), re.S | re.M)
    return {name: code.strip() for name, code in found}


def solution_cells(notebook):
    """The notebook's `%%solution name` cells: name -> (cell, code below the magic line)."""
    cells = {}
    for cell in notebook.cells:
        first, _, body = cell.source.partition("\n")
        if cell.cell_type == "code" and first.startswith("%%solution "):
            cells[first.split()[1]] = (cell, body.strip())
    return cells


def grade(solution, cwd):
    """Run the grader on `solution` in a fresh interpreter, as an instructor would."""
    env = dict(os.environ, TINYMED_SOLUTION=str(solution))
    command = [sys.executable, "-m", "pytest", str(GRADER), "-v", "--tb=short", "-p", "no:cacheprovider"]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def load_grader():
    spec = importlib.util.spec_from_file_location("homework_grader", GRADER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_model_answer_defines_every_name_the_grader_checks():
    grader = load_grader()
    solution = grader.load_solution(REFERENCE)
    assert {c.exercise for c in grader.CHECKS} == {"a", "b", "c", "d"}
    missing = {c.name for c in grader.CHECKS} - set(vars(solution))
    assert not missing


def test_the_grader_says_where_the_solution_file_was_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no solution file at .*nowhere\.py.*TINYMED_SOLUTION"):
        load_grader().load_solution(tmp_path / "nowhere.py")


@pytest.mark.slow
def test_the_model_answer_passes_every_check_of_the_grader(tmp_path):
    result = grade(REFERENCE, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    passed = set(re.findall(r"test_solution\[(\w)-\S+\] PASSED", result.stdout))
    assert passed == {"a", "b", "c", "d"}


# One bug per exercise: (text of the model answer, its wrong version, the test that must fail,
# a phrase its message must hold, a test of the same exercise that must still pass).
BUGS = [
    ("return grad * s * (1 - s)", "return grad * s",
     "a-Sigmoid-sigmoid_backward", "Exercise (a), Sigmoid.backward: dL/dx is wrong", "a-Sigmoid-sigmoid_forward"),
    ("dweight = (g @ cols.T).reshape(weight.shape)", "dweight = (cols @ g.T).reshape(weight.shape)",
     "b-Conv2d-conv_backward_dweight", "Exercise (b), Conv2d.backward: dweight is wrong", "b-Conv2d-conv_backward_dx"),
    ("positive = pos_weights * y * log_sigmoid(logits)\n    negative = neg_weights * (1 - y)",
     "positive = neg_weights * y * log_sigmoid(logits)\n    negative = pos_weights * (1 - y)",
     "c-weighted_bce-weighted_bce_value", "with pos_weights and neg_weights swapped",
     "c-course_class_weights-class_weights_per_label"),
    ("epoch = self.rng.permutation(np.concatenate(parts))", "epoch = np.concatenate(parts)",
     "d-OverSampler-oversampler_shuffled", "the epoch is ordered by class", "d-OverSampler-oversampler_balanced"),
]


@pytest.mark.slow
def test_a_wrong_solution_fails_the_checks_of_each_broken_exercise_and_says_why(tmp_path):
    text = REFERENCE.read_text()
    for right, wrong, *_ in BUGS:
        assert text.count(right) == 1, right
        text = text.replace(right, wrong)
    wrong_solution = tmp_path / "solution.py"
    wrong_solution.write_text(text)

    result = grade(wrong_solution, tmp_path)
    assert result.returncode == 1, result.stdout[-3000:]
    for _, _, failing, message, passing in BUGS:
        assert f"test_solution[{failing}] FAILED" in result.stdout
        assert message in result.stdout
        assert f"test_solution[{passing}] PASSED" in result.stdout


def test_the_notebook_is_valid_and_every_exercise_cell_is_a_placeholder():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    exercises = [c for c in notebook.cells if c.metadata.get("exercise")]
    assert [c.metadata.solution for c in exercises] == EXERCISES
    for cell in exercises:
        assert "# YOUR CODE HERE" in cell.source and "raise NotImplementedError" in cell.source, cell.source
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)


def test_the_notebook_gives_the_model_answers_helpers_word_for_word_in_its_order():
    reference = sections()
    cells = solution_cells(nbformat.read(NOTEBOOK, as_version=4))
    assert list(cells) == list(reference)
    for name, (cell, body) in cells.items():
        if not cell.metadata.get("exercise"):
            assert body == reference[name], name
    given_forward = reference["conv2d"].split("    @staticmethod\n    def backward")[0].strip()
    assert given_forward in cells["conv2d"][1]


@pytest.mark.slow
def test_the_notebook_filled_with_the_model_answer_runs_and_hands_in_a_passing_solution(tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    reference = sections()
    for name in EXERCISES:
        cell, _ = solution_cells(notebook)[name]
        cell.source = f"%%solution {name}\n{reference[name]}"
    shutil.copy(GRADER, tmp_path)  # the notebook imports the grader from its own folder
    monkeypatch.setenv("TINYMED_QUICK", "1")
    monkeypatch.delenv("TINYMED_SOLUTION", raising=False)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()

    errors = [o for cell in notebook.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    handed_in = (tmp_path / "solution.py").read_text()
    assert all(reference[name] in handed_in for name in reference)
    grading = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    assert re.search(r"\d+ passed", grading) and "failed" not in grading, grading
