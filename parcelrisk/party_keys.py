"""Entity keys from several fields: name signature, street address, postcode or city, country.

Today's keys (:func:`parcelrisk.store.entity_keys`) link a sender on its
normalised name and country alone, so namesakes share a history (measured by
:mod:`parcelrisk.linkage_eval`: B-cubed precision 0.41 for senders on a
100,000-item v2 world, seed 777; ``benchmarks/RESULTS.md`` has the unseen-seed
run). :func:`party_keys` keys each party on where it is as well as what it is
called, and writes the name in a form that survives the usual variations:

================  =============================================================  ============
column            keyed text                                                     NA when
================  =============================================================  ============
sender_key        name signature, sender address, sender locality, country       no name
                  (no sender address: the full normalised name and country)
recipient_key     name signature, recipient address, recipient locality, country  no name or
                                                                                 no address
address_key       recipient address, recipient locality, country                 no address
phone_key         as :func:`~parcelrisk.store.entity_keys`
email_key         as :func:`~parcelrisk.store.entity_keys`
================  =============================================================  ============

* **Locality**: the normalised postcode where there is one, else the
  normalised city (cities are spelled and cased in more ways than postcodes).
* **Address** (:func:`normalise_address`): case, accents and punctuation
  folded; street types and unit designators written out
  (``features/party_normalisation.yaml``, from USPS Publication 28, DIN 5008,
  La Poste); "No."/"Nr." before a house number dropped; a letter after a
  house number glued to it (``12 a`` -> ``12a``); German ``...str.`` and
  ``... Strasse`` glued (``berlinerstrasse``); tokens holding digits moved to
  the end, so "12 Main St" and "Main Street 12" agree.
* **Name signature** (:func:`name_signature`): the name's tokens without
  legal forms (ISO 20275: Ltd, GmbH, Co...) and connectors ("and", "und"),
  without one-letter tokens when two longer ones remain (middle initials),
  reduced to their first letters, sorted: "Dawn Hernandez", "D. Hernandez",
  "HERNANDEZ Dawn" and "Dawn X. Hernandez" are all ``dh``. Coarse on purpose:
  the address carries the precision, the signature only tells apart the
  parties at one address. Two people with the same initials at the same
  address (a household, a parcel locker) share a key; the harness measures
  how often.

Every key is HMAC-SHA256(secret, scheme + kind + parts) truncated to int64
like today's keys (:func:`parcelrisk.store._keys`): no name, address,
signature or other clear text is returned or stored. The scheme id
(:data:`SCHEME` plus the hash of the normalisation tables) is part of the
keyed text, so keys of this scheme never collide with today's, and a store
must not mix them.

>>> frame = pd.DataFrame({"sender_name": ["Dawn Hernandez", "D. HERNANDEZ", "Dawn Hernandez"],
...     "sender_address": ["124 Danielle Way", "124 danielle way", "9 Oak Rd"],
...     "sender_postcode": ["88957", "88957", "10001"], "sender_country": ["US", "US", "US"]})
>>> keys = party_keys(frame, secret=b"k")
>>> bool(keys.sender_key.iloc[0] == keys.sender_key.iloc[1]), bool(
...     keys.sender_key.iloc[0] == keys.sender_key.iloc[2])
(True, False)
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from parcelrisk.errors import ConfigError, StoreError
from parcelrisk.schema import ManifestSchema
from parcelrisk.store import (
    ENTITY_KINDS,
    _column,
    _country,
    _email,
    _factor,
    _keys,
    _phone,
    _postcode,
)

__all__ = [
    "PartyTables",
    "load_party_tables",
    "normalise_address",
    "name_signature",
    "full_name",
    "party_keys",
    "SCHEME",
    "NAME_FORMS",
]

M = ManifestSchema

#: Version of the keying scheme (part of every keyed text).
SCHEME = "parties-v1"
#: How the name enters the sender and recipient keys (see :func:`name_signature`).
NAME_FORMS = ("initials", "tokens", "full")
TABLE_FILE = "party_normalisation.yaml"


@dataclass(frozen=True)
class PartyTables:
    """The word tables of ``features/party_normalisation.yaml`` (see its header for sources)."""

    street_types: dict[str, str]
    unit_designators: dict[str, str]
    number_markers: tuple[str, ...]
    legal_forms: tuple[str, ...]
    name_connectors: tuple[str, ...]

    def content_hash(self) -> str:
        text = json.dumps(self.__dict__, sort_keys=True, ensure_ascii=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def load_party_tables(directory: str | os.PathLike[str] | None = None) -> PartyTables:
    """Read ``party_normalisation.yaml`` from ``directory`` (default: the reference folder)."""
    from parcelrisk.reference import default_reference_dir

    path = Path(directory) if directory is not None else default_reference_dir()
    return _load(str((path / TABLE_FILE).resolve()))


@lru_cache(maxsize=4)
def _load(path: str) -> PartyTables:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc

    def text(value: object, key: str) -> str:
        # YAML reads bare no/yes/on/off as booleans and 12 as a number: quote such words
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{path}: {key} holds {value!r}, not a word (quote it)")
        return value.strip().lower()

    def words(key: str) -> tuple[str, ...]:
        return tuple(text(w, key) for w in data.get(key) or ())

    def table(key: str) -> dict[str, str]:
        return {text(k, key): text(v, key) for k, v in (data.get(key) or {}).items()}

    return PartyTables(
        street_types=table("street_types"),
        unit_designators=table("unit_designators"),
        number_markers=words("number_markers"),
        legal_forms=words("legal_forms"),
        name_connectors=words("name_connectors"),
    )


# -- token helpers (pyarrow, vectorised over the distinct values) ---------------------------


def _fold(series: pd.Series) -> pa.Array:
    """Case and accents folded, punctuation to spaces, whitespace collapsed; NA stays NA."""
    text = pa.array(series.astype("object").where(series.notna(), None), pa.large_string())
    text = pc.utf8_normalize(text, "NFKD")
    text = pc.replace_substring_regex(text, "\\p{Mn}", "")
    text = pc.utf8_lower(text)
    text = pc.replace_substring(text, "ß", "ss")
    text = pc.replace_substring_regex(text, "[^\\pL\\pN]+", " ")
    return pc.utf8_trim_whitespace(text)


def _split(text: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(parent row, position within the row, token) of every non-empty token."""
    lists = pc.split_pattern(pc.fill_null(text, ""), " ")
    parent = np.asarray(pc.list_parent_indices(lists))
    tokens = np.asarray(pc.list_flatten(lists).to_numpy(zero_copy_only=False), dtype=object)
    starts = np.asarray(lists.offsets)[:-1]
    position = np.arange(len(parent)) - starts[parent] if len(parent) else parent
    keep = tokens != ""
    return parent[keep], position[keep], tokens[keep]


def _arrow(tokens: np.ndarray) -> pa.Array:
    return pa.array(tokens, pa.string())


def _is_in(tokens: np.ndarray, words: tuple[str, ...]) -> np.ndarray:
    found = pc.is_in(_arrow(tokens), value_set=pa.array(list(words), pa.string()))
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _has_digit(tokens: np.ndarray) -> np.ndarray:
    found = pc.match_substring_regex(_arrow(tokens), "[0-9]")
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _lengths(tokens: np.ndarray) -> np.ndarray:
    return np.asarray(pc.utf8_length(_arrow(tokens)).to_numpy(zero_copy_only=False))


def _join(n: int, parent: np.ndarray, tokens: np.ndarray, sep: str = " ") -> pd.Series:
    """Rows of ``tokens`` (``parent`` ascending) joined by ``sep``; rows without tokens: NA."""
    counts = np.bincount(parent, minlength=n) if len(parent) else np.zeros(n, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), _arrow(tokens))
    joined = pd.Series(pc.binary_join(lists, sep).to_numpy(zero_copy_only=False), dtype="str")
    return joined.mask(counts == 0)


def _map(tokens: np.ndarray, table: dict[str, str]) -> np.ndarray:
    if not table or len(tokens) == 0:
        return tokens
    mapped = pd.Series(tokens, dtype=object).map(table).to_numpy(dtype=object)
    return np.where(pd.isna(mapped), tokens, mapped)


def _after(parent: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Whether the token before each token, in the same row, is in ``mask``."""
    out = np.zeros(len(parent), dtype=bool)
    if len(parent) > 1:
        out[1:] = (parent[1:] == parent[:-1]) & mask[:-1]
    return out


def _glue(tokens: np.ndarray, glue: np.ndarray) -> np.ndarray:
    """Append each glued token to the nearest unglued token before it; glued entries stay."""
    target = np.flatnonzero(~glue)
    glued = np.flatnonzero(glue)
    owner = target[np.searchsorted(target, glued, side="right") - 1]
    rank = glued - owner - 1  # 0 for the first token glued to an owner, 1 for the next...
    tokens = tokens.copy()
    for r in range(int(rank.max(initial=-1)) + 1):
        sel = rank == r
        tokens[owner[sel]] = tokens[owner[sel]] + tokens[glued[sel]]
    return tokens


# -- normalisers ----------------------------------------------------------------------------


def normalise_address(series: pd.Series, tables: PartyTables | None = None) -> pd.Series:
    """A street address in one written form (see the module docstring).

    >>> normalise_address(pd.Series(["12 Main St.", "Main Street 12", "Hauptstr. 5 a",
    ...     "Berliner Straße No. 5", "Apt 4, 7 Oak Rd", " ", None])).tolist()
    ['main street 12', 'main street 12', 'hauptstrasse 5a', 'berlinerstrasse 5', \
'apartment oak road 4 7', nan, nan]
    """
    tables = tables or load_party_tables()
    parent, position, tokens = _split(_fold(series))
    tokens = _map(tokens, {**tables.street_types, **tables.unit_designators})
    digit = _has_digit(tokens)
    # "No. 5" / "Nr 5": the marker goes when a number follows in the same row
    follows = np.zeros(len(tokens), dtype=bool)
    if len(tokens) > 1:
        follows[:-1] = (parent[1:] == parent[:-1]) & digit[1:]
    keep = ~(_is_in(tokens, tables.number_markers) & follows)
    parent, position, tokens, digit = parent[keep], position[keep], tokens[keep], digit[keep]
    # German street names: "hauptstr" -> "hauptstrasse"
    tokens = pd.Series(tokens, dtype="str").str.replace("str$", "strasse", regex=True)
    tokens = tokens.to_numpy(dtype=object)
    word = ~digit
    # "5 a" -> "5a" (a letter after a house number); "berliner strasse" -> "berlinerstrasse"
    glue = ((_lengths(tokens) == 1) & word & _after(parent, digit)) | (
        (tokens == "strasse") & _after(parent, word)
    )
    if glue.any():
        tokens = _glue(tokens, glue)
        parent, position, tokens = parent[~glue], position[~glue], tokens[~glue]
        digit = _has_digit(tokens)
    # house numbers last, otherwise in written order
    order = np.lexsort((position, digit, parent))
    return _join(len(series), parent[order], tokens[order]).set_axis(series.index)


def _name_tokens(series: pd.Series, tables: PartyTables) -> tuple[np.ndarray, np.ndarray]:
    parent, _, tokens = _split(_fold(series))
    drop = _is_in(tokens, (*tables.legal_forms, *tables.name_connectors))
    if drop.any():
        # a name made only of such words keeps them ("Company Ltd" is a name too)
        rows_left = np.bincount(parent[~drop], minlength=len(series))
        drop &= rows_left[parent] > 0
    return parent[~drop], tokens[~drop]


def name_signature(series: pd.Series, tables: PartyTables | None = None) -> pd.Series:
    """Sorted first letters of the name's tokens (legal forms, connectors, middle initials out).

    >>> name_signature(pd.Series(["Dawn Hernandez", "D. HERNANDEZ", "Hernandez, Dawn X.",
    ...     "Ross and Sons Ltd", None])).tolist()
    ['dh', 'dh', 'dh', 'rs', nan]
    """
    tables = tables or load_party_tables()
    parent, tokens = _name_tokens(series, tables)
    long = _lengths(tokens) > 1
    n_long = np.bincount(parent[long], minlength=len(series))
    keep = long | (n_long[parent] < 2)
    parent, tokens = parent[keep], tokens[keep]
    first = np.asarray(
        pc.utf8_slice_codeunits(_arrow(tokens), 0, 1).to_numpy(zero_copy_only=False), dtype=object
    )
    order = np.lexsort((first.astype(str), parent))
    return _join(len(series), parent[order], first[order], sep="").set_axis(series.index)


def full_name(series: pd.Series, tables: PartyTables | None = None) -> pd.Series:
    """The name's tokens (legal forms and connectors out), sorted: order-free, but complete.

    >>> full_name(pd.Series(["Hernandez, Dawn", "DAWN HERNANDEZ", "ACME Co., Ltd."])).tolist()
    ['dawn hernandez', 'dawn hernandez', 'acme']
    """
    tables = tables or load_party_tables()
    parent, tokens = _name_tokens(series, tables)
    order = np.lexsort((tokens.astype(str), parent))
    return _join(len(series), parent[order], tokens[order]).set_axis(series.index)


def _token_name(series: pd.Series, tables: PartyTables) -> pd.Series:
    """Sorted tokens without one-letter ones (when two longer remain): the "tokens" name form."""
    parent, tokens = _name_tokens(series, tables)
    long = _lengths(tokens) > 1
    n_long = np.bincount(parent[long], minlength=len(series))
    keep = long | (n_long[parent] < 2)
    parent, tokens = parent[keep], tokens[keep]
    order = np.lexsort((tokens.astype(str), parent))
    return _join(len(series), parent[order], tokens[order]).set_axis(series.index)


# -- keys -----------------------------------------------------------------------------------


def _locality(
    postcode: tuple[np.ndarray, np.ndarray], city: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Postcode code where present, else the city's (offset past the postcodes)."""
    pc_codes, pc_labels = postcode
    city_codes, city_labels = city
    offset = len(pc_labels)
    codes = np.where(pc_codes >= 0, pc_codes, np.where(city_codes >= 0, city_codes + offset, -1))
    labels = np.concatenate([_tagged("p", pc_labels), _tagged("c", city_labels)])
    return codes.astype(np.int64), labels


def _tagged(prefix: str, labels: np.ndarray) -> np.ndarray:
    return (prefix + pd.Series(labels, dtype="str")).to_numpy(dtype=object)


def _either(
    first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray], use_first: Any
) -> tuple[np.ndarray, np.ndarray]:
    """``first``'s code where ``use_first``, else ``second``'s, tagged so they cannot collide."""
    a, a_labels = first
    b, b_labels = second
    codes = np.where(use_first, a, np.where(b >= 0, b + len(a_labels), -1))
    labels = np.concatenate([_tagged("s", a_labels), _tagged("n", b_labels)])
    return codes.astype(np.int64), labels


def party_keys(
    frame: pd.DataFrame,
    secret: bytes,
    tables: PartyTables | None = None,
    name_form: str = "initials",
) -> pd.DataFrame:
    """Multi-field keys of the five parties of each row (nullable Int64, same index).

    Same columns and key format as :func:`parcelrisk.store.entity_keys`; see
    the module docstring for what each key holds. ``name_form`` chooses how
    the name enters the sender and recipient keys: ``"initials"``
    (:func:`name_signature`, the default), ``"tokens"`` (sorted tokens, one-letter
    ones out) or ``"full"`` (:func:`full_name`); the harness compares them.
    Normalisation runs once per distinct value, the HMAC once per distinct
    combination.
    """
    if not isinstance(secret, bytes | bytearray) or not secret:
        raise StoreError("the entity-key secret must be non-empty bytes (set PARCELRISK_SECRET)")
    if name_form not in NAME_FORMS:
        raise ValueError(f"name_form must be one of {NAME_FORMS}, not {name_form!r}")
    tables = tables or load_party_tables()
    secret = bytes(secret)
    index = frame.index
    tag = f"{SCHEME}:{tables.content_hash()}:"

    def name_part(values: pd.Series) -> pd.Series:
        if name_form == "initials":
            return name_signature(values, tables)
        if name_form == "tokens":
            return _token_name(values, tables)
        return full_name(values, tables)

    def address(values: pd.Series) -> pd.Series:
        return normalise_address(values, tables)

    def city(values: pd.Series) -> pd.Series:
        return pd.Series(_fold(values).to_pandas(), dtype="str").mask(lambda s: s.eq(""))

    def full(values: pd.Series) -> pd.Series:
        return full_name(values, tables)

    s_name = _column(frame, M.sender_name)
    s_addr = _factor(_column(frame, M.sender_address), address)
    s_loc = _locality(
        _factor(_column(frame, M.sender_postcode), _postcode),
        _factor(_column(frame, M.sender_city), city),
    )
    s_country = _factor(_column(frame, M.sender_country), _country)
    # with an address, the coarse signature; without one, the whole name must carry the key
    has_addr = s_addr[0] >= 0
    s_who = _either(_factor(s_name, name_part), _factor(s_name.where(~has_addr), full), has_addr)
    r_name = _factor(_column(frame, M.recipient_name), name_part)
    r_addr = _factor(_column(frame, M.recipient_address), address)
    r_loc = _locality(
        _factor(_column(frame, M.recipient_postcode), _postcode),
        _factor(_column(frame, M.recipient_city), city),
    )
    r_country = _factor(_column(frame, M.recipient_country), _country)
    phone = _factor(_column(frame, M.recipient_phone), _phone)
    email = _factor(_column(frame, M.recipient_email), _email)
    keys = {
        "sender": _keys(
            tag + "sender",
            [s_who, s_addr, s_loc, s_country],
            [True, False, False, False],
            secret,
            index,
        ),
        "recipient": _keys(
            tag + "recipient",
            [r_name, r_addr, r_loc, r_country],
            [True, True, False, False],
            secret,
            index,
        ),
        "address": _keys(
            tag + "address", [r_addr, r_loc, r_country], [True, False, False], secret, index
        ),
        "phone": _keys(tag + "phone", [phone], [True], secret, index),
        "email": _keys(tag + "email", [email], [True], secret, index),
    }
    return pd.DataFrame({f"{kind}_key": keys[kind] for kind in ENTITY_KINDS}, index=index)
