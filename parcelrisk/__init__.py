"""parcelrisk: customs risk scoring of postal and express parcels.

The data flows one way, and the modules follow it::

    io (read) -> validate (schema) -> features -> model -> selection -> explain -> report

Public names load their module on first use (PEP 562), so ``import parcelrisk``
and ``parcelrisk --help`` do not pay for pandas, LightGBM or MLflow.

>>> import parcelrisk
>>> parcelrisk.ManifestSchema.item_id
'item_id'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from parcelrisk import _startup  # noqa: F401  (first: Ctrl-C while the command starts)
from parcelrisk.errors import ConfigError, InputError, ModelError, ParcelRiskError, StoreError
from parcelrisk.paths import DEFAULT_MODEL_DIR

if TYPE_CHECKING:
    from parcelrisk.api import Model, Scored, load_model
    from parcelrisk.io import iter_manifest, read_manifest
    from parcelrisk.schema import LabelSchema, ManifestSchema, RejectSchema, TruthSchema
    from parcelrisk.validate import ValidationResult, validate_frame

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL_DIR",
    "Model",
    "Scored",
    "load_model",
    "ConfigError",
    "InputError",
    "LabelSchema",
    "ManifestSchema",
    "ModelError",
    "ParcelRiskError",
    "RejectSchema",
    "StoreError",
    "TruthSchema",
    "ValidationResult",
    "iter_manifest",
    "read_manifest",
    "validate_frame",
    "__version__",
]

#: Where each lazily loaded public name lives.
_LAZY = {
    "Model": "parcelrisk.api",
    "Scored": "parcelrisk.api",
    "load_model": "parcelrisk.api",
    "iter_manifest": "parcelrisk.io",
    "read_manifest": "parcelrisk.io",
    "LabelSchema": "parcelrisk.schema",
    "ManifestSchema": "parcelrisk.schema",
    "RejectSchema": "parcelrisk.schema",
    "TruthSchema": "parcelrisk.schema",
    "ValidationResult": "parcelrisk.validate",
    "validate_frame": "parcelrisk.validate",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # once loaded, an ordinary attribute
        return value
    raise AttributeError(f"module 'parcelrisk' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
