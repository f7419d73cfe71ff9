"""Misconduct referrals: rates per person-year, the ratio over time, adjusted ratios, and the
relative rate index at every decision point after referral."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data
from dashboard.app_pages import common
from metrics import narrative

f = data.filters()
st.title("Misconduct")
common.period_caption(f)

common.section(
    "misconduct_rates", f, per_1000=True, expanded=True, verdicts="ratio", measure="rate ratio",
    chart=lambda t: charts.rate_chart(t, title="Referrals per 1,000 person-years", axis="Per 1,000 person-years",
                                      per_1000=True),
    sentences=lambda t: [narrative.headline(t, outcome="to be referred for misconduct", kind="rate")]
    + narrative.ratio_sentences(t, outcome="to be referred for misconduct", kind="rate"))

st.caption("The trend below covers every financial year in the warehouse, whatever the period chosen.")
common.section(
    "misconduct_trend", f.with_(start=None, end=None), key="misconduct_trend",
    chart=lambda t: charts.trend_chart(t, title="Referral rate ratio to the reference group, by financial year",
                                       axis="Rate ratio"),
    sentences=lambda t: narrative.ratio_sentences(t, outcome="to be referred", kind="rate",
                                                  stage=common.stages(t)[-1]) if t.height else None)

common.section(
    "misconduct_trend_test", f.with_(start=None, end=None), key="misconduct_trend_test",
    sentences=lambda t: narrative.trend_sentences(t) if t.height else None)

common.section(
    "misconduct_adjusted", f, per_1000=True, verdicts="ratio", measure="adjusted rate ratio",
    sentences=lambda t: narrative.ratio_sentences(t, outcome="to be referred, after adjustment", kind="rate"))

common.section(
    "misconduct_stages", f, verdicts="ratio", measure="relative rate index",
    chart=lambda t: charts.stage_chart(t, title="Relative rate index at each decision point",
                                       axis="Relative rate index", stages=common.stages(t)),
    sentences=lambda t: [f"**{s}** (of those at the previous stage): "
                         + " ".join(narrative.ratio_sentences(t, outcome="to reach this stage", stage=s))
                         for s in common.stages(t)])

common.section(
    "misconduct_outcomes", f, crosstab=True,
    chart=lambda t, **kw: charts.crosstab_chart(t, title="Case outcomes", axis="Cases", **kw))

common.section(
    "failed_to_report", f, crosstab=True,
    chart=lambda t, **kw: charts.crosstab_chart(t, title="Failing to report or challenge: reasons recorded", axis="Cases",
                                              **kw))
