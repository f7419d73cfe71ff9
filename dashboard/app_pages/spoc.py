"""The monthly SPOC pack: each business area's grievance headline for a month, previewed here and
downloaded as the files the SPOC takes to their Senior Leadership Team (analysts)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data
from dashboard.app_pages import common

f = data.filters()
st.title("SPOC monthly pack")
dims = data.dimensions()
months = dims["months"]
month = st.selectbox("Pack month", months[::-1], format_func=lambda m: m.strftime("%B %Y"), key="spoc_month")
area = f.area
st.caption(f"{'Whole force (every business area)' if area is None else dims['areas'].get(area, area)} · "
           "choose the business area in the sidebar")

month_filters = f.with_(start=month, end=month, characteristic="ethnicity_group")
OPEN = "Open at month end"


def month_chart(t: pl.DataFrame):
    open_now = t.filter(pl.col("measure") == OPEN).sort("n", descending=True, nulls_last=True)
    return charts.bar_chart(open_now, x="business_area_name", y="n", title=f"{OPEN}, {month:%B %Y}",
                            axis="Grievances open")


month_table = common.section("spoc_monthly", month_filters, key="spoc-month", chart=month_chart, crosstab=False,
                             title=f"Grievances in {month:%B %Y} by business area")
if month_table is not None and month_table.height:
    value = "value_display" if "value_display" in month_table.columns else "n"
    wide = (month_table.select("business_area_name", "measure", pl.col(value).cast(pl.String))
            .pivot(on="measure", index="business_area_name", values=value, aggregate_function="first")
            .sort("business_area_name"))
    st.dataframe(wide.rename({"business_area_name": "Business area"}), hide_index=True, key="spoc-month-wide",
                 width="stretch", placeholder="–")

st.markdown("#### Downloads")
formats = st.multiselect("Formats", ["pdf", "xlsx", "csv"], default=["xlsx", "csv"], key="spoc_formats")
pack_area = area or "FORCE"
request = (month, pack_area, tuple(formats))
if st.button("Prepare the pack files", key="spoc_prepare", disabled=not formats):
    st.session_state["spoc_request"] = request
if formats and st.session_state.get("spoc_request") == request:
    try:
        files = data.spoc_pack(month, pack_area, tuple(formats))
    except Exception as e:  # e.g. a month outside the warehouse: say so, keep the page
        st.error(f"The pack could not be built: {e}")
        files = {}
    if files is None:
        st.info("The pack exporter (dashboard/exports/pack.py) is not available in this build: the table above "
                "is the month's pack content.")
    else:
        mime = {"pdf": "application/pdf", "csv": "text/csv",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        for name, content in files.items():
            st.download_button(f"Download {name}", content, file_name=name.replace("/", "-"), key=f"dl-{name}",
                               mime=mime.get(name.rsplit(".", 1)[-1], "application/octet-stream"))

trend = common.fetch("spoc_monthly", f.with_(characteristic="ethnicity_group"))
if trend is not None and trend.height:
    st.subheader(f"{OPEN} by business area and month")
    open_trend = trend.filter(pl.col("measure") == OPEN)
    common.plot(charts.heatmap(open_trend.with_columns(pl.col("month_start").dt.strftime("%Y-%m")),
                               x="month_start", y="business_area_name", z="n", title=OPEN, axis="Open"),
                key="spoc-heatmap")
    common.numbers(open_trend, key="spoc-trend")
