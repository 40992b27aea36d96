"""Sensitivity of the headline figures to prevalence: the shipped model on v2 worlds at 0.1%-1%.

For each prevalence and seed (seeds the model, the tests and the committed sample do not use):
a 28-day world (``generate_manifest(..., illicit_rate=r)``), the first 25 days into a history
store, the last 3 days scored with the shipped model and that store at 2% of each day
(``parcelrisk.load_model(store=...).score``, the code of ``parcelrisk score``). Reported against
the truth columns: base rate, precision at 2% of the model's picks (illicit items; and items an
inspection would find) with its Wilson interval, lift over the base rate, recall of illicit items.

    python benchmarks/prevalence.py --rows 240000 --seeds 501,502 --out benchmarks/prevalence.md
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import parcelrisk
from parcelrisk.store import HistoryStore
from parcelrisk.synthetic import generate_manifest
from parcelrisk.validate import validate_frame

RATES = (0.001, 0.003, 0.01)
DAYS, TEST_DAYS = 28, 3


def _wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    z = 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def one_world(rate: float, seed: int, rows: int, workdir: Path) -> dict[str, object]:
    frame = generate_manifest(rows, seed=seed, start="2026-09-07", days=DAYS, illicit_rate=rate)
    day = frame["declared_at"].dt.floor("D")
    first_test = day.max() - pd.Timedelta(days=TEST_DAYS - 1)
    history, test = frame[day < first_test], frame[day >= first_test]
    store_path = workdir / f"h-{rate}-{seed}.duckdb"
    with HistoryStore(store_path) as store:
        store.add_manifest(validate_frame(history).valid)
    truth_cols = [c for c in test.columns if c.startswith("truth_")]
    picks = []
    with HistoryStore(store_path, read_only=True) as store:
        model = parcelrisk.load_model(store=store)
        for _, items in test.groupby(test["declared_at"].dt.floor("D"), sort=True):
            scored = model.score(items.drop(columns=truth_cols), budget=0.02, explain="none")
            picked = scored.scored.loc[scored.scored["selection_reason"].eq("model"), "item_id"]
            picks.append(items[items["item_id"].isin(picked)])
    chosen = pd.concat(picks)
    k, n = int(chosen["truth_illicit"].sum()), len(chosen)
    found = int(chosen["truth_found_if_inspected"].sum())
    low, high = _wilson(k, n)
    base = float(test["truth_illicit"].mean())
    return {
        "prevalence": rate,
        "seed": seed,
        "test_items": len(test),
        "illicit_in_test": int(test["truth_illicit"].sum()),
        "base_rate": base,
        "picks": n,
        "precision": k / n if n else float("nan"),
        "precision_low": low,
        "precision_high": high,
        "found_rate": found / n if n else float("nan"),
        "lift": (k / n) / base if n and base else float("nan"),
        "recall": k / max(int(test["truth_illicit"].sum()), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=240_000)
    parser.add_argument("--seeds", default="501,502")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/prevalence.md"))
    args = parser.parse_args()
    os.environ.setdefault("PARCELRISK_DEMO", "1")
    started = time.perf_counter()
    commit = subprocess.run(  # the code measured: read before the run, not after
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for rate in RATES:
            for seed in (int(s) for s in args.seeds.split(",")):
                rows.append(one_world(rate, seed, args.rows, Path(tmp)))
                print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    pooled = (
        table.groupby("prevalence")
        .agg(
            test_items=("test_items", "sum"),
            illicit=("illicit_in_test", "sum"),
            picks=("picks", "sum"),
        )
        .reset_index()
    )
    hits = table.assign(h=table["precision"] * table["picks"]).groupby("prevalence")["h"].sum()
    found = table.assign(f=table["found_rate"] * table["picks"]).groupby("prevalence")["f"].sum()
    lines = [
        "| prevalence | test items | illicit | picks | precision at 2% (95% CI) | found if inspected | lift | recall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for rec in pooled.itertuples(index=False):
        k = int(round(hits[rec.prevalence]))
        lo, hi = _wilson(k, int(rec.picks))
        base = rec.illicit / rec.test_items
        prec = k / rec.picks
        lines.append(
            f"| {rec.prevalence:.1%} | {rec.test_items:,} | {rec.illicit} | {rec.picks:,} | "
            f"{prec:.3f} ({lo:.3f}-{hi:.3f}) | {found[rec.prevalence] / rec.picks:.3f} | "
            f"{prec / base:.1f}x | {k / max(rec.illicit, 1):.2f} |"
        )
    header = (
        f"Command: `python benchmarks/prevalence.py --rows {args.rows} --seeds {args.seeds}`; "
        f"commit {commit}; {platform.machine()}, python {platform.python_version()}; "
        f"{time.perf_counter() - started:.0f} s.\n\n"
    )
    per_seed = (
        table.to_markdown(index=False, floatfmt=".4f")
        if _has_tabulate()
        else table.to_csv(index=False)
    )
    args.out.write_text(header + "\n".join(lines) + "\n\nPer seed:\n\n" + per_seed + "\n")
    print("\n".join(lines))


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
