"""Regenerate the committed synthetic sample and the computed tables of its README.

Run from the repository root: ``python data/synthetic/make_sample.py``. Same code, same seed
(``parcelrisk.synthetic.SAMPLE_SEED`` = 20261124), same files. The README's section between the
``<!-- computed:start -->`` and ``<!-- computed:end -->`` markers is rewritten from the data.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from parcelrisk.schema import LabelSchema as L
from parcelrisk.schema import TruthSchema as T
from parcelrisk.synthetic import SAMPLE_SEED, make_sample, rule_baselines

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


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if v < 1 else f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _markdown(table: pd.DataFrame) -> str:
    head = "| " + " | ".join(table.columns) + " |\n|" + "---|" * len(table.columns) + "\n"
    return head + "\n".join(
        "| " + " | ".join(_fmt(v) for v in row) + " |" for row in table.itertuples(index=False)
    )


def main() -> None:
    paths = make_sample(HERE, seed=SAMPLE_SEED)
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
        f"{_markdown(rule_baselines(history))}\n"
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
