"""The quarantine policy: when quarantining rows is no longer "a few bad rows" but a broken extract.

A build that quarantined a whole extract, or a whole column, still reconciles row for row, yet every
number built on it is wrong (0 misconduct cases accepted gives every misconduct rate 0.0). So after
validation the build stops, keeping the previous warehouse serving, when:

- more than an extract's threshold share of its rows is quarantined (5% unless its contract or the
  mapping file says otherwise);
- a required extract has no accepted row at all (whatever its threshold);
- one rule rejects every value of a column (e.g. every is_investigated is Yes/No instead of Y/N).

The message names the extract, the rule, the rows it hit and a sample of the values. ``eqdash build
--accept-quarantine`` builds anyway and records that in build_info.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from data_contracts.contract import Contract
from data_contracts.errors import BlockingError

# Rules that judge a column's own values; a whole column failing one of them means the column,
# not its rows, is wrong. (required/unique/references judge rows and are caught by the share.)
_COLUMN_RULES = ("type", "pattern", "codes", "min", "max", "not_future", "date_floor")
# A column needs this many values before "every one of them fails" says more than bad luck.
MIN_VALUES_FOR_COLUMN_RULE = 5


@dataclass(frozen=True)
class Breach:
    extract: str
    file: str
    reason: str  # share, whole_extract, whole_column
    message: str


def check_policy(validation, contracts: dict[str, Contract], *, thresholds: dict[str, float] | None = None,
                 default_threshold: float | None = None) -> list[Breach]:
    """Every breach of the policy in this validation result, worst first per extract."""
    thresholds = thresholds or {}
    breaches: list[Breach] = []
    for extract, result in validation.extracts.items():
        contract = contracts[extract]
        limit = thresholds.get(extract, default_threshold if default_threshold is not None else contract.quarantine_threshold)
        q = result.quarantine
        if result.rows_read == 0:
            continue
        worst = _worst_rule(q)
        if result.rows_accepted == 0 and contract.required_extract:
            breaches.append(Breach(extract, result.file, "whole_extract",
                                   f"{result.file}: every one of its {result.rows_read:,} rows is quarantined; {worst}"))
            continue
        share = result.rows_quarantined / result.rows_read
        if share > limit:
            breaches.append(Breach(extract, result.file, "share",
                                   f"{result.file}: {result.rows_quarantined:,} of {result.rows_read:,} rows "
                                   f"({share:.1%}) are quarantined, more than the {limit:.0%} allowed; {worst}"))
            continue
        whole = _whole_column(q, result.accepted, result.rejected)
        if whole:
            breaches.append(Breach(extract, result.file, "whole_column", f"{result.file}: {whole}"))
    return breaches


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _sample(values: pl.Series, n: int = 3) -> str:
    seen = values.drop_nulls().unique(maintain_order=True).head(n).to_list()
    return ", ".join(repr(v) for v in seen) if seen else "blank"


def _worst_rule(q: pl.DataFrame) -> str:
    if q.height == 0:
        return "no rule"
    top = (q.group_by("rule", "column_name").agg(pl.col("source_row").n_unique().alias("n"), pl.col("value"))
           .sort("n", "rule", "column_name", descending=[True, False, False]).row(0, named=True))
    return (f"rule {top['rule']} on {top['column_name']} hit {_rows(top['n'])} "
            f"(e.g. {_sample(pl.Series(top['value'], dtype=pl.String))})")


def _whole_column(q: pl.DataFrame, accepted: pl.DataFrame, rejected: pl.DataFrame) -> str | None:
    if q.height == 0:
        return None
    by_rule = (q.filter(pl.col("rule").is_in(_COLUMN_RULES))
               .group_by("rule", "column_name").agg(pl.col("source_row").n_unique().alias("n"), pl.col("value"))
               .sort("rule", "column_name"))
    for rule, column, n, values in by_rule.iter_rows():
        if column not in rejected.columns:
            continue
        given = int(accepted[column].is_not_null().sum()) + int(rejected[column].is_not_null().sum())
        if n >= MIN_VALUES_FOR_COLUMN_RULE and n == given:
            return (f"rule {rule} rejects every value of column {column} ({n:,} rows, e.g. "
                    f"{_sample(pl.Series(values, dtype=pl.String))}): the column, not its rows, is wrong")
    return None


def raise_if_breached(breaches: list[Breach]) -> None:
    if not breaches:
        return
    first = breaches[0]
    more = f" (and {len(breaches) - 1} more extract(s): {', '.join(b.file for b in breaches[1:])})" if len(breaches) > 1 else ""
    raise BlockingError(first.file, "quarantine_policy",
                        f"{first.message.split(': ', 1)[1]}{more}. Fix the extract (or its mapping), or build "
                        "anyway with --accept-quarantine")
