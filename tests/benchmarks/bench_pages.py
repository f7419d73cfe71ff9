"""Warm page-render times of the dashboard (AppTest, no browser), one row per page and role.

Each page is run once to fill the caches, then `--repeat` more times; the table gives the median
and the slowest warm run in milliseconds (target: median < 300 ms at the mps profile).

    .venv/bin/eqdash sample --profile mps --out /tmp/mps && .venv/bin/eqdash build --data /tmp/mps --db /tmp/mps.duckdb
    .venv/bin/python tests/benchmarks/bench_pages.py --db /tmp/mps.duckdb [--roles analyst,staff_association]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="a built warehouse (mps profile for the target)")
    parser.add_argument("--roles", default="analyst,board,staff_association")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="one JSON line for bench_all.py")
    args = parser.parse_args()
    os.environ["EQDASH_DB"] = str(args.db.resolve())

    from streamlit.testing.v1 import AppTest

    from dashboard.app import ROLE_PAGES

    rows = []
    for role in args.roles.split(","):
        os.environ["EQDASH_ROLE"] = role
        at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=600)
        at.run()
        for page in ROLE_PAGES[role]:
            at.switch_page(f"app_pages/{page}.py")
            t0 = time.perf_counter()
            at.run()
            cold = time.perf_counter() - t0
            if at.exception:
                print(f"{role}/{page}: exception: {at.exception[0].message}", file=sys.stderr)
            warm = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                at.run()
                warm.append(time.perf_counter() - t0)
            rows.append((role, page, cold, statistics.median(warm), max(warm)))

    if args.json:
        import json
        import resource

        print(json.dumps({"pages": [{"role": r, "page": p, "first_s": c, "warm_median_s": m, "warm_max_s": w}
                                    for r, p, c, m, w in rows],
                          "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
        return 0
    print(f"warehouse: {args.db}  ({args.repeat} warm runs per page)")
    print(f"{'role':<18} {'page':<14} {'first run s':>11} {'warm median ms':>15} {'warm max ms':>12}")
    for role, page, cold, med, worst in rows:
        flag = "" if med < 0.3 else "  > 300 ms"
        print(f"{role:<18} {page:<14} {cold:>11.2f} {1000 * med:>15.0f} {1000 * worst:>12.0f}{flag}")
    meds = [r[3] for r in rows]
    print(f"median of page medians: {1000 * statistics.median(meds):.0f} ms; slowest page median: {1000 * max(meds):.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
