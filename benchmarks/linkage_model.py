"""The model's precision on truth with today's entity keys and with the multi-field keys (issue 15).

For each seed: generate a labelled world (``generate_manifest(rows, seed, days,
illicit_rate)``), train the model twice with the shipped parameters (``train_model``, its time
split), once with today's keys and once with every history feature keyed by
:func:`parcelrisk.party_keys.party_keys`, and report the test days' ground-truth precision at
1% and 2% of items and recall at 5% (``train_model``'s own evaluation, population
``ground_truth``).

The multi-field keys are swapped in for the run only (``parcelrisk.profiles.entity_keys`` is
replaced in this process): the store and the package keep today's keys. A what-if measurement,
not a code path.

Run: ``python benchmarks/linkage_model.py [--seeds 8101,8102,8103] [--rows 60000]``.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

import parcelrisk.profiles as profiles
from parcelrisk.model import load_params
from parcelrisk.party_keys import party_keys
from parcelrisk.synthetic import generate_manifest
from parcelrisk.train import train_model
from parcelrisk.validate import validate_frame


def figures(valid: pd.DataFrame) -> dict[str, float]:
    ev = train_model(valid, params=load_params()).evaluation
    truth = ev[(ev.population == "ground_truth") & (ev.method == "model")].set_index("capacity")
    return {
        "precision_at_1pct": float(truth.loc[0.01, "precision"]),
        "precision_at_2pct": float(truth.loc[0.02, "precision"]),
        "recall_at_5pct": float(truth.loc[0.05, "recall"]),
    }


def main() -> pd.DataFrame:
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", default="8101,8102,8103")
    p.add_argument("--rows", type=int, default=60_000)
    p.add_argument("--days", type=int, default=35)
    p.add_argument("--illicit-rate", type=float, default=0.01)
    a = p.parse_args()
    today = profiles.entity_keys
    rows = []
    for seed in (int(s) for s in a.seeds.split(",")):
        frame = generate_manifest(a.rows, seed=seed, days=a.days, illicit_rate=a.illicit_rate)
        valid = validate_frame(frame).valid
        for name, keys in (("today", today), ("multi-field", party_keys)):
            profiles.entity_keys = keys  # type: ignore[assignment]
            try:
                t = time.perf_counter()
                row = {"seed": seed, "keys": name, **figures(valid)}
                row["train_s"] = time.perf_counter() - t
            finally:
                profiles.entity_keys = today  # type: ignore[assignment]
            print(row, flush=True)
            rows.append(row)
    table = pd.DataFrame(rows)
    print(table.round(4).to_string(index=False))
    print(
        table.groupby("keys")[["precision_at_1pct", "precision_at_2pct", "recall_at_5pct"]].mean()
    )
    return table


if __name__ == "__main__":
    main()
