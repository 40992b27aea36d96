"""Hostile and broken input: every record is scored or rejected, nothing crashes, nothing is lost.

The hand-made corpus lives in ``tests/data/bad/`` (regenerate it with
``python tests/data/bad/make_corpus.py``; ``cases.json`` holds what each file must give).
Property-based tests (hypothesis) mutate valid files byte by byte and draw hostile field
values. For every input: no traceback; either a one-line error (exit code 1) or rejects that
name row and field; and rows read = rows scored + rows rejected, with every record number
accounted for exactly once, whatever the chunk size.
"""

from __future__ import annotations

import csv
import io
import json
import re
import string
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import parcelrisk
from parcelrisk.cli import app
from parcelrisk.errors import ParcelRiskError
from parcelrisk.io import iter_manifest, read_manifest
from parcelrisk.validate import DATE_FORMATS, validate_batches, validate_frame

BAD = Path(__file__).parent / "data" / "bad"
CASES: dict[str, dict] = json.loads((BAD / "cases.json").read_text(encoding="utf-8"))
ROW_CASES = sorted(n for n, c in CASES.items() if c["expect"] == "rows")
FIXED = "2026-03-01T06:00:00Z"
#: Corpus files also run through ``parcelrisk score`` (the CLI loads the model each time: ~1 s).
SCORE_CLI_CASES = [
    "empty.csv",
    "header_only.csv",
    "no_header.csv",
    "duplicated_columns.csv",
    "truncated.parquet",
    "wrong_types.parquet",
    "broken_line.jsonl",
    "quoted_newlines.csv",
    "unbalanced_quote_middle.csv",
    "nul_bytes.csv",
    "mixed_encodings.csv",
    "nan_inf_negative_huge.csv",
    "impossible_dates.csv",
    "duplicated_item_ids.csv",
    "unicode_confusables_rtl.csv",
    "thousands_and_decimal_commas.csv",
]
HYPOTHESIS = settings(
    deadline=None,
    derandomize=True,  # the same cases on every run and in CI
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

runner = CliRunner()


# -- helpers --------------------------------------------------------------------------------


def read_all(path: Path, chunk_rows: int = 250_000):
    """(rows read, valid frame, rejects frame) through the library's reader and validator."""
    results = list(validate_batches(iter_manifest(path, chunk_rows=chunk_rows), path))
    read = sum(r.rows_read for r in results)
    valid = pd.concat([r.valid for r in results]) if results else pd.DataFrame()
    rejects = (
        pd.concat([r.rejects for r in results], ignore_index=True)
        if results
        else pd.DataFrame(columns=["row", "item_id", "field", "reason"])
    )
    return read, valid, rejects


def assert_accounted(read: int, valid: pd.DataFrame, rejects: pd.DataFrame) -> None:
    """Every record number 1..read is either valid or rejected, exactly once."""
    assert read == len(valid) + len(rejects)
    rows = sorted([*valid.index.tolist(), *rejects["row"].tolist()])
    assert rows == list(range(1, read + 1))
    assert rejects["field"].notna().all() and rejects["reason"].notna().all()
    assert (rejects["field"].str.len() > 0).all()


def assert_clean_cli(result, expect_error: bool | None = None) -> None:
    """No traceback; exit code 0/1/2; an error is exactly one line."""
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in text, text
    assert result.exit_code in (0, 1, 2), (result.exit_code, text, result.exception)
    if result.exit_code == 1:
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("error:"), result.stderr
    if expect_error is not None:
        assert (result.exit_code == 1) == expect_error, text


@pytest.fixture(scope="module")
def model(model_dir):
    return parcelrisk.load_model(model_dir)


# -- the corpus -----------------------------------------------------------------------------


def test_corpus_is_what_the_script_makes(tmp_path):
    """The committed files are exactly what make_corpus.py writes, and each is small."""
    for path in BAD.iterdir():
        if path.is_file():
            assert path.stat().st_size < 50_000, path
    files = {p.name for p in BAD.iterdir() if p.name not in ("make_corpus.py", "cases.json")}
    assert set(CASES) == files


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("chunk_rows", [250_000, 1])
def test_corpus_library_reader(name, chunk_rows):
    case = CASES[name]
    try:
        read, valid, rejects = read_all(BAD / name, chunk_rows)
    except ParcelRiskError as exc:
        assert case["expect"] == "error", f"{name}: {exc}"
        assert "\n" not in str(exc) and str(BAD / name) in str(exc)
        return
    assert_accounted(read, valid, rejects)
    if case["expect"] == "error":  # the library yields nothing; the CLI refuses (see below)
        assert read == 0, name
        return
    assert read == case["records"], (name, read)
    assert sorted(rejects["row"]) == case["rejected"], rejects
    for row, field in case["fields"].items():
        named = rejects.loc[rejects["row"] == int(row), "field"].iloc[0].split(";")
        assert field in named, (name, row, named)


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_cli_validate(name, tmp_path):
    case = CASES[name]
    rejects = tmp_path / "rejects.csv"
    result = runner.invoke(app, ["validate", str(BAD / name), "--rejects", str(rejects)])
    assert_clean_cli(result, expect_error=case["expect"] == "error")
    if case["expect"] == "error":
        assert not rejects.exists()
        return
    table = pd.read_csv(rejects, dtype={"item_id": "str"}, keep_default_na=False)
    assert sorted(table["row"]) == case["rejected"]
    assert result.exit_code == (2 if case["rejected"] else 0)
    numbers = [int(n.replace(",", "")) for n in re.findall(r"│\s*([\d,]+)\s*", result.output)[:3]]
    rejected = len(case["rejected"])
    assert numbers == [case["records"], case["records"] - rejected, rejected]


@pytest.mark.parametrize("name", SCORE_CLI_CASES)
def test_corpus_cli_score(name, model_dir, tmp_path):
    case = CASES[name]
    out, rejects, report = tmp_path / "scored.csv", tmp_path / "rejects.csv", tmp_path / "r.html"
    result = runner.invoke(
        app,
        [
            "score",
            str(BAD / name),
            "--out",
            str(out),
            "--model",
            str(model_dir),
            "--rejects",
            str(rejects),
            "--report",
            str(report),
            "--scored-at",
            FIXED,
        ],
    )
    assert_clean_cli(result, expect_error=case["expect"] == "error")
    if case["expect"] == "error":
        assert not out.exists() and not rejects.exists() and not report.exists()
        return
    scored = pd.read_csv(out)
    rejected = pd.read_csv(rejects)
    assert len(scored) + len(rejected) == case["records"]
    assert sorted(rejected["row"]) == case["rejected"]
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("name", ROW_CASES)
def test_corpus_library_score(name, model):
    """The library API on the same records, as a frame: scored + rejected = records in the frame."""
    raw = read_manifest(BAD / name)
    frame = raw.frame.reset_index(drop=True)
    result = model.score(frame, capacity=2, scored_at=FIXED)
    assert len(result.scored) + len(result.rejects) == len(frame)
    assert set(result.rejects["row"]).isdisjoint(result.scored.index)
    assert result.rejects["field"].str.len().gt(0).all()


def _giant_field_file(path: Path, size: int) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        [
            "item_id",
            "declared_at",
            "sender_country",
            "recipient_country",
            "description",
            "gross_weight_kg",
        ]
    )
    writer.writerow(["RR000000001DE", "2026-01-05", "CN", "DE", "socks", "0.2"])
    writer.writerow(["RR000000002DE", "2026-01-05", "CN", "DE", 'A,\n"b' * (size // 5), "0.2"])
    writer.writerow(["RR000000003DE", "2026-01-05", "CN", "DE", "tea", "0.2"])
    path.write_text(buf.getvalue(), encoding="utf-8")


def test_ten_megabyte_single_field(model_dir, tmp_path):
    """A 10 MB description (quoted, with delimiters, quotes and newlines) and a 10 MB header."""
    path = tmp_path / "giant.csv"
    _giant_field_file(path, 10 * 1024 * 1024)
    assert path.stat().st_size > 10_000_000
    read, valid, rejects = read_all(path)
    assert_accounted(read, valid, rejects)
    assert read == 3
    out = tmp_path / "scored.csv"
    result = runner.invoke(
        app,
        ["score", str(path), "--out", str(out), "--model", str(model_dir), "--scored-at", FIXED],
    )
    assert_clean_cli(result)
    assert len(pd.read_csv(out)) + len(rejects) == 3

    one_field = tmp_path / "one_field.csv"
    one_field.write_bytes(b"x" * (10 * 1024 * 1024))  # no newline: one 10 MB header cell
    result = runner.invoke(app, ["validate", str(one_field)])
    assert_clean_cli(result, expect_error=True)
    assert "header" in result.stderr or "required column(s) missing" in result.stderr


@pytest.mark.parametrize("chunk_rows", [250_000, 3])
def test_a_quote_that_never_closes_rejects_every_line_it_swallows(tmp_path, chunk_rows):
    """20 data lines, the 5th opens a quote that never closes: 4 valid, 16 rejected, not 1."""
    lines = (BAD / "valid.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    header, body = lines[0], [line.replace('"', "") for line in lines[1:] if '"' in line]
    assert body and all(line.count(",") == header.count(",") + 1 for line in body)
    body = [line.replace("Co., Ltd", "Co. Ltd") for line in body]  # no quote left anywhere
    data = [f"Q{i:04d}," + body[i % len(body)].split(",", 1)[1] for i in range(20)]
    data[4] = data[4].replace(",China Post,", ',"China Post,', 1)  # opens, never closes
    path = tmp_path / "swallowed.csv"
    path.write_text(header + "".join(data), encoding="utf-8")
    read, valid, rejects = read_all(path, chunk_rows)
    assert_accounted(read, valid, rejects)
    assert read == 20 and len(valid) == 4
    assert sorted(rejects["row"]) == list(range(5, 21))
    first = rejects.loc[rejects["row"] == 5, "reason"].iloc[0]
    assert "line 6" in first and "16 lines" in first, first  # file line 6: the header is line 1
    later = rejects.loc[rejects["row"] == 20, "reason"].iloc[0]
    assert "line 6" in later, later
    result = runner.invoke(app, ["validate", str(path)])
    assert_clean_cli(result)
    assert re.findall(r"│\s*([\d,]+)\s*", result.output)[:3] == ["20", "4", "16"]


# -- property-based: mutated files ----------------------------------------------------------

_BASE_CSV = (BAD / "valid.csv").read_bytes() + b"".join(
    line for line in (BAD / "quoted_newlines.csv").read_bytes().splitlines(keepends=True)[1:]
)
_NASTY = [
    b",",
    b";",
    b"\t",
    b'"',
    b'""',
    b"\n",
    b"\r\n",
    b"\r",
    b"\x00",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xc3",
    b"\xe2\x80\xae",
    b"=",
    b"-",
    b"1,5",
    b"\\",
    b"'",
    b"NaN",
    b"inf",
    b"\x1a",
]


@st.composite
def mutated_csv(draw) -> bytes:
    data = bytearray(_BASE_CSV)
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = draw(st.one_of(st.sampled_from(_NASTY), st.binary(min_size=1, max_size=4)))
        if kind == "insert":
            data[pos:pos] = chunk
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 40))]
        else:
            data[pos : pos + len(chunk)] = chunk
    return bytes(data)


@settings(HYPOTHESIS, max_examples=40)
@given(data=mutated_csv())
def test_fuzzed_csv_every_record_accounted_for_any_chunk_size(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "m.csv"
    path.write_bytes(data)
    outcomes = []
    for chunk_rows in (250_000, 4):
        try:
            read, valid, rejects = read_all(path, chunk_rows)
        except ParcelRiskError as exc:
            outcomes.append(("error", str(exc)))
            continue
        assert_accounted(read, valid, rejects)
        outcomes.append(
            (
                read,
                valid.index.tolist(),
                sorted(rejects["row"].tolist()),
                sorted(rejects["field"].tolist()),
            )
        )
    assert outcomes[0] == outcomes[1]


@settings(HYPOTHESIS, max_examples=40)
@given(data=mutated_csv())
def test_fuzzed_csv_cli_validate(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "m.csv"
    path.write_bytes(data)
    rejects = str(path.with_suffix(".r.csv"))
    result = runner.invoke(app, ["validate", str(path), "--rejects", rejects])
    assert_clean_cli(result)
    if result.exit_code != 1:
        read, valid, rejects = read_all(path)
        rejected = pd.read_csv(path.with_suffix(".r.csv"))
        assert len(rejected) == len(rejects) and read == len(valid) + len(rejected)


@st.composite
def mutated_jsonl(draw) -> bytes:
    lines = (BAD / "jsonl_wrong_types.jsonl").read_bytes().splitlines()
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        pos = draw(st.integers(0, len(lines[i])))
        cut = draw(st.integers(0, 8))
        lines[i] = lines[i][:pos] + draw(st.sampled_from(_NASTY)) + lines[i][pos + cut :]
    return b"\n".join(lines) + b"\n"


@pytest.mark.slow
@settings(HYPOTHESIS, max_examples=60)
@given(data=mutated_jsonl())
def test_fuzzed_jsonl_every_record_accounted_for(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "m.jsonl"
    path.write_bytes(data)
    outcomes = []
    for chunk_rows in (250_000, 2):
        try:
            read, valid, rejects = read_all(path, chunk_rows)
        except ParcelRiskError as exc:
            outcomes.append(("error", str(exc)))
            continue
        assert_accounted(read, valid, rejects)
        outcomes.append((read, valid.index.tolist(), sorted(rejects["row"].tolist())))
    assert outcomes[0] == outcomes[1]


# -- property-based: hostile values through the library API ---------------------------------

_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
_NUMBERISH = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**25), 10**25).map(str),
    st.sampled_from(["1.234,50", "1,234.50", "0,25", "1 234", "1,2,3", "", " ", "-0", "1e400"]),
    _TEXT,
)
_DATEISH = st.one_of(
    st.datetimes(
        min_value=pd.Timestamp("1900-01-01").to_pydatetime(),
        max_value=pd.Timestamp("2200-01-01").to_pydatetime(),
    ).flatmap(lambda d: st.sampled_from(["%Y-%m-%dT%H:%M:%S", *DATE_FORMATS]).map(d.strftime)),
    st.sampled_from(["31/02/2026", "2026-13-01", "0000-00-00", "25:61", "9999-99-99", ""]),
    _TEXT,
)
_COUNTRY = st.one_of(st.sampled_from(["CN", "de", " NL ", "СN", "C\u200bN", "XX1", ""]), _TEXT)
_ROW = st.fixed_dictionaries(
    {
        "item_id": st.one_of(st.sampled_from(["A1", "A2", "../../etc/x", "=1+1", ""]), _TEXT),
        "declared_at": _DATEISH,
        "sender_country": _COUNTRY,
        "recipient_country": _COUNTRY,
        "sender_name": _TEXT,
        "recipient_name": st.one_of(_TEXT, st.sampled_from(["\u202eevil", "Аrmando", "\u200f"])),
        "description": st.one_of(_TEXT, st.sampled_from(["<script>alert(1)</script>", "=cmd"])),
        "gross_weight_kg": _NUMBERISH,
        "declared_value": _NUMBERISH,
        "quantity": _NUMBERISH,
        "hs_code": _TEXT,
        "currency": st.one_of(st.sampled_from(["EUR", "usd", "EURO"]), _TEXT),
    }
)


@settings(HYPOTHESIS, max_examples=12)
@given(rows=st.lists(_ROW, min_size=1, max_size=8))
def test_fuzzed_values_library_score(rows, model):
    frame = pd.DataFrame(rows)
    result = model.score(frame, capacity=1, scored_at=FIXED)
    assert len(result.scored) + len(result.rejects) == len(frame)
    accounted = sorted([*result.scored.index.tolist(), *result.rejects["row"].tolist()])
    assert accounted == list(range(1, len(frame) + 1))
    assert result.rejects["field"].str.len().gt(0).all()
    assert result.scored["risk_score"].between(0, 1).all()


@settings(HYPOTHESIS, max_examples=100)
@given(
    value=st.decimals(min_value=0, max_value=10**8, places=2, allow_nan=False),
    style=st.sampled_from(["plain", "en", "de", "ch", "space"]),
)
def test_numbers_with_thousands_separators_and_decimal_commas(value, style):
    """Any amount written in the usual European or English ways reads back as the same number."""
    whole, frac = f"{value:.2f}".split(".")
    groups = f"{int(whole):,}"
    text = {
        "plain": f"{whole}.{frac}",
        "en": f"{groups}.{frac}",
        "de": f"{groups.replace(',', '.')},{frac}",
        "ch": f"{groups.replace(',', chr(39))}.{frac}",
        "space": f"{groups.replace(',', ' ')},{frac}",
    }[style]
    frame = pd.DataFrame(
        {
            "item_id": ["A"],
            "declared_at": ["2026-01-05"],
            "sender_country": ["CN"],
            "recipient_country": ["DE"],
            "description": ["socks"],
            "gross_weight_kg": ["1"],
            "declared_value": [text],
        }
    )
    result = validate_frame(frame)
    assert len(result.rejects) == 0, (text, result.rejects)
    assert result.valid["declared_value"].iloc[0] == pytest.approx(float(value)), text


@settings(HYPOTHESIS, max_examples=100)
@given(
    moment=st.datetimes(
        # the accepted window: 1990-01-01 to a day after the run
        min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
        max_value=pd.Timestamp("2026-01-01").to_pydatetime(),
    ),
    fmt=st.sampled_from(DATE_FORMATS),
)
def test_dates_in_every_accepted_format_read_back(moment, fmt):
    text = moment.strftime(fmt)
    frame = pd.DataFrame(
        {
            "item_id": ["A"],
            "declared_at": [text],
            "sender_country": ["CN"],
            "recipient_country": ["DE"],
            "description": ["socks"],
            "gross_weight_kg": ["1"],
        }
    )
    result = validate_frame(frame)
    assert len(result.rejects) == 0, (text, result.rejects)
    parsed = result.valid["declared_at"].iloc[0].tz_convert(None)
    # the parsed time is the original, to the format's precision (naive = UTC)
    assert parsed.strftime(fmt) == text
    assert pd.Timedelta(0) <= pd.Timestamp(moment) - parsed < pd.Timedelta(days=1)


_PRINTABLE_ID = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=12)


@settings(HYPOTHESIS, max_examples=60)
@given(ids=st.lists(_PRINTABLE_ID, min_size=1, max_size=30), chunk=st.integers(1, 7))
def test_duplicate_item_ids_rejected_across_chunks(ids, chunk, tmp_path_factory):
    """Every repeat of an item_id is rejected (naming the first row), whatever the chunk size."""
    path = tmp_path_factory.mktemp("dup") / "m.csv"
    frame = pd.DataFrame(
        {
            "item_id": ids,
            "declared_at": "2026-01-05",
            "sender_country": "CN",
            "recipient_country": "DE",
            "description": "socks",
            "gross_weight_kg": "1",
        }
    )
    frame.to_csv(path, index=False)
    read, valid, rejects = read_all(path, chunk_rows=chunk)
    assert_accounted(read, valid, rejects)
    assert valid["item_id"].tolist() == list(dict.fromkeys(ids))
    first = {}
    for row, item in enumerate(ids, start=1):
        first.setdefault(item, row)
    expected = {row for row, item in enumerate(ids, start=1) if first[item] != row}
    assert set(rejects["row"]) == expected
    for rec in rejects.itertuples():
        assert f"first seen at row {first[ids[rec.row - 1]]}" in rec.reason


# -- dates: a documented window, epoch numbers only when asked ----------------------------------


def _dated(values: list[str], column: str = "declared_at") -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "item_id": [f"D{i}" for i in range(len(values))],
            "declared_at": "2026-01-05",
            "sender_country": "CN",
            "recipient_country": "DE",
            "description": "socks",
            "gross_weight_kg": "1",
        }
    )
    frame[column] = values
    return frame


def test_dates_outside_the_window_or_epoch_numbers_are_rejected_per_row(tmp_path):
    far = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=3)).strftime("%Y-%m-%d")
    values = [
        "1767571200",
        "0001-01-01",
        "2500-01-01",
        "1989-12-31",
        far,
        "1990-01-01",
        "2026-01-05",
    ]
    result = validate_frame(_dated(values))
    assert sorted(result.rejects["row"]) == [1, 2, 3, 4, 5]
    assert (result.rejects["field"] == "declared_at").all()
    reasons = result.rejects.set_index("row")["reason"]
    assert "--epoch-dates" in reasons[1]
    assert all("1990-01-01" in reasons[r] for r in (2, 3, 4, 5))
    path = tmp_path / "dates.csv"
    _dated(values).to_csv(path, index=False)
    out = tmp_path / "s.csv"
    scored = runner.invoke(
        app,
        ["score", str(path), "--out", str(out), "--rejects", str(tmp_path / "r.csv"),
         "--model", str(parcelrisk.DEFAULT_MODEL_DIR), "--scored-at", FIXED],
    )  # fmt: skip
    assert_clean_cli(scored)
    assert scored.exit_code == 2 and len(pd.read_csv(out)) == 2  # year 1 no longer crashes score
    labelled = _dated(["2026-01-05"] * 2).assign(
        inspected=["true", "true"], outcome="seizure", inspected_at=["9999-12-31", "2026-01-06"]
    )
    checked = validate_frame(labelled)
    assert (
        checked.rejects["row"].tolist() == [1]
        and checked.rejects["field"].iloc[0] == "inspected_at"
    )


def test_epoch_numbers_are_read_only_when_asked(tmp_path):
    path = tmp_path / "epoch.csv"
    _dated(["1767571200", "1767571200.5", "2026-01-05"]).to_csv(path, index=False)
    plain = runner.invoke(app, ["validate", str(path), "--rejects", str(tmp_path / "r.csv")])
    assert plain.exit_code == 2
    asked = runner.invoke(app, ["validate", str(path), "--epoch-dates"])
    assert asked.exit_code == 0, asked.output
    read = validate_frame(_dated(["1767571200"]), epoch_dates=True).valid["declared_at"]
    assert read.iloc[0] == pd.Timestamp("2026-01-05", tz="UTC")


def test_outcomes_outside_the_window_are_rejected(tmp_path):
    store = tmp_path / "h.duckdb"
    manifest = tmp_path / "m.csv"
    _dated(["2026-01-05", "2026-01-05"]).to_csv(manifest, index=False)
    assert (
        runner.invoke(app, ["history", "add", str(manifest), "--store", str(store)]).exit_code == 0
    )
    outcomes = tmp_path / "o.csv"
    pd.DataFrame(
        {
            "item_id": ["D0", "D1"],
            "inspected_at": ["9999-12-31", "2026-01-06"],
            "outcome": "seizure",
        }
    ).to_csv(outcomes, index=False)
    result = runner.invoke(
        app,
        [
            "outcomes",
            "add",
            str(outcomes),
            "--store",
            str(store),
            "--rejects",
            str(tmp_path / "x.csv"),
        ],
    )
    assert result.exit_code == 2, result.output
    rejected = pd.read_csv(tmp_path / "x.csv")
    assert rejected["item_id"].tolist() == ["D0"] and rejected["field"].tolist() == ["inspected_at"]


# -- one hostile line is one rejected row ---------------------------------------------------------


def _jsonl_record(item: str) -> str:
    return json.dumps(
        {
            "item_id": item,
            "declared_at": "2026-01-05",
            "sender_country": "CN",
            "recipient_country": "DE",
            "description": "socks",
            "gross_weight_kg": 1,
        }
    )


def test_deeply_nested_or_lone_surrogate_json_lines_are_one_rejected_row_each(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    deep_object = '{"item_id": ' + "[" * 900 + "]" * 900 + "}"  # parses; too deep to be text
    surrogate = _jsonl_record("S1").replace('"socks"', '"socks \\ud800"')
    lines = [_jsonl_record("A1"), deep, deep_object, surrogate, _jsonl_record("A2")]
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    read, valid, rejects = read_all(path)
    assert_accounted(read, valid, rejects)
    assert sorted(rejects["row"]) == [2, 3, 4] and valid["item_id"].tolist() == ["A1", "A2"]
    result = runner.invoke(app, ["validate", str(path), "--rejects", str(tmp_path / "r.csv")])
    assert_clean_cli(result)
    assert result.exit_code == 2
    out = tmp_path / "s.csv"
    scored = runner.invoke(
        app,
        ["score", str(path), "--out", str(out), "--model", str(parcelrisk.DEFAULT_MODEL_DIR)],
    )
    assert_clean_cli(scored)
    assert scored.exit_code == 2 and len(pd.read_csv(out)) == 2


def test_header_line_over_one_megabyte_is_read_whole(tmp_path):
    good = pd.read_csv(BAD / "valid.csv", dtype=str)
    # a first column name longer than the sniff window: the real header starts after 1 MB
    wide = good.assign(**{"x" * 1_100_000: "1"})[["x" * 1_100_000, *good.columns]]
    path = tmp_path / "wide.csv"
    wide.to_csv(path, index=False)
    read, valid, rejects = read_all(path)
    assert_accounted(read, valid, rejects)
    assert read == len(good) and rejects.empty, rejects.head()
