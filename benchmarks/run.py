"""Benchmark harness: end-to-end scoring, stage times, floor, training, features, 10M streaming.

One command (see ``benchmarks/README.md``)::

    python benchmarks/run.py [--quick] [--rows N] [--history-days D] [--history-rows-per-day R]
                             [--repeat K] [--only NAMES] [--no-write]

Steps (``--only`` takes a comma-separated subset; ``score10m`` is opt-in at full size):

data      generate (once, cached under ``benchmarks/.cache/``) one synthetic simulation over
          D + 1 days: D days of history at R items a day loaded into a DuckDB history store with
          ``HistoryStore.add_manifest`` one day at a time, and the following day (N items) as the
          CSV to score.
score     ``parcelrisk score today.csv --store ... --budget 0.02`` as a subprocess, K times:
          wall time, rows/s, peak RSS (``/usr/bin/time -v``), median.
stages    one in-process run of the same path through the library (read, validate, features,
          predict, explain, write) and, in the same process, the floor: ``pyarrow.csv.read_csv``
          of the file + ``Booster.predict`` of the shipped model on the built feature matrix.
train     ``train_model`` on a separately generated labelled manifest of N items over 28 days.
features  ``profile_features`` (DuckDB windows) and the whole ``transform_with_context`` against
          the plain pandas baseline of ``benchmarks/pandas_baseline.py`` (checked equal first on
          a sample of ~20,000 items).
score10m  ``parcelrisk score`` on a 10 x N item file, next to the N figure.

Every heavy step runs in its own Python subprocess so that its peak memory is its own; a
watchdog kills a step that exceeds ``--mem-limit-gb`` (default: 75% of available memory) and
records the limit instead of taking the machine down. ``--quick`` runs everything at tiny
sizes in well under a minute (CI: ``tests/test_benchmarks.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
CACHE = BENCH / ".cache"
OUT = BENCH / "out"
RESULTS = BENCH / "RESULTS.md"
#: This run's scratch folder (worker configs, logs, scored files); removed after a clean run.
RUN = OUT / f"run-{os.getpid()}"
SECTION = "## Scoring and features (issues 4, 6, 7)"
SECRET = "parcelrisk-benchmark-secret"
SCORED_AT = "2026-04-01T00:00:00Z"
START = dt.date(2026, 3, 2)  # a Monday
#: Bump when the way the cached data is made changes (the generator's and store's source are hashed too).
DATA_VERSION = "1"

STEPS = ("data", "score", "stages", "train", "features", "score10m", "profile")
DEFAULT_STEPS = ("data", "score", "stages", "train", "features", "profile")

FULL = {
    "rows": 1_000_000,
    "history_days": 30,
    "history_rows_per_day": 200_000,
    "train_rows": 1_000_000,
    "train_days": 28,
    "big_factor": 10,
    "verify_rows": 20_000,
    "repeat": 3,
}
QUICK = {  # CI runs this (tests/test_benchmarks.py): every step once, sizes only big enough to run
    "rows": 4_000,
    "history_days": 3,
    "history_rows_per_day": 1_500,
    # 20,000 items over 14 days at 1% illicit leave 9 train / 4 calibration seizures among the
    # inspected (train_model needs 5 / 2); fewer rows or days risk too few to train on
    "train_rows": 20_000,
    "train_days": 14,
    "big_factor": 2,
    "verify_rows": 2_000,
    "repeat": 1,
}
TARGETS = {
    "e2e_rows_per_s": 100_000,
    "e2e_over_floor": 3.0,
    "peak_gb_1m": 3.0,
    "peak_gb_10m": 4.0,
    "train_s": 180.0,
}


# -- small utilities -------------------------------------------------------------------------


def log(msg: str) -> None:
    print(msg, flush=True)


def python() -> str:
    return sys.executable


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PARCELRISK_SECRET"] = SECRET
    e["PARCELRISK_DEMO"] = "1"  # the benchmark secret is public and short: a demo setting
    e["PYTHONWARNINGS"] = "ignore"
    e.setdefault("PYTHONHASHSEED", "0")
    return e


def mem_available_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 << 30


def mem_total_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def rss_bytes(pid: int | str = "self") -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class PeakSampler:
    """Peak RSS of this process while a block runs (sampled every 20 ms, plus ru_maxrss)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            self._stop.wait(0.02)

    def __enter__(self) -> PeakSampler:
        self.start_rss = rss_bytes()
        self.peak = self.start_rss
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


class Timer:
    """Wall time and sampled peak RSS of a block."""

    def __init__(self, name: str, results: dict[str, Any]) -> None:
        self.name, self.results = name, results

    def __enter__(self) -> Timer:
        self.sampler = PeakSampler().__enter__()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        seconds = time.perf_counter() - self.t0
        self.sampler.__exit__()
        self.results[self.name] = {
            "s": seconds,
            "peak_rss_mb": self.sampler.peak / 2**20,
            "start_rss_mb": self.sampler.start_rss / 2**20,
        }
        log(
            f"    {self.name:<28} {seconds:9.2f} s   peak RSS {self.sampler.peak / 2**20:9,.0f} MiB"
        )


def process_tree(pid: int) -> list[int]:
    """pid and its descendants (from /proc/*/stat)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            ppid = int(text.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def run_watched(
    cmd: list[str], limit_bytes: int, timeout_s: float, log_path: Path, echo_output: bool = False
) -> dict[str, Any]:
    """Run ``cmd``; kill it (and only it, by pid) if its tree's RSS exceeds the limit.

    Returns rc, wall seconds, peak tree RSS sampled every 0.2 s, killed reason, stdout/stderr.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as fh, open(log_path, errors="replace") as tail:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env(), cwd=ROOT)
        peak, killed = 0, None

        def echo() -> None:
            if echo_output:
                for line in tail.read().splitlines():
                    if not line.startswith("RESULT "):
                        log(line)

        while proc.poll() is None:
            echo()
            tree = process_tree(proc.pid)
            rss = sum(rss_bytes(p) for p in tree)
            peak = max(peak, rss)
            elapsed = time.perf_counter() - t0
            if rss > limit_bytes or elapsed > timeout_s:
                killed = (
                    f"memory {rss / 2**30:.1f} GiB > limit {limit_bytes / 2**30:.1f} GiB"
                    if rss > limit_bytes
                    else f"time {elapsed:.0f} s > limit {timeout_s:.0f} s"
                )
                for p in reversed(tree):  # children first; only processes we started
                    try:
                        os.kill(p, 9)
                    except ProcessLookupError:
                        pass
                proc.wait()
                break
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        echo()
    text = log_path.read_text(errors="replace")
    return {
        "rc": proc.returncode,
        "wall_s": wall,
        "sampled_peak_mb": peak / 2**20,
        "killed": killed,
        "output": text,
    }


def parse_time_v(text: str) -> dict[str, float]:
    """Fields of GNU ``/usr/bin/time -v`` output."""
    out: dict[str, float] = {}
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if m:
        out["peak_rss_mb"] = int(m.group(1)) / 1024
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text)
    if m:
        parts = [float(p) for p in m.group(1).split(":")]
        secs = 0.0
        for p in parts:
            secs = secs * 60 + p
        out["wall_s"] = secs
    for key, label in (("user_s", "User time (seconds)"), ("sys_s", "System time (seconds)")):
        m = re.search(re.escape(label) + r": ([\d.]+)", text)
        if m:
            out[key] = float(m.group(1))
    return out


def worker(name: str, cfg: dict[str, Any], limit: int, timeout_s: float = 7200) -> dict[str, Any]:
    """Run ``run.py --worker name`` in a subprocess; its last RESULT line is the figures."""
    RUN.mkdir(parents=True, exist_ok=True)
    cfg_path = RUN / f"worker-{name}.json"
    cfg_path.write_text(json.dumps(cfg))
    cmd = [
        python(),
        str(Path(__file__).resolve()),
        "--worker",
        name,
        "--worker-config",
        str(cfg_path),
    ]
    run = run_watched(cmd, limit, timeout_s, RUN / f"worker-{name}.log", echo_output=True)
    if run["killed"]:
        log(f"    step {name} stopped: {run['killed']}")
    result: dict[str, Any] = {}
    for line in run["output"].splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT ") :])
    result["_worker"] = {k: v for k, v in run.items() if k != "output"}
    if run["rc"] != 0 or run["killed"]:
        raise WorkerFailed(name, run)  # its output was printed above
    return result


class WorkerFailed(RuntimeError):
    def __init__(self, name: str, run: dict[str, Any]) -> None:
        super().__init__(
            f"step {name} failed (rc={run['rc']}, killed={run['killed']}); output above"
        )
        self.run = run


# -- data ---------------------------------------------------------------------------------


def code_hash() -> str:
    h = hashlib.sha256(DATA_VERSION.encode())
    files = sorted((ROOT / "parcelrisk" / "synthetic").rglob("*.py"))
    files += [ROOT / "parcelrisk/store.py", ROOT / "parcelrisk/legacy_rules.py"]
    for path in files:
        h.update(path.read_bytes())
    return h.hexdigest()[:10]


def data_dir(cfg: dict[str, Any]) -> Path:
    tag = f"r{cfg['rows']}_h{cfg['history_days']}x{cfg['history_rows_per_day']}_s{cfg['seed']}_v{DATA_VERSION}"
    return CACHE / tag


def _day_weights(days: int, per_day: list[float]) -> list[float]:
    """Weights that cancel the generator's volume profile so each day gets its own volume."""
    from parcelrisk.synthetic import volume_profile

    profile = volume_profile(START, days).tolist()
    return [v / p for v, p in zip(per_day, profile, strict=True)]


def work_data(cfg: dict[str, Any]) -> dict[str, Any]:
    """Generate history + today in one simulation, write today's CSV, load the history store."""
    import numpy as np
    import pandas as pd

    from parcelrisk.schema import MANIFEST_COLUMNS
    from parcelrisk.store import HistoryStore
    from parcelrisk.synthetic import generate_manifest, write_manifest
    from parcelrisk.validate import validate_frame

    out = Path(cfg["dir"])
    out.mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = {}
    rows, days, per_day = cfg["rows"], cfg["history_days"], cfg["history_rows_per_day"]
    # 1% more on the last day, then keep exactly the first `rows` items of that day.
    volumes = [float(per_day)] * days + [rows * 1.01]
    total = int(sum(volumes))
    with Timer("generate", res):
        frame = generate_manifest(
            total,
            seed=cfg["seed"],
            start=START,
            days=days + 1,
            day_weights=_day_weights(days + 1, volumes),
            labels=True,
            truth=False,
        )
    split = pd.Timestamp(START, tz="UTC") + pd.Timedelta(days=days)
    is_today = (frame["declared_at"] >= split).to_numpy()
    today = frame.loc[is_today, [c for c in MANIFEST_COLUMNS if c in frame]].head(rows)
    history = frame.loc[~is_today]
    del frame
    with Timer("write today.csv", res):
        write_manifest(today, out / "today.csv")
    res["today_rows"] = len(today)
    res["today_first"] = str(today["declared_at"].min())
    del today
    store_path = out / "store.duckdb"
    store_path.unlink(missing_ok=True)
    added = 0
    day_of = (
        (history["declared_at"] - pd.Timestamp(START, tz="UTC")) // pd.Timedelta(days=1)
    ).to_numpy()
    with (
        Timer("load history store", res),
        HistoryStore.open(store_path, secret=SECRET.encode()) as store,
    ):
        for d in np.unique(day_of):
            valid = validate_frame(history.loc[day_of == d]).valid
            added += store.add_manifest(valid, manifest_hash=f"bench-day-{d}")
        counts = store.counts()
    res["history_rows"] = int(len(history))
    res["history_added"] = added
    res["store_counts"] = counts
    res["store_mb"] = store_path.stat().st_size / 2**20
    return res


def work_train_data(cfg: dict[str, Any]) -> dict[str, Any]:
    from parcelrisk.synthetic import generate_manifest, write_manifest

    res: dict[str, Any] = {}
    with Timer("generate training data", res):
        # 1% illicit items: this step times training, and at the v2 world's default 0.3% the
        # quick run's few thousand items hold too few seizures for train_model to accept
        frame = generate_manifest(
            cfg["train_rows"],
            seed=cfg["seed"] + 1,
            start=START,
            days=cfg["train_days"],
            illicit_rate=0.01,
        )
    write_manifest(frame, Path(cfg["train_path"]))
    return res


def work_big_data(cfg: dict[str, Any]) -> dict[str, Any]:
    """factor x today.csv, item ids suffixed B0, B1, ... so they stay unique (Arrow only, fast).

    The copies keep every other field, so each party has factor x its items that day; for
    memory and throughput that is what matters (the generator at 10M would need ~20 GB).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    res: dict[str, Any] = {}
    src = Path(cfg["dir"]) / "today.csv"
    target = Path(cfg["big_path"])
    tmp = target.with_suffix(".part")
    t0 = time.perf_counter()
    header = src.open(encoding="utf-8").readline().rstrip("\n").split(",")
    table = pacsv.read_csv(
        src,
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in header}, strings_can_be_null=False
        ),
    )
    ids = table.column("item_id")
    pos = table.schema.get_field_index("item_id")
    with pacsv.CSVWriter(
        tmp, table.schema, write_options=pacsv.WriteOptions(quoting_style="needed")
    ) as writer:
        for k in range(cfg["big_factor"]):
            writer.write_table(
                table.set_column(pos, "item_id", pc.binary_join_element_wise(ids, f"B{k}", ""))
            )
    os.replace(tmp, target)
    res["big_rows"] = table.num_rows * cfg["big_factor"]
    res["big_generate_s"] = time.perf_counter() - t0
    res["big_mb"] = target.stat().st_size / 2**20
    log(
        f"    big file: {res['big_rows']:,} rows, {res['big_mb']:,.0f} MiB in {res['big_generate_s']:.0f} s"
    )
    return res


# -- stages and floor ------------------------------------------------------------------------


def work_stages(cfg: dict[str, Any]) -> dict[str, Any]:
    """The scoring path through the library, stage by stage, and the floor, in one process."""
    import numpy as np
    import pandas as pd
    import pyarrow.csv as pacsv

    import parcelrisk.scoring as scoring
    from parcelrisk.io import iter_manifest, write_frame
    from parcelrisk.model import load_model
    from parcelrisk.profiles import profile_features
    from parcelrisk.store import HistoryStore
    from parcelrisk.validate import validate_batches

    src = Path(cfg["dir"]) / "today.csv"
    store_path = Path(cfg["dir"]) / "store.duckdb"
    st: dict[str, Any] = {}
    t_all = time.perf_counter()
    with Timer("read", st):
        batches = list(iter_manifest(src))
    with Timer("validate", st):
        results = list(validate_batches(batches, src))
        valid = pd.concat([r.valid for r in results])
        rows_read = sum(r.rows_read for r in results)
    del batches
    with HistoryStore.open(store_path, secret=SECRET.encode(), read_only=True) as store:
        with Timer("load model", st):
            model = load_model(cfg["model"], store=store)
        # score_frame with its inner calls timed: the real path, stage by stage.
        timed: dict[str, float] = {}
        keep: dict[str, Any] = {}

        def wrap(name: str, fn: Any) -> Any:
            def inner(*a: Any, **k: Any) -> Any:
                t0 = time.perf_counter()
                value = fn(*a, **k)
                timed[name] = timed.get(name, 0.0) + time.perf_counter() - t0
                if name == "features":
                    keep["X"] = value[0]
                if name == "shap":
                    keep["n_explained"] = len(value)
                return value

            return inner

        features, predict = model.features.transform_with_context, model.raw_margin
        model.features.transform_with_context = wrap("features", features)  # type: ignore[method-assign]
        model.raw_margin = wrap("predict", predict)  # type: ignore[method-assign]
        model.contributions = wrap("shap", model.contributions)  # type: ignore[method-assign]
        explain_long = scoring.explain_long
        scoring.explain_long = wrap("wording", explain_long)
        try:
            with Timer("score_frame", st):
                result = scoring.score_frame(
                    valid,
                    model,
                    scoring.ScoreOptions(budget=0.02, explain="selected", scored_at=SCORED_AT),
                )
        finally:
            scoring.explain_long = explain_long
        X = keep["X"]
        sf = st["score_frame"]
        for name in ("features", "predict", "shap", "wording"):
            st[name] = {"s": timed.get(name, 0.0), "peak_rss_mb": sf["peak_rss_mb"]}
        st["select+assemble"] = {
            "s": sf["s"] - sum(timed.values()),
            "peak_rss_mb": sf["peak_rss_mb"],
        }
        out_path = Path(cfg["run_dir"]) / "stages-scored.csv"
        with Timer("write", st):
            write_frame(result.scored, out_path)
        total = time.perf_counter() - t_all
        # What part of the feature time is the entity profiles (a second, separate call).
        with Timer("profiles (separate call)", st):
            profile_features(valid, store, SECRET.encode())
    # The floor: Arrow CSV read + Booster.predict of the same model on the same matrix.
    floor: dict[str, Any] = {}
    with Timer("floor: pyarrow read_csv", floor):
        table = pacsv.read_csv(src)
    n_csv = table.num_rows
    del table
    with Timer("floor: Booster.predict", floor):
        raw = model.booster.predict(X, raw_score=True, num_threads=2)
    assert len(raw) == len(X) and np.isfinite(raw).all()
    return {
        "rows_read": int(rows_read),
        "rows_valid": int(len(valid)),
        "rows_csv": int(n_csv),
        "stages": st,
        "floor": floor,
        "in_process_total_s": total,
        "floor_s": floor["floor: pyarrow read_csv"]["s"] + floor["floor: Booster.predict"]["s"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "n_explained": int(keep.get("n_explained", 0)),
        "n_features": int(X.shape[1]),
        "n_trees": int(model.booster.num_trees()),
    }


# -- training --------------------------------------------------------------------------------


def work_train(cfg: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    from parcelrisk.train import train_model
    from parcelrisk.validate import validate_frame

    res: dict[str, Any] = {}
    frame = pd.read_parquet(cfg["train_path"])
    with Timer("validate (training data)", res):
        valid = validate_frame(frame).valid
    del frame
    with Timer("train_model", res):
        result = train_model(valid)
    res["rows"] = int(len(valid))
    res["best_iteration"] = int(result.model.booster.current_iteration())
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return res


# -- features against the pandas baseline -----------------------------------------------------


def work_features(cfg: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(BENCH))
    import pandas_baseline as pb

    import parcelrisk.profiles as profiles
    from parcelrisk.io import read_manifest
    from parcelrisk.model import load_model
    from parcelrisk.store import HistoryStore
    from parcelrisk.validate import validate_frame

    secret = SECRET.encode()
    src = Path(cfg["dir"]) / "today.csv"
    res: dict[str, Any] = {}
    raw = read_manifest(src).frame
    valid = validate_frame(raw).valid
    del raw
    n = len(valid)
    res["rows"] = n
    with HistoryStore.open(
        Path(cfg["dir"]) / "store.duckdb", secret=secret, read_only=True
    ) as store:
        # 1. equality on a sample (history unchanged; the sample is its own batch)
        rng = np.random.default_rng(0)
        pick = np.sort(rng.choice(n, size=min(cfg["verify_rows"], n), replace=False))
        sample = valid.iloc[pick]
        ours = profiles.profile_features(sample, store, secret)
        b = pb.batch_frame(sample, secret, store.key_scheme)
        lo, hi = pb.history_window(b)
        base = pb.entity_windows(b, pb.history_frame(store.con, lo, hi))
        for col in pb.BASELINE_COLUMNS:
            mine, theirs = ours[col].to_numpy(dtype="float64"), base[col].to_numpy(dtype="float64")
            same = np.array_equal(np.isnan(mine), np.isnan(theirs)) and np.allclose(
                np.nan_to_num(mine), np.nan_to_num(theirs), rtol=0, atol=1e-9
            )
            assert same, f"pandas baseline differs from profile_features on {col}: " + str(
                pd.DataFrame({"profile_features": mine, "baseline": theirs})[mine != theirs].head()
            )
        res["verified_rows"] = len(sample)
        res["verified_columns"] = list(pb.BASELINE_COLUMNS)
        res["verified_nonzero"] = {c: int((base[c] > 0).sum()) for c in pb.BASELINE_COLUMNS}
        log(
            f"    baseline == profile_features on {len(sample):,} rows for {', '.join(pb.BASELINE_COLUMNS)}"
        )

        # 2. full size: DuckDB profiles (all features), the same columns only, whole transform
        with Timer("profile_features (all 27)", res):
            profiles.profile_features(valid, store, secret)
        subset = _profile_subset(profiles, pb.BASELINE_COLUMNS)
        with subset, Timer("profile_features (same 6)", res):
            same6 = profiles.profile_features(valid, store, secret)
        assert set(pb.BASELINE_COLUMNS) <= set(same6.columns), same6.columns
        del same6
        model = load_model(cfg["model"], store=store)
        with Timer("transform_with_context", res):
            model.features.transform_with_context(valid)
        # 3. the pandas baseline: keys, history load, windows
        with Timer("baseline: entity_keys", res):
            b = pb.batch_frame(valid, secret, store.key_scheme)
        with Timer("baseline: history from store", res):
            lo, hi = pb.history_window(b)
            hist = pb.history_frame(store.con, lo, hi)
        res["baseline_history_rows"] = int(len(hist))
        with Timer("baseline: pandas windows", res):
            pb.entity_windows(b, hist)
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return res


class _profile_subset:
    """Temporarily restrict ``parcelrisk.profiles`` to the given output columns (benchmark only)."""

    def __init__(self, module: Any, columns: tuple[str, ...]) -> None:
        self.module, self.columns, self.ok = module, set(columns), False

    def __enter__(self) -> _profile_subset:
        m = self.module
        self.saved = (m.SPECS, m.ENTITY_KEYS, m.PROFILE_FEATURES, m._WATCHLIST_SQL)
        specs = tuple(s for s in m.SPECS if s.name in self.columns or s.entity == "watchlist")
        # the baseline has no watch-lists: an empty watch-list query
        m._WATCHLIST_SQL = (
            "SELECT CAST(NULL AS BIGINT) AS qid, CAST(NULL AS VARCHAR) AS lists WHERE false"
        )
        entities = {s.entity for s in specs}
        m.SPECS = specs
        m.ENTITY_KEYS = {k: v for k, v in m.ENTITY_KEYS.items() if k in entities}
        m.PROFILE_FEATURES = {s.name: s.description for s in specs}
        self.ok = True
        return self

    def __exit__(self, *exc: Any) -> None:
        m = self.module
        m.SPECS, m.ENTITY_KEYS, m.PROFILE_FEATURES, m._WATCHLIST_SQL = self.saved


WORKERS = {
    "data": work_data,
    "train_data": work_train_data,
    "big_data": work_big_data,
    "stages": work_stages,
    "train": work_train,
    "features": work_features,
}


# -- the parent: steps, table, RESULTS.md ------------------------------------------------------


def score_cli(
    src: Path, store: Path, model: str, tag: str, repeat: int, limit: int, timeout_s: float
) -> dict[str, Any]:
    """``parcelrisk score`` as a subprocess, ``repeat`` times; the median run."""
    exe = shutil.which("parcelrisk", path=str(Path(python()).parent)) or shutil.which("parcelrisk")
    base = [exe] if exe else [python(), "-m", "parcelrisk.cli"]
    out = RUN / f"scored-{tag}.csv"
    cmd = [
        *base,
        "score",
        str(src),
        "--out",
        str(out),
        "--store",
        str(store),
        "--model",
        model,
        "--budget",
        "0.02",
        "--explain",
        "selected",
        "--scored-at",
        SCORED_AT,
    ]
    timev = Path("/usr/bin/time")
    full = [str(timev), "-v", *cmd] if timev.exists() else cmd
    runs = []
    for i in range(repeat):
        run = run_watched(full, limit, timeout_s, RUN / f"score-{tag}-{i}.log")
        fig = parse_time_v(run["output"]) if timev.exists() else {}
        if not timev.exists():
            fig["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        fig.setdefault("wall_s", run["wall_s"])
        fig["rc"], fig["killed"], fig["sampled_peak_mb"] = (
            run["rc"],
            run["killed"],
            run["sampled_peak_mb"],
        )
        m = re.search(r"(\d[\d,]*) row\(s\) rejected", run["output"])
        fig["rejected"] = int(m.group(1).replace(",", "")) if m else 0
        runs.append(fig)
        status = f"killed ({run['killed']})" if run["killed"] else f"rc={run['rc']}"
        log(
            f"    run {i + 1}/{repeat}: {fig['wall_s']:.1f} s, peak RSS {fig.get('peak_rss_mb', 0):,.0f} MiB, {status}"
        )
        if run["killed"] or run["rc"] not in (0, 2):
            log("    " + "\n    ".join(run["output"].splitlines()[-15:]))
            break
    ok = [r for r in runs if not r["killed"] and r["rc"] in (0, 2)]
    if not ok:
        return {"runs": runs, "failed": True, "cmd": " ".join(cmd)}
    walls = sorted(r["wall_s"] for r in ok)
    median = statistics.median(walls)
    return {
        "runs": runs,
        "failed": False,
        "median_s": median,
        "peak_rss_mb": max(r.get("peak_rss_mb", 0) for r in ok),
        "cmd": " ".join(cmd),
    }


def profile_score(
    src: Path, store: Path, model: str, limit: int, timeout_s: float
) -> dict[str, Any]:
    """``parcelrisk score`` under py-spy (``--idle``: waits in native code count): top functions."""
    spy = shutil.which("py-spy", path=str(Path(python()).parent)) or shutil.which("py-spy")
    if not spy:
        return {"skipped": "py-spy is not installed (pip install py-spy; not a project dependency)"}
    exe = shutil.which("parcelrisk", path=str(Path(python()).parent)) or "parcelrisk"
    raw = RUN / "profile.txt"
    cmd = [
        spy,
        "record",
        "--idle",
        "--rate",
        "25",
        "--format",
        "raw",
        "-o",
        str(raw),
        "--",
        exe,
        "score",
        str(src),
        "--out",
        str(RUN / "scored-profile.csv"),
        "--store",
        str(store),
        "--model",
        model,
        "--budget",
        "0.02",
        "--explain",
        "selected",
        "--scored-at",
        SCORED_AT,
    ]
    run = run_watched(cmd, limit, timeout_s, RUN / "profile.log")
    if not raw.exists():
        return {"skipped": f"py-spy failed (rc {run['rc']}): " + run["output"][-500:]}
    keep = OUT / "profile-score.txt"
    shutil.copyfile(raw, keep)
    return summarise_profile(raw) | {"wall_s": run["wall_s"], "raw": str(keep.relative_to(ROOT))}


def summarise_profile(raw: Path, top: int = 30) -> dict[str, Any]:
    """Inclusive and self sample shares per function from py-spy's collapsed stacks."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = []
        for frame in stack.split(";"):
            m = re.match(r"(.*) \((.*?)(?::\d+)?\)$", frame.strip())
            name, path = (m.group(1), m.group(2)) if m else (frame.strip(), "")
            path = re.sub(r".*/site-packages/", "", path)
            path = re.sub(r".*/(parcelrisk/)", r"\1", path)
            frames.append(f"{name} ({path})" if path else name)
        for f in set(frames):
            inclusive[f] = inclusive.get(f, 0) + n
        if frames:
            own[frames[-1]] = own.get(frames[-1], 0) + n

    def pick(d: dict[str, int]) -> list[tuple[str, float]]:
        return (
            [(k, 100.0 * v / total) for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:top]]
            if total
            else []
        )

    ours = {k: v for k, v in inclusive.items() if "parcelrisk/" in k}
    return {
        "samples": total,
        "inclusive_parcelrisk": pick(ours),
        "inclusive_all": pick(inclusive),
        "self": pick(own),
    }


def count_rows(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(buf.count(b"\n") for buf in iter(lambda: fh.read(1 << 24), b"")) - 1


def machine() -> dict[str, Any]:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        rev, dirty = "unknown", ""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for mod in ("pandas", "numpy", "pyarrow", "duckdb", "lightgbm", "pandera"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            versions[mod] = "?"
    tree = hashlib.sha256()
    for f in sorted((ROOT / "parcelrisk").rglob("*.py")):
        tree.update(f.read_bytes())
    return {
        "tree": tree.hexdigest()[:10],
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "git": rev + (" (+ uncommitted changes)" if dirty else ""),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "mem_total_gib": mem_total_bytes() / 2**30,
        "python": platform.python_version(),
        "versions": versions,
    }


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--quick", action="store_true", help="tiny sizes, everything incl. score10m, < 1 min (CI)"
    )
    p.add_argument("--rows", type=int, help="items in the day to score (default 1,000,000)")
    p.add_argument("--history-days", type=int, help="days of history in the store (default 30)")
    p.add_argument(
        "--history-rows-per-day", type=int, help="items per history day (default 200,000)"
    )
    p.add_argument(
        "--train-rows", type=int, help="labelled items to train on (default = 1,000,000)"
    )
    p.add_argument("--big-factor", type=int, help="score10m file = factor x rows (default 10)")
    p.add_argument("--repeat", type=int, help="runs of `parcelrisk score` (median; default 3)")
    p.add_argument(
        "--only", help=f"comma-separated steps of {','.join(STEPS)} (default: all but score10m)"
    )
    p.add_argument("--seed", type=int, default=20261124)
    p.add_argument("--model", default=str(ROOT / "models" / "default"))
    p.add_argument(
        "--mem-limit-gb",
        type=float,
        help="kill a step above this RSS (default 75%% of available memory)",
    )
    p.add_argument(
        "--timeout-min", type=float, default=60.0, help="kill a step after this many minutes"
    )
    p.add_argument("--no-write", action="store_true", help="do not touch benchmarks/RESULTS.md")
    p.add_argument(
        "--results",
        type=Path,
        help="write the section to this file instead of benchmarks/RESULTS.md",
    )
    p.add_argument("--fresh", action="store_true", help="regenerate cached data")
    p.add_argument(
        "--render", type=Path, help="only re-render the section from a saved results-*.json"
    )
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--worker-config", help=argparse.SUPPRESS)
    a = p.parse_args(argv)

    if a.worker:
        os.environ["PARCELRISK_SECRET"] = SECRET
        os.environ["PARCELRISK_DEMO"] = "1"
        import warnings

        warnings.simplefilter("ignore")
        cfg = json.loads(Path(a.worker_config).read_text())
        result = WORKERS[a.worker](cfg)
        print("RESULT " + json.dumps(result, default=str), flush=True)
        return 0

    if a.render:
        fig = json.loads(a.render.read_text())
        table = summarise(fig, a)
        log(table)
        if not a.no_write:
            write_section(a.results or RESULTS, table)
        return 0

    sizes = dict(QUICK if a.quick else FULL)
    for key in (
        "rows",
        "history_days",
        "history_rows_per_day",
        "train_rows",
        "big_factor",
        "repeat",
    ):
        val = getattr(a, key)
        if val is not None:
            sizes[key] = val
    if a.rows is not None and a.train_rows is None and not a.quick:
        sizes["train_rows"] = a.rows
    sizes["verify_rows"] = min(sizes["verify_rows"], sizes["rows"])
    steps = list(STEPS if a.quick else DEFAULT_STEPS)
    if a.only:
        steps = [s.strip() for s in a.only.split(",") if s.strip()]
        unknown = set(steps) - set(STEPS)
        if unknown:
            p.error(f"unknown step(s) {sorted(unknown)}; choose from {', '.join(STEPS)}")
    limit = int(a.mem_limit_gb * 2**30) if a.mem_limit_gb else int(0.75 * mem_available_bytes())
    timeout_s = a.timeout_min * 60
    cfg: dict[str, Any] = {**sizes, "seed": a.seed, "code_hash": code_hash(), "model": a.model}
    ddir = data_dir(cfg)
    cfg["dir"] = str(ddir)
    cfg["train_path"] = str(ddir / f"train_{sizes['train_rows']}x{sizes['train_days']}d.parquet")
    cfg["big_path"] = str(ddir / f"big_x{sizes['big_factor']}.csv")
    cfg["run_dir"] = str(RUN)
    RUN.mkdir(parents=True, exist_ok=True)

    info = machine()
    info["loadavg_start"] = loadavg()
    log(
        f"parcelrisk benchmarks: {info['date']}, git {info['git']}, nproc {info['nproc']}, "
        f"{info['mem_total_gib']:.1f} GiB, load {info['loadavg_start']}, step memory limit {limit / 2**30:.1f} GiB"
    )
    log(f"sizes: {json.dumps(sizes)}; data: {ddir}")
    fig: dict[str, Any] = {"sizes": sizes, "machine": info, "steps": steps, "notes": []}
    t_start = time.perf_counter()

    # data is needed by every other step
    meta_path = ddir / "meta.json"
    if a.fresh and ddir.exists():
        shutil.rmtree(ddir)
    if meta_path.exists():
        fig["data"] = json.loads(meta_path.read_text())
        log(
            f"== data: cached ({fig['data']['today_rows']:,} items today, {fig['data']['history_rows']:,} in history)"
        )
        if fig["data"].get("code_hash") != cfg["code_hash"]:
            note = (
                f"The cached data was generated by another version of the generator/store code "
                f"({fig['data'].get('code_hash')}, now {cfg['code_hash']}); `--fresh` regenerates it."
            )
            log("   note: " + note)
            fig["notes"].append(note)
    else:
        log("== data: generating (once; cached)")
        need = 2.3e3 * (sizes["rows"] + sizes["history_days"] * sizes["history_rows_per_day"])
        if need > limit:
            log(
                f"   warning: generation needs about {need / 2**30:.1f} GiB, the limit is {limit / 2**30:.1f} GiB"
            )
        fig["data"] = worker("data", cfg, max(limit, int(need * 1.2)), timeout_s)
        fig["data"]["code_hash"] = cfg["code_hash"]
        meta_path.write_text(json.dumps(fig["data"], indent=1, default=str))
    fig["data"]["today_path"] = str(ddir / "today.csv")

    if "score" in steps:
        log(f"== score: parcelrisk score, {sizes['rows']:,} items, {sizes['repeat']} run(s)")
        fig["score"] = score_cli(
            ddir / "today.csv",
            ddir / "store.duckdb",
            a.model,
            "1x",
            sizes["repeat"],
            limit,
            timeout_s,
        )
    if "stages" in steps:
        log("== stages: in-process stage times and the floor")
        fig["stages"] = worker("stages", cfg, limit, timeout_s)
    if "train" in steps:
        if not Path(cfg["train_path"]).exists():
            log(f"== train: generating {sizes['train_rows']:,} labelled items (once; cached)")
            worker("train_data", cfg, limit, timeout_s)
        log(f"== train: train_model on {sizes['train_rows']:,} labelled items")
        fig["train"] = worker("train", cfg, limit, timeout_s)
    if "features" in steps:
        log(f"== features: profiles vs pandas baseline, {sizes['rows']:,} items + history")
        fig["features"] = worker("features", cfg, limit, timeout_s)
    if "score10m" in steps:
        big = Path(cfg["big_path"])
        if not big.exists():
            log(
                f"== score10m: generating {sizes['rows'] * sizes['big_factor']:,} items (once; cached)"
            )
            worker("big_data", cfg, limit, timeout_s)
        n_big = count_rows(big)
        log(
            f"== score10m: parcelrisk score, {n_big:,} items, 1 run (memory limit {limit / 2**30:.1f} GiB)"
        )
        fig["score10m"] = score_cli(
            big, ddir / "store.duckdb", a.model, f"x{sizes['big_factor']}", 1, limit, timeout_s
        )
        fig["score10m"]["rows"] = n_big

    if "profile" in steps:
        log(
            f"== profile: parcelrisk score under py-spy, {fig['data'].get('today_rows', 0):,} items"
        )
        fig["profile"] = profile_score(
            ddir / "today.csv", ddir / "store.duckdb", a.model, limit, timeout_s
        )
        if "skipped" in fig["profile"]:
            log("    skipped: " + fig["profile"]["skipped"])
        else:
            for name, pct in fig["profile"]["inclusive_parcelrisk"][:15]:
                log(f"    {pct:5.1f}%  {name}")

    fig["total_s"] = time.perf_counter() - t_start
    fig["machine"]["loadavg_end"] = loadavg()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    raw_json = OUT / f"results-{stamp}{'-quick' if a.quick else ''}.json"
    raw_json.write_text(json.dumps(fig, indent=1, default=str))
    log(f"raw figures: {raw_json}")
    table = summarise(fig, a)
    log("")
    log(table)
    if not a.no_write:
        target = a.results or (OUT / "RESULTS.quick.md" if a.quick else RESULTS)
        write_section(target, table)
        log(f"wrote {target}")
    shutil.rmtree(RUN, ignore_errors=True)
    log(f"done in {fig['total_s']:.0f} s")
    return 0


# -- the report ------------------------------------------------------------------------------


def _f(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x:,.{digits}f}"


def summarise(fig: dict[str, Any], a: argparse.Namespace) -> str:
    s, m, d = fig["sizes"], fig["machine"], fig["data"]
    rows = d.get("today_rows", s["rows"])
    lines: list[str] = [SECTION, ""]
    lines += [
        f"- Date: {m['date']}; commit `{m['git']}` (sha256 of `parcelrisk/*.py` as run: `{m['tree']}`); machine: `nproc` = {m['nproc']} ({m['cpu']}), "
        f"{m['mem_total_gib']:.1f} GiB total memory; Python {m['python']}, "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + ".",
        f"- Load average (1, 5, 15 min) at start: {m['loadavg_start']}; at end: {m.get('loadavg_end', '?')}. "
        "The machine was shared: take ratios from the same run, not absolute seconds.",
        f"- Data: one synthetic simulation (`generate_manifest(seed={a.seed}, start={START}, days={s['history_days'] + 1}, "
        f"day_weights=...)`): {d.get('history_rows', 0):,} history items over {s['history_days']} days "
        f"(~{s['history_rows_per_day']:,}/day) loaded into a DuckDB store ({d.get('store_mb', 0):,.0f} MiB) with "
        f"`HistoryStore.add_manifest` one day at a time, then the next day's first {rows:,} items as the CSV to score. "
        f"Generation took {_f(d.get('generate', {}).get('s'))} s (peak {_f(d.get('generate', {}).get('peak_rss_mb'), 0)} MiB), "
        f"loading the store {_f(d.get('load history store', {}).get('s'))} s.",
        f"- Command: `python benchmarks/run.py{' --quick' if a.quick else ''}"
        + (f" --only {a.only}" if a.only else "")
        + "`"
        + (
            f"; end-to-end command (x{s['repeat']}, median): `{_rel(fig['score']['cmd'])}` under `/usr/bin/time -v`"
            if "score" in fig
            else ""
        )
        + f". Total harness time {fig['total_s'] / 60:.1f} min.",
        "",
    ]
    score, stages, train, feats, big = (
        fig.get(k) for k in ("score", "stages", "train", "features", "score10m")
    )
    floor_s = stages["floor_s"] if stages else None
    e2e_s = score.get("median_s") if score and not score.get("failed") else None
    lines += ["| figure | measured | rows/s | peak RSS | ratio |", "|---|---|---|---|---|"]

    def row(
        name: str, secs: float | None, n: int | None, peak: float | None, ratio: str = ""
    ) -> None:
        rate = f"{n / secs:,.0f}" if secs and n else ""
        lines.append(
            f"| {name} | {_f(secs, 2)} s | {rate} | {_f(peak, 0) + ' MiB' if peak else ''} | {ratio} |"
        )

    if score:
        if score.get("failed"):
            lines.append(
                f"| `parcelrisk score`, {rows:,} items | failed: {score['runs'][-1].get('killed') or 'rc ' + str(score['runs'][-1].get('rc'))} | | | |"
            )
        else:
            walls = ", ".join(f"{r['wall_s']:.1f}" for r in score["runs"])
            row(
                f"`parcelrisk score` end to end, {rows:,} items (runs: {walls} s)",
                e2e_s,
                rows,
                score["peak_rss_mb"],
                f"{e2e_s / floor_s:.1f}x floor" if floor_s else "",
            )
    if stages:
        st = stages["stages"]
        n = stages["rows_valid"]
        lines.append(
            f"| **in-process stages** ({n:,} valid rows, {stages['n_explained']:,} explained, {stages['n_features']} features, {stages['n_trees']} trees) | | | | |"
        )
        for name in (
            "read",
            "validate",
            "load model",
            "features",
            "predict",
            "select+assemble",
            "shap",
            "wording",
            "write",
        ):
            if name in st:
                label = {
                    "shap": "explain: TreeSHAP (`model.contributions`, selected rows)",
                    "wording": "explain: `explain_long` (wording, selected rows)",
                    "features": "features (`transform_with_context`, incl. profiles)",
                    "predict": "predict (`model.raw_margin`)",
                    "select+assemble": "select, referrals, assemble, schema check (rest of `score_frame`)",
                }.get(name, name)
                nn = stages["n_explained"] if name in ("shap", "wording") else n
                row(
                    label,
                    st[name]["s"],
                    nn,
                    st[name]["peak_rss_mb"]
                    if name in ("read", "validate", "write", "load model")
                    else None,
                    f"{st[name]['s'] / floor_s:.1f}x floor" if floor_s else "",
                )
        if "profiles (separate call)" in st:
            row(
                "of the features: `profile_features` alone (separate call)",
                st["profiles (separate call)"]["s"],
                n,
                None,
                f"{st['profiles (separate call)']['s'] / floor_s:.1f}x floor",
            )
        row(
            "in-process total (read .. write)",
            stages["in_process_total_s"],
            n,
            stages["peak_rss_mb"],
            f"{stages['in_process_total_s'] / floor_s:.1f}x floor",
        )
        fl = stages["floor"]
        row(
            "floor: `pyarrow.csv.read_csv`",
            fl["floor: pyarrow read_csv"]["s"],
            stages["rows_csv"],
            None,
        )
        row(
            "floor: `Booster.predict` (shipped model, built matrix)",
            fl["floor: Booster.predict"]["s"],
            n,
            None,
        )
        row("**floor** (read_csv + Booster.predict)", floor_s, n, None, "1.0x")
    if train:
        row(
            f"`train_model`, {train['rows']:,} labelled rows ({train['best_iteration']} trees)",
            train["train_model"]["s"],
            train["rows"],
            train["peak_rss_mb"],
            "",
        )
        row(
            "validate the training data (before `train_model`)",
            train["validate (training data)"]["s"],
            train["rows"],
            None,
        )
    if feats:
        n = feats["rows"]
        base_s = feats["baseline: pandas windows"]["s"]
        base_all = (
            base_s
            + feats["baseline: entity_keys"]["s"]
            + feats["baseline: history from store"]["s"]
        )
        lines.append(
            f"| **features** ({n:,} items, {feats['baseline_history_rows']:,} history rows in the window) | | | | |"
        )
        for name, label in (
            ("transform_with_context", "`transform_with_context` (all 70 features)"),
            (
                "profile_features (all 27)",
                "`profile_features`, all 27 profile columns (DuckDB, incl. keys)",
            ),
            (
                "profile_features (same 6)",
                "`profile_features` restricted to the 6 baseline columns",
            ),
            ("baseline: entity_keys", "baseline: `entity_keys` of the batch"),
            ("baseline: history from store", "baseline: history rows from the store into pandas"),
            (
                "baseline: pandas windows",
                "baseline: pandas `groupby().rolling()` / `merge_asof` windows",
            ),
        ):
            r = feats[name]
            ratio = f"{r['s'] / base_all:.2f}x baseline" if not name.startswith("baseline") else ""
            row(label, r["s"], n, r["peak_rss_mb"] - r["start_rss_mb"], ratio)
        row("**baseline total** (keys + history + windows, 6 columns)", base_all, n, None, "1.0x")
    if big:
        nb = big.get("rows", 0)
        if big.get("failed"):
            last = big["runs"][-1]
            lines.append(
                f"| `parcelrisk score`, {nb:,} items | **did not finish**: {last.get('killed') or 'rc ' + str(last.get('rc'))} after {last['wall_s']:.0f} s | | {last.get('sampled_peak_mb', 0):,.0f} MiB when stopped | |"
            )
        else:
            row(
                f"`parcelrisk score`, {nb:,} items (1 run)",
                big["median_s"],
                nb,
                big["peak_rss_mb"],
                f"{big['peak_rss_mb'] / score['peak_rss_mb']:.1f}x the {rows:,} peak"
                if score and not score.get("failed")
                else "",
            )

    # targets
    lines += [
        "",
        "Targets (each from this run):",
        "",
        "| target | measured | result |",
        "|---|---|---|",
    ]

    def target(name: str, measured: str, ok: bool | None) -> None:
        lines.append(
            f"| {name} | {measured} | {'n/a' if ok is None else ('**pass**' if ok else '**FAIL**')} |"
        )

    if e2e_s:
        rate = rows / e2e_s
        target(
            f">= {TARGETS['e2e_rows_per_s']:,} items/s end to end, {rows:,} items + {s['history_days']} days history",
            f"{rate:,.0f} items/s",
            rate >= TARGETS["e2e_rows_per_s"],
        )
    if e2e_s and floor_s:
        target(
            f"end to end <= {TARGETS['e2e_over_floor']:.0f}x floor",
            f"{e2e_s / floor_s:.1f}x ({e2e_s:.1f} s / {floor_s:.1f} s)",
            e2e_s / floor_s <= TARGETS["e2e_over_floor"],
        )
    if score and not score.get("failed"):
        gb = score["peak_rss_mb"] / 1024
        target(
            f"peak memory < {TARGETS['peak_gb_1m']:.0f} GB, {rows:,} items",
            f"{gb:.2f} GiB",
            gb < TARGETS["peak_gb_1m"],
        )
    if big:
        if big.get("failed"):
            last = big["runs"][-1]
            target(
                f"peak memory < {TARGETS['peak_gb_10m']:.0f} GB, {big.get('rows', 0):,} items streamed",
                f"not streamed: stopped at {last.get('sampled_peak_mb', 0) / 1024:.1f} GiB ({last.get('killed') or 'rc ' + str(last.get('rc'))})",
                False,
            )
        else:
            gb = big["peak_rss_mb"] / 1024
            target(
                f"peak memory < {TARGETS['peak_gb_10m']:.0f} GB, {big.get('rows', 0):,} items streamed",
                f"{gb:.2f} GiB",
                gb < TARGETS["peak_gb_10m"],
            )
    else:
        target(
            f"peak memory < {TARGETS['peak_gb_10m']:.0f} GB, {s['rows'] * s['big_factor']:,} items streamed",
            "not run (opt-in: `--only score10m`)",
            None,
        )
    if train:
        target(
            f"training {train['rows']:,} rows < {TARGETS['train_s'] / 60:.0f} min",
            f"{train['train_model']['s']:.0f} s",
            train["train_model"]["s"] < TARGETS["train_s"],
        )
    if feats:
        target(
            "pandas baseline == `profile_features` on a sample",
            f"{feats['verified_rows']:,} rows, {len(feats['verified_columns'])} columns equal",
            True,
        )
    prof = fig.get("profile")
    if prof and "skipped" not in prof:
        lines += [
            "",
            f"Profile of `parcelrisk score` ({d.get('today_rows', 0):,} items, py-spy `--idle`, "
            f"{prof['samples']:,} samples, {prof['wall_s']:.0f} s under the profiler; raw stacks in `{prof['raw']}`): "
            "share of wall time with the function on the stack (inclusive), parcelrisk functions, and the top self times.",
            "",
            "| inclusive % | function |",
            "|---|---|",
        ]
        lines += [f"| {pct:.1f} | `{name}` |" for name, pct in prof["inclusive_parcelrisk"][:25]]
        lines += ["", "| self % | function |", "|---|---|"]
        lines += [f"| {pct:.1f} | `{name}` |" for name, pct in prof["self"][:15]]
    elif prof:
        lines.append(f"\nProfile skipped: {prof['skipped']}")
    for note in fig.get("notes", []):
        lines.append(f"\n{note}")
    return "\n".join(lines) + "\n"


def _rel(cmd: str) -> str:
    return cmd.replace(str(ROOT) + "/", "").replace(str(Path(python()).parent) + "/", "")


def write_section(path: Path, section: str) -> None:
    """Replace our section of RESULTS.md (or append it); other sections are kept as they are."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start = text.find(SECTION)
    if start < 0:
        new = text.rstrip("\n") + ("\n\n" if text else "") + section
    else:
        nxt = text.find("\n## ", start + len(SECTION))
        manual = ""
        if nxt >= 0:
            rest = text[nxt + 1 :]
        else:
            rest = ""
        # keep hand-written notes placed under "### Profile" in our section
        keep = text.find("\n### ", start, nxt if nxt >= 0 else len(text))
        if keep >= 0:
            manual = text[keep + 1 : nxt if nxt >= 0 else len(text)].rstrip("\n") + "\n"
        new = (
            text[:start]
            + section
            + ("\n" + manual if manual else "")
            + ("\n" + rest if rest else "")
        )
    path.write_text(new.rstrip("\n") + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
