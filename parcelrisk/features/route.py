"""Route: origin, reshipping and country groups (``features/countries.yaml``)."""

from __future__ import annotations

import pandas as pd

from parcelrisk.reference import ReferenceData
from parcelrisk.schema import ManifestSchema as M


def descriptions(ref: ReferenceData) -> dict[str, str]:
    out = {
        "reshipped": "the sender's country differs from the country where the item entered the network",
        "routing_hops": "number of countries the item is routed through",
    }
    out |= {
        f"origin_{g}": f"origin country is in the group '{g.replace('_', ' ')}'"
        for g in ref.country_groups
    }
    return out


def route_features(X: pd.DataFrame, ref: ReferenceData) -> pd.DataFrame:
    origin = (
        X[M.origin_country].fillna(X[M.sender_country])
        if M.origin_country in X
        else X[M.sender_country]
    )
    routing = (
        X[M.routing_countries]
        if M.routing_countries in X
        else pd.Series(pd.NA, index=X.index, dtype="str")
    )
    out = {
        "reshipped": (origin.ne(X[M.sender_country])).fillna(False).astype("int8"),
        "routing_hops": (routing.str.count(r"\|") + 1).fillna(0).astype("float32"),
    }
    for group, members in ref.country_groups.items():
        out[f"origin_{group}"] = origin.isin(members).astype("int8")
    return pd.DataFrame(out, index=X.index)
