"""The monthly SPOC pack's content: its findings, counts and tables, assembled from the metric-table
registry and the marts. No rendering here.

A pack is one business area (or the whole force, code FORCE) for one month. Its periods: the month
itself (the counts), the 13 months to it (the monthly counts and their trend) and the 12 months to
it (breakdowns, where a single month would be almost all small numbers).

What a leadership team sees exactly and what is protected is decided in ONE place, `RELEASE` and
the `registry()` helper inside assemble_pack: totals with no protected characteristic (grievances
raised, closed, open and open beyond the service standard; each business area's 12-month total on
the funnel plot) are exact; every count broken down by a protected characteristic comes from
`get_table(..., suppressed=True)`. Findings are stated only from numbers those tables show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from metrics import config, release
from metrics.config import DEFAULTS, Settings
from metrics.queries import Filters, add_months
from metrics.spoc_findings import (  # noqa: F401 - FUNNEL_WORDS and poisson_trend re-exported for the packs
    BREAKDOWN_CHARACTERISTICS,
    FORCE,
    FUNNEL_WORDS,
    Finding,
    find_findings,
    month_label,
    poisson_trend,
)
from metrics.tables import PACK_MEASURES, REGISTRY, get_table
from metrics.warehouse import Warehouse

FORCE_NAME = "Force-wide"

# The monthly count measures, in display order, with their labels: one definition per word.
MEASURES = PACK_MEASURES
MEASURE_LABELS = {
    "n_raised": "Raised in the month",
    "n_closed": "Closed in the month",
    "n_open": "Open at month end",
    "n_open_overdue": f"Open at month end for more than {DEFAULTS.service_standard_days} days",
}
# The five ethnic groups are always shown, with Not stated beside them (GOV.UK ethnicity guidance).
ETHNIC_GROUPS = config.ETHNIC_GROUPS

# Who sees what: a table's counts are EXACT (totals with no protected characteristic) or
# PROTECTED (any breakdown by a protected characteristic, disclosure-controlled by metrics).
EXACT, PROTECTED = "exact", "protected"
RELEASE_STATEMENT = (
    "Counts a leadership team sees exactly: totals with no protected characteristic (grievances raised, "
    f"closed, open and open for more than {DEFAULTS.service_standard_days} days, each month; each business area's 12-month total on the "
    "funnel plot). Counts that are protected: any count broken down by a protected characteristic (ethnic "
    "group, sex, disability) or by category and group, for the latest period of the protected release (a "
    "complete financial year, or this year to its last complete quarter): rounded to the nearest 5, with [c] "
    "for a count of 1 to 7 or one hidden so that a small count cannot be worked out from the others.")


class PackError(ValueError):
    """A pack cannot be made for this month or area (outside the data, unknown area)."""


@dataclass(frozen=True)
class PackTable:
    """One table of a pack. `frame` is exactly what the registry (or the named query) returned;
    renderers only shape and format it."""

    key: str
    title: str  # names the measure AND the characteristic
    description: str
    period: str
    frame: pl.DataFrame
    registry_name: str | None = None  # get_table name, when it comes from the registry
    filters: Filters | None = None
    kind: str = "tidy"  # tidy | exposure | crosstab | counts | funnel | median
    release: str = PROTECTED
    characteristic: str | None = None
    force: pl.DataFrame | None = None  # the same table for the whole force (rates against the force)


@dataclass(frozen=True)
class SpocPack:
    area_code: str
    area_name: str
    month_start: date
    build_id: str
    built_at: str  # ISO timestamp of the warehouse build
    settings: Settings
    headline: dict[str, int]  # measure -> exact count this month (totals: no characteristic)
    has_grievances: bool  # any grievance raised, closed or open in the month
    findings: tuple[Finding, ...]
    findings_note: str
    funnel_note: str
    tables: tuple[PackTable, ...] = field(default_factory=tuple)
    area_names: dict[str, str] = field(default_factory=dict)  # every business area's code -> name

    @property
    def month_label(self) -> str:
        return month_label(self.month_start)

    @property
    def build_date(self) -> str:
        return self.built_at[:10]

    def table(self, key: str) -> PackTable:
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(key)


def months_available(wh: Warehouse) -> list[date]:
    return wh.query("select month_start from dim_calendar order by month_start")["month_start"].to_list()


def business_areas(wh: Warehouse) -> pl.DataFrame:
    """Every business area with a SPOC pack: code and name, in code order."""
    return wh.query("select business_area_code, business_area_name from stg_business_areas order by 1")


def check_request(wh: Warehouse, month_start: date, area: str) -> tuple[str, str]:
    """(code, name) for a pack request, or a PackError naming what is available."""
    months = months_available(wh)
    if not months:
        raise PackError("the warehouse has no months of data")
    if month_start not in months:
        raise PackError(f"no data for {month_start:%Y-%m}: the warehouse covers {months[0]:%Y-%m} "
                        f"to {months[-1]:%Y-%m}")
    if area == FORCE:
        return FORCE, FORCE_NAME
    areas = business_areas(wh)
    match = areas.filter(pl.col("business_area_code") == area)
    if match.height == 0:
        codes = ", ".join(areas["business_area_code"].to_list())
        raise PackError(f"unknown business area '{area}': choose {FORCE} or one of {codes}")
    return area, match["business_area_name"][0]


# ------------------------------------------------------------------------------------------------
# Assembly
# ------------------------------------------------------------------------------------------------


class ForceCache:
    """Force-level pieces every area's pack of the same month shares (computed once per batch)."""

    def __init__(self) -> None:
        self._store: dict = {}

    def get(self, key, make):
        if key not in self._store:
            self._store[key] = make()
        return self._store[key]


CHARACTERISTIC_WORDS = {"ethnicity_group": "ethnic group", "sex": "sex", "disability": "disability"}


def assemble_pack(wh: Warehouse, month_start: date, area: str, *, settings: Settings = DEFAULTS,
                  cache: ForceCache | None = None) -> SpocPack:
    code, name = check_request(wh, month_start, area)
    cache = cache or ForceCache()
    info = wh.build_info()
    b = _PackBuilder(wh, month_start, code, settings, cache)
    counts = b.counts()
    this_month = counts.frame.filter(pl.col("month_start") == month_start)
    headline = {m: int(v) for m, v in zip(this_month["measure"], this_month["n"], strict=True)}
    has_grievances = any(headline.get(m, 0) > 0 for m in MEASURES)
    tables = [counts, *b.grievance_tables()]
    funnel = next(t for t in tables if t.key == "funnel")
    findings, note = find_findings(wh, month_start, code, name, tables, settings=settings)
    return SpocPack(code, name, month_start, str(info["build_id"]), _iso(info.get("built_at")), settings,
                    headline, has_grievances, tuple(findings), note, funnel_position(funnel.frame, code, name),
                    tuple(tables), cache.get("area_names", lambda: dict(business_areas(wh).iter_rows())))


class _PackBuilder:
    """The tables of one pack. Totals with no characteristic cover the 12 months to the pack's month;
    breakdowns by a characteristic cover the latest period of the protected release (a complete
    financial year, or this year to the end of its last complete quarter), never a window that moves
    each month."""

    def __init__(self, wh: Warehouse, month_start: date, code: str, settings: Settings, cache: ForceCache):
        self.wh, self.month_start, self.code, self.settings, self.cache = wh, month_start, code, settings, cache
        area_filter = None if code == FORCE else code
        year_start, trend_start = add_months(month_start, -11), add_months(month_start, -12)
        period = release.period_for_month(wh, month_start)
        self.area_filter = area_filter
        self.twelve = Filters(start=year_start, end=month_start, area=area_filter)
        self.year = Filters(start=period.start, end=period.end, area=area_filter) if period else self.twelve
        self.year_label = period.label if period else "no released period yet"
        self.in_period = f"in {self.year_label}"
        self.trend_label = f"{month_label(trend_start)} to {month_label(month_start)}"
        self.twelve_label = f"{month_label(year_start)} to {month_label(month_start)}"

    def registry(self, name_: str, f: Filters, release: str = PROTECTED) -> pl.DataFrame:
        """The one path every count of a pack takes out of metrics: exact for totals with no
        protected characteristic, disclosure-controlled (get_table's rules) for any breakdown."""
        return get_table(self.wh, name_, f, suppressed=release == PROTECTED, settings=self.settings)

    def table(self, key, name_, title, f, kind="tidy", period=None, release=PROTECTED, characteristic=None,
              force=None, description=None) -> PackTable:
        return PackTable(key, title, description or REGISTRY[name_].description, period or self.year_label,
                         self.registry(name_, f, release), name_, f, kind, release, characteristic, force)

    def counts(self) -> PackTable:
        return self.table("counts", "spoc_trend", "Grievances each month: all staff (exact counts)",
                          Filters(end=self.month_start, area=self.area_filter), "counts", self.trend_label, EXACT,
                          description="Raised in the month, closed in the month (whenever raised), open at month "
                                      f"end, and open at month end for more than {self.settings.service_standard_days}"
                                      " days, for every month of the 13.")

    def grievance_tables(self) -> list[PackTable]:
        year, in_period = self.year, self.in_period
        tables = [*self._raised_by(), *(self.table(
            f"upheld_by_{c}", "grievance_outcomes",
            f"Grievances upheld, of those closed {in_period}, by {CHARACTERISTIC_WORDS[c]}",
            year.with_(characteristic=c), characteristic=c,
            description=f"Share of grievances closed {in_period} (whenever raised) that were upheld in full or in "
                        "part.") for c in BREAKDOWN_CHARACTERISTICS)]
        tables.append(self.table("categories", "grievance_categories",
                                 f"Grievances raised {in_period}, by category and ethnic group", year, "crosstab",
                                 characteristic="ethnicity_group"))
        tables.append(self.table("outcomes", "grievance_outcome_mix",
                                 f"Grievances closed {in_period}, by outcome and ethnic group", year, "crosstab",
                                 characteristic="ethnicity_group",
                                 description=f"Grievances closed {in_period} (whenever raised), by how they ended."))
        resolution = self.cache.get(("resolution", self.month_start, self.code),
                                    lambda: resolution_vs_force(self.wh, self.month_start, self.code, self.settings))
        tables.append(PackTable("time_to_resolve", "Days to resolve a grievance: this area and the force, all staff",
                                "Grievances raised in the 12 months: the median number of days from raised to "
                                "outcome, counting grievances still open by how long they have been open so far.",
                                self.twelve_label, resolution, None, None, "median"))
        tables.append(self.table("independent_assessor", "grievance_independent_assessor",
                                 "Grievances with an independent assessor, by ethnic group", year,
                                 characteristic="ethnicity_group",
                                 description=f"Share of grievances raised {in_period} assessed by someone outside "
                                             "the local line management (IOPC recommendation 2)."))
        tables.append(self._funnel())
        tables.append(self.table("misconduct_referrals", "misconduct_rates",
                                 "Misconduct referrals per 1,000 person-years, by ethnic group", year, "exposure",
                                 characteristic="ethnicity_group",
                                 description=f"Misconduct referrals {in_period} per 1,000 person-years in post."))
        return tables

    def _raised_by(self) -> list[PackTable]:
        out = []
        for c in BREAKDOWN_CHARACTERISTICS:
            force = None
            if self.code != FORCE:
                force = self.cache.get(("raised", self.month_start, c), lambda c=c: self.registry(
                    "grievance_rates", self.year.with_(area=None, characteristic=c)))
            out.append(self.table(f"raised_by_{c}", "grievance_rates",
                                  f"Grievances raised per 1,000 person-years, by {CHARACTERISTIC_WORDS[c]}",
                                  self.year.with_(characteristic=c), "exposure", characteristic=c, force=force,
                                  description=f"Grievances raised {self.in_period} per 1,000 person-years in post, "
                                              "with each group's rate compared with the reference group's."))
        return out

    def _funnel(self) -> PackTable:
        # The same force-wide table for every area's pack of the month: fetched once per batch.
        return self.cache.get(("funnel", self.month_start), lambda: self.table(
            "funnel", "grievance_funnel", "Grievances raised per 1,000 person-years, by business area",
            self.twelve.with_(area=None), "funnel", period=self.twelve_label, release=EXACT,
            description="Each business area's grievances raised in the 12 months per 1,000 person-years, with "
                        "the range the force's own rate would give an area of that size by chance (95% and 99.8%)."))


def _iso(value) -> str:
    return value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else str(value)


def _resolution_rows(wh: Warehouse, month_start: date) -> pl.DataFrame:
    return wh.query(
        """select business_area_code, days_observed::double as duration_days, not is_open as is_event
           from fct_grievance_outcomes where raised_month between ? and ? order by all""",
        [add_months(month_start, -11), month_start])


def resolution_vs_force(wh: Warehouse, month_start: date, code: str, settings: Settings = DEFAULTS
                        ) -> pl.DataFrame:
    """Median days to resolve (Kaplan-Meier) for the area and the whole force, with the log-rank
    test of the area against the rest of the force."""
    from metrics.survival import km_median, log_rank

    rows = _resolution_rows(wh, month_start)
    frames = []
    if code != FORCE:
        frames.append(rows.filter(pl.col("business_area_code") == code).with_columns(group=pl.lit("This area")))
    frames.append(rows.with_columns(group=pl.lit("Force")))
    stacked = pl.concat([f.select("group", "duration_days", "is_event") for f in frames])
    medians = km_median(stacked, characteristic="business_area", alpha=settings.alpha)
    test_p, test_method = None, None
    if code != FORCE:
        split = rows.with_columns(group=pl.when(pl.col("business_area_code") == code)
                                  .then(pl.lit("This area")).otherwise(pl.lit("Rest of force")))
        if split["group"].n_unique() == 2:
            lr = log_rank(split.select("group", "duration_days", "is_event"), characteristic="business_area")
            test_p, test_method = lr["p_value"][0], lr["method"][0]
    # All staff, no characteristic: the counts are totals (exact, like the monthly counts); a
    # median is a single grievance's duration, so it is shown only for enough grievances, by the
    # release's rule (metrics/release.py): the count as the configured suppression and rounding
    # would publish it must reach min_cases_for_median.
    m = settings.min_cases_for_median
    records = []
    for r in medians.iter_rows(named=True):
        n, events = r["n"], r["events"]
        published = release.protect_value(n, settings.suppression_threshold, settings.rounding_base)
        hidden = published is None or published < m
        is_area = r["group"] == "This area"
        records.append({
            "group": r["group"], "n": n, "events": events, "n_display": f"{n:,}", "events_display": f"{events:,}",
            "median_days": None if hidden else r["median_days"],
            "median_ci_low": None if hidden else r["median_ci_low"],
            "median_ci_high": None if hidden else r["median_ci_high"],
            "p_value": None if hidden or not is_area else test_p,
            "method": f"fewer than {m} grievances: no median" if hidden else
            (r["method"] + (f"; {test_method} vs rest of force" if is_area and test_method else "")),
            "is_suppressed": hidden,
        })
    schema = {"group": pl.String, "n": pl.Int64, "events": pl.Int64, "n_display": pl.String,
              "events_display": pl.String, "median_days": pl.Float64, "median_ci_low": pl.Float64,
              "median_ci_high": pl.Float64, "p_value": pl.Float64, "method": pl.String,
              "is_suppressed": pl.Boolean}
    return pl.DataFrame(records, schema=schema, orient="row")


def resolution_curves(wh: Warehouse, month_start: date, code: str, settings: Settings = DEFAULTS
                      ) -> pl.DataFrame | None:
    """Kaplan-Meier curves (survival only, for a chart) of the area and the force, or None when the
    area has too few grievances for a curve that would not single people out."""
    from metrics.survival import kaplan_meier

    rows = _resolution_rows(wh, month_start)
    frames = [rows.with_columns(group=pl.lit("Force"))]
    if code != FORCE:
        area = rows.filter(pl.col("business_area_code") == code)
        if area.height < settings.min_cases_for_median:
            return None
        frames.insert(0, area.with_columns(group=pl.lit("This area")))
    stacked = pl.concat([f.select("group", "duration_days", "is_event") for f in frames])
    return kaplan_meier(stacked, characteristic="business_area", alpha=settings.alpha).select(
        "group", "time", "survival")


def funnel_position(funnel: pl.DataFrame, code: str, name: str) -> str:
    """One sentence: where the area sits on the force's funnel plot (or, for the force, which
    areas are outside the limits)."""
    if funnel.height == 0 or "flag" not in funnel.columns:
        return "No funnel plot: no grievances in the 12 months."
    if code == FORCE:
        out = funnel.filter(pl.col("flag").is_in(["alarm", "low alarm"]))["group"].to_list()
        if not out:
            return "No business area is outside the force's 99.8% limits over the 12 months."
        return "Outside the force's 99.8% limits over the 12 months: " + ", ".join(sorted(out)) + "."
    row = funnel.filter(pl.col("group") == code)
    if row.height == 0:
        return f"{name} had no person-years in the 12 months, so it is not on the funnel plot."
    flag = row["flag"][0]
    if flag is None or flag == "too few to report":
        return f"{name}'s position on the funnel plot is not shown (too few to report)."
    return f"{name}'s grievance rate over the 12 months is {FUNNEL_WORDS.get(flag, flag)}."
