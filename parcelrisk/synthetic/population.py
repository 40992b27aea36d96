"""The illicit population: actors created in monthly cohorts, heavy-tailed, with a schedule.

Each actor belongs to one pattern, sends a log-normal number of items over an activity window
(most 1-5 items, a few hundreds; :data:`~parcelrisk.synthetic.constants.ACTOR_VOLUME_SIGMA`),
and has a mutable state (identity generation and variation, cover goods, origin, drop
generation) that scheduled drift, market takedowns and reactions to seizures change.
Cohorts are drawn from their own random streams, so the base population of a world depends
only on its seed and daily volume.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from parcelrisk.synthetic import constants as C
from parcelrisk.synthetic._util import mix, rng_for
from parcelrisk.synthetic.blocks import PATTERNS, mix_kinds
from parcelrisk.synthetic.patterns import PATTERN_SPECS

COHORT_DAYS = 28
STREAM_COHORT = 201
#: Truth entity ids of illicit actors start here (legitimate parties count from 0).
ACTOR_ENTITY_BASE = 1_000_000_000


@dataclass
class Actors:
    """Struct of arrays, one entry per actor (append-only; states mutate in place)."""

    pattern: np.ndarray  # int8, index into PATTERNS
    cohort: np.ndarray
    volume: np.ndarray
    begin: np.ndarray  # first active day (float)
    end: np.ndarray
    rate: np.ndarray  # items per day while active (allocation weight)
    company: np.ndarray
    intel_known: np.ndarray  # on the legacy unit's watch-list
    drift_day: np.ndarray  # inf: no scheduled drift
    drift_kind: np.ndarray  # "", "origin", "cover", "drop"
    # state
    origin: np.ndarray
    country: np.ndarray  # where the identity lives (origin, or an EU country for reshippers)
    cover: np.ndarray
    gen: np.ndarray  # identity generation (new identity: +1)
    variant: np.ndarray  # spelling variation of the current identity
    drop_gen: np.ndarray
    sent: np.ndarray  # items sent so far
    drift_eligible: np.ndarray

    @classmethod
    def empty(cls) -> Actors:
        obj = {f.name: np.zeros(0, dtype=object) for f in fields(cls)}
        return cls(**obj)

    def extend(self, other: Actors) -> None:
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            setattr(self, f.name, b.copy() if len(a) == 0 else np.concatenate([a, b]))

    def __len__(self) -> int:
        return len(self.pattern)

    def entity(self, idx: np.ndarray) -> np.ndarray:
        return ACTOR_ENTITY_BASE + np.asarray(idx, dtype="int64")

    def frame(self) -> pd.DataFrame:
        """The actor table (truth, for evaluation and tests)."""
        out = pd.DataFrame({f.name: getattr(self, f.name) for f in fields(self)})
        out.insert(0, "entity", self.entity(np.arange(len(self))))
        out["pattern"] = np.array(PATTERNS, dtype=object)[out["pattern"].astype(int)]
        return out


def _expected_volume(median: float) -> float:
    return median * float(np.exp(C.ACTOR_VOLUME_SIGMA**2 / 2)) + 0.5


def make_cohort(
    seed: int, cohort: int, illicit_per_day: float, pattern_shares: dict[str, float]
) -> Actors:
    """Actors whose activity starts in days ``[28 * cohort, 28 * (cohort + 1))``.

    The number of actors per pattern keeps the expected illicit volume at ``illicit_per_day``
    in steady state; exactly ``round(DRIFT_SHARE x eligible)`` of the cohort's persistent
    actors get a scheduled drift (:func:`_schedule_drift`).
    """
    parts: list[Actors] = []
    total = sum(pattern_shares.values()) or 1.0
    for p_idx, name in enumerate(PATTERNS[1:], start=1):
        share = pattern_shares.get(name, 0.0) / total
        if share <= 0:
            continue
        spec = PATTERN_SPECS[name]
        rng = rng_for(seed, STREAM_COHORT, cohort + 1000, p_idx)
        per_day = illicit_per_day * share
        n = max(2, int(round(COHORT_DAYS * per_day / _expected_volume(spec.volume_median))))
        volume = np.minimum(
            np.ceil(spec.volume_median * np.exp(C.ACTOR_VOLUME_SIGMA * rng.standard_normal(n))),
            C.ACTOR_VOLUME_CAP,
        ).astype("int64")
        begin = COHORT_DAYS * cohort + rng.uniform(0, COHORT_DAYS, n)
        rate = C.ACTOR_RATE[0] * np.exp(C.ACTOR_RATE[1] * rng.standard_normal(n))
        length = np.clip(volume / rate, 1.0, C.ACTOR_MAX_DAYS)
        rate = volume / length
        origin = mix(rng, spec.origins, n)
        country = (
            origin.copy()
            if spec.identity_countries is None
            else mix(rng, spec.identity_countries, n)
        )
        cover = mix_kinds(rng, spec.covers, n)
        company = rng.random(n) < spec.company
        intel = rng.random(n) < C.INTELLIGENCE.get(name, 0.0)
        eligible = volume >= C.DRIFT_MIN_VOLUME
        drift_day = np.full(n, np.inf)
        drift_kind = np.full(n, "", dtype=object)
        parts.append(
            Actors(
                pattern=np.full(n, p_idx, dtype="int8"),
                cohort=np.full(n, cohort),
                volume=volume,
                begin=begin,
                end=begin + length,
                rate=rate,
                company=company,
                intel_known=intel,
                drift_day=drift_day,
                drift_kind=drift_kind,
                origin=origin,
                country=country,
                cover=cover,
                gen=np.zeros(n, "int64"),
                variant=np.zeros(n, "int64"),
                drop_gen=np.zeros(n, "int64"),
                sent=np.zeros(n, "int64"),
                drift_eligible=eligible,
            )  # fmt: skip
        )
    out = Actors.empty()
    for part in parts:
        out.extend(part)
    _schedule_drift(out, rng_for(seed, STREAM_COHORT, cohort + 1000, 0))
    for name in ("pattern", "cohort", "volume", "gen", "variant", "drop_gen", "sent"):
        setattr(out, name, getattr(out, name).astype("int64"))
    for name in ("begin", "end", "rate", "drift_day"):
        setattr(out, name, getattr(out, name).astype("float64"))
    for name in ("company", "intel_known", "drift_eligible"):
        setattr(out, name, getattr(out, name).astype(bool))
    return out


def _schedule_drift(actors: Actors, rng: np.random.Generator) -> None:
    """Exactly ``round(DRIFT_SHARE x eligible)`` of the cohort's persistent actors drift.

    The drift happens 30-70% into the actor's activity: a new origin country (with a new
    identity) or new cover goods, half and half; recipient-side actors move their drop.
    """
    elig = np.flatnonzero(actors.drift_eligible)
    k = int(round(C.DRIFT_SHARE * len(elig)))
    if k == 0:
        return
    chosen = np.sort(rng.permutation(elig)[:k])
    length = actors.end[chosen] - actors.begin[chosen]
    actors.drift_day[chosen] = actors.begin[chosen] + rng.uniform(0.3, 0.7, k) * length
    names = np.array(PATTERNS, dtype=object)[actors.pattern[chosen].astype(int)]
    recipient = np.array([PATTERN_SPECS[str(p)].side == "recipient" for p in names])
    kind = np.where(rng.permutation(k) < (k + 1) // 2, "origin", "cover").astype(object)
    actors.drift_kind[chosen] = np.where(recipient, "drop", kind)
