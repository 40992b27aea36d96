"""Where the shipped model and reference data live: the wheel's copy, else the checkout's folders.

A wheel carries ``models/default`` and ``features/`` inside the package, as
``parcelrisk/_data/`` (copied there by ``setup.py`` when the wheel is built);
a checkout or an editable install reads the repository folders themselves, which
stay the one editable source. Cheap to import: nothing but the standard library.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["shipped_dir", "DEFAULT_MODEL_DIR", "DEFAULT_FEATURES_DIR"]

_PACKAGED = "_data"


def shipped_dir(name: str) -> Path:
    """The shipped folder ``name`` (``"models/default"``, ``"features"``).

    The copy inside the installed package if there is one, else the repository's.
    """
    packaged = Path(str(files("parcelrisk") / _PACKAGED / name))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / name


#: The shipped default model.
DEFAULT_MODEL_DIR = shipped_dir("models/default")
#: The shipped reference data (``$PARCELRISK_FEATURES_DIR`` overrides it, see ``reference.py``).
DEFAULT_FEATURES_DIR = shipped_dir("features")
