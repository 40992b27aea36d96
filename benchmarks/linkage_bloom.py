"""Prototype (issue 15 item 2): keyed fuzzy name matching inside an address block.

Not part of the package: a measurement of what keyed similarity encodings
would add over the deterministic multi-field keys of
:mod:`parcelrisk.party_keys`, on the same harness (see ``benchmarks/LINKAGE.md``).

Method
    1. Block: the party's multi-field address key (keyed HMAC of normalised
       street address, locality, country; :func:`parcelrisk.party_keys.party_keys`
       computes it as ``address_key`` for recipients; the same for senders).
    2. Encode each distinct normalised name (:func:`~parcelrisk.party_keys.full_name`:
       sorted tokens, legal forms out) as a cryptographic long-term key (CLK,
       Schnell, Bachteler and Reiher, BMC Medical Informatics and Decision
       Making 9:41, 2009): its padded character bigrams, each hashed with
       HMAC-SHA256 under the secret to ``K`` positions of an ``M``-bit filter.
    3. Within a block, link two names when the Dice coefficient of their
       filters, 2|A & B| / (|A| + |B|), reaches ``THRESHOLD``; clusters are the
       connected components; an item's key is its (block, component).

Run: ``python benchmarks/linkage_bloom.py [--rows N] [--seed S]``; prints the
harness rows for today's keys, the multi-field keys and the Bloom clusters.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import time

import numpy as np
import pandas as pd

from parcelrisk.linkage_eval import evaluate_keys, prior_seizure_rule
from parcelrisk.party_keys import full_name, party_keys
from parcelrisk.store import entity_keys
from parcelrisk.synthetic import generate_manifest

SECRET = b"parcelrisk-linkage-benchmark-secret-32bytes!"
M_BITS = 512  # filter length (8 x 64-bit words)
K_HASHES = 10  # bit positions per bigram
THRESHOLD = 0.8  # Dice coefficient to link two names in one block


def bigram_bits(names: pd.Series, secret: bytes) -> np.ndarray:
    """(len(names), M_BITS / 64) uint64 Bloom filters of the names' padded bigrams.

    HMAC per *distinct bigram* (a few thousand), then one scatter of bits per
    (name, bigram) pair: no loop over names.
    """
    text = ("_" + names.fillna("") + "_").to_numpy(dtype=object)
    lengths = np.fromiter((len(t) for t in text), dtype=np.int64, count=len(text))
    chars = np.array(list("".join(text)), dtype="<U1")
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    # bigram i of name j: chars[starts[j] + i], chars[starts[j] + i + 1], i < len - 1
    owner = np.repeat(np.arange(len(text)), np.maximum(lengths - 1, 0))
    offset = np.arange(len(owner)) - np.repeat(
        np.cumsum(np.maximum(lengths - 1, 0)) - np.maximum(lengths - 1, 0),
        np.maximum(lengths - 1, 0),
    )
    first = starts[owner] + offset
    grams = np.char.add(chars[first], chars[first + 1])
    vocab, gram_id = np.unique(grams, return_inverse=True)
    positions = np.empty((len(vocab), K_HASHES), dtype=np.int64)
    for i, g in enumerate(vocab):  # distinct bigrams only
        digest = hmac.new(secret, g.encode(), hashlib.sha256).digest()
        h1 = int.from_bytes(digest[:8], "big")
        h2 = int.from_bytes(digest[8:16], "big") | 1
        positions[i] = [(h1 + k * h2) % M_BITS for k in range(K_HASHES)]  # double hashing
    bits = positions[gram_id.ravel()]  # (pairs, K)
    rows = np.repeat(owner, K_HASHES)
    flat = bits.ravel()
    words = np.zeros((len(text), M_BITS // 64), dtype=np.uint64)
    np.bitwise_or.at(
        words, (rows, flat // 64), np.left_shift(np.uint64(1), (flat % 64).astype(np.uint64))
    )
    return words


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected components of an undirected graph (label propagation, vectorised)."""
    label = np.arange(n)
    while True:
        low = np.minimum(label[left], label[right])
        new = label.copy()
        np.minimum.at(new, left, low)
        np.minimum.at(new, right, low)
        new = new[new]
        if np.array_equal(new, label):
            return label
        label = new


def bloom_keys(
    block: pd.Series, names: pd.Series, secret: bytes, threshold: float = THRESHOLD
) -> pd.Series:
    """Per item: a cluster id (block, component of similar names); NA where block or name is."""
    frame = pd.DataFrame({"block": block.to_numpy(), "name": full_name(names).to_numpy()})
    ok = frame["block"].notna() & frame["name"].notna()
    distinct = frame[ok].drop_duplicates().reset_index(drop=True)
    words = bigram_bits(distinct["name"], secret)
    ones = np.bitwise_count(words).sum(axis=1)
    pairs = distinct.reset_index().merge(distinct.reset_index(), on="block")
    pairs = pairs[pairs["index_x"] < pairs["index_y"]]
    a, b = pairs["index_x"].to_numpy(), pairs["index_y"].to_numpy()
    common = np.bitwise_count(words[a] & words[b]).sum(axis=1)
    dice = 2 * common / np.maximum(ones[a] + ones[b], 1)
    link = dice >= threshold
    label = components(len(distinct), a[link], b[link])
    distinct["cluster"] = label
    out = frame.merge(distinct, on=["block", "name"], how="left")["cluster"]
    return pd.Series(out.to_numpy(), index=block.index).astype("Int64")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=300_000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seed", type=int, default=20261203)
    p.add_argument("--threshold", type=float, default=THRESHOLD)
    a = p.parse_args()
    m = generate_manifest(a.rows, seed=a.seed, days=a.days)
    out, rules = [], []
    for name, make in {
        "today": lambda f: entity_keys(f, SECRET),
        "multi-field, initials": lambda f: party_keys(f, SECRET),
    }.items():
        t = time.perf_counter()
        keys = make(m)
        print(f"{name}: {time.perf_counter() - t:.1f} s")
        out.append(evaluate_keys(m, keys, name))
        rules.append((name, prior_seizure_rule(m, keys["sender_key"])))
    t = time.perf_counter()
    # sender block: the multi-field sender key computed without the name
    blocks = party_keys(
        m.assign(recipient_name="x", recipient_address=m["sender_address"],
                 recipient_postcode=m["sender_postcode"], recipient_city=m["sender_city"],
                 recipient_country=m["sender_country"]),
        SECRET,
    )["address_key"]  # fmt: skip
    sender = bloom_keys(blocks, m["sender_name"], SECRET, a.threshold)
    recipient = bloom_keys(
        party_keys(m, SECRET)["address_key"], m["recipient_name"], SECRET, a.threshold
    )
    print(f"bloom: {time.perf_counter() - t:.1f} s")
    keys = pd.DataFrame({"sender_key": sender, "recipient_key": recipient})
    out.append(evaluate_keys(m, keys, f"bloom dice>={a.threshold} in address block"))
    rules.append(("bloom", prior_seizure_rule(m, sender)))
    rules.append(("truth", prior_seizure_rule(m, m["truth_sender_entity"])))
    pd.set_option("display.width", 250)
    cols = ["scheme", "party", "bcubed_precision", "bcubed_recall", "pairwise_precision",
            "pairwise_recall", "key_clusters", "truth_clusters"]  # fmt: skip
    print(pd.concat(out)[cols].round(4).to_string(index=False))
    for name, r in rules:
        print(name, r)


if __name__ == "__main__":
    main()
