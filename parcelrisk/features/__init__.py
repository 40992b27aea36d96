"""Feature pipeline: validated manifest rows -> the model's feature frame.

:class:`ManifestFeatures` is a scikit-learn transformer. ``fit`` reads the
reference data and learns value statistics from training manifests;
``transform`` returns a DataFrame whose columns are
``get_feature_names_out()``; ``descriptions_`` gives each feature's meaning
in words (the explanations quote it). Feature groups live in one module each:

* :mod:`~parcelrisk.features.quality`: description, HS code, CN23 category cross-checks;
* :mod:`~parcelrisk.features.value`: value and weight against the goods' reference;
* :mod:`~parcelrisk.features.parties`: names, addresses, postcodes;
* :mod:`~parcelrisk.features.route`: origin, reshipping, country groups;
* :mod:`~parcelrisk.features.text`: keyword groups of the description;
* :mod:`~parcelrisk.features.own`: a unit's own declared columns (``own_*``);
* :mod:`parcelrisk.profiles`: entity histories from the store (point in time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from parcelrisk.errors import InputError
from parcelrisk.extra_columns import (
    ExtraColumn,
    extra_columns_from_list,
    extra_columns_to_list,
)
from parcelrisk.features import own, parties, quality, route, text, value
from parcelrisk.reference import ReferenceData, load_reference, normalise_text
from parcelrisk.schema import REQUIRED_COLUMNS
from parcelrisk.schema import ManifestSchema as M

__all__ = ["ManifestFeatures", "FeatureContext", "CATEGORICAL_FEATURES", "OTHER_LEVEL"]

#: Raw columns passed to the model as LightGBM categoricals (rare levels -> :data:`OTHER_LEVEL`).
CATEGORICAL_FEATURES = {
    "origin_country": "country where the item entered the network",
    "recipient_country": "recipient country",
    "service": "postal or express service",
    "item_category": "CN23 category of item",
    "hs_chapter": "HS chapter of the declared code",
    "desc_group": "keyword group of the goods description",
}
_MIN_CATEGORY_COUNT = 20
#: The catch-all level of rare and unseen values, always the last of a feature's levels. Not
#: "other": that is a real CN23 category, and a real value must never merge with it (models
#: saved before this change end in "other"; :meth:`ManifestFeatures.transform` reads the
#: catch-all as the last level, so they load and score as before).
OTHER_LEVEL = "__other__"


@dataclass
class FeatureContext:
    """Facts the explanations quote that are not model inputs (same index as the features)."""

    vague_list: pd.Series  # which unacceptable-description list matched ("" if none)
    watchlists: pd.Series  # "|"-joined watch-list names hit ("" if none)
    value_eur: pd.Series

    def subset(self, rows: pd.Index) -> FeatureContext:
        return FeatureContext(
            self.vague_list.loc[rows], self.watchlists.loc[rows], self.value_eur.loc[rows]
        )


class ManifestFeatures(TransformerMixin, BaseEstimator):
    """Turn validated manifest rows into model features.

    Parameters
    ----------
    reference_dir : path, optional
        A ``features/`` folder; default :func:`parcelrisk.reference.default_reference_dir`.
    store : HistoryStore, optional
        History for entity profiles. Without it, profiles are built from the
        rows being transformed alone (which is how training builds them over
        a whole period in one pass).
    secret : bytes, optional
        Key for the entity hashes; default ``$PARCELRISK_SECRET``.
    profiles : bool
        Whether to compute entity profiles at all.
    extra_columns : sequence of ExtraColumn, optional
        A unit's own declared columns (:mod:`parcelrisk.extra_columns`), each made a
        feature ``own_<name>`` after the built-in ones. Default: none.

    Examples
    --------
    >>> from parcelrisk.synthetic import generate_manifest
    >>> from parcelrisk.validate import validate_frame
    >>> rows = validate_frame(generate_manifest(2000, seed=1, days=3)).valid
    >>> mf = ManifestFeatures(profiles=False).fit(rows)
    >>> X = mf.transform(rows)
    >>> list(X.columns) == list(mf.get_feature_names_out())
    True
    """

    def __init__(
        self,
        reference_dir: str | None = None,
        store: Any = None,
        secret: bytes | None = None,
        profiles: bool = True,
        extra_columns: Sequence[ExtraColumn] | None = None,
    ) -> None:
        self.reference_dir = reference_dir
        self.store = store
        self.secret = secret
        self.profiles = profiles
        self.extra_columns = extra_columns

    # -- scikit-learn API -------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Any = None) -> ManifestFeatures:
        self.own_columns_ = tuple(self.extra_columns or ())
        X = self._check_frame(X)
        self.reference_ = load_reference(self.reference_dir)
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = len(X.columns)
        parts = self._parse(X, self.reference_)
        self.value_reference_ = value.ValueReference.fit(
            value.log_value_per_kg(parts["value_eur"], X[M.gross_weight_kg].astype("float64")),
            parts["chapter"],
            parts["group"],
        )
        raw_categories = self._categorical_inputs(X, parts)
        self.categories_ = {
            name: sorted(
                str(level)
                for level, count in series.value_counts().items()
                if count >= _MIN_CATEGORY_COUNT and str(level) != OTHER_LEVEL
            )
            + [OTHER_LEVEL]
            for name, series in raw_categories.items()
        }
        from parcelrisk.store import batch_key_scheme

        # the entity-key scheme the profiles were built with: the store's, else the current one
        self.key_scheme_: str | None = batch_key_scheme(self.store)
        secret = self._own_secret()
        self.own_secret_check_ = own.secret_check(secret) if secret is not None else None
        self.own_levels_ = own.fit_levels(X, self.own_columns_, secret, OTHER_LEVEL)
        self.descriptions_ = self._descriptions()
        self.feature_names_out_ = list(self.descriptions_)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return self.transform_with_context(X)[0]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return np.asarray(self.feature_names_out_, dtype=object)

    # -- the work -------------------------------------------------------------------------------
    def transform_with_context(
        self, X: pd.DataFrame, profiles: pd.DataFrame | None = None
    ) -> tuple[pd.DataFrame, FeatureContext]:
        """Features plus the facts explanations need, in one pass.

        ``profiles`` are the rows' entity profiles if already computed (as
        chunked scoring does for a whole file at once, see
        :class:`parcelrisk.profiles.FileProfiles`); otherwise they are computed here.
        """
        check_is_fitted(self, "feature_names_out_")
        X = self._check_frame(X)
        ref = self.reference_
        parts = self._parse(X, ref)
        blocks = [
            quality.quality_features(X, parts["norm_desc"], parts["group"], ref),
            value.value_features(
                X, parts["value_eur"], parts["chapter"], parts["group"], self.value_reference_, ref
            ),
            parties.party_features(X, ref),
            route.route_features(X, ref),
            parts["flags"],
        ]
        watchlists = pd.Series("", index=X.index, dtype="str")
        if self.profiles:
            if profiles is None:
                profile = self._profiles(X, parts["value_eur"])
            elif profiles.index.equals(X.index):
                profile = profiles.copy()
            else:
                raise ValueError("transform_with_context: profiles must have the rows' index")
            watchlists = profile.pop("watchlist_lists").astype("str").fillna("")
            profile = profile.drop(columns=["watchlist_hit"], errors="ignore")
            blocks.append(profile)
        for name, series in self._categorical_inputs(X, parts).items():
            levels = self.categories_[name]
            known, catch_all = levels[:-1], levels[-1]
            coded = series.astype("str").where(series.isin(known), catch_all)
            coded = coded.where(series.notna())
            blocks.append(
                pd.DataFrame({name: pd.Categorical(coded, categories=levels)}, index=X.index)
            )
        if self.own_columns_:
            secret = self._own_secret()
            if secret is not None:
                own.check_secret(self.own_secret_check_, secret)
            blocks.append(own.own_features(X, self.own_columns_, self.own_levels_, secret))
        features = pd.concat(blocks, axis=1)
        context = FeatureContext(
            vague_list=quality.vague_match(parts["norm_desc"], ref),
            watchlists=watchlists,
            value_eur=parts["value_eur"],
        )
        return features[self.feature_names_out_], context

    def _descriptions(self) -> dict[str, str]:
        ref = self.reference_
        out = (
            quality.DESCRIPTIONS
            | value.DESCRIPTIONS
            | parties.DESCRIPTIONS
            | route.descriptions(ref)
        )
        out |= {k: v for k, v in text.descriptions(ref).items() if k != "desc_group"}
        if self.profiles:
            from parcelrisk.profiles import PROFILE_FEATURES

            out |= {k: v for k, v in PROFILE_FEATURES.items() if not k.startswith("watchlist")}
        return out | CATEGORICAL_FEATURES | own.descriptions(self.own_columns_)

    def _own_secret(self) -> bytes | None:
        """The key for identifier and text columns (None when none is declared)."""
        if not any(c.hidden for c in self.own_columns_):
            return None
        from parcelrisk.store import secret_from_env

        return self.secret or secret_from_env()

    def key_scheme_for(self, store: Any) -> str:
        """The entity-key scheme to key parties with next to ``store`` (None: no store).

        The store's, which must be the one these features were fitted with
        (:func:`parcelrisk.store.resolve_key_scheme`: a store of another
        scheme is refused; a model that records none accepts either).
        """
        from parcelrisk.store import resolve_key_scheme

        return resolve_key_scheme(getattr(self, "key_scheme_", None), store)

    def _profiles(self, X: pd.DataFrame, value_eur: pd.Series) -> pd.DataFrame:
        from parcelrisk.profiles import profile_features
        from parcelrisk.store import secret_from_env

        items = X.assign(value_eur=value_eur)
        scheme = self.key_scheme_for(self.store)
        return profile_features(items, self.store, self.secret or secret_from_env(), scheme)

    @staticmethod
    def _parse(X: pd.DataFrame, ref: ReferenceData) -> dict[str, Any]:
        norm_desc = normalise_text(X[M.description])
        flags = text.keyword_flags(norm_desc, ref)
        hs = X[M.hs_code] if M.hs_code in X else pd.Series(pd.NA, index=X.index, dtype="str")
        return {
            "norm_desc": norm_desc,
            "flags": flags,
            "group": text.primary_group(flags),
            "chapter": hs.str.slice(0, 2).where(hs.str.fullmatch(r"\d{6,10}").fillna(False)),
            "value_eur": value.value_in_eur(X, ref),
        }

    @staticmethod
    def _categorical_inputs(X: pd.DataFrame, parts: dict[str, Any]) -> dict[str, pd.Series]:
        def col(name: str) -> pd.Series:
            return X[name] if name in X else pd.Series(pd.NA, index=X.index, dtype="str")

        origin = col(M.origin_country).fillna(X[M.sender_country])
        return {
            "origin_country": origin,
            "recipient_country": col(M.recipient_country),
            "service": col(M.service),
            "item_category": col(M.item_category),
            "hs_chapter": parts["chapter"],
            "desc_group": parts["group"],
        }

    def _check_frame(self, X: Any) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise InputError(
                "ManifestFeatures expects a pandas DataFrame of validated manifest rows"
            )
        missing = sorted(REQUIRED_COLUMNS - set(X.columns))
        if missing:
            raise InputError(f"manifest frame lacks required column(s): {', '.join(missing)}")
        undeclared = [c.name for c in getattr(self, "own_columns_", ()) if c.name not in X]
        if undeclared:
            raise InputError(
                f"manifest frame lacks declared column(s): {', '.join(undeclared)} "
                "(validate it with the declaration: Validator(extra_columns=...))"
            )
        return X

    # -- persistence (JSON, no pickle) -----------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        check_is_fitted(self, "feature_names_out_")
        out = {
            "profiles": self.profiles,
            "reference": self.reference_.to_dict(),
            "value_reference": self.value_reference_.to_dict(),
            "categories": self.categories_,
            "feature_names_in": [str(c) for c in self.feature_names_in_],
            "feature_names_out": self.feature_names_out_,
            "descriptions": self.descriptions_,
        }
        if self.key_scheme_ is not None:
            out["key_scheme"] = self.key_scheme_
        if self.own_columns_:  # absent otherwise: a model without them is saved as before
            out["own_columns"] = extra_columns_to_list(self.own_columns_)
            out["own_levels"] = self.own_levels_
            out["own_secret_check"] = self.own_secret_check_
        return out

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], store: Any = None, secret: bytes | None = None
    ) -> ManifestFeatures:
        own_columns = extra_columns_from_list(data.get("own_columns", []))
        est = cls(
            store=store,
            secret=secret,
            profiles=bool(data["profiles"]),
            extra_columns=own_columns or None,
        )
        est.own_columns_ = own_columns
        est.own_levels_ = {k: [str(v) for v in vs] for k, vs in data.get("own_levels", {}).items()}
        est.own_secret_check_ = data.get("own_secret_check")
        if sorted(est.own_levels_) != sorted(c.name for c in own_columns if c.role != "numeric"):
            raise ValueError("own_levels do not match the declared own_columns")
        if any(not levels for levels in est.own_levels_.values()):
            raise ValueError("own_levels: a column without levels")
        if any(c.hidden for c in own_columns) and not isinstance(est.own_secret_check_, str):
            raise ValueError("own_secret_check missing for keyed own columns")
        est.reference_ = ReferenceData.from_dict(data["reference"])
        est.value_reference_ = value.ValueReference(**data["value_reference"])
        est.categories_ = {k: list(v) for k, v in data["categories"].items()}
        est.feature_names_in_ = np.asarray(data["feature_names_in"], dtype=object)
        est.n_features_in_ = len(est.feature_names_in_)
        est.feature_names_out_ = list(data["feature_names_out"])
        est.descriptions_ = dict(data["descriptions"])
        scheme = data.get("key_scheme")  # absent in models trained before it was recorded
        if scheme is not None and not isinstance(scheme, str):
            raise ValueError("key_scheme is not a string")
        est.key_scheme_ = scheme
        return est
