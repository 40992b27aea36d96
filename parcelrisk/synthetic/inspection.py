"""Inspection: what an opened item shows, and the legacy unit's selection (labels).

* :func:`found_if_inspected` is the potential outcome of each item, drawn with common random
  numbers when the day is generated: detection depends on the pattern's concealment and on the
  service (:data:`~parcelrisk.synthetic.constants.CONCEALMENT_FACTOR`,
  :data:`~parcelrisk.synthetic.constants.SERVICE_DETECTION`), and a small share of legitimate
  items is recorded as a seizure of other contraband (label noise,
  :data:`~parcelrisk.synthetic.constants.LABEL_NOISE_RATE`).
* :func:`legacy_selection` is the legacy policy of ``features/legacy_targeting_rules.yaml``:
  rules with per-rule probabilities, officer discretion, a random control sample and an
  intelligence watch-list; it returns the selection source and the exact probability that the
  policy inspected each item (``selection_propensity``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from parcelrisk.legacy_rules import LegacyPolicy, legacy_rule_hits
from parcelrisk.synthetic import constants as C
from parcelrisk.synthetic._util import hash_uniform
from parcelrisk.synthetic.blocks import PATTERNS


def detection_probability(pattern: np.ndarray, service: np.ndarray) -> np.ndarray:
    """Probability that inspecting an illicit item finds the contraband (0 for legit rows)."""
    conceal = np.array([0.0] + [C.CONCEALMENT_FACTOR[p] for p in PATTERNS[1:]])[pattern]
    svc = pd.Series(service).map(C.SERVICE_DETECTION).fillna(1.0).to_numpy()
    return np.clip(C.DETECTION_BASE * conceal * svc, 0.0, 1.0)


def found_if_inspected(
    pattern: np.ndarray, service: np.ndarray, u: np.ndarray, label_noise: float
) -> np.ndarray:
    """Whether an inspection would record a seizure, from uniforms ``u`` (one per item)."""
    illicit = pattern > 0
    p = np.where(illicit, detection_probability(pattern, service), label_noise)
    return u < p


def legacy_selection(
    frame: pd.DataFrame,
    watched: np.ndarray,
    policy: LegacyPolicy,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Selection source (None when not inspected) and exact selection propensity per item.

    An item is inspected if any of these independent draws succeeds: each firing rule with its
    probability, officer discretion, the random control sample, and (for watched entities) the
    intelligence inspection probability. The recorded source follows the priority
    random > intelligence > rule > officer.
    """
    n = len(frame)
    if policy.rules:
        hits = legacy_rule_hits(frame, policy.rules).to_numpy()
        probs = np.array([r.probability for r in policy.rules])
        rule = (hits & (rng.random(hits.shape) < probs)).any(axis=1)
        miss_rules = np.prod(np.where(hits, 1.0 - probs, 1.0), axis=1)
    else:
        rule = np.zeros(n, bool)
        miss_rules = np.ones(n)
    officer = rng.random(n) < policy.officer_discretion_rate
    random_ctl = rng.random(n) < policy.random_control_rate
    p_intel = np.where(watched, C.INTELLIGENCE["inspect_p"], 0.0)
    intel = rng.random(n) < p_intel
    source = np.full(n, None, dtype=object)
    for name, sel in (("officer", officer), ("rule", rule), ("intelligence", intel),
                      ("random", random_ctl)):  # fmt: skip
        source[sel] = name
    propensity = 1.0 - (
        miss_rules
        * (1.0 - policy.officer_discretion_rate)
        * (1.0 - policy.random_control_rate)
        * (1.0 - p_intel)
    )
    return source, propensity


def false_leads(seed: int, entities: np.ndarray) -> np.ndarray:
    """Legitimate entities wrongly on the watch-list (a fixed share, per entity)."""
    return hash_uniform(seed, 501, entities) < C.INTELLIGENCE["false_share"]
