"""Benchmark: the build as one person_id is copied 1,000, 10,000 and 100,000 times.

    .venv/bin/python tests/benchmarks/bench_duplicates.py [--profile small] [--runs 3] [--json]

Validation must grow linearly with rows and with duplicates: every copy of a duplicated key is
quarantined (rule unique), so the build runs with --accept-quarantine (the policy would otherwise
block it, which is the point of the policy, not of this benchmark). Each build runs in a fresh
process; the table gives its median wall time and peak memory and its ratio to the same profile's
normal build. Not collected by pytest: timings belong in the README, not in assertions.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from bench_all import PY, SEED, repeat

COPIES = (1_000, 10_000, 100_000)


def with_copies(plain: Path, target: Path, copies: int) -> None:
    """The plain sample with the first person's row repeated ``copies`` more times at the end."""
    shutil.copytree(plain, target)
    lines = (plain / "people.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    with open(target / "people.csv", "a", encoding="utf-8") as handle:
        handle.write(lines[1] * copies)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="small", choices=["small", "mps"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print one JSON line instead of the table")
    opts = ap.parse_args()
    eqdash = [PY, "-m", "dashboard.cli"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="eqdash-dupes-") as tmp:
        plain = Path(tmp) / "plain"
        repeat(lambda i: [*eqdash, "sample", "--profile", opts.profile, "--seed", str(SEED), "--out", str(plain)], 1)
        print("[normal] build", file=sys.stderr, flush=True)
        normal = repeat(lambda i: [*eqdash, "build", "--data", str(plain), "--db", str(Path(tmp) / f"n{i}.duckdb")],
                        opts.runs)
        rows.append({"copies": 0, **normal})
        for copies in COPIES:
            data = Path(tmp) / f"copies-{copies}"
            with_copies(plain, data, copies)
            print(f"[{copies:,} copies] build", file=sys.stderr, flush=True)
            res = repeat(lambda i, d=data, c=copies: [*eqdash, "build", "--data", str(d), "--accept-quarantine",
                                                      "--db", str(Path(tmp) / f"d{c}-{i}.duckdb")], opts.runs)
            rows.append({"copies": copies, **res})
    base = rows[0]["median_s"]
    for r in rows:
        r["ratio"] = r["median_s"] / base
    if opts.json:
        print(json.dumps({"profile": opts.profile, "runs": opts.runs, "rows": rows}))
        return
    print(f"\nprofile {opts.profile}, seed {SEED}, median of {opts.runs} fresh-process builds\n")
    print("| people.csv | build (s) | peak memory (MiB) | ratio to the normal build |")
    print("|---|---|---|---|")
    for r in rows:
        label = "as generated" if r["copies"] == 0 else f"+ {r['copies']:,} copies of one person_id"
        print(f"| {label} | {r['median_s']:.1f} | {r['peak_mib']:.0f} | {r['ratio']:.2f}x |")


if __name__ == "__main__":
    main()
