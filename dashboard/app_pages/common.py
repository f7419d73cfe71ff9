"""What every page does with a metric table: fetch it for the session's role, draw it, say it in
words, and put its numbers in a table beside the chart. Render only: no statistics here."""

from __future__ import annotations

import re
from collections.abc import Callable

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import charts, data, theme
from metrics.queries import Filters

APPLICANT_CHARACTERISTICS = ("ethnicity_group", "ethnicity", "sex", "ethnicity_sex")


def fetch(name: str, f: Filters | None = None) -> pl.DataFrame | None:
    """The table, or None with a message saying why (role, or a table that could not be computed)."""
    from metrics.queries import FilterError
    from metrics.tables import AccessDenied

    try:
        return data.table(name, f)
    except AccessDenied as e:
        st.info(f"Not available for your role: {e}.")
    except FilterError as e:
        st.info(str(e))
    except Exception as e:  # a broken table must not take the rest of the page with it
        st.error(f"'{data.spec(name).title}' could not be computed: {type(e).__name__}: {e}")
    return None


def section(name: str, f: Filters | None = None, *,
            chart: Callable[[pl.DataFrame], go.Figure] | None = None,
            sentences: Callable[[pl.DataFrame], list[str] | str] | None = None,
            per_1000: bool = False, title: str | None = None, key: str | None = None,
            expanded: bool = False, crosstab: bool = False) -> pl.DataFrame | None:
    """One metric table on a page: heading, chart, plain-English sentences, the number table."""
    spec = data.spec(name)
    st.subheader(title or spec.title)
    st.caption(spec.description)
    frame = fetch(name, f)
    if frame is None:
        return None
    key = key or name
    if chart is not None:
        plot(data.figure(name, f, f"{data.filters().characteristic}/{key}", chart), key=f"chart-{key}")
    if sentences is not None:
        say(sentences(frame))
    say(evidence_lines(frame))
    if crosstab:
        numbers_crosstab(frame, key=key, expanded=expanded)
    else:
        numbers(frame, key=key, per_1000=per_1000, expanded=expanded)
    return frame


def _plain(text: object) -> str:
    """A group or stage label shown as written, never as Markdown."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", str(text))


def evidence_lines(frame: pl.DataFrame, limit: int = 12) -> list[str]:
    """'How sure?': what each comparison that found no difference could have found (the evidence
    column, metrics/power.py), so 'not significant' never reads as 'no difference' by default."""
    if "evidence" not in frame.columns:
        return []
    rows = frame.filter(pl.col("evidence").is_not_null() & ~pl.col("is_significant").fill_null(False))
    if rows.height == 0:
        return []
    where = [c for c in ("stage", "business_area_code", "force") if c in rows.columns]
    parts = []
    for r in rows.head(limit).iter_rows(named=True):
        label = " · ".join(_plain(r[c]) for c in where if r.get(c) is not None)
        parts.append(f"{_plain(r['group'])}{f' ({label})' if label else ''}: {r['evidence']}")
    more = f"; and {rows.height - limit} more in the table" if rows.height > limit else ""
    return ["**How sure?** " + "; ".join(parts) + more]


def plot(fig: go.Figure, *, key: str) -> None:
    st.plotly_chart(fig, config=charts.PLOTLY_CONFIG, key=key, width="stretch")


def say(lines: list[str] | str | None) -> None:
    if not lines:
        return
    if isinstance(lines, str):
        lines = [lines]
    # A headline is also one of the group sentences below it: say it once, first.
    st.markdown("\n".join(f"- {line}" for line in dict.fromkeys(lines)))


def numbers(frame: pl.DataFrame, *, key: str, per_1000: bool = False, expanded: bool = False,
            label: str = "The numbers") -> None:
    """The frame as a table with human column labels (values exactly as fetched)."""
    shown, formats = charts.display_frame(frame, per_1000=per_1000)
    config = {}
    for col, fmt in formats.items():
        config[col] = st.column_config.NumberColumn(col, format=fmt)
    for col, dtype in shown.schema.items():
        if dtype == pl.Date:  # else shown with a midnight time, "2026-10-13 00:00:00"
            config[col] = st.column_config.DateColumn(col, format="D MMM YYYY")
    with st.expander(label, expanded=expanded):
        st.dataframe(shown, hide_index=True, column_config=config, key=f"table-{key}", width="stretch",
                     placeholder="–")


def numbers_crosstab(frame: pl.DataFrame, *, key: str, expanded: bool = False) -> None:
    """A group x category count table, one row per group (hidden cells as '<5' or '[c]')."""
    value = "value_display" if "value_display" in frame.columns else "n"
    long = frame.select("group", "category", pl.col(value).cast(pl.String).alias("value"))
    if frame.height == 0:
        wide = long
    else:
        wide = long.pivot(on="category", index="group", values="value", aggregate_function="first")
    with st.expander("The numbers", expanded=expanded):
        st.dataframe(wide.rename({"group": "Group"}), hide_index=True, key=f"table-{key}", width="stretch",
                     placeholder="–")


def period_caption(f: Filters) -> None:
    dims = data.dimensions()
    area = "whole force" if f.area is None else dims["areas"].get(f.area, f.area)
    when = "all years" if f.start is None else f"{f.start:%b %Y} to {f.end:%b %Y}"
    who = f.worker_type or "all worker types"
    st.caption(f"{when} · {area} · {who} · compared by {theme.characteristic_label(f.characteristic).lower()}")


def applicant_filters(f: Filters) -> Filters:
    """Applications record only ethnicity and sex: other breakdowns fall back to ethnic group."""
    if all(part in APPLICANT_CHARACTERISTICS for part in f.characteristic.split(",")):
        return f
    st.info(f"Applications record only ethnicity and sex, not {theme.characteristic_label(f.characteristic).lower()}: "
            "recruitment is compared by ethnic group.")
    return f.with_(characteristic="ethnicity_group")


def stages(frame: pl.DataFrame) -> list[str]:
    return list(dict.fromkeys(frame["stage"].to_list())) if "stage" in frame.columns else []
