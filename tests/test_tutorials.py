"""Every tutorial notebook runs top to bottom in a fresh kernel, so none can rot; the stored
notebooks carry the outputs of a full-size run (`python tutorials/run_notebooks.py`).

Under test the notebooks run small: they read TINYMED_QUICK=1 and shrink their data and epochs;
they run in a temporary folder and are never written back into tutorials/.
"""
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
NOTEBOOKS = sorted(TUTORIALS.glob("[0-9][0-9]_*.ipynb"))


def test_the_six_tutorials_are_there():
    assert len(NOTEBOOKS) == 6, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_with_the_outputs_of_a_full_run_in_order(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    outputs = [o for cell in code for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # figures show on the page
    text = "".join(o.get("text", "") for o in outputs)
    assert "TINYMED_QUICK" not in text and "/tmp" not in text  # a full-size run, no scratch paths


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    monkeypatch.setenv("TINYMED_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [o for cell in notebook.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert list(tmp_path.iterdir()) == []  # nothing written into the folder it runs in (scratch goes to tempfile)


def test_the_course_names_table_gives_the_same_numbers_as_the_course():
    """docs/COURSE_NAMES.md writes each course function in NumPy and compares it with tinymed's."""
    import doctest
    path = TUTORIALS.parent / "docs" / "COURSE_NAMES.md"
    result = doctest.testfile(str(path), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 40 and result.failed == 0
