"""The command line as a new user meets it: training with a store, the store rule, start-up."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import parcelrisk
from parcelrisk.cli import app
from parcelrisk.synthetic import generate_manifest

runner = CliRunner()
FIXED = "2026-03-02T06:00:00Z"


@pytest.fixture(scope="module")
def labelled_csv(tmp_path_factory):
    """A labelled period just long enough to train on (10 days, 1% illicit as the training fixture).

    14,000 items hold 12 train / 3 calibration seizures among the inspected (train needs 5 / 2).
    """
    path = tmp_path_factory.mktemp("labelled") / "h.csv"
    generate_manifest(14_000, seed=3, days=10, illicit_rate=0.01).to_csv(path, index=False)
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


@pytest.mark.slow
def test_every_entry_point_finds_the_store_by_one_rule(sample, tmp_path, monkeypatch):
    """--store, else $PARCELRISK_STORE, else ./parcelrisk_history.duckdb; --no-store: none."""
    monkeypatch.delenv("PARCELRISK_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    store = sample / "history.duckdb"

    def score(name: str, *extra: str) -> tuple[bytes, str]:
        out = tmp_path / f"{name}.csv"
        args = ["score", str(sample / "today.csv"), "--out", str(out), "--scored-at", FIXED]
        result = runner.invoke(app, [*args, *extra])
        assert result.exit_code in (0, 2), result.output
        return out.read_bytes(), result.stdout

    named, named_says = score("named", "--store", str(store))
    nothing, nothing_says = score("nothing")  # no option, no variable, no default file
    monkeypatch.setenv("PARCELRISK_STORE", str(store))
    env, env_says = score("env")
    no_store, no_store_says = score("no_store", "--no-store")
    monkeypatch.delenv("PARCELRISK_STORE")
    shutil.copy(store, tmp_path / "parcelrisk_history.duckdb")
    default, default_says = score("default")

    assert named == env == default
    assert no_store == nothing != named
    assert f"history store: {store} (--store)" in named_says
    assert f"history store: {store} ($PARCELRISK_STORE)" in env_says
    assert "history store: parcelrisk_history.duckdb (default)" in default_says
    assert "history store: none (--no-store" in no_store_says
    assert "history store: none (no --store" in nothing_says

    # the library: the same rule, and the same scores as the command line
    scored = pd.read_csv(tmp_path / "named.csv")
    rows = parcelrisk.read_manifest(sample / "today.csv").frame
    for model in (
        parcelrisk.load_model(),  # finds ./parcelrisk_history.duckdb
        parcelrisk.load_model(store=store),  # a path
    ):
        assert model.store.path is not None
        library = model.score(rows, scored_at=FIXED).scored
        np.testing.assert_allclose(library["risk_score"], scored["risk_score"], atol=1e-6)
    bare = parcelrisk.load_model(use_store=False).score(rows, scored_at=FIXED).scored
    assert not np.allclose(bare["risk_score"], scored["risk_score"], atol=1e-6)

    # explain follows the rule too
    bare_scores = pd.read_csv(tmp_path / "no_store.csv").set_index("item_id")["risk_score"]
    # the item the store changes most, so that the two explanations must differ
    item = (scored.set_index("item_id")["risk_score"] - bare_scores).abs().idxmax()
    said = runner.invoke(app, ["explain", str(sample / "today.csv"), "--item", item])
    assert said.exit_code == 0, said.output
    assert "history store: parcelrisk_history.duckdb (default)" in said.stdout
    assert f"risk {scored.set_index('item_id').loc[item, 'risk_score']:.3f}" in said.stdout
    unsaid = runner.invoke(
        app, ["explain", str(sample / "today.csv"), "--item", item, "--no-store"]
    )
    assert unsaid.exit_code == 0, unsaid.output
    assert f"risk {bare_scores.loc[item]:.3f}" in unsaid.stdout


HEAVY = ("pandas", "pyarrow", "pandera", "lightgbm", "sklearn", "shap", "mlflow", "duckdb")


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "PARCELRISK_SECRET"} | env
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300
    )


def test_import_and_help_load_no_heavy_library():
    """`import parcelrisk` and `parcelrisk --help` stay quick: the data stack loads when used."""
    code = (
        "import sys, parcelrisk\n"
        "from typer.testing import CliRunner\n"
        "from parcelrisk.cli import app\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        "assert CliRunner().invoke(app, ['score', '--help']).exit_code == 0\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout
    lazy = _python("import parcelrisk; print(parcelrisk.ManifestSchema.item_id)")
    assert lazy.stdout.strip() == "item_id", lazy.stderr


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"parcelrisk {parcelrisk.__version__}"


def test_secret_warning_is_one_line_once(sample, tmp_path):
    args = [str(sample / "today.csv"), "--out", str(tmp_path / "s.csv"), "--no-store"]
    code = f"import sys; from parcelrisk.cli import main; sys.argv = ['parcelrisk', 'score', *{args!r}]; main()"
    result = _python(code)
    assert result.returncode in (0, 2), result.stderr
    lines = [line for line in result.stderr.splitlines() if "PARCELRISK_SECRET" in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("warning: PARCELRISK_SECRET is not set"), lines
    assert "UserWarning" not in result.stderr and "warnings.warn" not in result.stderr
