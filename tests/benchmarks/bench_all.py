"""Every benchmark at force (mps) and national scale, and the README's Performance table.

    .venv/bin/python tests/benchmarks/bench_all.py [--profiles mps,national] [--runs 3] [--readme]

For each profile: generate the sample, then measure (median of --runs, each in a fresh process,
wall time and the process's peak resident memory) the raw-read floor (DuckDB reading every extract
CSV, the least any build must do), contract validation alone, the whole warehouse build, every
`eqdash table`, a warm render of every dashboard page, the SPOC batch export and the
misconduct-referral disparity table against its peers (bench_disparity.py). With --readme the
results replace the block between the bench markers in README.md. Not collected by pytest: the
machine is shared and noisy, so timings are reported here, never asserted in tests; compare
ratios taken in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PY = sys.executable
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"

FLOOR = """
import sys, duckdb, pathlib
con = duckdb.connect()
for f in sorted(pathlib.Path(sys.argv[1]).glob('*.csv')):
    con.execute(f"create table {f.stem} as select * from read_csv(?, all_varchar=true)", [str(f)])
"""

VALIDATE = """
import sys
from datetime import date
from pathlib import Path
from data_contracts.validate import validate_dataset
from metrics import config
validate_dataset(Path(sys.argv[1]), config.EXTRACTS, as_of=date.fromisoformat(sys.argv[2]))
"""

# The wrapper runs one step as its child and reports the child's wall time, peak memory and the
# last line it printed (the JSON of the step scripts that report their own numbers).
WRAPPER = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter(); p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "w = time.perf_counter() - t\n"
    "lines = p.stdout.strip().splitlines()\n"
    "print(json.dumps({'wall': w, 'peak': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,\n"
    "                  'rc': p.returncode, 'last': lines[-1] if lines else '', 'err': p.stderr[-3000:]}))\n"
)

AS_OF = "2026-10-31"  # the samples' extract date (manifest.json): the analysis edge
PEER_PERIOD = ("2025-04", "2026-03")  # FY2025/26, the last complete financial year of the samples
SEED = 2016


def step(cmd: list[str], env: dict | None = None) -> dict:
    """Run cmd in a fresh process: its wall time, peak memory and last line of output (env: the
    child's whole environment, default this one's)."""
    out = subprocess.run([PY, "-c", WRAPPER, *cmd], cwd=ROOT, capture_output=True, text=True, env=env)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise SystemExit(f"benchmark step failed: {' '.join(cmd)}\n{result['err']}")
    return result


def repeat(cmd_for_run, runs: int) -> dict:
    results = [step(cmd_for_run(i)) for i in range(runs)]
    walls = [r["wall"] for r in results]
    return {"median_s": statistics.median(walls), "min_s": min(walls), "peak_mib": max(r["peak"] for r in results),
            "runs": runs, "last": results[-1]["last"]}


def bench_profile(profile: str, runs: int, tmp: Path, *, spoc: bool, peers: bool) -> dict:
    eqdash = [PY, "-m", "dashboard.cli"]
    data, db = tmp / f"{profile}-data", tmp / f"{profile}.duckdb"
    res: dict = {"profile": profile}
    print(f"[{profile}] sample", file=sys.stderr, flush=True)
    res["sample"] = repeat(lambda i: [*eqdash, "sample", "--profile", profile, "--seed", str(SEED), "--out", str(data)],
                           runs)
    manifest = json.loads((data / "manifest.json").read_text())
    res["rows"] = sum(manifest.get("rows", {}).values()) if isinstance(manifest.get("rows"), dict) else None
    res["people"] = _count_rows(data / "people.csv")
    print(f"[{profile}] floor", file=sys.stderr, flush=True)
    res["floor"] = repeat(lambda i: [PY, "-c", FLOOR, str(data)], runs)
    print(f"[{profile}] validate", file=sys.stderr, flush=True)
    res["validate"] = repeat(lambda i: [PY, "-c", VALIDATE, str(data), AS_OF], runs)
    print(f"[{profile}] build", file=sys.stderr, flush=True)
    res["build"] = repeat(lambda i: [*eqdash, "build", "--data", str(data), "--db", str(db), "--as-of", AS_OF], runs)
    print(f"[{profile}] tables", file=sys.stderr, flush=True)
    t = step([PY, str(HERE / "bench_tables.py"), "--db", str(db), "--repeat", str(max(runs, 3)), "--json"])
    tables = json.loads(t["last"])["tables"]
    res["tables"] = {"sum_s": sum(tables.values()), "median_s": statistics.median(tables.values()),
                     "slowest": max(tables, key=tables.get), "slowest_s": max(tables.values()), "n": len(tables),
                     "peak_mib": t["peak"], "each": tables}
    print(f"[{profile}] pages", file=sys.stderr, flush=True)
    p = step([PY, str(HERE / "bench_pages.py"), "--db", str(db), "--repeat", str(max(runs, 3)), "--json"])
    pages = json.loads(p["last"])["pages"]
    warm = [x["warm_median_s"] for x in pages]
    slow = max(pages, key=lambda x: x["warm_median_s"])
    res["pages"] = {"median_s": statistics.median(warm), "slowest_s": slow["warm_median_s"],
                    "slowest": f"{slow['role']}/{slow['page']}", "n": len(pages), "peak_mib": p["peak"]}
    if spoc:
        print(f"[{profile}] spoc", file=sys.stderr, flush=True)
        e = step([PY, str(HERE / "bench_export.py"), "--db", str(db), "--runs", str(runs), "--json"])
        res["spoc"] = {**json.loads(e["last"]), "wall_s": e["wall"]}
    if peers and (HERE / "bench_disparity.py").exists():
        print(f"[{profile}] peers", file=sys.stderr, flush=True)
        # The latest complete financial year (the annual report's question), all three peers;
        # fairlearn once: it takes minutes a run at national (the full period would need ~20 GB).
        d = step([PY, str(HERE / "bench_disparity.py"), "--db", str(db), "--runs", str(runs), "--fairlearn-runs", "1",
                  "--from", PEER_PERIOD[0], "--to", PEER_PERIOD[1], "--json"])
        res["peers"] = json.loads(d["last"])
    return res


def _count_rows(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fh) - 1


def _s(x: float) -> str:
    return f"{x:.1f}" if x >= 1 else f"{x:.2f}"


def _ms(x: float) -> str:
    return f"{1000 * x:.0f} ms"


def markdown(results: list[dict], runs: int) -> str:
    cores = os.cpu_count()
    lines = [
        f"Measured by `.venv/bin/python tests/benchmarks/bench_all.py --profiles "
        f"{','.join(r['profile'] for r in results)} --runs {runs} --readme` on {date.today():%d %b %Y}: "
        f"{cores} cores, Python {platform.python_version()}, seed {SEED}; median of {runs} runs, each step in a "
        "fresh process; peak = that process's maximum resident memory.",
        "",
        "| step | " + " | ".join(f"{r['profile']} ({r['people']:,} people on record)" for r in results) + " | target |",
        "|---|" + "---|" * len(results) + "---|",
    ]

    def row(label: str, cells: list[str], target: str = "") -> None:
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")

    row("sample generation", [f"{_s(r['sample']['median_s'])} s, {r['sample']['peak_mib']:,.0f} MiB" for r in results])
    row("raw read floor (DuckDB reads every CSV)",
        [f"{_s(r['floor']['median_s'])} s, {r['floor']['peak_mib']:,.0f} MiB" for r in results])
    row("contract validation alone (GX + polars)",
        [f"{_s(r['validate']['median_s'])} s, {r['validate']['peak_mib']:,.0f} MiB" for r in results])
    row("warehouse build (validate + load + models)",
        [f"**{_s(r['build']['median_s'])} s**, {r['build']['peak_mib']:,.0f} MiB" for r in results],
        "mps < 20 s; national < 120 s, < 4 GB")
    row("build / raw read floor", [f"{r['build']['median_s'] / r['floor']['median_s']:.1f}x" for r in results],
        "national within 5x")
    row("every `eqdash table` (warm; sum of medians)",
        [f"{r['tables']['n']} tables: {_s(r['tables']['sum_s'])} s; median {_ms(r['tables']['median_s'])}, slowest "
         f"`{r['tables']['slowest']}` {_ms(r['tables']['slowest_s'])}" for r in results])
    row("warm page render (every page x role)",
        [f"median {_ms(r['pages']['median_s'])}, slowest {_ms(r['pages']['slowest_s'])} ({r['pages']['slowest']})"
         for r in results], "< 300 ms at mps")
    row("SPOC batch, PDF + XLSX, every area + force",
        [f"{_s(r['spoc']['median_s'])} s for {r['spoc']['files']} files ({r['spoc']['month']}), "
         f"{r['spoc']['peak_mib']:,.0f} MiB per process" if "spoc" in r else "not run" for r in results],
        "< 60 s at mps")
    if any("peers" in r for r in results):
        names = []
        for r in results:
            for impl in r.get("peers", {}).get("implementations", []):
                if impl["name"] not in names:
                    names.append(impl["name"])
        for name in names:
            cells = []
            for r in results:
                impl = next((i for i in r.get("peers", {}).get("implementations", []) if i["name"] == name), None)
                cells.append("not run" if impl is None else
                             f"{_s(impl['median_s'])} s ({_s(impl['compute_s'])} s after imports), "
                             f"{impl['peak_mib']:,.0f} MiB; {impl['ratio']:.1f}x / {impl['compute_ratio']:.1f}x "
                             f"the product; numbers agree: {impl['agree']}")
            row(f"disparity table FY2025/26: {name}", cells,
                "product >= 10x faster than fairlearn, faster than pandas at national" if name != "product" else "")
    return "\n".join(lines)


def write_readme(block: str) -> None:
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} ... {END} block to replace")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{block}\n{END}{tail}", encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profiles", default="mps,national")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--spoc-profiles", default="mps", help="profiles to run the SPOC batch on (national: 267 packs)")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--readme", action="store_true", help="write the table into README.md")
    ap.add_argument("--keep", type=Path, default=None, help="keep data and warehouses in this folder")
    ap.add_argument("--json", type=Path, default=None, help="also write every figure to this JSON file")
    args = ap.parse_args()
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    spoc = {p.strip() for p in args.spoc_profiles.split(",") if p.strip()}
    with tempfile.TemporaryDirectory(prefix="eqdash-bench-") as scratch:
        tmp = args.keep or Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        results = [bench_profile(p, args.runs, tmp, spoc=p in spoc, peers=not args.no_peers) for p in profiles]
    block = markdown(results, args.runs)
    print(block)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    if args.readme:
        write_readme(block)
        print(f"\nwrote the table into {README}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
