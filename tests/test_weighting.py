"""Training weights that correct for selective labels: IPW (clipped, self-normalised) and legacy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from parcelrisk.errors import ConfigError
from parcelrisk.model import labels_of, load_params
from parcelrisk.store import HistoryStore
from parcelrisk.train import selection_propensities, selection_weights


def _frame() -> pd.DataFrame:
    """Two days: rule picks, random-control picks and uninspected items."""
    source = (["rule"] * 3 + ["random"] * 2 + [None] * 15) * 2
    inspected = [s is not None for s in source]
    outcome = [
        ("seizure" if i % 5 == 0 else "no_finding") if ins else None
        for i, ins in enumerate(inspected)
    ]
    return pd.DataFrame(
        {
            "item_id": [f"IT{i:04d}" for i in range(40)],
            "declared_at": pd.to_datetime(["2026-03-02"] * 20 + ["2026-03-03"] * 20, utc=True),
            "inspected": inspected,
            "selection_source": source,
            "outcome": outcome,
        }
    )


CFG = load_params() | {"positive_weight": 5.0, "control_sample_weight": 5.0}


def test_ipw_from_the_propensity_column_is_clipped_and_normalised():
    frame = _frame()
    p = np.where(
        frame["selection_source"].eq("random"), 0.01, np.where(frame["inspected"], 0.5, 0.02)
    )
    frame["selection_propensity"] = p
    inspected, seized = labels_of(frame)
    w = selection_weights(
        frame, inspected, seized, CFG | {"weighting": "ipw", "ipw_max_weight": 20}
    )
    raw = np.minimum(1 / p, 20.0)  # control: 100 -> 20; rule picks: 2
    assert np.allclose(w.ipw, raw)
    assert w.calibrate is not None
    assert w.calibrate[inspected.to_numpy()].mean() == pytest.approx(1.0)
    expected = raw / raw[inspected.to_numpy()].mean() * np.where(seized.eq(1), 5.0, 1.0)
    assert np.allclose(w.train, expected)
    assert w.summary["propensity_source"] == {"column": int(inspected.sum())}
    assert w.summary["clipped_rows"] == int((frame["selection_source"] == "random").sum())


def test_missing_propensities_fall_back_to_the_days_control_share():
    frame = _frame()
    inspected, seized = labels_of(frame)
    p, source = selection_propensities(frame, inspected)
    control = frame["selection_source"].eq("random")
    # 2 control items among the 17 items a day that no other source inspected
    assert np.allclose(p[control], 2 / 17)
    assert (p[inspected & ~control] == 1).all()
    assert set(source[inspected]) == {"default"}


def test_propensities_come_from_the_store_decision_log_when_the_frame_lacks_them(tmp_path):
    frame = _frame()
    inspected, seized = labels_of(frame)
    items = frame.assign(
        gross_weight_kg=1.0, sender_country="CN", recipient_country="DE", description="x"
    )
    decisions = pd.DataFrame(
        {
            "item_id": frame["item_id"],
            "model_version": "pr-test",
            "scored_at": "2026-03-02T06:00:00Z",
            "risk_score": 0.01,
            "selected": inspected,
            "selection_reason": np.where(frame["selection_source"].eq("random"), "control", None),
            "selection_propensity": np.where(frame["selection_source"].eq("random"), 0.04, 1.0),
        }
    )
    with HistoryStore.open(tmp_path / "h.duckdb", secret=b"k") as store:
        store.add_manifest(items.drop(columns=["outcome"]))
        store.add_decisions(decisions.iloc[:30])  # the last ten items have no decision
        p, source = selection_propensities(frame, inspected, store)
    control = frame["selection_source"].eq("random")
    logged = frame.index < 30
    assert np.allclose(p[control & logged], 0.04)
    assert (source[logged] == "store").all() and (source[~logged] == "default").all()
    assert np.allclose(p[control & ~logged], 2 / 17)


def test_legacy_weights_are_the_former_ones_and_the_scheme_is_checked():
    frame = _frame()
    inspected, seized = labels_of(frame)
    w = selection_weights(frame, inspected, seized, CFG | {"weighting": "legacy"})
    control = frame["selection_source"].eq("random").to_numpy()
    expected = np.where(control, 5.0, 1.0) * np.where(seized.eq(1), 5.0, 1.0)
    assert np.allclose(w.train, expected) and w.calibrate is None
    assert w.summary["scheme"] == "legacy"
    with pytest.raises(ConfigError, match="weighting"):
        selection_weights(frame, inspected, seized, CFG | {"weighting": "magic"})
    with pytest.raises(ConfigError, match="ipw_max_weight"):
        selection_weights(frame, inspected, seized, CFG | {"weighting": "ipw", "ipw_max_weight": 0})


def test_default_parameters_use_ipw():
    assert load_params()["weighting"] == "ipw"
    assert load_params()["ipw_max_weight"] >= 1
