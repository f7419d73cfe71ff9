"""The release's periods: complete financial years and the current year to its last complete quarter,
and the year-to-date snapshots published over a year (metrics/release.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from metrics.queries import FilterError, Filters, add_months
from metrics.warehouse import Warehouse

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
