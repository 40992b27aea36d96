"""One exception hierarchy; the CLI maps it to exit codes and one-line messages."""

from __future__ import annotations

__all__ = [
    "ParcelRiskError",
    "InputError",
    "ModelError",
    "StoreError",
    "ConfigError",
    "OutputError",
    "ParcelRiskWarning",
    "SecretWarning",
    "KeySchemeWarning",
]


class ParcelRiskError(Exception):
    """Base class for errors a user can act on (no traceback is shown for these)."""

    exit_code: int = 1


class InputError(ParcelRiskError):
    """An input file cannot be read as a manifest (names the file, and the row/field if known)."""


class ModelError(ParcelRiskError):
    """A model folder is missing, tampered with, or from an incompatible version."""


class StoreError(ParcelRiskError):
    """The history store cannot be opened or written (for example, another writer holds it)."""


class ConfigError(ParcelRiskError):
    """A configuration or reference file is missing or malformed."""


class OutputError(ParcelRiskError):
    """An output cannot be written: it would replace an input or another output, it is not a
    regular file, or the write failed (disk full, no permission)."""


class ParcelRiskWarning(UserWarning):
    """Something the user should know that does not stop the run (the CLI prints one line)."""


class SecretWarning(ParcelRiskWarning):
    """``PARCELRISK_SECRET`` is not set: entity keys use the public development secret."""


class KeySchemeWarning(ParcelRiskWarning):
    """A model that records no entity-key scheme is used with a store (it accepts either)."""
