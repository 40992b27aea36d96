"""Reference data from the repository's ``features/`` folder, read once, hashed, and portable.

A trained model carries a copy of the reference data it saw (``to_dict``), so
scoring uses exactly what training used and an installed wheel needs no
repository checkout.

>>> ref = load_reference()
>>> "gift" in ref.vague_terms and ref.currency_rates["EUR"] == 1.0
True
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from parcelrisk.errors import ConfigError

__all__ = ["ReferenceData", "load_reference", "default_reference_dir", "normalise_text"]


def default_reference_dir() -> Path:
    """``$PARCELRISK_FEATURES_DIR``, else the shipped ``features/`` (see :mod:`parcelrisk.paths`)."""
    from parcelrisk.paths import DEFAULT_FEATURES_DIR

    env = os.environ.get("PARCELRISK_FEATURES_DIR")
    return Path(env) if env else DEFAULT_FEATURES_DIR


def normalise_text(values: pd.Series) -> pd.Series:
    """Lower case, accents and punctuation removed, whitespace collapsed (vectorised).

    >>> normalise_text(pd.Series(["  Café-Crème!! ", None])).tolist()
    ['cafe creme', '']
    """
    # each distinct value once: manifests repeat descriptions, senders and addresses
    codes, distinct = pd.factorize(values.astype("str"))
    text = pd.Series(distinct, dtype="str")
    text = text.str.normalize("NFKD").str.replace(r"[\u0300-\u036f]", "", regex=True)
    text = text.str.lower().str.replace(r"[^\w\s]|_", " ", regex=True)
    text = text.str.replace(r"\s+", " ", regex=True).str.strip()
    # missing values (code -1) become ""
    normalised = text.array.take(codes, allow_fill=True, fill_value="")
    return pd.Series(normalised, index=values.index, name=values.name)


@dataclass(frozen=True)
class ReferenceData:
    """Everything the features compare against; see ``features/README.md``."""

    vague_terms: dict[str, str]  # normalised term -> list it comes from
    keyword_groups: dict[str, list[str]]
    hs_chapters: dict[str, str]
    expected_chapters: dict[str, list[str]]
    country_groups: dict[str, list[str]]
    postcode_formats: dict[str, str]
    currency_rates: dict[str, float]
    thresholds: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)  # file name -> sha256 of its content

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReferenceData:
        return cls(**data)

    @property
    def content_hash(self) -> str:
        blob = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=True).encode()
        return hashlib.sha256(blob).hexdigest()


_LIST_NAMES = {
    "vague_descriptions_ca_pact.txt": "Canada PACT list of unacceptable commodity descriptions",
    "vague_descriptions_eu_ics2_partial.txt": "EU ICS2 list of unacceptable goods descriptions",
    "vague_descriptions_eu_ics2_press.txt": "EU ICS2 list of unacceptable goods descriptions",
}


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read reference file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None


def _read_terms(path: Path) -> list[str]:
    terms: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            terms.extend(part.strip() for part in line.split(","))
    return [t for t in terms if t]


def load_reference(directory: str | os.PathLike[str] | None = None) -> ReferenceData:
    """Read the reference files of a ``features/`` folder."""
    root = Path(directory) if directory is not None else default_reference_dir()
    if not root.is_dir():
        raise ConfigError(f"{root}: reference folder not found (set PARCELRISK_FEATURES_DIR)")
    sources: dict[str, str] = {}
    vague: dict[str, str] = {}
    for path in sorted((root / "vague_descriptions").glob("*.txt")):
        sources[f"vague_descriptions/{path.name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
        list_name = _LIST_NAMES.get(path.name, path.stem.replace("_", " "))
        terms = normalise_text(pd.Series(_read_terms(path), dtype="str"))
        for term in terms:
            if term and term not in vague:
                vague[term] = list_name
    loaded: dict[str, Any] = {}
    for name in ("keyword_groups", "hs_chapters", "countries", "currency_rates", "thresholds"):
        path = root / f"{name}.yaml"
        sources[path.name] = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""
        loaded[name] = _read_yaml(path)
    groups = {
        g: sorted(set(normalise_text(pd.Series(words, dtype="str"))))
        for g, words in loaded["keyword_groups"].items()
    }
    return ReferenceData(
        vague_terms=vague,
        keyword_groups=groups,
        hs_chapters={str(k).zfill(2): v for k, v in loaded["hs_chapters"]["chapters"].items()},
        expected_chapters={
            g: [str(c).zfill(2) for c in chs]
            for g, chs in loaded["hs_chapters"]["expected_chapters"].items()
        },
        country_groups={g: list(cs) for g, cs in loaded["countries"]["groups"].items()},
        postcode_formats=dict(loaded["countries"]["postcode_formats"]),
        currency_rates={k: float(v) for k, v in loaded["currency_rates"].items()},
        thresholds=dict(loaded["thresholds"]),
        sources=sources,
    )
