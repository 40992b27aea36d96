"""What a modus operandi function receives: the day's items of its actors, states resolved."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from parcelrisk.synthetic.blocks import mix_kinds
from parcelrisk.synthetic.context import GenerationContext


@dataclass
class Dispatch:
    """The items one pattern sends today, one entry per item.

    actor : index of the actor in the world's actor table; entity : its truth entity.
    origin : current origin country; cover : goods type of the current cover story.
    sender : sender identity row (sender-side actors), else -1.
    drop : recipient row at the actor's drop address or locker (recipient-side actors), else -1.
    group : split-shipment group per item (items of a group share sender, recipient, weight).
    identity : a number naming the actor's identity of the item (generation, rotation), the
    same in every world with the same seed.
    """

    actor: np.ndarray
    entity: np.ndarray
    origin: np.ndarray
    cover: np.ndarray
    sender: np.ndarray
    drop: np.ndarray
    group: np.ndarray
    identity: np.ndarray

    @property
    def n(self) -> int:
        return len(self.actor)


PatternFunc = Callable[..., dict[str, np.ndarray]]


@dataclass(frozen=True)
class PatternSpec:
    """How a pattern's actors look: which side acts, where from, which covers, how many items.

    side : "sender" (the actor is the shipper) or "recipient" (a drop receiving from one-off
    senders). origins : mix of the actors' origin (or, for recipient-side actors, of the
    recipient country). covers : mix of cover goods types. volume_median : median items an actor
    ever sends. rotate_every : items sent under one identity before the actor moves to the next
    (1: a fresh sender name on every item). company : share of identities that are companies.
    identity_countries : where the identity lives when it differs from the origin (reshipping).
    """

    func: PatternFunc
    side: str
    origins: Mapping[str, float]
    covers: Mapping[str, float]
    volume_median: float = 2.5
    rotate_every: int = 12
    company: float = 0.3
    postcode_mismatch: float = 0.1
    identity_countries: Mapping[str, float] | None = None


def cover_kinds(rng: np.random.Generator, covers: Mapping[str, float], n: int) -> np.ndarray:
    return mix_kinds(rng, covers, n)


__all__ = ["Dispatch", "PatternSpec", "PatternFunc", "GenerationContext", "cover_kinds"]
