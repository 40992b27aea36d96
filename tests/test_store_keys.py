"""The store's entity-key scheme: multi-field keys for new stores, legacy stores keep theirs,
a model refuses a store keyed otherwise than its profiles (issue 15)."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from parcelrisk.cli import app
from parcelrisk.errors import KeySchemeWarning, StoreError
from parcelrisk.features import ManifestFeatures
from parcelrisk.model import load_model
from parcelrisk.profiles import profile_features
from parcelrisk.schema import ManifestSchema as M
from parcelrisk.store import (
    KEY_COLUMNS,
    LEGACY_SCHEME,
    HistoryStore,
    current_key_scheme,
    entity_keys,
    resolve_key_scheme,
    scheme_keys,
)
from parcelrisk.synthetic import generate_manifest
from parcelrisk.validate import validate_frame

SECRET = b"store-keys-secret"
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "default"


@pytest.fixture(scope="module")
def items() -> pd.DataFrame:
    """1,500 validated items over 4 days (seed not used anywhere else)."""
    return validate_frame(generate_manifest(1_500, seed=4411, days=4)).valid


def _stored_keys(path: Path) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        cols = ", ".join(KEY_COLUMNS)
        return con.execute(f"SELECT item_id, {cols} FROM items ORDER BY item_id").fetchdf()


def _legacy_store(path: Path, frame: pd.DataFrame) -> None:
    """A store as an earlier parcelrisk left it: no key_scheme row, name+country keys."""
    with HistoryStore.open(path, secret=SECRET):
        pass
    with duckdb.connect(str(path)) as con:
        con.execute("DELETE FROM meta WHERE name = 'key_scheme'")
    with HistoryStore.open(path, secret=SECRET) as store:
        store.add_manifest(frame)


def _meta(path: Path) -> dict[str, str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return dict(con.execute("SELECT name, value FROM meta").fetchall())


def test_new_store_records_and_uses_the_multi_field_scheme(tmp_path: Path, items) -> None:
    path = tmp_path / "h.duckdb"
    with HistoryStore.open(path, secret=SECRET) as store:
        assert store.key_scheme == current_key_scheme()
        assert store.key_scheme.startswith("parties-v1:")
        store.add_manifest(items)
    meta = _meta(path)
    assert meta["key_scheme"] == current_key_scheme()
    # meta holds bookkeeping only: no party text
    assert set(meta) == {"application", "schema_version", "secret_check", "key_scheme"}
    stored = _stored_keys(path).set_index("item_id")
    expected = scheme_keys(items, SECRET, current_key_scheme())
    expected.index = items[M.item_id].astype("str")
    for column in KEY_COLUMNS:
        got = stored.loc[expected.index, column].astype("Int64")
        pd.testing.assert_series_equal(got, expected[column], check_names=False)
    # ...and they are not today's name+country keys
    legacy = entity_keys(items, SECRET)
    assert not (expected["sender_key"].to_numpy() == legacy["sender_key"].to_numpy()).any()


def test_multi_field_keys_split_namesakes_and_join_variants(tmp_path: Path) -> None:
    base = generate_manifest(6, seed=4412, days=1)
    frame = base.assign(
        sender_name=["Dawn Hernandez", "D. HERNANDEZ", "Hernandez, Dawn", "Dawn Hernandez",
                     "Dawn Hernandez", "Karl Berg"],
        sender_address=["124 Danielle Way", "124 danielle way", "Danielle Way 124", "9 Oak Rd",
                        "9 Oak Road", "124 Danielle Way"],
        sender_postcode="88957",
        sender_country="US",
    )  # fmt: skip
    valid = validate_frame(frame).valid
    with HistoryStore.open(tmp_path / "h.duckdb", secret=SECRET) as store:
        store.add_manifest(valid)
    keys = _stored_keys(tmp_path / "h.duckdb").set_index("item_id")["sender_key"]
    keys = keys.loc[valid[M.item_id].astype("str")].to_numpy()
    assert keys[0] == keys[1] == keys[2]  # one sender written three ways at one address
    assert keys[3] == keys[4] != keys[0]  # a namesake elsewhere is another sender
    assert keys[5] != keys[0]  # another name at the same address too


def test_legacy_store_keeps_its_scheme_for_writes_and_reads(tmp_path: Path, items) -> None:
    path = tmp_path / "old.duckdb"
    day = items[M.declared_at].dt.floor("D")
    history, today = items[day < day.max()], items[day == day.max()]
    _legacy_store(path, history)
    assert "key_scheme" not in _meta(path)  # writing did not change what the store is
    with HistoryStore.open(path, secret=SECRET) as store:
        assert store.key_scheme == LEGACY_SCHEME
        store.add_manifest(today.head(50))
    stored = _stored_keys(path).set_index("item_id")
    legacy = entity_keys(items, SECRET).set_axis(items[M.item_id].astype("str"))
    got = stored["sender_key"].astype("Int64")
    pd.testing.assert_series_equal(got, legacy.loc[got.index, "sender_key"], check_names=False)
    # reads key the batch with the store's scheme: profiles over the store equal one pass
    # over the whole period keyed with legacy keys
    with HistoryStore.open(path, secret=SECRET, read_only=True) as store:
        assert store.key_scheme == LEGACY_SCHEME
        with_store = profile_features(today, store, SECRET)
        with pytest.raises(StoreError, match="keyed with 'legacy'"):
            profile_features(today, store, SECRET, key_scheme=current_key_scheme())
    one_pass = profile_features(items, None, SECRET, key_scheme=LEGACY_SCHEME)
    pd.testing.assert_frame_equal(with_store, one_pass.loc[today.index], check_exact=True)
    assert with_store["sender_items_30d"].gt(0).any()


def test_a_scheme_this_installation_cannot_make_is_refused(items) -> None:
    with pytest.raises(StoreError, match="parties-v1:000000000000"):
        scheme_keys(items.head(5), SECRET, "parties-v1:000000000000")


def test_model_scheme_against_store_scheme(tmp_path: Path, items) -> None:
    legacy_path, new_path = tmp_path / "old.duckdb", tmp_path / "new.duckdb"
    _legacy_store(legacy_path, items.head(100))
    with HistoryStore.open(new_path, secret=SECRET) as store:
        store.add_manifest(items.head(100))
    current = current_key_scheme()
    with (
        HistoryStore.open(legacy_path, secret=SECRET, read_only=True) as old,
        HistoryStore.open(new_path, secret=SECRET, read_only=True) as new,
    ):
        # features fitted next to a store take its scheme; without one, the current scheme
        fitted = ManifestFeatures(store=old, secret=SECRET).fit(items)
        assert fitted.key_scheme_ == LEGACY_SCHEME
        assert ManifestFeatures(secret=SECRET).fit(items).key_scheme_ == current
        restored = ManifestFeatures.from_dict(fitted.to_dict(), store=new, secret=SECRET)
        assert restored.key_scheme_ == LEGACY_SCHEME
        with pytest.raises(StoreError) as refused:
            restored.transform(items.head(20))
        message = str(refused.value)
        assert "\n" not in message and "'legacy'" in message and repr(current) in message
        with pytest.raises(StoreError, match="new store"):
            resolve_key_scheme(current, old)
        assert resolve_key_scheme(current, new) == current
        assert resolve_key_scheme(None, None) == LEGACY_SCHEME  # older models: as trained
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert resolve_key_scheme(None, old) == LEGACY_SCHEME
            assert resolve_key_scheme(None, new) == current
        notices = [w for w in caught if issubclass(w.category, KeySchemeWarning)]
        assert len(notices) == 2 and "records no entity-key scheme" in str(notices[0].message)


def _model_with_scheme(folder: Path, scheme: str) -> Path:
    """models/default with a recorded key scheme (checksum updated, as training writes it)."""
    shutil.copytree(DEFAULT_MODEL, folder)
    pipeline = json.loads((folder / "pipeline.json").read_text())
    pipeline["features"]["key_scheme"] = scheme
    (folder / "pipeline.json").write_text(json.dumps(pipeline))
    meta = json.loads((folder / "metadata.json").read_text())
    meta["key_scheme"] = scheme
    meta["checksums"]["pipeline.json"] = hashlib.sha256(
        (folder / "pipeline.json").read_bytes()
    ).hexdigest()
    (folder / "metadata.json").write_text(json.dumps(meta))
    return folder


def test_cli_score_refuses_a_store_of_another_scheme_in_one_line(
    tmp_path: Path, items, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARCELRISK_SECRET", SECRET.decode())
    legacy_path = tmp_path / "old.duckdb"
    _legacy_store(legacy_path, items.head(100))
    model = _model_with_scheme(tmp_path / "model", current_key_scheme())
    manifest = tmp_path / "today.csv"
    generate_manifest(200, seed=4413, days=1, labels=False, truth=False).to_csv(
        manifest, index=False
    )
    runner = CliRunner()
    args = ["score", str(manifest), "--model", str(model), "--out", str(tmp_path / "s.csv")]
    refused = runner.invoke(app, [*args, "--store", str(legacy_path)])
    assert refused.exit_code == 1, refused.output
    error = [line for line in refused.output.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "'legacy'" in error[0] and current_key_scheme() in error[0]
    assert "history add" in error[0] and not (tmp_path / "s.csv").exists()
    with pytest.raises(StoreError, match="'legacy'"):
        with HistoryStore.open(legacy_path, secret=SECRET, read_only=True) as store:
            load_model(model, store=store)


def test_cli_history_add_says_the_scheme(tmp_path: Path, items, monkeypatch) -> None:
    monkeypatch.setenv("PARCELRISK_SECRET", SECRET.decode())
    path = tmp_path / "m.parquet"
    items.head(50).to_parquet(path)
    result = CliRunner().invoke(app, ["history", "add", str(path), "--store", str(tmp_path / "h")])
    assert result.exit_code == 0, result.output
    assert f"entity keys: {current_key_scheme()}" in result.output.replace("\n", " ")
