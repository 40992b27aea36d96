"""Text signals: keyword groups of the goods description (lists in ``features/keyword_groups.yaml``)."""

from __future__ import annotations

import re

import pandas as pd

from parcelrisk.reference import ReferenceData


def descriptions(ref: ReferenceData) -> dict[str, str]:
    """Output column -> meaning; one flag per keyword group plus the first group matched."""
    out = {
        f"kw_{g}": f"the goods description uses {g.replace('_', ' ')} words"
        for g in ref.keyword_groups
    }
    out["desc_group"] = "the keyword group of the goods description"
    return out


def keyword_flags(norm_desc: pd.Series, ref: ReferenceData) -> pd.DataFrame:
    """One 0/1 column per keyword group, computed once per distinct description."""
    uniques = pd.Series(norm_desc.unique(), dtype="str")
    flags = {}
    for group, words in ref.keyword_groups.items():
        pattern = (
            r"\b(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b"
        )
        flags[f"kw_{group}"] = uniques.str.contains(pattern, regex=True).astype("int8").to_numpy()
    table = pd.DataFrame(flags, index=uniques.to_numpy())
    out = table.reindex(norm_desc.to_numpy())
    out.index = norm_desc.index
    return out


def primary_group(flags: pd.DataFrame) -> pd.Series:
    """The first keyword group matched (in file order), or ``"none"``."""
    names = [c.removeprefix("kw_") for c in flags.columns]
    any_hit = flags.to_numpy().any(axis=1)
    first = flags.to_numpy().argmax(axis=1)
    values = pd.Series(names, dtype="str").iloc[first].to_numpy()
    return pd.Series(values, index=flags.index, dtype="str").where(any_hit, "none")
