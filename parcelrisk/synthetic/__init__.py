"""Synthetic postal and express manifests from a world with a reacting illicit population.

The generator writes what a customs risk unit receives (ICS2 / ITMATT advance data, one row
per item) plus, for evaluation, what it never sees: which items were illicit, why, and the
real actor behind each party (the truth columns). :class:`World` produces the stream day by
day (:meth:`World.manifest`, :meth:`World.inspect`); actors learn of seizures after a delay
and change identity, cover story, origin or drop address. :func:`generate_manifest` is one
world run inspected by the legacy targeting policy, with labels.

Modules follow the world: ``actors`` (identities, pools), ``vocabulary`` (goods words shared by
legitimate and illicit items), ``legit`` (legitimate flows), ``patterns`` (one function per
modus operandi with its source), ``population`` (the illicit actors), ``reactions`` (drift,
takedowns, reactions to seizures), ``inspection`` (detection, label noise, legacy selection),
``assemble`` (rows, operators, formatting noise), ``world`` (the day loop), ``output``.

>>> df = generate_manifest(2_000, seed=3, days=3)
>>> len(df), df["item_id"].is_unique, bool(df["declared_at"].is_monotonic_increasing)
(2000, True, True)
"""

from __future__ import annotations

from parcelrisk.synthetic._util import s10_check_digit
from parcelrisk.synthetic.constants import (
    AWARENESS_DELAY_DAYS,
    CONCEALMENT_FACTOR,
    CURRENCY_EUR_RATES,
    DETECTION_BASE,
    DRIFT_SHARE,
    ECOMMERCE_ORIGIN_MIX,
    ILLICIT_RATE,
    LABEL_NOISE_RATE,
    LEGIT_SHARES,
    PATTERN_SHARES,
    REACTION_PROBABILITIES,
    RECIPIENT_COUNTRY_MIX,
    SAMPLE_SEED,
    SERVICE_DETECTION,
    TAKEDOWN_RATE_PER_DAY,
    TAKEDOWN_SHARE,
    WEEKDAY_PROFILE,
    YEARLY_PROFILE,
)
from parcelrisk.synthetic.inspection import detection_probability
from parcelrisk.synthetic.output import make_sample, rule_baselines, write_manifest
from parcelrisk.synthetic.patterns import (
    PATTERN_SPECS,
    cannabis_edibles,
    cathinone_bulk,
    concealment,
    darknet_vendor,
    drop_address,
    eu_reshipping,
    freight_forwarder,
    gbl_cleaning,
    nitazene_letters,
    no_red_flag,
    nps_precursor,
    parcel_locker,
    rx_as_supplement,
    split_shipment,
)
from parcelrisk.synthetic.world import (
    World,
    WorldConfig,
    generate_manifest,
    legacy_run,
    volume_profile,
)

__all__ = [
    "World",
    "WorldConfig",
    "generate_manifest",
    "legacy_run",
    "write_manifest",
    "make_sample",
    "rule_baselines",
    "s10_check_digit",
    "volume_profile",
    "detection_probability",
    "SAMPLE_SEED",
    "CURRENCY_EUR_RATES",
    "RECIPIENT_COUNTRY_MIX",
    "ECOMMERCE_ORIGIN_MIX",
    "LEGIT_SHARES",
    "ILLICIT_RATE",
    "PATTERN_SHARES",
    "PATTERN_SPECS",
    "DETECTION_BASE",
    "CONCEALMENT_FACTOR",
    "SERVICE_DETECTION",
    "LABEL_NOISE_RATE",
    "REACTION_PROBABILITIES",
    "AWARENESS_DELAY_DAYS",
    "DRIFT_SHARE",
    "TAKEDOWN_RATE_PER_DAY",
    "TAKEDOWN_SHARE",
    "WEEKDAY_PROFILE",
    "YEARLY_PROFILE",
    "cannabis_edibles",
    "cathinone_bulk",
    "concealment",
    "darknet_vendor",
    "drop_address",
    "eu_reshipping",
    "freight_forwarder",
    "gbl_cleaning",
    "nitazene_letters",
    "no_red_flag",
    "nps_precursor",
    "parcel_locker",
    "rx_as_supplement",
    "split_shipment",
]
