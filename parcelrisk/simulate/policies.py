"""The targeting policies a simulated unit can run, one class each.

Every policy selects through :func:`parcelrisk.scoring.select_positions`, the
selection code of ``parcelrisk score`` (capacity from the budget, a seeded
control draw among the items not targeted, exact propensities); the model
policies score through :func:`parcelrisk.scoring.score_frame` itself, with
the unit's history store.

========================  ====================================================================
``random``                a uniform random sample at capacity (all of it "control",
                          propensity = capacity / items)
``rules``                 the legacy rules (``features/legacy_targeting_rules.yaml``) ranked by
                          :func:`~parcelrisk.legacy_rules.legacy_rule_score`, ties in a seeded
                          random order, plus the same control share as the model
``static``                the starting model (``--initial-model``, default the shipped one,
                          trained on another world), or with none the first model trained
                          after the burn-in, forever
``retrained``             retrained every ``retrain_every_days`` on the unit's own labels with
                          :func:`~parcelrisk.train.train_model` and the default parameters;
                          logged to MLflow, registered as @challenger, promoted by
                          :func:`parcelrisk.tracking.promote` on the challenger's test days
``retrained_legacy``      the same with ``weighting: legacy`` (the pre-IPW training weights)
``adaptive``              ``retrained``, with a control share that rises when the control
                          sample finds more than the model predicted for it (see
                          :class:`AdaptiveShare`)
========================  ====================================================================

With a starting model the model policies use it from day 0; the first retraining
comes after the burn-in (the first ``burn_in_days``), and a challenger replaces the
starting model only if the promotion rule finds it better with evidence. Without one,
they run the rules policy during the burn-in: the first model needs labels. Selection reasons: ``model`` is the
targeted part of the capacity (the model's or the rules' top items), ``control``
the random draw, ``watchlist`` forced hits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from parcelrisk.scoring import ScoreOptions, _uniform, score_frame, select_positions

if TYPE_CHECKING:
    from parcelrisk.simulate.loop import Unit

__all__ = ["POLICIES", "Policy", "make_policy", "AdaptiveShare"]

POLICIES = ("random", "rules", "static", "retrained", "retrained_legacy", "adaptive")

#: Columns every policy returns for the day's valid rows (aligned on their index).
DECISION_COLUMNS = (
    "risk_score",
    "risk_rank",
    "selected",
    "selection_reason",
    "selection_propensity",
    "control_share",
    "model_version",
)


def _from_selection(
    valid: pd.DataFrame, score: np.ndarray, opts: ScoreOptions, version: str
) -> pd.DataFrame:
    """Decisions of the selection code over ``score`` (no watch-list: the simulation keeps none)."""
    ids = valid["item_id"].astype("str")
    sel = select_positions(
        score, ids, np.zeros(len(valid), dtype=bool), _uniform(ids, opts.seed), opts
    )
    reason, propensity, rank = sel.as_series(valid.index)
    return pd.DataFrame(
        {
            "risk_score": score,
            "risk_rank": rank.astype("int64"),
            "selected": reason.notna().to_numpy(),
            "selection_reason": reason.astype("object"),
            "selection_propensity": propensity.round(8).astype("float64"),
            "control_share": opts.control_share,
            "model_version": version,
        },
        index=valid.index,
    )


class Policy:
    """A policy: :meth:`before_day` (learning from what is known), then :meth:`decide`."""

    name = "policy"

    def before_day(self, unit: Unit, day: int) -> None:  # noqa: B027 - optional hook
        """Called at the start of ``day``, once that morning's outcomes are in the store."""

    def decide(self, unit: Unit, day: int, valid: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError


class RandomPolicy(Policy):
    name = "random"

    def decide(self, unit: Unit, day: int, valid: pd.DataFrame) -> pd.DataFrame:
        opts = unit.options(day, control_share=1.0)
        # everything is the control draw: propensity = slots / items, exactly
        return _from_selection(valid, np.zeros(len(valid)), opts, "random")


class RulesPolicy(Policy):
    name = "rules"

    def __init__(self) -> None:
        from parcelrisk.legacy_rules import load_legacy_rules

        self.rules = load_legacy_rules()

    def decide(
        self, unit: Unit, day: int, valid: pd.DataFrame, control_share: float | None = None
    ) -> pd.DataFrame:
        from parcelrisk.legacy_rules import legacy_rule_score

        opts = unit.options(day, control_share=control_share)
        score = legacy_rule_score(valid, self.rules).to_numpy(dtype="float64")
        # Most items score 0 and many tie: break ties in a seeded random order, not by item_id
        # (whose prefix is the service), as the probabilistic legacy policy does.
        tie = _uniform(valid["item_id"].astype("str"), opts.seed + 7_919) * 1e-9
        decisions = _from_selection(valid, score + tie, opts, "legacy-rules")
        decisions["risk_score"] = score
        return decisions


@dataclass
class AdaptiveShare:
    """The control share of the ``adaptive`` policy, one of ``shares``, revised every morning.

    Signal: the control items of the last ``window_days`` whose outcomes are
    known. Under a model that is still right, their seizures are about the sum
    of the risk scores the model gave them (a calibrated probability). If they
    hold significantly more (one-sided Poisson test, p < ``alpha``) the model is
    missing contraband it cannot see: the share moves one step up, to buy labels
    of what the model misses. If they hold no more than predicted (and at least
    ``min_items`` items back it), it moves one step down. After a move it waits
    ``cooldown_days``, so the next decision sees outcomes of the new share.
    The share of a day is fixed before the day's selection, so every item's
    propensity (control slots / eligible items) stays exact.
    """

    shares: tuple[float, ...] = (0.02, 0.05, 0.10, 0.20)
    start_index: int = 1
    window_days: int = 14
    alpha: float = 0.05
    min_items: int = 20
    cooldown_days: int = 7
    index: int = field(init=False)
    last_move: int = field(init=False, default=-(10**9))
    history: list[dict[str, Any]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.index = self.start_index

    @property
    def share(self) -> float:
        return self.shares[self.index]

    def update(self, unit: Unit, day: int) -> None:
        from scipy.stats import poisson

        window = unit.known_control(since_day=day - self.window_days, model_only=True)
        n = len(window)
        hits = int(window["outcome"].eq("seizure").sum())
        expected = float(window["risk_score"].sum())
        p_value = float(poisson.sf(hits - 1, expected)) if n and hits else 1.0
        move = 0
        if day - self.last_move >= self.cooldown_days:
            if n and p_value < self.alpha:
                move = 1
            elif n >= self.min_items and hits <= expected:
                move = -1
        new = min(max(self.index + move, 0), len(self.shares) - 1)
        if new != self.index:
            self.index, self.last_move = new, day
        self.history.append(
            {
                "day": day,
                "control_items": n,
                "control_seizures": hits,
                "expected": round(expected, 4),
                "p_value": round(p_value, 6),
                "share": self.share,
            }
        )


class ModelPolicy(Policy):
    """``static``, ``retrained``, ``retrained_legacy`` and ``adaptive``."""

    def __init__(
        self, name: str, *, retrain: bool, weighting: str | None, adaptive: bool = False
    ) -> None:
        from parcelrisk.model import load_params

        self.name = name
        self.retrain = retrain
        self.params = load_params() | ({"weighting": weighting} if weighting else {})
        self.adaptive = AdaptiveShare() if adaptive else None
        self.model: Any = None
        self.trained_on = -1
        self.rules = RulesPolicy()

    @property
    def params_key(self) -> str:
        return json.dumps(self.params, sort_keys=True, default=str)

    def before_day(self, unit: Unit, day: int) -> None:
        cfg = unit.config
        if day == 0 and cfg.initial_model:
            self.model, self.trained_on = unit.load_initial_model(), 0
        if day < cfg.burn_in_days:
            return
        trial = unit.trial
        if (
            trial is not None
            and day >= trial.end + cfg.label_lag_days
            and not unit.outcomes_pending(trial.start, trial.end)
        ):
            self.model = unit.judge_trial(day, self.model)
        elif trial is not None:  # no new challenger while one is on trial or being judged
            if self.adaptive is not None and self.model is not None:
                self.adaptive.update(unit, day)
            return
        # Without a model, try every day until the labels suffice, but after a refused
        # challenger wait for the next scheduled training, as with a model.
        every = cfg.retrain_every_days
        due = (self.model is None and day - unit.last_trained_day >= every) or (
            self.retrain and self.model is not None and day - self.trained_on >= every
        )
        if due:
            model = unit.train_and_deploy(day, self.params, self.params_key, self.model)
            if model is not None:
                self.model, self.trained_on = model, day
        if self.adaptive is not None and self.model is not None:
            self.adaptive.update(unit, day)

    def decide(self, unit: Unit, day: int, valid: pd.DataFrame) -> pd.DataFrame:
        if self.model is None:  # burn-in (or not enough labels yet): the legacy rules
            return self.rules.decide(unit, day, valid)
        share = self.adaptive.share if self.adaptive is not None else None
        opts = unit.options(day, control_share=share, explain="none")
        if unit.trial is not None and unit.trial.running(day):
            return self._trial_day(unit, day, valid, opts)
        scored = score_frame(valid, self.model, opts).scored
        return pd.DataFrame(
            {
                "risk_score": scored["risk_score"],
                "risk_rank": scored["risk_rank"],
                "selected": scored["selected"],
                "selection_reason": scored["selection_reason"],
                "selection_propensity": scored["selection_propensity"],
                "control_share": opts.control_share,
                "model_version": scored["model_version"],
            },
            index=valid.index,
        )

    def _trial_day(
        self, unit: Unit, day: int, valid: pd.DataFrame, opts: ScoreOptions
    ) -> pd.DataFrame:
        """A trial day: the coin picks the model that selects; propensities of the design."""
        from parcelrisk.scoring import predict
        from parcelrisk.trial import trial_selection

        trial = unit.trial
        assert trial is not None
        champ, _, _ = predict(valid, self.model)
        chal, _, _ = predict(valid, trial.model)
        picked = trial_selection(
            champ.margin.to_numpy(),
            chal.margin.to_numpy(),
            valid["item_id"].astype("str"),
            np.zeros(len(valid), dtype=bool),  # the simulation keeps no watch-list
            opts,
            day=unit.midnight(day).strftime("%Y-%m-%d"),
            share=unit.config.trial_share,
        )
        ran = chal if picked.challenger_ran else champ
        reason, propensity, rank = picked.selection.as_series(valid.index)
        return pd.DataFrame(
            {
                "risk_score": ran.risk.to_numpy(),
                "risk_rank": rank.astype("int64"),
                "selected": reason.notna().to_numpy(),
                "selection_reason": reason.astype("object"),
                "selection_propensity": propensity.round(8).astype("float64"),
                "control_share": opts.control_share,
                "model_version": trial.version if picked.challenger_ran else self.model.version,
            },
            index=valid.index,
        )


def make_policy(name: str) -> Policy:
    """A fresh policy object by name (see :data:`POLICIES`)."""
    if name == "random":
        return RandomPolicy()
    if name == "rules":
        return RulesPolicy()
    if name == "static":
        return ModelPolicy(name, retrain=False, weighting=None)
    if name == "retrained":
        return ModelPolicy(name, retrain=True, weighting=None)
    if name == "retrained_legacy":
        return ModelPolicy(name, retrain=True, weighting="legacy")
    if name == "adaptive":
        return ModelPolicy(name, retrain=True, weighting=None, adaptive=True)
    raise ValueError(f"unknown policy {name!r}; choose from {', '.join(POLICIES)}")
