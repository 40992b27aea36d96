"""New psychoactive substances and precursors, and synthetic cathinones in kilogram lots."""

from __future__ import annotations

import numpy as np

from parcelrisk.synthetic._util import lognormal, mix
from parcelrisk.synthetic.blocks import block, currency, draw_goods
from parcelrisk.synthetic.patterns._base import Dispatch, GenerationContext, cover_kinds

#: NPS / precursor source countries (EMCDDA/Europol "EU Drug Markets: NPS" 2024; INCB
#: Precursors Report 2024).
NPS_ORIGINS: dict[str, float] = {
    "CN": 0.5,
    "IN": 0.25,
    "HK": 0.1,
    "US": 0.05,
    "GB": 0.05,
    "TR": 0.05,
}
#: Cover goods types: laboratory chemicals, plant food, bath products, incense, cleaning agents.
NPS_COVERS: dict[str, float] = {
    "chemicals": 0.35, "garden": 0.2, "bath": 0.15, "herbal": 0.15, "cleaning": 0.15,
}  # fmt: skip
#: Synthetic cathinones in bulk: mostly from India (and China).
CATHINONE_ORIGINS: dict[str, float] = {"IN": 0.75, "CN": 0.25}
CATHINONE_COVERS: dict[str, float] = {"bath": 0.5, "garden": 0.5}


def nps_precursor(
    ctx: GenerationContext,
    rng: np.random.Generator,
    d: Dispatch,
    *,
    hs_mismatch: float = 0.3,
    express_share: float = 0.4,
    value_eur_per_kg: tuple[float, float] = (15.0, 0.6),
    weight_kg: tuple[float, float] = (0.25, 0.9),
    fresh_recipients: float = 0.25,
) -> dict[str, np.ndarray]:
    """NPS and drug precursors declared as harmless chemicals, plant food, bath salts, incense.

    Source: EMCDDA/Europol, *EU Drug Markets: New psychoactive substances* (2024): NPS are bought
    in bulk from chemical companies mainly in China and India and sent by post or express,
    labelled "plant food", "bath salts", "research chemicals"; INCB, *Precursors* report (2024):
    non-scheduled and "designer" precursors declared under wrong HS codes.

    Parameters
    ----------
    hs_mismatch : share whose HS code is that of another of the pattern's cover goods.
    express_share : share sent by express couriers.
    value_eur_per_kg : log-normal median and sigma of the declared value per kg (low).
    weight_kg : log-normal median and sigma of the gross weight.
    fresh_recipients : share sent to first-time recipients.
    """
    n = d.n
    g = draw_goods(ctx, rng, d.cover, d.origin)
    other = draw_goods(ctx, rng, cover_kinds(rng, NPS_COVERS, n), d.origin)
    mis = rng.random(n) < hs_mismatch
    g["hs"][mis] = other["hs"][mis]
    weight = np.clip(lognormal(rng, *weight_kg, n), 0.02, 5.0)
    value = weight * lognormal(rng, *value_eur_per_kg, n)
    recipient = ctx.consumer(rng, n, uniform=True)
    fresh = rng.random(n) < fresh_recipients
    recipient[fresh] = ctx.one_off_recipients(rng, int(fresh.sum()))
    category = mix(rng, {"sale_of_goods": 0.6, "commercial_sample": 0.25, "gift": 0.15}, n)
    return block(
        n, "nps_precursor", ts=ctx.times(rng, n), sender=d.sender, recipient=recipient,
        origin=d.origin, desc=g["desc"], hs=g["hs"], value_eur=value, weight=weight,
        qty=g["qty"], category=category, express=rng.random(n) < express_share,
        currency=currency(rng, d.origin, 0.7, 0.1), actor=d.actor, s_entity=d.entity,
    )  # fmt: skip


def cathinone_bulk(
    ctx: GenerationContext,
    rng: np.random.Generator,
    d: Dispatch,
    *,
    weight_kg: tuple[float, float] = (1.0, 5.0),
    value_eur_per_kg: tuple[float, float] = (12.0, 0.5),
    express_share: float = 0.6,
    business_recipients: float = 0.3,
) -> dict[str, np.ndarray]:
    """Synthetic cathinones as "bath salts" or "plant food" in kilogram lots from India.

    Source: EMCDDA/Europol, *EU Drug Markets: New psychoactive substances* (2024), cathinones
    chapter: synthetic cathinones (3-MMC, 3-CMC) imported in kilogram quantities from India
    (and China) by post and express, declared as bath salts, plant food or research chemicals;
    UNODC *World Drug Report 2024*.

    Parameters
    ----------
    weight_kg : uniform range of the gross weight.
    value_eur_per_kg : log-normal median and sigma of the declared value per kg.
    express_share : share by express courier.
    business_recipients : share addressed to (front) companies.
    """
    n = d.n
    g = draw_goods(ctx, rng, d.cover, d.origin)
    weight = rng.uniform(*weight_kg, n)
    value = weight * lognormal(rng, *value_eur_per_kg, n)
    recipient = ctx.consumer(rng, n, uniform=True)
    biz = rng.random(n) < business_recipients
    recipient[biz] = ctx.business(rng, int(biz.sum()))
    return block(
        n, "cathinone_bulk", ts=ctx.times(rng, n), sender=d.sender, recipient=recipient,
        origin=d.origin, desc=g["desc"], hs=g["hs"], value_eur=value, weight=weight,
        qty=g["qty"], category=mix(rng, {"sale_of_goods": 0.7, "commercial_sample": 0.3}, n),
        express=rng.random(n) < express_share, currency=currency(rng, d.origin, 0.7, 0.1),
        actor=d.actor, s_entity=d.entity,
    )  # fmt: skip
