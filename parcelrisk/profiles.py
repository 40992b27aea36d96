"""Point-in-time entity profiles: what each party of an item did before it was declared.

:func:`profile_features` counts, for every item, the earlier items of the same
sender, recipient, recipient address, phone number and e-mail address (the
pseudonymous keys of :func:`parcelrisk.store.scheme_keys`, in the store's scheme), drawn from the
history store *and* the other items of the batch, and the inspections and
seizures among them. The features are listed in :data:`PROFILE_FEATURES`;
each is defined once, in :data:`SPECS`, from which both the SQL and the
descriptions are built.

Point in time
    * A record counts for an item only if its ``declared_at`` is strictly
      earlier than the item's (``RANGE ... AND 1 PRECEDING`` on microseconds):
      items declared at the same microsecond never see each other, so the row
      order of the input never matters. Windows are trailing: "7 days" is
      ``[declared_at - 7 days, declared_at)``.
    * An outcome (inspection, seizure) counts only if it was *known* before
      the item was declared: the earlier item's ``inspected_at`` (taken as
      at least its ``declared_at``) must be strictly before the item's
      ``declared_at``. An item's own outcome is therefore never in its own
      features. Outcomes come from the store and, in a labelled batch
      (training), from the batch's ``inspected_at``/``outcome``; for an item
      in both, the store's (latest) outcome wins.
    * An item present both in the store and in the batch counts once.
    * Watch-lists are intelligence, applied as they stand at scoring time.

Hence "training in one pass == scoring day by day": features of day D
computed with a store holding the days before D equal those of a single
batch over the whole period with no store, restricted to day D.

Features of a party whose key is missing (no sender name, no address, ...)
are NaN; counts of a known party are 0 or more.

How it runs
    The batch is registered in DuckDB as an Arrow table (keys, times, value,
    labels only). Per party kind, and per bucket of party keys so that memory
    stays bounded (:data:`ROWS_PER_BUCKET`), DuckDB returns the batch rows
    plus the store rows of the same keys from the last 30 days, sorted by
    (key, time). The windowed counts are then binary searches over that sorted
    array in NumPy (:class:`_Windows`), one vectorised ``searchsorted`` per
    feature. First-seen times are a ``MIN`` per key over all history; prior
    inspections and seizures are cumulative sums over outcome events ordered
    by the time they became known, looked up with an ``ASOF`` join at each
    item's ``declared_at``. No per-row Python. (An earlier version computed the
    windows with DuckDB ``RANGE`` window functions: same values, 3-4x slower,
    because one big sender's partition is sorted and scanned by one thread.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from parcelrisk.errors import InputError
from parcelrisk.schema import ManifestSchema as M
from parcelrisk.store import (
    _DDL,
    VALUE_EUR,
    HistoryStore,
    ManifestOverlay,
    _known_outcomes,
    _run,
    _utc,
    batch_key_scheme,
    connect_duckdb,
    scheme_keys,
)

__all__ = ["ProfileFeature", "SPECS", "PROFILE_FEATURES", "profile_features", "FileProfiles"]

DAY_US = 86_400_000_000
#: Longest trailing window; store rows older than this before the batch only feed
#: first-seen times and outcome counts.
MAX_WINDOW_DAYS = 30

#: Party -> its key column (see :func:`parcelrisk.store.scheme_keys`).
ENTITY_KEYS = {
    "sender": "sender_key",
    "address": "address_key",
    "recipient": "recipient_key",
    "phone": "phone_key",
    "email": "email_key",
}


@dataclass(frozen=True)
class ProfileFeature:
    """One profile feature.

    entity : sender, address, recipient, phone, email or watchlist.
    stat : items (count in ``days``), distinct (distinct ``of`` keys in
        ``days``), first_seen, inspections, seizures, same_day_items,
        same_day_value, hit, lists.
    """

    name: str
    entity: str
    stat: str
    description: str
    days: int | None = None
    of: str | None = None


SPECS: tuple[ProfileFeature, ...] = (
    # sender
    ProfileFeature("sender_items_1d", "sender", "items",
                   "items from this sender in the previous 24 hours", days=1),
    ProfileFeature("sender_items_7d", "sender", "items",
                   "items from this sender in the previous 7 days", days=7),
    ProfileFeature("sender_items_30d", "sender", "items",
                   "items from this sender in the previous 30 days", days=30),
    ProfileFeature("sender_distinct_recipients_7d", "sender", "distinct",
                   "different recipients this sender sent to in the previous 7 days",
                   days=7, of="recipient_key"),
    ProfileFeature("sender_distinct_recipients_30d", "sender", "distinct",
                   "different recipients this sender sent to in the previous 30 days",
                   days=30, of="recipient_key"),
    ProfileFeature("sender_days_since_first_seen", "sender", "first_seen",
                   "days since this sender's first item (empty if never seen)"),
    ProfileFeature("sender_prior_inspections", "sender", "inspections",
                   "earlier items from this sender inspected, results known before this item"),
    ProfileFeature("sender_prior_seizures", "sender", "seizures",
                   "earlier items from this sender seized, known before this item"),
    # recipient address
    ProfileFeature("address_items_1d", "address", "items",
                   "items sent to this recipient address in the previous 24 hours", days=1),
    ProfileFeature("address_items_7d", "address", "items",
                   "items sent to this recipient address in the previous 7 days", days=7),
    ProfileFeature("address_items_30d", "address", "items",
                   "items sent to this recipient address in the previous 30 days", days=30),
    ProfileFeature("address_distinct_senders_7d", "address", "distinct",
                   "different senders that sent to this address in the previous 7 days",
                   days=7, of="sender_key"),
    ProfileFeature("address_distinct_senders_30d", "address", "distinct",
                   "different senders that sent to this address in the previous 30 days",
                   days=30, of="sender_key"),
    ProfileFeature("address_distinct_names_30d", "address", "distinct",
                   "different recipient names at this address in the previous 30 days",
                   days=30, of="recipient_key"),
    ProfileFeature("address_days_since_first_seen", "address", "first_seen",
                   "days since this address first received an item (empty if never seen)"),
    ProfileFeature("address_prior_inspections", "address", "inspections",
                   "earlier items to this address inspected, results known before this item"),
    ProfileFeature("address_prior_seizures", "address", "seizures",
                   "earlier items to this address seized, known before this item"),
    # recipient (name at address)
    ProfileFeature("recipient_items_7d", "recipient", "items",
                   "items sent to this recipient in the previous 7 days", days=7),
    ProfileFeature("recipient_items_30d", "recipient", "items",
                   "items sent to this recipient in the previous 30 days", days=30),
    ProfileFeature("recipient_prior_seizures", "recipient", "seizures",
                   "earlier items to this recipient seized, known before this item"),
    ProfileFeature("recipient_same_day_items", "recipient", "same_day_items",
                   "items to this recipient on the same day up to this one, this one included"),
    ProfileFeature("recipient_same_day_value_eur", "recipient", "same_day_value",
                   "combined value in EUR of this recipient's items that day, this one included"),
    # phone, e-mail
    ProfileFeature("phone_items_30d", "phone", "items",
                   "items for this recipient phone number in the previous 30 days", days=30),
    ProfileFeature("phone_prior_seizures", "phone", "seizures",
                   "earlier items for this phone number seized, known before this item"),
    ProfileFeature("email_items_30d", "email", "items",
                   "items for this recipient e-mail address in the previous 30 days", days=30),
    ProfileFeature("email_prior_seizures", "email", "seizures",
                   "earlier items for this e-mail address seized, known before this item"),
    # watch-lists (not point in time)
    ProfileFeature("watchlist_hit", "watchlist", "hit",
                   "the sender, recipient, address, phone or e-mail is on a watch-list"),
    ProfileFeature("watchlist_lists", "watchlist", "lists",
                   "names of the watch-lists the item's parties are on"),
)  # fmt: skip

#: Output column -> one-line description, in output order.
PROFILE_FEATURES: dict[str, str] = {spec.name: spec.description for spec in SPECS}

_WINDOW_STATS = ("items", "distinct", "same_day_items", "same_day_value")


# -- rows from DuckDB -----------------------------------------------------------------------

#: Rows (batch plus history) per bucket of party keys: bounds the memory of one step.
ROWS_PER_BUCKET = 2_000_000

#: ``value_eur`` as an exact integer of 1/10,000 EUR, so that same-day sums do not depend on
#: the order of additions (the value is rounded as ``CAST(.. AS DECIMAL(18,4))`` rounds it).
_VALUE_UNITS = "CAST(CAST({col} AS DECIMAL(18,4)) * 10000 AS BIGINT)"
_VALUE_SCALE = 10_000


def _bucket_filter(column: str, buckets: int, bucket: int) -> str:
    # keys are uniform 64-bit HMACs: the low bits split the parties evenly
    return f"{column} IS NOT NULL" + (
        f" AND ({column} & {buckets - 1}) = {bucket}" if buckets > 1 else ""
    )


def _rows_sql(
    entity: str, specs: list[ProfileFeature], buckets: int, bucket: int, history: str
) -> str:
    """Batch items of the bucket's parties plus their store items of the last 30 days.

    Columns, sorted by (k, t): qid (NULL for store rows), k, t; for each
    counterparty ``c`` of a distinct count, ``has_c`` (``c`` is known) and
    ``next_c``, the time of the same (party, counterparty) pair's next record
    (NULL if none); for same-day values, v (see :data:`_VALUE_UNITS`). A store item
    that is also in the batch comes once, from the batch.
    """
    key = ENTITY_KEYS[entity]
    others = sorted({s.of for s in specs if s.of})
    need_value = any(s.stat == "same_day_value" for s in specs)
    q_extra = "".join(f", {c}" for c in others) + (
        ", " + _VALUE_UNITS.format(col="value_eur") + " AS v" if need_value else ""
    )
    h_extra = "".join(f", i.{c}" for c in others) + (
        ", " + _VALUE_UNITS.format(col="i.value_eur") + " AS v" if need_value else ""
    )
    following = "".join(
        f", {c} IS NOT NULL AS has_{c}, "
        f"CASE WHEN {c} IS NOT NULL THEN lead(t) OVER (PARTITION BY k, {c} ORDER BY t) END "
        f"AS next_{c}"
        for c in others
    )
    value = ", v" if need_value else ""
    return f"""
WITH q AS (
    SELECT qid, item_id, t, {key} AS k{q_extra}
    FROM _pr_batch WHERE {_bucket_filter(key, buckets, bucket)}
),
ks AS (SELECT DISTINCT k FROM q),
h AS (
    SELECT CAST(NULL AS BIGINT) AS qid, i.item_id, epoch_us(i.declared_at) AS t,
           i.{key} AS k{h_extra}
    FROM {history} i SEMI JOIN ks ON i.{key} = ks.k
    WHERE i.declared_at >= $lo AND i.declared_at < $hi
),
u AS (
    SELECT * EXCLUDE (item_id) FROM q
    UNION ALL BY NAME
    SELECT * EXCLUDE (item_id) FROM (SELECT * FROM h ANTI JOIN _pr_batch b ON h.item_id = b.item_id)
)
SELECT qid, k, t{value}{following} FROM u ORDER BY k, t
"""


def _outcomes_sql(entity: str, buckets: int, bucket: int, history: str) -> str:
    """Per batch item of the bucket: first-seen time of its party and the outcomes known before.

    First seen is a ``MIN`` over all history; prior inspections and seizures are
    cumulative sums over outcome events ordered by the time they became known,
    looked up with an ``ASOF`` join at the item's ``declared_at``.
    """
    key = ENTITY_KEYS[entity]
    return f"""
WITH q AS (
    SELECT qid, t, {key} AS k FROM _pr_batch WHERE {_bucket_filter(key, buckets, bucket)}
),
ks AS (SELECT DISTINCT k FROM q),
firsts AS (
    SELECT k, min(t) AS ft FROM (
        SELECT i.{key} AS k, epoch_us(i.declared_at) AS t
        FROM {history} i SEMI JOIN ks ON i.{key} = ks.k
        UNION ALL
        SELECT k, t FROM q
    ) GROUP BY k
),
ev AS (
    SELECT k, e, sum(seized) AS s, count(*) AS n FROM (
        SELECT i.{key} AS k, epoch_us(greatest(i.inspected_at, i.declared_at)) AS e,
               CAST(i.outcome = 'seizure' AS INTEGER) AS seized
        FROM {history} i SEMI JOIN ks ON i.{key} = ks.k
        WHERE i.outcome IS NOT NULL AND i.inspected_at IS NOT NULL
        UNION ALL
        SELECT b.{key} AS k, b.e, b.seized FROM _pr_batch b SEMI JOIN ks ON b.{key} = ks.k
        ANTI JOIN (SELECT item_id FROM {history} WHERE outcome IS NOT NULL) x ON x.item_id = b.item_id
        WHERE b.e IS NOT NULL
    ) GROUP BY k, e
),
cum AS (
    SELECT k, e,
        sum(s) OVER (PARTITION BY k ORDER BY e ROWS UNBOUNDED PRECEDING) AS cs,
        sum(n) OVER (PARTITION BY k ORDER BY e ROWS UNBOUNDED PRECEDING) AS cn
    FROM ev
)
SELECT q.qid, q.t, f.ft, coalesce(c.cn, 0) AS cn, coalesce(c.cs, 0) AS cs
FROM q
JOIN firsts f ON f.k = q.k
ASOF LEFT JOIN cum c ON c.k = q.k AND q.t > c.e
"""


# -- windows in NumPy -------------------------------------------------------------------------


def _ints(column: pa.ChunkedArray, fill: int) -> np.ndarray:
    return np.asarray(pc.fill_null(column, fill).to_numpy(), dtype=np.int64)


class _Windows:
    """Counts over a party's earlier records, for every batch row, by binary search.

    ``rows`` come sorted by (party, time); times are replaced by their rank
    among the distinct record times so that (party, rank) packs into one
    sorted int64. "Records of my party with ``since <= t < my t``" is then the
    difference of two ``searchsorted`` positions. Queries are taken in the
    same sorted order, so the searches walk the array forwards.
    """

    def __init__(self, rows: pa.Table) -> None:
        k = _ints(rows.column("k"), 0)
        t = _ints(rows.column("t"), 0)
        qid = _ints(rows.column("qid"), -1)
        party = np.zeros(len(k), dtype=np.int64)
        np.cumsum(k[1:] != k[:-1], out=party[1:])
        self.times, rank = np.unique(t, return_inverse=True)
        self.width = np.int64(len(self.times) + 1)
        self.party, self.rank, self.t = party, rank.astype(np.int64), t
        self.packed = party * self.width + self.rank
        self.is_query = qid >= 0
        self.qid = qid[self.is_query]
        self.q_base = party[self.is_query] * self.width
        self.q_t = t[self.is_query]
        self.q_end = self.packed[self.is_query]
        self.before = np.searchsorted(self.packed, self.q_end)

    def _start(self, since: np.ndarray) -> np.ndarray:
        """Position of each query's first record at or after ``since`` (its party's)."""
        return np.searchsorted(self.packed, self.q_base + np.searchsorted(self.times, since))

    def items(self, days: int) -> np.ndarray:
        return (self.before - self._start(self.q_t - days * DAY_US)).astype(np.float64)

    def same_day_items(self) -> np.ndarray:
        return (self.before - self._start(self.q_t // DAY_US * DAY_US) + 1).astype(np.float64)

    def same_day_value(self, v: pa.ChunkedArray) -> np.ndarray:
        known = pc.is_valid(v).to_numpy(zero_copy_only=False)
        units = _ints(v, 0)
        summed = np.concatenate([[0], np.cumsum(units)])
        counted = np.concatenate([[0], np.cumsum(known)])
        start = self._start(self.q_t // DAY_US * DAY_US)
        total = summed[self.before] - summed[start] + units[self.is_query]
        none = ~known[self.is_query] & (counted[self.before] == counted[start])
        return np.where(none, np.nan, total / _VALUE_SCALE)

    def distinct(
        self, has: pa.ChunkedArray, following: pa.ChunkedArray, days_list: list[int]
    ) -> list[np.ndarray]:
        """Distinct counterparties among each query's party records in trailing windows.

        ``has`` and ``following`` are ``has_c`` and ``next_c`` of :func:`_rows_sql`.
        A pair (party, counterparty) counts at time e exactly when its latest
        record r before e lies in the window: ``t_r < e <= min(t_r + W, next_r)``.
        These intervals are disjoint per pair, so the count is #records before e
        minus #intervals ended before e.
        """
        rows = has.to_numpy(zero_copy_only=False).astype(bool)
        t, party = self.t[rows], self.party[rows]
        following_t = _ints(following, np.iinfo(np.int64).max)[rows]
        started = self.packed[rows]  # still sorted
        begun = np.searchsorted(started, self.q_end) - np.searchsorted(started, self.q_base)
        out = []
        for days in days_list:
            width = days * DAY_US
            end = np.where(following_t - t > width, t + width, following_t)
            # an interval ended before e iff end < e iff rank(end + 1) <= rank(e)
            ended = np.sort(party * self.width + np.searchsorted(self.times, end + 1))
            done = np.searchsorted(ended, self.q_end, side="right") - np.searchsorted(
                ended, self.q_base
            )
            out.append((begun - done).astype(np.float64))
        return out


_WATCHLIST_SQL = (
    "SELECT b.qid, string_agg(DISTINCT w.list_name, '|' ORDER BY w.list_name) AS lists\nFROM ("
    + "\n    UNION ALL ".join(
        f"SELECT qid, '{entity}' AS kind, {entity}_key AS key "
        f"FROM _pr_batch WHERE {entity}_key IS NOT NULL"
        for entity in ("sender", "recipient", "address", "phone", "email")
    )
    + ") b\nJOIN watchlist w ON w.kind = b.kind AND w.key = b.key\nGROUP BY b.qid"
)


# -- batch ------------------------------------------------------------------------------------


def _batch_table(items: pd.DataFrame, secret: bytes, scheme: str) -> pa.Table:
    """The batch as DuckDB sees it: position, item_id, keys, times (epoch us), value, labels."""
    n = len(items)
    keys = scheme_keys(items, secret, scheme)
    declared = _utc(items[M.declared_at]).astype("datetime64[us, UTC]")
    if declared.isna().any():
        raise InputError(
            "profile_features: declared_at is missing in some rows (validate the frame first)"
        )
    t = declared.astype("int64").to_numpy() if n else np.array([], dtype=np.int64)
    when, outcome = _known_outcomes(items)
    e_known = when.notna().to_numpy()
    when_us = when.astype("datetime64[us, UTC]").fillna(declared).astype("int64").to_numpy()
    e = np.maximum(when_us, t)
    value = (
        pd.to_numeric(items[VALUE_EUR], errors="coerce").astype("float64")
        if VALUE_EUR in items
        else pd.Series(np.nan, index=items.index)
    )
    item_id = (
        items[M.item_id].astype("str").to_numpy(dtype=object)
        if M.item_id in items
        else np.array([f"\x00row{i}" for i in range(n)], dtype=object)  # pragma: no cover
    )
    return pa.table(
        {
            "qid": pa.array(np.arange(n, dtype=np.int64)),
            "item_id": pa.array(item_id, pa.string()),
            "t": pa.array(t, pa.int64()),
            **{k: pa.array(keys[k], pa.int64()) for k in ENTITY_KEYS.values()},
            VALUE_EUR: pa.array(value.to_numpy(), pa.float64(), from_pandas=True),
            "e": pa.array(e, pa.int64(), mask=~e_known),
            "seized": pa.array(
                outcome.eq("seizure").fillna(False).to_numpy(dtype=np.int32), pa.int32()
            ),
        }
    )


def _empty_result(index: pd.Index) -> pd.DataFrame:
    out = {s.name: pd.Series(np.nan, index=index, dtype="float64") for s in SPECS}
    out["watchlist_hit"] = pd.Series(0, index=index, dtype="int8")
    out["watchlist_lists"] = pd.Series("", index=index, dtype="str")
    return pd.DataFrame(out, index=index)[list(PROFILE_FEATURES)]


def _buckets(
    con: duckdb.DuckDBPyConnection, n: int, lo: datetime, hi: datetime, history: str
) -> int:
    """How many key buckets keep one step under :data:`ROWS_PER_BUCKET` rows (a power of 2)."""
    stored = _run(
        con, f"SELECT count(*) FROM {history} WHERE declared_at >= ? AND declared_at < ?", [lo, hi]
    )[0][0]
    rows = n + int(stored)
    return 1 << max(0, math.ceil(math.log2(max(rows, 1) / ROWS_PER_BUCKET)))


def _entity_columns(
    con: duckdb.DuckDBPyConnection,
    entity: str,
    n: int,
    lo: datetime,
    hi: datetime,
    buckets: int,
    history: str,
) -> dict[str, np.ndarray]:
    """One party's profile columns for the ``n`` rows of ``_pr_batch`` (indexed by qid)."""
    specs = [s for s in SPECS if s.entity == entity]
    out = {s.name: np.full(n, np.nan) for s in specs}
    window_specs = [s for s in specs if s.stat in _WINDOW_STATS]
    for bucket in range(buckets):
        if window_specs:
            rows = con.sql(
                _rows_sql(entity, window_specs, buckets, bucket, history),
                params={"lo": lo, "hi": hi},
            ).to_arrow_table()
            windows = _Windows(rows)
            for s in window_specs:
                if s.stat == "items":
                    out[s.name][windows.qid] = windows.items(s.days)  # type: ignore[arg-type]
                elif s.stat == "same_day_items":
                    out[s.name][windows.qid] = windows.same_day_items()
                elif s.stat == "same_day_value":
                    out[s.name][windows.qid] = windows.same_day_value(rows.column("v"))
            for of in sorted({s.of for s in window_specs if s.of}):
                group = [s for s in window_specs if s.of == of]
                counts = windows.distinct(
                    rows.column(f"has_{of}"), rows.column(f"next_{of}"), [s.days for s in group]
                )  # type: ignore[misc]
                for s, values in zip(group, counts, strict=True):
                    out[s.name][windows.qid] = values
            del rows, windows
        known = con.sql(_outcomes_sql(entity, buckets, bucket, history)).to_arrow_table()
        qid = known.column("qid").to_numpy()
        t, first = known.column("t").to_numpy(), known.column("ft").to_numpy()
        for s in specs:
            if s.stat == "first_seen":
                out[s.name][qid] = np.where(
                    first < t, (t - first).astype(np.float64) / DAY_US, np.nan
                )
            elif s.stat == "inspections":
                out[s.name][qid] = known.column("cn").to_numpy().astype(np.float64)
            elif s.stat == "seizures":
                out[s.name][qid] = known.column("cs").to_numpy().astype(np.float64)
    return out


def _compute(
    con: duckdb.DuckDBPyConnection,
    n: int,
    lo: datetime,
    hi: datetime,
    emit: Callable[[dict[str, np.ndarray]], None],
    history: str = "items",
) -> tuple[np.ndarray, np.ndarray]:
    """Profiles of the ``n`` rows of ``_pr_batch``: columns go to ``emit`` one party at a time.

    ``history`` is the table of stored items; a stored item that is also in
    ``_pr_batch`` counts once. Returns the watch-list hits as (qid, lists).
    """
    buckets = _buckets(con, n, lo, hi, history)
    for entity in ENTITY_KEYS:
        emit(_entity_columns(con, entity, n, lo, hi, buckets, history))
    hits = con.sql(_WATCHLIST_SQL).to_arrow_table()
    return hits.column("qid").to_numpy(), hits.column("lists").to_numpy(zero_copy_only=False)


def _assemble(
    index: pd.Index, columns: Mapping[str, np.ndarray], hit_qid: np.ndarray, hit_lists: np.ndarray
) -> pd.DataFrame:
    result = _empty_result(index)
    for spec in SPECS:
        if spec.entity != "watchlist":
            result[spec.name] = columns[spec.name]
    lists = np.full(len(index), "", dtype=object)
    lists[hit_qid] = hit_lists
    result["watchlist_lists"] = pd.Series(lists, index=index, dtype="str")
    result["watchlist_hit"] = (lists != "").astype("int8")
    return result


def _window_bounds(t: np.ndarray) -> tuple[datetime, datetime]:
    lo = pd.Timestamp(int(t.min()) - MAX_WINDOW_DAYS * DAY_US, unit="us", tz="UTC")
    hi = pd.Timestamp(int(t.max()), unit="us", tz="UTC")
    return lo.to_pydatetime(), hi.to_pydatetime()


def profile_features(
    items: pd.DataFrame,
    store: HistoryStore | None,
    secret: bytes,
    key_scheme: str | None = None,
) -> pd.DataFrame:
    """Point-in-time profile features of ``items`` (same index; columns :data:`PROFILE_FEATURES`).

    Parameters
    ----------
    items : DataFrame
        Validated manifest rows (``declared_at`` tz-aware UTC); may carry
        labels (``inspected_at``, ``outcome``) and a float ``value_eur``.
    store : HistoryStore or None
        History to draw on, and the source of watch-lists. Without it, the
        batch is its own history (training over a whole period).
    secret : bytes
        HMAC key of the entity keys; must be the store's.
    key_scheme : str, optional
        How to key the parties (:func:`parcelrisk.store.scheme_keys`): always
        the store's scheme (another one is an error); without a store, this
        one, default :func:`parcelrisk.store.current_key_scheme`.

    Numeric features are float64 (NaN where the party's key is missing,
    and for days-since-first-seen of a party never seen before);
    ``watchlist_hit`` is int8 and ``watchlist_lists`` a ``|``-joined string.
    """
    if M.declared_at not in items:
        raise InputError("profile_features: the frame has no declared_at column")
    if store is not None and store.con is None:
        raise InputError(f"profile_features: history store {store.path} is closed")
    if items.empty:
        return _empty_result(items.index)
    batch = _batch_table(items, secret, batch_key_scheme(store, key_scheme))
    lo, hi = _window_bounds(batch.column("t").to_numpy())

    own = store is None
    con = connect_duckdb() if own else store.con
    columns: dict[str, np.ndarray] = {}
    try:
        if own:
            _run(con, "SET TimeZone = 'UTC'")
            _run(con, _DDL)
        con.register("_pr_batch", batch)
        try:
            hit_qid, hit_lists = _compute(con, len(items), lo, hi, columns.update)
        finally:
            con.unregister("_pr_batch")
    finally:
        if own:
            con.close()
    return _assemble(items.index, columns, hit_qid, hit_lists)


# -- a whole file at once ---------------------------------------------------------------------

_OVERLAY_BATCH_SQL = f"""
CREATE OR REPLACE TEMP VIEW _pr_batch AS
SELECT qid, item_id, epoch_us(declared_at) AS t, {", ".join(ENTITY_KEYS.values())}, value_eur,
       CASE WHEN inspected_at IS NOT NULL AND outcome IS NOT NULL
            THEN epoch_us(greatest(inspected_at, declared_at)) END AS e,
       CAST(coalesce(outcome = 'seizure', false) AS INTEGER) AS seized
FROM _pr_manifest
"""


class FileProfiles:
    """Profiles of every item of a manifest file, computed once, read back a chunk at a time.

    Chunked scoring (:func:`parcelrisk.batch.score_file`) first adds the whole
    file to a :class:`~parcelrisk.store.ManifestOverlay`, then calls
    :meth:`compute`; each chunk then reads its rows with :meth:`rows`. The
    values equal :func:`profile_features` over the whole file (tested).
    Numeric columns are kept in raw float64 files under ``folder`` rather
    than in memory, so memory does not grow with the file.
    """

    def __init__(self, folder: Path, n: int, hit_qid: np.ndarray, hit_lists: np.ndarray) -> None:
        self.folder = folder
        self.n = n
        self._hit_qid = hit_qid
        self._hit_lists = hit_lists

    @classmethod
    def compute(cls, overlay: ManifestOverlay, folder: Path) -> FileProfiles:
        """Profiles of the ``overlay.rows`` items added to ``overlay``, into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        n = overlay.rows
        if n == 0:
            return cls(folder, 0, np.array([], dtype=np.int64), np.array([], dtype=object))
        con = overlay.con
        first, last = _run(
            con, "SELECT min(epoch_us(declared_at)), max(epoch_us(declared_at)) FROM _pr_manifest"
        )[0]
        lo, hi = _window_bounds(np.array([first, last], dtype=np.int64))

        def save(columns: dict[str, np.ndarray]) -> None:
            for name, values in columns.items():
                values.astype("<f8", copy=False).tofile(folder / f"{name}.f64")

        _run(con, _OVERLAY_BATCH_SQL)
        try:
            hit_qid, hit_lists = _compute(con, n, lo, hi, save, overlay.history_table)
        finally:
            _run(con, "DROP VIEW IF EXISTS temp._pr_batch")
        return cls(folder, n, hit_qid, hit_lists)

    def rows(self, start: int, index: pd.Index) -> pd.DataFrame:
        """Profiles of items ``start`` .. ``start + len(index)`` (file order), on ``index``."""
        count = len(index)
        if start < 0 or start + count > self.n:
            raise ValueError(f"rows {start}..{start + count} outside 0..{self.n}")
        columns = {
            spec.name: np.fromfile(
                self.folder / f"{spec.name}.f64", dtype="<f8", count=count, offset=start * 8
            ).astype(np.float64)
            for spec in SPECS
            if spec.entity != "watchlist"
        }
        mine = (self._hit_qid >= start) & (self._hit_qid < start + count)
        return _assemble(index, columns, self._hit_qid[mine] - start, self._hit_lists[mine])
