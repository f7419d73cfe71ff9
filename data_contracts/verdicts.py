"""great-expectations' verdicts on distinct values, mapped back to the rows holding them, with messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from data_contracts.contract import Contract
from data_contracts.gx_suite import stacked_text
from data_contracts.parsing import digit_shape, key_rows, pair_margin
from data_contracts.row_rules import Failures, add_unique


def _fmt(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _code_list_text(valid: Sequence[str]) -> str:
    return ", ".join(valid) if len(valid) <= 12 else ", ".join(valid[:10]) + f", … ({len(valid)} codes)"


# The message of each rule GX judges a column's values by, filled from the column's contract.
_MESSAGES = {
    "required": "{column} is required but blank",
    "pattern": "{column} {value!r} does not match the pattern {pattern}",
    "codes": "{column} {value!r} is not in code list {codes} ({code_list})",
    "min": "{column} {value} is below the minimum {min}",
    "max": "{column} {value} is above the maximum {max}",
    "not_future": "{column} {value} is after the as-of date {as_of} (a date in the future)",
    "date_floor": "{column} {value} is before {floor}: not a plausible date (a system default or a typo?)",
}


def _message(rule: str, column: str, value: str | None, contract: Contract, codes, as_of: date, floor: str | None) -> str:
    if rule not in _MESSAGES:
        raise ValueError(rule)
    col = contract.column(column)
    return _MESSAGES[rule].format(
        column=column, value=value, pattern=col.pattern, codes=col.codes,
        code_list=_code_list_text(list(codes[col.codes])) if col.codes else "",
        min=_fmt(col.min), max=_fmt(col.max), as_of=as_of.isoformat(), floor=floor,
    )


def apply_verdicts(failures: Failures, base: pl.DataFrame, typed: pl.DataFrame, contract: Contract, codes,
                    as_of: date, verdicts: dict[str, pl.DataFrame]) -> None:
    """Map GX's verdicts on distinct values back to this extract's rows."""
    extract = contract.extract
    mine = {k: v.filter(pl.col("extract") == extract) for k, v in verdicts.items()}
    for column in (mine["required"]["column"].unique(maintain_order=True).to_list() if "required" in mine else []):
        hits = base.filter(pl.col(column).is_null()).select("_i", pl.col(column).alias("value"))
        failures.extend(hits.with_columns(pl.lit(f"{column} is required but blank").alias("message")), "required", column)
    for kind in ("pattern", "codes", "range"):
        if kind not in mine:
            continue
        rules = mine[kind] if kind == "range" else mine[kind].with_columns(pl.lit(kind).alias("rule"), pl.lit(None, pl.String).alias("floor"))
        for (rule, column), group in rules.sort("rule", "column").group_by("rule", "column", maintain_order=True):
            bad = group.unique("value", maintain_order=True)
            if rule == "pattern" and bad["value"].is_null().all():  # judged by shape: the values of its rows
                shapes = stacked_text(group["v"])
                bad = base.select(pl.col(column).alias("value")).filter(
                    digit_shape(pl.col("value")).is_in(shapes.implode())).unique(maintain_order=True).with_columns(
                    pl.lit(None, pl.String).alias("floor"))
            messages = pl.DataFrame({"value": bad["value"], "message": [
                _message(rule, column, v, contract, codes, as_of, f) for v, f in bad.select("value", "floor").iter_rows()]},
                schema={"value": pl.String, "message": pl.String})
            hits = base.select("_i", pl.col(column).alias("value")).join(messages, on="value", how="inner").sort("_i")
            failures.extend(hits, rule, column)
    if "order" in mine:
        for rule_name, margins in mine["order"].group_by("rule_name", maintain_order=True):
            rule_obj = next(r for r in contract.rules if r.name == rule_name[0])
            first, second = rule_obj.columns
            rows = typed.with_row_index("_i").filter(pair_margin(contract, rule_obj).is_in(margins["v"].implode()))
            hits = rows.select("_i").join(base.select("_i", first, second), on="_i", how="left").sort("_i")
            word = "is before" if rule_obj.check == "date_order" else "is greater than"
            hits = hits.with_columns(
                pl.col(first).alias("value"),
                pl.format(f"{rule_obj.name}: {first} {{}} {word} {second} {{}}", pl.col(first), pl.col(second)).alias("message"))
            failures.extend(hits, rule_obj.check, first)
    if "unique" in mine:
        keys = key_rows(base.drop("_i"), contract)
        bad_counts = (1 - mine["unique"]["v"]).cast(pl.Int64)
        add_unique(failures, base, contract, keys.filter(pl.col("_rows").cast(pl.Int64).is_in(bad_counts.implode())))

