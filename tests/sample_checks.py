"""Shared helpers for the sample generator's tests (tests/sample_data/): typed reads of the CSVs,
the ethnic-group roll-up, tolerances, and a contract checker written independently of
data_contracts/. Imported as `sample_checks` (tests/ is on pytest's pythonpath).

Tolerances are Z = 3.5 standard errors of the estimate, worked out from the counts in the data
itself: a correct generator is outside them with probability < 0.001 (and the seed is fixed, so
each test is deterministic), while a missing or wrong effect lies many standard errors away.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import polars as pl
import yaml

from metrics.config import CONTRACTS_DIR, EXTRACTS

EXTRACT_DATE = date(2026, 10, 31)
SEED = 2016
Z = 3.5  # tolerance in standard errors (see module docstring)


def read(directory: Path, extract: str) -> pl.DataFrame:
    """An extract with dates and integers typed (the contract says which)."""
    contract = yaml.safe_load((CONTRACTS_DIR / f"{extract}.yaml").read_text(encoding="utf-8"))
    types = {"date": pl.Date, "integer": pl.Int64, "number": pl.Float64, "string": pl.String}
    schema = {c["name"]: types[c["type"]] for c in contract["columns"]}
    return pl.read_csv(directory / f"{extract}.csv", schema=schema)


GROUP = (
    pl.when(pl.col("ethnicity_code") == "NS").then(pl.lit("Not stated"))
    .when(pl.col("ethnicity_code").str.starts_with("W")).then(pl.lit("White"))
    .when(pl.col("ethnicity_code").str.starts_with("A")).then(pl.lit("Asian"))
    .when(pl.col("ethnicity_code").str.starts_with("B")).then(pl.lit("Black"))
    .when(pl.col("ethnicity_code").str.starts_with("M")).then(pl.lit("Mixed"))
    .otherwise(pl.lit("Other"))
)
MINORITY = ("Asian", "Black", "Mixed", "Other")


def fy(col: str) -> pl.Expr:
    return (pl.col(col).dt.year() - (pl.col(col).dt.month() < 4).cast(pl.Int32)).alias("fy")


def people(directory: Path) -> pl.DataFrame:
    return read(directory, "people").with_columns(GROUP.alias("group"))


def in_post(p: pl.DataFrame, day: date) -> pl.DataFrame:
    return p.filter((pl.col("join_date") <= day) & (pl.col("leave_date").is_null() | (pl.col("leave_date") >= day)))


def prop_se(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 1e-9) / n)


def ratio_of_props(x1: int, n1: int, x0: int, n0: int) -> tuple[float, float]:
    """Ratio of two proportions and the standard error of its log (Katz)."""
    r = (x1 / n1) / (x0 / n0)
    return r, math.sqrt(1 / x1 - 1 / n1 + 1 / x0 - 1 / n0)


def assert_ratio(value: float, se_log: float, planted: float, what: str) -> None:
    lo, hi = planted * math.exp(-Z * se_log), planted * math.exp(Z * se_log)
    assert lo <= value <= hi, f"{what}: {value:.3f} not within [{lo:.3f}, {hi:.3f}] around planted {planted}"


def assert_prop(p: float, n: int, planted: float, what: str) -> None:
    tol = Z * prop_se(planted, n)
    assert abs(p - planted) <= tol, f"{what}: {p:.4f} vs planted {planted} (+/- {tol:.4f}, n={n})"


# ---------------------------------------------------------------------------------------------
# Contracts, checked from the YAML alone


def _yaml(name: str) -> dict:
    return yaml.safe_load((CONTRACTS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def contract_violations(directory: Path) -> list[str]:
    """Every way the data breaks its contract YAML (empty when valid), checked independently of data_contracts/."""
    codes = _yaml("codes")
    problems: list[str] = []
    raw = {e: pl.read_csv(directory / f"{e}.csv", infer_schema=False) for e in EXTRACTS}
    for extract in EXTRACTS:
        contract = _yaml(extract)
        df = raw[extract]
        names = [c["name"] for c in contract["columns"]]
        if df.columns != names:
            problems.append(f"{extract}: columns {df.columns} != contract {names}")
            continue
        for col in contract["columns"]:
            problems += [f"{extract}.{col['name']}: {p}" for p in _column_problems(extract, col, df[col["name"]], codes, raw)]
        key = contract["primary_key"]
        if df.select(key).is_duplicated().any():
            problems.append(f"{extract}: primary key {key} not unique")
        problems += [f"{extract}: {p}" for p in _rule_problems(contract, df)]
    return problems


def _column_problems(extract: str, col: dict, s: pl.Series, codes: dict, raw: dict[str, pl.DataFrame]) -> list[str]:
    """required, pattern, codes, type, range and references for one column."""
    present = s.drop_nulls()
    problems = []
    if col.get("required") and s.null_count():
        problems.append(f"{s.null_count()} blank in a required column")
    if "pattern" in col and not present.str.contains(col["pattern"]).all():
        problems.append(f"values break {col['pattern']}")
    if "codes" in col:
        bad = present.filter(~present.is_in([str(k) for k in codes[col["codes"]]])).unique().to_list()
        if bad:
            problems.append(f"codes not in {col['codes']}: {bad[:5]}")
    problems += _type_problems(extract, col, present)
    if "references" in col:
        ref_extract, ref_col = col["references"].split(".")
        missing = present.filter(~present.is_in(raw[ref_extract][ref_col].implode()))
        if len(missing):
            problems.append(f"{len(missing)} values not in {col['references']}")
    return problems


_PARSE = {  # column type -> (the text a value must match, how to read it)
    "integer": (r"^-?[0-9]+$", lambda s: s.cast(pl.Int64)),
    "number": (None, lambda s: s.cast(pl.Float64)),
    "date": (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", lambda s: s.str.to_date("%Y-%m-%d")),
}
_NOT = {"integer": "not integers", "date": "not ISO dates"}


def _type_problems(extract: str, col: dict, present: pl.Series) -> list[str]:
    """Values of the column's type; dates not after the extract date (targets look ahead); min and max."""
    if col["type"] not in _PARSE or not len(present):
        return []
    pattern, parse = _PARSE[col["type"]]
    if pattern and not present.str.contains(pattern).all():
        return [_NOT[col["type"]]]
    values = parse(present)
    if col["type"] == "date":
        return [f"dates after {EXTRACT_DATE}"] if extract != "targets" and values.max() > EXTRACT_DATE else []
    return ([f"below min {col['min']}"] if "min" in col and values.min() < col["min"] else []) + (
        [f"above max {col['max']}"] if "max" in col and values.max() > col["max"] else [])


def _rule_problems(contract: dict, df: pl.DataFrame) -> list[str]:
    problems = []
    for rule in contract.get("rules", []):
        if rule["check"] == "date_order":
            bad = df.filter(pl.col(rule["later"]).is_not_null() & (pl.col(rule["later"]) < pl.col(rule["earlier"])))
        elif rule["check"] == "both_or_neither":
            a, b = rule["columns"]
            bad = df.filter(pl.col(a).is_null() != pl.col(b).is_null())
        elif rule["check"] == "not_greater":
            bad = df.filter(pl.col(rule["smaller"]).cast(pl.Int64) > pl.col(rule["larger"]).cast(pl.Int64))
        else:
            raise AssertionError(f"unknown rule {rule}")
        if bad.height:
            problems.append(f"{bad.height} rows break {rule['name']}")
    return problems
