"""Data quality and methods: every input row accounted for, the rules that quarantined rows, the
'not stated' shares, and in plain English how each statistic on the dashboard is computed."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data, theme
from dashboard.app_pages import common
from metrics import formats
from metrics.config import DEFAULTS


def _extract_sentence(row: dict) -> str:
    """One extract's reconciliation, then what the build tolerated and noted (open end dates, trimmed
    values, ignored columns): the notes hold text from the file, so it is escaped."""
    counts = (f"{row['extract']}: {formats.fmt_int(row['rows_read'])} rows read, {formats.fmt_int(row['rows_accepted'])} "
              f"accepted, {formats.fmt_int(row['rows_quarantined'])} quarantined.")
    return f"{counts} Noted: {theme.escape_markdown(row['notes'])}." if row.get("notes") else counts


f = data.filters()
st.title("Data quality and methods")

common.section(
    "data_quality", f, expanded=True,
    chart=lambda t: charts.stacked_bar(t, x="extract", parts={"rows_accepted": "Accepted", "rows_quarantined": "Quarantined"},
                                       title="Rows read per extract", axis="Rows"),
    sentences=lambda t: [_extract_sentence(r) for r in t.iter_rows(named=True)])

common.section(
    "quarantine_rules", f,
    chart=lambda t: charts.bar_chart(t.with_columns((t["extract"] + ": " + t["rule"]).alias("what")) if t.height else t,
                                     x="what", y="n_rows", title="Quarantined rows by rule", axis="Rows"),
    sentences=lambda t: None if t.height else "No row was quarantined in this build.")

if data.allowed("quarantine"):
    common.section("quarantine", f, title="Quarantined rows (analysts only)")

common.section(
    "not_stated", f,
    # Every row's group is "Not stated": the bars are the characteristics.
    chart=lambda t: charts.rate_chart(
        t.with_columns(group=pl.Series([theme.characteristic_label(c) for c in t["characteristic"]], dtype=pl.String)),
        title="Share 'not stated' among people in post", axis="% not stated"))

common.section("benchmark_quality", f)

st.subheader("How each statistic is computed")
st.markdown(f"""
- **Rates** are computed on people whose characteristic is stated; "Not stated" is shown as its own group and its
  share is reported above as a data-quality figure.
- **Shares** (e.g. grievances upheld) have **Wilson** 95% intervals. **Rates per 1,000 person-years** use time in
  post from the postings (exposure), with **exact Poisson** intervals.
- **Ratios** compare each group with a reference group (White, Male, Not disabled, Heterosexual, Christian, …):
  relative rates with a **Katz** log interval, rate ratios with a log interval.
- **Tests**: **Fisher's exact test** when any expected count is below 5, otherwise the **chi-square test**; rates
  per person-year use the **exact conditional Poisson test**. p-values are adjusted across the groups of a table by
  **{'Holm' if DEFAULTS.adjustment == 'holm' else 'Benjamini-Hochberg'}**; both raw and adjusted p are shown, and
  "significant" always means adjusted p < {DEFAULTS.alpha}.
- **Adjusted comparisons**: misconduct referrals by a **Poisson regression** with a person-years offset, adjusted
  for rank, length of service and business area (incidence-rate ratios); grievances upheld by a **logistic
  regression** adjusted for category (odds ratios); Wald intervals and tests.
- **Decision points**: the **relative rate index** divides each stage by the stage before (referral → investigation
  → meeting or hearing → sanction), so a disparity shows at the decision where it arises.
- **Recruitment**: the pass rate at each stage as a ratio to the reference group; below **0.8** fails the
  **four-fifths rule**. Shares against targets use a **one-sided exact binomial test**.
- **Time to resolve** grievances: **Kaplan–Meier** curves with open grievances censored, medians with a log-log
  interval, and a **log-rank test** across groups.
- **Business areas**: **funnel plots** with exact Poisson limits at 95% and 99.8% around the force rate.
- **Small numbers** (staff associations and exported tables): counts of 1–{DEFAULTS.suppression_threshold - 1} are
  shown as "<{DEFAULTS.suppression_threshold}", other cells are hidden ("[c]") where they would let a hidden count be
  worked out from a total, and no rate, ratio or p-value is shown for a hidden or tiny group: "too few to report".
- Groups with fewer than {DEFAULTS.min_group_for_ratio} people get no ratio ("too few to report").
- **How sure?** Every comparison gives the **smallest ratio it could have detected** with 80% power at the
  table's alpha (statsmodels' power functions), so a result that is not significant says whether there is
  probably no difference larger than that, or too few to tell.
- **Two characteristics crossed** ("Crossed with"): cells such as "Black x Disabled" against the cell of both
  reference groups, with the same tests and adjustment, and an **Overall** row beside them.
""")
