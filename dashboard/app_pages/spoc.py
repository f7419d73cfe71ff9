"""The monthly SPOC pack: each business area's pack previewed exactly as its files show it (findings
first, then the counts and tables), and downloaded as one zip per area or for all areas (analysts)."""

from __future__ import annotations

import html

import polars as pl
import streamlit as st

from dashboard import charts, data
from dashboard.app_pages import common
from metrics import formats

f = data.filters()
st.title("SPOC monthly pack")
dims = data.dimensions()
months = dims["months"]
month = st.selectbox("Pack month", months[::-1], format_func=lambda m: m.strftime("%B %Y"), key="spoc_month")
area = f.area
pack_area = area or "FORCE"
area_name = "Whole force (every business area)" if area is None else dims["areas"].get(area, area)
st.caption(f"{html.escape(area_name)} · choose the business area in the sidebar")

# ---- Downloads: one zip per area (PDF, Excel, OpenDocument, CSV), or every area at once -----------
st.markdown("#### Download")
from dashboard.exports.pack import MIME, zip_name  # noqa: E402 - exports only on this analyst page

left, right = st.columns(2)
request = (month, pack_area)
if left.button(f"Prepare the pack for {area_name} (zip)", key="spoc_prepare"):
    st.session_state["spoc_request"] = request
if right.button("Prepare every area's pack (zip)", key="spoc_prepare_all"):
    st.session_state["spoc_request_all"] = month
try:
    if st.session_state.get("spoc_request") == request:
        with st.spinner("Building the pack"):
            payload = data.spoc_zip(month, pack_area)
        left.download_button("Download the pack (zip)", payload, file_name=zip_name(pack_area, month),
                             mime=MIME["zip"], key="dl-pack")
    if st.session_state.get("spoc_request_all") == month:
        with st.spinner("Building every area's pack (about a minute)"):
            payload = data.spoc_zip(month, "all")
        right.download_button("Download all areas (zip)", payload, file_name=zip_name("all", month),
                              mime=MIME["zip"], key="dl-all")
except Exception as e:  # e.g. a month outside the warehouse: say so, keep the page
    st.error(f"The pack could not be built: {html.escape(str(e))}")

# ---- Preview: the pack's own tables, cell for cell ---------------------------------------------
st.markdown("#### The pack")
try:
    pack, tables = data.spoc_preview(month, pack_area)
except Exception as e:
    st.error(f"The pack could not be built: {html.escape(str(e))}")
    pack, tables = None, []
if pack is not None:
    from dashboard.exports.format import text
    from metrics.spoc import MEASURE_LABELS, MEASURES, RELEASE_STATEMENT

    st.subheader("What the figures show")
    if pack.findings:
        st.markdown("\n".join(f"{i}. {html.escape(x.statement)}" for i, x in enumerate(pack.findings, start=1)))
    st.caption(html.escape(pack.findings_note))
    st.write(html.escape(pack.funnel_note))
    st.subheader(f"Counts for {pack.month_label}: all staff")
    for col, m in zip(st.columns(len(MEASURES)), MEASURES, strict=True):
        col.metric(MEASURE_LABELS[m], formats.fmt_int(pack.headline[m]))
    st.caption(html.escape(RELEASE_STATEMENT))
    for sheet in tables[1:]:  # the findings are above
        st.markdown(f"**{html.escape(sheet.title)}**")
        shown = pl.DataFrame([[text(v, c.kind) for c, v in zip(sheet.columns, row, strict=True)] for row in sheet.rows],
                             schema=[c.label for c in sheet.columns], orient="row")
        st.dataframe(shown, hide_index=True, key=f"spoc-pack-{sheet.key}", width="stretch")

# ---- Every area this month (totals: no protected characteristic) -------------------------------
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

trend = common.fetch("spoc_monthly", f.with_(characteristic="ethnicity_group"))
if trend is not None and trend.height:
    st.subheader(f"{OPEN} by business area and month")
    open_trend = trend.filter(pl.col("measure") == OPEN)
    common.plot(charts.heatmap(open_trend.with_columns(pl.col("month_start").dt.strftime("%Y-%m")),
                               x="month_start", y="business_area_name", z="n", title=OPEN, axis="Open"),
                key="spoc-heatmap")
    common.numbers(open_trend, key="spoc-trend")
