"""Each planted trafficking pattern moves at least one documented feature (data/synthetic/README.md)."""

from __future__ import annotations

import pytest

from parcelrisk.features import ManifestFeatures
from parcelrisk.schema import TRUTH_COLUMNS
from parcelrisk.validate import validate_frame

#: pattern -> the feature that should single it out (beyond the legitimate 95th percentile).
PATTERN_FEATURE = {
    "concealment": "weight_kg",  # heavy for the value and description
    "darknet_vendor": "vpk_pct_group",  # light letters valued high per kg for their cover story
    "drop_address": "address_distinct_names_30d",  # many names at one address
    "nps_precursor": "kw_chemicals",  # plant food / bath salts / research chemicals
    "rx_as_supplement": "kw_pharma",  # vitamins, supplements
    "split_shipment": "recipient_same_day_value_eur",  # several items to one recipient in a day
}


@pytest.fixture(scope="module")
def features_and_truth(training_manifest):
    valid = validate_frame(training_manifest).valid
    truth = valid["truth_pattern"]
    data = valid.drop(columns=TRUTH_COLUMNS)
    return ManifestFeatures().fit(data).transform(data), truth


@pytest.mark.parametrize("pattern", sorted(PATTERN_FEATURE))
def test_pattern_moves_its_feature(features_and_truth, pattern):
    X, truth = features_and_truth
    feature = PATTERN_FEATURE[pattern]
    legit = X.loc[truth.eq("legit"), feature].astype(float)
    planted = X.loc[truth.eq(pattern), feature].astype(float)
    assert len(planted) >= 10, f"too few {pattern} items in the sample"
    cut = legit.quantile(0.95)
    share_planted = float((planted > cut).mean())
    share_legit = float((legit > cut).mean())
    assert share_planted >= 0.25 and share_planted > 4 * share_legit, (
        pattern,
        feature,
        share_planted,
        share_legit,
    )


def test_no_red_flag_items_are_not_singled_out_by_any_single_feature(features_and_truth):
    X, truth = features_and_truth
    numeric = X.select_dtypes("number")
    legit = numeric[truth.eq("legit")]
    quiet = numeric[truth.eq("no_red_flag")]
    shares = (quiet > legit.quantile(0.95)).mean()
    assert float(shares.max()) < 0.5, shares.sort_values().tail()
