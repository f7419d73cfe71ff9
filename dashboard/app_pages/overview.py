"""The Management Board's one screen: what needs action across the product, ranked by evidence,
and the targets framed as the gap to them; the detail (trajectories, the misconduct trend, STRIDE
and IOPC status) below the fold."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data
from dashboard.app_pages import common
from metrics import findings, formats, narrative
from metrics.config import AGGREGATE_LABEL

f = data.filters()
st.title("Overview")
common.period_caption(f)
all_years = f.with_(start=None, end=None)


def latest(frame: pl.DataFrame | None, group: str) -> dict | None:
    """The latest row of a group in a table with a `stage` column."""
    if frame is None or frame.height == 0:
        return None
    rows = sorted((r for r in frame.iter_rows(named=True) if r["group"] == group), key=lambda r: r["stage"])
    return rows[-1] if rows else None


def target_card(frame, label):
    """A share framed as its gap to the target: the number, and '-6.4 points: below the 22.8% target'
    (red, arrow down) or 'at or above' (green, arrow up)."""
    now = latest(frame, AGGREGATE_LABEL)
    if now is None or narrative.is_too_few(now) or now.get("rate") is None:
        st.metric(label, formats.DASH, help=narrative.TOO_FEW if now else "no data")
        return
    target = now.get("target_share")
    if target is None:
        st.metric(f"{label}, {now['stage']}", formats.fmt_pct(now["rate"]), delta="no target at this date",
                  delta_color="off", delta_arrow="off")
        return
    gap = now["rate"] - target
    where = "below" if gap < 0 else "at or above"
    # fmt_points' ASCII sign: Streamlit reads the direction (arrow and colour) from a leading "-".
    st.metric(f"{label}, {now['stage']}", formats.fmt_pct(now["rate"]),
              delta=f"{formats.fmt_points(gap)}: {where} the {formats.fmt_pct(target)} target", delta_color="normal",
              help=f"{AGGREGATE_LABEL}: share at the year end against the target trajectory for that date.")


def ratio_card(trend):
    now = latest(trend, "Black")
    if now is None or now.get("ratio") is None or narrative.is_too_few(now):
        st.metric("Misconduct referrals, Black : White", formats.DASH)
        return
    st.metric(f"Misconduct referrals, Black : White, {now['stage']}", formats.fmt_ratio(now["ratio"]),
              delta=f"{formats.fmt_ratio_change(now['ratio'] - 1)} against parity ({formats.fmt_ratio(1)})", delta_color="inverse",
              help="Rate ratio per person-year; 1.00 would be parity. Every group is in the trend below.")


tables = {}
for name in findings.NEEDS_ACTION_TABLES:
    if data.allowed(name):
        tables[name] = common.fetch(name, all_years if name in findings.ALL_YEARS_TABLES else f, quiet=True)
trend = common.fetch("misconduct_trend", all_years.with_(characteristic="ethnicity_group"))

common.compact_top()
c1, c2, c3 = st.columns(3)
with c1:
    target_card(tables.get("representation"), "Officer representation")
with c2:
    target_card(tables.get("recruit_share"), "Officer joiners")
with c3:
    ratio_card(trend)
found = findings.needs_action(tables, data.dimensions()["areas"])
common.needs_action_table(found, key="ov-needs-action")

st.divider()
st.header("Details", anchor="details")
# The charts wait in closed expanders: the Board's screen above needs none, and a first visit then
# does not load the charting library (most of a cold page's time in the browser).
representation = tables.get("representation")
if representation is not None:
    with common.lazy_expander("Officer representation against the target trajectory: chart and numbers",
                              expanded=False, key="ov-representation") as box:
        if box.open:
            common.plot(data.figure("representation", all_years, "ov-representation",
                                    lambda t: charts.target_chart(t, title="Officer representation against the "
                                                                           "target trajectory")),
                        key="ov-representation")
            common.numbers_table(representation, key="ov-representation", name="representation")
if trend is not None:
    stages = common.stages(trend)
    if stages:
        common.say(narrative.ratio_sentences(trend, outcome="to be referred", kind="rate", stage=stages[-1]),
                   label=f"Misconduct referral rate ratios, {stages[-1]}, in words")
    with common.lazy_expander("Misconduct referral rate ratio by financial year: chart and numbers", expanded=False,
                              key="ov-trend") as box:
        if box.open:
            common.plot(data.figure("misconduct_trend", all_years.with_(characteristic="ethnicity_group"), "ov-trend",
                                    lambda t: charts.trend_chart(t, title="Misconduct referral rate ratio to White "
                                                                          "officers and staff, by financial year",
                                                                 axis="Rate ratio")),
                        key="ov-trend")
            common.numbers_table(trend, key="ov-trend", per_1000=True, name="misconduct_trend")

st.subheader("Grievance outcome gaps (significant after adjustment only)", anchor="grievance-gaps")
adjusted = tables.get("grievance_upheld_adjusted")
if adjusted is not None:
    flagged = adjusted.filter(pl.col("is_significant") & ~pl.col("is_suppressed"))
    if flagged.height:
        common.say(narrative.ratio_sentences(flagged, outcome="of having a grievance upheld", kind="odds"))
    else:
        tests = sorted({t for m in adjusted["method"].to_list() if (t := narrative.test_name(m))})
        common.say(f"No group's odds of having a grievance upheld differed significantly from the reference group "
                   f"after adjusting for category and for multiple comparisons ({', '.join(tests) or 'no test possible'}).")
    common.numbers(adjusted, key="ov-grievance", name="grievance_upheld_adjusted")

st.subheader("STRIDE commitments", anchor="stride")
stride = tables.get("stride_status")
if stride is not None:
    common.numbers(stride, key="ov-stride", name="stride_status")

st.subheader("IOPC recommendations", anchor="iopc")
iopc = tables.get("iopc_status")
if iopc is not None:
    common.numbers(iopc, key="ov-iopc", name="iopc_status")
