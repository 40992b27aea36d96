"""``parcelrisk simulate``: the daily targeting loop over a synthetic world.

One fast CLI smoke test (random and rules policies, one week); the model
policies, determinism and late labels run longer and are marked slow.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from parcelrisk.cli import app
from parcelrisk.simulate import SimulationConfig, combine_runs, run_simulation
from parcelrisk.simulate.loop import Unit
from parcelrisk.simulate.policies import make_policy
from parcelrisk.simulate.report import WEEKLY_COLUMNS

DECISION_COLUMNS = {
    "day",
    "day_index",
    "item_id",
    "policy",
    "seed",
    "risk_score",
    "risk_rank",
    "selected",
    "selection_reason",
    "selection_propensity",
    "control_share",
    "model_version",
    "outcome",
    "inspected_at",
    "truth_illicit",
    "truth_found_if_inspected",
    "truth_pattern",
}


def unit_midnight(config: SimulationConfig, day: int) -> pd.Timestamp:
    return pd.Timestamp(config.start, tz="UTC") + pd.Timedelta(days=day)


def _simulate(out: Path, *args: str) -> None:
    result = CliRunner().invoke(app, ["simulate", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output


def _check_selection(decisions: pd.DataFrame, budget: float, trial_share: float = 0.5) -> None:
    """Capacity every day, and propensities that are exact for the selection code.

    On a trial day (:mod:`parcelrisk.trial`) an item's propensity mixes both models'
    selections: 1 (both target it), ``c`` (neither: the control draw's slots / eligible
    items, the same for both as no watch-list is kept) or ``share + (1 - share) c`` for
    an item only one of them targets.
    """
    for (_, _, _), day in decisions.groupby(["policy", "seed", "day_index"]):
        n = len(day)
        assert day["selected"].sum() == min(n, int(round(budget * n)))
        p = day["selection_propensity"]
        targeted = day["selection_reason"].isin(["model", "watchlist"])
        control = day["selection_reason"].eq("control")
        eligible = ~targeted
        c = control.sum() / eligible.sum()
        if (p[targeted] == 1).all() and np.allclose(p[eligible], c, atol=1e-8):
            pass  # one policy selected alone
        else:  # a trial day
            one = trial_share + (1 - trial_share) * c
            other = 1 - trial_share + trial_share * c
            allowed = np.array([c, one, other, 1.0])
            assert np.isclose(p.to_numpy()[:, None], allowed[None, :], atol=1e-7).any(axis=1).all()
            assert (p[targeted] >= min(one, other) - 1e-7).all()
            # the items the model that ran did not target, but the other did: as many as
            # the other targets that this one does not
            assert (~np.isclose(p[eligible], c, atol=1e-8)).sum() <= targeted.sum()
        # in (0, 1], except on a day whose capacity leaves no control slot (exactly 0 then)
        assert ((p > 0) & (p <= 1)).all() or (control.sum() == 0 and (p[eligible] == 0).all())


def test_simulate_cli_smoke(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    _simulate(
        out,
        *("--weeks", "1", "--items-per-day", "400", "--seed", "5"),
        *("--policies", "random,rules", "--budget", "0.05"),
    )
    decisions = pd.read_parquet(out / "decisions.parquet")
    assert DECISION_COLUMNS <= set(decisions.columns)
    assert set(decisions["policy"]) == {"random", "rules"}
    assert decisions["day_index"].nunique() == 7
    _check_selection(decisions, 0.05)
    # random: every pick is the control draw; rules: the targeted part plus 5% control
    random = decisions[decisions["policy"].eq("random") & decisions["selected"]]
    assert random["selection_reason"].eq("control").all()
    rules = decisions[decisions["policy"].eq("rules") & decisions["selected"]]
    assert set(rules["selection_reason"]) == {"model", "control"}
    # an outcome for exactly the inspected items, seizures only where the truth says so
    assert decisions["outcome"].notna().eq(decisions["selected"]).all()
    seized = decisions["outcome"].eq("seizure")
    assert (decisions.loc[seized, "truth_found_if_inspected"]).all()
    selected = decisions[decisions["selected"]]
    assert (selected["inspected_at"] > pd.to_datetime(selected["day"], utc=True)).all()
    # common random numbers: the two policies saw the same first day
    day0 = decisions[decisions["day_index"].eq(0)]
    by_policy = {p: g.sort_values("item_id") for p, g in day0.groupby("policy")}
    for column in ("item_id", "truth_illicit", "truth_found_if_inspected"):
        assert by_policy["random"][column].tolist() == by_policy["rules"][column].tolist()
    weekly = pd.read_csv(out / "weekly.csv")
    assert list(weekly.columns) == list(WEEKLY_COLUMNS)
    assert len(weekly) == 2
    assert (weekly["inspections"] == decisions.groupby("policy")["selected"].sum().to_numpy()).all()
    for name in ("hit_rate", "leakage", "recall"):
        low, est, high = (weekly[f"{name}_{k}"] for k in ("low", "est", "high"))
        assert (low <= high).all()  # an interval every week,
        # around the estimate where there is one (leakage is undefined in a week without finds)
        assert (est.isna() | ((low <= est) & (est <= high))).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["items_per_day"] == 400
    for name in ("cumulative_seizures.png", "precision_by_week.png", "estimate_vs_truth.png"):
        assert (out / name).stat().st_size > 1000


def test_simulate_rejects_unknown_policy(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["simulate", "--policies", "rules,oracle", "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 1
    assert "oracle" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_simulate_is_deterministic(tmp_path: Path) -> None:
    args = ("--weeks", "1", "--items-per-day", "400", "--seed", "9", "--policies", "random,rules")
    _simulate(tmp_path / "a", *args)
    _simulate(tmp_path / "b", *args)
    for name in ("decisions.parquet", "weekly.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    # combining runs gives the same table; so does a run stopped after its last unit
    combine_runs([tmp_path / "a"], tmp_path / "c")
    (tmp_path / "b" / "decisions.parquet").unlink()
    combine_runs([tmp_path / "b"], tmp_path / "d")
    for name in ("c", "d"):
        assert (tmp_path / name / "weekly.csv").read_bytes() == (
            tmp_path / "a" / "weekly.csv"
        ).read_bytes()


@pytest.mark.slow
def test_labels_arrive_late(tmp_path: Path) -> None:
    """The store and the training data hold an outcome only from its inspected_at on."""
    config = SimulationConfig(
        weeks=2, items_per_day=400, seeds=(4,), policies=("rules",), budget=0.05, label_lag_days=0
    )
    unit = Unit("rules", 4, config, tmp_path / "unit")
    policy = make_policy("rules")
    try:
        late_seen = False
        for day in range(10):
            unit.run_day(day, policy)
            midnight = unit.midnight(day)
            stored = unit.store.con.sql(
                "SELECT count(*), max(inspected_at) FROM outcomes"
            ).fetchall()[0]
            if stored[0]:
                assert pd.Timestamp(stored[1]) <= midnight
            if day >= 5:
                frame = unit.training_frame(day + 1)
                labelled = frame[frame["inspected"]]
                assert (labelled["inspected_at"] <= unit.midnight(day + 1)).all()
                decided = unit.decision_log()
                inspected_ids = set(decided.loc[decided["selected"], "item_id"]) & set(
                    frame["item_id"]
                )
                # some inspections of the last days have no outcome yet
                late_seen |= len(inspected_ids - set(labelled["item_id"])) > 0
                assert labelled["selection_propensity"].between(0, 1, inclusive="right").all()
                assert set(labelled["selection_source"]) <= {"random", "rule"}
        assert late_seen
    finally:
        unit.close()


@pytest.mark.slow
def test_model_policies_train_register_trial_and_run(tmp_path: Path) -> None:
    """static and adaptive (= retrained + adaptive control share) after a rules burn-in;
    an undecided challenger goes on trial and is judged once the trial's outcomes are in."""
    config = SimulationConfig(
        weeks=4,  # a trial is judged once all its outcomes are in: up to 10 days after it
        items_per_day=1500,
        seeds=(2,),
        policies=("static", "adaptive"),
        budget=0.2,  # labels are scarce at 2%: enough seizures to train within two weeks
        burn_in_days=9,
        retrain_every_days=2,
        train_window_days=14,
        label_lag_days=2,
        start="2026-01-07",  # a Wednesday: the calibration days of the first model are weekdays
        trial_days=3,
        trial_when="not_worse",  # this seed's second challenger is not shown worse
    )
    summary = run_simulation(config, tmp_path / "sim")
    decisions = pd.read_parquet(tmp_path / "sim" / "decisions.parquet")
    _check_selection(decisions, 0.2, config.trial_share)
    runs = {r["policy"]: r for r in summary["runs"]}
    trained = {
        policy: [
            e for e in runs[policy]["events"] if e["event"] in ("trained", "kept_initial_model")
        ]
        for policy in ("static", "adaptive")
    }
    for policy, events in trained.items():
        assert events, runs[policy]["events"]
        assert events[0]["registered_version"] == "1"  # each unit its own registry
        live = decisions[
            decisions["policy"].eq(policy) & decisions["day_index"].ge(events[0]["day"])
        ]
        assert live["model_version"].str.startswith("pr-").all()
        assert (tmp_path / "sim" / "units" / f"{policy}-s2" / "mlflow" / "mlflow.db").is_file()
    # static never tries again; adaptive (retrained) tries every retrain_every_days, or,
    # after a challenger put on trial, on the day the trial is judged
    assert len(trained["static"]) == 1
    assert [e["day"] for e in runs["static"]["events"]][-1] == trained["static"][0]["day"]
    events = runs["adaptive"]["events"]
    judged = {e["day"]: e for e in events if e["event"] == "trial_judged"}
    assert judged, events
    for first, then in zip(trained["adaptive"], trained["adaptive"][1:], strict=False):
        if not first["trial"]:
            assert then["day"] == first["day"] + config.retrain_every_days
            continue
        end = first["day"] + config.trial_days
        due = min(d for d in judged if d >= end)  # its judging day
        assert judged[due]["challenger"] == first["challenger"]
        assert then["day"] >= due  # no new challenger before the trial is judged
        # judged on the first morning on which every outcome of the trial days was in
        trial = decisions[
            decisions["policy"].eq("adaptive")
            & decisions["day_index"].between(first["day"], end - 1)
        ]
        inspected_at = pd.to_datetime(trial.loc[trial["selected"], "inspected_at"], utc=True)
        assert due >= end + config.label_lag_days
        assert (inspected_at <= unit_midnight(config, due)).all()
        if due > end + config.label_lag_days:
            assert (inspected_at > unit_midnight(config, due - 1)).any()
        by_day = trial.groupby("day_index")["model_version"].first()
        assert judged[due]["challenger_days"] == int((by_day == first["challenger"]).sum())
    # the same burn-in (the rules) gives the same first model
    assert trained["static"][0]["challenger"] == trained["adaptive"][0]["challenger"]
    burn = decisions[decisions["day_index"].lt(9)].set_index(["policy", "item_id"])["selected"]
    assert burn.loc["static"].equals(burn.loc["adaptive"])
    shares = runs["adaptive"]["adaptive_share"]
    assert shares and {s["share"] for s in shares} <= {0.02, 0.05, 0.10, 0.20}
    adaptive = decisions[decisions["policy"].eq("adaptive")]
    assert set(adaptive["control_share"]) <= {0.02, 0.05, 0.10, 0.20}
    checks = summary["off_policy_checks"]
    assert checks["trials"] == len(judged) and checks["realised_n"] >= 1


def test_model_policies_start_from_the_initial_model(tmp_path: Path) -> None:
    """With --initial-model (default: the shipped model) a unit scores with it from day 0;
    with 'none' it runs the rules until its own labels can train a model."""
    import parcelrisk

    shipped = parcelrisk.load_model().version
    for initial, expect in (("", None), (str(parcelrisk.DEFAULT_MODEL_DIR), shipped)):
        out = tmp_path / f"sim-{bool(initial)}"
        _simulate(
            out,
            *("--weeks", "1", "--items-per-day", "300", "--seed", "9"),
            *("--policies", "static", "--initial-model", initial or "none"),
        )
        decisions = pd.read_parquet(out / "decisions.parquet")
        day0 = decisions[decisions["day_index"].eq(0)]
        versions = set(day0["model_version"].dropna().astype(str)) - {"", "rules"}
        if expect is None:
            assert shipped not in versions
        else:
            assert versions == {expect}
