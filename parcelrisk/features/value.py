"""Value and weight: value in EUR, value per kg against what is usual for the goods, thresholds.

Reference statistics (quantiles of log value per kg per HS chapter and per
keyword group) are learned in :meth:`ValueReference.fit` on training manifests.
Thresholds: ``features/thresholds.yaml`` (EU duty relief EUR 150, gifts EUR 45,
UPU letter weight limit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from parcelrisk.reference import ReferenceData
from parcelrisk.schema import ManifestSchema as M

DESCRIPTIONS = {
    "value_eur": "declared value in EUR",
    "value_per_kg_eur": "declared value per kg in EUR",
    "weight_kg": "gross weight in kg",
    "value_missing_or_zero": "no value, or a zero value, was declared",
    "vpk_pct_chapter": "percentile of value per kg among items of the same HS chapter",
    "vpk_pct_group": "percentile of value per kg among items with similar descriptions",
    "value_round": "the declared value is a round number",
    "just_below_150": "value just below the EUR 150 duty-relief threshold",
    "gift_just_below_45": "gift valued just below the EUR 45 gift-relief threshold",
    "letter_overweight": "a letter or small packet heavier than the postal limit",
}

_QUANTILES = np.linspace(0.0, 1.0, 101)
_MIN_COUNT = 30


@dataclass
class ValueReference:
    """Quantiles of log(1 + value per kg in EUR), per HS chapter and per keyword group."""

    by_chapter: dict[str, list[float]]
    by_group: dict[str, list[float]]
    overall: list[float]

    @classmethod
    def fit(cls, log_vpk: pd.Series, chapter: pd.Series, group: pd.Series) -> ValueReference:
        ok = log_vpk.notna()

        def table(keys: pd.Series) -> dict[str, list[float]]:
            frame = pd.DataFrame({"k": keys[ok], "v": log_vpk[ok]}).dropna()
            sizes = frame.groupby("k").size()
            keep = sizes[sizes >= _MIN_COUNT].index
            return {
                str(k): np.round(np.quantile(g["v"].to_numpy(), _QUANTILES), 6).tolist()
                for k, g in frame[frame["k"].isin(keep)].groupby("k")
            }

        overall = (
            np.round(np.quantile(log_vpk[ok].to_numpy(), _QUANTILES), 6).tolist()
            if ok.any()
            else [0.0] * 101
        )
        return cls(table(chapter), table(group), overall)

    def percentile(
        self, log_vpk: pd.Series, keys: pd.Series, tables: dict[str, list[float]]
    ) -> pd.Series:
        """Share (0-100) of reference items with a lower value per kg; overall table if the key is unknown."""
        out = pd.Series(np.nan, index=log_vpk.index, dtype="float32")
        known = keys.isin(list(tables)).fillna(False)
        for key, idx in keys[known].groupby(keys[known]).groups.items():
            out[idx] = _pct(log_vpk[idx], tables[str(key)])
        rest = ~known
        out[rest] = _pct(log_vpk[rest], self.overall)
        return out.where(log_vpk.notna())

    def to_dict(self) -> dict[str, object]:
        return {"by_chapter": self.by_chapter, "by_group": self.by_group, "overall": self.overall}


def _pct(values: pd.Series, quantiles: list[float]) -> np.ndarray:
    q = np.asarray(quantiles)
    return (
        np.searchsorted(q, values.to_numpy(dtype="float64"), side="left") * (100.0 / len(q))
    ).astype("float32")


def value_in_eur(X: pd.DataFrame, ref: ReferenceData) -> pd.Series:
    """Declared value converted with the fixed rates; NaN for unknown currencies."""
    if M.declared_value not in X:
        return pd.Series(np.nan, index=X.index)
    currency = X[M.currency] if M.currency in X else pd.Series("EUR", index=X.index)
    rate = currency.fillna("EUR").map(ref.currency_rates).astype("float64")
    return (X[M.declared_value].astype("float64") / rate).round(4)


def log_value_per_kg(value_eur: pd.Series, weight: pd.Series) -> pd.Series:
    return np.log1p(value_eur / weight)


def value_features(
    X: pd.DataFrame,
    value_eur: pd.Series,
    chapter: pd.Series,
    group: pd.Series,
    reference: ValueReference,
    ref: ReferenceData,
) -> pd.DataFrame:
    weight = X[M.gross_weight_kg].astype("float64")
    log_vpk = log_value_per_kg(value_eur, weight)
    thresholds = ref.thresholds["value_thresholds_eur"]
    margin = 1.0 - float(ref.thresholds["just_below_fraction"])
    low, gift = float(thresholds["low_value_relief"]), float(thresholds["gift_relief"])
    category = X[M.item_category] if M.item_category in X else pd.Series(pd.NA, index=X.index)
    service = X[M.service] if M.service in X else pd.Series(pd.NA, index=X.index)
    declared = X[M.declared_value] if M.declared_value in X else pd.Series(np.nan, index=X.index)
    light_services = service.isin(["letter", "small_packet"]).fillna(False)
    limit = float(ref.thresholds["letter_max_weight_kg"])
    return pd.DataFrame(
        {
            "value_eur": value_eur.astype("float32"),
            "value_per_kg_eur": (value_eur / weight).astype("float32"),
            "weight_kg": weight.astype("float32"),
            "value_missing_or_zero": (value_eur.isna() | value_eur.eq(0)).astype("int8"),
            "vpk_pct_chapter": reference.percentile(log_vpk, chapter, reference.by_chapter),
            "vpk_pct_group": reference.percentile(log_vpk, group, reference.by_group),
            "value_round": ((declared % 5).eq(0) & declared.gt(0)).fillna(False).astype("int8"),
            "just_below_150": value_eur.between(low * margin, low, inclusive="left").astype("int8"),
            "gift_just_below_45": (
                category.eq("gift").fillna(False)
                & value_eur.between(gift * margin, gift, inclusive="left")
            ).astype("int8"),
            "letter_overweight": (light_services & weight.gt(limit)).astype("int8"),
        },
        index=X.index,
    )
