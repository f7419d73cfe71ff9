"""Time the SPOC batch: every business area plus the force, PDF + XLSX, on a built warehouse.

Usage: .venv/bin/python tests/benchmarks/bench_export.py --db /tmp/eqdash/exp-mps.duckdb [--month 2026-09]
Prints each run's seconds, the median of the runs and the peak resident memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from dashboard.exports.batch import export_packs  # noqa: E402
from metrics.warehouse import Warehouse  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--month", default=None, help="YYYY-MM (default: the last full month)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--formats", default="pdf,xlsx")
    args = ap.parse_args()
    times = []
    with Warehouse(args.db) as wh:
        last = wh.query("select max(month_start) as m from dim_calendar")["m"][0]
        month = date.fromisoformat(f"{args.month}-01") if args.month else date(
            last.year - (last.month == 1), (last.month - 2) % 12 + 1, 1)
        for run in range(args.runs):
            with tempfile.TemporaryDirectory() as out:
                t = time.perf_counter()
                files = export_packs(wh, month, area="all", formats=args.formats.split(","), out_dir=Path(out))
                times.append(time.perf_counter() - t)
            print(f"run {run + 1}: {times[-1]:.1f} s, {len(files)} files", flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"median {statistics.median(times):.1f} s over {len(times)} runs; peak RSS {peak_mb:.0f} MB; month {month:%Y-%m}")


if __name__ == "__main__":
    main()
