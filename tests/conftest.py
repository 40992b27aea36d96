"""Shared fixtures: small synthetic manifests made by the generator (session-scoped)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from parcelrisk.synthetic import generate_manifest

# Tests are a demo setting: short PARCELRISK_SECRET values and the public development secret
# (also for 'history add') are allowed. test_safety unsets it to check the production rules.
os.environ.setdefault("PARCELRISK_DEMO", "1")


@pytest.fixture(scope="session")
def small_manifest() -> pd.DataFrame:
    """3,000 labelled items over 5 days, with truth columns."""
    return generate_manifest(3_000, seed=11, days=5)


@pytest.fixture(scope="session")
def training_manifest() -> pd.DataFrame:
    """A labelled period long enough to train and test on (time split).

    Prevalence 1% (the v2 world's default is 0.3%): at 0.3% the legacy inspections of 60,000
    items find about 19 seizures, too few to test the training mechanics with; the headline
    figures on the default prevalence are in benchmarks/SIMULATION.md and the data README.
    """
    return generate_manifest(60_000, seed=5, days=35, illicit_rate=0.01)


@pytest.fixture(scope="session")
def trained(training_manifest):
    """A model trained once per test session on the generated training manifest."""
    from parcelrisk.train import train_model
    from parcelrisk.validate import validate_frame

    return train_model(validate_frame(training_manifest).valid)


@pytest.fixture(scope="session")
def model_dir(trained, tmp_path_factory):
    """The trained model saved as a model folder."""
    from parcelrisk.model import save_model
    from parcelrisk.report import model_card

    return save_model(trained.model, tmp_path_factory.mktemp("model") / "m", model_card(trained))


@pytest.fixture(scope="session")
def today(training_manifest) -> pd.DataFrame:
    """A day's unlabelled manifest that follows the training period (same simulation, new seed)."""
    last = training_manifest["declared_at"].max().normalize() + pd.Timedelta(days=1)
    return generate_manifest(
        4_000, seed=77, start=str(last.date()), days=1, labels=False, truth=False
    )


SAMPLE = Path(__file__).resolve().parent.parent / "data" / "synthetic"


@pytest.fixture(scope="session")
def sample(tmp_path_factory):
    """The committed sample, cut small: 600 of today's items; the last 30 days of history in a store."""
    folder = tmp_path_factory.mktemp("sample")
    today = pd.read_csv(SAMPLE / "manifest_today.csv", dtype=str).head(600)
    today.to_csv(folder / "today.csv", index=False)
    history = pd.read_parquet(SAMPLE / "history.parquet")
    recent = history[history["declared_at"] >= history["declared_at"].max() - pd.Timedelta(days=30)]
    recent.to_parquet(folder / "history.parquet")
    store = folder / "history.duckdb"
    from typer.testing import CliRunner

    from parcelrisk.cli import app

    added = CliRunner().invoke(
        app, ["history", "add", str(folder / "history.parquet"), "--store", str(store)]
    )
    assert added.exit_code == 0, added.output
    return folder
