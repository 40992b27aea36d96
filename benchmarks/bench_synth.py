"""Benchmark: generate 1,000,000 synthetic items and write them as Parquet.

Run: ``python benchmarks/bench_synth.py [rows]``. Prints rows/s and peak RSS; the file goes to a
temporary folder outside the repository and is deleted afterwards.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from parcelrisk.synthetic import generate_manifest, write_manifest


def main(rows: int = 1_000_000) -> dict[str, float]:
    """Time generation and Parquet writing; return the figures."""
    t0 = time.perf_counter()
    df = generate_manifest(rows, seed=1, days=30)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_manifest(df, Path(tmp) / "bench.parquet")
        size = os.path.getsize(path)
    t2 = time.perf_counter()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    figures = {
        "rows": rows,
        "generate_s": t1 - t0,
        "write_s": t2 - t1,
        "total_s": t2 - t0,
        "rows_per_s": rows / (t2 - t0),
        "peak_rss_mib": peak_mib,
        "parquet_mib": size / 2**20,
    }
    for key, val in figures.items():
        print(f"{key:>14}: {val:,.2f}" if isinstance(val, float) else f"{key:>14}: {val:,}")
    return figures


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
