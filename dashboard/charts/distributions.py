"""Counts and shares across categories (stacked crosstabs), time to resolve (Kaplan-Meier steps),
business areas against the force (funnel plot), representation against its target, and plain lines."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard import theme
from dashboard.charts.layout import (
    NOTHING,
    count_axis,
    empty_figure,
    layout,
    split_too_few,
    too_few_marks,
    too_few_note,
)
from dashboard.charts.tables import crosstab_percent
from metrics import formats
from metrics.tidy import TOO_FEW

PATTERNS = ("", "/", ".", "x")


def crosstab_chart(frame: pl.DataFrame, *, title: str, row: str = "group", col: str = "category",
                   value: str = "n", axis: str = "Number", percent: bool = False) -> go.Figure:
    """Stacked counts: one bar per group, a segment per category. Hidden cells are not drawn.

    Margins (is_total: the 'Total' row and column disclosure control adds) stay in the number
    table: stacked with the categories they would double every bar and add a 'Total' bar.
    """
    if percent and frame.height:
        # % within group: a small group's bar is as long as a large one's, so its mix can be read.
        # Shares of the published total (computed before the margins are dropped below).
        with_pct = crosstab_percent(frame, row=row, col=col, value=value)
        frame = with_pct.with_columns((pl.col("pct") * 100).alias(value))
        axis = "% within group"
    if "is_total" in frame.columns:
        frame = frame.filter(~pl.col("is_total").fill_null(False))
    if frame.height == 0:
        return empty_figure(title, NOTHING)
    visible = frame.filter(pl.col(value).is_not_null())
    if "is_suppressed" in frame.columns:
        visible = visible.filter(~pl.col("is_suppressed").fill_null(False))
    fig = go.Figure()
    rows = list(dict.fromkeys(frame[row].to_list()))
    for i, cat in enumerate(dict.fromkeys(frame[col].to_list())):
        part = visible.filter(pl.col(col) == cat)
        # More categories than colours (13 grievance categories): the colours repeat with a hatching.
        colour, pattern = theme.SEQUENCE[i % len(theme.SEQUENCE)], PATTERNS[(i // len(theme.SEQUENCE)) % len(PATTERNS)]
        fig.add_trace(go.Bar(y=part[row].to_list(), x=part[value].to_list(), name=str(cat), orientation="h",
                             # overlay: the hatching on the colour. Without it Streamlit's plotly.js
                             # draws white hatching on nothing, an invisible bar.
                             marker={"color": colour, "pattern": {"shape": pattern, "fgcolor": "white",
                                                                   "fillmode": "overlay", "solidity": 0.35}},
                             hovertemplate=f"%{{y}} · {cat}: %{{x:{formats.D3_PERCENT}}}%<extra></extra>" if percent
                             else f"%{{y}} · {cat}: %{{x:,}}<extra></extra>"))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(rows)), type="category")
    totals = visible.group_by(row).agg(pl.col(value).sum())[value].to_list()
    if percent:
        fig.update_xaxes(range=[0, 100], ticksuffix="%")
    else:
        count_axis(fig.update_xaxes, totals)
    # A group with nothing to draw but hidden cells stays on the axis, labelled.
    drawn = set(visible.filter(pl.col(value) > 0)[row].to_list())
    hidden_rows = set(frame.join(visible, on=[row, col], how="anti")[row].to_list())
    too_few_marks(fig, [{"group": r} for r in rows if r not in drawn and r in hidden_rows], at=0)
    n_hidden = frame.height - visible.height
    if n_hidden:
        fig.add_annotation(text=f"{n_hidden} cell(s) {TOO_FEW} (not drawn)", xref="paper", yref="paper", x=0,
                           y=1.0, yanchor="bottom", showarrow=False, font={"size": 11, "color": "#555555"})
    return layout(fig, title=title, x=axis, height=140 + 34 * max(len(rows), 2))


def survival_chart(curve: pl.DataFrame, *, title: str, time: str = "time", survival: str = "survival",
                   empty: str = "No grievances for this selection.") -> go.Figure:
    """Kaplan-Meier step curves: share of grievances still open by days since raised."""
    if curve.height == 0:
        return empty_figure(title, empty)
    fig = go.Figure()
    for i, g in enumerate(dict.fromkeys(curve["group"].to_list())):
        part = curve.filter(pl.col("group") == g).sort(time)
        fig.add_trace(go.Scatter(x=part[time].to_list(), y=[100 * s for s in part[survival].to_list()],
                                 mode="lines", line_shape="hv", name=str(g),
                                 line={"color": theme.group_colour(str(g), i), "width": 2},
                                 hovertemplate=f"{g}: %{{y:{formats.D3_PERCENT}}}% still open at day %{{x:.0f}}<extra></extra>"))
    return layout(fig, title=title, x="Days since raised", y="% still open", height=400)


def funnel_chart(frame: pl.DataFrame, *, title: str, size: str = "size", rate: str = "rate", scale: float = 1000,
                 names: dict[str, str] | None = None, axis: str = "Per 1,000 person-years") -> go.Figure:
    """Funnel plot: each area's rate against its size, with the 95% and 99.8% limits around the force."""
    if frame.height == 0:
        return empty_figure(title, "No business areas for this selection.")
    names = names or {}
    data = frame.filter(pl.col(rate).is_not_null()).sort(size)
    fig = go.Figure()
    limit_cols = [c for c in data.columns if c.startswith(("lower_", "upper_"))]
    for c in limit_cols:
        level = c.split("_", 1)[1].replace("_", ".")
        fig.add_trace(go.Scatter(x=data[size].to_list(), y=[None if v is None else v * scale for v in data[c].to_list()],
                                 mode="lines", name=f"{level}% limit",
                                 line={"color": theme.TARGET, "width": 1, "dash": "dot" if level == "95" else "dash"},
                                 legendgroup=level, showlegend=c.startswith("upper_"), hoverinfo="skip"))
    if "overall_rate" in data.columns and data.height:
        fig.add_hline(y=data["overall_rate"][0] * scale, line={"color": theme.FORCE, "width": 1},
                      annotation_text="force", annotation_position="top right")
    flags = data["flag"].to_list() if "flag" in data.columns else ["within"] * data.height
    # Position is the verdict: a shape and a legend word for each, the colour only repeats it.
    style = {"alarm": ("triangle-up", theme.HIGHER_SIGNIFICANT, "Above the 99.8% limit"),
             "alert": ("triangle-up-open", theme.ORANGE, "Between the 95% and 99.8% limits (high)"),
             "low alarm": ("triangle-down", theme.LOWER_SIGNIFICANT, "Below the 99.8% limit"),
             "low alert": ("triangle-down-open", theme.SKY, "Between the 95% and 99.8% limits (low)")}
    groups = data["group"].to_list()
    values = data[rate].to_list()
    sizes = data[size].to_list()
    for flag in [*style, "within"]:
        idx = [i for i, f in enumerate(flags) if (f == flag) or (flag == "within" and f not in style)]
        if not idx:
            continue
        symbol, colour, name = style.get(flag, ("circle", theme.NOT_SIGNIFICANT, "Within the limits"))
        fig.add_trace(go.Scatter(
            x=[sizes[i] for i in idx], y=[values[i] * scale for i in idx], mode="markers", name=name,
            marker={"color": colour, "size": 10, "symbol": symbol, "line": {"color": "#333333", "width": 1}},
            text=[names.get(groups[i], groups[i]) for i in idx], customdata=[flags[i] for i in idx],
            hovertemplate=f"%{{text}}: %{{y:{formats.D3_RATE}}} (%{{customdata}})<extra></extra>"))
    return layout(fig, title=title, x="Person-years in post", y=axis, height=420)


def target_chart(frame: pl.DataFrame, *, title: str, axis: str = "% of officers") -> go.Figure:
    """Share by ethnic group over time, the aggregate and its target trajectory (all groups shown)."""
    if frame.height == 0:
        return empty_figure(title, "No data for this selection.")
    fig = go.Figure()
    shown, hidden = split_too_few(frame)
    for i, g in enumerate(dict.fromkeys(frame["group"].to_list())):
        rows = sorted((r for r in shown if r["group"] == g and r.get("rate") is not None), key=lambda r: r["stage"])
        is_aggregate = g == theme.AGGREGATE_LABEL
        fig.add_trace(go.Scatter(
            x=[r["stage"] for r in rows], y=[100 * r["rate"] for r in rows], mode="lines+markers", name=str(g),
            line={"color": theme.group_colour(str(g), i), "width": 3 if is_aggregate else 1.5},
            hovertemplate=f"{g}: %{{y:{formats.D3_PERCENT}}}% at %{{x}}<extra></extra>"))
    targets = sorted((r for r in frame.iter_rows(named=True) if r.get("target_share") is not None),
                     key=lambda r: r["stage"])
    targets = list({r["stage"]: r for r in targets}.values())
    if targets:
        fig.add_trace(go.Scatter(x=[r["stage"] for r in targets], y=[100 * r["target_share"] for r in targets],
                                 mode="lines", name="Target trajectory (aggregate)",
                                 line={"color": theme.TARGET, "dash": "dash", "width": 2},
                                 hovertemplate=f"target %{{y:{formats.D3_PERCENT}}}% at %{{x}}<extra></extra>"))
    too_few_note(fig, hidden)
    return layout(fig, title=title, y=axis, height=420)


def line_chart(frame: pl.DataFrame, *, x: str, ys: dict[str, str], title: str, axis: str,
               band: tuple[str, str] | None = None, scale: float = 1.0) -> go.Figure:
    """Plain lines of named columns over x (e.g. a projection with its interval band)."""
    if frame.height == 0:
        return empty_figure(title, "No data for this selection.")
    fig = go.Figure()
    if band is not None and all(c in frame.columns for c in band):
        fig.add_trace(go.Scatter(x=frame[x].to_list() + frame[x].to_list()[::-1],
                                 y=[v * scale if v is not None else None for v in frame[band[1]].to_list()]
                                 + [v * scale if v is not None else None for v in frame[band[0]].to_list()[::-1]],
                                 mode="lines", fill="toself", fillcolor="rgba(0,114,178,0.15)", line={"width": 0},
                                 name="Interval", hoverinfo="skip"))
    for i, (col, name) in enumerate(ys.items()):
        if col not in frame.columns:
            continue
        fig.add_trace(go.Scatter(x=frame[x].to_list(), y=[v * scale if v is not None else None for v in frame[col].to_list()],
                                 mode="lines+markers", name=name,
                                 line={"color": [theme.FORCE, theme.TARGET, theme.ORANGE, theme.GREEN][i % 4],
                                       "dash": "dash" if "target" in col else "solid"}))
    return layout(fig, title=title, y=axis, height=400)
