"""How well entity keys link parties: pairwise and B-cubed precision and recall against truth.

Evaluation only: the truth columns of the synthetic generator
(``truth_sender_entity``, ``truth_recipient_entity``) are read here and nowhere
in training, features or scoring.

Two standard measures, each over the *items* of a manifest (an item is one
mention of a party; a party with many items weighs more, as it does in the
profiles):

Pairwise precision and recall
    Over all unordered pairs of items: precision = linked pairs (same key)
    that are truly the same entity / linked pairs; recall = truly-same pairs
    that are linked / truly-same pairs (Christen, *Data Matching*, Springer
    2012, sec. 7.3; the measure of Splink and ``recordlinkage``). Dominated by
    the largest clusters: n items make n(n-1)/2 pairs.
B-cubed precision and recall (the *cluster* measure)
    For each item i, with K(i) the items sharing its key and T(i) the items of
    its true entity: precision(i) = |K(i) & T(i)| / |K(i)|, recall(i) =
    |K(i) & T(i)| / |T(i)|; both averaged over items (Bagga and Baldwin,
    "Entity-based cross-document coreferencing using the vector space model",
    COLING-ACL 1998; Amigo et al., "A comparison of extrinsic clustering
    evaluation metrics based on formal constraints", Information Retrieval
    12, 2009, who show it is the one common cluster measure meeting all four
    of their constraints). Each item counts once, so a key that merges two
    namesakes costs precision in proportion to the items affected.

An item without a key (NA: e.g. no name) is linked to nothing: its own cluster.

What a key is for is measured too: :func:`prior_seizure_rule` flags items whose
key had a seizure known before they were declared (point in time) and scores
the flags against ``truth_illicit``.

Address truth
    The generator has no address id. It writes a recipient's street address,
    postcode and country verbatim from its party table (only names and cities
    get the operators' formatting noise, see ``parcelrisk.synthetic.assemble``),
    and households, lockers and drops share those strings; so
    :func:`address_truth` takes equal raw (address, postcode, country) as one
    place. Address recall is then trivially high for any key that keeps
    distinct strings apart; the measure shows whether normalisation merges
    different places (precision). A generator that varies addresses should
    export a truth id.

Example
-------
Three entities, six items; the key merges entity 2 into entity 1 and splits entity 3:

>>> keys = pd.Series([10, 10, 10, 20, 30, 30])
>>> truth = pd.Series([1, 1, 2, 3, 3, 3])
>>> s = linkage_scores(keys, truth)
>>> round(s.pairwise_precision, 4), round(s.pairwise_recall, 4)
(0.5, 0.5)
>>> round(s.bcubed_precision, 4), round(s.bcubed_recall, 4)
(0.7778, 0.7778)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from parcelrisk.schema import ManifestSchema, TruthSchema

__all__ = [
    "LinkageScores",
    "linkage_scores",
    "address_truth",
    "evaluate_keys",
    "seconds_per_million",
    "PriorSeizureRule",
    "prior_seizure_rule",
]

M, T = ManifestSchema, TruthSchema


@dataclass(frozen=True)
class LinkageScores:
    """Precision and recall of one key against one truth (see the module docstring)."""

    items: int  # items the B-cubed figures average over
    keyed_items: int  # of those, items with a key (the others are singletons)
    truth_clusters: int
    key_clusters: int  # distinct keys, plus one per item without a key
    pairwise_precision: float
    pairwise_recall: float
    bcubed_precision: float
    bcubed_recall: float
    shared_key_items: float  # share of items whose key also holds another true entity

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _codes(values: pd.Series | np.ndarray, *, singleton_missing: bool) -> np.ndarray:
    codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    codes = codes.astype(np.int64)
    missing = codes < 0
    if missing.any():
        if not singleton_missing:
            raise ValueError("truth must not be missing")
        codes[missing] = len(uniques) + np.arange(int(missing.sum()))
    return codes


def _pairs(n: np.ndarray) -> float:
    return float(np.sum(n * (n - 1) / 2.0))


def linkage_scores(
    keys: pd.Series | np.ndarray,
    truth: pd.Series | np.ndarray,
    among: np.ndarray | None = None,
) -> LinkageScores:
    """Pairwise and B-cubed precision and recall of ``keys`` against ``truth`` (one per item).

    Vectorised over the contingency table of (key, truth); missing keys are
    singletons. With no pair linked, pairwise precision is 1.0; with no true
    pair, pairwise recall is 1.0 (nothing to find). ``among`` (boolean, one
    per item) averages the B-cubed figures and ``shared_key_items`` over those
    items only, with clusters still formed over all items (e.g. illicit
    senders: a namesake's legitimate items in their key cost precision);
    pairwise figures always cover all pairs.
    """
    k = _codes(keys, singleton_missing=True)
    t = _codes(truth, singleton_missing=False)
    if len(k) != len(t):
        raise ValueError("keys and truth must have one value per item")
    n_items = len(k)
    if n_items == 0:
        raise ValueError("no items to evaluate")
    n_k = np.bincount(k).astype(np.float64)
    n_t = np.bincount(t).astype(np.float64)
    cell, item_cell, cell_n = np.unique(
        k * (int(t.max()) + 1) + t, return_inverse=True, return_counts=True
    )
    cell_k = cell // (int(t.max()) + 1)
    cell_n = cell_n.astype(np.float64)
    tp = _pairs(cell_n)
    linked, true_pairs = _pairs(n_k), _pairs(n_t)
    # per item: items sharing key and truth, items sharing the key, items of the truth
    both = cell_n[item_cell.ravel()]
    chosen = np.ones(n_items, dtype=bool) if among is None else np.asarray(among, dtype=bool)
    if len(chosen) != n_items or not chosen.any():
        raise ValueError("among must select at least one item, with one value per item")
    shared_key = (np.bincount(cell_k) > 1)[k]  # the item's key holds another true entity
    keyed = int(pd.Series(keys)[chosen].notna().sum())
    return LinkageScores(
        items=int(chosen.sum()),
        keyed_items=keyed,
        truth_clusters=int(np.count_nonzero(n_t)),
        key_clusters=int(np.count_nonzero(n_k)),
        pairwise_precision=tp / linked if linked else 1.0,
        pairwise_recall=tp / true_pairs if true_pairs else 1.0,
        bcubed_precision=float(np.mean((both / n_k[k])[chosen])),
        bcubed_recall=float(np.mean((both / n_t[t])[chosen])),
        shared_key_items=float(np.mean(shared_key[chosen])),
    )


def address_truth(manifest: pd.DataFrame) -> np.ndarray:
    """Truth place of each recipient address: equal raw (address, postcode, country).

    See "Address truth" in the module docstring for why this is truth on generator v2.
    Items without an address get their own place (-1 would merge them).
    """
    parts = [manifest[c].astype("str").fillna("\x00") for c in (
        M.recipient_address, M.recipient_postcode, M.recipient_country)]  # fmt: skip
    codes = pd.MultiIndex.from_arrays(parts).factorize()[0].astype(np.int64)
    missing = manifest[M.recipient_address].isna().to_numpy()
    codes[missing] = codes.max(initial=-1) + 1 + np.arange(int(missing.sum()))
    return codes


#: Key column -> truth it is measured against (None: address truth).
EVALUATED = {
    "sender_key": T.truth_sender_entity,
    "recipient_key": T.truth_recipient_entity,
    "address_key": None,
}


def evaluate_keys(
    manifest: pd.DataFrame, keys: pd.DataFrame, scheme: str, by_illicit: bool = True
) -> pd.DataFrame:
    """One row per evaluated key column: the scheme, the party and its :class:`LinkageScores`.

    ``manifest`` carries the truth columns; ``keys`` has the same index and
    any of ``sender_key``, ``recipient_key``, ``address_key``. With
    ``by_illicit``, each party gets a second row averaged over the illicit
    items only (``among``; the pairwise figures there still cover all pairs).
    """
    rows = []
    for column, truth_column in EVALUATED.items():
        needs = M.recipient_address if truth_column is None else truth_column
        if column not in keys or needs not in manifest:
            continue
        truth = (
            address_truth(manifest)
            if truth_column is None
            else manifest[truth_column].to_numpy(dtype=np.int64)
        )
        party = column.removesuffix("_key")
        scores = linkage_scores(keys[column], truth)  # nullable Int64: no float rounding
        rows.append({"scheme": scheme, "party": party, **scores.as_dict()})
        illicit = (
            manifest[T.truth_illicit].to_numpy(dtype=bool) if T.truth_illicit in manifest else None
        )
        if by_illicit and illicit is not None and illicit.any():
            scores = linkage_scores(keys[column], truth, among=illicit)
            rows.append({"scheme": scheme, "party": f"{party} (illicit items)", **scores.as_dict()})
    return pd.DataFrame(rows)


def seconds_per_million(
    make_keys: Callable[[pd.DataFrame], pd.DataFrame], frame: pd.DataFrame, repeat: int = 3
) -> float:
    """Best-of-``repeat`` wall time of ``make_keys(frame)``, scaled to 1,000,000 items.

    Linear scaling is an approximation: keying costs per *distinct* value, and
    distinct parties grow more slowly than items, so this overstates the cost
    of a larger file slightly. Benchmarks should key a frame near the size
    they report.
    """
    best = float("inf")
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        make_keys(frame)
        best = min(best, time.perf_counter() - start)
    return best * 1_000_000 / max(1, len(frame))


@dataclass(frozen=True)
class PriorSeizureRule:
    """The rule "this party had a seizure known before this item was declared", scored on truth."""

    flagged: int  # items flagged
    precision: float  # share of flagged items that are illicit (truth)
    recall: float  # share of illicit items flagged
    illicit_flagged: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def prior_seizure_rule(
    manifest: pd.DataFrame, keys: pd.Series | np.ndarray, among: np.ndarray | None = None
) -> PriorSeizureRule:
    """How a key carries a seizure to the party's later items, point in time, against truth.

    An item is flagged when another item with the same key was seized and the
    seizure was known (``inspected_at``) before this item's ``declared_at``:
    label delay counts, as in the profiles. Items without a key are never
    flagged. Precision and recall are against ``truth_illicit``, averaged over
    ``among`` if given. Passing the truth entity as ``keys`` gives the
    ceiling of perfect resolution.
    """
    from parcelrisk.schema import LabelSchema as L

    keys = pd.Series(keys).reset_index(drop=True)
    inspected = manifest[L.inspected_at].reset_index(drop=True)
    declared = manifest[M.declared_at].reset_index(drop=True)
    seized = manifest[L.outcome].reset_index(drop=True).eq("seizure").fillna(False).astype(bool)
    seized &= keys.notna()
    # when each key's first seizure became known
    known = inspected[seized].groupby(keys[seized].to_numpy()).min()
    if known.empty:
        flagged = np.zeros(len(keys), dtype=bool)
    else:
        first_known = keys.map(known).astype(inspected.dtype)
        flagged = (first_known.notna() & (declared > first_known)).to_numpy(dtype=bool)
    illicit = manifest[T.truth_illicit].to_numpy(dtype=bool)
    chosen = np.ones(len(flagged), dtype=bool) if among is None else np.asarray(among, bool)
    f, i = flagged & chosen, illicit & chosen
    hits = int(np.sum(f & i))
    return PriorSeizureRule(
        flagged=int(f.sum()),
        precision=hits / int(f.sum()) if f.any() else float("nan"),
        recall=hits / int(i.sum()) if i.any() else float("nan"),
        illicit_flagged=hits,
    )
