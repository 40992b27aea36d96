"""How actors change: scheduled drift, market takedowns and reactions to known seizures.

Reactions are decided per known seizure with a low-discrepancy (golden-ratio) sequence per
reaction type, so the realised share of each reaction among the seizures an actor learned of
matches :data:`~parcelrisk.synthetic.constants.REACTION_PROBABILITIES` within one event.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from parcelrisk.synthetic._util import hash_uniform, mix, rng_for
from parcelrisk.synthetic.blocks import PATTERNS
from parcelrisk.synthetic.patterns import PATTERN_SPECS
from parcelrisk.synthetic.population import Actors

_PHI = (np.sqrt(5.0) - 1.0) / 2.0
#: Reaction types by the side the actor is on.
SENDER_REACTIONS = ("identity", "cover", "origin")
RECIPIENT_REACTIONS = ("drop",)


class Reactor:
    """Applies changes to actors and keeps the log of every change (the world's truth)."""

    def __init__(self, seed: int, probabilities: Mapping[str, float]) -> None:
        self.seed = seed
        self.p = dict(probabilities)
        kinds = ("identity", "cover", "origin", "drop")
        self.offset = dict(zip(kinds, hash_uniform(seed, 401, np.arange(4)), strict=True))
        self.count = dict.fromkeys(kinds, 0)
        self.events: list[tuple[int, int, str, str, str]] = []  # day, actor, pattern, cause, kind
        self.known: list[tuple[int, int, str, str]] = []  # day, actor, pattern, side

    def _next(self, kind: str) -> float:
        j = self.count[kind]
        self.count[kind] = j + 1
        return float((self.offset[kind] + _PHI * j) % 1.0)

    def react(self, actors: Actors, a: int, day: int) -> list[str]:
        """One known seizure of actor ``a``: decide and apply its reactions."""
        spec = PATTERN_SPECS[PATTERNS[int(actors.pattern[a])]]
        done: list[str] = []
        if spec.side == "recipient":
            if self._next("drop") < self.p["drop"]:
                done.append("drop")
        else:
            s = self._next("identity")
            if s < self.p["identity_new"]:
                done.append("identity_new")
            elif s < self.p["identity_new"] + self.p["identity_variation"]:
                done.append("identity_variation")
            if self._next("cover") < self.p["cover"]:
                done.append("cover")
            if self._next("origin") < self.p["origin"]:
                done.append("origin")
        self.known.append((day, a, spec_name(actors, a), spec.side))
        self.apply(actors, a, done, day, "seizure")
        return done

    def apply(self, actors: Actors, a: int, kinds: list[str], day: int, cause: str) -> None:
        """Change actor ``a``'s state; each change draws from a stream of its own."""
        spec = PATTERN_SPECS[PATTERNS[int(actors.pattern[a])]]
        n_changes = len(self.events)
        rng = rng_for(self.seed, 402, a, day, n_changes)
        for kind in kinds:
            if kind == "identity_new":
                actors.gen[a] += 1
                actors.variant[a] = 0
            elif kind == "identity_variation":
                actors.variant[a] += 1
            elif kind == "cover":
                actors.cover[a] = _other(rng, spec.covers, actors.cover[a])
            elif kind == "origin":
                actors.origin[a] = _other(rng, spec.origins, actors.origin[a])
                if spec.identity_countries is None:
                    actors.country[a] = actors.origin[a]
                actors.gen[a] += 1
                actors.variant[a] = 0
            elif kind == "drop":
                actors.drop_gen[a] += 1
            self.events.append((day, a, spec_name(actors, a), cause, kind))

    def shares(self) -> pd.DataFrame:
        """Realised share of each reaction among the known seizures it applies to."""
        known = pd.DataFrame(self.known, columns=["day", "actor", "pattern", "side"])
        ev = pd.DataFrame(self.events, columns=["day", "actor", "pattern", "cause", "kind"])
        ev = ev[ev["cause"] == "seizure"]
        rows = []
        for kind, p in self.p.items():
            side = "recipient" if kind == "drop" else "sender"
            n = int((known["side"] == side).sum())
            k = int((ev["kind"] == kind).sum())
            rows.append(
                {
                    "reaction": kind,
                    "probability": p,
                    "known_seizures": n,
                    "reacted": k,
                    "realised_share": k / n if n else float("nan"),
                }
            )
        return pd.DataFrame(rows)

    def frame(self, actors: Actors) -> pd.DataFrame:
        out = pd.DataFrame(self.events, columns=["day", "actor", "pattern", "cause", "kind"])
        out.insert(2, "entity", actors.entity(out["actor"].to_numpy(dtype="int64")))
        return out


def spec_name(actors: Actors, a: int) -> str:
    return PATTERNS[int(actors.pattern[a])]


def _other(rng: np.random.Generator, shares: Mapping[str, float], current: object) -> object:
    options = {k: v for k, v in shares.items() if k != current}
    return mix(rng, options or shares, 1)[0]
