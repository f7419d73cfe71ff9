"""Grievances: who raises them, how they end, how long they take, by group and business area."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, theme
from dashboard.app_pages import common
from metrics import narrative

f = data.filters()
st.title("Grievances")
common.period_caption(f)

common.section(
    "grievance_outcomes", f, verdicts="ratio", measure="relative rate",
    chart=lambda t: charts.ratio_chart(t, title="Upheld (in full or part): ratio to the reference group",
                                       axis="Relative rate"),
    sentences=lambda t: [narrative.headline(t, outcome="to have a grievance upheld")]
    + narrative.ratio_sentences(t, outcome="to have a grievance upheld"),
    expanded=True)

common.section(
    "grievance_discrimination_outcomes", f, verdicts="ratio", measure="relative rate",
    sentences=lambda t: narrative.ratio_sentences(t, outcome="to have a discrimination grievance upheld"))

common.section(
    "grievance_upheld_adjusted", f, verdicts="ratio", measure="adjusted odds ratio",
    sentences=lambda t: narrative.ratio_sentences(t, outcome="of having a grievance upheld", kind="odds"))

common.section(
    "grievance_rates", f, per_1000=True, verdicts="ratio", measure="rate ratio",
    chart=lambda t: charts.rate_chart(t, title="Grievances raised per 1,000 person-years",
                                      axis="Per 1,000 person-years", per_1000=True),
    sentences=lambda t: narrative.ratio_sentences(t, outcome="to raise a grievance", kind="rate"))

left, right = st.columns(2)
with left:
    # Staff associations get no curve for a group under 10 cases or whose counts the table hides.
    empty_curve = ("No curve can be shown: each would reveal numbers the time-to-resolve table hides."
                   if data.role() == "staff_association" else "No grievances for this selection.")
    common.section("grievance_resolution_curve", f,
                   chart=lambda t: charts.survival_chart(t, title="Share still open by days since raised",
                                                         empty=empty_curve))
with right:
    common.section("grievance_resolution", f, sentences=lambda t: narrative.median_sentence(t), expanded=True)

common.section(
    "grievance_categories", f, crosstab=True,
    chart=lambda t, **kw: charts.crosstab_chart(t, title="Grievances raised by category", axis="Grievances raised", **kw))

common.section(
    "grievance_outcome_mix", f, crosstab=True,
    chart=lambda t, **kw: charts.crosstab_chart(t, title="How closed grievances ended", axis="Grievances closed", **kw))

common.section(
    "grievance_independent_assessor", f, verdicts="ratio", measure="relative rate",
    sentences=lambda t: narrative.ratio_sentences(t, outcome="to have an independent assessor"))

areas = data.dimensions()["areas"]
common.section(
    "grievance_funnel", f,
    chart=lambda t: charts.funnel_chart(t, title="Business areas: grievances per 1,000 person-years", names=areas,
                                        size="exposure"),
    # Area names come from an extract: escaped, since the sentence is rendered as Markdown.
    sentences=lambda t: narrative.funnel_sentence(t, what="grievance rates",
                                                  area_names={k: theme.escape_markdown(v) for k, v in areas.items()}))
