"""Reading and validation: planted defects are reported with row and field; nothing is lost."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from parcelrisk import InputError, ManifestSchema, read_manifest, validate_frame
from parcelrisk.cli import app
from parcelrisk.io import iter_manifest
from parcelrisk.schema import LABEL_COLUMNS, TRUTH_COLUMNS
from parcelrisk.validate import validate_batches

runner = CliRunner()


def _manifest_only(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in (*LABEL_COLUMNS, *TRUTH_COLUMNS) if c in frame])


def _plant_defects(clean: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, str]]:
    """Copy of a generated manifest (as text) with one defect per chosen row: {row number: field}."""
    text = clean.astype("str").where(clean.notna(), "")
    text["declared_at"] = clean["declared_at"].dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    planted = {
        3: ("description", ""),
        7: ("sender_country", "Germany"),
        11: ("gross_weight_kg", "-0.4"),
        15: ("declared_at", "31/02/2026 25:61"),
        19: ("item_id", text.iloc[0]["item_id"]),
        23: ("recipient_country", "1X"),
        27: ("gross_weight_kg", "heavy"),
    }
    for row, (field, value) in planted.items():
        text.iloc[row - 1, text.columns.get_loc(field)] = value
    return text, {row: field for row, (field, _) in planted.items()}


def test_planted_defects_are_each_reported_with_row_and_field(small_manifest, tmp_path):
    clean = _manifest_only(small_manifest).head(200)
    text, planted = _plant_defects(clean)
    path = tmp_path / "defects.csv"
    text.to_csv(path, index=False)
    with path.open("ab") as fh:  # a line in Latin-1 inside a UTF-8 file
        row = text.iloc[40].copy()
        row["item_id"] = "RR999999999DE"
        row["sender_name"] = "Jos\xe9 M\xfcller"
        fh.write((",".join(f'"{v}"' for v in row) + "\n").encode("latin-1"))
    planted[201] = "sender_name"

    result = validate_frame_from(path)
    rejected = dict(zip(result.rejects["row"], result.rejects["field"], strict=True))
    assert set(rejected) == set(planted)
    for row, field in planted.items():
        assert field in rejected[row].split(";"), (row, rejected[row])
    assert result.rows_valid + result.rows_rejected == result.rows_read == 201
    assert result.rejects.loc[result.rejects["row"] == 19, "reason"].str.contains("duplicate").all()


def validate_frame_from(path: Path):
    batch = read_manifest(path)
    return next(validate_batches([batch], path))


def test_cli_validate_writes_rejects_and_exits_2(small_manifest, tmp_path):
    clean = _manifest_only(small_manifest).head(100)
    text, planted = _plant_defects(clean)
    path = tmp_path / "defects.csv"
    text.to_csv(path, index=False)
    rejects = tmp_path / "rejects.csv"
    result = runner.invoke(app, ["validate", str(path), "--rejects", str(rejects)])
    assert result.exit_code == 2, result.output
    assert "rows read" in result.output
    table = pd.read_csv(rejects)
    assert list(table.columns) == ["row", "item_id", "field", "reason"]
    assert sorted(table["row"]) == sorted(planted)


def test_clean_generated_manifest_is_fully_valid(small_manifest):
    result = validate_frame(_manifest_only(small_manifest))
    assert result.rows_rejected == 0, result.rejects.head()
    ManifestSchema.validate(result.valid)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_formats_and_chunking_give_the_same_rows(small_manifest, tmp_path, suffix):
    clean = _manifest_only(small_manifest).head(500)
    path = tmp_path / f"m{suffix}"
    if suffix == ".csv":
        clean.to_csv(path, index=False)
    elif suffix == ".parquet":
        clean.to_parquet(path, index=False)
    else:
        clean.to_json(path, orient="records", lines=True, date_format="iso")
    whole = validate_frame(clean).valid
    chunks = pd.concat(r.valid for r in validate_batches(iter_manifest(path, chunk_rows=64), path))
    assert len(chunks) == 500
    pd.testing.assert_series_equal(chunks["item_id"], whole["item_id"], check_dtype=False)
    pd.testing.assert_series_equal(chunks["declared_at"], whole["declared_at"])
    pd.testing.assert_series_equal(chunks["gross_weight_kg"], whole["gross_weight_kg"])


def test_column_map_renames_unit_columns(small_manifest, tmp_path):
    clean = _manifest_only(small_manifest).head(50)
    renamed = clean.rename(columns={"item_id": "ParcelNo", "gross_weight_kg": "Weight (kg)"})
    renamed = renamed.drop(
        columns=["routing_countries", "recipient_email"]
    )  # optional: may be absent
    path = tmp_path / "unit.csv"
    renamed.to_csv(path, index=False, sep=";")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("ParcelNo: item_id\n'Weight (kg)': gross_weight_kg\n")
    result = runner.invoke(app, ["validate", str(path), "--columns", str(mapping)])
    assert result.exit_code == 0, result.output
    unmapped = runner.invoke(app, ["validate", str(path)])
    assert unmapped.exit_code == 1
    assert "item_id" in unmapped.output and "Traceback" not in unmapped.output


def test_latin1_file_is_detected_and_read(small_manifest, tmp_path):
    clean = _manifest_only(small_manifest).head(30).copy()
    clean["sender_name"] = "Fran\u00e7ois M\u00fcller"
    path = tmp_path / "latin1.csv"
    path.write_bytes(clean.to_csv(index=False).encode("latin-1", errors="replace"))
    result = validate_frame_from(path)
    assert result.rows_rejected == 0
    assert (result.valid["sender_name"] == "Fran\u00e7ois M\u00fcller").all()


def test_common_number_and_date_formats_are_coerced():
    raw = pd.DataFrame(
        {
            "item_id": ["a", "b", "c", "d"],
            "declared_at": ["2026-01-05T10:00:00Z", "05/01/2026 10:00", "05.01.2026", "20260105"],
            "sender_country": [" cn", "CN", "cn ", "Cn"],
            "recipient_country": ["de", "DE", "De", "dE"],
            "description": ["tea", "tea", "tea", "tea"],
            "gross_weight_kg": ["1,5", "1.234,5", "1,234.5", "2"],
            "hs_code": ["0902.10", "090210", "0902 10", None],
        }
    )
    result = validate_frame(raw)
    assert result.rows_rejected == 0, result.rejects
    assert result.valid["gross_weight_kg"].tolist() == [1.5, 1234.5, 1234.5, 2.0]
    assert (result.valid["declared_at"].dt.date.astype(str) == "2026-01-05").all()
    assert result.valid["hs_code"].tolist()[:3] == ["090210"] * 3
    assert set(result.valid["sender_country"]) == {"CN"}


def test_file_level_errors_are_one_line(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        list(iter_manifest(empty))
    result = runner.invoke(app, ["validate", str(tmp_path / "missing.csv")])
    assert result.exit_code == 1 and "no such file" in result.output


def test_jsonl_broken_line_is_a_reject(small_manifest, tmp_path):
    clean = _manifest_only(small_manifest).head(10)
    lines = clean.to_json(orient="records", lines=True, date_format="iso").splitlines()
    lines.insert(4, '{"item_id": "broken", ')
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = validate_frame_from(path)
    assert result.rows_read == 11 and result.rows_valid == 10
    assert result.rejects.iloc[0]["row"] == 5
    assert "JSON" in result.rejects.iloc[0]["reason"]
    json.loads(lines[0])


def test_csv_chunks_are_gathered_to_chunk_rows(small_manifest, tmp_path, monkeypatch):
    """CSV is parsed in small blocks (bounded read-ahead) and gathered into chunks of chunk_rows."""
    from parcelrisk import io as pio

    clean = _manifest_only(small_manifest).head(2000)
    path = tmp_path / "m.csv"
    clean.to_csv(path, index=False)
    monkeypatch.setattr(pio, "_CSV_BLOCK_BYTES", 1 << 16)  # ~200 rows a block
    chunks = [b.frame for b in iter_manifest(path, chunk_rows=700)]
    sizes = [len(c) for c in chunks]
    assert len(sizes) == 3 and sum(sizes) == 2000, sizes
    assert all(700 <= n < 1000 for n in sizes[:-1]), sizes  # whole blocks, at least chunk_rows
    assert pd.concat(chunks).index.tolist() == list(range(1, 2001))  # record numbers run on
    assert pd.concat(chunks)["item_id"].tolist() == clean["item_id"].astype(str).tolist()


IDENTIFIERS = ["item_id", "hs_code", "sender_postcode", "recipient_postcode", "recipient_phone"]


def test_identifiers_read_the_same_whatever_dtype_they_arrive_in(sample, tmp_path):
    """pandas.read_csv makes floats of HS codes (090210 -> 90210.0), Parquet may hold integers."""
    path = sample / "today.csv"
    as_text = validate_frame(read_manifest(path).frame).valid
    guessed = pd.read_csv(path)  # hs_code float64: leading zeros gone, ".0" added
    assert guessed["hs_code"].dtype == "float64"
    numeric = guessed.copy()
    numeric["item_id"] = range(len(numeric))
    numeric["recipient_phone"] = pd.to_numeric(
        numeric["recipient_phone"].str.replace(r"\D", "", regex=True), errors="coerce"
    )
    numeric.to_parquet(tmp_path / "numeric.parquet")
    from_parquet = validate_frame(read_manifest(tmp_path / "numeric.parquet").frame).valid
    from_guess = validate_frame(guessed).valid
    for column in ("hs_code", "sender_postcode", "recipient_postcode"):
        pd.testing.assert_series_equal(
            from_guess[column].reset_index(drop=True), as_text[column].reset_index(drop=True)
        )
        pd.testing.assert_series_equal(
            from_parquet[column].reset_index(drop=True), as_text[column].reset_index(drop=True)
        )
    assert from_parquet["item_id"].tolist() == [str(i) for i in range(len(numeric))]
    digits = numeric["recipient_phone"].dropna()
    assert from_parquet["recipient_phone"].dropna().tolist() == [f"{v:.0f}" for v in digits]


def test_model_scores_what_read_manifest_and_read_csv_give_like_the_cli(sample):
    import parcelrisk

    path = sample / "today.csv"
    model = parcelrisk.load_model(use_store=False)
    raw = read_manifest(path)
    from_reader = model.score(raw, scored_at="2026-03-02T06:00:00Z").scored  # a RawBatch
    from_pandas = model.score(pd.read_csv(path), scored_at="2026-03-02T06:00:00Z").scored
    pd.testing.assert_frame_equal(
        from_reader.reset_index(drop=True), from_pandas.reset_index(drop=True)
    )
