"""History store: keys, idempotence, outcomes, concurrency, crash safety, no personal data, CLI."""

from __future__ import annotations

import hmac
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from parcelrisk.cli import app
from parcelrisk.errors import InputError, StoreError
from parcelrisk.io import write_frame
from parcelrisk.profiles import profile_features
from parcelrisk.schema import LabelSchema as L
from parcelrisk.schema import ManifestSchema as M
from parcelrisk.store import (
    HistoryStore,
    entity_keys,
    normalise_entity,
    secret_from_env,
)
from parcelrisk.validate import validate_frame

SECRET = b"test-secret"


def manifest(n: int = 200, seed: int = 0, prefix: str = "AA") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, max(n // 4, 2), n)
    inspected = rng.random(n) < 0.3
    declared = pd.Timestamp("2026-04-01", tz="UTC") + pd.to_timedelta(
        np.sort(rng.integers(0, 3 * 86400, n)), unit="s"
    )
    raw = pd.DataFrame(
        {
            M.item_id: [f"{prefix}{i:07d}DE" for i in range(n)],
            M.declared_at: declared,
            M.sender_name: [f"Sender {x % 7}" for x in a],
            M.sender_country: "CN",
            M.recipient_name: [f"Person {x}" for x in a],
            M.recipient_address: [f"Street {x}" for x in a],
            M.recipient_postcode: "10115",
            M.recipient_country: "DE",
            M.recipient_phone: [f"+49 170 {1000000 + x}" for x in a],
            M.recipient_email: [f"p{x}@mail.de" for x in a],
            M.description: "socks",
            M.gross_weight_kg: 0.5,
            M.declared_value: 20.0,
            M.currency: "EUR",
            L.inspected: inspected,
            L.inspected_at: (declared + pd.Timedelta(hours=5)).where(inspected),
            L.outcome: np.where(inspected, "seizure", None),
        }
    )
    return validate_frame(raw).valid


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "history.duckdb"


# -- normalisation and keys -------------------------------------------------------------------


def test_normalise_entity() -> None:
    values = pd.Series(
        ["  Müller-Lüdenscheidt,  Hauptstr. 5 ", "12 Main St.", "Berliner Straße 5",
         "Apt 4, 1 Ocean Ave", "ÅSA  NIELSEN", "Иван Петров", " ", None]
    )  # fmt: skip
    assert normalise_entity(values).tolist()[:6] == [
        "muller ludenscheidt hauptstrasse 5",
        "12 main street",
        "berlinerstrasse 5",
        "apartment 4 1 ocean avenue",
        "asa nielsen",
        "иван петров",
    ]
    assert normalise_entity(values).iloc[6:].isna().all()


def test_entity_keys() -> None:
    frame = pd.DataFrame(
        {
            M.sender_name: ["ACME Ltd.", "acme  ltd", "ACME Ltd", None],
            M.sender_country: ["CN", "cn", "HK", "CN"],
            M.recipient_name: ["Hans Müller", "HANS MULLER", None, "Hans Muller"],
            M.recipient_address: ["Hauptstr. 5", "Hauptstraße 5", "Hauptstr 5", None],
            M.recipient_postcode: ["10115", "10 115", "10115", "10115"],
            M.recipient_country: "DE",
            M.recipient_phone: ["+49 170 1234567", "0049-170-1234567", "123", "0000000000"],
            M.recipient_email: ["J.Doe+x@GoogleMail.com", "jdoe@gmail.com", "not-an-email", None],
        }
    )
    keys = entity_keys(frame, SECRET)
    assert list(keys.columns) == [
        "sender_key",
        "recipient_key",
        "address_key",
        "phone_key",
        "email_key",
    ]
    assert all(str(t) == "Int64" for t in keys.dtypes)
    assert keys.sender_key[0] == keys.sender_key[1] != keys.sender_key[2]  # country is part of it
    assert pd.isna(keys.sender_key[3])
    assert keys.recipient_key[0] == keys.recipient_key[1] and keys.recipient_key[2:].isna().all()
    assert keys.address_key[0] == keys.address_key[1] == keys.address_key[2]
    assert pd.isna(keys.address_key[3])
    assert keys.phone_key[0] == keys.phone_key[1] and keys.phone_key[2:].isna().all()
    assert keys.email_key[0] == keys.email_key[1] and keys.email_key[2:].isna().all()
    # the documented construction: HMAC-SHA256(secret, "phone" US digits), first 8 bytes, signed
    expected = int.from_bytes(
        hmac.digest(SECRET, b"phone\x1f491701234567", "sha256")[:8], "big", signed=True
    )
    assert keys.phone_key[0] == expected
    other = entity_keys(frame, b"another secret")
    assert (other.phone_key[:2] != keys.phone_key[:2]).all()
    with pytest.raises(StoreError):
        entity_keys(frame, b"")


def test_secret_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARCELRISK_SECRET", "s3cret")
    assert secret_from_env() == b"s3cret"
    monkeypatch.delenv("PARCELRISK_SECRET")
    with pytest.warns(UserWarning, match="PARCELRISK_SECRET"):
        assert secret_from_env()


# -- store ------------------------------------------------------------------------------------


def test_add_manifest_is_idempotent(store_path: Path) -> None:
    items, extra = manifest(300), manifest(5, prefix="BB")
    with HistoryStore.open(store_path, secret=SECRET) as store:
        assert store.add_manifest(items) == 300
        assert store.add_manifest(items) == 0
        assert store.add_manifest(pd.concat([items.iloc[:10], extra])) == 5
        counts = store.counts()
    assert counts["items"] == 305
    assert counts["outcomes"] == int(
        items[L.outcome].notna().sum() + extra[L.outcome].notna().sum()
    )


def test_store_survives_reopen_and_rejects_other_secret(store_path: Path) -> None:
    items = manifest(200)
    with HistoryStore.open(store_path, secret=SECRET) as store:
        store.add_manifest(items.iloc[:150])
        before = profile_features(items.iloc[150:], store, SECRET)
    with HistoryStore.open(store_path, secret=SECRET, read_only=True) as store:
        assert store.counts()["items"] == 150
        after = profile_features(items.iloc[150:], store, SECRET)
        with pytest.raises(StoreError, match="read-only"):
            store.add_manifest(items)
    pd.testing.assert_frame_equal(before, after)
    assert after["sender_items_30d"].gt(0).all()
    with pytest.raises(StoreError, match="different secret"):
        HistoryStore.open(store_path, secret=b"wrong")
    with pytest.raises(StoreError, match="no such file"):
        HistoryStore.open(store_path.with_name("missing.duckdb"), secret=SECRET, read_only=True)


def test_outcomes_unknown_items_are_rejected(store_path: Path) -> None:
    items = manifest(50)
    target = items[M.item_id].iloc[0]
    t0 = items[M.declared_at].iloc[0]
    outcomes = pd.DataFrame(
        {
            M.item_id: [target, "NOSUCHITEM", target, items[M.item_id].iloc[1], target],
            L.inspected_at: [t0 + pd.Timedelta(hours=1), t0, t0 + pd.Timedelta(hours=9),
                             "not a date", t0 - pd.Timedelta(days=1)],
            L.outcome: ["no_finding", "seizure", "Seizure", "seizure", "seizure"],
            "substance": [None, None, "cocaine", None, None],
            "quantity": [None, None, 12.5, None, None],
        }
    )  # fmt: skip
    with HistoryStore.open(store_path, secret=SECRET) as store:
        store.add_manifest(items.drop(columns=[L.inspected_at, L.outcome]))
        added, rejects = store.add_outcomes(outcomes)
        assert added == 2
        assert rejects["row"].tolist() == [2, 4, 5]
        assert rejects["reason"].tolist()[0] == "unknown item_id"
        assert rejects["item_id"].tolist()[0] == "NOSUCHITEM"
        assert "date" in rejects["reason"].tolist()[1]
        assert "before the item was declared" in rejects["reason"].tolist()[2]
        latest = store.con.execute(
            "SELECT outcome, epoch_us(inspected_at) FROM items WHERE item_id = ?", [target]
        ).fetchall()[0]
        assert latest[0] == "seizure"
        assert pd.Timestamp(latest[1], unit="us", tz="UTC") == t0 + pd.Timedelta(hours=9)
        again, _ = store.add_outcomes(outcomes)
        assert again == 0  # already recorded
        assert store.counts()["outcomes"] == 2


@pytest.mark.slow
def test_second_writer_gets_store_error(store_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from parcelrisk.errors import InputError, StoreError
        from parcelrisk.store import HistoryStore
        try:
            HistoryStore.open({str(store_path)!r}, secret={SECRET!r}, read_only=sys.argv[1] == "ro")
        except StoreError as exc:
            print(exc)
            sys.exit(3)
        print("opened")
        """
    )
    with HistoryStore.open(store_path, secret=SECRET) as store:
        store.add_manifest(manifest(20))
        with pytest.raises(StoreError, match="in use"):
            HistoryStore.open(store_path, secret=SECRET)  # same process
        other = subprocess.run([sys.executable, "-c", code, "rw"], capture_output=True, text=True)
        assert other.returncode == 3, other.stderr
        assert f"history store {store_path} is in use by another process" in other.stdout
    # after the writer is gone: several readers at once are fine
    with HistoryStore.open(store_path, secret=SECRET, read_only=True) as reader:
        other = subprocess.run([sys.executable, "-c", code, "ro"], capture_output=True, text=True)
        assert other.returncode == 0 and "opened" in other.stdout, other.stdout + other.stderr
        assert reader.counts()["items"] == 20
    with HistoryStore.open(store_path, secret=SECRET) as store:  # and a writer again
        assert store.counts()["items"] == 20


@pytest.mark.slow
def test_killed_writer_leaves_store_consistent(store_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_store import manifest, SECRET
        from parcelrisk.store import HistoryStore
        batches = [manifest(5000, seed=i, prefix=f"K{{i:03d}}") for i in range(40)]
        with HistoryStore.open({str(store_path)!r}, secret=SECRET) as store:
            for i, batch in enumerate(batches):
                store.add_manifest(batch)
                print(i, flush=True)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # one batch committed: now kill it mid-way through the next ones
    assert first.strip() == "0"
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with HistoryStore.open(store_path, secret=SECRET) as store:
        items, outcomes, _ = store.counts().values()
        labelled = store.con.execute(
            "SELECT count(*) FROM items WHERE outcome IS NOT NULL"
        ).fetchone()[0]
        per_batch = store.con.execute(
            "SELECT count(*) FROM items GROUP BY substr(item_id, 1, 4)"
        ).fetchall()
    assert items >= 5000 and items % 5000 == 0  # whole batches only
    assert {n for (n,) in per_batch} == {5000}
    assert outcomes == labelled


def test_no_personal_data_in_store(store_path: Path) -> None:
    planted = {
        M.sender_name: "Zzyzxqa Plantedsender",
        M.sender_address: "Plantedweg 12",  # multi-field keys need where the party is
        M.sender_city: "Qwxplantedstadt",
        M.recipient_name: "Zzyzxqa Plantedname",
        M.recipient_address: "Qwxplanted Strasse 99",
        M.recipient_phone: "+49 1709 876 5432",
        M.recipient_email: "zzyzxqa.planted@example.org",
    }
    items = manifest(100)
    for column, value in planted.items():
        items.loc[items.index[:5], column] = value
    with HistoryStore.open(store_path, secret=SECRET) as store:
        store.add_manifest(items)
        countries = {M.sender_country: ["CN"], M.recipient_country: ["DE"]}
        watch = pd.DataFrame({k: [v] for k, v in planted.items()} | countries)
        assert store.add_watchlist(watch, "ops list") == 5
        with pytest.raises(InputError, match="recipient_country"):
            store.add_watchlist(watch.drop(columns=[M.recipient_country]), "ops list")
        store.add_outcomes(
            pd.DataFrame({M.item_id: [items[M.item_id].iloc[0]],
                          L.inspected_at: [items[M.declared_at].iloc[0] + pd.Timedelta(days=1)],
                          L.outcome: ["seizure"]})
        )  # fmt: skip
        profile_features(items, store, SECRET)
        # check while open (WAL) and after the checkpoint on close
        blobs_open = b"".join(p.read_bytes() for p in store_path.parent.glob("history.duckdb*"))
    blobs = blobs_open + b"".join(p.read_bytes() for p in store_path.parent.glob("*"))
    forms = set()
    for value in planted.values():
        forms |= {value, value.lower(), value.upper(), normalise_entity(pd.Series([value]))[0]}
        forms.add("".join(ch for ch in value if ch.isdigit()))
    forms |= {"zzyzxqa", "plantedname", "plantedsender", "qwxplanted", "98765432"}
    for form in (f for f in forms if len(f) >= 6):
        for encoded in {form.encode("utf-8"), form.encode("utf-16-le")}:
            assert encoded not in blobs, form
    # positive control: the same strings stored raw in a DuckDB file are found by this check
    control = store_path.with_name("control.duckdb")
    with duckdb.connect(str(control)) as con:
        con.register("raw", items[list(planted)].reset_index(drop=True))
        con.execute("CREATE TABLE raw_copy AS SELECT * FROM raw")
    assert planted[M.recipient_name].encode() in control.read_bytes()
    with duckdb.connect(str(store_path), read_only=True) as con:
        columns = {c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'items'"
        ).fetchall()}  # fmt: skip
    assert not columns & set(planted)


# -- CLI --------------------------------------------------------------------------------------


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("PARCELRISK_SECRET", SECRET.decode())
    return CliRunner()


def test_cli_history_add_twice(tmp_path: Path, runner: CliRunner, store_path: Path) -> None:
    path = tmp_path / "m.csv"
    write_frame(manifest(120), path)
    first = runner.invoke(app, ["history", "add", str(path), "--store", str(store_path)])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["history", "add", str(path), "--store", str(store_path)])
    assert second.exit_code == 0, second.output
    with HistoryStore.open(store_path, secret=SECRET, read_only=True) as store:
        assert store.counts()["items"] == 120
    assert "120" in first.output and "Person" not in first.output + second.output
    # rejected rows: exit 2, the valid ones are added
    bad = manifest(10, prefix="CC").reset_index(drop=True).astype({M.gross_weight_kg: object})
    bad.loc[3, M.gross_weight_kg] = "heavy"
    write_frame(bad, tmp_path / "bad.csv")
    third = runner.invoke(
        app, ["history", "add", str(tmp_path / "bad.csv"), "--store", str(store_path)]
    )
    assert third.exit_code == 2, third.output
    with HistoryStore.open(store_path, secret=SECRET, read_only=True) as store:
        assert store.counts()["items"] == 129


def test_cli_outcomes_unknown_item(tmp_path: Path, runner: CliRunner, store_path: Path) -> None:
    items = manifest(30)
    with HistoryStore.open(store_path, secret=SECRET) as store:
        store.add_manifest(items.drop(columns=[L.inspected_at, L.outcome]))
    outcomes = pd.DataFrame(
        {M.item_id: [items[M.item_id].iloc[0], "XX000000000XX"],
         L.inspected_at: ["2026-04-10T10:00:00Z", "2026-04-10T10:00:00Z"],
         L.outcome: ["seizure", "seizure"]}
    )  # fmt: skip
    write_frame(outcomes, tmp_path / "o.csv")
    result = runner.invoke(
        app, ["outcomes", "add", str(tmp_path / "o.csv"), "--store", str(store_path)]
    )
    assert result.exit_code == 2, result.output
    assert "unknown item_id" in result.output and "XX000000000XX" in result.output
    with HistoryStore.open(store_path, secret=SECRET, read_only=True) as store:
        assert store.counts()["outcomes"] == 1


def test_cli_watchlist_then_hit(tmp_path: Path, runner: CliRunner, store_path: Path) -> None:
    items = manifest(60)
    target = items.iloc[7]
    watch = pd.DataFrame({M.recipient_email: [target[M.recipient_email].upper()]})
    write_frame(watch, tmp_path / "w.csv")
    result = runner.invoke(
        app,
        [
            "watchlist",
            "add",
            str(tmp_path / "w.csv"),
            "--list",
            "ops-2026",
            "--store",
            str(store_path),
        ],
    )
    assert result.exit_code == 0, result.output
    with HistoryStore.open(store_path, secret=SECRET, read_only=True) as store:
        f = profile_features(items, store, SECRET)
    hit = items[M.recipient_email].eq(target[M.recipient_email]).to_numpy()
    assert f["watchlist_hit"].to_numpy().tolist() == hit.astype(int).tolist()
    assert set(f.loc[hit, "watchlist_lists"]) == {"ops-2026"}
