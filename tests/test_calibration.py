"""Calibration with resolution: monotone, strict JSON, calibrated on unseen days, no plateaus."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from parcelrisk.calibration import Calibrator, expected_calibration_error, reliability_table
from parcelrisk.model import labels_of, load_model
from parcelrisk.schema import TRUTH_COLUMNS
from parcelrisk.scoring import ScoreOptions, score_frame
from parcelrisk.synthetic import generate_manifest
from parcelrisk.validate import validate_frame


def _strict(text: str) -> object:
    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_beta_calibration_is_strictly_increasing_and_recovers_a_known_map():
    rng = np.random.default_rng(3)
    margin = rng.normal(-4, 2, 200_000)
    true_p = 1 / (1 + np.exp(-(0.8 * margin - 1.0)))  # a Platt map the fit should find
    y = (rng.random(len(margin)) < true_p).astype(int)
    cal = Calibrator.fit(margin, y)
    grid = np.linspace(-12, 6, 2001)
    p = cal(grid)
    assert np.all(np.diff(p) > 0)  # distinct margins, distinct scores
    truth = 1 / (1 + np.exp(-(0.8 * grid - 1.0)))
    assert np.max(np.abs(p - truth)) < 0.03
    assert expected_calibration_error(cal(margin), y) < 0.005


def test_calibrator_is_stored_as_strict_json_and_old_isotonic_maps_still_load():
    cal = Calibrator.fit(np.array([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0]), np.array([0, 0, 1, 0, 1, 1]))
    data = _strict(json.dumps(cal.to_dict(), allow_nan=False))
    again = Calibrator.from_dict(data)  # type: ignore[arg-type]
    assert np.array_equal(again(np.array([-1.5, 0.5])), cal(np.array([-1.5, 0.5])))
    # a model folder written before beta calibration: {"x": raw probabilities, "y": isotonic values}
    old = Calibrator.from_dict({"x": [0.1, 0.5, 0.9], "y": [0.0, 0.2, 0.8]})
    raw = np.array([0.1, 0.3, 0.9])
    assert np.allclose(
        old(np.log(raw / (1 - raw))), np.interp(raw, [0.1, 0.5, 0.9], [0.0, 0.2, 0.8])
    )
    # one class only: no information, the booster's own probability
    flat = Calibrator.fit(np.array([-1.0, 0.0, 1.0]), np.array([0, 0, 0]))
    assert np.allclose(flat(np.array([0.0])), 0.5)


def test_ece_and_reliability_table_weighting():
    score = np.array([0.1] * 50 + [0.5] * 50)
    y = np.array([0] * 45 + [1] * 5 + [0] * 25 + [1] * 25)
    assert expected_calibration_error(score, y, bins=2) == pytest.approx(0.0)
    table = reliability_table(score, y, bins=2)
    assert table["items"].tolist() == [50, 50] and (table["low"] <= table["observed"]).all()
    # weights: the upper half counts 3x, so its (zero) error weighs more; a miscalibrated half shows
    y_bad = np.array([0] * 50 + [1] * 50)
    w = np.array([1.0] * 50 + [3.0] * 50)
    assert expected_calibration_error(score, y_bad, w, bins=2) == pytest.approx(
        0.25 * 0.1 + 0.75 * 0.5
    )


def test_trained_model_records_calibration_and_weighting_as_strict_json(model_dir):
    meta = _strict((model_dir / "metadata.json").read_text().replace("NaN", "null"))
    pipeline = _strict((model_dir / "pipeline.json").read_text())
    assert pipeline["calibrator"]["method"] == "beta"  # type: ignore[index]
    assert meta["weighting"]["scheme"] == "ipw"  # type: ignore[index]
    assert meta["params"]["weighting"] == "ipw"  # type: ignore[index]
    cal = meta["calibration"]  # type: ignore[index]
    assert cal["control_items"] > 0 and 0 <= cal["ece_control"] < 0.02
    # the fields this change adds never hold NaN (the evaluation table's NaN predate it)
    for key in ("calibration", "weighting", "monitor_bins"):
        json.dumps(meta[key], allow_nan=False)  # type: ignore[index]


@pytest.fixture(scope="module")
def unseen(training_manifest) -> pd.DataFrame:
    """Two labelled weeks after the training period, from a seed the model never saw."""
    last = training_manifest["declared_at"].max().normalize() + pd.Timedelta(days=1)
    return validate_frame(
        generate_manifest(40_000, seed=4242, start=str(last.date()), days=14)
    ).valid


def test_ece_on_the_control_sample_of_unseen_days_is_below_two_percent(model_dir, unseen):
    model = load_model(model_dir)
    features = model.features.transform(unseen.drop(columns=TRUTH_COLUMNS))
    risk = model.calibrated(model.raw_margin(features))
    inspected, seized = labels_of(unseen)
    control = (inspected & unseen["selection_source"].eq("random")).to_numpy()
    assert control.sum() >= 200
    ece = expected_calibration_error(risk[control], seized.to_numpy()[control])
    assert ece < 0.02, ece
    # and not trivially: the scores are not all zero, and they rank (the top 2% hold the finds)
    assert risk.mean() > 1e-4
    truth = unseen["truth_illicit"].to_numpy()
    top = np.argsort(-risk)[: int(0.02 * len(risk))]
    assert truth[top].mean() > 5 * truth.mean()


def test_selected_items_do_not_share_their_score_with_other_items(model_dir, today):
    model = load_model(model_dir)
    result = score_frame(validate_frame(today).valid, model, ScoreOptions(budget=0.02))
    scored, margin = result.scored, result.margins
    assert margin is not None
    selected = scored["selected"].to_numpy()
    score_of_selected = set(scored.loc[selected, "risk_score"])
    margin_of_selected = set(margin[selected])
    same_score = scored["risk_score"].isin(score_of_selected).to_numpy()
    same_margin = margin.isin(margin_of_selected).to_numpy()
    share = float((same_score & ~same_margin).mean())
    assert share <= 0.01, share
    assert scored["risk_score"].nunique() > 0.9 * len(scored)
