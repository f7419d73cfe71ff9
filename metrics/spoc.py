"""The monthly SPOC pack's content: its tables, headline and "themes and trends", assembled from
the metric-table registry and the marts, every count disclosure-controlled. No rendering here.

A pack is one business area (or the whole force, code FORCE) for one month. Its periods:
the month itself (headline), the 13 months to it (trend) and the 12 months to it (breakdowns,
where a single month would be almost all hidden small numbers). Themes are stated only when a
named test supports them after Holm adjustment across the pack's tests, and only from counts the
suppression rules would show; otherwise the pack says plainly that nothing stood out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from metrics.config import DEFAULTS, Settings
from metrics.queries import Filters, add_months
from metrics.tables import PACK_MEASURES, REGISTRY, get_table
from metrics.warehouse import Warehouse

FORCE = "FORCE"
FORCE_NAME = "Force-wide"

# The headline measures, in display order, with their labels (the registry's spoc_trend table).
MEASURES = PACK_MEASURES

BREAKDOWN_CHARACTERISTICS = ("ethnicity_group", "sex", "disability")


class PackError(ValueError):
    """A pack cannot be made for this month or area (outside the data, unknown area)."""


@dataclass(frozen=True)
class PackTable:
    """One table of a pack. `frame` is exactly what the registry (or the named query) returned,
    after disclosure control; renderers only format it."""

    key: str  # file and sheet name
    title: str
    description: str
    period: str
    frame: pl.DataFrame
    registry_name: str | None = None  # get_table name, when it comes from the registry
    filters: Filters | None = None
    kind: str = "tidy"  # tidy | crosstab | counts | funnel | median | themes | headline


@dataclass(frozen=True)
class Theme:
    statement: str
    test: str
    p_value: float | None = None
    p_adjusted: float | None = None


@dataclass(frozen=True)
class SpocPack:
    area_code: str
    area_name: str
    month_start: date
    build_id: str
    built_at: str  # ISO timestamp of the warehouse build
    settings: Settings
    headline: dict[str, int | None]  # measure -> count this month (None = hidden)
    headline_display: dict[str, str]
    has_grievances: bool  # any grievance raised, closed or open in the month
    themes: tuple[Theme, ...]
    themes_note: str
    funnel_note: str
    tables: tuple[PackTable, ...] = field(default_factory=tuple)

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


def month_label(m: date) -> str:
    return m.strftime("%B %Y")


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


def assemble_pack(wh: Warehouse, month_start: date, area: str, *, settings: Settings = DEFAULTS,
                  cache: ForceCache | None = None) -> SpocPack:
    code, name = check_request(wh, month_start, area)
    cache = cache or ForceCache()
    info = wh.build_info()
    area_filter = None if code == FORCE else code
    year_start, trend_start = add_months(month_start, -11), add_months(month_start, -12)
    year = Filters(start=year_start, end=month_start, area=area_filter)
    year_label = f"{month_label(year_start)} to {month_label(month_start)}"
    trend_label = f"{month_label(trend_start)} to {month_label(month_start)}"

    def registry(key, name_, title, f, kind="tidy", period=year_label):
        frame = get_table(wh, name_, f, suppressed=True, settings=settings)
        return PackTable(key, title, _description(name_), period, frame, name_, f, kind)

    trend_table = registry("trend", "spoc_trend", "Grievances each month", Filters(end=month_start, area=area_filter),
                           "counts", trend_label)
    trend = trend_table.frame
    this_month = trend.filter(pl.col("month_start") == month_start)
    headline = dict(zip(this_month["measure"], this_month["n"], strict=True))
    headline_display = dict(zip(this_month["measure"], this_month["value_display"], strict=True))
    raw = _raw_month_counts(wh, month_start, code)
    has_grievances = any(raw[m] > 0 for m in MEASURES)

    tables = [trend_table]
    tables.append(registry("categories", "grievance_categories",
                           "Grievances raised by category and ethnic group", year, "crosstab"))
    tables.append(registry("outcomes", "grievance_outcome_mix",
                           "How closed grievances ended, by ethnic group", year, "crosstab"))
    resolution = cache.get(("resolution", month_start, code),
                           lambda: resolution_vs_force(wh, month_start, code, settings))
    tables.append(PackTable("time_to_resolve", "Time to resolve: this area against the force",
                            "Kaplan-Meier median days from raised to outcome for grievances raised in "
                            "the 12 months, open grievances censored at the extract date; log-rank test "
                            "of this area against the rest of the force.", year_label, resolution,
                            None, None, "median"))
    tables.append(registry("independent_assessor", "grievance_independent_assessor",
                           "Independent assessor share, by ethnic group", year))
    for c in BREAKDOWN_CHARACTERISTICS:
        tables.append(registry(f"raised_by_{c}", "grievance_rates",
                               "Grievances raised per 1,000 person-years", year.with_(characteristic=c)))
    for c in BREAKDOWN_CHARACTERISTICS:
        tables.append(registry(f"upheld_by_{c}", "grievance_outcomes",
                               "Grievances upheld, of those closed", year.with_(characteristic=c)))
    # The same force-wide table for every area's pack of the month: fetched once per batch.
    funnel_table = cache.get(("funnel", month_start), lambda: registry(
        "funnel", "grievance_funnel", "Business areas against the force (funnel plot)", year.with_(area=None),
        "funnel"))
    tables.append(funnel_table)
    funnel = funnel_table.frame
    tables.append(registry("misconduct_referrals", "misconduct_rates",
                           "Misconduct referrals per 1,000 person-years, by ethnic group", year))

    themes, themes_note = find_themes(wh, month_start, code, settings=settings, cache=cache,
                                      upheld=[t.frame for t in tables if t.key.startswith("upheld_by_")])
    funnel_note = funnel_position(funnel, code, name)
    themes_frame = pl.DataFrame(
        [{"statement": t.statement, "test": t.test, "p_value": t.p_value, "p_adjusted": t.p_adjusted}
         for t in themes],
        schema={"statement": pl.String, "test": pl.String, "p_value": pl.Float64, "p_adjusted": pl.Float64})
    tables.insert(0, PackTable("themes", "Themes and trends", themes_note, month_label(month_start),
                               themes_frame, None, None, "themes"))
    return SpocPack(code, name, month_start, str(info["build_id"]), _iso(info.get("built_at")), settings,
                    headline, headline_display, has_grievances, tuple(themes), themes_note, funnel_note,
                    tuple(tables))


def _iso(value) -> str:
    return value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else str(value)


def _description(name: str) -> str:
    return REGISTRY[name].description


def _area_clause(code: str) -> tuple[str, list]:
    return ("true", []) if code == FORCE else ("business_area_code = ?", [code])


def _raw_month_counts(wh: Warehouse, month_start: date, code: str) -> dict[str, int]:
    where, params = _area_clause(code)
    sums = ", ".join(f"coalesce(sum({m}), 0)::bigint as {m}" for m in MEASURES)
    row = wh.query(f"select {sums} from fct_spoc_monthly where {where} and month_start = ?",  # noqa: S608
                   [*params, month_start])
    return row.row(0, named=True)


def _resolution_rows(wh: Warehouse, month_start: date) -> pl.DataFrame:
    return wh.query(
        """select business_area_code, days_observed::double as duration_days, not is_open as is_event
           from fct_grievance_outcomes where raised_month between ? and ? order by all""",
        [add_months(month_start, -11), month_start])


def resolution_vs_force(wh: Warehouse, month_start: date, code: str, settings: Settings = DEFAULTS
                        ) -> pl.DataFrame:
    """Median days to resolve (Kaplan-Meier) for the area and the whole force, with the log-rank
    test of the area against the rest of the force. Counts 1..t-1 hide the row's figures."""
    from metrics.suppression import is_small
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
    t = settings.suppression_threshold
    records = []
    for r in medians.iter_rows(named=True):
        n, events = r["n"], r["events"]
        hidden = any(is_small(v, t, False) for v in (n, events, n - events))
        is_area = r["group"] == "This area"
        records.append({
            "group": r["group"], "n": None if hidden else n, "events": None if hidden else events,
            "n_display": f"<{t}" if is_small(n, t, False) else ("[c]" if hidden else str(n)),
            "events_display": (f"<{t}" if is_small(events, t, False) else ("[c]" if hidden else str(events))),
            "median_days": None if hidden else r["median_days"],
            "median_ci_low": None if hidden else r["median_ci_low"],
            "median_ci_high": None if hidden else r["median_ci_high"],
            "p_value": None if hidden or not is_area else test_p,
            "method": "too few to report" if hidden else
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
        if area.height < settings.min_group_for_ratio:
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
    words = {"alarm": "above the 99.8% upper limit", "alert": "above the 95% upper limit (within 99.8%)",
             "low alarm": "below the 99.8% lower limit", "low alert": "below the 95% lower limit (within 99.8%)",
             "within": "within the 95% limits", "no data": "not placed (no person-years)"}
    if code == FORCE:
        out = funnel.filter(pl.col("flag").is_in(["alarm", "low alarm"]))["group"].to_list()
        if not out:
            return "No business area is outside the 99.8% funnel limits over the 12 months."
        return ("Outside the 99.8% funnel limits over the 12 months (exact Poisson limits): "
                + ", ".join(sorted(out)) + ".")
    row = funnel.filter(pl.col("group") == code)
    if row.height == 0:
        return f"{name} had no person-years in the 12 months, so it is not on the funnel plot."
    flag = row["flag"][0]
    if flag is None or flag == "too few to report":
        return f"{name}'s position on the funnel plot is withheld (too few to report)."
    return (f"{name}'s grievance rate over the 12 months is {words.get(flag, flag)} of the force "
            "(exact Poisson funnel limits).")


# ------------------------------------------------------------------------------------------------
# Themes and trends
# ------------------------------------------------------------------------------------------------


@dataclass
class _Candidate:
    statement: str
    test: str
    p_value: float | None


def find_themes(wh: Warehouse, month_start: date, code: str, *, settings: Settings = DEFAULTS,
                cache: ForceCache | None = None, upheld: list[pl.DataFrame] | None = None
                ) -> tuple[list[Theme], str]:
    """Statements the statistics support, and a note saying how they were chosen.

    Family (Holm-adjusted together): each grievance category's count this month against its
    previous 12 months, and all grievances the same way (exact conditional Poisson test,
    R: poisson.test(c(k, K), c(1, 12))); for an area, its overdue share of open grievances and
    its independent-assessor share against the rest of the force (Fisher exact / chi-square).
    Also reported: groups whose upheld rate differs significantly from the reference group in
    the (already disclosure-controlled, already Holm-adjusted) upheld tables.
    A statement is made only from counts the suppression rules would show (0 or >= threshold).
    """
    from metrics.rates import conditional_rate_test
    from metrics.significance import adjust_pvalues, two_by_two_test

    t = settings.suppression_threshold

    def shown(*counts: int) -> bool:
        return all(c == 0 or c >= t for c in counts)

    candidates: list[_Candidate] = []
    where, params = _area_clause(code)
    counts = wh.query(
        f"""select category_label as category, raised_month, count(*)::bigint as n
            from fct_grievance_outcomes where {where} and raised_month between ? and ?
            group by all order by all""",  # noqa: S608 - where is a fixed clause
        [*params, add_months(month_start, -12), month_start])
    totals = counts.group_by("raised_month").agg(pl.col("n").sum()).with_columns(
        category=pl.lit("All grievances"))
    series = pl.concat([counts, totals.select(counts.columns)])
    for category in sorted(series["category"].unique().to_list(), key=lambda c: (c != "All grievances", c)):
        part = series.filter(pl.col("category") == category)
        k = int(part.filter(pl.col("raised_month") == month_start)["n"].sum())
        before = int(part.filter(pl.col("raised_month") < month_start)["n"].sum())
        if k + before == 0 or not shown(k):
            continue
        p, _ = conditional_rate_test(k, 1.0, before, 12.0)
        avg = before / 12
        direction = "up on" if k > avg else "down on"
        label = "Grievances raised (all categories)" if category == "All grievances" else f"{category} grievances"
        candidates.append(_Candidate(
            f"{label}: {k} this month, {direction} a 12-month average of {avg:.1f}",
            "exact Poisson test of this month against the previous 12 months", p))

    if code != FORCE:
        raw = wh.query(
            """select business_area_code = ? as is_area, sum(n_open)::bigint as n_open,
                      sum(n_open_overdue)::bigint as n_overdue
               from fct_spoc_monthly where month_start = ? group by all""", [code, month_start])
        a = raw.filter(pl.col("is_area"))
        r = raw.filter(~pl.col("is_area"))
        if a.height and r.height:
            n_a, e_a, n_r, e_r = int(a["n_open"][0]), int(a["n_overdue"][0]), int(r["n_open"][0]), int(r["n_overdue"][0])
            if n_a > 0 and n_r > 0 and shown(n_a, e_a, n_a - e_a):
                p, method = two_by_two_test(e_a, n_a, e_r, n_r)
                candidates.append(_Candidate(
                    f"Open grievances past the 90-day standard at month end: {_pct(e_a / n_a)} here "
                    f"({e_a} of {n_a}) against {_pct(e_r / n_r)} in the rest of the force",
                    f"{method} test", p))
        ind = wh.query(
            """select business_area_code = ? as is_area, count(*)::bigint as n,
                      count(*) filter (where is_independent_assessor)::bigint as events
               from fct_grievance_outcomes where raised_month between ? and ? group by all""",
            [code, add_months(month_start, -11), month_start])
        a = ind.filter(pl.col("is_area"))
        r = ind.filter(~pl.col("is_area"))
        if a.height and r.height:
            n_a, e_a, n_r, e_r = int(a["n"][0]), int(a["events"][0]), int(r["n"][0]), int(r["events"][0])
            if n_a > 0 and n_r > 0 and shown(n_a, e_a, n_a - e_a):
                p, method = two_by_two_test(e_a, n_a, e_r, n_r)
                candidates.append(_Candidate(
                    f"Grievances with an independent assessor over the 12 months: {_pct(e_a / n_a)} here "
                    f"({e_a} of {n_a}) against {_pct(e_r / n_r)} in the rest of the force",
                    f"{method} test", p))

    adjusted = adjust_pvalues([c.p_value for c in candidates], settings.adjustment)
    themes = [Theme(f"{c.statement} ({c.test}, p = {_p(c.p_value)}; adjusted p = {_p(pa)}).",
                    c.test, c.p_value, pa)
              for c, pa in zip(candidates, adjusted, strict=True) if pa is not None and pa < settings.alpha]
    for table in upheld or []:
        for row in table.filter(pl.col("is_significant").fill_null(False)).iter_rows(named=True):
            ref = row.get("reference_group")
            themes.append(Theme(
                f"{row['group']}: {_pct(row['rate'])} of closed grievances upheld over the 12 months, "
                f"{row['ratio']:.2f} times the {ref} rate ({row['method']}; p = {_p(row['p_value'])}, "
                f"adjusted across groups p = {_p(row['p_adjusted'])}).",
                str(row["method"]), row["p_value"], row["p_adjusted"]))
    note = (f"{len(candidates)} tests of this month against the previous 12 months and of this area "
            f"against the rest of the force, adjusted together ({settings.adjustment.replace('_', ' ')}) "
            f"at the {settings.alpha:.0%} level; counts under {t} are never the basis of a statement.")
    if not themes:
        note = ("Nothing this month is statistically distinguishable from the previous 12 months or "
                "from the rest of the force. " + note)
    return themes, note


def _pct(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _p(p: float | None) -> str:
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"
