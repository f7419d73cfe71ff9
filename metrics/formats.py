"""The one number style: every page, table, card, chart, pack and sentence writes numbers with these.

Counts and person-years whole with thousands separators (12,345); days whole; ratios (relative
rate, rate ratio, odds ratio, impact ratio) two decimals (0.70); shares one decimal (36.0%); rates
per 1,000 person-years one decimal (12.3); p-values "< 0.001" or three decimals; an interval
"0.61–0.80" in its number's style, a share interval "16.1–18.2%"; dates "12 Oct 2026", months
"Oct 2026"; an empty value is an en dash.

Pure functions of numbers (standard library only), so metrics' sentences and the dashboard share
them. dashboard/theme.py re-exports them for the pages.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date

DASH = "–"  # an empty value

# The same styles as plotly (d3) hover formats, for numbers a chart writes itself.
D3_RATIO = ".2f"
D3_PERCENT = ".1f"
D3_RATE = ".1f"


def is_missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt_int(x: float | None) -> str:
    """Counts and person-years: whole numbers with thousands separators, 12,345."""
    return DASH if is_missing(x) else f"{round(x):,}"


def fmt_days(x: float | None) -> str:
    """Durations in days: whole days, 13."""
    return fmt_int(x)


def fmt_ratio(x: float | None) -> str:
    """Ratios (relative rate, rate ratio, odds ratio, impact ratio): two decimals, 0.70."""
    return DASH if is_missing(x) else f"{x:,.2f}"


def fmt_pct(x: float | None, digits: int = 1) -> str:
    """Shares, held as fractions: one decimal, 36.0%."""
    return DASH if is_missing(x) else f"{100 * x:,.{digits}f}%"


def fmt_points(x: float | None) -> str:
    """A difference of two shares (fractions), in percentage points with its sign: -6.5 points. The
    sign is an ASCII minus: Streamlit's st.metric reads it to point the delta's arrow."""
    return DASH if is_missing(x) else f"{100 * x:+.1f} points"


def fmt_ratio_change(x: float | None) -> str:
    """A change in a ratio, with its sign: +0.45 (ASCII, for st.metric's arrow)."""
    return DASH if is_missing(x) else f"{x:+.2f}"


def fmt_rate(x: float | None) -> str:
    """Rates per 1,000 person-years (already scaled): one decimal, 12.3."""
    return DASH if is_missing(x) else f"{x:,.1f}"


def fmt_decimal(x: float | None) -> str:
    """Any other measured number (a model's estimate, a funnel limit): two decimals, 1,234.57."""
    return DASH if is_missing(x) else f"{x:,.2f}"


def fmt_p(p: float | None) -> str:
    """p-values: "< 0.001", else three decimals, 0.012."""
    if is_missing(p):
        return DASH
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def p_phrase(p: float | None) -> str:
    """A p-value inside a sentence: "p < 0.001", "p = 0.012"."""
    if is_missing(p):
        return DASH
    return "p < 0.001" if p < 0.001 else f"p = {fmt_p(p)}"


def fmt_interval(lo: float | None, hi: float | None, fmt: Callable[[float | None], str] = fmt_ratio) -> str:
    """A 95% interval as "0.61–0.80" in the number's own style."""
    if is_missing(lo) or is_missing(hi):
        return DASH
    return f"{fmt(lo)}–{fmt(hi)}"


def fmt_pct_interval(lo: float | None, hi: float | None) -> str:
    """An interval of shares (fractions), the sign once at the end: "16.1–18.2%"."""
    if is_missing(lo) or is_missing(hi):
        return DASH
    return f"{fmt_pct(lo)[:-1]}–{fmt_pct(hi)}"


def fmt_date(d: date) -> str:
    """A day: 12 Oct 2026."""
    return d.strftime("%-d %b %Y")


def fmt_month(d: date) -> str:
    """A month: Oct 2026."""
    return d.strftime("%b %Y")
