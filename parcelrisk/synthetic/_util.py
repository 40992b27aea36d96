"""Small vectorised helpers shared by the generator modules (not public)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

US = 1_000_000  # microseconds per second
DAY_US = 86_400 * US

DIGITS = np.array(list("0123456789"))
LETTERS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """A generator for one named stream: the same (seed, keys) always gives the same draws.

    This is how the world keeps common random numbers: day ``d``'s legitimate traffic uses
    ``rng_for(seed, STREAM, d, ...)`` whatever happened on earlier days.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed) % 2**63, *map(int, keys)]))


def hash_uniform(seed: int, key: int, values: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) numbers that depend only on (seed, key, value): splitmix64, vectorised.

    Used for per-entity draws (e.g. intelligence false leads) that must not depend on the order
    or the number of other entities.
    """
    with np.errstate(over="ignore"):
        x = np.asarray(values, dtype="uint64") + np.uint64((seed * 0x9E3779B1 + key) % 2**64)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype("float64") / float(2**53)


def join_chars(mat: np.ndarray) -> np.ndarray:
    """(n, k) array of single characters -> object array of n strings."""
    n, k = mat.shape
    if k == 0:
        return np.full(n, "", dtype=object)
    return np.ascontiguousarray(mat.astype("<U1")).view(f"<U{k}").ravel().astype(object)


def template(tpl: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Fill ``#`` with digits and ``@`` with capital letters, vectorised."""
    cols = []
    for ch in tpl:
        if ch == "#":
            cols.append(DIGITS[rng.integers(0, 10, n)])
        elif ch == "@":
            cols.append(LETTERS[rng.integers(0, 26, n)])
        else:
            cols.append(np.full(n, ch, dtype="<U1"))
    return join_chars(np.stack(cols, axis=1)) if cols else np.full(n, "", dtype=object)


def mix(rng: np.random.Generator, shares: Mapping[str, float], n: int) -> np.ndarray:
    """``n`` draws from a categorical mix (keys of ``shares``), as an object array."""
    keys = np.array(list(shares), dtype=object)
    p = np.array(list(shares.values()), dtype="float64")
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return median * np.exp(sigma * rng.standard_normal(n))


def typo(word: str, rng: np.random.Generator) -> str:
    """One keyboard slip: two letters swapped, one dropped or one doubled."""
    if len(word) < 4:
        return word
    i = int(rng.integers(1, len(word) - 2))
    kind = int(rng.integers(0, 3))
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def ascii_lower(values: np.ndarray) -> np.ndarray:
    s = (
        pd.Series(values, dtype="str")
        .str.normalize("NFKD")
        .str.encode("ascii", "ignore")
        .str.decode("ascii")
    )
    return s.str.lower().str.replace(r"[^a-z]+", "", regex=True).to_numpy(dtype=object)


def apportion(total: int, shares: Sequence[float]) -> np.ndarray:
    """Split ``total`` into integer parts proportional to ``shares`` (largest remainder)."""
    p = np.asarray(shares, dtype="float64")
    if total <= 0 or p.sum() <= 0:
        return np.zeros(len(p), dtype="int64")
    raw = total * p / p.sum()
    out = np.floor(raw).astype("int64")
    rest = total - int(out.sum())
    order = np.argsort(-(raw - out), kind="stable")
    out[order[:rest]] += 1
    return out


def s10_check_digit(serial: np.ndarray) -> np.ndarray:
    """UPU S10 check digit of 8-digit serials (int array): weights 8 6 4 2 3 5 9 7, mod 11.

    >>> s10_check_digit(np.array([47312482])).tolist()  # RR473124829GB
    [9]
    """
    weights = np.array([8, 6, 4, 2, 3, 5, 9, 7])
    digits = (np.asarray(serial, dtype="int64")[:, None] // 10 ** np.arange(7, -1, -1)) % 10
    check = 11 - (digits @ weights) % 11
    return np.where(check == 10, 0, np.where(check == 11, 5, check))
