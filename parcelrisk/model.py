"""The model: feature pipeline + LightGBM booster + calibrator, saved without pickle.

A model folder holds::

    model.txt       LightGBM booster, text format
    pipeline.json   fitted feature pipeline (with its copy of the reference data) and calibrator
    metadata.json   version, training window, data hash, metrics, library versions, checksums
    MODEL_CARD.md   intended use, data, metrics, limitations, human oversight

:func:`load_model` verifies every checksum and refuses folders holding pickles.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import yaml

from parcelrisk.calibration import Calibrator
from parcelrisk.errors import ConfigError, ModelError
from parcelrisk.features import ManifestFeatures
from parcelrisk.io import atomic_path
from parcelrisk.reference import default_reference_dir
from parcelrisk.schema import LabelSchema as L
from parcelrisk.schema import ManifestSchema as M

__all__ = [
    "Calibrator",
    "ParcelRiskModel",
    "TimeSplit",
    "time_split",
    "load_model",
    "save_model",
    "load_params",
    "frame_hash",
    "check_booster_text",
    "strict_json",
]

BOOSTER_FILE, PIPELINE_FILE, METADATA_FILE, CARD_FILE = (
    "model.txt",
    "pipeline.json",
    "metadata.json",
    "MODEL_CARD.md",
)
_FORBIDDEN_SUFFIXES = (".pkl", ".pickle", ".joblib", ".dill", ".cloudpickle", ".npy")
FORMAT_VERSION = 1


@dataclass
class TimeSplit:
    """Day boundaries: train < calibrate_from <= calibrate < test_from <= test."""

    calibrate_from: pd.Timestamp
    test_from: pd.Timestamp

    def assign(self, declared_at: pd.Series) -> pd.Series:
        part = np.where(
            declared_at >= self.test_from,
            "test",
            np.where(declared_at >= self.calibrate_from, "calibrate", "train"),
        )
        return pd.Series(part, index=declared_at.index)


def time_split(
    declared_at: pd.Series, calibrate_share: float = 0.2, test_share: float = 0.2
) -> TimeSplit:
    """Split by whole days: the latest days test, the ones before calibrate, the rest train."""
    days = declared_at.dt.floor("D")
    unique_days = np.sort(days.unique())
    n = len(unique_days)
    if n < 5:
        raise ConfigError(f"training data spans {n} days; a time split needs at least 5")
    n_test = max(1, round(n * test_share))
    n_cal = max(1, round(n * calibrate_share))
    return TimeSplit(
        calibrate_from=pd.Timestamp(unique_days[n - n_test - n_cal]),
        test_from=pd.Timestamp(unique_days[n - n_test]),
    )


def load_params(path: str | Path | None = None) -> dict[str, Any]:
    """Training settings from ``features/model_params.yaml``."""
    p = Path(path) if path else default_reference_dir() / "model_params.yaml"
    try:
        return dict(yaml.safe_load(p.read_text(encoding="utf-8")))
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read model parameters ({exc.strerror})") from None


def frame_hash(frame: pd.DataFrame) -> str:
    """Content hash of a frame (values and column names), independent of the file format."""
    h = hashlib.sha256()
    h.update("|".join(map(str, frame.columns)).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def library_versions() -> dict[str, str]:
    names = ("parcelrisk", "lightgbm", "pandas", "numpy", "scikit-learn", "pyarrow", "duckdb")
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


@dataclass
class ParcelRiskModel:
    """A fitted pipeline: features -> booster -> calibrator, plus its metadata."""

    features: ManifestFeatures
    booster: lgb.Booster
    calibrator: Calibrator
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.metadata.get("model_version", "unversioned"))

    def raw_margin(self, X: pd.DataFrame) -> np.ndarray:
        """Booster output in log-odds (what SHAP contributions add up to)."""
        return np.asarray(self.booster.predict(X, raw_score=True, num_threads=_threads()))

    def calibrated(self, margin: np.ndarray) -> np.ndarray:
        """P(an inspection finds contraband) of each margin (see :mod:`parcelrisk.calibration`)."""
        return self.calibrator(margin)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Exact TreeSHAP contributions (log-odds) from LightGBM, one column per feature + bias."""
        if len(X) == 0:
            return pd.DataFrame(columns=[*X.columns, "bias"], dtype="float64")
        values = self.booster.predict(X, pred_contrib=True, num_threads=_threads())
        return pd.DataFrame(values, index=X.index, columns=[*X.columns, "bias"])


def _threads() -> int:
    return 2


def save_model(model: ParcelRiskModel, directory: str | Path, card: str) -> Path:
    """Write a model folder atomically, file by file, with checksums in metadata.json."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    with atomic_path(root / BOOSTER_FILE) as tmp:
        model.booster.save_model(str(tmp), num_iteration=model.booster.best_iteration or None)
    pipeline = {
        "format_version": FORMAT_VERSION,
        "features": model.features.to_dict(),
        "calibrator": model.calibrator.to_dict(),
    }
    _write_json(root / PIPELINE_FILE, pipeline)
    with atomic_path(root / CARD_FILE) as tmp:
        tmp.write_text(card, encoding="utf-8")
    meta = dict(model.metadata)
    meta["checksums"] = {
        name: _sha256(root / name) for name in (BOOSTER_FILE, PIPELINE_FILE, CARD_FILE)
    }
    _write_json(root / METADATA_FILE, meta)
    return root


def _write_json(path: Path, data: Any) -> None:
    """Strict JSON (what ``JSON.parse`` reads): NaN and infinities are written as null."""
    with atomic_path(path) as tmp:
        tmp.write_text(strict_json(data) + "\n", encoding="utf-8")


def strict_json(data: Any) -> str:
    """``data`` as strict JSON, indented and with sorted keys; non-finite numbers become null.

    >>> strict_json({"lift": float("nan"), "n": [1.5, float("inf")]})
    '{\\n "lift": null,\\n "n": [\\n  1.5,\\n  null\\n ]\\n}'
    """
    return json.dumps(
        _finite_or_none(data), indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False
    )


def _finite_or_none(data: Any) -> Any:
    if isinstance(data, float):
        return data if np.isfinite(data) else None
    if isinstance(data, dict):
        return {key: _finite_or_none(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite_or_none(value) for value in data]
    return data


def _read_json_object(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc).splitlines()[0][:120]
        raise ModelError(f"{path}: unreadable {what} ({reason})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: unreadable {what} (not a JSON object)")
    return data


def _ints(fields: dict[str, str], key: str, count: int, tree: str) -> list[int]:
    try:
        values = [int(v) for v in fields.get(key, "").split()]
    except ValueError:
        raise ValueError(f"{tree}: {key} holds a value that is not an integer") from None
    if len(values) != count:
        raise ValueError(f"{tree}: {key} has {len(values)} values where {count} are needed")
    return values


def check_booster_text(text: str, feature_names: list[str]) -> None:
    """Check a LightGBM text model's structure against the pipeline's features.

    LightGBM trusts its model file: an out-of-range ``split_feature``, child index or
    categorical boundary makes it read out of bounds or abort the process. This checks,
    before LightGBM sees the file, that the header names exactly ``feature_names`` and
    that every tree's arrays have the right lengths and in-range indices. Raises
    ``ValueError`` naming the tree and field.
    """
    header_end = text.find("\nTree=")
    if header_end < 0:
        raise ValueError("no trees")
    header = dict(line.split("=", 1) for line in text[:header_end].splitlines() if "=" in line)
    if header.get("num_class", "1") != "1":
        raise ValueError(f"num_class={header.get('num_class')}; a binary model has 1")
    names = header.get("feature_names", "").split()
    if names != list(feature_names):
        raise ValueError(
            f"feature_names name {len(names)} features; the pipeline has {len(feature_names)}"
        )
    if header.get("max_feature_idx") != str(len(feature_names) - 1):
        raise ValueError(f"max_feature_idx={header.get('max_feature_idx')} does not match")
    n_features = len(feature_names)
    body = text[header_end + 1 :].split("\nend of trees", 1)[0]
    blocks = [b for b in body.split("\n\n") if b.strip()]
    if not blocks:
        raise ValueError("no trees")
    for block in blocks:
        fields = dict(line.split("=", 1) for line in block.strip().splitlines() if "=" in line)
        tree = f"Tree={fields.get('Tree', '?')}"
        (leaves,) = _ints(fields, "num_leaves", 1, tree)
        if leaves < 1:
            raise ValueError(f"{tree}: num_leaves={leaves}")
        if fields.get("is_linear", "0").strip() != "0":
            raise ValueError(f"{tree}: linear trees are not used by parcelrisk")
        _ints_or_floats = fields.get("leaf_value", "").split()
        if len(_ints_or_floats) != leaves:
            raise ValueError(f"{tree}: leaf_value has {len(_ints_or_floats)} values, not {leaves}")
        if leaves == 1:
            continue
        splits = leaves - 1
        feature = _ints(fields, "split_feature", splits, tree)
        decision = _ints(fields, "decision_type", splits, tree)
        children = _ints(fields, "left_child", splits, tree) + _ints(
            fields, "right_child", splits, tree
        )
        thresholds = fields.get("threshold", "").split()
        if len(thresholds) != splits:
            raise ValueError(f"{tree}: threshold has {len(thresholds)} values, not {splits}")
        if any(not 0 <= f < n_features for f in feature):
            raise ValueError(f"{tree}: split_feature out of range 0..{n_features - 1}")
        # a child is a split 1..splits-1 (the root, 0, is nobody's child) or ~leaf, -leaves..-1
        if any(not (-leaves <= c <= -1 or 1 <= c <= splits - 1) for c in children):
            raise ValueError(f"{tree}: left_child/right_child out of range")
        (n_cat,) = _ints(fields, "num_cat", 1, tree) if "num_cat" in fields else (0,)
        categorical = [i for i, d in enumerate(decision) if d & 1]
        if n_cat < 0 or (n_cat == 0) != (not categorical):
            raise ValueError(f"{tree}: num_cat={n_cat} does not match the categorical splits")
        if n_cat:
            bounds = _ints(fields, "cat_boundaries", n_cat + 1, tree)
            words = len(fields.get("cat_threshold", "").split())
            if (
                bounds[0] != 0
                or bounds[-1] != words
                or any(a > b for a, b in zip(bounds, bounds[1:], strict=False))
            ):
                raise ValueError(f"{tree}: cat_boundaries do not index cat_threshold")
            for i in categorical:
                try:
                    index = int(float(thresholds[i]))
                except ValueError:
                    raise ValueError(f"{tree}: categorical threshold is not an index") from None
                if not 0 <= index < n_cat:
                    raise ValueError(f"{tree}: categorical threshold out of range")


def load_model(
    directory: str | Path, *, store: Any = None, secret: bytes | None = None
) -> ParcelRiskModel:
    """Load and verify a model folder (checksums, format version, no pickles, booster structure).

    Every way a folder can be wrong (missing, tampered, malformed JSON, a crafted
    booster) is one :class:`ModelError` line.
    """
    root = Path(directory)
    if not root.is_dir():
        raise ModelError(f"{root}: model folder not found")
    pickles = sorted(p.name for p in root.iterdir() if p.suffix.lower() in _FORBIDDEN_SUFFIXES)
    if pickles:
        raise ModelError(
            f"{root}: refusing a model folder that contains pickled files: {', '.join(pickles)}"
        )
    meta = _read_json_object(root / METADATA_FILE, "model metadata")
    checksums = meta.get("checksums")
    if not isinstance(checksums, dict):
        raise ModelError(f"{root}: metadata.json does not list the checksums of every model file")
    for name, expected in checksums.items():
        path = root / name
        if not path.is_file() or _sha256(path) != expected:
            raise ModelError(
                f"{path}: checksum mismatch; the model folder was modified or is incomplete"
            )
    if set(checksums) != {BOOSTER_FILE, PIPELINE_FILE, CARD_FILE}:
        raise ModelError(f"{root}: metadata.json does not list the checksums of every model file")
    pipeline = _read_json_object(root / PIPELINE_FILE, "model pipeline")
    if pipeline.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{root}: model format {pipeline.get('format_version')} is not supported "
            f"by this parcelrisk (format {FORMAT_VERSION}); retrain or upgrade"
        )
    versions = meta.get("library_versions")
    trained_with = str(versions.get("lightgbm", "")) if isinstance(versions, dict) else ""
    if trained_with.split(".")[:1] != lgb.__version__.split(".")[:1]:
        raise ModelError(f"{root}: trained with LightGBM {trained_with}, this is {lgb.__version__}")
    try:
        features = ManifestFeatures.from_dict(pipeline["features"], store=store, secret=secret)
        calibrator = Calibrator.from_dict(pipeline["calibrator"])
        names = [str(n) for n in features.feature_names_out_]
    except (KeyError, TypeError, ValueError, AttributeError, ConfigError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0][:120]
        raise ModelError(f"{root / PIPELINE_FILE}: malformed model pipeline ({detail})") from None
    if store is not None:  # a store keyed otherwise than the model's profiles: refused here
        features.key_scheme_for(store)
    booster_path = root / BOOSTER_FILE
    try:
        text = booster_path.read_text(encoding="utf-8")
        check_booster_text(text, names)
        booster = lgb.Booster(model_str=text)
    except (OSError, UnicodeDecodeError, ValueError, lgb.basic.LightGBMError) as exc:
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise ModelError(
            f"{booster_path}: refusing the booster, it does not match the model's "
            f"{len(names)} features ({reason}); the file is damaged or crafted"
        ) from None
    return ParcelRiskModel(features, booster, calibrator, meta)


def labels_of(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(inspected mask, seizure 0/1) from the label columns."""
    if L.inspected not in frame or L.outcome not in frame:
        raise ConfigError("training data needs the label columns 'inspected' and 'outcome'")
    inspected = frame[L.inspected].astype(bool) & frame[L.outcome].notna()
    seized = frame[L.outcome].eq("seizure").fillna(False).astype("int8")
    return inspected, seized


def declared_days(frame: pd.DataFrame) -> tuple[str, str]:
    days = frame[M.declared_at].dt.strftime("%Y-%m-%d")
    return str(days.min()), str(days.max())
