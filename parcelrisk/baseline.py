"""The plain baseline: LightGBM on the raw manifest columns, fitted and measured in every training run.

Why: a customs unit that adopts parcelrisk could instead have its data
scientist fit LightGBM on the manifest as it comes. parcelrisk has to at least
match that on the unit's own data, and say so when it does not (issue 18). So
:func:`parcelrisk.train.train_model` also fits that plain model, and measures
the model, the plain baseline and the legacy rules the same way: on the same
test days, at the same capacities, by the same unbiased off-policy estimate
(IPS, :func:`parcelrisk.estimation.off_policy`, the figure ``promote`` decides
on) and, on synthetic data, against the truth.

What "plain" means here: the raw columns as a data scientist would use them
without parcelrisk's features. Numbers as numbers (declared value, gross
weight, quantity); codes and short texts as LightGBM categoricals (countries,
route, service, currency, operator, CN23 category, the HS code cut to its 6
digits, the description lower-cased); no history or entity profiles, no
curated lists, no text features. Everything else is the model's: the same
training and early-stopping rows (inspected items of the train and calibration
days), the same selection weights, the configured LightGBM parameters (not the
``--tune``-d ones) with the same seed, rounds and early stopping.

The plain booster is **not** saved or shipped: only its figures are kept, in
the model metadata (``baselines``), the model card and MLflow
(``baseline_plain_*``). :func:`beats_baseline` reads them back.

>>> frame = pd.DataFrame({"declared_value": [3.0, None], "hs_code": ["2933.99.10", None],
...     "description": [" Phone Case", "GIFT"], "note": ["a", "b"]})
>>> cols = raw_columns(frame, declared={"note": "text"})
>>> cols.numeric, cols.categorical
(('declared_value',), ('hs_code', 'description'))
>>> raw_frame(frame, cols)["hs_code"].tolist()
['293399', nan]
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from parcelrisk.errors import ConfigError
from parcelrisk.schema import ManifestSchema as M
from parcelrisk.schema import TruthSchema as T

__all__ = [
    "RAW_NUMERIC",
    "RAW_CATEGORICAL",
    "DECLARED_ROLES",
    "METHODS",
    "RawColumns",
    "PlainBaseline",
    "raw_columns",
    "raw_frame",
    "fit_plain_baseline",
    "baseline_figures",
    "beats_baseline",
]

#: Manifest columns the plain baseline reads as numbers.
RAW_NUMERIC: tuple[str, ...] = (M.declared_value, M.gross_weight_kg, M.quantity)
#: Manifest columns it reads as categories (names, addresses, phones and e-mails never).
RAW_CATEGORICAL: tuple[str, ...] = (
    M.origin_country,
    M.sender_country,
    M.recipient_country,
    M.routing_countries,
    M.service,
    M.currency,
    M.operator,
    M.item_category,
    M.hs_code,
    M.description,
)
#: Roles a unit may declare for its own columns, and what the plain baseline makes of them:
#: identifiers are categories to a plain LightGBM; it has no text model, so text is left out.
DECLARED_ROLES: dict[str, str | None] = {
    "numeric": "numeric",
    "categorical": "categorical",
    "identifier": "categorical",
    "text": None,
}
#: The three rankings every training run compares, as named in the evaluation table.
METHODS = ("model", "plain_baseline", "legacy_rules")


@dataclass(frozen=True)
class RawColumns:
    """The columns the plain baseline uses, by role."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return [*self.numeric, *self.categorical]


def raw_columns(frame: pd.DataFrame, declared: Mapping[str, str] | None = None) -> RawColumns:
    """The raw columns of ``frame`` a plain LightGBM would use, with their role.

    The manifest columns of :data:`RAW_NUMERIC` and :data:`RAW_CATEGORICAL`
    that ``frame`` holds, then a unit's own ``declared`` columns
    (``{column: role}``, roles as in :data:`DECLARED_ROLES`) in their order.
    """
    numeric = [c for c in RAW_NUMERIC if c in frame]
    categorical = [c for c in RAW_CATEGORICAL if c in frame]
    for column, role in (declared or {}).items():
        if role not in DECLARED_ROLES:
            raise ConfigError(
                f"declared column {column!r}: role {role!r} is not one of {', '.join(DECLARED_ROLES)}"
            )
        kind = DECLARED_ROLES[role]
        if kind is None or column not in frame or column in numeric or column in categorical:
            continue
        (numeric if kind == "numeric" else categorical).append(column)
    return RawColumns(tuple(numeric), tuple(categorical))


def raw_frame(
    frame: pd.DataFrame, columns: RawColumns, fit_rows: pd.Series | None = None
) -> pd.DataFrame:
    """The plain model's input: numbers as float, the rest as pandas categoricals.

    The categories are the values seen in ``fit_rows`` (default: every row),
    sorted, so the codes are deterministic and a value first seen later is
    missing to the model, as it would be to a model fitted on the training rows.
    The HS code keeps its first 6 digits; text is stripped and lower-cased.
    """
    out = pd.DataFrame(index=frame.index)
    for c in columns.numeric:
        out[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
    seen = (
        fit_rows.to_numpy(dtype=bool) if fit_rows is not None else np.ones(len(frame), dtype=bool)
    )
    for c in columns.categorical:
        out[c] = _categories(frame[c], seen, hs_code=c == M.hs_code)
    return out


def _categories(values: pd.Series, seen: np.ndarray, *, hs_code: bool = False) -> pd.Categorical:
    """``values`` cleaned (stripped, lower-cased; HS code: first 6 digits) as a categorical.

    Each distinct value is cleaned once (manifests repeat them); the categories are the
    cleaned values of the ``seen`` rows, sorted; other values and blanks are missing.
    """
    codes, distinct = pd.factorize(values)
    clean = pd.Series(distinct, dtype="object").astype("string").str.strip().str.lower()
    if hs_code:
        clean = clean.str.replace(r"\D", "", regex=True).str.slice(0, 6)
    clean = clean.mask(clean.eq("")).astype("object")
    seen_distinct = np.zeros(len(clean), dtype=bool)
    seen_distinct[codes[seen & (codes >= 0)]] = True
    categories = np.sort(clean[seen_distinct].dropna().unique().astype(str))
    # position of each distinct value among the categories, -1 if never seen or blank
    position = pd.Series(np.arange(len(categories)), index=categories).reindex(clean.to_numpy())
    position = position.fillna(-1).to_numpy(dtype=np.int64)
    mapped = np.where(codes >= 0, position[np.maximum(codes, 0)], -1)
    return pd.Categorical.from_codes(mapped, categories=categories)


@dataclass
class PlainBaseline:
    """A fitted plain baseline's margin for every row of the frame, and what it was fitted on."""

    margin: pd.Series
    columns: RawColumns
    best_iteration: int
    fit_seconds: float
    params: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-friendly description for the model metadata (the booster itself is not kept)."""
        return {
            "what": "plain LightGBM on the raw manifest columns (not shipped; figures only)",
            "features": self.columns.names,
            "numeric": list(self.columns.numeric),
            "categorical": list(self.columns.categorical),
            "best_iteration": self.best_iteration,
            "fit_seconds": round(self.fit_seconds, 2),
        }


def fit_plain_baseline(
    data: pd.DataFrame,
    *,
    train_rows: pd.Series,
    valid_rows: pd.Series,
    label: pd.Series,
    weight: np.ndarray,
    cfg: Mapping[str, Any],
    declared: Mapping[str, str] | None = None,
) -> PlainBaseline:
    """Fit plain LightGBM on the raw columns of ``data`` and score every row (raw margin).

    ``train_rows``/``valid_rows`` (boolean, aligned with ``data``), ``label`` and
    the positional ``weight`` are the model's own; ``cfg`` the training settings
    of ``features/model_params.yaml`` (``lightgbm``, ``seed``, ``num_boost_round``,
    ``early_stopping_rounds``).
    """
    start = time.perf_counter()
    columns = raw_columns(data, declared)
    if not columns.names:
        raise ConfigError("the plain baseline found none of its raw columns in the training data")
    X = raw_frame(data, columns, fit_rows=train_rows)
    # One thread: it trains on the inspected rows only (thousands), where a second thread
    # costs more than it saves, and waits on a busy machine (0.4 s against 20 s measured).
    params = dict(cfg["lightgbm"]) | {"seed": int(cfg["seed"]), "num_threads": 1}
    tr, va = train_rows.to_numpy(dtype=bool), valid_rows.to_numpy(dtype=bool)
    train_set = lgb.Dataset(
        X[tr], label[tr], weight=weight[tr], categorical_feature=list(columns.categorical)
    )
    valid_set = lgb.Dataset(X[va], label[va], weight=weight[va], reference=train_set)
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=int(cfg["num_boost_round"]),
        valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(int(cfg["early_stopping_rounds"]), verbose=False)],
    )
    best = int(booster.best_iteration or booster.current_iteration())
    margin = np.asarray(booster.predict(X, raw_score=True, num_iteration=best, num_threads=1))
    return PlainBaseline(
        pd.Series(margin, index=data.index, name="plain_baseline"),
        columns,
        best,
        time.perf_counter() - start,
        params,
    )


def _share(mask: np.ndarray, values: pd.Series) -> float | None:
    """Share of true flags among the picks; a truth column read from CSV holds 'True'/'False'."""
    if not mask.any():
        return None
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        flags = values.fillna(False).astype(bool).to_numpy()
    else:
        flags = (
            values.astype("string").str.strip().str.lower().isin(["true", "1", "yes"]).to_numpy()
        )
    return float(flags[mask].mean())


def baseline_figures(
    test: pd.DataFrame,
    rankings: Mapping[str, pd.Series],
    truth: pd.DataFrame | None,
    capacities: list[float],
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """The rankings side by side on the test days: off-policy IPS hit rate and truth at each capacity.

    ``test``: the labelled test-day rows (no truth columns); ``rankings``:
    ``{method: score}`` aligned with ``test`` (higher = riskier); ``truth``: the
    truth columns of the same rows, or None. Each ranking picks its top
    ``capacity`` of every day (ties by item_id, as scoring ranks). Per method
    and capacity: the IPS estimate with its 95% interval and ``n``, the logged
    inspections among the picks behind it; with truth, the share of picks that
    are illicit (``truth_illicit``) and that an inspection would find
    (``truth_found_if_inspected``, what IPS estimates). JSON-friendly.
    """
    from parcelrisk.estimation import (
        DECISION,
        candidate_picks,
        decision_log_from_labels,
        log_provenance,
        off_policy,
    )

    log = decision_log_from_labels(test)
    rows: list[dict[str, Any]] = []
    for method, scores in rankings.items():
        for c in capacities:
            est = off_policy(log, scores, float(c), seed=seed)
            picks = candidate_picks(log, scores, float(c))
            row: dict[str, Any] = {
                "method": method,
                "capacity": float(c),
                "picks": int(picks.sum()),
                "ips": est[DECISION].as_dict(),
                "truth_illicit": None,
                "truth_found": None,
            }
            if truth is not None and T.truth_illicit in truth:
                row["truth_illicit"] = _share(picks, truth[T.truth_illicit])
            if truth is not None and T.truth_found_if_inspected in truth:
                row["truth_found"] = _share(picks, truth[T.truth_found_if_inspected])
            rows.append(row)
    return {
        **log_provenance(log),
        "estimator": DECISION,
        "rows": rows,
    }


def _row(rows: list[dict[str, Any]], method: str, capacity: float) -> dict[str, Any] | None:
    return next(
        (r for r in rows if r.get("method") == method and float(r["capacity"]) == capacity), None
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def beats_baseline(metadata: Mapping[str, Any], capacity: float = 0.02) -> tuple[bool, str]:
    """Does the model at least match the plain baseline on its own test days? (yes/no, one line).

    Reads the ``baselines`` entry that :func:`parcelrisk.train.train_model`
    writes into the model metadata and compares the two off-policy IPS hit
    rates at the recorded capacity nearest ``capacity``: the model passes if
    its estimate is at least the plain baseline's (issue 18: "at least match
    what a plain model gets"). False, with the reason, when the figures are
    missing (a model trained before they were recorded) or undefined (no
    picks). The reason line gives both estimates with their intervals.
    """
    entry = metadata.get("baselines") or {}
    rows = entry.get("rows") or []
    recorded = sorted({float(r["capacity"]) for r in rows if "capacity" in r})
    if not recorded:
        return False, (
            "no plain-baseline figures in this model's metadata (trained before they were "
            "recorded): retrain it to compare, or force"
        )
    at = min(recorded, key=lambda c: (abs(c - capacity), c))
    model, plain = _row(rows, "model", at), _row(rows, "plain_baseline", at)
    if model is None or plain is None:
        return False, f"no model or plain-baseline figure at {at:.1%} capacity in the metadata"
    m, p = model["ips"], plain["ips"]
    mv, pv = m.get("value"), p.get("value")
    days = entry.get("days", {})
    where = (
        f"off-policy {str(entry.get('estimator', 'ips')).upper()} hit rate at {at:.1%} capacity "
        f"on the test days {days.get('first_day', '?')} to {days.get('last_day', '?')}"
    )
    if mv is None or pv is None or not (math.isfinite(mv) and math.isfinite(pv)):
        return False, f"{where}: undefined (model {_pct(mv)}, plain baseline {_pct(pv)})"
    ok = mv >= pv
    return ok, (
        f"{'beats' if mv > pv else 'matches' if ok else 'does not beat'} the plain baseline: "
        f"{where}, model {mv:.1%} (95% CI {_pct(m.get('low'))} to {_pct(m.get('high'))}, "
        f"{m.get('n', 0):,} logged picks) vs plain LightGBM {pv:.1%} "
        f"(95% CI {_pct(p.get('low'))} to {_pct(p.get('high'))}, {p.get('n', 0):,} logged picks)"
    )
