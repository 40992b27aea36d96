"""Shared fixtures: small synthetic manifests made by the generator (session-scoped)."""

from __future__ import annotations

import pandas as pd
import pytest

from parcelrisk.synthetic import generate_manifest


@pytest.fixture(scope="session")
def small_manifest() -> pd.DataFrame:
    """3,000 labelled items over 5 days, with truth columns."""
    return generate_manifest(3_000, seed=11, days=5)


@pytest.fixture(scope="session")
def training_manifest() -> pd.DataFrame:
    """A labelled period long enough to train and test on (time split)."""
    return generate_manifest(60_000, seed=5, days=35)
