"""The library API: load a model, score a manifest frame, explain items.

>>> import parcelrisk                                          # doctest: +SKIP
>>> model = parcelrisk.load_model("models/default")           # doctest: +SKIP
>>> result = model.score(manifest_df, capacity=300)           # doctest: +SKIP
>>> result.scored, result.rejects                             # doctest: +SKIP
>>> reasons = model.explain(manifest_df, top=5)               # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from parcelrisk.errors import InputError
from parcelrisk.explain import explain_long, explain_long_empty
from parcelrisk.io import RawBatch
from parcelrisk.model import ParcelRiskModel
from parcelrisk.model import load_model as _load_folder
from parcelrisk.paths import DEFAULT_MODEL_DIR
from parcelrisk.scoring import ScoreOptions, empty_scored, load_templates_for, score_frame
from parcelrisk.store import HistoryStore, StoreChoice, find_store
from parcelrisk.validate import (
    ValidationResult,
    Validator,
    drop_labels,
    labels_ignored_notice,
    validate_frame,
)

__all__ = ["Model", "Scored", "load_model", "DEFAULT_MODEL_DIR"]


@dataclass
class Scored:
    """Output of :meth:`Model.score`: scored rows (input order), rejected rows, long-format reasons."""

    scored: pd.DataFrame
    rejects: pd.DataFrame
    explanations: pd.DataFrame


class Model:
    """A loaded parcelrisk model. No global state: two models can live side by side.

    ``store`` says which history store it reads (:func:`parcelrisk.store.find_store`);
    a store found by path is opened read-only for each call, so that a writer
    (``parcelrisk history add``) can update it between calls.
    """

    def __init__(self, model: ParcelRiskModel, store: StoreChoice | None = None) -> None:
        self._model = model
        self.store = store or StoreChoice(None, "none")

    def _pipeline(self) -> contextlib.AbstractContextManager[ParcelRiskModel]:
        return with_history(self._model, self.store)

    @property
    def version(self) -> str:
        return self._model.version

    @property
    def metadata(self) -> dict[str, Any]:
        return self._model.metadata

    def score(
        self,
        manifest: pd.DataFrame | RawBatch,
        *,
        capacity: int | None = None,
        budget: float | None = 0.02,
        explain: str = "selected",
        control_share: float = 0.05,
        seed: int = 0,
        scored_at: str | None = None,
    ) -> Scored:
        """Validate and score a manifest frame; bad rows come back in ``rejects``, not as an exception.

        ``manifest`` is a DataFrame (rows numbered 1..n) or what :func:`parcelrisk.read_manifest`
        returns (the file's record numbers, unreadable records among the rejects).
        Label columns (``inspected``, ``outcome``, ...) are ignored with a warning: outcomes
        come only from the history store.
        """
        checked = _validate(manifest, self._model)
        options = ScoreOptions(
            capacity=capacity,
            budget=budget,
            explain=explain,
            control_share=control_share,
            seed=seed,
            scored_at=scored_at,
        )
        if checked.valid.empty:  # every row rejected: nothing to score, nothing raised
            return Scored(empty_scored(), checked.rejects, explain_long_empty())
        with self._pipeline() as model:
            result = score_frame(checked.valid, model, options)
        return Scored(result.scored, checked.rejects, result.explanations)

    def explain(
        self, manifest: pd.DataFrame | RawBatch, top: int = 5, items: list[str] | None = None
    ) -> pd.DataFrame:
        """Reasons: item_id, rank, reason, feature, value, contribution, text.

        Positive ranks raise the risk (1 = strongest); negative ranks lower it.
        Profiles use the whole manifest; ``items`` limits which item_ids are explained.
        """
        valid = _validate(manifest, self._model).valid
        with self._pipeline() as model:
            features, context = model.features.transform_with_context(valid)
        rows = (
            valid.index if items is None else valid.index[valid["item_id"].isin(items).to_numpy()]
        )
        contrib = self._model.contributions(features.loc[rows])
        return explain_long(
            valid.loc[rows],
            features.loc[rows],
            context.subset(rows),
            contrib,
            self._model.features.descriptions_,
            load_templates_for(self._model),
            top=top,
        )

    def score_one(self, manifest: pd.DataFrame | RawBatch, item_id: str) -> pd.Series:
        """The scored row of one item, scored in the context of its whole manifest."""
        scored = self.score(manifest, explain="none").scored
        match = scored[scored["item_id"] == item_id]
        if match.empty:
            raise InputError(f"item {item_id!r} is not among the valid rows of the manifest")
        return match.iloc[0]


def _without_labels(manifest: pd.DataFrame) -> pd.DataFrame:
    """The manifest without label columns, with one warning if it had any."""
    frame, dropped = drop_labels(manifest)
    if dropped:
        warnings.warn(labels_ignored_notice(dropped, "the manifest"), UserWarning, stacklevel=3)
    return frame


def _validate(manifest: pd.DataFrame | RawBatch, model: ParcelRiskModel) -> ValidationResult:
    """Validated rows, checking the unit's own columns the model was trained with."""
    extra = model.features.own_columns_
    if isinstance(manifest, RawBatch):
        frame, dropped = drop_labels(manifest.frame)
        if dropped:
            warnings.warn(labels_ignored_notice(dropped, "the manifest"), UserWarning, stacklevel=3)
            manifest = dataclasses.replace(manifest, frame=frame)
        return Validator(extra_columns=extra).validate(manifest)
    return validate_frame(_without_labels(manifest), extra_columns=extra)


@contextlib.contextmanager
def with_history(model: ParcelRiskModel, store: StoreChoice) -> Iterator[ParcelRiskModel]:
    """``model`` with the store of ``store`` open read-only for the duration of one call.

    The loaded model is not changed (a copy of its features gets the store), so
    concurrent calls, as a model server makes them, do not share a connection.
    """
    if store.path is None or model.features.store is not None:
        yield model
        return
    with HistoryStore.open(store.path, secret=model.features.secret, read_only=True) as history:
        features = copy.copy(model.features)  # shares the fitted state, which is read-only
        features.store = history
        yield dataclasses.replace(model, features=features)


def resolve_model(
    ref: str | Path, *, store: Any = None, secret: bytes | None = None
) -> ParcelRiskModel:
    """The pipeline behind a model folder or an MLflow URI (``models:/parcelrisk@champion``)."""
    text = str(ref)
    if text.startswith(("models:/", "runs:/", "mlflow-artifacts:/")):
        # data only: MLmodel checked, folder loaded by parcelrisk (no MLflow loader, no pickle)
        from parcelrisk.tracking import load_registered

        return load_registered(text, store=store, secret=secret)
    return _load_folder(ref, store=store, secret=secret)


def load_model(
    ref: str | Path = DEFAULT_MODEL_DIR,
    *,
    store: HistoryStore | str | os.PathLike[str] | None = None,
    use_store: bool = True,
    secret: bytes | None = None,
) -> Model:
    """Load a model folder, or an MLflow model URI such as ``models:/parcelrisk@champion``.

    The history store follows the rule of every command (:func:`parcelrisk.store.find_store`):
    ``store`` (an open :class:`~parcelrisk.store.HistoryStore` or a path), else
    ``$PARCELRISK_STORE``, else ``./parcelrisk_history.duckdb`` if it exists;
    ``use_store=False`` scores without history. ``Model.store`` says which was used.
    """
    if isinstance(store, HistoryStore):
        return Model(
            resolve_model(ref, store=store, secret=secret), StoreChoice(store.path, "open store")
        )
    choice = find_store(store, use=use_store)
    return Model(resolve_model(ref, secret=secret), choice)
