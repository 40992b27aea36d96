"""Point-in-time entity profiles: what each party of an item did before it was declared.

:func:`profile_features` counts, for every item, the earlier items of the same
sender, recipient, recipient address, phone number and e-mail address (the
pseudonymous keys of :func:`parcelrisk.store.entity_keys`), drawn from the
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
    labels only). Per party, the batch is unioned with the store rows of the
    same keys from the last 30 days before the batch, and all windowed counts
    are window functions over ``PARTITION BY key ORDER BY declared_at`` with
    ``RANGE`` frames on epoch microseconds (``COUNT(DISTINCT ...)`` for the
    distinct counts). First-seen times are a ``MIN`` per key over all
    history; prior inspections and seizures are cumulative sums over outcome
    events ordered by the time they became known, looked up with an ``ASOF``
    join at each item's ``declared_at``. No per-row Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from parcelrisk.errors import InputError
from parcelrisk.schema import ManifestSchema as M
from parcelrisk.store import (
    _DDL,
    VALUE_EUR,
    HistoryStore,
    _known_outcomes,
    _run,
    _utc,
    entity_keys,
)

__all__ = ["ProfileFeature", "SPECS", "PROFILE_FEATURES", "profile_features"]

DAY_US = 86_400_000_000
#: Longest trailing window; store rows older than this before the batch only feed
#: first-seen times and outcome counts.
MAX_WINDOW_DAYS = 30

#: Party -> its key column (see :func:`parcelrisk.store.entity_keys`).
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


# -- SQL ------------------------------------------------------------------------------------


def _window_expr(spec: ProfileFeature) -> str:
    """Window aggregate over the party's rows strictly before this row (same microsecond: out)."""
    if spec.stat == "items":
        frame = f"RANGE BETWEEN {spec.days * DAY_US} PRECEDING AND 1 PRECEDING"
        return f"count(*) OVER (w {frame})"
    same_day = "PARTITION BY k, day ORDER BY t RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
    if spec.stat == "same_day_items":
        return f"count(*) OVER ({same_day}) + 1"
    if spec.stat == "same_day_value":
        prev = f"sum(v) OVER ({same_day})"
        return (
            f"CASE WHEN v IS NULL AND {prev} IS NULL THEN NULL "
            f"ELSE coalesce({prev}, 0) + coalesce(v, 0) END"
        )
    raise ValueError(spec.stat)  # pragma: no cover


def _distinct_sql(specs: list[ProfileFeature]) -> str:
    """CTEs ``pairs_<of>``, ``dev`` and ``dist``: distinct counterparties in trailing windows.

    ``COUNT(DISTINCT ..) OVER (RANGE ..)`` is slow on large partitions (a big
    sender), so the distinct count is rewritten as a running sum. For a
    record r of the pair (key, counterparty) with the pair's next record at
    ``nt``, the pair is counted for a query time e exactly when r is the
    pair's latest record before e and lies in the window, that is when
    ``t_r < e <= least(t_r + W, nt)``; these intervals are disjoint per pair.
    So distinct(e) = #{t_r < e} - #{least(t_r + W, nt) < e}: a +1 event at
    each record, a -1 event at its end, and a running sum over the events
    strictly before e, one sort per party.
    """
    of_columns = sorted({s.of for s in specs if s.of})
    ctes = [
        f"pairs_{c} AS (SELECT k, t, lead(t) OVER (PARTITION BY k, {c} ORDER BY t) AS nt "
        f"FROM u WHERE {c} IS NOT NULL)"
        for c in of_columns
    ]

    def weights(values: dict[str, int]) -> str:
        return ", ".join(f"CAST({values.get(s.name, 0)} AS INTEGER) AS w_{s.name}" for s in specs)

    rows = [f"SELECT k, t AS time, 0 AS kind, qid, {weights({})} FROM q"]
    for c in of_columns:
        plus = {s.name: 1 for s in specs if s.of == c}
        rows.append(
            f"SELECT k, t AS time, 1 AS kind, CAST(NULL AS BIGINT) AS qid, {weights(plus)} "
            f"FROM pairs_{c}"
        )
    for s in specs:
        width = s.days * DAY_US  # type: ignore[operator]
        end = f"CASE WHEN nt IS NULL OR nt > t + {width} THEN t + {width} ELSE nt END"
        rows.append(
            f"SELECT k, {end} AS time, 1 AS kind, CAST(NULL AS BIGINT) AS qid, "
            f"{weights({s.name: -1})} "
            f"FROM pairs_{s.of}"
        )
    ctes.append("dev AS (\n    " + "\n    UNION ALL ".join(rows) + "\n)")
    # query rows sort before events at the same time, so a running ROWS sum (streamed, much
    # cheaper than a RANGE frame) at a query row covers exactly the events strictly before it
    frame = "PARTITION BY k ORDER BY time, kind ROWS UNBOUNDED PRECEDING"
    sums = ", ".join(
        f"CAST(coalesce(sum(w_{s.name}) OVER ({frame}), 0) AS DOUBLE) AS {s.name}" for s in specs
    )
    ctes.append(f"dist AS (SELECT * FROM (SELECT qid, {sums} FROM dev) WHERE qid IS NOT NULL)")
    return ",\n".join(ctes)


def _entity_sql(entity: str, specs: list[ProfileFeature]) -> str:
    """One query: (qid, features...) for batch items whose ``entity`` key is known."""
    key = ENTITY_KEYS[entity]
    window_specs = [s for s in specs if s.stat in _WINDOW_STATS and s.stat != "distinct"]
    distinct_specs = [s for s in specs if s.stat == "distinct"]
    others = sorted({s.of for s in distinct_specs if s.of})
    need_value = any(s.stat == "same_day_value" for s in window_specs)
    q_extra = "".join(f", {c}" for c in others) + (
        ", CAST(value_eur AS DECIMAL(18,4)) AS v" if need_value else ""
    )
    h_extra = "".join(f", i.{c}" for c in others) + (
        ", CAST(i.value_eur AS DECIMAL(18,4)) AS v" if need_value else ""
    )
    windows = "".join(
        f",\n        CAST({_window_expr(s)} AS DOUBLE) AS {s.name}" for s in window_specs
    )
    outputs: list[str] = []
    for s in specs:
        if s.stat == "distinct":
            outputs.append(f"dist.{s.name}")
        elif s.stat in _WINDOW_STATS:
            outputs.append(f"win.{s.name}")
        elif s.stat == "first_seen":
            outputs.append(
                f"CASE WHEN f.ft < win.t THEN CAST(win.t - f.ft AS DOUBLE) / {DAY_US} END "
                f"AS {s.name}"
            )
        elif s.stat == "inspections":
            outputs.append(f"CAST(coalesce(c.cn, 0) AS DOUBLE) AS {s.name}")
        elif s.stat == "seizures":
            outputs.append(f"CAST(coalesce(c.cs, 0) AS DOUBLE) AS {s.name}")
        else:  # pragma: no cover
            raise ValueError(s.stat)
    distinct_ctes = f"{_distinct_sql(distinct_specs)},\n" if distinct_specs else ""
    distinct_join = "JOIN dist ON dist.qid = win.qid\n" if distinct_specs else ""
    return f"""
WITH q AS (
    SELECT qid, item_id, t, {key} AS k{q_extra}
    FROM _pr_batch WHERE {key} IS NOT NULL
),
ks AS (SELECT DISTINCT k FROM q),
h AS (
    SELECT CAST(NULL AS BIGINT) AS qid, i.item_id, epoch_us(i.declared_at) AS t,
           i.{key} AS k{h_extra}
    FROM items i SEMI JOIN ks ON i.{key} = ks.k
    WHERE i.declared_at >= $lo AND i.declared_at < $hi
),
u AS MATERIALIZED (
    SELECT * FROM q
    UNION ALL BY NAME
    SELECT * FROM h ANTI JOIN _pr_batch b ON h.item_id = b.item_id
),
win AS (
    SELECT * FROM (
        SELECT qid, t, k{windows}
        FROM (SELECT *, t // {DAY_US} AS day FROM u)
        WINDOW w AS (PARTITION BY k ORDER BY t)
    ) WHERE qid IS NOT NULL
),
{distinct_ctes}firsts AS (
    SELECT k, min(t) AS ft FROM (
        SELECT i.{key} AS k, epoch_us(i.declared_at) AS t
        FROM items i SEMI JOIN ks ON i.{key} = ks.k
        UNION ALL
        SELECT k, t FROM q
    ) GROUP BY k
),
ev AS (
    SELECT k, e, sum(seized) AS s, count(*) AS n FROM (
        SELECT i.{key} AS k, epoch_us(greatest(i.inspected_at, i.declared_at)) AS e,
               CAST(i.outcome = 'seizure' AS INTEGER) AS seized
        FROM items i SEMI JOIN ks ON i.{key} = ks.k
        WHERE i.outcome IS NOT NULL AND i.inspected_at IS NOT NULL
        UNION ALL
        SELECT b.{key} AS k, b.e, b.seized FROM _pr_batch b
        ANTI JOIN (SELECT item_id FROM items WHERE outcome IS NOT NULL) x ON x.item_id = b.item_id
        WHERE b.e IS NOT NULL AND b.{key} IS NOT NULL
    ) GROUP BY k, e
),
cum AS (
    SELECT k, e,
        sum(s) OVER (PARTITION BY k ORDER BY e ROWS UNBOUNDED PRECEDING) AS cs,
        sum(n) OVER (PARTITION BY k ORDER BY e ROWS UNBOUNDED PRECEDING) AS cn
    FROM ev
)
SELECT win.qid, {", ".join(outputs)}
FROM win
{distinct_join}JOIN firsts f ON f.k = win.k
ASOF LEFT JOIN cum c ON c.k = win.k AND win.t > c.e
"""


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


def _batch_table(items: pd.DataFrame, secret: bytes) -> pa.Table:
    """The batch as DuckDB sees it: position, item_id, keys, times (epoch us), value, labels."""
    n = len(items)
    keys = entity_keys(items, secret)
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


def profile_features(
    items: pd.DataFrame, store: HistoryStore | None, secret: bytes
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

    Numeric features are float64 (NaN where the party's key is missing,
    and for days-since-first-seen of a party never seen before);
    ``watchlist_hit`` is int8 and ``watchlist_lists`` a ``|``-joined string.
    """
    if M.declared_at not in items:
        raise InputError("profile_features: the frame has no declared_at column")
    if store is not None and store.con is None:
        raise InputError(f"profile_features: history store {store.path} is closed")
    result = _empty_result(items.index)
    if items.empty:
        return result
    batch = _batch_table(items, secret)
    t = batch.column("t").to_numpy()
    lo = pd.Timestamp(int(t.min()) - MAX_WINDOW_DAYS * DAY_US, unit="us", tz="UTC").to_pydatetime()
    hi = pd.Timestamp(int(t.max()), unit="us", tz="UTC").to_pydatetime()

    own = store is None
    con = duckdb.connect() if own else store.con
    try:
        if own:
            _run(con, "SET TimeZone = 'UTC'")
            _run(con, _DDL)
        con.register("_pr_batch", batch)
        try:
            columns = {
                s.name: np.full(len(items), np.nan) for s in SPECS if s.entity != "watchlist"
            }
            for entity in ENTITY_KEYS:
                specs = [s for s in SPECS if s.entity == entity]
                table = con.sql(
                    _entity_sql(entity, specs), params={"lo": lo, "hi": hi}
                ).to_arrow_table()
                qid = table.column("qid").to_numpy()
                for s in specs:
                    columns[s.name][qid] = table.column(s.name).to_numpy(zero_copy_only=False)
            hits = con.sql(_WATCHLIST_SQL).to_arrow_table()
        finally:
            con.unregister("_pr_batch")
    finally:
        if own:
            con.close()

    for spec in SPECS:
        if spec.entity != "watchlist":
            result[spec.name] = columns[spec.name]
    lists = np.full(len(items), "", dtype=object)
    lists[hits.column("qid").to_numpy()] = hits.column("lists").to_numpy(zero_copy_only=False)
    result["watchlist_lists"] = pd.Series(lists, index=items.index, dtype="str")
    result["watchlist_hit"] = (lists != "").astype("int8")
    return result
