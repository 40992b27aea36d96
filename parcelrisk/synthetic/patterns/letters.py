"""Nitazenes and blotters in letters; GBL as a cleaning product; cannabis edibles and vapes."""

from __future__ import annotations

import numpy as np

from parcelrisk.synthetic._util import lognormal, mix
from parcelrisk.synthetic.blocks import block, currency, draw_goods
from parcelrisk.synthetic.patterns._base import Dispatch, GenerationContext

NITAZENE_ORIGINS: dict[str, float] = {"CN": 0.4, "GB": 0.2, "US": 0.2, "CA": 0.1, "IN": 0.1}
NITAZENE_COVERS: dict[str, float] = {"documents": 0.6, "toys": 0.2, "books": 0.2}
GBL_ORIGINS: dict[str, float] = {"GB": 0.4, "CN": 0.3, "TR": 0.1, "US": 0.1, "HK": 0.1}
GBL_COVERS: dict[str, float] = {"cleaning": 0.75, "beauty": 0.25}
CANNABIS_ORIGINS: dict[str, float] = {"US": 0.6, "CA": 0.4}
CANNABIS_COVERS: dict[str, float] = {"sweets": 0.6, "vape": 0.3, "beauty": 0.1}


def nitazene_letters(
    ctx: GenerationContext,
    rng: np.random.Generator,
    d: Dispatch,
    *,
    weight_g: tuple[float, float] = (8.0, 40.0),
) -> dict[str, np.ndarray]:
    """Nitazenes (synthetic opioids) and LSD blotters in flat letters: cards, stickers, prints.

    Source: EMCDDA/Europol *EU Drug Markets: Heroin and other opioids* (2024) and EUDA European
    Drug Report 2024: nitazenes bought online and sent in small quantities by post; blotters
    are a few grams of paper, sent as greeting cards, stickers or art prints.

    Parameters
    ----------
    weight_g : uniform weight range in grams.
    """
    n = d.n
    g = draw_goods(ctx, rng, d.cover, d.origin)
    docs = d.cover == "documents"
    u = rng.random(n)
    g["hs"][rng.random(n) < 0.85] = None
    return block(
        n, "nitazene_letters", ts=ctx.times(rng, n), sender=d.sender,
        recipient=ctx.consumer(rng, n, uniform=True), origin=d.origin, desc=g["desc"],
        hs=g["hs"], value_eur=np.where(docs & (u < 0.6), 0.0, 2 + 8 * u), qty=1.0,
        weight=rng.uniform(*weight_g, n) / 1000,
        category=np.where(docs, "documents", "gift"), service="letter",
        currency=currency(rng, d.origin, 0.3, 0.2), actor=d.actor, s_entity=d.entity,
    )  # fmt: skip


def gbl_cleaning(
    ctx: GenerationContext,
    rng: np.random.Generator,
    d: Dispatch,
    *,
    weight_kg: tuple[float, float] = (0.5, 1.3),
    value_eur: tuple[float, float] = (12.0, 0.4),
) -> dict[str, np.ndarray]:
    """GBL (a GHB precursor) declared as a cleaning product, wheel cleaner or nail-polish remover.

    Source: EMCDDA/Europol *EU Drug Markets* (2024) and EMCDDA *GHB and its precursor GBL*
    (drug profile): GBL is sold online as an industrial solvent or cleaner and shipped in
    bottles of 0.5-1 litre by post and courier.

    Parameters
    ----------
    weight_kg : uniform range of the gross weight (bottles).
    value_eur : log-normal median and sigma of the declared value.
    """
    n = d.n
    g = draw_goods(ctx, rng, d.cover, d.origin)
    express = rng.random(n) < 0.25
    return block(
        n, "gbl_cleaning", ts=ctx.times(rng, n), sender=d.sender,
        recipient=ctx.consumer(rng, n, uniform=True), origin=d.origin, desc=g["desc"],
        hs=g["hs"], value_eur=lognormal(rng, *value_eur, n), weight=rng.uniform(*weight_kg, n),
        qty=g["qty"], category="sale_of_goods", express=express,
        currency=currency(rng, d.origin, 0.4, 0.2), actor=d.actor, s_entity=d.entity,
    )  # fmt: skip


def cannabis_edibles(
    ctx: GenerationContext,
    rng: np.random.Generator,
    d: Dispatch,
    *,
    weight_kg: tuple[float, float] = (0.35, 0.6),
    value_eur: tuple[float, float] = (25.0, 0.5),
) -> dict[str, np.ndarray]:
    """Cannabis edibles (gummies, chocolate) and THC vape cartridges from the US and Canada.

    Source: EMCDDA/Europol *EU Drug Markets: Cannabis* (2023): edibles and vaping products
    from North American legal markets sent to Europe by post, declared as sweets, vaping
    accessories or cosmetics.

    Parameters
    ----------
    weight_kg : log-normal median and sigma of the gross weight.
    value_eur : log-normal median and sigma of the declared value.
    """
    n = d.n
    g = draw_goods(ctx, rng, d.cover, d.origin)
    return block(
        n, "cannabis_edibles", ts=ctx.times(rng, n), sender=d.sender,
        recipient=ctx.consumer(rng, n, uniform=True), origin=d.origin, desc=g["desc"],
        hs=g["hs"], value_eur=lognormal(rng, *value_eur, n),
        weight=np.clip(lognormal(rng, *weight_kg, n), 0.05, 3), qty=g["qty"],
        category=mix(rng, {"sale_of_goods": 0.6, "gift": 0.4}, n),
        express=rng.random(n) < 0.1, currency=currency(rng, d.origin, 0.8, 0.05),
        actor=d.actor, s_entity=d.entity,
    )  # fmt: skip
