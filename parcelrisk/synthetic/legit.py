"""Legitimate traffic: merchant populations built once per world, drawn from day by day.

Flows (:data:`~parcelrisk.synthetic.constants.LEGIT_SHARES`): e-commerce (some consigned by
freight forwarders, some by EU sellers from warehouses outside the EU), gifts between private
persons, documents, returns, B2B samples, and the specialised trades traffickers hide behind:
supplements, food, sweets, laboratory chemicals, garden supplies, cleaning products, bath
products, incense and herbs, medicines and vaping products.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from parcelrisk.synthetic import constants as C
from parcelrisk.synthetic._util import US, apportion, mix, rng_for
from parcelrisk.synthetic.actors import _postcodes
from parcelrisk.synthetic.blocks import block, currency, draw_goods, mix_kinds
from parcelrisk.synthetic.context import GenerationContext
from parcelrisk.synthetic.vocabulary import (
    ECOMMERCE_GOODS_MIX,
    VAGUE_ECOMMERCE_SHARE,
)

STREAM_LEGIT = 11

#: Specialised trades: flow -> (origin mix, goods type, share of business recipients, share of
#: company senders).
SPECIALISED_FLOWS: dict[str, tuple[Mapping[str, float], str, float, float]] = {
    "supplements": (C.SUPPLEMENT_ORIGIN_MIX, "supplements", 0.0, 0.95),
    "food": (C.FOOD_ORIGIN_MIX, "food", 0.05, 0.8),
    "sweets": (C.SWEETS_ORIGIN_MIX, "sweets", 0.05, 0.9),
    "chemicals": (C.CHEMICAL_ORIGIN_MIX, "chemicals", 0.5, 1.0),
    "garden": (C.GARDEN_ORIGIN_MIX, "garden", 0.1, 0.9),
    "cleaning": (C.CLEANING_ORIGIN_MIX, "cleaning", 0.15, 0.9),
    "bath": (C.BATH_ORIGIN_MIX, "bath", 0.05, 0.9),
    "herbal": (C.HERBAL_ORIGIN_MIX, "herbal", 0.05, 0.7),
    "medicines": (C.MEDICINE_ORIGIN_MIX, "medicines", 0.2, 0.9),
    "vape": (C.VAPE_ORIGIN_MIX, "vape", 0.05, 0.95),
}

#: Freight forwarders / consolidators (sender of record for many sellers): origin mix.
FORWARDER_ORIGIN_MIX: dict[str, float] = {"CN": 0.45, "HK": 0.25, "US": 0.1, "GB": 0.1, "TR": 0.1}
_FORWARDER_WORDS = (
    "Global Logistics", "Freight Forwarding", "International Express", "Supply Chain",
    "Cross-border Logistics", "Shipping Agency", "Parcel Services", "Fulfilment",
)  # fmt: skip


@dataclass
class Shops:
    """A population of merchants: sender rows, origin (ship-from), goods type, channel, weights."""

    sender: np.ndarray
    country: np.ndarray
    origin: np.ndarray
    kind: np.ndarray
    express_p: np.ndarray
    p: np.ndarray


def make_shops(
    ctx: GenerationContext,
    rng: np.random.Generator,
    n: int,
    origin_mix: Mapping[str, float],
    goods_mix: Mapping[str, float],
    company: float = 0.9,
    reship: float = 0.05,
) -> Shops:
    """``n`` merchants with heavy-tailed (log-normal) activity; a few post through a hub."""
    countries = mix(rng, origin_mix, n)
    sender = ctx.new_senders(rng, countries, company)
    origin = countries.copy()
    moved = rng.random(n) < reship
    cn = moved & np.isin(countries, ["CN", "HK"])
    origin[cn] = np.array(["HK", "SG", "MY"], dtype=object)[rng.integers(0, 3, int(cn.sum()))]
    origin[cn & (countries == "HK")] = "CN"
    west = moved & np.isin(countries, ["US", "CA", "AU"])
    origin[west] = "GB"
    # a few senders' records carry a postcode in another country's format (data-entry slips)
    slip = rng.random(n) < 0.005
    if slip.any():  # the chunk just added is not merged into the cached table yet
        ctx.senders.chunks[-1]["postcode"][slip] = _postcodes("NL", int(slip.sum()), rng)
    express_p = np.where(rng.random(n) < 0.2, 0.85, 0.03)
    activity = np.exp(1.2 * rng.standard_normal(n))
    kind = mix_kinds(rng, goods_mix, n)
    return Shops(sender, countries, origin, kind, express_p, activity / activity.sum())


def shop_rows(
    ctx: GenerationContext,
    rng: np.random.Generator,
    n: int,
    shops: Shops,
    pattern: str = "legit",
    *,
    business_recipients: float = 0.0,
    vague_share: float = VAGUE_ECOMMERCE_SHARE,
    split_share: float = 0.04,
    undervalue: float = 0.04,
    goods_mix: Mapping[str, float] | None = None,
    category: str = "sale_of_goods",
) -> dict[str, np.ndarray]:
    """Orders from a merchant population, some split into 2-3 parcels sent the same day."""
    n_lead = n - int(n * split_share * 0.6)
    shop = rng.choice(len(shops.p), size=n_lead, p=shops.p)
    other = mix_kinds(rng, goods_mix or ECOMMERCE_GOODS_MIX, n_lead)
    kinds = np.where(rng.random(n_lead) < 0.75, shops.kind[shop], other)
    g = draw_goods(ctx, rng, kinds, shops.origin[shop])
    vague = rng.random(n_lead) < vague_share
    g["desc"][vague] = ctx.vocab.describe(
        np.full(int(vague.sum()), "vague", dtype=object), shops.origin[shop][vague], rng
    )
    under = np.isin(shops.country[shop], ["CN", "HK"]) & (rng.random(n_lead) < undervalue)
    g["value_eur"][under] *= rng.uniform(0.05, 0.3, int(under.sum()))
    recipient = ctx.consumer(rng, n_lead)
    to_biz = rng.random(n_lead) < business_recipients
    recipient[to_biz] = ctx.business(rng, int(to_biz.sum()))
    ts = ctx.times(rng, n_lead)
    express = rng.random(n_lead) < shops.express_p[shop]
    cols = {
        "ts": ts,
        "sender": shops.sender[shop],
        "recipient": recipient,
        "origin": shops.origin[shop],
        "express": express,
        **g,
    }
    n_follow = n - n_lead
    countries = shops.country[shop]
    if n_follow:
        # split orders: followers copy a leader's merchant, recipient and day; 35% same weight
        lead = rng.integers(0, n_lead, n_follow)
        fg = draw_goods(ctx, rng, kinds[lead], shops.origin[shop][lead])
        same_w = rng.random(n_follow) < 0.35
        fg["weight"][same_w] = g["weight"][lead][same_w]
        follow = {
            "ts": ts[lead] + rng.integers(0, 3 * 3600, n_follow) * US,
            "sender": cols["sender"][lead],
            "recipient": recipient[lead],
            "origin": cols["origin"][lead],
            "express": express[lead],
            **fg,
        }
        cols = {k: np.concatenate([cols[k], follow[k]]) for k in cols}
        countries = np.concatenate([countries, countries[lead]])
    cur = currency(rng, countries, 0.45, 0.3)
    return block(n, pattern, category=category, currency=cur, **cols)


@dataclass
class LegitPopulation:
    """Every legitimate sender population of a world (built once, drawn from each day)."""

    ecommerce: Shops
    forwarders: np.ndarray  # sender rows
    forwarder_origin: np.ndarray
    eu_sellers: Shops
    specialised: dict[str, Shops]
    gift_senders: np.ndarray
    gift_origin: np.ndarray
    doc_senders: np.ndarray
    doc_origin: np.ndarray
    samples: Shops


def build_legit(
    ctx: GenerationContext, rng: np.random.Generator, items_per_day: float
) -> LegitPopulation:
    """Merchant, forwarder and private-sender populations, sized by the daily volume."""
    scale = max(1.0, items_per_day * 28 / 1000)
    ecommerce = make_shops(
        ctx, rng, int(40 * scale**0.8) + 60, C.ECOMMERCE_ORIGIN_MIX, ECOMMERCE_GOODS_MIX
    )
    n_fw = int(max(6, 3 * scale**0.5))
    fw_country = mix(rng, FORWARDER_ORIGIN_MIX, n_fw)
    fw_people = ctx.pools
    names = np.array(
        [
            f"{fw_people[str(c)].city[int(rng.integers(0, len(fw_people[str(c)].city)))]} "
            f"{_FORWARDER_WORDS[int(rng.integers(0, len(_FORWARDER_WORDS)))]}"
            + (" Co., Ltd" if c in ("CN", "HK") else " Ltd")
            for c in fw_country
        ],
        dtype=object,
    )
    fw_rows = ctx.new_senders(rng, fw_country, company=1.0)
    ctx.senders.chunks[-1]["name"][:] = names
    ctx.forwarders, ctx.forwarder_origin = fw_rows, fw_country
    eu_sellers = make_shops(
        ctx,
        rng,
        int(max(8, 2 * scale**0.6)),
        C.EU_SELLER_COUNTRIES,
        ECOMMERCE_GOODS_MIX,
        company=0.9,
        reship=0.0,
    )
    eu_sellers.origin = mix(rng, C.EU_SELLER_WAREHOUSES, len(eu_sellers.origin))
    specialised = {}
    for name, (origins, kind, _biz, company) in SPECIALISED_FLOWS.items():
        k = C.LEGIT_SHARES[name] * items_per_day * 28
        specialised[name] = make_shops(
            ctx, rng, int(max(5, k / 25)), origins, {kind: 1.0}, company=company, reship=0.03
        )
    k_gift = C.LEGIT_SHARES["gift"] * items_per_day * 28
    gift_country = mix(rng, C.GIFT_ORIGIN_MIX, int(max(10, k_gift / 2)))
    gift_senders = ctx.new_senders(rng, gift_country, company=0.0)
    k_doc = C.LEGIT_SHARES["documents"] * items_per_day * 28
    doc_country = mix(rng, C.DOCUMENT_ORIGIN_MIX, int(max(10, k_doc / 3)))
    doc_senders = ctx.new_senders(rng, doc_country, company=0.6)
    k_smp = C.LEGIT_SHARES["samples"] * items_per_day * 28
    samples = make_shops(
        ctx, rng, int(max(5, k_smp / 8)), C.SAMPLE_ORIGIN_MIX, {"samples": 1.0}, 1.0, 0.0
    )
    samples.express_p[:] = 0.6
    return LegitPopulation(
        ecommerce, fw_rows, fw_country, eu_sellers, specialised, gift_senders, gift_country,
        doc_senders, doc_country, samples,
    )  # fmt: skip


def legit_day(
    ctx: GenerationContext, pop: LegitPopulation, seed: int, day: int, n: int
) -> list[dict[str, np.ndarray]]:
    """``n`` legitimate items of ``ctx.today``, each flow from its own per-day random stream."""
    names = list(C.LEGIT_SHARES)
    counts = dict(zip(names, apportion(n, list(C.LEGIT_SHARES.values())).tolist(), strict=True))
    blocks = []

    def r(i: int) -> np.random.Generator:
        return rng_for(seed, STREAM_LEGIT, day, i)

    k = counts["ecommerce"]
    if k:
        rng = r(0)
        b = shop_rows(ctx, rng, k, pop.ecommerce)
        fw = rng.random(k) < C.FORWARDER_SHARE
        which = rng.integers(0, len(pop.forwarders), k)
        b["sender"] = np.where(fw, pop.forwarders[which], b["sender"])
        b["origin"] = np.where(fw, pop.forwarder_origin[which], b["origin"])
        blocks.append(b)
    k = counts["eu_seller"]
    if k:
        blocks.append(shop_rows(ctx, r(1), k, pop.eu_sellers, vague_share=0.05))
    for i, (name, (_o, kind, biz, _c)) in enumerate(SPECIALISED_FLOWS.items()):
        k = counts[name]
        if k:
            blocks.append(
                shop_rows(
                    ctx,
                    r(10 + i),
                    k,
                    pop.specialised[name],
                    business_recipients=biz,
                    vague_share=0.02,
                    split_share=0.02,
                    undervalue=0.0,
                    goods_mix={kind: 1.0},
                )  # fmt: skip
            )
    # gifts between private persons: recurring senders, heavy family parcels, values near EUR 45
    k = counts["gift"]
    if k:
        rng = r(2)
        pick = rng.integers(0, len(pop.gift_senders), k)
        origin = pop.gift_origin[pick]
        g = draw_goods(ctx, rng, np.full(k, "gift", dtype=object), origin)
        near = rng.random(k) < 0.4
        g["value_eur"][near] = rng.uniform(15, 45, int(near.sum()))
        g["hs"][rng.random(k) < 0.7] = None
        blocks.append(
            block(
                k,
                "legit",
                ts=ctx.times(rng, k),
                sender=pop.gift_senders[pick],
                recipient=ctx.consumer(rng, k, uniform=True),
                origin=origin,
                category="gift",
                express=rng.random(k) < 0.08,
                currency=currency(rng, origin, 0.1, 0.2),
                **g,
            )  # fmt: skip
        )
    # documents: business and private correspondence, letters or express envelopes
    k = counts["documents"]
    if k:
        rng = r(3)
        pick = rng.integers(0, len(pop.doc_senders), k)
        origin = pop.doc_origin[pick]
        g = draw_goods(ctx, rng, np.full(k, "documents", dtype=object), origin)
        g["value_eur"] = np.where(rng.random(k) < 0.6, 0.0, np.round(g["value_eur"], 0))
        g["weight"] = np.clip(g["weight"], 0.005, 1.5)
        g["hs"][rng.random(k) < 0.85] = None
        recipient = np.where(rng.random(k) < 0.5, ctx.consumer(rng, k), ctx.business(rng, k))
        express = rng.random(k) < 0.4
        blocks.append(
            block(
                k,
                "legit",
                ts=ctx.times(rng, k),
                sender=pop.doc_senders[pick],
                recipient=recipient,
                origin=origin,
                category="documents",
                express=express,
                service=np.where(express, None, "letter"),
                currency=currency(rng, origin, 0.3, 0.2),
                **g,
            )  # fmt: skip
        )
    # returns to EU shops (one-off private senders)
    k = counts["returns"]
    if k:
        rng = r(4)
        origin = mix(rng, C.RETURN_ORIGIN_MIX, k)
        s = ctx.new_senders(rng, origin, company=0.0)
        g = draw_goods(ctx, rng, np.full(k, "returns", dtype=object), origin)
        own = rng.random(k) < 0.4  # described as the goods themselves
        g2 = draw_goods(
            ctx, rng, mix_kinds(rng, {"apparel": 0.6, "electronics": 0.3, "jewellery": 0.1}, k),
            origin,
        )  # fmt: skip
        g["desc"][own] = g2["desc"][own]
        blocks.append(
            block(
                k,
                "legit",
                ts=ctx.times(rng, k),
                sender=s,
                recipient=ctx.business(rng, k),
                origin=origin,
                category="returned_goods",
                express=rng.random(k) < 0.25,
                currency=currency(rng, origin, 0.05, 0.4),
                **g,
            )  # fmt: skip
        )
    # B2B commercial samples
    k = counts["samples"]
    if k:
        blocks.append(
            shop_rows(
                ctx,
                r(5),
                k,
                pop.samples,
                business_recipients=0.9,
                vague_share=0.0,
                split_share=0.0,
                undervalue=0.0,
                goods_mix={"samples": 1.0},
                category="commercial_sample",
            )  # fmt: skip
        )
    return blocks
