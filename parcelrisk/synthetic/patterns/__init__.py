"""Modi operandi: one documented function per pattern, with its public source.

Each function turns the day's items of its actors (:class:`Dispatch`, states already resolved
by the world: identity, origin, cover story, drop) into rows. :data:`PATTERN_SPECS` says how the
actors of each pattern look (side, origins, cover goods, volume, identity rotation).
"""

from __future__ import annotations

from parcelrisk.synthetic.constants import PATTERN_SHARES
from parcelrisk.synthetic.patterns._base import Dispatch, PatternSpec
from parcelrisk.synthetic.patterns.concealment import (
    CONCEALMENT_COVERS,
    CONCEALMENT_ORIGINS,
    concealment,
)
from parcelrisk.synthetic.patterns.darknet import DARKNET_COVERS, DARKNET_ORIGINS, darknet_vendor
from parcelrisk.synthetic.patterns.drops import (
    DROP_COUNTRIES,
    DROP_GOODS,
    LOCKER_COUNTRIES,
    drop_address,
    parcel_locker,
)
from parcelrisk.synthetic.patterns.ecommerce_mimicry import (
    FORWARDER_COVERS,
    NO_RED_FLAG_COVERS,
    NO_RED_FLAG_ORIGINS,
    RESHIP_COVERS,
    RESHIP_IDENTITY_COUNTRIES,
    RESHIP_ORIGINS,
    eu_reshipping,
    freight_forwarder,
    no_red_flag,
)
from parcelrisk.synthetic.patterns.letters import (
    CANNABIS_COVERS,
    CANNABIS_ORIGINS,
    GBL_COVERS,
    GBL_ORIGINS,
    NITAZENE_COVERS,
    NITAZENE_ORIGINS,
    cannabis_edibles,
    gbl_cleaning,
    nitazene_letters,
)
from parcelrisk.synthetic.patterns.nps import (
    CATHINONE_COVERS,
    CATHINONE_ORIGINS,
    NPS_COVERS,
    NPS_ORIGINS,
    cathinone_bulk,
    nps_precursor,
)
from parcelrisk.synthetic.patterns.pharma import RX_COVERS, RX_ORIGINS, rx_as_supplement
from parcelrisk.synthetic.patterns.split import SPLIT_COVERS, SPLIT_ORIGINS, split_shipment

_FW_ORIGINS = {"CN": 0.5, "HK": 0.3, "US": 0.1, "GB": 0.1}  # the seller's (hidden) base

# fmt: off
PATTERN_SPECS: dict[str, PatternSpec] = {
    "darknet_vendor": PatternSpec(darknet_vendor, "sender", DARKNET_ORIGINS, DARKNET_COVERS, 4.0, 6, 0.3, 0.15),
    "nps_precursor": PatternSpec(nps_precursor, "sender", NPS_ORIGINS, NPS_COVERS, 3.0, 6, 0.9, 0.15),
    "cathinone_bulk": PatternSpec(cathinone_bulk, "sender", CATHINONE_ORIGINS, CATHINONE_COVERS, 2.5, 5, 0.9, 0.1),
    "rx_as_supplement": PatternSpec(rx_as_supplement, "sender", RX_ORIGINS, RX_COVERS, 3.0, 6, 0.6, 0.1),
    "concealment": PatternSpec(concealment, "sender", CONCEALMENT_ORIGINS, CONCEALMENT_COVERS, 2.0, 1, 0.3, 0.05),
    "drop_address": PatternSpec(drop_address, "recipient", DROP_COUNTRIES, DROP_GOODS, 5.0, 8),
    "parcel_locker": PatternSpec(parcel_locker, "recipient", LOCKER_COUNTRIES, DROP_GOODS, 4.0, 8),
    "split_shipment": PatternSpec(split_shipment, "sender", SPLIT_ORIGINS, SPLIT_COVERS, 4.0, 8, 0.5, 0.05),
    "no_red_flag": PatternSpec(no_red_flag, "sender", NO_RED_FLAG_ORIGINS, NO_RED_FLAG_COVERS, 3.0, 6, 0.8, 0.0),
    "cannabis_edibles": PatternSpec(cannabis_edibles, "sender", CANNABIS_ORIGINS, CANNABIS_COVERS, 3.0, 6, 0.5, 0.1),
    "nitazene_letters": PatternSpec(nitazene_letters, "sender", NITAZENE_ORIGINS, NITAZENE_COVERS, 3.0, 6, 0.2, 0.1),
    "gbl_cleaning": PatternSpec(gbl_cleaning, "sender", GBL_ORIGINS, GBL_COVERS, 2.5, 6, 0.7, 0.1),
    "eu_reshipping": PatternSpec(eu_reshipping, "sender", RESHIP_ORIGINS, RESHIP_COVERS, 3.0, 6, 0.4, 0.0,
                                 RESHIP_IDENTITY_COUNTRIES),
    "freight_forwarder": PatternSpec(freight_forwarder, "sender", _FW_ORIGINS, FORWARDER_COVERS, 3.0, 6, 0.9, 0.0),
}
# fmt: on
assert set(PATTERN_SPECS) == set(PATTERN_SHARES), "every pattern needs a spec"

__all__ = [
    "Dispatch",
    "PatternSpec",
    "PATTERN_SPECS",
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
