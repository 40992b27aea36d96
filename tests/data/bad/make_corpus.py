"""Write the hostile-input corpus of ``tests/data/bad/`` and its expectations (``cases.json``).

Run from anywhere: ``python tests/data/bad/make_corpus.py``. The output is deterministic
(no clock, no randomness), so re-running it leaves ``git diff`` empty. Every file is small;
the 10 MB single-field case is generated at test time (``tests/test_hostile.py``).

``cases.json`` maps each file name to what reading it must give:

* ``{"expect": "error"}``: the whole file is refused (exit code 1, one line on stderr);
* ``{"expect": "rows", "records": N, "rejected": [row, ...], "fields": {row: field}}``:
  the file has N data records; exactly the listed record numbers are rejected (the others are
  scored), and where ``fields`` names a field, the reject names it.
"""

from __future__ import annotations

import codecs
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent

COLUMNS = [
    "item_id",
    "manifest_id",
    "operator",
    "service",
    "declared_at",
    "sender_name",
    "sender_address",
    "sender_city",
    "sender_postcode",
    "sender_country",
    "recipient_name",
    "recipient_address",
    "recipient_city",
    "recipient_postcode",
    "recipient_country",
    "recipient_phone",
    "recipient_email",
    "description",
    "hs_code",
    "quantity",
    "declared_value",
    "currency",
    "gross_weight_kg",
    "item_category",
    "origin_country",
    "routing_countries",
]
BASE = {
    "item_id": "LP633665659CN",
    "manifest_id": "CNPA-20260105-0",
    "operator": "China Post",
    "service": "small_packet",
    "declared_at": "2026-01-05T02:17:54Z",
    "sender_name": "Jinhua Garment Co., Ltd",
    "sender_address": "37 Xingfu Rd",
    "sender_city": "Qingdao",
    "sender_postcode": "708113",
    "sender_country": "CN",
    "recipient_name": "Armando Caballero",
    "recipient_address": "Pasaje de Juliana 74",
    "recipient_city": "La Rioja",
    "recipient_postcode": "26896",
    "recipient_country": "ES",
    "recipient_phone": "+34 600 123 456",
    "recipient_email": "armando@example.org",
    "description": "socks",
    "hs_code": "611595",
    "quantity": "2",
    "declared_value": "26.09",
    "currency": "USD",
    "gross_weight_kg": "0.633",
    "item_category": "sale_of_goods",
    "origin_country": "CN",
    "routing_countries": "CN|ES",
}
CASES: dict[str, dict[str, object]] = {}


def rows(n: int, start: int = 0, **overrides: list[str]) -> list[dict[str, str]]:
    """n valid records with distinct item_ids; ``overrides[column][i]`` replaces row i's value."""
    out = []
    for i in range(n):
        rec = dict(BASE)
        rec["item_id"] = f"LP{100000 + start + i:08d}CN"
        for column, values in overrides.items():
            if i < len(values) and values[i] is not None:
                rec[column] = values[i]
        out.append(rec)
    return out


def to_csv(
    records: list[dict[str, str]],
    columns: list[str] = COLUMNS,
    delimiter: str = ",",
    header: bool = True,
    newline: str = "\n",
) -> str:
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=newline)
    if header:
        writer.writerow(columns)
    for rec in records:
        writer.writerow([rec.get(c, "") for c in columns])
    return buf.getvalue()


def write(
    name: str,
    data: str | bytes,
    expect: str = "rows",
    records: int = 0,
    rejected: list[int] | None = None,
    fields: dict[int, str] | None = None,
    encoding: str = "utf-8",
) -> None:
    raw = data.encode(encoding) if isinstance(data, str) else data
    (HERE / name).write_bytes(raw)
    case: dict[str, object] = {"expect": expect}
    if expect == "rows":
        case |= {
            "records": records,
            "rejected": sorted(rejected or []),
            "fields": {str(k): v for k, v in (fields or {}).items()},
        }
    CASES[name] = case


def parquet(name: str, table: pa.Table, **case: object) -> None:
    pq.write_table(table, HERE / name)
    has_rows = case.get("records") is not None
    CASES[name] = {"expect": "rows", **case} if has_rows else {"expect": "error"}
    if case.get("records") is not None:
        CASES[name] |= {
            "rejected": sorted(case.get("rejected", [])),  # type: ignore[arg-type]
            "fields": {str(k): v for k, v in case.get("fields", {}).items()},
        }  # type: ignore[union-attr]


def main() -> None:
    for old in HERE.iterdir():
        if old.name not in ("make_corpus.py",) and not old.name.startswith("."):
            old.unlink()
    good = rows(5)
    # -- files that are not manifests at all: refused as a whole --------------------------
    write("empty.csv", "", expect="error")
    write("whitespace_only.csv", "  \n\n \t\n", expect="error")
    write("header_only.csv", to_csv([]), expect="error")
    write("header_only_crlf.csv", to_csv([], newline="\r\n"), expect="error")
    write("no_header.csv", to_csv(good, header=False), expect="error")
    write("wrong_delimiter_colon.csv", to_csv(good, delimiter=":"), expect="error")
    write(
        "missing_required_column.csv",
        to_csv(good, [c for c in COLUMNS if c != "gross_weight_kg"]),
        expect="error",
    )
    write("duplicated_columns.csv", to_csv(good, [*COLUMNS, "description"]), expect="error")
    write("binary_garbage.csv", bytes(range(256)) * 8, expect="error")
    write("leading_blank_line.csv", "\n" + to_csv(good), expect="error")
    write("unknown_extension.xlsx", to_csv(good), expect="error")
    write("empty.jsonl", "\n\n", expect="error")
    write(
        "not_json_at_all.jsonl",
        "this is not json\nneither is this\n",
        records=2,
        rejected=[1, 2],
        fields={1: "*", 2: "*"},
    )
    write("truncated.parquet", b"", expect="error")  # replaced below
    # -- files whose records are read; bad records are rejected one by one ----------------
    write("valid.csv", to_csv(good), records=5)
    write("crlf.csv", to_csv(good, newline="\r\n"), records=5)
    write("semicolon.csv", to_csv(good, delimiter=";"), records=5)
    write("tab.tsv", to_csv(good, delimiter="\t"), records=5)
    # header with commas, data with semicolons: every record has the wrong number of fields
    text = to_csv([], delimiter=",") + to_csv(good, delimiter=";", header=False)
    write(
        "wrong_delimiter_rows.csv",
        text,
        records=5,
        rejected=[1, 2, 3, 4, 5],
        fields={i: "*" for i in range(1, 6)},
    )
    write(
        "quoted_newlines.csv",
        to_csv(rows(4, description=["socks\nand\nshoes", None, 'tea,\r\n"green"', None])),
        records=4,
    )
    # an opening quote that never closes swallows the rest of the file: each line it
    # swallowed counts as a record, rejected with the line where the quote opened
    text = to_csv(rows(3)) + to_csv(
        rows(2, start=10, description=['"broken']), header=False
    ).replace('"""broken"', '"broken')
    write("unbalanced_quote_last.csv", text, records=5, rejected=[4, 5], fields={4: "*", 5: "*"})
    lines = to_csv(rows(6)).splitlines(keepends=True)
    lines[3] = lines[3].replace("socks", '"socks', 1)
    # the quote closes at the next quote, on the following line: lines 3 and 4 are rejected
    write(
        "unbalanced_quote_middle.csv",
        "".join(lines),
        records=6,
        rejected=[3, 4],
        fields={3: "*", 4: "*"},
    )
    write("stray_quote_in_field.csv", to_csv(rows(3)).replace("socks", 'so"cks'), records=3)
    write(
        "too_many_and_too_few_fields.csv",
        to_csv(rows(6)).replace("CN|ES\n", "CN|ES,extra\n", 1).replace(",CN,CN|ES\n", "\n", 1),
        records=6,
        rejected=[1, 2],
        fields={1: "*", 2: "*"},
    )
    write("blank_lines_between.csv", to_csv(rows(4)).replace("\n", "\n\n"), records=4)
    write(
        "whitespace_line.csv",
        to_csv(rows(2)) + "   \n" + to_csv(rows(2, start=5), header=False),
        records=5,
        rejected=[3],
        fields={3: "*"},
    )
    # NUL bytes are dropped: row 3's description is then empty
    write(
        "nul_bytes.csv",
        to_csv(rows(3, description=["so\0cks", None, "\0"])).encode(),
        records=3,
        rejected=[3],
        fields={3: "description"},
    )
    write(
        "nul_line.csv",
        to_csv(rows(2)) + "\0\n" + to_csv(rows(1, start=5), header=False),
        records=4,
        rejected=[3],
        fields={3: "*"},
    )
    write("bom_utf8.csv", codecs.BOM_UTF8 + to_csv(good).encode(), records=5)
    write(
        "utf16_bom.csv",
        to_csv(rows(3, recipient_name=["Jürgen Müller"])),
        records=3,
        encoding="utf-16",
    )
    write(
        "latin1.csv",
        to_csv(rows(3, recipient_name=["José Müller", "Ærøskøbing"])),
        records=3,
        encoding="latin-1",
    )
    # mostly UTF-8 (so the file is read as UTF-8), with one Latin-1 line
    utf8_names = ["Jürgen Müller", "Zoë Ærø", "Łukasz Żółć"]
    mixed = to_csv(rows(3, recipient_name=utf8_names)).encode() + to_csv(
        rows(1, start=9, recipient_name=["José Müller"]), header=False
    ).encode("latin-1")
    write("mixed_encodings.csv", mixed, records=4, rejected=[4], fields={4: "recipient_name"})
    write("extra_columns.csv", to_csv(good, [*COLUMNS, "notes", "x"]), records=5)
    write(
        "only_required_columns.csv",
        to_csv(
            good,
            [
                "item_id",
                "declared_at",
                "sender_country",
                "recipient_country",
                "description",
                "gross_weight_kg",
            ],
        ),
        records=5,
    )
    write("duplicated_blank_column_names.csv", to_csv(good, [*COLUMNS, "", ""]), expect="error")
    numbers = ["1.234,50", "1,234.50", "0,25", "1 234,5", "12'345.6", "1,5"]
    write(
        "thousands_and_decimal_commas.csv",
        to_csv(
            rows(
                6,
                declared_value=numbers,
                gross_weight_kg=["0,5", "1.000,25", "2", "0.1", "3,75", "1,2,3"],
            )
        ),
        records=6,
        rejected=[6],
        fields={6: "gross_weight_kg"},
    )
    weights = ["NaN", "inf", "-inf", "-1", "1e400", "0", "", "abc", "1e308", "-0.0"]
    write(
        "nan_inf_negative_huge.csv",
        to_csv(rows(10, gross_weight_kg=weights)),
        records=10,
        rejected=list(range(1, 11)),
        fields={i: "gross_weight_kg" for i in range(1, 11)},
    )
    values = ["NaN", "inf", "-5", "1e300", "-0", "99999999999999999999"]
    write(
        "bad_declared_values.csv",
        to_csv(rows(6, declared_value=values)),
        records=6,
        rejected=[1, 2, 3, 4, 6],
        fields={i: "declared_value" for i in (1, 2, 3, 4, 6)},
    )
    dates_ok = [
        "2026-01-05",
        "2026-01-05T10:00:00+01:00",
        "05/01/2026 10:00",
        "05.01.2026",
        "20260105",
        "20260105101010",
        "05-Jan-2026",
        "2026-01-05 10:00:00.123456",
    ]
    dates_bad = [
        "31/02/2026",
        "2026-13-01",
        "0000-00-00",
        "05/01/2026 25:61",
        "yesterday",
        "2026-02-30T00:00:00Z",
        "99999999",
        "1e10",
        "-",
        "2026/01/05/07",
    ]
    write(
        "dates_many_formats.csv",
        to_csv(rows(len(dates_ok), declared_at=dates_ok)),
        records=len(dates_ok),
    )
    write(
        "impossible_dates.csv",
        to_csv(rows(len(dates_bad), declared_at=dates_bad)),
        records=len(dates_bad),
        rejected=list(range(1, len(dates_bad) + 1)),
        fields={i: "declared_at" for i in range(1, len(dates_bad) + 1)},
    )
    dup = rows(5)
    dup[2]["item_id"] = dup[0]["item_id"]
    dup[4]["item_id"] = dup[0]["item_id"]
    write(
        "duplicated_item_ids.csv",
        to_csv(dup),
        records=5,
        rejected=[3, 5],
        fields={3: "item_id", 5: "item_id"},
    )
    write(
        "empty_required_fields.csv",
        to_csv(rows(3, item_id=[""], description=[None, "   "], sender_country=[None, None, ""])),
        records=3,
        rejected=[1, 2, 3],
        fields={1: "item_id", 2: "description", 3: "sender_country"},
    )
    names = [
        "Аrmando Саballero",  # Cyrillic А and С
        "\u202eordnamrA",  # right-to-left override
        "Ar\u200bmando\u200d",  # zero-width space / joiner
        "\u0627\u0644\u0633\u064a\u062f \u200f",  # Arabic + RLM
        "ＡＲＭＡＮＤＯ",
    ]  # full-width
    write(
        "unicode_confusables_rtl.csv",
        to_csv(
            rows(
                5,
                recipient_name=names,
                sender_name=names[::-1],
                description=["so\u202ecks", "ѕocks", "socks\u200f", "\ufeffsocks", "s"],
            )
        ),
        records=5,
    )
    write(
        "confusable_country_codes.csv",
        to_csv(rows(3, sender_country=["СN", "C\u200bN", "ＣＮ"])),
        records=3,
        rejected=[1, 2, 3],
        fields={i: "sender_country" for i in (1, 2, 3)},
    )
    write(
        "spreadsheet_formulas.csv",
        to_csv(
            rows(
                5,
                description=["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tsocks"],
                recipient_name=['=HYPERLINK("x")'],
            )
        ),
        records=5,
    )
    write(
        "path_traversal_ids.csv",
        to_csv(rows(4, item_id=["../../etc/x", "/tmp/abs_x", "..\\..\\win_x", "x\0y"])),
        records=4,
    )
    write(
        "html_in_fields.csv",
        to_csv(
            rows(
                3,
                description=[
                    "<script>alert(1)</script>",
                    "<img src=x onerror=alert(1)>",
                    "</td></tr><b>",
                ],
                item_id=["<b>ID1</b>"],
            )
        ),
        records=3,
    )
    write(
        "overlong_item_id.csv",
        to_csv(rows(2, item_id=["X" * 65])),
        records=2,
        rejected=[1],
        fields={1: "item_id"},
    )
    write(
        "codes_garbage.csv",
        to_csv(
            rows(
                4,
                service=["rocket"],
                currency=[None, "EURO"],
                item_category=[None, None, "bribe"],
                routing_countries=[None, None, None, "CN||ES"],
            )
        ),
        records=4,
        rejected=[1, 2, 3, 4],
        fields={1: "service", 2: "currency", 3: "item_category", 4: "routing_countries"},
    )
    # -- JSON Lines ---------------------------------------------------------------------------
    recs = rows(5)
    lines = [json.dumps(r, ensure_ascii=False) for r in recs]
    lines[1] = lines[1][:-7]  # cut off: broken JSON
    lines[3] = "[1, 2, 3]"  # JSON, but not an object
    write(
        "broken_line.jsonl",
        "\n".join(lines) + "\n",
        records=5,
        rejected=[2, 4],
        fields={2: "*", 4: "*"},
    )
    typed = [dict(r) for r in rows(4)]
    typed[0]["gross_weight_kg"] = 0.5  # a real number: fine
    typed[1]["gross_weight_kg"] = [1, 2]  # a list: not a number
    typed[2]["declared_at"] = None
    typed[3]["description"] = {"nested": "object"}  # becomes its text: fine
    write(
        "jsonl_wrong_types.jsonl",
        "\n".join(json.dumps(r) for r in typed) + "\n",
        records=4,
        rejected=[2, 3],
        fields={2: "gross_weight_kg", 3: "declared_at"},
    )
    write(
        "jsonl_bom_blank_lines.jsonl",
        codecs.BOM_UTF8 + ("\n\n".join(json.dumps(r) for r in rows(3)) + "\n\n").encode(),
        records=3,
    )
    # -- Parquet ------------------------------------------------------------------------------
    n = 4
    table = pa.table(
        {
            "item_id": pa.array([1, 2, 3, 4], pa.int64()),  # numbers as ids: read as text
            "declared_at": pa.array([20260105, 1, -5, 10**12], pa.int64()),  # not timestamps
            "sender_country": ["CN"] * n,
            "recipient_country": ["DE"] * n,
            "description": pa.array([b"socks", b"\xff\xfe", b"tea", b"x"], pa.binary()),
            "gross_weight_kg": ["0,5", "heavy", "1", "2"],  # text, not numbers
            "declared_value": pa.array([True, False, None, True], pa.bool_()),
            "quantity": pa.array([1.5, float("nan"), float("inf"), -1.0]),
        }
    )
    parquet(
        "wrong_types.parquet",
        table,
        records=n,
        rejected=[1, 2, 3, 4],
        fields={2: "gross_weight_kg"},
    )
    ok = pa.table({c: [r[c] for r in rows(50)] for c in COLUMNS})
    sink = io.BytesIO()
    pq.write_table(ok, sink)
    raw = sink.getvalue()
    write("truncated.parquet", raw[: len(raw) // 2], expect="error")
    write("parquet_magic_only.parquet", b"PAR1PAR1", expect="error")
    parquet("parquet_no_rows.parquet", ok.slice(0, 0))
    (HERE / "cases.json").write_text(json.dumps(CASES, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
