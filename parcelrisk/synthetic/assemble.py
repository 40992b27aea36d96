"""Assembly of a day's blocks into manifest rows: services, operators, ids, routes, formatting.

Formatting noise (upper/lower case, initials, description case and abbreviations, weight
rounding) depends on the operator that transmits the record and is applied to every party
and item alike, legitimate or not (:data:`OPERATOR_FORMATS`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from parcelrisk.schema import MANIFEST_COLUMNS, ManifestSchema
from parcelrisk.synthetic._util import DAY_US, LETTERS, US, s10_check_digit, template
from parcelrisk.synthetic.actors import EXPRESS_CARRIERS, EXPRESS_HUBS, POSTAL_OPERATORS
from parcelrisk.synthetic.blocks import BLOCK_KEYS
from parcelrisk.synthetic.context import GenerationContext
from parcelrisk.synthetic.vocabulary import ABBREVIATIONS

M = ManifestSchema
_ABBREV = "|".join(sorted(ABBREVIATIONS, key=len, reverse=True))


@dataclass(frozen=True)
class Formatting:
    """How an operator's system writes records: shares of items with each formatting."""

    upper_names: float = 0.08
    lower_names: float = 0.02
    initials: float = 0.04
    upper_cities: float = 0.1
    upper_desc: float = 0.1
    lower_desc: float = 0.2
    abbreviate: float = 0.05
    weight_decimals: int = 3  # for items under 1 kg; heavier items may be rounded further
    heavy_decimals: int = 2


#: Formatting by operator code (others: the default). Illustrative habits of national posts'
#: and couriers' systems (ITMATT/ICS2 data as transmitted): some upper-case more, some round
#: weights to 10 g or 100 g. The rare forms (lower case, initials) are kept at the same rate
#: everywhere: an operator-specific rate there made them a proxy for origin.
OPERATOR_FORMATS: dict[str, Formatting] = {
    "CNPA": Formatting(0.2, 0.02, 0.04, 0.25, 0.15, 0.2, 0.05, 3, 2),
    "HKPA": Formatting(0.15, 0.02, 0.04, 0.2, 0.15, 0.2, 0.05, 3, 2),
    "USPA": Formatting(0.18, 0.02, 0.04, 0.2, 0.1, 0.15, 0.06, 2, 1),
    "GBRM": Formatting(0.1, 0.02, 0.04, 0.12, 0.08, 0.2, 0.05, 2, 1),
    "INPA": Formatting(0.15, 0.02, 0.04, 0.2, 0.2, 0.15, 0.08, 2, 1),
    "JPPA": Formatting(0.15, 0.02, 0.04, 0.2, 0.1, 0.1, 0.03, 3, 2),
    "TRPA": Formatting(0.12, 0.02, 0.04, 0.15, 0.1, 0.25, 0.05, 2, 1),
    "DHLX": Formatting(0.06, 0.02, 0.04, 0.08, 0.05, 0.15, 0.03, 2, 1),
    "UPSX": Formatting(0.16, 0.02, 0.04, 0.2, 0.15, 0.1, 0.03, 2, 1),
    "FDXX": Formatting(0.14, 0.02, 0.04, 0.16, 0.12, 0.1, 0.03, 2, 1),
    "YUNX": Formatting(0.18, 0.02, 0.04, 0.2, 0.15, 0.2, 0.05, 3, 2),
}
DEFAULT_FORMAT = Formatting()


def services(rng: np.random.Generator, b: dict[str, np.ndarray]) -> np.ndarray:
    n = len(b["weight"])
    w = b["weight"]
    u = rng.random(n)
    light = np.where(
        u < 0.1, "parcel", np.where(u < 0.15, "ems", np.where(u < 0.18, "letter", "small_packet"))
    )
    light = np.where((w <= 0.1) & (rng.random(n) < 0.3), "letter", light)
    heavy = np.where(u < 0.12, "ems", np.where(u > 0.995, "small_packet", "parcel"))
    postal = np.where(w <= 2.0, light, heavy)
    postal = np.where((b["category"] == "documents") & (w <= 2.0), "letter", postal)
    forced = b["service"]
    postal = np.where(pd.isna(forced), postal, forced)
    return np.where(b["express"], "express", postal).astype(object)


def ids_and_operators(
    rng: np.random.Generator, origin: np.ndarray, service: np.ndarray, day: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Item ids (S10 for posts, carrier formats for express), operator names and codes.

    The first two digits of an S10 serial and of a tracking number are the day number modulo
    100 (as sequential serials would be), so ids of different days do not collide.
    """
    n = len(origin)
    express = service == "express"
    op = np.empty(n, dtype=object)
    code = np.empty(n, dtype=object)
    ids = np.empty(n, dtype=object)
    post = np.flatnonzero(~express)
    first = {"letter": "RL", "small_packet": "LUL", "parcel": "C", "ems": "E"}
    s = service[post]
    lead = np.empty(len(post), dtype=object)
    for svc, letters in first.items():
        sel = s == svc
        lead[sel] = np.array(list(letters), dtype=object)[
            rng.integers(0, len(letters), int(sel.sum()))
        ]
    serial = (day % 100) * 1_000_000 + rng.integers(0, 1_000_000, len(post))
    ids[post] = (
        lead
        + LETTERS[rng.integers(0, 26, len(post))].astype(object)
        + pd.Series(serial).astype(str).str.zfill(8).to_numpy(dtype=object)
        + s10_check_digit(serial).astype(str).astype(object)
        + origin[post]
    )
    for c in np.unique(origin[post]):
        sel = post[origin[post] == c]
        name, short = POSTAL_OPERATORS.get(str(c), (f"Post {c}", f"{c}PA"))
        op[sel], code[sel] = name, short
    ex = np.flatnonzero(express)
    p = np.array([c[3] for c in EXPRESS_CARRIERS])
    carrier = rng.choice(len(EXPRESS_CARRIERS), size=len(ex), p=p / p.sum())
    carrier = np.where((carrier == 3) & ~np.isin(origin[ex], ["CN", "HK"]), 0, carrier)
    dd = f"{day % 100:02d}"
    for i, (name, short, fmt, _) in enumerate(EXPRESS_CARRIERS):
        sel = ex[carrier == i]
        op[sel], code[sel] = name, short
        tpl = {
            "dhl": dd + "########",
            "ups": "1Z@@@###66" + dd + "######",
            "fedex": dd + "##########",
            "yun": "YT" + dd + "##############",
        }[fmt]
        ids[sel] = template(tpl, len(sel), rng)
    return ids, op, code


def dedupe_ids(
    rng: np.random.Generator,
    ids: np.ndarray,
    origin: np.ndarray,
    service: np.ndarray,
    day: int,
    used: set[str],
) -> np.ndarray:
    for _ in range(50):
        dup = pd.Series(ids).duplicated().to_numpy() | np.fromiter(
            (i in used for i in ids), bool, len(ids)
        )
        if not dup.any():
            return ids
        new, _, _ = ids_and_operators(rng, origin[dup], service[dup], day)
        ids[dup] = new
    raise RuntimeError("could not make item ids unique")


def routing(
    rng: np.random.Generator, origin: np.ndarray, dest: np.ndarray, express: np.ndarray
) -> np.ndarray:
    n = len(origin)
    hub = np.array(EXPRESS_HUBS, dtype=object)[rng.integers(0, len(EXPRESS_HUBS), n)]
    via = express & (rng.random(n) < 0.7) | (~express & (rng.random(n) < 0.15))
    hub = np.where(~express, np.array(["NL", "DE", "BE"], dtype=object)[rng.integers(0, 3, n)], hub)
    via &= (hub != origin) & (hub != dest)
    route = np.where(via, origin + "|" + hub + "|" + dest, origin + "|" + dest)
    route = np.where(origin == dest, origin, route)
    route[rng.random(n) < 0.15] = None
    return route


def _fmt_params(codes: np.ndarray) -> dict[str, np.ndarray]:
    out: dict[str, list[float]] = {f: [] for f in Formatting.__dataclass_fields__}
    uniq, inv = np.unique(codes.astype(str), return_inverse=True)
    for c in uniq:
        f = OPERATOR_FORMATS.get(str(c), DEFAULT_FORMAT)
        for k in out:
            out[k].append(getattr(f, k))
    return {k: np.asarray(v)[inv] for k, v in out.items()}


def _apply(values: np.ndarray, mask: np.ndarray, op: str, *args: str) -> None:
    """Apply a pandas string method to the masked entries only (in place)."""
    if mask.any():
        sub = pd.Series(values[mask], dtype="str").str
        values[mask] = getattr(sub, op)(*args).to_numpy(dtype=object)


def _names(values: np.ndarray, u: np.ndarray, f: dict[str, np.ndarray]) -> np.ndarray:
    out = np.array(values, dtype=object)
    up = u < f["upper_names"]
    low = (u >= f["upper_names"]) & (u < f["upper_names"] + f["lower_names"])
    ini = np.flatnonzero(u >= 1 - f["initials"])
    if len(ini):
        two = pd.Series(out[ini], dtype="str").str.fullmatch(r"[^\W\d_]+ [^\W\d_]+")
        ini = ini[two.fillna(False).to_numpy(dtype=bool)]
        mask = np.zeros(len(out), bool)
        mask[ini] = True
        if mask.any():
            sub = pd.Series(out[mask], dtype="str")
            out[mask] = sub.str.replace(r"^(\w)\w*\s", r"\1. ", regex=True).to_numpy(dtype=object)
    _apply(out, up, "upper")
    _apply(out, low, "lower")
    return out


def _cities(values: np.ndarray, u: np.ndarray, f: dict[str, np.ndarray]) -> np.ndarray:
    out = np.array(values, dtype=object)
    _apply(out, u < f["upper_cities"], "upper")
    return out


def _descriptions(values: np.ndarray, u: np.ndarray, f: dict[str, np.ndarray]) -> np.ndarray:
    out = np.array(values, dtype=object)
    ab = u[:, 1] < f["abbreviate"]
    if ab.any():
        sub = pd.Series(out[ab], dtype="str").str.replace(
            _ABBREV, lambda m: ABBREVIATIONS[m.group(0).lower()], case=False, regex=True
        )
        out[ab] = sub.to_numpy(dtype=object)
    up = u[:, 0] < f["upper_desc"]
    low = (u[:, 0] >= f["upper_desc"]) & (u[:, 0] < f["upper_desc"] + f["lower_desc"])
    _apply(out, up, "upper")
    _apply(out, low, "lower")
    return out


def _weights(w: np.ndarray, f: dict[str, np.ndarray]) -> np.ndarray:
    dec = np.where(w >= 1.0, f["heavy_decimals"], f["weight_decimals"]).astype(int)
    out = np.round(w, 3)
    for d in (2, 1):
        sel = dec == d
        out[sel] = np.round(w[sel], d)
    return np.where(out <= 0, 0.001, out)


def assemble(
    ctx: GenerationContext,
    blocks: list[dict[str, np.ndarray]],
    rng: np.random.Generator,
    day: int,
    used_ids: set[str],
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """One day's manifest frame (schema order) and the hidden per-row arrays (truth)."""
    b = {k: np.concatenate([blk[k] for blk in blocks]) for k in BLOCK_KEYS}
    n = len(b["ts"])
    order = np.lexsort((rng.permutation(n), b["ts"]))
    b = {k: v[order] for k, v in b.items()}
    s_tab, r_tab = ctx.senders.table(), ctx.recipients.table()
    raw_weight = np.clip(b["weight"].astype("float64"), 0.001, 99.0)
    cur = b["currency"]
    from parcelrisk.synthetic.constants import CURRENCY_EUR_RATES

    rate = pd.Series(cur).map(CURRENCY_EUR_RATES).to_numpy(dtype="float64")
    value = np.round(np.maximum(b["value_eur"].astype("float64"), 0) * rate, 2)
    value = np.where(rate > 50, np.round(value, 0), value)
    service = services(rng, {**b, "weight": raw_weight})
    origin = b["origin"].astype(object)
    ids, op, op_code = ids_and_operators(rng, origin, service, day)
    ids = dedupe_ids(rng, ids, origin, service, day, used_ids)
    hs = b["hs"].astype(object)
    u_hs = rng.random(n)
    hs[(service != "express") & (u_hs < 0.25)] = None
    hs[(service == "express") & (u_hs < 0.04)] = None
    block6 = (b["ts"] % DAY_US) // (6 * 3600 * US)
    dstr = pd.Timestamp(ctx.start_us + day * DAY_US, unit="us").strftime("%Y%m%d")
    manifest = op_code + f"-{dstr}-" + block6.astype(str).astype(object)
    dest = r_tab["country"][b["recipient"]]
    route = routing(rng, origin, dest, service == "express")
    f = _fmt_params(op_code)
    u = rng.random((n, 6))
    cols = {
        M.item_id: ids,
        M.manifest_id: manifest,
        M.operator: op,
        M.service: service,
        M.declared_at: pd.to_datetime(b["ts"], unit="us", utc=True).astype("datetime64[us, UTC]"),
        M.sender_name: _names(s_tab["name"][b["sender"]], u[:, 0], f),
        M.sender_address: s_tab["address"][b["sender"]],
        M.sender_city: _cities(s_tab["city"][b["sender"]], u[:, 1], f),
        M.sender_postcode: s_tab["postcode"][b["sender"]],
        M.sender_country: s_tab["country"][b["sender"]],
        M.recipient_name: _names(r_tab["name"][b["recipient"]], u[:, 2], f),
        M.recipient_address: r_tab["address"][b["recipient"]],
        M.recipient_city: _cities(r_tab["city"][b["recipient"]], u[:, 3], f),
        M.recipient_postcode: r_tab["postcode"][b["recipient"]],
        M.recipient_country: dest,
        M.recipient_phone: r_tab["phone"][b["recipient"]],
        M.recipient_email: r_tab["email"][b["recipient"]],
        M.description: _descriptions(b["desc"], u[:, 4:6], f),
        M.hs_code: hs,
        M.quantity: b["qty"].astype("float64"),
        M.declared_value: value,
        M.currency: cur,
        M.gross_weight_kg: _weights(raw_weight, f),
        M.item_category: b["category"],
        M.origin_country: origin,
        M.routing_countries: route,
    }
    frame = pd.DataFrame(
        {
            c: (pd.Series(v, dtype="str") if isinstance(v, np.ndarray) and v.dtype == object else v)
            for c, v in cols.items()
        }
    )
    for c in (M.quantity, M.declared_value, M.gross_weight_kg):
        frame[c] = frame[c].astype("float64")
    s_ent = np.where(b["s_entity"] >= 0, b["s_entity"], s_tab["entity"][b["sender"]])
    r_ent = np.where(b["r_entity"] >= 0, b["r_entity"], r_tab["entity"][b["recipient"]])
    hidden = {
        "pattern": b["pattern"],
        "actor": b["actor"],
        "sender_entity": s_ent.astype("int64"),
        "recipient_entity": r_ent.astype("int64"),
        "service": service,
        "ts": b["ts"].astype("int64"),
    }
    return frame[MANIFEST_COLUMNS], hidden
