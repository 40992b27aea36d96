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
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from parcelrisk.io import iter_manifest, load_column_map, read_manifest, write_frame
from parcelrisk.monitoring import FeatureCounter
from parcelrisk.schema import RejectSchema
from parcelrisk.store import HistoryStore, default_store_path
from parcelrisk.validate import validate_batches

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
        help="History store file (default: $PARCELRISK_STORE, else ./parcelrisk_history.duckdb).",
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


def feature_counter_for(model: Any, history: HistoryStore | None) -> FeatureCounter:
    """A counter in the bins the store keeps for this model version, else the model's own.

    A model trained before it carried reference bins gets bins fitted on the
    first chunk of its first run; :func:`record_decisions` stores them, so
    every later day is counted in the same bins.
    """
    bins = history.feature_bins(model.version) if history is not None else None
    return FeatureCounter(bins or model.metadata.get("monitor_bins"))


def record_decisions(path: Path, result: Any, counter: FeatureCounter | None) -> int:
    """Write a scored file's decisions (and feature counts) to the store; returns rows written.

    Opens the store for writing after scoring (scoring reads it read-only), in
    slices, each one transaction; a re-run replaces the same run's rows.
    """
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
) -> None:
    """Add a manifest's valid items to the history store (items already there are skipped).

    Only pseudonymous keys, countries, value, weight, times and outcomes are
    stored; names, addresses, phone numbers and e-mail addresses are not.
    """
    out, _ = _consoles()
    path = store or default_store_path()
    batches = iter_manifest(manifest, column_map=load_column_map(columns), encoding=encoding)
    digest = _file_sha256(manifest)
    read = valid = added = 0
    reject_frames: list[pd.DataFrame] = []
    with HistoryStore.open(path) as history:
        for result in validate_batches(batches, manifest):
            read += result.rows_read
            valid += result.rows_valid
            reject_frames.append(result.rejects)
            added += history.add_manifest(result.valid, manifest_hash=digest)
        total = history.counts()["items"]
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
    out, err = _consoles()
    path = store or default_store_path()
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
    out, _ = _consoles()
    path = store or default_store_path()
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
