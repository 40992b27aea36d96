"""Selective-labels comparisons behind features/model_params.yaml (issue 14): weighting and calibration.

    python benchmarks/learning_compare.py weighting     # legacy vs IPW at several clips, 3 seeds
    python benchmarks/learning_compare.py calibration   # beta vs Platt vs isotonic steps, 2 seeds

Each seed trains on a 60,000-item, 35-day generated manifest (about 15 s a model on 2 cores).
Figures go to stdout; benchmarks/CALIBRATION.md records them.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import log_loss

from parcelrisk.calibration import Calibrator, _logistic, expected_calibration_error
from parcelrisk.model import labels_of, load_params, time_split
from parcelrisk.schema import TRUTH_COLUMNS
from parcelrisk.scoring import round_significant
from parcelrisk.synthetic import generate_manifest
from parcelrisk.train import selection_weights, train_model
from parcelrisk.validate import validate_frame


def weighting(seeds: tuple[int, ...] = (5, 21, 33)) -> pd.DataFrame:
    """Ground-truth precision and recall of the test days' top items, per weighting."""
    configs = {
        "legacy": {"weighting": "legacy"},
        "ipw, clip 5": {"weighting": "ipw", "ipw_max_weight": 5},
        "ipw, clip 20": {"weighting": "ipw", "ipw_max_weight": 20},
        "ipw, clip 1000 (unclipped)": {"weighting": "ipw", "ipw_max_weight": 1000},
    }
    rows = []
    for seed in seeds:
        valid = validate_frame(generate_manifest(60_000, seed=seed, days=35)).valid
        for name, extra in configs.items():
            result = train_model(valid, params=load_params() | extra)
            ev = result.evaluation
            truth = ev[(ev.population == "ground_truth") & (ev.method == "model")]
            truth = truth.set_index("capacity")
            rows.append(
                {
                    "seed": seed,
                    "weighting": name,
                    "precision_at_1pct": truth.loc[0.01, "precision"],
                    "precision_at_2pct": truth.loc[0.02, "precision"],
                    "recall_at_5pct": truth.loc[0.05, "recall"],
                }
            )
            print(rows[-1], flush=True)
    return pd.DataFrame(rows).groupby("weighting").mean(numeric_only=True).drop(columns="seed")


def calibration(seeds: tuple[int, ...] = (5, 21)) -> pd.DataFrame:
    """ECE and log-loss on the control sample of 14 unseen days; plateaus at the top 2%."""
    rows = []
    cfg = load_params()
    for seed in seeds:
        valid = validate_frame(
            generate_manifest(60_000, seed=seed, days=35).drop(columns=TRUTH_COLUMNS)
        ).valid
        model = train_model(valid).model
        margin = model.raw_margin(model.features.transform(valid))
        inspected, seized = labels_of(valid)
        part = time_split(valid["declared_at"], cfg["calibrate_share"], cfg["test_share"])
        cal = (part.assign(valid["declared_at"]).eq("calibrate") & inspected).to_numpy()
        w = selection_weights(valid, inspected, seized, cfg).calibrate
        assert w is not None
        y = seized.to_numpy()
        start = valid["declared_at"].max().normalize() + pd.Timedelta(days=1)
        new = validate_frame(
            generate_manifest(60_000, seed=seed + 1000, start=str(start.date()), days=14)
        ).valid
        new_margin = model.raw_margin(model.features.transform(new.drop(columns=TRUTH_COLUMNS)))
        new_inspected, new_seized = labels_of(new)
        control = (new_inspected & new["selection_source"].eq("random")).to_numpy()
        new_y = new_seized.to_numpy()
        raw = 1 / (1 + np.exp(-margin[cal]))
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1)
        iso.fit(raw, y[cal], sample_weight=w[cal])
        platt = _logistic(margin[cal][:, None], y[cal], w[cal])
        assert platt is not None
        candidates = {
            "beta (chosen)": Calibrator.fit(margin[cal], y[cal], w[cal]),
            "platt": Calibrator("beta", platt[0][0], platt[0][0], platt[1]),
            "isotonic steps (before)": lambda m, iso=iso: iso.predict(1 / (1 + np.exp(-m))),
        }
        top = np.argsort(-new_margin)[: int(0.02 * len(new_margin))]
        for name, calibrate in candidates.items():
            p = round_significant(calibrate(new_margin))
            scores = pd.Series(p)
            same_score = scores.isin(set(p[top]))
            same_margin = pd.Series(new_margin).isin(set(new_margin[top]))
            rows.append(
                {
                    "seed": seed,
                    "calibrator": name,
                    "ece_control": expected_calibration_error(p[control], new_y[control]),
                    "logloss_control": log_loss(
                        new_y[control], np.clip(p[control], 1e-9, 1 - 1e-9), labels=[0, 1]
                    ),
                    "control_items": int(control.sum()),
                    "control_seizures": int(new_y[control].sum()),
                    "distinct_scores": int(scores.nunique()),
                    "share_level_with_a_top_2pct_item": float((same_score & ~same_margin).mean()),
                }
            )
            print(rows[-1], flush=True)
    return pd.DataFrame(rows).groupby("calibrator").mean(numeric_only=True).drop(columns="seed")


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "weighting"
    print((weighting() if which == "weighting" else calibration()).to_string())
