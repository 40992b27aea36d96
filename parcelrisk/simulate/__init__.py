"""``parcelrisk simulate``: run customs units day by day over a reacting synthetic world.

:func:`run_simulation` runs every policy on every seed (each its own world and
history store, see :mod:`parcelrisk.simulate.loop`) and writes to ``out_dir``:

* ``decisions.parquet``: every item of every day (day, item_id, policy, seed,
  risk_score, risk_rank, selected, selection_reason, selection_propensity,
  control_share, model_version, outcome, inspected_at and the truth columns
  truth_illicit, truth_found_if_inspected, truth_pattern);
* ``weekly.csv``: per policy, seed and week, truth beside the unit's own
  estimate (:mod:`parcelrisk.simulate.report`);
* ``summary.json``: configuration, totals of the live weeks per policy,
  coverage of the estimates, training events, timings;
* ``cumulative_seizures.png``, ``precision_by_week.png``, ``estimate_vs_truth.png``;
* ``units/<policy>-s<seed>/``: each unit's history store and MLflow tracking store.

Same configuration, same ``decisions.parquet`` and ``weekly.csv``, byte for byte.
"""

from __future__ import annotations

import json
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from parcelrisk.io import atomic_path, write_frame
from parcelrisk.simulate.loop import SimulationConfig, TrainingCache, run_unit
from parcelrisk.simulate.policies import POLICIES
from parcelrisk.simulate.report import coverage, plot_all, summary_by_policy, weekly_table

__all__ = ["SimulationConfig", "run_simulation", "POLICIES"]


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=False,
        ).stdout.strip()
    except OSError:
        return ""


def run_simulation(
    config: SimulationConfig,
    out_dir: str | Path,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Run the simulation and write its outputs; returns the summary (also ``summary.json``)."""
    config.check()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    logs: list[pd.DataFrame] = []
    runs: list[dict[str, Any]] = []
    for seed in config.seeds:
        cache: TrainingCache = {}  # models shared only within a seed, when data and params agree
        for policy in config.policies:
            log, facts = run_unit(
                policy, seed, config, out / "units" / f"{policy}-s{seed}", cache, progress
            )
            logs.append(log)
            runs.append(facts)
        cache.clear()
    decisions = pd.concat(logs, ignore_index=True)
    weekly = weekly_table(decisions, config.burn_in_days)
    write_frame(decisions, out / "decisions.parquet")
    with atomic_path(out / "weekly.csv") as tmp:
        weekly.to_csv(tmp, index=False, lineterminator="\n", float_format="%.6g")
    plots = plot_all(decisions, weekly, out)
    summary = {
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in config.__dict__.items()},
        "policies": summary_by_policy(decisions, weekly),
        "coverage": coverage(weekly),
        "runs": runs,
        "outputs": ["decisions.parquet", "weekly.csv", *[p.name for p in plots]],
        "seconds": round(time.perf_counter() - started, 1),
        "commit": _commit(),
        "machine": f"{platform.machine()}, {platform.system()}, python {platform.python_version()}",
    }
    with atomic_path(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    return summary
