"""Stand-ins for ``parcelrisk.synthetic.World`` and ``parcelrisk.estimation``, used ONLY when
those modules are not importable (they are built on other branches and merged later).

Delete this file once both exist: :mod:`parcelrisk.simulate` imports the real
ones first and touches nothing here but the names of the shared interface.

* :class:`World` slices today's :func:`~parcelrisk.synthetic.generate_manifest`
  into days (blocks of :data:`BLOCK_DAYS` generated at a time). Detection is a
  seeded per-item draw (:data:`DETECTION`), with no label noise; actors never
  react to seizures.
* :func:`hit_rate`, :func:`leakage`, :func:`recall`: Horvitz-Thompson estimates
  from the control sample, stratified by day, with Wilson intervals.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["World", "Estimate", "hit_rate", "leakage", "recall"]

#: Days generated at once (entities persist within a block only).
BLOCK_DAYS = 28
#: Probability that inspecting an illicit item records a seizure (no false seizures here).
DETECTION = 0.85
_DAY = pd.Timedelta(days=1)


def _draw(item_ids: pd.Series, seed: int, salt: str) -> np.ndarray:
    """A uniform draw per item that depends on seed and item_id only (common random numbers)."""
    salted = (f"{seed}:{salt}:" + item_ids.astype("str")).rename(None)
    hashed = pd.util.hash_pandas_object(salted, index=False, hash_key="parcelrisk-world").to_numpy()
    return (hashed >> np.uint64(11)).astype("float64") / float(1 << 53)


@lru_cache(maxsize=2)
def _block(seed: int, items_per_day: int, start: date, block: int) -> pd.DataFrame:
    """Days ``block * BLOCK_DAYS`` onwards (cached: worlds without reactions are all the same)."""
    from parcelrisk.synthetic import generate_manifest

    frame = generate_manifest(
        items_per_day * BLOCK_DAYS,
        seed=seed * 1_000 + block,
        start=start + timedelta(days=block * BLOCK_DAYS),
        days=BLOCK_DAYS,
        labels=False,
        truth=True,
    )
    detect = _draw(frame["item_id"], seed, "detect") < DETECTION
    frame["truth_found_if_inspected"] = frame["truth_illicit"].to_numpy() & detect
    return frame


class World:
    """Per-day manifests with truth, from the static generator (no reactions)."""

    def __init__(
        self, seed: int, items_per_day: int, start: str = "2026-01-05", config: Any = None
    ) -> None:
        self.seed = int(seed)
        self.items_per_day = int(items_per_day)
        self.start = date.fromisoformat(str(start))
        self._block: tuple[int, pd.DataFrame] | None = None
        self.seized: list[str] = []

    def manifest(self, day: int) -> pd.DataFrame:
        block = day // BLOCK_DAYS
        if self._block is None or self._block[0] != block:
            self._block = (block, _block(self.seed, self.items_per_day, self.start, block))
        frame = self._block[1]
        lo = pd.Timestamp(self.start + timedelta(days=day), tz="UTC")
        when = frame["declared_at"]
        return frame[(when >= lo) & (when < lo + _DAY)].reset_index(drop=True)

    def inspect(self, day_frame: pd.DataFrame, inspected: np.ndarray) -> pd.DataFrame:
        rows = day_frame[np.asarray(inspected, dtype=bool)]
        delay_us = 1 + np.floor(_draw(rows["item_id"], self.seed, "delay") * 9 * 86_400e6)
        at = rows["declared_at"] + pd.to_timedelta(86_400_000_000 + delay_us, unit="us")
        found = rows["truth_found_if_inspected"].to_numpy(dtype=bool)
        self.seized += rows["item_id"][found].tolist()
        return pd.DataFrame(
            {
                "item_id": rows["item_id"].to_numpy(),
                "inspected_at": at.dt.floor("s").to_numpy(),
                "outcome": np.where(found, "seizure", "no_finding"),
            }
        ).astype({"inspected_at": "datetime64[us, UTC]"})


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float
    n: int
    method: str

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def _wilson(hits: float, n: float, z: float = 1.96) -> tuple[float, float]:
    if n <= 0:
        return (0.0, 1.0)
    p = hits / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(p * (1 - p), 0.0) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def hit_rate(log: pd.DataFrame, reason: str | None = "model") -> Estimate:
    chosen = log["selected"].astype(bool)
    if reason is not None:
        chosen &= log["selection_reason"].eq(reason).fillna(False)
    known = chosen & log["outcome"].notna()
    n = int(known.sum())
    hits = int(log["outcome"][known].eq("seizure").sum())
    low, high = _wilson(hits, n)
    return Estimate(hits / n if n else float("nan"), low, high, n, "observed (Wilson)")


def leakage(log: pd.DataFrame) -> Estimate:
    """Share of finds-if-inspected the selection missed, from the control draw of each day.

    Per day, the items not taken by the model/watch-list are a population from
    which the control is a simple random sample (``selection_propensity``); the
    non-selected finds are estimated as (eligible - control) x control hit rate,
    the selected finds are counted. The interval maps a Wilson interval of the
    pooled (weighted) control hit rate through the same formula, so it stays
    open when the control has no hit.
    """
    frame = log.assign(
        _y=log["outcome"].eq("seizure").fillna(False).astype(float),
        _ctl=log["selection_reason"].eq("control").fillna(False) & log["outcome"].notna(),
        _sel=log["selected"].astype(bool),
        _targeted=log["selection_reason"].isin(["model", "watchlist"]).fillna(False),
    )
    found_selected = float(frame["_y"][frame["_sel"]].sum())
    days = frame.groupby("day", sort=True)
    eligible = days["_targeted"].apply(lambda s: int((~s).sum()))
    ctl_n = days["_ctl"].sum()
    ctl_hits = frame[frame["_ctl"]].groupby("day")["_y"].sum().reindex(eligible.index, fill_value=0)
    unselected = (eligible - ctl_n).clip(lower=0)
    usable = ctl_n > 0
    weight = unselected[usable].astype(float)
    if weight.sum() == 0:
        return Estimate(0.0, 0.0, 0.0, int(ctl_n.sum()), "horvitz-thompson (no unselected items)")
    rate = ctl_hits[usable] / ctl_n[usable]
    pooled = float((weight * rate).sum() / weight.sum())
    n = int(ctl_n[usable].sum())
    low_r, high_r = _wilson(pooled * n, n)
    total_unselected = float(unselected.sum())

    def share(r: float) -> float:
        missed = r * total_unselected
        return missed / (missed + found_selected) if missed + found_selected > 0 else 0.0

    return Estimate(
        share(pooled),
        share(low_r),
        share(high_r),
        n,
        "horvitz-thompson (control, stratified by day; Wilson on the pooled rate)",
    )


def recall(log: pd.DataFrame) -> Estimate:
    leak = leakage(log)
    return Estimate(1 - leak.value, 1 - leak.high, 1 - leak.low, leak.n, leak.method)
