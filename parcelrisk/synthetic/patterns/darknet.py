"""Darknet-market vendors posting light letters and small packets to many buyers."""

from __future__ import annotations

import numpy as np

from parcelrisk.synthetic.blocks import block, currency, draw_goods
from parcelrisk.synthetic.patterns._base import Dispatch, GenerationContext

#: Countries outside the EU named as bases of darknet vendors shipping into the EU by post
#: (EMCDDA/Europol "Drugs and the darknet", 2017; "EU Drug Markets: Cocaine", 2022).
DARKNET_ORIGINS: dict[str, float] = {
    "GB": 0.35, "US": 0.2, "CA": 0.1, "CH": 0.1, "CO": 0.07, "TH": 0.06, "NO": 0.05, "BR": 0.07,
}  # fmt: skip
#: Cover goods of "stealth" letters and packets (same sources), as goods types of the shared
#: vocabulary: the words are those of real documents, cards, cosmetics, tea, gifts...
DARKNET_COVERS: dict[str, float] = {
    "documents": 0.35, "beauty": 0.15, "food": 0.1, "gift": 0.1, "jewellery": 0.1, "toys": 0.1,
    "apparel": 0.1,
}  # fmt: skip


def darknet_vendor(
    ctx: GenerationContext,
    rng: np.random.Generator,
    d: Dispatch,
    *,
    weight_g: tuple[float, float] = (15.0, 100.0),
    letter_share: float = 0.7,
    express_share: float = 0.05,
) -> dict[str, np.ndarray]:
    """Darknet vendors: grams of drugs in letters and small packets under a cover description.

    Source: EMCDDA/Europol, *Drugs and the darknet: perspectives for enforcement, research and
    policy* (2017) and *EU Drug Markets: New psychoactive substances* (2024): vendors ship small
    quantities by post in "stealth" packaging (letters, greeting cards, cosmetics) to many
    distinct buyers; they appear and disappear, and change identity details and shipping
    country, more so after seizures and market takedowns.

    Parameters
    ----------
    weight_g : uniform weight range in grams.
    letter_share : share sent as letters (the rest small packets).
    express_share : share sent by express couriers.
    """
    n = d.n
    g = draw_goods(ctx, rng, d.cover, d.origin)
    docs = d.cover == "documents"
    u = rng.random((n, 4))
    category = np.where(docs, "documents", np.where(u[:, 0] < 0.6, "gift", "sale_of_goods"))
    value = np.where(docs, np.where(u[:, 1] < 0.6, 0.0, 1 + 9 * u[:, 2]), 5 + 25 * u[:, 2])
    g["hs"][u[:, 3] < 0.8] = None
    express = rng.random(n) < express_share
    service = np.where(
        express, None, np.where(rng.random(n) < letter_share, "letter", "small_packet")
    )
    return block(
        n, "darknet_vendor", ts=ctx.times(rng, n), sender=d.sender,
        recipient=ctx.consumer(rng, n, uniform=True), origin=d.origin, desc=g["desc"], hs=g["hs"],
        value_eur=value, weight=rng.uniform(*weight_g, n) / 1000, qty=1.0, category=category,
        express=express, service=service, currency=currency(rng, d.origin, 0.2, 0.2),
        actor=d.actor, s_entity=d.entity,
    )  # fmt: skip
