"""Training and the model folder: beats the legacy rules, deterministic, verified on load."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from parcelrisk import DEFAULT_MODEL_DIR, ModelError
from parcelrisk.model import load_model, save_model
from parcelrisk.train import train_model
from parcelrisk.validate import validate_frame


def _precision(evaluation, population, method, capacity=0.02):
    row = evaluation[
        (evaluation.population == population)
        & (evaluation.method == method)
        & (evaluation.capacity == capacity)
    ]
    return float(row["precision"].iloc[0])


def test_model_beats_legacy_rules_on_ground_truth_at_2_percent(trained):
    model = _precision(trained.evaluation, "ground_truth", "model")
    legacy = _precision(trained.evaluation, "ground_truth", "legacy_rules")
    assert model > legacy, trained.evaluation
    assert set(trained.evaluation.population) == {"inspected", "random_control", "ground_truth"}


def test_time_split_never_trains_on_test_days(trained):
    meta = trained.model.metadata
    assert meta["split"]["calibrate_from"] < meta["split"]["test_from"]
    assert (
        trained.test_frame["declared_at"].min().strftime("%Y-%m-%d") >= meta["split"]["test_from"]
    )
    assert "truth_illicit" not in meta["features"] and "outcome" not in meta["features"]


@pytest.mark.slow
def test_retraining_with_same_data_and_seed_gives_identical_model_file(
    training_manifest, trained, tmp_path
):
    again = train_model(validate_frame(training_manifest).valid)
    assert again.model.booster.model_to_string() == trained.model.booster.model_to_string()
    assert again.model.version == trained.model.version


def test_load_verifies_checksums_and_refuses_pickles(model_dir, tmp_path):
    loaded = load_model(model_dir)
    assert loaded.version.startswith("pr-")
    tampered = tmp_path / "tampered"
    shutil.copytree(model_dir, tampered)
    with (tampered / "model.txt").open("a") as fh:
        fh.write("\n")
    with pytest.raises(ModelError, match="checksum"):
        load_model(tampered)
    pickled = tmp_path / "pickled"
    shutil.copytree(model_dir, pickled)
    (pickled / "extra.pkl").write_bytes(b"\x80\x04N.")
    with pytest.raises(ModelError, match="pickle"):
        load_model(pickled)


@pytest.mark.slow
def test_tuning_tries_candidates_and_keeps_the_best_on_validation_days(training_manifest):
    result = train_model(validate_frame(training_manifest).valid, tune=3)
    tuning = result.model.metadata["tuning"]
    assert len(tuning) == 3
    best = max(t["val_average_precision"] for t in tuning)
    chosen = result.model.metadata["params"]["lightgbm"]
    assert any(
        t["val_average_precision"] == best and t["num_leaves"] == chosen["num_leaves"]
        for t in tuning
    )


def _not_json(token: str) -> None:
    raise ValueError(f"{token} is not JSON")


def test_model_folders_hold_strict_json(trained, tmp_path):
    """No bare NaN (JSON.parse refuses it): a metric that is not a number is written as null."""
    model = dataclasses.replace(
        trained.model, metadata={**trained.model.metadata, "lift_of_nothing": float("nan")}
    )
    folder = save_model(model, tmp_path / "m", "card")
    meta = json.loads((folder / "metadata.json").read_text(), parse_constant=_not_json)
    assert meta["lift_of_nothing"] is None
    for root in (folder, DEFAULT_MODEL_DIR):
        for name in ("metadata.json", "pipeline.json"):
            json.loads((root / name).read_text(encoding="utf-8"), parse_constant=_not_json)
    assert load_model(DEFAULT_MODEL_DIR).metadata["checksums"]  # rewritten, still verified
