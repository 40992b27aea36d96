"""A unit's own columns (``features/extra_columns.yaml``): declared, validated, learned, explained.

A generated manifest gets columns of its own: ``channel`` (categorical, drawn from the truth
with noise), ``insured`` (numeric, a weak signal), ``importer`` (identifier, a few importers
carry most illicit items) and ``junk`` (undeclared). Trained and scored through the CLI.
Seeds are used nowhere else. The end-to-end tests (a model trained through the CLI, once per
module) are marked slow; the declaration, keying and wording checks are not.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import parcelrisk
from parcelrisk.cli import app
from parcelrisk.errors import ConfigError
from parcelrisk.extra_columns import parse_extra_columns
from parcelrisk.model import PIPELINE_FILE, load_model
from parcelrisk.schema import TRUTH_COLUMNS
from parcelrisk.synthetic import generate_manifest

runner = CliRunner()
FIXED = "2026-02-01T06:00:00Z"
DECLARATION = {
    "columns": [
        {"name": "channel", "role": "categorical", "description": "sales channel"},
        {"name": "insured", "role": "numeric", "description": "insured value"},
        {"name": "importer", "role": "identifier", "description": "importer"},
    ]
}
#: Clear importer ids of the risky importers: must never reach the model folder or outputs.
RISKY_IMPORTERS = ["IMP-RISK-001", "IMP-RISK-002"]


def _own_columns(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Add the unit's columns; the signal comes from the truth, with noise."""
    rng = np.random.default_rng(seed)
    n = len(frame)
    illicit = frame["truth_illicit"].to_numpy(dtype=bool)
    risky_channel = rng.random(n) < np.where(illicit, 0.6, 0.05)
    channel = np.where(risky_channel, "marketplace-x", rng.choice(["web", "shop", "b2b"], n))
    insured = rng.gamma(2.0, 40.0, n) * np.where(illicit, 0.5, 1.0)
    risky_importer = rng.random(n) < np.where(illicit, 0.7, 0.01)
    importer = np.where(
        risky_importer,
        rng.choice(RISKY_IMPORTERS, n),
        np.char.add("IMP-", rng.integers(0, 40, n).astype(str)),
    )
    return frame.assign(
        channel=channel, insured=insured.round(2), importer=importer, junk=rng.random(n)
    )


def _control_sample(frame: pd.DataFrame, seed: int, share: float = 0.2) -> pd.DataFrame:
    """The unit's random control inspections: ``share`` of the items nobody else picked.

    Enough labels to learn from in a small file (the legacy rules alone inspect 5%); each
    finds what an inspection would find (the generator's ``truth_found_if_inspected``).
    """
    rng = np.random.default_rng(seed)
    out = frame.copy()
    free = ~out["inspected"]
    pick = free & (rng.random(len(out)) < share)
    out.loc[free, "selection_propensity"] = share
    out.loc[pick, "inspected"] = True
    out.loc[pick, "selection_source"] = "random"
    out.loc[pick, "inspected_at"] = out.loc[pick, "declared_at"] + pd.Timedelta(days=2)
    found = out.loc[pick, "truth_found_if_inspected"].to_numpy(dtype=bool)
    out.loc[pick, "outcome"] = np.where(found, "seizure", "no_finding")
    return out


@pytest.fixture(scope="module")
def unit(tmp_path_factory):
    """Files of a unit with its own columns, its declaration, and a model trained on them."""
    folder = tmp_path_factory.mktemp("owncols")
    generated = generate_manifest(4_000, seed=9101, days=14, illicit_rate=0.05)
    history = _own_columns(_control_sample(generated, 9101), 9101)
    day = str((history["declared_at"].max().normalize() + pd.Timedelta(days=1)).date())
    today = _own_columns(
        generate_manifest(1_200, seed=9102, start=day, days=1, labels=False, illicit_rate=0.05),
        9102,
    )
    history.to_csv(folder / "train.csv", index=False)
    truth = today[TRUTH_COLUMNS]
    today = today.drop(columns=TRUTH_COLUMNS)
    today.to_csv(folder / "today.csv", index=False)
    (folder / "extra.yaml").write_text(yaml.safe_dump(DECLARATION), encoding="utf-8")
    model = folder / "model"
    trained = runner.invoke(
        app,
        [
            "train",
            "--data",
            str(folder / "train.csv"),
            "--extra-columns",
            str(folder / "extra.yaml"),
            "--export",
            str(model),
            "--no-track",
            "--no-store",
        ],
    )
    assert trained.exit_code == 0, trained.output
    return {"folder": folder, "model": model, "today": today, "truth": truth}


def _score(unit, manifest, *extra: str) -> tuple[int, str, pd.DataFrame | None]:
    out = unit["folder"] / "scored.csv"
    out.unlink(missing_ok=True)
    result = runner.invoke(
        app,
        [
            "score",
            str(manifest),
            "--model",
            str(unit["model"]),
            "--out",
            str(out),
            "--no-store",
            "--scored-at",
            FIXED,
            *extra,
        ],
    )
    return result.exit_code, result.output, (pd.read_csv(out) if out.exists() else None)


@pytest.fixture(scope="module")
def scored(unit):
    """``parcelrisk score --explain all`` of the unseen day."""
    code, output, scored = _score(unit, unit["folder"] / "today.csv", "--explain", "all")
    assert code == 0, output
    return scored


@pytest.mark.slow
def test_declared_columns_are_features_of_the_model_and_it_uses_them(unit):
    model = load_model(unit["model"])
    own = ["own_channel", "own_insured", "own_importer"]
    assert model.metadata["features"][-3:] == own
    assert [c["name"] for c in model.metadata["extra_columns"]] == [
        "channel",
        "insured",
        "importer",
    ]
    gain = dict(
        zip(model.booster.feature_name(), model.booster.feature_importance("gain"), strict=True)
    )
    assert gain["own_channel"] > 0 and gain["own_insured"] > 0
    # the categorical carries the strongest signal of the data: it is among the top features
    assert sorted(gain, key=gain.get, reverse=True).index("own_channel") < 5
    assert "junk" not in model.metadata["features"] and "own_junk" not in gain
    card = (unit["model"] / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "`channel` (categorical), `insured` (numeric), `importer` (identifier)" in card
    # levels fixed at training, stored as JSON: the channel's values; the importer's only keyed
    pipeline = json.loads((unit["model"] / PIPELINE_FILE).read_text(encoding="utf-8"))
    levels = pipeline["features"]["own_levels"]
    assert "marketplace-x" in levels["channel"]
    assert all(len(k) == 16 for k in levels["importer"][:-1])


@pytest.mark.slow
def test_scores_and_explains_with_the_declared_columns(unit, scored):
    assert len(scored) == len(unit["today"])
    reasons = scored[["reason_1", "reason_2", "reason_3"]].fillna("")
    channel_first = reasons["reason_1"].str.startswith("Sales channel: marketplace-x")
    assert channel_first.sum() >= 10, reasons["reason_1"].value_counts().head()
    # it drives the score: the items it explains first are the channel's, and rank high
    today = unit["today"].set_index("item_id")
    assert (today.loc[scored.loc[channel_first, "item_id"], "channel"] == "marketplace-x").all()
    assert scored.loc[channel_first, "risk_rank"].median() < len(scored) / 4
    # on the truth of this unseen day, the top 2.5% hold several times the prevalence
    truth = unit["truth"].set_index(unit["today"]["item_id"].to_numpy())["truth_illicit"]
    top = scored.nsmallest(30, "risk_rank")["item_id"]
    assert truth.loc[top].mean() > 3 * truth.mean()


@pytest.mark.slow
def test_identifiers_are_never_in_clear_in_the_model_or_the_outputs(unit, scored):
    files = [p.read_text(encoding="utf-8") for p in unit["model"].iterdir()]
    for text in [*files, scored.to_csv()]:
        assert not any(name in text for name in RISKY_IMPORTERS)
    explained = parcelrisk.load_model(unit["model"], use_store=False).explain(unit["today"])
    own = explained[explained["feature"].eq("own_importer")]
    assert len(own) and own["value"].isna().all()
    assert not own["text"].str.contains("IMP-").any()


@pytest.mark.slow
def test_a_missing_declared_column_stops_scoring_with_one_clear_line(unit):
    path = unit["folder"] / "no_channel.csv"
    unit["today"].drop(columns=["channel"]).to_csv(path, index=False)
    code, output, scored = _score(unit, path)
    assert code == 1 and scored is None
    assert "no_channel.csv" in output and "declared column(s) missing: channel" in output
    assert "Traceback" not in output


@pytest.mark.slow
def test_a_bad_value_in_a_declared_column_is_a_reject_with_its_reason(unit):
    path = unit["folder"] / "bad_insured.csv"
    bad = unit["today"].astype({"insured": object})
    bad.loc[bad.index[[3, 7]], "insured"] = ["lots", "12,5"]  # the second is a number: 12.5
    bad.to_csv(path, index=False)
    rejects = unit["folder"] / "rejects.csv"
    code, output, scored = _score(unit, path, "--rejects", str(rejects))
    assert code == 2, output
    table = pd.read_csv(rejects)
    assert table[["row", "field"]].values.tolist() == [[4, "insured"]]
    assert table["reason"].iloc[0] == "'lots': not a finite number"
    assert len(scored) == len(unit["today"]) - 1


@pytest.mark.slow
def test_validate_checks_the_declared_columns(unit):
    path = unit["folder"] / "bad_channel.csv"
    bad = unit["today"].astype({"insured": object})
    bad.loc[bad.index[5], "insured"] = "n/a"
    bad.to_csv(path, index=False)
    declared = ["--extra-columns", str(unit["folder"] / "extra.yaml")]
    checked = runner.invoke(app, ["validate", str(path), *declared])
    assert checked.exit_code == 2 and "insured" in checked.output
    plain = runner.invoke(app, ["validate", str(path)])  # undeclared: not checked, ignored
    assert plain.exit_code == 0, plain.output


@pytest.mark.slow
def test_evaluate_reads_the_models_declared_columns(unit):
    args = ["evaluate", "--data", str(unit["folder"] / "train.csv"), "--model", str(unit["model"])]
    result = runner.invoke(app, [*args, "--no-store"])
    assert result.exit_code == 0, result.output
    assert "on train.csv" in result.output and "declared column" not in result.output


@pytest.mark.slow
def test_undeclared_columns_are_ignored(unit):
    model = parcelrisk.load_model(unit["model"], use_store=False)
    with_junk = model.score(unit["today"], scored_at=FIXED).scored
    without = model.score(unit["today"].drop(columns=["junk"]), scored_at=FIXED).scored
    pd.testing.assert_frame_equal(with_junk, without)


@pytest.mark.slow
def test_the_pyfunc_scores_like_the_cli_with_declared_columns(unit, scored, monkeypatch):
    import mlflow

    from parcelrisk.tracking import pyfunc_signature

    monkeypatch.delenv("PARCELRISK_STORE", raising=False)
    monkeypatch.chdir(unit["folder"])  # no store here: as 'score --no-store'
    folder = unit["folder"] / "pyfunc"
    signature, _ = pyfunc_signature(load_model(unit["model"]).features.own_columns_)
    mlflow.pyfunc.save_model(
        str(folder),
        loader_module="parcelrisk.pyfunc",
        data_path=str(unit["model"]),
        signature=signature,
    )
    rows = pd.read_csv(unit["folder"] / "today.csv", dtype=str)
    served_model = mlflow.pyfunc.load_model(str(folder))
    served = served_model.predict(rows)  # explains the selected items, as 'score' by default
    np.testing.assert_allclose(served["risk_score"].to_numpy(dtype=float), scored["risk_score"])
    chosen = served["selected"].to_numpy(dtype=bool)
    assert chosen.sum() and (chosen == scored["selected"].to_numpy(dtype=bool)).all()
    assert served.loc[chosen, "reason_1"].tolist() == scored.loc[chosen, "reason_1"].tolist()
    with pytest.raises(Exception, match="declared column.*channel"):
        served_model.predict(rows.drop(columns=["channel"]))


def test_the_shipped_model_has_no_own_columns_and_saves_as_before():
    model = load_model(parcelrisk.DEFAULT_MODEL_DIR)
    assert model.features.own_columns_ == ()
    stored = json.loads((parcelrisk.DEFAULT_MODEL_DIR / PIPELINE_FILE).read_text(encoding="utf-8"))
    assert model.features.to_dict() == stored["features"]  # no new keys for a model without them


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "channel", "role": "colour"}, "column 1 \\(channel\\): role must be one of"),
        ({"name": "Customs Office", "role": "categorical"}, "--columns MAP.yaml"),
        ({"name": "description", "role": "text"}, "'description' is a parcelrisk column"),
        ({"name": "x", "role": "numeric", "kind": 1}, "unknown field\\(s\\) kind"),
    ],
)
def test_a_wrong_declaration_is_one_line_naming_the_entry(entry, message):
    with pytest.raises(ConfigError, match=f"extra.yaml: .*{message}"):
        parse_extra_columns({"columns": [entry]}, "extra.yaml")


def _hand_made(n: int, importer: list[str], note: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": [f"H{i:04d}" for i in range(n)],
            "declared_at": pd.date_range("2026-01-05", periods=n, freq="h").astype(str),
            "sender_country": "CN",
            "recipient_country": "DE",
            "description": "phone case",
            "gross_weight_kg": "0.2",
            "importer": importer,
            "note": note,
        }
    )


def test_identifier_and_text_values_are_keyed_and_never_worded():
    from parcelrisk.explain import explain_long, load_templates
    from parcelrisk.features import FeatureContext, ManifestFeatures
    from parcelrisk.validate import validate_frame

    declared = parse_extra_columns(
        {
            "columns": [
                {"name": "importer", "role": "identifier", "description": "importer"},
                {"name": "note", "role": "text", "description": "remark of the declarant"},
            ]
        },
        "extra.yaml",
    )
    n = 60
    importer = ["ACME TRADING"] * 30 + [f"SOLO {i}" for i in range(30)]
    note = [" Gift for MUM! ", "gift for mum"] * 15 + [f"note {i}" for i in range(30)]
    rows = validate_frame(_hand_made(n, importer, note), extra_columns=declared).valid
    secret = b"k" * 32
    est = ManifestFeatures(profiles=False, secret=secret, extra_columns=declared).fit(rows)
    X = est.transform(rows)
    assert len(est.own_levels_["importer"]) == 2 and len(est.own_levels_["note"]) == 2
    assert X["own_note"].iloc[0] == X["own_note"].iloc[1] != X["own_note"].iloc[-1]
    saved = json.dumps(est.to_dict())
    assert "ACME" not in saved and "mum" not in saved.lower()
    with pytest.raises(ConfigError, match="another PARCELRISK_SECRET"):
        ManifestFeatures.from_dict(est.to_dict(), secret=b"x" * 32).transform(rows)
    contrib = pd.DataFrame(0.0, index=X.index[:2], columns=[*X.columns, "bias"])
    contrib["own_importer"], contrib["own_note"] = 1.0, -0.5
    context = FeatureContext(
        *(pd.Series("", index=rows.index) for _ in range(2)), pd.Series(1.0, index=rows.index)
    )
    templates = load_templates().with_own_columns(declared)
    long = explain_long(rows, X, context, contrib, est.descriptions_, templates)
    assert set(long["text"]) == {
        "Importer (value not shown) raised the risk",
        "Remark of the declarant (value not shown) lowered the risk",
    }
    assert long["value"].isna().all()
