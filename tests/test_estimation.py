"""Unbiased estimators under selective labels: coverage and bias checked on simulated decision logs.

Each replication draws a world with known find probabilities, runs a logging
policy (the scoring policy: model picks plus a random control draw; or a
legacy-like policy with uneven propensities), and compares the estimates with
the truth. The same checks fail for the naive, unweighted estimates, so they
can fail.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from parcelrisk.errors import ConfigError
from parcelrisk.estimation import (
    Estimate,
    candidate_picks,
    decision_log_from_labels,
    fay_feuer_interval,
    hit_rate,
    leakage,
    missed_finds,
    off_policy,
    off_policy_difference,
    recall,
)

REPS = 200


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _frame(sel: np.ndarray, reason: np.ndarray, p: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    days, n = sel.shape
    return pd.DataFrame(
        {
            "item_id": np.char.add("i", np.arange(days * n).astype(str)),
            "day": np.repeat([f"2026-01-{d + 1:02d}" for d in range(days)], n),
            "selected": sel.ravel(),
            "selection_reason": reason.ravel(),
            "selection_propensity": p.ravel(),
            "outcome": np.where(sel.ravel(), np.where(y.ravel(), "seizure", "no_finding"), None),
        }
    )


def scoring_policy_log(
    rng: np.random.Generator,
    days: int = 10,
    n: int = 1000,
    alpha: float = -5.0,
    budget: float = 0.02,
    control_share: float = 0.25,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """A log of parcelrisk's own policy (top margins + seeded control draw), with the truth."""
    x = rng.standard_normal((days, n))
    pi = _sigmoid(alpha + 1.5 * x)  # each item's probability that an inspection finds something
    y = rng.random((days, n)) < pi
    margin = x + rng.standard_normal(x.shape)
    slots = int(round(budget * n))
    ctrl = int(round(control_share * slots))
    model = slots - ctrl
    code = np.zeros((days, n), dtype=np.int8)
    np.put_along_axis(code, np.argsort(-margin, axis=1)[:, :model], 2, axis=1)
    u = np.where(code == 2, 2.0, rng.random((days, n)))
    np.put_along_axis(code, np.argsort(u, axis=1)[:, :ctrl], 3, axis=1)
    p = np.where(code == 2, 1.0, ctrl / (n - model))
    sel = code > 0
    reason = np.array([None, None, "model", "control"], dtype=object)[code]
    truth = {
        "hit_rate": float(pi[code == 2].mean()),  # expected hit rate of the model's picks
        "leakage": float(y[~sel].sum() / max(y.sum(), 1)),  # realised share of finds missed
        "missed": float(y[~sel].sum()),
        "naive_leakage": float(y[code == 3].sum() / max(y[sel].sum(), 1)),
    }
    return _frame(sel, reason, p, y), truth


def legacy_policy_log(
    rng: np.random.Generator, days: int = 8, n: int = 1000, floor: float = 0.05
) -> tuple[pd.DataFrame, pd.Series, np.ndarray]:
    """A legacy-like policy's log (uneven propensities, at least ``floor``) and a candidate's scores.

    Finds depend on ``x``, which the candidate sees, and on ``z``, which only the
    legacy rules (or intelligence) see: among the candidate's picks, the ones the
    old policy inspected are richer in finds than the rest, so the unweighted
    hit rate is biased.
    """
    x = rng.standard_normal((days, n))
    z = rng.standard_normal((days, n))
    y = rng.random((days, n)) < _sigmoid(-6.0 + 1.5 * x + 1.5 * z)
    rules = z + 0.5 * x + 0.5 * rng.standard_normal(x.shape)
    p = np.clip(floor + 0.6 * _sigmoid(2 * rules - 5), 0, 1)
    sel = rng.random(x.shape) < p
    reason = np.where(sel, "rule", None).astype(object)
    log = _frame(sel, reason, p, y)
    candidate = pd.Series((x + 0.7 * rng.standard_normal(x.shape)).ravel(), index=log.index)
    return log, candidate, y.ravel()


def champion_policy_log(
    rng: np.random.Generator, days: int = 10, n: int = 1000, slots: int = 20
) -> tuple[pd.DataFrame, pd.Series, np.ndarray]:
    """A log of parcelrisk's own policy run by a champion, and a challenger's scores.

    The challenger's picks that the champion also picked were inspected for
    sure (propensity 1); the others only through the control draw (1 of ~980
    items a day): weights near 1000.
    """
    x = rng.standard_normal((days, n))
    y = rng.random((days, n)) < _sigmoid(-5.0 + 1.5 * x)
    champion = x + rng.standard_normal(x.shape)
    ctrl = max(1, int(round(0.05 * slots)))
    model = slots - ctrl
    code = np.zeros((days, n), dtype=np.int8)
    np.put_along_axis(code, np.argsort(-champion, axis=1)[:, :model], 2, axis=1)
    u = np.where(code == 2, 2.0, rng.random((days, n)))
    np.put_along_axis(code, np.argsort(u, axis=1)[:, :ctrl], 3, axis=1)
    p = np.where(code == 2, 1.0, ctrl / (n - model))
    reason = np.array([None, None, "model", "control"], dtype=object)[code]
    log = _frame(code > 0, reason, p, y)
    challenger = pd.Series((x + 0.7 * rng.standard_normal(x.shape)).ravel(), index=log.index)
    return log, challenger, y.ravel()


def _covers(est: Estimate, truth: float) -> bool:
    return bool(est.low <= truth <= est.high)


def _unbiased(estimates: list[float], truths: list[float]) -> tuple[float, float]:
    """(mean error, its Monte Carlo standard error)."""
    err = np.asarray(estimates) - np.asarray(truths)
    return float(err.mean()), float(err.std(ddof=1) / np.sqrt(len(err)))


@pytest.mark.slow
def test_hit_rate_and_leakage_cover_the_truth_on_the_scoring_policy():
    rng = np.random.default_rng(20261202)
    cover = {"hit_rate": 0, "leakage": 0, "naive_leakage": 0}
    hits, hit_truth, missed, missed_truth = [], [], [], []
    for _ in range(REPS):
        log, truth = scoring_policy_log(rng)
        h, leak = hit_rate(log, "model"), leakage(log)
        cover["hit_rate"] += _covers(h, truth["hit_rate"])
        cover["leakage"] += _covers(leak, truth["leakage"])
        # the naive figure: control finds as a share of observed finds, unweighted
        naive = Estimate(truth["naive_leakage"], *[truth["naive_leakage"]] * 2, 0, "naive")
        cover["naive_leakage"] += _covers(naive, truth["leakage"])
        hits.append(h.value)
        hit_truth.append(truth["hit_rate"])
        missed.append(missed_finds(log).value)
        missed_truth.append(truth["missed"])
    rates = {k: v / REPS for k, v in cover.items()}
    assert rates["hit_rate"] >= 0.9, rates
    assert rates["leakage"] >= 0.9, rates
    assert rates["naive_leakage"] < 0.9, rates  # the check can fail
    for est, tru in ((hits, hit_truth), (missed, missed_truth)):
        bias, se = _unbiased(est, tru)
        assert abs(bias) <= 3 * se + 1e-9, (bias, se)


@pytest.mark.slow
def test_leakage_interval_with_the_default_control_share_rarely_sees_a_find_and_still_covers():
    rng = np.random.default_rng(7)
    covered = zero_hits = 0
    for _ in range(REPS // 2):
        log, truth = scoring_policy_log(rng, control_share=0.05)
        leak = leakage(log)
        covered += _covers(leak, truth["leakage"])
        zero_hits += (
            log.loc[log["selection_reason"].eq("control"), "outcome"].eq("seizure").sum() == 0
        )
    assert zero_hits > 0  # the case the interval must survive
    assert covered / (REPS // 2) >= 0.9


@pytest.mark.slow
def test_off_policy_estimates_cover_what_the_candidate_would_have_found():
    rng = np.random.default_rng(11)
    names = ("ips", "snips", "dr", "naive")
    cover = dict.fromkeys(names, 0)
    values: dict[str, list[float]] = {k: [] for k in names}
    truths = []
    for rep in range(REPS):
        log, candidate, y = legacy_policy_log(rng)
        picks = candidate_picks(log, candidate, 0.02)
        truth = float(y[picks].mean())  # what the candidate's picks would have found
        truths.append(truth)
        est = off_policy(log, candidate, 0.02, n_boot=200, seed=rep)
        # the naive figure: hit rate among the candidate's picks that the old policy inspected
        seen = picks & log["selected"].to_numpy()
        est["naive"] = hit_rate(log[seen], reason=None)
        for k in names:
            cover[k] += _covers(est[k], truth)
            values[k].append(est[k].value)
        assert 0 < est["ess"].value <= est["ips"].n
    rates = {k: v / REPS for k, v in cover.items()}
    assert min(rates["ips"], rates["snips"], rates["dr"]) >= 0.9, rates
    assert rates["naive"] < 0.9, rates
    for k in ("ips", "dr"):
        bias, se = _unbiased(values[k], truths)
        assert abs(bias) <= 3 * se, (k, bias, se)
    bias, se = _unbiased(values["naive"], truths)
    assert abs(bias) > 3 * se  # selection bias: the unweighted figure is off


@pytest.mark.slow
def test_ips_covers_a_challenger_from_the_champions_log():
    """The simulate case: a challenger judged on the champion's decisions (weights up to ~1000)."""
    rng = np.random.default_rng(5)
    covered, values, truths = 0, [], []
    for rep in range(REPS // 2):
        log, challenger, y = champion_policy_log(rng)
        picks = candidate_picks(log, challenger, 20)
        truth = float(y[picks].mean())
        ips = off_policy(log, challenger, 20, n_boot=100, seed=rep)["ips"]
        covered += _covers(ips, truth)
        values.append(ips.value)
        truths.append(truth)
    assert covered / (REPS // 2) >= 0.9
    bias, se = _unbiased(values, truths)
    assert abs(bias) <= 3 * se, (bias, se)


def test_paired_difference_is_ips_minus_ips_and_antisymmetric():
    log, candidate, _ = legacy_policy_log(np.random.default_rng(23))
    other = pd.Series(np.random.default_rng(24).standard_normal(len(log)), index=log.index)
    diff = off_policy_difference(log, candidate, other, 0.02, n_boot=500, seed=3)
    ips = off_policy(log, candidate, 0.02)["ips"].value - off_policy(log, other, 0.02)["ips"].value
    assert diff.value == pytest.approx(ips)
    back = off_policy_difference(log, other, candidate, 0.02, n_boot=500, seed=3)
    assert back.value == pytest.approx(-diff.value)
    # lower bounds are the bootstrap's (mirrored); upper ones may be wider (the gamma bound)
    assert back.low >= -diff.high - 1e-12 and diff.low >= -back.high - 1e-12
    assert diff.n == back.n > 0


def test_paired_difference_calls_a_tie_no_evidence_and_sees_a_clear_winner():
    log, candidate, _ = legacy_policy_log(np.random.default_rng(29), days=20)
    tie = off_policy_difference(log, candidate, candidate, 0.02, n_boot=500)
    assert (tie.value, tie.low, tie.high, tie.n) == (0, 0, 0, 0)
    assert not tie.low > 0
    noise = pd.Series(np.random.default_rng(30).standard_normal(len(log)), index=log.index)
    win = off_policy_difference(log, candidate, noise, 0.02, n_boot=500)
    assert win.low > 0 and win.n >= 3


def test_paired_difference_covers_on_the_champions_own_log():
    """The simulate regime: the challenger's own picks are seen only through the control draw.

    A bootstrap alone put the upper bound at or below zero for challengers that were better
    on truth; the gamma bounds keep the interval honest (two one-sided 95% bounds: >= 90%).
    """
    rng = np.random.default_rng(61)
    covered, reps = 0, 60
    for rep in range(reps):
        log, challenger, y = champion_policy_log(rng)
        champion = log["selection_reason"].eq("model").astype(float)  # its own picks first
        champion = champion + 1e-6 * pd.Series(rng.random(len(log)), index=log.index)
        truth = float(
            y[candidate_picks(log, challenger, 20)].mean()
            - y[candidate_picks(log, champion, 20)].mean()
        )
        diff = off_policy_difference(log, challenger, champion, 20, n_boot=300, seed=rep)
        covered += diff.low <= truth <= diff.high
    assert covered / reps >= 0.9, covered


@pytest.mark.slow
def test_paired_difference_rarely_promotes_an_equal_model_and_usually_a_better_one():
    """The promotion rule's error rates: equal models pass it at most ~5% of the time."""
    rng = np.random.default_rng(41)
    false_wins, true_wins, reps = 0, 0, 40
    for rep in range(reps):
        log, candidate, _ = legacy_policy_log(rng, days=20)
        x = candidate.to_numpy()
        twin = pd.Series(x + 0.5 * rng.standard_normal(len(x)), index=log.index)
        rival = pd.Series(x + 0.5 * rng.standard_normal(len(x)), index=log.index)
        false_wins += off_policy_difference(log, twin, rival, 0.02, n_boot=300, seed=rep).low > 0
        noise = pd.Series(rng.standard_normal(len(x)), index=log.index)
        true_wins += off_policy_difference(log, twin, noise, 0.02, n_boot=300, seed=rep).low > 0
    assert false_wins / reps <= 0.1, false_wins
    assert true_wins / reps >= 0.8, true_wins  # 20 days of a 1,000-item log: ~15 discordant finds


def test_no_control_hits_gives_zero_with_an_interval_that_does_not_collapse():
    rng = np.random.default_rng(3)
    log, _ = scoring_policy_log(rng, days=3, control_share=0.25)
    control = log["selection_reason"].eq("control")
    log.loc[control, "outcome"] = "no_finding"
    log.loc[log["selection_reason"].eq("model") & ~log["outcome"].eq("seizure"), "outcome"] = (
        "no_finding"
    )
    leak = leakage(log)
    assert leak.value == 0.0 and leak.low == 0.0
    weight = (1 - log.loc[control, "selection_propensity"]) / log.loc[
        control, "selection_propensity"
    ]
    finds = log["outcome"].eq("seizure").sum()
    # Poisson rule of three per weighted item: 3.69 x weight missed finds at most
    upper_missed = fay_feuer_interval(weight.to_numpy(), np.zeros(int(control.sum())))[1]
    assert leak.high == pytest.approx(upper_missed / (finds + upper_missed))
    assert leak.n == int(control.sum())
    assert recall(log).low == pytest.approx(1 - leak.high)


def test_nothing_selected_and_no_control_give_no_figure_not_a_false_one():
    rng = np.random.default_rng(5)
    log, _ = scoring_policy_log(rng, days=2)
    none = log.assign(selected=False, selection_reason=None, outcome=None)
    assert hit_rate(none).n == 0 and np.isnan(hit_rate(none).value)
    assert leakage(none).n == 0 and np.isnan(leakage(none).value)
    est = off_policy(none, pd.Series(np.arange(len(none), dtype=float)), 0.02, n_boot=50)
    assert est["ips"].value == 0.0 and est["ips"].n == 0
    assert est["ips"].high > 0  # no logged outcome says nothing, and the interval shows it
    assert np.isnan(est["snips"].value)


def test_propensity_one_is_a_census():
    """Candidate = the logging policy's own picks, all inspected: IPS = SNIPS = the observed rate."""
    rng = np.random.default_rng(9)
    log, _ = scoring_policy_log(rng, days=4, control_share=0.0)
    margin = pd.Series(np.where(log["selected"], 1.0, 0.0), index=log.index)
    est = off_policy(log, margin, 0.02, n_boot=100)
    observed = hit_rate(log, "model")
    assert est["ips"].value == pytest.approx(observed.value)
    assert est["snips"].value == pytest.approx(observed.value)
    assert est["ess"].value == pytest.approx(observed.n)
    everything = log.assign(selected=True, selection_propensity=1.0, outcome="no_finding")
    assert (leakage(everything).value, leakage(everything).high) == (0.0, 0.0)


def test_off_policy_does_not_depend_on_row_order():
    log, candidate, _ = legacy_policy_log(np.random.default_rng(2), days=3, n=400)
    shuffled = log.sample(frac=1.0, random_state=1)
    one = off_policy(log, candidate, 0.05, n_boot=100, seed=4)
    two = off_policy(shuffled, candidate.loc[shuffled.index], 0.05, n_boot=100, seed=4)
    for key, est in one.items():  # equal up to the order of floating-point sums
        other = two[key]
        assert (est.n, est.method) == (other.n, other.method)
        for a, b in ((est.value, other.value), (est.low, other.low), (est.high, other.high)):
            assert a == pytest.approx(b, rel=1e-12, abs=1e-15)


def test_candidate_picks_per_day_with_ties_by_item_id():
    log = pd.DataFrame(
        {
            "item_id": ["b", "a", "c", "d", "e", "f"],
            "day": ["2026-01-01"] * 3 + ["2026-01-02"] * 3,
            "selected": [True] * 6,
            "selection_propensity": [1.0] * 6,
            "outcome": ["seizure", "no_finding", "no_finding", "seizure", "no_finding", None],
        }
    )
    scores = pd.Series([0.5, 0.5, 0.1, 0.2, 0.9, 0.3], index=list("bacdef"))
    assert candidate_picks(log, scores, 1).tolist() == [False, True, False, False, True, False]
    assert candidate_picks(log, scores, 0.67).tolist() == [True, True, False, False, True, True]


def test_bad_propensity_is_one_clear_error():
    log = pd.DataFrame(
        {
            "item_id": ["a", "b"],
            "day": ["2026-01-01"] * 2,
            "selected": [True, True],
            "selection_propensity": [1.0, 0.0],
            "outcome": ["seizure", "no_finding"],
        }
    )
    with pytest.raises(ConfigError, match=r"row 2 \(item_id 'b'\).*selection_propensity"):
        hit_rate(log)
    with pytest.raises(ConfigError, match="lacks column"):
        hit_rate(log.drop(columns="day"))


def test_decision_log_from_labels_uses_propensities_or_the_random_control():
    frame = pd.DataFrame(
        {
            "item_id": list("abcdef"),
            "declared_at": pd.to_datetime(["2026-01-01T10:00Z"] * 3 + ["2026-01-02T10:00Z"] * 3),
            "inspected": [True, True, False, True, False, False],
            "selection_source": ["random", "rule", None, "random", None, None],
            "outcome": ["seizure", "no_finding", None, "no_finding", None, None],
        }
    )
    control_only = decision_log_from_labels(frame)
    assert control_only["selected"].tolist() == [True, False, False, True, False, False]
    assert control_only.loc[0, "selection_propensity"] == pytest.approx(1 / 3)
    with_p = decision_log_from_labels(frame.assign(selection_propensity=[0.5, 0.9, 0.1] * 2))
    assert with_p["selected"].tolist() == frame["inspected"].tolist()
    assert with_p.loc[1, "selection_propensity"] == 0.9


def trial_policy_log(
    rng: np.random.Generator,
    days: int = 14,
    n: int = 1000,
    slots: int = 20,
    share: float = 0.25,
    edge: float = 0.0,
) -> tuple[pd.DataFrame, pd.Series, pd.Series, np.ndarray]:
    """A trial's log (:func:`parcelrisk.trial.trial_selection`): a coin gives each day to one model.

    Both models see ``x`` with independent noise; ``edge`` > 0 makes the challenger's
    noise smaller (it finds more). Returns (log, challenger, champion, y).
    """
    from parcelrisk.scoring import ScoreOptions
    from parcelrisk.trial import trial_selection

    x = rng.standard_normal(days * n)
    y = rng.random(days * n) < _sigmoid(-5.0 + 1.5 * x)
    challenger = x + (0.9 - edge) * rng.standard_normal(len(x))
    champion = x + 0.9 * rng.standard_normal(len(x))
    ids = pd.Series(np.char.add("i", np.arange(days * n).astype(str)))
    opts = ScoreOptions(capacity=slots, control_share=0.05, seed=int(rng.integers(1 << 30)))
    code, p = np.zeros(days * n, dtype=np.int8), np.zeros(days * n)
    for d in range(days):
        part = slice(d * n, (d + 1) * n)
        picked = trial_selection(
            champion[part],
            challenger[part],
            ids[part].reset_index(drop=True),
            np.zeros(n, dtype=bool),
            opts,
            day=f"2026-02-{d + 1:02d}",
            share=share,
        )
        code[part], p[part] = picked.selection.code, picked.selection.propensity
    reason = np.array([None, "watchlist", "model", "control"], dtype=object)[code]
    log = _frame(
        (code > 0).reshape(days, n), reason.reshape(days, n), p.reshape(days, n), y.reshape(days, n)
    )
    return log, pd.Series(challenger, index=log.index), pd.Series(champion, index=log.index), y


def test_trial_propensities_are_the_exact_mixture_of_both_selections():
    from parcelrisk.scoring import ScoreOptions, _uniform, select_positions
    from parcelrisk.trial import challenger_day, trial_selection

    rng = np.random.default_rng(71)
    n = 500
    ids = pd.Series(np.char.add("t", np.arange(n).astype(str)))
    champ, chal = rng.standard_normal(n), rng.standard_normal(n)
    opts = ScoreOptions(capacity=10, control_share=0.2, seed=4)
    none = np.zeros(n, dtype=bool)
    days = [f"2026-03-{d:02d}" for d in range(1, 29)]
    ran = [challenger_day(4, day, 0.3) for day in days]
    assert 0 < sum(ran) < len(days)  # a coin, not a constant
    for day, challenger_ran in zip(days, ran, strict=True):
        t = trial_selection(champ, chal, ids, none, opts, day=day, share=0.3)
        a = select_positions(chal, ids, none, _uniform(ids, 4), opts)
        b = select_positions(champ, ids, none, _uniform(ids, 4), opts)
        assert t.challenger_ran == challenger_ran
        assert np.array_equal(t.selection.code, (a if challenger_ran else b).code)
        assert np.allclose(t.selection.propensity, 0.3 * a.propensity + 0.7 * b.propensity)
    # the realised selection never has an item of propensity zero
    assert (t.selection.propensity[t.selection.code > 0] > 0).all()


@pytest.mark.slow
def test_paired_difference_on_trial_days_covers_and_rarely_promotes_an_equal_model():
    """Day-resampled paired difference on trial logs: coverage, false and true promotions."""
    rng = np.random.default_rng(83)
    covered, false_wins, true_wins, reps = 0, 0, 0, 40
    for rep in range(reps):
        log, chal, champ, y = trial_policy_log(rng, share=0.5)
        truth = float(
            y[candidate_picks(log, chal, 20)].mean() - y[candidate_picks(log, champ, 20)].mean()
        )
        diff = off_policy_difference(log, chal, champ, 20, n_boot=300, seed=rep, resample="days")
        covered += diff.low <= truth <= diff.high
        false_wins += diff.low > 0
        log, chal, champ, _ = trial_policy_log(rng, share=0.5, edge=0.85)
        better = off_policy_difference(log, chal, champ, 20, n_boot=300, seed=rep, resample="days")
        true_wins += better.low > 0
    assert covered / reps >= 0.9, covered
    assert false_wins / reps <= 0.1, false_wins
    # 14 days of 1,000 items, 20 picks a day: a clearly better model, usually seen in a trial
    assert true_wins / reps >= 0.5, true_wins
