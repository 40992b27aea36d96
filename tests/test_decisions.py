"""Decisions in the history store: written by ``score --store``, joined to outcomes, idempotent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from parcelrisk.batch import score_file
from parcelrisk.cli import app
from parcelrisk.errors import InputError
from parcelrisk.model import load_model
from parcelrisk.scoring import ScoreOptions, score_frame
from parcelrisk.store import DECISION_LOG_COLUMNS, HistoryStore
from parcelrisk.validate import validate_frame

SCORED_AT = "2026-02-10T06:00:00Z"
OPTS = ScoreOptions(budget=0.03, scored_at=SCORED_AT, control_share=0.2)
PARTY_COLUMNS = ("sender_name", "recipient_name", "recipient_address", "recipient_email")


@pytest.fixture(scope="module")
def today_csv(today, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("decisions") / "today.csv"
    today.to_csv(path, index=False)
    return path


def test_in_memory_and_chunked_paths_give_the_same_decisions(model_dir, today, today_csv):
    model = load_model(model_dir)
    whole = score_frame(validate_frame(today).valid, model, OPTS).decisions()
    chunked = pd.concat(score_file(today_csv, model, OPTS, chunk_rows=777).iter_decisions())
    pd.testing.assert_frame_equal(
        whole.reset_index(drop=True), chunked.drop(columns="run_id").reset_index(drop=True)
    )
    assert chunked["run_id"].nunique() == 1
    assert whole["margin"].notna().all() and not set(PARTY_COLUMNS) & set(whole.columns)
    # the top reason is the group of reason 1, for the explained (selected) items only
    assert whole.loc[whole["selected"], "top_reason"].notna().all()
    assert whole.loc[~whole["selected"], "top_reason"].isna().all()


def test_add_decisions_replaces_a_rerun_and_joins_outcomes(model_dir, today, tmp_path):
    model = load_model(model_dir)
    valid = validate_frame(today).valid
    decisions = score_frame(valid, model, OPTS).decisions()
    path = tmp_path / "h.duckdb"
    with HistoryStore.open(path, secret=b"k") as store:
        store.add_manifest(valid)
        assert store.add_decisions(decisions) == len(decisions)
        assert store.add_decisions(decisions) == len(decisions)  # replaced, not added
        picked = decisions[decisions["selected"]]
        outcomes = pd.DataFrame(
            {
                "item_id": picked["item_id"],
                "inspected_at": "2026-02-12T10:00:00Z",
                "outcome": np.where(np.arange(len(picked)) % 4 == 0, "seizure", "no_finding"),
            }
        )
        added, rejects = store.add_outcomes(outcomes)
        assert added == len(picked) and rejects.empty
        assert store.decided(outcomes["item_id"]) == len(picked)
        log = store.decision_log()
        n = store.con.execute("SELECT count(*) FROM decisions").fetchall()[0][0]
    assert n == len(decisions) == len(log)
    assert list(log.columns) == list(DECISION_LOG_COLUMNS)
    assert set(log["day"]) == {"2026-02-10"}
    by_id = log.set_index("item_id")
    assert by_id.loc[picked["item_id"], "outcome"].notna().all()
    assert (
        by_id.loc[picked["item_id"], "outcome"].eq("seizure").sum()
        == (outcomes.outcome == "seizure").sum()
    )
    unpicked = decisions.loc[~decisions["selected"], "item_id"]
    assert by_id.loc[unpicked, "outcome"].isna().all()
    # propensities as the selection set them: 1 for model picks, the control share for the rest
    assert by_id.loc[by_id["selection_reason"].eq("model"), "selection_propensity"].eq(1).all()
    rest = by_id[by_id["selection_reason"].ne("model")]
    assert rest["selection_propensity"].between(0, 1, inclusive="neither").all()
    assert rest["selection_propensity"].nunique() == 1
    with HistoryStore.open(path, secret=b"k", read_only=True) as store:
        assert store.decision_log(since="2026-02-11").empty
        assert len(store.decision_log(since="2026-02-10")) == len(decisions)


def test_add_decisions_refuses_unreadable_scored_at(model_dir, today, tmp_path):
    decisions = score_frame(validate_frame(today).valid, load_model(model_dir), OPTS).decisions()
    with HistoryStore.open(tmp_path / "h.duckdb", secret=b"k") as store:
        with pytest.raises(InputError, match="scored_at"):
            store.add_decisions(decisions.assign(scored_at="yesterday"))
        with pytest.raises(InputError, match="selection_propensity"):
            store.add_decisions(decisions.drop(columns="selection_propensity"))


def test_cli_score_records_decisions_and_outcomes_report_matches(
    model_dir, today, today_csv, tmp_path, monkeypatch
):
    monkeypatch.setenv("PARCELRISK_SECRET", "decisions-test")
    runner = CliRunner()
    store = tmp_path / "h.duckdb"
    assert (
        runner.invoke(app, ["history", "add", str(today_csv), "--store", str(store)]).exit_code == 0
    )
    args = [
        "score", str(today_csv), "--out", str(tmp_path / "s.csv"), "--model", str(model_dir),
        "--store", str(store), "--scored-at", SCORED_AT, "--budget", "0.02",
    ]  # fmt: skip
    for _ in range(2):  # a re-run replaces the same decisions
        result = runner.invoke(app, [*args, "--chunk-rows", "1500"])
        assert result.exit_code == 0, result.output
    scored = pd.read_csv(tmp_path / "s.csv")
    with HistoryStore.open(store, read_only=True) as history:
        log = history.decision_log()
        counts = history.feature_counts()
    assert len(log) == len(scored) == len(today)
    merged = scored.merge(log, on="item_id", suffixes=("", "_log"))
    assert (merged["selected"] == merged["selected_log"]).all()
    assert np.allclose(merged["risk_score"], merged["risk_score_log"])
    # one count per item and feature, in one run
    assert counts["run_id"].nunique() == 1
    assert counts.groupby("feature")["items"].sum().eq(len(today)).all()
    picked = scored[scored["selected"]]
    outcomes = pd.DataFrame(
        {"item_id": list(picked["item_id"]) + [today["item_id"].iloc[0]],
         "inspected_at": "2026-02-12T10:00:00Z", "outcome": "no_finding"}
    )  # fmt: skip
    outcomes = outcomes.drop_duplicates("item_id")
    outcomes.to_csv(tmp_path / "o.csv", index=False)
    result = runner.invoke(app, ["outcomes", "add", str(tmp_path / "o.csv"), "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert "items with a decision" in result.output and f"{len(outcomes):,}" in result.output
    # --no-record leaves the store as it was
    before = log
    result = runner.invoke(app, [*args[:-4], "--scored-at", "2026-02-11T06:00:00Z", "--no-record"])
    assert result.exit_code == 0, result.output
    with HistoryStore.open(store, read_only=True) as history:
        assert set(history.decision_log()["day"]) == set(before["day"])
