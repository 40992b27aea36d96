"""Writing manifests, the rule baselines, and the committed sample of ``data/synthetic/``."""

from __future__ import annotations

import math
import os
import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from parcelrisk.legacy_rules import legacy_rule_hits, legacy_rule_score, vague_description
from parcelrisk.schema import LABEL_COLUMNS, TRUTH_COLUMNS, ManifestSchema, TruthSchema
from parcelrisk.synthetic.constants import SAMPLE_SEED
from parcelrisk.synthetic.world import World, legacy_run

M, T = ManifestSchema, TruthSchema


def write_manifest(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write CSV (UTF-8, ISO-8601 UTC timestamps) or Parquet, by extension, atomically.

    The file is written to a temporary file in the same folder and moved into place with
    :func:`os.replace`, so readers never see a half-written file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise ValueError(f"{path}: unknown extension (use .csv or .parquet)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
    try:
        if suffix == ".csv":
            out = df.copy()
            for col in out.columns:
                if isinstance(out[col].dtype, pd.DatetimeTZDtype):
                    out[col] = out[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            out.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
        else:
            df.to_parquet(tmp, index=False, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def rule_baselines(df: pd.DataFrame, capacity: float = 0.02) -> pd.DataFrame:
    """Precision and recall on ground truth of simple single rules (the baselines to beat).

    Rows: the vague-description matcher alone, each legacy rule alone, and the legacy policy as a
    whole ranked by :func:`~parcelrisk.legacy_rules.legacy_rule_score` at ``capacity`` (top share
    of items). Needs the truth columns.
    """
    from parcelrisk.legacy_rules import load_legacy_rules

    truth = df[T.truth_illicit].to_numpy(dtype=bool)
    rules = load_legacy_rules()
    flags: dict[str, np.ndarray] = {
        "vague description (PACT/ICS2) alone": vague_description(df[M.description]).to_numpy()
    }
    hits = legacy_rule_hits(df, rules)
    for r in rules:
        flags[f"rule: {r.name}"] = hits[r.name].to_numpy()
    flags["any legacy rule fires"] = hits.to_numpy().any(axis=1)
    score = legacy_rule_score(df, rules).to_numpy()
    k = max(1, math.ceil(capacity * len(df)))
    top = np.zeros(len(df), dtype=bool)
    top[np.argsort(-score, kind="stable")[:k]] = True
    flags[f"legacy policy, top {capacity:.0%} by score"] = top
    records = []
    for name, f in flags.items():
        tp = int((f & truth).sum())
        records.append(
            {
                "rule": name,
                "flagged": int(f.sum()),
                "flagged_share": f.mean(),
                "precision": tp / f.sum() if f.sum() else float("nan"),
                "recall": tp / truth.sum() if truth.sum() else float("nan"),
            }
        )
    return pd.DataFrame.from_records(records)


#: The committed sample: one world run, 56 labelled days and a busy 57th day (``day_weights``).
SAMPLE_DAYS = 57
SAMPLE_ROWS = 105_000
SAMPLE_START = "2026-01-05"


def sample_run(seed: int = SAMPLE_SEED) -> tuple[pd.DataFrame, World]:
    """The run behind :func:`make_sample`: the labelled frame and its world (actors, reactions)."""
    weights = [1.0] * (SAMPLE_DAYS - 1) + [2.38]
    return legacy_run(
        SAMPLE_ROWS, seed=seed, start=SAMPLE_START, days=SAMPLE_DAYS, day_weights=weights
    )


def write_sample(df: pd.DataFrame, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Split a :func:`sample_run` frame at midnight of the last day and write the three files."""
    out = Path(out_dir)
    cut = pd.Timestamp(SAMPLE_START, tz="UTC") + timedelta(days=SAMPLE_DAYS - 1)
    today_mask = df[M.declared_at] >= cut
    history = df[~today_mask].reset_index(drop=True)
    today = df[today_mask].reset_index(drop=True)
    return {
        "history": write_manifest(history, out / "history.parquet"),
        "today": write_manifest(
            today.drop(columns=[*LABEL_COLUMNS, *TRUTH_COLUMNS]), out / "manifest_today.csv"
        ),
        "today_truth": write_manifest(
            today[[M.item_id, *TRUTH_COLUMNS]], out / "manifest_today_truth.csv"
        ),
    }


def make_sample(out_dir: str | os.PathLike[str], seed: int = SAMPLE_SEED) -> dict[str, Path]:
    """Regenerate the committed sample of ``data/synthetic/``.

    One world run of 105,000 items over 57 days from 2026-01-05: the first 56 days (~100,000
    items, labelled, with truth) are ``history.parquet``; day 57 (a busy Monday at 2.4 times a
    normal weekday) is ``manifest_today.csv`` without labels or truth, its truth in
    ``manifest_today_truth.csv``. Generating both from one run keeps actors, drop addresses and
    consumers consistent between history and today.
    """
    return write_sample(sample_run(seed)[0], out_dir)
