"""The persistent state one world draws its parties and timestamps from (not a public API)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from parcelrisk.synthetic._util import DAY_US, US, mix
from parcelrisk.synthetic.actors import _contacts, _Parties, _people, _Pool, _postcodes
from parcelrisk.synthetic.constants import RECIPIENT_COUNTRY_MIX
from parcelrisk.synthetic.vocabulary import Vocabulary, vocabulary

#: Parcel-locker networks recipients use (and drops hide in): country, address prefix, share of
#: that country's consumers receiving at a locker.
LOCKER_NETWORKS: dict[str, tuple[str, float]] = {
    "DE": ("Packstation", 0.06), "PL": ("Paczkomat", 0.12), "FR": ("Relais Locker", 0.03),
}  # fmt: skip


@dataclass
class GenerationContext:
    """Pools, party tables, consumer population and the day being generated."""

    pools: dict[str, _Pool]
    start_us: int
    today: int = 0
    senders: _Parties = field(default_factory=_Parties)
    recipients: _Parties = field(default_factory=_Parties)
    consumers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="int64"))
    consumer_p: np.ndarray = field(default_factory=lambda: np.zeros(0))
    businesses: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="int64"))
    lockers: dict[str, np.ndarray] = field(default_factory=dict)  # column -> per locker
    vocab: Vocabulary = field(default_factory=vocabulary)
    forwarders: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="int64"))
    forwarder_origin: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))

    def times(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Timestamps (µs since epoch) on :attr:`today`; manifests arrive with flights."""
        u = rng.random(n)
        hour = np.where(u < 0.55, rng.normal(6.5, 2.0, n), rng.normal(15.0, 3.0, n)) % 24
        sec = (hour * 3600).astype("int64")
        return self.start_us + self.today * DAY_US + sec * US

    def consumer(self, rng: np.random.Generator, n: int, *, uniform: bool = False) -> np.ndarray:
        """Recipient rows of persistent consumers (activity-weighted, or uniform)."""
        if uniform:
            return self.consumers[rng.integers(0, len(self.consumers), n)]
        return self.consumers[rng.choice(len(self.consumers), size=n, p=self.consumer_p)]

    def business(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.businesses[rng.integers(0, len(self.businesses), n)]

    def one_off_recipients(self, rng: np.random.Generator, n: int) -> np.ndarray:
        countries = mix(rng, RECIPIENT_COUNTRY_MIX, n)
        people = _people(self.pools, countries, rng)
        people["phone"], people["email"] = _contacts(people["name"], countries, rng, 0.5, 0.4)
        return self.recipients.add(people)

    def new_senders(
        self, rng: np.random.Generator, countries: np.ndarray, company: float
    ) -> np.ndarray:
        return self.senders.add(_people(self.pools, countries, rng, company=company))


def build_context(
    rng: np.random.Generator, pools: dict[str, _Pool], start_us: int, items_per_day: float
) -> GenerationContext:
    """Consumers (heavy-tailed activity, households, parcel lockers) and EU businesses."""
    ctx = GenerationContext(pools=pools, start_us=start_us)
    n_cons = int(max(800, 12 * items_per_day))
    countries = mix(rng, RECIPIENT_COUNTRY_MIX, n_cons)
    people = _people(pools, countries, rng)
    share = rng.random(n_cons) < 0.1  # household members at the same address
    src = rng.integers(0, n_cons, int(share.sum()))
    for key in ("address", "city", "postcode", "country"):
        people[key][share] = people[key][src]
    locker_cols: dict[str, list[object]] = {
        "address": [],
        "city": [],
        "postcode": [],
        "country": [],
    }
    u = rng.random(n_cons)
    for country, (prefix, p) in LOCKER_NETWORKS.items():
        at = (people["country"] == country) & (u < p)
        n_lockers = max(3, int(n_cons * RECIPIENT_COUNTRY_MIX[country] * p / 40))
        pool = pools[country]
        no = (100 + np.arange(n_lockers) * 7).astype(str).astype(object)
        city = pool.city[np.arange(n_lockers) % len(pool.city)]
        pc = _postcodes(country, n_lockers, rng)
        which = rng.integers(0, n_lockers, int(at.sum()))
        people["address"][at] = prefix + " " + no[which]
        people["city"][at] = city[which]
        people["postcode"][at] = pc[which]
        locker_cols["address"] += list(prefix + " " + no)
        locker_cols["city"] += list(city)
        locker_cols["postcode"] += list(pc)
        locker_cols["country"] += [country] * n_lockers
    ctx.lockers = {k: np.array(v, dtype=object) for k, v in locker_cols.items()}
    people["phone"], people["email"] = _contacts(people["name"], people["country"], rng, 0.75, 0.65)
    ctx.consumers = ctx.recipients.add(people)
    activity = np.exp(1.3 * rng.standard_normal(n_cons))
    ctx.consumer_p = activity / activity.sum()
    n_bus = int(max(150, items_per_day / 10))
    bcountries = mix(rng, RECIPIENT_COUNTRY_MIX, n_bus)
    biz = _people(pools, bcountries, rng, company=1.0)
    biz["phone"], biz["email"] = _contacts(biz["name"], bcountries, rng, 0.9, 0.8)
    ctx.businesses = ctx.recipients.add(biz)
    return ctx
