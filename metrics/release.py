"""The restricted release: everything a staff association or a circulated SPOC pack receives.

One module cuts it, protects it as a whole and hands tables out of it (DOMAIN.md, "Small numbers and
disclosure control"; ARCHITECTURE.md habit 12). Nothing restricted is computed anywhere else.

What is released
- Periods are fixed and never overlap in a way a reader can choose: complete financial years, and
  the current financial year to the end of its last complete quarter ("FY2026/27 to date
  (Apr-Sep 2026)"). Over a year the year-to-date figure is released after each quarter, so the
  audit of a year takes every such snapshot as published (see release_audit.py).
- Cells: counts of grievances raised and closed, misconduct referrals, applications and acting-up
  decisions, by every characteristic (one at a time; worker type is one of them) for the whole
  force, and by ethnic group, sex and disability for each business area (the SPOC packs and the
  area tables).

How it is protected (the method of NHS Digital and OpenSAFELY, audited the way tau-argus audits
linked tables)
- Every count in a breakdown is protected: 0 is shown; 1 to threshold-1 (default 1-7) is hidden
  as "[c]"; every other count is rounded to the nearest 5. Totals with no breakdown at all (an
  area's or the force's grievances in a period) are shown exactly: leadership teams need them and
  they say nothing about anyone's characteristics.
- The same count is protected the same way wherever it appears (it has one key), so a reader can
  never average or difference two versions of it.
- Every rate, interval, ratio and p-value is computed from the protected counts, over the groups
  shown; a group with a hidden count gets none ("too few to report"), and the adjustment family is
  the groups shown.
- The whole release of a year is then audited by linear programming (release_audit.py): the tightest
  bounds an attacker can derive on every hidden cell from everything published. Where a hidden cell
  could be pinned to one value, a neighbouring count is hidden too (secondary suppression) and the
  audit runs again, until no cell is at risk.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

import numpy as np
import polars as pl

from metrics.config import APPLICANT_CHARACTERISTICS, CHARACTERISTICS, DEFAULTS, Settings
from metrics.queries import FilterError, Filters, add_months
from metrics.warehouse import Warehouse

FORCE, AREA = "force", "area"
ALL = "*"
HIDDEN = "[c]"
TOO_FEW = "too few to report"
HIDDEN_NOTE = "hidden: fewer than {t}, or hidden so that a small count cannot be worked out"
EXPOSURE_BASE = 10  # person-years are rounded to the nearest 10, and hidden below 10
TREND_YEARS = 6  # released periods in a staff association's trend table

PERSON_CHARACTERISTICS = tuple(CHARACTERISTICS)
# Business-area tables (SPOC packs and the area disparity table) break down by these only: finer
# breakdowns of a few dozen cases per area would be hidden almost entirely.
AREA_CHARACTERISTICS = ("ethnicity_group", "sex", "disability")


# ---------------------------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReleasePeriod:
    label: str
    financial_year: int
    start: date  # first month
    end: date  # last month (first of the month)
    quarters: tuple[date, ...]  # first month of each quarter in the period
    is_partial: bool

    @property
    def filters(self) -> Filters:
        return Filters(start=self.start, end=self.end)


def fy_label(fy: int) -> str:
    return f"FY{fy}/{(fy + 1) % 100:02d}"


def _period(fy: int, quarters: tuple[date, ...], full: bool) -> ReleasePeriod:
    start, end = quarters[0], add_months(quarters[-1], 2)
    label = fy_label(fy) if full else f"{fy_label(fy)} to date ({start:%b}-{end:%b %Y})"
    return ReleasePeriod(label, fy, start, end, quarters, not full)


def year_blocks(wh: Warehouse) -> dict[int, tuple[ReleasePeriod, ...]]:
    """Every financial year with a complete quarter, and the periods released within it: the
    year to date after each complete quarter, then the complete year. A year that starts before
    the data does (no complete first quarter) is not released."""
    months = wh.query(
        """select month_start, financial_year, month_end_in_window = month_end as is_complete
           from dim_calendar order by month_start""")
    complete = {m for m, ok in zip(months["month_start"], months["is_complete"], strict=True) if ok}
    blocks: dict[int, tuple[ReleasePeriod, ...]] = {}
    for fy in sorted(set(months["financial_year"].to_list())):
        quarters = []
        for k in range(4):
            q = date(fy, 4, 1) if k == 0 else add_months(date(fy, 4, 1), 3 * k)
            if all(add_months(q, i) in complete for i in range(3)):
                quarters.append(q)
            else:
                break
        if not quarters:
            continue
        periods = [_period(fy, tuple(quarters[:k]), k == 4) for k in range(1, len(quarters) + 1)]
        blocks[fy] = tuple(periods)
    return blocks


def release_periods(wh: Warehouse) -> list[ReleasePeriod]:
    """What a restricted reader can choose: every complete financial year, then the current year
    to date (the latest snapshot of an incomplete year)."""
    out = []
    for periods in year_blocks(wh).values():
        out.append(periods[-1])
    return out


def period_named(wh: Warehouse, label: str) -> ReleasePeriod:
    for p in release_periods(wh):
        if p.label == label or p.label.split(" ")[0] == label and not p.is_partial:
            return p
    raise FilterError(f"'{label}' is not a released period: choose one of {allowed_periods(wh)}")


def allowed_periods(wh: Warehouse) -> str:
    return ", ".join(p.label for p in release_periods(wh))


def period_for_filters(wh: Warehouse, f: Filters) -> ReleasePeriod:
    """The released period these filters ask for, or a FilterError naming what is allowed."""
    for p in release_periods(wh):
        if f.start == p.start and f.end == p.end:
            return p
    asked = "all years" if f.start is None and f.end is None else \
        f"{f.start:%Y-%m} to {f.end:%Y-%m}" if f.start and f.end else "an open-ended window"
    raise FilterError(f"restricted tables are released only for fixed periods, not {asked}: choose one of "
                      f"{allowed_periods(wh)}")


def period_for_month(wh: Warehouse, month: date) -> ReleasePeriod | None:
    """The latest released period ending on or before `month` (what a SPOC pack for that month breaks
    down by characteristic)."""
    best = None
    for periods in year_blocks(wh).values():
        for p in periods:
            if p.end <= month and (best is None or p.end > best.end):
                best = p
    return best


# ---------------------------------------------------------------------------------------------
# Families of counts and their views
# ---------------------------------------------------------------------------------------------

def _flag(expr: str, mark: str) -> str:
    return f"(case when coalesce({expr}, false) then '{mark}' else '-' end)"


@dataclass(frozen=True)
class Family:
    """Records counted in one fact table, by the month they fall in and the extra dimensions the
    released tables break them down by (each a SQL expression giving a short string)."""

    name: str
    table: str
    month_col: str
    where: str
    edims: tuple[tuple[str, str], ...]
    characteristics: tuple[str, ...] = PERSON_CHARACTERISTICS
    has_area: bool = True
    area_views: tuple[tuple[str, str | None], ...] = ()  # (characteristic, edim) at area level


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("raised", "fct_grievance_outcomes", "raised_month", "true",
           (("category", "category_label"),
            ("assessor", "case when is_independent_assessor then 'Independent' else 'Local' end")),
           area_views=(("ethnicity_group", None), ("sex", None), ("disability", None),
                       ("ethnicity_group", "category"), ("ethnicity_group", "assessor"))),
    Family("closed", "fct_grievance_outcomes", "closed_month", "not is_open",
           (("closure", "(case when is_discrimination then 'D' else 'O' end) || '|' || outcome_label"),),
           area_views=(("ethnicity_group", "closure"), ("sex", "closure"), ("disability", "closure"))),
    Family("referred", "fct_misconduct_referrals", "referral_month", "true",
           (("stage", " || ".join((_flag("is_investigated", "I"), _flag("is_meeting_or_hearing", "M"),
                                   _flag("has_sanction", "S"), _flag("is_investigation_decided", "1"),
                                   _flag("is_route_decided", "2"), _flag("is_outcome_decided", "3")))),
            ("outcome", "coalesce(outcome_label, '')")),
           area_views=(("ethnicity_group", None),)),
    Family("applied", "fct_recruitment_funnel", "applied_month", "true",
           (("progress", " || ".join(_flag(c, m) for c, m in (
               ("passed_sift", "S"), ("passed_assessment", "A"), ("passed_vetting", "V"),
               ("passed_medical", "M"), ("was_offered", "O"), ("has_joined", "J"), ("is_in_progress", "P")))),),
           characteristics=APPLICANT_CHARACTERISTICS, has_area=False),
    Family("acting", "fct_acting_up", "decision_month", "true",
           (("selected", "case when is_selected then 'Selected' else 'Not selected' end"),)),
)}


@dataclass
class View:
    """Counts of one family at one level (force by worker type, or business area), broken down by
    one characteristic and at most one extra dimension: a dense array [quarter, x, group, e]."""

    level: str
    characteristic: str
    edim: str | None
    xs: list[str]
    groups: list[str]
    es: list[str]
    counts: np.ndarray

    @cached_property
    def x_index(self) -> dict[str, int]:
        return {x: i for i, x in enumerate(self.xs)}

    @cached_property
    def g_index(self) -> dict[str, int]:
        return {g: i for i, g in enumerate(self.groups)}


@dataclass
class Cell:
    """One published count: its key (the same count has the same key in every table), the view
    and index sets it sums, its exact value and how it is published."""

    key: tuple
    view: tuple[str, str, str | None]
    qi: tuple[int, ...]
    xi: tuple[int, ...]
    gi: tuple[int, ...]
    ei: tuple[int, ...]
    value: int
    exact: bool  # a total with no breakdown: published exactly
    status: str = ""  # "exact", "zero", "shown", "primary", "secondary", "withheld"
    shown: int | None = None

    @property
    def is_hidden(self) -> bool:
        return self.status in ("primary", "secondary")


# ---------------------------------------------------------------------------------------------
# Table definitions: which cells each released table shows
# ---------------------------------------------------------------------------------------------

Pred = Callable[[str], bool]


@dataclass(frozen=True)
class TableDef:
    name: str
    family: str
    kind: str  # "rate", "proportion", "crosstab", "stages"
    n: tuple[str | None, Pred | None] = (None, None)  # (edim, predicate) for the denominator; None = all
    events: tuple[str | None, Pred | None] = (None, None)
    edim: str | None = None  # crosstab columns / stage dimension
    column: Callable[[str], str | None] = lambda e: e or None  # crosstab column label of an e value
    stages: tuple[tuple[str, Pred, Pred, Pred], ...] = ()  # (label, n, events, pending) over the edim
    levels: tuple[str, ...] = (FORCE,)
    four_fifths: bool = False


def _decision(reached: Pred, decided: Pred, progressed: Pred) -> tuple[Pred, Pred, Pred]:
    """A decision point counting decided cases only (metrics.disparity.decision_stage_table): n =
    at the previous stage and decided here, events = of those, progressed; pending = not decided."""
    return (lambda e: reached(e) and decided(e), lambda e: reached(e) and decided(e) and progressed(e),
            lambda e: reached(e) and not decided(e))


def _misconduct_stages():
    steps = (("Investigated", lambda e: True, "1", "I"), ("Meeting or hearing", lambda e: "I" in e, "2", "M"),
             ("Sanction", lambda e: "M" in e, "3", "S"))
    return tuple((label, *_decision(reached, lambda e, d=d: d in e, lambda e, m=m: m in e))
                 for label, reached, d, m in steps)


def _recruitment_stages():
    marks = ("S", "A", "V", "M", "O", "J")
    labels = ("Passed sift", "Passed assessment centre", "Passed vetting", "Passed medical", "Offered a place", "Joined")
    out = []
    for k, (mark, label) in enumerate(zip(marks, labels, strict=True)):
        reached = (lambda e: True) if k == 0 else (lambda e, p=marks[k - 1]: p in e)
        # an application still in progress that has not passed this stage is pending here
        out.append((label, *_decision(reached, lambda e, m=mark: m in e or "P" not in e, lambda e, m=mark: m in e)))
    return tuple(out)


def _upheld(e: str) -> bool:
    return e.split("|", 1)[1] in ("Upheld", "Partly upheld")


TABLES: dict[str, TableDef] = {t.name: t for t in (
    TableDef("grievance_rates", "raised", "rate", levels=(FORCE, AREA)),
    TableDef("grievance_categories", "raised", "crosstab", edim="category", levels=(FORCE, AREA)),
    TableDef("grievance_independent_assessor", "raised", "proportion",
             events=("assessor", lambda e: e == "Independent"), levels=(FORCE, AREA)),
    TableDef("grievance_outcomes", "closed", "proportion", n=("closure", None), events=("closure", _upheld),
             levels=(FORCE, AREA)),
    TableDef("grievance_discrimination_outcomes", "closed", "proportion", n=("closure", lambda e: e[0] == "D"),
             events=("closure", lambda e: e[0] == "D" and _upheld(e))),
    TableDef("grievance_outcome_mix", "closed", "crosstab", edim="closure", column=lambda e: e.split("|", 1)[1],
             levels=(FORCE, AREA)),
    TableDef("misconduct_rates", "referred", "rate", levels=(FORCE, AREA)),
    TableDef("misconduct_stages", "referred", "stages", edim="stage", stages=_misconduct_stages()),
    TableDef("misconduct_outcomes", "referred", "crosstab", edim="outcome"),
    TableDef("recruitment_funnel", "applied", "stages", edim="progress", four_fifths=True, stages=_recruitment_stages()),
    TableDef("acting_up", "acting", "proportion", events=("selected", lambda e: e == "Selected"),
             four_fifths=True),
)}
# Tables made from other released tables (never from the warehouse directly).
DERIVED = {"misconduct_trend": "misconduct_rates", "misconduct_area_disparity": "misconduct_rates",
           "grievance_resolution": "grievance_rates"}
# Totals with no breakdown (an area's grievances raised and closed, open and overdue): released exactly,
# for released periods only (the funnel) or month by month (the SPOC pack's trend).
EXACT_TOTAL_TABLES = ("grievance_funnel", "spoc_trend")
# Officers by ethnic group on 31 March: what every force publishes to the Home Office each year
# (the police workforce statistics; the published tables are shipped in sample_data/reference/).
PUBLISHED_TABLES = ("representation", "force_representation")
RELEASED = (*TABLES, *DERIVED, *EXACT_TOTAL_TABLES, *PUBLISHED_TABLES)


def is_released(name: str) -> bool:
    return name in RELEASED


# ---------------------------------------------------------------------------------------------
# A year of the release: views, cells, protection
# ---------------------------------------------------------------------------------------------

def protect_value(v: int, threshold: int, base: int) -> int | None:
    """0 stays 0; 1..threshold-1 is hidden (None); the rest round to the nearest `base`, halves up."""
    if v == 0:
        return 0
    if v < threshold:
        return None
    return (v + base // 2) // base * base


def rounding_bounds(shown: int, threshold: int, base: int) -> tuple[int, int]:
    """What a reader knows of a count shown as `shown` (rounded, never below the threshold)."""
    return max(threshold, shown - base // 2), shown + (base - 1) // 2


@dataclass
class YearRelease:
    """The release of one financial year for one family of counts: every snapshot of the year."""

    family: Family
    fy: int
    periods: tuple[ReleasePeriod, ...]
    quarters: list[date]
    views: dict[tuple[str, str, str | None], View]
    settings: Settings
    cells: dict[tuple, Cell] = field(default_factory=dict)
    tables: dict[tuple, list[tuple]] = field(default_factory=dict)  # (name, period, level, x, c) -> cell keys
    withheld: set = field(default_factory=set)

    # --- cells ---------------------------------------------------------------------------
    def cell(self, period: ReleasePeriod, level: str, x: str, c: str, groups: list[str] | None,
             edim: str | None, pred: Pred | None) -> Cell:
        """The published cell: sum over the period's quarters, x (ALL = every x), the groups
        (None = all) and the e values meeting pred (None = all)."""
        view = self.view_for(level, c if groups is not None else None, edim if pred is not None else None)
        qi = tuple(i for i, q in enumerate(self.quarters) if q in period.quarters)
        xi = tuple(range(len(view.xs))) if x == ALL else (view.x_index[x],)
        gi = tuple(range(len(view.groups))) if groups is None else tuple(view.g_index[g] for g in groups)
        if pred is None or view.edim is None:
            ei = tuple(range(len(view.es)))
        else:
            ei = tuple(i for i, e in enumerate(view.es) if pred(e))
        full_e = len(ei) == len(view.es)
        e_key = ALL if full_e else (view.edim, tuple(view.es[i] for i in ei))
        g_key = ALL if len(gi) == len(view.groups) else (view.characteristic, tuple(view.groups[i] for i in gi))
        key = (self.family.name, period.label, level, x, g_key, e_key)
        if key in self.cells:
            return self.cells[key]
        value = int(view.counts[np.ix_(qi, xi, gi, ei)].sum()) if qi and ei and gi else 0
        exact = g_key == ALL and e_key == ALL and (level == AREA or x == ALL)
        cell = Cell(key, (level, view.characteristic, view.edim), qi, xi, gi, ei, value, exact)
        self.cells[key] = cell
        return cell

    def view_for(self, level: str, c: str | None, edim: str | None) -> View:
        """A view holding these counts: characteristic c (None: any, for totals over groups) and
        extra dimension edim (None: any view of c has the total over it)."""
        for k, v in self.views.items():
            if k[0] == level and (c is None or k[1] == c) and (edim is None or k[2] == edim):
                return v
        raise KeyError(f"the release has no {level} view of {c} by {edim}")

    # --- protection ----------------------------------------------------------------------
    def protect(self, secondary: set[tuple] = frozenset(), withheld: set[tuple] | None = None) -> None:
        """Set every cell's status and shown value. `secondary`: counts hidden to protect others;
        `withheld`: breakdowns (period, level, x, characteristic; see part_of) not published."""
        t, base = self.settings.suppression_threshold, self.settings.rounding_base
        if withheld is not None:
            self.withheld = set(withheld)
        sparse = self.sparse_parts()
        for cell in self.cells.values():
            if cell.exact:
                cell.status, cell.shown = "exact", cell.value
            elif cell.key[1:4] in sparse or part_of(cell.key) in self.withheld:
                cell.status, cell.shown = "withheld", None
            elif 0 < cell.value < t:
                cell.status, cell.shown = "primary", None
            elif cell.key in secondary:  # a shown count or a 0 hidden to protect a small one
                cell.status, cell.shown = "secondary", None
            elif cell.value == 0:
                cell.status, cell.shown = "zero", 0
            else:
                cell.status, cell.shown = "shown", protect_value(cell.value, t, base)

    def sparse_parts(self) -> set[tuple]:
        """(period, level, x) parts with fewer records than settings.min_breakdown (never fewer than
        the suppression threshold, whatever the setting): not broken down at all (ONS's table builder refuses sparse tables; HESA suppresses percentages of few)."""
        if "_sparse" not in self.__dict__:
            out, floor = set(), max(self.settings.min_breakdown, self.settings.suppression_threshold)
            for period in self.periods:
                qi = [i for i, q in enumerate(self.quarters) if q in period.quarters]
                for level in {k[0] for k in self.views}:
                    view = self.view_for(level, None, None)
                    per_x = view.counts[qi].sum(axis=(0, 2, 3))
                    for x, total in zip(view.xs, per_x, strict=True):
                        if total < floor:
                            out.add((period.label, level, x))
                    if level == FORCE and per_x.sum() < floor:
                        out.add((period.label, level, ALL))
            self.__dict__["_sparse"] = out
        return self.__dict__["_sparse"]

    def secondary(self) -> set[tuple]:
        return {k for k, c in self.cells.items() if c.status == "secondary"}


# Breakdowns that nest in one another are withheld together.
NESTS = {"ethnicity": "ethnicity_group", "ethnicity_sex": "ethnicity_group"}


def part_of(key: tuple) -> tuple | None:
    """The breakdown a cell belongs to: (period, level, x, characteristic), the ethnic breakdowns
    as one; None for a total over groups."""
    g_key = key[4]
    if g_key == ALL:
        return None
    return (*key[1:4], NESTS.get(g_key[0], g_key[0]))


def _characteristic_sql(c: str) -> str:
    return CHARACTERISTICS[c].column


class ReleaseBuilder:
    """Builds the views and published cells of the release for a warehouse."""

    def __init__(self, wh: Warehouse, settings: Settings = DEFAULTS) -> None:
        self.wh = wh
        self.settings = settings
        self.blocks = year_blocks(wh)

    @cached_property
    def worker_types(self) -> list[str]:
        return self.wh.query("select distinct worker_type from dim_person order by 1")["worker_type"].to_list()

    @cached_property
    def areas(self) -> list[str]:
        return self.wh.query(
            "select distinct business_area_code from fct_person_time order by 1")["business_area_code"].to_list()

    def _domains(self, name: str) -> dict[str, list[str]]:
        cache = self.__dict__.setdefault("_domain_cache", {})
        if name not in cache:
            family = FAMILIES[name]
            out = {}
            for c in family.characteristics:
                col = _characteristic_sql(c)
                if family.name == "applied":
                    sql = f"select distinct {col} as g from fct_recruitment_funnel where {col} is not null"
                else:
                    sql = f"""select distinct {col} as g from (select {col} from fct_person_time
                              union all select {col} from {family.table}) where {col} is not null"""
                    if c not in ("age_band", "service_band", "rank_grade"):
                        sql = f"""select distinct {col} as g from (select {col} from dim_person
                                  union all select {col} from {family.table}) where {col} is not null"""
                out[c] = sorted(self.wh.query(sql + " order by 1")["g"].to_list())
            for edim, expr in family.edims:
                out[f"e:{edim}"] = sorted(self.wh.query(
                    f"select distinct {expr} as e from {family.table} where {family.where} order by 1")["e"].to_list())
            cache[name] = out
        return cache[name]

    def year(self, family_name: str, fy: int) -> YearRelease:
        family = FAMILIES[family_name]
        periods = self.blocks[fy]
        quarters = list(periods[-1].quarters)
        lo, hi = quarters[0], add_months(quarters[-1], 2)
        views: dict[tuple[str, str, str | None], View] = {}
        levels = [(FORCE, "'*'")]
        if family.has_area and family.area_views:
            levels.append((AREA, "business_area_code"))
        domains = self._domains(family_name)
        for level, x_col in levels:
            wanted = ([(c, None) for c in family.characteristics] + [(c, e) for c in family.characteristics
                                                                    for e, _ in family.edims]
                      if level == FORCE else list(family.area_views))
            chars = sorted({c for c, _ in wanted})
            e_cols = ", ".join(f"{expr} as e_{name}" for name, expr in family.edims)
            rows = self.wh.query(
                f"""with f as (select date_trunc('quarter', {family.month_col})::date as q, {x_col}::varchar as x,
                                      {e_cols}, {", ".join(f"{_characteristic_sql(c)}::varchar as {c}" for c in chars)}
                               from {family.table}
                               where {family.month_col} between ? and ? and {family.where})
                    select * from (unpivot f on {", ".join(chars)} into name c value g)""",  # noqa: S608
                [lo, hi])
            xs = [ALL] if level == FORCE else self.areas
            for c, edim in wanted:
                es = domains[f"e:{edim}"] if edim else [ALL]
                groups = domains[c]
                sub = rows.filter(pl.col("c") == c)
                by = ["q", "x", "g"] + ([f"e_{edim}"] if edim else [])
                agg = sub.group_by(by).len()
                arr = np.zeros((len(quarters), len(xs), len(groups), len(es)), dtype=np.int64)
                qix = {q: i for i, q in enumerate(quarters)}
                xix = {x: i for i, x in enumerate(xs)}
                gix = {g: i for i, g in enumerate(groups)}
                eix = {e: i for i, e in enumerate(es)}
                for r in agg.iter_rows():
                    q, x, g = r[0], r[1], r[2]
                    e = r[3] if edim else ALL
                    arr[qix[q], xix[x], gix[g], eix[e]] += r[-1]
                views[(level, c, edim)] = View(level, c, edim, xs, groups, es, arr)
        year = YearRelease(family, fy, periods, quarters, views, self.settings)
        self._publish(year)
        return year

    def _publish(self, year: YearRelease) -> None:
        """Every table instance of the year's release, as lists of cell keys."""
        family = year.family
        for table in TABLES.values():
            if table.family != family.name:
                continue
            for period in year.periods:
                for level in table.levels:
                    if level == AREA and not family.area_views:
                        continue
                    xs = [ALL] if level == FORCE else self.areas
                    chars = family.characteristics if level == FORCE else [
                        c for c in AREA_CHARACTERISTICS if self._area_view_ok(family, c, table)]
                    for x in xs:
                        for c in chars:
                            year.tables[(table.name, period.label, level, x, c)] = self._instance(
                                year, table, period, level, x, c)

    @staticmethod
    def _area_view_ok(family: Family, c: str, table: TableDef) -> bool:
        """Whether the area-level views of c hold every count the table needs."""
        needed = {table.edim} if table.kind in ("crosstab", "stages") else {table.n[0], table.events[0]}
        have = {e for cc, e in family.area_views if cc == c}
        return bool(have) and all(e is None or e in have for e in needed)

    def _instance(self, year: YearRelease, table: TableDef, period, level, x, c) -> list[tuple]:
        groups = year.view_for(level, c, None).groups
        keys: list[tuple] = []

        def add(gs, edim, pred):
            keys.append(year.cell(period, level, x, c, gs, edim, pred).key)

        if table.kind in ("rate", "proportion"):
            for g in groups:
                if table.kind == "proportion":
                    add([g], *table.n)
                add([g], *table.events)
        elif table.kind == "stages":
            for g in groups:
                for _, n, events, pending in table.stages:
                    for pred in (n, events, pending):
                        add([g], table.edim, pred)
        elif table.kind == "crosstab":
            es = year.views[(level, c, table.edim)].es
            columns = sorted({table.column(e) for e in es} - {None})
            for gs in [[g] for g in groups] + [None]:
                for col in columns:
                    add(gs, table.edim, lambda e, col=col: table.column(e) == col)
                add(gs, table.edim, lambda e: table.column(e) is not None)
        return keys


# ---------------------------------------------------------------------------------------------
# The release of a warehouse, and the tables cut from it
# ---------------------------------------------------------------------------------------------

_RELEASES: dict[tuple, Release] = {}
# The protection method's version: decisions stored by another version are made again, so a fix to the
# audit reaches a warehouse built before it.
METHOD = "2026-12-01"
_SAVE_LOCK = threading.Lock()


def release_for(wh: Warehouse, settings: Settings = DEFAULTS) -> Release:
    """The release of this warehouse build (one per process, per build and settings)."""
    key = (str(wh.db_path), str(wh.build_info().get("build_id")), settings)
    if key not in _RELEASES:
        _RELEASES.clear()  # one build at a time is served
        _RELEASES[key] = Release(wh, settings)
    rel = _RELEASES[key]
    rel.wh = rel.builder.wh = wh  # the same build through the caller's open connection
    return rel


class Release:
    """The protected release of one warehouse build. A year is built and protected on first use:
    the audit chooses its secondary suppressions (release_audit.protect_year), and they are kept
    beside the warehouse (`<warehouse>.release.json`, keyed by build) so later processes reuse
    them instead of solving again."""

    def __init__(self, wh: Warehouse, settings: Settings = DEFAULTS) -> None:
        self.wh = wh
        self.settings = settings
        self.builder = ReleaseBuilder(wh, settings)
        self._years: dict[tuple[str, int], YearRelease] = {}
        self.audits: dict[tuple[str, int], object] = {}

    @property
    def store(self) -> Path:
        return self.wh.db_path.with_name(self.wh.db_path.name + ".release.json")

    def _stored(self) -> dict:
        import json

        try:
            data = json.loads(self.store.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if data.get("build_id") != str(self.wh.build_info().get("build_id")) or \
                data.get("settings") != repr(self.settings) or data.get("method") != METHOD:
            return {}
        return data.get("years", {})

    def _save(self, family: str, fy: int, year: YearRelease) -> None:
        with _SAVE_LOCK:  # the server's pages and a prepare in the same process write one file
            self._write(family, fy, year)

    def _write(self, family: str, fy: int, year: YearRelease) -> None:
        import json

        data = {"build_id": str(self.wh.build_info().get("build_id")), "settings": repr(self.settings),
                "method": METHOD, "years": self._stored()}
        data["years"][f"{family}:{fy}"] = {"secondary": sorted(year.secondary(), key=str),
                                           "withheld": sorted(year.withheld, key=str)}
        tmp = self.store.with_name(self.store.name + ".tmp")
        try:
            tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
            tmp.replace(self.store)
        except OSError:
            pass  # a read-only folder: the decisions are made again by the next process

    def year(self, family: str, fy: int) -> YearRelease:
        key = (family, fy)
        if key not in self._years:
            year = self.builder.year(family, fy)
            stored = self._stored().get(f"{family}:{fy}")
            if stored is not None:
                year.protect({_tuple(k) for k in stored["secondary"]}, {_tuple(k) for k in stored["withheld"]})
            else:
                self.audits[key] = self.protect(year)
                self._save(family, fy, year)
            self._years[key] = year
        return self._years[key]

    def prepare(self, years: list[int] | None = None, families: list[str] | None = None,
                on_year: Callable[[str, int, float], None] | None = None) -> int:
        """Protect every year of the release not yet decided (the newest first, as readers ask for
        them) and store the decisions, so that no reader waits for a solve. Returns how many
        family-years were solved; on_year(family, fy, seconds) is told of each."""
        solved = 0
        for fy in sorted(years or year_blocks(self.wh), reverse=True):
            for family in families or FAMILIES:
                if (family, fy) in self._years or f"{family}:{fy}" in self._stored():
                    continue
                started = time.perf_counter()
                year = self.builder.year(family, fy)
                self.audits[(family, fy)] = self.protect(year)
                self._save(family, fy, year)
                solved += 1
                if on_year is not None:
                    on_year(family, fy, time.perf_counter() - started)
        return solved

    def protect(self, year: YearRelease):
        from metrics.release_audit import mappings_for, protect_year

        return protect_year(year, mappings_for(self.builder))

    # --- tables --------------------------------------------------------------------------
    def table(self, name: str, f: Filters) -> pl.DataFrame:
        if name not in TABLES and name not in DERIVED:
            raise FilterError(f"'{name}' is not in the restricted release: it is for analysts and the Board. "
                              f"Released tables: {', '.join(sorted((*TABLES, *DERIVED)))}")
        c = f.characteristic
        if "," in c:
            raise FilterError("the restricted release breaks down by one characteristic at a time (ethnic group x "
                              "sex is one of them): crossing two is for analysts and the Board")
        if name == "misconduct_trend":
            return self._trend(f)
        period = period_for_filters(self.wh, f)
        if name == "misconduct_area_disparity":
            return self._area_disparity(period, f)
        if name == "grievance_resolution":
            return self._resolution(period, f)
        table = TABLES[name]
        family = FAMILIES[table.family]
        if c not in family.characteristics:
            raise FilterError(f"'{name}' is broken down only by {', '.join(family.characteristics)}; not '{c}'")
        level, x = self._where(f, family, table)
        year = self.year(table.family, period.financial_year)
        keys = year.tables.get((name, period.label, level, x, c))
        if keys is None:
            raise FilterError(f"'{name}' is not released for this area and characteristic: business areas are "
                              f"broken down only by {', '.join(AREA_CHARACTERISTICS)}")
        cells = [year.cells[k] for k in keys]
        frame = self._frame(table, year, period, level, x, c, cells)
        return frame.with_columns(pl.lit(period.label).alias("period_label")) if frame.height else frame

    def _where(self, f: Filters, family: Family, table: TableDef) -> tuple[str, str]:
        if f.area is not None:
            if AREA not in table.levels or not family.area_views:
                raise FilterError(f"'{table.name}' is released for the whole force only, not for one business area")
            if f.worker_type is not None:
                raise FilterError("business-area tables are released for all worker types together only")
            if f.area not in self.builder.areas:
                raise FilterError(f"unknown business area '{f.area}': choose one of {', '.join(self.builder.areas)}")
            return AREA, f.area
        if f.worker_type is not None:
            # A worker-type filter on top of a breakdown crosses two characteristics, which the
            # release does not (each extra crossing multiplies the small cells): worker type is
            # a breakdown of its own.
            raise FilterError("restricted tables are for all worker types together: choose 'Worker type' as "
                              "the characteristic to compare them")
        return FORCE, ALL

    def _frame(self, table: TableDef, year: YearRelease, period: ReleasePeriod, level: str, x: str, c: str,
               cells: list[Cell]) -> pl.DataFrame:
        groups = year.view_for(level, c, None).groups
        withheld = any(cell.status == "withheld" for cell in cells)
        if table.kind == "crosstab":
            return self._crosstab(table, year, c, cells, withheld)
        common = _common(c, self.settings)
        if table.kind == "rate":
            exposure = self.exposure(period, level, x, c)
            rows = [(g, cell, exposure.get(g)) for g, cell in zip(groups, cells, strict=True)]
            visible = [(g, cell.shown, e) for g, cell, e in rows if cell.shown is not None and e is not None]
            from metrics.rates import exposure_rate_table

            cells_frame = pl.DataFrame(visible, schema={"group": pl.String, "events": pl.Int64, "exposure": pl.Float64},
                                       orient="row")
            shown = exposure_rate_table(cells_frame, **common) if visible else None
            return self._assemble(shown, rows=[(g, cell, None) for g, cell, _ in rows], c=c,
                                  withheld=withheld, exposure=exposure)
        if table.kind == "proportion":
            pairs = [(g, cells[2 * i], cells[2 * i + 1]) for i, g in enumerate(groups)]
            visible = [(g, n.shown, e.shown) for g, n, e in pairs
                       if n.shown is not None and e.shown is not None and n.shown > 0]
            cells_frame = pl.DataFrame(visible, schema={"group": pl.String, "n": pl.Int64, "events": pl.Int64},
                                       orient="row")
            shown = None
            if visible:
                if table.four_fifths:
                    from metrics.disparity import four_fifths_table

                    shown = four_fifths_table(cells_frame, min_n=self.settings.min_group_for_ratio, **common)
                else:
                    from metrics.rates import proportion_table

                    shown = proportion_table(cells_frame, min_n=self.settings.min_group_for_ratio, **common)
            return self._assemble(shown, rows=[(g, e, n) for g, n, e in pairs], c=c, withheld=withheld)
        if table.kind == "stages":
            return self._stages(table, groups, cells, c, withheld)
        raise ValueError(table.kind)

    def _assemble(self, shown: pl.DataFrame | None, *, rows, c: str, withheld: bool,
                  exposure: dict | None = None) -> pl.DataFrame:
        """The tidy table in group order: shown rows from the metric function, every other group as a
        row with its protected counts and no statistics."""
        from metrics.tidy import concat_tidy, tidy_frame

        t = self.settings.suppression_threshold
        by_group = {r["group"]: r for r in shown.iter_rows(named=True)} if shown is not None else {}
        ref = CHARACTERISTICS[c].reference_group
        records = []
        for g, events_cell, n_cell in rows:
            n_shown = (None if exposure is None or exposure.get(g) is None else int(round(exposure[g]))) \
                if n_cell is None else n_cell.shown
            hidden = events_cell.shown is None or (n_cell is not None and n_cell.shown is None) or \
                (exposure is not None and exposure.get(g) is None)
            if g in by_group and not hidden:
                r = dict(by_group[g])
            else:
                r = {"characteristic": c, "group": g, "n": n_shown, "events": events_cell.shown,
                     "is_significant": None, "method": "protected counts only", "reference_group": ref,
                     "is_reference": g == ref, "is_not_stated": g == "Not stated"}
                if exposure is not None:
                    r["exposure"] = exposure.get(g)
                r["note"] = ("not broken down in this period: it could not be shown without identifying anyone"
                             if withheld else
                             HIDDEN_NOTE.format(t=t) if hidden else TOO_FEW)
            r["is_suppressed"] = hidden or withheld
            r["n_display"] = _display(n_cell, n_shown) if n_cell is not None else (
                HIDDEN if n_shown is None else f"{n_shown:,}")
            r["events_display"] = _display(events_cell, events_cell.shown)
            if hidden and r.get("note") is None:
                r["note"] = HIDDEN_NOTE.format(t=t)
            records.append(r)
        extras = [k for k in (shown.columns if shown is not None else []) if k not in _TIDY_FIXED]
        extras = list(dict.fromkeys([*extras, "reference_group", "is_reference", "is_not_stated", "note",
                                     "n_display", "events_display", *(["exposure"] if exposure is not None else [])]))
        return concat_tidy([tidy_frame(records, extras)])

    def _stages(self, table: TableDef, groups: list[str], cells: list[Cell], c: str, withheld: bool) -> pl.DataFrame:
        """Each decision point from protected counts (decided, progressed, pending), adjusted across
        every stage; a group with a hidden count at a stage gets no statistic there."""
        from metrics.disparity import decision_stage_table
        from metrics.tidy import concat_tidy

        k = len(table.stages)
        labels = [st[0] for st in table.stages]
        visible, rows_by_stage = [], {label: [] for label in labels}
        for i, g in enumerate(groups):
            for s_i, label in enumerate(labels):
                n, events, pending = cells[3 * (i * k + s_i):3 * (i * k + s_i) + 3]
                rows_by_stage[label].append((g, events, n, pending))
                if None not in (n.shown, events.shown) and n.shown > 0:  # pending is not in the rate
                    visible.append((g, label, n.shown, events.shown, pending.shown or 0))
        frame = pl.DataFrame(visible, schema={"group": pl.String, "stage": pl.String, "n": pl.Int64,
                                              "events": pl.Int64, "n_pending": pl.Int64}, orient="row")
        shown = decision_stage_table(frame, stages=labels, kind="four-fifths" if table.four_fifths else
                                     "relative rate index", min_n=self.settings.min_group_for_ratio,
                                     **_common(c, self.settings)) if visible else None
        frames = []
        for label in labels:
            part = shown.filter(pl.col("stage") == label) if shown is not None else None
            pending = {g: p for g, _, _, p in rows_by_stage[label]}
            t = self._assemble(part if part is not None and part.height else None,
                               rows=[(g, e, n) for g, e, n, _ in rows_by_stage[label]], c=c, withheld=withheld)
            frames.append(t.with_columns(pl.lit(label).alias("stage"),
                                         pl.Series("n_pending", [pending[g].shown for g in t["group"]], dtype=pl.Int64)))
        return concat_tidy(frames)

    def _crosstab(self, table: TableDef, year: YearRelease, c: str, cells: list[Cell], withheld: bool) -> pl.DataFrame:
        view = year.view_for(cells[0].view[0], c, None)
        es = year.views[cells[0].view].es if cells[0].view[2] == table.edim else \
            next(v for k, v in year.views.items() if k[2] == table.edim).es
        columns = sorted({table.column(e) for e in es} - {None})
        labels_r = [*view.groups, "Total"]
        labels_c = [*columns, "Total"]
        records, i = [], 0
        for r in labels_r:
            for col in labels_c:
                cell = cells[i]
                i += 1
                records.append({"group": r, "category": col, "n": cell.shown,
                                "value_display": _display(cell, cell.shown),
                                "is_suppressed": cell.is_hidden or cell.status == "withheld",
                                "is_total": r == "Total" or col == "Total"})
        return pl.DataFrame(records, schema={"group": pl.String, "category": pl.String, "n": pl.Int64,
                                             "value_display": pl.String, "is_suppressed": pl.Boolean,
                                             "is_total": pl.Boolean}, orient="row")

    # --- person-years ----------------------------------------------------------------------
    def exposure(self, period: ReleasePeriod, level: str, x: str, c: str) -> dict[str, float | None]:
        """Person-years by group, rounded to the nearest 10 and hidden below 10 (they reveal how many
        people a small group has)."""
        from metrics.queries import person_time

        f = Filters(start=period.start, end=period.end, area=x if level == AREA else None,
                    worker_type=x if level == FORCE and x != ALL else None, characteristic=c)
        sub, where, params = person_time(f)
        col = CHARACTERISTICS[c].column
        frame = self.wh.query(f"""select {col} as "group", (sum(exposure_days) / 365.25)::double as exposure
                                  from {sub} where {where} group by all""", params)  # noqa: S608
        out = {}
        for g, e in frame.iter_rows():
            out[g] = None if e < EXPOSURE_BASE else float(round(e / EXPOSURE_BASE) * EXPOSURE_BASE)
        return out

    # --- derived tables ---------------------------------------------------------------------
    def _trend(self, f: Filters) -> pl.DataFrame:
        from metrics.tables import adjust_across_table
        from metrics.tidy import concat_tidy

        frames = []
        # The last five complete years and this year to date: each year's protection is solved once
        # per build, and five years answer "is it falling?" (the Board and analysts see every year).
        for period in release_periods(self.wh)[-TREND_YEARS:]:
            t = self.table("misconduct_rates", f.with_(start=period.start, end=period.end))
            frames.append(t.with_columns(pl.lit(period.label).alias("stage")))
        return adjust_across_table(concat_tidy(frames), self.settings, across="financial years")

    def _area_disparity(self, period: ReleasePeriod, f: Filters) -> pl.DataFrame:
        from metrics.tables import adjust_across_table
        from metrics.tidy import concat_tidy

        if f.characteristic not in AREA_CHARACTERISTICS:
            raise FilterError(f"business areas are broken down only by {', '.join(AREA_CHARACTERISTICS)}")
        frames = [self.table("misconduct_rates", f.with_(area=a, worker_type=None))
                  .with_columns(pl.lit(a).alias("business_area_code")) for a in self.builder.areas]
        return adjust_across_table(concat_tidy(frames), self.settings, across="business areas")

    def _resolution(self, period: ReleasePeriod, f: Filters) -> pl.DataFrame:
        """Median days to resolve, only for groups with enough cases and shown counts; no curve, no
        at-risk or closed counts (a curve's steps would give them back)."""
        from metrics.survival import median_table
        from metrics.tables import _resolution_rows

        counts = self.table("grievance_rates", f)
        m = self.settings.min_cases_for_median
        keep = counts.filter(pl.col("events").is_not_null() & (pl.col("events") >= m))["group"].to_list()
        f_area = f.with_(start=period.start, end=period.end)
        rows = _resolution_rows(self.wh, f_area).filter(pl.col("group").is_in(keep))
        ref = CHARACTERISTICS[f.characteristic].reference_group
        shown = median_table(rows, characteristic=f.characteristic, reference_group=ref, alpha=self.settings.alpha,
                             adjustment=self.settings.adjustment) if rows.height else None
        by_group = {r["group"]: r for r in shown.iter_rows(named=True)} if shown is not None else {}
        from metrics.tidy import tidy_frame

        records = []
        for r in counts.iter_rows(named=True):
            g = r["group"]
            rec = dict(by_group.get(g, {"characteristic": f.characteristic, "group": g, "method": "not shown",
                                        "reference_group": ref, "is_reference": g == ref,
                                        "is_not_stated": g == "Not stated",
                                        "note": f"fewer than {m} grievances: no median"}))
            rec.update(n=r["events"], events=None, rate=None, ci_low=None, ci_high=None,
                       n_display=r["events_display"], events_display=None,
                       is_suppressed=g not in by_group)
            records.append(rec)
        return tidy_frame(records, ("reference_group", "median_days", "median_ci_low", "median_ci_high",
                                    "is_reference", "is_not_stated", "note", "n_display", "events_display"))


_TIDY_FIXED = ("characteristic", "group", "n", "events", "rate", "ci_low", "ci_high", "ratio", "ratio_ci_low",
               "ratio_ci_high", "p_value", "p_adjusted", "is_significant", "is_suppressed", "method")


def _display(cell: Cell | None, value: int | None) -> str:
    if cell is not None and cell.status == "withheld":
        return HIDDEN  # the whole breakdown is withheld (the table's note says so)
    return HIDDEN if value is None else f"{value:,}"


def _common(c: str, s: Settings) -> dict:
    return {"characteristic": c, "reference_group": CHARACTERISTICS[c].reference_group, "alpha": s.alpha,
            "adjustment": s.adjustment}


def _tuple(v):
    """JSON lists back to the tuple keys cells have (dates stay their ISO strings' dates)."""
    if isinstance(v, list):
        return tuple(_tuple(x) for x in v)
    return v
