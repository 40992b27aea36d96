"""The ``parcelrisk`` command line.

Exit codes: 0 done; 1 usage or input error (one line on stderr, no traceback);
2 partial (some rows rejected; outputs are still written).
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from parcelrisk.errors import InputError, ParcelRiskError
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


DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "default"
StoreOption = Annotated[
    Path | None,
    typer.Option("--store", help="History store (DuckDB) for entity profiles; read-only here."),
]


@contextlib.contextmanager
def _maybe_store(path: Path | None) -> Iterator[Any]:
    """The history store opened read-only, or None when no store is given."""
    if path is None:
        yield None
        return
    from parcelrisk.store import HistoryStore

    with HistoryStore.open(path, read_only=True) as history:
        yield history


def _read_valid(manifest: Path, columns: Path | None, encoding: str) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Read and validate a whole manifest: (valid rows, rejects, rows read)."""
    batches = iter_manifest(manifest, column_map=load_column_map(columns), encoding=encoding)
    valid, rejects, read = [], [], 0
    for result in validate_batches(batches, manifest):
        valid.append(result.valid)
        rejects.append(result.rejects)
        read += result.rows_read
    if not valid:
        raise InputError(f"{manifest}: no records after the header")
    return pd.concat(valid), pd.concat(rejects, ignore_index=True), read


@app.command()
@user_errors
def train(
    data: Annotated[Path, typer.Option("--data", help="Labelled manifest(s) covering several weeks.")],
    export: Annotated[Path | None, typer.Option("--export", help="Write the model folder here.")] = None,
    params: Annotated[Path | None, typer.Option("--params", help="Model parameters YAML.")] = None,
    store: StoreOption = None,
    columns: ColumnsOption = None,
    encoding: EncodingOption = "auto",
) -> None:
    """Train a model on labelled manifests (time-split, calibrated) and report it at capacity."""
    from parcelrisk.model import load_params, save_model
    from parcelrisk.report import model_card
    from parcelrisk.train import train_model

    valid, rejects, read = _read_valid(data, columns, encoding)
    with _maybe_store(store) as history:
        result = train_model(valid, params=load_params(params), store=history)
    table = Table(title=f"Test days, model {result.model.version}")
    for name in ("population", "method", "capacity", "precision", "recall", "lift"):
        table.add_column(name)
    for rec in result.evaluation.itertuples():
        table.add_row(rec.population, rec.method, f"{rec.capacity:.1%}", f"{rec.precision:.3f}", f"{rec.recall:.3f}", f"{rec.lift:.1f}")
    out.print(table)
    if export is not None:
        save_model(result.model, export, model_card(result))
        out.print(f"model written to {export}")


@app.command()
@user_errors
def score(
    manifest: Annotated[Path, typer.Argument(help="Manifest file: .csv, .parquet or .jsonl")],
    out_path: Annotated[Path, typer.Option("--out", help="Scored output, .csv or .parquet.")],
    model_ref: Annotated[Path, typer.Option("--model", help="Model folder.")] = DEFAULT_MODEL,
    capacity: Annotated[int | None, typer.Option("--capacity", min=0, help="Inspections available today.")] = None,
    budget: Annotated[float, typer.Option("--budget", min=0.0, max=1.0, help="Share of items to inspect (if no --capacity).")] = 0.02,
    explain: Annotated[str, typer.Option("--explain", help="selected, all or none.")] = "selected",
    rejects: Annotated[Path | None, typer.Option("--rejects", help="Rejected rows with reasons.")] = None,
    report_path: Annotated[Path | None, typer.Option("--report", help="Self-contained HTML report.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random control draw.")] = 0,
    scored_at: Annotated[
        str | None,
        typer.Option("--scored-at", help="Timestamp written as scored_at (default: now, or SOURCE_DATE_EPOCH)."),
    ] = None,
    store: StoreOption = None,
    columns: ColumnsOption = None,
    encoding: EncodingOption = "auto",
) -> None:
    """Score a manifest, select today's inspections and say why, item by item."""
    import time

    from parcelrisk.model import load_model
    from parcelrisk.scoring import ScoreOptions, score_frame

    started = time.perf_counter()
    valid, all_rejects, read = _read_valid(manifest, columns, encoding)
    options = ScoreOptions(capacity=capacity, budget=budget, explain=explain, seed=seed, scored_at=scored_at)
    with _maybe_store(store) as history:
        model = load_model(model_ref, store=history)
        result = score_frame(valid, model, options)
    write_frame(result.scored, out_path)
    rejects_path = rejects or out_path.with_name(out_path.stem + ".rejects.csv")
    if len(all_rejects) or rejects is not None:
        write_frame(all_rejects, rejects_path)
    if report_path is not None:
        from parcelrisk.report import write_report

        write_report(report_path, result, model, rows_read=read, rejects=all_rejects, source=manifest.name)
    elapsed = time.perf_counter() - started
    table = Table(title=f"Scored {manifest.name}")
    for name in ("read", "scored", "rejected", "selected", "seconds", "model"):
        table.add_column(name, justify="right")
    table.add_row(
        f"{read:,}", f"{len(result.scored):,}", f"{len(all_rejects):,}",
        f"{int(result.scored['selected'].sum()):,}", f"{elapsed:.1f}", model.version,
    )
    out.print(table)
    if len(all_rejects):
        err.print(f"{len(all_rejects):,} row(s) rejected; see {rejects_path}")
        raise typer.Exit(EXIT_PARTIAL)


from parcelrisk.store_cli import history_app, outcomes_app, watchlist_app  # noqa: E402

app.add_typer(history_app, name="history")
app.add_typer(outcomes_app, name="outcomes")
app.add_typer(watchlist_app, name="watchlist")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
