"""The analysts' notebooks, executed top to bottom on the test demo replica, failing on any
error; their own assertions check that what they show equals the API's figures. They are
committed without outputs."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from tests.paths import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("notebooks")]

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_five_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == [
        "01_prise_en_main.ipynb",
        "02_demande_et_offre.ipynb",
        "03_objectifs.ipynb",
        "04_qualite_et_reconciliation.ipynb",
        "05_explorer.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name}: outputs committed"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, demo_path, tmp_path, monkeypatch):
    # the kernel inherits this environment: the test demo, files in tmp_path, no contour file
    # (the map is drawn on the contours shipped with the product, as on a fresh machine)
    monkeypatch.setenv("RELOG_DEMO_PATH", str(demo_path))
    monkeypatch.delenv("RELOG_DATABASE_URL", raising=False)
    monkeypatch.setenv("RELOG_SORTIE", str(tmp_path / "sorties"))
    monkeypatch.setenv("RELOG_DATA_DIR", str(tmp_path / "donnees"))
    monkeypatch.delenv("RELOG_CONTOURS_COMMUNES", raising=False)
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(
        book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    errors = [
        o
        for c in book.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors
    if path.stem == "02_demande_et_offre":  # the geopandas map was drawn
        assert any(
            "image/png" in o.get("data", {})
            for c in book.cells
            if c.cell_type == "code"
            for o in c.outputs
        )
    if path.stem == "05_explorer":  # the pages and pieces went out as Panel views
        mimes = {
            mime
            for c in book.cells
            if c.cell_type == "code"
            for o in c.outputs
            for mime in o.get("data", {})
        }
        assert "application/vnd.holoviews_exec.v0+json" in mimes, mimes
    written = sorted(p.name for p in (tmp_path / "sorties").glob("*"))
    expected = {
        "01_prise_en_main": ["relogements_par_reservataire_2025.xlsx"],
        "03_objectifs": ["objectifs_epci.csv", "objectifs_reservataires.xlsx"],
    }.get(path.stem, [])
    assert written == expected
