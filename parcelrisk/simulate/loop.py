"""The day loop: one customs unit, one policy, one world, day by day.

Each (policy, seed) runs its own :class:`~parcelrisk.synthetic.World` (same
seed, so the same base traffic: common random numbers) and its own history
store. A day ``d``, for a unit:

1. the morning: outcomes whose ``inspected_at`` is at or before midnight of day
   ``d`` go into the store (:meth:`HistoryStore.add_outcomes`, the code behind
   ``parcelrisk outcomes add``): labels arrive late, as they do;
2. the policy learns from what is known (retraining, the adaptive share);
3. ``world.manifest(d)`` is validated (:func:`~parcelrisk.validate.validate_frame`),
   truth columns removed, and scored and selected by the policy;
4. the selected items are inspected (``world.inspect``); their outcomes wait
   for their ``inspected_at``; the world's actors react to its seizures;
5. the day's manifest goes into the store (:meth:`HistoryStore.add_manifest`,
   the code behind ``parcelrisk history add``) and into the unit's archive of
   manifests, from which it trains.

Training (:meth:`Unit.train_and_deploy`) uses the unit's own archive of the
``train_window_days`` before the last ``label_lag_days`` with the labels it has: items it inspected whose
outcome is known by that morning, with the propensity of the decision as
``selection_propensity`` (``selection_source``: ``random`` for the control draw,
``rule`` for targeted picks). The run is logged to the unit's own MLflow
tracking store, registered as ``@challenger`` and promoted by
:func:`parcelrisk.tracking.promote` on the challenger's test days (the latest
days of its window, which it neither trained nor calibrated on), both models
scoring them with the unit's store: only when the paired off-policy difference
of hit rates says, with one-sided 95% confidence, that the challenger finds
more. Otherwise the model in service stays (the registered champion, or the
unit's starting model). Each training also records the challenger's estimate
beside the truth it estimates on the same items (:meth:`Unit.estimate_check`),
which the run's summary turns into a coverage figure.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from parcelrisk.errors import ConfigError
from parcelrisk.scoring import ScoreOptions
from parcelrisk.store import HistoryStore
from parcelrisk.synthetic import World
from parcelrisk.validate import validate_frame

__all__ = ["SimulationConfig", "Unit", "run_unit", "TRUTH", "EXPERIMENT"]

#: Truth columns the world adds (evaluation only; removed before anything the unit sees).
TRUTH = (
    "truth_illicit",
    "truth_pattern",
    "truth_sender_entity",
    "truth_recipient_entity",
    "truth_found_if_inspected",
)
#: Truth kept in the decision log.
TRUTH_LOGGED = ("truth_illicit", "truth_found_if_inspected", "truth_pattern")
EXPERIMENT = "parcelrisk-simulate"


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. ``burn_in_days``: days run under the rules before the first model."""

    weeks: int
    items_per_day: int
    seeds: tuple[int, ...]
    policies: tuple[str, ...]
    budget: float = 0.02
    control_share: float = 0.05
    burn_in_days: int = 14
    retrain_every_days: int = 7
    train_window_days: int = 42
    label_lag_days: int = 4
    start: str = "2026-01-05"
    #: The model a unit starts with (a folder; "" = none: the model policies run the rules
    #: until their own labels can train one). Default: the shipped model, trained on another
    #: world (another seed), as a unit adopting parcelrisk would start.
    initial_model: str = ""
    #: A challenger that ``promote`` cannot yet tell from the model in service (refused, but
    #: better on the point estimate, and level with the plain baseline) goes on trial for
    #: ``trial_days``: each day a seeded coin gives the day to it with this probability
    #: (:mod:`parcelrisk.trial`, exact propensities); once their outcomes are in, ``promote``
    #: judges it on those days. 0: no trials, challengers are judged on the logs only.
    trial_share: float = 0.5
    trial_days: int = 14
    #: Which refused challengers go on trial: "better" (better on the point estimate) or
    #: "not_worse" (not shown worse) (:meth:`~parcelrisk.tracking.PromotionResult.worth_trial`).
    trial_when: str = "better"

    @property
    def days(self) -> int:
        return self.weeks * 7

    def check(self) -> None:
        from parcelrisk.simulate.policies import POLICIES

        if self.weeks < 1 or self.items_per_day < 10:
            raise ConfigError("simulate needs --weeks >= 1 and --items-per-day >= 10")
        if not 0 < self.budget <= 1 or not 0 <= self.control_share <= 1:
            raise ConfigError("--budget must be in (0, 1] and --control-share in [0, 1]")
        if not 0 <= self.trial_share < 1 or self.trial_days < 1:
            raise ConfigError("--trial-share must be in [0, 1) and --trial-days at least 1")
        from parcelrisk.tracking import TRIAL_RULES

        if self.trial_when not in TRIAL_RULES:
            raise ConfigError(f"--trial-when must be one of {', '.join(TRIAL_RULES)}")
        unknown = [p for p in self.policies if p not in POLICIES]
        if unknown or not self.policies:
            raise ConfigError(
                f"unknown policy {', '.join(unknown) or '(none)'}; choose from {', '.join(POLICIES)}"
            )
        if self.burn_in_days < self.label_lag_days + 5:
            raise ConfigError("--burn-in-days must be at least --label-lag + 5 (a time split)")
        if len(set(self.seeds)) != len(self.seeds) or not self.seeds:
            raise ConfigError("--seeds must list distinct seeds")
        date.fromisoformat(self.start)


#: The last fresh world built (its key and the object), copied for each unit of that seed.
_PROTOTYPE: dict[tuple[int, int, str], Any] = {}


def new_world(seed: int, items_per_day: int, start: str) -> Any:
    """A fresh ``World(seed, items_per_day, start)``; a deep copy of one built before if any.

    Building a world (its populations and pools) takes tens of seconds; a copy of
    a fresh world is the same fresh world (same seed, nothing generated yet).
    """
    key = (seed, items_per_day, start)
    if key not in _PROTOTYPE:
        _PROTOTYPE.clear()
        _PROTOTYPE[key] = World(seed=seed, items_per_day=items_per_day, start=start)
    return copy.deepcopy(_PROTOTYPE[key])


@contextlib.contextmanager
def _tracking(folder: Path) -> Iterator[None]:
    """MLflow tracking and registry in ``folder`` for the duration (each unit its own registry)."""
    import mlflow

    folder.mkdir(parents=True, exist_ok=True)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    saved = {k: os.environ.get(k) for k in names}
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    uri = f"sqlite:///{folder.resolve() / 'mlflow.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    os.environ.pop("MLFLOW_REGISTRY_URI", None)
    try:
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        if mlflow.get_experiment_by_name(EXPERIMENT) is None:
            # artifacts next to the database, not in ./mlruns of the working directory
            mlflow.create_experiment(
                EXPERIMENT, artifact_location=(folder.resolve() / "artifacts").as_uri()
            )
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


#: Trained models shared by units of the same seed whose training data and parameters are
#: identical (static, retrained and adaptive after the same burn-in): key -> TrainingResult.
TrainingCache = dict[tuple[str, str], Any]


@dataclass
class Trial:
    """A challenger on trial: it may select on days ``start`` to ``end - 1`` (a seeded coin)."""

    model: Any  # loaded with the unit's store
    version: str
    start: int
    end: int
    #: The estimate made from the logs at training time (``Unit.estimate_check``).
    estimate: dict[str, Any]

    def running(self, day: int) -> bool:
        return self.start <= day < self.end


@dataclass
class Unit:
    """A customs unit: its world, store, archive of manifests, decisions and pending outcomes."""

    policy_name: str
    seed: int
    config: SimulationConfig
    folder: Path
    cache: TrainingCache = field(default_factory=dict)
    world: Any = field(init=False)
    store: HistoryStore = field(init=False)
    decisions: list[pd.DataFrame] = field(init=False, default_factory=list)
    pending: list[pd.DataFrame] = field(init=False, default_factory=list)
    known: list[pd.DataFrame] = field(init=False, default_factory=list)
    events: list[dict[str, Any]] = field(init=False, default_factory=list)
    rejected: int = field(init=False, default=0)
    #: Day of the last training that produced a challenger (promoted or not).
    last_trained_day: int = field(init=False, default=-(10**9))
    #: The challenger on trial, if any (see :attr:`SimulationConfig.trial_share`).
    trial: Trial | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "days").mkdir(exist_ok=True)
        self.world = new_world(self.seed, self.config.items_per_day, self.config.start)
        self.store = HistoryStore.open(self.folder / "history.duckdb")

    # -- calendar and options ----------------------------------------------------------------
    def midnight(self, day: int) -> pd.Timestamp:
        return pd.Timestamp(date.fromisoformat(self.config.start) + timedelta(days=day), tz="UTC")

    def options(
        self, day: int, *, control_share: float | None = None, explain: str = "none"
    ) -> ScoreOptions:
        """The day's :class:`ScoreOptions`: capacity from the budget, seeded control draw."""
        return ScoreOptions(
            budget=self.config.budget,
            control_share=self.config.control_share if control_share is None else control_share,
            explain=explain,
            seed=self.seed,
            scored_at=self.midnight(day).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )

    # -- outcomes -----------------------------------------------------------------------------
    def receive_outcomes(self, day: int) -> None:
        """Outcomes known by midnight of ``day`` go into the store, as ``outcomes add`` does."""
        if not self.pending:
            return
        pending = pd.concat(self.pending, ignore_index=True)
        due = pending["inspected_at"] <= self.midnight(day)
        if due.any():
            arrived = pending[due].reset_index(drop=True)
            _, rejects = self.store.add_outcomes(arrived[["item_id", "inspected_at", "outcome"]])
            if len(rejects):
                raise RuntimeError(f"outcomes rejected by the store: {rejects.head(3).to_dict()}")
            self.known.append(arrived.assign(known_on=day))
        self.pending = [pending[~due].reset_index(drop=True)]

    def known_outcomes(self) -> pd.DataFrame:
        if not self.known:
            return pd.DataFrame(
                {
                    "item_id": pd.Series(dtype="str"),
                    "inspected_at": pd.Series(dtype="datetime64[us, UTC]"),
                    "outcome": pd.Series(dtype="str"),
                }
            )
        return pd.concat(self.known, ignore_index=True)

    def known_control(self, since_day: int, model_only: bool = False) -> pd.DataFrame:
        """Control items decided from ``since_day`` on whose outcome is known now."""
        if not self.decisions:
            return pd.DataFrame(columns=["risk_score", "outcome"])
        recent = self.decisions[max(0, since_day) :]
        log = pd.concat(recent, ignore_index=True) if recent else self.decisions[0].iloc[:0]
        log = log[log["selection_reason"].eq("control").fillna(False)]
        if model_only:  # burn-in days ranked by the rules: their risk_score is not a probability
            log = log[~log["model_version"].isin(["legacy-rules", "random"])]
        known = self.known_outcomes()[["item_id", "outcome"]]
        return log[["item_id", "risk_score"]].merge(known, on="item_id", how="inner")

    # -- the day ------------------------------------------------------------------------------
    def run_day(self, day: int, policy: Any) -> None:
        self.receive_outcomes(day)
        policy.before_day(self, day)
        frame = self.world.manifest(day)
        truth_cols = [c for c in TRUTH if c in frame]
        checked = validate_frame(frame.drop(columns=truth_cols))
        valid = checked.valid
        self.rejected += len(checked.rejects)
        decided = policy.decide(self, day, valid)
        selected_ids = valid["item_id"][decided["selected"].to_numpy(dtype=bool)]
        mask = frame["item_id"].isin(selected_ids).to_numpy()
        results = self.world.inspect(frame, mask)
        results = results.assign(
            inspected_at=pd.to_datetime(results["inspected_at"], utc=True).astype(
                "datetime64[us, UTC]"
            )
        )
        self.pending.append(results[["item_id", "inspected_at", "outcome"]])
        self.store.add_manifest(valid)
        valid.reset_index(drop=True).to_parquet(self.folder / "days" / f"day-{day:04d}.parquet")
        truth = frame.set_index("item_id")[[c for c in TRUTH_LOGGED if c in frame]]
        log = pd.DataFrame(
            {
                "day": self.midnight(day).strftime("%Y-%m-%d"),
                "day_index": day,
                "item_id": valid["item_id"].astype("str").to_numpy(),
                "policy": self.policy_name,
                "seed": self.seed,
            }
        )
        for column in decided.columns:
            log[column] = decided[column].to_numpy()
        outcome = results.set_index("item_id")
        log["outcome"] = log["item_id"].map(outcome["outcome"]).astype("object")
        log["inspected_at"] = log["item_id"].map(outcome["inspected_at"])
        for column in TRUTH_LOGGED:
            if column in truth:
                log[column] = log["item_id"].map(truth[column]).to_numpy()
        self.decisions.append(log)

    # -- training -----------------------------------------------------------------------------
    def training_frame(self, day: int) -> pd.DataFrame:
        """The ``train_window_days`` before ``day - label_lag_days``, with the labels known now.

        The newest ``label_lag_days`` are left out: most of their outcomes are still
        out (1-10 days), and the training's time split calibrates and tests on the
        latest days of its window.
        """
        last = day - self.config.label_lag_days
        return self.labelled_days(max(0, last - self.config.train_window_days), last)

    def labelled_days(self, first: int, last: int) -> pd.DataFrame:
        """Days ``first`` to ``last - 1`` of the archive, with the labels and propensities known now."""
        frames = [
            pd.read_parquet(self.folder / "days" / f"day-{d:04d}.parquet")
            for d in range(first, last)
        ]
        data = pd.concat(frames, ignore_index=True)
        decided = pd.concat(self.decisions[first:last], ignore_index=True).set_index("item_id")
        known = self.known_outcomes().set_index("item_id")
        ids = data["item_id"].astype("str")
        outcome = ids.map(known["outcome"])
        reason = ids.map(decided["selection_reason"])
        source = reason.map({"control": "random", "model": "rule", "watchlist": "intelligence"})
        return data.assign(
            inspected=outcome.notna().to_numpy(),
            selection_source=source.where(outcome.notna()).astype("object"),
            inspected_at=ids.map(known["inspected_at"]).astype("datetime64[us, UTC]"),
            outcome=outcome.astype("object"),
            selection_propensity=ids.map(decided["selection_propensity"]).astype("float64"),
        )

    def load_initial_model(self) -> Any:
        """The configured starting model with this unit's store (None when there is none)."""
        from parcelrisk.api import resolve_model

        if not self.config.initial_model:
            return None
        return resolve_model(self.config.initial_model, store=self.store)

    def train_and_deploy(
        self, day: int, params: dict[str, Any], params_key: str, current: Any = None
    ) -> Any:
        """Train a challenger, log and register it, promote by the documented rule; the champion.

        Returns the champion loaded with the unit's store, or None when there are
        too few labels yet (the policy keeps what it has and tries again next day).
        """
        from parcelrisk.api import resolve_model
        from parcelrisk.model import frame_hash
        from parcelrisk.report import model_card
        from parcelrisk.tracking import REGISTERED_NAME, log_training
        from parcelrisk.train import train_model

        started = time.perf_counter()
        frame = self.training_frame(day)
        short = _too_few_labels(frame, params)
        if short:  # checked before the features are built: they cost most of a training
            self.events.append({"day": day, "event": "train_skipped", "why": short})
            return None
        self.last_trained_day = day
        key = (frame_hash(frame), params_key)
        result = self.cache.get(key)
        if result is None:
            try:
                result = train_model(frame, params=dict(params), store=self.store)
            except ConfigError as exc:
                self.events.append({"day": day, "event": "train_skipped", "why": str(exc)})
                return None
            self.cache[key] = result
        with _tracking(self.folder / "mlflow"):
            run = log_training(
                result, frame, experiment=EXPERIMENT, register=True, card=model_card(result)
            )
            test_from = pd.Timestamp(result.model.metadata["split"]["test_from"], tz="UTC")
            window = frame[frame["declared_at"] >= test_from]
            registered, decision = self._promote(window, current)
            # promote scored the window with the challenger as registered, with this unit's
            # store (a cached result's model may hold another unit's store).
            check = self.estimate_check(window, decision.challenger_margin, decision.challenger)
            if decision.worth_trial(self.config.trial_when) and self.config.trial_share > 0:
                challenger = resolve_model(
                    f"models:/{REGISTERED_NAME}@challenger", store=self.store
                )
                self.trial = Trial(
                    challenger, challenger.version, day, day + self.config.trial_days, check
                )
            if not decision.promoted and not registered:
                # No registered champion: the unit's starting model stays in service.
                self.events.append(
                    {
                        "day": day,
                        "event": "kept_initial_model",
                        "challenger": result.model.version,
                        "challenger_figures": _figures(decision.challenger),
                        "champion_figures": _figures(decision.champion or {}),
                        "difference": decision.difference,
                        "ope_check": check,
                        "trial": self.trial is not None and self.trial.start == day,
                        "seconds": round(time.perf_counter() - started, 1),
                    }
                )
                return current
            champion = resolve_model(f"models:/{REGISTERED_NAME}@champion", store=self.store)
        self.events.append(
            {
                "day": day,
                "event": "trained",
                "challenger": result.model.version,
                "registered_version": run.get("registered_version"),
                "promoted": bool(decision.promoted),
                "challenger_figures": _figures(decision.challenger),
                "champion_figures": _figures(decision.champion or {}),
                "difference": decision.difference,
                "ope_check": check,
                "trial": self.trial is not None and self.trial.start == day,
                "champion": champion.version,
                "seizures_train": result.model.metadata["rows"]["seizures_train"],
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        return champion

    def _promote(self, window: pd.DataFrame, current: Any, trial: bool = False) -> tuple[bool, Any]:
        """``promote`` on ``window`` with this unit's store and capacity: (a champion was
        registered before, the decision). The model in service is the incumbent until a
        version holds @champion. Inside :func:`_tracking`."""
        from parcelrisk.tracking import promote

        registered = _has_champion()
        decision = promote(
            window,
            capacity=self.config.budget,
            incumbent=None if registered else current,
            store=self.store,
            trial=trial,
        )
        return registered, decision

    def outcomes_pending(self, first: int, last: int) -> bool:
        """Whether any item inspected on days ``first`` to ``last - 1`` still awaits its outcome."""
        if not self.pending or not any(len(p) for p in self.pending):
            return False
        waiting = set(pd.concat(self.pending, ignore_index=True)["item_id"].astype("str"))
        return any(
            not waiting.isdisjoint(d.loc[d["selected"], "item_id"].astype("str"))
            for d in self.decisions[first:last]
        )

    def judge_trial(self, day: int, current: Any) -> Any:
        """Promote or drop the challenger on trial, judged on its trial days; the model in service.

        The same rule as at training (:func:`parcelrisk.tracking.promote`), now on
        logs in which both models' picks had propensities of at least the trial
        share. Called once every outcome of the trial days is in: an outcome still
        out would count as a parcel not opened, and on a day-randomised trial it
        would fall on whichever model had the last days.
        """
        from parcelrisk.api import resolve_model
        from parcelrisk.tracking import REGISTERED_NAME

        trial = self.trial
        assert trial is not None
        self.trial = None
        window = self.labelled_days(trial.start, trial.end)
        with _tracking(self.folder / "mlflow"):
            _, decision = self._promote(window, current, trial=True)
            model = (
                resolve_model(f"models:/{REGISTERED_NAME}@champion", store=self.store)
                if decision.promoted
                else current
            )
        ran = [
            d
            for d in self.decisions[trial.start : trial.end]
            if d["model_version"].iloc[0] == trial.version
        ]
        self.events.append(
            {
                "day": day,
                "event": "trial_judged",
                "challenger": trial.version,
                "trial_days": trial.end - trial.start,
                "challenger_days": len(ran),
                "promoted": bool(decision.promoted),
                "challenger_figures": _figures(decision.challenger),
                "champion_figures": _figures(decision.champion or {}),
                "difference": decision.difference,
                "estimate_at_training": trial.estimate,
            }
        )
        return model

    def estimate_check(
        self, window: pd.DataFrame, margin: pd.Series | None, figures: dict[str, Any]
    ) -> dict[str, Any]:
        """The challenger's off-policy estimate on the window beside the truth it estimates.

        The truth is the share of the model's top ``budget`` items of each window
        day that an inspection would find (``truth_found_if_inspected``, which the
        unit never sees): exactly what the IPS estimate targets, on the same items.
        """
        from parcelrisk.estimation import candidate_picks, decision_log_from_labels

        assert margin is not None, "promote returns the challenger's margins"
        days = set(window["declared_at"].dt.strftime("%Y-%m-%d"))
        logged = pd.concat(
            [d for d in self.decisions if str(d["day"].iloc[0]) in days], ignore_index=True
        )
        found = logged.set_index("item_id")["truth_found_if_inspected"]
        picks = candidate_picks(decision_log_from_labels(window), margin, self.config.budget)
        ids = window["item_id"].astype("str").to_numpy()[picks]
        truth = float(found.reindex(ids).astype("float64").mean()) if len(ids) else float("nan")
        low, high = (
            float(figures.get("low", float("nan"))),
            float(figures.get("high", float("nan"))),
        )
        return {
            "estimate": float(figures.get("hit_rate", float("nan"))),
            "low": low,
            "high": high,
            "truth": truth,
            "covered": bool(low <= truth <= high),
            "picks": int(picks.sum()),
        }

    def decision_log(self) -> pd.DataFrame:
        return pd.concat(self.decisions, ignore_index=True)

    def close(self, keep_work: bool = False) -> None:
        self.store.close()
        if not keep_work:
            shutil.rmtree(self.folder / "days", ignore_errors=True)


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    """The numbers promote compared (JSON-friendly)."""
    return {k: v for k, v in row.items() if isinstance(v, int | float) and k != "version"}


def _has_champion() -> bool:
    """True when the unit's registry has a version with the @champion alias."""
    import mlflow

    from parcelrisk.tracking import REGISTERED_NAME

    try:
        mlflow_client().get_model_version_by_alias(REGISTERED_NAME, "champion")
    except mlflow.exceptions.MlflowException:
        return False
    return True


def mlflow_client() -> Any:
    import mlflow

    return mlflow.MlflowClient()


def _too_few_labels(frame: pd.DataFrame, params: dict[str, Any]) -> str:
    """Why :func:`~parcelrisk.train.train_model` would refuse ``frame`` ("" if it would not).

    The same time split and minimum seizure counts as the training code.
    """
    from parcelrisk.model import labels_of, time_split

    try:
        split = time_split(frame["declared_at"], params["calibrate_share"], params["test_share"])
    except ConfigError as exc:
        return str(exc)
    part = split.assign(frame["declared_at"])
    inspected, seized = labels_of(frame)
    train = int(seized[part.eq("train") & inspected].sum())
    calibrate = int(seized[part.eq("calibrate") & inspected].sum())
    if train < 5 or calibrate < 2:
        return f"too few seizures known yet (train: {train}, calibrate: {calibrate})"
    return ""


def run_unit(
    policy_name: str,
    seed: int,
    config: SimulationConfig,
    folder: Path,
    cache: TrainingCache | None = None,
    progress: Any = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run one policy on one seed for ``config.days`` days: (decision log, run facts)."""
    from parcelrisk.simulate.policies import make_policy

    policy = make_policy(policy_name)
    unit = Unit(policy_name, seed, config, folder, cache if cache is not None else {})
    started = time.perf_counter()
    try:
        for day in range(config.days):
            unit.run_day(day, policy)
            if progress is not None:
                progress(policy_name, seed, day)
        log = unit.decision_log()
    finally:
        unit.close()
    adaptive = getattr(policy, "adaptive", None)
    facts = {
        "policy": policy_name,
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 1),
        "rejected_rows": unit.rejected,
        "events": unit.events,
        "adaptive_share": adaptive.history if adaptive is not None else None,
        "world": type(unit.world).__module__ + "." + type(unit.world).__name__,
    }
    return log.astype({"selection_propensity": "float64"}), facts
