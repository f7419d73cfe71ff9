"""Time the SPOC batch: every business area plus the force, PDF + XLSX, on a built warehouse.

Usage: .venv/bin/python tests/benchmarks/bench_export.py --db /tmp/eqdash/exp-mps.duckdb [--month 2026-09]
Prints each run's seconds, the median of the runs and the peak resident memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import os
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
    ap.add_argument("--workers", type=int, default=None, help="processes (default: up to 2)")
    ap.add_argument("--json", action="store_true", help="one JSON line for bench_all.py")
    args = ap.parse_args()
    times, cpu = [], []
    with Warehouse(args.db) as wh:
        last = wh.query("select max(month_start) as m from dim_calendar")["m"][0]
        month = date.fromisoformat(f"{args.month}-01") if args.month else date(
            last.year - (last.month == 1), (last.month - 2) % 12 + 1, 1)
        for run in range(args.runs):
            with tempfile.TemporaryDirectory() as out:
                cpu0 = _cpu()
                t = time.perf_counter()
                files = export_packs(wh, month, area="all", formats=args.formats.split(","), out_dir=Path(out),
                                     workers=args.workers)
                times.append(time.perf_counter() - t)
                cpu.append(_cpu() - cpu0)
            print(f"run {run + 1}: {times[-1]:.1f} s wall, {cpu[-1]:.1f} s CPU (this process and its workers), "
                  f"{len(files)} files; load average {os.getloadavg()[0]:.1f}", flush=True,
                  file=sys.stderr if args.json else sys.stdout)
    peak_mb = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    if args.json:
        import json

        print(json.dumps({"median_s": statistics.median(times), "cpu_s": statistics.median(cpu), "files": len(files),
                          "peak_mib": peak_mb, "month": f"{month:%Y-%m}", "runs": len(times)}))
        return
    print(f"median {statistics.median(times):.1f} s wall, {statistics.median(cpu):.1f} s CPU over {len(times)} runs; "
          f"peak RSS of one process {peak_mb:.0f} MB; month {month:%Y-%m}")


def _cpu() -> float:
    """User + system seconds of this process and its finished children (the worker pool)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


if __name__ == "__main__":
    main()
