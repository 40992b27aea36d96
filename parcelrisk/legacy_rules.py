"""The legacy rule-based targeting policy (``features/legacy_targeting_rules.yaml``), vectorised.

The policy is what a customs risk unit applies before any model: a few
profiles over raw manifest columns, each selecting items for inspection with
some probability. It drives the simulated inspections of
:mod:`parcelrisk.synthetic` and is the baseline a model must beat.

>>> rules = [LegacyRule("chem_cn", "chemicals from CN", 0.5,
...     {"origin_country_in": ["CN"], "description_contains_any": ["reagent"]}),
...     LegacyRule("hs29_letter", "HS 29 by letter", 0.3,
...     {"hs_chapter_in": ["29"], "service_in": ["letter"]})]
>>> df = pd.DataFrame({"origin_country": ["CN", "DE"], "description": ["Lab Reagent", "reagent"],
...     "hs_code": [None, "2933.99"], "service": ["parcel", "letter"]})
>>> legacy_rule_hits(df, rules).to_numpy().tolist()
[[True, False], [False, True]]
>>> legacy_rule_score(df, rules).round(2).tolist()
[0.5, 0.3]
>>> [r.name for r in load_legacy_rules()][:2]
['chemicals_from_nps_source', 'medicines_from_diversion_source']
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from parcelrisk.errors import ConfigError
from parcelrisk.reference import default_reference_dir, load_reference, normalise_text
from parcelrisk.schema import MANIFEST_COLUMNS, ManifestSchema

__all__ = [
    "LegacyRule",
    "LegacyPolicy",
    "RULES_FILE",
    "load_legacy_rules",
    "load_legacy_policy",
    "legacy_rule_hits",
    "legacy_rule_score",
    "load_vague_terms",
    "vague_description",
]

M = ManifestSchema
#: The policy file's name in the reference folder (``$PARCELRISK_FEATURES_DIR`` or ``features/``).
RULES_FILE = "legacy_targeting_rules.yaml"

_SCALAR_CONDITIONS = {
    "value_eur_per_kg_below",
    "value_eur_below",
    "value_eur_above",
    "weight_kg_above",
    "weight_kg_below",
}
_BOOL_CONDITIONS = {"hs_code_missing", "description_is_vague", "sender_country_differs_from_origin"}
_LIST_CONDITIONS = {"description_contains_any", "hs_chapter_in"}


@dataclass(frozen=True)
class LegacyRule:
    """One targeting profile: all entries of ``when`` must hold; inspect with ``probability``."""

    name: str
    description: str
    probability: float
    when: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LegacyPolicy:
    """The rules plus officer discretion and the random control sample (rates per item)."""

    rules: list[LegacyRule]
    officer_discretion_rate: float = 0.005
    random_control_rate: float = 0.01


def _check_condition(rule: str, key: str, arg: Any) -> None:
    if key in _SCALAR_CONDITIONS:
        if not isinstance(arg, int | float) or isinstance(arg, bool):
            raise ConfigError(f"rule {rule!r}: {key} needs a number, got {arg!r}")
    elif key in _BOOL_CONDITIONS:
        if not isinstance(arg, bool):
            raise ConfigError(f"rule {rule!r}: {key} needs true or false, got {arg!r}")
    elif key in _LIST_CONDITIONS or key.endswith(("_not_in", "_in")):
        if not isinstance(arg, list) or not arg:
            raise ConfigError(f"rule {rule!r}: {key} needs a non-empty list, got {arg!r}")
        if key not in _LIST_CONDITIONS:
            column = (
                key.removesuffix("_not_in") if key.endswith("_not_in") else key.removesuffix("_in")
            )
            if column not in MANIFEST_COLUMNS:
                raise ConfigError(f"rule {rule!r}: {key}: {column!r} is not a manifest column")
    else:
        raise ConfigError(f"rule {rule!r}: unknown condition {key!r}")


def load_legacy_policy(path: str | Path | None = None) -> LegacyPolicy:
    """Read and check the policy file (default ``features/legacy_targeting_rules.yaml``)."""
    path = Path(path) if path is not None else default_reference_dir() / RULES_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the legacy rules ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ConfigError(f"{path}: expected a mapping with a 'rules' list")
    rules: list[LegacyRule] = []
    for entry in data["rules"]:
        name = str(entry.get("name", ""))
        prob = entry.get("probability")
        when = entry.get("when") or {}
        if not name or not isinstance(prob, int | float) or not 0 <= prob <= 1:
            raise ConfigError(f"{path}: rule {name!r} needs a name and a probability in [0, 1]")
        if not isinstance(when, dict) or not when:
            raise ConfigError(f"{path}: rule {name!r} needs a non-empty 'when' mapping")
        for key, arg in when.items():
            _check_condition(name, key, arg)
        rules.append(LegacyRule(name, str(entry.get("description", "")), float(prob), dict(when)))
    if len({r.name for r in rules}) != len(rules):
        raise ConfigError(f"{path}: rule names must be unique")
    return LegacyPolicy(
        rules=rules,
        officer_discretion_rate=float(data.get("officer_discretion_rate", 0.005)),
        random_control_rate=float(data.get("random_control_rate", 0.01)),
    )


def load_legacy_rules(path: str | Path | None = None) -> list[LegacyRule]:
    """The rules of the legacy targeting policy (see :func:`load_legacy_policy`)."""
    return load_legacy_policy(path).rules


@lru_cache(maxsize=4)
def _currency_rates(directory: str) -> dict[str, float]:
    path = Path(directory) / "currency_rates.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read currency rates ({exc})") from None
    return {str(k): float(v) for k, v in data.items()}


@lru_cache(maxsize=4)
def _vague_terms(directory: str) -> frozenset[str]:
    # The same normalised lists the features use (parcelrisk.reference), read once per folder.
    terms = frozenset(load_reference(directory).vague_terms)
    if not terms:
        raise ConfigError(f"{directory}: no vague_descriptions/*.txt lists found")
    return terms


def load_vague_terms(directory: str | Path | None = None) -> frozenset[str]:
    """Normalised terms and variants of ``features/vague_descriptions/*.txt``."""
    return _vague_terms(str(Path(directory) if directory is not None else default_reference_dir()))


def _per_unique(values: pd.Series, func: Any) -> np.ndarray:
    """Apply a vectorised ``func`` to the distinct values only and broadcast back."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    out = np.asarray(func(pd.Series(uniques, dtype="str")), dtype=bool)
    result = np.zeros(len(values), dtype=bool)
    valid = codes >= 0
    result[valid] = out[codes[valid]]
    return result


def vague_description(descriptions: pd.Series, directory: str | Path | None = None) -> pd.Series:
    """Whether each whole normalised description equals a PACT/ICS2 vague term (vectorised).

    >>> vague_description(pd.Series(["Gift", "GOODS!", "phone case", None])).tolist()
    [True, True, False, False]
    """
    terms = load_vague_terms(directory)
    hits = _per_unique(descriptions, lambda u: normalise_text(u).isin(terms).to_numpy())
    return pd.Series(hits, index=descriptions.index, name="vague_description")


def _contains_any(descriptions: pd.Series, words: list[str]) -> np.ndarray:
    norm_words = sorted(
        {w for w in normalise_text(pd.Series(words, dtype="str")) if w}, key=len, reverse=True
    )
    pattern = r"\b(?:" + "|".join(re.escape(w) for w in norm_words) + r")\b"
    return _per_unique(
        descriptions, lambda u: normalise_text(u).str.contains(pattern, regex=True).to_numpy()
    )


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df:
        return pd.Series(np.nan, index=df.index, dtype="str")
    return df[name]


def _value_eur(df: pd.DataFrame, rates: Mapping[str, float]) -> np.ndarray:
    value = pd.to_numeric(_column(df, M.declared_value), errors="coerce").to_numpy(dtype="float64")
    currency = _column(df, M.currency).astype("str").str.upper()
    rate = currency.map(dict(rates)).to_numpy(dtype="float64", na_value=np.nan)
    return value / rate


def _condition(
    df: pd.DataFrame,
    key: str,
    arg: Any,
    rates: Mapping[str, float],
    features_dir: str | Path | None,
) -> np.ndarray:
    weight = pd.to_numeric(_column(df, M.gross_weight_kg), errors="coerce").to_numpy(
        dtype="float64"
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        if key == "description_contains_any":
            return _contains_any(_column(df, M.description), list(arg))
        if key == "description_is_vague":
            return vague_description(_column(df, M.description), features_dir).to_numpy() == arg
        if key in ("hs_chapter_in", "hs_code_missing"):
            digits = _column(df, M.hs_code).astype("str").str.replace(r"\D", "", regex=True)
            missing = (digits.fillna("").str.len() < 2).to_numpy()
            if key == "hs_code_missing":
                return missing == arg
            chapters = {str(c).zfill(2) for c in arg}
            return digits.str[:2].isin(chapters).to_numpy() & ~missing
        if key == "weight_kg_above":
            return weight > arg
        if key == "weight_kg_below":
            return weight < arg
        if key == "value_eur_below":
            return _value_eur(df, rates) < arg
        if key == "value_eur_above":
            return _value_eur(df, rates) > arg
        if key == "value_eur_per_kg_below":
            return (_value_eur(df, rates) / weight) < arg
        if key == "sender_country_differs_from_origin":
            sender = _column(df, M.sender_country).astype("str")
            origin = _column(df, M.origin_country).astype("str")
            differs = (sender != origin).to_numpy() & origin.notna().to_numpy()
            return differs == arg
        negate = key.endswith("_not_in")
        column = key.removesuffix("_not_in") if negate else key.removesuffix("_in")
        values = _column(df, column).astype("str").str.lower()
        inside = values.isin({str(v).lower() for v in arg}).to_numpy()
        return ~inside if negate else inside


def legacy_rule_hits(
    df: pd.DataFrame,
    rules: list[LegacyRule],
    *,
    currency_rates: Mapping[str, float] | None = None,
    features_dir: str | Path | None = None,
) -> pd.DataFrame:
    """One boolean column per rule: whether the rule's condition holds for each item.

    Missing inputs make a condition false (except ``*_not_in``, where a missing
    value is "not in the list").
    """
    directory = str(Path(features_dir) if features_dir is not None else default_reference_dir())
    rates = currency_rates if currency_rates is not None else _currency_rates(directory)
    out: dict[str, np.ndarray] = {}
    for rule in rules:
        hit = np.ones(len(df), dtype=bool)
        for key, arg in rule.when.items():
            hit &= _condition(df, key, arg, rates, features_dir)
        out[rule.name] = hit
    return pd.DataFrame(out, index=df.index, columns=[r.name for r in rules], dtype=bool)


def legacy_rule_score(
    df: pd.DataFrame,
    rules: list[LegacyRule],
    *,
    currency_rates: Mapping[str, float] | None = None,
    features_dir: str | Path | None = None,
) -> pd.Series:
    """Chance the policy selects an item: ``1 - prod(1 - p_rule)`` over the rules that fire."""
    hits = legacy_rule_hits(df, rules, currency_rates=currency_rates, features_dir=features_dir)
    probs = np.array([r.probability for r in rules], dtype="float64")
    keep = (
        np.prod(np.where(hits.to_numpy(), 1.0 - probs, 1.0), axis=1) if rules else np.ones(len(df))
    )
    return pd.Series(1.0 - keep, index=df.index, name="legacy_rule_score", dtype="float64")
