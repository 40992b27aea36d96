"""Drugs hidden inside heavier goods."""

from __future__ import annotations

import numpy as np

from parcelrisk.synthetic._util import lognormal, mix
from parcelrisk.synthetic.blocks import block, currency, draw_goods
from parcelrisk.synthetic.patterns._base import Dispatch, GenerationContext, cover_kinds

CONCEALMENT_ORIGINS: dict[str, float] = {
    "CO": 0.15, "BR": 0.1, "PE": 0.08, "EC": 0.07, "US": 0.1, "GB": 0.1, "CA": 0.05, "TR": 0.1,
    "MX": 0.05, "TH": 0.05, "CN": 0.1, "ZA": 0.05,
}  # fmt: skip
#: Heavy goods the drugs are hidden in (speakers, candles, vases, machine parts, handicrafts).
CONCEALMENT_COVERS: dict[str, float] = {
    "electronics": 0.25,
    "home": 0.4,
    "toys": 0.1,
    "tools": 0.25,
}
#: Light goods declared for items far too heavy for them.
LIGHT_COVERS: dict[str, float] = {"apparel": 0.5, "jewellery": 0.3, "beauty": 0.2}


def concealment(
    ctx: GenerationContext,
    rng: np.random.Generator,
    d: Dispatch,
    *,
    light_share: float = 0.2,
    weight_kg: tuple[float, float] = (4.0, 0.5),
    value_eur: tuple[float, float] = (20.0, 0.5),
) -> dict[str, np.ndarray]:
    """Drugs hidden inside heavier goods; weight implausible for the description and value.

    Source: WCO *Illicit Trade Report* (drugs chapter, 2022) and EMCDDA/Europol *EU Drug
    Markets: Cocaine* (2022): cocaine and cannabis concealed in speakers, candles, toys, machine
    parts and handicrafts sent by post and express, often from South America.

    Parameters
    ----------
    light_share : share described as light goods (apparel, jewellery) but weighing 1-3 kg.
    weight_kg, value_eur : log-normal median and sigma for the heavy covers.
    """
    n = d.n
    light = rng.random(n) < light_share
    kinds = np.where(light, cover_kinds(rng, LIGHT_COVERS, n), d.cover)
    g = draw_goods(ctx, rng, kinds, d.origin)
    weight = np.clip(lognormal(rng, *weight_kg, n), 1.5, 20)
    weight = np.where(light, rng.uniform(1.0, 3.0, n), weight)
    g["hs"][rng.random(n) < 0.4] = None
    recipient = ctx.consumer(rng, n, uniform=True)
    fresh = rng.random(n) < 0.4
    recipient[fresh] = ctx.one_off_recipients(rng, int(fresh.sum()))
    express = rng.random(n) < 0.4
    return block(
        n, "concealment", ts=ctx.times(rng, n), sender=d.sender, recipient=recipient,
        origin=d.origin, desc=g["desc"], hs=g["hs"], value_eur=lognormal(rng, *value_eur, n),
        weight=weight, category=mix(rng, {"gift": 0.5, "sale_of_goods": 0.5}, n),
        express=express,
        service=np.where(express, None, np.where(rng.random(n) < 0.7, "parcel", "ems")),
        currency=currency(rng, d.origin, 0.5, 0.1), actor=d.actor, s_entity=d.entity,
    )  # fmt: skip
