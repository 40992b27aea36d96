"""Drift monitoring: feature and score stability, control hit rate, data quality, reasons mix.

The history store holds no features (they would re-identify items), so
monitoring reads only what scoring stores for it (no personal data):

* ``decisions`` (:meth:`~parcelrisk.store.HistoryStore.add_decisions`): per
  item the margin, risk score, selection, propensity, data-quality referral
  and top reason group, plus outcomes joined from ``outcomes add``;
* ``feature_counts``: per scoring run and feature, how many items fell in
  each bin of the model's reference bins (:func:`fit_bins`: deciles of each
  numeric feature on the training days, the levels of each categorical one,
  plus a missing bin). Counts of ten bins per feature and day identify nobody.

:func:`monitor` compares each week with a reference period (the first
``reference_weeks`` weeks from ``since``) by the population stability index
(:func:`psi`), follows the control sample's hit rate (Wilson interval), the
referral rate and the mix of selection reasons and top reasons, and raises
the alerts configured under ``monitor:`` in ``features/thresholds.yaml``.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "fit_bins",
    "bin_counts",
    "FeatureCounter",
    "psi",
    "MonitorSettings",
    "load_monitor_settings",
    "monitor",
    "MonitorReport",
    "write_monitor_html",
]

#: Quantiles of the numeric reference bins (deciles).
_QUANTILES = np.linspace(0.1, 0.9, 9)
#: Floor of a bin's share in the PSI (a bin empty on one side would be infinite).
PSI_FLOOR = 1e-4


def fit_bins(X: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Reference bins of each feature: deciles (numeric, unique edges) or levels (categorical).

    Strict JSON (finite floats and strings), stored in the model metadata.
    """
    bins: dict[str, dict[str, Any]] = {}
    for name in X.columns:
        column = X[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            bins[str(name)] = {"levels": [str(v) for v in column.cat.categories]}
            continue
        values = pd.to_numeric(column, errors="coerce").astype("float64").to_numpy()
        values = values[np.isfinite(values)]
        edges = np.unique(np.quantile(values, _QUANTILES)) if len(values) else np.array([])
        bins[str(name)] = {"edges": [float(e) for e in edges]}
    return bins


def _bin_index(column: pd.Series, spec: dict[str, Any]) -> tuple[np.ndarray, int]:
    """(bin of each value, number of bins); the last bin is "missing"."""
    if "levels" in spec:
        levels = list(spec["levels"])
        codes = pd.Categorical(column.astype("object"), categories=levels).codes.astype(np.int64)
        return np.where(codes < 0, len(levels), codes), len(levels) + 1
    edges = np.asarray(spec["edges"], dtype="float64")
    values = pd.to_numeric(column, errors="coerce").astype("float64").to_numpy()
    index = np.searchsorted(edges, values, side="left").astype(np.int64)
    return np.where(np.isnan(values), len(edges) + 1, index), len(edges) + 2


def bin_counts(X: pd.DataFrame, bins: dict[str, dict[str, Any]]) -> dict[str, np.ndarray]:
    """Items per bin of each feature in ``bins`` (features absent from ``X`` are skipped)."""
    out: dict[str, np.ndarray] = {}
    for name, spec in bins.items():
        if name in X:
            index, n = _bin_index(X[name], spec)
            out[name] = np.bincount(index, minlength=n).astype(np.int64)
    return out


@dataclass
class FeatureCounter:
    """Adds up :func:`bin_counts` over the chunks of a scoring run.

    ``bins`` None: fitted on the first chunk seen (models trained before the
    model carried its reference bins); the store then keeps them per model
    version, so every later day is counted in the same bins.
    """

    bins: dict[str, dict[str, Any]] | None = None
    counts: dict[str, np.ndarray] = field(default_factory=dict)

    def update(self, features: pd.DataFrame) -> None:
        if features.empty:
            return
        if self.bins is None:
            self.bins = fit_bins(features)
        for name, counts in bin_counts(features, self.bins).items():
            self.counts[name] = self.counts[name] + counts if name in self.counts else counts

    def frame(self) -> pd.DataFrame:
        """Long format: feature, bin, items."""
        rows = [
            pd.DataFrame({"feature": name, "bin": np.arange(len(c), dtype=np.int64), "items": c})
            for name, c in sorted(self.counts.items())
        ]
        if not rows:
            return pd.DataFrame({"feature": [], "bin": [], "items": []})
        return pd.concat(rows, ignore_index=True)


def psi(reference: np.ndarray, current: np.ndarray, floor: float = PSI_FLOOR) -> float:
    """Population stability index between two vectors of counts over the same bins.

    PSI = sum (c - r) ln(c / r) over bin shares, each floored at ``floor``.
    Usual reading: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major shift.

    >>> psi(np.array([50, 50]), np.array([50, 50]))
    0.0
    >>> round(psi(np.array([50, 50]), np.array([90, 10])), 3)
    0.879
    """
    r = np.asarray(reference, dtype="float64")
    c = np.asarray(current, dtype="float64")
    if r.sum() <= 0 or c.sum() <= 0:
        return float("nan")
    r = np.maximum(r / r.sum(), floor)
    c = np.maximum(c / c.sum(), floor)
    return float(np.sum((c - r) * np.log(c / r)))


# -- settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitorSettings:
    """The ``monitor:`` section of ``features/thresholds.yaml``."""

    reference_weeks: int = 2
    psi_alert: float = 0.25
    psi_warn: float = 0.10
    score_psi_alert: float = 0.25
    min_items_per_week: int = 500
    referral_rate_change: float = 0.05
    control_hit_rate_floor: float | None = None
    score_bins: int = 10


def load_monitor_settings(path: str | Path | None = None) -> MonitorSettings:
    """Read ``monitor:`` from ``features/thresholds.yaml`` (defaults where a key is absent)."""
    import yaml

    from parcelrisk.reference import default_reference_dir

    p = Path(path) if path else default_reference_dir() / "thresholds.yaml"
    data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    section = data.get("monitor") or {}
    known = MonitorSettings.__dataclass_fields__
    return MonitorSettings(**{k: v for k, v in section.items() if k in known})


# -- the report ---------------------------------------------------------------------------------


@dataclass
class MonitorReport:
    """Weekly tables and alerts; :meth:`as_dict` is strict JSON."""

    weeks: (
        pd.DataFrame
    )  # week, items, selected, referral_rate, control_*, score_psi, max_feature_psi
    feature_psi: pd.DataFrame  # week x feature
    reasons: pd.DataFrame  # week, kind, value, share
    alerts: list[dict[str, Any]]
    settings: MonitorSettings
    reference: tuple[str, str]

    def as_dict(self) -> dict[str, Any]:
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            clean = frame.astype(object).where(frame.notna(), None)
            out = []
            for rec in clean.to_dict(orient="records"):
                out.append(
                    {
                        str(k): (
                            None
                            if isinstance(v, float) and not math.isfinite(v)
                            else (v.item() if hasattr(v, "item") else v)
                        )
                        for k, v in rec.items()
                    }
                )
            return out

        return {
            "reference": {"first_week": self.reference[0], "last_week": self.reference[1]},
            "settings": self.settings.__dict__,
            "weeks": records(self.weeks),
            "feature_psi": records(self.feature_psi.reset_index()),
            "reasons": records(self.reasons),
            "alerts": self.alerts,
        }


def _week(day: pd.Series) -> pd.Series:
    """The Monday of each day's ISO week, as YYYY-MM-DD."""
    d = pd.to_datetime(day)
    return (d - pd.to_timedelta(d.dt.day_of_week, unit="D")).dt.strftime("%Y-%m-%d")


def monitor(
    log: pd.DataFrame, counts: pd.DataFrame, settings: MonitorSettings | None = None
) -> MonitorReport:
    """Weekly drift figures and alerts from a decision log and stored feature counts.

    ``log``: :meth:`~parcelrisk.store.HistoryStore.decision_log` (plus
    ``data_quality_referral`` and ``top_reason``). ``counts``:
    :meth:`~parcelrisk.store.HistoryStore.feature_counts` (day, feature, bin, items).
    """
    from parcelrisk.evaluate import wilson_interval

    cfg = settings or MonitorSettings()
    log = log.assign(week=_week(log["day"]))
    weeks = sorted(log["week"].unique())
    if not weeks:
        empty = pd.DataFrame()
        return MonitorReport(empty, empty, empty, [], cfg, ("", ""))
    reference = weeks[: max(1, cfg.reference_weeks)]
    in_ref = log["week"].isin(reference)

    # score: margin deciles of the reference period (decisions recorded without a margin, e.g.
    # from a library caller, use the logit of their risk score: also monotone in the ranking)
    risk = log["risk_score"].astype("float64").clip(1e-12, 1 - 1e-12)
    log["margin"] = log["margin"].astype("float64").fillna(np.log(risk / (1 - risk)))
    ref_margin = log.loc[in_ref, "margin"].dropna().to_numpy(dtype="float64")
    qs = np.linspace(0, 1, cfg.score_bins + 1)[1:-1]
    edges = np.unique(np.quantile(ref_margin, qs)) if len(ref_margin) else np.array([])
    log["score_bin"] = np.searchsorted(edges, log["margin"].to_numpy(dtype="float64"))
    n_bins = len(edges) + 1
    ref_score = np.bincount(log.loc[in_ref, "score_bin"], minlength=n_bins)

    grouped = log.groupby("week")
    control = log["selection_reason"].eq("control").fillna(False)
    known = log["outcome"].isin(["seizure", "no_finding"]).fillna(False)
    rows = []
    for week, part in grouped:
        ctrl = part[control.loc[part.index] & known.loc[part.index]]
        hits = int(ctrl["outcome"].eq("seizure").sum())
        low, high = wilson_interval(hits, len(ctrl))
        rows.append(
            {
                "week": week,
                "reference": week in reference,
                "items": int(len(part)),
                "selected": int(part["selected"].sum()),
                "referral_rate": float(part["data_quality_referral"].astype(bool).mean())
                if "data_quality_referral" in part
                else float("nan"),
                "control_items": int(len(ctrl)),
                "control_hits": hits,
                "control_hit_rate": hits / len(ctrl) if len(ctrl) else float("nan"),
                "control_low": low,
                "control_high": high,
                "mean_risk": float(part["risk_score"].mean()),
                "score_psi": psi(ref_score, np.bincount(part["score_bin"], minlength=n_bins)),
            }
        )
    table = pd.DataFrame(rows)

    feature_psi = pd.DataFrame(index=pd.Index(weeks, name="week"))
    if len(counts):
        c = counts.assign(week=_week(counts["day"]))
        summed = c.groupby(["feature", "week", "bin"], as_index=False)["items"].sum()
        ref = summed[summed["week"].isin(reference)].groupby(["feature", "bin"])["items"].sum()
        values: dict[str, dict[str, float]] = {}
        for (feature, week), part in summed.groupby(["feature", "week"]):
            r = ref.get(feature)
            if r is None:
                continue
            bins = np.union1d(r.index.to_numpy(), part["bin"].to_numpy())
            cur = part.set_index("bin")["items"].reindex(bins, fill_value=0).to_numpy()
            values.setdefault(str(feature), {})[str(week)] = psi(
                r.reindex(bins, fill_value=0).to_numpy(), cur
            )
        feature_psi = pd.DataFrame(values).reindex(weeks).rename_axis("week")
    table["max_feature_psi"] = (
        feature_psi.max(axis=1).reindex(table["week"]).to_numpy()
        if feature_psi.shape[1]
        else np.nan
    )

    reasons = _reasons_mix(log)
    alerts = _alerts(table, feature_psi, cfg)
    return MonitorReport(table, feature_psi, reasons, alerts, cfg, (reference[0], reference[-1]))


def _reasons_mix(log: pd.DataFrame) -> pd.DataFrame:
    """Per week, the share of each selection reason and of each top reason among selected items."""
    selected = log[log["selected"].astype(bool)]
    parts = []
    for kind, column in (("selection_reason", "selection_reason"), ("top_reason", "top_reason")):
        if column not in selected:
            continue
        values = selected[column].fillna("(none)").astype("str")
        share = values.groupby(selected["week"]).value_counts(normalize=True)
        frame = share.rename("share").reset_index().rename(columns={column: "value"})
        parts.append(frame.assign(kind=kind)[["week", "kind", "value", "share"]])
    if not parts:
        return pd.DataFrame(columns=["week", "kind", "value", "share"])
    return pd.concat(parts, ignore_index=True).sort_values(["week", "kind", "value"])


def _alerts(
    table: pd.DataFrame, feature_psi: pd.DataFrame, cfg: MonitorSettings
) -> list[dict[str, Any]]:
    """Alerts of the weeks after the reference period that have enough items."""
    alerts: list[dict[str, Any]] = []
    ref = table[table["reference"]]
    ref_referral = float(ref["referral_rate"].mean()) if len(ref) else float("nan")
    for rec in table[~table["reference"]].itertuples(index=False):
        if rec.items < cfg.min_items_per_week:
            continue
        week = str(rec.week)
        if rec.score_psi == rec.score_psi and rec.score_psi > cfg.score_psi_alert:
            alerts.append(
                {
                    "week": week,
                    "kind": "score_psi",
                    "subject": "risk score",
                    "value": round(float(rec.score_psi), 4),
                    "threshold": cfg.score_psi_alert,
                }
            )
        if week in feature_psi.index:
            row = feature_psi.loc[week].dropna()
            for feature, value in row[row > cfg.psi_alert].sort_values(ascending=False).items():
                alerts.append(
                    {
                        "week": week,
                        "kind": "feature_psi",
                        "subject": str(feature),
                        "value": round(float(value), 4),
                        "threshold": cfg.psi_alert,
                    }
                )
        change = rec.referral_rate - ref_referral
        if change == change and abs(change) > cfg.referral_rate_change:
            alerts.append(
                {
                    "week": week,
                    "kind": "referral_rate",
                    "subject": "data-quality referrals",
                    "value": round(float(rec.referral_rate), 4),
                    "threshold": cfg.referral_rate_change,
                }
            )
        floor = cfg.control_hit_rate_floor
        if floor is not None and rec.control_items and rec.control_high < floor:
            alerts.append(
                {
                    "week": week,
                    "kind": "control_hit_rate",
                    "subject": "random control sample",
                    "value": round(float(rec.control_hit_rate), 4),
                    "threshold": floor,
                }
            )
    return alerts


def write_monitor_html(report: MonitorReport, path: str | Path, title: str) -> None:
    """A self-contained HTML page (no scripts, nothing from the network), written atomically."""
    from parcelrisk.io import atomic_path

    def table_html(frame: pd.DataFrame, floats: str = "{:.4f}") -> str:
        if frame.empty:
            return "<p>none</p>"
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
        body = []
        for rec in frame.itertuples(index=False):
            cells = []
            for v in rec:
                if isinstance(v, float):
                    text = "" if v != v else floats.format(v)
                else:
                    text = str(v)
                cells.append(f"<td>{html.escape(text)}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        return f"<table><tr>{head}</tr>{''.join(body)}</table>"

    alerts = pd.DataFrame(report.alerts)
    top = report.feature_psi.max().sort_values(ascending=False).head(15).index
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}th{{background:#f2f4f7}}
.alert{{color:#a00}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Reference period: weeks {html.escape(report.reference[0])} to {html.escape(report.reference[1])}.
PSI: population stability index against the reference period (&lt; 0.1 stable, 0.1-0.25 moderate,
&gt; 0.25 major shift). Control hit rate: seizures among inspected items of the random control
sample, with its 95% Wilson interval.</p>
<h2 class="alert">Alerts ({len(report.alerts)})</h2>
{table_html(alerts)}
<h2>Weeks</h2>
{table_html(report.weeks)}
<h2>Feature stability (PSI, the 15 features that moved most)</h2>
{table_html(report.feature_psi[list(top)].reset_index() if len(top) else pd.DataFrame())}
<h2>Reasons mix of selected items</h2>
{table_html(report.reasons)}
<p>Settings: {html.escape(json.dumps(report.settings.__dict__))}</p>
</body></html>
"""
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(page, encoding="utf-8")
