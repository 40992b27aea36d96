"""Scoring: one path for CLI and library, input order kept, reasons consistent with contributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import parcelrisk
from parcelrisk.cli import app
from parcelrisk.explain import group_contributions
from parcelrisk.scoring import ScoredSchema, load_templates_for

runner = CliRunner()
FIXED = "2026-03-01T06:00:00Z"


@pytest.fixture(scope="module")
def model(model_dir):
    return parcelrisk.load_model(model_dir)


@pytest.fixture(scope="module")
def scored(model, today):
    return model.score(today, budget=0.02, scored_at=FIXED)


def test_one_row_per_valid_item_in_input_order(scored, today):
    out = scored.scored
    ScoredSchema.validate(out)
    assert out["item_id"].tolist() == today["item_id"].astype(str).tolist()
    assert len(scored.rejects) == 0
    assert sorted(out["risk_rank"]) == list(range(1, len(out) + 1))


def test_bad_rows_are_returned_not_raised(model, today):
    broken = today.head(50).copy()
    broken.loc[broken.index[3], "gross_weight_kg"] = -1.0
    result = model.score(broken, capacity=5, scored_at=FIXED)
    assert len(result.scored) == 49 and len(result.rejects) == 1
    assert (
        result.rejects.iloc[0]["row"] == 4 and result.rejects.iloc[0]["field"] == "gross_weight_kg"
    )


def test_selection_fills_capacity_with_control_share_and_propensities(model, today):
    out = model.score(today, capacity=200, scored_at=FIXED, control_share=0.1).scored
    sel = out[out["selected"]]
    assert len(sel) == 200
    assert (sel["selection_reason"] == "control").sum() == 20
    assert (sel.loc[sel["selection_reason"] == "model", "selection_propensity"] == 1.0).all()
    p_control = 20 / (len(out) - 180)
    assert out.loc[~out["selected"], "selection_propensity"].round(8).eq(round(p_control, 8)).all()
    model_picks = sel[sel["selection_reason"] == "model"]
    assert model_picks["risk_rank"].max() == 180


def test_top_reason_is_the_top_positive_grouped_contribution(model, scored, today):
    raw = model._model  # the pipeline behind the API
    valid = parcelrisk.validate_frame(today).valid
    selected = scored.scored[scored.scored["selected"]]
    features = raw.features.transform(valid).loc[selected.index]
    grouped = group_contributions(raw.contributions(features), load_templates_for(raw))
    long = scored.explanations
    for row in selected.index[:25]:
        top_group = grouped.loc[row].idxmax()
        first = long[(long["row"] == row) & (long["rank"] == 1)].iloc[0]
        if first["reason"] == "watchlist":
            continue
        assert first["reason"] == top_group
        assert first["text"] == selected.at[row, "reason_1"]
    assert (long.loc[long["rank"] > 0, "contribution"].dropna() > 0).all()
    assert (long.loc[long["rank"] < 0, "contribution"] < 0).all()


def test_cli_and_library_give_identical_output(model, model_dir, scored, today, tmp_path):
    path = tmp_path / "today.csv"
    today.to_csv(path, index=False)
    out = tmp_path / "scored.csv"
    result = runner.invoke(
        app,
        ["score", str(path), "--out", str(out), "--model", str(model_dir), "--scored-at", FIXED],
    )
    assert result.exit_code == 0, result.output
    cli = pd.read_csv(out, keep_default_na=False)
    lib = scored.scored.reset_index(drop=True)
    assert cli["item_id"].astype(str).tolist() == lib["item_id"].tolist()
    assert (cli["risk_score"] - lib["risk_score"]).abs().max() < 1e-9
    assert cli["selected"].tolist() == lib["selected"].tolist()
    again = tmp_path / "again.csv"
    runner.invoke(
        app,
        ["score", str(path), "--out", str(again), "--model", str(model_dir), "--scored-at", FIXED],
    )
    assert again.read_bytes() == out.read_bytes()


def test_cli_partial_exit_code_and_rejects_file(model_dir, today, tmp_path):
    bad = today.head(100).copy()
    bad.loc[bad.index[10], "declared_at"] = pd.NaT
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    out = tmp_path / "s.csv"
    result = runner.invoke(app, ["score", str(path), "--out", str(out), "--model", str(model_dir)])
    assert result.exit_code == 2, result.output
    rejects = pd.read_csv(tmp_path / "s.rejects.csv")
    assert rejects["row"].tolist() == [11] and rejects["field"].tolist() == ["declared_at"]
    assert len(pd.read_csv(out)) == 99


def test_cli_explain_prints_score_and_reasons_of_one_item(
    model, model_dir, scored, today, tmp_path
):
    path = tmp_path / "today.csv"
    today.to_csv(path, index=False)
    top = scored.scored.sort_values("risk_rank").iloc[0]
    result = runner.invoke(
        app, ["explain", str(path), "--item", top["item_id"], "--model", str(model_dir)]
    )
    assert result.exit_code == 0, result.output
    assert top["item_id"] in result.output and f"{top['risk_score']:.3f}" in result.output
    first = scored.explanations[
        (scored.explanations["item_id"] == top["item_id"]) & (scored.explanations["rank"] == 1)
    ]
    assert first.iloc[0]["reason"] in result.output
    missing = runner.invoke(
        app, ["explain", str(path), "--item", "NOPE", "--model", str(model_dir)]
    )
    assert missing.exit_code == 1 and "Traceback" not in missing.output


def test_explanations_worded_in_slices_equal_one_pass(model, today, monkeypatch):
    from parcelrisk import scoring

    items = today.head(400)
    whole = model.score(items, explain="all", scored_at=FIXED)
    monkeypatch.setattr(scoring, "EXPLAIN_SLICE_ROWS", 7)
    sliced = model.score(items, explain="all", scored_at=FIXED)
    assert whole.explanations["row"].nunique() > 7 * 10
    pd.testing.assert_frame_equal(sliced.explanations, whole.explanations)
    pd.testing.assert_frame_equal(sliced.scored, whole.scored)


def _reference_select(risk, item_ids, watchlisted, options):
    """The selection written plainly with labelled pandas objects (the original implementation)."""
    from parcelrisk.scoring import _uniform

    n, slots = len(risk), options.slots(len(risk))
    reason = pd.Series(pd.NA, index=risk.index, dtype="object")
    order = pd.DataFrame({"r": -risk.to_numpy(), "id": item_ids.astype("str").to_numpy()})
    ranked = risk.index[order.sort_values(["r", "id"], kind="stable").index.to_numpy()]
    rank = pd.Series(np.arange(1, n + 1), index=ranked).reindex(risk.index)
    taken = 0
    if options.force_watchlist:
        forced = ranked[watchlisted.reindex(ranked).to_numpy(dtype=bool)][:slots]
        reason[forced] = "watchlist"
        taken = len(forced)
    control_slots = min(int(round(options.control_share * slots)), max(slots - taken, 0))
    remaining = ranked[reason.reindex(ranked).isna().to_numpy()]
    reason[remaining[: slots - taken - control_slots]] = "model"
    eligible = reason.isna()
    draw = pd.Series(_uniform(item_ids, options.seed), index=risk.index)[eligible]
    reason[draw.sort_values(kind="stable").index[:control_slots]] = "control"
    p_control = control_slots / int(eligible.sum()) if eligible.any() else 0.0
    propensity = np.where(reason.isin(["model", "watchlist"]), 1.0, p_control)
    return reason, pd.Series(propensity, index=risk.index), rank


def test_selection_by_position_equals_the_plain_labelled_version():
    from parcelrisk.scoring import ScoreOptions, select

    rng = np.random.default_rng(7)
    for _ in range(30):
        n = int(rng.integers(1, 2000))
        index = pd.Index(rng.permutation(n) * 3 + 7)
        risk = pd.Series(np.round(rng.normal(size=n), int(rng.integers(0, 3))), index=index)
        ids = pd.Series([f"RR{x:09d}DE" for x in rng.integers(0, 10**9, n)], index=index)
        watch = pd.Series(rng.random(n) < rng.choice([0, 0.01, 0.3]), index=index)
        options = ScoreOptions(
            budget=float(rng.choice([0.0, 0.02, 0.1, 1.0])),
            control_share=float(rng.choice([0.0, 0.05, 0.5, 1.0])),
            seed=int(rng.integers(0, 5)),
            force_watchlist=bool(rng.integers(0, 2)),
        )
        got, expected = (
            select(risk, ids, watch, options),
            _reference_select(risk, ids, watch, options),
        )
        for a, b in zip(got, expected, strict=True):
            pd.testing.assert_series_equal(a, b, check_exact=True)
