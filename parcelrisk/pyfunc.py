"""The MLflow pyfunc flavour of a parcelrisk model, loaded without pickle.

MLflow stores the model folder (LightGBM text + JSON) as the pyfunc's data and
calls :func:`_load_pyfunc` on it (the ``loader_module`` mechanism), so nothing
of the project is pickled. ``predict`` runs the same :func:`score_frame` as the
CLI and the library, with the history store of the same rule
(:func:`parcelrisk.store.find_store`: ``$PARCELRISK_STORE``, else
``./parcelrisk_history.duckdb`` of the serving process if it exists), opened
read-only for each request, so it gives the CLI's scores for the same rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from parcelrisk.api import with_history
from parcelrisk.model import load_model
from parcelrisk.scoring import ScoreOptions, score_frame
from parcelrisk.store import StoreChoice, find_store
from parcelrisk.validate import validate_frame

__all__ = ["PyfuncScorer"]


class PyfuncScorer:
    """Scores a manifest DataFrame; returns one row per input row (rejected rows: no score)."""

    def __init__(self, model_dir: str, store: str | Path | None = None) -> None:
        self.model = load_model(model_dir)
        choice = find_store(store)
        # resolved once: the store of the folder the server started in, whatever happens later
        self.store = StoreChoice(
            choice.path.resolve() if choice.path is not None else None, choice.source
        )

    def get_raw_model(self) -> PyfuncScorer:
        """What ``mlflow.pyfunc.load_model(...).get_raw_model()`` returns: this scorer."""
        return self

    def predict(
        self, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Scored rows in input order."""
        params = params or {}
        options = ScoreOptions(
            capacity=params.get("capacity"),
            budget=params.get("budget", 0.02),
            explain=params.get("explain", "selected"),
            seed=int(params.get("seed", 0)),
            scored_at=params.get("scored_at"),
        )
        checked = validate_frame(model_input)
        with with_history(self.model, self.store) as model:
            scored = score_frame(checked.valid, model, options).scored
        out = scored.reindex(range(1, len(model_input) + 1))
        rejected = checked.rejects.set_index("row")["reason"].reindex(out.index)
        out["item_id"] = model_input["item_id"].astype("str").to_numpy()
        out["rejected_reason"] = rejected.to_numpy()
        return out.reset_index(drop=True)


def _load_pyfunc(data_path: str) -> PyfuncScorer:
    return PyfuncScorer(data_path)
