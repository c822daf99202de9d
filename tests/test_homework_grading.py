"""Grading in a child process, as an instructor grades: the model answer of every assignment
scores full marks; a planted typical bug in each exercise loses that check's points and only
those, with a message naming the mistake; a cheating, looping, crashing or tampering submission
costs only its exercise; results.json has Gradescope's fields; run_autograder works from the zip.

Grading subprocesses are slow: each graded result is shared by the tests (module fixtures), and
the whole file is marked slow (CI runs it; tests/test_homework.py checks the same answers in-process)."""
import json
import os
import subprocess
import sys
import zipfile

import pytest

from tinymed.homework import grade, grader, notebook, results, spec

pytestmark = pytest.mark.slow

ASSIGNMENTS = spec.assignments()

# assignment[:run] -> [(exercise, [(text of the model answer, its wrong version)], {checks that must fail}, phrase)]
BUGS = {
    "autograd": [
        ("sigmoid", [("return grad * s * (1 - s)", "return s * (1 - s)")],
         {"backward: dL/dx", "backward on another shape"}, "multiply it by the upstream gradient"),
        ("mul", [("        return grad * b, grad * a", "        return grad * b, grad * a\n\n\nMul = getattr(tm.ops, 'M' + 'ul')")],
         "all", "your `Mul` is (or derives from) it"),
        ("matmul", [("a.T @ grad", "a.T @ np.ones_like(grad)")],
         {"backward: dL/db", "backward: a row vector times a matrix"}, "upstream gradient"),
        ("sum", [("# EXERCISE: sum\n", "# EXERCISE: sum\nfrom tinymed.ops import Sum\n")],
         "all", "uses tinymed.ops.Sum (cell 8 (exercise sum), line 2: `from tinymed.ops import Sum`)"),
        ("softplus", [("return grad * np.where(x >= 0, 1 / (1 + e), e / (1 + e))", "return np.where(x >= 0, 1 / (1 + e), e / (1 + e))")],
         {"backward: dL/dx (what gradcheck compares)"}, "upstream gradient"),
    ],
    "cnn": [
        ("conv2d", [("dweight = (g @ cols.T)", "dweight = (np.ones_like(g) @ cols.T)")],
         {"backward: dL/dweight", "stride 2 and padding 1: all three gradients"}, "multiply by `grad`"),
        ("maxpool", [("np.where(argmax == offset, grad, 0)", "np.where(argmax == offset, 1.0, 0)")],
         "all", "multiply by `grad`"),
        ("batchnorm", [("        return dx, dgamma, dbeta", "        return tm.nn.functional.BatchNorm.backward(ctx, grad)")],
         "all", "uses tinymed.nn.functional.BatchNorm"),
    ],
    "cnn:im2col": [  # a run of its own: Conv2d calls the student's col2im, so this bug reaches it too
        ("im2col", [("stride * wo:stride] += cols[:, i, j]", "stride * wo:stride] = cols[:, i, j]")],
         {"col2im: overlapping patches summed", "stride 2, a 3x2 kernel, no padding"}, "add with `+=`"),
        ("conv2d", [], {"backward: dL/dx", "stride 2 and padding 1: all three gradients"}, "dL/dx is wrong"),
    ],
    "weighted_loss": [
        ("class_freqs", [("    return positive_frequencies, negative_frequencies", "    return negative_frequencies, positive_frequencies")],
         "all", "swapped"),
        ("weighted_loss", [("positive = pos_weights[i] * y", "positive = neg_weights[i] * y"),
                           ("negative = neg_weights[i] * (1 - y)", "negative = pos_weights[i] * (1 - y)")],
         {"the course's numbers: L = -0.4956203 for y_pred = 0.7 and 0.3", "value: other labels, weights and probabilities",
          "gradient: dL/dy_pred through the engine", "value and gradient on another data set"},
         "pos_weights and neg_weights swapped"),
    ],
    "resampling": [
        ("oversample", [("size=counts.max() - n, replace=True)", "size=counts.max() - n, replace=False)")],
         {"copies drawn with replacement", "edge case: 2 samples grown to 10"}, "replace"),
        ("undersample", [("size=counts.min(), replace=False)", "size=counts.min(), replace=True)")],
         {"a subset without repeats"}, "without replacement"),
        ("balanced_batches", [("        return iter([batch.tolist() for batch in batches])",
                               "        from tinymed.data import BalancedBatchSampler as Library\n"
                               "        return iter(Library(self.labels, self.per_class * len(self.classes)))")],
         "all", "uses tinymed.data.BalancedBatchSampler"),
    ],
    "transfer": [
        ("load_backbone", [("    own = model.state_dict()", "    own = {k: p.data for k, p in model.named_parameters()}")],
         {"returns the keys it loaded", "BatchNorm running statistics loaded too"}, "BatchNorm"),
        ("freeze", [("list(model.features)[:n]", "list(model.features)[:n + 1]")], "all", "freeze_shallow(model, "),
        ("param_groups", [("if p.requires_grad]", "]")], {"frozen parameters left out"}, "leave frozen parameters out"),
    ],
    "evaluation": [
        ("confusion", [("return int(np.sum((np.asarray(pred) >= th) & (np.asarray(y) == 1)))",
                        "return int(np.sum((np.asarray(pred) > th) & (np.asarray(y) == 1)))")],
         {"edge case: pred == th counts as positive", "another threshold, with ties"}, "`pred >= th`"),
        ("rates", [("    tp, fp = true_positives(y, pred, th), false_positives(y, pred, th)\n    return tp / (tp + fp)",
                    "    return getattr(__import__('tinymed'), 'metr' + 'ics').ppv(y, pred, th)")],
         "all", "uses tinymed.metrics (called while the checks ran)"),
        ("auc", [("float(np.mean((positives > negatives) + 0.5 * (positives == negatives)))", "float(np.mean(positives > negatives))")],
         {"edge case: tied scores count half", "50 examples with ties"}, "count half, not zero"),
        ("bootstrap", [("index = np.concatenate([rng.choice(positives, len(positives)), rng.choice(negatives, len(negatives))])",
                        "index = rng.choice(len(y), len(y))")],
         {"stratified: every resample keeps the class counts"}, "stratified"),
        ("leakage", [("    return len(set(df1[patient_col]) & set(df2[patient_col])) > 0",
                      "    return any(a == b for a, b in zip(df1[patient_col], df2[patient_col]))")],
         {"a patient in both sets, at different rows: True", "columns as NumPy arrays, two leaked patients"}, "set("),
    ],
}

# In the child, a submission may patch the grader's modules and NumPy: the judges run in the parent.
TAMPER = ("check = Checker(\"autograd\")",
          "check = Checker(\"autograd\")\nimport tinymed.homework.judge as J\nimport tinymed.homework.assignments.autograd as A\n"
          "J.close = lambda *args, **kwargs: None\nA.sigmoid_backward = lambda *args: (lambda got: None)\n"
          "np.allclose = lambda *args, **kwargs: True")


def planted(name, replacements, path):
    """The instructor notebook of `name` with `replacements` made, each in exactly one cell."""
    nb = notebook.read(ASSIGNMENTS[name].notebook)
    for old, new in replacements:
        cells = [c for c in nb["cells"] if old in notebook.source_of(c)]
        assert len(cells) == 1 and notebook.source_of(cells[0]).count(old) == 1, old
        cells[0]["source"] = notebook.source_of(cells[0]).replace(old, new)
    notebook.write(nb, path)
    return path


@pytest.fixture(scope="module", params=list(ASSIGNMENTS))
def model_report(request):
    return grade(ASSIGNMENTS[request.param], ASSIGNMENTS[request.param].notebook)


@pytest.fixture(scope="module", params=list(BUGS))
def buggy(request, tmp_path_factory):
    """(the bugs planted, the report of grading them)."""
    name = request.param.split(":")[0]
    replacements = [r for _, pairs, _, _ in BUGS[request.param] for r in pairs] + ([TAMPER] if name == "autograd" else [])
    path = planted(name, replacements, tmp_path_factory.mktemp(name) / f"{name}.ipynb")
    return BUGS[request.param], grade(ASSIGNMENTS[name], path)


def test_the_model_answer_scores_full_marks(model_report):
    assert [r for r in model_report.results if not r.passed] == []
    assert model_report.score == model_report.max_score == ASSIGNMENTS[model_report.assignment].points
    assert model_report.notes == ()


def test_each_planted_bug_loses_its_checks_points_and_only_those_with_a_message_naming_it(buggy):
    bugs, buggy_report = buggy
    assignment = ASSIGNMENTS[buggy_report.assignment]
    failed = {(r.exercise, r.check) for r in buggy_report.results if not r.passed}
    expected = set()
    for exercise, _, checks, phrase in bugs:
        names = {c.name for c in assignment.exercise(exercise).checks} if checks == "all" else checks
        expected |= {(exercise, c) for c in names}
        for r in buggy_report.results:
            if r.exercise == exercise and r.check in names:
                assert r.score == 0 and phrase in r.message, (exercise, r.check, r.message)
    assert failed == expected
    kept = sum(r.max_score for r in buggy_report.results if (r.exercise, r.check) not in expected)
    assert buggy_report.score == kept > 0


def test_results_json_has_gradescopes_fields(model_report, tmp_path):
    path = tmp_path / "results" / "results.json"
    results.write_gradescope(model_report, path)
    data = json.loads(path.read_text())
    assert data["score"] == model_report.score and isinstance(data["output"], str) and data["visibility"] == "visible"
    assert len(data["tests"]) == len(model_report.results)
    for test in data["tests"]:
        assert set(test) == {"name", "score", "max_score", "number", "output", "visibility"}
        assert test["visibility"] in spec.VISIBILITIES and 0 <= test["score"] <= test["max_score"]
    assert {"visible", "hidden"} <= {t["visibility"] for t in data["tests"]} <= set(spec.VISIBILITIES)


def test_a_loop_an_exit_and_a_crash_cost_only_their_exercise(tmp_path):
    path = planted("autograd", [
        ("        return grad * b, grad * a", "        import sys\n        sys.exit(3)"),
        ("        return grad @ b.T, a.T @ grad", "        while True:\n            pass"),
        ("        return np.logaddexp(0, x)", "        import os\n        os._exit(1)"),
    ], tmp_path / "autograd.ipynb")
    report = grade(ASSIGNMENTS["autograd"], path, time_limit=1)
    by_exercise = {}
    for r in report.results:
        by_exercise.setdefault(r.exercise, []).append(r)
    assert all(r.passed for r in by_exercise["sigmoid"] + by_exercise["sum"])
    assert all(r.passed == (r.check == "forward with broadcasting") for r in by_exercise["mul"])
    assert all("sys.exit(3)" in r.message for r in by_exercise["mul"] if not r.passed)
    assert all(r.passed == (r.check == "forward") for r in by_exercise["matmul"])
    assert all("took longer than 1 s" in r.message for r in by_exercise["matmul"] if not r.passed)
    assert all(r.score == 0 and "ended the grading process" in r.message for r in by_exercise["softplus"])


@pytest.mark.skipif(sys.platform != "linux", reason="the address-space limit (RLIMIT_AS) is enforced on Linux")
def test_a_runaway_allocation_is_a_memory_error_in_its_cell_not_the_machine_out_of_memory(tmp_path):
    # np.empty reserves 5 GiB without touching it: without the child's 4 GiB limit this succeeds
    path = planted("autograd", [("        return grad * b, grad * a",
                                 "        big = np.empty(5 * 2**30, dtype=np.uint8)\n        return grad * b, grad * a")],
                   tmp_path / "autograd.ipynb")
    report = grade(ASSIGNMENTS["autograd"], path, time_limit=5)
    failed = [r for r in report.results if not r.passed]
    assert {r.exercise for r in failed} == {"mul"} and grader.MEMORY_LIMIT < 5 * 2**30
    assert all("MemoryError" in r.message and "big = np.empty" in r.message for r in failed)


def test_run_autograder_from_the_zip_grades_a_folder_and_writes_results_json(tmp_path):
    from tinymed.homework import gradescope
    paths = gradescope.make(ASSIGNMENTS["weighted_loss"], tmp_path / "made")
    source, submission = tmp_path / "source", tmp_path / "submission"
    with zipfile.ZipFile(paths["autograder"]) as archive:
        archive.extractall(source)
    submission.mkdir()
    planted("weighted_loss", BUGS["weighted_loss"][0][1], submission / "my_homework.ipynb")
    env = dict(os.environ, TINYMED_SUBMISSION=str(submission), TINYMED_RESULTS=str(tmp_path / "results" / "results.json"),
               TINYMED_PYTHON=sys.executable)
    done = subprocess.run(["bash", str(source / "run_autograder")], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "results" / "results.json").read_text())
    assert data["score"] == ASSIGNMENTS["weighted_loss"].points - 2
    assert [t["score"] for t in data["tests"][:2]] == [0, 0] and "swapped" in data["tests"][0]["output"]


def test_the_check_yourself_cells_run_in_a_jupyter_kernel_and_name_a_cheat(tmp_path):
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    path = planted("autograd", [("# EXERCISE: sum\n", "# EXERCISE: sum\nfrom tinymed.ops import Sum\n")], tmp_path / "a.ipynb")
    nb = nbformat.read(path, as_version=4)
    env = {k: v for k, v in os.environ.items() if k != "TINYMED_HOMEWORK_GRADING"}
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("TINYMED_HOMEWORK_GRADING", raising=False)
        patch.setenv("MPLBACKEND", "Agg")
        client.execute(env=env)
    printed = ["".join(o.get("text", "") for o in c.get("outputs", [])) for c in nb.cells if c.cell_type == "code"]
    checks = [p for p in printed if "points on the visible checks" in p]
    assert len(checks) == 5
    assert all(" 4/4 " in p or " 3/3 " in p for p in checks if not p.startswith("sum"))
    (sum_check,) = [p for p in checks if p.startswith("sum")]
    assert sum_check.startswith("sum: 0/3") and "uses tinymed.ops.Sum (your cell, line 2: `from tinymed.ops import Sum`)" in sum_check
