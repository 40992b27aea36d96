"""Scoring throughput with a legacy store and with a parties-v1 store, same data, same run.

Generates one world (``generate_manifest``), adds all days but the last to two stores (one
``legacy``, as made before the key scheme was recorded, one ``parties-v1``), then scores the
last day's manifest file with the shipped ``models/default`` (which records no scheme and
accepts either) through :func:`parcelrisk.batch.score_file`, alternating the stores, best of
``--repeat``. Reports items per second and the ratio (issue 15: within 20%).

Run: ``python benchmarks/key_scheme_scoring.py [--rows 400000] [--days 8] [--seed 20261204]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import duckdb

from parcelrisk.batch import score_file
from parcelrisk.errors import KeySchemeWarning
from parcelrisk.model import load_model
from parcelrisk.store import HistoryStore
from parcelrisk.synthetic import generate_manifest
from parcelrisk.validate import validate_frame

SECRET = b"key-scheme-scoring-benchmark-secret-0123"
MODEL = Path(__file__).resolve().parent.parent / "models" / "default"


def build_store(path: Path, history, legacy: bool) -> None:
    with HistoryStore.open(path, secret=SECRET):
        pass
    if legacy:
        with duckdb.connect(str(path)) as con:
            con.execute("DELETE FROM meta WHERE name = 'key_scheme'")
    with HistoryStore.open(path, secret=SECRET) as store:
        store.add_manifest(history)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=400_000)
    p.add_argument("--days", type=int, default=8)
    p.add_argument("--seed", type=int, default=20261204)
    p.add_argument("--repeat", type=int, default=2)
    a = p.parse_args()
    warnings.simplefilter("ignore", KeySchemeWarning)
    frame = generate_manifest(a.rows, seed=a.seed, days=a.days)
    day = frame["declared_at"].dt.floor("D")
    per_day = day.value_counts().sort_index()
    target = per_day.index[-1] if per_day.iloc[-1] >= per_day.iloc[-2] else per_day.index[-2]
    last = day == target  # the last full day (the generator may spill a few items past it)
    with tempfile.TemporaryDirectory(prefix="key-scheme-") as tmp:
        today = Path(tmp) / "today.parquet"
        truth = [c for c in frame.columns if c.startswith("truth_")]
        labels = ["inspected", "selection_source", "inspected_at", "outcome"]
        labels += ["selection_propensity"]
        frame[last].drop(columns=[c for c in truth + labels if c in frame]).to_parquet(today)
        history = validate_frame(frame[day < target]).valid
        stores = {}
        for name, legacy in (("legacy", True), ("parties-v1", False)):
            stores[name] = Path(tmp) / f"{name}.duckdb"
            t = time.perf_counter()
            build_store(stores[name], history, legacy)
            print(f"{name}: history add {len(history):,} items {time.perf_counter() - t:.1f} s")
        best = {name: float("inf") for name in stores}
        for _ in range(a.repeat):
            for name, path in stores.items():
                with HistoryStore.open(path, secret=SECRET, read_only=True) as store:
                    model = load_model(MODEL, store=store, secret=SECRET)
                    t = time.perf_counter()
                    result = score_file(today, model, history=store)
                    best[name] = min(best[name], time.perf_counter() - t)
                    n = result.rows_read - len(result.rejects)
        for name, seconds in best.items():
            print(f"{name}: scored {n:,} items in {seconds:.2f} s = {n / seconds:,.0f} items/s")
        print(f"ratio parties-v1 / legacy time: {best['parties-v1'] / best['legacy']:.3f}")


if __name__ == "__main__":
    main()
