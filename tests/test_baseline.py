"""The plain baseline: fitted in every training run, reported beside the model and the rules."""

from __future__ import annotations

import copy
import dataclasses

import pandas as pd
import pytest

from parcelrisk.baseline import METHODS, beats_baseline, raw_columns
from parcelrisk.errors import ConfigError
from parcelrisk.report import model_card
from parcelrisk.schema import LABEL_COLUMNS, MANIFEST_COLUMNS, TRUTH_COLUMNS
from parcelrisk.synthetic import generate_manifest
from parcelrisk.tracking import baseline_metrics
from parcelrisk.train import train_model
from parcelrisk.validate import validate_frame

PERSONAL = {
    "sender_name",
    "sender_address",
    "sender_postcode",
    "recipient_name",
    "recipient_address",
    "recipient_postcode",
    "recipient_phone",
    "recipient_email",
}


def _rows(meta, method, capacity=0.02):
    return [
        r for r in meta["baselines"]["rows"] if r["method"] == method and r["capacity"] == capacity
    ]


def test_training_run_reports_model_plain_baseline_and_rules(trained):
    meta = trained.model.metadata
    capacities = [float(c) for c in meta["params"]["capacities"]]
    rows = meta["baselines"]["rows"]
    assert {(r["method"], r["capacity"]) for r in rows} == {
        (m, c) for m in METHODS for c in capacities
    }
    for r in rows:
        ips = r["ips"]
        assert ips["low"] <= ips["high"] and ips["n"] <= r["picks"]
        assert 0 <= r["truth_illicit"] <= 1 and 0 <= r["truth_found"] <= 1  # synthetic: truth
    # the evaluation table holds the three rankings on every population
    assert set(trained.evaluation.method) == set(METHODS)
    assert trained.evaluation.groupby("population")["method"].nunique().eq(3).all()
    card = model_card(trained)
    section = card.split("## Against a plain baseline and the legacy rules", 1)[1].split("\n## ")[0]
    for name in ("this model", "plain LightGBM, raw columns", "legacy rules"):
        assert section.count(f"| {name} |") == len(capacities), section
    assert "`beats_baseline` at 2% capacity:" in section


def test_plain_baseline_reads_raw_manifest_columns_only(trained):
    plain = trained.model.metadata["baselines"]["plain"]
    features = set(plain["features"])
    assert features and features <= set(MANIFEST_COLUMNS)
    assert not features & (set(LABEL_COLUMNS) | set(TRUTH_COLUMNS) | PERSONAL)
    # none of parcelrisk's own features: whatever the model computes beyond the raw columns
    engineered = set(trained.model.metadata["features"]) - set(MANIFEST_COLUMNS)
    assert engineered and not features & engineered
    assert plain["best_iteration"] >= 1
    # the figures are kept, the booster is not
    assert trained.baseline is not None and trained.baseline.columns.names == plain["features"]
    assert not any("plain" in str(k) for k in trained.model.metadata.get("checksums", {}))


def test_declared_columns_join_the_raw_columns_by_role():
    frame = pd.DataFrame(
        {
            "declared_value": [1.0],
            "origin_country": ["CN"],
            "office": ["X1"],
            "importer": ["A"],
            "duty": [3.5],
            "remarks": ["free text"],
        }
    )
    cols = raw_columns(
        frame,
        declared={
            "office": "categorical",
            "importer": "identifier",
            "duty": "numeric",
            "remarks": "text",
            "absent": "numeric",
        },
    )
    assert cols.numeric == ("declared_value", "duty")
    assert cols.categorical == ("origin_country", "office", "importer")
    with pytest.raises(ConfigError, match="role"):
        raw_columns(frame, declared={"office": "date"})


def test_beats_baseline_compares_the_recorded_ips_figures(trained):
    meta = trained.model.metadata
    (model,) = _rows(meta, "model")
    (plain,) = _rows(meta, "plain_baseline")
    ok, reason = beats_baseline(meta)
    assert ok == (model["ips"]["value"] >= plain["ips"]["value"])
    assert "2.0% capacity" in reason and f"{model['ips']['value']:.1%}" in reason
    assert beats_baseline(meta, capacity=0.019) == (ok, reason)  # nearest recorded capacity

    def with_plain(value):
        changed = copy.deepcopy(meta)
        (row,) = _rows(changed, "plain_baseline")
        row["ips"]["value"] = value
        return changed

    worse = beats_baseline(with_plain(model["ips"]["value"] + 0.01))
    assert worse[0] is False and worse[1].startswith("does not beat")
    better = beats_baseline(with_plain(model["ips"]["value"] - 0.01))
    assert better[0] is True and better[1].startswith("beats")
    undefined = beats_baseline(with_plain(None))
    assert undefined[0] is False and "undefined" in undefined[1]
    old = {k: v for k, v in meta.items() if k != "baselines"}
    missing = beats_baseline(old)
    assert missing[0] is False and "retrain" in missing[1]
    older = dataclasses.replace(trained, model=dataclasses.replace(trained.model, metadata=old))
    assert "Not computed: this model was trained before plain baselines" in model_card(older)


@pytest.mark.slow
def test_figures_come_from_the_test_days_only(training_manifest, trained):
    """Truth never reaches training: planting illicit items on the earlier days changes no model,
    and must change no figure either; figures computed over the training days would jump."""
    test_from = pd.Timestamp(trained.model.metadata["split"]["test_from"], tz="UTC")
    planted = training_manifest.copy()
    earlier = planted["declared_at"] < test_from
    planted.loc[earlier, "truth_illicit"] = True
    planted.loc[earlier, "truth_found_if_inspected"] = True
    again = train_model(validate_frame(planted).valid)
    assert again.model.version == trained.model.version  # same model: truth is not a feature
    for before, after in zip(
        trained.model.metadata["baselines"]["rows"],
        again.model.metadata["baselines"]["rows"],
        strict=True,
    ):
        assert after == before
    entry = again.model.metadata["baselines"]
    assert entry["days"]["first_day"] == trained.model.metadata["split"]["test_from"]
    assert entry["items"] == int((~earlier).sum()) == len(trained.test_frame)
    pd.testing.assert_frame_equal(again.evaluation, trained.evaluation)


def test_baseline_metrics_name_plain_and_rules_per_capacity(trained):
    metrics = baseline_metrics(trained.model.metadata)
    for prefix in ("baseline_model", "baseline_plain", "baseline_rules"):
        for name in ("ips", "ips_low", "ips_high", "ips_logged", "truth_illicit", "truth_found"):
            assert f"{prefix}_{name}_at_2pct" in metrics
    (plain,) = _rows(trained.model.metadata, "plain_baseline")
    assert metrics["baseline_plain_ips_at_2pct"] == plain["ips"]["value"]
    assert "baseline_plain_best_iteration" in metrics


@pytest.mark.slow
def test_train_command_shows_the_three_in_console_card_and_mlflow(tmp_path, monkeypatch):
    import mlflow
    from typer.testing import CliRunner

    from parcelrisk.cli import app

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    data = tmp_path / "h.csv"
    # 14,000 items: 8 train / 7 calibration seizures among the inspected (train needs 5 / 2)
    generate_manifest(14_000, seed=41, days=10, illicit_rate=0.01).to_csv(data, index=False)
    result = CliRunner().invoke(app, ["train", "--data", str(data), "--export", "model"])
    assert result.exit_code == 0, result.output
    assert "Model vs plain LightGBM on raw columns vs legacy rules" in result.output
    for name in ("model", "plain", "rules"):
        assert result.output.count(f" {name} ") >= 5, result.output
    card = (tmp_path / "model" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "| plain LightGBM, raw columns |" in card
    client = mlflow.MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("parcelrisk").experiment_id])
    for key in ("baseline_plain_ips_at_2pct", "baseline_rules_ips_at_2pct"):
        assert key in run.data.metrics
    assert "ground_truth.plain_baseline.at_2pct.precision" in run.data.metrics
