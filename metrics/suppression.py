"""Disclosure control for published tables: small counts hidden, and enough other cells hidden
that a small count cannot be worked back out of a total (UK official-statistics practice: ONS,
HESA, NHS Digital, OpenSAFELY).

Rules, with threshold t (default 5):
- Primary: a count in 1..t-1 is hidden ("<5"); zero is shown unless suppress_zeros (a zero is
  not about a person, but it can be in derived tables).
- In a tidy table the cells are a row's n, events and n - events (20 people, 18 with the outcome
  reveals 2 without): each is a count. Hiding n or events hides that row's rate, interval,
  ratio and p-values ("too few to report"), since any of them would give the count back.
- Secondary: every set of cells that sums to a published total (a characteristic's groups, in
  each of the n, events and n - events dimensions; a cross-tab's rows and columns, totals
  included) must have no hidden cell or at least two, so no single cell is total minus the rest.
  The next-smallest visible cell is hidden until that holds.
- If the reference group is hidden, every ratio in its table is hidden too (a visible rate
  divided by its ratio would give the reference rate back).
- style "round": visible counts are rounded to the nearest 5 (rates stay from unrounded
  values); hidden counts show as in "mask" style.
This protects against recovery from one row or column at a time; it does not solve the full
linear system a determined attacker could set up across many overlapping published tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from metrics.config import DEFAULTS
from metrics.tidy import TIDY_COLUMNS, TOO_FEW, order_tidy

HIDDEN = "[c]"  # ONS's marker for a value withheld for confidentiality
SECONDARY_NOTE = "hidden so that a small group cannot be worked out from the total"
REFERENCE_NOTE = "reference group too small: ratios not shown"
STATISTIC_COLUMNS = ("rate", "ci_low", "ci_high", "ratio", "ratio_ci_low", "ratio_ci_high", "p_value", "p_adjusted")
RATIO_COLUMNS = ("ratio", "ratio_ci_low", "ratio_ci_high", "p_value", "p_adjusted")
EXTRA_STATISTICS = ("exposure", "rate_per_1000", "is_adverse_impact", "flag", "median_days", "median_ci_low",
                    "median_ci_high", "detectable_ratio", "evidence")  # the last two give n back (metrics/power.py)
STYLES = ("mask", "round")
PARTITION_COLUMNS = ("stage", "business_area_code")  # tidy extras that split a table into separate totals


def is_small(value: int | None, threshold: int, suppress_zeros: bool) -> bool:
    """A primary-suppression count: 1..threshold-1 (and 0 if suppress_zeros)."""
    if value is None:
        return False
    return 0 < value < threshold or (suppress_zeros and value == 0)


def suppress_tidy(
    frame: pl.DataFrame,
    *,
    threshold: int = DEFAULTS.suppression_threshold,
    style: str = DEFAULTS.suppression_style,
    suppress_zeros: bool = False,
    dimensions: Sequence[str] | None = None,
    reference_group: str | None = None,
    round_to: int = 5,
) -> pl.DataFrame:
    """Apply disclosure control to a tidy metric table; returns it with n/events and statistics
    nulled where hidden, is_suppressed set, a note, and n_display / events_display strings.

    Cells sum to a published total within each characteristic (and stage and business area, if
    the table has those columns). dimensions: which counts are disclosive, from "n", "events", "complement"
    (n - events). Default: all three; for exposure tables (an `exposure` column, n is
    person-years) only "events". The reference row is is_reference / reference_group when
    present, else the `reference_group` argument.
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}; got {style!r}")
    missing = [c for c in TIDY_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"suppress_tidy: not a tidy table, missing column(s) {missing}")
    if dimensions is None:
        dimensions = ("events",) if "exposure" in frame.columns else ("n", "events", "complement")
    unknown = set(dimensions) - {"n", "events", "complement"}
    if unknown:
        raise ValueError(f"suppress_tidy: unknown dimension(s) {sorted(unknown)}")
    # each set of rows that adds up to a total the table publishes (or implies): a characteristic's
    # groups, within each stage and each business area
    keys = ["characteristic"] + [c for c in PARTITION_COLUMNS if c in frame.columns]
    frame = frame.with_row_index("_row")
    hide_n, hide_events, primary_n, primary_events, single = {}, {}, {}, {}, set()

    for part in frame.partition_by(keys, maintain_order=True):
        rows = part["_row"].to_list()
        n = dict(zip(rows, part["n"].to_list(), strict=True))
        e = dict(zip(rows, part["events"].to_list(), strict=True))
        ref = _reference_rows(part, reference_group)
        small = lambda v: is_small(v, threshold, suppress_zeros)  # noqa: E731
        hn = {r: "n" in dimensions and small(n[r]) for r in rows}
        he = {r: "events" in dimensions and small(e[r]) for r in rows}
        if "complement" in dimensions:
            for r in rows:
                if n[r] is not None and e[r] is not None and small(n[r] - e[r]):
                    he[r] = True  # hide events: n stays, and n - events can no longer be formed
        primary_n.update(hn)
        primary_events.update(he)
        _secondary_1d(rows, n, e, hn, he, dimensions, ref)
        if len(rows) == 1 and (hn[rows[0]] or he[rows[0]]):
            single.add(rows[0])
        hide_n.update(hn)
        hide_events.update(he)

    return _apply_tidy(frame, keys, hide_n, hide_events, primary_n, primary_events, single,
                       threshold=threshold, style=style, round_to=round_to, reference_group=reference_group)


def _secondary_1d(rows, n, e, hn, he, dimensions, ref) -> None:
    """Hide more cells until no dimension has exactly one hidden cell in this partition."""
    def pick(candidates, value):
        # Smallest positive value first (a hidden zero protects little if zeros are known to be
        # structural); avoid the reference row, whose loss hides every ratio.
        candidates = [r for r in candidates if value(r) is not None]
        if not candidates:
            return None
        return min(candidates, key=lambda r: (r in ref, value(r) == 0, value(r), r))

    changed = True
    while changed:
        changed = False
        if "n" in dimensions and sum(hn.values()) == 1:
            r = pick([r for r in rows if not hn[r]], lambda r: n[r])
            if r is not None:
                hn[r] = changed = True
        if "events" in dimensions and sum(he.values()) == 1:
            r = pick([r for r in rows if not he[r]], lambda r: e[r])
            if r is not None:
                he[r] = changed = True
        if "complement" in dimensions:
            hidden_c = [r for r in rows if hn[r] or he[r]]
            if len(hidden_c) == 1:
                r = pick([r for r in rows if not (hn[r] or he[r])],
                         lambda r: None if n[r] is None or e[r] is None else n[r] - e[r])
                if r is not None:
                    he[r] = changed = True


def _reference_rows(part: pl.DataFrame, reference_group: str | None) -> set[int]:
    if "is_reference" in part.columns:
        mask = part["is_reference"].fill_null(False)
    elif "reference_group" in part.columns:
        mask = (part["group"] == part["reference_group"]).fill_null(False)
    elif reference_group is not None:
        mask = part["group"] == reference_group
    else:
        return set()
    return set(part.filter(mask)["_row"].to_list())


def _apply_tidy(frame, keys, hide_n, hide_events, primary_n, primary_events, single, *, threshold, style,
                round_to, reference_group) -> pl.DataFrame:
    rows = frame["_row"].to_list()
    hn = pl.Series([hide_n[r] for r in rows], dtype=pl.Boolean)
    he = pl.Series([hide_events[r] for r in rows], dtype=pl.Boolean)
    hidden = hn | he
    pn = pl.Series([primary_n[r] for r in rows], dtype=pl.Boolean)
    pe = pl.Series([primary_events[r] for r in rows], dtype=pl.Boolean)
    is_single = pl.Series([r in single for r in rows], dtype=pl.Boolean)
    out = frame.with_columns(
        _hn=hn, _he=he, _hidden=hidden, _primary=pn | pe, _pn=pn, _pe=pe, _single=is_single,
    )
    # A hidden reference row hides the ratios of its whole partition.
    ref_rows = _reference_rows(out, reference_group)
    out = out.with_columns(pl.col("_row").is_in(list(ref_rows)).alias("_is_ref"))
    out = out.with_columns(
        (pl.col("_is_ref") & pl.col("_hidden")).any().over(keys).alias("_ref_hidden")
    )

    def display(col: str, hidden_col: str, primary_col: str) -> pl.Expr:
        value = pl.col(col)
        shown = _round(value, round_to) if style == "round" else value
        return (
            pl.when(pl.col(hidden_col) & pl.col(primary_col) & (value < threshold))
            .then(pl.lit(f"<{threshold}"))
            .when(pl.col(hidden_col)).then(pl.lit(HIDDEN))
            .otherwise(shown.cast(pl.String))
        )

    existing = pl.col("note") if "note" in out.columns else pl.lit(None, dtype=pl.String)
    # A group the metric function flagged as too small for a reliable rate keeps its counts but
    # loses its statistics in restricted outputs.
    out = out.with_columns(_tiny=existing.str.contains(TOO_FEW, literal=True).fill_null(False))
    single_note = pl.when(pl.col("_single")).then(
        pl.lit("only group in its table: the table total must be hidden too"))
    note = (
        pl.when(pl.col("_hidden") & pl.col("_primary"))
        .then(pl.concat_str([pl.lit(TOO_FEW), single_note], separator="; ", ignore_nulls=True))
        .when(pl.col("_hidden")).then(pl.lit(SECONDARY_NOTE))
        .otherwise(pl.concat_str(
            [pl.when(pl.col("_ref_hidden") & ~pl.col("_is_ref")).then(pl.lit(REFERENCE_NOTE)), existing],
            separator="; ", ignore_nulls=True))
    )
    out = out.with_columns(
        n_display=display("n", "_hn", "_pn"),
        events_display=display("events", "_he", "_pe"),
        note=note.replace("", None),
        _withheld=pl.col("_hidden") | pl.col("_tiny"),
    )
    nulls = [pl.when(pl.col("_withheld")).then(None).otherwise(pl.col(c)).alias(c)
             for c in STATISTIC_COLUMNS + tuple(c for c in EXTRA_STATISTICS if c in out.columns)]
    nulls.append(pl.when(pl.col("_withheld")).then(None).otherwise(pl.col("is_significant")).alias("is_significant"))
    out = out.with_columns(nulls)
    ratio_nulls = [pl.when(pl.col("_ref_hidden")).then(None).otherwise(pl.col(c)).alias(c) for c in RATIO_COLUMNS]
    ratio_nulls.append(pl.when(pl.col("_ref_hidden")).then(None).otherwise(pl.col("is_significant"))
                       .alias("is_significant"))
    if "is_adverse_impact" in out.columns:
        ratio_nulls.append(pl.when(pl.col("_ref_hidden")).then(None).otherwise(pl.col("is_adverse_impact"))
                           .alias("is_adverse_impact"))
    out = out.with_columns(ratio_nulls)
    n_value = _round(pl.col("n"), round_to) if style == "round" else pl.col("n")
    e_value = _round(pl.col("events"), round_to) if style == "round" else pl.col("events")
    out = out.with_columns(
        n=pl.when(pl.col("_hn")).then(None).otherwise(n_value),
        events=pl.when(pl.col("_he")).then(None).otherwise(e_value),
        is_suppressed=pl.col("_withheld"),
    )
    return order_tidy(out.drop([c for c in out.columns if c.startswith("_")]))


def _round(expr: pl.Expr, base: int) -> pl.Expr:
    """Round to the nearest multiple of base, halves up (integers only, so no banker's rounding)."""
    return ((expr + base // 2) // base * base).cast(pl.Int64)


def suppress_crosstab(
    frame: pl.DataFrame,
    *,
    row: str,
    col: str,
    value: str,
    threshold: int = DEFAULTS.suppression_threshold,
    style: str = DEFAULTS.suppression_style,
    suppress_zeros: bool = False,
    total_label: str = "Total",
    round_to: int = 5,
) -> pl.DataFrame:
    """Disclosure control for a two-way table of counts (e.g. ethnic group x sex), with margins.

    Input: long frame with columns row, col, value (a missing combination is a zero). Output: the
    full table with row and column totals and the grand total, one row per cell: row, col,
    value (null if hidden; rounded in style "round"), value_display, is_suppressed, is_total.
    Iterative secondary suppression over every row and column of the table with its margins:
    no line may have exactly one hidden cell (interior cells are hidden in preference to totals).
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}; got {style!r}")
    missing = [c for c in (row, col, value) if c not in frame.columns]
    if missing:
        raise ValueError(f"suppress_crosstab: input is missing column(s) {missing}")
    bad = frame[value].is_null() | (frame[value] < 0)
    if bad.any():
        raise ValueError(f"suppress_crosstab: row {int(bad.arg_true()[0]) + 1}, column {value!r}: "
                         "count must be present and not negative")
    if frame.select(pl.struct(row, col).is_duplicated().any()).item():
        raise ValueError(f"suppress_crosstab: a ({row}, {col}) combination appears twice")
    row_keys = list(dict.fromkeys(frame[row].cast(pl.String).to_list()))
    col_keys = list(dict.fromkeys(frame[col].cast(pl.String).to_list()))
    if total_label in row_keys or total_label in col_keys:
        raise ValueError(f"suppress_crosstab: {total_label!r} is a data label; pass another total_label")
    counts = {(str(r), str(c)): int(v) for r, c, v in frame.select(row, col, value).iter_rows()}
    R, C = len(row_keys), len(col_keys)
    grid = [[counts.get((r, c), 0) for c in col_keys] for r in row_keys]
    for i in range(R):
        grid[i].append(sum(grid[i]))
    grid.append([sum(grid[i][j] for i in range(R)) for j in range(C + 1)])
    hidden = [[is_small(grid[i][j], threshold, suppress_zeros) for j in range(C + 1)] for i in range(R + 1)]
    primary = [h[:] for h in hidden]
    lines = [[(i, j) for j in range(C + 1)] for i in range(R + 1)] + \
            [[(i, j) for i in range(R + 1)] for j in range(C + 1)]
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(hidden[i][j] for i, j in line) != 1:
                continue
            visible = [(i, j) for i, j in line if not hidden[i][j]]
            if not visible:
                continue
            # Interior before totals; then smallest positive value; ties by position (deterministic).
            i, j = min(visible, key=lambda ij: (ij[0] == R or ij[1] == C, grid[ij[0]][ij[1]] == 0,
                                                grid[ij[0]][ij[1]], ij))
            hidden[i][j] = changed = True
    records = []
    labels_r, labels_c = row_keys + [total_label], col_keys + [total_label]
    for i in range(R + 1):
        for j in range(C + 1):
            v = grid[i][j]
            shown = (v + round_to // 2) // round_to * round_to if style == "round" else v
            if hidden[i][j]:
                disp = f"<{threshold}" if primary[i][j] and v < threshold else HIDDEN
            else:
                disp = str(shown)
            records.append({row: labels_r[i], col: labels_c[j], value: None if hidden[i][j] else shown,
                            "value_display": disp, "is_suppressed": hidden[i][j], "is_total": i == R or j == C})
    return pl.DataFrame(records, schema={row: pl.String, col: pl.String, value: pl.Int64,
                                         "value_display": pl.String, "is_suppressed": pl.Boolean,
                                         "is_total": pl.Boolean}, orient="row")


def suppress_counts(
    frame: pl.DataFrame,
    *,
    by: Sequence[str],
    value: str,
    threshold: int = DEFAULTS.suppression_threshold,
    style: str = DEFAULTS.suppression_style,
    suppress_zeros: bool = False,
    round_to: int = 5,
) -> pl.DataFrame:
    """Disclosure control for a one-way counts table: rows sharing the `by` columns sum to a
    published total. Adds value_display and is_suppressed; hidden values become null."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}; got {style!r}")
    missing = [c for c in (*by, value) if c not in frame.columns]
    if missing:
        raise ValueError(f"suppress_counts: input is missing column(s) {missing}")
    frame = frame.with_row_index("_row")
    hide, primary = {}, {}
    parts = frame.partition_by(list(by), maintain_order=True) if by else [frame]
    for part in parts:
        rows = part["_row"].to_list()
        vals = dict(zip(rows, part[value].to_list(), strict=True))
        h = {r: is_small(vals[r], threshold, suppress_zeros) for r in rows}
        primary.update(h)
        if sum(h.values()) == 1:
            visible = [r for r in rows if not h[r] and vals[r] is not None]
            if visible:
                h[min(visible, key=lambda r: (vals[r] == 0, vals[r], r))] = True
        hide.update(h)
    order = frame["_row"].to_list()
    out = frame.with_columns(
        _h=pl.Series([hide[r] for r in order], dtype=pl.Boolean),
        _p=pl.Series([primary[r] for r in order], dtype=pl.Boolean),
    )
    shown = _round(pl.col(value), round_to) if style == "round" else pl.col(value)
    return out.with_columns(
        value_display=pl.when(pl.col("_h") & pl.col("_p") & (pl.col(value) < threshold)).then(pl.lit(f"<{threshold}"))
        .when(pl.col("_h")).then(pl.lit(HIDDEN)).otherwise(shown.cast(pl.String)),
        is_suppressed=pl.col("_h"),
    ).with_columns(
        pl.when(pl.col("_h")).then(None).otherwise(shown).alias(value)
    ).drop("_row", "_h", "_p")
