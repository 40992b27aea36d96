"""Parties and addresses: placeholder names, pick-up points, business senders, postcode checks.

Placeholder names follow the EU ICS2 party stop words ("private", "unknown",
"N/A"); postcode formats come from the UPU addressing sheets, both via
``features/thresholds.yaml`` and ``features/countries.yaml``.
"""

from __future__ import annotations

import pandas as pd

from parcelrisk.reference import ReferenceData, normalise_text
from parcelrisk.schema import ManifestSchema as M

DESCRIPTIONS = {
    "sender_name_placeholder": "the sender name identifies nobody (placeholder, one word or digits)",
    "recipient_name_placeholder": "the recipient name identifies nobody (placeholder, one word or digits)",
    "recipient_pick_up_point": "delivered to a PO box, parcel locker or pick-up point",
    "sender_is_business": "the sender is a business",
    "sender_postcode_mismatch": "the sender postcode does not fit the origin country's format",
}


def _column(X: pd.DataFrame, name: str) -> pd.Series:
    return X[name] if name in X else pd.Series(pd.NA, index=X.index, dtype="str")


def _placeholder(names: pd.Series, ref: ReferenceData) -> pd.Series:
    norm = normalise_text(names)
    placeholders = set(
        normalise_text(pd.Series(ref.thresholds["placeholder_party_names"], dtype="str"))
    )
    single_word = norm.ne("") & ~norm.str.contains(" ", regex=False)
    digits = norm.str.fullmatch(r"[\d ]+").fillna(False)
    return (norm.isin(placeholders) | norm.eq("") | single_word | digits).astype("int8")


def party_features(X: pd.DataFrame, ref: ReferenceData) -> pd.DataFrame:
    address = normalise_text(
        _column(X, M.recipient_address).fillna("") + " " + _column(X, M.recipient_name).fillna("")
    )
    sender = normalise_text(_column(X, M.sender_name))
    postcode = _column(X, M.sender_postcode).str.upper().str.strip()
    country = _column(X, M.origin_country).fillna(_column(X, M.sender_country))
    formats = country.map(ref.postcode_formats)
    mismatch = pd.Series(False, index=X.index)
    checkable = postcode.notna() & formats.notna()
    for pattern, idx in postcode[checkable].groupby(formats[checkable]).groups.items():
        mismatch[idx] = ~postcode[idx].str.fullmatch(str(pattern)).fillna(False)
    return pd.DataFrame(
        {
            "sender_name_placeholder": _placeholder(_column(X, M.sender_name), ref),
            "recipient_name_placeholder": _placeholder(_column(X, M.recipient_name), ref),
            "recipient_pick_up_point": address.str.contains(
                ref.thresholds["pick_up_point_pattern"], regex=True
            ).astype("int8"),
            "sender_is_business": sender.str.contains(
                ref.thresholds["business_name_pattern"], regex=True
            ).astype("int8"),
            "sender_postcode_mismatch": mismatch.astype("int8"),
        },
        index=X.index,
    )
