"""The great-expectations suite: every value-level rule judged on distinct values, in one batch.

great-expectations evaluates required, pattern, codes, min, max, not_future, date_floor, unique,
date_order and not_greater; verdicts.py maps its verdicts back to rows.
"""

from __future__ import annotations

import re
from datetime import date

import polars as pl

from data_contracts.contract import DEFAULT_MIN_DATE, Column, Contract
from data_contracts.gx_runner import GxRunner  # noqa: F401 - judge's runner in process (tests, the worker's check)
from data_contracts.parsing import (
    EPOCH,
    as_float,
    distinct_digit_shapes,
    key_rows,
    keys_all_distinct,
    pair_margin,
    parsed,
)

# --------------------------------------------------------------------------------------------
# great-expectations on distinct values
#
# Every rule GX evaluates is a property of a value, so GX judges DISTINCT things and the verdicts
# are mapped back to every row holding a failing value by a polars join:
#   required  each column's two states (given / blank)
#   codes     each column's distinct values, as "<code list>\x1f<value>" against every list's codes
#   pattern   each column's distinct values, as "<pattern no.>\x1f<value>" against one combined regex;
#             ids (a pattern that cannot tell one digit from another) by their distinct shapes
#   range     min, max, date_floor and not_future: each column's distinct values as a margin >= 0
#   order     date_order and not_greater: each rule's distinct differences (later - earlier) >= 0
#   unique    each extract's distinct "rows per key" counts, which must be 1
# All extracts are stacked into ONE batch of six expectations: GX costs ~30 ms per expectation
# whatever the data, and the old frame (every column of every row, hashed twice by GX) is gone.
# Work grows with distinct values, not rows: 100,000 copies of one person are one value.
# --------------------------------------------------------------------------------------------

_SEP = "\x1f"



def stacked_text(v: pl.Series) -> pl.Series:
    """What a stacked "<list or pattern no.>\x1f<text>" value holds after its prefix."""
    return v.str.split_exact(_SEP, 1).struct.field("field_1")


def digits_interchangeable(pattern: str) -> bool:
    """True if the pattern cannot tell one ASCII digit from another: every digit it mentions is in
    a class holding all of 0-9 (or \\d), apart from quantifier counts. Then replacing each digit of a
    value by 0 never changes whether it matches, so ids collapse to a handful of shapes."""
    rest = re.sub(r"\{\d*,?\d*\}", "", pattern)  # {7}, {2,8}: counts, not characters
    rest = re.sub(r"\[[^\]]*\]", lambda m: m.group(0).replace("0-9", ""), rest)
    rest = rest.replace("\\d", "")
    return not any(ch.isdigit() for ch in rest)


def _regex_alternative(number: int, pattern: str) -> str:
    core, start, end = pattern, "", ""
    if core.startswith("^"):
        core = core[1:]
    else:
        start = ".*?"
    if core.endswith("$") and not core.endswith("\\$"):
        core, end = core[:-1], "$"
    return f"{number}{_SEP}{start}(?:{core}){end}"


_STACK_SCHEMAS = {
    "required": {"extract": pl.String, "column": pl.String, "v": pl.String},
    "codes": {"extract": pl.String, "column": pl.String, "value": pl.String, "v": pl.String},
    "pattern": {"extract": pl.String, "column": pl.String, "value": pl.String, "v": pl.String},
    "range": {"extract": pl.String, "rule": pl.String, "column": pl.String, "value": pl.String, "floor": pl.String,
              "v": pl.Float64},
    "order": {"extract": pl.String, "rule": pl.String, "rule_name": pl.String, "v": pl.Float64},
    "unique": {"extract": pl.String, "v": pl.Float64},
}


def _lit(**values) -> list[pl.Expr]:
    return [pl.lit(v, dtype=pl.String).alias(k) for k, v in values.items()]


def _bounds(col: Column, as_of: date) -> list[tuple[str, float, bool, str | None]]:
    """A typed column's range rules: (rule, bound, is_lower, floor text), as days since 1970 for dates."""
    bounds: list[tuple[str, float, bool, str | None]] = []
    if col.min is not None:
        bounds.append(("min", float(col.min), True, None))
    if col.max is not None:
        bounds.append(("max", float(col.max), False, None))
    if col.type == "date":
        floor = col.min_date or DEFAULT_MIN_DATE
        bounds.append(("date_floor", float((floor - EPOCH).days), True, floor.isoformat()))
    if col.not_future:
        bounds.append(("not_future", float((as_of - EPOCH).days), False, None))
    return bounds


class _Stacker:
    """What GX judges, stacked over every extract and column, plus what it needs to judge it.
    ``add`` plans each extract's part as polars queries; ``judge`` runs every plan at once
    (``pl.collect_all``, on all cores) and stacks the parts in the order the extracts were given."""

    def __init__(self, as_of: date, contracts: dict[str, Contract]) -> None:
        self.as_of = as_of
        self.parts: dict[str, list[pl.DataFrame]] = {k: [] for k in _STACK_SCHEMAS}
        self.patterns: dict[str, int] = {}  # numbered in contract order
        for contract in contracts.values():
            for col in contract.columns:
                if col.pattern:
                    self.patterns.setdefault(col.pattern, len(self.patterns))
        self.lists = {col.codes for contract in contracts.values() for col in contract.columns if col.codes}

    def add(self, extract: str, frame: pl.DataFrame, contract: Contract, typed: pl.DataFrame | None = None,
            distinct: dict[str, pl.Series] | None = None) -> dict[str, list[pl.LazyFrame]]:
        """This extract's part of every stack, as queries not yet run. ``typed``: its non-text columns
        already parsed (check_column_types), else they are parsed here; ``distinct``: columns' distinct
        non-blank values already found (reading.normalise_codes), else they are found here."""
        parts: dict[str, list[pl.LazyFrame]] = {k: [] for k in _STACK_SCHEMAS}
        blanks = frame.null_count().row(0, named=True)  # kept with each column: no scan
        height = frame.height
        distinct_keys = keys_all_distinct(frame, contract, height)
        frame = frame.lazy()
        for col in contract.columns:
            if col.required:  # the column's states: given (some value), blank (some null)
                states = ["given"] * (blanks[col.name] < height) + [None] * (blanks[col.name] > 0)
                parts["required"].append(pl.LazyFrame({"extract": [extract] * len(states), "column": [col.name] * len(states),
                                                       "v": states}, schema=_STACK_SCHEMAS["required"]))
            self._column(parts, extract, frame, col, (distinct or {}).get(col.name))
        for rule in contract.rules:
            if rule.check in ("date_order", "not_greater"):
                pair = (typed.lazy().select(rule.columns) if typed is not None and set(rule.columns) <= set(typed.columns)
                        else frame.select(parsed(contract.column(c)).alias(c) for c in rule.columns))
                margins = pair.select(pair_margin(contract, rule).drop_nulls().unique().alias("v"))
                parts["order"].append(margins.select(*_lit(extract=extract, rule=rule.check, rule_name=rule.name), "v"))
        # the distinct numbers of rows per key: one, unless some key is on two rows
        counts = (pl.LazyFrame({"_rows": [1]}, schema={"_rows": pl.UInt32}) if distinct_keys
                  else key_rows(frame, contract).select(pl.col("_rows").unique()))
        parts["unique"].append(counts.select(*_lit(extract=extract),
                                             (1 - pl.col("_rows").cast(pl.Int64)).cast(pl.Float64).alias("v")))
        return parts

    def collect(self, planned: list[dict[str, list[pl.LazyFrame]]]) -> None:
        """Run every extract's planned part in one go and stack them in the extracts' order."""
        flat = [(kind, query) for parts in planned for kind, queries in parts.items() for query in queries]
        for (kind, _), part in zip(flat, pl.collect_all([query for _, query in flat]), strict=True):
            self.parts[kind].append(part)

    def _column(self, parts: dict[str, list[pl.LazyFrame]], extract: str, frame: pl.LazyFrame, col: Column,
                found: pl.Series | None = None) -> None:
        text, where = pl.col(col.name), _lit(extract=extract, column=col.name)
        by_shape = bool(col.pattern) and digits_interchangeable(col.pattern)
        if by_shape:
            # P0000825 and P0012345 are the same to such a pattern: GX judges the shape P0000000 once
            # (value left blank), and verdicts.py finds the rows of a failing shape
            shapes = distinct_digit_shapes(frame, text)
            parts["pattern"].append(shapes.select(*where, pl.lit(None, pl.String).alias("value"),
                                                  (pl.lit(f"{self.patterns[col.pattern]}{_SEP}") + pl.col("v")).alias("v")))
        if not (col.codes or (col.pattern and not by_shape) or col.type != "string"):
            return
        distinct = (found.rename("value").to_frame().lazy() if found is not None
                    else frame.select(text.drop_nulls().unique().alias("value")))
        if col.codes:
            parts["codes"].append(distinct.select(*where, "value", (pl.lit(col.codes + _SEP) + pl.col("value")).alias("v")))
        if col.pattern and not by_shape:
            parts["pattern"].append(distinct.select(*where, "value", (pl.lit(f"{self.patterns[col.pattern]}{_SEP}")
                                                                      + pl.col("value")).alias("v")))
        if col.type != "string":
            self._range(parts, extract, col, distinct)

    def _range(self, parts: dict[str, list[pl.LazyFrame]], extract: str, col: Column, distinct: pl.LazyFrame) -> None:
        value = distinct.with_columns(as_float(col, parsed(Column(name="value", type=col.type))).alias("_x")).drop_nulls("_x")
        for rule, bound, lower, floor_text in _bounds(col, self.as_of):
            margin = (pl.col("_x") - bound) if lower else (bound - pl.col("_x"))
            parts["range"].append(value.select(*_lit(extract=extract, rule=rule, column=col.name), "value",
                                                    *_lit(floor=floor_text), margin.alias("v")))

    def stacks(self) -> dict[str, pl.DataFrame]:
        return {k: pl.concat(v, how="vertical") if v else pl.DataFrame(schema=_STACK_SCHEMAS[k]) for k, v in self.parts.items()}

    def regex(self) -> str | None:
        """One regex for every pattern: "<pattern no.>\x1f<value>" matches its own pattern only."""
        if not self.patterns:
            return None
        return "^(?:" + "|".join(_regex_alternative(n, p) for p, n in self.patterns.items()) + ")"

    def value_set(self, codes) -> list[str]:
        return [f"{name}{_SEP}{code}" for name in sorted(self.lists) for code in codes[name]]


def _gx_verdicts(gx_runner, stacks: dict[str, pl.DataFrame], regex: str | None, value_set: list[str]
                 ) -> dict[str, pl.DataFrame]:
    """Run the stacked checks in one GX batch; for each kind, the stack rows GX rejected.
    ``gx_runner`` is a GxRunner or the gx_worker that runs one in its own process."""
    gx_columns: dict[str, pl.Series] = {}
    specs = []
    for kind, stack in stacks.items():
        if stack.height == 0:
            continue
        gx_columns[kind] = stack["v"].unique(maintain_order=True) if kind == "pattern" else stack["v"]
        specs.append((kind, regex, value_set))
    if not gx_columns:
        return {}
    results = _run_batches(gx_runner, gx_columns, specs)
    return _rejected_rows(results, gx_columns, stacks)


def _run_batches(gx_runner, gx_columns: dict[str, pl.Series], specs: list[tuple]) -> list[tuple[dict, list[int]]]:
    """The failed expectations with their row positions; short columns are padded with nulls."""
    # ids make the pattern column long (a distinct value per row): it goes in a batch of its own so
    # that the other, short columns are not padded to its length (GX hashes the whole batch)
    batches = [[k for k in gx_columns if k != "pattern"], [k for k in gx_columns if k == "pattern"]]
    results = []
    for number, kinds in enumerate(b for b in batches if b):
        height = max(gx_columns[k].len() for k in kinds)
        frame = pl.DataFrame([pl.concat([gx_columns[k], pl.Series([None] * (height - gx_columns[k].len()),
                                                                   dtype=gx_columns[k].dtype)]).alias(k) for k in kinds])
        wanted = [spec for spec in specs if spec[0] in kinds]
        results += gx_runner.run(f"extracts_{number}", "the extracts", frame, wanted)
    return results


def _rejected_rows(results: list[tuple[dict, list[int]]], gx_columns: dict[str, pl.Series],
                   stacks: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """For each kind, the stack rows GX rejected (padding is never a verdict)."""
    verdicts: dict[str, pl.DataFrame] = {}
    for meta, indices in results:
        kind = meta["rule"]
        real = [i for i in indices if i < gx_columns[kind].len()]
        if indices and not real:
            continue  # only the padding nulls failed (required)
        if not real:  # a failure without rows would be a silently lost failure: refuse
            raise RuntimeError(f"great-expectations reported {kind} failed without row indices")
        if kind == "pattern":
            bad = gx_columns[kind].gather(real)
            verdicts[kind] = stacks[kind].filter(pl.col("v").is_in(bad.implode()))
        else:
            verdicts[kind] = stacks[kind][real]
    return verdicts


def judge(frames: dict[str, pl.DataFrame], contracts: dict[str, Contract], codes, as_of: date, gx_runner,
          typed: dict[str, pl.DataFrame | None] | None = None,
          distinct: dict[str, dict[str, pl.Series] | None] | None = None) -> dict[str, pl.DataFrame]:
    """great-expectations' verdicts on every extract's distinct values, in one batch. ``typed``: each
    extract's non-text columns already parsed, and ``distinct``: its code columns' distinct values,
    where the caller has them."""
    stacker = _Stacker(as_of, {e: contracts[e] for e in frames})
    typed, distinct = typed or {}, distinct or {}
    stacker.collect([stacker.add(extract, frame, contracts[extract], typed.get(extract), distinct.get(extract))
                     for extract, frame in frames.items()])
    return _gx_verdicts(gx_runner, stacker.stacks(), stacker.regex(), stacker.value_set(codes))
