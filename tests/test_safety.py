"""Safe outputs, nothing half-written, no code from files, no personal data leaks, determinism."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from parcelrisk.cli import app
from parcelrisk.io import write_frame
from parcelrisk.schema import LABEL_COLUMNS, TRUTH_COLUMNS
from parcelrisk.synthetic import generate_manifest

runner = CliRunner()
FIXED = "2026-03-01T06:00:00Z"
BAD = Path(__file__).parent / "data" / "bad"
CLI = [str(Path(sys.executable).with_name("parcelrisk"))]


def _manifest_only(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in (*LABEL_COLUMNS, *TRUTH_COLUMNS) if c in frame])


def _no_tmp_litter(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.tmp")]


# -- 2. outputs that are safe to open --------------------------------------------------------


def test_csv_outputs_neutralise_spreadsheet_formulas_numbers_stay_numbers(tmp_path):
    frame = pd.DataFrame(
        {
            "text": ["=1+1", "+1", "-cmd", "@SUM(A1)", "\tx", "\rx", "ok", None],
            "number": [-1.5, -2, 3, 4, 5, 6, 7, 8],
            "integer": pd.array([-1, None, 2, 3, 4, 5, 6, 7], dtype="Int64"),
        }
    )
    path = tmp_path / "out.csv"
    write_frame(frame, path)
    lines = path.read_bytes().decode("utf-8").split("\n")  # no newline translation
    cells = [line.split(",")[0] for line in lines[1:-1]]
    assert cells == ["'=1+1", "'+1", "'-cmd", "'@SUM(A1)", "'\tx", "'\rx", "ok", ""]
    assert lines[1] == "'=1+1,-1.5,-1"  # numbers, negative ones too, stay numbers
    write_frame(frame, tmp_path / "out.parquet")  # Parquet keeps values as they are
    assert pd.read_parquet(tmp_path / "out.parquet")["text"].iloc[0] == "=1+1"


def test_scored_and_rejects_csv_are_neutralised(model_dir, tmp_path):
    src = pd.read_csv(BAD / "spreadsheet_formulas.csv", dtype=str, keep_default_na=False)
    src.loc[0, "item_id"] = '=HYPERLINK("http://x","y")'
    src.loc[1, "item_id"] = "@evil"
    src.loc[2, "gross_weight_kg"] = "-1"  # rejected; its item_id is quoted in the rejects file
    src.loc[2, "item_id"] = "-2+3"
    path = tmp_path / "m.csv"
    src.to_csv(path, index=False)
    out, rejects = tmp_path / "scored.csv", tmp_path / "rejects.csv"
    result = runner.invoke(
        app,
        [
            "score",
            str(path),
            "--out",
            str(out),
            "--model",
            str(model_dir),
            "--rejects",
            str(rejects),
            "--scored-at",
            FIXED,
            "--capacity",
            "5",
        ],
    )
    assert result.exit_code == 2, result.output
    for file in (out, rejects):
        table = pd.read_csv(file, dtype=str, keep_default_na=False)
        for column in table.columns:
            assert not table[column].str.match(r"^[=+\-@\t\r]").any(), (file.name, column)
    scored = pd.read_csv(out)
    assert set(scored["item_id"]) >= {'\'=HYPERLINK("http://x","y")', "'@evil"}
    assert pd.api.types.is_float_dtype(scored["risk_score"])


def test_html_report_escapes_everything_it_shows(model_dir, tmp_path):
    src = pd.read_csv(BAD / "html_in_fields.csv", dtype=str, keep_default_na=False)
    src.loc[1, "item_id"] = "<script>alert(1)</script>"
    src.loc[:, "description"] = "<script>alert(1)</script>"
    path = tmp_path / "<img src=x onerror=alert(2)>.csv"
    src.to_csv(path, index=False)
    report = tmp_path / "report.html"
    result = runner.invoke(
        app,
        [
            "score",
            str(path),
            "--out",
            str(tmp_path / "s.csv"),
            "--model",
            str(model_dir),
            "--report",
            str(report),
            "--capacity",
            "3",
            "--explain",
            "all",
            "--scored-at",
            FIXED,
        ],
    )
    assert result.exit_code == 0, result.output
    html = report.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "onerror=alert(2)>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;b&gt;ID1&lt;/b&gt;" in html and "<b>ID1" not in html
    assert html.count("<script") == 1  # the report's own inline script only


# -- 3. nothing lost, nothing half-written ----------------------------------------------------


@pytest.fixture(scope="module")
def big_manifest(tmp_path_factory) -> Path:
    """~100k rows: scoring takes several seconds, long enough to be interrupted."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    frame = _manifest_only(generate_manifest(100_000, seed=21, days=2, labels=False, truth=False))
    frame.to_csv(path, index=False)
    return path


def _is_open_by(pid: int, path: Path) -> bool:
    try:
        return any(
            os.path.realpath(f"/proc/{pid}/fd/{fd}") == str(path.resolve())
            for fd in os.listdir(f"/proc/{pid}/fd")
        )
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False


@pytest.mark.slow
def test_killed_or_interrupted_score_leaves_previous_file_or_nothing(
    big_manifest, model_dir, tmp_path
):
    out_dir = tmp_path / "out"
    out = out_dir / "scored.csv"
    rejects = out_dir / "scored.rejects.csv"
    report = out_dir / "report.html"
    args = [
        *CLI,
        "score",
        str(big_manifest),
        "--out",
        str(out),
        "--model",
        str(model_dir),
        "--rejects",
        str(rejects),
        "--report",
        str(report),
        "--scored-at",
        FIXED,
    ]
    env = {**os.environ, "PARCELRISK_SECRET": "kill-test-secret"}  # no warning on stderr
    started = time.monotonic()
    clean = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    duration = time.monotonic() - started
    assert clean.returncode == 0, clean.stderr
    assert not _no_tmp_litter(out_dir)
    previous = {p: p.read_bytes() for p in (out, rejects, report)}
    assert len(previous[out]) > 1_000_000

    rng = random.Random(1234)
    for sig in (signal.SIGKILL, signal.SIGINT, signal.SIGKILL, signal.SIGINT):
        proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        if sig == signal.SIGINT:
            # after start-up (imports), once the command runs: it has the manifest open
            deadline = time.monotonic() + 60
            while not _is_open_by(proc.pid, big_manifest) and time.monotonic() < deadline:
                time.sleep(0.01)
        time.sleep(rng.uniform(0.05, 0.8) * duration * (0.6 if sig == signal.SIGINT else 1.0))
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=120)
        for path, content in previous.items():
            assert path.exists() and path.read_bytes() == content, (sig, path)
        if sig == signal.SIGINT:
            assert "Traceback" not in stderr + stdout, stderr
            if proc.returncode != 0:  # it may have finished before the signal arrived
                assert proc.returncode == 130, (proc.returncode, stderr)
                # progress lines may come first; the interruption is one last line
                assert stderr.strip().splitlines()[-1].startswith("interrupted:"), stderr
                assert stderr.count("interrupted") == 1, stderr
            assert not _no_tmp_litter(out_dir)  # the interrupted write cleaned up after itself
        else:
            assert proc.returncode == -signal.SIGKILL
        for leftover in _no_tmp_litter(out_dir):  # SIGKILL cannot clean up: only ever *.tmp
            leftover.unlink()

    # without a previous file: a killed run leaves nothing at all
    fresh = tmp_path / "fresh" / "scored.csv"
    fresh_args = [
        *CLI,
        "score",
        str(big_manifest),
        "--out",
        str(fresh),
        "--model",
        str(model_dir),
        "--scored-at",
        FIXED,
    ]
    proc = subprocess.Popen(fresh_args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    time.sleep(rng.uniform(0.3, 0.9) * duration)
    proc.kill()
    proc.communicate(timeout=60)
    assert not fresh.exists() or fresh.read_bytes() == previous[out]


def test_clean_runs_leave_no_tmp_files(model_dir, tmp_path):
    out = tmp_path / "o" / "scored.parquet"
    result = runner.invoke(
        app,
        [
            "score",
            str(BAD / "valid.csv"),
            "--out",
            str(out),
            "--model",
            str(model_dir),
            "--report",
            str(tmp_path / "o" / "r.html"),
            "--rejects",
            str(tmp_path / "o" / "rej.csv"),
            "--scored-at",
            FIXED,
        ],
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "o").iterdir())
    assert names == ["r.html", "rej.csv", "scored.parquet"]


# -- 4. no code execution from files; no paths from input values -------------------------------


def test_cli_refuses_pickled_or_tampered_model_folder(model_dir, tmp_path):
    pickled = tmp_path / "pickled"
    shutil.copytree(model_dir, pickled)
    (pickled / "model.PKL").write_bytes(b"cos\nsystem\n(S'touch pwned'\ntR.")
    tampered = tmp_path / "tampered"
    shutil.copytree(model_dir, tampered)
    (tampered / "pipeline.json").write_text("{}")
    for folder, word in ((pickled, "pickle"), (tampered, "checksum")):
        result = runner.invoke(
            app,
            [
                "score",
                str(BAD / "valid.csv"),
                "--out",
                str(tmp_path / "s.csv"),
                "--model",
                str(folder),
            ],
        )
        assert result.exit_code == 1 and word in result.stderr, result.output
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s.csv").exists() and not Path("pwned").exists()


def test_no_output_path_is_derived_from_input_values(model_dir, tmp_path, monkeypatch):
    """item_ids like ../../etc/x or /tmp/abs_x never become file names."""
    work = tmp_path / "a" / "b" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    manifest = work / "in.csv"
    shutil.copy(BAD / "path_traversal_ids.csv", manifest)
    before = {p for p in tmp_path.rglob("*")}
    probes = [Path("/tmp/abs_x"), tmp_path / "a" / "etc" / "x", Path("/etc/x")]
    assert not any(p.exists() for p in probes)
    store = work / "h.duckdb"
    for args in (
        ["validate", str(manifest), "--rejects", str(work / "v.rejects.csv")],
        [
            "score",
            str(manifest),
            "--out",
            str(work / "s.csv"),
            "--model",
            str(model_dir),
            "--report",
            str(work / "r.html"),
            "--rejects",
            str(work / "s.rejects.csv"),
            "--scored-at",
            FIXED,
        ],
        ["history", "add", str(manifest), "--store", str(store)],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code in (0, 2), result.output
    created = {p for p in tmp_path.rglob("*")} - before
    assert {p.name for p in created} <= {
        "s.csv",
        "r.html",
        "s.rejects.csv",
        "v.rejects.csv",
        "h.duckdb",
        "h.duckdb.wal",
    }
    assert not any(p.exists() for p in probes)
    scored = pd.read_csv(work / "s.csv")
    assert "../../etc/x" in set(scored["item_id"])  # the value is kept, as data


# -- 5. personal data -------------------------------------------------------------------------

PLANTED = {
    "sender_name": "Zqxplanted Name",
    "recipient_address": "77 Zqxplanted Street",
    "recipient_phone": "+49 1500 777 7777",
    "recipient_email": "zqx@planted.example",
    "recipient_name": "Qqzplanted Recipient",
}
NEEDLES = [v.lower() for v in PLANTED.values()] + [
    "zqxplanted",
    "qqzplanted",
    "15007777777",
    "zqx@planted",
    "planted.example",
]


def _leaks(data: bytes) -> list[str]:
    text = data.decode("utf-8", errors="ignore").lower()
    return [n for n in NEEDLES if n in text]


@pytest.fixture(scope="module")
def planted_manifest(tmp_path_factory) -> Path:
    frame = generate_manifest(20_000, seed=3, days=20)
    rows = frame.index[::500]
    for column, value in PLANTED.items():
        frame.loc[rows, column] = value
    frame.loc[rows[:3], "gross_weight_kg"] = -1.0  # rejected rows carry planted data too
    frame.loc[rows[3:5], "declared_at"] = pd.NaT
    path = tmp_path_factory.mktemp("pii") / "planted.csv"
    text = frame.astype(object).where(frame.notna(), None)
    text["declared_at"] = frame["declared_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    text.loc[rows[5], "recipient_name"] = "Zqxplanted \u202e"  # with a right-to-left override
    text.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_no_personal_data_in_logs_errors_store_or_model(
    planted_manifest, model_dir, tmp_path, monkeypatch
):
    assert _leaks(planted_manifest.read_bytes())  # the needles are there to be found
    monkeypatch.setenv("PARCELRISK_SECRET", "test-secret-for-pii")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # train logs to ./mlflow.db here
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    outputs = []
    # With --pseudonymize even the officer-facing scored file and report are searched.
    commands = [
        ["validate", str(planted_manifest), "--rejects", str(work / "validate.rejects.csv")],
        [
            "history",
            "add",
            str(planted_manifest),
            "--store",
            str(work / "h.duckdb"),
            "--rejects",
            str(work / "history.rejects.csv"),
        ],
        [  # with --store: the decisions and feature counts go to the store (searched below)
            "score",
            str(planted_manifest),
            "--out",
            str(work / "pseudo.csv"),
            "--model",
            str(model_dir),
            "--report",
            str(work / "pseudo.html"),
            "--rejects",
            str(work / "score.rejects.csv"),
            "--pseudonymize",
            "--scored-at",
            FIXED,
            "--store",
            str(work / "h.duckdb"),
        ],
        ["train", "--data", str(planted_manifest), "--export", str(work / "model")],
    ]
    for args in commands:
        result = runner.invoke(app, args)
        assert result.exit_code in (0, 2), (args[0], result.output, result.exception)
        outputs.append(result.output + result.stderr)
    for captured in outputs:
        assert not _leaks(captured.encode()), captured
    files = [p for p in work.rglob("*") if p.is_file()]
    assert {
        "validate.rejects.csv",
        "score.rejects.csv",
        "pseudo.csv",
        "pseudo.html",
        "h.duckdb",
        "model.txt",
        "pipeline.json",
        "metadata.json",
        "MODEL_CARD.md",
    } <= {p.name for p in files}
    assert (work / "mlflow.db").is_file()
    assert any(p.name == "MODEL_CARD.md" and "model" not in p.parent.name for p in files)
    for path in files:  # logs, rejects, store, exported model, MLflow database and artifacts
        assert not _leaks(path.read_bytes()), path
    # the store is compressed on disk: read every table back and search the values too
    con = duckdb.connect(str(work / "h.duckdb"), read_only=True)
    try:
        tables = {
            t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        assert {"items", "decisions", "feature_counts"} <= tables
        assert con.execute("SELECT count(*) FROM decisions").fetchall()[0][0] > 0
        for table in sorted(tables):
            dump = con.execute(f'SELECT * FROM "{table}"').fetchdf().astype(str).to_csv()
            assert not _leaks(dump.encode()), table
    finally:
        con.close()
    pseudo = pd.read_csv(work / "pseudo.csv")
    assert {"sender_key", "recipient_key", "address_key"} <= set(pseudo.columns)
    source = pd.read_csv(planted_manifest, usecols=["item_id", "sender_name", "sender_country"])
    planted = source[source["sender_name"] == PLANTED["sender_name"]]
    keyed = planted.merge(pseudo[["item_id", "sender_key"]], on="item_id")
    assert len(keyed) and keyed["sender_key"].notna().all()
    # the same sender (name and country) has one key; sender_key includes the country
    assert (keyed.groupby("sender_country")["sender_key"].nunique() == 1).all()


# -- 6. determinism ---------------------------------------------------------------------------


def test_same_input_gives_byte_identical_outputs_across_runs_and_chunk_sizes(
    today, model_dir, tmp_path
):
    frame = _manifest_only(today).astype(object).where(today.notna(), None)
    frame["declared_at"] = today["declared_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    frame.loc[frame.index[1500], "gross_weight_kg"] = "-3"
    frame.loc[frame.index[2700], "item_id"] = frame["item_id"].iloc[10]
    path = tmp_path / "today.csv"
    frame.to_csv(path, index=False)
    with path.open("a") as fh:  # a broken record at the end: the exact reader takes over
        fh.write("broken,record\n")
    runs = []
    for name, extra in (("a", []), ("b", []), ("c", ["--chunk-rows", "1000"])):
        folder = tmp_path / name
        result = runner.invoke(
            app,
            [
                "score",
                str(path),
                "--out",
                str(folder / "scored.csv"),
                "--model",
                str(model_dir),
                "--report",
                str(folder / "report.html"),
                "--rejects",
                str(folder / "rejects.csv"),
                "--scored-at",
                FIXED,
                "--explain",
                "all",
                *extra,
            ],
        )
        assert result.exit_code == 2, result.output
        runs.append({p.name: p.read_bytes() for p in sorted(folder.iterdir())})
    assert runs[0] == runs[1] == runs[2]
    rejects = pd.read_csv(tmp_path / "a" / "rejects.csv")
    assert sorted(rejects["row"]) == [1501, 2701, len(frame) + 1]
    a = runner.invoke(app, ["validate", str(path), "--rejects", str(tmp_path / "v1.csv")])
    b = runner.invoke(
        app, ["validate", str(path), "--rejects", str(tmp_path / "v2.csv"), "--chunk-rows", "1000"]
    )
    assert a.output == b.output
    assert (tmp_path / "v1.csv").read_bytes() == (tmp_path / "v2.csv").read_bytes()
