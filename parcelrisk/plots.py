"""Evaluation plots as PNG files (matplotlib, headless): capacity curves, calibration, importance, SHAP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["evaluation_plots", "reliability_plot"]


def _figure():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def evaluation_plots(
    result: Any, out_dir: str | Path, sample: int = 2000, seed: int = 0
) -> dict[str, Path]:
    """Write the four plots of a training result; return {name: path}."""
    from parcelrisk.explain import group_contributions, load_templates
    from parcelrisk.model import labels_of

    plt = _figure()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    ev = result.evaluation

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for (population, method), part in ev.groupby(["population", "method"]):
        style = "-" if method == "model" else "--"
        axes[0].plot(
            part["capacity"] * 100,
            part["precision"],
            style,
            marker="o",
            label=f"{method} / {population}",
        )
        axes[1].plot(
            part["capacity"] * 100,
            part["recall"],
            style,
            marker="o",
            label=f"{method} / {population}",
        )
    axes[0].set(
        xlabel="capacity (% of items inspected)",
        ylabel="precision (hit rate)",
        title="Precision at capacity",
    )
    axes[1].set(
        xlabel="capacity (% of items inspected)", ylabel="recall", title="Recall at capacity"
    )
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    paths["precision_recall_at_capacity"] = out / "precision_recall_at_capacity.png"
    fig.savefig(paths["precision_recall_at_capacity"], dpi=110)
    plt.close(fig)

    test = result.test_frame
    inspected, seized = labels_of(test)
    scores = test.loc[inspected, "risk_score"]
    y = seized[inspected]
    fig, ax = plt.subplots(figsize=(5, 5))
    if len(scores) >= 10:
        bins = pd.qcut(scores.rank(method="first"), q=min(10, len(scores)), labels=False)
        table = pd.DataFrame({"s": scores, "y": y, "b": bins}).groupby("b").mean()
        ax.plot(table["s"], table["y"], marker="o", label="inspected items, test days")
    ax.plot([0, 1], [0, 1], "k:", label="perfect calibration")
    ax.set(xlabel="predicted probability", ylabel="observed seizure rate", title="Calibration")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths["calibration"] = out / "calibration.png"
    fig.savefig(paths["calibration"], dpi=110)
    plt.close(fig)

    paths["reliability_control"] = reliability_plot(test, out / "reliability_control.png")

    booster = result.model.booster
    gain = (
        pd.Series(booster.feature_importance("gain"), index=booster.feature_name())
        .sort_values()
        .tail(20)
    )
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.barh(gain.index, gain.to_numpy())
    ax.set(xlabel="total gain", title="Feature importance (top 20)")
    fig.tight_layout()
    paths["feature_importance"] = out / "feature_importance.png"
    fig.savefig(paths["feature_importance"], dpi=110)
    plt.close(fig)

    rows = test.sample(min(sample, len(test)), random_state=seed) if len(test) else test
    features = result.model.features.transform(test).loc[rows.index]
    contrib = result.model.contributions(features)
    templates = load_templates().with_own_columns(result.model.features.own_columns_)
    grouped = group_contributions(contrib, templates)
    order = grouped.abs().mean().sort_values().index[-15:]
    fig, ax = plt.subplots(figsize=(7, 6))
    rng = np.random.default_rng(seed)
    for i, name in enumerate(order):
        values = grouped[name].to_numpy()
        ax.scatter(values, i + rng.uniform(-0.3, 0.3, len(values)), s=4, alpha=0.4)
    ax.set_yticks(range(len(order)), list(order))
    ax.axvline(0, color="k", lw=0.5)
    ax.set(
        xlabel="SHAP contribution (log-odds)", title="SHAP beeswarm of reason groups (test days)"
    )
    fig.tight_layout()
    paths["shap_beeswarm"] = out / "shap_beeswarm.png"
    fig.savefig(paths["shap_beeswarm"], dpi=110)
    plt.close(fig)
    return paths


def reliability_plot(test: pd.DataFrame, path: Path, bins: int = 10) -> Path:
    """Reliability diagram of the test days: the random control sample (unbiased), and every
    inspected item weighted by 1/propensity, with 95% intervals and the ECE in the legend."""
    from parcelrisk.calibration import expected_calibration_error, reliability_table
    from parcelrisk.model import labels_of

    plt = _figure()
    inspected, seized = labels_of(test)
    control = inspected & test["selection_source"].eq("random").fillna(False).astype(bool)
    weight = test["ipw_weight"] if "ipw_weight" in test else None
    fig, ax = plt.subplots(figsize=(5.5, 5))
    top = 0.0
    for label, rows, w in (
        ("random control sample", control, None),
        ("inspected, weighted 1/propensity", inspected, weight),
    ):
        if not rows.any():
            continue
        ww = None if w is None else w[rows]
        table = reliability_table(test.loc[rows, "risk_score"], seized[rows], ww, bins)
        ece = expected_calibration_error(test.loc[rows, "risk_score"], seized[rows], ww, bins)
        ax.errorbar(
            table["mean_score"],
            table["observed"],
            # clipped: the Wilson bound can sit a rounding error past an observed rate of 0 or 1
            yerr=[
                (table["observed"] - table["low"]).clip(lower=0),
                (table["high"] - table["observed"]).clip(lower=0),
            ],
            marker="o",
            capsize=2,
            label=f"{label} (n={int(rows.sum())}, ECE {ece:.4f})",
        )
        top = max(top, float(table["mean_score"].max()), float(table["observed"].max()))
    top = min(1.0, max(top * 1.1, 0.01))
    ax.plot([0, top], [0, top], "k:", label="perfect calibration")
    ax.set(
        xlabel="mean risk_score in bin",
        ylabel="observed seizure rate",
        title="Reliability (test days, 10 equal-count bins)",
        xlim=(0, top),
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
