"""Every tidy table recomputed independently in R (base R + survival, tests/reference/parity.R)
from the raw CSV extracts of the `small` sample, compared with `eqdash table NAME --format csv`:
counts exactly, everything else to 1e-6, over five filter sets (the default, a window that is not
whole financial years, another characteristic, a business area, a worker type).

Rscript runs once for all filter sets; the CLI runs in-process (typer's CliRunner), so the suite
takes well under a minute once the sample warehouse exists.
"""

from __future__ import annotations

import csv
import math
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from dashboard.cli import app

HERE = Path(__file__).resolve().parent
CODES = HERE.parents[1] / "data_contracts" / "codes.yaml"

FILTER_SETS = {
    "default": {},
    "window": {"from": "2019-01", "to": "2023-06"},
    "sex": {"characteristic": "sex"},
    "area": {"area": "NE"},
    "officers": {"worker_type": "Police officer"},
}
TABLES = (
    "grievance_rates", "misconduct_rates", "misconduct_trend", "misconduct_trend_test", "misconduct_area_disparity",
    "grievance_outcomes", "grievance_discrimination_outcomes", "grievance_bullying_outcomes",
    "grievance_independent_assessor",
    "acting_up_rationale", "acting_up", "misconduct_stages", "recruitment_funnel", "outreach",
    "grievance_resolution", "grievance_funnel", "representation", "recruit_share", "grievance_upheld_adjusted",
    "misconduct_adjusted", "not_stated",
)
COUNTS = ("n", "events", "n_pending")
FLOATS = ("rate", "ci_low", "ci_high", "ratio", "ratio_ci_low", "ratio_ci_high", "p_value", "p_adjusted",
          "median_days", "median_ci_low", "median_ci_high", "target_share")
INTERVAL_NOTES = ("interval is for this comparison alone", "interval excludes 1 but", "test finds a significant")


def _codes_csv(path: Path) -> Path:
    rows = []
    for code_list, entries in yaml.safe_load(CODES.read_text(encoding="utf-8")).items():
        for code, value in entries.items():
            if isinstance(value, dict):
                rows.append((code_list, str(code), str(value.get("label", "")), str(value.get("group", "") or "")))
            else:
                rows.append((code_list, str(code), str(value), ""))
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["code_list", "code", "label", "group_label"])
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def r_tables(small_dir, tmp_path_factory) -> pl.DataFrame:
    rscript = shutil.which("Rscript")
    assert rscript, "Rscript not found: `bash .ci/setup --test` installs r-base-core and r-cran-survival"
    work = tmp_path_factory.mktemp("r-parity")
    sets = work / "filter_sets.csv"
    with sets.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "from", "to", "characteristic", "area", "worker_type"])
        for name, fs in FILTER_SETS.items():
            w.writerow([name, *(fs.get(k, "") for k in ("from", "to", "characteristic", "area", "worker_type"))])
    out = work / "r.csv"
    done = subprocess.run([rscript, "--vanilla", str(HERE / "parity.R"), str(small_dir), str(_codes_csv(work / "codes.csv")),
                           str(sets), str(out)], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return pl.read_csv(out, infer_schema_length=None, null_values=[""],
                       schema_overrides={"stage": pl.String, "business_area_code": pl.String, "group": pl.String})


def _eqdash(db: Path, table: str, fs: dict) -> pl.DataFrame:
    args = ["table", table, "--format", "csv", "--db", str(db)]
    for key, option in (("from", "--from"), ("to", "--to"), ("characteristic", "-c"), ("area", "--area"),
                        ("worker_type", "--worker-type")):
        if key in fs:
            args += [option, fs[key]]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return pl.read_csv(result.stdout.encode(), infer_schema_length=None)


def _key(row: dict, table: str) -> tuple:
    if table == "not_stated":
        return (row["characteristic"],)
    return (row.get("stage"), row.get("business_area_code"), row["group"])


def _same(a, b) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return (a is None or a != a) and (b is None or b != b)
    return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-9)


def mismatches(r: pl.DataFrame, py: pl.DataFrame, table: str) -> list[str]:
    """Every difference between R's rows and eqdash's for one table: missing or extra rows,
    counts not equal, numbers further apart than 1e-6, an interval note where R has none."""
    expected = {}
    for row in r.iter_rows(named=True):
        key = (row["stage"],) if table == "not_stated" else (
            row["stage"] if "stage" in py.columns else None,
            row["business_area_code"] if "business_area_code" in py.columns else None, row["group"])
        expected[key] = row
    got = {_key(row, table): row for row in py.iter_rows(named=True)}
    out = [f"{table}: row {k} in R, not in eqdash" for k in expected.keys() - got.keys()]
    out += [f"{table}: row {k} in eqdash, not in R" for k in got.keys() - expected.keys()]
    for key in expected.keys() & got.keys():
        e, g = expected[key], got[key]
        for col in COUNTS:
            if col in py.columns and e[col] is not None and g[col] != int(e[col]):
                out.append(f"{table} {key} {col}: eqdash {g[col]}, R {int(e[col])}")
        for col in FLOATS:
            if col in py.columns and not _same(g[col], e[col]):
                out.append(f"{table} {key} {col}: eqdash {g[col]}, R {e[col]}")
        if e["interval_note"] is not None and "note" in py.columns:
            has = any(k in (g["note"] or "") for k in INTERVAL_NOTES)
            if has != bool(e["interval_note"]):
                out.append(f"{table} {key}: interval/test note {'shown' if has else 'missing'}; R says "
                           f"{'they disagree' if e['interval_note'] else 'they agree'}")
    return out


@pytest.mark.parametrize("filter_set", list(FILTER_SETS))
def test_every_tidy_table_matches_r(r_tables, small_warehouse, filter_set):
    fs = FILTER_SETS[filter_set]
    problems, compared = [], 0
    for table in TABLES:
        r = r_tables.filter((pl.col("filter_set") == filter_set) & (pl.col("table") == table))
        if table in ("recruitment_funnel", "outreach") and fs.get("characteristic", "ethnicity_group") not in (
                "ethnicity_group", "sex"):
            continue
        assert r.height, f"R computed no rows for {table}"
        py = _eqdash(small_warehouse, table, fs)
        problems += mismatches(r, py, table)
        compared += r.height
    assert not problems, f"{len(problems)} differences from R over {compared} rows:\n" + "\n".join(problems[:60])
