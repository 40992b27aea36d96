"""Reasons an officer can check: every template renders, and no reason states a non-fact.

The reasons of a whole generated day (with a history store) are rendered through the public
``Model.explain``; the template file is also filled with one real item's values, template by
template, so a typo in a placeholder fails here rather than falling back silently at the bench.
"""

from __future__ import annotations

import re
import string

import pandas as pd
import pytest
import yaml

import parcelrisk
from parcelrisk.reference import default_reference_dir
from parcelrisk.store import HistoryStore
from parcelrisk.synthetic import generate_manifest
from parcelrisk.validate import validate_frame

#: A count of zero worded as a count ("0 items", "0 different recipients", "(0)").
ZERO_COUNT = re.compile(
    r"(?<![\d.,])0 (?:other |earlier |different |optional )?"
    r"(?:items?|item\(s\)|recipients|senders|names|fields|words?)\b|\(0\)"
)
#: Placeholders or values that did not fill: empty country, NaN, doubled blanks, "100%".
UNFILLED = re.compile(r"\bnan\b|\bNone\b|<NA>|  |\(\s*\)|\bin \(|\b100% of|: $|\{|\}")


@pytest.fixture(scope="module")
def day_reasons(tmp_path_factory) -> pd.DataFrame:
    """Every reason (raising and lowering) of a generated day scored against 3 weeks of history."""
    history = generate_manifest(12_000, seed=4242, start="2026-05-04", days=21)
    today = generate_manifest(
        2_500, seed=4243, start="2026-05-25", days=1, labels=False, truth=False
    )
    path = tmp_path_factory.mktemp("reasons") / "h.duckdb"
    with HistoryStore(path) as store:
        store.add_manifest(validate_frame(history).valid)
    with HistoryStore(path, read_only=True) as store:
        model = parcelrisk.load_model(store=store)
        return model.explain(today, top=5)


def test_raising_reasons_state_facts_not_zero_counts(day_reasons):
    raising = day_reasons[day_reasons["rank"] > 0]
    assert raising["item_id"].nunique() > 2_000  # nearly every item has a raising reason
    zero = raising["text"][raising["text"].str.contains(ZERO_COUNT)]
    assert zero.empty, zero.head().tolist()
    # a quoted description keeps its own spacing ('stain  remover'): checked outside quotes
    unquoted = raising["text"].str.replace(r"'[^']*'", "'x'", regex=True)
    unfilled = raising["text"][unquoted.str.contains(UNFILLED)]
    assert not raising["text"].str.contains("reads as none goods").any()
    assert unfilled.empty, unfilled.head().tolist()
    assert raising["text"].str.match(r"^['A-Z0-9]").all()
    # "1 item to this recipient today" is no fact to check: such reasons are dropped.
    assert not raising["text"].str.match(r"^1 items? to this recipient today").any()


#: A count of one with a plural noun ("received 1 items from 1 different senders").
ONE_PLURAL = re.compile(
    r"(?<![\d.,])1 (?:other |earlier |different |optional )?"
    r"(?:items|recipients|senders|names|fields|days)\b"
)


def test_a_count_of_one_takes_the_singular(day_reasons):
    texts = day_reasons["text"].dropna()
    assert texts.str.contains(r"(?<![\d.,])1 (?:\w+ )?item\b").any()  # the case occurs
    wrong = texts[texts.str.contains(ONE_PLURAL)]
    assert wrong.empty, wrong.head().tolist()


def test_lowering_factors_are_sentences_not_feature_values(day_reasons):
    lowering = day_reasons[day_reasons["rank"] < 0]["text"]
    assert len(lowering) > 1_000
    # A yes/no fact is stated or negated ("does not use chemicals words"), never "...: 0";
    # a count of zero says "no items ...".
    bare = lowering[lowering.str.contains(r"\b(?:is|uses|does|was)\b.*: [01]$|^Items.*: 0$")]
    assert bare.empty, bare.head().tolist()
    assert not lowering.str.replace(r"'[^']*'", "'x'", regex=True).str.contains(UNFILLED).any()


def test_ranks_are_consecutive_after_dropped_reasons(day_reasons):
    raising = day_reasons[day_reasons["rank"] > 0]
    ranks = raising.groupby("item_id")["rank"].agg(["min", "max", "count"])
    assert (ranks["min"] == 1).all()
    assert (ranks["max"] == ranks["count"]).all()


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def _all_texts(group: dict) -> list[str]:
    texts = [group["text"], group.get("text_if_not_vague"), group.get("text_if_missing")]
    texts.append(group.get("text_hidden"))  # own_columns: identifier and text columns
    entries = [group, *group.get("by_feature", {}).values()]
    for entry in entries:
        if isinstance(entry, str):
            texts.append(entry)
            continue
        texts += [entry.get("text"), entry.get("missing")]
        texts += [case.get("text") for case in entry.get("cases", [])]
    return [t for t in texts if t]


def test_every_template_names_only_known_placeholders():
    """Each text of features/reason_templates.yaml, by_feature entry and case included."""
    model = parcelrisk.load_model()
    known = set(model._model.features.descriptions_) | {
        "description",
        "hs_code",
        "hs_chapter",
        "origin_country",
        "sender_country",
        "recipient_country",
        "service",
        "item_category",
        "vague_list",
        "watchlists",
        "vpk_comparison",
        "top_feature_text",
        "top_feature_value",
    }
    groups = yaml.safe_load((default_reference_dir() / "reason_templates.yaml").read_text())
    texts = [t for g in groups["groups"] for t in _all_texts(g)]
    assert len(texts) > 40
    unknown = {t: _placeholders(t) - known for t in texts if _placeholders(t) - known}
    assert not unknown
    for group in groups["groups"]:
        for case in [*group.get("cases", [])] + [
            c
            for e in group.get("by_feature", {}).values()
            if isinstance(e, dict)
            for c in e.get("cases", [])
        ]:
            assert case["feature"] in known
            assert {"at_most", "at_least", "missing", "equals"} & set(case)
