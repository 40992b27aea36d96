"""The MLflow pyfunc and ``mlflow models serve``: the CLI's scores, with the store of the same rule.

The shipped model is saved as a pyfunc folder (no tracking server needed) and scored
on a cut of the committed sample with a history store found through ``$PARCELRISK_STORE``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import parcelrisk
from parcelrisk.cli import app
from parcelrisk.tracking import pyfunc_signature

FIXED = "2026-03-02T06:00:00Z"


@pytest.fixture(scope="module")
def pyfunc_dir(tmp_path_factory):
    import mlflow

    path = tmp_path_factory.mktemp("pyfunc") / "model"
    signature, example = pyfunc_signature()
    mlflow.pyfunc.save_model(
        str(path),
        loader_module="parcelrisk.pyfunc",
        data_path=str(parcelrisk.DEFAULT_MODEL_DIR),
        signature=signature,
    )
    return path


@pytest.fixture(scope="module")
def cli_scores(sample, tmp_path_factory):
    """What ``parcelrisk score --store`` gives for the sample's rows."""
    out = tmp_path_factory.mktemp("cli") / "scored.csv"
    args = ["score", str(sample / "today.csv"), "--out", str(out), "--scored-at", FIXED]
    result = CliRunner().invoke(app, [*args, "--store", str(sample / "history.duckdb")])
    assert result.exit_code in (0, 2), result.output
    return pd.read_csv(out)


def test_pyfunc_reads_the_store_of_the_rule_and_scores_like_the_cli(
    pyfunc_dir, sample, cli_scores, monkeypatch
):
    import mlflow

    rows = pd.read_csv(sample / "today.csv", dtype=str)
    monkeypatch.setenv("PARCELRISK_STORE", str(sample / "history.duckdb"))
    served = mlflow.pyfunc.load_model(str(pyfunc_dir)).predict(rows)
    np.testing.assert_allclose(
        served["risk_score"].to_numpy(dtype=float), cli_scores["risk_score"], atol=1e-9
    )
    monkeypatch.delenv("PARCELRISK_STORE")
    monkeypatch.chdir(sample)  # no ./parcelrisk_history.duckdb here: no store
    bare = mlflow.pyfunc.load_model(str(pyfunc_dir)).predict(rows)
    assert not np.allclose(bare["risk_score"].to_numpy(dtype=float), cli_scores["risk_score"])


def _not_json(token: str) -> None:
    raise ValueError(f"{token} is not JSON")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(port: int, payload: dict) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.slow
def test_mlflow_models_serve_scores_like_the_cli_with_the_store(
    pyfunc_dir, sample, cli_scores, tmp_path
):
    port = _free_port()
    bin_dir = os.path.dirname(sys.executable)  # mlflow starts uvicorn from PATH
    env = dict(
        os.environ,
        PARCELRISK_STORE=str(sample / "history.duckdb"),
        PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""),
    )
    command = [os.path.join(bin_dir, "mlflow"), "models", "serve", "-m", str(pyfunc_dir)]
    command += ["--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)]
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        rows = pd.read_csv(sample / "today.csv", dtype=str).head(200)
        payload = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
        deadline, status, body = time.monotonic() + 120, None, b""
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status, body = _post(port, payload)
                break
            except OSError:
                time.sleep(1)
        assert status == 200, (tmp_path / "server.log").read_text()[-3000:]
        served = pd.DataFrame(json.loads(body, parse_constant=_not_json)["predictions"])
        expected = cli_scores.head(200)
        assert served["item_id"].tolist() == expected["item_id"].tolist()
        np.testing.assert_allclose(
            served["risk_score"].to_numpy(dtype=float), expected["risk_score"], atol=1e-9
        )
        # a request without a required column: HTTP 400 and one line naming the column
        incomplete = rows.drop(columns=["declared_at"]).head(3)
        split = json.loads(incomplete.to_json(orient="split", index=False))
        status, body = _post(port, {"dataframe_split": split})
        message = json.loads(body)["message"]
        assert status == 400 and "declared_at" in message and "\n" not in message, message
        assert len(message) < 200, message
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
