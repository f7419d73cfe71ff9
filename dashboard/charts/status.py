"""Progress and status: STRIDE and IOPC completion by RAG status, RAG history by board date, and
plain bars, stacked bars and heatmaps of counts (data quality, SPOC)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard import theme
from dashboard.charts.layout import (
    count_axis,
    empty_figure,
    layout,
)


def progress_chart(frame: pl.DataFrame, *, title: str, label: str, key: str) -> go.Figure:
    """Percent complete per commitment or action, coloured by RAG status (also written as text)."""
    if frame.height == 0:
        return empty_figure(title, "No status reported yet.")
    rows = list(frame.iter_rows(named=True))
    fig = go.Figure()
    for rag in ("R", "A", "G", "C"):
        part = [r for r in rows if r.get("rag_status") == rag]
        if not part:
            continue
        fig.add_trace(go.Bar(
            y=[f"{r[key]}. {_short(r[label])}" for r in part], x=[r["percent_complete"] for r in part],
            orientation="h", name=theme.RAG_LABEL[rag], marker_color=theme.RAG[rag],
            text=[theme.RAG_LABEL[rag] for _ in part], textposition="inside", insidetextanchor="start",
            hovertemplate="%{y}: %{x}% complete (" + theme.RAG_LABEL[rag] + ")<extra></extra>"))
    order = [f"{r[key]}. {_short(r[label])}" for r in rows]
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(order)), type="category")
    fig.update_xaxes(range=[0, 101], tickvals=[0, 20, 40, 60, 80, 100])
    return layout(fig, title=title, x="% complete", height=140 + 26 * len(rows))


def rag_history_chart(frame: pl.DataFrame, *, title: str, key: str = "commitment_id") -> go.Figure:
    """RAG status at every board: a square per commitment per board date, with its letter."""
    if frame.height == 0:
        return empty_figure(title, "No status reported yet.")
    fig = go.Figure()
    for rag in ("R", "A", "G", "C"):
        part = frame.filter(pl.col("rag_status") == rag)
        if part.height == 0:
            continue
        fig.add_trace(go.Scatter(
            x=part["board_date"].to_list(), y=[str(v) for v in part[key].to_list()], mode="markers+text",
            name=theme.RAG_LABEL[rag], text=[rag] * part.height, textfont={"color": "white", "size": 9},
            marker={"symbol": "square", "size": 16, "color": theme.RAG[rag]},
            hovertemplate="%{y} at %{x}: " + theme.RAG_LABEL[rag] + "<extra></extra>"))
    ids = [str(v) for v in dict.fromkeys(frame[key].to_list())]
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(ids)), type="category")
    return layout(fig, title=title, x="Management Board date", y="Commitment", height=140 + 22 * len(ids))


def bar_chart(frame: pl.DataFrame, *, x: str, y: str, title: str, axis: str, colour: str = theme.FORCE,
              horizontal: bool = True, percent: bool = False) -> go.Figure:
    if frame.height == 0:
        return empty_figure(title, "Nothing to show.")
    values = [v * 100 if (percent and v is not None) else v for v in frame[y].to_list()]
    labels = [str(v) for v in frame[x].to_list()]
    bar = go.Bar(x=values, y=labels, orientation="h") if horizontal else go.Bar(x=labels, y=values)
    bar.update(marker_color=colour, hovertemplate="%{y}: %{x}<extra></extra>" if horizontal else
               "%{x}: %{y}<extra></extra>")
    fig = go.Figure(bar)
    if not percent:
        count_axis(fig.update_xaxes if horizontal else fig.update_yaxes, values)
    if horizontal:
        fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(labels)), type="category")
        return layout(fig, title=title, x=axis, height=140 + 26 * len(labels))
    return layout(fig, title=title, y=axis, height=380)


def stacked_bar(frame: pl.DataFrame, *, x: str, parts: dict[str, str], title: str, axis: str) -> go.Figure:
    if frame.height == 0:
        return empty_figure(title, "Nothing to show.")
    fig = go.Figure()
    colours = [theme.GREEN, theme.VERMILLION, theme.ORANGE, theme.BLUE]
    for i, (col, name) in enumerate(parts.items()):
        fig.add_trace(go.Bar(y=[str(v) for v in frame[x].to_list()], x=frame[col].to_list(), name=name,
                             orientation="h", marker_color=colours[i % 4],
                             hovertemplate=f"%{{y}} · {name}: %{{x:,}}<extra></extra>"))
    fig.update_layout(barmode="stack")
    return layout(fig, title=title, x=axis, height=140 + 30 * frame.height)


def heatmap(frame: pl.DataFrame, *, x: str, y: str, z: str, title: str, axis: str) -> go.Figure:
    """Counts on a grid (e.g. open grievances by business area and month); hidden cells stay blank."""
    if frame.height == 0:
        return empty_figure(title, "Nothing to show.")
    wide = frame.select(y, x, z).pivot(on=x, index=y, values=z, aggregate_function="first").sort(y)
    xs = wide.columns[1:]
    fig = go.Figure(go.Heatmap(z=wide.select(xs).rows(), x=xs, y=wide[y].to_list(),
                               colorscale=[[0, "#F7FBFF"], [1, theme.BLUE]], colorbar={"title": axis},
                               hovertemplate="%{y} · %{x}: %{z}<extra></extra>", hoverongaps=False))
    fig.update_yaxes(autorange="reversed")  # rows read top-down in the order of the table
    return layout(fig, title=title, height=160 + 18 * wide.height)


def _short(text: str | None, n: int = 60) -> str:
    text = text or ""
    return text if len(text) <= n else text[: n - 1] + "…"
