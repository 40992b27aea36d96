"""The MLflow pyfunc flavour of a parcelrisk model, loaded without pickle.

MLflow stores the model folder (LightGBM text + JSON) as the pyfunc's data and
calls :func:`_load_pyfunc` on it (the ``loader_module`` mechanism), so nothing
of the project is pickled. ``predict`` runs the same :func:`score_frame` as the
CLI and the library.
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from parcelrisk.model import load_model
from parcelrisk.schema import LABEL_COLUMNS
from parcelrisk.scoring import ScoreOptions, score_frame
from parcelrisk.validate import labels_ignored_notice, validate_frame

__all__ = ["PyfuncScorer"]


class PyfuncScorer:
    """Scores a manifest DataFrame; returns one row per input row (rejected rows: no score)."""

    def __init__(self, model_dir: str) -> None:
        self.model = load_model(model_dir)

    def get_raw_model(self) -> PyfuncScorer:
        """What ``mlflow.pyfunc.load_model(...).get_raw_model()`` returns: this scorer."""
        return self

    def predict(
        self, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        params = params or {}
        options = ScoreOptions(
            capacity=params.get("capacity"),
            budget=params.get("budget", 0.02),
            explain=params.get("explain", "selected"),
            seed=int(params.get("seed", 0)),
            scored_at=params.get("scored_at"),
        )
        labels = [c for c in LABEL_COLUMNS if c in model_input.columns]
        if labels:  # outcomes come only from the history store, never from the request
            warnings.warn(labels_ignored_notice(labels, "the request"), UserWarning, stacklevel=2)
        checked = validate_frame(model_input.drop(columns=labels))
        scored = score_frame(checked.valid, self.model, options).scored
        out = scored.reindex(range(1, len(model_input) + 1))
        rejected = checked.rejects.set_index("row")["reason"].reindex(out.index)
        out["item_id"] = model_input["item_id"].astype("str").to_numpy()
        out["rejected_reason"] = rejected.to_numpy()
        return out.reset_index(drop=True)


def _load_pyfunc(data_path: str) -> PyfuncScorer:
    return PyfuncScorer(data_path)
