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
from parcelrisk.simulate.report import (
    coverage,
    off_policy_checks,
    plot_all,
    summary_by_policy,
    weekly_table,
)

__all__ = ["SimulationConfig", "run_simulation", "combine_runs", "write_outputs", "POLICIES"]


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
    """Run the simulation and write its outputs; returns the summary (also ``summary.json``).

    Each unit's decision log and facts are also written to its folder
    (``units/<policy>-s<seed>/decisions.parquet`` and ``facts.json``) as soon as it
    finishes, so an interrupted run keeps what it finished (see :func:`combine_runs`).
    """
    config.check()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    logs: list[pd.DataFrame] = []
    runs: list[dict[str, Any]] = []
    for seed in config.seeds:
        cache: TrainingCache = {}  # models shared only within a seed, when data and params agree
        for policy in config.policies:
            folder = out / "units" / f"{policy}-s{seed}"
            log, facts = run_unit(policy, seed, config, folder, cache, progress)
            write_frame(log, folder / "decisions.parquet")
            _write_json(folder / "facts.json", facts)
            logs.append(log)
            runs.append(facts)
        cache.clear()
    return write_outputs(
        pd.concat(logs, ignore_index=True), runs, config, out, time.perf_counter() - started
    )


def write_outputs(
    decisions: pd.DataFrame,
    runs: list[dict[str, Any]],
    config: SimulationConfig,
    out: Path,
    seconds: float,
) -> dict[str, Any]:
    """decisions.parquet, weekly.csv, the plots and summary.json in ``out``; the summary."""
    weekly = weekly_table(decisions, config.burn_in_days)
    write_frame(decisions, out / "decisions.parquet")
    with atomic_path(out / "weekly.csv") as tmp:
        weekly.to_csv(tmp, index=False, lineterminator="\n", float_format="%.6g")
    plots = plot_all(decisions, weekly, out)
    summary = {
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in config.__dict__.items()},
        "policies": summary_by_policy(decisions, weekly),
        "coverage": coverage(weekly),
        "off_policy_checks": off_policy_checks(runs, decisions),
        "runs": runs,
        "outputs": ["decisions.parquet", "weekly.csv", *[p.name for p in plots]],
        "seconds": round(seconds, 1),
        "commit": _commit(),
        "estimation": estimation_source(),
        "machine": f"{platform.machine()}, {platform.system()}, python {platform.python_version()}",
    }
    _write_json(out / "summary.json", summary)
    return summary


def combine_runs(dirs: list[str | Path], out_dir: str | Path) -> dict[str, Any]:
    """Outputs over several runs of the same configuration (e.g. one process per seed).

    Reads each run's ``summary.json`` (configuration) and its ``decisions.parquet``,
    or, for a run stopped part-way, the decision logs of the units it finished
    (``units/*/decisions.parquet``; its configuration from another run's summary).
    """
    logs, runs, seeds, config = [], [], [], None
    seconds = 0.0
    for folder in map(Path, dirs):
        summary = folder / "summary.json"
        data = json.loads(summary.read_text(encoding="utf-8")) if summary.is_file() else None
        if data is not None and (folder / "decisions.parquet").is_file():  # a finished run
            logs.append(pd.read_parquet(folder / "decisions.parquet"))
            runs += data["runs"]
        else:
            for unit in sorted((folder / "units").glob("*/decisions.parquet")):
                logs.append(pd.read_parquet(unit))
                facts = unit.parent / "facts.json"
                if facts.is_file():
                    runs.append(json.loads(facts.read_text(encoding="utf-8")))
        if data is not None:
            cfg = data["config"]
            seeds += cfg["seeds"]
            seconds += float(data.get("seconds", 0))
            config = cfg if config is None else config
    if not logs or config is None:
        raise ValueError("no finished run found (summary.json and units/*/decisions.parquet)")
    decisions = pd.concat(logs, ignore_index=True)
    order = {p: i for i, p in enumerate(config["policies"])}
    decisions = decisions.sort_values(
        ["seed", "policy", "day_index"],
        key=lambda c: c.map(order) if c.name == "policy" else c,
        kind="stable",
    ).reset_index(drop=True)
    merged = SimulationConfig(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
        | {"seeds": tuple(sorted(set(seeds) | set(decisions["seed"].unique().tolist())))}
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return write_outputs(decisions, runs, merged, out, seconds)


def estimation_source() -> str:
    """Which estimators the weekly table used (recorded in summary.json)."""
    from parcelrisk.simulate.report import estimation

    return str(estimation.__name__)


def _write_json(path: Path, data: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
