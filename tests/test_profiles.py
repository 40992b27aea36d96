"""Point-in-time entity profiles: exact values, and no leakage from the future or own outcome."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from parcelrisk.profiles import PROFILE_FEATURES, SPECS, FileProfiles, profile_features
from parcelrisk.schema import LabelSchema as L
from parcelrisk.schema import ManifestSchema as M
from parcelrisk.store import HistoryStore
from parcelrisk.validate import validate_frame

SECRET = b"test-secret"


def make_manifest(n: int, seed: int = 0, days: int = 6, start: str = "2026-03-02") -> pd.DataFrame:
    """A small labelled manifest with repeat senders/recipients, ties in time and missing parts."""
    rng = np.random.default_rng(seed)
    n_send, n_addr = max(n // 25, 3), max(n // 5, 3)
    s = rng.integers(0, n_send, n)
    a = rng.integers(0, n_addr, n)
    person = a * 3 + rng.integers(0, 2, n)
    secs = rng.integers(0, days * 86_400, n)
    secs = np.where(rng.random(n) < 0.3, secs // 3600 * 3600, secs)  # many identical timestamps
    declared = pd.Timestamp(start, tz="UTC") + pd.to_timedelta(secs, unit="s")
    inspected = rng.random(n) < 0.2
    seized = inspected & (rng.random(n) < 0.4)
    delay = pd.to_timedelta(rng.integers(600, 3 * 86_400, n), unit="s")
    phone = pd.Series([f"+49 170 {100000 + x}" for x in a], dtype="str").mask(rng.random(n) < 0.1)
    email = pd.Series([f"p.{x}@example.de" for x in person], dtype="str").mask(rng.random(n) < 0.2)
    sender = pd.Series([f"Händler {x} Ltd." for x in s], dtype="str").mask(rng.random(n) < 0.03)
    raw = pd.DataFrame(
        {
            M.item_id: [f"RR{seed:02d}{i:07d}DE" for i in range(n)],
            M.declared_at: declared.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            M.sender_name: sender,
            M.sender_country: np.where(s % 2 == 0, "CN", "NL"),
            M.recipient_name: [f"Person {x}" for x in person],
            M.recipient_address: [f"Hauptstr. {x}" for x in a],
            M.recipient_postcode: [f"{10000 + x % 500}" for x in a],
            M.recipient_country: "DE",
            M.recipient_phone: phone,
            M.recipient_email: email,
            M.description: "phone case",
            M.gross_weight_kg: np.round(rng.uniform(0.1, 3, n), 3),
            M.declared_value: np.round(rng.uniform(1, 200, n), 2),
            M.currency: "EUR",
            L.inspected: inspected,
            L.selection_source: np.where(inspected, "random", None),
            L.inspected_at: (declared + delay).strftime("%Y-%m-%dT%H:%M:%S+00:00").where(inspected),
            L.outcome: np.where(inspected, np.where(seized, "seizure", "no_finding"), None),
        }
    )
    valid = validate_frame(raw).valid
    assert len(valid) == n
    return valid.assign(value_eur=valid[M.declared_value])


def by_id(items: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    return features.set_axis(items[M.item_id].to_numpy()).sort_index()


def one_pass(items: pd.DataFrame, store: HistoryStore | None = None) -> pd.DataFrame:
    return by_id(items, profile_features(items, store, SECRET))


@pytest.fixture(scope="module")
def manifest() -> pd.DataFrame:
    return make_manifest(3000, seed=1)


@pytest.fixture(scope="module")
def features(manifest: pd.DataFrame) -> pd.DataFrame:
    return one_pass(manifest)


def test_columns_and_descriptions(manifest: pd.DataFrame, features: pd.DataFrame) -> None:
    assert list(features.columns) == list(PROFILE_FEATURES) == [s.name for s in SPECS]
    assert all(PROFILE_FEATURES.values())
    out = profile_features(manifest, None, SECRET)
    assert out.index.equals(manifest.index)
    assert out["watchlist_hit"].eq(0).all() and out["watchlist_lists"].eq("").all()
    assert (
        features["address_items_30d"].gt(0).any() and features["sender_prior_seizures"].gt(0).any()
    )


def test_hand_made_values() -> None:
    raw = pd.DataFrame(
        {
            M.item_id: [f"I{i}" for i in range(6)],
            M.declared_at: ["2026-01-05 10:00", "2026-01-05 11:00", "2026-01-05 11:00",
                            "2026-01-06 09:00", "2026-01-07 09:00", "2026-01-20 09:00"],
            M.sender_country: "CN",
            M.recipient_country: "DE",
            M.sender_name: ["A Ltd", "B Ltd", "C Ltd", "A Ltd", "a ltd.", None],
            M.recipient_name: ["Hans", "Peter", "Hans", "Klaus", "Hans", "Hans"],
            M.recipient_address: ["Hauptstr. 5", "Hauptstraße 5", "Haupt Strasse 5",
                                  "hauptstr 5", "Hauptstr. 5", "Hauptstr. 5"],
            M.recipient_postcode: "10115",
            M.description: "x",
            M.gross_weight_kg: 1.0,
            L.inspected_at: ["2026-01-05 12:00", None, None, "2026-01-08 00:00", None, None],
            L.outcome: ["seizure", None, None, "seizure", None, None],
        }
    )  # fmt: skip
    items = validate_frame(raw).valid.assign(value_eur=[10.0, 20.0, 30.0, 40.0, 50.0, np.nan])
    f = profile_features(items, None, SECRET).reset_index(drop=True)
    # same sender (A Ltd / a ltd.): I0 -> I3 -> I4; I3 is exactly 1 day before I4 (in the window)
    assert f["sender_items_1d"].tolist()[:5] == [0, 0, 0, 1, 1]
    assert f["sender_items_7d"].tolist()[:5] == [0, 0, 0, 1, 2]
    assert np.isnan(f.loc[5, "sender_items_7d"])  # no sender name -> no sender key
    # I0's seizure is known at 12:00 on 01-05, I3's only on 01-08: I4 (01-07) sees one seizure
    assert f["sender_prior_seizures"].tolist()[:5] == [0, 0, 0, 1, 1]
    assert f["address_prior_seizures"].tolist() == [0, 0, 0, 1, 1, 2]
    # all spellings of Hauptstraße 5 are one address; I1 and I2 (same time) do not see each other
    assert f["address_items_1d"].tolist() == [0, 1, 1, 3, 1, 0]
    assert f["address_distinct_senders_7d"].tolist() == [0, 1, 1, 3, 3, 0]
    assert f["address_distinct_names_30d"].tolist() == [0, 1, 1, 2, 3, 3]
    assert f.loc[4, "sender_days_since_first_seen"] == pytest.approx(2 - 1 / 24)
    assert np.isnan(f.loc[0, "address_days_since_first_seen"])
    # split shipments to Hans on 01-05: I0 (10:00) then I2 (11:00)
    assert f["recipient_same_day_items"].tolist() == [1, 1, 2, 1, 1, 1]
    assert f["recipient_same_day_value_eur"].tolist()[:5] == [10, 20, 40, 40, 50]
    assert np.isnan(f.loc[5, "recipient_same_day_value_eur"])
    assert f["phone_items_30d"].isna().all()


def test_row_order_does_not_matter(manifest: pd.DataFrame, features: pd.DataFrame) -> None:
    shuffled = manifest.sample(frac=1.0, random_state=7)
    pd.testing.assert_frame_equal(one_pass(shuffled), features, check_exact=True)


def test_future_records_do_not_change_the_past(manifest: pd.DataFrame) -> None:
    cut = manifest[M.declared_at].min() + pd.Timedelta(days=3)
    past = manifest[manifest[M.declared_at] < cut]
    later = make_manifest(1500, seed=2, start="2026-03-05")  # overlaps the same parties
    later = later[later[M.declared_at] >= cut]
    assert len(later) > 100
    alone = one_pass(past)
    both = one_pass(pd.concat([past, later]))
    pd.testing.assert_frame_equal(both.loc[alone.index], alone, check_exact=True)
    assert not both.drop(index=alone.index).equals(alone)


def test_own_outcome_never_reaches_own_features(
    manifest: pd.DataFrame, features: pd.DataFrame
) -> None:
    seized_later = features["sender_prior_seizures"]
    candidates = manifest.index[manifest[L.outcome].eq("no_finding").fillna(False)]
    changed_others = False
    for row in candidates[:6]:  # one at a time: flipping two could let one see the other
        flipped = manifest.copy()
        flipped.loc[row, L.outcome] = "seizure"
        flipped.loc[row, L.inspected_at] = flipped.loc[row, M.declared_at]  # known at once
        again = one_pass(flipped)
        item = manifest.loc[row, M.item_id]
        pd.testing.assert_series_equal(again.loc[item], features.loc[item], check_exact=True)
        changed_others |= not again["sender_prior_seizures"].equals(seized_later)
    assert changed_others  # later items of the same sender do see it


def test_outcome_counts_only_once_known() -> None:
    base = {M.sender_country: "CN", M.recipient_country: "DE", M.description: "x",
            M.gross_weight_kg: 1.0, M.sender_name: "Same Sender", M.recipient_name: "R",
            M.recipient_address: "Addr 1"}  # fmt: skip
    raw = pd.DataFrame(
        [
            {**base, M.item_id: "A", M.declared_at: "2026-01-01 08:00",
             L.inspected_at: "2026-01-03 08:00", L.outcome: "seizure"},
            {**base, M.item_id: "B", M.declared_at: "2026-01-02 08:00"},  # A's seizure unknown
            {**base, M.item_id: "C", M.declared_at: "2026-01-03 08:00"},  # known only at this time
            {**base, M.item_id: "D", M.declared_at: "2026-01-03 08:00:01"},  # known
        ]
    )  # fmt: skip
    f = profile_features(validate_frame(raw).valid, None, SECRET)
    assert f["sender_prior_seizures"].tolist() == [0, 0, 0, 1]
    assert f["sender_prior_inspections"].tolist() == [0, 0, 0, 1]
    assert f["sender_items_7d"].tolist() == [0, 1, 2, 3]


def test_incremental_equals_one_pass(
    tmp_path, manifest: pd.DataFrame, features: pd.DataFrame
) -> None:
    day = manifest[M.declared_at].dt.floor("D")
    parts = []
    with HistoryStore.open(tmp_path / "h.duckdb", secret=SECRET) as store:
        for d in sorted(day.unique()):
            batch = manifest[day == d]
            parts.append(one_pass(batch, store))
            assert store.add_manifest(batch) == len(batch)
        # scoring a batch already in the store counts it once
        again = one_pass(manifest[day == day.max()], store)
    incremental = pd.concat(parts).sort_index()
    pd.testing.assert_frame_equal(incremental, features, check_exact=True)
    pd.testing.assert_frame_equal(again, features.loc[again.index], check_exact=True)


NAMES = ["J. Doe", "Karl Berg", "M Smith", "A. Novak"]  # "John Doe" would be J. Doe's key


def test_drop_address_many_senders_many_names() -> None:
    rng = np.random.default_rng(3)
    n = 40
    raw = pd.DataFrame(
        {
            M.item_id: [f"D{i}" for i in range(n)],
            M.declared_at: (pd.Timestamp("2026-02-01", tz="UTC")
                            + pd.to_timedelta(np.sort(rng.integers(0, 5 * 86400, n)), unit="s")),
            M.sender_name: [f"Shop {i}" for i in range(n)],
            M.sender_country: "NL",
            M.recipient_name: [NAMES[i % 4] for i in range(n)],
            M.recipient_address: "Industrieweg 7",
            M.recipient_postcode: "1234 AB",
            M.recipient_country: "NL",
            M.description: "gift",
            M.gross_weight_kg: 0.4,
        }
    )  # fmt: skip
    normal = make_manifest(600, seed=4, start="2026-02-01", days=5)
    items = pd.concat([normal, validate_frame(raw).valid])
    f = one_pass(items)
    last = f.loc[f"D{n - 1}"]
    assert last["address_distinct_senders_7d"] == n - 1
    assert last["address_distinct_names_30d"] == 4
    assert last["address_items_7d"] == n - 1
    typical = f.loc[normal[M.item_id], "address_distinct_senders_7d"]
    assert typical.max() < 10


def test_watchlist_hit(tmp_path, manifest: pd.DataFrame) -> None:
    target = manifest.iloc[10]
    watch = pd.DataFrame(
        {M.recipient_phone: [target[M.recipient_phone] or "+49 170 999999"],
         M.sender_name: ["nobody at all"], M.sender_country: ["CN"]}
    )  # fmt: skip
    with HistoryStore.open(tmp_path / "w.duckdb", secret=SECRET) as store:
        assert store.add_watchlist(watch, "phones of interest") >= 1
        assert store.add_watchlist(watch, "phones of interest") == 0
        f = one_pass(manifest, store)
    hit = f["watchlist_hit"].eq(1)
    if pd.notna(target[M.recipient_phone]):
        assert hit.loc[target[M.item_id]]
        assert f.loc[target[M.item_id], "watchlist_lists"] == "phones of interest"
    assert hit.sum() < len(f) / 10
    assert f.loc[~hit, "watchlist_lists"].eq("").all()


def test_file_profiles_equal_one_pass(tmp_path, monkeypatch, manifest: pd.DataFrame) -> None:
    """Chunked scoring's whole-file profiles, read back by row range, equal one pass."""
    from parcelrisk import profiles
    from parcelrisk.store import ManifestOverlay

    monkeypatch.setattr(profiles, "ROWS_PER_BUCKET", 500)  # several key buckets
    day = manifest[M.declared_at].dt.floor("D")
    history, today = manifest[day < day.max()], manifest[day == day.max()]
    watch = today.iloc[[3, 30]][[M.sender_name, M.sender_country]]
    with HistoryStore.open(tmp_path / "h.duckdb", secret=SECRET) as store:
        # some of today's items are already stored, with outcomes: they must count once
        store.add_manifest(pd.concat([history, today.head(40)]))
        store.add_watchlist(watch, "senders of interest")
        expected = profile_features(today, store, SECRET)
        with ManifestOverlay(store, SECRET, tmp_path / "keyed") as overlay:
            for start in range(0, len(today), 137):
                overlay.add(today.iloc[start : start + 137])
            file_profiles = FileProfiles.compute(overlay, tmp_path / "profiles")
            got = pd.concat(
                [file_profiles.rows(s, today.index[s : s + 211]) for s in range(0, len(today), 211)]
            )
        with pytest.raises(ValueError, match="outside"):
            file_profiles.rows(len(today) - 1, today.index[:2])
    assert expected["watchlist_hit"].sum() >= 2
    assert expected["sender_prior_seizures"].gt(0).any()
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_empty_batch() -> None:
    empty = make_manifest(10).iloc[:0]
    out = profile_features(empty, None, SECRET)
    assert out.empty and list(out.columns) == list(PROFILE_FEATURES)


@pytest.mark.slow
def test_synthetic_generator_if_available(tmp_path) -> None:
    synthetic = pytest.importorskip("parcelrisk.synthetic")
    frame = synthetic.generate_manifest(8000, seed=5, days=6)
    items = validate_frame(
        frame.drop(columns=["truth_illicit", "truth_pattern"], errors="ignore")
    ).valid
    full = one_pass(items)
    pd.testing.assert_frame_equal(
        one_pass(items.sample(frac=1.0, random_state=1)), full, check_exact=True
    )
    day = items[M.declared_at].dt.floor("D")
    parts = []
    with HistoryStore.open(tmp_path / "s.duckdb", secret=SECRET) as store:
        for d in sorted(day.unique()):
            parts.append(one_pass(items[day == d], store))
            store.add_manifest(items[day == d])
    pd.testing.assert_frame_equal(pd.concat(parts).sort_index(), full, check_exact=True)


def brute_force(items: pd.DataFrame, keys: pd.DataFrame, row: object) -> dict[str, float]:
    """Every numeric profile feature of one item, by a plain scan over all ``items``."""
    t = items[M.declared_at]
    e = t[row]
    known = items[L.inspected_at].where(items[L.outcome].notna())
    became_known = known.where(~(known < t), t)  # known at max(inspected, declared); NaT stays
    seized = items[L.outcome].eq("seizure").fillna(False)
    day = pd.Timedelta(days=1)
    out: dict[str, float] = {}
    for spec in SPECS:
        if spec.entity == "watchlist":
            continue
        party = f"{spec.entity}_key"
        k = keys.loc[row, party]
        if pd.isna(k):
            out[spec.name] = np.nan
            continue
        mine = keys[party].eq(k).fillna(False)
        if spec.stat in ("items", "distinct"):
            window = mine & (t < e) & (t >= e - spec.days * day)
            of = keys.loc[window, spec.of] if spec.of else None
            out[spec.name] = window.sum() if of is None else of.nunique()
        elif spec.stat == "first_seen":
            first = t[mine].min()
            out[spec.name] = (e - first) / day if first < e else np.nan
        elif spec.stat in ("inspections", "seizures"):
            earlier = mine & (became_known < e).fillna(False)
            out[spec.name] = (earlier & seized).sum() if spec.stat == "seizures" else earlier.sum()
        else:
            today = mine & (t < e) & (t.dt.floor("D") == e.floor("D"))
            if spec.stat == "same_day_items":
                out[spec.name] = today.sum() + 1
            else:
                values = items["value_eur"][today | (items.index == row)]
                out[spec.name] = np.nan if values.isna().all() else values.sum()
    return out


@pytest.mark.parametrize("with_store", [False, True], ids=["batch-only", "store-and-buckets"])
def test_matches_brute_force(tmp_path, monkeypatch, with_store: bool) -> None:
    """Every numeric feature against a plain per-item scan (slow, small).

    With a store: the first days are history, the rest is the batch, and the
    keys are split into many buckets (as a large store would be).
    """
    from parcelrisk import profiles
    from parcelrisk.store import current_key_scheme, scheme_keys

    items = make_manifest(500, seed=9, days=10)
    items["value_eur"] = items["value_eur"].mask(np.arange(len(items)) % 4 == 0)
    keys = scheme_keys(items, SECRET, current_key_scheme())
    if with_store:
        monkeypatch.setattr(profiles, "ROWS_PER_BUCKET", 40)
        cut = items[M.declared_at].min() + pd.Timedelta(days=6)
        batch = items[items[M.declared_at] >= cut]
        with HistoryStore.open(tmp_path / "h.duckdb", secret=SECRET) as store:
            store.add_manifest(items[items[M.declared_at] < cut])
            f = profile_features(batch, store, SECRET)
    else:
        batch = items
        f = profile_features(items, None, SECRET)
    checked = 0
    for row in batch.index[::3]:
        expected = brute_force(items, keys, row)
        for name, value in expected.items():
            assert f.loc[row, name] == pytest.approx(value, rel=1e-12, nan_ok=True), (row, name)
            checked += not np.isnan(value)
    assert checked > 1000
