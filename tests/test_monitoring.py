"""Drift monitoring: PSI, feature counts at score time, alerts on drifted weeks only."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from parcelrisk.batch import score_file
from parcelrisk.cli import app
from parcelrisk.model import load_model
from parcelrisk.monitoring import FeatureCounter, fit_bins, psi
from parcelrisk.scoring import ScoreOptions
from parcelrisk.store import HistoryStore
from parcelrisk.synthetic import generate_manifest

FIRST_MONDAY = date(2026, 3, 2)


def test_psi_is_zero_for_equal_shares_and_grows_with_the_shift():
    ref = np.array([100, 200, 300, 400])
    assert psi(ref, ref * 3) == pytest.approx(0.0)
    small = psi(ref, np.array([110, 190, 300, 400]))
    large = psi(ref, np.array([400, 300, 200, 100]))
    assert 0 < small < 0.01 < 0.25 < large
    assert psi(np.array([10, 0]), np.array([0, 10])) > 1  # empty bins are floored, not infinite


def test_bins_cover_numeric_categorical_and_missing_values():
    X = pd.DataFrame(
        {
            "x": np.r_[np.arange(100, dtype=float), [np.nan] * 5],
            "c": pd.Categorical(["a", "b"] * 52 + [None], categories=["a", "b", "other"]),
        }
    )
    bins = fit_bins(X)
    json.dumps(bins, allow_nan=False)
    counter = FeatureCounter(bins)
    counter.update(X.iloc[:50])
    counter.update(X.iloc[50:])
    counts = counter.frame().groupby("feature")["items"].sum()
    assert counts.to_dict() == {"c": 105, "x": 105}
    frame = counter.frame().set_index(["feature", "bin"])["items"]
    assert frame[("x", len(bins["x"]["edges"]) + 1)] == 5  # the missing bin
    assert frame[("c", 3)] == 1 and frame[("c", 2)] == 0


def test_feature_counts_do_not_depend_on_the_chunk_size(model_dir, today, tmp_path):
    path = tmp_path / "today.csv"
    today.to_csv(path, index=False)
    model = load_model(model_dir)
    frames = []
    for chunk_rows in (613, 1_000_000):
        counter = FeatureCounter(model.metadata["monitor_bins"])
        score_file(
            path,
            model,
            ScoreOptions(explain="none"),
            chunk_rows=chunk_rows,
            feature_counter=counter,
        )
        frames.append(counter.frame())
    pd.testing.assert_frame_equal(frames[0], frames[1])
    assert frames[0].groupby("feature")["items"].sum().eq(len(today)).all()


def _weekly_manifests(weeks: int) -> list[pd.DataFrame]:
    """Six weeks of one generated world (~1,200 items a week), one manifest per week.

    One world, so the entity population and its campaigns are alike from week to
    week (separate seeds per day differ by whole bulk-sender bursts). From week 4
    on it drifts: values declared 8x higher, parcels a third of the weight.
    """
    frame = generate_manifest(
        1_200 * weeks, seed=900, start=str(FIRST_MONDAY), days=7 * weeks, labels=False, truth=False
    )
    week = (frame["declared_at"] - pd.Timestamp(FIRST_MONDAY, tz="UTC")).dt.days // 7
    out = []
    for w in range(weeks):
        part = frame[week == w].copy()
        if w >= 4:
            part["declared_value"] = part["declared_value"] * 8
            part["gross_weight_kg"] = (part["gross_weight_kg"] * 0.3).clip(lower=0.01)
        out.append(part)
    return out


@pytest.mark.slow
def test_monitor_alerts_on_the_drifted_weeks_only(model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PARCELRISK_SECRET", "monitor-test")
    runner = CliRunner()
    store = tmp_path / "h.duckdb"
    HistoryStore.open(store).close()
    weeks = [(w, w >= 4) for w in range(6)]  # weeks 0-1 reference, 2-3 stable, 4-5 drifted
    manifests = _weekly_manifests(len(weeks))
    for week, _ in weeks:
        path = tmp_path / f"day{week}.csv"
        manifests[week].to_csv(path, index=False)
        day = FIRST_MONDAY + timedelta(days=7 * week)
        result = runner.invoke(
            app,
            ["score", str(path), "--out", str(tmp_path / f"s{week}.csv"), "--model", str(model_dir),
             "--store", str(store), "--scored-at", f"{day + timedelta(days=6)}T23:00:00Z", "--budget", "0.05"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    # items and outcomes after all scoring, so the entity profiles (counts over past weeks) stay
    # the same every week and only the planted drift moves the features
    for week, _ in weeks:
        path = tmp_path / f"day{week}.csv"
        day = FIRST_MONDAY + timedelta(days=7 * week)
        assert (
            runner.invoke(app, ["history", "add", str(path), "--store", str(store)]).exit_code == 0
        )
        scored = pd.read_csv(tmp_path / f"s{week}.csv")
        control = scored[scored["selection_reason"] == "control"]
        pd.DataFrame(
            {"item_id": control["item_id"], "inspected_at": f"{day + timedelta(days=9)}T10:00:00Z",
             "outcome": np.where(np.arange(len(control)) % 3 == 0, "seizure", "no_finding")}
        ).to_csv(tmp_path / f"o{week}.csv", index=False)  # fmt: skip
        result = runner.invoke(
            app, ["outcomes", "add", str(tmp_path / f"o{week}.csv"), "--store", str(store)]
        )
        assert result.exit_code == 0, result.output
    thresholds = tmp_path / "t.yaml"
    thresholds.write_text("monitor:\n  reference_weeks: 2\n  min_items_per_week: 500\n")
    out, js = tmp_path / "monitor.html", tmp_path / "monitor.json"
    args = ["monitor", "--store", str(store), "--out", str(out), "--json", str(js),
            "--thresholds", str(thresholds)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 3, result.output  # alerts raised
    report = json.loads(js.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    week_of = [str(FIRST_MONDAY + timedelta(days=7 * w)) for w, _ in weeks]
    alerted = {a["week"] for a in report["alerts"]}
    assert alerted == set(week_of[4:]), [
        a for a in report["alerts"] if a["week"] not in week_of[4:]
    ]
    subjects = {a["subject"] for a in report["alerts"] if a["kind"] == "feature_psi"}
    assert subjects & {"value_eur", "log_value_per_kg", "gross_weight_kg"} or any(
        "value" in s or "weight" in s for s in subjects
    ), subjects
    table = pd.DataFrame(report["weeks"]).set_index("week")
    stable = table.loc[week_of[2:4], "max_feature_psi"]
    drifted = table.loc[week_of[4:], "max_feature_psi"]
    assert (stable < 0.25).all() and (drifted > 0.25).all()
    # the control hit rate with its Wilson interval, from the joined outcomes
    assert (table["control_items"] > 0).all()
    rate = table["control_hit_rate"]
    assert ((table["control_low"] <= rate) & (rate <= table["control_high"])).all()
    reasons = pd.DataFrame(report["reasons"])
    assert set(reasons["kind"]) == {"selection_reason", "top_reason"}
    html = out.read_text()
    assert "Alerts" in html and "<script" not in html
    # from week 2 on, the stable weeks are the reference: the drifted weeks still alert
    result = runner.invoke(app, [*args, "--since", week_of[2]])
    assert result.exit_code == 3, result.output
    assert json.loads(js.read_text())["reference"]["first_week"] == week_of[2]
    assert {a["week"] for a in json.loads(js.read_text())["alerts"]} == set(week_of[4:])
    bad = runner.invoke(app, [*args, "--since", "2026-13-01"])
    assert bad.exit_code == 1 and "Traceback" not in bad.output


def _log(weeks: int, shift_from: int, referral_from: int) -> pd.DataFrame:
    """A decision log of 1,000 items a week; margins shift and referrals rise in later weeks."""
    rng = np.random.default_rng(0)
    parts = []
    for w in range(weeks):
        n = 1_000
        margin = rng.normal(-6 + (2.0 if w >= shift_from else 0.0), 1.5, n)
        selected = np.zeros(n, dtype=bool)
        selected[:30] = True
        reason = np.where(selected, np.where(np.arange(n) < 25, "model", "control"), None)
        outcome = np.where(selected, np.where(np.arange(n) % 5 == 0, "seizure", "no_finding"), None)
        parts.append(
            pd.DataFrame(
                {
                    "day": str(FIRST_MONDAY + timedelta(days=7 * w + 2)),
                    "margin": margin,
                    "risk_score": 1 / (1 + np.exp(-margin)),
                    "selected": selected,
                    "selection_reason": reason,
                    "outcome": outcome,
                    "data_quality_referral": rng.random(n) < (0.2 if w >= referral_from else 0.05),
                    "top_reason": np.where(selected, "vague description", None),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def test_score_shift_and_referral_rise_raise_their_own_alerts():
    from parcelrisk.monitoring import MonitorSettings, monitor

    settings = MonitorSettings(
        reference_weeks=2, min_items_per_week=500, control_hit_rate_floor=0.9
    )
    report = monitor(_log(5, shift_from=3, referral_from=4), pd.DataFrame(), settings)
    kinds = {(a["week"], a["kind"]) for a in report.alerts}
    week = [str(FIRST_MONDAY + timedelta(days=7 * w)) for w in range(5)]
    assert {k for w, k in kinds if w == week[2]} == {"control_hit_rate"}  # the floor is set high
    assert {k for w, k in kinds if w == week[3]} == {"score_psi", "control_hit_rate"}
    assert {k for w, k in kinds if w == week[4]} == {
        "score_psi",
        "referral_rate",
        "control_hit_rate",
    }
    assert not {w for w, _ in kinds} & set(week[:2])  # no alerts in the reference period
    json.dumps(report.as_dict(), allow_nan=False)
    quiet = monitor(_log(5, shift_from=99, referral_from=99), pd.DataFrame(), MonitorSettings())
    assert quiet.alerts == []
