"""Benchmark: a previous commit's build against this checkout's, alternating, with the raw-read floor.

    .venv/bin/python tests/benchmarks/bench_compare.py --previous 8b9d3ae --data DIR [--rounds 11]

On a shared machine one build's time moves by seconds between runs, so two codes are compared in
the same run: each round runs the floor (bench_all's FLOOR), `eqdash build` by the previous commit
(a git worktree of it in a temporary folder, on this checkout's .venv) and by this checkout, each
in a fresh process. It prints each round, then the medians of wall time and of CPU (the process's
user + system time, its great-expectations worker included), each build's ratio to the floor, and
the paired difference (this checkout minus the previous commit) round by round: a difference
smaller than the machine's noise shows as a paired median near zero and a split count of wins.
Not collected by pytest (file name bench_*.py): timings belong in the README, not in assertions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_all import AS_OF, FLOOR

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, with the children it waited for) of one process."""
    env = {**os.environ, "PYTHONPATH": str(cwd)}  # the tree's own modules, before the editable install
    started = time.perf_counter()
    process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed in {cwd}: {process.stderr.read().decode()[-400:]}")
    process.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime


def compare(data: Path, previous_tree: Path, rounds: int, out: Path) -> dict[str, list[tuple[float, float]]]:
    build = [PY, "-m", "dashboard.cli", "build", "--data", str(data), "--as-of", AS_OF, "--db"]
    steps = {"floor": ([PY, "-c", FLOOR, str(data)], ROOT),
             "previous": ([*build, str(out / "previous.duckdb")], previous_tree),
             "this": ([*build, str(out / "this.duckdb")], ROOT)}
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in steps}
    for number in range(rounds):
        for label, (cmd, cwd) in steps.items():
            results[label].append(timed(cmd, cwd))
            wall, cpu = results[label][-1]
            print(f"round {number + 1}: {label:8s} {wall:6.2f} s  {cpu:6.2f} CPU-s", flush=True)
    return results


def report(results: dict[str, list[tuple[float, float]]]) -> None:
    floor = statistics.median(w for w, _ in results["floor"])
    for label, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        ratio = "" if label == "floor" else f"  {wall / floor:.2f}x the floor"
        print(f"{label:8s} median {wall:6.2f} s, {statistics.median(c for _, c in runs):6.2f} CPU-s{ratio}")
    paired = [t - p for (t, _), (p, _) in zip(results["this"], results["previous"], strict=True)]
    print(f"paired (this - previous): median {statistics.median(paired):+.2f} s; this quicker in "
          f"{sum(d < 0 for d in paired)} of {len(paired)} rounds")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--previous", required=True, help="the commit to compare against (e.g. main~3)")
    ap.add_argument("--data", type=Path, required=True, help="extracts to build (eqdash sample --profile national --out DIR)")
    ap.add_argument("--rounds", type=int, default=7)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="eqdash-compare-") as tmp:
        tree = Path(tmp) / "previous"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), opts.previous], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            report(compare(opts.data.resolve(), tree, opts.rounds, Path(tmp)))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False,
                           capture_output=True)


if __name__ == "__main__":
    main()
