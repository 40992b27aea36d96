"""``parcelrisk monitor``: drift of features and score, control hit rate, referrals, reasons mix.

Registered on the main app by :mod:`parcelrisk.cli`. Reads the history store
read-only: the decisions and per-run feature counts that ``parcelrisk score
--store`` records (see :mod:`parcelrisk.monitoring`), and the outcomes of
``parcelrisk outcomes add``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from parcelrisk.errors import InputError

# pandas and DuckDB load when the command runs: 'parcelrisk --help' stays quick.

__all__ = ["monitor_command"]

F = TypeVar("F", bound=Callable[..., Any])


def _user_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from parcelrisk.cli import user_errors

        return user_errors(func)(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@_user_errors
def monitor_command(
    out_path: Annotated[Path, typer.Option("--out", help="HTML report.")],
    store: Annotated[
        Path | None,
        typer.Option("--store", help="History store (default: $PARCELRISK_STORE); read-only."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="First day, YYYY-MM-DD (default: all).")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the figures and alerts as JSON.")
    ] = None,
    thresholds: Annotated[
        Path | None,
        typer.Option("--thresholds", help="YAML with a monitor: section (default: features/)."),
    ] = None,
) -> None:
    """Weekly drift report: stability (PSI) of features and score, control hit rate, alerts.

    Exit code 0 without alerts, 3 with alerts (the report is written either way).
    """
    from parcelrisk.cli import out

    if since is not None:
        try:
            date.fromisoformat(since)
        except ValueError:
            raise InputError(f"--since {since!r} is not a YYYY-MM-DD date") from None
    from parcelrisk.io import atomic_path
    from parcelrisk.monitoring import load_monitor_settings, monitor, write_monitor_html
    from parcelrisk.store import HistoryStore, find_store

    settings = load_monitor_settings(thresholds)
    path = find_store(store).path
    if path is None:
        raise InputError("no history store: name one with --store, or set PARCELRISK_STORE")
    with HistoryStore.open(path, read_only=True) as history:
        log = history.decision_log(since)
        counts = history.feature_counts(since)
    if log.empty:
        raise InputError(
            "the history store holds no decisions"
            + (f" since {since}" if since else "")
            + ": score with 'parcelrisk score --store' first"
        )
    report = monitor(log, counts, settings)
    write_monitor_html(report, out_path, "parcelrisk drift monitor")
    if json_path is not None:
        with atomic_path(json_path) as tmp:
            tmp.write_text(
                json.dumps(report.as_dict(), indent=1, sort_keys=True, allow_nan=False) + "\n",
                encoding="utf-8",
            )
    table = Table(title=f"Weeks (reference {report.reference[0]} .. {report.reference[1]})")
    for name in ("week", "items", "score PSI", "max feature PSI", "control hit rate", "referrals"):
        table.add_column(name, justify="right")
    for rec in report.weeks.itertuples(index=False):
        rate = (
            f"{rec.control_hit_rate:.3f} ({rec.control_low:.3f}-{rec.control_high:.3f}, "
            f"n={rec.control_items})"
            if rec.control_items
            else "-"
        )
        table.add_row(
            str(rec.week),
            f"{rec.items:,}",
            f"{rec.score_psi:.3f}",
            f"{rec.max_feature_psi:.3f}" if rec.max_feature_psi == rec.max_feature_psi else "-",
            rate,
            f"{rec.referral_rate:.1%}",
        )
    out.print(table)
    for alert in report.alerts:
        out.print(
            f"ALERT {alert['week']}: {alert['kind']} {alert['subject']} = {alert['value']} "
            f"(threshold {alert['threshold']})",
            highlight=False,
        )
    if report.alerts:
        raise typer.Exit(3)
