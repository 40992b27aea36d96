"""Human-facing outputs: the model card (Markdown) and the analyst report (one self-contained HTML file).

The report needs no network: CSS, script and charts (inline SVG) are in the
file. Everything shown is escaped; text cells a spreadsheet would execute are
neutralised in CSV outputs by :func:`parcelrisk.io.write_frame`.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from parcelrisk.io import atomic_path

if TYPE_CHECKING:
    from parcelrisk.batch import FileScore
    from parcelrisk.model import ParcelRiskModel
    from parcelrisk.scoring import ScoreResult
    from parcelrisk.train import TrainingResult

__all__ = ["model_card", "write_report", "render_report", "expected_hit_rate", "BIASED_NOTE"]

HUMAN_OVERSIGHT = (
    "Scores rank parcels for a human decision; they are not decisions. An officer decides whether to "
    "open a parcel and must be able to check every reason against the item in hand. A high score is not "
    "evidence of an offence. The random control share of each day's selection keeps an unbiased measure "
    "of the hit rate and of what the model misses; review it every retraining."
)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def _weighting_text(meta: dict[str, Any]) -> str:
    """How training corrected for selective labels, and the calibration error, in one sentence."""
    params, cal = meta["params"], meta.get("calibration", {})
    if params.get("weighting", "legacy") == "ipw":
        text = (
            "weighted by 1/selection propensity, clipped at "
            f"{params.get('ipw_max_weight')} and normalised"
        )
    else:
        text = f"random-control items weighted x{params['control_sample_weight']}"
    if cal.get("ece_control") is not None:
        text += (
            f"; {cal.get('method')} calibration, expected calibration error on the control sample "
            f"of the test days {cal['ece_control']:.4f} ({cal.get('control_items', 0):,} items)"
        )
    return text


def _estimates_section(meta: dict[str, Any]) -> list[str]:
    """Model-card lines: the off-policy hit rate and leakage at each capacity, with intervals."""
    est = meta.get("estimates") or {}
    rows = est.get("capacities") or []
    if not rows:
        return [
            "## Unbiased estimates",
            "Not computed: this model was trained before unbiased estimates existed. Retrain it.",
            "",
        ]
    days = est.get("days", {})
    lines = [
        "## Unbiased estimates on the test days",
        f"What the model's top picks of each day would have found, estimated off-policy from the "
        f"inspections of {days.get('first_day', '?')} to {days.get('last_day', '?')} "
        f"({est.get('items', 0):,} items, {est.get('logged_with_outcome', 0):,} inspected with an "
        f"outcome; source: {est.get('source', '?')}). Each inspection is weighted by 1/propensity "
        "(see `parcelrisk/estimation.py`): IPS (the headline, and what `promote` decides on), "
        "self-normalised IPS (SNIPS) and doubly robust (DR), 95% intervals; ESS = effective sample size; "
        "leakage = share of all finds the picks would have missed.",
        "",
        "| capacity | picks | inspected picks | SNIPS | hit rate (IPS) | DR | ESS | leakage |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {float(r['capacity']):.1%} | {r['picks']:,} | {r['snips']['n']:,} | "
            f"{_interval(r['snips'])} | {_interval(r['ips'])} | {_interval(r['dr'])} | "
            f"{float(r['ess']):.1f} | {_interval(r['leakage'])} |"
        )
    return [*lines, ""]


#: How the three rankings are named in the model card.
_METHOD_NAMES = {
    "model": "this model",
    "plain_baseline": "plain LightGBM, raw columns",
    "legacy_rules": "legacy rules",
}


def _baselines_section(meta: dict[str, Any]) -> list[str]:
    """Model-card lines: the model beside the plain baseline and the legacy rules, per capacity."""
    from parcelrisk.baseline import beats_baseline

    entry = meta.get("baselines") or {}
    rows = entry.get("rows") or []
    if not rows:
        return [
            "## Against a plain baseline and the legacy rules",
            "Not computed: this model was trained before plain baselines were recorded. Retrain it.",
            "",
        ]
    days, plain = entry.get("days", {}), entry.get("plain", {})
    truth = any(r.get("truth_illicit") is not None for r in rows)
    lines = [
        "## Against a plain baseline and the legacy rules",
        f"Each ranking's top picks of every test day ({days.get('first_day', '?')} to "
        f"{days.get('last_day', '?')}, {entry.get('items', 0):,} items). The plain baseline is "
        "LightGBM on the raw manifest columns ("
        + ", ".join(f"`{c}`" for c in plain.get("features", []))
        + "), with the same training rows, weights and early stopping and none of parcelrisk's "
        f"features ({plain.get('best_iteration', '?')} trees; not shipped); the legacy rules are "
        "`features/legacy_targeting_rules.yaml`. Hit rate: the off-policy IPS estimate with its "
        f"95% interval (source: {entry.get('source', '?')}), what `promote` decides on; "
        "*logged* = the inspections with an outcome among the picks that it rests on."
        + (
            " On truth (synthetic data only): share of the picks that are illicit, and that an "
            "inspection would find (what the hit rate estimates)."
            if truth
            else ""
        ),
        "",
        "| capacity | ranking | hit rate (IPS) | logged | illicit (truth) | found (truth) |",
        "|---|---|---|---|---|---|",
    ]
    order = {m: i for i, m in enumerate(_METHOD_NAMES)}
    for r in sorted(rows, key=lambda r: (float(r["capacity"]), order.get(r["method"], 9))):
        lines.append(
            f"| {float(r['capacity']):.1%} | {_METHOD_NAMES.get(r['method'], r['method'])} | "
            f"{_interval(r['ips'])} | {r['ips'].get('n', 0):,} | {_pct(r.get('truth_illicit'))} | "
            f"{_pct(r.get('truth_found'))} |"
        )
    _ok, reason = beats_baseline(meta)
    return [*lines, "", f"`beats_baseline` at 2% capacity: {reason}.", ""]


def _own_columns_lines(meta: dict[str, Any]) -> list[str]:
    """The unit's own declared columns the model uses (none: no line, as before)."""
    declared = meta.get("extra_columns") or []
    if not declared:
        return []
    listed = ", ".join(f"`{c['name']}` ({c['role']})" for c in declared)
    return [
        f"- The unit's own columns (features `own_*`, required when scoring): {listed}; "
        "identifier and text values are keyed, never stored in clear."
    ]


def model_card(result: TrainingResult) -> str:
    """Markdown model card: intended use, data, metrics per population, limitations, oversight."""
    meta = result.model.metadata
    ev = result.evaluation
    lines = [
        f"# parcelrisk model {meta['model_version']}",
        "",
        "## Intended use",
        "Ranking incoming postal and express items for customs inspection for drugs, new psychoactive "
        "substances and precursors, within a day's inspection capacity, with reasons per item.",
        "Not for: decisions without an officer, other commodities, or populations unlike the training data.",
        "",
        "## Data",
        f"- Training window: {meta['training_window']['first_day']} to {meta['training_window']['last_day']} "
        f"({meta['rows']['total']:,} items; content hash `{meta['data_hash'][:16]}`).",
        f"- Time split: calibration and early stopping from {meta['split']['calibrate_from']}, "
        f"test from {meta['split']['test_from']} (never trained or calibrated on).",
        f"- Labels: only inspected items ({meta['rows']['inspected_train']:,} in the training days, "
        f"{meta['rows']['seizures_train']:,} seizures); {_weighting_text(meta)}.",
        f"- Reference data hash `{meta['reference_hash'][:16]}` (copied into pipeline.json).",
        *_own_columns_lines(meta),
        "",
        *_estimates_section(meta),
        *_baselines_section(meta),
        "## Metrics on the test days, by population",
        "Precision = seizure hit rate among selected items with a known outcome; recall = share of the "
        "population's positives selected; ground truth exists only for synthetic data.",
        f"Population `inspected` is {BIASED_NOTE}. Population `random_control` is unbiased but counts "
        "only the few control items that fall among the picks (unweighted, Wilson interval); the "
        "estimates above use every logged inspection, weighted by 1/propensity.",
        "",
        "| population | method | capacity | selected | precision | 95% CI | recall | lift |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in ev.itertuples():
        lines.append(
            f"| {r.population} | {r.method} | {r.capacity:.1%} | {r.selected} | {_fmt(r.precision)} | "
            f"{_fmt(r.precision_ci_low)}-{_fmt(r.precision_ci_high)} | {_fmt(r.recall)} | {_fmt(r.lift)} |"
        )
    m = meta.get("metrics_test_inspected", {})
    lines += [
        "",
        f"Inspected items of the test days: PR-AUC {_fmt(m.get('pr_auc', float('nan')))}, "
        f"ROC-AUC {_fmt(m.get('roc_auc', float('nan')))}, Brier {_fmt(m.get('brier', float('nan')))}.",
        "",
        "## Limitations",
        "- Labels come mostly from the legacy targeting policy: the inspected population is biased towards "
        "what the old rules looked for. The random-control rows are the unbiased check, and they are few.",
        "- Inspections miss contraband; a 'no finding' is not proof of a legitimate item.",
        "- Trained on synthetic data when shipped as the default model: retrain on the unit's own data.",
        "- Entity profiles need the history store; without it, profiles start empty and scores are weaker.",
        "",
        "## Human oversight",
        HUMAN_OVERSIGHT,
        "",
        f"Library versions: {json.dumps(meta['library_versions'], sort_keys=True)}",
        "",
    ]
    return "\n".join(lines)


def _pct(value: Any) -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.1%}"
    )


def _interval(est: dict[str, Any]) -> str:
    value, low, high = est.get("value"), est.get("low"), est.get("high")
    if None not in (value, low, high):
        # An unbiased IPS value can pass the bounds of what is possible (one heavily weighted
        # find); the interval is cut to them, and so is the figure shown.
        value = min(max(value, low), high)
    return f"{_pct(value)} (95% CI {_pct(low)} to {_pct(high)})"


#: Why a figure measured on the inspected items misleads.
BIASED_NOTE = (
    "biased: measured on inspected items only; the old policy chose those items because they "
    "looked risky, so they hold more finds than the model's picks in general"
)


def nearest_estimates(meta: dict[str, Any], share: float) -> dict[str, Any] | None:
    """The model's off-policy estimates (metadata ``estimates``) at the capacity nearest ``share``."""
    estimates = meta.get("estimates") or {}
    rows = estimates.get("capacities") or []
    if not rows:
        return None
    return min(rows, key=lambda r: abs(float(r["capacity"]) - share))


def expected_hit_rate(meta: dict[str, Any], share: float) -> tuple[str, str]:
    """(headline, explanation): the unbiased hit rate at capacity, its interval and basis.

    The headline is the off-policy estimate kept in the model's metadata by
    :func:`parcelrisk.train.unbiased_estimates`; the figure from the inspected
    items, when shown, is labelled as biased.
    """
    biased = ""
    ev = pd.DataFrame(meta.get("evaluation", []))
    if len(ev):
        insp = ev[(ev["method"] == "model") & (ev["population"] == "inspected")]
        if len(insp):
            near = insp.iloc[(insp["capacity"] - share).abs().argsort()[:1]]
            biased = (
                f" For comparison, {_pct(float(near['precision'].iloc[0]))} at "
                f"{float(near['capacity'].iloc[0]):.1%} capacity ({BIASED_NOTE})."
            )
    row = nearest_estimates(meta, share)
    if row is None:
        return (
            "n/a",
            "This model was trained before unbiased estimates were computed: retrain it to get "
            "the expected hit rate with its interval." + biased,
        )
    est = meta["estimates"]
    name = est.get("headline", "snips")
    head = row[name]
    leak = row.get("leakage", {})
    days = est.get("days", {})
    headline = f"{_interval(head)} at {float(row['capacity']):.1%} capacity"
    note = (
        f"Unbiased estimate ({name.upper()}, off-policy: what the model's top "
        f"{float(row['capacity']):.1%} of each day would have found) on the test days "
        f"{days.get('first_day', '?')} to {days.get('last_day', '?')}, which it never trained on: "
        f"{head.get('n', 0):,} of its {row.get('picks', 0):,} picks were inspected by the policy "
        f"of the time, weighted by 1/propensity (effective sample size {row.get('ess', 0):.0f}; "
        f"source: {est.get('source', '?')}). "
        f"Share of all finds it would have missed (leakage): {_interval(leak)}, from "
        f"{leak.get('n', 0):,} inspected items." + biased
    )
    return headline, note


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1b1b1b;max-width:1400px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em}th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f2f4f7;cursor:pointer;user-select:none}tr:nth-child(even){background:#fafafa}
.kpi{display:inline-block;margin-right:24px}.kpi b{font-size:1.4em;display:block}
.band-high{color:#b00020;font-weight:600}.band-medium{color:#b26a00}.band-low{color:#2e7d32}
input#filter{padding:4px;width:320px;margin:8px 0}.note{color:#555;font-size:.85em}
.sheet{border:1px solid #bbb;padding:12px 16px;margin:16px 0;max-width:780px;break-inside:avoid}
.sheet h3{margin:0 0 8px}.sheet dl{display:grid;grid-template-columns:12em 1fr;gap:2px 12px;margin:0 0 8px}
.sheet dt{color:#555}.sheet dd{margin:0}.sheet ol{margin:4px 0 0 1.2em;padding:0}
.summary td:first-child{color:#555}
@media print{body{margin:0;max-width:none}#filter,.screen-only{display:none}
.sheet{break-before:page;border:none;padding:0;max-width:none}h2{break-after:avoid}}
"""

_JS = """
(function(){
 var table=document.getElementById('selected');if(!table)return;
 document.body.setAttribute('data-rows', String(table.tBodies[0].rows.length));
 var body=table.tBodies[0];
 document.getElementById('filter').addEventListener('input',function(e){
  var q=e.target.value.toLowerCase();
  Array.prototype.forEach.call(body.rows,function(r){r.style.display=r.textContent.toLowerCase().indexOf(q)>=0?'':'none';});
 });
 Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
  th.addEventListener('click',function(){
   var asc=th.getAttribute('data-asc')!=='1';th.setAttribute('data-asc',asc?'1':'0');
   var rows=Array.prototype.slice.call(body.rows);
   rows.sort(function(a,b){var x=a.cells[i].getAttribute('data-v')||a.cells[i].textContent,y=b.cells[i].getAttribute('data-v')||b.cells[i].textContent;
    var nx=parseFloat(x),ny=parseFloat(y);if(!isNaN(nx)&&!isNaN(ny)){return asc?nx-ny:ny-nx;}return asc?x.localeCompare(y):y.localeCompare(x);});
   rows.forEach(function(r){body.appendChild(r);});
  });
 });
})();
"""


def _e(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return html.escape(str(value), quote=True)


def _histogram_svg(scores: pd.Series, cut: float | None) -> str:
    width, height, bins = 640, 180, 40
    values = scores.to_numpy(dtype=float)
    # Scores of a 0.3%-prevalence day sit far below 1: the axis ends just past the highest one,
    # so the bins and the capacity cut are not squeezed against the left edge.
    hi = float(min(1.0, max(float(np.nanmax(values)) if len(values) else 0.0, cut or 0.0) * 1.05))
    hi = hi if hi > 0 else 1.0
    counts, edges = np.histogram(values, bins=bins, range=(0.0, hi))
    logc = np.log10(counts + 1)
    top = logc.max() or 1.0
    bar_w = width / bins
    bars = "".join(
        f'<rect x="{i * bar_w:.1f}" y="{height - 20 - (v / top) * (height - 30):.1f}" width="{bar_w - 1:.1f}" '
        f'height="{(v / top) * (height - 30):.1f}" fill="#4a6fa5"><title>{edges[i]:.3f}-{edges[i + 1]:.3f}: {c}</title></rect>'
        for i, (v, c) in enumerate(zip(logc, counts, strict=True))
    )
    line = ""
    if cut is not None:
        x = cut / hi * width
        line = (
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{height - 20}" stroke="#b00020" stroke-dasharray="4"/>'
            f'<text x="{x + 4:.1f}" y="12" font-size="11" fill="#b00020">capacity cut {cut:.3f}</text>'
        )
    peak = int(counts.max()) if len(counts) else 0
    axis = (
        f'<text x="0" y="{height - 4}" font-size="11">score 0</text>'
        f'<text x="{width - 40}" y="{height - 4}" font-size="11">{hi:.3f}</text>'
        f'<text x="2" y="22" font-size="11">{peak:,} items</text>'
        f'<text x="2" y="{height - 24}" font-size="11">1 item</text>'
    )
    return f'<svg width="{width}" height="{height}" role="img" aria-label="score distribution">{bars}{line}{axis}</svg>'


def _odds_text(value: float) -> str:
    """A log-odds step as an officer reads it: how many times it multiplies the odds of a find."""
    factor = math.exp(abs(value))
    return f"odds x{factor:.1f}" if value >= 0 else f"odds /{factor:.1f}"


def _waterfall_svg(contrib: pd.Series, bias: float, labels: dict[str, str] | None = None) -> str:
    """Horizontal waterfall of the grouped contributions, from the starting point to the item's score.

    Each bar is labelled with the item's own reason sentence for that group (the words of
    ``reason_1..3``) where there is one, and valued as the factor it multiplies the odds by;
    the bars are drawn on the log scale of the odds, where those factors add up.
    """
    labels = labels or {}
    items = contrib[contrib.abs() > 1e-6].sort_values(key=np.abs, ascending=False)
    shown = items.head(8)
    rest = float(items.iloc[8:].sum())
    if abs(rest) > 1e-6:
        shown = pd.concat([shown, pd.Series({"other factors": rest})])
    shown.index = [labels.get(str(k), str(k).replace("_", " ")) for k in shown.index]
    steps = [("starting point (any parcel)", bias, 0.0)]
    running = bias
    for name, val in shown.items():
        steps.append((str(name), float(val), running))
        running += float(val)
    lo = min(min(s[2], s[2] + s[1]) for s in steps[1:]) if len(steps) > 1 else bias
    lo = min(lo, bias, 0.0)
    hi = max([max(s[2], s[2] + s[1]) for s in steps[1:]] + [bias, running, 0.0])
    span = (hi - lo) or 1.0
    row_h, label_w, plot_w = 18, 430, 300
    scale = plot_w / span
    parts = []
    for i, (name, val, start) in enumerate(steps):
        y = i * row_h
        if i == 0:
            x0, x1, colour = min(0.0, val), max(0.0, val), "#888"
        else:
            x0, x1 = min(start, start + val), max(start, start + val)
            colour = "#c62828" if val > 0 else "#2e7d32"
        parts.append(
            f'<text x="0" y="{y + 13}" font-size="11">{_e(name[:80])}</text>'
            f'<rect x="{label_w + (x0 - lo) * scale:.1f}" y="{y + 3}" width="{max((x1 - x0) * scale, 1):.1f}" height="{row_h - 6}" fill="{colour}"/>'
            f'<text x="{label_w + plot_w + 6}" y="{y + 13}" font-size="11">'
            f"{'' if i == 0 else _e(_odds_text(val))}</text>"
        )
    total_h = len(steps) * row_h + 4
    return f'<svg width="{label_w + plot_w + 90}" height="{total_h}" role="img" aria-label="contributions">{"".join(parts)}</svg>'


#: What a control item's first reason says instead of the model's reasons.
CONTROL_TEXT = (
    "Random control: drawn at random from the items the model did not pick, so that the unit "
    "can measure what the model misses. Inspect it as thoroughly as any other item."
)


def _why_text(row: Any) -> str:
    if row.selection_reason == "control":
        return CONTROL_TEXT
    return "" if row.reason_1 is None or pd.isna(row.reason_1) else str(row.reason_1)


def _text(value: Any) -> str:
    return (
        ""
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA
        else str(value)
    )


def _bench_records(bench: pd.DataFrame) -> list[dict[str, str]]:
    """The selected items' own data as the strings the table and the sheets show."""
    out = []
    for rec in bench.to_dict("records"):
        weight = rec.get("gross_weight_kg")
        value = rec.get("declared_value")
        origin, sender = _text(rec.get("origin_country")), _text(rec.get("sender_country"))
        out.append(
            {
                "description": _text(rec.get("description")),
                "hs_code": _text(rec.get("hs_code")) or "none declared",
                "quantity": _text(rec.get("quantity")),
                "weight": "" if _text(weight) == "" else f"{float(weight):.3f} kg",
                "weight_v": _text(weight),
                "value": (
                    ""
                    if _text(value) == ""
                    else f"{float(value):.2f} {_text(rec.get('currency'))}".strip()
                ),
                "origin": f"{origin or 'not declared'} ({sender or '?'})",
                "destination": _text(rec.get("recipient_country")),
                "service": _text(rec.get("service")),
                "operator": _text(rec.get("operator")),
                "category": _text(rec.get("item_category")),
            }
        )
    return out


def _sheet_html(row: Any, d: dict[str, str]) -> str:
    """A printable inspection sheet: the item's own data and what to look for, in plain words."""
    if row.selection_reason == "control":
        why = f"random control (probability of being drawn {row.selection_propensity:.2%})"
        look = [CONTROL_TEXT]
    else:
        why = f"{row.selection_reason}: risk score {row.risk_score:.3f}, rank {row.risk_rank}"
        look = [_text(t) for t in (row.reason_1, row.reason_2, row.reason_3) if _text(t)]
    fields = [
        ("Selected", why),
        ("Description", d["description"]),
        ("HS code", d["hs_code"]),
        ("Quantity", d["quantity"]),
        ("Declared value", d["value"]),
        ("Gross weight", d["weight"]),
        ("CN23 category", d["category"]),
        ("Service, operator", f"{d['service']}, {d['operator']}".strip(", ")),
        ("Origin (sender country)", d["origin"]),
        ("Destination", d["destination"]),
    ]
    if _text(row.data_quality_reason):
        fields.append(("Data quality", _text(row.data_quality_reason)))
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in fields)
    reasons = "".join(f"<li>{_e(t)}</li>" for t in look) or "<li>No reason was computed.</li>"
    return (
        f'<section class="sheet" data-item="{_e(row.item_id)}"><h3>Inspection sheet: item '
        f"{_e(row.item_id)}</h3><dl>{items}</dl><p><b>What to look for</b></p><ol>{reasons}</ol>"
        '<p class="note">Check each reason against the parcel in hand. Result (seizure / no '
        "finding), date and officer go back to the unit: <code>parcelrisk outcomes add</code>.</p>"
        "</section>"
    )


def _day_summary(
    result: ScoreResult | FileScore, selected: pd.DataFrame, cut: float | None, expected: str
) -> str:
    """The analyst's one-page view: capacity, selection by source, referrals, hit rate, reasons."""
    opts = getattr(result, "options", None)
    n = max(result.n_scored, 1)
    if opts is not None and opts.capacity is not None:
        capacity = f"{opts.capacity:,} items (--capacity)"
    elif opts is not None and opts.budget is not None:
        capacity = f"{opts.budget:.1%} of the day's items (--budget): {len(selected):,} of {n:,}"
    else:
        capacity = f"{len(selected):,} of {n:,} items ({len(selected) / n:.1%})"
    sources = selected["selection_reason"].value_counts()
    by_source = ", ".join(f"{sources.get(k, 0):,} {k}" for k in ("model", "control", "watchlist"))
    long = result.explanations
    top = ""
    if len(long) and {"row", "rank", "reason"} <= set(long.columns):
        firsts = long[(long["rank"] == 1) & long["row"].isin(selected.index)]
        counts = firsts["reason"].value_counts().head(5)
        top = "; ".join(f"{str(k).replace('_', ' ')} ({v})" for k, v in counts.items())
    cut_text = (
        f"lowest risk score the model selected: {cut:.3f}" if cut is not None else "no model picks"
    )
    rows = [
        ("Capacity", capacity),
        ("Selected, by source", by_source),
        ("Where the cut fell", cut_text),
        ("Data-quality referrals", f"{result.n_referrals:,} (ask the operator for better data)"),
        ("Expected hit rate (unbiased)", expected),
        ("Most frequent first reason", top or "none computed"),
    ]
    cells = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<h2>Day summary</h2><table class="summary">{cells}</table>'


def render_report(
    result: ScoreResult | FileScore,
    model: ParcelRiskModel,
    *,
    rows_read: int,
    rejects: pd.DataFrame,
    source: str,
    top_items: int = 10,
) -> str:
    """The analyst report as one HTML string."""
    from parcelrisk.explain import group_contributions
    from parcelrisk.scoring import load_templates_for

    selected = result.selected_scored.sort_values("risk_rank")
    by_model = selected[selected["selection_reason"] == "model"]
    cut = float(by_model["risk_score"].min()) if len(by_model) else None
    meta = model.metadata
    share = len(selected) / max(result.n_scored, 1)
    expected, expected_note = expected_hit_rate(meta, share)
    details = getattr(result, "details", None)
    bench = (
        details.reindex(selected.index)
        if details is not None and len(details)
        else pd.DataFrame(index=selected.index)
    )
    rows_html = []
    sheets = []
    for r, d in zip(selected.itertuples(), _bench_records(bench), strict=True):
        rows_html.append(
            "<tr>"
            f'<td data-v="{r.risk_rank}">{r.risk_rank}</td><td>{_e(r.item_id)}</td>'
            f"<td>{_e(d['description'])}</td>"
            f'<td data-v="{_e(d["weight_v"])}">{_e(d["weight"])}</td><td>{_e(d["value"])}</td>'
            f"<td>{_e(d['origin'])}</td><td>{_e(d['service'])}</td><td>{_e(d['operator'])}</td>"
            f'<td data-v="{r.risk_score:.6f}">{r.risk_score:.3f}</td>'
            f'<td class="band-{_e(r.risk_band)}">{_e(r.risk_band)}</td><td>{_e(r.selection_reason)}</td>'
            f"<td>{_e(_why_text(r))}</td><td>{_e(r.reason_2)}</td><td>{_e(r.reason_3)}</td>"
            f"<td>{_e(r.data_quality_reason)}</td></tr>"
        )
        sheets.append(_sheet_html(r, d))
    summary_html = _day_summary(result, selected, cut, expected)
    waterfalls = []
    if len(result.contributions):
        grouped = group_contributions(result.contributions, load_templates_for(model))
        long = result.explanations
        reasons_by_row: dict[Any, dict[str, str]] = (
            {
                row: dict(zip(part["reason"], part["text"], strict=False))
                for row, part in long.groupby("row", sort=False)
            }
            if len(long) and {"row", "reason", "text"} <= set(long.columns)
            else {}
        )
        for r in selected.head(top_items).itertuples():
            row = r.Index
            if row not in grouped.index:
                continue
            bias = float(result.contributions.at[row, "bias"])
            said = reasons_by_row.get(row, {})
            waterfalls.append(
                f"<h3>#{r.risk_rank} {_e(r.item_id)}: score {r.risk_score:.3f}</h3>"
                + _waterfall_svg(grouped.loc[row], bias, said)
            )
    reject_summary = ""
    if len(rejects):
        counts = rejects["field"].str.split(";").explode().value_counts().head(10)
        reject_summary = (
            "<table><tr><th>field</th><th>rows</th></tr>"
            + "".join(f"<tr><td>{_e(k)}</td><td>{v}</td></tr>" for k, v in counts.items())
            + "</table>"
        )
    else:
        reject_summary = "<p>No rows were rejected.</p>"
    window = meta.get("training_window", {})
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>parcelrisk report: {_e(source)}</title><style>{_CSS}</style></head><body>
<h1>Risk report: {_e(source)}</h1>
<div><span class="kpi"><b>{rows_read:,}</b>rows read</span><span class="kpi"><b>{result.n_scored:,}</b>scored</span>
<span class="kpi"><b>{len(rejects):,}</b>rejected</span><span class="kpi"><b>{len(selected):,}</b>selected</span>
<span class="kpi"><b>{result.n_referrals:,}</b>data-quality referrals</span></div>
{summary_html}
<h2>Model</h2>
<p>Version <code>{_e(model.version)}</code>, trained on {_e(window.get("first_day", "?"))} to {_e(window.get("last_day", "?"))}.
Expected hit rate: <b id="expected-hit-rate">{_e(expected)}</b>.</p>
<p class="note">{_e(expected_note)}</p>
<p class="note">{_e(HUMAN_OVERSIGHT)}</p>
<h2>Score distribution</h2>
<p class="note">Items per score bin (log scale); the dashed line is the lowest score the model selected
(control items are drawn at random from below it).</p>
{_histogram_svg(result.risk_scores, cut)}
<h2>Selected items</h2>
<input id="filter" type="search" placeholder="Filter the table" aria-label="filter">
<table id="selected"><thead><tr><th>rank</th><th>item</th><th>description</th><th>weight</th><th>declared value</th>
<th>origin (sender)</th><th>service</th><th>operator</th><th>score</th><th>band</th><th>selection</th>
<th>reason 1</th><th>reason 2</th><th>reason 3</th><th>data quality</th></tr></thead>
<tbody>{"".join(rows_html)}</tbody></table>
<h2>Why the top items were flagged</h2>
<p class="note">Each bar is one fact about the parcel, in the words of its reasons (the model's own SHAP contributions, grouped by fact): red raises the risk, green lowers it, and the figure says how many times it multiplies the odds that opening the parcel finds contraband. Bars are on the log scale of the odds, where the factors add up from the starting point to the parcel's score.</p>
{"".join(waterfalls) or "<p>No explanations were computed.</p>"}
<h2>Rejected rows</h2>
{reject_summary}
<h2>Inspection sheets</h2>
<p class="note screen-only">One sheet per selected item, in rank order; printed, each starts on a new page.</p>
{"".join(sheets) or "<p>No item was selected.</p>"}
<script>{_JS}</script>
</body></html>
"""


def write_report(
    path: str | Path, result: ScoreResult | FileScore, model: ParcelRiskModel, **kwargs: Any
) -> None:
    """Write the HTML report atomically."""
    text = render_report(result, model, **kwargs)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
