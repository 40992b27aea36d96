"""A champion/challenger trial with exact propensities: some days the challenger selects.

``promote`` judges a challenger on logs the champion made. There, the items
only the challenger would pick were opened only through the random control
draw (propensity ~ control slots / items, weights near 1,000), so the paired
difference is too uncertain to promote anything: in the 12-week simulation,
30 of 30 challengers were refused while 25 of them were better on truth.

A trial buys evidence at a known price. On each trial day a seeded coin gives
the whole day to the challenger with probability ``share``, otherwise to the
champion; both run the same selection code (capacity, control draw). The coin
is drawn before anything about the day is seen, and both models' selections
are computed for every day, so every item's inspection probability is exact:

    p(item) = share * p_challenger(item) + (1 - share) * p_champion(item)

where ``p_x`` is 1 for the items model ``x`` targets and the control draw's
slots / eligible items for the rest. The challenger's picks now have
propensity at least ``share`` on every day, whichever model ran, and so do
the champion's at least ``1 - share``: the paired difference on the trial
days is an ordinary IPS comparison with weights of a few units, and the
challenger days are its realised on-policy result.

>>> challenger_day(seed=1, day="2026-01-05", share=0.0), challenger_day(1, "2026-01-05", 1.0)
(False, True)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from parcelrisk.errors import ConfigError
from parcelrisk.scoring import ScoreOptions, Selection, _uniform, select_positions

__all__ = ["challenger_day", "trial_selection", "TrialSelection"]


def _day_uniform(seed: int, day: str) -> float:
    """A uniform draw in [0, 1) from (seed, day) only: the coin exists before the day's items."""
    digest = hashlib.sha256(f"parcelrisk-trial1:{seed}:{day}".encode()).digest()
    return int.from_bytes(digest[:7], "big") / float(1 << 56)


def challenger_day(seed: int, day: str, share: float) -> bool:
    """Whether the challenger selects on ``day`` (a seeded coin with probability ``share``)."""
    if not 0 <= share <= 1:
        raise ConfigError("the challenger's trial share must be between 0 and 1")
    return _day_uniform(seed, day) < share


@dataclass(frozen=True)
class TrialSelection:
    """The day's realised selection and the exact propensities of the randomised design."""

    selection: Selection  # the model that ran: its codes and ranks, the mixed propensities
    challenger_ran: bool
    share: float


def trial_selection(
    champion_margin: np.ndarray,
    challenger_margin: np.ndarray,
    item_ids: pd.Series,
    watchlisted: np.ndarray,
    options: ScoreOptions,
    *,
    day: str,
    share: float,
) -> TrialSelection:
    """One trial day: who selects (the coin), what is selected, every item's exact propensity.

    Both selections use the same control draw (:func:`~parcelrisk.scoring._uniform`
    of the item_ids and ``options.seed``), so the day is reproducible from its
    inputs, as every ``parcelrisk score`` run is.
    """
    draw = _uniform(item_ids, options.seed)
    champ = select_positions(champion_margin, item_ids, watchlisted, draw, options)
    chal = select_positions(challenger_margin, item_ids, watchlisted, draw, options)
    ran = challenger_day(options.seed, day, share)
    propensity = share * chal.propensity + (1.0 - share) * champ.propensity
    realised = chal if ran else champ
    return TrialSelection(Selection(realised.code, propensity, realised.rank), ran, share)
