"""Benchmarks: the force's officer representation among the 43 forces of England and Wales and
against the population each polices (Home Office published headcounts, 2011 Census)."""

from __future__ import annotations

import re

import polars as pl
import streamlit as st

from dashboard import charts
from dashboard.app_pages import common
from metrics import formats
from metrics.benchmarks import NATIONAL, OWN, PUBLISHED
from metrics.config import AGGREGATE_LABEL, OWN_FORCE
from metrics.queries import Filters


def plain(text: object) -> str:
    """Text from a published file or the warehouse, escaped so Markdown shows it as written."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", str(text))


st.title("Benchmarks")
st.caption("Police officers at 31 March by force, rank and ethnic group as the Home Office publishes them "
           "(2003-2006 for every rank, chief officers to 2021), against each force area's population in the "
           "2011 Census. Contains public sector information licensed under the Open Government Licence v3.0. "
           "Whatever period is chosen in the sidebar, every published year is shown.")

table = common.fetch("force_representation", Filters())
if table is None:
    st.stop()
published = table.filter(pl.col("source") == PUBLISHED)
national = table.filter(pl.col("force") == NATIONAL)
own = table.filter(pl.col("source") == OWN)

ranks = list(dict.fromkeys(published.sort("year")["rank"].to_list()))
ranks.sort(key=lambda r: (r != "All ranks", r))
groups = list(dict.fromkeys(table["group"].to_list()))
left, middle, right = st.columns(3)
rank = left.selectbox("Rank", ranks, key="bench_rank")
years = sorted(set(published.filter(pl.col("rank") == rank)["year"].to_list()), reverse=True)
year = middle.selectbox("Year (31 March)", years, key="bench_year")
group = right.selectbox("Ethnic group", groups, key="bench_group",
                        format_func=lambda g: f"{g} together" if g == AGGREGATE_LABEL else str(g))

chosen = published.filter(pl.col("rank") == rank, pl.col("year") == year, pl.col("group") == group)
own_rank = own.filter(pl.col("rank") == rank, pl.col("group") == group)
own_latest = own_rank.filter(pl.col("year") == own_rank["year"].max()) if own_rank.height else own_rank

st.subheader("Every force against its population")
st.caption("Each force's share of officers in the group divided by the same share of its area's population "
           "(observed / expected officers). Forces outside the dotted (95%) or dashed (99.8%) limits differ "
           "from their population by more than chance would explain. Your force is placed with its latest "
           "figures from this warehouse, which may be years after the published ones.")
common.plot(charts.representation_funnel(chosen, own_latest, title=f"{rank}, 31 March {year}: ratio to the population"),
            key="bench-funnel")
lines = []
for r in own_latest.iter_rows(named=True):
    if r.get("rate") is None:
        lines.append(f"Your force, 31 March {r['year']}: too few to report.")
        continue
    lines.append(f"Your force ({plain(OWN_FORCE)}), 31 March {r['year']}: {formats.fmt_pct(r['rate'])} of "
                 f"{formats.fmt_int(r['n'])} officers of stated ethnicity were {plain(group)}, against "
                 f"{formats.fmt_pct(r['census_share'])} of the area's population in 2011 (ratio "
                 f"{formats.fmt_ratio(r['ratio'])}).")
flagged = chosen.filter(pl.col("flag").is_in(["below 99.8% limit", "below 95% limit"]))
if chosen.height:
    lines.append(f"In {year}, {flagged.height} of {chosen.filter(pl.col('ratio').is_not_null()).height} forces had "
                 f"fewer {plain(rank.lower())} officers from this group than their population would suggest, "
                 "beyond the 95% limit.")
common.say(lines)
common.numbers(chosen, key="bench-funnel")

st.subheader("The trend by force")
forces = sorted(set(published["force"].to_list()))
default = [f for f in (OWN_FORCE,) if f in forces]
picked = st.multiselect("Forces", forces, default=default, key="bench_forces")
trend = pl.concat([national.filter(pl.col("rank") == rank, pl.col("group") == group),
                   published.filter(pl.col("rank") == rank, pl.col("group") == group, pl.col("force").is_in(picked)),
                   own_rank])
common.plot(charts.force_trend(trend, title=f"{rank}: share of officers in the group, by year"), key="bench-trend")
common.numbers(trend, key="bench-trend")

st.subheader("Chief officers, 2003-2021")
st.caption("Chief officers (assistant chief constable and above) are a few in each force, so most cells are "
           "under 5: England and Wales as a whole shows the trend; single forces mostly cannot.")
chiefs = pl.concat([national.filter(pl.col("rank") == "Chief Officer", pl.col("group") == group),
                    published.filter(pl.col("rank") == "Chief Officer", pl.col("group") == group,
                                     pl.col("force").is_in(picked)),
                    own.filter(pl.col("rank") == "Chief Officer", pl.col("group") == group)])
common.plot(charts.force_trend(chiefs, title="Chief officers: share in the group, by year"), key="bench-chiefs")
common.numbers(chiefs, key="bench-chiefs")
