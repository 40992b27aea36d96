"""Blocks of generated rows (column arrays) and the goods, currency and party draws they share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from parcelrisk.synthetic._util import template
from parcelrisk.synthetic.constants import PATTERN_SHARES
from parcelrisk.synthetic.context import GenerationContext
from parcelrisk.synthetic.vocabulary import GOODS

#: Truth pattern names; index 0 is legitimate traffic.
PATTERNS: tuple[str, ...] = ("legit", *PATTERN_SHARES)

#: Local currency of each sender country; countries not listed declare in USD.
COUNTRY_CURRENCY: dict[str, str] = {
    "CN": "CNY", "HK": "HKD", "US": "USD", "GB": "GBP", "JP": "JPY", "CH": "CHF", "CA": "CAD",
    "AU": "AUD", "IN": "INR", "PK": "PKR", "SG": "SGD", "TR": "TRY", "KR": "KRW", "TH": "THB",
    "BR": "BRL", "MX": "MXN", "NO": "NOK",
}  # fmt: skip

BLOCK_KEYS = (
    "ts", "sender", "recipient", "origin", "desc", "hs", "value_eur", "weight", "qty",
    "category", "express", "service", "currency", "pattern", "actor", "s_entity", "r_entity",
)  # fmt: skip


def block(n: int, pattern: str, **cols: Any) -> dict[str, np.ndarray]:
    """A block of ``n`` rows; scalars are broadcast, missing optional columns default.

    ``actor`` is the index of the illicit actor behind the row (-1 for legitimate rows);
    ``s_entity``/``r_entity`` override the truth entity of the sender/recipient party (-1: the
    party's own entity).
    """
    out: dict[str, np.ndarray] = {}
    defaults: dict[str, Any] = {
        "hs": None, "service": None, "currency": None, "express": False, "qty": 1.0,
        "actor": -1, "s_entity": -1, "r_entity": -1,
    }  # fmt: skip
    for key in BLOCK_KEYS:
        if key == "pattern":
            out[key] = np.full(n, PATTERNS.index(pattern), dtype="int8")
            continue
        val = cols.get(key, defaults.get(key))
        arr = (
            np.asarray(val)
            if not np.isscalar(val) and val is not None
            else np.full(n, val, dtype=object)
        )
        if arr.shape == ():
            arr = np.full(n, arr.item())
        out[key] = arr
    for key in ("sender", "recipient", "actor", "s_entity", "r_entity"):
        out[key] = out[key].astype("int64")
    out["express"] = out["express"].astype(bool)
    return out


def draw_goods(
    ctx: GenerationContext, rng: np.random.Generator, kinds: np.ndarray, origins: np.ndarray
) -> dict[str, np.ndarray]:
    """Description, HS code (6-10 digits), value (EUR), weight (kg), quantity per goods type.

    A fixed number of draws per item (then indexed by type), so changing one item's type does
    not move any other item's goods.
    """
    n = len(kinds)
    kinds = np.asarray(kinds, dtype=object)
    desc = ctx.vocab.describe(kinds, origins, rng)
    u_hs, u_q, u_ext = rng.random(n), rng.random(n), rng.random(n)
    z_v, z_w = rng.standard_normal(n), rng.standard_normal(n)
    hs = np.empty(n, dtype=object)
    value = np.empty(n)
    weight = np.empty(n)
    qty = np.empty(n)
    for kind in np.unique(kinds):
        sel = np.flatnonzero(kinds == kind)
        g = GOODS[kind]
        hs[sel] = np.array(g.hs, dtype=object)[(u_hs[sel] * len(g.hs)).astype(int)]
        value[sel] = g.value_eur[0] * np.exp(g.value_eur[1] * z_v[sel])
        weight[sel] = g.weight_kg[0] * np.exp(g.weight_kg[1] * z_w[sel])
        qty[sel] = 1 + (u_q[sel] * g.max_qty).astype(int)
    # national tariff subdivisions (8 or 10 digits) for some
    short = np.fromiter((len(h) == 6 for h in hs), bool, n)
    suffix = template("####", n, rng)
    hs = np.where(short & (u_ext < 0.2), hs + "00", hs)
    hs = np.where(short & (u_ext > 0.9), hs + suffix, hs)
    return {"desc": desc, "hs": hs, "value_eur": value, "weight": weight, "qty": qty}


def currency(rng: np.random.Generator, countries: np.ndarray, usd: float, eur: float) -> np.ndarray:
    """Declared currency: USD (marketplaces), EUR (IOSS sellers) or the sender's local currency."""
    n = len(countries)
    local = np.array([COUNTRY_CURRENCY.get(c, "USD") for c in countries], dtype=object)
    u = rng.random(n)
    return np.where(u < usd, "USD", np.where(u < usd + eur, "EUR", local)).astype(object)


def mix_kinds(rng: np.random.Generator, shares: Mapping[str, float], n: int) -> np.ndarray:
    keys = np.array(list(shares), dtype=object)
    p = np.array(list(shares.values()), dtype="float64")
    cdf = np.cumsum(p / p.sum())
    return keys[np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(keys) - 1)]
