"""``parcelrisk history|outcomes|watchlist add``: feed the history store from the command line.

Mounted on the main app by :mod:`parcelrisk.cli`. Every command opens the
store for writing for its own duration only (a second writer gets a clear
error), prints counts and never prints or stores a name, address, phone
number or e-mail address. Exit codes as in :mod:`parcelrisk.cli`: 0 done,
1 error, 2 some rows rejected (the others were added).

The entity-key secret is ``$PARCELRISK_SECRET`` (see :mod:`parcelrisk.store`).
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

# The data stack (pandas, DuckDB, ...) is imported by the commands: 'parcelrisk --help' stays quick.
if TYPE_CHECKING:
    import pandas as pd

    from parcelrisk.monitoring import FeatureCounter
    from parcelrisk.store import HistoryStore

from parcelrisk.errors import StoreError

#: Records per transaction of ``history add`` (kept here: importing parcelrisk.io loads pandas).
_ADD_CHUNK_ROWS = 250_000

__all__ = [
    "history_app",
    "outcomes_app",
    "watchlist_app",
    "feature_counter_for",
    "record_decisions",
]

EXIT_PARTIAL = 2
_MAX_SHOWN_REJECTS = 10

F = TypeVar("F", bound=Callable[..., Any])

history_app = typer.Typer(
    help="History store of pseudonymised items, for entity profiles.", no_args_is_help=True
)
outcomes_app = typer.Typer(
    help="Inspection outcomes (seizures) for stored items.", no_args_is_help=True
)
watchlist_app = typer.Typer(help="Intelligence watch-lists of parties.", no_args_is_help=True)

StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="History store file (default: $PARCELRISK_STORE, else ./parcelrisk_history.duckdb, "
        "created if needed).",
    ),
]
ColumnsOption = Annotated[
    Path | None,
    typer.Option("--columns", help="YAML map from your column names to the schema's."),
]
EncodingOption = Annotated[
    str,
    typer.Option("--encoding", help="Text encoding of CSV/JSONL input: auto, utf-8, latin-1, ..."),
]
RejectsOption = Annotated[
    Path | None,
    typer.Option("--rejects", help="Write rejected rows (row, item_id, field, reason) here."),
]


def _user_errors(func: F) -> F:
    """:func:`parcelrisk.cli.user_errors`, looked up at call time (cli imports this module)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from parcelrisk.cli import user_errors

        return user_errors(func)(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _consoles() -> tuple[Console, Console]:
    from parcelrisk.cli import err, out

    return out, err


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _counts_table(title: str, row: dict[str, int]) -> Table:
    table = Table(title=title)
    for name in row:
        table.add_column(name, justify="right")
    table.add_row(*(f"{value:,}" for value in row.values()))
    return table


def _show_rejects(rejects: pd.DataFrame, console: Console) -> None:
    """A few rejects (row, item_id, reason): item ids are not personal data."""
    from parcelrisk.schema import RejectSchema

    shown = Table(title=f"Rejected rows (first {min(len(rejects), _MAX_SHOWN_REJECTS)})")
    for column in (RejectSchema.row, RejectSchema.item_id, RejectSchema.reason):
        shown.add_column(column)
    for record in rejects.head(_MAX_SHOWN_REJECTS).itertuples(index=False):
        shown.add_row(
            str(getattr(record, RejectSchema.row)),
            str(getattr(record, RejectSchema.item_id)),
            str(getattr(record, RejectSchema.reason)),
        )
    console.print(shown)


def _partial_add_message(
    history: HistoryStore, manifest: Path, done: int, added: int, exc: StoreError
) -> str:
    """What a failed ``history add`` committed: every chunk before the failing one, nothing after."""
    cause = str(exc).split("(", 1)[-1].rstrip(")") if "(" in str(exc) else str(exc)
    try:
        total = f"; the store now holds {history.counts()['items']:,} items"
    except Exception:  # the store may be unreadable too; the rest of the message still holds
        total = ""
    return (
        f"history store {history.path}: write failed at record {done + 1:,} of {manifest} "
        f"({cause}); records 1-{done} were committed ({added:,} items added{total}), "
        "nothing after them; re-run the same command to add the rest "
        "(items already stored are skipped)"
    )


def feature_counter_for(model: Any, history: HistoryStore | None) -> FeatureCounter:
    """A counter in the bins the store keeps for this model version, else the model's own.

    A model trained before it carried reference bins gets bins fitted on the
    first chunk of its first run; :func:`record_decisions` stores them, so
    every later day is counted in the same bins.
    """
    from parcelrisk.monitoring import FeatureCounter

    bins = history.feature_bins(model.version) if history is not None else None
    return FeatureCounter(bins or model.metadata.get("monitor_bins"))


def record_decisions(path: Path, result: Any, counter: FeatureCounter | None) -> int:
    """Write a scored file's decisions (and feature counts) to the store; returns rows written.

    Opens the store for writing after scoring (scoring reads it read-only), in
    slices, each one transaction; a re-run replaces the same run's rows.
    """
    from parcelrisk.store import HistoryStore

    written = 0
    counts = counter.frame() if counter is not None else None
    with HistoryStore.open(path) as history:
        for i, frame in enumerate(result.iter_decisions()):
            written += history.add_decisions(
                frame,
                feature_counts=counts if i == 0 else None,
                feature_bins=counter.bins if (i == 0 and counter is not None) else None,
            )
    return written


@history_app.command("add")
@_user_errors
def history_add(
    manifest: Annotated[Path, typer.Argument(help="Manifest file: .csv, .parquet or .jsonl")],
    store: StoreOption = None,
    columns: ColumnsOption = None,
    encoding: EncodingOption = "auto",
    rejects: RejectsOption = None,
    epoch_dates: Annotated[
        bool,
        typer.Option(
            "--epoch-dates",
            help="Read plain numbers in date columns as seconds since 1970-01-01 UTC.",
        ),
    ] = False,
    allow_dev_secret: Annotated[
        bool,
        typer.Option(
            "--allow-dev-secret",
            help="Key a demo store with the public development secret (PARCELRISK_SECRET unset).",
        ),
    ] = False,
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", min=1, hidden=True, help="Records per transaction.")
    ] = _ADD_CHUNK_ROWS,
) -> None:
    """Add a manifest's valid items to the history store (items already there are skipped).

    Only pseudonymous keys, countries, value, weight, times and outcomes are
    stored; names, addresses, phone numbers and e-mail addresses are not.
    Each chunk of records is one transaction; if a write fails, the message says
    which records were committed, and re-running the command adds the rest.
    """
    import pandas as pd

    from parcelrisk.io import iter_manifest, load_column_map, write_frame
    from parcelrisk.store import HistoryStore, describe_key_scheme, find_store
    from parcelrisk.validate import validate_batches

    out, _ = _consoles()
    from parcelrisk.errors import ConfigError, InputError
    from parcelrisk.io import check_outputs
    from parcelrisk.store import demo_mode, secret_from_env

    path = find_store(store, writing=True).path
    if not manifest.is_file():
        raise InputError(f"{manifest}: no such file")
    check_outputs(
        {"--rejects": rejects}, {"MANIFEST": manifest, "--store": path, "--columns": columns}
    )
    batches = iter_manifest(
        manifest, column_map=load_column_map(columns), encoding=encoding, chunk_rows=chunk_rows
    )
    # checked before secret_from_env, whose warning about the development secret would
    # otherwise precede the refusal
    if not os.environ.get("PARCELRISK_SECRET") and not (allow_dev_secret or demo_mode()):
        raise ConfigError(
            "PARCELRISK_SECRET is not set: keyed with the public development secret, the "
            "store's keys could be reversed by hashing guessed names; set PARCELRISK_SECRET "
            "(32+ random bytes), or pass --allow-dev-secret for a demo store"
        )
    secret = secret_from_env()
    digest = _file_sha256(manifest)
    read = valid = added = 0
    reject_frames: list[pd.DataFrame] = []
    with HistoryStore.open(path, secret=secret) as history:
        for result in validate_batches(batches, manifest, epoch_dates):
            try:
                added += history.add_manifest(result.valid, manifest_hash=digest)
            except StoreError as exc:
                if read == 0:
                    raise
                raise StoreError(
                    _partial_add_message(history, manifest, read, added, exc)
                ) from None
            read += result.rows_read
            valid += result.rows_valid
            reject_frames.append(result.rejects)
        total = history.counts()["items"]
        scheme = history.key_scheme
    all_rejects = pd.concat(reject_frames, ignore_index=True) if reject_frames else pd.DataFrame()
    if rejects is not None and len(all_rejects):
        write_frame(all_rejects, rejects)
    out.print(
        _counts_table(
            f"History: {manifest.name} -> {path}",
            {
                "rows read": read,
                "valid": valid,
                "rejected": len(all_rejects),
                "added": added,
                "already stored": valid - added,
                "items in store": total,
            },
        )
    )
    out.print(f"entity keys: {describe_key_scheme(scheme)}", highlight=False)
    if len(all_rejects):
        out.print(
            f"{len(all_rejects):,} row(s) rejected and not added"
            + ("" if rejects else " (use --rejects PATH for the rows and reasons)")
        )
        raise typer.Exit(EXIT_PARTIAL)


@outcomes_app.command("add")
@_user_errors
def outcomes_add(
    file: Annotated[
        Path,
        typer.Argument(help="CSV/Parquet: item_id, inspected_at, outcome[, substance, quantity]"),
    ],
    store: StoreOption = None,
    rejects: RejectsOption = None,
) -> None:
    """Record inspection outcomes (seizure, no_finding) of items already in the history store.

    Outcomes for item ids the store does not know are rejected (exit code 2):
    add their manifest with ``parcelrisk history add`` first.
    """
    import pandas as pd

    from parcelrisk.io import read_manifest, write_frame
    from parcelrisk.schema import RejectSchema
    from parcelrisk.store import HistoryStore, find_store

    out, err = _consoles()
    from parcelrisk.io import check_outputs

    path = find_store(store, writing=True).path
    check_outputs({"--rejects": rejects}, {"FILE": file, "--store": path})
    raw = read_manifest(file)
    with HistoryStore.open(path) as history:
        added, rejected = history.add_outcomes(raw.frame)
        accepted = raw.frame.drop(index=raw.frame.index[_rejected_positions(raw.frame, rejected)])
        matched = history.decided(accepted["item_id"]) if "item_id" in accepted else 0
    if raw.unreadable:
        unreadable = pd.DataFrame(
            {
                RejectSchema.row: [row for row, _ in raw.unreadable],
                RejectSchema.item_id: [None] * len(raw.unreadable),
                RejectSchema.field: ["*"] * len(raw.unreadable),
                RejectSchema.reason: [reason for _, reason in raw.unreadable],
            }
        )
        rejected = pd.concat([rejected, unreadable], ignore_index=True).sort_values(
            RejectSchema.row
        )
    read = len(raw.frame) + len(raw.unreadable)
    out.print(
        _counts_table(
            f"Outcomes: {file.name} -> {path}",
            {
                "rows read": read,
                "added": added,
                "already recorded": read - added - len(rejected),
                "rejected": len(rejected),
                "items with a decision": matched,
            },
        )
    )
    if len(rejected):
        if rejects is not None:
            write_frame(rejected, rejects)
        _show_rejects(rejected, out)
        unknown = int(
            rejected[RejectSchema.reason].str.contains("unknown item_id", regex=False).sum()
        )
        message = f"{len(rejected):,} outcome row(s) rejected"
        if unknown:
            message += (
                f"; {unknown:,} for unknown item_id (not in the history store: "
                "add their manifest with 'parcelrisk history add' first)"
            )
        err.print(f"[bold yellow]warning:[/] {message}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_PARTIAL)


def _rejected_positions(frame: pd.DataFrame, rejected: pd.DataFrame) -> list[int]:
    """Positions in ``frame`` of the rejected rows (``row`` is the index or 1-based position)."""
    import pandas as pd

    from parcelrisk.schema import RejectSchema

    rows = rejected[RejectSchema.row].astype("int64")
    if frame.index.name == "row" and pd.api.types.is_integer_dtype(frame.index.dtype):
        return [int(p) for p in frame.index.get_indexer(rows) if p >= 0]
    return [int(r) - 1 for r in rows if 0 < int(r) <= len(frame)]


@watchlist_app.command("add")
@_user_errors
def watchlist_add(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV/Parquet/JSONL with any of sender_name, sender_country, recipient_name, "
            "recipient_address, recipient_postcode, recipient_country, recipient_phone, "
            "recipient_email"
        ),
    ],
    list_name: Annotated[
        str, typer.Option("--list", help="Name of the watch-list, quoted in reasons.")
    ],
    store: StoreOption = None,
    columns: ColumnsOption = None,
) -> None:
    """Add watch-list entries; only their pseudonymous keys are stored."""
    from parcelrisk.io import load_column_map, read_manifest
    from parcelrisk.store import HistoryStore, find_store

    out, _ = _consoles()
    path = find_store(store, writing=True).path
    raw = read_manifest(file, column_map=load_column_map(columns))
    with HistoryStore.open(path) as history:
        added = history.add_watchlist(raw.frame, list_name)
        total = history.counts()["watchlist"]
    out.print(
        _counts_table(
            f"Watch-list {list_name!r}: {file.name} -> {path}",
            {"rows read": len(raw.frame), "entries added": added, "entries in store": total},
        )
    )
    if raw.unreadable:
        out.print(f"{len(raw.unreadable):,} unreadable row(s) skipped")
        raise typer.Exit(EXIT_PARTIAL)
