"""The row-level rules polars evaluates, vectorised, with their messages.

type (parsing is what produces the typed columns), both_or_neither (GX has no "both or neither
null" expectation), references, spells and service: the cross-row and cross-extract checks GX
cannot express. Each adds its failures to a Failures collector; rows are numbered from 0 (``_i``)
and become spreadsheet rows (+2) in the quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from data_contracts.contract import Contract
from data_contracts.errors import FIRST_DATA_ROW
from data_contracts.parsing import TYPE_ONE, key_exprs


@dataclass
class Failures:
    """Row-level failures collected per rule before they become the quarantine frame."""

    rows: list[int] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    values: list[str | None] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def add(self, row: int, rule: str, column: str, value: str | None, message: str) -> None:
        self.rows.append(row)
        self.rules.append(rule)
        self.columns.append(column)
        self.values.append(value)
        self.messages.append(message)

    def merge(self, other: Failures) -> None:
        """Another collection's failures, after these (in its order)."""
        self.rows += other.rows
        self.rules += other.rules
        self.columns += other.columns
        self.values += other.values
        self.messages += other.messages

    def extend(self, hits: pl.DataFrame, rule: str, column: str) -> None:
        """Many rows at once: ``hits`` has _i, value and message columns."""
        n = hits.height
        self.rows.extend(hits["_i"].to_list())
        self.rules.extend([rule] * n)
        self.columns.extend([column] * n)
        self.values.extend(hits["value"].cast(pl.String).to_list())
        self.messages.extend(hits["message"].to_list())



def check_types(failures: Failures, base: pl.DataFrame, typed: pl.DataFrame, contract: Contract) -> None:
    """type: non-blank text that did not parse."""
    for col in contract.columns:
        if col.type == "string":
            continue
        bad = base.filter(pl.col(col.name).is_not_null() & typed[col.name].is_null())
        for i, value in bad.select("_i", col.name).iter_rows():
            failures.add(i, "type", col.name, value, f"{col.name} {value!r} is not {TYPE_ONE[col.type]}")


def check_both_or_neither(failures: Failures, base: pl.DataFrame, contract: Contract) -> None:
    for rule in contract.rules:
        if rule.check != "both_or_neither":
            continue
        a, b = rule.columns
        bad = base.filter(pl.col(a).is_null() != pl.col(b).is_null())
        for i, va, vb in bad.select("_i", a, b).iter_rows():
            blank, given, given_value = (b, a, va) if vb is None else (a, b, vb)
            failures.add(i, "both_or_neither", blank, given_value,
                         f"{rule.name}: {given} is {given_value!r} but {blank} is blank; give both or neither")


def check_references(failures: Failures, base: pl.DataFrame, contract: Contract,
                     accepted_keys: dict[tuple[str, str], tuple[pl.Series, dict[str, int], str]],
                     misses: dict[str, pl.Series] | None = None) -> None:
    """references: against the ACCEPTED rows of the referenced extract (a quarantined target says so).
    ``misses``: a column's rows already found not among the keys (validate._reference_misses)."""
    for col in contract.columns:
        if col.references is None:
            continue
        keys, quarantined_at, target_file = accepted_keys[col.references]
        target, target_col = col.references
        missing = (misses or {}).get(col.name)
        if missing is None:
            missing = pl.col(col.name).is_not_null() & ~pl.col(col.name).is_in(keys.implode())
        bad = base.filter(missing)
        for i, value in bad.select("_i", col.name).iter_rows():
            if value in quarantined_at:
                message = (
                    f"{col.name} {value!r} was quarantined in {target_file} (row {quarantined_at[value]}), "
                    f"so this row is quarantined too"
                )
            else:
                message = f"{col.name} {value!r} is not in {target_file} ({target}.{target_col})"
            failures.add(i, "references", col.name, value, message)


def add_unique(failures: Failures, base: pl.DataFrame, contract: Contract, bad_keys: pl.DataFrame) -> None:
    """Every row of each duplicated key, with the key's first ten rows named (one group_by: linear)."""
    key = list(contract.primary_key)
    label = "+".join(key)
    rows = (base.select("_i", *key_exprs(contract))
            .join(bad_keys.select(key), on=key, how="inner")
            .with_columns(pl.concat_str([pl.col(k) for k in key], separator="|").alias("value")))
    groups = rows.group_by("value").agg(pl.len().alias("n"), (pl.col("_i").sort().head(10) + FIRST_DATA_ROW).alias("first"))
    groups = groups.with_columns(pl.format(
        f"{label} '{{}}' appears in {{}} rows (rows {{}}); every row sharing a duplicated key is quarantined because "
        "nothing says which one is right", pl.col("value"), pl.col("n"),
        pl.col("first").cast(pl.List(pl.String)).list.join(", ")).alias("message"))
    hits = rows.select("_i", "value").join(groups.select("value", "message"), on="value", how="left").sort("_i")
    failures.extend(hits, "unique", label)


_DAYS = 2**33  # more than twice any date's day number (an Int32), so one number carries person and date


def _latest_end_before(person: pl.Expr, stop: pl.Expr) -> pl.Expr:
    """In a frame sorted by person: the latest stop of the person's earlier rows (null on a person's
    first row). The same as ``stop.cum_max().shift(1).over(person)`` without a window per person
    (1.2 s of the 1.6 s of the rule at `national`): each row's person number x _DAYS + its stop's day
    number only rises from one person to the next, so one running maximum never crosses persons."""
    number = (person != person.shift(1)).fill_null(True).cum_sum().cast(pl.Int64)
    running = (number * _DAYS + stop.cast(pl.Int64)).cum_max()
    same_person = number.shift(1) == number
    return pl.when(same_person).then(running.shift(1) - number * _DAYS).cast(pl.Int32).cast(pl.Date)


def check_spells(failures: Failures, base: pl.DataFrame, typed: pl.DataFrame, contract: Contract) -> None:
    """Dated spells of one person may not repeat or overlap (end dates inclusive; blank = open).

    One sort serves both rules: by person, start, stop (blank end: open), end, every other column
    and row, copies of a spell (every column but the id the same) are neighbours, the earliest row
    first, and the sweep for overlaps reads each person's spells in order of start and stop. (A
    window per spell and a second sort took 0.37 s of one core at `national`; this, 0.1 s.)"""
    person, start, end = contract.spells  # type: ignore[misc]
    key = contract.primary_key[0]
    others = [c for c in contract.column_names if c not in (key, person, start, end)]
    spells = (base.select("_i", pl.col(key).alias("_id"), pl.col(person).alias("_person"), *others)
              .hstack(typed.select(pl.col(start).alias("_start"), pl.col(end).alias("_end")))
              .filter(pl.col("_person").is_not_null() & pl.col("_start").is_not_null())
              .with_columns(pl.col("_end").fill_null(date(9999, 12, 31)).alias("_stop"))
              .sort("_person", "_start", "_stop", "_end", *others, "_i"))
    # the same spell twice: a row equal to the row before it (blank equal to blank) is a copy of the
    # first row of its run; keep that one, quarantine the copies
    copy = pl.all_horizontal(pl.col(c).eq_missing(pl.col(c).shift(1)) for c in ("_person", "_start", "_end", *others))
    spells = spells.with_columns(copy.alias("_copy"), pl.when(~copy).then(pl.col("_i")).forward_fill().alias("_first"),
                                 pl.when(~copy).then(pl.col("_id")).forward_fill().alias("_first_id"))
    copies = spells.filter(pl.col("_copy")).sort("_i")
    failures.extend(copies.select(
        "_i", pl.col("_id").alias("value"),
        pl.format(f"{person} {{}}: the same spell as {key} {{}} (row {{}}), {start} {{}} to {{}}; the copy is quarantined",
                  pl.col("_person"), pl.col("_first_id"), pl.col("_first") + FIRST_DATA_ROW, pl.col("_start"),
                  pl.col("_end").cast(pl.String).fill_null("open")).alias("message")), "duplicate_spell", key)
    rest = spells.filter(~pl.col("_copy"))
    # sweep: a spell starting on or before the latest end so far (same person) joins that cluster
    rest = rest.with_columns(_latest_end_before(pl.col("_person"), pl.col("_stop")).alias("_reach"))
    cluster = (pl.col("_reach").is_null() | (pl.col("_start") > pl.col("_reach"))).cum_sum()
    rest = rest.with_columns(cluster.alias("_cluster"))
    # a cluster's rows are neighbours: a row is in a cluster of two or more when a neighbour shares it
    overlap = rest.filter((pl.col("_cluster") == pl.col("_cluster").shift(1)).fill_null(False)
                          | (pl.col("_cluster") == pl.col("_cluster").shift(-1)).fill_null(False))
    clusters = overlap.group_by("_cluster").agg(
        pl.len().alias("_n"), (pl.col("_i").sort().head(10) + FIRST_DATA_ROW).cast(pl.String).str.join(", ").alias("_rows"))
    overlap = overlap.join(clusters, on="_cluster", how="left").sort("_i")
    failures.extend(overlap.select(
        "_i", pl.col("_id").alias("value"),
        pl.format(f"{person} {{}} has {{}} spells that overlap (rows {{}}): {start} {{}} to {{}} overlaps another; a "
                  "person holds one post at a time, and nothing says which spell is right",
                  pl.col("_person"), pl.col("_n"), pl.col("_rows"), pl.col("_start"),
                  pl.col("_end").cast(pl.String).fill_null("open")).alias("message")), "overlapping_spell", key)


def check_within_service(failures: Failures, base: pl.DataFrame, typed: pl.DataFrame, contract: Contract,
                          people: pl.DataFrame, as_of: date) -> None:
    """A spell lies between the person's join date and leave date (a leave date after as-of: still in post)."""
    start, end = contract.within_service  # type: ignore[misc]
    service = people.select("person_id", "join_date",
                            pl.when(pl.col("leave_date") <= as_of).then(pl.col("leave_date")).alias("leave_date"))
    spells = (base.select("_i", "person_id").hstack(typed.select(pl.col(start).alias("_start"), pl.col(end).alias("_end")))
              .join(service, on="person_id", how="inner").filter(pl.col("_start").is_not_null()))
    before = spells.filter(pl.col("_start") < pl.col("join_date")).select(
        "_i", pl.col("_start").cast(pl.String).alias("value"),
        pl.format(f"{start} {{}} is before person_id {{}} joined ({{}}): outside their service",
                  pl.col("_start"), pl.col("person_id"), pl.col("join_date")).alias("message"))
    failures.extend(before, "outside_service", start)
    left = spells.filter(pl.col("leave_date").is_not_null() & (pl.col("_start") >= pl.col("join_date")))
    # (a spell left open for a leaver is not judged here: HR systems often leave it blank)
    starts_after = left.filter(pl.col("_start") > pl.col("leave_date")).select(
        "_i", pl.col("_start").cast(pl.String).alias("value"),
        pl.format(f"{start} {{}} is after person_id {{}} left ({{}}): outside their service",
                  pl.col("_start"), pl.col("person_id"), pl.col("leave_date")).alias("message"))
    failures.extend(starts_after, "outside_service", start)
    ends_after = left.filter((pl.col("_start") <= pl.col("leave_date")) & (pl.col("_end") > pl.col("leave_date"))).select(
        "_i", pl.col("_end").cast(pl.String).alias("value"),
        pl.format(f"{end} {{}} is after person_id {{}} left ({{}}): outside their service",
                  pl.col("_end"), pl.col("person_id"), pl.col("leave_date")).alias("message"))
    failures.extend(ends_after, "outside_service", end)

