"""Every notebook runs top to bottom from a clean kernel, and stores no outputs in git."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_the_six_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == [
        "00-replicate-six-site-study.ipynb", "01-scoring.ipynb", "02-comparing-sites.ipynb",
        "03-framework-analysis.ipynb", "04-auditing-care-plans.ipynb", "05-joint-displays.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_saved_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: a cell has saved output"


@pytest.fixture(scope="module")
def shared_data(tmp_path_factory):
    """The synthetic study written once; each notebook gets its own copy (as a user's fresh folder)."""
    import recoverystudy as rs

    root = tmp_path_factory.mktemp("data") / "six-site-data"
    rs.synthetic.six_site_study(seed=0).write(root)
    return root


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, tmp_path, shared_data):
    shutil.copytree(shared_data, tmp_path / "six-site-data")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # a failing cell raises CellExecutionError, which fails the test
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                     if o.output_type == "stream")
    assert "Traceback" not in text
