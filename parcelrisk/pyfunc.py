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

import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from parcelrisk.api import with_history
from parcelrisk.model import load_model
from parcelrisk.schema import LABEL_COLUMNS, REQUIRED_COLUMNS
from parcelrisk.scoring import ScoreOptions, score_frame
from parcelrisk.store import StoreChoice, find_store
from parcelrisk.validate import labels_ignored_notice, validate_frame

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
        """Scored rows in input order; columns with a missing value hold None (JSON null)."""
        params = params or {}
        options = ScoreOptions(
            capacity=params.get("capacity"),
            budget=params.get("budget", 0.02),
            explain=params.get("explain", "selected"),
            seed=int(params.get("seed", 0)),
            scored_at=params.get("scored_at"),
        )
        missing = sorted(REQUIRED_COLUMNS - set(model_input.columns))
        if missing:
            raise _bad_request(f"the request lacks required column(s): {', '.join(missing)}")
        extra = self.model.features.own_columns_
        undeclared = [c.name for c in extra if c.name not in model_input.columns]
        if undeclared:
            raise _bad_request(
                f"the request lacks the model's declared column(s): {', '.join(undeclared)}"
            )
        labels = [c for c in LABEL_COLUMNS if c in model_input.columns]
        if labels:  # outcomes come only from the history store, never from the request
            warnings.warn(labels_ignored_notice(labels, "the request"), UserWarning, stacklevel=2)
        checked = validate_frame(model_input.drop(columns=labels), extra_columns=extra)
        with with_history(self.model, self.store) as model:
            scored = score_frame(checked.valid, model, options).scored
        out = scored.reindex(range(1, len(model_input) + 1))
        rejected = checked.rejects.set_index("row")["reason"].reindex(out.index)
        out["item_id"] = model_input["item_id"].astype("str").to_numpy()
        out["rejected_reason"] = rejected.to_numpy()
        return _strict_json(out.reset_index(drop=True))


def _strict_json(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing values as None, so that a served response holds null, never a bare NaN.

    MLflow's server writes ``DataFrame.to_dict("records")`` with ``json.dump``, which
    writes NaN as ``NaN`` (not JSON). Columns without a missing value keep their dtype.
    """
    out = frame.copy()
    for name in out.columns:
        gaps = out[name].isna()
        if gaps.any():
            out[name] = out[name].astype(object).where(~gaps, None)
    return out


def _bad_request(message: str) -> Exception:
    """An MLflow error that the server answers with HTTP 400 and exactly ``message``.

    MLflow's scoring server rewrites the message of any MlflowException raised in
    ``predict`` to "Failed to predict data '<the whole request>' ...": this one keeps
    the first message it is given, so the client reads one line naming the column.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

    class _OneLine(MlflowException):
        @property  # type: ignore[override]
        def message(self) -> str:
            return self._one_line

        @message.setter
        def message(self, value: str) -> None:
            if not hasattr(self, "_one_line"):
                self._one_line = value

    return _OneLine(message, error_code=INVALID_PARAMETER_VALUE)


def _load_pyfunc(data_path: str) -> PyfuncScorer:
    return PyfuncScorer(data_path)
