"""The model's precision on truth with the legacy keys and with the multi-field keys (issue 15).

For each seed: generate one labelled world (``generate_manifest(rows, seed, days,
illicit_rate)``, generator v2), then train the model twice with the shipped parameters
(``train_model``, its time split), each time next to an empty history store, so that the
whole period is its own history and only the keying differs:

* a ``legacy`` store (as an earlier parcelrisk made it: no ``key_scheme`` row in ``meta``;
  senders keyed on name + country);
* a new store (``parties-v1:<tables hash>``, :func:`parcelrisk.party_keys.party_keys`).

Reported per scheme: the test days' precision at 1% and 2% of items and recall at 5% against
``truth_illicit`` (``train_model``'s evaluation, population ``ground_truth``), precision at 2%
against ``truth_found_if_inspected`` (what an inspection would have found), the model's recorded
``key_scheme``, and B-cubed precision / recall of the sender and recipient keys of the whole
world against ``truth_sender_entity`` / ``truth_recipient_entity``
(:func:`parcelrisk.linkage_eval.evaluate_keys`).

Run: ``python benchmarks/linkage_model.py [--seeds 20261203] [--rows 200000] [--days 35]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from parcelrisk.linkage_eval import evaluate_keys
from parcelrisk.model import load_params
from parcelrisk.store import LEGACY_SCHEME, HistoryStore, current_key_scheme, scheme_keys
from parcelrisk.synthetic import generate_manifest
from parcelrisk.train import train_model
from parcelrisk.validate import validate_frame

SECRET = b"linkage-model-benchmark-secret-0123456789"
TRUTH_FOUND = "truth_found_if_inspected"


def empty_store(path: Path, legacy: bool) -> Path:
    """An empty store; ``legacy``: without the key_scheme row, as stores made before it."""
    with HistoryStore.open(path, secret=SECRET):
        pass
    if legacy:
        with duckdb.connect(str(path)) as con:
            con.execute("DELETE FROM meta WHERE name = 'key_scheme'")
    return path


def precision_at(scores: pd.Series, truth: pd.Series, share: float) -> float:
    """Share of truth among the top ``share`` of items by score (ties broken by position)."""
    k = max(1, int(round(share * len(scores))))
    order = np.argsort(-scores.to_numpy(dtype="float64"), kind="stable")[:k]
    return float(truth.to_numpy(dtype="float64")[order].mean())


def figures(valid: pd.DataFrame, store: HistoryStore) -> dict[str, object]:
    result = train_model(valid, params=load_params(), store=store, secret=SECRET)
    ev = result.evaluation
    truth = ev[(ev.population == "ground_truth") & (ev.method == "model")].set_index("capacity")
    test = result.test_frame
    row: dict[str, object] = {
        "model_key_scheme": result.model.metadata.get("key_scheme"),
        "test_items": int(len(test)),
        "test_illicit": int(test["truth_illicit"].sum()),
        "precision_at_1pct": float(truth.loc[0.01, "precision"]),
        "precision_at_2pct": float(truth.loc[0.02, "precision"]),
        "recall_at_5pct": float(truth.loc[0.05, "recall"]),
    }
    if TRUTH_FOUND in test:
        row["found_precision_at_2pct"] = precision_at(
            # validation reads the truth columns it does not know as text
            test["risk_score"],
            test[TRUTH_FOUND].astype("str").str.lower().eq("true"),
            0.02,
        )
    return row


def linkage(valid: pd.DataFrame, scheme: str) -> dict[str, float]:
    table = evaluate_keys(valid, scheme_keys(valid, SECRET, scheme), scheme, by_illicit=False)
    out = {}
    for party in ("sender", "recipient"):
        got = table[table.party == party].iloc[0]
        out[f"{party}_bcubed_p"] = float(got["bcubed_precision"])
        out[f"{party}_bcubed_r"] = float(got["bcubed_recall"])
    return out


def main() -> pd.DataFrame:
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", default="20261203")
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--days", type=int, default=35)
    p.add_argument("--illicit-rate", type=float, default=0.01)
    a = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="linkage-model-") as tmp:
        for seed in (int(s) for s in a.seeds.split(",")):
            frame = generate_manifest(a.rows, seed=seed, days=a.days, illicit_rate=a.illicit_rate)
            valid = validate_frame(frame).valid
            for legacy in (True, False):
                path = empty_store(Path(tmp) / f"s{seed}-{int(legacy)}.duckdb", legacy)
                with HistoryStore.open(path, secret=SECRET) as store:
                    scheme = store.key_scheme
                    assert scheme == (LEGACY_SCHEME if legacy else current_key_scheme())
                    t = time.perf_counter()
                    row = {"seed": seed, "rows": len(valid), "store_key_scheme": scheme}
                    row |= figures(valid, store)
                    row["train_s"] = round(time.perf_counter() - t, 1)
                row |= linkage(valid, scheme)
                print(row, flush=True)
                rows.append(row)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table.round(4).to_string(index=False))
    return table


if __name__ == "__main__":
    main()
