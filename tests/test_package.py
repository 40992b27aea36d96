"""The wheel: built from this checkout, installed into a fresh environment outside it, it scores.

``models/default`` and ``features/`` must travel inside the wheel (as ``parcelrisk/_data``);
the installed ``parcelrisk score`` on the committed sample gives the same bytes as this checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "synthetic" / "manifest_today.csv"
FIXED = "2026-03-02T06:00:00Z"
SOURCES = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "parcelrisk",
    "models",
    "features",
)


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode in (0, 2), result.stdout[-2000:] + result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_wheel_installed_outside_the_checkout_scores_like_the_checkout(tmp_path):
    # build from a copy, so the checkout gets no build/ or egg-info folders
    source = tmp_path / "src"
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PARCELRISK_STORE")}
    clean |= {"PARCELRISK_SECRET": "wheel-test", "PIP_NO_INDEX": "1"}
    dist = tmp_path / "dist"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(source),
        ],
        tmp_path,
        clean,
    )
    wheel = next(dist.glob("parcelrisk-*.whl"))
    # a fresh environment; the dependencies come from this interpreter's site-packages,
    # added as plain paths (.pth files in them are not run: no editable parcelrisk leaks in;
    # the checkout itself is not a site-packages folder)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = [p for p in sys.path if p.endswith("site-packages")]
    Path(purelib, "deps.pth").write_text("\n".join(deps) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", str(wheel)],
         tmp_path, clean)  # fmt: skip

    work = tmp_path / "work"
    work.mkdir()
    where = _run([str(python), "-c", "import parcelrisk; print(parcelrisk.__file__)"], work, clean)
    assert where.stdout.strip().startswith(str(venv)), where.stdout
    assert not where.stdout.strip().startswith(str(ROOT))
    args = ["score", str(SAMPLE), "--no-store", "--scored-at", FIXED]
    _run([str(venv / "bin" / "parcelrisk"), *args, "--out", str(work / "wheel.csv")], work, clean)
    here = dict(clean, PYTHONPATH=str(ROOT))
    _run([sys.executable, "-m", "parcelrisk.cli", *args, "--out", str(work / "checkout.csv")],
         ROOT, here)  # fmt: skip
    assert (work / "wheel.csv").read_bytes() == (work / "checkout.csv").read_bytes()
    loaded = _run(
        [str(python), "-c", "import parcelrisk; m = parcelrisk.load_model(); print(m.version)"],
        work,
        clean,
    )
    assert loaded.stdout.strip().startswith("pr-")
