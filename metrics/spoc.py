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

import math
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from metrics import config, release
from metrics.config import DEFAULTS, Settings
from metrics.queries import Filters, add_months
from metrics.tables import PACK_MEASURES, REGISTRY, get_table
from metrics.warehouse import Warehouse

FORCE = "FORCE"
FORCE_NAME = "Force-wide"

# The monthly count measures, in display order, with their labels: one definition per word.
MEASURES = PACK_MEASURES
MEASURE_LABELS = {
    "n_raised": "Raised in the month",
    "n_closed": "Closed in the month",
    "n_open": "Open at month end",
    "n_open_overdue": f"Open at month end for more than {DEFAULTS.service_standard_days} days",
}
BREAKDOWN_CHARACTERISTICS = ("ethnicity_group", "sex", "disability")
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
class Finding:
    """One statistically supported statement, in plain words, naming its test."""

    theme: str  # which question it answers
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


CHARACTERISTIC_WORDS = {"ethnicity_group": "ethnic group", "sex": "sex", "disability": "disability"}


def assemble_pack(wh: Warehouse, month_start: date, area: str, *, settings: Settings = DEFAULTS,
                  cache: ForceCache | None = None) -> SpocPack:
    code, name = check_request(wh, month_start, area)
    cache = cache or ForceCache()
    info = wh.build_info()
    area_filter = None if code == FORCE else code
    year_start, trend_start = add_months(month_start, -11), add_months(month_start, -12)
    # Totals with no characteristic cover the 12 months to the pack's month; breakdowns by a
    # characteristic cover the latest period of the protected release (a complete financial year,
    # or this year to the end of its last complete quarter), never a window that moves each month.
    period = release.period_for_month(wh, month_start)
    twelve = Filters(start=year_start, end=month_start, area=area_filter)
    year = Filters(start=period.start, end=period.end, area=area_filter) if period else twelve
    year_label = period.label if period else "no released period yet"
    in_period = f"in {year_label}"
    trend_label = f"{month_label(trend_start)} to {month_label(month_start)}"
    twelve_label = f"{month_label(year_start)} to {month_label(month_start)}"

    def registry(name_: str, f: Filters, release: str = PROTECTED):
        """The one path every count of a pack takes out of metrics: exact for totals with no
        protected characteristic, disclosure-controlled (get_table's rules) for any breakdown."""
        return get_table(wh, name_, f, suppressed=release == PROTECTED, settings=settings)

    def table(key, name_, title, f, kind="tidy", period=year_label, release=PROTECTED, characteristic=None,
              force=None, description=None):
        return PackTable(key, title, description or REGISTRY[name_].description, period,
                         registry(name_, f, release), name_, f, kind, release, characteristic, force)

    tables: list[PackTable] = []
    counts = table("counts", "spoc_trend", "Grievances each month: all staff (exact counts)",
                   Filters(end=month_start, area=area_filter), "counts", trend_label, EXACT,
                   description="Raised in the month, closed in the month (whenever raised), open at month end, "
                               f"and open at month end for more than {settings.service_standard_days} days, for every month "
                               "of the 13.")
    tables.append(counts)
    this_month = counts.frame.filter(pl.col("month_start") == month_start)
    headline = {m: int(v) for m, v in zip(this_month["measure"], this_month["n"], strict=True)}
    has_grievances = any(headline.get(m, 0) > 0 for m in MEASURES)

    for c in BREAKDOWN_CHARACTERISTICS:
        force = None
        if code != FORCE:
            force = cache.get(("raised", month_start, c), lambda c=c: registry(
                "grievance_rates", year.with_(area=None, characteristic=c)))
        tables.append(table(f"raised_by_{c}", "grievance_rates",
                            f"Grievances raised per 1,000 person-years, by {CHARACTERISTIC_WORDS[c]}",
                            year.with_(characteristic=c), "exposure", characteristic=c, force=force,
                            description=f"Grievances raised {in_period} per 1,000 person-years in post, "
                                        "with each group's rate compared with the reference group's."))
    for c in BREAKDOWN_CHARACTERISTICS:
        tables.append(table(f"upheld_by_{c}", "grievance_outcomes",
                            f"Grievances upheld, of those closed {in_period}, by {CHARACTERISTIC_WORDS[c]}",
                            year.with_(characteristic=c), characteristic=c,
                            description=f"Share of grievances closed {in_period} (whenever raised) that "
                                        "were upheld in full or in part."))
    tables.append(table("categories", "grievance_categories",
                        f"Grievances raised {in_period}, by category and ethnic group", year, "crosstab",
                        characteristic="ethnicity_group"))
    tables.append(table("outcomes", "grievance_outcome_mix",
                        f"Grievances closed {in_period}, by outcome and ethnic group", year, "crosstab",
                        characteristic="ethnicity_group",
                        description=f"Grievances closed {in_period} (whenever raised), by how they ended."))
    resolution = cache.get(("resolution", month_start, code),
                           lambda: resolution_vs_force(wh, month_start, code, settings))
    tables.append(PackTable("time_to_resolve", "Days to resolve a grievance: this area and the force, all staff",
                            "Grievances raised in the 12 months: the median number of days from raised to "
                            "outcome, counting grievances still open by how long they have been open so far.",
                            twelve_label, resolution, None, None, "median"))
    tables.append(table("independent_assessor", "grievance_independent_assessor",
                        "Grievances with an independent assessor, by ethnic group", year,
                        characteristic="ethnicity_group",
                        description=f"Share of grievances raised {in_period} assessed by someone outside "
                                    "the local line management (IOPC recommendation 2)."))
    # The same force-wide table for every area's pack of the month: fetched once per batch.
    funnel = cache.get(("funnel", month_start), lambda: table(
        "funnel", "grievance_funnel", "Grievances raised per 1,000 person-years, by business area",
        twelve.with_(area=None), "funnel", period=twelve_label, release=EXACT,
        description="Each business area's grievances raised in the 12 months per 1,000 person-years, with "
                    "the range the force's own rate would give an area of that size by chance (95% and 99.8%)."))
    tables.append(funnel)
    tables.append(table("misconduct_referrals", "misconduct_rates",
                        "Misconduct referrals per 1,000 person-years, by ethnic group", year, "exposure",
                        characteristic="ethnicity_group",
                        description=f"Misconduct referrals {in_period} per 1,000 person-years in post."))

    findings, note = find_findings(wh, month_start, code, name, tables, settings=settings)
    return SpocPack(code, name, month_start, str(info["build_id"]), _iso(info.get("built_at")), settings,
                    headline, has_grievances, tuple(findings), note, funnel_position(funnel.frame, code, name),
                    tuple(tables), cache.get("area_names", lambda: dict(business_areas(wh).iter_rows())))


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


FUNNEL_WORDS = {"alarm": "above the force's 99.8% limit", "alert": "above the force's 95% limit (within 99.8%)",
                "low alarm": "below the force's 99.8% limit", "low alert": "below the force's 95% limit (within 99.8%)",
                "within": "within the range expected from the force's rate (95% limits)",
                "no data": "not placed (no person-years)"}


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


# ------------------------------------------------------------------------------------------------
# Findings: page 1
# ------------------------------------------------------------------------------------------------

THEME_ORDER = ("Rates by protected characteristic", "Rates against the force", "Funnel position",
               "Trend over 13 months", "Time to resolve", "Independence of assessors", "Outcomes",
               "Misconduct referrals")
TEST_WORDS = {
    "rate_vs_reference": "exact test comparing two rates",
    "rate_vs_force": "exact test comparing two rates",
    "funnel": "exact Poisson test against the force rate",
    "trend": "Poisson regression on month, likelihood-ratio test",
    "spike": "exact test of this month against the previous 12",
    "median_ci": "95% confidence interval of the median",
    "log_rank": "log-rank test",
}


def group_words(characteristic: str, group: str) -> str:
    """How a sentence names the people in a group ("women", "Black staff", "disabled staff")."""
    special = {"Female": "women", "Male": "men", "Disabled": "disabled staff",
               "Not disabled": "staff who are not disabled"}
    if characteristic == "sex" or characteristic == "disability":
        return special.get(group, f"staff recorded as {group}")
    return f"{group} staff"


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def find_findings(wh: Warehouse, month_start: date, code: str, name: str, tables: list[PackTable], *,
                  settings: Settings = DEFAULTS) -> tuple[list[Finding], str]:
    """Every statistically supported finding for the area, ranked by strength of evidence (adjusted
    p, smallest first), and a note saying how they were chosen.

    Families, each adjusted ({adjustment}) on its own: the groups of one characteristic against the
    reference group (the registry table's own adjustment); the groups of one characteristic against
    the same group in the rest of the force; and the area's own tests (trend over 13 months, this
    month against the previous 12, time to resolve and independence against the rest of the force,
    open beyond the service standard against the rest of the force). The funnel position is one exact test.
    Only numbers the pack's tables show are used; a hidden group is never the basis of a finding.
    """
    from metrics.rates import conditional_rate_test
    from metrics.significance import adjust_pvalues, two_by_two_test

    alpha, method = settings.alpha, settings.adjustment
    here = "across the force" if code == FORCE else f"in {name}"
    out: list[Finding] = []
    by_key = {t.key: t for t in tables}

    def shown(row: dict) -> bool:
        return not row.get("is_suppressed") and row.get("events") is not None

    # 1. Each group's rate against its reference group, and against the same group in the rest of the force.
    for c in BREAKDOWN_CHARACTERISTICS:
        t = by_key[f"raised_by_{c}"]
        rows = {r["group"]: r for r in t.frame.iter_rows(named=True)}
        for r in rows.values():
            if r.get("is_significant") and shown(r):
                ref = rows.get(r["reference_group"])
                if ref is None or not shown(ref):
                    continue
                times = (f"{r['ratio']:.2f} times the rate of" if r["ratio"] else
                         ("a higher rate than" if (r["rate_per_1000"] or 0) > (ref["rate_per_1000"] or 0) else
                          "a lower rate than"))
                out.append(Finding(
                    THEME_ORDER[0],
                    f"{_cap(group_words(c, r['group']))} {here} raised grievances at {times} "
                    f"{group_words(c, ref['group'])} ({_n(r['rate_per_1000'])} against {_n(ref['rate_per_1000'])} "
                    f"per 1,000 person-years in {t.period}; {TEST_WORDS['rate_vs_reference']}, "
                    f"adjusted {_peq(r['p_adjusted'])}).",
                    TEST_WORDS["rate_vs_reference"], r["p_value"], r["p_adjusted"]))
        if t.force is None:
            continue
        force = {r["group"]: r for r in t.force.iter_rows(named=True)}
        cands = []
        for g, r in rows.items():
            f = force.get(g)
            if g == "Not stated" or f is None or not shown(r) or not shown(f):
                continue
            k_rest, e_rest = f["events"] - r["events"], f["exposure"] - r["exposure"]
            if e_rest <= 0:
                continue
            p, _ = conditional_rate_test(r["events"], r["exposure"], k_rest, e_rest)
            cands.append((r, 1000 * k_rest / e_rest, p))
        # One sentence per characteristic and direction: "higher for women (..) and men (..)".
        supported = [(r, rest, p, pa) for (r, rest, p), pa in
                     zip(cands, adjust_pvalues([x[2] for x in cands], method), strict=True)
                     if pa is not None and pa < alpha]
        for word in ("higher", "lower"):
            part = [x for x in supported if (x[0]["rate_per_1000"] > x[1]) == (word == "higher")]
            if not part:
                continue
            who = _join([f"{group_words(c, r['group'])} ({_n(r['rate_per_1000'])} against {_n(rest)})"
                         for r, rest, _, _ in part])
            worst = max(x[3] for x in part)
            out.append(Finding(
                THEME_ORDER[1],
                f"Grievance rates {here} in {t.period} were {word} than in the rest of the force for {who}, "
                f"per 1,000 person-years ({TEST_WORDS['rate_vs_force']}, {_each(worst, len(part))}).",
                TEST_WORDS["rate_vs_force"], min(x[2] for x in part), worst))

    # 2. The funnel position: the area's 12-month rate against the force rate.
    if code != FORCE:
        f = by_key["funnel"].frame
        row = f.filter(pl.col("group") == code) if "group" in f.columns else f.clear()
        if row.height and row["flag"][0] in ("alarm", "low alarm"):
            r = row.row(0, named=True)
            p = _poisson_vs_expected(r["events"], r["exposure"] * r["overall_rate"])
            out.append(Finding(
                THEME_ORDER[2],
                f"{name}'s grievance rate over the 12 months, {_n(r['rate_per_1000'])} per 1,000 person-years, "
                f"is {FUNNEL_WORDS[r['flag']]} around the force rate of {_n(1000 * r['overall_rate'])} "
                f"({TEST_WORDS['funnel']}, {_peq(p)}).", TEST_WORDS["funnel"], p, p))

    # 3. The area's own tests, adjusted together.
    family: list[tuple[str, str, str, float | None]] = []  # theme, statement (without p), test, p
    monthly = by_key["counts"].frame.filter(pl.col("measure") == "n_raised").sort("month_start")
    ys = [int(v) for v in monthly["n"].to_list()]
    trend = poisson_trend(ys)
    if trend is not None:
        slope, p = trend
        first, last = _fitted(ys, slope)
        family.append((THEME_ORDER[3],
                       f"Grievances raised {here} {'rose' if slope > 0 else 'fell'} over the 13 months "
                       f"(from about {first:.1f} to {last:.1f} a month on the fitted trend, {sum(ys)} in all)",
                       TEST_WORDS["trend"], p))
    if len(ys) == 13 and sum(ys) > 0:
        k, before = ys[-1], sum(ys[:-1])
        p, _ = conditional_rate_test(k, 1.0, before, 12.0)
        family.append((THEME_ORDER[3],
                       f"Grievances raised {here} in {month_label(month_start)}: {k}, "
                       f"{'up on' if k > before / 12 else 'down on'} the previous 12 months' average of "
                       f"{before / 12:.1f} a month", TEST_WORDS["spike"], p))
    res = by_key["time_to_resolve"].frame
    mine = res.filter(pl.col("group") == ("Force" if code == FORCE else "This area"))
    standard = settings.service_standard_days
    if mine.height and not mine["is_suppressed"][0]:
        r = mine.row(0, named=True)
        lo, hi, med = r["median_ci_low"], r["median_ci_high"], r["median_days"]
        if med is not None and lo is not None and (lo > standard or (hi is not None and hi < standard)):
            word = "longer" if lo > standard else "shorter"
            out.append(Finding(
                THEME_ORDER[4],
                f"Grievances raised {here} in the 12 months take a median of {_days(med)} days to resolve, "
                f"{word} than the {standard}-day standard (the {TEST_WORDS['median_ci']}, {_days(lo)} to "
                f"{_days(hi) if hi is not None else 'no upper limit'} days, does not include {standard}).",
                TEST_WORDS["median_ci"], None, None))
        force_row = res.filter(pl.col("group") == "Force")
        if code != FORCE and r["p_value"] is not None and force_row.height and not force_row["is_suppressed"][0]:
            fm = force_row["median_days"][0]
            family.append((THEME_ORDER[4],
                           f"Grievances {here} take {'longer' if (med or 1e9) > (fm or 1e9) else 'less time'} to "
                           f"resolve than across the force (median {_days(med)} days against {_days(fm)})",
                           TEST_WORDS["log_rank"], r["p_value"]))
    if code != FORCE:
        family.extend(_area_against_rest(wh, month_start, code, here, settings, two_by_two_test))
    adjusted = adjust_pvalues([x[3] for x in family], method)
    for (theme, statement, test, p), pa in zip(family, adjusted, strict=True):
        if pa is not None and pa < alpha:
            out.append(Finding(theme, f"{statement} ({test}, adjusted {_peq(pa)}).", test, p, pa))

    # 4. Outcomes, independence by group and misconduct referrals: the tables' own comparisons.
    for key, theme, verb in (
            *((f"upheld_by_{c}", THEME_ORDER[6], "had their closed grievances upheld") for c in BREAKDOWN_CHARACTERISTICS),
            ("independent_assessor", THEME_ORDER[5], "had an independent assessor"),
            ("misconduct_referrals", THEME_ORDER[7], "were referred for misconduct")):
        t = by_key[key]
        c = t.characteristic or "ethnicity_group"
        rows = {r["group"]: r for r in t.frame.iter_rows(named=True)}
        for r in rows.values():
            ref = rows.get(r.get("reference_group"))
            if not (r.get("is_significant") and shown(r) and ref is not None and shown(ref)):
                continue
            test = _test_words(r["method"])
            times = f"{r['ratio']:.2f} times the rate of" if r["ratio"] else "a different rate from"
            if t.kind == "exposure":
                figures = (f"{_n(r['rate_per_1000'])} against {_n(ref['rate_per_1000'])} per 1,000 person-years")
            else:
                figures = f"{_pct(r['rate'])} against {_pct(ref['rate'])}"
            out.append(Finding(
                theme,
                f"{_cap(group_words(c, r['group']))} {here} {verb} at {times} "
                f"{group_words(c, ref['group'])} in {t.period} ({figures}; {test}, adjusted "
                f"{_peq(r['p_adjusted'])}).", test, r["p_value"], r["p_adjusted"]))

    # Strongest evidence first; a finding read from a confidence interval (no p-value) after those with one.
    out.sort(key=lambda x: (x.p_adjusted if x.p_adjusted is not None else 1.0, THEME_ORDER.index(x.theme)))
    note = (f"Each finding is supported by the test it names at the {alpha:.0%} level, after allowing for the "
            f"number of comparisons made ({'Holm' if method == 'holm' else 'Benjamini-Hochberg'} adjustment); "
            "they are ranked by strength of evidence, strongest first. Groups too small to report are never "
            "the basis of a finding.")
    if not out:
        note = (f"Nothing {here} stands out: no difference between groups, from the rest of the force, or over "
                "the 13 months is statistically supported. " + note)
    return out, note


def _area_against_rest(wh, month_start, code, here, settings, two_by_two_test) -> list[tuple]:
    """Totals (no characteristic) of the area against the rest of the force: open beyond the service standard
    at month end, and grievances with an independent assessor over the 12 months."""
    out = []
    raw = wh.query(
        """select business_area_code = ? as is_area, sum(n_open)::bigint as n, sum(n_open_overdue)::bigint as events
           from fct_spoc_monthly where month_start = ? group by all""", [code, month_start])
    ind = wh.query(
        """select business_area_code = ? as is_area, count(*)::bigint as n,
                  count(*) filter (where is_independent_assessor)::bigint as events
           from fct_grievance_outcomes where raised_month between ? and ? group by all""",
        [code, add_months(month_start, -11), month_start])
    for frame, theme, what in ((raw, THEME_ORDER[4], "Open grievances at month end that had been open for more than "
                                f"{settings.service_standard_days} days"),
                               (ind, THEME_ORDER[5], "Grievances raised in the 12 months with an independent assessor")):
        a, r = frame.filter(pl.col("is_area")), frame.filter(~pl.col("is_area"))
        if not (a.height and r.height):
            continue
        n_a, e_a, n_r, e_r = int(a["n"][0]), int(a["events"][0]), int(r["n"][0]), int(r["events"][0])
        if n_a == 0 or n_r == 0:
            continue
        p, test = two_by_two_test(e_a, n_a, e_r, n_r)
        out.append((theme, f"{what}: {_pct(e_a / n_a)} {here} ({e_a} of {n_a}) against {_pct(e_r / n_r)} in the "
                           "rest of the force", _test_words(test), p))
    return out


def poisson_trend(counts: list[int]) -> tuple[float, float] | None:
    """Log-linear trend in monthly counts: (slope per month, likelihood-ratio p), by a Poisson
    regression of count on month number (R: anova(glm(y ~ t, family = poisson), test = "Chisq")).
    None when there is nothing to fit (fewer than 3 months, or no grievances at all)."""
    import numpy as np
    from scipy import stats

    y = np.asarray(counts, dtype=float)
    if y.size < 3 or y.sum() == 0:
        return None
    t = np.arange(y.size, dtype=float)
    # Newton-Raphson on (a, b) of log mu = a + b t; concave, so it converges from the null fit.
    a, b = math.log(y.mean()), 0.0
    # Steps are capped, and the fit stops once the slope is steep enough that every fitted month
    # but the first or last is ~0: all grievances in one end month have no finite maximum.
    for _ in range(200):
        mu = np.exp(a + b * t)
        grad = np.array([(y - mu).sum(), ((y - mu) * t).sum()])
        hess = np.array([[mu.sum(), (mu * t).sum()], [(mu * t).sum(), (mu * t * t).sum()]])
        if abs(np.linalg.det(hess)) < 1e-300:
            break
        step = np.clip(np.linalg.solve(hess, grad), -1.0, 1.0)
        a, b = a + step[0], b + step[1]
        if abs(step).max() < 1e-12 or abs(b) > 5:
            break
    a = math.log(y.sum() / np.exp(b * t).sum())  # the intercept's score equation, given the slope
    mu1, mu0 = np.exp(a + b * t), np.full_like(y, y.mean())
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = lambda mu: float(np.sum(np.where(y > 0, y * np.log(mu), 0.0) - mu))  # noqa: E731
        lr = max(0.0, 2 * (ll(mu1) - ll(mu0)))
    return float(b), float(stats.chi2.sf(lr, 1))


def _fitted(ys: list[int], slope: float) -> tuple[float, float]:
    """The fitted trend's first and last month (the fit keeps the total: sum(mu) = sum(y))."""
    n = len(ys)
    weights = [math.exp(slope * i) for i in range(n)]
    a = sum(ys) / sum(weights)
    return a * weights[0], a * weights[-1]


def _poisson_vs_expected(k: int, expected: float) -> float:
    """Two-sided exact Poisson p-value of k events against an expected count (R: poisson.test(k, T, r),
    doubling the smaller tail)."""
    from scipy import stats

    lower, upper = stats.poisson.cdf(k, expected), stats.poisson.sf(k - 1, expected)
    return float(min(1.0, 2 * min(lower, upper)))


def _test_words(method: str | None) -> str:
    """A registry method string in plain words: the test, without interval jargon."""
    m = (method or "").lower()
    if "fisher" in m:
        return "Fisher's exact test"
    if "chi" in m:
        return "chi-square test"
    if "poisson" in m or "binomial" in m:
        return TEST_WORDS["rate_vs_reference"]
    return "test as named in the table"


def _each(worst: float, n: int) -> str:
    """The adjusted p of a sentence naming n groups, by the largest of them."""
    if n == 1:
        return f"adjusted {_peq(worst)}"
    return "adjusted p < 0.001 for each" if worst < 0.001 else f"adjusted p-values up to {_p(worst)}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _n(x: float | None) -> str:
    return "–" if x is None else f"{x:,.1f}"


def _days(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f}"


def _pct(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _peq(p: float | None) -> str:
    """'p = 0.012' or 'p < 0.001', for a sentence."""
    text = _p(p)
    return f"p < {text[1:]}" if text.startswith("<") else f"p = {text}"


def _p(p: float | None) -> str:
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"
