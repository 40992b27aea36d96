"""Evaluation at inspection capacity, on the populations a customs manager can trust.

* **inspected**: every inspected item with its outcome (biased by the old policy);
* **random control**: the random control sample only (unbiased; Wilson interval);
* **ground truth** (synthetic data only): every item, inspected or not.

Precision at capacity c = share of seizures among the top c of *all* items of
the period that the population has labels for; recall = share of the
population's positives found in that top c.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

__all__ = ["capacity_table", "summary_metrics", "wilson_interval", "calibration_table"]


def wilson_interval(hits: float, n: float, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a proportion.

    >>> [round(v, 3) for v in wilson_interval(5, 100)]
    [0.022, 0.112]
    """
    if n <= 0:
        return (float("nan"), float("nan"))
    p = hits / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def capacity_table(
    scores: pd.Series,
    positive: pd.Series,
    labelled: pd.Series,
    capacities: list[float],
    population: str,
    method: str,
) -> pd.DataFrame:
    """Precision, recall and lift when the top ``c`` share of all items is inspected.

    ``labelled`` marks the items whose outcome this population knows; precision is
    computed over the labelled items among the selected ones.
    """
    order = np.argsort(-scores.to_numpy(), kind="stable")
    pos = positive.to_numpy()[order].astype(float)
    lab = labelled.to_numpy()[order].astype(bool)
    base = pos[lab].mean() if lab.any() else float("nan")
    rows = []
    for c in capacities:
        k = max(1, int(round(c * len(order))))
        sel_lab = lab[:k]
        hits = float(pos[:k][sel_lab].sum())
        n = int(sel_lab.sum())
        precision = hits / n if n else float("nan")
        low, high = wilson_interval(hits, n)
        total = float(pos[lab].sum())
        rows.append(
            {
                "population": population,
                "method": method,
                "capacity": c,
                "selected": k,
                "labelled_selected": n,
                "hits": hits,
                "precision": precision,
                "precision_ci_low": low,
                "precision_ci_high": high,
                "recall": hits / total if total else float("nan"),
                "lift": precision / base
                if base and not math.isnan(base) and base > 0
                else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def summary_metrics(scores: pd.Series, positive: pd.Series) -> dict[str, float]:
    """Threshold-free metrics over labelled items: PR-AUC, ROC-AUC, Brier."""
    y = positive.to_numpy().astype(int)
    s = scores.to_numpy().astype(float)
    if y.min(initial=1) == y.max(initial=0):
        return {"pr_auc": float("nan"), "roc_auc": float("nan"), "brier": float("nan")}
    return {
        "pr_auc": float(average_precision_score(y, s)),
        "roc_auc": float(roc_auc_score(y, s)),
        "brier": float(brier_score_loss(y, np.clip(s, 0, 1))),
    }


def calibration_table(scores: pd.Series, positive: pd.Series, bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed rate per score decile (over labelled items)."""
    frame = pd.DataFrame({"score": scores.to_numpy(), "y": positive.to_numpy().astype(float)})
    frame["bin"] = pd.qcut(
        frame["score"].rank(method="first"), q=min(bins, len(frame)), labels=False
    )
    out = frame.groupby("bin").agg(
        mean_score=("score", "mean"), observed=("y", "mean"), items=("y", "size")
    )
    return out.reset_index(drop=True)
