"""The notebooks run top to bottom (small data), so they cannot rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["explore", "explain", "retrain_with_mlflow"])
def test_notebook_runs(name, tmp_path, monkeypatch):
    monkeypatch.setenv("PARCELRISK_NB_ROWS", "16000")
    monkeypatch.setenv("PARCELRISK_NB_WORKDIR", str(tmp_path / "work"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    if name == "retrain_with_mlflow":
        assert (tmp_path / "work" / "mlflow.db").is_file()
