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
    with atomic_path(path) as tmp:
        tmp.write_text(
            json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
        )


def load_model(
    directory: str | Path, *, store: Any = None, secret: bytes | None = None
) -> ParcelRiskModel:
    """Load and verify a model folder (checksums, format version, no pickles)."""
    root = Path(directory)
    if not root.is_dir():
        raise ModelError(f"{root}: model folder not found")
    pickles = sorted(p.name for p in root.iterdir() if p.suffix.lower() in _FORBIDDEN_SUFFIXES)
    if pickles:
        raise ModelError(
            f"{root}: refusing a model folder that contains pickled files: {', '.join(pickles)}"
        )
    try:
        meta = json.loads((root / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{root / METADATA_FILE}: unreadable model metadata ({exc})") from None
    for name, expected in meta.get("checksums", {}).items():
        path = root / name
        if not path.is_file() or _sha256(path) != expected:
            raise ModelError(
                f"{path}: checksum mismatch; the model folder was modified or is incomplete"
            )
    if set(meta.get("checksums", {})) != {BOOSTER_FILE, PIPELINE_FILE, CARD_FILE}:
        raise ModelError(f"{root}: metadata.json does not list the checksums of every model file")
    pipeline = json.loads((root / PIPELINE_FILE).read_text(encoding="utf-8"))
    if pipeline.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{root}: model format {pipeline.get('format_version')} is not supported "
            f"by this parcelrisk (format {FORMAT_VERSION}); retrain or upgrade"
        )
    trained_with = meta.get("library_versions", {}).get("lightgbm", "")
    if trained_with.split(".")[:1] != lgb.__version__.split(".")[:1]:
        raise ModelError(f"{root}: trained with LightGBM {trained_with}, this is {lgb.__version__}")
    booster = lgb.Booster(model_file=str(root / BOOSTER_FILE))
    features = ManifestFeatures.from_dict(pipeline["features"], store=store, secret=secret)
    calibrator = Calibrator.from_dict(pipeline["calibrator"])
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
