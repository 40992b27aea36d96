"""Coerce raw manifest records to the schema and split them into valid rows and rejects.

Coercion is forgiving where the meaning is clear (whitespace, case of codes,
``3004.90`` for an HS code, ``1.234,50`` for a number, several date formats)
and strict where it is not. Each row that fails gets one reject record naming
its row number, item_id, the failing field(s) and the reason; the other rows
go on. Checks come from :class:`~parcelrisk.schema.ManifestSchema` itself, so
the schema stays the single source of truth.

Example
-------
>>> import pandas as pd
>>> raw = pd.DataFrame({"item_id": ["A1", "A2"], "declared_at": ["2026-01-05 10:00", "yesterday"],
...     "sender_country": ["cn", "CN"], "recipient_country": ["DE", "DE"],
...     "description": ["phone case", "tea"], "gross_weight_kg": ["0,25", "0.1"]})
>>> result = validate_frame(raw)
>>> list(result.valid.item_id), result.rejects.field.tolist()
(['A1'], ['declared_at'])
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from parcelrisk.errors import InputError
from parcelrisk.extra_columns import ExtraColumn
from parcelrisk.io import ROW, RawBatch
from parcelrisk.schema import (
    COUNTRY_COLUMNS,
    DATETIME_COLUMNS,
    LABEL_COLUMNS,
    MANIFEST_COLUMNS,
    NUMERIC_COLUMNS,
    REQUIRED_COLUMNS,
    TRUTH_COLUMNS,
    LabelSchema,
    ManifestSchema,
    RejectSchema,
    TruthSchema,
)

__all__ = [
    "ValidationResult",
    "validate_frame",
    "validate_batches",
    "Validator",
    "parse_timestamps",
    "drop_labels",
    "labels_ignored_notice",
    "date_window",
    "DATE_WINDOW_START",
    "identifier_text",
    "IDENTIFIER_COLUMNS",
]

M = ManifestSchema
L = LabelSchema

#: Fields whose values are personal data: never quoted in reject reasons or logs.
PERSONAL_FIELDS = frozenset(
    c
    for c in MANIFEST_COLUMNS
    if c.startswith(("sender_", "recipient_")) and not c.endswith("country")
)
_LOWER_CODE_COLUMNS = (M.service, M.item_category, L.selection_source, L.outcome)
_UPPER_CODE_COLUMNS = (*COUNTRY_COLUMNS, M.currency, M.routing_countries)
#: Date formats tried, in order, after ISO 8601. Day-first, as in European manifests.
DATE_FORMATS = (
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%Y%m%d%H%M%S",
    "%Y%m%d",
    "%d-%b-%Y %H:%M",
    "%d-%b-%Y",
)
#: Earliest date accepted in a date column; the latest is a day after the run
#: (:func:`date_window`). Years like 1767 (an epoch number misread) or 9999 (an
#: outcome that would always count as the latest) are rejected per row.
DATE_WINDOW_START = pd.Timestamp("1990-01-01", tz="UTC")
_NUMBER = r"[+-]?\d+(?:\.\d+)?"
_DATE_DIGITS = r"\d{8}|\d{14}"  # yyyymmdd, yyyymmddHHMMSS: dates, not epoch numbers
#: Codes and numbers that identify, not measure: spreadsheets, ``pandas.read_csv`` and Parquet
#: often hand them over as numbers (``9004100.0``); they are read as the digits they stand for.
IDENTIFIER_COLUMNS = (
    M.item_id,
    M.manifest_id,
    M.hs_code,
    M.sender_postcode,
    M.recipient_postcode,
    M.recipient_phone,
)
#: Longest value of a declared text, identifier or categorical column.
_MAX_EXTRA_TEXT = 1000
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


@dataclass
class ValidationResult:
    """Valid rows (index: record number) and one reject record per rejected row."""

    valid: pd.DataFrame
    rejects: pd.DataFrame
    rows_read: int

    @property
    def rows_valid(self) -> int:
        return len(self.valid)

    @property
    def rows_rejected(self) -> int:
        return len(self.rejects)


@dataclass
class _Issues:
    """Row-level problems collected while coercing and checking one chunk."""

    rows: list[np.ndarray] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    reasons: list[pd.Series] = field(default_factory=list)

    def add(self, mask: pd.Series, column: str, reason: str | pd.Series | _Quoted) -> None:
        if not mask.any():
            return
        rows = mask.index[mask.to_numpy()]
        self.rows.append(rows.to_numpy())
        self.fields.append(column)
        if isinstance(reason, _Quoted):
            reason = reason.render(mask)
        if isinstance(reason, pd.Series):
            self.reasons.append(reason.reindex(rows).astype(str).reset_index(drop=True))
        else:
            self.reasons.append(pd.Series([reason] * len(rows), dtype=object))

    def frame(self, item_ids: pd.Series) -> pd.DataFrame:
        if not self.rows:
            return _empty_rejects()
        long = pd.DataFrame(
            {
                RejectSchema.row: np.concatenate(self.rows),
                RejectSchema.field: np.concatenate(
                    [[f] * len(r) for f, r in zip(self.fields, self.rows, strict=True)]
                ),
                RejectSchema.reason: pd.concat(self.reasons, ignore_index=True).to_numpy(),
            }
        )
        long = long.drop_duplicates([RejectSchema.row, RejectSchema.field])
        grouped = long.groupby(RejectSchema.row, sort=True).agg(
            {RejectSchema.field: ";".join, RejectSchema.reason: "; ".join}
        )
        ids = item_ids.reindex(grouped.index)
        out = pd.DataFrame(
            {
                RejectSchema.row: grouped.index.to_numpy(dtype="int64"),
                RejectSchema.item_id: ids.to_numpy(dtype=object),
                RejectSchema.field: grouped[RejectSchema.field].to_numpy(),
                RejectSchema.reason: grouped[RejectSchema.reason].to_numpy(),
            }
        )
        return out


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame(
        {
            RejectSchema.row: pd.Series([], dtype="int64"),
            RejectSchema.item_id: pd.Series([], dtype=object),
            RejectSchema.field: pd.Series([], dtype=object),
            RejectSchema.reason: pd.Series([], dtype=object),
        }
    )


def _as_text(series: pd.Series) -> pd.Series:
    """Strings trimmed, empty and whitespace-only values missing, U+FFFD kept for checking."""
    if series.dtype == "str":
        text = series
    else:
        try:
            text = series.astype("str")
        except UnicodeDecodeError:  # raw bytes (Parquet binary): undecodable ones become U+FFFD
            text = series.map(
                lambda v: v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v,
                na_action="ignore",
            ).astype("str")
    text = text.str.strip()
    return text.mask(text.eq("") | series.isna())


def identifier_text(values: pd.Series, *, even_digits: bool = False) -> pd.Series:
    """Identifiers that arrived as numbers written as the digits they stand for.

    A whole number is written without decimals (``9004100.0`` -> ``"9004100"``);
    other numbers and all text are left to :func:`_as_text`. With ``even_digits``
    (HS codes, whose digits come in pairs: 6, 8 or 10), a number with an odd count
    of digits lost its leading zero when it was stored as a number (chapters 01 to
    09: ``090210`` -> ``90210.0``), and gets it back. Text is never padded.

    >>> identifier_text(pd.Series([90210.0, 3004.9, None]), even_digits=True).tolist()
    ['090210', 3004.9, nan]
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        return values
    if pd.api.types.is_numeric_dtype(values.dtype):
        is_number = values.notna()
    elif values.dtype == object:
        # JSON Lines and frames made by hand mix numbers and text in one column; this runs per
        # value only there (the JSON reader has already parsed each line in Python).
        is_number = values.map(_is_number, na_action="ignore").fillna(False).astype(bool)
    else:
        return values  # text (CSV, JSON strings): taken as written
    if not is_number.any():
        return values
    numbers = pd.to_numeric(values.where(is_number), errors="coerce").astype("float64")
    finite = numbers.where(np.isfinite(numbers.fillna(np.nan)))
    whole = is_number & finite.notna() & finite.eq(finite.round()) & finite.abs().lt(1e15)
    if not whole.any():
        return values
    digits = finite[whole].astype("int64").astype("str")
    if even_digits:
        digits = digits.mask(digits.str.len() % 2 == 1, "0" + digits)
    out = values.astype(object)
    out[whole] = digits
    return out


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def date_window(now: pd.Timestamp | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(earliest, latest) accepted date: 1990-01-01 to a day after ``now`` (default: the run)."""
    moment = now if now is not None else pd.Timestamp.now(tz="UTC")
    return DATE_WINDOW_START, moment + pd.Timedelta(days=1)


def _epoch_like(text: pd.Series) -> pd.Series:
    """Plain numbers that are not yyyymmdd[HHMMSS] digits: epoch seconds, if anything."""
    numeric = text.str.fullmatch(_NUMBER).fillna(False).astype(bool)
    return numeric & ~text.str.fullmatch(_DATE_DIGITS).fillna(False).astype(bool)


def parse_timestamps(values: pd.Series, epoch_dates: bool = False) -> pd.Series:
    """Parse ISO 8601 and the common day-first formats to UTC timestamps (NaT if none fits).

    Naive times are taken as UTC. Plain numbers (other than ``yyyymmdd`` and
    ``yyyymmddHHMMSS`` digits) are seconds since 1970-01-01 UTC if ``epoch_dates``,
    else NaT: ``1767571200`` is not a date unless the user says it is.

    >>> parse_timestamps(pd.Series(["2026-01-05T10:00:00+01:00", "05/01/2026 10:00", "x"])).tolist()
    [Timestamp('2026-01-05 09:00:00+0000', tz='UTC'), Timestamp('2026-01-05 10:00:00+0000', tz='UTC'), NaT]
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.dt.tz_localize("UTC").astype("datetime64[us, UTC]")
    text = _as_text(values)
    epoch = _epoch_like(text)
    dated = text.mask(epoch)
    parsed = pd.to_datetime(dated, format="ISO8601", utc=True, errors="coerce")
    for fmt in DATE_FORMATS:
        todo = parsed.isna() & dated.notna()
        if not todo.any():
            break
        parsed = parsed.mask(
            todo, pd.to_datetime(dated[todo], format=fmt, utc=True, errors="coerce")
        )
    parsed = parsed.astype("datetime64[us, UTC]")
    if epoch_dates and epoch.any():
        seconds = pd.to_numeric(text[epoch], errors="coerce")
        seconds = seconds.where(seconds.abs() < 1e11)  # beyond year 5138: not a time
        moments = pd.to_datetime(seconds, unit="s", utc=True, errors="coerce")
        parsed = parsed.mask(epoch, moments.astype("datetime64[us, UTC]"))
    return parsed


def _parse_numbers(values: pd.Series) -> pd.Series:
    """Numbers with either decimal mark; thousands separators where unambiguous."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64")
    text = _as_text(values).str.replace(r"[\s\u00a0']", "", regex=True)
    both = text.str.contains(",", regex=False) & text.str.contains(".", regex=False)
    comma_last = text.str.rfind(",") > text.str.rfind(".")
    # 1.234,50 -> 1234.50 ; 1,234.50 -> 1234.50
    text = text.mask(
        both & comma_last, text.str.replace(".", "", regex=False).str.replace(",", ".")
    )
    text = text.mask(both & ~comma_last, text.str.replace(",", "", regex=False))
    only_comma = text.str.contains(",", regex=False) & ~both
    thousands = text.str.fullmatch(r"-?\d{1,3}(,\d{3})+")
    text = text.mask(only_comma & thousands, text.str.replace(",", "", regex=False))
    text = text.mask(only_comma & ~thousands, text.str.replace(",", ".", regex=False))
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _parse_bool(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.fillna(False).astype(bool)
    text = _as_text(values).str.lower().fillna("")
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[text.isin(_TRUE)] = True
    out[text.isin(_FALSE)] = False
    return out


def _describe_failure(column: str, check_name: str) -> str:
    if check_name == "str_matches":
        return {
            M.hs_code: "not an HS code (6 to 10 digits)",
            M.currency: "not an ISO 4217 currency code",
            M.routing_countries: "not a list of ISO country codes separated by '|'",
        }.get(column, "not an ISO 3166-1 alpha-2 country code")
    return {
        "isin": "not one of the allowed values",
        "greater_than": "must be greater than zero",
        "greater_than_or_equal_to": "must not be negative",
        "less_than": "is implausibly large",
        "str_length": "has the wrong length",
    }.get(check_name, f"fails check {check_name}")


class Validator:
    """Validate manifest chunks, remembering item_ids across chunks to reject duplicates.

    ``extra_columns`` are a unit's declared columns (:mod:`parcelrisk.extra_columns`): they
    must be in the file, and their values are checked by role (a number that is not one
    rejects the row). Undeclared columns that are not in the schema are dropped.
    """

    def __init__(
        self,
        source: str = "<frame>",
        epoch_dates: bool = False,
        extra_columns: Sequence[ExtraColumn] = (),
    ) -> None:
        self.source = source
        self.epoch_dates = epoch_dates
        self.extra_columns = tuple(extra_columns)
        self.window = date_window()  # one window for every chunk of the file
        self._seen_ids = np.array([], dtype="uint64")
        self._seen_rows = np.array([], dtype="int64")
        self._columns_checked = False

    def check_columns(self, columns: Iterable[str]) -> None:
        """Fail the whole file if a required column is absent."""
        missing = sorted(REQUIRED_COLUMNS - set(columns))
        if missing:
            raise InputError(
                f"{self.source}: required column(s) missing: {', '.join(missing)} "
                "(wrong delimiter, or use --columns MAP.yaml to map your column names)"
            )
        present = set(columns)
        undeclared = [c.name for c in self.extra_columns if c.name not in present]
        if undeclared:
            raise InputError(
                f"{self.source}: declared column(s) missing: {', '.join(undeclared)} "
                "(declared in features/extra_columns.yaml when the model was trained; "
                "use --columns MAP.yaml to map your column names)"
            )

    def validate(self, batch: RawBatch) -> ValidationResult:
        raw = batch.frame
        if not self._columns_checked and (len(raw) or len(raw.columns)):
            self.check_columns(raw.columns)
            self._columns_checked = True
        # A later JSON Lines chunk (or a chunk of only unreadable lines) may lack a key
        # altogether: its rows then miss that field, row by row, as with any other chunk size.
        absent = sorted(REQUIRED_COLUMNS - set(raw.columns))
        absent += [c.name for c in self.extra_columns if c.name not in raw.columns]
        if absent:
            raw = raw.reindex(columns=[*raw.columns, *absent])
        issues = _Issues()
        for row, reason in batch.unreadable:
            mask = pd.Series([True], index=pd.Index([row], name=ROW))
            issues.add(mask, "*", reason)
        frame = self._coerce(raw, issues)
        self._check(frame, issues)
        self._check_duplicates(frame, issues)
        unreadable_ids = pd.Series(
            pd.NA, index=pd.Index([r for r, _ in batch.unreadable]), dtype=object
        )
        ids = pd.concat([frame[M.item_id].astype(object), unreadable_ids])
        rejects = issues.frame(ids)
        valid = frame.drop(index=rejects[RejectSchema.row].to_numpy(), errors="ignore")
        # Every id seen counts, also of rejected rows, so a repeat is rejected whatever the chunking.
        self._remember(frame[frame[M.item_id].notna()])
        return ValidationResult(valid, rejects, rows_read=len(raw) + len(batch.unreadable))

    def _coerce(self, raw: pd.DataFrame, issues: _Issues) -> pd.DataFrame:
        columns = [
            c for c in (*MANIFEST_COLUMNS, *LABEL_COLUMNS, *TRUTH_COLUMNS) if c in raw.columns
        ]
        out: dict[str, pd.Series] = {}
        for column in columns:
            values = raw[column]
            if column in DATETIME_COLUMNS:
                parsed = parse_timestamps(values, self.epoch_dates)
                present = _present(values)
                unread = parsed.isna() & present
                epoch = unread & _epoch_like(_as_text(values)) if not self.epoch_dates else None
                if epoch is not None and epoch.any():
                    issues.add(
                        epoch,
                        column,
                        _quote(
                            values, "a number, not a date (use --epoch-dates for epoch seconds)"
                        ),
                    )
                    unread &= ~epoch
                issues.add(unread, column, _quote(values, "not a date/time we can read"))
                lo, hi = self.window
                outside = parsed.notna() & ((parsed < lo) | (parsed > hi))
                issues.add(
                    outside,
                    column,
                    _quote(
                        values,
                        f"outside the accepted dates {lo:%Y-%m-%d} to {hi:%Y-%m-%d}",
                    ),
                )
                out[column] = parsed.mask(outside)
            elif column in NUMERIC_COLUMNS:
                parsed = _parse_numbers(values)
                present = _present(values)
                bad = present & (parsed.isna() | ~np.isfinite(parsed.fillna(0.0)))
                issues.add(bad, column, _quote(values, "not a finite number"))
                out[column] = parsed.where(~bad)
            elif column in (L.inspected, TruthSchema.truth_illicit):
                parsed = _parse_bool(values)
                issues.add(parsed.isna(), column, _quote(values, "not true/false"))
                out[column] = parsed.fillna(False).astype(bool)
            else:
                if column in IDENTIFIER_COLUMNS:
                    values = identifier_text(values, even_digits=column == M.hs_code)
                text = _as_text(values)
                if column in _UPPER_CODE_COLUMNS:
                    text = text.str.upper()
                elif column in _LOWER_CODE_COLUMNS:
                    text = text.str.lower().str.replace(r"[\s-]+", "_", regex=True)
                elif column == M.hs_code:
                    text = text.str.replace(r"[\s.]", "", regex=True)
                bad_bytes = text.str.contains("\ufffd", regex=False).fillna(False)
                issues.add(
                    bad_bytes,
                    column,
                    "bytes that are not valid in the file's encoding (try --encoding)",
                )
                out[column] = text
        for extra in self.extra_columns:
            out[extra.name] = self._coerce_extra(raw[extra.name], extra, issues)
        return pd.DataFrame(out, index=raw.index)

    @staticmethod
    def _coerce_extra(values: pd.Series, extra: ExtraColumn, issues: _Issues) -> pd.Series:
        """A declared column coerced by its role; values of hidden roles are never quoted."""
        name = extra.name
        if extra.required:
            issues.add(~_present(values), name, "required field is empty")
        if extra.role == "numeric":
            parsed = _parse_numbers(values)
            bad = _present(values) & (parsed.isna() | ~np.isfinite(parsed.fillna(0.0)))
            issues.add(bad, name, _quote(values, "not a finite number"))
            return parsed.where(~bad)
        # codes and ids from a spreadsheet or Parquet as numbers: read as the digits (as in CSV)
        values = identifier_text(values)
        text = _as_text(values)
        bad_bytes = text.str.contains("\ufffd", regex=False).fillna(False)
        issues.add(
            bad_bytes, name, "bytes that are not valid in the file's encoding (try --encoding)"
        )
        too_long = text.str.len().gt(_MAX_EXTRA_TEXT).fillna(False)
        message = f"longer than {_MAX_EXTRA_TEXT} characters"
        issues.add(too_long, name, message if extra.hidden else _quote(values, message))
        return text

    def _check(self, frame: pd.DataFrame, issues: _Issues) -> None:
        schema = ManifestSchema.to_schema()
        for column, spec in schema.columns.items():
            if column not in frame.columns:
                continue
            values = frame[column]
            if not spec.nullable:
                issues.add(values.isna(), column, "required field is empty")
            present = values.notna()
            for check in spec.checks:
                passed = check(values).check_output
                if isinstance(passed, pd.DataFrame):
                    passed = passed.iloc[:, 0]
                failed = present & ~passed.fillna(False).astype(bool)
                issues.add(failed, column, _quote(values, _describe_failure(column, check.name)))

    def _check_duplicates(self, frame: pd.DataFrame, issues: _Issues) -> None:
        ids = frame[M.item_id]
        rows = frame.index.to_numpy(dtype="int64")
        hashed = pd.util.hash_pandas_object(ids, index=False).to_numpy()
        first_row = pd.Series(rows, index=hashed).groupby(level=0).transform("min").to_numpy()
        if len(self._seen_ids):
            pos = np.minimum(np.searchsorted(self._seen_ids, hashed), len(self._seen_ids) - 1)
            in_previous = self._seen_ids[pos] == hashed
            first_row = np.where(in_previous, self._seen_rows[pos], first_row)
        else:
            in_previous = np.zeros(len(rows), dtype=bool)
        duplicate = pd.Series(
            ((first_row != rows) | in_previous) & ids.notna().to_numpy(), index=frame.index
        )
        reason = (
            "duplicate item_id (first seen at row "
            + pd.Series(first_row, index=frame.index).astype(str)
            + ")"
        )
        issues.add(duplicate, M.item_id, reason)

    def _remember(self, valid: pd.DataFrame) -> None:
        hashed = pd.util.hash_pandas_object(valid[M.item_id], index=False).to_numpy()
        ids = np.concatenate([self._seen_ids, hashed])
        rows = np.concatenate([self._seen_rows, valid.index.to_numpy(dtype="int64")])
        order = np.argsort(ids, kind="stable")
        self._seen_ids, self._seen_rows = ids[order], rows[order]


def _present(values: pd.Series) -> pd.Series:
    """Whether a value was given at all (blank text counts as absent)."""
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        return _as_text(values).notna()
    return values.notna()


@dataclass(frozen=True)
class _Quoted:
    """A reason that shows the offending value, rendered only for the failing rows.

    Values of personal fields are never shown.
    """

    values: pd.Series
    message: str

    def render(self, mask: pd.Series) -> pd.Series | str:
        if self.values.name in PERSONAL_FIELDS:
            return self.message
        shown = self.values[mask].astype("str").str.slice(0, 40)
        return "'" + shown + "': " + self.message


def _quote(values: pd.Series, message: str) -> _Quoted:
    """Reason text that shows the offending value (values of personal fields are never shown)."""
    return _Quoted(values, message)


def drop_labels(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """A manifest to be scored without its label columns, and the names of those dropped.

    An operator's file must not vouch for its own parcels: at scoring time outcomes come
    only from the history store (``parcelrisk outcomes add``, a trusted step). Training
    data keeps its labels (it does not go through here).
    """
    present = [c for c in LABEL_COLUMNS if c in frame.columns]
    return (frame.drop(columns=present) if present else frame), present


def labels_ignored_notice(columns: Iterable[str], source: str) -> str:
    """The one-line notice for label columns dropped from a scored manifest."""
    return (
        f"label column(s) {', '.join(columns)} in {source} ignored: at scoring time outcomes "
        "come only from the history store (parcelrisk outcomes add)"
    )


def validate_frame(
    frame: pd.DataFrame,
    source: str = "<frame>",
    epoch_dates: bool = False,
    extra_columns: Sequence[ExtraColumn] = (),
) -> ValidationResult:
    """Validate an in-memory manifest; rows are numbered 1..n in frame order."""
    raw = frame.reset_index(drop=True)
    raw.index = pd.RangeIndex(1, len(raw) + 1, name=ROW)
    return Validator(source, epoch_dates, extra_columns).validate(RawBatch(raw))


def validate_batches(
    batches: Iterable[RawBatch],
    source: str | os.PathLike[str],
    epoch_dates: bool = False,
    extra_columns: Sequence[ExtraColumn] = (),
) -> Iterator[ValidationResult]:
    """Validate a stream of chunks from :func:`parcelrisk.io.iter_manifest`."""
    validator = Validator(str(source), epoch_dates, extra_columns)
    for batch in batches:
        yield validator.validate(batch)
