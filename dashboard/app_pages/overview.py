"""The Management Board's one screen: targets, the misconduct-referral ratio and its change,
grievance outcome gaps that are significant after adjustment, STRIDE and IOPC status."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data, theme
from dashboard.app_pages import common
from metrics import narrative
from metrics.config import AGGREGATE_LABEL

f = data.filters()
st.title("Overview")
common.period_caption(f)
all_years = f.with_(start=None, end=None)


def latest(frame: pl.DataFrame | None, group: str) -> tuple[dict | None, dict | None]:
    """The latest and the previous row of a group in a table with a `stage` column."""
    if frame is None or frame.height == 0:
        return None, None
    rows = sorted((r for r in frame.iter_rows(named=True) if r["group"] == group), key=lambda r: r["stage"])
    return (rows[-1] if rows else None), (rows[-2] if len(rows) > 1 else None)


def share_metric(col, frame, label):
    now, before = latest(frame, AGGREGATE_LABEL)
    with col:
        if now is None or narrative.is_too_few(now) or now.get("rate") is None:
            st.metric(label, "–", help=narrative.TOO_FEW if now else "no data")
            return
        target = now.get("target_share")
        delta = None if before is None or before.get("rate") is None else \
            f"{100 * (now['rate'] - before['rate']):+.1f} points on the year before"
        st.metric(f"{label}, {now['stage']}", theme.fmt_pct(now["rate"]), delta=delta, delta_color="normal")
        st.caption(f"{AGGREGATE_LABEL} · " + (f"target {theme.fmt_pct(target)}" if target is not None
                                              else "no target at this date"))


with st.container():
    st.subheader("Targets")
    c1, c2, c3 = st.columns(3)
    representation = common.fetch("representation", all_years)
    recruits = common.fetch("recruit_share", all_years)
    share_metric(c1, representation, "Officer representation")
    share_metric(c2, recruits, "Officer joiners")
    trend = common.fetch("misconduct_trend", all_years.with_(characteristic="ethnicity_group"))
    with c3:
        now, _ = latest(trend, "Black")
        first = None
        if trend is not None and trend.height:
            black = sorted((r for r in trend.iter_rows(named=True) if r["group"] == "Black"), key=lambda r: r["stage"])
            # a part year ("FY2026/27 to date (Apr-Oct 2026)") is not compared with a whole one
            whole = [r for r in black if " to date (" not in r["stage"] and " part (" not in r["stage"]]
            first = whole[0] if whole else None
            now = whole[-1] if whole else now
        if now is None or now.get("ratio") is None or narrative.is_too_few(now):
            st.metric("Misconduct referrals, Black : White", "–")
        else:
            delta = None if first is None or first.get("ratio") is None else \
                f"{now['ratio'] - first['ratio']:+.2f} since {first['stage']}"
            st.metric(f"Misconduct referrals, Black : White, {now['stage']}", theme.fmt_ratio(now["ratio"]),
                      delta=delta, delta_color="inverse")
            st.caption("Rate ratio per person-year (each group is shown in the chart below)")

    if representation is not None:
        common.plot(charts.target_chart(representation, title="Officer representation against the target trajectory"),
                    key="ov-representation")
        common.numbers(representation, key="ov-representation")
    if trend is not None:
        common.plot(charts.trend_chart(trend, title="Misconduct referral rate ratio to White officers and staff, "
                                                    "by financial year", axis="Rate ratio"), key="ov-trend")
        stages = common.stages(trend)
        if stages:
            common.say(narrative.ratio_sentences(trend, outcome="to be referred", kind="rate", stage=stages[-1]))
        trend_test = common.fetch("misconduct_trend_test", all_years.with_(characteristic="ethnicity_group"))
        if trend_test is not None and trend_test.height:
            common.say(narrative.trend_sentences(trend_test))
        common.numbers(trend, key="ov-trend", per_1000=True)

st.subheader("Grievance outcome gaps (significant after adjustment only)")
adjusted = common.fetch("grievance_upheld_adjusted", f)
if adjusted is not None:
    flagged = adjusted.filter(pl.col("is_significant") & ~pl.col("is_suppressed"))
    if flagged.height:
        common.say(narrative.ratio_sentences(flagged, outcome="of having a grievance upheld", kind="odds"))
    else:
        tests = sorted({t for m in adjusted["method"].to_list() if (t := narrative.test_name(m))})
        common.say(f"No group's odds of having a grievance upheld differed significantly from the reference group "
                   f"after adjusting for category and for multiple comparisons ({', '.join(tests) or 'no test possible'}).")
    common.plot(charts.ratio_chart(adjusted, title="Odds of a grievance being upheld, adjusted for category",
                                   axis="Odds ratio"), key="ov-grievance")
    common.numbers(adjusted, key="ov-grievance")

st.subheader("STRIDE commitments by theme")
stride = common.fetch("stride_status", f)
if stride is not None and stride.height:
    themes = list(dict.fromkeys(stride["theme"].to_list()))
    for col, name in zip(st.columns(len(themes)), themes, strict=True):
        with col:
            st.markdown(f"**{name}**")
            for r in stride.filter(pl.col("theme") == name).iter_rows(named=True):
                was = r.get("previous_rag_status")
                change = f" (was {theme.RAG_LABEL.get(was, was)})" if was and was != r["rag_status"] else ""
                st.markdown(f"- {r['commitment_id']}. {theme.RAG_LABEL.get(r['rag_status'], '?')}{change}, "
                            f"{r['percent_complete']}% complete")
    common.numbers(stride, key="ov-stride")

st.subheader("IOPC recommendations")
iopc = common.fetch("iopc_status", f)
if iopc is not None:
    common.plot(charts.progress_chart(iopc, title="Actions on the 15 IOPC recommendations", label="action",
                                      key="action_id"), key="ov-iopc")
    common.numbers(iopc, key="ov-iopc")
