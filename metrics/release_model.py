"""A year of the release: its views, its cells and how each is protected; the builder that reads them
from the warehouse (metrics/release.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import numpy as np
import polars as pl

from metrics.config import CHARACTERISTICS, DEFAULTS, Settings
from metrics.queries import add_months
from metrics.release_catalogue import (
    ALL,
    AREA,
    AREA_CHARACTERISTICS,
    FAMILIES,
    FORCE,
    TABLES,
    Cell,
    Family,
    Pred,
    TableDef,
    View,
)
from metrics.release_periods import (
    ReleasePeriod,
    year_blocks,
)
from metrics.warehouse import Warehouse

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
    as one; for a total over groups split by an extra dimension, (period, level, x, "*" + that
    dimension) (the categories of everyone, withheld when nothing else can protect a small one of
    them); None for a total over groups and categories."""
    g_key, e_key = key[4], key[5]
    if g_key == ALL:
        return None if e_key == ALL else (*key[1:4], "*" + e_key[0])
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
        """The keys of one table's cells, in the table's order (the cells are made as they are named)."""
        groups = year.view_for(level, c, None).groups
        specs = {"rate": _counts_cells, "proportion": _counts_cells, "stages": _stage_cells,
                 "crosstab": _crosstab_cells}[table.kind](year, table, level, c, groups)
        return [year.cell(period, level, x, c, gs, edim, pred).key for gs, edim, pred in specs]


def _counts_cells(year, table: TableDef, level, c, groups) -> list[tuple]:
    """Rate and proportion tables: each group's base (proportions) and events."""
    out = []
    for g in groups:
        if table.kind == "proportion":
            out.append(([g], *table.n))
        out.append(([g], *table.events))
    return out


def _stage_cells(year, table: TableDef, level, c, groups) -> list[tuple]:
    """Stage tables: each group's cases, events and pending at each stage."""
    return [([g], table.edim, pred) for g in groups for _, *preds in table.stages for pred in preds]


def _crosstab_cells(year, table: TableDef, level, c, groups) -> list[tuple]:
    """Crosstabs: each group's (and all groups') count in every column, then its total."""
    es = year.views[(level, c, table.edim)].es
    columns = sorted({table.column(e) for e in es} - {None})
    out = []
    for gs in [[g] for g in groups] + [None]:
        out += [(gs, table.edim, lambda e, col=col: table.column(e) == col) for col in columns]
        out.append((gs, table.edim, lambda e: table.column(e) is not None))
    return out
