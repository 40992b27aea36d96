"""parcelrisk: customs risk scoring of postal and express parcels.

The data flows one way, and the modules follow it::

    io (read) -> validate (schema) -> features -> model -> selection -> explain -> report

>>> import parcelrisk
>>> parcelrisk.ManifestSchema.item_id
'item_id'
"""

from parcelrisk import _startup  # noqa: F401  (first: Ctrl-C while the command starts)
from parcelrisk.api import DEFAULT_MODEL_DIR, Model, Scored, load_model
from parcelrisk.errors import ConfigError, InputError, ModelError, ParcelRiskError, StoreError
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
