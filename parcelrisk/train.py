"""Training: time-split, inspected-only labels, selection-corrected weights, beta calibration.

Training builds features for the whole period in one pass (entity profiles are
point-in-time, so no item sees its own or a later outcome), fits the booster
on the earlier days, early-stops and calibrates on the days after, and reports
on the latest days, which it never trained or calibrated on. Labels exist only
for the items someone chose to inspect: :func:`selection_weights` re-weights
them by 1/propensity (``weighting: ipw``) so that the model and its calibration
describe every item, not the old policy's choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from parcelrisk.baseline import PlainBaseline, baseline_figures, fit_plain_baseline
from parcelrisk.calibration import expected_calibration_error
from parcelrisk.errors import ConfigError
from parcelrisk.evaluate import capacity_table, summary_metrics
from parcelrisk.explain import load_templates
from parcelrisk.extra_columns import (
    EXTRA_COLUMNS_FILE,
    ExtraColumn,
    extra_columns_to_list,
    load_extra_columns,
)
from parcelrisk.features import ManifestFeatures
from parcelrisk.model import (
    Calibrator,
    ParcelRiskModel,
    declared_days,
    frame_hash,
    labels_of,
    library_versions,
    load_params,
    time_split,
)
from parcelrisk.monitoring import fit_bins
from parcelrisk.schema import TRUTH_COLUMNS
from parcelrisk.schema import LabelSchema as L
from parcelrisk.schema import ManifestSchema as M
from parcelrisk.schema import TruthSchema as T

__all__ = [
    "TrainingResult",
    "train_model",
    "evaluation_table",
    "unbiased_estimates",
    "selection_weights",
    "SelectionWeights",
    "WEIGHTING_SCHEMES",
]


@dataclass
class TrainingResult:
    model: ParcelRiskModel
    evaluation: (
        pd.DataFrame
    )  # capacity table on the test days, all populations, model and legacy rules
    metrics: dict[str, float]
    test_frame: pd.DataFrame  # test-day rows with risk_score and legacy_score, for plots
    baseline: PlainBaseline | None = None  # the plain LightGBM's margins (not shipped)


def train_model(
    frame: pd.DataFrame,
    *,
    params: dict[str, Any] | None = None,
    store: Any = None,
    secret: bytes | None = None,
    reference_dir: str | None = None,
    tune: int = 0,
    extra_columns: Sequence[ExtraColumn] | None = None,
) -> TrainingResult:
    """Train a model on a validated, labelled manifest covering several weeks.

    Truth columns (synthetic data) are dropped before any feature is built and
    used only for the ground-truth rows of the evaluation. ``tune`` > 0 tries
    that many hyper-parameter sets (seeded random search) and keeps the one
    with the best average precision on the calibration days. ``extra_columns``
    are the unit's own declared columns (default: ``extra_columns.yaml`` of the
    ``features/`` folder, see :mod:`parcelrisk.extra_columns`); ``frame`` must have
    been validated with the same declaration.
    """
    cfg = params or load_params()
    if extra_columns is None:
        extra_columns = load_extra_columns(
            Path(reference_dir) / EXTRA_COLUMNS_FILE if reference_dir is not None else None
        )
    truth = frame[[c for c in TRUTH_COLUMNS if c in frame]].copy()
    data = frame.drop(columns=list(truth.columns))
    inspected, seized = labels_of(data)
    split = time_split(data[M.declared_at], cfg["calibrate_share"], cfg["test_share"])
    part = split.assign(data[M.declared_at])

    features = ManifestFeatures(
        reference_dir=reference_dir,
        store=store,
        secret=secret,
        extra_columns=tuple(extra_columns) or None,
    )
    features.fit(data[part.eq("train")])
    X = features.transform(data)

    weights = selection_weights(data, inspected, seized, cfg, store)
    weight = weights.train
    train_rows = part.eq("train") & inspected
    cal_rows = part.eq("calibrate") & inspected
    if seized[train_rows].sum() < 5 or seized[cal_rows].sum() < 2:
        raise ConfigError(
            "too few seizures among inspected items to train "
            f"(train: {int(seized[train_rows].sum())}, calibrate: {int(seized[cal_rows].sum())})"
        )
    lgb_params = dict(cfg["lightgbm"]) | {"seed": int(cfg["seed"])}
    train_set = lgb.Dataset(
        X[train_rows], seized[train_rows], weight=weight[train_rows.to_numpy()], free_raw_data=False
    )
    valid_set = lgb.Dataset(
        X[cal_rows], seized[cal_rows], weight=weight[cal_rows.to_numpy()], reference=train_set
    )

    def fit(params: dict[str, Any]) -> lgb.Booster:
        return lgb.train(
            params,
            train_set,
            num_boost_round=int(cfg["num_boost_round"]),
            valid_sets=[valid_set],
            callbacks=[lgb.early_stopping(int(cfg["early_stopping_rounds"]), verbose=False)],
        )

    tuning: list[dict[str, Any]] = []
    if tune > 0:
        lgb_params, tuning = _tune(
            fit, lgb_params, X[cal_rows], seized[cal_rows], tune, int(cfg["seed"])
        )
    booster = fit(lgb_params)
    # Keep only the trees early stopping chose, so the saved file and every prediction agree.
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
    margin = np.asarray(booster.predict(X, raw_score=True))
    cal = cal_rows.to_numpy()
    calibrator = Calibrator.fit(
        margin[cal],
        seized[cal_rows].to_numpy(),
        None if weights.calibrate is None else weights.calibrate[cal],
    )
    risk = pd.Series(calibrator(margin), index=data.index)

    # The plain baseline: same rows, weights and early stopping, raw columns only (parcelrisk.baseline).
    plain = fit_plain_baseline(
        data,
        train_rows=train_rows,
        valid_rows=cal_rows,
        label=seized,
        weight=weight,
        cfg=cfg,
    )

    test = part.eq("test")
    # Rank by the margin: the same order as the (monotone) calibrated score, at full precision.
    ranking = pd.Series(margin, index=data.index)
    test_truth = truth.loc[test] if len(truth.columns) else None
    evaluation = evaluation_table(data[test], ranking[test], test_truth, cfg, plain.margin[test])
    baselines = {
        "plain": plain.summary(),
        **baseline_figures(
            data[test],
            {
                "model": ranking[test],
                "plain_baseline": plain.margin[test],
                "legacy_rules": _legacy_scores(data[test]),
            },
            test_truth,
            [float(c) for c in cfg["capacities"]],
            seed=int(cfg["seed"]),
        ),
    }
    estimates = unbiased_estimates(data[test], ranking[test], cfg)
    labelled_test = test & inspected
    metrics = summary_metrics(risk[labelled_test], seized[labelled_test])
    control = (
        data[L.selection_source].eq("random").fillna(False).astype(bool)
        if L.selection_source in data
        else pd.Series(False, index=data.index)
    )
    calibration = calibration_report(
        risk, seized, labelled_test, weights, calibrator, control=control
    )
    start, end = declared_days(data)
    model = ParcelRiskModel(
        features=features,
        booster=booster,
        calibrator=calibrator,
        metadata={
            "model_version": "",  # filled below from the content
            "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "training_window": {"first_day": start, "last_day": end},
            "split": {
                "calibrate_from": str(split.calibrate_from.date()),
                "test_from": str(split.test_from.date()),
            },
            "data_hash": frame_hash(data),
            "rows": {
                "total": int(len(data)),
                "inspected_train": int(train_rows.sum()),
                "inspected_calibrate": int(cal_rows.sum()),
                "seizures_train": int(seized[train_rows].sum()),
            },
            "reference_hash": features.reference_.content_hash,
            # how parties were keyed for the profiles; scoring refuses a store keyed otherwise
            "key_scheme": features.key_scheme_,
            "reference_files": features.reference_.sources,
            "features": features.feature_names_out_,
            "params": cfg | {"lightgbm": lgb_params},
            "tuning": tuning,
            "best_iteration": int(booster.current_iteration()),
            "metrics_test_inspected": metrics,
            "weighting": weights.summary,
            "calibration": calibration,
            "monitor_bins": fit_bins(X[part.eq("train")]),
            "evaluation": evaluation.to_dict(orient="records"),
            "estimates": estimates,
            "baselines": baselines,
            "bands": cfg["bands"],
            "reason_templates": load_templates().to_dict(),
            "library_versions": library_versions(),
        },
    )
    # The version is a content hash: the same data and settings give the same version string.
    import hashlib

    if features.own_columns_:
        model.metadata["extra_columns"] = extra_columns_to_list(features.own_columns_)
    model.metadata["model_version"] = (
        "pr-"
        + hashlib.sha256(
            (booster.model_to_string() + model.metadata["data_hash"]).encode()
        ).hexdigest()[:12]
    )
    test_frame = data[test].assign(
        risk_score=risk[test], ipw_weight=pd.Series(weights.ipw, index=data.index)[test]
    )
    if len(truth.columns):
        test_frame = test_frame.join(truth.loc[test])
    return TrainingResult(model, evaluation, metrics, test_frame, plain)


#: Values of ``weighting`` in ``features/model_params.yaml`` (see :func:`selection_weights`).
WEIGHTING_SCHEMES = ("ipw", "legacy")


@dataclass(frozen=True)
class SelectionWeights:
    """Per-row weights of a training frame (positional, aligned with its rows).

    ``train``: booster weights; ``calibrate``: calibrator weights (None: unweighted);
    ``ipw``: clipped 1/propensity of every row (for reports, whatever the scheme);
    ``summary``: what was done, for the model metadata and MLflow.
    """

    train: np.ndarray
    calibrate: np.ndarray | None
    ipw: np.ndarray
    summary: dict[str, Any]


def selection_propensities(
    data: pd.DataFrame, inspected: pd.Series, store: Any = None
) -> tuple[pd.Series, pd.Series]:
    """(propensity of each row's inspection, where it came from).

    In order: the frame's ``selection_propensity`` label column; the store's
    decision log (:meth:`~parcelrisk.store.HistoryStore.decision_log`, by
    item_id); else the **default**: an item of the random control sample
    (``selection_source == "random"``) had probability (control items that
    day) / (items that day not inspected for another reason), the control
    share of its day; any other inspected item 1 (rules, officers and
    intelligence picked it deterministically, as far as the data can tell).
    """
    p = pd.Series(np.nan, index=data.index, dtype="float64")
    source = pd.Series("default", index=data.index, dtype="object")
    if L.selection_propensity in data:
        given = pd.to_numeric(data[L.selection_propensity], errors="coerce").astype("float64")
        source = source.mask(given.notna(), "column")
        p = p.fillna(given)
    if store is not None and p.isna().any() and hasattr(store, "decision_log"):
        log = store.decision_log()
        if len(log):
            by_id = log.drop_duplicates(M.item_id, keep="last").set_index(M.item_id)
            logged = data[M.item_id].astype("str").map(by_id[L.selection_propensity])
            logged = logged.astype("float64").where(p.isna())
            source = source.mask(logged.notna(), "store")
            p = p.fillna(logged)
    missing = p.isna()
    if missing.any():
        control = (
            data[L.selection_source].eq("random").fillna(False).astype(bool)
            if L.selection_source in data
            else pd.Series(False, index=data.index)
        ) & inspected
        day = data[M.declared_at].dt.floor("D")
        other = inspected & ~control
        share = control.groupby(day).transform("sum") / (~other).groupby(day).transform("sum")
        p = p.fillna(pd.Series(np.where(control, share, 1.0), index=data.index))
    # a zero or missing propensity of an inspected item is a logging error: treat it as certain
    p = p.where(p > 0, 1.0).clip(upper=1.0)
    return p, source


def selection_weights(
    data: pd.DataFrame,
    inspected: pd.Series,
    seized: pd.Series,
    cfg: dict[str, Any],
    store: Any = None,
) -> SelectionWeights:
    """Weights that correct training and calibration for how the labelled items were chosen.

    ``weighting: ipw`` (default): each inspected row weighs 1/propensity
    (:func:`selection_propensities`), so the labelled rows stand for every
    item, not for what the old policy liked. Weights are **clipped** at
    ``ipw_max_weight`` and then **self-normalised** to mean 1 over the
    inspected rows. Why clipped: a control item has a propensity near the
    control share (about 1%), so it weighs ~100 times a rule pick, and the
    control sample holds a handful of seizures: unclipped, two or three items
    would decide the trees (high variance); clipping trades a little bias
    (towards the inspected population) for a stable model. Why
    self-normalised: the booster's regularisation (``min_sum_hessian``,
    ``lambda_l2``) is in units of weight, so a mean weight of 1 keeps the
    hyper-parameters meaning what they meant unweighted. Positives are then
    multiplied by ``positive_weight`` (class balance; the calibrator undoes
    it). The calibrator is fitted on the calibration days with the clipped
    IPW weights alone, i.e. on labels re-weighted to the whole population.

    ``weighting: legacy``: the former ad-hoc weights (random-control rows x
    ``control_sample_weight``, positives x ``positive_weight``) and an
    unweighted calibrator (calibrated on the inspected population).
    """
    scheme = str(cfg.get("weighting", "legacy"))
    if scheme not in WEIGHTING_SCHEMES:
        raise ConfigError(
            f"model parameters: weighting must be one of {', '.join(WEIGHTING_SCHEMES)}, "
            f"not {scheme!r}"
        )
    max_weight = float(cfg.get("ipw_max_weight", 20.0))
    if not max_weight >= 1:
        raise ConfigError("model parameters: ipw_max_weight must be at least 1")
    positive = np.where(seized.eq(1), float(cfg["positive_weight"]), 1.0)
    propensity, source = selection_propensities(data, inspected, store)
    raw = 1.0 / propensity.to_numpy(dtype="float64")
    ipw = np.minimum(raw, max_weight)
    labelled = inspected.to_numpy(dtype=bool)
    summary: dict[str, Any] = {
        "scheme": scheme,
        "propensity_source": {
            str(k): int(v) for k, v in source[inspected].value_counts().sort_index().items()
        },
    }
    if scheme == "legacy":
        control = (
            data[L.selection_source].eq("random").fillna(False).to_numpy(dtype=bool)
            if L.selection_source in data
            else np.zeros(len(data), dtype=bool)
        )
        train = np.where(control, float(cfg["control_sample_weight"]), 1.0) * positive
        return SelectionWeights(train, None, ipw, summary)
    mean = float(ipw[labelled].mean()) if labelled.any() else 1.0
    normalised = ipw / mean
    summary |= {
        "ipw_max_weight": max_weight,
        "clipped_rows": int(np.count_nonzero(labelled & (raw > max_weight))),
        "effective_sample_size": float(
            ipw[labelled].sum() ** 2 / (ipw[labelled] ** 2).sum() if labelled.any() else 0.0
        ),
    }
    return SelectionWeights(normalised * positive, normalised, ipw, summary)


def calibration_report(
    risk: pd.Series,
    seized: pd.Series,
    labelled_test: pd.Series,
    weights: SelectionWeights,
    calibrator: Calibrator,
    control: pd.Series | None = None,
) -> dict[str, Any]:
    """Expected calibration error on the test days: control sample, and IPW over inspected items.

    The control sample is the unbiased check (its items were drawn at random);
    it is small, so the IPW-weighted figure over every inspected test item is
    reported beside it. ``None`` where there is nothing to measure (strict JSON: no NaN).
    """
    test = labelled_test.to_numpy(dtype=bool)
    in_control = test & (control.to_numpy(dtype=bool) if control is not None else False)
    y = seized.to_numpy()
    r = risk.to_numpy()

    def ece(mask: np.ndarray, w: np.ndarray | None) -> float | None:
        if not mask.any():
            return None
        return expected_calibration_error(r[mask], y[mask], None if w is None else w[mask])

    return {
        **calibrator.to_dict(),
        "ece_control": ece(in_control, None),
        "control_items": int(in_control.sum()),
        "control_seizures": int(y[in_control].sum()),
        "ece_inspected_ipw": ece(test, weights.ipw),
        "ece_inspected": ece(test, None),
        "inspected_items": int(test.sum()),
    }


#: The search space of ``--tune``: small, lean models only (SHAP cost grows with leaves and depth).
TUNE_SPACE = {
    "num_leaves": [7, 15, 31],
    "max_depth": [4, 6, 8],
    "learning_rate": [0.03, 0.05, 0.1],
    "min_data_in_leaf": [10, 20, 50],
    "feature_fraction": [0.6, 0.8, 1.0],
    "lambda_l2": [0.0, 1.0, 5.0],
}


def _tune(
    fit: Any, base: dict[str, Any], X_val: pd.DataFrame, y_val: pd.Series, trials: int, seed: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Seeded random search; the base settings are always the first candidate."""
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(seed)
    candidates = [dict(base)]
    for _ in range(trials - 1):
        candidates.append(base | {k: v[int(rng.integers(len(v)))] for k, v in TUNE_SPACE.items()})
    results = []
    for params in candidates:
        booster = fit(params)
        score = booster.predict(X_val, num_iteration=booster.best_iteration)
        ap = float(average_precision_score(y_val, score)) if y_val.nunique() > 1 else float("nan")
        results.append(
            {**{k: params[k] for k in TUNE_SPACE if k in params}, "val_average_precision": ap}
        )
    best = int(np.nanargmax([r["val_average_precision"] for r in results]))
    return candidates[best], results


def _legacy_scores(test: pd.DataFrame) -> pd.Series:
    from parcelrisk.legacy_rules import legacy_rule_score, load_legacy_rules

    return legacy_rule_score(test, load_legacy_rules())


def evaluation_table(
    test: pd.DataFrame,
    risk: pd.Series,
    truth: pd.DataFrame | None,
    cfg: dict[str, Any],
    baseline: pd.Series | None = None,
) -> pd.DataFrame:
    """Capacity table for the model, the plain baseline (if given) and the legacy rules, per population."""
    capacities = [float(c) for c in cfg["capacities"]]
    inspected, seized = labels_of(test)
    control = test[L.selection_source].eq("random").fillna(False) & inspected
    methods = [("model", risk)]
    if baseline is not None:
        methods.append(("plain_baseline", baseline))
    methods.append(("legacy_rules", _legacy_scores(test)))
    tables = []
    for method, scores in methods:
        tables.append(capacity_table(scores, seized, inspected, capacities, "inspected", method))
        tables.append(capacity_table(scores, seized, control, capacities, "random_control", method))
        if truth is not None and T.truth_illicit in truth:
            everything = pd.Series(True, index=test.index)
            illicit = truth[T.truth_illicit].astype(int)
            tables.append(
                capacity_table(scores, illicit, everything, capacities, "ground_truth", method)
            )
    return pd.concat(tables, ignore_index=True)


def unbiased_estimates(
    test: pd.DataFrame, ranking: pd.Series, cfg: dict[str, Any]
) -> dict[str, Any]:
    """Off-policy estimates of the model's hit rate and leakage at each capacity on the test days.

    The test days' inspections were chosen by the policy that logged them (the
    legacy rules, officers, intelligence, the random control). With the logged
    ``selection_propensity`` every inspection counts, weighted by 1/propensity;
    without it only the random control sample does (see
    :func:`parcelrisk.estimation.decision_log_from_labels`). JSON-safe, for the
    model's metadata, the model card, the report and ``promote``.
    """
    from parcelrisk.estimation import (
        HEADLINE,
        capacity_estimates,
        decision_log_from_labels,
        log_provenance,
    )

    log = decision_log_from_labels(test)
    return {
        **log_provenance(log),
        "headline": HEADLINE,
        "capacities": capacity_estimates(
            log, ranking, [float(c) for c in cfg["capacities"]], seed=int(cfg["seed"])
        ),
    }
