"""MLflow tracking, the model registry and promotion.

Without configuration, runs go to ``sqlite:///mlflow.db`` in the working
directory, with artifacts under ``./mlruns`` (a real MLflow backend, nothing to
start; open the UI with ``mlflow ui --backend-store-uri sqlite:///mlflow.db``).
With ``MLFLOW_TRACKING_URI`` set, runs go to that server.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from parcelrisk.errors import ConfigError, ModelError
from parcelrisk.extra_columns import ExtraColumn
from parcelrisk.model import ParcelRiskModel, load_model, save_model

__all__ = [
    "configure_tracking",
    "log_training",
    "baseline_metrics",
    "promote",
    "compare_models",
    "PROMOTION_CONFIDENCE",
    "load_registered",
    "check_registered_folder",
    "REGISTERED_NAME",
    "PromotionResult",
]

REGISTERED_NAME = "parcelrisk"
DEFAULT_EXPERIMENT = "parcelrisk"


def configure_tracking() -> str:
    """Point MLflow at ``$MLFLOW_TRACKING_URI`` or the local SQLite store; return the URI."""
    import mlflow

    uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(os.environ.get("MLFLOW_REGISTRY_URI") or uri)
    return uri


def _reading_tracking_uri(uri: str) -> str:
    """The tracking store to read ``uri`` from, without creating one (no stray ``mlflow.db``)."""
    import mlflow

    configured = os.environ.get("MLFLOW_TRACKING_URI")
    if not configured:
        local = Path.cwd() / "mlflow.db"
        if not local.is_file():
            raise ModelError(
                f"{uri}: no MLflow tracking store here ({local} does not exist and "
                "MLFLOW_TRACKING_URI is not set)"
            )
        configured = f"sqlite:///{local}"
    mlflow.set_tracking_uri(configured)
    mlflow.set_registry_uri(os.environ.get("MLFLOW_REGISTRY_URI") or configured)
    return configured


#: The only MLmodel a registered parcelrisk version may have: the pyfunc written by
#: :func:`log_training`, whose loader is parcelrisk's own and whose data is the model folder.
PYFUNC_LOADER = "parcelrisk.pyfunc"
#: Files that are code or pickles: a registered version holding any of them is refused.
_CODE_SUFFIXES = (
    ".py", ".pyc", ".pyo", ".pyd", ".so", ".pkl", ".pickle", ".joblib", ".dill",
    ".cloudpickle", ".npy", ".npz", ".pt", ".pth", ".sh",
)  # fmt: skip


def check_registered_folder(local: Path, uri: str) -> Path:
    """The model folder inside a downloaded MLflow model, if it is parcelrisk's own flavour.

    Refused (:class:`ModelError`, one line): an MLmodel with another flavour or loader,
    a ``python_model``/cloudpickle pyfunc, a ``code`` folder, or any code or pickle file.
    Nothing of the download is imported or unpickled; the MLmodel is read as plain YAML.
    """
    import yaml

    refuse = f"{uri}: refusing a registered model that is not parcelrisk's own data-only flavour"
    try:
        spec = yaml.safe_load((local / "MLmodel").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        raise ModelError(f"{refuse} (no readable MLmodel file)") from None
    flavors = spec.get("flavors") if isinstance(spec, dict) else None
    pyfunc = flavors.get("python_function") if isinstance(flavors, dict) else None
    if not isinstance(pyfunc, dict) or set(flavors) != {"python_function"}:
        names = ", ".join(map(str, flavors)) if isinstance(flavors, dict) else "none"
        raise ModelError(f"{refuse} (flavours: {names})")
    if pyfunc.get("loader_module") != PYFUNC_LOADER:
        raise ModelError(
            f"{refuse} (loader {pyfunc.get('loader_module')!r} would run code; "
            f"only {PYFUNC_LOADER} is accepted)"
        )
    extras = sorted(k for k in ("code", "python_model", "cloudpickle_version") if pyfunc.get(k))
    code_files = sorted(
        str(p.relative_to(local))
        for p in local.rglob("*")
        if p.suffix.lower() in _CODE_SUFFIXES or (p.is_dir() and p.name == "code")
    )
    if extras or code_files:
        shown = ", ".join(sorted({*extras, *code_files})[:5])
        raise ModelError(f"{refuse} (it carries code or pickles: {shown})")
    data = pyfunc.get("data")
    folder = (local / str(data)).resolve() if isinstance(data, str) else None
    if folder is None or not folder.is_relative_to(local.resolve()) or not folder.is_dir():
        raise ModelError(f"{refuse} (no model folder under data/)")
    return folder


def load_registered(uri: str, *, store: Any = None, secret: bytes | None = None) -> ParcelRiskModel:
    """Load ``models:/...`` (or ``runs:/...``) through the data-only loader of a model folder.

    The version is downloaded to a private temporary folder, checked with
    :func:`check_registered_folder`, loaded with :func:`parcelrisk.model.load_model`
    (LightGBM text, JSON, checksums) and the download is removed. Any failure is one
    :class:`ModelError` line.
    """
    import mlflow

    from parcelrisk.tempfiles import private_tempdir

    where = _reading_tracking_uri(uri)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    with private_tempdir() as tmp:
        try:
            local = Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp)))
        except Exception as exc:  # MLflow raises many kinds; all mean "not there"
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise ModelError(
                f"{uri}: cannot load from the MLflow store {where} ({first})"
            ) from None
        return load_model(check_registered_folder(local, uri), store=store, secret=secret)


def _experiment(name: str) -> str:
    import mlflow

    existing = mlflow.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    return mlflow.create_experiment(name)


def _flat_params(cfg: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out |= _flat_params(value, f"{name}.")
        else:
            out[name] = json.dumps(value) if isinstance(value, (list, tuple)) else str(value)
    return out


def evaluation_metrics(evaluation: pd.DataFrame) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for r in evaluation.itertuples():
        key = f"{r.population}.{r.method}.at_{r.capacity * 100:g}pct"
        for name in ("precision", "recall", "lift"):
            value = float(getattr(r, name))
            if value == value:  # NaN is not a metric
                metrics[f"{key}.{name}"] = value
    return metrics


#: MLflow metric prefix of each ranking of the model metadata's ``baselines`` entry.
_BASELINE_PREFIX = {
    "model": "baseline_model",
    "plain_baseline": "baseline_plain",
    "legacy_rules": "baseline_rules",
}


def baseline_metrics(meta: dict[str, Any]) -> dict[str, float]:
    """MLflow metrics of the ``baselines`` entry: the model, plain LightGBM and the rules per capacity.

    ``baseline_plain_ips_at_2pct`` (and ``_low``, ``_high``, ``_logged``), ``..._truth_illicit_at_2pct``,
    ``..._truth_found_at_2pct``, likewise ``baseline_rules_*`` and ``baseline_model_*``; and
    ``baseline_plain_best_iteration``, ``baseline_plain_fit_seconds``. Undefined figures are left out.
    """
    entry = meta.get("baselines") or {}
    out: dict[str, float] = {}
    for r in entry.get("rows") or []:
        prefix = _BASELINE_PREFIX.get(str(r.get("method")))
        if prefix is None:
            continue
        at = f"at_{float(r['capacity']) * 100:g}pct"
        ips = r.get("ips") or {}
        values = {
            "ips": ips.get("value"),
            "ips_low": ips.get("low"),
            "ips_high": ips.get("high"),
            "ips_logged": ips.get("n"),
            "truth_illicit": r.get("truth_illicit"),
            "truth_found": r.get("truth_found"),
        }
        for name, value in values.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
                out[f"{prefix}_{name}_{at}"] = float(value)
    plain = entry.get("plain") or {}
    for name in ("best_iteration", "fit_seconds"):
        if isinstance(plain.get(name), int | float):
            out[f"baseline_plain_{name}"] = float(plain[name])
    return out


def log_training(
    result: Any,
    manifest: pd.DataFrame,
    *,
    experiment: str = DEFAULT_EXPERIMENT,
    register: bool = False,
    card: str,
    plots: dict[str, Path] | None = None,
) -> dict[str, str]:
    """Log a training run (params, data hash, metrics, plots, card, pyfunc model); maybe register it."""
    import mlflow

    configure_tracking()
    meta = result.model.metadata
    with mlflow.start_run(experiment_id=_experiment(experiment)) as run:
        mlflow.log_params(_flat_params(meta["params"]))
        mlflow.set_tags(
            {
                "model_version": meta["model_version"],
                "data_hash": meta["data_hash"],
                "reference_hash": meta["reference_hash"],
                "training_window": f"{meta['training_window']['first_day']}..{meta['training_window']['last_day']}",
            }
        )
        mlflow.log_metrics(evaluation_metrics(result.evaluation))
        mlflow.log_metrics(
            {f"test_inspected.{k}": v for k, v in meta["metrics_test_inspected"].items() if v == v}
        )
        mlflow.log_metrics(baseline_metrics(meta))
        # calibration on the test days (ECE on the control sample) and the selection weighting
        numbers = {f"calibration.{k}": v for k, v in meta.get("calibration", {}).items()}
        numbers |= {f"weighting.{k}": v for k, v in meta.get("weighting", {}).items()}
        mlflow.log_metrics(
            {
                k: float(v)
                for k, v in numbers.items()
                if isinstance(v, int | float) and not isinstance(v, bool) and v == v
            }
        )
        mlflow.log_dict(
            {"features": meta["features"], "reference_files": meta["reference_files"]},
            "features.json",
        )
        mlflow.log_text(card, "MODEL_CARD.md")
        for path in (plots or {}).values():
            mlflow.log_artifact(str(path), artifact_path="plots")
        with tempfile.TemporaryDirectory() as tmp:
            model_dir = Path(tmp) / "parcelrisk_model"
            save_model(result.model, model_dir, card)
            signature, example = pyfunc_signature(result.model.features.own_columns_)
            info = mlflow.pyfunc.log_model(
                name="model",
                loader_module="parcelrisk.pyfunc",
                data_path=str(model_dir),
                signature=signature,
                input_example=example,
                pip_requirements=["parcelrisk"],
            )
        out = {"run_id": run.info.run_id, "model_uri": info.model_uri}
    if register:
        version = mlflow.register_model(info.model_uri, REGISTERED_NAME)
        client = mlflow.MlflowClient()
        client.set_registered_model_alias(REGISTERED_NAME, "challenger", version.version)
        client.set_model_version_tag(
            REGISTERED_NAME, version.version, "model_version", meta["model_version"]
        )
        out["registered_version"] = str(version.version)
    return out


#: A made-up input example (never a row of the training data, which holds personal data).
EXAMPLE_ITEM = {
    "item_id": "RR123456785DE",
    "declared_at": "2026-03-02T08:15:00Z",
    "sender_name": "Example Sender Ltd",
    "sender_country": "CN",
    "recipient_name": "Example Recipient",
    "recipient_address": "1 Example Street",
    "recipient_postcode": "10115",
    "recipient_country": "DE",
    "description": "phone case",
    "hs_code": "392690",
    "declared_value": 4.5,
    "currency": "EUR",
    "gross_weight_kg": 0.08,
    "service": "small_packet",
    "item_category": "sale_of_goods",
    "origin_country": "CN",
}


def pyfunc_signature(extra_columns: Sequence[ExtraColumn] = ()) -> tuple[Any, pd.DataFrame]:
    """Signature over every manifest column (types are checked by parcelrisk's own validation).

    No column is marked required: MLflow would answer a missing one with a dump of the
    whole request; the pyfunc answers HTTP 400 with one line naming the column instead.
    ``extra_columns``: the model's declared columns (MLflow drops inputs the signature lacks).
    """
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, Schema

    from parcelrisk.schema import MANIFEST_COLUMNS

    names = [*MANIFEST_COLUMNS, *(c.name for c in extra_columns)]
    inputs = Schema([ColSpec(AnyType(), c, required=False) for c in names])
    return ModelSignature(inputs=inputs), pd.DataFrame([EXAMPLE_ITEM])


#: One-sided confidence with which a challenger must find more than the champion to replace it.
PROMOTION_CONFIDENCE = 0.95


@dataclass
class PromotionResult:
    """What ``promote`` decided and on what: off-policy estimates on the same logged window.

    ``difference``: the paired IPS difference challenger - champion
    (:func:`parcelrisk.estimation.off_policy_difference`; None when there was
    nothing to beat).
    """

    promoted: bool
    challenger: dict[str, Any]
    champion: dict[str, Any] | None
    comparison: pd.DataFrame
    basis: str = ""
    forced: bool = False
    difference: dict[str, Any] | None = None
    #: Whether the challenger matched the plain LightGBM baseline on its own test days.
    plain_baseline_ok: bool = True
    #: The challenger's ranking margins on the window's items (what the estimates used).
    challenger_margin: pd.Series | None = field(default=None, repr=False)

    @property
    def refused(self) -> bool:
        return not self.promoted

    @property
    def undecided(self) -> bool:
        """Refused for want of evidence only: it looks better, but not with 95% confidence.

        The paired difference's point estimate is above zero (unbiased, so the
        challenger looks better) and it matched the plain baseline. Such a
        challenger is worth a trial (:mod:`parcelrisk.trial`) to settle it. One
        that looks level or worse is not: in simulate, 6 of 6 challengers put
        on trial on an open upper bound alone looked worse at training, were
        worse on truth, and their trial days cost the unit 12% of its seizures.
        """
        return self.worth_trial("better")

    def worth_trial(self, when: str = "better") -> bool:
        """Whether a refused challenger should go on trial: ``when`` is ``"better"``
        (:attr:`undecided`) or ``"not_worse"`` (the upper bound of the difference is
        above zero: it is not shown worse; more trials, more exploration)."""
        if when not in TRIAL_RULES:
            raise ConfigError(f"trial rule must be one of {', '.join(TRIAL_RULES)}")
        v = (self.difference or {}).get("value" if when == "better" else "high")
        return self.refused and self.plain_baseline_ok and v is not None and v > 0


#: When a refused challenger goes on trial (:meth:`PromotionResult.worth_trial`).
TRIAL_RULES = ("better", "not_worse")


def _margins(model: Any, window: pd.DataFrame) -> pd.Series:
    """The model's ranking margins on the window's items (truth columns dropped first)."""
    from parcelrisk.schema import TRUTH_COLUMNS
    from parcelrisk.scoring import predict

    data = window.drop(columns=[c for c in TRUTH_COLUMNS if c in window])
    preds, _, _ = predict(data, model)
    return preds.margin


def _off_policy_at(model: Any, window: pd.DataFrame, capacity: float) -> dict[str, Any]:
    """A model's off-policy estimates at ``capacity`` on the window's logged inspections."""
    return _estimates(window, _margins(model, window), capacity)


def _estimates(window: pd.DataFrame, margin: pd.Series, capacity: float) -> dict[str, Any]:
    from parcelrisk.estimation import (
        DECISION,
        decision_log_from_labels,
        off_policy,
        off_policy_leakage,
    )

    log = decision_log_from_labels(window)
    est = off_policy(log, margin, capacity)
    head = est[DECISION]
    leak = off_policy_leakage(log, margin, capacity)
    return {
        "hit_rate": head.value,
        "low": head.low,
        "high": head.high,
        "ips": est["ips"].value,
        "snips": est["snips"].value,
        "ess": est["ess"].value,
        "inspected_picks": head.n,
        "leakage": leak.value,
    }


def compare_models(
    challenger: Any,
    champion: Any | None,
    window: pd.DataFrame,
    capacity: float,
    *,
    resample: str = "items",
    challenger_margin: pd.Series | None = None,
) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None, bool]:
    """Off-policy figures of both models on ``window`` and whether the challenger wins.

    Returns (challenger figures, champion figures, paired difference, better).
    ``challenger_margin``: the challenger's margins on the window, if already computed.
    The challenger is better only with evidence: the one-sided
    :data:`PROMOTION_CONFIDENCE` lower bound of the paired IPS difference of hit
    rates at ``capacity`` is above zero. A tie (two zeros) keeps the champion,
    and so does a challenger whose picks the window never inspected. With no
    champion, the challenger wins (there is nothing to keep).
    """
    from parcelrisk.estimation import decision_log_from_labels, off_policy_difference

    chal_margin = _margins(challenger, window) if challenger_margin is None else challenger_margin
    chal = _estimates(window, chal_margin, capacity)
    if champion is None:
        return chal, None, None, True
    champ_margin = _margins(champion, window)
    champ = _estimates(window, champ_margin, capacity)
    diff = off_policy_difference(
        decision_log_from_labels(window),
        chal_margin,
        champ_margin,
        capacity,
        confidence=PROMOTION_CONFIDENCE,
        resample=resample,
    )
    better = bool(diff.low > 0)  # NaN (no picks) compares False: keep the champion
    return chal, champ, diff.as_dict(), better


def promote(
    window: pd.DataFrame,
    capacity: float = 0.02,
    force: bool = False,
    incumbent: Any | None = None,
    store: Any = None,
    trial: bool = False,
) -> PromotionResult:
    """Move @champion to @challenger if it finds more, with evidence, on the same logged window.

    Both models are judged on the same logged inspections of ``window`` (a
    labelled period neither trained on): what each one's top ``capacity`` of
    every day would have found, estimated with 1/propensity weights (IPS,
    :data:`parcelrisk.estimation.DECISION`: unbiased, so it favours neither model),
    not the hit rate among the inspected items, which favours whatever the old
    policy looked for. The rule (:func:`compare_models`): promote when the
    one-sided 95% lower bound of the paired difference is above zero. Keeping a
    model that works is the safe default: a new model changes what officers see,
    and a comparison resting on a tie of zeros or one lucky find is not evidence.

    ``incumbent``: the model in service when no version holds @champion yet (a
    unit's starting model, e.g. the shipped one); the challenger must beat it the
    same way. Without either, the first challenger is promoted. In every case the
    challenger must also match the plain LightGBM baseline fitted beside it on its own
    test days (:func:`parcelrisk.baseline.beats_baseline`). ``store``: the
    history store both models score the window with, as they would in service
    (without it their entity profiles see only the window itself). ``trial``:
    the window was selected by a trial (:mod:`parcelrisk.trial`), whose coin
    is drawn per day, so the paired difference resamples whole days.
    """
    import mlflow

    from parcelrisk.baseline import beats_baseline
    from parcelrisk.estimation import DECISION, decision_log_from_labels

    configure_tracking()
    client = mlflow.MlflowClient()
    try:
        challenger = client.get_model_version_by_alias(REGISTERED_NAME, "challenger")
    except mlflow.exceptions.MlflowException:
        raise ConfigError(
            "no model has the alias 'challenger'; run 'parcelrisk train --register' first"
        ) from None
    try:
        champion = client.get_model_version_by_alias(REGISTERED_NAME, "champion")
    except mlflow.exceptions.MlflowException:
        champion = None
    # never mlflow.pyfunc.load_model: it would import or unpickle what the version carries
    champ_model = (
        load_registered(f"models:/{REGISTERED_NAME}@champion", store=store)
        if champion
        else incumbent
    )
    chal_model = load_registered(f"models:/{REGISTERED_NAME}@challenger", store=store)
    chal_margin = _margins(chal_model, window)
    chal_scores, champ_scores, diff, better = compare_models(
        chal_model,
        champ_model,
        window,
        capacity,
        resample="days" if trial else "items",
        challenger_margin=chal_margin,
    )
    # Issue 18: a challenger that does not match plain LightGBM on its own test days is refused.
    plain_ok, plain_why = beats_baseline(chal_model.metadata, capacity)
    rows = [{"alias": "challenger", "version": challenger.version, **chal_scores}]
    if champ_scores is not None:
        alias, version = (
            ("champion", champion.version)
            if champion
            else ("incumbent", getattr(incumbent, "version", "?"))
        )
        rows.append({"alias": alias, "version": version, **champ_scores})
    log = decision_log_from_labels(window)
    logged = int((log["selected"] & log["outcome"].notna()).sum())
    basis = (
        f"decided on the off-policy {DECISION.upper()} (inverse-propensity) estimate of the hit "
        f"rate at {capacity:.1%} capacity, both models on the same {logged:,} logged inspections "
        f"of {len(window):,} items"
    )
    if diff is not None:
        low, high = ("nan" if v is None else f"{v:+.4f}" for v in (diff["low"], diff["high"]))
        value = "nan" if diff["value"] is None else f"{diff['value']:+.4f}"
        basis += (
            f"; challenger - champion = {value} (one-sided {PROMOTION_CONFIDENCE:.0%} bounds "
            f"{low} to {high}, {diff['n']} discordant logged finds"
            + ("; a trial window: whole days resampled" if trial else "")
            + "); the rule promotes only when the lower bound is above zero"
        )
    else:
        basis += "; no champion to beat"
    basis += f"; the challenger {plain_why}"
    better = better and plain_ok
    promoted = better or force
    if promoted:
        client.set_registered_model_alias(REGISTERED_NAME, "champion", challenger.version)
        client.set_model_version_tag(
            REGISTERED_NAME,
            challenger.version,
            "promotion",
            ("forced" if (force and not better) else "better with evidence") + f"; {basis}",
        )
    return PromotionResult(
        promoted,
        dict(rows[0]),
        dict(rows[1]) if len(rows) > 1 else None,
        pd.DataFrame(rows),
        basis,
        bool(force and not better),
        diff,
        plain_ok,
        chal_margin,
    )
