"""STRIDE commitments and the IOPC recommendations: status by theme, RAG history, overdue
milestones and senior leads. No counts of people: the same for every role."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, theme
from dashboard.app_pages import common

st.title("STRIDE and recommendations")
f = data.filters()


def stride_sentences(t):
    lines = []
    for r in t.iter_rows(named=True):
        if r.get("n_milestones_overdue"):
            lines.append(f"Commitment {r['commitment_id']} ({r['theme']}, lead: {r['senior_lead']}) is "
                         f"{theme.RAG_LABEL.get(r['rag_status'], r['rag_status'])} with "
                         f"{r['n_milestones_overdue']} milestone(s) overdue.")
    return lines or ["No commitment has an overdue milestone."]


status = common.section(
    "stride_status", f, expanded=True,
    chart=lambda t: charts.progress_chart(t, title="The 16 STRIDE commitments: % complete and RAG status",
                                          label="commitment", key="commitment_id"),
    sentences=stride_sentences)

if status is not None and status.height:
    st.markdown("#### By theme")
    themes = list(dict.fromkeys(status["theme"].to_list()))
    for col, name in zip(st.columns(len(themes)), themes, strict=True):
        with col:
            st.markdown(f"**{name}**")
            for r in status.filter(status["theme"] == name).iter_rows(named=True):
                st.markdown(f"- {r['commitment_id']}. {r['commitment']} — **{theme.RAG_LABEL.get(r['rag_status'], '?')}**, "
                            f"{r['percent_complete']}% ({r['senior_lead']})")

common.section(
    "stride_history", f,
    chart=lambda t: charts.rag_history_chart(t, title="RAG status at each Management Board"))


def iopc_sentences(t):
    overdue = [r for r in t.iter_rows(named=True) if r.get("n_milestones_overdue")]
    if not overdue:
        return ["No action on the IOPC recommendations has an overdue milestone."]
    return [f"Recommendation {r['recommendation_id']}, action {r['action_id']} ({r['senior_lead']}): "
            f"{r['n_milestones_overdue']} milestone(s) overdue, {r['percent_complete']}% complete." for r in overdue]


common.section(
    "iopc_status", f,
    chart=lambda t: charts.progress_chart(t, title="Actions on the 15 IOPC recommendations", label="action",
                                          key="action_id"),
    sentences=iopc_sentences)
