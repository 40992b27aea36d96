"""Illicit items inside ordinary e-commerce flows: no red flag, forwarders, EU reshipping."""

from __future__ import annotations

import numpy as np

from parcelrisk.synthetic.blocks import block, currency, draw_goods
from parcelrisk.synthetic.constants import (
    ECOMMERCE_ORIGIN_MIX,
    EU_SELLER_COUNTRIES,
    EU_SELLER_WAREHOUSES,
)
from parcelrisk.synthetic.patterns._base import Dispatch, GenerationContext
from parcelrisk.synthetic.vocabulary import ECOMMERCE_GOODS_MIX

NO_RED_FLAG_ORIGINS = ECOMMERCE_ORIGIN_MIX
NO_RED_FLAG_COVERS = ECOMMERCE_GOODS_MIX
RESHIP_ORIGINS = EU_SELLER_WAREHOUSES
RESHIP_IDENTITY_COUNTRIES = EU_SELLER_COUNTRIES
RESHIP_COVERS: dict[str, float] = {
    "beauty": 0.3, "supplements": 0.25, "apparel": 0.25, "electronics": 0.2,
}  # fmt: skip
FORWARDER_COVERS = ECOMMERCE_GOODS_MIX


def _shop_like(
    ctx: GenerationContext,
    rng: np.random.Generator,
    d: Dispatch,
    pattern: str,
    sender: np.ndarray,
    origin: np.ndarray,
    express_share: float,
) -> dict[str, np.ndarray]:
    n = d.n
    g = draw_goods(ctx, rng, d.cover, origin)
    return block(
        n, pattern, ts=ctx.times(rng, n), sender=sender, recipient=ctx.consumer(rng, n),
        origin=origin, category="sale_of_goods", express=rng.random(n) < express_share,
        currency=currency(rng, origin, 0.45, 0.3), actor=d.actor, s_entity=d.entity, **g,
    )  # fmt: skip


def no_red_flag(
    ctx: GenerationContext, rng: np.random.Generator, d: Dispatch
) -> dict[str, np.ndarray]:
    """Illicit items indistinguishable from ordinary e-commerce (no red flag at all).

    Source: EMCDDA/Europol *EU Drug Markets* (2024, "Key issues"): traffickers mimic legitimate
    e-commerce flows; a share of seizures comes only from intelligence or random controls.
    Drawn with the e-commerce goods, origins and recipients.
    """
    return _shop_like(ctx, rng, d, "no_red_flag", d.sender, d.origin, 0.2)


def eu_reshipping(
    ctx: GenerationContext, rng: np.random.Generator, d: Dispatch
) -> dict[str, np.ndarray]:
    """Reshipping through EU-looking senders: a domestic name and address, posted from outside.

    Source: Europol *EU SOCTA* (2021) and EMCDDA/Europol *EU Drug Markets* (2024): vendors use
    reshippers and fake EU sender identities so that parcels look like intra-EU trade; the
    sender country (EU) differs from the origin (a non-EU hub), as for real EU sellers that
    ship from warehouses in the United Kingdom, Switzerland, Norway or Turkey.
    """
    return _shop_like(ctx, rng, d, "eu_reshipping", d.sender, d.origin, 0.1)


def freight_forwarder(
    ctx: GenerationContext, rng: np.random.Generator, d: Dispatch
) -> dict[str, np.ndarray]:
    """Consolidation: a freight forwarder is the consignor of record for many sellers.

    Source: WCO *Illicit Trade Report* (2022) and Europol *EU SOCTA* (2021): traffickers hide
    among the consignments of freight forwarders and consolidators, whose name is the sender on
    thousands of legitimate items. The sender row is one of the world's (legitimate)
    forwarders; the truth sender entity is the seller behind it.
    """
    k = len(ctx.forwarders)
    pick = (d.entity + d.identity) % k  # one forwarder per actor identity
    return _shop_like(
        ctx, rng, d, "freight_forwarder", ctx.forwarders[pick], ctx.forwarder_origin[pick], 0.1
    )
