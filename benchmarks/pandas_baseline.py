"""A plain pandas implementation of a few entity-window profile features (benchmark baseline).

It answers one question for ``benchmarks/run.py``: how fast would the obvious pandas code
(``groupby`` + time-based ``rolling``) compute the same point-in-time windows that
:func:`parcelrisk.profiles.profile_features` computes in DuckDB? The harness checks on a
sample that both give identical numbers for :data:`BASELINE_COLUMNS`, then times both at full
size.

Same definitions as :mod:`parcelrisk.profiles`:

* a record counts for an item only if its ``declared_at`` is *strictly* earlier (items at
  the same microsecond never see each other); windows are trailing and the left end is
  inclusive: "7 days" is ``[declared_at - 7 days, declared_at)``. pandas'
  ``rolling("7D", closed="left")`` has exactly these bounds, ties included;
* the history is the store's items (``items`` table, keys already HMAC'd) unioned with the
  batch; an item present in both counts once;
* an item whose key is missing gets NaN; a known key with no earlier record gets 0.

The distinct count (different recipients per sender in 7 days) has no ``rolling`` kernel in
pandas (``rolling(...).apply(nunique)`` is a Python call per row and takes hours at this
size), so it uses the same +1/-1 event formulation as the DuckDB query, with
``groupby().cumsum()`` and ``merge_asof(allow_exact_matches=False)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["BASELINE_COLUMNS", "history_frame", "batch_frame", "entity_windows"]

#: (output column, entity key column, window in days) for the plain item counts.
COUNT_SPECS: tuple[tuple[str, str, int], ...] = (
    ("sender_items_7d", "sender_key", 7),
    ("sender_items_30d", "sender_key", 30),
    ("address_items_7d", "address_key", 7),
    ("address_items_30d", "address_key", 30),
    ("recipient_items_7d", "recipient_key", 7),
)
#: (output column, entity key column, counterparty key column, window in days).
DISTINCT_SPECS: tuple[tuple[str, str, str, int], ...] = (
    ("sender_distinct_recipients_7d", "sender_key", "recipient_key", 7),
)
BASELINE_COLUMNS: tuple[str, ...] = tuple(c for c, *_ in COUNT_SPECS) + tuple(
    c for c, *_ in DISTINCT_SPECS
)
_KEYS = ("sender_key", "recipient_key", "address_key")
_MAX_DAYS = 30


def history_frame(con, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.DataFrame:
    """Store items declared in ``[lo, hi)``: item_id, t (UTC), the three keys (nullable Int64)."""
    frame = con.sql(
        "SELECT item_id, declared_at AS t, sender_key, recipient_key, address_key FROM items "
        "WHERE declared_at >= $lo AND declared_at < $hi",
        params={"lo": lo.to_pydatetime(), "hi": hi.to_pydatetime()},
    ).df()
    frame["t"] = pd.to_datetime(frame["t"], utc=True).astype("datetime64[us, UTC]")
    for key in _KEYS:
        frame[key] = frame[key].astype("Int64")
    return frame


def batch_frame(items: pd.DataFrame, secret: bytes, key_scheme: str | None = None) -> pd.DataFrame:
    """The batch's item_id, t and keys (:func:`parcelrisk.store.scheme_keys`; pass the store's
    ``key_scheme``, default the current one)."""
    from parcelrisk.store import current_key_scheme, scheme_keys

    keys = scheme_keys(items, secret, key_scheme or current_key_scheme())
    return pd.DataFrame(
        {
            "item_id": items["item_id"].astype("str").to_numpy(dtype=object),
            "t": pd.to_datetime(items["declared_at"], utc=True)
            .astype("datetime64[us, UTC]")
            .to_numpy(),
            **{k: keys[k].to_numpy() for k in _KEYS},
        }
    ).astype({k: "Int64" for k in _KEYS})


def _union(batch: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Batch rows (qid = position) and history rows not in the batch (qid = -1)."""
    hist = history[~history["item_id"].isin(batch["item_id"])]
    hist = hist.assign(qid=np.int64(-1))
    return pd.concat(
        [batch.assign(qid=np.arange(len(batch), dtype=np.int64)), hist], ignore_index=True
    )


def _counts(union: pd.DataFrame, key: str, days: int, n: int) -> np.ndarray:
    """Items of the same ``key`` in ``[t - days, t)`` for each batch row (NaN: key missing)."""
    sub = union.loc[union[key].notna(), [key, "t", "qid"]]
    sub = sub.assign(one=1.0).sort_values([key, "t"], kind="stable")
    counted = sub.groupby(key, sort=True).rolling(f"{days}D", on="t", closed="left")["one"].count()
    values = counted.to_numpy(dtype="float64")
    out = np.full(n, np.nan)
    qid = sub["qid"].to_numpy()
    batch_rows = qid >= 0
    out[qid[batch_rows]] = np.nan_to_num(values[batch_rows], nan=0.0)
    return out


def _distinct(union: pd.DataFrame, key: str, of: str, days: int, n: int) -> np.ndarray:
    """Distinct ``of`` keys among ``key``'s records in ``[t - days, t)`` for each batch row.

    A record r of the pair (key, of) with the pair's next record at nt counts for query time
    e exactly when t_r < e <= min(t_r + W, nt): +1 at t_r, -1 at min(t_r + W, nt), summed
    over events strictly before e.
    """
    width = pd.Timedelta(days=days)
    pairs = union.loc[union[key].notna() & union[of].notna(), [key, of, "t"]]
    pairs = pairs.sort_values([key, of, "t"], kind="stable")
    nt = pairs.groupby([key, of], sort=False)["t"].shift(-1)
    end = (pairs["t"] + width).where(nt.isna() | (nt > pairs["t"] + width), nt)
    events = pd.concat(
        [
            pd.DataFrame({key: pairs[key].to_numpy(), "time": pairs["t"].to_numpy(), "w": 1}),
            pd.DataFrame({key: pairs[key].to_numpy(), "time": end.to_numpy(), "w": -1}),
        ],
        ignore_index=True,
    )
    events = events.groupby([key, "time"], sort=True, as_index=False)["w"].sum()
    events["cum"] = events.groupby(key, sort=False)["w"].cumsum()
    events = events.astype({key: "int64"}).sort_values("time", kind="stable")
    queries = union.loc[(union["qid"] >= 0) & union[key].notna(), [key, "t", "qid"]]
    queries = queries.astype({key: "int64"}).sort_values("t", kind="stable")
    found = pd.merge_asof(
        queries,
        events[[key, "time", "cum"]],
        left_on="t",
        right_on="time",
        by=key,
        allow_exact_matches=False,
        direction="backward",
    )
    out = np.full(n, np.nan)
    out[found["qid"].to_numpy()] = found["cum"].fillna(0).to_numpy(dtype="float64")
    return out


def entity_windows(batch: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """:data:`BASELINE_COLUMNS` for each batch row (same order as ``batch``), float64.

    ``batch`` and ``history`` as returned by :func:`batch_frame` and :func:`history_frame`
    (the history should cover the 30 days before the batch's first item).
    """
    n = len(batch)
    union = _union(batch, history)
    out = {name: _counts(union, key, days, n) for name, key, days in COUNT_SPECS}
    for name, key, of, days in DISTINCT_SPECS:
        out[name] = _distinct(union, key, of, days, n)
    return pd.DataFrame(out)[list(BASELINE_COLUMNS)]


def history_window(batch: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``[first item - 30 days, last item)``: the store rows the windows can reach."""
    return batch["t"].min() - pd.Timedelta(days=_MAX_DAYS), batch["t"].max()
