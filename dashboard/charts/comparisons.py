"""Group comparisons: each group's ratio to the reference (forest plot), its rate (bars), and the
ratio at each stage or year (lines). The verdict is a marker's shape and the legend's words, never colour alone."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl

from dashboard import theme
from dashboard.charts.layout import (
    NOTHING,
    empty_figure,
    layout,
    log_axis,
    note,
    split_too_few,
    threshold_legend,
    too_few_marks,
    too_few_note,
)
from metrics import formats
from metrics.tidy import TOO_FEW

VERDICT_INK = "#333333"
# Verdict -> (marker symbol, legend words). Filled triangles point the way of a significant
# difference; an open circle is no significant difference; a square is the reference group.
VERDICT_MARKERS = {
    "higher": ("triangle-up", "Higher than reference, significant after adjustment"),
    "lower": ("triangle-down", "Lower than reference, significant after adjustment"),
    "not_significant": ("circle-open", "Not significant after adjustment"),
    "reference": ("square-open", "Reference group"),
}
VERDICT_ORDER = tuple(VERDICT_MARKERS)


def verdict_key(r: dict) -> str:
    if r.get("is_reference"):
        return "reference"
    if r.get("ratio") is None or not r.get("is_significant"):
        return "not_significant"
    return "higher" if r["ratio"] > 1 else "lower"


def ratio_chart(frame: pl.DataFrame, *, title: str, axis: str = "Ratio to reference group",
                threshold: float | None = None, stage: str | None = None) -> go.Figure:
    """Forest plot: each group's ratio to the reference with its interval, coloured by significance
    after adjustment; a line at 1 (parity) and optionally at a threshold (0.8, four-fifths)."""
    if stage is not None and "stage" in frame.columns:
        frame = frame.filter(pl.col("stage") == stage)
    if frame.height == 0:  # an empty axis (a lone line at 1, bare gridlines) reads as broken
        return empty_figure(title, NOTHING)
    shown, hidden = split_too_few(frame)
    fig = go.Figure()
    # The verdict is carried by the marker's shape and the legend's words, never by colour: the
    # group is named on the axis, and colour elsewhere means the group.
    by_verdict: dict[str, list[dict]] = {}
    for r in shown:
        if r.get("ratio") is None:
            continue
        by_verdict.setdefault(verdict_key(r), []).append(r)
    for verdict in VERDICT_ORDER:
        rows = by_verdict.get(verdict)
        if not rows:
            continue
        symbol, name = VERDICT_MARKERS[verdict]
        lows = [r.get("ratio_ci_low") for r in rows]
        highs = [r.get("ratio_ci_high") for r in rows]
        fig.add_trace(go.Scatter(
            x=[r["ratio"] for r in rows], y=[r["group"] for r in rows], mode="markers",
            name=name, marker={"color": VERDICT_INK, "size": 12, "symbol": symbol,
                               "line": {"color": VERDICT_INK, "width": 1.5}},
            error_x={"type": "data", "symmetric": False,
                     "array": [(h - r["ratio"]) if h is not None else 0 for r, h in zip(rows, highs, strict=True)],
                     "arrayminus": [(r["ratio"] - lo) if lo is not None else 0 for r, lo in zip(rows, lows, strict=True)],
                     "color": VERDICT_INK, "thickness": 1.5},
            customdata=[[formats.fmt_ratio(lo), formats.fmt_ratio(h), formats.fmt_p(r.get("p_adjusted"))]
                        for r, lo, h in zip(rows, lows, highs, strict=True)],
            hovertemplate=f"%{{y}}: %{{x:{formats.D3_RATIO}}} (95% CI %{{customdata[0]}}–%{{customdata[1]}}); "
                          "adjusted p %{customdata[2]}"
                          "<extra></extra>",
        ))
    fig.add_vline(x=1, line={"color": theme.TARGET, "width": 1})
    if threshold is not None:
        fig.add_vline(x=threshold, line={"color": theme.TARGET, "width": 1, "dash": "dash"})
        threshold_legend(fig, threshold)
    groups = [str(r["group"]) for r in frame.iter_rows(named=True)]
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(groups)), type="category")
    log_axis(fig.update_xaxes, [v for r in shown for v in (r.get("ratio"), r.get("ratio_ci_low"),
                                                              r.get("ratio_ci_high"))], threshold)
    too_few_marks(fig, hidden)
    too_few_marks(fig, [r for r in shown if r.get("ratio") is None], label="no ratio (see the table)")
    too_few_note(fig, hidden)
    return layout(fig, title=title, x=f"{axis} (log scale)", height=120 + 32 * max(len(groups), 2))


def rate_chart(frame: pl.DataFrame, *, title: str, axis: str, per_1000: bool = False,
               stage: str | None = None) -> go.Figure:
    """Each group's rate with its interval as bars (percent, or per 1,000 person-years)."""
    if stage is not None and "stage" in frame.columns:
        frame = frame.filter(pl.col("stage") == stage)
    if frame.height == 0:  # an empty axis (a lone line at 1, bare gridlines) reads as broken
        return empty_figure(title, NOTHING)
    shown, hidden = split_too_few(frame)
    shown = [r for r in shown if r.get("rate") is not None]
    scale = 1000 if per_1000 else 100
    d3, unit = (formats.D3_RATE, "") if per_1000 else (formats.D3_PERCENT, "%")

    def interval(lo: float, hi: float) -> str:  # lo, hi already scaled
        return formats.fmt_interval(lo, hi, formats.fmt_rate) if per_1000 else formats.fmt_pct_interval(lo / 100, hi / 100)

    fig = go.Figure()
    for i, r in enumerate(shown):
        value = r["rate"] * scale
        lo = r["ci_low"] * scale if r.get("ci_low") is not None else value
        hi = r["ci_high"] * scale if r.get("ci_high") is not None else value
        colour = theme.REFERENCE if r.get("is_reference") else theme.group_colour(str(r["group"]), i)
        fig.add_trace(go.Bar(
            x=[r["group"]], y=[value], name=str(r["group"]), marker_color=colour, showlegend=False,
            error_y={"type": "data", "symmetric": False, "array": [hi - value], "arrayminus": [value - lo],
                     "color": "#333333"},
            hovertemplate=f"%{{x}}: %{{y:{d3}}}{unit} (95% CI {interval(lo, hi)})<extra></extra>",
        ))
    if hidden:  # keep hidden groups on the axis, labelled, never silently dropped
        fig.add_trace(go.Scatter(x=[str(r["group"]) for r in hidden], y=[0] * len(hidden), mode="text",
                                 text=[TOO_FEW] * len(hidden), textposition="top center", showlegend=False,
                                 hoverinfo="skip", textfont={"color": "#555555", "size": 11}))
    groups = [str(r["group"]) for r in frame.iter_rows(named=True)]
    fig.update_xaxes(categoryorder="array", categoryarray=groups, type="category")
    fig.update_yaxes(rangemode="tozero")
    too_few_note(fig, hidden)
    return layout(fig, title=title, y=axis, height=380)


def stage_chart(frame: pl.DataFrame, *, title: str, axis: str, threshold: float | None = None,
                stages: Sequence[str] | None = None) -> go.Figure:
    """Ratio to the reference at each stage (decision point or funnel stage), a line per group."""
    if frame.height == 0:  # an empty axis (a lone line at 1, bare gridlines) reads as broken
        return empty_figure(title, NOTHING)
    shown, hidden = split_too_few(frame)
    shown = [r for r in shown if r.get("ratio") is not None and not r.get("is_reference")]
    order = list(stages) if stages else list(dict.fromkeys(r["stage"] for r in frame.iter_rows(named=True)))
    fig = go.Figure()
    groups = list(dict.fromkeys(r["group"] for r in shown))
    for i, g in enumerate(groups):
        rows = sorted((r for r in shown if r["group"] == g), key=lambda r: order.index(r["stage"]))
        fig.add_trace(go.Scatter(
            x=[r["stage"] for r in rows], y=[r["ratio"] for r in rows], mode="lines+markers", name=str(g),
            line={"color": theme.group_colour(str(g), i), "width": 2},
            marker={"size": [11 if r.get("is_significant") else 7 for r in rows],
                    "symbol": ["diamond" if r.get("is_significant") else "circle" for r in rows]},
            error_y={"type": "data", "symmetric": False,
                     "array": [(r["ratio_ci_high"] - r["ratio"]) if r.get("ratio_ci_high") is not None else 0 for r in rows],
                     "arrayminus": [(r["ratio"] - r["ratio_ci_low"]) if r.get("ratio_ci_low") is not None else 0
                                    for r in rows], "thickness": 1},
            customdata=[["significant" if r.get("is_significant") else "not significant"] for r in rows],
            hovertemplate=f"{g} · %{{x}}: %{{y:{formats.D3_RATIO}}} (%{{customdata[0]}} after adjustment)<extra></extra>",
        ))
    fig.add_hline(y=1, line={"color": theme.TARGET, "width": 1})
    if threshold is not None:
        fig.add_hline(y=threshold, line={"color": theme.TARGET, "width": 1, "dash": "dash"})
        threshold_legend(fig, threshold)
    # A stage where no group can be drawn stays on the axis, labelled, instead of vanishing.
    hidden = [r for r in hidden if not r.get("is_reference")]
    empty = [s for s in order if not any(r["stage"] == s for r in shown)]
    if empty:
        fig.add_trace(go.Scatter(
            x=empty, y=[1.0] * len(empty), mode="text", textposition="top center", showlegend=False,
            text=[TOO_FEW if any(r["stage"] == s for r in hidden) else "no ratio (see the table)" for s in empty],
            hoverinfo="skip", textfont={"color": "#555555", "size": 11}))
    fig.update_xaxes(categoryorder="array", categoryarray=order, type="category", range=[-0.5, len(order) - 0.5])
    log_axis(fig.update_yaxes, [v for r in shown for v in (r.get("ratio"), r.get("ratio_ci_low"),
                                                              r.get("ratio_ci_high"))], threshold)
    if hidden:
        by_stage = {s: [str(r["group"]) for r in hidden if r["stage"] == s] for s in order}
        parts = [f"{s} (every group)" if s in empty else f"{s}: {', '.join(dict.fromkeys(g))}"
                 for s, g in by_stage.items() if g]
        note(fig, f"{TOO_FEW}: every group at every stage" if set(empty) == set(order)
              else f"{TOO_FEW}: " + "; ".join(parts))
    fig.add_annotation(text="larger diamond = significant after adjustment", xref="paper", yref="paper", x=1, y=1.0,
                       xanchor="right", yanchor="bottom", showarrow=False, font={"size": 11, "color": "#555555"})
    return layout(fig, title=title, y=f"{axis} (log scale)", height=420)


def trend_chart(frame: pl.DataFrame, *, title: str, axis: str) -> go.Figure:
    """The ratio to the reference group by financial year (stage column), a line per group."""
    return stage_chart(frame, title=title, axis=axis)
