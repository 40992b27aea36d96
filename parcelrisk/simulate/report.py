"""Weekly figures of a simulation, truth beside the unit's own estimates, and the plots.

Truth columns (what the unit never sees), per policy, seed and week:

* ``inspections``, ``seizures``; ``illicit`` items in the traffic and
  ``illicit_caught`` (seized among them);
* ``precision_truth``: share of the selected items that are illicit (precision
  at capacity on truth);
* ``recall_truth``: share of illicit items caught; ``leakage_items_truth``:
  illicit items let through (not caught);
* ``hit_rate_truth``: share of selected items whose inspection records a seizure;
* ``leakage_truth``: share of the items whose inspection *would* record a
  seizure (``truth_found_if_inspected``) that the selection did not select;
  ``recall_finds_truth`` = 1 - ``leakage_truth``.

Next to the last three, the unit's estimate from its own decision log (control
sample and propensities, outcomes once known) with the 95% interval and the
number of items behind it, from :mod:`parcelrisk.estimation`: ``hit_rate_est``
(all selected items), ``leakage_est``, ``recall_est`` (columns ``*_low``,
``*_high``, ``*_n``). Leakage and recall of finds are what a unit can estimate:
contraband no inspection would find is invisible to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from parcelrisk import estimation

__all__ = ["weekly_table", "coverage", "off_policy_checks", "plot_all", "WEEKLY_COLUMNS"]

WEEKLY_COLUMNS = (
    "policy",
    "seed",
    "week",
    "phase",
    "items",
    "inspections",
    "seizures",
    "illicit",
    "illicit_caught",
    "precision_truth",
    "recall_truth",
    "leakage_items_truth",
    "hit_rate_truth",
    "hit_rate_est",
    "hit_rate_low",
    "hit_rate_high",
    "hit_rate_n",
    "leakage_truth",
    "leakage_est",
    "leakage_low",
    "leakage_high",
    "leakage_n",
    "recall_finds_truth",
    "recall_est",
    "recall_low",
    "recall_high",
    "recall_n",
    "control_share",
    "model_version",
)


def _estimates(log: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    named: dict[str, Callable[[pd.DataFrame], Any]] = {
        "hit_rate": lambda g: estimation.hit_rate(g, reason=None),
        "leakage": estimation.leakage,
        "recall": estimation.recall,
    }
    for name, func in named.items():
        est = func(log)
        out |= {
            f"{name}_est": est.value,
            f"{name}_low": est.low,
            f"{name}_high": est.high,
            f"{name}_n": est.n,
        }
    return out


def _week(log: pd.DataFrame, burn_in_days: int) -> dict[str, Any]:
    selected = log["selected"].to_numpy(dtype=bool)
    illicit = log["truth_illicit"].to_numpy(dtype=bool)
    finds = log["truth_found_if_inspected"].to_numpy(dtype=bool)
    seized = log["outcome"].eq("seizure").fillna(False).to_numpy(dtype=bool)
    n_sel = int(selected.sum())
    caught = int((illicit & seized).sum())
    n_finds = int(finds.sum())
    leak = float((finds & ~selected).sum() / n_finds) if n_finds else math.nan
    return {
        "phase": "burn_in" if int(log["day_index"].min()) < burn_in_days else "live",
        "items": len(log),
        "inspections": n_sel,
        "seizures": int(seized.sum()),
        "illicit": int(illicit.sum()),
        "illicit_caught": caught,
        "precision_truth": float(illicit[selected].mean()) if n_sel else math.nan,
        "recall_truth": caught / illicit.sum() if illicit.any() else math.nan,
        "leakage_items_truth": int(illicit.sum()) - caught,
        "hit_rate_truth": float(finds[selected].mean()) if n_sel else math.nan,
        "leakage_truth": leak,
        "recall_finds_truth": 1 - leak,
        "control_share": float(log["control_share"].mean()),
        "model_version": str(log["model_version"].iloc[-1]),
        **_estimates(log),
    }


def weekly_table(decisions: pd.DataFrame, burn_in_days: int) -> pd.DataFrame:
    """One row per policy, seed and week (weeks counted from the first day, 0-based)."""
    rows = []
    week = decisions["day_index"] // 7
    for (policy, seed, w), log in decisions.groupby(
        [decisions["policy"], decisions["seed"], week], sort=False
    ):
        rows.append(
            {"policy": policy, "seed": int(seed), "week": int(w)} | _week(log, burn_in_days)
        )
    table = pd.DataFrame(rows, columns=list(WEEKLY_COLUMNS))
    return table.astype({"seed": "int64", "week": "int64"})


def coverage(weekly: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per policy: share of live weeks whose truth lies in the estimate's 95% interval."""
    out: dict[str, dict[str, float]] = {}
    live = weekly[weekly["phase"].eq("live") | ~weekly["phase"].eq("live").any()]
    for policy, rows in live.groupby("policy", sort=False):
        figures: dict[str, float] = {"weeks": float(len(rows))}
        for name, truth in (
            ("hit_rate", "hit_rate_truth"),
            ("leakage", "leakage_truth"),
            ("recall", "recall_finds_truth"),
        ):
            ok = rows[truth].between(rows[f"{name}_low"], rows[f"{name}_high"])
            known = rows[truth].notna() & rows[f"{name}_low"].notna()
            figures[f"{name}_coverage"] = float(ok[known].mean()) if known.any() else math.nan
        out[str(policy)] = figures
    return out


def off_policy_checks(runs: list[dict[str, Any]], decisions: pd.DataFrame) -> dict[str, Any]:
    """Each challenger's off-policy estimate, made from the logs of the model in service, vs truth.

    Two checks per training (the ``ope_check`` of its event):

    * ``covered``: the estimate's 95% interval holds the truth on the same window
      items (the share of the challenger's top picks an inspection would find);
    * ``realised_in_interval`` (challengers that then selected: on trial days, or
      once promoted): the interval holds the hit rate its own picks realised on
      truth on the days it selected (``truth_found_if_inspected`` of its
      ``model`` picks), the on-policy result.

    ``trial_decisions``: each challenger judged after a trial (:mod:`parcelrisk.trial`).
    """
    # what each model's own picks realised on truth, per unit: one pass over the log
    picks = decisions[decisions["selection_reason"].eq("model")]
    realised_by = (
        picks.assign(found=picks["truth_found_if_inspected"].astype("float64"))
        .groupby(["policy", "seed", "model_version"])["found"]
        .agg(["mean", "size"])
    )
    rows = []
    for facts in runs:
        for event in facts.get("events", []):
            check = event.get("ope_check")
            if not check:
                continue
            row = {
                "policy": facts["policy"],
                "seed": facts["seed"],
                "day": event["day"],
                "challenger": event.get("challenger"),
                "promoted": bool(event.get("promoted", False)),
                "trial": bool(event.get("trial", False)),
                **check,
            }
            key = (facts["policy"], facts["seed"], row["challenger"])
            if key in realised_by.index:
                realised = float(realised_by.at[key, "mean"])
                row["realised"] = realised
                row["realised_picks"] = int(realised_by.at[key, "size"])
                row["realised_in_interval"] = bool(check["low"] <= realised <= check["high"])
            rows.append(row)
    trials = [
        {"policy": facts["policy"], "seed": facts["seed"], **event}
        for facts in runs
        for event in facts.get("events", [])
        if event.get("event") == "trial_judged"
    ]

    def share(key: str, subset: list[dict[str, Any]]) -> float:
        return float(np.mean([r[key] for r in subset])) if subset else math.nan

    known = [r for r in rows if math.isfinite(r["truth"]) and math.isfinite(r["low"])]
    served = [r for r in known if r.get("realised_picks")]
    return {
        "trainings": len(rows),
        "covered_share": share("covered", known),
        "covered_n": len(known),
        "realised_in_interval_share": share("realised_in_interval", served),
        "realised_n": len(served),
        "trials": len(trials),
        "promoted_after_trial": sum(bool(t["promoted"]) for t in trials),
        "checks": rows,
        "trial_decisions": trials,
    }


def summary_by_policy(decisions: pd.DataFrame, weekly: pd.DataFrame) -> dict[str, Any]:
    """Totals over the live weeks (after the burn-in), mean and per seed."""
    live_weeks = weekly[weekly["phase"].eq("live")]
    out: dict[str, Any] = {}
    for policy, rows in live_weeks.groupby("policy", sort=False):
        per_seed = rows.groupby("seed").agg(
            seizures=("seizures", "sum"),
            illicit_caught=("illicit_caught", "sum"),
            illicit=("illicit", "sum"),
            inspections=("inspections", "sum"),
        )
        per_seed["recall_truth"] = per_seed["illicit_caught"] / per_seed["illicit"]
        out[str(policy)] = {
            "seizures_mean": float(per_seed["seizures"].mean()),
            "illicit_caught_mean": float(per_seed["illicit_caught"].mean()),
            "recall_truth_mean": float(per_seed["recall_truth"].mean()),
            "precision_truth_mean": float(rows["precision_truth"].mean()),
            "per_seed": {
                str(s): {k: (float(v) if isinstance(v, float) else int(v)) for k, v in r.items()}
                for s, r in per_seed.to_dict(orient="index").items()
            },
        }
    return out


def plot_all(decisions: pd.DataFrame, weekly: pd.DataFrame, out_dir: Path) -> list[Path]:
    """cumulative_seizures.png, precision_by_week.png, estimate_vs_truth.png (Agg, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "parcelrisk"
    paths = []
    policies = list(dict.fromkeys(decisions["policy"]))
    colours = {p: f"C{i}" for i, p in enumerate(policies)}

    daily = (
        decisions.assign(seized=decisions["outcome"].eq("seizure").fillna(False))
        .groupby(["policy", "seed", "day_index"], sort=False)["seized"]
        .sum()
        .reset_index()
    )
    daily["cumulative"] = daily.groupby(["policy", "seed"])["seized"].cumsum()
    fig, ax = plt.subplots(figsize=(8, 5))
    for policy in policies:
        rows = daily[daily["policy"] == policy]
        for _seed, r in rows.groupby("seed"):
            ax.plot(r["day_index"], r["cumulative"], color=colours[policy], alpha=0.25, lw=0.8)
        mean = rows.groupby("day_index")["cumulative"].mean()
        ax.plot(mean.index, mean.to_numpy(), color=colours[policy], lw=2, label=policy)
    ax.set_xlabel("day")
    ax.set_ylabel("cumulative seizures (thin: each seed; thick: mean)")
    ax.legend()
    ax.set_title("Seizures per policy")
    paths.append(_save(fig, out_dir / "cumulative_seizures.png"))

    fig, ax = plt.subplots(figsize=(8, 5))
    for policy in policies:
        rows = weekly[weekly["policy"] == policy].groupby("week")["precision_truth"].mean()
        ax.plot(rows.index, rows.to_numpy(), marker="o", color=colours[policy], label=policy)
    ax.set_xlabel("week")
    ax.set_ylabel("precision at capacity on truth (mean over seeds)")
    ax.legend()
    ax.set_title("Precision by week")
    paths.append(_save(fig, out_dir / "precision_by_week.png"))

    fig, axes = plt.subplots(
        len(policies), 1, figsize=(8, 2.6 * len(policies)), sharex=True, squeeze=False
    )
    for ax, policy in zip(axes[:, 0], policies, strict=True):
        rows = weekly[weekly["policy"] == policy]
        seeds = sorted(rows["seed"].unique())
        for i, seed in enumerate(seeds):
            r = rows[rows["seed"] == seed]
            x = r["week"].to_numpy() + (i - (len(seeds) - 1) / 2) * 0.12
            err = np.vstack(
                [r["leakage_est"] - r["leakage_low"], r["leakage_high"] - r["leakage_est"]]
            )
            ax.errorbar(
                x, r["leakage_est"], yerr=err, fmt="o", ms=3, color=colours[policy], alpha=0.7
            )
            ax.plot(x, r["leakage_truth"], "kx", ms=5)
        ax.set_ylabel("leakage")
        ax.set_title(f"{policy}: estimate with 95% interval (o) vs truth (x)", fontsize=9)
    axes[-1, 0].set_xlabel("week")
    paths.append(_save(fig, out_dir / "estimate_vs_truth.png"))
    return paths


def _save(fig: Any, path: Path) -> Path:
    from parcelrisk.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
