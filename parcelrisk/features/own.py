"""A unit's own declared columns as model features (see :mod:`parcelrisk.extra_columns`).

* numeric: the number, as validated.
* categorical: a LightGBM categorical whose levels are the values seen at least
  :data:`MIN_LEVEL_COUNT` times in the training rows (at most :data:`MAX_LEVELS`, the most
  frequent); rarer and unseen values share the catch-all level, as the built-in categoricals
  do. LightGBM's ``min_data_per_group`` and ``cat_smooth`` (``features/model_params.yaml``)
  keep a level with a few seizures from deciding a split on its own.
* identifier and text: the same, over keyed hashes (HMAC-SHA256 with the store's secret, the
  code that keys senders) of the value (text: of its normalised form), so the model holds no
  identifier or text in clear. Without the training secret the keys would all be unseen:
  :func:`check_secret` refuses that.

Levels are fixed at training and stored in the model's JSON; nothing here depends on the
generator's vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from parcelrisk.errors import ConfigError
from parcelrisk.extra_columns import ExtraColumn
from parcelrisk.reference import normalise_text

__all__ = ["fit_levels", "own_features", "descriptions", "secret_check", "check_secret"]

#: Fewest training rows a value needs to be a level of its own.
MIN_LEVEL_COUNT = 20
#: Most levels kept per column (the most frequent).
MAX_LEVELS = 500
_SEP = "\x1f"


def _keyed(values: pd.Series, column: ExtraColumn, secret: bytes) -> pd.Series:
    """Hex HMAC keys of the values (NA stays NA), one HMAC per distinct value."""
    from parcelrisk.store import _hmac64

    text = normalise_text(values).where(values.notna()) if column.role == "text" else values
    text = text.where(text.ne(""))
    codes, distinct = pd.factorize(text)
    if not len(distinct):
        return pd.Series(pd.NA, index=values.index, dtype="str")
    salted = pd.Series(distinct, dtype="str").radd(f"own{_SEP}{column.name}{_SEP}")
    keys = _hmac64(pa.array(salted, pa.string()), secret)
    hexed = pd.Series(keys.view(np.uint64), dtype="uint64").map("{:016x}".format)
    out = hexed.to_numpy(dtype=object).take(codes)
    return pd.Series(out, index=values.index, dtype="str").where(codes >= 0)


def _values(X: pd.DataFrame, column: ExtraColumn, secret: bytes | None) -> pd.Series:
    values = X[column.name]
    if column.hidden:
        if secret is None:
            raise ConfigError("keying identifier and text columns needs the secret")
        return _keyed(values, column, secret)
    return values.astype("str").where(values.notna())


def fit_levels(
    X: pd.DataFrame,
    columns: Sequence[ExtraColumn],
    secret: bytes | None,
    catch_all: str,
) -> dict[str, list[str]]:
    """Each non-numeric column's levels (then ``catch_all``), from the training rows ``X``."""
    levels: dict[str, list[str]] = {}
    for column in columns:
        if column.role == "numeric":
            continue
        counts = _values(X, column, secret).value_counts()
        frequent = counts[counts.ge(MIN_LEVEL_COUNT)].head(MAX_LEVELS)
        levels[column.name] = sorted(str(v) for v in frequent.index if str(v) != catch_all) + [
            catch_all
        ]
    return levels


def own_features(
    X: pd.DataFrame,
    columns: Sequence[ExtraColumn],
    levels: dict[str, list[str]],
    secret: bytes | None,
) -> pd.DataFrame:
    """The features of the declared columns (one per column, named ``own_<name>``)."""
    out: dict[str, pd.Series] = {}
    for column in columns:
        if column.role == "numeric":
            out[column.feature] = X[column.name].astype("float64")
            continue
        known = levels[column.name]
        values = _values(X, column, secret)
        coded = values.where(values.isin(known[:-1]), known[-1]).where(values.notna())
        out[column.feature] = pd.Series(pd.Categorical(coded, categories=known), index=X.index)
    return pd.DataFrame(out, index=X.index)


def descriptions(columns: Sequence[ExtraColumn]) -> dict[str, str]:
    """feature -> meaning in words."""
    return {c.feature: c.meaning for c in columns}


def secret_check(secret: bytes) -> str:
    """A short fingerprint of the secret (the store's), recorded with a model that keys values."""
    from parcelrisk.store import _secret_check

    return _secret_check(secret)


def check_secret(expected: str | None, secret: bytes) -> None:
    """Refuse to key identifiers with another secret than the model was trained with."""
    if expected is not None and secret_check(secret) != expected:
        raise ConfigError(
            "the model's identifier/text columns were keyed with another PARCELRISK_SECRET; "
            "score with the secret it was trained with"
        )
