"""Acting-up: who is selected to act in a higher rank, against the four-fifths rule, and whether the
rationale is recorded (IOPC recommendation 15)."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data
from dashboard.app_pages import common
from metrics import narrative

f = data.filters()
st.title("Acting-up")
common.period_caption(f)

common.section(
    "acting_up", f, expanded=True, verdicts="four_fifths", measure="impact ratio",
    chart=lambda t: charts.ratio_chart(t, title="Selection rate ratio to the reference group (four-fifths rule)",
                                       axis="Impact ratio", threshold=0.8),
    sentences=lambda t: [narrative.headline(t, outcome="", kind="selection")]
    + narrative.ratio_sentences(t, outcome="", kind="selection"))

common.section(
    "acting_up_rationale", f, verdicts="ratio", measure="relative rate",
    chart=lambda t: charts.rate_chart(t, title="Decisions with a recorded rationale", axis="% of decisions"),
    sentences=lambda t: [narrative.rate_sentence(r, what="of decisions had a recorded rationale")
                         for r in t.iter_rows(named=True)])
