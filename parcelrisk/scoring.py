"""The one scoring path: validated rows -> features -> calibrated risk -> selection -> reasons.

The CLI, the library API (:meth:`Scorer.score`) and the MLflow pyfunc all call
:func:`score_frame`.

Selection at capacity
---------------------
Of ``capacity`` inspections, a ``control_share`` (default 5%) is a seeded
random draw from the items the model did not pick; the rest go to the highest
risk scores. Watch-list hits can be forced in first. Every item records
``selection_propensity``: the probability that it would have been selected
under today's policy (1 for model and watch-list picks; ``control slots /
eligible items`` for everything else). Hit rates over the control draw,
weighted by 1/propensity, are an unbiased estimate of what the unit misses, and
the next model can correct for the selection with the same weights.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
from pandas.api.types import union_categoricals
from pandera.typing import Series

from parcelrisk.errors import ConfigError
from parcelrisk.explain import ReasonTemplates, explain_long, load_templates
from parcelrisk.features import FeatureContext
from parcelrisk.model import ParcelRiskModel
from parcelrisk.reference import default_reference_dir
from parcelrisk.schema import ManifestSchema as M

__all__ = [
    "ScoredSchema",
    "ScoreOptions",
    "ScoreResult",
    "score_frame",
    "SELECTION_REASONS",
    "decision_frame",
    "round_significant",
]

SELECTION_REASONS = ("model", "control", "watchlist")


class ScoredSchema(pa.DataFrameModel):
    """One row per valid input item, in input order.

    item_id : the item. risk_score : calibrated probability that an inspection
    finds contraband. risk_band : high / medium / low (cut-offs in the model's
    metadata). risk_rank : 1 = highest score of the run. selected : inside
    today's capacity. selection_reason : model, control or watchlist (empty if
    not selected). selection_propensity : probability of selection under
    today's policy. data_quality_referral / data_quality_reason : data too poor
    to assess; ask the operator for better data. reason_1..3 : plain-text
    reasons that raised the risk. model_version, scored_at : traceability.
    """

    item_id: Series[str]
    risk_score: Series[float] = pa.Field(ge=0, le=1)
    risk_band: Series[str] = pa.Field(isin=["high", "medium", "low"])
    risk_rank: Series[int] = pa.Field(ge=1)
    selected: Series[bool]
    selection_reason: Series[str] = pa.Field(nullable=True)
    selection_propensity: Series[float] = pa.Field(ge=0, le=1)
    data_quality_referral: Series[bool]
    data_quality_reason: Series[str] = pa.Field(nullable=True)
    reason_1: Series[str] = pa.Field(nullable=True)
    reason_2: Series[str] = pa.Field(nullable=True)
    reason_3: Series[str] = pa.Field(nullable=True)
    model_version: Series[str]
    scored_at: Series[str]

    class Config:
        strict = True
        ordered = True


@dataclass(frozen=True)
class ScoreOptions:
    """How many to select and how to explain. ``capacity`` wins over ``budget``."""

    capacity: int | None = None
    budget: float | None = 0.02
    control_share: float = 0.05
    force_watchlist: bool = True
    explain: str = "selected"  # selected | all | none
    seed: int = 0
    scored_at: str | None = None  # fixed timestamp for reproducible files; default now (UTC)

    def slots(self, n_items: int) -> int:
        if self.capacity is not None:
            if self.capacity < 0:
                raise ConfigError("capacity must be >= 0")
            return min(self.capacity, n_items)
        if self.budget is None or not 0 <= self.budget <= 1:
            raise ConfigError("budget must be a fraction between 0 and 1")
        return min(n_items, int(round(self.budget * n_items)))


@dataclass
class ScoreResult:
    scored: pd.DataFrame
    explanations: pd.DataFrame  # long format, see explain.explain_long
    contributions: pd.DataFrame  # grouped log-odds contributions of explained items
    margins: pd.Series | None = None  # booster log-odds per row (the ranking score)
    #: The selected rows' own data for the inspection sheets (:data:`BENCH_COLUMNS`).
    details: pd.DataFrame | None = None

    def decisions(self) -> pd.DataFrame:
        """What this run decided, per item, for the history store (:func:`decision_frame`)."""
        return decision_frame(self.scored, self.margins, self.explanations)

    @property
    def n_scored(self) -> int:
        return len(self.scored)

    @property
    def selected_scored(self) -> pd.DataFrame:
        return self.scored[self.scored["selected"]]

    @property
    def risk_scores(self) -> pd.Series:
        return self.scored["risk_score"]

    @property
    def n_referrals(self) -> int:
        return int(self.scored["data_quality_referral"].sum())


def _uniform(item_ids: pd.Series, seed: int) -> np.ndarray:
    """A per-item uniform draw that depends on the seed and item_id only (not on row order or chunking)."""
    salted = (str(seed) + ":" + item_ids.astype("str")).rename(None)
    hashed = pd.util.hash_pandas_object(salted, index=False, hash_key="parcelrisk-ctrl1").to_numpy()
    return (hashed >> np.uint64(11)).astype("float64") / float(1 << 53)


def _ranked_positions(score: np.ndarray, item_ids: pd.Series) -> np.ndarray:
    """Positions from highest to lowest score; ties broken by item_id, so row order never matters."""
    # Arrow sorts the ids as UTF-8 bytes (= code point order, as Python compares str) without
    # making ten million Python strings; the sort is stable.
    table = pyarrow.table(
        {
            "r": -np.asarray(score, dtype="float64"),
            "id": pyarrow.array(item_ids.astype("str").array, type=pyarrow.string()),
        }
    )
    order = pc.sort_indices(table, sort_keys=[("r", "ascending"), ("id", "ascending")])
    return order.to_numpy()


#: Selection reasons by code, as :class:`Selection` stores them (0: not selected).
SELECTION_REASONS = np.array([None, "watchlist", "model", "control"], dtype=object)


@dataclass
class Selection:
    """The day's selection by position: reason code (see :data:`SELECTION_REASONS`), propensity, rank."""

    code: np.ndarray  # int8
    propensity: np.ndarray  # float64
    rank: np.ndarray  # int64, 1 = highest score

    def as_series(
        self, index: pd.Index, positions: slice | np.ndarray = slice(None)
    ) -> tuple[pd.Series, pd.Series, pd.Series]:
        """(selection_reason or NA, selection_propensity, rank) of ``positions``, on ``index``."""
        reason = pd.Series(SELECTION_REASONS[self.code[positions]], index=index, dtype="object")
        return (
            reason.where(reason.notna(), pd.NA),
            pd.Series(self.propensity[positions], index=index),
            pd.Series(self.rank[positions], index=index),
        )


def select_positions(
    margin: np.ndarray,
    item_ids: pd.Series,
    watchlisted: np.ndarray,
    draw: np.ndarray,
    options: ScoreOptions,
) -> Selection:
    """The selection over arrays by position (no pandas index: cheap for ten million items).

    ``draw`` is :func:`_uniform` of the item_ids (per-item, so it can be computed a
    chunk at a time). Watch-listed items first (if forced), then the model's top
    margins, then a random control share drawn among the rest.
    """
    n = len(margin)
    slots = options.slots(n)
    order = _ranked_positions(margin, item_ids)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    code = np.zeros(n, dtype=np.int8)
    taken = 0
    if options.force_watchlist:
        forced = order[watchlisted[order]][:slots]
        code[forced] = 1
        taken = len(forced)
    control_slots = min(int(round(options.control_share * slots)), max(slots - taken, 0))
    model_slots = slots - taken - control_slots
    remaining = order[code[order] == 0]
    code[remaining[:model_slots]] = 2
    eligible = np.flatnonzero(code == 0)
    control = eligible[np.argsort(draw[eligible], kind="stable")[:control_slots]]
    code[control] = 3
    p_control = control_slots / len(eligible) if len(eligible) else 0.0
    propensity = np.where((code == 1) | (code == 2), 1.0, p_control)
    return Selection(code, propensity, rank)


def select(
    risk: pd.Series, item_ids: pd.Series, watchlisted: pd.Series, options: ScoreOptions
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(selection_reason or NA, selection_propensity, rank) for every item.

    ``risk`` orders the items; pass the booster's margin rather than the
    calibrated probability, which isotonic calibration flattens into ties.
    """
    selection = select_positions(
        risk.to_numpy(dtype="float64"),
        item_ids,
        watchlisted.reindex(risk.index).to_numpy(dtype=bool),
        _uniform(item_ids, options.seed),
        options,
    )
    return selection.as_series(risk.index)


def _bands(risk: pd.Series, bands: dict[str, float]) -> pd.Series:
    return pd.Series(
        np.where(risk >= bands["high"], "high", np.where(risk >= bands["medium"], "medium", "low")),
        index=risk.index,
    )


def _referrals(features: pd.DataFrame, raw: pd.DataFrame) -> pd.Series:
    """Why the data is too poor to assess ("" if it is fine), as ICS2 and PACT refer it back."""
    reasons = pd.Series("", index=features.index, dtype="str")
    checks = (
        ("desc_vague", "goods description is on an unacceptable-description list"),
        ("desc_char_rule", "goods description is only digits, symbols or repeated characters"),
        ("hs_malformed", "HS code is malformed"),
        ("value_missing_or_zero", "no declared value"),
        ("letter_overweight", "weight implausible for the service"),
    )
    for feature, text in checks:
        if feature in features:
            hit = features[feature].astype(bool)
            reasons = reasons.mask(hit, reasons.where(reasons.eq(""), reasons + "; ") + text)
    return reasons


def round_significant(values: np.ndarray, digits: int = 6) -> np.ndarray:
    """Round to ``digits`` significant digits (not decimals: scores of 0.00012 keep their resolution).

    The division of an integer-valued float by an exact power of ten gives the
    double nearest the decimal, so files show ``0.000123457``, not binary noise.

    >>> round_significant(np.array([0.000123456789, 0.5, 0.0])).tolist()
    [0.000123457, 0.5, 0.0]
    """
    x = np.asarray(values, dtype="float64")
    mag = np.floor(np.log10(np.abs(x), where=x != 0, out=np.zeros_like(x)))
    exponent = (digits - 1 - mag).astype(np.int64)
    up = exponent >= 0  # multiply or divide by an exact power of ten
    scale = 10.0 ** np.abs(exponent)
    return np.where(up, np.round(x * scale) / scale, np.round(x / scale) * scale)


@dataclass
class Predictions:
    """Per-row predictions (index = record number), small enough to keep for ten million rows.

    The five Series share one index, and the referral reason is categorical: about
    40 bytes a row in all.
    """

    item_id: pd.Series
    margin: pd.Series  # booster log-odds: the ranking score
    risk: pd.Series  # calibrated probability
    referral: pd.Series  # data-quality referral reason ("" if none), categorical
    watchlisted: pd.Series

    FIELDS = ("item_id", "margin", "risk", "referral", "watchlisted")

    def subset(self, rows: pd.Index) -> Predictions:
        return Predictions(*(getattr(self, f).loc[rows] for f in self.FIELDS))

    @classmethod
    def concat(cls, parts: list[Predictions]) -> Predictions:
        if len(parts) == 1:
            return parts[0]
        index = parts[0].item_id.index.append([p.item_id.index for p in parts[1:]])

        def column(field: str) -> pd.Series:
            series = [getattr(p, field) for p in parts]
            if isinstance(series[0].dtype, pd.CategoricalDtype):
                values = pd.Series(union_categoricals(series), copy=False)
            else:
                values = pd.concat(series, ignore_index=True)
            values.index = index  # one index object for all five: no copy per field
            return values

        return cls(*(column(f) for f in cls.FIELDS))


def predict(
    valid: pd.DataFrame, model: ParcelRiskModel, profiles: pd.DataFrame | None = None
) -> tuple[Predictions, pd.DataFrame, FeatureContext]:
    """Features, margin and calibrated risk for validated rows (``profiles``: precomputed)."""
    features, context = model.features.transform_with_context(valid, profiles)
    margin = pd.Series(model.raw_margin(features), index=valid.index)
    preds = Predictions(
        item_id=valid[M.item_id].astype("str"),
        margin=margin,
        risk=pd.Series(round_significant(model.calibrated(margin.to_numpy())), index=valid.index),
        referral=_referrals(features, valid).astype("category"),
        watchlisted=context.watchlists.ne(""),
    )
    return preds, features, context


def explain_rows(preds: Predictions, selected: np.ndarray, opts: ScoreOptions) -> pd.Index:
    """Which rows get reasons: the selected ones (``selected``: a mask by position), all, or none."""
    if opts.explain == "all":
        return preds.item_id.index
    if opts.explain == "selected":
        return preds.item_id.index[selected]
    return preds.item_id.index[:0]


#: Rows worded at a time by :func:`explain` (bounds its memory).
EXPLAIN_SLICE_ROWS = 20_000


def explain(
    valid: pd.DataFrame, features: pd.DataFrame, context: FeatureContext, model: ParcelRiskModel
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(long-format reasons, raw contributions) for the given rows.

    The wording works on Python records, about 1 KB per feature row, so it runs
    :data:`EXPLAIN_SLICE_ROWS` rows at a time (2% of ten million is 200,000 rows).
    """
    contrib = model.contributions(features)
    templates = load_templates_for(model)
    step = EXPLAIN_SLICE_ROWS
    longs = [
        explain_long(
            valid,
            features.iloc[start : start + step],
            context,
            contrib.iloc[start : start + step],
            model.features.descriptions_,
            templates,
        )
        for start in range(0, max(len(features), 1), step)
    ]
    long = longs[0] if len(longs) == 1 else pd.concat(longs, ignore_index=True)
    return long, contrib


def assemble(
    preds: Predictions,
    selection: tuple[pd.Series, pd.Series, pd.Series],
    long: pd.DataFrame,
    model: ParcelRiskModel,
    opts: ScoreOptions,
) -> pd.DataFrame:
    """The scored output (ScoredSchema), one row per valid item in input order."""
    reason, propensity, rank = selection
    index = preds.item_id.index
    texts = (
        long[long["rank"].between(1, 3)].pivot(index="row", columns="rank", values="text")
        if len(long)
        else pd.DataFrame(columns=[1, 2, 3])
    )
    texts = texts.reindex(index=index, columns=[1, 2, 3])
    referral = preds.referral.astype("str")
    scored = pd.DataFrame(
        {
            "item_id": preds.item_id,
            "risk_score": preds.risk.astype("float64"),
            "risk_band": _bands(
                preds.risk, model.metadata.get("bands", {"high": 0.2, "medium": 0.05})
            ),
            "risk_rank": rank.astype("int64"),
            "selected": reason.notna().astype(bool),
            "selection_reason": reason.astype("object"),
            "selection_propensity": propensity.round(8).astype("float64"),
            "data_quality_referral": referral.ne(""),
            "data_quality_reason": referral.where(referral.ne(""), None).astype("object"),
            "reason_1": texts[1].astype("object"),
            "reason_2": texts[2].astype("object"),
            "reason_3": texts[3].astype("object"),
            "model_version": model.version,
            "scored_at": opts.scored_at or now_utc(),
        },
        index=index,
    )
    return ScoredSchema.validate(scored)


def empty_scored() -> pd.DataFrame:
    """A scored frame with no rows (every input row was rejected)."""
    dtypes = {
        "risk_score": "float64",
        "risk_rank": "int64",
        "selected": bool,
        "selection_propensity": "float64",
        "data_quality_referral": bool,
    }
    return pd.DataFrame(
        {
            name: pd.Series([], dtype=dtypes.get(name, object))
            for name in ScoredSchema.to_schema().columns
        }
    )


def _check_options(opts: ScoreOptions) -> None:
    if opts.explain not in ("selected", "all", "none"):
        raise ConfigError(f"explain must be selected, all or none, not {opts.explain!r}")


def score_frame(
    valid: pd.DataFrame,
    model: ParcelRiskModel,
    options: ScoreOptions | None = None,
) -> ScoreResult:
    """Score validated manifest rows (index = record number) with a loaded model, in memory."""
    opts = options or ScoreOptions()
    _check_options(opts)
    preds, features, context = predict(valid, model)
    selection = select(preds.margin, preds.item_id, preds.watchlisted, opts)
    rows = explain_rows(preds, selection[0].notna().to_numpy(), opts)
    long, contrib = explain(valid.loc[rows], features.loc[rows], context.subset(rows), model)
    chosen = valid.index[selection[0].notna().to_numpy()]
    return ScoreResult(
        assemble(preds, selection, long, model, opts),
        long,
        contrib,
        preds.margin,
        bench_details(valid.loc[chosen]),
    )


#: What an officer checks against the parcel in hand: the item's own declared data, never a
#: name, address, phone or e-mail (the report may be pseudonymised; these columns are not
#: personal data).
BENCH_COLUMNS = (
    "item_id",
    "description",
    "hs_code",
    "quantity",
    "declared_value",
    "currency",
    "gross_weight_kg",
    "item_category",
    "service",
    "operator",
    "origin_country",
    "sender_country",
    "recipient_country",
)


def bench_details(rows: pd.DataFrame) -> pd.DataFrame:
    """The :data:`BENCH_COLUMNS` of validated rows (absent optional columns left out)."""
    return rows[[c for c in BENCH_COLUMNS if c in rows.columns]].copy()


#: Columns of :func:`decision_frame` (what :meth:`parcelrisk.store.HistoryStore.add_decisions` keeps).
DECISION_FRAME_COLUMNS = (
    "item_id",
    "model_version",
    "scored_at",
    "margin",
    "risk_score",
    "selected",
    "selection_reason",
    "selection_propensity",
    "data_quality_referral",
    "top_reason",
)


def top_reasons(explanations: pd.DataFrame) -> pd.Series:
    """The group of each explained row's first reason (index: row), for the decision records."""
    if not len(explanations):
        return pd.Series([], dtype="object")
    first = explanations[explanations["rank"].eq(1)]
    return pd.Series(
        first["reason"].to_numpy(dtype=object), index=first["row"].to_numpy(), dtype="object"
    )


def decision_frame(
    scored: pd.DataFrame, margin: pd.Series | None, explanations: pd.DataFrame
) -> pd.DataFrame:
    """A scored output's decisions: no party data, no reason texts (only the top reason's group).

    ``margin`` (same index as ``scored``) is kept so that the estimators and the
    monitor can rank and bin items exactly as the selection did.
    """
    top = top_reasons(explanations).reindex(scored.index).astype("object")
    reason = scored["selection_reason"].astype("object")
    return pd.DataFrame(
        {
            "item_id": scored["item_id"],
            "model_version": scored["model_version"],
            "scored_at": scored["scored_at"],
            "margin": (
                margin.reindex(scored.index).astype("float64")
                if margin is not None
                else pd.Series(np.nan, index=scored.index)
            ),
            "risk_score": scored["risk_score"],
            "selected": scored["selected"],
            "selection_reason": reason.where(reason.notna(), None),
            "selection_propensity": scored["selection_propensity"],
            "data_quality_referral": scored["data_quality_referral"],
            "top_reason": top,
        },
        index=scored.index,
    )


def now_utc() -> str:
    """Now in UTC, or SOURCE_DATE_EPOCH (the reproducible-builds convention) when it is set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def load_templates_for(model: ParcelRiskModel) -> ReasonTemplates:
    """Reason wording from ``features/reason_templates.yaml``; the model's copy if that is absent.

    Wording is presentation, not a model input: a unit may reword or translate it
    without retraining. The model keeps a copy so an installed wheel still explains.
    """
    path = default_reference_dir() / "reason_templates.yaml"
    if path.is_file():
        templates = load_templates(path)
    else:
        stored = model.metadata.get("reason_templates")
        if not stored:
            raise ConfigError(f"{path}: no reason templates, and the model carries none")
        templates = ReasonTemplates(stored["groups"], dict(stored.get("singular") or {}))
    # a unit's own columns: one reason each (identifier and text values never shown)
    return templates.with_own_columns(getattr(model.features, "own_columns_", ()))
