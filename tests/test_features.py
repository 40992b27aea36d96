"""Feature pipeline: scikit-learn conventions, stable columns, cross-checks that fire when they should."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from parcelrisk.features import ManifestFeatures
from parcelrisk.reference import load_reference
from parcelrisk.schema import LABEL_COLUMNS, TRUTH_COLUMNS
from parcelrisk.validate import validate_frame


@pytest.fixture(scope="module")
def rows(small_manifest) -> pd.DataFrame:
    return validate_frame(small_manifest.drop(columns=TRUTH_COLUMNS)).valid


@pytest.fixture(scope="module")
def fitted(rows) -> ManifestFeatures:
    return ManifestFeatures(profiles=False).fit(rows)


def test_sklearn_conventions(rows, fitted):
    est = ManifestFeatures(profiles=False)
    assert not [k for k in vars(est) if k.endswith("_")], "__init__ must not compute anything"
    with pytest.raises(NotFittedError):
        est.transform(rows)
    assert clone(fitted).get_params() == fitted.get_params()
    X = fitted.transform(rows)
    assert list(X.columns) == list(fitted.get_feature_names_out())
    assert X.index.equals(rows.index)
    assert set(fitted.descriptions_) == set(X.columns)
    assert all(isinstance(v, str) and v for v in fitted.descriptions_.values())


def test_transform_does_not_depend_on_row_order_or_labels(rows, fitted):
    X = fitted.transform(rows)
    shuffled = rows.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(fitted.transform(shuffled).loc[X.index], X)
    unlabelled = rows.drop(columns=[c for c in LABEL_COLUMNS if c in rows])
    pd.testing.assert_frame_equal(fitted.transform(unlabelled), X)


def test_json_round_trip_gives_identical_features(rows, fitted):
    data = json.loads(json.dumps(fitted.to_dict()))
    again = ManifestFeatures.from_dict(data)
    pd.testing.assert_frame_equal(again.transform(rows), fitted.transform(rows))


def _item(rows: pd.DataFrame, **changes) -> pd.DataFrame:
    one = rows.head(1).copy()
    for column, value in changes.items():
        one[column] = value
    return one


def test_cross_checks_fire_on_the_planted_fact(rows, fitted):
    neutral = dict(
        description="ceramic mug",
        hs_code="691200",
        item_category="sale_of_goods",
        service="parcel",
        gross_weight_kg=0.4,
        recipient_address="12 Rue Victor Hugo",
        sender_name="Maria Lopez Garcia",
    )
    base = fitted.transform(_item(rows, **neutral))
    cases = {
        "desc_vague": dict(description="Gifts"),
        "desc_char_rule": dict(description="XXXX"),
        "hs_desc_mismatch": dict(description="plant food", hs_code="330499"),
        "hs_malformed": dict(hs_code="12AB"),
        "letter_overweight": dict(service="letter", gross_weight_kg=3.5),
        "recipient_pick_up_point": dict(recipient_address="Packstation 112"),
        "sender_name_placeholder": dict(sender_name="unknown"),
    }
    for feature, change in cases.items():
        changed = fitted.transform(_item(rows, **(neutral | change)))
        assert changed[feature].iloc[0] > base[feature].iloc[0], feature


def test_value_per_kg_percentile_follows_the_reference(rows, fitted):
    cheap = fitted.transform(_item(rows, declared_value=0.5, currency="EUR", gross_weight_kg=2.0))
    dear = fitted.transform(_item(rows, declared_value=500.0, currency="EUR", gross_weight_kg=0.1))
    assert cheap["vpk_pct_chapter"].iloc[0] < 10 < 90 < dear["vpk_pct_chapter"].iloc[0]


def test_vague_lists_come_from_the_reference_folder(tmp_path):
    import shutil

    from parcelrisk.reference import default_reference_dir

    copy = tmp_path / "features"
    shutil.copytree(default_reference_dir(), copy)
    extra = copy / "vague_descriptions" / "unit_additions.txt"
    extra.write_text("# added by an analyst\nMystery box\n")
    ref = load_reference(copy)
    assert "mystery box" in ref.vague_terms
    assert "mystery box" not in load_reference().vague_terms
    assert ref.content_hash != load_reference().content_hash


def test_passes_the_scikit_learn_checks_that_apply_to_a_dataframe_transformer():
    from sklearn.utils.estimator_checks import (
        check_get_params_invariance,
        check_no_attributes_set_in_init,
        check_parameters_default_constructible,
        check_set_params,
    )

    est = ManifestFeatures(profiles=False)
    for check in (
        check_no_attributes_set_in_init,
        check_get_params_invariance,
        check_set_params,
        check_parameters_default_constructible,
    ):
        check("ManifestFeatures", est)


def test_features_of_a_subset_equal_the_subset_of_features(model_dir, today):
    """Chunked scoring recomputes the selected rows' features alone, after the selection.

    That is only right if, given the profiles, no feature looks at other rows of the batch.
    """
    import numpy as np

    from parcelrisk.model import load_model

    model = load_model(model_dir)
    rows = validate_frame(today.drop(columns=TRUTH_COLUMNS, errors="ignore")).valid
    value_eur = model.features.transform_with_context(rows)[1].value_eur
    profiles = model.features._profiles(rows, value_eur)
    whole, whole_context = model.features.transform_with_context(rows, profiles)
    pick = np.sort(np.random.default_rng(7).choice(len(rows), size=len(rows) // 9, replace=False))
    part, part_context = model.features.transform_with_context(rows.iloc[pick], profiles.iloc[pick])
    pd.testing.assert_frame_equal(part, whole.iloc[pick])
    for field in ("vague_list", "watchlists", "value_eur"):
        pd.testing.assert_series_equal(
            getattr(part_context, field), getattr(whole_context, field).iloc[pick]
        )
    # the profiles do depend on the rest of the batch (same-day counts): passing them matters
    alone = model.features.transform_with_context(rows.iloc[pick])[0]
    assert not alone.equals(whole.iloc[pick])


def test_a_real_value_named_like_the_catch_all_stays_its_own_level(rows):
    """'other' is a legal CN23 category: it must not collide with the rare-level catch-all."""
    data = rows.copy()
    data["item_category"] = "gift"
    data.loc[data.index[:200], "item_category"] = "other"
    data.loc[data.index[200:205], "item_category"] = "documents"  # rare: the catch-all
    fitted = ManifestFeatures(profiles=False).fit(data)
    for name, levels in fitted.categories_.items():
        assert len(levels) == len(set(levels)), name
    X = fitted.transform(data)["item_category"]
    real_other, rare, common = X.iloc[0], X.iloc[200], X.iloc[300]
    assert real_other == "other" and len({real_other, rare, common}) == 3
    assert X.cat.codes.iloc[0] != X.cat.codes.iloc[200]
