"""Recruitment and representation: officer representation and recruit share against the targets,
pass rates at each recruitment stage with the four-fifths test, Outreach, and the 2030 projection."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data
from dashboard.app_pages import common
from metrics import formats, narrative
from metrics.config import AGGREGATE_LABEL

f = data.filters()
st.title("Recruitment and representation")
common.period_caption(f)
st.caption(f"'{AGGREGATE_LABEL}' is always shown beside each of the five ethnic groups it combines: the groups "
           "differ, and the aggregate alone would hide it.")


def latest_target_sentences(t, what):
    rows = [r for r in t.iter_rows(named=True) if r.get("target_share") is not None]
    if not rows:
        return None
    last = max(r["stage"] for r in rows)
    return [narrative.target_sentence(r, what=what) for r in rows if r["stage"] == last]


st.caption("Representation and recruit share cover every financial year in the warehouse, whatever the period chosen.")
all_years = f.with_(start=None, end=None)
common.section(
    "representation", all_years, key="representation", expanded=True,
    chart=lambda t: charts.target_chart(t, title="Officers by ethnic group, % at each financial year end"),
    sentences=lambda t: latest_target_sentences(t, "officers"))

common.section(
    "recruit_share", all_years, key="recruit_share",
    chart=lambda t: charts.target_chart(t, title="Officer joiners by ethnic group, % of the year's joiners",
                                        axis="% of joiners"),
    sentences=lambda t: latest_target_sentences(t, "officer joiners"))

fa = common.applicant_filters(f)
common.section(
    "recruitment_funnel", fa, verdicts="four_fifths", measure="impact ratio",
    chart=lambda t: charts.stage_chart(t, title="Pass rate at each stage: ratio to the reference group",
                                       axis="Impact ratio", threshold=0.8, stages=common.stages(t)),
    sentences=lambda t: [f"**{s}**: " + " ".join(narrative.ratio_sentences(t, outcome="", noun="applicants",
                                                                             kind="selection", stage=s))
                         for s in common.stages(t)])

common.section(
    "outreach", fa, verdicts="ratio", measure="relative rate",
    chart=lambda t: charts.stage_chart(t, title="Outreach: ratio to the reference group", axis="Relative rate",
                                       stages=common.stages(t)),
    sentences=lambda t: [f"**{s}**: " + " ".join(narrative.rate_sentence(r, what="of applicants", noun="applicants")
                                                 for r in t.iter_rows(named=True) if r.get("stage") == s)
                         for s in common.stages(t)])


def projection_chart(t):
    if {"date", "target_group_share"} <= set(t.columns):
        return charts.line_chart(t, x="date", ys={"target_group_share": "Projected share", "target_share": "Target"},
                                 title=f"Projected share of officers from {AGGREGATE_LABEL}", axis="% of officers",
                                 band=("share_low", "share_high"), scale=100)
    return charts.empty_figure("Projection", "The projection has no trajectory to draw.")


def projection_sentence(t):
    if "reached_label" in t.columns and t.height:
        r = t.row(0, named=True)
        share = r.get("share_at_end")
        text = f"At current joiner and leaver rates the 28% target is reached: {r['reached_label']}."
        if share is not None:
            text += f" Projected share at the end: {formats.fmt_pct(share)}"
            if r.get("share_end_low") is not None:
                text += f" (interval {formats.fmt_pct_interval(r['share_end_low'], r['share_end_high'])})"
            text += "."
        if r.get("joiner_share_needed") is not None:
            text += f" Joiner share needed to reach it: {formats.fmt_pct(r['joiner_share_needed'], 0)}."
        return text
    return None


common.section("representation_projection", f, chart=projection_chart, sentences=projection_sentence)
