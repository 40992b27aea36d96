"""MLflow: runs logged to a local SQLite store, registry aliases, promotion, pyfunc load and HTTP serving."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pandas as pd
import pytest

import parcelrisk
from parcelrisk.report import model_card
from parcelrisk.tracking import REGISTERED_NAME, log_training, promote
from parcelrisk.validate import validate_frame


@pytest.fixture(scope="module")
def mlflow_home(tmp_path_factory, trained, training_manifest):
    """A fresh tracking store with the trained model registered as challenger, then promoted."""
    home = tmp_path_factory.mktemp("mlflow")
    old = os.getcwd()
    os.chdir(home)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        valid = validate_frame(training_manifest).valid
        run = log_training(trained, valid, register=True, card=model_card(trained))
        window = valid[valid["declared_at"] >= trained.model.metadata["split"]["test_from"]]
        decision = promote(window, capacity=0.02)
        yield home, run, decision, window
    finally:
        os.chdir(old)


@pytest.mark.slow
def test_run_is_logged_with_data_hash_metrics_card_and_model(mlflow_home, trained):
    import mlflow

    home, run, decision, _ = mlflow_home
    assert (home / "mlflow.db").is_file()
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    logged = client.get_run(run["run_id"])
    assert logged.data.tags["data_hash"] == trained.model.metadata["data_hash"]
    assert "ground_truth.model.at_2pct.precision" in logged.data.metrics
    artifacts = {a.path for a in client.list_artifacts(run["run_id"])}
    assert {"MODEL_CARD.md", "features.json"} <= artifacts
    assert decision.promoted and decision.champion is None  # first model: nothing to beat
    assert not list(home.rglob("*.pkl")), "nothing of the project is pickled"


def test_champion_loads_by_alias_and_scores_like_the_library(mlflow_home, model_dir, today):
    import mlflow

    home, *_ = mlflow_home
    mlflow.set_tracking_uri(f"sqlite:///{home / 'mlflow.db'}")
    pyfunc = mlflow.pyfunc.load_model(f"models:/{REGISTERED_NAME}@champion")
    served = pyfunc.predict(today.head(300))
    library = parcelrisk.load_model(model_dir).score(today.head(300)).scored
    np.testing.assert_allclose(served["risk_score"].to_numpy(), library["risk_score"].to_numpy())
    assert served["item_id"].tolist() == library["item_id"].tolist()


@pytest.mark.slow
def test_promotion_keeps_the_champion_on_a_tie_unless_forced(
    mlflow_home, trained, training_manifest
):
    import mlflow

    home, _, _, window = mlflow_home
    old = os.getcwd()
    os.chdir(home)
    try:
        client = mlflow.MlflowClient()
        champion = client.get_model_version_by_alias(REGISTERED_NAME, "champion").version
        # The same model again as challenger, scored on a window where it cannot be better.
        log_training(
            trained,
            validate_frame(training_manifest).valid,
            register=True,
            card=model_card(trained),
        )
        decision = promote(window, capacity=0.02)
        # The same model again: a tie is no evidence, the champion stays.
        assert not decision.promoted and not decision.forced
        assert set(decision.comparison["alias"]) == {"challenger", "champion"}
        assert decision.comparison["hit_rate"].nunique() == 1
        assert decision.difference["value"] == 0 and decision.difference["n"] == 0
        assert "off-policy IPS (inverse-propensity) estimate" in decision.basis
        assert "lower bound is above zero" in decision.basis
        assert client.get_model_version_by_alias(REGISTERED_NAME, "champion").version == champion
        # judged as a trial window (whole days resampled): still a tie, still kept
        as_trial = promote(window, capacity=0.02, trial=True)
        assert not as_trial.promoted and "whole days" in as_trial.difference["method"]
        assert "a trial window" in as_trial.basis and "a trial window" not in decision.basis
        forced = promote(window, capacity=0.02, force=True)
        assert forced.promoted and forced.forced
        assert client.get_model_version_by_alias(REGISTERED_NAME, "champion").version != champion
    finally:
        os.chdir(old)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_mlflow_models_serve_answers_with_library_scores(mlflow_home, model_dir, today):
    home, *_ = mlflow_home
    port = _free_port()
    bin_dir = os.path.dirname(sys.executable)  # mlflow starts uvicorn from PATH
    env = dict(
        os.environ,
        MLFLOW_TRACKING_URI=f"sqlite:///{home / 'mlflow.db'}",
        PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""),
    )
    mlflow_cli = os.path.join(os.path.dirname(sys.executable), "mlflow")
    server = subprocess.Popen(
        [
            mlflow_cli,
            "models",
            "serve",
            "-m",
            f"models:/{REGISTERED_NAME}@champion",
            "--env-manager",
            "local",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        rows = today.head(20).copy()
        rows["declared_at"] = rows["declared_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        body = json.dumps(
            {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
        ).encode()
        deadline = time.monotonic() + 120
        answer = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                req = urllib.request.Request(
                    f"http://127.0.0.1:{port}/invocations",
                    data=body,
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(req, timeout=30) as resp:
                    answer = json.loads(resp.read())
                break
            except OSError:
                time.sleep(1)
        assert answer is not None, (
            server.stdout.read().decode()[-3000:] if server.poll() is not None else "no answer"
        )
        served = pd.DataFrame(answer["predictions"])
        library = parcelrisk.load_model(model_dir).score(today.head(20)).scored
        np.testing.assert_allclose(
            served["risk_score"].to_numpy(dtype=float), library["risk_score"].to_numpy()
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def test_a_refused_challenger_goes_on_trial_only_by_the_chosen_rule():
    from parcelrisk.errors import ConfigError
    from parcelrisk.tracking import PromotionResult

    def result(value, high, plain_ok=True, promoted=False):
        diff = {"value": value, "low": -0.01, "high": high, "n": 4}
        return PromotionResult(
            promoted, {}, {}, pd.DataFrame(), difference=diff, plain_baseline_ok=plain_ok
        )

    looks_better, looks_worse = result(0.004, 0.02), result(-0.004, 0.02)
    assert looks_better.undecided and looks_better.worth_trial("not_worse")
    assert not looks_worse.undecided and looks_worse.worth_trial("not_worse")
    assert not result(-0.01, -0.001).worth_trial("not_worse")  # shown worse
    assert not result(0.004, 0.02, plain_ok=False).worth_trial("not_worse")  # below plain LightGBM
    assert not result(0.004, 0.02, promoted=True).worth_trial("better")  # nothing to settle
    with pytest.raises(ConfigError):
        looks_better.worth_trial("always")
