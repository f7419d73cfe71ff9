"""The great-expectations suite: every value-level rule judged on distinct values, in one batch.

great-expectations evaluates required, pattern, codes, min, max, not_future, date_floor, unique,
date_order and not_greater; verdicts.py maps its verdicts back to rows.
"""

from __future__ import annotations

import os
import re
from datetime import date

import polars as pl

from data_contracts.contract import DEFAULT_MIN_DATE, Column, Contract
from data_contracts.errors import BlockingError
from data_contracts.parsing import EPOCH, as_float, key_rows, pair_margin, parsed


class GxRunner:
    """One ephemeral great-expectations context for a whole dataset; one suite run per extract."""

    def __init__(self) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx  # lazy: importing it takes ~3 s
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        self.source = self.context.data_sources.add_pandas("extracts")

    def run(self, extract: str, file_name: str, frame_pd, expectations: list) -> list[tuple[dict, list[int]]]:
        """(meta, unexpected row positions) for each expectation that failed."""
        gx = self.gx
        asset = self.source.add_dataframe_asset(extract)
        batch = asset.add_batch_definition_whole_dataframe(f"{extract}_all").get_batch(batch_parameters={"dataframe": frame_pd})
        # one suite built whole (adding expectations one by one re-serialises the suite each time)
        suite = gx.ExpectationSuite(name=f"{extract}_contract", expectations=expectations)
        result = batch.validate(
            suite,
            result_format={"result_format": "COMPLETE", "partial_unexpected_count": 0, "return_unexpected_index_query": False},
        )
        failed = []
        for item in result.results:
            info = item.exception_info or {}
            if info.get("raised_exception"):
                meta = dict(item.expectation_config.meta)
                raise BlockingError(
                    file_name,
                    "validation",
                    f"great-expectations could not evaluate rule {meta.get('rule')}: {info.get('exception_message')}",
                    column=meta.get("column"),
                )
            if not item.success:
                failed.append((dict(item.expectation_config.meta), list(item.result.get("unexpected_index_list") or [])))
        return failed



# --------------------------------------------------------------------------------------------
# great-expectations on distinct values
#
# Every rule GX evaluates is a property of a value, so GX judges DISTINCT things and the verdicts
# are mapped back to every row holding a failing value by a polars join:
#   required  each column's two states (given / blank)
#   codes     each column's distinct values, as "<code list>\x1f<value>" against every list's codes
#   pattern   each column's distinct values, as "<pattern no.>\x1f<value>" against one combined regex
#   range     min, max, date_floor and not_future: each column's distinct values as a margin >= 0
#   order     date_order and not_greater: each rule's distinct differences (later - earlier) >= 0
#   unique    each extract's distinct "rows per key" counts, which must be 1
# All extracts are stacked into ONE batch of six expectations: GX costs ~30 ms per expectation
# whatever the data, and the old frame (every column of every row, hashed twice by GX) is gone.
# Work grows with distinct values, not rows: 100,000 copies of one person are one value.
# --------------------------------------------------------------------------------------------

_SEP = "\x1f"



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


def _stacks(frames: dict[str, pl.DataFrame], contracts: dict[str, Contract], codes, as_of: date):
    """What GX judges, stacked over every extract and column, plus what it needs to judge it."""
    parts: dict[str, list[pl.DataFrame]] = {k: [] for k in _STACK_SCHEMAS}
    patterns: dict[str, int] = {}
    lists: set[str] = set()

    def lit(**values) -> list[pl.Expr]:
        return [pl.lit(v, dtype=pl.String).alias(k) for k, v in values.items()]

    for extract, frame in frames.items():
        contract = contracts[extract]
        for col in contract.columns:
            text = pl.col(col.name)
            if col.required:
                states = frame.select(text.is_null().unique().alias("_blank"))
                parts["required"].append(states.select(*lit(extract=extract, column=col.name),
                                                       pl.when(~pl.col("_blank")).then(pl.lit("given")).alias("v")))
            distinct = None
            if col.codes or col.pattern or col.type != "string":
                distinct = frame.select(text.drop_nulls().unique().alias("value"))
            if col.codes:
                lists.add(col.codes)
                parts["codes"].append(distinct.select(*lit(extract=extract, column=col.name), "value",
                                                      (pl.lit(col.codes + _SEP) + pl.col("value")).alias("v")))
            if col.pattern:
                number = patterns.setdefault(col.pattern, len(patterns))
                shown = pl.col("value")
                if digits_interchangeable(col.pattern):
                    # P0000825 and P0012345 are the same to such a pattern: GX judges P0000000 once
                    shown = shown.str.replace_all("[0-9]", "0")
                parts["pattern"].append(distinct.select(*lit(extract=extract, column=col.name), "value",
                                                        (pl.lit(f"{number}{_SEP}") + shown).alias("v")))
            if col.type == "string":
                continue
            value = distinct.with_columns(as_float(col, parsed(Column(name="value", type=col.type))).alias("_x")).drop_nulls("_x")
            bounds: list[tuple[str, float, bool, str | None]] = []  # rule, bound, is_lower, floor text
            if col.min is not None:
                bounds.append(("min", float(col.min), True, None))
            if col.max is not None:
                bounds.append(("max", float(col.max), False, None))
            if col.type == "date":
                floor = col.min_date or DEFAULT_MIN_DATE
                bounds.append(("date_floor", float((floor - EPOCH).days), True, floor.isoformat()))
            if col.not_future:
                bounds.append(("not_future", float((as_of - EPOCH).days), False, None))
            for rule, bound, lower, floor_text in bounds:
                margin = (pl.col("_x") - bound) if lower else (bound - pl.col("_x"))
                parts["range"].append(value.select(*lit(extract=extract, rule=rule, column=col.name), "value",
                                                   *lit(floor=floor_text), margin.alias("v")))
        for rule in contract.rules:
            if rule.check in ("date_order", "not_greater"):
                typed = frame.select(parsed(contract.column(c)).alias(c) for c in rule.columns)
                margins = typed.select(pair_margin(contract, rule).drop_nulls().unique().alias("v"))
                parts["order"].append(margins.select(*lit(extract=extract, rule=rule.check, rule_name=rule.name), "v"))
        counts = key_rows(frame, contract).select(pl.col("_rows").unique())
        parts["unique"].append(counts.select(*lit(extract=extract), (1 - pl.col("_rows").cast(pl.Int64)).cast(pl.Float64).alias("v")))
    stacks = {k: pl.concat(v, how="vertical") if v else pl.DataFrame(schema=_STACK_SCHEMAS[k]) for k, v in parts.items()}
    regex = "^(?:" + "|".join(_regex_alternative(n, p) for p, n in patterns.items()) + ")" if patterns else None
    value_set = [f"{name}{_SEP}{code}" for name in sorted(lists) for code in codes[name]]
    return stacks, regex, value_set


def _gx_verdicts(gx_runner: GxRunner, stacks: dict[str, pl.DataFrame], regex: str | None, value_set: list[str]
                 ) -> dict[str, pl.DataFrame]:
    """Run the stacked checks in one GX batch; for each kind, the stack rows GX rejected."""
    E = gx_runner.gx.expectations
    gx_columns: dict[str, pl.Series] = {}
    expectations = []
    for kind, stack in stacks.items():
        if stack.height == 0:
            continue
        series = stack["v"].unique(maintain_order=True) if kind == "pattern" else stack["v"]
        gx_columns[kind] = series
        meta = {"rule": kind, "column": kind}
        if kind == "required":
            expectations.append(E.ExpectColumnValuesToNotBeNull(column=kind, meta=meta))
        elif kind == "codes":
            expectations.append(E.ExpectColumnValuesToBeInSet(column=kind, value_set=value_set, meta=meta))
        elif kind == "pattern":
            expectations.append(E.ExpectColumnValuesToMatchRegex(column=kind, regex=regex, meta=meta))
        else:
            expectations.append(E.ExpectColumnValuesToBeBetween(column=kind, min_value=0, meta=meta))
    if not gx_columns:
        return {}
    # ids make the pattern column long (a distinct value per row): it goes in a batch of its own so
    # that the other, short columns are not padded to its length (GX hashes the whole batch)
    batches = [[k for k in gx_columns if k != "pattern"], [k for k in gx_columns if k == "pattern"]]
    results = []
    for number, kinds in enumerate(b for b in batches if b):
        height = max(gx_columns[k].len() for k in kinds)
        frame = pl.DataFrame([pl.concat([gx_columns[k], pl.Series([None] * (height - gx_columns[k].len()),
                                                                   dtype=gx_columns[k].dtype)]).alias(k) for k in kinds])
        wanted = [e for e in expectations if e.meta["rule"] in kinds]
        results += gx_runner.run(f"extracts_{number}", "the extracts", frame.to_pandas(), wanted)
    verdicts: dict[str, pl.DataFrame] = {}
    for meta, indices in results:
        kind = meta["rule"]
        real = [i for i in indices if i < gx_columns[kind].len()]  # padding is never a verdict
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



def judge(frames: dict[str, pl.DataFrame], contracts: dict[str, Contract], codes, as_of: date, gx_runner: GxRunner
          ) -> dict[str, pl.DataFrame]:
    """great-expectations' verdicts on every extract's distinct values, in one batch."""
    stacks, regex, value_set = _stacks(frames, contracts, codes, as_of)
    return _gx_verdicts(gx_runner, stacks, regex, value_set)
