"""Scoring a manifest file in chunks.

Memory is bounded by the chunk size plus a few numbers per item (measured in
``benchmarks/RESULTS.md``: 1.8 GiB at 1M items, 4.8 GiB at 10M, where the
per-item predictions and the explanation candidates are what grows). Three passes over
the file, each chunk at a time:

1. read and validate; valid rows go to a temporary Parquet part and their keyed
   entities to a :class:`~parcelrisk.store.ManifestOverlay`; then the entity
   profiles of the whole file are computed at once against the history
   (:class:`~parcelrisk.profiles.FileProfiles`), as a one-pass run would;
2. features, margin and calibrated risk per chunk; only small per-row
   predictions are kept, plus the features of the rows that can still be
   selected (top ``slots`` by margin and by control draw, pruned as chunks
   come in);
3. one global selection, then explanations for the selected rows; the output
   is assembled and written in slices (:meth:`FileScore.iter_scored`).

The result is identical to :func:`parcelrisk.scoring.score_frame` over the
whole file at once (tested), whatever the chunk size.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from parcelrisk.errors import InputError
from parcelrisk.explain import explain_long_empty
from parcelrisk.features import FeatureContext
from parcelrisk.features.value import value_in_eur
from parcelrisk.io import DEFAULT_CHUNK_ROWS, iter_manifest
from parcelrisk.model import ParcelRiskModel
from parcelrisk.profiles import FileProfiles
from parcelrisk.schema import RejectSchema
from parcelrisk.scoring import (
    Predictions,
    ScoreOptions,
    Selection,
    _check_options,
    _uniform,
    assemble,
    empty_scored,
    explain,
    explain_rows,
    now_utc,
    predict,
    ranking,
    select_positions,
)
from parcelrisk.store import ManifestOverlay, entity_keys, secret_from_env
from parcelrisk.validate import Validator

__all__ = ["FileScore", "score_file", "PSEUDONYM_COLUMNS"]

#: Candidates kept beyond 2x the selection slots before they are pruned (amortises the pruning).
PRUNE_SLACK_ROWS = 50_000

#: Keyed hashes added to the output by ``--pseudonymize`` (HMAC with the store's secret).
PSEUDONYM_COLUMNS = ("sender_key", "recipient_key", "address_key")


#: Rows per slice of the scored output when it is written (:meth:`FileScore.iter_scored`).
OUTPUT_SLICE_ROWS = 500_000


@dataclass
class FileScore:
    """A scored file: predictions and selection of every valid row, reasons of the explained ones.

    The output frame (:class:`~parcelrisk.scoring.ScoredSchema`) is assembled on
    demand: :meth:`iter_scored` in slices (what the CLI writes, so memory does
    not hold ten million assembled rows), :attr:`scored` whole (library use).
    Both give the same rows.
    """

    rejects: pd.DataFrame
    explanations: pd.DataFrame
    contributions: pd.DataFrame
    rows_read: int
    model: ParcelRiskModel
    options: ScoreOptions  # scored_at resolved, so that every slice says the same
    preds: Predictions | None = None  # None: every row rejected
    selection: Selection | None = None
    pseudonyms: pd.DataFrame | None = None

    @property
    def n_scored(self) -> int:
        return 0 if self.preds is None else len(self.preds.item_id)

    @property
    def n_selected(self) -> int:
        return 0 if self.selection is None else int(np.count_nonzero(self.selection.code))

    @property
    def risk_scores(self) -> pd.Series:
        if self.preds is None:
            return pd.Series(dtype="float64")
        return self.preds.risk.astype("float64")

    @property
    def n_referrals(self) -> int:
        return 0 if self.preds is None else int(self.preds.referral.ne("").sum())

    def _assemble(self, positions: slice | np.ndarray) -> pd.DataFrame:
        assert self.preds is not None and self.selection is not None
        rows = self.preds.item_id.index[positions]
        if len(rows) == 0:  # e.g. nothing selected: an empty frame with the schema's types
            empty = empty_scored()
            return empty if self.pseudonyms is None else empty.join(self.pseudonyms.iloc[:0])
        long = self.explanations
        if len(long) and len(rows) != self.n_scored:
            long = long[long["row"].isin(rows)]
        scored = assemble(
            self.preds.subset(rows),
            self.selection.as_series(rows, positions),
            long,
            self.model,
            self.options,
        )
        if self.pseudonyms is not None:
            scored = scored.join(self.pseudonyms.loc[rows])
        return scored

    def iter_scored(self, rows: int | None = None) -> Iterator[pd.DataFrame]:
        """The scored output in input order, ``rows`` (default :data:`OUTPUT_SLICE_ROWS`) at a time."""
        if self.preds is None:
            yield empty_scored()
            return
        step = rows or OUTPUT_SLICE_ROWS
        for start in range(0, self.n_scored, step):
            yield self._assemble(slice(start, start + step))

    @property
    def scored(self) -> pd.DataFrame:
        """The whole scored output as one frame."""
        if self.preds is None:
            return empty_scored()
        return self._assemble(slice(None))

    @property
    def selected_scored(self) -> pd.DataFrame:
        """The scored output of the selected rows only."""
        if self.preds is None or self.selection is None:
            return empty_scored()
        return self._assemble(np.flatnonzero(self.selection.code))


@dataclass
class _Candidates:
    """Rows kept for explanation: validated fields, features, context, predictions."""

    valid: pd.DataFrame
    features: pd.DataFrame
    context: FeatureContext
    preds: Predictions

    def subset(self, rows: pd.Index) -> _Candidates:
        return _Candidates(
            self.valid.loc[rows],
            self.features.loc[rows],
            self.context.subset(rows),
            self.preds.subset(rows),
        )

    @classmethod
    def concat(cls, parts: list[_Candidates]) -> _Candidates:
        context = FeatureContext(
            *(
                pd.concat([getattr(p.context, f) for p in parts])
                for f in ("vague_list", "watchlists", "value_eur")
            )
        )
        return cls(
            pd.concat([p.valid for p in parts]),
            pd.concat([p.features for p in parts]),
            context,
            Predictions.concat([p.preds for p in parts]),
        )


def _keep(preds: Predictions, draw: np.ndarray, slots: int, explain_all: bool) -> pd.Index:
    """Rows that could end up selected: top ``slots`` by margin and by control draw, watch-listed.

    The same test applied to the union of earlier survivors and a new chunk
    keeps exactly what it would keep over all rows read so far (top-k of a
    union of top-k's), so candidates can be pruned as chunks come in.
    """
    if explain_all:
        return preds.item_id.index
    if slots == 0:
        return preds.item_id.index[:0]
    by_margin = ranking(preds.margin, preds.item_id)  # the order select() uses
    by_draw = preds.item_id.index[np.argsort(draw, kind="stable")]
    keep = (
        by_margin[:slots]
        .union(by_draw[:slots])
        .union(preds.watchlisted.index[preds.watchlisted.to_numpy()])
    )
    return keep


def score_file(
    path: str | os.PathLike[str],
    model: ParcelRiskModel,
    options: ScoreOptions | None = None,
    *,
    history: Any = None,
    column_map: Mapping[str, str] | None = None,
    encoding: str | None = "auto",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    pseudonymize: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> FileScore:
    """Validate and score a manifest file chunk by chunk (see the module docstring).

    ``pseudonymize`` adds the keyed hashes ``sender_key``, ``recipient_key`` and
    ``address_key`` to the output; ``progress(stage, rows)`` is called per chunk.
    """
    report = progress or (lambda stage, rows: None)
    opts = options or ScoreOptions()
    _check_options(opts)
    validator = Validator(str(path))
    rejects: list[pd.DataFrame] = []
    rows_read = 0
    secret = model.features.secret or secret_from_env()
    with tempfile.TemporaryDirectory(prefix="parcelrisk-") as tmp:
        parts: list[Path] = []
        n_valid = 0
        # the overlay (every valid item, keyed, in DuckDB) is only needed until the profiles
        # are computed: closing it frees its memory before pass 2
        with ManifestOverlay(history, secret) as overlay:
            for batch in iter_manifest(
                path, column_map=column_map, encoding=encoding, chunk_rows=chunk_rows
            ):
                result = validator.validate(batch)
                rows_read += result.rows_read
                report("validated", result.rows_read)
                rejects.append(result.rejects)
                if len(result.valid):
                    part = Path(tmp) / f"part-{len(parts):05d}.parquet"
                    result.valid.to_parquet(part)
                    parts.append(part)
                    n_valid += len(result.valid)
                    if model.features.profiles:
                        # the value the features use (the model's rates), for same-day sums
                        value_eur = value_in_eur(result.valid, model.features.reference_)
                        overlay.add(result.valid.assign(value_eur=value_eur))
            profiles = (
                FileProfiles.compute(overlay, Path(tmp) / "profiles")
                if model.features.profiles
                else None
            )
        if profiles is not None and n_valid:
            report("profiled", n_valid)
        slots = opts.slots(n_valid)

        preds_parts: list[Predictions] = []
        draws: list[np.ndarray] = []  # the control draw depends on item_id and seed only
        keys: list[pd.DataFrame] = []
        kept: list[_Candidates] = []
        start = 0
        for part in parts:
            valid = pd.read_parquet(part)
            profile = profiles.rows(start, valid.index) if profiles is not None else None
            start += len(valid)
            preds, feats, context = predict(valid, model, profile)
            preds_parts.append(preds)
            draws.append(_uniform(preds.item_id, opts.seed))
            if pseudonymize:
                keys.append(entity_keys(valid, secret)[list(PSEUDONYM_COLUMNS)])
            report("scored", len(valid))
            rows = _keep(preds, draws[-1], slots, opts.explain == "all")
            kept.append(
                _Candidates(
                    valid.loc[rows], feats.loc[rows], context.subset(rows), preds.subset(rows)
                )
            )
            if (
                opts.explain != "all"
                and sum(len(k.valid) for k in kept) > 2 * slots + PRUNE_SLACK_ROWS
            ):
                # without pruning, a budget of 2% on a file of 50 chunks would keep every row
                survivors = _Candidates.concat(kept)
                draw = _uniform(survivors.preds.item_id, opts.seed)
                kept = [survivors.subset(_keep(survivors.preds, draw, slots, False))]

    if rows_read == 0:
        raise InputError(f"{path}: no records after the header")
    all_rejects = (
        pd.concat(rejects, ignore_index=True)
        if rejects
        else pd.DataFrame(columns=list(RejectSchema.to_schema().columns))
    )
    opts = replace(opts, scored_at=opts.scored_at or now_utc())
    if not preds_parts:  # every row rejected: nothing to score
        return FileScore(all_rejects, explain_long_empty(), pd.DataFrame(), rows_read, model, opts)
    preds = Predictions.concat(preds_parts)
    preds_parts.clear()  # the parts are copied into preds: free them before the selection
    # by position: label-indexed Series of ten million items cost gigabytes here
    selection = select_positions(
        preds.margin.to_numpy(dtype="float64"),
        preds.item_id,
        preds.watchlisted.to_numpy(dtype=bool),
        np.concatenate(draws),
        opts,
    )
    draws.clear()
    rows = explain_rows(preds, selection.code > 0, opts)
    if kept:
        # Every row that can be selected was kept (see _keep), so .loc cannot miss; take the
        # explained rows from each part rather than concatenating every candidate first.
        chosen = _Candidates.concat([k.subset(k.valid.index.intersection(rows)) for k in kept])
        kept.clear()
        long, contrib = explain(
            chosen.valid.loc[rows], chosen.features.loc[rows], chosen.context.subset(rows), model
        )
    else:
        long, contrib = explain_long_empty(), pd.DataFrame()
    report("explained", len(rows))
    return FileScore(
        all_rejects,
        long,
        contrib,
        rows_read,
        model,
        opts,
        preds,
        selection,
        pd.concat(keys) if pseudonymize else None,
    )
