"""How actors change: scheduled drift, market takedowns and reactions to known seizures.

Reactions are decided per known seizure by sequential quota apportionment per reaction type
so the realised share of each reaction among the seizures actors
learned of matches :data:`~parcelrisk.synthetic.constants.REACTION_PROBABILITIES` within one
event.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from parcelrisk.synthetic._util import mix, rng_for
from parcelrisk.synthetic.blocks import PATTERNS
from parcelrisk.synthetic.patterns import PATTERN_SPECS
from parcelrisk.synthetic.population import Actors

#: Reaction types by the side the actor is on.
SENDER_REACTIONS = ("identity", "cover", "origin")
RECIPIENT_REACTIONS = ("drop",)


class Reactor:
    """Applies changes to actors and keeps the log of every change (the world's truth)."""

    def __init__(self, seed: int, probabilities: Mapping[str, float]) -> None:
        self.seed = seed
        self.p = dict(probabilities)
        kinds = ("identity", "cover", "origin", "drop")
        self.count = dict.fromkeys(kinds, 0)
        self.chosen: dict[str, dict[str, int]] = {}
        self.events: list[tuple[int, int, str, str, str]] = []  # day, actor, pattern, cause, kind
        self.known: list[tuple[int, int, str, str]] = []  # day, actor, pattern, side

    def _quota(self, kind: str, options: dict[str, float]) -> str | None:
        """The option of the ``kind`` stream with the largest deficit against its quota.

        Sequential quota apportionment: after ``m`` events every option has been chosen
        within one event of ``p x m`` times (options not chosen make up the rest).
        """
        j = self.count[kind] + 1
        self.count[kind] = j
        counts = self.chosen.setdefault(kind, dict.fromkeys(options, 0))
        rest = 1.0 - sum(options.values())
        best, gap = None, rest * j - (j - 1 - sum(counts.values()))
        for name, p in options.items():
            d = p * j - counts[name]
            if d > gap:
                best, gap = name, d
        if best is not None:
            counts[best] += 1
        return best

    def react(self, actors: Actors, a: int, day: int) -> list[str]:
        """One known seizure of actor ``a``: decide and apply its reactions."""
        spec = PATTERN_SPECS[PATTERNS[int(actors.pattern[a])]]
        done: list[str] = []
        if spec.side == "recipient":
            if self._quota("drop", {"drop": self.p["drop"]}):
                done.append("drop")
        else:
            ident = self._quota(
                "identity",
                {k: self.p[k] for k in ("identity_new", "identity_variation")},
            )
            if ident:
                done.append(ident)
            for kind in ("cover", "origin"):
                if self._quota(kind, {kind: self.p[kind]}):
                    done.append(kind)
        self.known.append((day, a, spec_name(actors, a), spec.side))
        self.apply(actors, a, done, day, "seizure")
        return done

    def apply(
        self, actors: Actors, a: int, kinds: list[str], day: int, cause: str, log: bool = True
    ) -> None:
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
            if log:
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
