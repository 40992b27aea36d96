"""The analyst report: self-contained HTML that renders in a real headless Chromium without errors."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pandas as pd
import pytest
from typer.testing import CliRunner

from parcelrisk.cli import app

runner = CliRunner()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]
HOSTILE = "<img src=x onerror=\"document.title='pwned'\">"  # planted as the top item's id


def _chromium(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def report(model_dir, today, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    import parcelrisk

    manifest = today.copy()
    ranks = (
        parcelrisk.load_model(model_dir)
        .score(manifest, capacity=40, explain="none")
        .scored["risk_rank"]
    )
    top = ranks.reset_index(drop=True).idxmin()
    manifest.loc[manifest.index[top], "item_id"] = HOSTILE  # shown in the table: must stay text
    path = tmp / "today.csv"
    manifest.to_csv(path, index=False)
    out, html = tmp / "scored.csv", tmp / "report.html"
    result = runner.invoke(
        app,
        [
            "score",
            str(path),
            "--out",
            str(out),
            "--model",
            str(model_dir),
            "--capacity",
            "40",
            "--explain",
            "all",
            "--report",
            str(html),
        ],
    )
    assert result.exit_code == 0, result.output
    return html, pd.read_csv(out)


def test_report_is_self_contained(report):
    html, _ = report
    text = html.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), "no network resources"
    assert "<svg" in text and "<table" in text
    assert HOSTILE not in text and "&lt;img src=x onerror=" in text


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="Debian's chromium is installed by .ci/run; on a developer machine without it this is skipped",
)
def test_report_renders_in_chromium_with_all_selected_rows(report, tmp_path):
    html, scored = report
    dom = _chromium(tmp_path, "--dump-dom", html.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    rows = re.search(r'data-rows="(\d+)"', dom.stdout)
    assert rows, "the report's script did not run"
    assert int(rows.group(1)) == int(scored["selected"].sum()) == 40
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console
    assert "pwned" not in re.search(r"<title>(.*?)</title>", dom.stdout, re.S).group(1)
    shot = tmp_path / "report.png"
    _chromium(tmp_path, "--window-size=1400,1800", f"--screenshot={shot}", html.as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000
    # Printed (A4 is Chromium's default paper outside the US locale; the sheets break pages):
    # one page per inspection sheet at least, after the day summary.
    a4 = tmp_path / "report-a4.png"  # an A4 page's width at 96 dpi: the table and sheets fit
    _chromium(tmp_path, "--window-size=794,1123", f"--screenshot={a4}", html.as_uri())
    assert a4.is_file() and a4.stat().st_size > 10_000
    pdf = tmp_path / "report.pdf"
    _chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.as_uri())
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes()))
    assert pages > int(scored["selected"].sum()), pages


def test_waterfalls_speak_the_reasons_words_and_odds(report):
    """The 'why flagged' bars carry the item's own reason sentences and odds factors, not
    internal group names and log-odds (issue 19.11)."""
    html, scored = report
    text = html.read_text(encoding="utf-8")
    section = text[text.index("Why the top items were flagged") :]
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", section)
    assert labels, "no waterfall was drawn"
    top = scored[scored["selected"]].sort_values("risk_rank").iloc[0]
    import html as html_lib

    shown = {html_lib.unescape(label) for label in labels}
    assert html_lib.unescape(str(top["reason_1"]))[:80] in shown
    values = [v for v in shown if v.startswith("odds ")]
    assert values and all(re.fullmatch(r"odds [x/]\d+\.\d", v) for v in values)
    assert not any(re.fullmatch(r"[+-]\d+\.\d\d", v) for v in shown)  # no raw log-odds


def test_every_selected_item_has_an_inspection_sheet_with_its_own_data(report):
    """Issue 19.12: one printable sheet per selected item with its description, weight, value,
    origin and reasons (control items say why they were drawn instead)."""
    import html as html_lib

    from parcelrisk.report import CONTROL_TEXT

    html, scored = report
    raw = html.read_text(encoding="utf-8")
    text = html_lib.unescape(raw)
    manifest = pd.read_csv(html.parent / "today.csv", dtype=str).set_index("item_id")
    sheets = {
        html_lib.unescape(item): html_lib.unescape(body)
        for item, body in re.findall(
            r'<section class="sheet" data-item="(.*?)">(.*?)</section>', raw, re.S
        )
    }
    selected = scored[scored["selected"]]
    assert len(sheets) == len(selected) == 40
    for row in selected.itertuples():
        sheet = sheets[str(row.item_id)]
        item = manifest.loc[str(row.item_id)]
        assert str(item["description"]) in sheet
        assert f"{float(item['gross_weight_kg']):.3f} kg" in sheet
        assert f"{float(item['declared_value']):.2f}" in sheet
        assert str(item["origin_country"]) in sheet
        expected = CONTROL_TEXT if row.selection_reason == "control" else str(row.reason_1)
        assert expected in sheet
    assert "Day summary" in text and "Where the cut fell" in text
