"""Benchmark: the misconduct-referral disparity table by business area against its peers (issue 6).

    PYTHONPATH=. .venv/bin/python tests/benchmarks/bench_disparity.py --db warehouse/eqdash.duckdb [--runs 5]

Three implementations of one table, side by side in the same run on the same data: for every
business area, misconduct referrals per person-year by ethnic group (rate, exact Poisson interval),
the rate ratio to White in the same area (log interval, exact conditional test, Holm across the
table).

- product:   get_table(wh, "misconduct_area_disparity", filters) on the DuckDB warehouse;
- pandas:    plain pandas + scipy.stats + statsmodels' multipletests on the Parquet export, written
             the way an analyst would (groupby, vectorised intervals, binomtest per comparison);
- fairlearn: fairlearn's MetricFrame on the Parquet export, sensitive features (area, group), one
             sample per person-month (exposure as a sample parameter) plus one per referral, custom
             metric functions for events, the rate and its exact interval; the ratio to White per
             area from by_group. Runs in its own venv (created on first use, see --venv)
             because fairlearn and aequitas pin their own pandas.

aequitas is not run: its Group/Bias crosstabs count rows of binary labels (prevalence = positives
/ rows) and take no weights, so a rate per person-year cannot be expressed without replicating
rows per day of exposure.

The two Parquet inputs (person-month rows and referral rows, each with business_area_code,
ethnicity_group, worker_type, month_start; the first with exposure_days) are exported once from
the warehouse, outside the timings, with the key columns dictionary-encoded so pandas reads them
as categoricals (the peers' best case). Each run of each implementation is a fresh process (wall
time and peak RSS of that process, imports included), and each also reports its own compute time
(data read to finished table, after imports). Runs are interleaved so load from other users hits
every implementation alike; one warm-up round is not counted. The numbers must agree (counts
exactly, every statistic to 1e-9 relative); a disagreement fails the benchmark (exit code 1).
Not collected by pytest (file name bench_*.py): timings belong in the README, not in assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_all import step  # noqa: E402 - beside this script

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
DEFAULT_VENV = ROOT / ".bench" / "peers-venv"
PEER_REQUIREMENTS = ("fairlearn", "pandas", "pyarrow", "scipy")
KEYS = ["business_area_code", "ethnicity_group"]
REFERENCE = "White"
NOT_STATED = "Not stated"
ALPHA = 0.05
# every statistic compared, and which implementation computes it
STATISTICS = ("exposure", "rate", "ci_low", "ci_high", "ratio", "ratio_ci_low", "ratio_ci_high", "p_value",
              "p_adjusted")
REL_TOL = 1e-9


# ---------------------------------------------------------------------------------------------
# The shared inputs
# ---------------------------------------------------------------------------------------------

def export_inputs(db: Path, out: Path) -> dict:
    """person_months.parquet and referrals.parquet from the warehouse (not timed)."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    con = duckdb.connect(str(db), read_only=True)
    queries = {
        # The warehouse keeps person-time as stretches (fct_person_time); the peers get it as the
        # person-month snapshot an analyst's extract would be: each stretch's days in each month.
        "person_months": """select pt.business_area_code, d.ethnicity_group, pt.worker_type, c.month_start,
                                   date_diff('day', greatest(pt.from_date, c.month_start),
                                             least(pt.to_date, c.month_end)) + 1 as exposure_days
                            from fct_person_time as pt inner join dim_person as d using (person_id)
                            inner join dim_calendar as c
                                on c.month_start <= pt.to_date and c.month_end >= pt.from_date""",
        "referrals": """select business_area_code, ethnicity_group, worker_type, referral_month as month_start
                        from fct_misconduct_referrals""",
    }
    rows = {}
    for name, sql in queries.items():
        table = con.sql(sql).to_arrow_table()
        for col in ("business_area_code", "ethnicity_group", "worker_type"):
            i = table.schema.get_field_index(col)
            table = table.set_column(i, col, table.column(col).dictionary_encode())
        table = table.cast(table.schema.set(table.schema.get_field_index("month_start"),
                                            pa.field("month_start", pa.date32())))
        pq.write_table(table, out / f"{name}.parquet")
        rows[name] = table.num_rows
    con.close()
    return rows


# ---------------------------------------------------------------------------------------------
# The three implementations (each runs in its own process: `--peer NAME`)
# ---------------------------------------------------------------------------------------------

def peer_product(opts) -> tuple[object, float]:
    sys.path.insert(0, str(ROOT))
    from datetime import date

    import metrics
    import metrics.rates  # noqa: F401 - imported lazily by the table; an import, not compute
    from metrics.queries import Filters
    from metrics.tables import get_table
    from metrics.warehouse import Warehouse

    assert Path(metrics.__file__).resolve().is_relative_to(ROOT), f"imported {metrics.__file__}, not {ROOT}"
    start = time.perf_counter()
    def month(text: str) -> date:
        return date(int(text[:4]), int(text[5:7]), 1)

    f = Filters(start=month(opts.start) if opts.start else None, end=month(opts.end) if opts.end else None,
                worker_type=opts.worker_type)
    with Warehouse(opts.db) as wh:
        table = get_table(wh, "misconduct_area_disparity", f)
    elapsed = time.perf_counter() - start
    return table.rename({"group": "ethnicity_group"}), elapsed


def _read_inputs(opts):
    """The two Parquet inputs: only the columns needed, the period and worker-type filters pushed
    down to the reader."""
    from datetime import date

    import pandas as pd

    filters = []
    if opts.start:
        filters.append(("month_start", ">=", date(int(opts.start[:4]), int(opts.start[5:7]), 1)))
    if opts.end:
        filters.append(("month_start", "<=", date(int(opts.end[:4]), int(opts.end[5:7]), 1)))
    if opts.worker_type:
        filters.append(("worker_type", "==", opts.worker_type))
    return [pd.read_parquet(Path(opts.parquet) / f"{name}.parquet", columns=columns, filters=filters or None)
            for name, columns in (("person_months", [*KEYS, "exposure_days"]), ("referrals", KEYS))]


def peer_pandas(opts) -> tuple[object, float]:
    import numpy as np
    import pandas as pd
    from scipy import stats
    from statsmodels.stats.multitest import multipletests

    start = time.perf_counter()
    person_months, referrals = _read_inputs(opts)
    exposure = person_months.groupby(KEYS, observed=True)["exposure_days"].sum() / 365.25
    events = referrals.groupby(KEYS, observed=True).size()
    cells = pd.DataFrame({"exposure": exposure, "events": events}).fillna({"events": 0, "exposure": 0.0})
    cells["events"] = cells["events"].astype("int64")
    k, e = cells["events"].to_numpy(), cells["exposure"].to_numpy()
    cells["rate"] = k / e
    # exact (Garwood) Poisson interval
    cells["ci_low"] = np.where(k > 0, stats.chi2.ppf(ALPHA / 2, 2 * np.maximum(k, 1)) / 2, 0.0) / e
    cells["ci_high"] = stats.chi2.ppf(1 - ALPHA / 2, 2 * k + 2) / 2 / e

    # the reference group's counts beside every row of its area
    ref = cells.xs(REFERENCE, level="ethnicity_group")[["events", "exposure"]]
    cells = cells.join(ref.rename(columns={"events": "k0", "exposure": "e0"}), on="business_area_code")
    k0, e0 = cells["k0"].to_numpy(), cells["e0"].to_numpy()
    is_ref = cells.index.get_level_values("ethnicity_group") == REFERENCE
    compared = ~is_ref & (k0 > 0) & ~np.isnan(k0)
    z = stats.norm.ppf(1 - ALPHA / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        irr = (k / e) / (k0 / e0)
        half = z * np.sqrt(1 / k + 1 / k0)
        low, high = np.exp(np.log(irr) - half), np.exp(np.log(irr) + half)
        # no events in the group: IRR 0, upper limit with 0.5 added to both counts
        upper0 = np.exp(np.log((0.5 / e) / ((k0 + 0.5) / e0)) + z * np.sqrt(1 / 0.5 + 1 / (k0 + 0.5)))
    zero = k == 0
    cells["ratio"] = np.where(compared, np.where(zero, 0.0, irr), np.where(is_ref & (k > 0), 1.0, np.nan))
    cells["ratio_ci_low"] = np.where(compared, np.where(zero, 0.0, low), np.nan)
    cells["ratio_ci_high"] = np.where(compared, np.where(zero, upper0, high), np.nan)

    # exact conditional test: given k + k0 referrals, k ~ Binomial(k + k0, e / (e + e0))
    tested = ~is_ref & ~np.isnan(k0) & ((k + np.nan_to_num(k0)) > 0)
    p = np.full(len(cells), np.nan)
    p[tested] = [stats.binomtest(int(a), int(a + b), x / (x + x0)).pvalue
                 for a, b, x, x0 in zip(k[tested], k0[tested], e[tested], e0[tested], strict=True)]
    cells["p_value"] = p
    # Holm across every stated, non-reference comparison in the table
    family = tested & (cells.index.get_level_values("ethnicity_group") != NOT_STATED)
    cells["p_adjusted"] = np.nan
    cells.loc[family, "p_adjusted"] = multipletests(p[family], method="holm")[1]
    result = cells.drop(columns=["k0", "e0"]).reset_index()
    elapsed = time.perf_counter() - start
    return result, elapsed


def peer_fairlearn(opts) -> tuple[object, float]:
    import numpy as np
    import pandas as pd
    from fairlearn.metrics import MetricFrame
    from scipy import stats

    start = time.perf_counter()
    person_months, referrals = _read_inputs(opts)
    # one sample per person-month (no event, its person-years) and one per referral (an event)
    samples = pd.concat([
        person_months[KEYS].assign(y=0, exposure=person_months["exposure_days"] / 365.25),
        referrals[KEYS].assign(y=1, exposure=0.0),
    ], ignore_index=True)

    # the per-group quantities an analyst would ask MetricFrame for; fairlearn's cost grows with the
    # number of metrics (each call re-stacks every column of its group), so no more than needed:
    # person-years follow from events / rate
    def events(y_true, y_pred):
        return int(np.sum(y_true))

    def rate(y_true, y_pred, exposure):
        return np.sum(y_true) / np.sum(exposure)

    def rate_ci_low(y_true, y_pred, exposure):  # exact (Garwood) Poisson interval
        k = np.sum(y_true)
        return stats.chi2.ppf(ALPHA / 2, 2 * k) / 2 / np.sum(exposure) if k > 0 else 0.0

    def rate_ci_high(y_true, y_pred, exposure):
        return stats.chi2.ppf(1 - ALPHA / 2, 2 * np.sum(y_true) + 2) / 2 / np.sum(exposure)

    weighted = ("rate", "ci_low", "ci_high")
    frame = MetricFrame(
        metrics={"events": events, "rate": rate, "ci_low": rate_ci_low, "ci_high": rate_ci_high},
        y_true=samples["y"], y_pred=samples["y"],
        sensitive_features=samples[KEYS],
        sample_params={m: {"exposure": samples["exposure"].to_numpy()} for m in weighted},
    )
    by_group = frame.by_group.dropna(subset=["events"])  # combinations of the keys with no samples
    reference = by_group.xs(REFERENCE, level="ethnicity_group")
    ref_rate = reference["rate"].where(reference["events"] > 0)
    by_group["ratio"] = by_group["rate"] / ref_rate.reindex(by_group.index.get_level_values("business_area_code")).to_numpy()
    result = by_group.reset_index()
    result["events"] = result["events"].astype("int64")
    elapsed = time.perf_counter() - start
    return result, elapsed


PEERS = {"product": peer_product, "pandas": peer_pandas, "fairlearn": peer_fairlearn}


def run_peer(opts) -> None:
    """Inside the measured process: compute, write the table to --result, print the compute time."""
    result, elapsed = PEERS[opts.peer](opts)
    if opts.peer == "product":
        result.write_parquet(opts.result)
    else:
        result.to_parquet(opts.result, index=False)
    print(json.dumps({"compute": elapsed}))


# ---------------------------------------------------------------------------------------------
# The harness
# ---------------------------------------------------------------------------------------------

def ensure_venv(venv: Path) -> Path:
    """The peers' own venv (fairlearn pins its own pandas), created with pip on first use."""
    python = venv / "bin" / "python"
    if python.exists() and subprocess.run([str(python), "-c", "import fairlearn, pandas, pyarrow, scipy"],
                                          capture_output=True).returncode == 0:
        return python
    print(f"creating the peers' venv at {venv} (pip install {' '.join(PEER_REQUIREMENTS)}) ...", flush=True)
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PEER_REQUIREMENTS], check=True)
    return python


def versions(python: str, modules: tuple[str, ...], env: dict | None = None) -> str:
    code = ("import importlib, sys; print(', '.join(m + ' ' + importlib.import_module(m).__version__ "
            f"for m in {list(modules)!r}))")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env)
    return out.stdout.strip() or out.stderr.strip().splitlines()[-1]


def measure_once(args: list[str], env: dict) -> dict:
    result = step(args, env)  # wall time and peak memory of a fresh process: bench_all's harness
    result["compute"] = json.loads(result["last"])["compute"]
    return result


def compare(product, peer) -> dict:
    """Rows, counts and every statistic the peer computes, against the product's table."""
    import numpy as np
    import polars as pl

    keys = ["business_area_code", "ethnicity_group"]
    columns = [c for c in STATISTICS if c in peer.columns]
    product, peer = (t.with_columns(pl.col(keys).cast(pl.String)) for t in (product, peer))
    joined = product.select(*keys, "events", *columns).join(
        peer.select(*keys, "events", *columns), on=keys, how="full", suffix="_peer", coalesce=True)
    problems = []
    unmatched = joined.filter(pl.col("events").is_null() | pl.col("events_peer").is_null())
    if unmatched.height:
        problems.append(f"{unmatched.height} (area, group) rows in only one table, e.g. {unmatched.row(0)}")
    both = joined.filter(pl.col("events").is_not_null() & pl.col("events_peer").is_not_null())
    if (both["events"] != both["events_peer"]).any():
        problems.append(f"event counts differ in {(both['events'] != both['events_peer']).sum()} rows")
    max_abs = max_rel = 0.0
    for col in columns:
        a = both[col].cast(pl.Float64).fill_null(float("nan")).to_numpy()
        b = both[f"{col}_peer"].cast(pl.Float64).fill_null(float("nan")).to_numpy()
        if (np.isnan(a) != np.isnan(b)).any():
            i = int(np.flatnonzero(np.isnan(a) != np.isnan(b))[0])
            problems.append(f"{col}: null in one table only in {(np.isnan(a) != np.isnan(b)).sum()} rows, "
                            f"e.g. {both.row(i)[:2]}: product {a[i]}, peer {b[i]}")
            continue
        m = ~np.isnan(a)
        if not m.any():
            continue
        diff = np.abs(a[m] - b[m])
        rel = diff / np.maximum(np.abs(a[m]), np.finfo(float).tiny)
        max_abs, max_rel = max(max_abs, float(diff.max())), max(max_rel, float(rel.max()))
        if (rel > REL_TOL).any():
            i = int(np.argmax(rel))
            problems.append(f"{col}: relative difference {rel[i]:.3g} > {REL_TOL:g} "
                            f"(product {a[m][i]!r}, peer {b[m][i]!r})")
    return {"agree": not problems, "problems": problems, "max_abs": max_abs, "max_rel": max_rel,
            "columns": columns, "rows": both.height}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=ROOT / "warehouse" / "eqdash.duckdb", help="a built warehouse")
    ap.add_argument("--runs", type=int, default=5, help="measured runs of each implementation")
    ap.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first (file cache, .pyc); "
                    "not for fairlearn")
    ap.add_argument("--fairlearn-runs", type=int, help="measured fairlearn runs (default: --runs)")
    ap.add_argument("--from", dest="start", help="first month YYYY-MM (default: all)")
    ap.add_argument("--to", dest="end", help="last month YYYY-MM (default: all)")
    ap.add_argument("--worker-type", help='e.g. "Police officer" (default: all)')
    ap.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="the peers' venv (created if missing)")
    ap.add_argument("--only", nargs="+", choices=list(PEERS), default=list(PEERS))
    ap.add_argument("--scratch", type=Path, help="where the Parquet export goes (default: a temporary folder)")
    ap.add_argument("--json", action="store_true", help="progress to stderr, then one JSON line for bench_all.py")
    # internal: run one implementation inside a measured process
    ap.add_argument("--peer", choices=list(PEERS), help=argparse.SUPPRESS)
    ap.add_argument("--parquet", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.peer:
        run_peer(opts)
        return
    opts.fairlearn_runs = opts.runs if opts.fairlearn_runs is None else opts.fairlearn_runs
    json_out = sys.stdout
    if opts.json:
        sys.stdout = sys.stderr  # the tables and progress go to stderr; stdout gets one JSON line
    if not opts.db.exists():
        raise SystemExit(f"no warehouse at {opts.db}: run `eqdash build` first")

    import polars as pl

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    peer_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    pythons = {"product": PY, "pandas": PY}
    if "fairlearn" in opts.only:
        pythons["fairlearn"] = str(ensure_venv(opts.venv))
    filters = [a for flag, v in (("--from", opts.start), ("--to", opts.end), ("--worker-type", opts.worker_type))
               if v for a in (flag, v)]
    with tempfile.TemporaryDirectory(prefix="eqdash-bench-disparity-", dir=opts.scratch) as tmp:
        tmp = Path(tmp)
        started = time.perf_counter()
        rows = export_inputs(opts.db, tmp)
        print(f"exported {rows['person_months']:,} person-month rows and {rows['referrals']:,} referral rows "
              f"to Parquet in {time.perf_counter() - started:.1f} s (not timed)", flush=True)
        runs: dict[str, list[dict]] = {name: [] for name in opts.only}
        for round_ in range(opts.warmup + opts.runs):
            timed = {}
            for name in opts.only:
                if name == "fairlearn" and (round_ < opts.warmup or round_ - opts.warmup >= opts.fairlearn_runs):
                    continue  # minutes a run, and CPU-bound: no warm-up, and --fairlearn-runs at most
                result = tmp / f"{name}.parquet"
                args = [pythons[name], str(Path(__file__).resolve()), "--peer", name, "--db", str(opts.db),
                        "--parquet", str(tmp), "--result", str(result), *filters]
                m = measure_once(args, env if name == "product" else peer_env)
                timed[name] = m["wall"]
                if round_ >= opts.warmup:
                    runs[name].append(m)
            label = "warm-up (not counted)" if round_ < opts.warmup else f"run {round_ - opts.warmup + 1}/{opts.runs}"
            print(f"  {label}: " + ", ".join(f"{n} {w:.2f} s" for n, w in timed.items()), flush=True)
        tables = {name: pl.read_parquet(tmp / f"{name}.parquet") for name in opts.only}

    product = tables.get("product")
    checks = {name: compare(product, tables[name]) for name in opts.only if name != "product" and product is not None}
    summary = {name: {"wall": statistics.median(r["wall"] for r in rs),
                      "compute": statistics.median(r["compute"] for r in rs),
                      "peak": max(r["peak"] for r in rs)} for name, rs in runs.items() if rs}
    cores = os.cpu_count()
    load = os.getloadavg()[0]
    print(f"\n{opts.db.name}: {rows['person_months']:,} person-months, {rows['referrals']:,} referrals exported, "
          f"{product.height if product is not None else '?'} (area, group) rows; filters: "
          f"{' '.join(filters) or 'none'}; {opts.runs} runs each (median{f'; fairlearn {opts.fairlearn_runs}' if 'fairlearn' in summary else ''}), {cores} cores, load {load:.1f}")
    print(f"product: {versions(PY, ('duckdb', 'polars', 'scipy'), env)}; "
          f"peers: {versions(pythons.get('fairlearn', PY), ('pandas', 'scipy') + (('fairlearn',) if 'fairlearn' in pythons else ()), peer_env)}\n")
    print("| implementation | median s (process) | median s (compute) | peak MiB | time ratio to product "
          "(process / compute) | numbers agree | max abs diff | max rel diff | compared |")
    print("|---|---|---|---|---|---|---|---|---|")
    base = summary.get("product")
    for name in summary:
        s = summary[name]
        ratio = (f"{s['wall'] / base['wall']:.1f}x / {s['compute'] / base['compute']:.1f}x" if base else "-")
        c = checks.get(name)
        agree = "reference" if name == "product" else ("yes" if c["agree"] else "**NO**")
        diffs = ("-", "-", "all columns") if c is None else (f"{c['max_abs']:.2g}", f"{c['max_rel']:.2g}",
                                                              "events, " + ", ".join(c["columns"]))
        print(f"| {name} | {s['wall']:.2f} | {s['compute']:.2f} | {s['peak']:.0f} | {ratio} | {agree} | "
              f"{diffs[0]} | {diffs[1]} | {diffs[2]} |")
    if opts.json:
        impls = []
        for name, sm in summary.items():
            c = checks.get(name)
            impls.append({"name": name, "median_s": sm["wall"], "compute_s": sm["compute"], "peak_mib": sm["peak"],
                          "ratio": sm["wall"] / base["wall"] if base else None,
                          "compute_ratio": sm["compute"] / base["compute"] if base else None,
                          "agree": "reference" if c is None else ("yes" if c["agree"] else "NO"),
                          "runs": len(runs[name])})
        print(json.dumps({"implementations": impls, "filters": " ".join(filters) or "none",
                          "person_month_rows": rows["person_months"], "referrals": rows["referrals"],
                          "rows": product.height if product is not None else None}), file=json_out)
    failed = {name: c for name, c in checks.items() if not c["agree"]}
    for name, c in failed.items():
        print(f"\nMISMATCH: {name} does not agree with the product:")
        for problem in c["problems"]:
            print(f"  - {problem}")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
