"""Prescription drugs declared as food supplements, herbs or tea."""

from __future__ import annotations

import numpy as np

from parcelrisk.synthetic._util import lognormal, mix
from parcelrisk.synthetic.blocks import block, currency, draw_goods
from parcelrisk.synthetic.patterns._base import Dispatch, GenerationContext

RX_ORIGINS: dict[str, float] = {
    "IN": 0.45,
    "PK": 0.15,
    "SG": 0.15,
    "BD": 0.05,
    "HK": 0.1,
    "CN": 0.1,
}
RX_COVERS: dict[str, float] = {"supplements": 0.6, "herbal": 0.2, "food": 0.2}


def rx_as_supplement(
    ctx: GenerationContext,
    rng: np.random.Generator,
    d: Dispatch,
    *,
    hs_missing: float = 0.3,
    weight_kg: tuple[float, float] = (0.12, 0.6),
    value_eur: tuple[float, float] = (15.0, 0.5),
    letter_share: float = 0.3,
) -> dict[str, np.ndarray]:
    """Prescription drugs (tramadol, benzodiazepines, opioids) declared as supplements or tea.

    Source: UNODC *World Drug Report 2024* (pharmaceutical opioids: tramadol from South Asia by
    post); INCB annual report 2023 (internet pharmacies; postal seizures of benzodiazepines);
    WCO/Interpol Operation Pangea: falsified and unlicensed medicines in small postal packets
    declared as food supplements (HS chapter 21).

    Parameters
    ----------
    hs_missing : share without HS code.
    weight_kg, value_eur : log-normal median and sigma.
    letter_share : share of postal items sent as letters.
    """
    n = d.n
    g = draw_goods(ctx, rng, d.cover, d.origin)
    g["hs"][rng.random(n) < hs_missing] = None
    express = rng.random(n) < 0.15
    return block(
        n, "rx_as_supplement", ts=ctx.times(rng, n), sender=d.sender,
        recipient=ctx.consumer(rng, n, uniform=True), origin=d.origin, desc=g["desc"],
        hs=g["hs"], value_eur=lognormal(rng, *value_eur, n),
        weight=np.clip(lognormal(rng, *weight_kg, n), 0.02, 2), qty=g["qty"],
        category=mix(rng, {"sale_of_goods": 0.6, "gift": 0.4}, n), express=express,
        service=np.where(express, None, np.where(rng.random(n) < letter_share, "letter", None)),
        currency=currency(rng, d.origin, 0.6, 0.1), actor=d.actor, s_entity=d.entity,
    )  # fmt: skip
