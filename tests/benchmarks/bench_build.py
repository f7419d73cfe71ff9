"""Benchmark: sample generation and the warehouse build, median wall time and peak memory.

    .venv/bin/python tests/benchmarks/bench_build.py [--profile mps] [--runs 3]

Each step runs in a fresh process (`/usr/bin/time`-style peak RSS via resource.getrusage of the
child), so imports count as a user would feel them. The raw-read floor is DuckDB reading every
extract CSV into memory, the least any build must do; the build is reported as a ratio to it.
Not collected by pytest (file name bench_*.py): timings belong in the README, not in assertions.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench_all import FLOOR, repeat  # one wrapper for wall time and peak memory: bench_all's

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def measure(label: str, make_args, runs: int) -> dict:
    return {"step": label, **repeat(make_args, runs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="mps", choices=["small", "mps", "national"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=2016)
    opts = ap.parse_args()

    eqdash = [PY, "-m", "dashboard.cli"]
    with tempfile.TemporaryDirectory(prefix="eqdash-bench-") as tmp:
        data = Path(tmp) / "data"
        rows = [measure(f"sample --profile {opts.profile}",
                        lambda i: [*eqdash, "sample", "--profile", opts.profile, "--seed", str(opts.seed),
                                   "--out", str(data)], opts.runs)]
        rows.append(measure("raw read floor (DuckDB read_csv of every extract)",
                            lambda i: [PY, "-c", FLOOR, str(data)], opts.runs))
        rows.append(measure("build (contracts + staging + marts)",
                            lambda i: [*eqdash, "build", "--data", str(data), "--db", str(Path(tmp) / f"w{i}.duckdb")],
                            opts.runs))
    floor = rows[1]["median_s"]
    print(f"\nprofile {opts.profile}, seed {opts.seed}, {opts.runs} runs each, {Path('/proc/cpuinfo').read_text().count('processor')} cores\n")
    print("| step | median (s) | fastest (s) | peak memory (MiB) | ratio to raw read |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['step']} | {r['median_s']:.1f} | {r['min_s']:.1f} | {r['peak_mib']:.0f} | "
              f"{r['median_s'] / floor:.1f}x |")


if __name__ == "__main__":
    main()
