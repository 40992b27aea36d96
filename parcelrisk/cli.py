"""The ``parcelrisk`` command line.

Exit codes: 0 done; 1 usage or input error (one line on stderr, no traceback);
2 partial (some rows rejected; outputs are still written); 3 refused (``promote`` kept the
champion); 130 interrupted (Ctrl-C:
one line, no traceback; outputs are written atomically, so none is left half-written).
"""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from parcelrisk.errors import InputError, ParcelRiskError, ParcelRiskWarning
from parcelrisk.paths import DEFAULT_MODEL_DIR

# pandas, pyarrow, pandera, LightGBM, DuckDB and MLflow are imported inside the commands
# that use them: 'parcelrisk --help' and '--version' answer without loading them.
if TYPE_CHECKING:
    import pandas as pd

    from parcelrisk.extra_columns import ExtraColumn

app = typer.Typer(
    name="parcelrisk",
    help="Customs risk scoring of postal and express parcels.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        from parcelrisk import __version__

        out.print(f"parcelrisk {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Customs risk scoring of postal and express parcels."""


EXIT_OK, EXIT_ERROR, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_REFUSED = 3  # promote kept the champion: scripts must not carry on as if it had promoted

F = TypeVar("F", bound=Callable[..., Any])

ColumnsOption = Annotated[
    Path | None,
    typer.Option("--columns", help="YAML map from your column names to the schema's."),
]
ExtraColumnsOption = Annotated[
    Path | None,
    typer.Option(
        "--extra-columns",
        help="Your own columns to use, with their roles (YAML; default: "
        "features/extra_columns.yaml). See README 'Your own columns'.",
    ),
]
EncodingOption = Annotated[
    str,
    typer.Option("--encoding", help="Text encoding of CSV/JSONL input: auto, utf-8, latin-1, ..."),
]
EpochDatesOption = Annotated[
    bool,
    typer.Option(
        "--epoch-dates",
        help="Read plain numbers in date columns as seconds since 1970-01-01 UTC.",
    ),
]
ChunkRowsOption = Annotated[
    int | None,
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
        failed = False
        caught: list[warnings.WarningMessage] = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ParcelRiskWarning)
                return func(*args, **kwargs)
        except ParcelRiskError as exc:
            failed = True
            err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except (KeyboardInterrupt, Exception) as exc:
            if not (isinstance(exc, KeyboardInterrupt) or interrupted):
                raise
            failed = True
            err.print(
                "interrupted: outputs not yet written were left as they were", highlight=False
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            # after catch_warnings has ended: warnings shown again are not caught again
            _show_warnings(caught, failed)

    return wrapper  # type: ignore[return-value]


def _show_warnings(caught: list[warnings.WarningMessage], failed: bool) -> None:
    """parcelrisk's warnings once each, as one line (``warning: ...``); others as Python shows them.

    After an error, only the error's one line is printed.
    """
    said: set[str] = set()
    for w in caught:
        if not issubclass(w.category, ParcelRiskWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
        elif not failed and str(w.message) not in said:
            said.add(str(w.message))
            err.print(f"[bold yellow]warning:[/] {w.message}", highlight=False, soft_wrap=True)


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
    epoch_dates: EpochDatesOption = False,
    chunk_rows: ChunkRowsOption = None,
    extra_columns: ExtraColumnsOption = None,
) -> None:
    """Check a manifest against the schema and report what would be rejected, and why."""
    import pandas as pd

    from parcelrisk.extra_columns import load_extra_columns
    from parcelrisk.io import (
        DEFAULT_CHUNK_ROWS,
        check_outputs,
        iter_manifest,
        load_column_map,
        write_frame,
    )
    from parcelrisk.schema import RejectSchema
    from parcelrisk.validate import validate_batches

    check_outputs({"--rejects": rejects}, {"MANIFEST": manifest, "--columns": columns})
    batches = iter_manifest(
        manifest,
        column_map=load_column_map(columns),
        encoding=encoding,
        chunk_rows=chunk_rows or DEFAULT_CHUNK_ROWS,
    )
    read = valid = 0
    reject_frames: list[pd.DataFrame] = []
    declared = load_extra_columns(extra_columns)
    for result in validate_batches(batches, manifest, epoch_dates, declared):
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


DEFAULT_MODEL = DEFAULT_MODEL_DIR
StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="History store (DuckDB) for entity profiles, read-only here (default: "
        "$PARCELRISK_STORE, else ./parcelrisk_history.duckdb if it exists).",
    ),
]
NoStoreOption = Annotated[
    bool,
    typer.Option("--no-store", help="Use no history store: every party looks new."),
]


@contextlib.contextmanager
def _maybe_store(path: Path | None, no_store: bool = False) -> Iterator[Any]:
    """The history store of the one rule (:func:`parcelrisk.store.find_store`), read-only, or None.

    Says which store it is on stdout, with the command's summary (stderr is kept for errors).
    """
    from parcelrisk.store import HistoryStore, find_store

    choice = find_store(path, use=not no_store)
    out.print(choice.describe(), highlight=False, soft_wrap=True)
    if choice.path is None:
        yield None
        return
    with HistoryStore.open(choice.path, read_only=True) as history:
        yield history


def _read_valid(
    manifest: Path,
    columns: Path | None,
    encoding: str,
    extra_columns: Sequence[ExtraColumn] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Read and validate a whole manifest: (valid rows, rejects, rows read).

    ``extra_columns``: the unit's declared columns (default: features/extra_columns.yaml).
    """
    import pandas as pd

    from parcelrisk.extra_columns import load_extra_columns
    from parcelrisk.io import iter_manifest, load_column_map
    from parcelrisk.validate import validate_batches

    declared = load_extra_columns() if extra_columns is None else extra_columns
    batches = iter_manifest(manifest, column_map=load_column_map(columns), encoding=encoding)
    valid, rejects, read = [], [], 0
    for result in validate_batches(batches, manifest, extra_columns=declared):
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


def _calibration_line(meta: dict[str, Any]) -> str:
    """One line: weighting, calibration method and expected calibration error of the test days."""
    cal, weighting = meta.get("calibration", {}), meta.get("weighting", {})

    def ece(key: str) -> str:
        return "n/a" if cal.get(key) is None else f"{cal[key]:.4f}"

    return (
        f"Weighting {weighting.get('scheme', '?')}; calibration {cal.get('method', '?')}: "
        f"ECE on the control sample {ece('ece_control')} ({cal.get('control_items', 0)} items, "
        f"{cal.get('control_seizures', 0)} seizures), on inspected items weighted 1/propensity "
        f"{ece('ece_inspected_ipw')}"
    )


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
    no_store: NoStoreOption = False,
    columns: ColumnsOption = None,
    encoding: EncodingOption = "auto",
    extra_columns: ExtraColumnsOption = None,
) -> None:
    """Train on labelled manifests (time split, calibrated), report at capacity, log to MLflow."""
    import tempfile

    from parcelrisk.extra_columns import load_extra_columns
    from parcelrisk.model import load_params, save_model
    from parcelrisk.report import model_card
    from parcelrisk.train import train_model

    declared = load_extra_columns(extra_columns)
    valid, _rejects, _read = _read_valid(data, columns, encoding, declared)
    # The store stays open until the run is logged: the plots (SHAP beeswarm) transform
    # rows again, and the model's features read their profiles from it.
    with _maybe_store(store, no_store) as history:
        result = train_model(
            valid, params=load_params(params), store=history, tune=tune, extra_columns=declared
        )
        out.print(_evaluation_table(result.evaluation, f"Test days, model {result.model.version}"))
        out.print(_calibration_line(result.model.metadata), highlight=False)
        out.print(BIASED_CAPTION)
        estimates = result.model.metadata["estimates"]
        out.print(
            _estimates_table(
                estimates["capacities"],
                f"Unbiased (off-policy) estimates on the test days; {estimates['source']}",
            )
        )
        out.print(_baselines_table(result.model.metadata.get("baselines") or {}))
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


BIASED_CAPTION = (
    "population 'inspected' is biased: measured on inspected items only, which the old policy "
    "chose because they looked risky; the unbiased figures are the estimates below"
)


def _estimates_table(rows: list[dict[str, Any]], title: str) -> Table:
    """The off-policy estimates per capacity (see parcelrisk.estimation)."""
    table = Table(title=title)
    for name in ("capacity", "picks", "inspected picks", "hit rate SNIPS (95% CI)", "IPS", "DR"):
        table.add_column(name, justify="right")
    table.add_column("ESS", justify="right")
    table.add_column("leakage (95% CI)", justify="right")

    def ci(e: dict[str, Any]) -> str:
        if e.get("value") is None:
            return "n/a"
        return f"{e['value']:.3f} ({e['low']:.3f}-{e['high']:.3f})"

    for r in rows:
        table.add_row(
            f"{r['capacity']:.1%}",
            f"{r['picks']:,}",
            f"{r['snips']['n']:,}",
            ci(r["snips"]),
            ci(r["ips"]),
            ci(r["dr"]),
            f"{r['ess']:.1f}",
            ci(r["leakage"]),
        )
    return table


def _baselines_table(entry: dict[str, Any]) -> Table:
    """The model beside plain LightGBM on raw columns and the legacy rules (parcelrisk.baseline)."""
    from parcelrisk.baseline import METHODS

    days = entry.get("days", {})
    table = Table(
        title=f"Model vs plain LightGBM on raw columns vs legacy rules, test days "
        f"{days.get('first_day', '?')} to {days.get('last_day', '?')}: off-policy "
        f"{str(entry.get('estimator', 'ips')).upper()} hit rate (95% CI) of each one's picks, "
        "the logged inspections it rests on, and the truth where known"
    )
    for name in ("capacity", "ranking", "hit rate", "logged", "illicit", "found"):
        table.add_column(name, justify="right")
    names = {"model": "model", "plain_baseline": "plain", "legacy_rules": "rules"}
    order = {m: i for i, m in enumerate(METHODS)}
    rows = sorted(entry.get("rows") or [], key=lambda r: (r["capacity"], order.get(r["method"], 9)))

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.1%}"

    for r in rows:
        e = r["ips"]
        table.add_row(
            f"{r['capacity']:.1%}",
            names.get(r["method"], r["method"]),
            "n/a"
            if e.get("value") is None
            else f"{pct(e['value'])} ({pct(e['low'])}-{pct(e['high'])})",
            f"{e.get('n', 0):,}",
            pct(r.get("truth_illicit")),
            pct(r.get("truth_found")),
        )
    return table


def _read_decision_log(path: Path) -> pd.DataFrame:
    """A decision log file (.parquet or .csv), as the history store or a scoring run writes it."""
    import pandas as pd

    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path, dtype={"item_id": "str"}, keep_default_na=True)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the decision log ({exc})") from None
    raise InputError(f"{path}: a decision log must be .parquet or .csv")


@app.command()
@user_errors
def evaluate(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Labelled manifest of a recent period; with --log, the logged items' manifest.",
        ),
    ] = None,
    model_ref: Annotated[str, typer.Option("--model", help="Model folder or models:/ URI.")] = str(
        DEFAULT_MODEL
    ),
    off_policy_mode: Annotated[
        bool,
        typer.Option(
            "--off-policy", help="Estimate what the model would have found from logged decisions."
        ),
    ] = False,
    log_path: Annotated[
        Path | None,
        typer.Option("--log", help="Decision log (.parquet/.csv); default: the --data labels."),
    ] = None,
    capacity: Annotated[
        float,
        typer.Option(
            "--capacity", min=0.0, help="Share of each day's items (< 1) or items per day (>= 1)."
        ),
    ] = 0.02,
    out_json: Annotated[
        Path | None, typer.Option("--out", help="Write the off-policy estimates as JSON.")
    ] = None,
    n_boot: Annotated[int, typer.Option("--boot", min=10, help="Bootstrap replicates.")] = 500,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
    store: StoreOption = None,
    no_store: NoStoreOption = False,
    columns: ColumnsOption = None,
    encoding: EncodingOption = "auto",
) -> None:
    """Evaluate a model at inspection capacity: against the legacy rules, or off-policy from a log."""
    import pandas as pd

    from parcelrisk.api import resolve_model
    from parcelrisk.model import load_params
    from parcelrisk.schema import TRUTH_COLUMNS
    from parcelrisk.train import evaluation_table, unbiased_estimates

    if off_policy_mode:
        _evaluate_off_policy(
            data, model_ref, log_path, capacity, out_json, n_boot, seed, store, columns, encoding
        )
        return
    if data is None:
        raise InputError("evaluate needs --data (a labelled manifest), or --off-policy --log")
    with _maybe_store(store, no_store) as history:
        model = resolve_model(model_ref, store=history)
        # the data is checked against the model's own declared columns, as when scoring
        valid, _rejects, _read = _read_valid(data, columns, encoding, model.features.own_columns_)
        truth = valid[[c for c in TRUTH_COLUMNS if c in valid]]
        features = model.features.transform(valid.drop(columns=list(truth.columns)))
        ranking = pd.Series(model.raw_margin(features), index=valid.index)
    params = load_params()
    table = evaluation_table(valid, ranking, truth if len(truth.columns) else None, params)
    out.print(_evaluation_table(table, f"Model {model.version} on {data.name}"))
    out.print(BIASED_CAPTION)
    window = model.metadata.get("training_window", {})
    test_from = model.metadata.get("split", {}).get("test_from", window.get("last_day"))
    first_day = valid["declared_at"].min().strftime("%Y-%m-%d")
    if test_from and first_day < test_from:
        out.print(
            f"note: the data starts {first_day}, before the model's test days ({test_from}): "
            "days it trained or calibrated on make every figure here optimistic"
        )
    estimates = unbiased_estimates(valid.drop(columns=list(truth.columns)), ranking, params)
    out.print(
        _estimates_table(
            estimates["capacities"],
            f"Unbiased (off-policy) estimates on {data.name}; {estimates['source']}",
        )
    )


def _evaluate_off_policy(
    data: Path | None,
    model_ref: str,
    log_path: Path | None,
    capacity: float,
    out_json: Path | None,
    n_boot: int,
    seed: int,
    store: Path | None,
    columns: Path | None,
    encoding: str,
) -> None:
    """``evaluate --off-policy``: IPS, SNIPS, DR with intervals and ESS for one model at capacity."""
    import json

    import pandas as pd

    from parcelrisk.api import resolve_model
    from parcelrisk.estimation import decision_log_from_labels, off_policy, off_policy_leakage
    from parcelrisk.io import atomic_path
    from parcelrisk.schema import REQUIRED_COLUMNS, TRUTH_COLUMNS
    from parcelrisk.scoring import predict
    from parcelrisk.validate import validate_frame

    cap: float | int = int(capacity) if capacity >= 1 else float(capacity)
    notes: list[str] = []
    if log_path is not None:
        log = _read_decision_log(log_path)
        if "item_id" not in log:
            raise InputError(f"{log_path}: the decision log has no item_id column")
        log["item_id"] = log["item_id"].astype("str")
        if REQUIRED_COLUMNS <= set(log.columns):
            checked = validate_frame(log)
            if len(checked.rejects):
                first = checked.rejects.iloc[0]
                raise InputError(
                    f"{log_path}: row {first['row']}, field {first['field']}: {first['reason']}"
                )
            manifest = checked.valid
        elif data is None:
            raise InputError(
                f"{log_path}: the decision log holds no manifest columns; "
                "give the logged items' manifest with --data"
            )
        else:
            manifest, _rejects, _read = _read_valid(data, columns, encoding)
        source = str(log_path)
    else:
        if data is None:
            raise InputError("evaluate --off-policy needs --log DECISIONS or a labelled --data")
        manifest, _rejects, _read = _read_valid(data, columns, encoding)
        log = None
        source = f"labels of {data}"
    manifest = manifest.drop(columns=[c for c in TRUTH_COLUMNS if c in manifest])
    with _maybe_store(store) as history:
        model = resolve_model(model_ref, store=history)
        preds, _, _ = predict(manifest, model)
    if log is None:
        log = decision_log_from_labels(manifest)
        window = model.metadata.get("training_window", {})
        test_from = model.metadata.get("split", {}).get("test_from")
        if test_from and window.get("first_day") and log["day"].min() <= window["last_day"]:
            keep = (log["day"] >= test_from) | (log["day"] > window["last_day"])
            if not keep.any():
                raise InputError(
                    f"{data}: every day lies in the model's training window "
                    f"({window['first_day']} to {window['last_day']}) before its test days"
                )
            notes.append(
                f"the data overlaps the model's training window: only days from {test_from} "
                f"(its test days, never trained on) and after are evaluated"
            )
            log = log[keep]
    scores = pd.Series(preds.margin.to_numpy(), index=preds.item_id.to_numpy())
    if not scores.index.is_unique:
        raise InputError(f"{data}: item_id values repeat; the join with the log needs unique ids")
    unknown = ~log["item_id"].isin(scores.index)
    if unknown.any():
        raise InputError(
            f"{source}: {int(unknown.sum()):,} logged item(s) are not in the manifest "
            f"(first: {log.loc[unknown, 'item_id'].iloc[0]!r})"
        )
    est = off_policy(log, scores, cap, n_boot=n_boot, seed=seed)
    leak = off_policy_leakage(log, scores, cap)
    cap_text = f"{cap:,} items per day" if isinstance(cap, int) else f"{cap:.1%} of each day"
    table = Table(title=f"Off-policy estimates for model {model.version} at {cap_text}")
    for name in ("estimator", "value", "95% CI", "inspected picks", "method"):
        table.add_column(name)
    for key in ("snips", "ips", "dr"):
        e = est[key]
        table.add_row(
            key.upper(), f"{e.value:.4f}", f"{e.low:.4f}-{e.high:.4f}", f"{e.n:,}", e.method
        )
    table.add_row(
        "leakage",
        f"{leak.value:.4f}",
        f"{leak.low:.4f}-{leak.high:.4f}",
        f"{leak.n:,}",
        leak.method,
    )
    out.print(table)
    out.print(
        f"effective sample size {est['ess'].value:.1f} of {est['ips'].n:,} inspected picks; "
        f"{len(log):,} logged items over {log['day'].nunique()} day(s) from {source}"
    )
    for note in notes:
        out.print(f"note: {note}")
    if out_json is not None:
        payload = {
            "model_version": model.version,
            "capacity": cap,
            "log": source,
            "items": int(len(log)),
            "days": sorted(log["day"].unique().tolist()),
            "estimates": {k: est[k].as_dict() for k in ("ips", "snips", "dr")},
            "ess": float(est["ess"].value),
            "leakage": leak.as_dict(),
            "notes": notes,
        }
        with atomic_path(out_json) as tmp:
            Path(tmp).write_text(json.dumps(payload, indent=1, sort_keys=True), encoding="utf-8")
        out.print(f"estimates written to {out_json}")


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
        bool,
        typer.Option("--force", help="Promote even without evidence that it is better (logged)."),
    ] = False,
    trial: Annotated[
        bool,
        typer.Option(
            "--trial",
            help="The window was selected by a trial (parcelrisk.trial): resample whole days.",
        ),
    ] = False,
    store: StoreOption = None,
    no_store: NoStoreOption = False,
    columns: ColumnsOption = None,
    encoding: EncodingOption = "auto",
) -> None:
    """Move @champion to @challenger if it finds more at capacity, with evidence.

    Both models score the window with the history store (as in service) and are
    judged on its logged inspections: promoted when the one-sided 95% lower bound
    of the paired off-policy difference of hit rates is above zero. Exits 3 when it
    refuses (the champion stays).
    """
    from parcelrisk.tracking import promote as promote_model

    valid, _rejects, _read = _read_valid(data, columns, encoding)
    with _maybe_store(store, no_store) as history:
        decision = promote_model(valid, capacity=capacity, force=force, store=history, trial=trial)
    table = Table(title=f"Challenger vs champion at {capacity:.1%} capacity")
    for name in decision.comparison.columns:
        table.add_column(str(name))
    for rec in decision.comparison.itertuples(index=False):
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in rec])
    out.print(table)
    out.print(decision.basis, soft_wrap=True)
    if decision.forced:
        out.print(
            "promoted by --force: @champion -> challenger, without evidence that it is better"
        )
    elif decision.promoted:
        out.print("promoted: @champion -> challenger")
    else:
        out.print("not promoted: no evidence that the challenger finds more; @champion unchanged")
        raise typer.Exit(EXIT_REFUSED)


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
    no_store: NoStoreOption = False,
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
    epoch_dates: EpochDatesOption = False,
    record: Annotated[
        bool,
        typer.Option(
            "--record/--no-record",
            help="With --store: keep the decisions (scores, selection, propensities; no party "
            "data) in the store, for outcomes, estimates, training and 'parcelrisk monitor'.",
        ),
    ] = True,
    chunk_rows: ChunkRowsOption = None,
) -> None:
    """Score a manifest, select today's inspections and say why, item by item."""
    import time

    from parcelrisk.api import resolve_model
    from parcelrisk.batch import score_file
    from parcelrisk.io import (
        DEFAULT_CHUNK_ROWS,
        check_outputs,
        load_column_map,
        write_frame,
        write_frames,
    )
    from parcelrisk.scoring import ScoreOptions

    started = time.perf_counter()
    rejects_path = rejects or out_path.with_name(out_path.stem + ".rejects.csv")
    check_outputs(
        {"--out": out_path, "--rejects": rejects_path, "--report": report_path},
        {"MANIFEST": manifest, "--columns": columns, "--store": store},
    )
    options = ScoreOptions(
        capacity=capacity, budget=budget, explain=explain, seed=seed, scored_at=scored_at
    )
    counter = None
    with _maybe_store(store, no_store) as history, _progress() as progress:
        model = resolve_model(model_ref, store=history)
        used_store = history.path if history is not None else None  # named, or found by the rule
        if history is not None and record:
            from parcelrisk.store_cli import feature_counter_for

            counter = feature_counter_for(model, history)
        result = score_file(
            manifest,
            model,
            options,
            history=history,
            column_map=load_column_map(columns),
            encoding=encoding,
            chunk_rows=chunk_rows or DEFAULT_CHUNK_ROWS,
            pseudonymize=pseudonymize,
            progress=progress,
            epoch_dates=epoch_dates,
            feature_counter=counter,
        )
    all_rejects, read = result.rejects, result.rows_read
    if result.ignored_labels:
        from parcelrisk.validate import labels_ignored_notice

        notice = labels_ignored_notice(result.ignored_labels, manifest.name)
        err.print(f"notice: {notice}", highlight=False, soft_wrap=True)
    write_frames(result.iter_scored(), out_path)
    if used_store is not None and record:  # after the outputs: the decisions the unit acts on
        from parcelrisk.store_cli import record_decisions

        record_decisions(used_store, result, counter)
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
    no_store: NoStoreOption = False,
    top: Annotated[int, typer.Option("--top", min=1, help="Reasons on each side.")] = 10,
    columns: ColumnsOption = None,
    encoding: EncodingOption = "auto",
) -> None:
    """Print one item's score, band and every reason with its contribution."""
    import pandas as pd

    import parcelrisk
    from parcelrisk.io import load_column_map, read_manifest
    from parcelrisk.validate import drop_labels, labels_ignored_notice

    manifest_rows, ignored = drop_labels(
        read_manifest(manifest, column_map=load_column_map(columns), encoding=encoding).frame
    )
    if ignored:
        notice = labels_ignored_notice(ignored, manifest.name)
        err.print(f"notice: {notice}", highlight=False, soft_wrap=True)
    with _maybe_store(store, no_store) as history:
        # the store was found by the rule above (None: --no-store, or none found)
        model = parcelrisk.load_model(model_ref, store=history, use_store=history is not None)
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
    initial_model: Annotated[
        str,
        typer.Option(
            "--initial-model",
            help="Model the unit starts with (folder; 'none': rules until its labels train one).",
        ),
    ] = str(DEFAULT_MODEL),
    trial_share: Annotated[
        float,
        typer.Option(
            "--trial-share",
            min=0.0,
            max=0.99,
            help="Chance a trial day goes to an undecided challenger (0: no trials).",
        ),
    ] = 0.5,
    trial_days: Annotated[
        int, typer.Option("--trial-days", min=1, help="Days an undecided challenger is on trial.")
    ] = 14,
    trial_when: Annotated[
        str,
        typer.Option(
            "--trial-when",
            help="Trial a refused challenger that is 'better' on the point estimate, or 'not_worse'.",
        ),
    ] = "better",
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
        initial_model="" if initial_model.lower() == "none" else initial_model,
        trial_share=trial_share,
        trial_days=trial_days,
        trial_when=trial_when,
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

from parcelrisk.monitor_cli import monitor_command  # noqa: E402

app.command("monitor")(monitor_command)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
