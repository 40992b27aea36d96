"""Regenerate the committed synthetic sample and the computed tables of its README.

Run from the repository root: ``python data/synthetic/make_sample.py``. Same code, same seed
(``parcelrisk.synthetic.SAMPLE_SEED`` = 20261124), same files. The README's section between the
``<!-- computed:start -->`` and ``<!-- computed:end -->`` markers is rewritten from the data.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from parcelrisk.schema import MANIFEST_COLUMNS
from parcelrisk.schema import LabelSchema as L
from parcelrisk.schema import TruthSchema as T
from parcelrisk.synthetic import DRIFT_SHARE, SAMPLE_SEED, rule_baselines
from parcelrisk.synthetic.output import sample_run, write_sample

HERE = Path(__file__).resolve().parent


def base_rates(df: pd.DataFrame) -> pd.DataFrame:
    """Illicit, inspection, seizure and random-control rates of a labelled frame with truth."""
    inspected = df[L.inspected]
    seized = df[L.outcome] == "seizure"
    rows = {
        "items": len(df),
        "illicit rate (truth)": df[T.truth_illicit].mean(),
        "inspection rate": inspected.mean(),
        "random-control share of all items": (df[L.selection_source] == "random").mean(),
        "seizure rate among inspected": seized.sum() / max(1, inspected.sum()),
        "seizure rate in the random control": seized[df[L.selection_source] == "random"].mean(),
        "share of illicit items seized": seized.sum() / max(1, df[T.truth_illicit].sum()),
    }
    for src, n in df.loc[inspected, L.selection_source].value_counts().items():
        rows[f"inspections by {src}"] = n
    for pat, n in df[T.truth_pattern].value_counts().items():
        rows[f"items of pattern {pat}"] = n
    return pd.DataFrame({"value": rows}).rename_axis("quantity").reset_index()


def single_column_lookups(df: pd.DataFrame, capacity: float = 0.02) -> pd.DataFrame:
    """Best single-column lookup at ``capacity``: learned on the first half of the days, flagged
    on the second half (values ranked by their illicit share, then illicit count)."""
    days = (df["declared_at"] - df["declared_at"].min()).dt.days
    train, test = df[days < days.max() / 2], df[days >= days.max() / 2]
    base = test[T.truth_illicit].mean()
    rows = []
    for col in MANIFEST_COLUMNS:
        if col in ("item_id", "declared_at"):
            continue
        a, b = train[col].fillna("<NA>").astype(str), test[col].fillna("<NA>").astype(str)
        g = train[T.truth_illicit].groupby(a).agg(["mean", "sum", "size"])
        g = g[g["sum"] > 0].sort_values(["mean", "sum"], ascending=False)
        flag = b.isin(g.index[g["size"].cumsum() <= capacity * len(train)])
        prec = test.loc[flag, T.truth_illicit].mean() if flag.any() else 0.0
        rows.append(
            {
                "column": col,
                "flagged_share": flag.mean(),
                "precision": prec,
                "lift": prec / base if base else np.nan,
            }
        )
    out = pd.DataFrame(rows).sort_values("precision", ascending=False)
    return out.head(8)


def drift_and_reactions(world) -> pd.DataFrame:
    """Realised drift share (exact by construction) and reaction shares of the sample's world."""
    actors = world.actor_table()
    elig = actors["drift_eligible"]
    active = (actors["end"] > 0) & (actors["begin"] < 57)  # active during the 57 days
    rows = [
        {
            "change": "scheduled drift (of persistent actors, all cohorts)",
            "documented": DRIFT_SHARE,
            "events": int((actors["drift_kind"] != "").sum()),
            "base": int(elig.sum()),
            "realised": (actors["drift_kind"] != "").sum() / max(1, elig.sum()),
        }
    ]
    for rec in world.reaction_shares().itertuples():
        rows.append(
            {
                "change": f"reaction: {rec.reaction}",
                "documented": rec.probability,
                "events": rec.reacted,
                "base": rec.known_seizures,
                "realised": rec.realised_share,
            }
        )
    ev = world.events()
    rows.append(
        {
            "change": "market takedowns (vendors displaced)",
            "documented": np.nan,
            "events": int((ev["cause"] == "takedown").sum() // 2),
            "base": np.nan,
            "realised": np.nan,
        }
    )
    vol = actors.loc[active, "volume"]
    rows.append(
        {
            "change": "actors active by the end: sending at most 5 items (of all)",
            "documented": np.nan,
            "events": int((vol <= 5).sum()),
            "base": int(len(vol)),
            "realised": float((vol <= 5).mean()),
        }
    )
    rows.append(
        {
            "change": "actors active by the end: sending 100 items or more",
            "documented": np.nan,
            "events": int((vol >= 100).sum()),
            "base": int(len(vol)),
            "realised": np.nan,
        }
    )
    return pd.DataFrame(rows).astype({"events": "Int64", "base": "Int64"})


def _fmt(v: object) -> str:
    if v is pd.NA:
        return ""
    if isinstance(v, float):
        if np.isnan(v):
            return ""
        return f"{v:.4f}" if v < 1 else f"{v:,.2f}" if v < 100 else f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _markdown(table: pd.DataFrame) -> str:
    head = "| " + " | ".join(table.columns) + " |\n|" + "---|" * len(table.columns) + "\n"
    return head + "\n".join(
        "| " + " | ".join(_fmt(v) for v in row) + " |" for row in table.itertuples(index=False)
    )


def main() -> None:
    frame, world = sample_run(SAMPLE_SEED)
    paths = write_sample(frame, HERE)
    history = pd.read_parquet(paths["history"])
    today = pd.read_csv(paths["today"], dtype=str)
    sizes = "\n".join(f"- `{p.name}`: {p.stat().st_size / 2**20:.2f} MiB" for p in paths.values())
    section = (
        f"Computed by `make_sample.py` on the files above (seed {SAMPLE_SEED}).\n\n"
        f"{sizes}\n- history: {len(history):,} items, "
        f"{history['declared_at'].min():%Y-%m-%d} to {history['declared_at'].max():%Y-%m-%d}; "
        f"today: {len(today):,} items\n\n"
        f"### Base rates (history)\n\n{_markdown(base_rates(history))}\n\n"
        f"### Single rules on the history, against truth (the baselines to beat)\n\n"
        f"{_markdown(rule_baselines(history))}\n\n"
        f"### Best single-column lookups at 2% (learned on days 1-28, flagged on days 29-56)\n\n"
        f"{_markdown(single_column_lookups(history))}\n\n"
        f"### Realised drift and reactions (the sample's world, legacy inspections)\n\n"
        f"{_markdown(drift_and_reactions(world))}\n"
    )
    readme = HERE / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = re.sub(
        r"(<!-- computed:start -->\n).*?(<!-- computed:end -->)",
        lambda m: m.group(1) + section + m.group(2),
        text,
        flags=re.S,
    )
    readme.write_text(new, encoding="utf-8")
    print(section)


if __name__ == "__main__":
    main()
