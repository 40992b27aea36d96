"""Honest figures end to end: training metadata, model card, report, ``evaluate --off-policy``, ``promote``.

The unbiased estimates of :mod:`parcelrisk.estimation` must reach every place a
hit rate is shown, and a figure from the inspected items must say it is biased.
"""

from __future__ import annotations

import json
from html import escape as html_escape
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import parcelrisk
from parcelrisk.cli import EXIT_REFUSED, app
from parcelrisk.estimation import HEADLINE, decision_log_from_labels, off_policy
from parcelrisk.report import BIASED_NOTE, expected_hit_rate, model_card, render_report
from parcelrisk.validate import validate_frame

runner = CliRunner()
REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "synthetic"


def test_training_keeps_unbiased_estimates_and_the_card_shows_them(trained):
    est = trained.model.metadata["estimates"]
    assert est["days"]["first_day"] == trained.model.metadata["split"]["test_from"]
    assert [r["capacity"] for r in est["capacities"]] == [0.005, 0.01, 0.02, 0.05, 0.1]
    for row in est["capacities"]:
        for key in ("ips", "snips", "dr", "leakage"):
            e = row[key]
            assert 0 <= e["low"] <= e["high"] <= 1, (row["capacity"], key, e)
        assert row["snips"]["n"] <= row["picks"]
    json.dumps(est, allow_nan=False)  # strict JSON: no NaN tokens
    card = model_card(trained)
    assert "## Unbiased estimates on the test days" in card
    assert BIASED_NOTE in card
    assert "hit rate (IPS)" in card


def test_report_headline_is_the_unbiased_estimate_and_the_inspected_figure_is_labelled(
    model_dir, today
):
    from parcelrisk.model import load_model
    from parcelrisk.scoring import ScoreOptions, score_frame

    model = load_model(model_dir)
    checked = validate_frame(today)
    result = score_frame(checked.valid, model, ScoreOptions(budget=0.02, explain="none"))
    html = render_report(
        result, model, rows_read=len(today), rejects=checked.rejects, source="today.csv"
    )
    headline, note = expected_hit_rate(model.metadata, 0.02)
    assert "(95% CI" in headline and "at 2.0% capacity" in headline
    assert f'<b id="expected-hit-rate">{headline}</b>' in html
    assert f"Unbiased estimate ({HEADLINE.upper()}, off-policy" in note and "leakage" in note
    assert html_escape(BIASED_NOTE) in html
    # a model without estimates says so instead of showing the biased figure as the headline
    old = {k: v for k, v in model.metadata.items() if k != "estimates"}
    headline, note = expected_hit_rate(old, 0.02)
    assert headline == "n/a" and "retrain" in note and BIASED_NOTE in note


@pytest.mark.slow
def test_shipped_model_headline_interval_covers_todays_truth(tmp_path):
    """Score today's committed sample as the README does; truth of the model's picks in the interval."""
    store, scored, report = tmp_path / "h.duckdb", tmp_path / "scored.csv", tmp_path / "r.html"
    added = runner.invoke(
        app, ["history", "add", str(SAMPLE / "history.parquet"), "--store", str(store)]
    )
    assert added.exit_code == 0, added.output
    run = runner.invoke(
        app,
        [
            "score",
            str(SAMPLE / "manifest_today.csv"),
            "--store",
            str(store),
            "--out",
            str(scored),
            "--report",
            str(report),
            "--explain",
            "none",
        ],
    )
    assert run.exit_code in (0, 2), run.output
    picks = pd.read_csv(scored, dtype={"item_id": str})
    share = picks["selected"].mean()
    picks = picks[picks["selection_reason"].eq("model")]
    truth = pd.read_csv(SAMPLE / "manifest_today_truth.csv", dtype={"item_id": str})
    column = "truth_found_if_inspected" if "truth_found_if_inspected" in truth else "truth_illicit"
    found = truth.set_index("item_id")[column].astype(bool).reindex(picks["item_id"])
    assert found.notna().all()
    precision = float(found.mean())

    meta = json.loads((REPO / "models" / "default" / "metadata.json").read_text())
    assert "estimates" in meta, "models/default predates unbiased estimates: retrain it"
    row = min(meta["estimates"]["capacities"], key=lambda r: abs(r["capacity"] - share))
    head = row[meta["estimates"]["headline"]]
    assert head["low"] <= precision <= head["high"], (precision, head)
    headline, _ = expected_hit_rate(meta, share)
    assert headline in report.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def logged(training_manifest, tmp_path_factory):
    """The last 8 days of the generated period: manifest file and its decision log file."""
    tmp = tmp_path_factory.mktemp("ope")
    days = training_manifest["declared_at"].dt.floor("D")
    recent = training_manifest[days >= days.max() - pd.Timedelta(days=7)]
    valid = validate_frame(recent).valid
    log = decision_log_from_labels(valid)
    manifest_path, log_path = tmp / "manifest.parquet", tmp / "decisions.parquet"
    recent.to_parquet(manifest_path, index=False)
    log.to_parquet(log_path, index=False)
    return valid, log, manifest_path, log_path, tmp


@pytest.mark.slow
def test_evaluate_off_policy_from_a_decision_log_and_its_manifest(logged, model_dir):
    valid, log, manifest_path, log_path, tmp = logged
    out = tmp / "estimates.json"
    args = ["evaluate", "--off-policy", "--log", str(log_path), "--model", str(model_dir)]
    run = runner.invoke(
        app, [*args, "--data", str(manifest_path), "--capacity", "0.02", "--out", str(out)]
    )
    assert run.exit_code == 0, run.output
    assert "SNIPS" in run.output and "DR" in run.output and "effective sample size" in run.output
    got = json.loads(out.read_text())
    # the same figures as the library on the same rows with the normal scoring path
    from parcelrisk.model import load_model
    from parcelrisk.scoring import predict

    model = load_model(model_dir)
    preds, _, _ = predict(valid.drop(columns=["truth_illicit", "truth_pattern"]), model)
    scores = pd.Series(preds.margin.to_numpy(), index=preds.item_id.to_numpy())
    direct = off_policy(log, scores, 0.02)
    assert got["estimates"] == {k: direct[k].as_dict() for k in ("ips", "snips", "dr")}
    assert got["ess"] == pytest.approx(direct["ess"].value)
    # without manifest columns in the log and without --data: one line, exit 1
    missing = runner.invoke(app, args)
    assert missing.exit_code == 1
    assert "--data" in missing.output and "Traceback" not in missing.output


@pytest.mark.slow
def test_evaluate_off_policy_on_labels_keeps_to_the_models_test_days(
    training_manifest, model_dir, tmp_path
):
    path = tmp_path / "labelled.parquet"
    training_manifest.to_parquet(path, index=False)
    out = tmp_path / "e.json"
    run = runner.invoke(
        app,
        [
            "evaluate",
            "--off-policy",
            "--data",
            str(path),
            "--model",
            str(model_dir),
            "--out",
            str(out),
        ],
    )
    assert run.exit_code == 0, run.output
    meta = parcelrisk.load_model(model_dir).metadata
    assert "overlaps the model's training window" in run.output
    assert min(json.loads(out.read_text())["days"]) == meta["split"]["test_from"]


def test_promote_that_refuses_says_why_and_exits_non_zero(monkeypatch, small_manifest, tmp_path):
    from parcelrisk import tracking

    comparison = pd.DataFrame(
        [
            {"alias": "challenger", "version": "2", "hit_rate": 0.05},
            {"alias": "champion", "version": "1", "hit_rate": 0.08},
        ]
    )
    basis = "decided on the off-policy DR (doubly robust) estimate of the hit rate at 2.0% capacity"
    refused = tracking.PromotionResult(
        False, comparison.iloc[0].to_dict(), comparison.iloc[1].to_dict(), comparison, basis
    )
    monkeypatch.setattr(tracking, "promote", lambda *a, **k: refused)
    path = tmp_path / "window.csv"
    small_manifest.head(50).to_csv(path, index=False)
    run = runner.invoke(app, ["promote", "--data", str(path)])
    assert run.exit_code == EXIT_REFUSED == 3
    said = " ".join(run.output.split())
    assert basis in said and "not promoted" in said
    promoted = tracking.PromotionResult(True, {}, None, comparison.head(1), basis)
    monkeypatch.setattr(tracking, "promote", lambda *a, **k: promoted)
    assert runner.invoke(app, ["promote", "--data", str(path)]).exit_code == 0
