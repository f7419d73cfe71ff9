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

import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from metrics import release_derived
from metrics.config import CHARACTERISTICS, DEFAULTS, Settings
from metrics.queries import FilterError, Filters
from metrics.release_catalogue import (  # noqa: F401 - one namespace for the release
    ALL,
    AREA,
    AREA_CHARACTERISTICS,
    DERIVED,
    EXACT_TOTAL_TABLES,
    EXPOSURE_BASE,
    FAMILIES,
    FORCE,
    HIDDEN,
    HIDDEN_NOTE,
    PERSON_CHARACTERISTICS,
    PUBLISHED_TABLES,
    RELEASED,
    TABLES,
    TOO_FEW,
    TREND_YEARS,
    Cell,
    Family,
    Pred,
    TableDef,
    View,
    _decision,
    _flag,
    _misconduct_stages,
    _recruitment_stages,
    _upheld,
    is_released,
)
from metrics.release_model import (  # noqa: F401 - one namespace for the release
    NESTS,
    ReleaseBuilder,
    YearRelease,
    _characteristic_sql,
    _counts_cells,
    _crosstab_cells,
    _stage_cells,
    part_of,
    protect_value,
    rounding_bounds,
)
from metrics.release_periods import (  # noqa: F401 - one namespace for the release
    ReleasePeriod,
    _period,
    allowed_periods,
    fy_label,
    period_for_filters,
    period_for_month,
    period_named,
    release_periods,
    year_blocks,
)
from metrics.release_store import METHOD, DecisionStore  # noqa: F401 - METHOD: one namespace
from metrics.warehouse import Warehouse

# ---------------------------------------------------------------------------------------------
# The release of a warehouse, and the tables cut from it
# ---------------------------------------------------------------------------------------------

_RELEASES: dict[tuple, Release] = {}


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
        self.decisions = DecisionStore(wh.db_path.with_name(wh.db_path.name + ".release.json"),
                                       str(wh.build_info().get("build_id")), repr(settings))

    @property
    def store(self) -> Path:
        return self.decisions.path

    def year(self, family: str, fy: int) -> YearRelease:
        key = (family, fy)
        if key not in self._years:
            year = self.builder.year(family, fy)
            stored = self.decisions.get(family, fy)
            if stored is None:
                with self.decisions.solving(family, fy):  # another process may be deciding it: wait for it
                    stored = self.decisions.get(family, fy)
                    if stored is None:
                        self.audits[key] = self.protect(year)
                        self.decisions.save(family, fy, year.secondary(), year.withheld)
            if stored is not None:
                year.protect(*stored)
            self._years[key] = year
        return self._years[key]

    def prepare(self, years: list[int] | None = None, families: list[str] | None = None,
                on_year: Callable[[str, int, float], None] | None = None) -> int:
        """Protect every year of the release not yet decided (the newest first, as readers ask for
        them) and store the decisions, so that no reader waits for a solve. Returns how many
        family-years were solved; on_year(family, fy, seconds) is told of each."""
        solved = 0
        for family, fy in self.undecided(years, families):
            with self.decisions.solving(family, fy):
                if self.decisions.get(family, fy) is not None:
                    continue  # decided by a reader (or another preparer) while this one worked on others
                started = time.perf_counter()
                year = self.builder.year(family, fy)
                self.audits[(family, fy)] = self.protect(year)
                self.decisions.save(family, fy, year.secondary(), year.withheld)
            solved += 1
            if on_year is not None:
                on_year(family, fy, time.perf_counter() - started)
        return solved

    def undecided(self, years: list[int] | None = None, families: list[str] | None = None) -> list[tuple[str, int]]:
        """(family, year) pairs not yet decided for this build, the newest year first (what
        prepare solves, and in that order)."""
        stored = self.decisions.read()
        return [(family, fy) for fy in sorted(years or year_blocks(self.wh), reverse=True)
                for family in families or FAMILIES
                if (family, fy) not in self._years and f"{family}:{fy}" not in stored]

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
            return release_derived.trend(self, f)
        period = period_for_filters(self.wh, f)
        if name == "misconduct_area_disparity":
            return release_derived.area_disparity(self, period, f)
        if name == "grievance_resolution":
            return release_derived.resolution(self, period, f)
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
_TIDY_FIXED = ("characteristic", "group", "n", "events", "rate", "ci_low", "ci_high", "ratio", "ratio_ci_low",
               "ratio_ci_high", "p_value", "p_adjusted", "is_significant", "is_suppressed", "method")


def _display(cell: Cell | None, value: int | None) -> str:
    if cell is not None and cell.status == "withheld":
        return HIDDEN  # the whole breakdown is withheld (the table's note says so)
    return HIDDEN if value is None else f"{value:,}"


def _common(c: str, s: Settings) -> dict:
    return {"characteristic": c, "reference_group": CHARACTERISTICS[c].reference_group, "alpha": s.alpha,
            "adjustment": s.adjustment}
