"""STRIDE commitments and the IOPC recommendations: what is Red or overdue (by name and lead)
first, then status by theme, RAG history and every action. No counts of people: the same for every
role. Every text here comes from an extract: it is shown in tables or as escaped text, never as
Markdown (a link or image in it stays words)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data, theme
from dashboard.app_pages import common
from metrics import findings, formats

st.title("STRIDE and recommendations")
f = data.filters()


def flagged_table(found: list[findings.Finding], *, key: str, what: str) -> None:
    if not found:
        st.write(f"No {what} is Red or has an overdue milestone.")
        return
    rows = [{"What": x.topic, "Name": x.group, "Senior lead": x.lead or "", "Status": x.verdict,
             "% complete": formats.fmt_pct(x.value, 0)} for x in found]
    st.dataframe(pl.DataFrame(rows), hide_index=True, key=key, width="stretch", row_height=common.ROW_HEIGHT,
                 height=common._height(len(rows)))


st.subheader("The 16 STRIDE commitments", anchor="stride-status")
st.caption(theme.reader_description("stride_status", data.spec("stride_status").description))
status = common.fetch("stride_status", f)
if status is not None:
    flagged_table(findings.needs_action({"stride_status": status}), key="stride-flagged", what="commitment")
    if status.height:
        common.plot(data.figure("stride_status", f, "stride-progress", lambda t: charts.progress_chart(
            t, title="The 16 STRIDE commitments: % complete and RAG status", label="commitment",
            key="commitment_id")), key="chart-stride_status")
    common.numbers(status, key="stride_status", name="stride_status")

common.section(
    "stride_history", f,
    chart=lambda t: charts.rag_history_chart(t, title="RAG status at each Management Board"))

st.subheader("IOPC recommendations", anchor="iopc-status")
st.caption(theme.reader_description("iopc_status", data.spec("iopc_status").description))
iopc = common.fetch("iopc_status", f)
if iopc is not None:
    flagged_table(findings.needs_action({"iopc_status": iopc}), key="iopc-flagged", what="action")
    common.numbers(iopc, key="iopc_status", name="iopc_status", label="Every action")
