"""The manifest record: column names, types and rules, in one place.

Every other module takes its column names from the schemas here
(``ManifestSchema.item_id`` is the string ``"item_id"``), so a column is named
exactly once in the code base.

The record follows the electronic advance data that postal and express
operators send to customs:

* **EU ICS2** house-consignment data (the PLACI "7+1" minimum data set and the
  ENS filing: consignor, consignee, goods description, HS code, gross mass);
* **UPU ITMATT** (the item attribute message that carries the CN22/CN23 data
  electronically between posts, with the S10 item identifier);
* **UPU CN22/CN23** customs declaration (contents description, quantity,
  value, weight, category of item: gift, documents, commercial sample,
  returned goods, sale of goods, other).

Coercion (trimming, upper-casing codes, date parsing) happens in
:mod:`parcelrisk.validate` before these schemas check the result.

Examples
--------
>>> ManifestSchema.item_id
'item_id'
>>> sorted(REQUIRED_COLUMNS)[:3]
['declared_at', 'description', 'gross_weight_kg']
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import DataFrame, Series

__all__ = [
    "ManifestSchema",
    "LabelSchema",
    "TruthSchema",
    "RejectSchema",
    "Manifest",
    "Rejects",
    "SERVICES",
    "ITEM_CATEGORIES",
    "SELECTION_SOURCES",
    "OUTCOMES",
    "REQUIRED_COLUMNS",
    "MANIFEST_COLUMNS",
    "LABEL_COLUMNS",
    "TRUTH_COLUMNS",
    "DATETIME_COLUMNS",
    "NUMERIC_COLUMNS",
    "COUNTRY_COLUMNS",
]

#: UPU / express service levels (ITMATT mail class, simplified).
SERVICES = ("letter", "small_packet", "parcel", "ems", "express")
#: CN23 "category of item" boxes.
ITEM_CATEGORIES = (
    "gift",
    "documents",
    "commercial_sample",
    "returned_goods",
    "sale_of_goods",
    "other",
)
#: Why an item was inspected; empty when it was not.
SELECTION_SOURCES = ("rule", "officer", "random", "intelligence")
#: What the inspection found; empty when not inspected.
OUTCOMES = ("seizure", "no_finding")

_ISO2 = r"^[A-Z]{2}$"
_ISO4217 = r"^[A-Z]{3}$"
_ROUTING = r"^[A-Z]{2}(\|[A-Z]{2})*$"


class ManifestSchema(pa.DataFrameModel):
    """One row per postal or express item, as declared before arrival.

    Identification
        item_id : str, required, unique in a manifest. UPU S10 identifier
            (``RR123456785DE``: 2 letters service, 8 digits, check digit,
            ISO country of the issuing post) for postal items; the carrier's
            tracking number for express. Source: UPU S10, ICS2 transport
            document number.
        manifest_id : str. The operator's message or batch reference (ITMATT
            message id, ICS2 ENS/house filing id).
        operator : str. Postal designated operator or express carrier.
        service : str, one of :data:`SERVICES`. ITMATT mail class.
        declared_at : timestamp, required. When customs received the record;
            every history aggregate is "as known at declared_at".
    Parties (CN23 sender / addressee; ICS2 consignor / consignee)
        sender_name, sender_address, sender_city, sender_postcode : str.
        sender_country : str, required, ISO 3166-1 alpha-2.
        recipient_name, recipient_address, recipient_city,
        recipient_postcode : str.
        recipient_country : str, required, ISO 3166-1 alpha-2.
        recipient_phone, recipient_email : str, optional (ICS2 asks for the
            consignee's contact details where known).
    Goods (CN23 contents; ICS2 goods item)
        description : str, required. Plain-language description of contents.
        hs_code : str, optional. Harmonized System code, normally 6 to 10
            digits (ICS2 requires 6 for most filings); dots and spaces are
            removed. Malformed codes are kept and flagged by the features.
        quantity : float, optional, > 0.
        declared_value : float, >= 0, in ``currency``.
        currency : str, ISO 4217.
        gross_weight_kg : float, required, > 0.
        item_category : str, one of :data:`ITEM_CATEGORIES` (CN23 box).
    Route
        origin_country : str, ISO 3166-1 alpha-2. Where the item entered the
            postal/express network (UPU origin post; ICS2 country of
            dispatch). May differ from ``sender_country`` (reshipping).
        routing_countries : str, optional. ISO codes separated by ``|``
            (ICS2 "countries of routing of consignment").
    """

    item_id: Series[str] = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 64})
    manifest_id: Series[str] | None = pa.Field(nullable=True)
    operator: Series[str] | None = pa.Field(nullable=True)
    service: Series[str] | None = pa.Field(nullable=True, isin=list(SERVICES))
    declared_at: Series[pd.DatetimeTZDtype] = pa.Field(
        nullable=False, dtype_kwargs={"unit": "us", "tz": "UTC"}
    )

    sender_name: Series[str] | None = pa.Field(nullable=True)
    sender_address: Series[str] | None = pa.Field(nullable=True)
    sender_city: Series[str] | None = pa.Field(nullable=True)
    sender_postcode: Series[str] | None = pa.Field(nullable=True)
    sender_country: Series[str] = pa.Field(nullable=False, str_matches=_ISO2)

    recipient_name: Series[str] | None = pa.Field(nullable=True)
    recipient_address: Series[str] | None = pa.Field(nullable=True)
    recipient_city: Series[str] | None = pa.Field(nullable=True)
    recipient_postcode: Series[str] | None = pa.Field(nullable=True)
    recipient_country: Series[str] = pa.Field(nullable=False, str_matches=_ISO2)
    recipient_phone: Series[str] | None = pa.Field(nullable=True)
    recipient_email: Series[str] | None = pa.Field(nullable=True)

    description: Series[str] = pa.Field(nullable=False, str_length={"min_value": 1})
    # Not checked here: a malformed HS code is a risk signal (a feature), not a reason to drop the item.
    hs_code: Series[str] | None = pa.Field(nullable=True, str_length={"max_value": 32})
    quantity: Series[float] | None = pa.Field(nullable=True, gt=0)
    declared_value: Series[float] | None = pa.Field(nullable=True, ge=0, lt=1e9)
    currency: Series[str] | None = pa.Field(nullable=True, str_matches=_ISO4217)
    gross_weight_kg: Series[float] = pa.Field(nullable=False, gt=0, lt=100_000)
    item_category: Series[str] | None = pa.Field(nullable=True, isin=list(ITEM_CATEGORIES))

    origin_country: Series[str] | None = pa.Field(nullable=True, str_matches=_ISO2)
    routing_countries: Series[str] | None = pa.Field(nullable=True, str_matches=_ROUTING)

    class Config:
        coerce = False  # coercion is done (and its failures reported) in validate.py
        strict = False  # label and truth columns may ride along


class LabelSchema(pa.DataFrameModel):
    """Outcome columns, present only in training data.

    inspected : bool. Whether the item was physically examined.
    selection_source : str, one of :data:`SELECTION_SOURCES`, empty when not
        inspected. The random control sample is the unbiased one.
    inspected_at : timestamp. When the outcome became known to the history
        (after ``declared_at``); features may use it only for later items.
    outcome : str, one of :data:`OUTCOMES`, empty when not inspected.
    selection_propensity : float. Probability that the logging policy selected the
        item (exact when the policy is known, e.g. the synthetic legacy policy).
    """

    inspected: Series[bool] | None = pa.Field(nullable=False)
    selection_source: Series[str] | None = pa.Field(nullable=True, isin=list(SELECTION_SOURCES))
    inspected_at: Series[pd.DatetimeTZDtype] | None = pa.Field(
        nullable=True, dtype_kwargs={"unit": "us", "tz": "UTC"}
    )
    outcome: Series[str] | None = pa.Field(nullable=True, isin=list(OUTCOMES))
    selection_propensity: Series[float] = pa.Field(nullable=True, ge=0, le=1)

    class Config:
        coerce = False
        strict = False


class TruthSchema(pa.DataFrameModel):
    """Ground truth written by the synthetic generator, for evaluation only.

    Training and feature code must never read these columns. ``truth_sender_entity`` and
    ``truth_recipient_entity`` name the real actor behind each party (stable across identity
    changes); ``truth_found_if_inspected`` is whether an inspection would record a seizure.
    """

    truth_illicit: Series[bool] = pa.Field(nullable=False)
    truth_pattern: Series[str] = pa.Field(nullable=True)
    truth_sender_entity: Series[int] = pa.Field(nullable=False)
    truth_recipient_entity: Series[int] = pa.Field(nullable=False)
    truth_found_if_inspected: Series[bool] = pa.Field(nullable=False)

    class Config:
        strict = False


class RejectSchema(pa.DataFrameModel):
    """One row per rejected input row.

    row : int. 1-based record number in the input file (header excluded).
    item_id : str. The row's item_id as read, if any.
    field : str. The failing field(s), ``;``-separated.
    reason : str. What was wrong, in words.
    """

    row: Series[int] = pa.Field(ge=1)
    item_id: Series[str] = pa.Field(nullable=True)
    field: Series[str]
    reason: Series[str]

    class Config:
        strict = True


Manifest = DataFrame[ManifestSchema]
Rejects = DataFrame[RejectSchema]


def _columns(model: type[pa.DataFrameModel]) -> list[str]:
    return list(model.to_schema().columns)


MANIFEST_COLUMNS: list[str] = _columns(ManifestSchema)
LABEL_COLUMNS: list[str] = _columns(LabelSchema)
TRUTH_COLUMNS: list[str] = _columns(TruthSchema)
REQUIRED_COLUMNS: frozenset[str] = frozenset(
    name for name, col in ManifestSchema.to_schema().columns.items() if col.required
)
DATETIME_COLUMNS: tuple[str, ...] = (ManifestSchema.declared_at, LabelSchema.inspected_at)
NUMERIC_COLUMNS: tuple[str, ...] = (
    ManifestSchema.quantity,
    ManifestSchema.declared_value,
    ManifestSchema.gross_weight_kg,
    LabelSchema.selection_propensity,  # read as a number, not text, by training and estimators
)
COUNTRY_COLUMNS: tuple[str, ...] = (
    ManifestSchema.sender_country,
    ManifestSchema.recipient_country,
    ManifestSchema.origin_country,
)
