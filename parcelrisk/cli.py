"""The ``parcelrisk`` command line.

Exit codes: 0 done; 1 usage or input error (one line on stderr, no traceback);
2 partial (some rows rejected; outputs are still written).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from parcelrisk.errors import ParcelRiskError
from parcelrisk.io import iter_manifest, load_column_map, write_frame
from parcelrisk.schema import RejectSchema
from parcelrisk.validate import validate_batches

app = typer.Typer(
    name="parcelrisk",
    help="Customs risk scoring of postal and express parcels.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

EXIT_OK, EXIT_ERROR, EXIT_PARTIAL = 0, 1, 2

F = TypeVar("F", bound=Callable[..., Any])

ColumnsOption = Annotated[
    Path | None,
    typer.Option("--columns", help="YAML map from your column names to the schema's."),
]
EncodingOption = Annotated[
    str, typer.Option("--encoding", help="Text encoding of CSV/JSONL input: auto, utf-8, latin-1, ...")
]


def user_errors(func: F) -> F:
    """Turn ParcelRiskError into a one-line message and exit code 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ParcelRiskError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


@app.command()
@user_errors
def validate(
    manifest: Annotated[Path, typer.Argument(help="Manifest file: .csv, .parquet or .jsonl")],
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="Write rejected rows (row, item_id, field, reason) here.")
    ] = None,
    columns: ColumnsOption = None,
    encoding: EncodingOption = "auto",
) -> None:
    """Check a manifest against the schema and report what would be rejected, and why."""
    batches = iter_manifest(manifest, column_map=load_column_map(columns), encoding=encoding)
    read = valid = 0
    reject_frames: list[pd.DataFrame] = []
    for result in validate_batches(batches, manifest):
        read += result.rows_read
        valid += result.rows_valid
        reject_frames.append(result.rejects)
    all_rejects = (
        pd.concat(reject_frames, ignore_index=True) if reject_frames else pd.DataFrame(columns=list(RejectSchema.to_schema().columns))
    )
    if rejects is not None:
        write_frame(all_rejects, rejects)

    table = Table(title=f"Validation of {manifest.name}")
    table.add_column("rows read", justify="right")
    table.add_column("valid", justify="right")
    table.add_column("rejected", justify="right")
    table.add_row(f"{read:,}", f"{valid:,}", f"{len(all_rejects):,}")
    out.print(table)
    if len(all_rejects):
        fields = all_rejects[RejectSchema.field].str.split(";").explode()
        top = fields.value_counts().head(10)
        reasons = Table(title="Top rejected fields")
        reasons.add_column("field")
        reasons.add_column("rows", justify="right")
        for name, count in top.items():
            reasons.add_row(str(name), f"{count:,}")
        out.print(reasons)
        if rejects is None:
            out.print("Use --rejects PATH to write every rejected row with its reason.")
        raise typer.Exit(EXIT_PARTIAL)


@app.command()
@user_errors
def synth(
    out_path: Annotated[Path, typer.Option("--out", help="Output file, .csv or .parquet.")],
    rows: Annotated[int, typer.Option("--rows", min=1, help="Number of items.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same file).")] = 0,
    start: Annotated[str, typer.Option("--start", help="First day, YYYY-MM-DD.")] = "2026-01-05",
    days: Annotated[int, typer.Option("--days", min=1, help="Number of days covered.")] = 28,
    labels: Annotated[bool, typer.Option(help="Include inspection labels.")] = True,
    truth: Annotated[bool, typer.Option(help="Include ground-truth columns (evaluation only).")] = True,
) -> None:
    """Generate a synthetic manifest with planted trafficking patterns (see data/synthetic/README.md)."""
    from parcelrisk.synthetic import generate_manifest, write_manifest

    try:
        first_day = date.fromisoformat(start)
    except ValueError:
        raise typer.BadParameter(f"--start {start!r} is not a YYYY-MM-DD date") from None
    frame = generate_manifest(rows, seed=seed, start=first_day, days=days, labels=labels, truth=truth)
    write_manifest(frame, out_path)
    out.print(f"wrote {len(frame):,} items to {out_path}")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
