"""Benchmarks: every force's ratio to its population in a funnel plot, with the warehouse's own
force marked, and the share by year for chosen forces."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard import theme
from dashboard.charts.layout import (
    empty_figure,
    layout,
    split_too_few,
    too_few_note,
)
from metrics import formats


def representation_funnel(forces: pl.DataFrame, own: pl.DataFrame, *, title: str) -> go.Figure:
    """Each force's ratio to its population (observed / expected) against the expected count, the
    95% and 99.8% limits around 1 drawn from the frame's own limit columns, and the warehouse's
    force as a separate marker. Rows 'too few to report' are left out (the note says how many)."""
    shown, hidden = split_too_few(forces)
    shown = sorted((r for r in shown if r.get("ratio") is not None and r.get("expected")), key=lambda r: r["expected"])
    if not shown and own.height == 0:
        return empty_figure(title, "No forces with a census share for this selection.")
    fig = go.Figure()
    for c, dash in (("upper_99_8", "dash"), ("upper_95", "dot"), ("lower_95", "dot"), ("lower_99_8", "dash")):
        level = c.split("_", 1)[1].replace("_", ".")
        fig.add_trace(go.Scatter(x=[r["expected"] for r in shown], y=[r[c] for r in shown], mode="lines",
                                 name=f"{level}% limit", legendgroup=level, showlegend=c.startswith("upper_"),
                                 line={"color": theme.TARGET, "width": 1, "dash": dash}, hoverinfo="skip"))
    fig.add_hline(y=1, line={"color": theme.GREY, "width": 1}, annotation_text="as the population",
                  annotation_position="top right")
    colour = {"above 99.8% limit": theme.HIGHER_SIGNIFICANT, "above 95% limit": theme.ORANGE,
              "below 99.8% limit": theme.LOWER_SIGNIFICANT, "below 95% limit": theme.SKY}
    fig.add_trace(go.Scatter(
        x=[r["expected"] for r in shown], y=[r["ratio"] for r in shown], mode="markers", name="Force (published)",
        marker={"color": [colour.get(r["flag"], theme.NOT_SIGNIFICANT) for r in shown], "size": 9,
                "line": {"color": "#333333", "width": 0.5}},
        text=[f"{r['force']}: {formats.fmt_pct(r['rate'])} of {formats.fmt_int(r['n'])} officers; population "
              f"{formats.fmt_pct(r['census_share'])} ({r['flag']})" for r in shown],
        hovertemplate="%{text}<extra></extra>"))
    for r in own.iter_rows(named=True):
        if r.get("ratio") is None or not r.get("expected"):
            continue
        fig.add_trace(go.Scatter(
            x=[r["expected"]], y=[r["ratio"]], mode="markers+text", name=f"Your force, 31 March {r['year']}",
            marker={"symbol": "star", "size": 16, "color": theme.BLACK},
            text=[f"Your force ({r['year']})"], textposition="top center",
            hovertemplate=f"Your force, 31 March {r['year']}: {formats.fmt_pct(r['rate'])} of {formats.fmt_int(r['n'])} officers; "
                          f"ratio {formats.fmt_ratio(r['ratio'])}<extra></extra>"))
    fig.update_xaxes(type="log")
    too_few_note(fig, hidden, key="force")
    return layout(fig, title=title, x="Expected officers if representative (log scale)",
                   y="Ratio to the force area's population", height=460)


def force_trend(frame: pl.DataFrame, *, title: str, axis: str = "% of officers of stated ethnicity") -> go.Figure:
    """The share by year, one line per force (and source), with the population share dotted."""
    if frame.height == 0:
        return empty_figure(title, "No data for this selection.")
    fig = go.Figure()
    shown, hidden = split_too_few(frame)
    series = dict.fromkeys((r["force"], r["source"]) for r in frame.iter_rows(named=True))
    for i, (force, source) in enumerate(series):
        rows = sorted((r for r in shown if (r["force"], r["source"]) == (force, source) and r.get("rate") is not None),
                      key=lambda r: r["year"])
        name = f"{force} (this warehouse)" if source == "This warehouse" else force
        colour = theme.SEQUENCE[i % len(theme.SEQUENCE)]
        fig.add_trace(go.Scatter(x=[r["year"] for r in rows], y=[100 * r["rate"] for r in rows], mode="lines+markers",
                                 name=name, line={"color": colour, "dash": "dash" if source == "This warehouse" else "solid"},
                                 hovertemplate=f"{name}: %{{y:{formats.D3_PERCENT}}}% at 31 March %{{x}}<extra></extra>"))
        # the census share is public and not a count: drawn for every year, hidden cells or not
        shares = sorted((r for r in frame.iter_rows(named=True) if (r["force"], r["source"]) == (force, source)
                         and r.get("census_share") is not None), key=lambda r: r["year"])
        if shares and source != "This warehouse":
            fig.add_trace(go.Scatter(x=[r["year"] for r in shares], y=[100 * r["census_share"] for r in shares],
                                     mode="lines", name=f"{force}: population (2011 Census)",
                                     line={"color": colour, "dash": "dot", "width": 1},
                                     hovertemplate=f"{force} population: %{{y:{formats.D3_PERCENT}}}%<extra></extra>"))
    too_few_note(fig, hidden, key="force")
    fig.update_xaxes(dtick=1)
    return layout(fig, title=title, x="31 March of", y=axis, height=420)
