"""Explanations: LightGBM's exact TreeSHAP contributions, grouped by fact, worded from templates.

Contributions are in log-odds and add up (with the bias) to the booster's raw
score. Features expressing one fact (``features/reason_templates.yaml``) are
summed into one reason; only reasons that raise the risk become ``reason_1..3``;
the largest lowering factors stay available in :func:`explain_long`.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from parcelrisk.errors import ConfigError
from parcelrisk.extra_columns import ExtraColumn
from parcelrisk.features import OTHER_LEVEL, FeatureContext
from parcelrisk.reference import default_reference_dir
from parcelrisk.schema import ManifestSchema as M

__all__ = ["ReasonTemplates", "group_contributions", "explain_long", "load_templates"]

#: Raw item fields a template may quote (never names, addresses, phones or e-mails).
QUOTABLE_FIELDS = (
    M.description,
    M.hs_code,
    M.origin_country,
    M.sender_country,
    M.recipient_country,
    M.service,
    M.item_category,
)


#: The group of ``features/reason_templates.yaml`` that words a unit's own columns, and its
#: wording when a (customised) templates file lacks it.
OWN_COLUMNS_GROUP = "own_columns"
_DEFAULT_OWN_GROUP: dict[str, Any] = {
    "name": OWN_COLUMNS_GROUP,
    "features": ["own_*"],
    "text": "{top_feature_text}: {top_feature_value}",
    "text_hidden": "{top_feature_text} (value not shown) raised the risk",
}


@dataclass(frozen=True)
class ReasonTemplates:
    groups: list[dict[str, Any]]
    #: plural -> singular nouns, used after the count 1 ("1 item", "1 different sender").
    singular: dict[str, str] = field(default_factory=dict)

    def agree(self, text: str) -> str:
        """``text`` with every noun counted 1 in the singular ("received 1 items" -> "1 item").

        >>> ReasonTemplates([], {"items": "item", "senders": "sender"}).agree(
        ...     "received 1 items from 1 different senders, 11 items in all")
        'received 1 item from 1 different sender, 11 items in all'
        """
        if not self.singular:
            return text
        return _singular_pattern(tuple(sorted(self.singular))).sub(
            lambda m: f"{m.group(1)}{self.singular[m.group(2)]}", text
        )

    def with_own_columns(self, columns: Sequence[ExtraColumn]) -> ReasonTemplates:
        """One reason per declared column (:mod:`parcelrisk.extra_columns`), before the others.

        Each is worded from the ``own_columns`` group: ``text`` for numeric and categorical
        columns, ``text_hidden`` for identifier and text columns, whose values are never
        shown (``hide_value``). Without declared columns the templates are unchanged.
        """
        if not columns:
            return self
        base = next((g for g in self.groups if g["name"] == OWN_COLUMNS_GROUP), None)
        base = _DEFAULT_OWN_GROUP | (base or {})
        own = [
            {
                "name": c.feature,
                "features": [c.feature],
                "text": base["text_hidden"] if c.hidden else base["text"],
                "hide_value": c.hidden,
                "per_column": True,
            }
            for c in columns
        ]
        others = [g for g in self.groups if g["name"] != OWN_COLUMNS_GROUP]
        return dataclasses.replace(self, groups=own + others)

    def group_of(self, feature_names: list[str]) -> dict[str, str]:
        """feature -> reason group name (first matching group)."""
        out: dict[str, str] = {}
        for feature in feature_names:
            for group in self.groups:
                if any(fnmatch.fnmatchcase(feature, pat) for pat in group["features"]):
                    out[feature] = group["name"]
                    break
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"groups": self.groups, "singular": self.singular}


@functools.lru_cache(maxsize=8)
def _singular_pattern(plurals: tuple[str, ...]) -> re.Pattern[str]:
    # "1" as a whole number, then at most one adjective ("different", "other", "earlier").
    nouns = "|".join(map(re.escape, plurals))
    return re.compile(rf"(?<![\d.,])(1 (?:[a-z]+ )?)({nouns})\b")


def load_templates(path: str | Path | None = None) -> ReasonTemplates:
    p = Path(path) if path else default_reference_dir() / "reason_templates.yaml"
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{p}: cannot read reason templates ({exc})") from None
    return ReasonTemplates(list(data["groups"]), dict(data.get("singular") or {}))


def group_contributions(contrib: pd.DataFrame, templates: ReasonTemplates) -> pd.DataFrame:
    """Sum feature contributions per reason group (rows: items; columns: groups)."""
    features = [c for c in contrib.columns if c != "bias"]
    mapping = templates.group_of(features)
    return contrib[features].T.groupby(pd.Series(mapping)).sum().T


class _Values(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> Any:
        raise KeyError(key)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def _case_applies(case: dict[str, Any], values: dict[str, Any]) -> bool:
    """One ``cases`` entry: ``missing: true``, ``equals: v``, ``at_most: x`` or ``at_least: x``."""
    value = values.get(case["feature"])
    blank = _missing(value) or (isinstance(value, str) and not value.strip())
    if case.get("missing"):
        return blank
    if "equals" in case:
        return not blank and str(value) == str(case["equals"])
    number = _number(value)
    if number is None:
        return False
    if "at_most" in case and number > float(case["at_most"]):
        return False
    if "at_least" in case and number < float(case["at_least"]):
        return False
    return "at_most" in case or "at_least" in case


def _template(group: dict[str, Any], values: dict[str, Any], top_feature: str) -> str | None:
    """The template for this item, or None when the fact is not one an officer can check.

    Order: the top feature's ``by_feature`` entry (a text, or a dict with ``text``, ``missing``
    and ``cases``), then the group's ``cases``; the first case that applies wins. A case whose
    text is null drops the reason (for example "1 item to this recipient today").
    """
    template: str | None = group["text"]
    special = group.get("by_feature", {}).get(top_feature)
    cases = list(group.get("cases", []))
    if isinstance(special, dict):
        template = special.get("text", template)
        if "missing" in special:
            cases.insert(0, {"feature": top_feature, "missing": True, "text": special["missing"]})
        cases = [*special.get("cases", []), *cases]
    elif special:
        template = special
    if group["name"] == "vague_description" and not values.get("vague_list"):
        template = group.get("text_if_not_vague", template)
    if group["name"] == "hs_mismatch" and (values.get("hs_missing") or values.get("hs_malformed")):
        template = group.get("text_if_missing", template)
    for case in cases:
        if _case_applies(case, values):
            return case.get("text")
    return template


def _render(
    group: dict[str, Any], values: dict[str, Any], top_feature: str, top_feature_text: str
) -> str | None:
    """The sentence of a raising reason, or None when there is no checkable fact to state."""
    shown = None if group.get("hide_value") else _shown(values.get(top_feature))
    values = _Values(values, top_feature_text=top_feature_text, top_feature_value=shown)
    template = _template(group, values, top_feature)
    if template is None:
        return None
    try:
        text = template.format_map(values)
    except (KeyError, ValueError, TypeError, IndexError):
        text = ""
    if group.get("per_column"):  # a unit's column: its description starts the sentence
        return f"{text[:1].upper()}{text[1:]}" if text else None
    if text and "nan" not in text.replace("(", " ").replace(")", " ").split():
        return text
    # The template could not be filled: state the strongest feature's meaning with its value.
    value = values.get(top_feature)
    if _missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    return f"{top_feature_text[:1].upper()}{top_feature_text[1:]}: {_shown(value)}"


#: Verb forms turned round to state a lowering factor as the fact it is ("does not use ...").
_NEGATIONS = (
    (" does not ", " does "),
    (" is not ", " is "),
    (" uses ", " does not use "),
    (" is ", " is not "),
    (" was ", " was not "),
    (" identifies nobody", " identifies someone"),
)


#: How the meaning of a yes/no feature starts (its value is 0 or 1).
_YES_NO_STARTS = ("the ", "a ", "declared ", "gift ", "value ", "delivered ", "no ")
#: ... unless the meaning names a quantity, which is quoted with its value.
_QUANTITY_WORDS = ("in EUR", "per kg", "in kg", "percentile", "number of", "length of")


def _lowering_text(meaning: str, value: Any) -> str:
    """A lowering factor as a fact: "The goods description does not use chemicals words".

    Yes/no features are negated when false; counts of zero say "no ..."; other values are
    quoted with the feature's meaning. Never a bare "meaning: 0".
    """
    number = _number(value)
    text = meaning
    yes_no = (
        number in (0.0, 1.0)
        and (meaning.startswith(_YES_NO_STARTS) or any(v in f" {meaning} " for v, _ in _NEGATIONS))
        and not any(unit in meaning for unit in _QUANTITY_WORDS)
    )
    if yes_no and number == 1:
        text = meaning
    elif number == 0 and meaning.startswith("no "):
        text = f"not the case: {meaning}"
    elif yes_no and number == 0:
        padded = f" {meaning} "
        for verb, negated in _NEGATIONS:
            if verb in padded:
                text = padded.replace(verb, negated, 1).strip()
                break
        else:
            text = f"not the case: {meaning}"
    elif number == 0 and meaning.startswith(
        ("items ", "earlier items ", "different ", "number of ")
    ):
        text = f"no {meaning.removeprefix('number of ')}"
    else:
        text = f"{meaning}: {_shown(value)}"
    return f"{text[:1].upper()}{text[1:]}"


def explain_long_empty() -> pd.DataFrame:
    """The long reason table with no rows."""
    return pd.DataFrame(
        columns=["row", "item_id", "rank", "reason", "feature", "value", "contribution", "text"]
    )


def explain_long(
    raw: pd.DataFrame,
    features: pd.DataFrame,
    context: FeatureContext,
    contrib: pd.DataFrame,
    descriptions: dict[str, str],
    templates: ReasonTemplates,
    top: int = 5,
) -> pd.DataFrame:
    """One row per (item, reason): rank, group, top feature, value, contribution, text.

    Reasons that raise risk come first (rank 1, 2, ...); then the largest
    lowering factors with negative ranks (-1 is the strongest).
    """
    if len(contrib) == 0:
        return explain_long_empty()
    grouped = group_contributions(contrib, templates)
    mapping = templates.group_of([c for c in contrib.columns if c != "bias"])
    groups_by_name = {g["name"]: g for g in templates.groups}
    # The strongest feature of each group, per row, in one vectorised step per group.
    top_feature_of = {}
    for group in grouped.columns:
        members = [f for f, grp in mapping.items() if grp == group]
        strongest = np.abs(contrib[members].to_numpy()).argmax(axis=1)
        top_feature_of[group] = np.asarray(members, dtype=object)[strongest]
    column_of = {g: i for i, g in enumerate(grouped.columns)}
    group_names = np.asarray(grouped.columns, dtype=object)
    group_values = grouped.to_numpy()
    watch = context.watchlists.reindex(contrib.index).fillna("").to_numpy()
    raw_rows = raw.reindex(contrib.index)[[c for c in (M.item_id, *QUOTABLE_FIELDS) if c in raw]]
    raw_records = raw_rows.to_dict("records")
    feat_records = features.reindex(contrib.index).to_dict("records")
    vague = context.vague_list.reindex(contrib.index).fillna("").to_numpy()
    records: list[dict[str, Any]] = []
    for i, row in enumerate(contrib.index):
        order = np.argsort(-group_values[i], kind="stable")
        # Not cut at `top` yet: a raising reason with no checkable fact is dropped below.
        ups = [(group_names[j], group_values[i, j]) for j in order if group_values[i, j] > 0]
        downs = [
            (group_names[j], group_values[i, j]) for j in order[::-1] if group_values[i, j] < -1e-3
        ][:top]
        values = _item_values(raw_records[i], feat_records[i], vague[i], watch[i])
        ranked: list[tuple[str, float]] = []
        if watch[i]:
            ranked.append(("watchlist", float("inf")))
        ranked += ups
        rank = 0
        for name, val in [*ranked, *downs]:
            top_feature = top_feature_of[name][i] if name in column_of else "watchlist"
            meaning = descriptions.get(top_feature, top_feature)
            hidden = bool(groups_by_name.get(name, {}).get("hide_value"))
            if val > 0:
                if rank >= top:
                    continue
                text = _render(groups_by_name[name], values, top_feature, meaning)
                if text is None:  # no fact an officer could check: the next reason moves up
                    continue
                text = templates.agree(text)
                rank = rank + 1 if rank > 0 else 1
            elif hidden:  # an identifier or text column: its value is never shown
                text = f"{meaning[:1].upper()}{meaning[1:]} (value not shown) lowered the risk"
                rank = -1 if rank >= 0 else rank - 1
            else:
                # Lowering factors: the templates assert risky facts, so state the fact as it is.
                text = _lowering_text(meaning, values.get(top_feature))
                rank = -1 if rank >= 0 else rank - 1
            records.append(
                {
                    "row": row,
                    "item_id": raw_records[i].get(M.item_id),
                    "rank": rank,
                    "reason": name,
                    "feature": top_feature,
                    "value": None if hidden else _plain(values.get(top_feature)),
                    "contribution": float(val) if math.isfinite(val) else np.nan,
                    "text": text,
                }
            )
    return pd.DataFrame.from_records(records)


def _shown(value: Any) -> str:
    if _missing(value):
        return "none"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):,.2f}".rstrip("0").rstrip(".")
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return round(float(value), 4)
    return None if value is None else str(value)


def _item_values(
    raw: dict[str, Any], feats: dict[str, Any], vague_list: str, watchlists: str
) -> dict[str, Any]:
    # the catch-all level of rare categories reads as "other" in words
    values: dict[str, Any] = {
        str(name): "other" if isinstance(v, str) and v == OTHER_LEVEL else v
        for name, v in feats.items()
    }
    for name in QUOTABLE_FIELDS:
        if name in raw:
            v = raw[name]
            values[name] = "" if _missing(v) else str(v)
    values["vague_list"] = vague_list
    values["watchlists"] = watchlists
    chapter = str(values.get("hs_chapter", ""))
    if chapter in ("nan", "other", "None", "<NA>", ""):
        chapter = ""
    values["hs_chapter"] = chapter or "unknown"
    pct = values.get("vpk_pct_chapter", float("nan"))
    reference = f"items in HS chapter {chapter}" if chapter else "all items"
    if _missing(pct):
        values["vpk_comparison"] = float("nan")
    else:
        # A percentile of 0 or 100 would read "lower than 100% of all items": the item itself
        # is among them, so the statement is capped at 99%.
        share = min(max(float(pct), 1.0), 99.0)
        if share < 50:
            values["vpk_comparison"] = f"lower than {100 - share:.0f}% of {reference}"
        else:
            values["vpk_comparison"] = f"higher than {share:.0f}% of {reference}"
    return values
