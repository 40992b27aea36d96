"""The ``parcelrisk`` command line.

Exit codes: 0 done; 1 usage or input error (one line on stderr, no traceback);
2 partial (some rows rejected; outputs are still written); 130 interrupted (Ctrl-C:
one line, no traceback; outputs are written atomically, so none is left half-written).
"""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from parcelrisk.errors import InputError, ParcelRiskError
from parcelrisk.io import (
    DEFAULT_CHUNK_ROWS,
    iter_manifest,
    load_column_map,
    read_manifest,
    write_frame,
    write_frames,
)
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

EXIT_OK, EXIT_ERROR, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 2, 130

F = TypeVar("F", bound=Callable[..., Any])

ColumnsOption = Annotated[
    Path | None,
    typer.Option("--columns", help="YAML map from your column names to the schema's."),
]
EncodingOption = Annotated[
    str,
    typer.Option("--encoding", help="Text encoding of CSV/JSONL input: auto, utf-8, latin-1, ..."),
]
ChunkRowsOption = Annotated[
    int,
    typer.Option(
        "--chunk-rows", min=1, hidden=True, help="Records per chunk (outputs do not depend on it)."
    ),
]


def user_errors(func: F) -> F:
    """Turn ParcelRiskError into a one-line message and exit code 1, never a traceback.

    Ctrl-C (SIGINT) gives one line and exit code 130; outputs are replaced atomically,
    so each is either the previous complete file or the new complete one.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        interrupted: list[int] = []

        def on_sigint(signum: int, frame: Any) -> None:
            interrupted.append(signum)
            signal.default_int_handler(signum, frame)

        # Libraries may turn Ctrl-C into their own exception (DuckDB, Arrow): note the signal.
        previous = signal.signal(signal.SIGINT, on_sigint) if _main_thread() else None
        try:
            return func(*args, **kwargs)
        except ParcelRiskError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except (KeyboardInterrupt, Exception) as exc:
            if not (isinstance(exc, KeyboardInterrupt) or interrupted):
                raise
            err.print(
                "interrupted: outputs not yet written were left as they were", highlight=False
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    return wrapper  # type: ignore[return-value]


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@app.command()
@user_errors
def validate(
    manifest: Annotated[Path, typer.Argument(help="Manifest file: .csv, .parquet or .jsonl")],
    rejects: Annotated[
        Path | None,
        typer.Option("--rejects", help="Write rejected rows (row, item_id, field, reason) here."),
    ] = None,
    columns: ColumnsOption = None,
    encoding: EncodingOption = "auto",
    chunk_rows: ChunkRowsOption = DEFAULT_CHUNK_ROWS,
) -> None:
    """Check a manifest against the schema and report what would be rejected, and why."""
    batches = iter_manifest(
        manifest, column_map=load_column_map(columns), encoding=encoding, chunk_rows=chunk_rows
    )
    read = valid = 0
    reject_frames: list[pd.DataFrame] = []
    for result in validate_batches(batches, manifest):
        read += result.rows_read
        valid += result.rows_valid
        reject_frames.append(result.rejects)
    if not read:
        raise InputError(f"{manifest}: no records after the header")
    all_rejects = (
        pd.concat(reject_frames, ignore_index=True)
        if reject_frames
        else pd.DataFrame(columns=list(RejectSchema.to_schema().columns))
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
    truth: Annotated[
        bool, typer.Option(help="Include ground-truth columns (evaluation only).")
    ] = True,
) -> None:
    """Generate a synthetic manifest with planted trafficking patterns (see data/synthetic/README.md)."""
    from parcelrisk.synthetic import generate_manifest, write_manifest

    try:
        first_day = date.fromisoformat(start)
    except ValueError:
        raise typer.BadParameter(f"--start {start!r} is not a YYYY-MM-DD date") from None
    frame = generate_manifest(
        rows, seed=seed, start=first_day, days=days, labels=labels, truth=truth
    )
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


def _read_valid(
    manifest: Path, columns: Path | None, encoding: str, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Read and validate a whole manifest: (valid rows, rejects, rows read)."""
    batches = iter_manifest(
        manifest, column_map=load_column_map(columns), encoding=encoding, chunk_rows=chunk_rows
    )
    valid, rejects, read = [], [], 0
    for result in validate_batches(batches, manifest):
        valid.append(result.valid)
        rejects.append(result.rejects)
        read += result.rows_read
    if not valid:
        raise InputError(f"{manifest}: no records after the header")
    return pd.concat(valid), pd.concat(rejects, ignore_index=True), read


def _evaluation_table(evaluation: pd.DataFrame, title: str) -> Table:
    table = Table(title=title)
    for name in (
        "population",
        "method",
        "capacity",
        "selected",
        "precision",
        "95% CI",
        "recall",
        "lift",
    ):
        table.add_column(name, justify="right")
    for rec in evaluation.itertuples():
        table.add_row(
            rec.population,
            rec.method,
            f"{rec.capacity:.1%}",
            f"{rec.selected:,}",
            f"{rec.precision:.3f}",
            f"{rec.precision_ci_low:.3f}-{rec.precision_ci_high:.3f}",
            f"{rec.recall:.3f}",
            f"{rec.lift:.1f}",
        )
    return table


@app.command()
@user_errors
def train(
    data: Annotated[
        Path, typer.Option("--data", help="Labelled manifest(s) covering several weeks.")
    ],
    export: Annotated[
        Path | None, typer.Option("--export", help="Write the model folder here.")
    ] = None,
    params: Annotated[Path | None, typer.Option("--params", help="Model parameters YAML.")] = None,
    experiment: Annotated[
        str, typer.Option("--experiment", help="MLflow experiment name.")
    ] = "parcelrisk",
    register: Annotated[
        bool, typer.Option("--register", help="Register in MLflow as @challenger.")
    ] = False,
    track: Annotated[
        bool, typer.Option("--track/--no-track", help="Log the run to MLflow.")
    ] = True,
    tune: Annotated[
        int,
        typer.Option("--tune", min=0, help="Try N hyper-parameter sets on the validation days."),
    ] = 0,
    store: StoreOption = None,
    columns: ColumnsOption = None,
    encoding: EncodingOption = "auto",
) -> None:
    """Train on labelled manifests (time split, calibrated), report at capacity, log to MLflow."""
    import tempfile

    from parcelrisk.model import load_params, save_model
    from parcelrisk.report import model_card
    from parcelrisk.train import train_model

    valid, _rejects, _read = _read_valid(data, columns, encoding)
    with _maybe_store(store) as history:
        result = train_model(valid, params=load_params(params), store=history, tune=tune)
    out.print(_evaluation_table(result.evaluation, f"Test days, model {result.model.version}"))
    card = model_card(result)
    if export is not None:
        save_model(result.model, export, card)
        out.print(f"model written to {export}")
    if track or register:
        from parcelrisk.plots import evaluation_plots
        from parcelrisk.tracking import log_training

        with tempfile.TemporaryDirectory() as tmp:
            plots = evaluation_plots(result, tmp)
            run = log_training(
                result, valid, experiment=experiment, register=register, card=card, plots=plots
            )
        out.print(
            f"MLflow run {run['run_id']}"
            + (
                f", registered version {run['registered_version']} as @challenger"
                if register
                else ""
            )
        )


@app.command()
@user_errors
def evaluate(
    data: Annotated[Path, typer.Option("--data", help="Labelled manifest of a recent period.")],
    model_ref: Annotated[Path, typer.Option("--model", help="Model folder.")] = DEFAULT_MODEL,
    store: StoreOption = None,
    columns: ColumnsOption = None,
    encoding: EncodingOption = "auto",
) -> None:
    """Evaluate a model at inspection capacity on labelled data, against the legacy rules."""
    from parcelrisk.model import load_model, load_params
    from parcelrisk.schema import TRUTH_COLUMNS
    from parcelrisk.train import evaluation_table

    valid, _rejects, _read = _read_valid(data, columns, encoding)
    truth = valid[[c for c in TRUTH_COLUMNS if c in valid]]
    with _maybe_store(store) as history:
        model = load_model(model_ref, store=history)
        features = model.features.transform(valid.drop(columns=list(truth.columns)))
        ranking = pd.Series(model.raw_margin(features), index=valid.index)
    table = evaluation_table(valid, ranking, truth if len(truth.columns) else None, load_params())
    out.print(_evaluation_table(table, f"Model {model.version} on {data.name}"))


@app.command()
@user_errors
def promote(
    data: Annotated[
        Path, typer.Option("--data", help="Labelled recent window both models are judged on.")
    ],
    capacity: Annotated[
        float, typer.Option("--capacity", min=0.0, max=1.0, help="Share of items inspected.")
    ] = 0.02,
    force: Annotated[
        bool, typer.Option("--force", help="Promote even if the challenger is worse (logged).")
    ] = False,
    columns: ColumnsOption = None,
    encoding: EncodingOption = "auto",
) -> None:
    """Move the MLflow alias @champion to @challenger if it is at least as good at capacity."""
    from parcelrisk.tracking import promote as promote_model

    valid, _rejects, _read = _read_valid(data, columns, encoding)
    decision = promote_model(valid, capacity=capacity, force=force)
    table = Table(title=f"Challenger vs champion at {capacity:.1%} capacity")
    for name in decision.comparison.columns:
        table.add_column(str(name))
    for rec in decision.comparison.itertuples(index=False):
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in rec])
    out.print(table)
    out.print(
        "promoted: @champion -> challenger"
        if decision.promoted
        else "not promoted: the champion is better"
    )


@app.command()
@user_errors
def score(
    manifest: Annotated[Path, typer.Argument(help="Manifest file: .csv, .parquet or .jsonl")],
    out_path: Annotated[Path, typer.Option("--out", help="Scored output, .csv or .parquet.")],
    model_ref: Annotated[str, typer.Option("--model", help="Model folder or models:/ URI.")] = str(
        DEFAULT_MODEL
    ),
    capacity: Annotated[
        int | None, typer.Option("--capacity", min=0, help="Inspections available today.")
    ] = None,
    budget: Annotated[
        float,
        typer.Option(
            "--budget", min=0.0, max=1.0, help="Share of items to inspect (if no --capacity)."
        ),
    ] = 0.02,
    explain: Annotated[str, typer.Option("--explain", help="selected, all or none.")] = "selected",
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="Rejected rows with reasons.")
    ] = None,
    report_path: Annotated[
        Path | None, typer.Option("--report", help="Self-contained HTML report.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random control draw.")] = 0,
    scored_at: Annotated[
        str | None,
        typer.Option(
            "--scored-at",
            help="Timestamp written as scored_at (default: now, or SOURCE_DATE_EPOCH).",
        ),
    ] = None,
    store: StoreOption = None,
    columns: ColumnsOption = None,
    encoding: EncodingOption = "auto",
    pseudonymize: Annotated[
        bool,
        typer.Option(
            "--pseudonymize",
            help="Add keyed hashes sender_key, recipient_key, address_key (HMAC with "
            "$PARCELRISK_SECRET) to the output, to link items without names; "
            "the report shows no party data.",
        ),
    ] = False,
    chunk_rows: ChunkRowsOption = DEFAULT_CHUNK_ROWS,
) -> None:
    """Score a manifest, select today's inspections and say why, item by item."""
    import time

    from parcelrisk.api import resolve_model
    from parcelrisk.batch import score_file
    from parcelrisk.scoring import ScoreOptions

    started = time.perf_counter()
    options = ScoreOptions(
        capacity=capacity, budget=budget, explain=explain, seed=seed, scored_at=scored_at
    )
    with _maybe_store(store) as history, _progress() as progress:
        model = resolve_model(model_ref, store=history)
        result = score_file(
            manifest,
            model,
            options,
            history=history,
            column_map=load_column_map(columns),
            encoding=encoding,
            chunk_rows=chunk_rows,
            pseudonymize=pseudonymize,
            progress=progress,
        )
    all_rejects, read = result.rejects, result.rows_read
    write_frames(result.iter_scored(), out_path)
    rejects_path = rejects or out_path.with_name(out_path.stem + ".rejects.csv")
    if len(all_rejects) or rejects is not None:
        write_frame(all_rejects, rejects_path)
    if report_path is not None:
        from parcelrisk.report import write_report

        write_report(
            report_path, result, model, rows_read=read, rejects=all_rejects, source=manifest.name
        )
    elapsed = time.perf_counter() - started
    table = Table(title=f"Scored {manifest.name}")
    for name in ("read", "scored", "rejected", "selected", "seconds", "model"):
        table.add_column(name, justify="right")
    table.add_row(
        f"{read:,}",
        f"{result.n_scored:,}",
        f"{len(all_rejects):,}",
        f"{result.n_selected:,}",
        f"{elapsed:.1f}",
        model.version,
    )
    out.print(table)
    if len(all_rejects):
        err.print(f"{len(all_rejects):,} row(s) rejected; see {rejects_path}")
        raise typer.Exit(EXIT_PARTIAL)


@contextlib.contextmanager
def _progress() -> Iterator[Callable[[str, int], None]]:
    """A rich progress display on a terminal; plain log lines on stderr otherwise."""
    if not err.is_terminal:
        totals: dict[str, int] = {}

        def log(stage: str, rows: int) -> None:
            totals[stage] = totals.get(stage, 0) + rows
            err.print(f"{stage}: {totals[stage]:,} rows", highlight=False)

        yield log
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def advance(stage: str, rows: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=None)
            bar.advance(tasks[stage], rows)

        yield advance


@app.command("explain")
@user_errors
def explain_item(
    manifest: Annotated[Path, typer.Argument(help="Manifest file: .csv, .parquet or .jsonl")],
    item: Annotated[str, typer.Option("--item", help="The item_id to explain.")],
    model_ref: Annotated[str, typer.Option("--model", help="Model folder or models:/ URI.")] = str(
        DEFAULT_MODEL
    ),
    store: StoreOption = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Reasons on each side.")] = 10,
    columns: ColumnsOption = None,
    encoding: EncodingOption = "auto",
) -> None:
    """Print one item's score, band and every reason with its contribution."""
    import parcelrisk

    manifest_rows = read_manifest(
        manifest, column_map=load_column_map(columns), encoding=encoding
    ).frame
    with _maybe_store(store) as history:
        model = parcelrisk.load_model(model_ref, store=history)
        row = model.score_one(manifest_rows, item)
        reasons = model.explain(manifest_rows, top=top, items=[item])
    out.print(
        f"[bold]{item}[/]: risk {row['risk_score']:.3f} ({row['risk_band']}), rank {row['risk_rank']:,}, "
        f"model {row['model_version']}",
        highlight=False,
    )
    table = Table(title="Why (log-odds contributions; positive raises the risk)")
    for name in ("rank", "reason", "contribution", "text"):
        table.add_column(name, justify="right" if name in ("rank", "contribution") else "left")
    for rec in reasons.sort_values("rank", key=lambda r: r.where(r > 0, 1000 - r)).itertuples():
        contribution = "forced" if pd.isna(rec.contribution) else f"{rec.contribution:+.3f}"
        table.add_row(str(rec.rank), rec.reason, contribution, str(rec.text))
    out.print(table)


@app.command()
@user_errors
def simulate(
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder.")],
    weeks: Annotated[int, typer.Option("--weeks", min=1, help="Weeks simulated.")] = 8,
    items_per_day: Annotated[
        int, typer.Option("--items-per-day", min=10, help="Items declared per day.")
    ] = 5_000,
    seed: Annotated[int, typer.Option("--seed", help="World seed (if no --seeds).")] = 0,
    seeds: Annotated[
        str | None, typer.Option("--seeds", help="Several seeds, comma-separated: 1,2,3.")
    ] = None,
    policies: Annotated[
        str,
        typer.Option(
            "--policies",
            help="Comma-separated: random, rules, static, retrained, retrained_legacy, adaptive.",
        ),
    ] = "random,rules,static,retrained",
    budget: Annotated[
        float, typer.Option("--budget", min=0.0, max=1.0, help="Share of items inspected a day.")
    ] = 0.02,
    control_share: Annotated[
        float,
        typer.Option("--control-share", min=0.0, max=1.0, help="Random share of the capacity."),
    ] = 0.05,
    burn_in_days: Annotated[
        int, typer.Option("--burn-in-days", min=5, help="Days under the rules before a model.")
    ] = 14,
    retrain_every: Annotated[
        int, typer.Option("--retrain-every", min=1, help="Days between retrainings.")
    ] = 7,
    train_window: Annotated[
        int, typer.Option("--train-window", min=5, help="Days of history a training uses.")
    ] = 42,
    label_lag: Annotated[
        int,
        typer.Option("--label-lag", min=0, help="Newest days left out of training (labels out)."),
    ] = 4,
) -> None:
    """Run the daily targeting loop over weeks, one world per policy (see README)."""
    from parcelrisk.simulate import SimulationConfig, run_simulation

    try:
        seed_list = tuple(int(s) for s in seeds.split(",")) if seeds else (seed,)
    except ValueError:
        raise typer.BadParameter(
            f"--seeds {seeds!r} is not a comma-separated list of integers"
        ) from None
    config = SimulationConfig(
        weeks=weeks,
        items_per_day=items_per_day,
        seeds=seed_list,
        policies=tuple(p.strip() for p in policies.split(",") if p.strip()),
        budget=budget,
        control_share=control_share,
        burn_in_days=burn_in_days,
        retrain_every_days=retrain_every,
        train_window_days=train_window,
        label_lag_days=label_lag,
    )

    def progress(policy: str, run_seed: int, day: int) -> None:
        if day % 7 == 6:
            err.print(f"{policy} seed {run_seed}: day {day + 1}/{config.days}", highlight=False)

    summary = run_simulation(config, out_dir, progress=progress)
    table = Table(title=f"Live weeks (after a {burn_in_days}-day burn-in), mean over seeds")
    for name in ("policy", "seizures", "illicit caught", "recall", "precision"):
        table.add_column(name, justify="right")
    for name, figures in summary["policies"].items():
        table.add_row(
            name,
            f"{figures['seizures_mean']:.1f}",
            f"{figures['illicit_caught_mean']:.1f}",
            f"{figures['recall_truth_mean']:.3f}",
            f"{figures['precision_truth_mean']:.3f}",
        )
    out.print(table)
    out.print(f"wrote {out_dir}/decisions.parquet, weekly.csv, summary.json and plots")


from parcelrisk.store_cli import history_app, outcomes_app, watchlist_app  # noqa: E402

app.add_typer(history_app, name="history")
app.add_typer(outcomes_app, name="outcomes")
app.add_typer(watchlist_app, name="watchlist")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
