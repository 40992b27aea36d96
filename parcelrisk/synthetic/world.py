"""The world: a day-by-day manifest stream with a reacting illicit population.

>>> w = World(seed=3, items_per_day=600)
>>> day0 = w.manifest(0)
>>> res = w.inspect(day0, day0["truth_illicit"].to_numpy())
>>> bool(len(res) == day0["truth_illicit"].sum()), list(res.columns)
(True, ['item_id', 'inspected_at', 'outcome'])

Common random numbers: every random draw of day ``d``'s base traffic comes from streams keyed
by ``(seed, stream, d, ...)`` (:func:`~parcelrisk.synthetic._util.rng_for`), and the
illicit population of cohort ``c`` from ``(seed, cohort stream, c, pattern)``. Two worlds with
the same seed, volume and configuration give identical days until one of them records a
seizure the other did not; from then on they differ only in the items of the actors that
reacted (identity, cover goods, origin, drop address).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from parcelrisk.legacy_rules import load_legacy_policy
from parcelrisk.schema import (
    LABEL_COLUMNS,
    MANIFEST_COLUMNS,
    TRUTH_COLUMNS,
    LabelSchema,
    ManifestSchema,
    TruthSchema,
)
from parcelrisk.synthetic import constants as C
from parcelrisk.synthetic._util import DAY_US, US, apportion, hash_uniform, rng_for
from parcelrisk.synthetic.actors import _contacts, _name_variants, _people, _pools, _postcodes
from parcelrisk.synthetic.assemble import assemble
from parcelrisk.synthetic.blocks import PATTERNS
from parcelrisk.synthetic.context import build_context
from parcelrisk.synthetic.inspection import false_leads, found_if_inspected, legacy_selection
from parcelrisk.synthetic.legit import build_legit, legit_day
from parcelrisk.synthetic.patterns import PATTERN_SPECS, Dispatch
from parcelrisk.synthetic.population import COHORT_DAYS, Actors, make_cohort
from parcelrisk.synthetic.reactions import Reactor

M, L, T = ManifestSchema, LabelSchema, TruthSchema

# random-stream keys (see rng_for)
_S_CONTEXT, _S_LEGIT_POP, _S_ALLOC, _S_PATTERN, _S_ASSEMBLE = 1, 2, 21, 22, 31
_S_FOUND, _S_DELAY, _S_LABELS, _S_IDENT, _S_VARIANT, _S_DROP = 41, 42, 61, 101, 102, 103
_S_TAKEDOWN = 301
_MISMATCH_FORMATS = np.array(["DE", "US", "GB", "NL", "PL", "CA"], dtype=object)


@dataclass(frozen=True)
class WorldConfig:
    """Parameters of a world (defaults: the documented constants of ``constants.py``).

    illicit_rate : share of illicit items. pattern_shares : share of each pattern among them.
    reactions : whether actors react to seizures (False: a static world).
    reaction_probabilities, awareness_delay_days : see the constants of the same names.
    takedown_rate_per_day, takedown_share : market takedowns.
    label_noise_rate : share of legitimate inspections recorded as seizures.
    seasonality : apply the yearly volume profile (November-December peak).
    """

    illicit_rate: float = C.ILLICIT_RATE
    pattern_shares: Mapping[str, float] = field(default_factory=lambda: dict(C.PATTERN_SHARES))
    reactions: bool = True
    reaction_probabilities: Mapping[str, float] = field(
        default_factory=lambda: dict(C.REACTION_PROBABILITIES)
    )
    awareness_delay_days: tuple[int, int] = C.AWARENESS_DELAY_DAYS
    takedown_rate_per_day: float = C.TAKEDOWN_RATE_PER_DAY
    takedown_share: float = C.TAKEDOWN_SHARE
    label_noise_rate: float = C.LABEL_NOISE_RATE
    seasonality: bool = True


def _start_us(start: str | date) -> int:
    day = date.fromisoformat(start) if isinstance(start, str) else start
    if isinstance(day, datetime):
        day = day.date()
    return int((day - date(1970, 1, 1)).days) * DAY_US


def volume_profile(start: str | date, days: int, seasonality: bool = True) -> np.ndarray:
    """Relative volume of each day: weekday profile times (optionally) the yearly profile.

    Normalised so that a week in an average month sums to 7.
    """
    first = date.fromisoformat(start) if isinstance(start, str) else start
    dates = pd.date_range(pd.Timestamp(first), periods=days, freq="D")
    week = np.asarray(C.WEEKDAY_PROFILE)[dates.day_of_week] / np.mean(C.WEEKDAY_PROFILE)
    if not seasonality:
        return week
    year = np.asarray(C.YEARLY_PROFILE)[dates.month - 1] / np.mean(C.YEARLY_PROFILE)
    return week * year


class World:
    """A synthetic postal world generated one day at a time (see the module docstring).

    Parameters
    ----------
    seed : the world's seed.
    items_per_day : mean items per day (a week in an average month; the weekday and yearly
        profiles modulate it).
    start : the date of day 0 (UTC).
    config : :class:`WorldConfig` (defaults: documented constants).
    day_counts : exact number of items of each day (overrides ``items_per_day`` for the
        volume; used by :func:`generate_manifest`). Days past its end have no items.
    """

    def __init__(
        self,
        seed: int,
        items_per_day: float = 20_000,
        start: str | date = "2026-01-05",
        config: WorldConfig | None = None,
        *,
        day_counts: Sequence[int] | None = None,
    ) -> None:
        if items_per_day <= 0:
            raise ValueError("items_per_day must be positive")
        self.config = config or WorldConfig()
        unknown = set(self.config.pattern_shares) - set(PATTERN_SPECS)
        if unknown:
            raise ValueError(f"unknown illicit patterns: {sorted(unknown)}")
        self.seed = int(seed)
        self.items_per_day = float(items_per_day)
        self.start = date.fromisoformat(start) if isinstance(start, str) else start
        self._start_us = _start_us(self.start)
        self._day_counts = None if day_counts is None else np.asarray(day_counts, dtype="int64")
        self.ctx = build_context(
            rng_for(seed, _S_CONTEXT), _pools(C.POOL_SEED), self._start_us, self.items_per_day
        )
        self.legit = build_legit(self.ctx, rng_for(seed, _S_LEGIT_POP), self.items_per_day)
        self.actors = Actors.empty()
        self._cohorts = -math.ceil(C.ACTOR_MAX_DAYS / COHORT_DAYS) - 1
        shares = {k: float(v) for k, v in self.config.pattern_shares.items() if v > 0}
        total = sum(shares.values())
        self._shares = {k: v / total for k, v in shares.items()} if total else {}
        self._offsets = dict(
            zip(PATTERNS[1:], hash_uniform(seed, 11, np.arange(len(PATTERNS) - 1)), strict=True)
        )
        self._cum_items = 0
        self._cum_pattern = dict.fromkeys(self._shares, 0)
        self._next_day = 0
        self._drift_done = np.zeros(0, bool)
        self._pending: list[tuple[int, int, int]] = []  # (aware day, sequence, actor)
        self._seq = 0
        self._ident: dict[tuple[int, int, int, int], int] = {}
        self._drops: dict[tuple[int, int, int], np.ndarray] = {}
        self._used_ids: set[str] = set()
        self._days: dict[int, dict[str, np.ndarray | pd.Index]] = {}
        self._seized: set[str] = set()
        self.reactor = Reactor(self.seed, self.config.reaction_probabilities)

    # -- public API ---------------------------------------------------------------------------
    def date(self, day: int) -> date:
        return self.start + pd.Timedelta(days=day).to_pytimedelta()

    def day_count(self, day: int) -> int:
        """Number of items of ``day``."""
        if self._day_counts is not None:
            return int(self._day_counts[day]) if day < len(self._day_counts) else 0
        factor = volume_profile(self.date(day), 1, self.config.seasonality)[0]
        return int(round(self.items_per_day * factor))

    def manifest(self, day: int) -> pd.DataFrame:
        """Day ``day``'s items: manifest columns (schema order), then the truth columns.

        Days must be requested in increasing order (0, 1, 2, ...): the actors' reactions to
        seizures known by then are applied first.
        """
        if day != self._next_day:
            raise ValueError(f"day {day} requested; the next day of this world is {self._next_day}")
        self._next_day += 1
        ctx = self.ctx
        ctx.today = day
        self._ensure_cohorts(day)
        self._scheduled_changes(day)
        self._process_awareness(day)
        n = self.day_count(day)
        counts = self._illicit_counts(n)
        n_legit = n - sum(counts.values())
        blocks = legit_day(ctx, self.legit, self.seed, day, n_legit) if n_legit > 0 else []
        for name, k in counts.items():
            if k > 0:
                p_idx = PATTERNS.index(name)
                d = self._dispatch(name, p_idx, day, k)
                rng = rng_for(self.seed, _S_PATTERN, day, p_idx)
                blocks.append(PATTERN_SPECS[name].func(ctx, rng, d))
        if not blocks:
            return self._empty_frame()
        frame, hidden = assemble(
            ctx, blocks, rng_for(self.seed, _S_ASSEMBLE, day), day, self._used_ids
        )
        self._used_ids.update(frame[M.item_id].tolist())
        m = len(frame)
        u = rng_for(self.seed, _S_FOUND, day).random(m)
        found = found_if_inspected(
            hidden["pattern"], hidden["service"], u, self.config.label_noise_rate
        )
        r = rng_for(self.seed, _S_DELAY, day)
        delay = (DAY_US + r.integers(0, 9 * DAY_US, m)) // US * US
        lo, hi = self.config.awareness_delay_days
        aware = r.integers(lo, hi + 1, m)
        at_us = hidden["ts"] + delay
        self._days[day] = {
            "index": pd.Index(frame[M.item_id]),
            "actor": hidden["actor"],
            "found": found,
            "illicit": hidden["pattern"] > 0,
            "at_us": at_us,
            "aware_day": (at_us - self._start_us) // DAY_US + aware,
            "sender_entity": hidden["sender_entity"],
        }
        truth = pd.DataFrame(
            {
                T.truth_illicit: hidden["pattern"] > 0,
                T.truth_pattern: pd.Series(
                    np.array(PATTERNS, dtype=object)[hidden["pattern"]], dtype="str"
                ),
                T.truth_sender_entity: hidden["sender_entity"],
                T.truth_recipient_entity: hidden["recipient_entity"],
                T.truth_found_if_inspected: found,
            }
        )
        return pd.concat([frame, truth], axis=1)

    def inspect(self, day_frame: pd.DataFrame, inspected: np.ndarray) -> pd.DataFrame:
        """Inspect the rows of ``day_frame`` where ``inspected`` is True.

        Returns ``item_id``, ``inspected_at`` (UTC, 1-10 days after ``declared_at``) and
        ``outcome`` ("seizure" iff the item's ``truth_found_if_inspected``). Seizures of illicit
        items become known to their actors ``awareness_delay_days`` after ``inspected_at`` and
        trigger reactions in the days generated after that. Inspecting an item twice records
        nothing new.
        """
        mask = np.asarray(inspected, dtype=bool)
        if len(mask) != len(day_frame):
            raise ValueError("inspected must have one entry per row of day_frame")
        items = day_frame.loc[mask, M.item_id].astype(str).to_numpy()
        at = np.empty(len(items), dtype="int64")
        found = np.zeros(len(items), bool)
        known = np.zeros(len(items), bool)
        for info in self._days.values():
            pos = info["index"].get_indexer(items)
            hit = pos >= 0
            if not hit.any():
                continue
            known |= hit
            p = pos[hit]
            at[hit] = info["at_us"][p]
            found[hit] = info["found"][p]
            if not self.config.reactions:
                continue
            react = info["found"][p] & info["illicit"][p] & (info["actor"][p] >= 0)
            for j, item in zip(p[react], items[hit][react], strict=True):
                if item in self._seized:
                    continue
                self._seized.add(item)
                heapq.heappush(
                    self._pending, (int(info["aware_day"][j]), self._seq, int(info["actor"][j]))
                )
                self._seq += 1
        if not known.all():
            raise ValueError(f"{int((~known).sum())} inspected items are not items of this world")
        return pd.DataFrame(
            {
                "item_id": pd.Series(items, dtype="str"),
                "inspected_at": pd.to_datetime(at, unit="us", utc=True).astype(
                    "datetime64[us, UTC]"
                ),
                "outcome": pd.Series(np.where(found, "seizure", "no_finding"), dtype="str"),
            }
        )

    def watched(self, day_frame: pd.DataFrame) -> np.ndarray:
        """The legacy unit's watch-list: items of known actors, or of wrongly suspected senders."""
        day = (
            int((day_frame[M.declared_at].iloc[0].value // 1000 - self._start_us) // DAY_US)
            if len(day_frame)
            else 0
        )
        info = self._days[day]
        actor = info["actor"]
        known = np.zeros(len(actor), bool)
        has = actor >= 0
        known[has] = self.actors.intel_known[actor[has]]
        return known | false_leads(self.seed, info["sender_entity"])

    def actor_table(self) -> pd.DataFrame:
        """Every actor created so far with its schedule and current state (truth)."""
        return self.actors.frame()

    def events(self) -> pd.DataFrame:
        """Every change of an actor: day, actor, entity, pattern, cause, kind."""
        return self.reactor.frame(self.actors)

    def reaction_shares(self) -> pd.DataFrame:
        """Realised share of each reaction among known seizures, next to its probability."""
        return self.reactor.shares()

    # -- internals ----------------------------------------------------------------------------
    def _empty_frame(self) -> pd.DataFrame:
        raise ValueError("a day with no items: give a positive volume")

    def _ensure_cohorts(self, day: int) -> None:
        last = day // COHORT_DAYS + 1
        while self._cohorts <= last:
            cohort = make_cohort(
                self.seed, self._cohorts, self.items_per_day * self.config.illicit_rate,
                self._shares,
            )  # fmt: skip
            self.actors.extend(cohort)
            self._drift_done = np.concatenate([self._drift_done, np.zeros(len(cohort), bool)])
            self._cohorts += 1

    def _scheduled_changes(self, day: int) -> None:
        """Drift due by today, and a market takedown if today has one (both exogenous)."""
        a = self.actors
        due = np.flatnonzero(~self._drift_done & (a.drift_day < day + 1))
        for i in due:  # drifts from before day 0 are part of the initial state, not events
            log = bool(a.drift_day[i] >= 0)
            self.reactor.apply(a, int(i), [str(a.drift_kind[i])], day, "drift", log=log)
        self._drift_done[due] = True
        if (
            hash_uniform(self.seed, _S_TAKEDOWN, np.array([day]))[0]
            < self.config.takedown_rate_per_day
        ):
            dn = PATTERNS.index("darknet_vendor")
            active = np.flatnonzero((a.pattern == dn) & (a.begin < day + 1) & (a.end > day))
            k = int(round(self.config.takedown_share * len(active)))
            rng = rng_for(self.seed, _S_TAKEDOWN, day)
            for i in rng.permutation(active)[:k]:
                self.reactor.apply(a, int(i), ["identity_new", "cover"], day, "takedown")

    def _process_awareness(self, day: int) -> None:
        while self._pending and self._pending[0][0] <= day:
            _, _, actor = heapq.heappop(self._pending)
            self.reactor.react(self.actors, actor, day)

    def _illicit_counts(self, n: int) -> dict[str, int]:
        """Today's items per pattern: cumulative rounding keeps every share exact over time."""
        self._cum_items += n
        total = self.config.illicit_rate * self._cum_items
        out = {}
        for name, share in self._shares.items():
            target = int(math.floor(share * total + self._offsets[name]))
            out[name] = max(0, target - self._cum_pattern[name])
            self._cum_pattern[name] = max(self._cum_pattern[name], target)
        excess = sum(out.values()) - n
        for name in sorted(out, key=out.get, reverse=True):  # tiny days: never more than n
            if excess <= 0:
                break
            cut = min(excess, out[name])
            out[name] -= cut
            excess -= cut
        return out

    def _dispatch(self, name: str, p_idx: int, day: int, k: int) -> Dispatch:
        """Allocate ``k`` items of pattern ``name`` to its active actors; resolve their states."""
        a = self.actors
        spec = PATTERN_SPECS[name]
        rng = rng_for(self.seed, _S_ALLOC, day, p_idx)
        mine = np.flatnonzero(a.pattern == p_idx)
        active = mine[(a.begin[mine] < day + 1) & (a.end[mine] > day)]
        if not len(active):
            active = mine
        w = a.rate[active]
        if name == "split_shipment":
            sizes = []
            while sum(sizes) < k:
                sizes.append(int(rng.integers(2, 6)))
            sizes[-1] -= sum(sizes) - k
            g_actor = active[rng.choice(len(active), size=len(sizes), p=w / w.sum())]
            actor = np.repeat(g_actor, sizes)
            group = np.repeat(np.arange(len(sizes)), sizes)
        else:
            actor = active[rng.choice(len(active), size=k, p=w / w.sum())]
            group = np.arange(k)
        u_pick = rng.random(k)
        order = np.argsort(actor, kind="stable")
        rank = np.empty(k, dtype="int64")
        sa = actor[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sa)) + 1]
        rank[order] = np.arange(k) - np.repeat(starts, np.diff(np.r_[starts, k]))
        rot = (a.sent[actor] + rank) // spec.rotate_every
        np.add.at(a.sent, actor, 1)
        sender = np.full(k, -1, dtype="int64")
        drop = np.full(k, -1, dtype="int64")
        # one lookup per (actor, rotation): identities and drops are cached per key
        pairs, inv = np.unique(np.stack([actor, rot], axis=1), axis=0, return_inverse=True)
        inv = inv.ravel()
        if spec.side == "sender":
            rows = np.array([self._identity(int(x), int(r)) for x, r in pairs], dtype="int64")
            sender = rows[inv]
        else:
            sets = [self._drop(int(x), int(r)) for x, r in pairs]
            size = np.array([len(r) for r in sets])[inv]
            first = np.array([r[0] for r in sets])[inv]  # a drop's rows are contiguous
            drop = first + (u_pick * size).astype("int64")
        return Dispatch(
            actor=actor, entity=a.entity(actor), origin=a.origin[actor].astype(object),
            cover=a.cover[actor].astype(object), sender=sender, drop=drop, group=group,
            identity=a.gen[actor] * 7919 + rot,
        )  # fmt: skip

    def _identity(self, actor: int, rot: int) -> int:
        """Sender row of ``actor``'s current identity (generation, variation) for rotation ``rot``."""
        a = self.actors
        gen, variant = int(a.gen[actor]), int(a.variant[actor])
        key = (actor, gen, variant, rot)
        row = self._ident.get(key)
        if row is not None:
            return row
        spec = PATTERN_SPECS[PATTERNS[int(a.pattern[actor])]]
        rng = rng_for(self.seed, _S_IDENT, actor, gen, rot)
        country = np.array([a.country[actor]], dtype=object)
        people = _people(self.ctx.pools, country, rng, company=1.0 if a.company[actor] else 0.0)
        if rng.random() < spec.postcode_mismatch:
            fmt = _MISMATCH_FORMATS[int(rng.integers(0, len(_MISMATCH_FORMATS)))]
            fmt = "NL" if fmt == country[0] else fmt
            people["postcode"] = _postcodes(str(fmt), 1, rng)
        if variant:
            r2 = rng_for(self.seed, _S_VARIANT, actor, gen, rot, variant)
            people["name"][0] = _name_variants(str(people["name"][0]), r2, 2)[-1]
            if r2.random() < 0.5:
                people["address"][0] = _name_variants(str(people["address"][0]), r2, 2)[-1]
        row = int(self.ctx.senders.add(people, a.entity(np.array([actor])))[0])
        self._ident[key] = row
        return row

    def _drop(self, actor: int, rot: int) -> np.ndarray:
        """Recipient rows (3-7 names with variants) at ``actor``'s current drop or locker.

        A drop is burnt after ``rotate_every`` items (rotation ``rot``) or when the actor
        reacts (``drop_gen``); then the actor moves to another address.
        """
        a = self.actors
        gen = int(a.drop_gen[actor])
        key = (actor, gen, rot)
        rows = self._drops.get(key)
        if rows is not None:
            return rows
        rng = rng_for(self.seed, _S_DROP, actor, gen, rot)
        country = str(a.country[actor])
        k = int(rng.integers(3, 8))
        names = _people(self.ctx.pools, np.full(k, country, dtype=object), rng)["name"]
        names = np.array([v for nm in names for v in _name_variants(str(nm), rng, 2)], dtype=object)
        m = len(names)
        lk = self.ctx.lockers
        at_locker = np.flatnonzero(lk["country"] == country) if len(lk) else np.zeros(0, int)
        if PATTERNS[int(a.pattern[actor])] == "parcel_locker" and len(at_locker):
            j = at_locker[int(rng.integers(0, len(at_locker)))]
            home = {c: lk[c][j] for c in ("address", "city", "postcode")}
        else:
            h = _people(self.ctx.pools, np.array([country], dtype=object), rng)
            home = {c: h[c][0] for c in ("address", "city", "postcode")}
        phone, email = _contacts(names, np.full(m, country, dtype=object), rng, 0.6, 0.5)
        rows = self.ctx.recipients.add(
            {
                "name": names,
                **{c: np.full(m, v, dtype=object) for c, v in home.items()},
                "country": np.full(m, country, dtype=object),
                "phone": phone,
                "email": email,
            },
            np.full(m, a.entity(np.array([actor]))[0]),
        )
        self._drops[key] = rows
        return rows


def _day_counts(
    rows: int, start: str | date, days: int, day_weights: Sequence[float] | None, season: bool
) -> np.ndarray:
    profile = volume_profile(start, days, season)
    if day_weights is not None:
        if len(day_weights) != days:
            raise ValueError(f"day_weights has {len(day_weights)} entries for {days} days")
        profile = profile * np.asarray(day_weights, dtype="float64")
    return apportion(rows, profile)


def legacy_run(
    rows: int,
    seed: int = 0,
    start: str | date = "2026-01-05",
    days: int = 28,
    *,
    labels: bool = True,
    truth: bool = True,
    illicit_rate: float = C.ILLICIT_RATE,
    pattern_shares: Mapping[str, float] | None = None,
    day_weights: Sequence[float] | None = None,
    policy_path: str | Path | None = None,
    config: WorldConfig | None = None,
) -> tuple[pd.DataFrame, World]:
    """:func:`generate_manifest` and the :class:`World` it ran (actor table, reaction log).

    One :class:`World` run day by day, inspected by the legacy policy
    (``features/legacy_targeting_rules.yaml``) whose seizures the actors react to.

    Parameters
    ----------
    rows : number of items (exact), spread over the days by the weekday and yearly profiles.
    seed : random seed; the same seed gives the same frame (and the same file bytes).
    start, days : first day (``YYYY-MM-DD`` or a date) and number of days.
    labels : add the inspection columns (:class:`~parcelrisk.schema.LabelSchema`), including
        ``selection_propensity``, the exact probability that the legacy policy inspected the item.
    truth : add the truth columns (:class:`~parcelrisk.schema.TruthSchema`; evaluation only).
    illicit_rate, pattern_shares : prevalence and pattern mix (defaults: the constants).
    day_weights : relative volume of each day (multiplies the volume profile).
    policy_path : legacy targeting policy (default ``features/legacy_targeting_rules.yaml``).
    config : other world parameters (:class:`WorldConfig`).

    Returns
    -------
    DataFrame sorted by ``declared_at``, manifest columns in schema order, then label and truth
    columns. The legacy inspections run whether or not ``labels`` is set, so the manifest
    columns are the same with or without labels and truth.
    """
    if rows < 1 or days < 1:
        raise ValueError("rows and days must be positive")
    cfg = config or WorldConfig()
    cfg = replace(
        cfg,
        illicit_rate=illicit_rate,
        pattern_shares=dict(C.PATTERN_SHARES if pattern_shares is None else pattern_shares),
    )
    counts = _day_counts(rows, start, days, day_weights, cfg.seasonality)
    world = World(seed, items_per_day=rows / days, start=start, config=cfg, day_counts=counts)
    policy = load_legacy_policy(policy_path)
    parts = []
    for day in range(days):
        if counts[day] == 0:
            continue
        world._next_day = day  # empty days are skipped, not generated
        frame = world.manifest(day)
        source, propensity = legacy_selection(
            frame, world.watched(frame), policy, rng_for(seed, _S_LABELS, day)
        )
        inspected = source != None  # noqa: E711
        res = world.inspect(frame, inspected)
        at = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
        outcome = pd.Series(None, index=frame.index, dtype="str")
        at[inspected] = res["inspected_at"].to_numpy()
        outcome[inspected] = res["outcome"].to_numpy()
        label = pd.DataFrame(
            {
                L.inspected: inspected,
                L.selection_source: pd.Series(source, dtype="str"),
                L.inspected_at: at,
                L.outcome: outcome,
                L.selection_propensity: propensity,
            },
            index=frame.index,
        )
        parts.append(pd.concat([frame, label], axis=1))
    df = pd.concat(parts, ignore_index=True)
    keep = [*MANIFEST_COLUMNS]
    if labels:
        keep += LABEL_COLUMNS
    if truth:
        keep += TRUTH_COLUMNS
    return df[keep], world


def generate_manifest(
    rows: int,
    seed: int = 0,
    start: str | date = "2026-01-05",
    days: int = 28,
    *,
    labels: bool = True,
    truth: bool = True,
    illicit_rate: float = C.ILLICIT_RATE,
    pattern_shares: Mapping[str, float] | None = None,
    day_weights: Sequence[float] | None = None,
    policy_path: str | Path | None = None,
    config: WorldConfig | None = None,
) -> pd.DataFrame:
    """A synthetic manifest of ``rows`` items over ``days`` days from ``start`` (UTC).

    The frame of :func:`legacy_run` (same parameters, documented there): one :class:`World`
    run day by day, inspected by the legacy policy whose seizures the actors react to.
    ``legacy_run`` also returns the world, for its actor table and reaction log.
    """
    frame, _ = legacy_run(
        rows, seed, start, days, labels=labels, truth=truth, illicit_rate=illicit_rate,
        pattern_shares=pattern_shares, day_weights=day_weights, policy_path=policy_path,
        config=config,
    )  # fmt: skip
    return frame
