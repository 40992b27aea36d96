"""Declaration quality: the cross-checks that ICS2 and PACT apply to advance data.

Sources: Canada PACT "Unacceptable Commodity Descriptions" and character rules,
EU ICS2 stop words (both in ``features/vague_descriptions/``); the HS chapter
table and keyword groups in ``features/``.
"""

from __future__ import annotations

import pandas as pd

from parcelrisk.reference import ReferenceData
from parcelrisk.schema import ManifestSchema as M

#: Output column -> what it means, in words an officer reads.
DESCRIPTIONS = {
    "desc_vague": "the goods description is on a list of unacceptable (vague) descriptions",
    "desc_char_rule": "the goods description is only digits, only symbols or repeated characters",
    "desc_length": "length of the goods description in characters",
    "desc_words": "number of words in the goods description",
    "hs_missing": "no HS code was declared",
    "hs_malformed": "the HS code is not 6 to 10 digits",
    "hs_desc_mismatch": "the HS chapter does not fit the goods description",
    "gift_from_business": "declared as a gift but sent by a business",
    "missing_optional": "number of optional fields left empty",
}

_FILLER = {
    "and",
    "of",
    "for",
    "the",
    "a",
    "an",
    "all",
    "kind",
    "kinds",
    "other",
    "others",
    "misc",
    "x",
    "various",
    "some",
    "new",
    "my",
    "your",
    "personal",
}
_FILE_EXTENSIONS = ["wpx", "pdf", "doc", "docx", "xls", "xlsx", "txt", "jpg", "zip"]
_OPTIONAL = (
    M.sender_name,
    M.sender_address,
    M.sender_postcode,
    M.recipient_phone,
    M.recipient_email,
    M.hs_code,
    M.declared_value,
    M.item_category,
    M.origin_country,
)


def vague_match(norm_desc: pd.Series, ref: ReferenceData) -> pd.Series:
    """The list a normalised description matches ("" if none): whole text, or every word vague."""
    uniques = pd.Series(norm_desc.unique(), dtype="str")
    whole = uniques.map(ref.vague_terms)
    words = uniques.str.split(" ").explode()
    single = {t for t in ref.vague_terms if " " not in t}
    word_ok = words.isin(single) | words.isin(_FILLER) | words.str.fullmatch(r"\d+")
    word_vague = words.isin(single)
    all_vague = word_ok.groupby(level=0).all() & word_vague.groupby(level=0).any()
    first_list = words[word_vague].map(ref.vague_terms).groupby(level=0).first()
    matched = whole.fillna(first_list.reindex(uniques.index).where(all_vague)).fillna("")
    lookup = pd.Series(matched.to_numpy(), index=uniques.to_numpy())
    return pd.Series(
        lookup.reindex(norm_desc.to_numpy()).to_numpy(), index=norm_desc.index, dtype="str"
    )


def quality_features(
    X: pd.DataFrame, norm_desc: pd.Series, desc_group: pd.Series, ref: ReferenceData
) -> pd.DataFrame:
    """Compute the declaration-quality columns of :data:`DESCRIPTIONS`."""
    desc = X[M.description].astype("str").fillna("").str.strip()
    hs = X[M.hs_code] if M.hs_code in X else pd.Series(pd.NA, index=X.index, dtype="str")
    hs_present = hs.notna()
    chapter = hs.str.slice(0, 2)
    allowed = {f"{g}:{c}" for g, chapters in ref.expected_chapters.items() for c in chapters}
    checked = desc_group.isin(list(ref.expected_chapters)) & hs_present
    mismatch = checked & ~(desc_group + ":" + chapter.fillna("")).isin(allowed)
    business = ref.thresholds["business_name_pattern"]
    sender_norm = _normalised_party(X, M.sender_name)
    category = X[M.item_category] if M.item_category in X else pd.Series(pd.NA, index=X.index)
    missing = sum(
        (X[c].isna() if c in X else pd.Series(True, index=X.index)).astype("int8")
        for c in _OPTIONAL
    )
    return pd.DataFrame(
        {
            "desc_vague": vague_match(norm_desc, ref).ne("").astype("int8"),
            "desc_char_rule": (
                desc.str.fullmatch(r"[\d\s]+")
                | desc.str.fullmatch(r"[\W_\s]+")
                | desc.str.match(r".*(.)\1\1")
                | desc.str.lower().str.lstrip(".").isin(_FILE_EXTENSIONS)
            )
            .fillna(False)
            .astype("int8"),
            "desc_length": desc.str.len().astype("float32"),
            "desc_words": norm_desc.str.count(" ")
            .add(norm_desc.ne("").astype(int))
            .astype("float32"),
            "hs_missing": (~hs_present).astype("int8"),
            "hs_malformed": (hs_present & ~hs.str.fullmatch(r"\d{6,10}").fillna(False)).astype(
                "int8"
            ),
            "hs_desc_mismatch": mismatch.astype("int8"),
            "gift_from_business": (
                category.eq("gift").fillna(False)
                & sender_norm.str.contains(business, regex=True).fillna(False)
            ).astype("int8"),
            "missing_optional": missing.astype("float32"),
        },
        index=X.index,
    )


def _normalised_party(X: pd.DataFrame, column: str) -> pd.Series:
    from parcelrisk.reference import normalise_text

    if column not in X:
        return pd.Series("", index=X.index, dtype="str")
    return normalise_text(X[column])
