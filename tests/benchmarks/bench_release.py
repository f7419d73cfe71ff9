"""Release audit over every financial year of a sample: cells checked, cells at risk, the share of
counts hidden (by the small-count rule alone, and after the audit's repairs) and the time taken.

    .venv/bin/python tests/benchmarks/bench_release.py --db WAREHOUSE

Not a timed test: a benchmark run by hand (the machine is shared; the README says when and how)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from metrics.release import FAMILIES, release_for, year_blocks
from metrics.release_audit import audit_year, mappings_for
from metrics.warehouse import Warehouse


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--newest-first", action="store_true", help="The latest years first")
    args = ap.parse_args()
    with Warehouse(args.db) as wh:
        rel = release_for(wh)
        mappings = mappings_for(rel.builder)
        total = dict(cells=0, primary=0, hidden=0, withheld=0, checked=0, risk=0, seconds=0.0)
        print("| year | counts in breakdowns | hidden by the small-count rule | hidden in all | withheld | cells checked | at risk | seconds |")
        print("|---|---|---|---|---|---|---|---|")
        for fy in sorted(year_blocks(wh), reverse=args.newest_first):
            started = time.perf_counter()
            row = dict(cells=0, primary=0, hidden=0, withheld=0, checked=0, risk=0)
            for name in FAMILIES:
                year = rel.year(name, fy)  # protected: audit, repair, audit again
                # the protecting audit's result; a year decided by an earlier run is audited afresh
                audit = rel.audits.get((name, fy)) or audit_year(year, mappings)
                cells = [c for c in year.cells.values() if c.status not in ("zero", "exact")]
                row["cells"] += len(cells)
                row["primary"] += sum(c.status == "primary" for c in cells)
                row["hidden"] += sum(c.is_hidden for c in cells)
                row["withheld"] += sum(c.status == "withheld" for c in cells)
                row["checked"] += len(audit.targets)
                row["risk"] += len(audit.at_risk)
            seconds = time.perf_counter() - started
            n = max(row["cells"], 1)
            print(f"| FY{fy}/{(fy + 1) % 100:02d} | {row['cells']:,} | {row['primary'] / n:.1%} | {row['hidden'] / n:.1%} "
                  f"| {row['withheld'] / n:.1%} | {row['checked']:,} | {row['risk']} | {seconds:.0f} |", flush=True)
            for k in row:
                total[k] += row[k]
            total["seconds"] += seconds
        n = max(total["cells"], 1)
        print(f"| all | {total['cells']:,} | {total['primary'] / n:.1%} | {total['hidden'] / n:.1%} | "
              f"{total['withheld'] / n:.1%} | {total['checked']:,} | {total['risk']} | {total['seconds']:.0f} |")


if __name__ == "__main__":
    main()
