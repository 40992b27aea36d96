"""Documented parameters of the synthetic world (the README of data/synthetic/ quotes them).

Origin mixes, flow shares, prevalence, detection, label noise, the actors' reaction
probabilities and the volume profiles. Change them here; every module reads them from here.
"""

from __future__ import annotations

#: Seed of the committed sample in ``data/synthetic/`` (see :func:`make_sample`).
SAMPLE_SEED = 20261124
#: Seed of the per-country Faker pools of names, streets, cities and companies. Fixed: every
#: world draws its parties from the same pools (building them takes seconds), its own seed
#: decides which names it draws.
POOL_SEED = 20260101

#: Units of currency per 1 EUR. ECB euro foreign exchange reference rates, 2025 annual averages,
#: rounded to 4 significant digits; the same figures as ``features/currency_rates.yaml``.
CURRENCY_EUR_RATES: dict[str, float] = {
    "EUR": 1.0, "USD": 1.082, "GBP": 0.8466, "CNY": 7.811, "HKD": 8.453, "JPY": 163.2,
    "CHF": 0.9526, "CAD": 1.482, "AUD": 1.645, "INR": 92.48, "PKR": 301.5, "SGD": 1.455,
    "TRY": 38.90, "KRW": 1520.0, "THB": 38.10, "BRL": 5.980, "MXN": 20.10, "NOK": 11.65,
}  # fmt: skip

#: Local currency of each sender country; countries not listed declare in USD.
COUNTRY_CURRENCY: dict[str, str] = {
    "CN": "CNY", "HK": "HKD", "US": "USD", "GB": "GBP", "JP": "JPY", "CH": "CHF", "CA": "CAD",
    "AU": "AUD", "IN": "INR", "PK": "PKR", "SG": "SGD", "TR": "TRY", "KR": "KRW", "TH": "THB",
    "BR": "BRL", "MX": "MXN", "NO": "NOK",
}  # fmt: skip

#: Destination mix (the importing customs union is the EU). Roughly proportional to EU B2C
#: e-commerce parcel volumes by member state (Eurostat "E-commerce by individuals", 2024,
#: weighted by population); 1% goes to non-EU addresses handled in transit.
RECIPIENT_COUNTRY_MIX: dict[str, float] = {
    "DE": 0.22, "FR": 0.15, "IT": 0.11, "ES": 0.10, "NL": 0.07, "PL": 0.07, "BE": 0.04,
    "AT": 0.035, "SE": 0.035, "PT": 0.025, "CZ": 0.025, "DK": 0.02, "IE": 0.02, "FI": 0.015,
    "HU": 0.015, "RO": 0.015, "SK": 0.01, "CH": 0.005, "NO": 0.005,
}  # fmt: skip

#: Origin of low-value e-commerce. The bulk comes from China (European Commission, COM(2025) 37
#: "A comprehensive EU toolbox for safe and sustainable e-commerce": 91% of low-value
#: consignments of 2024 from China); the rest from the other large marketplaces' hubs.
ECOMMERCE_ORIGIN_MIX: dict[str, float] = {
    "CN": 0.62, "HK": 0.06, "US": 0.08, "GB": 0.07, "TR": 0.03, "KR": 0.02, "JP": 0.015,
    "SG": 0.01, "IN": 0.015, "CH": 0.01, "CA": 0.01, "AU": 0.005, "TH": 0.005, "VN": 0.01,
    "NO": 0.005, "MX": 0.005,
}  # fmt: skip
#: Gifts between private persons: diaspora and family links (illustrative).
GIFT_ORIGIN_MIX: dict[str, float] = {
    "US": 0.15, "GB": 0.12, "TR": 0.12, "CH": 0.06, "IN": 0.06, "PK": 0.04, "BR": 0.05, "CO": 0.04,
    "PH": 0.05, "VN": 0.05, "CN": 0.06, "CA": 0.05, "AU": 0.03, "NG": 0.04, "MX": 0.03, "PE": 0.02,
    "NO": 0.02, "TH": 0.02, "EC": 0.03, "ZA": 0.03, "BD": 0.02,
}  # fmt: skip
#: Documents (letters, contracts, certificates): business and private correspondence.
DOCUMENT_ORIGIN_MIX: dict[str, float] = {
    "US": 0.25, "GB": 0.2, "CH": 0.1, "CN": 0.08, "IN": 0.06, "JP": 0.05, "CA": 0.05, "TR": 0.05,
    "AU": 0.03, "SG": 0.03, "BR": 0.03, "CO": 0.02, "NO": 0.03, "KR": 0.02, "ZA": 0.02,
    "EC": 0.01, "PE": 0.01, "TH": 0.01,
}  # fmt: skip
#: Returns of goods bought from EU shops by customers abroad.
RETURN_ORIGIN_MIX: dict[str, float] = {"GB": 0.45, "CH": 0.25, "NO": 0.15, "US": 0.1, "TR": 0.05}
#: B2B commercial samples.
SAMPLE_ORIGIN_MIX: dict[str, float] = {
    "CN": 0.4, "US": 0.15, "GB": 0.1, "JP": 0.06, "KR": 0.06, "IN": 0.08, "TR": 0.07, "CH": 0.04,
    "HK": 0.04,
}  # fmt: skip
#: Food supplements and vitamins (mostly US online retailers).
SUPPLEMENT_ORIGIN_MIX: dict[str, float] = {
    "US": 0.45, "GB": 0.1, "CH": 0.03, "IN": 0.18, "CN": 0.07, "CA": 0.04, "SG": 0.06, "PK": 0.04,
    "HK": 0.03,
}  # fmt: skip
#: Medicines with proper HS chapter 30 codes (pharmacies, personal prescriptions).
MEDICINE_ORIGIN_MIX: dict[str, float] = {
    "CH": 0.2, "GB": 0.18, "US": 0.17, "IN": 0.22, "TR": 0.08, "SG": 0.06, "CA": 0.04, "PK": 0.03,
    "BD": 0.02,
}  # fmt: skip
#: Chemicals, reagents, plant food, bath salts (laboratories, shops, hobbyists).
CHEMICAL_ORIGIN_MIX: dict[str, float] = {
    "CN": 0.45, "IN": 0.18, "US": 0.15, "GB": 0.08, "HK": 0.05, "JP": 0.04, "CH": 0.05,
}  # fmt: skip
#: Tea, coffee, spices, sweets.
FOOD_ORIGIN_MIX: dict[str, float] = {
    "CN": 0.3, "IN": 0.15, "JP": 0.1, "CO": 0.12, "TR": 0.1, "GB": 0.08, "US": 0.08, "BR": 0.04,
    "PE": 0.03, "EC": 0.05, "ZA": 0.04, "TH": 0.03, "MX": 0.02,
}  # fmt: skip

#: Incense, herbal smoking blends, ayurvedic herbs and resins (Indian and Thai exporters, Asian
#: shops): the legitimate trade traffickers hide "herbal incense" and "ayurvedic" covers in.
HERBAL_ORIGIN_MIX: dict[str, float] = {
    "IN": 0.4, "TH": 0.15, "CN": 0.12, "JP": 0.08, "US": 0.1, "GB": 0.05, "NP": 0.05, "ID": 0.05,
}  # fmt: skip
#: Garden supplies: fertiliser, plant food, hydroponics nutrients.
GARDEN_ORIGIN_MIX: dict[str, float] = {
    "CN": 0.45, "US": 0.2, "GB": 0.15, "IN": 0.08, "CA": 0.07, "TR": 0.05,
}  # fmt: skip
#: Bath and body products: bath salts, bath bombs, Epsom salt, shower gels.
BATH_ORIGIN_MIX: dict[str, float] = {
    "GB": 0.25, "US": 0.2, "CN": 0.25, "IN": 0.12, "TR": 0.08, "KR": 0.05, "IL": 0.05,
}  # fmt: skip
#: Household cleaning products (cleaners, solvents, removers).
CLEANING_ORIGIN_MIX: dict[str, float] = {
    "CN": 0.45, "GB": 0.2, "US": 0.15, "TR": 0.1, "CH": 0.05, "HK": 0.05,
}  # fmt: skip
#: Sweets, chocolate, gummies, snacks sold online (US candy shops, British and Turkish sweets).
SWEETS_ORIGIN_MIX: dict[str, float] = {
    "US": 0.3, "GB": 0.2, "TR": 0.15, "CH": 0.08, "JP": 0.08, "KR": 0.07, "CA": 0.07, "CN": 0.05,
}  # fmt: skip
#: E-cigarettes, vaporisers and their accessories (Shenzhen makers, US and Canadian shops).
VAPE_ORIGIN_MIX: dict[str, float] = {"CN": 0.55, "US": 0.15, "GB": 0.12, "CA": 0.1, "HK": 0.08}
#: EU-registered sellers shipping from warehouses outside the EU (the sender looks domestic).
EU_SELLER_WAREHOUSES: dict[str, float] = {"GB": 0.45, "CH": 0.2, "NO": 0.1, "TR": 0.15, "RS": 0.1}
#: EU countries of those sellers (and of the reshipping pattern's fake domestic senders).
EU_SELLER_COUNTRIES: dict[str, float] = {"DE": 0.3, "NL": 0.25, "ES": 0.15, "BE": 0.1, "PL": 0.2}

#: Shares of legitimate traffic by flow (of the legitimate items); illustrative, chosen so that
#: e-commerce dominates as in EU postal imports and so that every cover story traffickers use
#: is also a real, larger legitimate trade (the de-separation of issue 13).
LEGIT_SHARES: dict[str, float] = {
    "ecommerce": 0.604, "gift": 0.07, "documents": 0.07, "supplements": 0.05, "samples": 0.03,
    "returns": 0.025, "food": 0.025, "sweets": 0.02, "chemicals": 0.016, "garden": 0.013,
    "cleaning": 0.015, "bath": 0.013, "herbal": 0.015, "medicines": 0.012, "vape": 0.012,
    "eu_seller": 0.01,
}  # fmt: skip
#: Share of e-commerce items consigned by a freight forwarder / consolidator (the forwarder is
#: the sender of record for many sellers).
FORWARDER_SHARE = 0.12

#: Share of illicit items among all items. Default 0.3%, the upper end the issue allows; the
#: plausible range for a seizure-rich postal stream is 0.1-1% (EMCDDA/Europol "Drugs and the
#: darknet", 2017; UPU/WCO postal guidance describe post as a minor share of volume but a
#: persistent channel).
ILLICIT_RATE = 0.003

#: Share of each illicit pattern among illicit items; the functions of the same name in
#: :mod:`parcelrisk.synthetic.patterns` say why and cite their source.
PATTERN_SHARES: dict[str, float] = {
    "darknet_vendor": 0.20, "nps_precursor": 0.08, "cathinone_bulk": 0.04,
    "rx_as_supplement": 0.12, "concealment": 0.08, "drop_address": 0.07, "parcel_locker": 0.05,
    "split_shipment": 0.05, "no_red_flag": 0.10, "cannabis_edibles": 0.08,
    "nitazene_letters": 0.04, "gbl_cleaning": 0.03, "eu_reshipping": 0.03,
    "freight_forwarder": 0.03,
}  # fmt: skip

#: Probability that an inspection finds the contraband, before concealment and service. A
#: physical examination without scanner or dog misses some drugs (WCO/UPU guidance); the
#: figure is illustrative.
DETECTION_BASE = 0.85
#: Detection multiplier by pattern (1 = as easy as it gets: a bag of powder in a box).
CONCEALMENT_FACTOR: dict[str, float] = {
    "darknet_vendor": 0.9, "nps_precursor": 1.0, "cathinone_bulk": 1.0, "rx_as_supplement": 0.95,
    "concealment": 0.5, "drop_address": 0.85, "parcel_locker": 0.85, "split_shipment": 0.9,
    "no_red_flag": 0.7, "cannabis_edibles": 0.8, "nitazene_letters": 0.6, "gbl_cleaning": 0.75,
    "eu_reshipping": 0.85, "freight_forwarder": 0.75,
}  # fmt: skip
#: Detection multiplier by service: letters are opened quickly and blotters or thin sachets
#: are missed; express items pass scanners with their data.
SERVICE_DETECTION: dict[str, float] = {
    "letter": 0.8, "small_packet": 0.95, "parcel": 1.0, "ems": 1.0, "express": 1.05,
}  # fmt: skip
#: Label noise: share of inspections of legitimate items recorded as a seizure (other
#: contraband: undeclared tobacco, counterfeits, prohibited medicines for personal use).
LABEL_NOISE_RATE = 0.001

#: Intelligence of the legacy unit: share of actors of each pattern known to it (watch-list),
#: share of other senders wrongly suspected, and the probability a watched entity's item is
#: inspected. Known actors are fixed when they appear (a watch-list that does not learn).
INTELLIGENCE: dict[str, float] = {
    "darknet_vendor": 0.4, "nps_precursor": 0.2, "rx_as_supplement": 0.2, "cathinone_bulk": 0.2,
    "drop_address": 0.3, "parcel_locker": 0.2, "false_share": 0.002, "inspect_p": 0.4,
}  # fmt: skip

#: Relative volume by weekday (Monday first): flights and sorting run on weekdays.
WEEKDAY_PROFILE = (1.0, 1.0, 1.0, 1.0, 1.0, 0.6, 0.35)
#: Relative volume by month (January first), mean 1: the November-December e-commerce peak
#: (Singles' Day, Black Friday, Christmas) and a quiet summer. Shape after UPU and EU postal
#: statistics of cross-border e-commerce (illustrative).
YEARLY_PROFILE = (0.95, 0.88, 0.95, 0.93, 0.93, 0.88, 0.85, 0.85, 0.95, 1.02, 1.35, 1.46)

#: Actors: log-normal median and sigma of the number of items an actor ever sends (rounded up,
#: capped); most send 1-5 items, a few hundreds. Median by pattern where it differs.
ACTOR_VOLUME_SIGMA = 1.5
ACTOR_VOLUME_CAP = 600
#: Items per day an actor sends while active: log-normal median and sigma.
ACTOR_RATE = (0.6, 0.6)
#: Longest activity window of an actor, days.
ACTOR_MAX_DAYS = 180
#: Scheduled drift (independent of seizures): share of persistent actors (volume of at least
#: ``DRIFT_MIN_VOLUME`` items) that change origin country or cover story half-way through their
#: activity. Realised exactly: round(share x eligible actors) of each cohort.
DRIFT_SHARE = 0.3
DRIFT_MIN_VOLUME = 10

#: Reactions to a seizure known to the actor, each decided per known seizure with a
#: low-discrepancy sequence so the realised shares match these within one event:
#: ``identity_new`` a new name and address, ``identity_variation`` a spelling or address variation
#: of the current one (exclusive with new), ``cover`` another cover story, ``origin`` another
#: origin country (with a new identity there), ``drop`` another drop address or locker (actors on
#: the recipient side). Illustrative; Europol *EU SOCTA* (2021) and EMCDDA/Europol *Drugs and the
#: darknet* (2017) describe such adaptation after seizures.
REACTION_PROBABILITIES: dict[str, float] = {
    "identity_new": 0.35, "identity_variation": 0.25, "cover": 0.3, "origin": 0.2, "drop": 0.6,
}  # fmt: skip
#: Days between an inspection (``inspected_at``) and the moment the actor learns of the seizure
#: (buyer's complaint, tracking status, seizure letter): uniform integer range, inclusive.
AWARENESS_DELAY_DAYS = (3, 14)
#: Market takedowns: probability per day, and share of the active darknet vendors displaced to
#: new identities and covers (realised exactly) when one happens.
TAKEDOWN_RATE_PER_DAY = 1 / 60
TAKEDOWN_SHARE = 0.5
