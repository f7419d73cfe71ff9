"""Benchmark: sample generation and the warehouse build, median wall time and peak memory.

    .venv/bin/python tests/benchmarks/bench_build.py [--profile mps] [--runs 3]

Each step runs in a fresh process (`/usr/bin/time`-style peak RSS via resource.getrusage of the
child), so imports count as a user would feel them. The raw-read floor is DuckDB reading every
extract CSV into memory, the least any build must do; the build is reported as a ratio to it.
Not collected by pytest (file name bench_*.py): timings belong in the README, not in assertions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable

FLOOR = """
import sys, duckdb, pathlib
con = duckdb.connect()
for f in sorted(pathlib.Path(sys.argv[1]).glob('*.csv')):
    con.execute(f"create table {f.stem} as select * from read_csv(?, all_varchar=true)", [str(f)])
"""


def measure(label: str, make_args, runs: int) -> dict:
    walls, peaks = [], []
    for i in range(runs):
        # a fresh interpreter for the peak: RUSAGE_CHILDREN keeps the max over all children, so run
        # the measured step inside a wrapper that reports its own child's peak
        wrapper = [PY, "-c", (
            "import resource, subprocess, sys, time, json;"
            "t = time.perf_counter(); p = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
            "w = time.perf_counter() - t;"
            "sys.stderr.write(p.stderr[-2000:]) if p.returncode else None;"
            "print(json.dumps({'wall': w, 'peak': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,"
            " 'rc': p.returncode}))"
        ), *make_args(i)]
        out = subprocess.run(wrapper, cwd=ROOT, capture_output=True, text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if result["rc"] != 0:
            raise SystemExit(f"{label} failed:\n{out.stderr}")
        walls.append(result["wall"])
        peaks.append(result["peak"])
    return {"step": label, "median_s": statistics.median(walls), "min_s": min(walls),
            "peak_mib": max(peaks), "runs": runs}


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
