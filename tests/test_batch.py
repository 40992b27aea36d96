"""Chunked file scoring equals one pass, with and without a history store, for any chunk size."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from parcelrisk.batch import score_file
from parcelrisk.io import read_manifest, write_frame, write_frames
from parcelrisk.model import load_model
from parcelrisk.schema import TRUTH_COLUMNS
from parcelrisk.scoring import ScoreOptions, score_frame
from parcelrisk.store import HistoryStore
from parcelrisk.validate import Validator, validate_frame

OPTS = ScoreOptions(budget=0.03, scored_at="2026-03-01T06:00:00Z", control_share=0.1)


@pytest.fixture(scope="module")
def today_csv(today, tmp_path_factory):
    """1,500 of the day's items: still 4 chunks of 397 rows, 3 of 500 or 700, 5 output slices."""
    path = tmp_path_factory.mktemp("batch") / "today.csv"
    today.head(1_500).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def store_path(training_manifest, tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "history.duckdb"
    history = validate_frame(training_manifest.drop(columns=TRUTH_COLUMNS)).valid
    with HistoryStore.open(path) as store:
        store.add_manifest(history)
    return path


def _one_pass(path, model):
    valid = Validator(str(path)).validate(read_manifest(path)).valid
    return score_frame(valid, model, OPTS)


@pytest.mark.parametrize("chunk_rows", [397, 1_000_000])
def test_chunks_equal_one_pass_without_store(model_dir, today_csv, chunk_rows):
    model = load_model(model_dir)
    chunked = score_file(today_csv, model, OPTS, chunk_rows=chunk_rows)
    whole = _one_pass(today_csv, model)
    pd.testing.assert_frame_equal(chunked.scored, whole.scored)
    pd.testing.assert_frame_equal(
        chunked.explanations.reset_index(drop=True), whole.explanations.reset_index(drop=True)
    )
    assert chunked.rows_read == len(chunked.scored) + len(chunked.rejects)


@pytest.fixture(scope="module")
def scores_without_store(model_dir, today_csv):
    """Risk scores without a history store (the same whatever ``explain`` is)."""
    return score_file(today_csv, load_model(model_dir), OPTS, chunk_rows=500).scored["risk_score"]


@pytest.mark.parametrize("explain", ["selected", "all"])
def test_chunks_equal_one_pass_with_history_store(
    model_dir, today_csv, store_path, scores_without_store, explain
):
    opts = replace(OPTS, explain=explain)
    with HistoryStore.open(store_path, read_only=True) as history:
        before = history.counts()
        limit = history.con.execute("SELECT current_setting('memory_limit')").fetchall()
        model = load_model(model_dir, store=history)
        chunked = score_file(today_csv, model, opts, history=history, chunk_rows=500)
        # the overlay hands DuckDB's memory back by lowering its limit for a moment, not for good
        assert history.con.execute("SELECT current_setting('memory_limit')").fetchall() == limit
        valid = Validator(str(today_csv)).validate(read_manifest(today_csv)).valid
        whole = score_frame(valid, model, opts)
    pd.testing.assert_frame_equal(chunked.scored, whole.scored)
    # the selected rows' features are recomputed after the selection: same reasons, same SHAP
    pd.testing.assert_frame_equal(chunked.explanations, whole.explanations)
    pd.testing.assert_frame_equal(chunked.contributions, whole.contributions)
    explained = (
        chunked.scored.index[chunked.scored["selected"]]
        if explain == "selected"
        else chunked.scored.index
    )
    assert list(chunked.contributions.index) == list(explained)
    # The history matters: profiles (and so scores) differ from a run without it.
    assert not chunked.scored["risk_score"].equals(scores_without_store)
    with HistoryStore.open(store_path, read_only=True) as history:
        assert history.counts() == before  # scoring never writes the manifest into the store


def test_chunked_run_keeps_rejects_and_duplicates_across_chunks(model_dir, today, tmp_path):
    bad = today.head(1200).copy()
    bad.loc[bad.index[1100], "item_id"] = bad.iloc[5]["item_id"]  # duplicate in a later chunk
    bad.loc[bad.index[700], "gross_weight_kg"] = -3
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    model = load_model(model_dir)
    result = score_file(path, model, OPTS, chunk_rows=300)
    assert result.rows_read == 1200
    assert sorted(result.rejects["row"]) == [701, 1101]
    assert len(result.scored) == 1198
    assert result.scored.index.is_monotonic_increasing
    # record numbers with gaps: the explained rows keep their own labels
    whole = _one_pass(path, model)
    pd.testing.assert_frame_equal(result.scored, whole.scored)
    pd.testing.assert_frame_equal(result.explanations, whole.explanations)
    assert result.scored["reason_1"].notna().sum() > 0


@pytest.fixture(scope="module")
def pseudonymized(model_dir, today_csv):
    """One chunked, pseudonymised scoring shared by the three output formats below."""
    return score_file(today_csv, load_model(model_dir), OPTS, chunk_rows=700, pseudonymize=True)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_output_written_in_slices_equals_the_whole_frame(pseudonymized, tmp_path, suffix):
    result = pseudonymized
    whole = result.scored
    slices = list(result.iter_scored(rows=333))
    assert len(slices) > 3
    pd.testing.assert_frame_equal(pd.concat(slices), whole)
    pd.testing.assert_frame_equal(result.selected_scored, whole[whole["selected"]])
    assert (result.n_scored, result.n_selected) == (len(whole), int(whole["selected"].sum()))
    write_frames(iter(slices), tmp_path / f"sliced{suffix}")
    write_frame(whole, tmp_path / f"whole{suffix}")
    sliced_path, whole_path = tmp_path / f"sliced{suffix}", tmp_path / f"whole{suffix}"
    if suffix == ".parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(sliced_path), pd.read_parquet(whole_path))
    else:
        assert sliced_path.read_bytes() == whole_path.read_bytes()
