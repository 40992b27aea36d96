"""Reading manifests (CSV, Parquet, JSON Lines) in chunks, and writing outputs atomically.

Reading never fails on a bad *row*: rows that cannot be split into the header's
fields come back as rejects with their record number, so that every record of
the file ends up either in a frame or in the rejects. Reading fails (with
:class:`~parcelrisk.errors.InputError`) only when the *file* cannot be a
manifest: missing, empty, unreadable, or with duplicate column names.

Record numbers (``row``) are 1-based and count data records, the header
excluded. They are exact, also with quoted newlines inside fields. Blank lines
are not records (both CSV readers skip them, as does the JSON Lines reader),
and NUL bytes are dropped from CSV text, so that the fast and the exact reader
number and read every record alike whatever the chunk size.

All values come back as text (CSV, JSON Lines) or as stored (Parquet);
coercion and checks are done by :mod:`parcelrisk.validate`.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from parcelrisk.errors import InputError, OutputError

__all__ = [
    "RawBatch",
    "iter_manifest",
    "read_manifest",
    "load_column_map",
    "detect_encoding",
    "atomic_path",
    "write_frame",
    "check_outputs",
    "ROW",
]

#: Name of the record-number index carried by every frame read from a file.
ROW = "row"
DEFAULT_CHUNK_ROWS = 250_000
_SNIFF_BYTES = 1 << 20
#: Largest column map read (a few hundred lines at most in practice).
_MAX_COLUMN_MAP_BYTES = 1 << 20
#: Longest header line read (column names); longer is refused in one line.
_MAX_HEADER_BYTES = 64 << 20
#: Bytes of CSV parsed at a time (pyarrow's block); chunks are gathered from blocks.
_CSV_BLOCK_BYTES = 4 << 20
_MAX_FIELD_BYTES = (1 << 31) - 1
_DELIMITERS = (",", ";", "\t", "|")
_OUTPUT_SUFFIXES = {
    "parquet": (".parquet", ".pq"),
    "csv": (".csv", ".txt"),
    "jsonl": (".jsonl", ".ndjson"),
}


@dataclass
class RawBatch:
    """A chunk of records as read, indexed by record number, plus the unreadable records."""

    frame: pd.DataFrame
    unreadable: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)


def load_column_map(path: str | os.PathLike[str] | None) -> dict[str, str]:
    """Read a YAML (or JSON) mapping ``unit column name -> schema column name``.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "map.yaml"
    >>> _ = p.write_text("ParcelNo: item_id\\nWeight: gross_weight_kg\\n")
    >>> load_column_map(p)
    {'ParcelNo': 'item_id', 'Weight': 'gross_weight_kg'}
    """
    if path is None:
        return {}
    p = Path(path)
    try:
        with p.open("rb") as fh:  # at most a bounded size: the path may be a device or a pipe
            data = fh.read(_MAX_COLUMN_MAP_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{p}: cannot read column map ({exc.strerror})") from None
    if len(data) > _MAX_COLUMN_MAP_BYTES:
        raise InputError(
            f"{p}: column map is larger than {_MAX_COLUMN_MAP_BYTES >> 10} KB; "
            "it should hold a few lines 'their column: schema column'"
        )
    try:
        loaded = yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{p}: column map is not UTF-8 text (byte {exc.start + 1} is invalid)"
        ) from None
    except RecursionError:
        raise InputError(f"{p}: column map is not valid YAML (nested too deeply)") from None
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())  # YAML errors span lines; the message is one
        raise InputError(f"{p}: column map is not valid YAML ({detail})") from None
    if not isinstance(loaded, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()
    ):
        raise InputError(f"{p}: column map must be a mapping 'their column: schema column'")
    return dict(loaded)


def detect_encoding(sample: bytes) -> str:
    """Guess a manifest's text encoding from its first bytes.

    UTF-8 (with or without BOM) unless the non-ASCII bytes mostly fail to
    decode as UTF-8, in which case Windows-1252/Latin-1. A UTF-8 file with a
    few broken lines stays UTF-8: those lines are then rejected, not guessed.

    >>> detect_encoding("Müller".encode("utf-8")), detect_encoding("Müller".encode("latin-1"))
    ('utf-8', 'cp1252')
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoded = sample.decode("utf-8", errors="replace")
    invalid = decoded.count("\ufffd")
    valid_multibyte = sum(1 for ch in decoded if ord(ch) > 127 and ch != "\ufffd")
    if invalid and invalid > valid_multibyte:
        return "cp1252"
    return "utf-8"


class _Utf8Reader(io.RawIOBase):
    """A binary stream that re-encodes any text encoding to UTF-8 on the fly.

    Invalid byte sequences become U+FFFD, which validation turns into a
    per-row reject instead of failing the whole file.
    """

    def __init__(self, raw: io.BufferedIOBase, encoding: str) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        while not self._pending:
            chunk = self._raw.read(1 << 20)
            final = not chunk
            self._pending = self._decoder.decode(chunk, final=final).encode("utf-8")
            if final:
                break
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class _NeedExactReader(Exception):
    """Raised by the fast CSV path when a record does not fit the header."""


def _sniff(path: Path, encoding: str | None) -> tuple[str, str, list[str]]:
    with path.open("rb") as fh:
        sample = fh.read(_SNIFF_BYTES)
        head = sample
        # the header is read whole, however long: a 1 MB window cut a long header short
        while b"\n" not in head and len(head) < _MAX_HEADER_BYTES:
            more = fh.read(_SNIFF_BYTES)
            if not more:
                break
            head += more
    if b"\n" not in head and len(head) >= _MAX_HEADER_BYTES:
        raise InputError(
            f"{path}: the first line is longer than {_MAX_HEADER_BYTES >> 20} MB; "
            "it must hold the column names"
        )
    if not sample.strip():
        raise InputError(f"{path}: the file is empty")
    enc = detect_encoding(sample) if encoding in (None, "auto") else encoding
    try:
        codecs.lookup(enc)
    except LookupError:
        raise InputError(f"{path}: unknown encoding {enc!r}") from None
    text = head.decode(enc, errors="replace")
    first_line = text.lstrip("\ufeff").splitlines()[0].replace("\0", "") if text.strip() else ""
    if not first_line.strip():
        raise InputError(f"{path}: the first line is empty; it must hold the column names")
    delimiter = max(_DELIMITERS, key=first_line.count)
    csv.field_size_limit(max(csv.field_size_limit(), _MAX_FIELD_BYTES))  # a long column name
    try:
        header = next(csv.reader([first_line], delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(
            f"{path}: the first line is not a header of column names ({exc})"
        ) from None
    return enc, delimiter, [h.strip().lstrip("\ufeff") for h in header]


def _mapped_header(path: Path, header: list[str], column_map: Mapping[str, str]) -> list[str]:
    names = [column_map.get(h, h) for h in header]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError(f"{path}: column {name!r} appears more than once in the header")
        seen.add(name)
    return names


def _csv_fast(
    path: Path, enc: str, delimiter: str, names: list[str], chunk_rows: int
) -> Iterator[RawBatch]:
    broken: list[object] = []

    def on_invalid(row: object) -> str:
        # Exceptions raised here are swallowed by pyarrow, so only note it; the
        # batch that contains the record is then discarded before it is yielded.
        broken.append(row)
        return "skip"

    # Small blocks, gathered into chunks here: pyarrow reads several blocks ahead, and with
    # 64 MB blocks that held 2.6 GiB of a 3 GB file in memory (4 MB: 0.5 GiB, and faster).
    block_size = max(1 << 16, min(_CSV_BLOCK_BYTES, chunk_rows * 300))
    with path.open("rb") as raw:
        stream = _Utf8Reader(raw, enc) if enc not in ("utf-8",) else raw
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=block_size),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
            ),
        )
        first = 1
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        for batch in itertools.chain(reader, [None]):  # None: the end, flush what is pending
            if broken:
                raise _NeedExactReader
            if batch is not None:
                pending.append(_drop_nul(batch))
                pending_rows += batch.num_rows
                if pending_rows < chunk_rows:
                    continue
            if pending_rows == 0:
                continue
            frame = pa.Table.from_batches(pending).to_pandas()
            pending, pending_rows = [], 0
            frame.index = pd.RangeIndex(first, first + len(frame), name=ROW)
            first += len(frame)
            yield RawBatch(frame)


def _drop_nul(batch: pa.RecordBatch) -> pa.RecordBatch:
    """NUL bytes removed from every text column (as the exact reader does)."""
    columns = [pc.replace_substring(col, "\0", "") for col in batch.columns]
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def _csv_exact(
    path: Path, enc: str, delimiter: str, names: list[str], chunk_rows: int, skip: int
) -> Iterator[RawBatch]:
    """Python's csv module: slower, but exact record numbers for broken records.

    A broken record that runs over several lines (a quote opened and never closed, or
    closed lines later) swallowed the lines after its first: each of those non-blank
    lines counts as a record of its own, rejected with the file line where the quote
    opened, so a swallowed line is never lost without a word.
    """
    # No field-size limit beyond pyarrow's own (a 10 MB description is a field, not an error).
    csv.field_size_limit(max(csv.field_size_limit(), _MAX_FIELD_BYTES))
    with path.open("r", encoding=enc, errors="replace", newline="") as fh:
        consumed: list[str] = []  # the physical lines of the record being read

        def lines() -> Iterator[str]:
            for line in fh:
                consumed.append(line)
                yield line

        reader = csv.reader(lines(), delimiter=delimiter)
        next(reader, None)  # header
        consumed.clear()
        rows: list[list[str]] = []
        unreadable: list[tuple[int, str]] = []
        first = skip + 1
        number = 0
        for record in reader:
            raw = list(consumed)
            consumed.clear()
            if not record:
                continue  # a blank line is not a record (pyarrow skips it too)
            if len(record) == len(names):
                reasons = [None]
            else:
                reasons = _broken_record(record, raw, len(names), reader.line_num)
            for reason in reasons:
                number += 1
                if number <= skip:
                    continue
                if reason is None:
                    rows.append(record)
                else:
                    unreadable.append((number, reason))
                    rows.append([""] * len(names))
                if len(rows) >= chunk_rows:
                    yield _exact_batch(rows, names, first, unreadable)
                    first += len(rows)
                    rows, unreadable = [], []
        if rows:
            yield _exact_batch(rows, names, first, unreadable)


def _broken_record(
    record: list[str], raw: list[str], n_names: int, line_num: int
) -> list[str | None]:
    """Reject reasons of a record whose fields do not fit the header: one per line it covers.

    ``raw`` are the record's physical lines and ``line_num`` the file line it ended on.
    """
    fields = f"has {len(record)} fields where the header has {n_names}"
    # blank lines inside the record are not records (as between records)
    covered = [line for line in raw if line.strip("\r\n")]
    if len(covered) <= 1:
        return [fields]
    start = line_num - len(raw) + 1 + next(i for i, line in enumerate(raw) if line.strip("\r\n"))
    # a quote still open at the end of the file keeps the last line break in the field
    at_end = record[-1].endswith(("\n", "\r"))
    to = "to the end of the file" if at_end else f"to line {line_num}"
    opened = (
        f"a quoted field opened on file line {start} runs over {len(covered)} lines ({to}); "
        f"{fields}; the {len(covered)} lines are rejected"
    )
    swallowed = f"swallowed by the quoted field opened on file line {start} (check its quotes)"
    return [opened] + [swallowed] * (len(covered) - 1)


def _exact_batch(
    rows: list[list[str]], names: list[str], first: int, unreadable: list[tuple[int, str]]
) -> RawBatch:
    frame = pd.DataFrame(rows, columns=names, dtype="str")
    frame = frame.apply(lambda col: col.str.replace("\0", "", regex=False))
    frame = frame.mask(frame.eq(""))
    frame.index = pd.RangeIndex(first, first + len(frame), name=ROW)
    bad_rows = [row for row, _ in unreadable]
    return RawBatch(frame.drop(index=bad_rows), unreadable)


def _read_csv(
    path: Path, encoding: str | None, column_map: Mapping[str, str], chunk_rows: int
) -> Iterator[RawBatch]:
    enc, delimiter, header = _sniff(path, encoding)
    names = _mapped_header(path, header, column_map)
    yielded = 0
    try:
        for batch in _csv_fast(path, enc, delimiter, names, chunk_rows):
            yielded += len(batch.frame)
            yield batch
        return
    except _NeedExactReader:
        pass
    except (pa.ArrowInvalid, UnicodeDecodeError):
        pass
    yield from _csv_exact(path, enc, delimiter, names, chunk_rows, skip=yielded)


def _read_parquet(path: Path, column_map: Mapping[str, str], chunk_rows: int) -> Iterator[RawBatch]:
    try:
        pf = pq.ParquetFile(path)
        names = _mapped_header(path, pf.schema_arrow.names, column_map)
        first = 1
        for batch in pf.iter_batches(batch_size=chunk_rows):
            frame = batch.rename_columns(names).to_pandas()
            frame.index = pd.RangeIndex(first, first + len(frame), name=ROW)
            first += len(frame)
            yield RawBatch(frame)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None


def _read_jsonl(
    path: Path, encoding: str | None, column_map: Mapping[str, str], chunk_rows: int
) -> Iterator[RawBatch]:
    with path.open("rb") as fh:
        enc = detect_encoding(fh.read(_SNIFF_BYTES)) if encoding in (None, "auto") else encoding
    records: list[dict[str, object]] = []
    unreadable: list[tuple[int, str]] = []
    first = 1
    number = 0
    with path.open("r", encoding=enc, errors="replace") as fh:
        for line in fh:
            if not line.strip():
                continue
            number += 1
            record, reason = _json_record(line)
            if reason:
                unreadable.append((number, reason))
            records.append({column_map.get(k, k): v for k, v in record.items()})
            if len(records) >= chunk_rows:
                yield _json_batch(records, first, unreadable)
                first += len(records)
                records, unreadable = [], []
    if number == 0:
        raise InputError(f"{path}: the file is empty")
    if records:
        yield _json_batch(records, first, unreadable)


#: A ``\\uD800``-``\\uDFFF`` escape: the line may hold a lone surrogate, which is not text.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


#: Deepest object or array accepted as a field value (deeper: the row is rejected).
_MAX_JSON_DEPTH = 32


def _depth(value: object) -> int:
    """Nesting depth of JSON containers, without recursion (deep values must not crash)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > _MAX_JSON_DEPTH:
            break
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, level + 1) for c in children if isinstance(c, dict | list))
    return deepest


def _json_record(line: str) -> tuple[dict[str, object], str]:
    """(record, "") or ({}, why the line is not a record): one bad line is one rejected row."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return {}, f"not valid JSON ({exc.msg} at column {exc.colno})"
    except RecursionError:
        return {}, "not a record: JSON nested too deeply"
    if not isinstance(record, dict):
        return {}, "a JSON line must be an object"
    for key, value in record.items():  # containers as values are read as text, if shallow
        if isinstance(value, dict | list) and _depth(value) > _MAX_JSON_DEPTH:
            return {}, f"field {str(key)[:40]!r} holds JSON nested too deeply"
    if _SURROGATE_ESCAPE.search(line):
        try:
            json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return {}, "holds a lone UTF-16 surrogate escape (\\ud800-\\udfff), which is not text"
    return record, ""


def _json_batch(
    records: list[dict[str, object]], first: int, unreadable: list[tuple[int, str]]
) -> RawBatch:
    # The index is given up front: a chunk of only unreadable lines ({}) still has its rows.
    frame = pd.DataFrame(records, index=pd.RangeIndex(first, first + len(records), name=ROW))
    return RawBatch(frame.drop(index=[row for row, _ in unreadable]), unreadable)


def iter_manifest(
    path: str | os.PathLike[str],
    *,
    column_map: Mapping[str, str] | None = None,
    encoding: str | None = "auto",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[RawBatch]:
    """Yield a manifest file in chunks of about ``chunk_rows`` records.

    The format follows the extension: ``.csv``/``.txt``/``.tsv``, ``.parquet``/``.pq``,
    ``.jsonl``/``.ndjson``. ``column_map`` renames the unit's own columns to
    the schema's; ``encoding`` is ``"auto"`` (UTF-8 with or without BOM, else
    Windows-1252) or any Python codec name.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    mapping = dict(column_map or {})
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".pq"):
        yield from _read_parquet(p, mapping, chunk_rows)
    elif suffix in (".jsonl", ".ndjson"):
        yield from _read_jsonl(p, encoding, mapping, chunk_rows)
    elif suffix in (".csv", ".txt", ".tsv", ""):
        yield from _read_csv(p, encoding, mapping, chunk_rows)
    else:
        raise InputError(f"{p}: unknown file type {suffix!r} (use .csv, .parquet or .jsonl)")


def read_manifest(
    path: str | os.PathLike[str],
    *,
    column_map: Mapping[str, str] | None = None,
    encoding: str | None = "auto",
) -> RawBatch:
    """Read a whole manifest into one :class:`RawBatch` (see :func:`iter_manifest`)."""
    batches = list(iter_manifest(path, column_map=column_map, encoding=encoding))
    if not batches:
        return RawBatch(pd.DataFrame(index=pd.RangeIndex(1, 1, name=ROW)))
    frame = pd.concat([b.frame for b in batches])
    return RawBatch(frame, [u for b in batches for u in b.unreadable])


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Give a temporary path next to ``target``; rename it over ``target`` on success.

    A reader of ``target`` sees either the previous complete file or the new
    complete file, never a partial one, even if the process is killed.
    """
    target = Path(target)
    _refuse_non_regular(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write ({exc.strerror or exc})") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
        os.replace(tmp_path, target)
    except OSError as exc:  # disk full, no permission, ...: one line, nothing half-written
        raise OutputError(f"{target}: cannot write ({exc.strerror or exc})") from None
    finally:
        tmp_path.unlink(missing_ok=True)


def _refuse_non_regular(target: Path) -> None:
    """An existing output must be a regular file: never replace a folder, FIFO or device."""
    if (target.exists() or target.is_symlink()) and not target.is_file():
        raise OutputError(f"{target}: exists and is not a regular file; refusing to replace it")


def _same_file(a: Path, b: Path) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(
    outputs: Mapping[str, str | os.PathLike[str] | None],
    inputs: Mapping[str, str | os.PathLike[str] | None],
) -> None:
    """Refuse (one line) an output that is an input, another output, or not a regular file.

    ``outputs`` and ``inputs`` map what the user named (``--out``, ``MANIFEST``) to paths;
    ``None`` entries are ignored. Call it before any work, so nothing is read or written.
    """
    named_out = [(name, Path(p)) for name, p in outputs.items() if p is not None]
    named_in = [(name, Path(p)) for name, p in inputs.items() if p is not None]
    for i, (name, path) in enumerate(named_out):
        _refuse_non_regular(path)
        for other, source in named_in:
            if _same_file(path, source):
                raise OutputError(
                    f"{path}: {name} is the same file as {other}; refusing to overwrite an input"
                )
        for other, earlier in named_out[:i]:
            if _same_file(path, earlier):
                raise OutputError(
                    f"{path}: {name} and {other} are the same file; give each output its own path"
                )


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


#: A text cell starting with one of these is a formula to a spreadsheet (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix ``'`` to text cells a spreadsheet would execute; numbers stay numbers.

    Only text (object/string) columns are touched, so a column of negative numbers is
    left alone. Returns ``frame`` itself when nothing needs changing.

    >>> neutralise_formulas(pd.DataFrame({"a": ["=1+2", "ok", "-x"], "n": [-1, 2, 3]})).a.tolist()
    ["'=1+2", 'ok', "'-x"]
    """
    out = frame
    for name in frame.columns:
        column = frame[name]
        if not (column.dtype == object or isinstance(column.dtype, pd.StringDtype)):
            continue
        try:
            risky = column.str.startswith(FORMULA_STARTS)
        except AttributeError:  # an object column without any text
            continue
        risky = risky.fillna(False).astype(bool)
        if risky.any():
            if out is frame:
                out = frame.copy()
            out[name] = column.where(~risky, "'" + column[risky].astype("str"))
    return out


def write_frame(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a frame as CSV or Parquet by extension, atomically, without the index.

    CSV text cells that a spreadsheet would run as a formula are neutralised
    (:func:`neutralise_formulas`); Parquet and JSON Lines keep values as they are.
    """
    target = Path(path)
    kind = _output_kind(target)
    with atomic_path(target) as tmp:
        if kind == "parquet":
            frame.to_parquet(tmp, index=False)
        elif kind == "csv":
            neutralise_formulas(frame).to_csv(tmp, index=False, lineterminator="\n")
        else:
            frame.to_json(tmp, orient="records", lines=True, date_format="iso")


def _output_kind(target: Path) -> str:
    """parquet, csv or jsonl, by the output file's extension."""
    suffix = target.suffix.lower()
    for kind, suffixes in _OUTPUT_SUFFIXES.items():
        if suffix in suffixes:
            return kind
    raise InputError(f"{target}: unknown output type {suffix!r} (use .csv or .parquet)")


def write_frames(frames: Iterable[pd.DataFrame], path: str | os.PathLike[str]) -> None:
    """:func:`write_frame` for a table that comes in slices, written one after the other.

    Memory holds one slice at a time. CSV and JSON Lines are the concatenation
    of the slices' text (so equal to writing the whole frame at once); Parquet
    gets one row group per slice, with a text column that is empty in the
    first slice typed as text.
    """
    target = Path(path)
    kind = _output_kind(target)
    with atomic_path(target) as tmp:
        if kind == "parquet":
            writer: pq.ParquetWriter | None = None
            schema: pa.Schema | None = None
            try:
                for frame in frames:
                    table = pa.Table.from_pandas(frame, preserve_index=False)
                    if schema is None:
                        schema = pa.schema(
                            [
                                f.with_type(pa.string()) if pa.types.is_null(f.type) else f
                                for f in table.schema
                            ],
                            metadata=table.schema.metadata,
                        )
                        writer = pq.ParquetWriter(tmp, schema)
                    assert writer is not None
                    writer.write_table(table.cast(schema))
            finally:
                if writer is not None:
                    writer.close()
            return
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            for i, frame in enumerate(frames):
                if kind == "csv":
                    neutralise_formulas(frame).to_csv(
                        fh, index=False, header=i == 0, lineterminator="\n"
                    )
                elif len(frame):
                    frame.to_json(fh, orient="records", lines=True, date_format="iso")
