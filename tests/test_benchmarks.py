"""The benchmark harness still runs: ``benchmarks/run.py --quick`` end to end, at tiny sizes.

It generates a small history store and day (cached under ``benchmarks/.cache/``), runs every
step once (``parcelrisk score`` as a subprocess, the in-process stages and floor, training, the
features against the pandas baseline with its equality check, and the streamed ``score10m``
step) and must exit 0 and print every stage. Figures are not checked: they depend on the
machine.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

STAGES = (
    "== data",
    "== score",
    "== stages",
    "== train",
    "== features",
    "== score10m",
    # in-process stages of the scoring path, and the floor
    "| read |",
    "| validate |",
    "| features (`transform_with_context`",
    "| predict (`model.raw_margin`)",
    "| explain: TreeSHAP",
    "| explain: `explain_long`",
    "| write |",
    "floor: `pyarrow.csv.read_csv`",
    "floor: `Booster.predict`",
    "**floor**",
    # end to end, training, features vs baseline, 10x file
    "`parcelrisk score` end to end",
    "`train_model`",
    "`profile_features`, all 27",
    "baseline: pandas",
    "baseline == profile_features on",
    "items streamed",
)


@pytest.mark.slow
def test_quick_benchmark_runs_every_stage() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--no-write"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    missing = [stage for stage in STAGES if stage not in output]
    assert not missing, f"stages not printed: {missing}\n{output[-4000:]}"
    assert "did not finish" not in output, output[-4000:]
