"""Scoring a manifest file in chunks.

Memory is bounded by the chunk size plus a few numbers per item (figures in
``benchmarks/RESULTS.md``, 1M and 10M items side by side). The file is read
once and the valid rows are then re-read from temporary Parquet parts:

1. read and validate; valid rows go to a temporary Parquet part and their keyed
   entities to a :class:`~parcelrisk.store.ManifestOverlay`; then the entity
   profiles of the whole file are computed at once against the history
   (:class:`~parcelrisk.profiles.FileProfiles`), as a one-pass run would;
2. features, margin and calibrated risk per part; only a few numbers per row
   are kept (:class:`~parcelrisk.scoring.Predictions`, the control draw);
3. one selection over the whole file (by position), then the selected rows'
   features are recomputed, part by part, and explained;
4. the output is assembled and written in slices (:meth:`FileScore.iter_scored`).

The result is identical to :func:`parcelrisk.scoring.score_frame` over the
whole file at once (tested), whatever the chunk size.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from parcelrisk.errors import InputError
from parcelrisk.explain import explain_long_empty
from parcelrisk.features.value import value_in_eur
from parcelrisk.io import DEFAULT_CHUNK_ROWS, iter_manifest
from parcelrisk.model import ParcelRiskModel
from parcelrisk.monitoring import FeatureCounter
from parcelrisk.profiles import FileProfiles
from parcelrisk.schema import LABEL_COLUMNS, RejectSchema
from parcelrisk.scoring import (
    BENCH_COLUMNS,
    SELECTION_REASONS,
    Predictions,
    ScoreOptions,
    Selection,
    _check_options,
    _uniform,
    assemble,
    bench_details,
    empty_scored,
    explain,
    now_utc,
    predict,
    select_positions,
    top_reasons,
)
from parcelrisk.store import ManifestOverlay, scheme_keys, secret_from_env
from parcelrisk.tempfiles import private_file, private_tempdir
from parcelrisk.validate import Validator, drop_labels

__all__ = ["FileScore", "score_file", "PSEUDONYM_COLUMNS"]

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
    #: Label columns of the manifest that were ignored (outcomes come only from the store).
    ignored_labels: tuple[str, ...] = ()
    #: The selected rows' own data for the inspection sheets (``scoring.BENCH_COLUMNS``).
    details: pd.DataFrame | None = None

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

    def iter_decisions(self, rows: int | None = None) -> Iterator[pd.DataFrame]:
        """The run's decisions (:func:`~parcelrisk.scoring.decision_frame`), in slices.

        Every slice carries the same ``run_id`` (a hash of the model version,
        ``scored_at`` and every item id), so the store can replace a re-run.
        """
        if self.preds is None:
            return
        from parcelrisk.store import decision_run_id

        step = rows or OUTPUT_SLICE_ROWS
        run_id = decision_run_id(
            pd.DataFrame(
                {
                    "item_id": self.preds.item_id,
                    "model_version": self.model.version,
                    "scored_at": self.options.scored_at,
                }
            )
        )
        assert self.selection is not None
        top = top_reasons(self.explanations)
        for start in range(0, self.n_scored, step):
            positions = slice(start, start + step)
            preds = self.preds
            rows = preds.item_id.index[positions]
            code = self.selection.code[positions]
            # straight from the predictions: assembling the scored output again cost ~40% of a run
            reason = pd.Series(SELECTION_REASONS[code], index=rows, dtype="object")
            yield pd.DataFrame(
                {
                    "item_id": preds.item_id.iloc[positions],
                    "model_version": self.model.version,
                    "scored_at": self.options.scored_at,
                    "margin": preds.margin.iloc[positions].astype("float64"),
                    "risk_score": preds.risk.iloc[positions].astype("float64"),
                    "selected": code != 0,
                    "selection_reason": reason,
                    "selection_propensity": np.round(self.selection.propensity[positions], 8),
                    "data_quality_referral": preds.referral.iloc[positions].ne("").to_numpy(),
                    "top_reason": top.reindex(rows).astype("object"),
                    "run_id": run_id,
                },
                index=rows,
            )

    @property
    def selected_scored(self) -> pd.DataFrame:
        """The scored output of the selected rows only."""
        if self.preds is None or self.selection is None:
            return empty_scored()
        return self._assemble(np.flatnonzero(self.selection.code))


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
    epoch_dates: bool = False,
    feature_counter: FeatureCounter | None = None,
) -> FileScore:
    """Validate and score a manifest file chunk by chunk (see the module docstring).

    ``pseudonymize`` adds the keyed hashes ``sender_key``, ``recipient_key`` and
    ``address_key`` to the output; ``progress(stage, rows)`` is called per chunk;
    ``epoch_dates`` reads plain numbers in date columns as epoch seconds.
    ``feature_counter`` adds up each chunk's features in its bins (drift monitoring).
    """
    report = progress or (lambda stage, rows: None)
    opts = options or ScoreOptions()
    _check_options(opts)
    validator = Validator(str(path), epoch_dates, model.features.own_columns_)
    rejects: list[pd.DataFrame] = []
    rows_read = 0
    ignored: set[str] = set()  # label columns: never used at scoring time
    secret = model.features.secret or secret_from_env()
    # the store's entity-key scheme, which must be the model's (refused before reading the file)
    key_scheme = model.features.key_scheme_for(history)
    # parcelrisk-<pid>-*, 0700, files 0600; folders of killed runs are removed first
    with private_tempdir() as tmp:
        parts: list[Path] = []
        n_valid = 0
        # the overlay (every valid item, keyed) is only needed until the profiles are computed:
        # closing it hands DuckDB's memory back before pass 2
        with ManifestOverlay(history, secret, Path(tmp) / "keyed", key_scheme) as overlay:
            for batch in iter_manifest(
                path, column_map=column_map, encoding=encoding, chunk_rows=chunk_rows
            ):
                frame, dropped = drop_labels(batch.frame)
                ignored.update(dropped)
                result = validator.validate(replace(batch, frame=frame))
                rows_read += result.rows_read
                report("validated", result.rows_read)
                rejects.append(result.rejects)
                if len(result.valid):
                    part = private_file(Path(tmp) / f"part-{len(parts):05d}.parquet")
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

        if rows_read == 0:
            raise InputError(f"{path}: no records after the header")
        opts = replace(opts, scored_at=opts.scored_at or now_utc())  # every slice says the same
        if not parts:  # every row rejected: nothing to score
            return FileScore(
                _concat_rejects(rejects),
                explain_long_empty(),
                pd.DataFrame(),
                rows_read,
                model,
                opts,
                ignored_labels=_in_schema_order(ignored),
            )
        preds, draw, keys, explained = _predict_parts(
            parts,
            profiles,
            model,
            opts,
            (secret, key_scheme) if pseudonymize else None,
            report,
            feature_counter,
        )
        # by position: label-indexed Series of ten million items cost gigabytes here
        selection = select_positions(
            preds.margin.to_numpy(dtype="float64"),
            preds.item_id,
            preds.watchlisted.to_numpy(dtype=bool),
            draw,
            opts,
        )
        del draw
        selected = np.flatnonzero(selection.code)
        labels = preds.item_id.index[selected]
        if opts.explain == "selected":  # the sheets' data comes from the rows read to explain
            picks: list[pd.DataFrame] = []
            explained = list(_explain_selected(parts, profiles, model, selected, labels, picks))
            details = (
                bench_details(pd.concat(picks))
                if picks
                else pd.DataFrame(columns=list(BENCH_COLUMNS))
            )
        else:
            details = _selected_details(parts, selected, labels)
    long, contrib = (
        (
            pd.concat([e[0] for e in explained], ignore_index=True),
            pd.concat([e[1] for e in explained]),
        )
        if explained
        else (explain_long_empty(), pd.DataFrame())
    )
    report("explained", len(contrib))
    return FileScore(
        _concat_rejects(rejects),
        long,
        contrib,
        rows_read,
        model,
        opts,
        preds,
        selection,
        keys,
        _in_schema_order(ignored),
        details,
    )


def _in_schema_order(columns: set[str]) -> tuple[str, ...]:
    return tuple(c for c in LABEL_COLUMNS if c in columns)


def _predict_parts(
    parts: list[Path],
    profiles: FileProfiles | None,
    model: ParcelRiskModel,
    opts: ScoreOptions,
    keying: tuple[bytes, str] | None,
    report: Callable[[str, int], None],
    counter: FeatureCounter | None = None,
) -> tuple[Predictions, np.ndarray, pd.DataFrame | None, list[tuple[pd.DataFrame, pd.DataFrame]]]:
    """Pass 2: (predictions, control draw, keyed parties if ``keying``, reasons if explain=all).

    ``keying`` is (secret, key scheme) of the ``--pseudonymize`` keys: the store's scheme.

    Only a few numbers per row are kept, so memory grows slowly with the file.
    """
    preds_parts: list[Predictions] = []
    draws: list[np.ndarray] = []  # the control draw depends on item_id and seed only
    keys: list[pd.DataFrame] = []
    explained: list[tuple[pd.DataFrame, pd.DataFrame]] = []
    start = 0
    for part in parts:
        valid = pd.read_parquet(part)
        profile = profiles.rows(start, valid.index) if profiles is not None else None
        start += len(valid)
        preds, features, context = predict(valid, model, profile)
        preds_parts.append(preds)
        if counter is not None:
            counter.update(features)
        draws.append(_uniform(preds.item_id, opts.seed))
        if keying is not None:
            keys.append(scheme_keys(valid, *keying)[list(PSEUDONYM_COLUMNS)])
        if opts.explain == "all":  # no selection needed: explain while the features are here
            explained.append(explain(valid, features, context, model))
        report("scored", len(valid))
    return (
        Predictions.concat(preds_parts),
        np.concatenate(draws),
        pd.concat(keys) if keying is not None else None,
        explained,
    )


def _rows_at(
    parts: list[Path], positions: np.ndarray, columns: list[str] | None = None
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray, pd.DataFrame]]:
    """Per part holding some of ``positions`` (file order): (start, size, mask, local, rows).

    Only the rows asked for (2% of a part) go from Arrow to pandas.
    """
    start = 0
    for part in parts:
        size = pq.ParquetFile(part).metadata.num_rows
        mine = (positions >= start) & (positions < start + size)
        local = positions[mine] - start
        if len(local):
            yield (
                start,
                size,
                mine,
                local,
                pq.read_table(part, columns=columns).take(local).to_pandas(),
            )
        start += size


def _selected_details(parts: list[Path], positions: np.ndarray, labels: pd.Index) -> pd.DataFrame:
    """The bench columns of the rows at ``positions`` (file order), labelled ``labels``."""
    if not len(positions):
        return pd.DataFrame(columns=list(BENCH_COLUMNS))
    present = set(pq.ParquetFile(parts[0]).schema_arrow.names)
    names = [c for c in BENCH_COLUMNS if c in present]
    frames = [
        rows.set_axis(labels[mine]) for _, _, mine, _, rows in _rows_at(parts, positions, names)
    ]
    return pd.concat(frames)


def _explain_selected(
    parts: list[Path],
    profiles: FileProfiles | None,
    model: ParcelRiskModel,
    positions: np.ndarray,
    labels: pd.Index,
    picks: list[pd.DataFrame] | None = None,
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """(reasons, contributions) of the rows at ``positions`` (file order, labelled ``labels``).

    Features are recomputed for these rows only, a part at a time: they are row
    by row given the profiles (tested), and holding every candidate's features
    through pass 2 cost about 1 KB a row. The rows read are appended to ``picks``.
    """
    for start, size, mine, local, rows in _rows_at(parts, positions):
        picked = rows.set_axis(labels[mine])
        if picks is not None:
            picks.append(picked)
        profile = (
            profiles.rows(start, pd.RangeIndex(size)).iloc[local].set_axis(picked.index)
            if profiles is not None
            else None
        )
        features, context = model.features.transform_with_context(picked, profile)
        yield explain(picked, features, context, model)


def _concat_rejects(rejects: list[pd.DataFrame]) -> pd.DataFrame:
    if not rejects:
        return pd.DataFrame(columns=list(RejectSchema.to_schema().columns))
    return pd.concat(rejects, ignore_index=True)
