"""Drop addresses and parcel lockers receiving for buyers under changing names."""

from __future__ import annotations

import numpy as np

from parcelrisk.synthetic._util import mix
from parcelrisk.synthetic.blocks import block, currency, draw_goods, mix_kinds
from parcelrisk.synthetic.constants import RECIPIENT_COUNTRY_MIX
from parcelrisk.synthetic.patterns._base import Dispatch, GenerationContext

DROP_SOURCE_ORIGINS: dict[str, float] = {
    "CN": 0.2, "US": 0.15, "GB": 0.15, "TR": 0.1, "IN": 0.1, "CA": 0.05, "TH": 0.05, "HK": 0.1,
    "CO": 0.05, "CH": 0.05,
}  # fmt: skip
#: Ordinary-looking goods sent to drops.
DROP_GOODS: dict[str, float] = {
    "apparel": 0.3, "electronics": 0.25, "beauty": 0.15, "supplements": 0.15, "toys": 0.15,
}  # fmt: skip
DROP_COUNTRIES = RECIPIENT_COUNTRY_MIX
#: Countries with parcel-locker networks (see ``context.LOCKER_NETWORKS``).
LOCKER_COUNTRIES: dict[str, float] = {"DE": 0.55, "PL": 0.35, "FR": 0.1}


def _to_drop(
    ctx: GenerationContext, rng: np.random.Generator, d: Dispatch, pattern: str
) -> dict[str, np.ndarray]:
    n = d.n
    org = mix(rng, DROP_SOURCE_ORIGINS, n)
    sender = ctx.new_senders(rng, org, company=0.5)
    g = draw_goods(ctx, rng, mix_kinds(rng, DROP_GOODS, n), org)
    g["hs"][rng.random(n) < 0.3] = None
    return block(
        n, pattern, ts=ctx.times(rng, n), sender=sender, recipient=d.drop, origin=org,
        category=mix(rng, {"sale_of_goods": 0.7, "gift": 0.3}, n),
        express=rng.random(n) < 0.2, currency=currency(rng, org, 0.4, 0.3),
        actor=d.actor, r_entity=d.entity, **g,
    )  # fmt: skip


def drop_address(
    ctx: GenerationContext, rng: np.random.Generator, d: Dispatch
) -> dict[str, np.ndarray]:
    """A drop address receiving ordinary-looking parcels from one-off senders under 3-7 names.

    Source: Europol *EU SOCTA* (2021) and EMCDDA/Europol *Drugs and the darknet* (2017):
    deliveries to "drop" addresses (vacant flats, complicit residents, letterboxes) under
    varying recipient names, to break the link between buyer and parcel. After a seizure the
    organisers move to another address (reaction ``drop``).
    """
    return _to_drop(ctx, rng, d, "drop_address")


def parcel_locker(
    ctx: GenerationContext, rng: np.random.Generator, d: Dispatch
) -> dict[str, np.ndarray]:
    """Parcel lockers (Packstation, Paczkomat) as drop points, shared with ordinary consumers.

    Source: Europol *EU SOCTA* (2021) and EMCDDA/Europol *EU Drug Markets: Cannabis* and
    *Methamphetamine* (2022-2023): buyers and couriers use parcel lockers and pick-up points to
    stay anonymous; a locker address receives for many legitimate customers too, so the
    address alone says nothing.
    """
    return _to_drop(ctx, rng, d, "parcel_locker")
