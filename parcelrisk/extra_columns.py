"""A unit's own columns: extra input columns declared with a role, carried into the model.

A customs unit's manifests often hold columns parcelrisk's schema does not know (customs
office, declaration type, importer, tax regime...). Undeclared, they are ignored, as ever.
Declared in ``features/extra_columns.yaml`` (empty by default), each becomes a model input:

============  ==================================  ==================================
role          validated as                        feature (``own_<name>``)
============  ==================================  ==================================
numeric       a finite number (either decimal      the number (float)
              mark, as the schema's numbers)
categorical   text (trimmed; a whole number        LightGBM categorical of the levels
              as its digits: 1234.0 -> 1234)       seen at least 20 times in training
identifier    text (as categorical)                LightGBM categorical of HMAC keys of
                                                   the frequent identifiers (never clear)
text          text (as categorical)                as identifier, of the normalised text
============  ==================================  ==================================

The declaration a model was trained with is recorded in the model (``pipeline.json``),
and scoring validates and requires exactly those columns: the declaration in
``features/`` changes the next trained model, not the current one.

>>> cols = parse_extra_columns({"columns": [
...     {"name": "channel", "role": "categorical", "description": "sales channel"},
...     {"name": "insured_value", "role": "numeric"}]}, "extra_columns.yaml")
>>> [(c.name, c.feature, c.role) for c in cols]
[('channel', 'own_channel', 'categorical'), ('insured_value', 'own_insured_value', 'numeric')]
>>> cols[1].meaning
"the unit's column 'insured_value'"
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from parcelrisk.errors import ConfigError
from parcelrisk.schema import LABEL_COLUMNS, MANIFEST_COLUMNS, TRUTH_COLUMNS

__all__ = [
    "ExtraColumn",
    "ROLES",
    "HIDDEN_ROLES",
    "EXTRA_COLUMNS_FILE",
    "FEATURE_PREFIX",
    "parse_extra_columns",
    "load_extra_columns",
    "extra_columns_to_list",
    "extra_columns_from_list",
]

#: The roles a declared column can have.
ROLES = ("numeric", "categorical", "identifier", "text")
#: Roles whose values may be personal data: keyed (HMAC) in the model, never shown in reasons,
#: rejects or logs.
HIDDEN_ROLES = frozenset({"identifier", "text"})
#: The declaration's file in a ``features/`` folder.
EXTRA_COLUMNS_FILE = "extra_columns.yaml"
#: Prefix of the features made from declared columns (no clash with parcelrisk's own features).
FEATURE_PREFIX = "own_"
#: Column names usable as LightGBM feature names and in files; others are renamed with the
#: column map (``--columns MAP.yaml``) first.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
_KEYS = frozenset({"name", "role", "description", "required"})
_MAX_COLUMNS = 100


@dataclass(frozen=True)
class ExtraColumn:
    """One declared column.

    name : the column's name after the column map. role : one of :data:`ROLES`.
    description : what the column means, in words (the reasons quote it).
    required : whether an empty value rejects the row (default: a missing value is allowed).
    """

    name: str
    role: str
    description: str = ""
    required: bool = False

    @property
    def feature(self) -> str:
        """The model feature made from this column."""
        return FEATURE_PREFIX + self.name

    @property
    def meaning(self) -> str:
        """The feature's meaning in words (its description, else a generic one)."""
        return self.description or f"the unit's column '{self.name}'"

    @property
    def hidden(self) -> bool:
        """Whether its values may be personal data (never shown, never stored in clear)."""
        return self.role in HIDDEN_ROLES


def parse_extra_columns(data: Any, source: str) -> tuple[ExtraColumn, ...]:
    """Check a declaration (``{"columns": [{name, role, description?, required?}, ...]}``).

    Every mistake is one :class:`~parcelrisk.errors.ConfigError` line naming ``source``,
    the entry and the field.
    """
    if data is None:
        return ()
    if not isinstance(data, dict) or set(data) - {"columns"}:
        raise ConfigError(f"{source}: must be a mapping with one key, 'columns' (a list)")
    entries = data.get("columns") or []
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: 'columns' must be a list of {{name, role}} entries")
    if len(entries) > _MAX_COLUMNS:
        raise ConfigError(f"{source}: {len(entries)} columns declared; at most {_MAX_COLUMNS}")
    known = set(MANIFEST_COLUMNS) | set(LABEL_COLUMNS) | set(TRUTH_COLUMNS)
    out: list[ExtraColumn] = []
    for number, entry in enumerate(entries, start=1):
        where = f"{source}: column {number}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a mapping with name and role")
        unknown = sorted(set(map(str, entry)) - _KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
        name, role = entry.get("name"), entry.get("role")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ConfigError(
                f"{where}: name {name!r} must be a letter then letters, digits or '_' "
                "(rename the file's column with --columns MAP.yaml)"
            )
        if name in known:
            raise ConfigError(f"{where}: '{name}' is a parcelrisk column already")
        if role not in ROLES:
            raise ConfigError(f"{where} ({name}): role must be one of {', '.join(ROLES)}")
        description = entry.get("description", "")
        if not isinstance(description, str) or len(description) > 200:
            raise ConfigError(f"{where} ({name}): description must be text of at most 200 chars")
        required = entry.get("required", False)
        if not isinstance(required, bool):
            raise ConfigError(f"{where} ({name}): required must be true or false")
        if any(c.name == name for c in out):
            raise ConfigError(f"{where}: '{name}' is declared twice")
        out.append(ExtraColumn(name, str(role), " ".join(description.split()), required))
    return tuple(out)


def load_extra_columns(
    path: str | os.PathLike[str] | None = None,
) -> tuple[ExtraColumn, ...]:
    """The declaration in ``path`` (default: ``extra_columns.yaml`` of the ``features/`` folder).

    A missing file declares nothing.
    """
    if path is None:
        from parcelrisk.reference import default_reference_dir

        path = default_reference_dir() / EXTRA_COLUMNS_FILE
    p = Path(path)
    if not p.is_file():
        return ()
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read the extra columns ({exc})") from None
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise ConfigError(f"{p}: not valid YAML ({detail})") from None
    return parse_extra_columns(data, str(p))


def extra_columns_to_list(columns: Iterable[ExtraColumn]) -> list[dict[str, Any]]:
    """JSON-ready form, for the model's pipeline and metadata."""
    return [asdict(c) for c in columns]


def extra_columns_from_list(data: Sequence[dict[str, Any]]) -> tuple[ExtraColumn, ...]:
    """Inverse of :func:`extra_columns_to_list` (checked again: the file may be edited)."""
    return parse_extra_columns({"columns": list(data)}, "model pipeline")
