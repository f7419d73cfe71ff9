"""Time every `eqdash table` on a built warehouse: each registry table, warm, median of runs.

    .venv/bin/python tests/benchmarks/bench_tables.py --db WAREHOUSE [--repeat 5] [--json]

Two filter sets per table, as the dashboard asks for them: the whole period and the latest
financial year. The first call of each fills DuckDB's caches and is not counted. `--json` prints
one JSON line (per-table medians in seconds and this process's peak memory) for bench_all.py.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from metrics.queries import Filters  # noqa: E402
from metrics.tables import REGISTRY, get_table  # noqa: E402
from metrics.warehouse import Warehouse  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results: dict[str, float] = {}
    with Warehouse(args.db) as wh:
        fy = wh.query("""select min(month_start) as s, max(month_start) as e from dim_calendar
                         where financial_year = (select max(financial_year) from dim_calendar)""").row(0)
        filter_sets = {"all": Filters(), "latest FY": Filters(start=fy[0], end=fy[1])}
        for name in REGISTRY:
            times = []
            for f in filter_sets.values():
                get_table(wh, name, f)  # warm-up
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    get_table(wh, name, f)
                    times.append(time.perf_counter() - t)
            results[name] = statistics.median(times)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.json:
        print(json.dumps({"tables": results, "peak_mib": peak}))
        return 0
    for name, s in sorted(results.items(), key=lambda kv: -kv[1]):
        print(f"{name:<36} {1000 * s:8.1f} ms")
    print(f"{len(results)} tables: sum of medians {sum(results.values()):.2f} s, slowest "
          f"{max(results, key=results.get)} {1000 * max(results.values()):.0f} ms; peak {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
