"""The command line as a new user meets it: training with a store, the store rule, start-up."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from parcelrisk.cli import app
from parcelrisk.synthetic import generate_manifest

runner = CliRunner()


@pytest.fixture(scope="module")
def labelled_csv(tmp_path_factory):
    """A labelled period just long enough to train on (10 days)."""
    path = tmp_path_factory.mktemp("labelled") / "h.csv"
    generate_manifest(20_000, seed=3, days=10).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_train_with_store_logs_the_run_to_mlflow(labelled_csv, tmp_path, monkeypatch):
    import mlflow

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    store = tmp_path / "s.duckdb"
    added = runner.invoke(app, ["history", "add", str(labelled_csv), "--store", str(store)])
    assert added.exit_code == 0, added.output
    result = runner.invoke(
        app,
        ["train", "--data", str(labelled_csv), "--store", str(store), "--export", "model"],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "model" / "model.txt").is_file()
    runs = mlflow.MlflowClient(tracking_uri=uri).search_runs(
        [mlflow.MlflowClient(tracking_uri=uri).get_experiment_by_name("parcelrisk").experiment_id]
    )
    assert len(runs) == 1 and runs[0].data.tags["model_version"]
