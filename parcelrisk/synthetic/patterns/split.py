"""Consignments split into same-weight items under the duty-relief thresholds."""

from __future__ import annotations

import numpy as np

from parcelrisk.synthetic._util import US
from parcelrisk.synthetic.blocks import block, currency, draw_goods, mix_kinds
from parcelrisk.synthetic.patterns._base import Dispatch, GenerationContext

SPLIT_ORIGINS: dict[str, float] = {
    "CN": 0.25, "HK": 0.1, "US": 0.15, "GB": 0.15, "TR": 0.1, "IN": 0.1, "CA": 0.05, "TH": 0.05,
    "CO": 0.05,
}  # fmt: skip
SPLIT_COVERS: dict[str, float] = {
    "apparel": 0.35, "supplements": 0.2, "electronics": 0.25, "beauty": 0.2,
}  # fmt: skip


def split_shipment(
    ctx: GenerationContext,
    rng: np.random.Generator,
    d: Dispatch,
    *,
    threshold_eur: float = 150.0,
    gift_threshold_eur: float = 45.0,
    gift_share: float = 0.3,
) -> dict[str, np.ndarray]:
    """A consignment split into same-weight items to one recipient within two hours.

    Source: WCO *Illicit Trade Report* (2022) and UPU/WCO postal customs guidance: consignments
    split into several low-value items to stay under the EUR 150 duty relief (Regulation (EC)
    No 1186/2009 Art. 23) or the EUR 45 gift relief (Art. 25) and below inspection attention.
    Groups (``Dispatch.group``, 2-5 items) are formed by the world.

    Parameters
    ----------
    threshold_eur, gift_threshold_eur : the thresholds each item stays under.
    gift_share : share of groups declared as gifts (then under ``gift_threshold_eur``).
    """
    n = d.n
    group = d.group
    first = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    g_n = len(first)
    gid = np.cumsum(np.r_[0, np.diff(group) != 0])
    ts0 = ctx.times(rng, g_n)
    weight = rng.uniform(0.2, 1.8, g_n)
    gift = rng.random(g_n) < gift_share
    cap = np.where(gift, gift_threshold_eur, threshold_eur)[gid]
    value = cap * rng.uniform(0.65, 0.99, n)
    kinds = mix_kinds(rng, SPLIT_COVERS, g_n)[gid]
    kinds = np.where(d.cover == "apparel", kinds, d.cover)
    g = draw_goods(ctx, rng, kinds, d.origin)
    g["hs"][rng.random(n) < 0.3] = None
    g["desc"] = np.where(rng.random(n) < 0.7, g["desc"][first][gid], g["desc"])
    recipient = ctx.consumer(rng, g_n, uniform=True)[gid]
    return block(
        n, "split_shipment", ts=ts0[gid] + rng.integers(0, 2 * 3600, n) * US,
        sender=d.sender[first][gid], recipient=recipient, origin=d.origin[first][gid],
        desc=g["desc"], hs=g["hs"], value_eur=value, weight=weight[gid], qty=g["qty"],
        category=np.where(gift, "gift", "sale_of_goods")[gid],
        express=(rng.random(g_n) < 0.2)[gid], currency=currency(rng, d.origin, 0.5, 0.3),
        actor=d.actor, s_entity=d.entity,
    )  # fmt: skip
