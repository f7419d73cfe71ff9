"""Plotly figures and their number tables, drawn from metric tables exactly as get_table returns them.

No streamlit here and no statistics: a chart only places the numbers a frame already holds. Hover
text is built from the same visible columns, so a chart of a suppressed frame can never reveal a
hidden cell. Colours come from theme.py by meaning; meaning is also in text (legend names, labels).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import plotly.graph_objects as go
import polars as pl

from dashboard import theme
from metrics import formats
from metrics.narrative import is_too_few
from metrics.tidy import TOO_FEW

# Passed to every st.plotly_chart: nothing fetched from the internet (no MathJax), no plotly logo.
PLOTLY_CONFIG = {"typesetMath": False, "displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

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


SIGNIFICANCE_NAMES = {
    theme.HIGHER_SIGNIFICANT: "Higher than reference, significant after adjustment",
    theme.LOWER_SIGNIFICANT: "Lower than reference, significant after adjustment",
    theme.NOT_SIGNIFICANT: "Not significant after adjustment",
    theme.REFERENCE: "Reference group",
}


def _layout(fig: go.Figure, *, title: str, x: str = "", y: str = "", height: int | None = None) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        font={"family": FONT, "size": 12},
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        # At the foot of the whole figure, not a fraction of the plot's height below it: a fraction
        # put the legend over the axis title on short charts and far below the axis on tall ones.
        # Anchored to the container, plotly makes room for it under the axis title.
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "x": 0},
        plot_bgcolor="white",
        height=height,
        hoverlabel={"font": {"family": FONT}},
    )
    fig.update_xaxes(title_text=x, showgrid=True, gridcolor="#EEEEEE", zeroline=False)
    fig.update_yaxes(title_text=y, showgrid=True, gridcolor="#EEEEEE", zeroline=False)
    return fig


def _shown(frame: pl.DataFrame) -> tuple[list[dict], list[dict]]:
    """Rows that may be drawn, and rows that are 'too few to report' (drawn as a label only)."""
    shown, hidden = [], []
    for r in frame.iter_rows(named=True):
        (hidden if is_too_few(r) else shown).append(r)
    return shown, hidden


def _too_few_marks(fig: go.Figure, hidden: Sequence[dict], *, at: float = 1.0, label: str = TOO_FEW) -> None:
    """Keep a hidden group on the axis, labelled, so no group silently disappears from a chart."""
    if hidden:
        fig.add_trace(go.Scatter(x=[at] * len(hidden), y=[str(r["group"]) for r in hidden], mode="text",
                                 text=[label] * len(hidden), textposition="middle right", showlegend=False,
                                 hoverinfo="skip", textfont={"color": "#555555", "size": 11}))


NOTE_CHARS = 100  # a plotly annotation does not wrap: longer notes point to the table instead


def _note_text(text: str) -> str:
    if len(text) <= NOTE_CHARS:
        return text
    head = text[: NOTE_CHARS - 20]
    cut = head.rsplit("; ", 1)[0] if "; " in head else head.rsplit(" ", 1)[0]  # whole parts where it can
    return cut + " … (see the table)"


def _too_few_note(fig: go.Figure, hidden: Sequence[dict], *, key: str = "group") -> None:
    if hidden:
        names = ", ".join(dict.fromkeys(str(r[key]) for r in hidden))
        _note(fig, f"{TOO_FEW}: {names}")


def _note(fig: go.Figure, text: str) -> None:
    fig.add_annotation(text=_note_text(text), xref="paper", yref="paper", x=0, y=1.0, xanchor="left",
                       yanchor="bottom", showarrow=False, font={"size": 11, "color": "#555555"})


# Tick values for log axes: plotly's own label the minor ticks with their first digit only, so
# 0.8 reads "8" beside "1" (and "9" beside "0.1"). Explicit values in the finest of these
# sequences that gives four or more ticks across the data; 1 (parity) is always in range.
_LOG_SEQUENCES = [(1, 2, 5), (1, 1.5, 2, 3, 5, 7), (1, 1.2, 1.4, 1.6, 1.8, 2, 2.5, 3, 4, 5, 6, 7, 8, 9)]


def log_ticks(values: Iterable[float | None]) -> list[float]:
    """Tick values for a log axis showing `values` (ratios, interval ends, thresholds)."""
    finite = [float(v) for v in values if v is not None and math.isfinite(v) and v > 0]
    lo, hi = min([1.0, *finite]), max([1.0, *finite])
    ticks: list[float] = []
    for mantissas in _LOG_SEQUENCES:
        ticks = sorted({round(m * 10.0 ** e, 10) for e in range(-4, 5) for m in mantissas})
        ticks = [t for t in ticks if lo / 1.0001 <= t <= hi * 1.0001]
        if len(ticks) >= 4:
            break
    return ticks


def _threshold_legend(fig: go.Figure, threshold: float) -> None:
    """Name the dashed threshold line in the legend. Not add_vline/add_hline's annotation: on a log
    axis plotly places it at 10**threshold (0.8 landed at 6.3 and stretched the axis to reach it)."""
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=f"{threshold:g} (four-fifths threshold)",
                             line={"color": theme.TARGET, "width": 1, "dash": "dash"}, hoverinfo="skip"))


def _log_axis(update_axis, values: Iterable[float | None], threshold: float | None = None) -> None:
    """A log axis with explicit ticks; a threshold line (0.8) gets its own labelled tick."""
    ticks = log_ticks([*values, threshold])
    if threshold is not None:
        ticks = sorted({*ticks, threshold})
    update_axis(type="log", tickmode="array", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks],
                minor={"showgrid": False})


NOTHING = "Nothing to show for this selection."


def empty_figure(title: str, message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title=title, height=220)


# ---------------------------------------------------------------------------------------------
# Group comparisons (tidy tables)
# ---------------------------------------------------------------------------------------------

def ratio_chart(frame: pl.DataFrame, *, title: str, axis: str = "Ratio to reference group",
                threshold: float | None = None, stage: str | None = None) -> go.Figure:
    """Forest plot: each group's ratio to the reference with its interval, coloured by significance
    after adjustment; a line at 1 (parity) and optionally at a threshold (0.8, four-fifths)."""
    if stage is not None and "stage" in frame.columns:
        frame = frame.filter(pl.col("stage") == stage)
    if frame.height == 0:  # an empty axis (a lone line at 1, bare gridlines) reads as broken
        return empty_figure(title, NOTHING)
    shown, hidden = _shown(frame)
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
        _threshold_legend(fig, threshold)
    groups = [str(r["group"]) for r in frame.iter_rows(named=True)]
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(groups)), type="category")
    _log_axis(fig.update_xaxes, [v for r in shown for v in (r.get("ratio"), r.get("ratio_ci_low"),
                                                              r.get("ratio_ci_high"))], threshold)
    _too_few_marks(fig, hidden)
    _too_few_marks(fig, [r for r in shown if r.get("ratio") is None], label="no ratio (see the table)")
    _too_few_note(fig, hidden)
    return _layout(fig, title=title, x=f"{axis} (log scale)", height=120 + 32 * max(len(groups), 2))


def rate_chart(frame: pl.DataFrame, *, title: str, axis: str, per_1000: bool = False,
               stage: str | None = None) -> go.Figure:
    """Each group's rate with its interval as bars (percent, or per 1,000 person-years)."""
    if stage is not None and "stage" in frame.columns:
        frame = frame.filter(pl.col("stage") == stage)
    if frame.height == 0:  # an empty axis (a lone line at 1, bare gridlines) reads as broken
        return empty_figure(title, NOTHING)
    shown, hidden = _shown(frame)
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
    _too_few_note(fig, hidden)
    return _layout(fig, title=title, y=axis, height=380)


def stage_chart(frame: pl.DataFrame, *, title: str, axis: str, threshold: float | None = None,
                stages: Sequence[str] | None = None) -> go.Figure:
    """Ratio to the reference at each stage (decision point or funnel stage), a line per group."""
    if frame.height == 0:  # an empty axis (a lone line at 1, bare gridlines) reads as broken
        return empty_figure(title, NOTHING)
    shown, hidden = _shown(frame)
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
        _threshold_legend(fig, threshold)
    # A stage where no group can be drawn stays on the axis, labelled, instead of vanishing.
    hidden = [r for r in hidden if not r.get("is_reference")]
    empty = [s for s in order if not any(r["stage"] == s for r in shown)]
    if empty:
        fig.add_trace(go.Scatter(
            x=empty, y=[1.0] * len(empty), mode="text", textposition="top center", showlegend=False,
            text=[TOO_FEW if any(r["stage"] == s for r in hidden) else "no ratio (see the table)" for s in empty],
            hoverinfo="skip", textfont={"color": "#555555", "size": 11}))
    fig.update_xaxes(categoryorder="array", categoryarray=order, type="category", range=[-0.5, len(order) - 0.5])
    _log_axis(fig.update_yaxes, [v for r in shown for v in (r.get("ratio"), r.get("ratio_ci_low"),
                                                              r.get("ratio_ci_high"))], threshold)
    if hidden:
        by_stage = {s: [str(r["group"]) for r in hidden if r["stage"] == s] for s in order}
        parts = [f"{s} (every group)" if s in empty else f"{s}: {', '.join(dict.fromkeys(g))}"
                 for s, g in by_stage.items() if g]
        _note(fig, f"{TOO_FEW}: every group at every stage" if set(empty) == set(order)
              else f"{TOO_FEW}: " + "; ".join(parts))
    fig.add_annotation(text="larger diamond = significant after adjustment", xref="paper", yref="paper", x=1, y=1.0,
                       xanchor="right", yanchor="bottom", showarrow=False, font={"size": 11, "color": "#555555"})
    return _layout(fig, title=title, y=f"{axis} (log scale)", height=420)


def trend_chart(frame: pl.DataFrame, *, title: str, axis: str) -> go.Figure:
    """The ratio to the reference group by financial year (stage column), a line per group."""
    return stage_chart(frame, title=title, axis=axis)


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
        _count_axis(fig.update_xaxes, totals)
    # A group with nothing to draw but hidden cells stays on the axis, labelled.
    drawn = set(visible.filter(pl.col(value) > 0)[row].to_list())
    hidden_rows = set(frame.join(visible, on=[row, col], how="anti")[row].to_list())
    _too_few_marks(fig, [{"group": r} for r in rows if r not in drawn and r in hidden_rows], at=0)
    n_hidden = frame.height - visible.height
    if n_hidden:
        fig.add_annotation(text=f"{n_hidden} cell(s) {TOO_FEW} (not drawn)", xref="paper", yref="paper", x=0,
                           y=1.0, yanchor="bottom", showarrow=False, font={"size": 11, "color": "#555555"})
    return _layout(fig, title=title, x=axis, height=140 + 34 * max(len(rows), 2))


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
    return _layout(fig, title=title, x="Days since raised", y="% still open", height=400)


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
    return _layout(fig, title=title, x="Person-years in post", y=axis, height=420)


def target_chart(frame: pl.DataFrame, *, title: str, axis: str = "% of officers") -> go.Figure:
    """Share by ethnic group over time, the aggregate and its target trajectory (all groups shown)."""
    if frame.height == 0:
        return empty_figure(title, "No data for this selection.")
    fig = go.Figure()
    shown, hidden = _shown(frame)
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
    _too_few_note(fig, hidden)
    return _layout(fig, title=title, y=axis, height=420)


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
    return _layout(fig, title=title, y=axis, height=400)


# ---------------------------------------------------------------------------------------------
# STRIDE, IOPC, data quality, SPOC
# ---------------------------------------------------------------------------------------------

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
    return _layout(fig, title=title, x="% complete", height=140 + 26 * len(rows))


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
    return _layout(fig, title=title, x="Management Board date", y="Commitment", height=140 + 22 * len(ids))


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
        _count_axis(fig.update_xaxes if horizontal else fig.update_yaxes, values)
    if horizontal:
        fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(labels)), type="category")
        return _layout(fig, title=title, x=axis, height=140 + 26 * len(labels))
    return _layout(fig, title=title, y=axis, height=380)


def _count_axis(update_axis, values: Iterable[float | None]) -> None:
    """Counts take whole-number ticks: with a largest value of 1 plotly ticked 0, 0.2, 0.4, ..."""
    values = [v for v in values if v is not None]
    if values and all(float(v).is_integer() for v in values) and max(values) <= 10:
        update_axis(tick0=0, dtick=1, rangemode="tozero")


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
    return _layout(fig, title=title, x=axis, height=140 + 30 * frame.height)


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
    return _layout(fig, title=title, height=160 + 18 * wide.height)


def _short(text: str | None, n: int = 60) -> str:
    text = text or ""
    return text if len(text) <= n else text[: n - 1] + "…"


# ---------------------------------------------------------------------------------------------
# The numbers beside every chart
# ---------------------------------------------------------------------------------------------

# Columns never shown in a number table (internal flags the text already carries).
_HIDDEN_COLUMNS = {"characteristic", "is_reference", "is_not_stated", "reference_group", "n_display",
                   "events_display"}

# Per column: the measure its numbers are (theme.py formats each measure one way everywhere).
PERCENT_COLUMNS = {"rate", "ci_low", "ci_high", "target_share", "not_stated_rate", "survival"}
RATIO_COLUMNS = {"ratio", "ratio_ci_low", "ratio_ci_high", "overall_ratio"}
P_COLUMNS = {"p_value", "p_adjusted"}
DAY_COLUMNS = {"median_days", "median_ci_low", "median_ci_high", "median_days_to_resolve", "time"}
PERSON_YEAR_COLUMNS = {"exposure", "size"}
NO_SEPARATOR_COLUMNS = {"commitment_id", "recommendation_id", "financial_year", "source_row", "year"}
BOOL_WORDS = {True: "Yes", False: "No"}
# Columns whose measure their name alone fixes (rate_per_1000: a rate per 1,000 person-years).
_BY_COLUMN = {**dict.fromkeys(P_COLUMNS, formats.fmt_p), **dict.fromkeys(RATIO_COLUMNS, formats.fmt_ratio),
              **dict.fromkeys(DAY_COLUMNS, formats.fmt_days), **dict.fromkeys(PERSON_YEAR_COLUMNS, formats.fmt_int),
              "rate_per_1000": formats.fmt_rate}


def format_value(column: str, value, *, per_1000: bool = False) -> str | None:
    """One cell in the product's number style (metrics/formats.py); None stays empty."""
    if value is None or isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool):
        return BOOL_WORDS[value]
    if isinstance(value, str):
        # Counts that disclosure control turned into strings ("1234", "<5", "[c]").
        return formats.fmt_int(int(value)) if value.isdigit() else value
    if isinstance(value, (int, float)):
        return _number(column, value, per_1000)
    if hasattr(value, "strftime"):
        return formats.fmt_date(value)
    return str(value)


def _number(column: str, value: float, per_1000: bool) -> str:
    """A number in its column's measure: by name first, then by what the column name ends with."""
    fmt = _BY_COLUMN.get(column)
    if fmt is not None:
        return fmt(value)
    if per_1000 and column in ("ci_low", "ci_high"):
        return formats.fmt_rate(value)
    if column in PERCENT_COLUMNS or column.endswith(("_rate", "_share")):
        return formats.fmt_pct(value)
    if column in NO_SEPARATOR_COLUMNS:
        return str(value)
    if isinstance(value, int) or float(value).is_integer() and column.startswith(("n_", "n")):
        return formats.fmt_int(value)
    return formats.fmt_decimal(value)


def display_frame(frame: pl.DataFrame, *, per_1000: bool = False, name: str | None = None
                  ) -> tuple[pl.DataFrame, dict[str, str]]:
    """The frame as the reader sees it: human column labels naming the quantity (per table, from
    theme.TABLE_COLUMN_LABELS) and every value as text in the one number style (theme.py).

    Values are formatted from get_table's numbers (no other rounding); where disclosure control
    produced display strings ("<5", "[c]"), they replace the counts. The second value is kept for
    callers that set column formats: every column is already text, so it is empty.
    """
    out = frame
    for col, disp in (("n", "n_display"), ("events", "events_display")):
        if disp in out.columns and col in out.columns:
            out = out.with_columns(pl.coalesce(pl.col(disp), pl.col(col).cast(pl.String)).alias(col))
    if per_1000 and "rate_per_1000" in out.columns:
        out = out.drop([c for c in ("rate",) if c in out.columns])
    # A table whose rows are different characteristics (not_stated) needs that column to be read.
    hidden = _HIDDEN_COLUMNS - ({"characteristic"} if "characteristic" in out.columns
                                and out["characteristic"].n_unique() > 1 else set())
    keep = [c for c in out.columns if c not in hidden]
    if "stage" in keep:
        keep.remove("stage")
        keep.insert(0, "stage")
    if per_1000 and "rate_per_1000" in keep and "events" in keep:
        # The rate people read goes where the rate would be, beside its interval.
        keep.remove("rate_per_1000")
        keep.insert(keep.index("events") + 1, "rate_per_1000")
    out = out.select(keep)
    scaled = per_1000 and "ci_low" in keep and "rate_per_1000" in frame.columns
    if scaled:
        # The interval of a rate per person-year is shown in the same unit as the rate beside it.
        out = out.with_columns(pl.col("ci_low") * 1000, pl.col("ci_high") * 1000)
    own = theme.TABLE_COLUMN_LABELS.get(name or "", {})
    labels = {}
    for c in keep:
        label = own.get(c) or theme.column_label(c)
        if scaled and c in ("ci_low", "ci_high"):
            label = f"{label} (per 1,000)"
        labels[c] = label
    columns = {}
    for c in keep:
        values = out[c].to_list()
        columns[labels[c]] = pl.Series(labels[c], [format_value(c, v, per_1000=scaled or per_1000) for v in values],
                                       dtype=pl.String)
    return pl.DataFrame(columns, schema={labels[c]: pl.String for c in keep}), {}


def crosstab_percent(frame: pl.DataFrame, *, row: str = "group", col: str = "category", value: str = "n"
                     ) -> pl.DataFrame:
    """Each visible cell as a share of its group's total (`pct`, a fraction), beside the counts.

    The total is the group's published 'Total' cell where disclosure control added one, else the sum
    of the group's cells; a group with a hidden cell and no published total gets no shares (its
    visible cells alone would give wrong ones). Hidden cells stay hidden.
    """
    if frame.height == 0:
        return frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("pct"))
    is_total = pl.col("is_total").fill_null(False) if "is_total" in frame.columns else pl.lit(False)
    hidden = pl.col("is_suppressed").fill_null(False) if "is_suppressed" in frame.columns else pl.col(value).is_null()
    cells = frame.filter(~is_total)
    published = (frame.filter(is_total).select(row, pl.col(value).alias("_total"))
                 if "is_total" in frame.columns else pl.DataFrame(schema={row: frame.schema[row], "_total": pl.Int64}))
    summed = cells.group_by(row).agg(pl.when(hidden.any()).then(None).otherwise(pl.col(value).sum()).alias("_sum"))
    out = (cells.join(published, on=row, how="left").join(summed, on=row, how="left")
           .with_columns(pl.coalesce("_total", "_sum").alias("_denominator")))
    return out.with_columns(
        pl.when(hidden | (pl.col("_denominator").fill_null(0) == 0)).then(None)
        .otherwise(pl.col(value) / pl.col("_denominator")).alias("pct")
    ).drop("_total", "_sum", "_denominator")


def crosstab_wide(frame: pl.DataFrame, *, percent: bool = False, row: str = "group", col: str = "category",
                  value: str = "n") -> pl.DataFrame:
    """One row per group, a column per category: counts in the number style ('<5', '[c]' kept), or
    the % within each group (a hidden cell keeps its mark, never a share)."""
    if frame.height == 0:
        return pl.DataFrame({"Group": []}, schema={"Group": pl.String})
    display = "value_display" if "value_display" in frame.columns else None
    if percent:
        cells = crosstab_percent(frame, row=row, col=col, value=value)
        hidden = (cells["is_suppressed"].fill_null(False).to_list() if "is_suppressed" in cells.columns
                  else [False] * cells.height)
        shown = cells[display].to_list() if display else [None] * cells.height
        text = [formats.fmt_pct(p) if p is not None else (d if h and d is not None else formats.DASH)
                for p, d, h in zip(cells["pct"].to_list(), shown, hidden, strict=True)]
    else:
        cells = frame
        text = [format_value(value, d if display else v) for v, d in
                zip(cells[value].to_list(), cells[display].to_list() if display else [None] * cells.height,
                    strict=True)]
    long = cells.select(row, col).with_columns(pl.Series("value", text, dtype=pl.String))
    wide = long.pivot(on=col, index=row, values="value", aggregate_function="first")
    return wide.rename({row: "Group"})


def describe(fig: go.Figure) -> str:
    """A text description of a chart for screen readers (the chart's alt text): its title, its axes,
    and what each series is; the numbers themselves are in the table with it."""
    layout = fig.layout
    title = (layout.title.text or "Chart") if layout.title else "Chart"
    parts = [f"Chart: {title}."]
    x_title = layout.xaxis.title.text if layout.xaxis and layout.xaxis.title else None
    y_title = layout.yaxis.title.text if layout.yaxis and layout.yaxis.title else None
    if x_title or y_title:
        parts.append("Axes: " + "; ".join(f"{k} {v}" for k, v in (("across,", x_title), ("up,", y_title)) if v) + ".")
    names = [t.name for t in fig.data if getattr(t, "name", None)]
    if names:
        parts.append(f"Series: {', '.join(dict.fromkeys(names))}.")
    notes = [a.text.rstrip(".") + "." for a in (layout.annotations or []) if a.text]
    if notes:
        parts.append("Notes: " + " ".join(dict.fromkeys(notes)))
    parts.append("The same numbers are in the table with this chart.")
    return " ".join(parts)


# ---------------------------------------------------------------------------------------------
# Benchmarks (force_representation)
# ---------------------------------------------------------------------------------------------

def representation_funnel(forces: pl.DataFrame, own: pl.DataFrame, *, title: str) -> go.Figure:
    """Each force's ratio to its population (observed / expected) against the expected count, the
    95% and 99.8% limits around 1 drawn from the frame's own limit columns, and the warehouse's
    force as a separate marker. Rows 'too few to report' are left out (the note says how many)."""
    shown, hidden = _shown(forces)
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
        text=[f"{r['force']}: {formats.fmt_pct(r['rate'])} of {r['n']:,} officers; population "
              f"{formats.fmt_pct(r['census_share'])} ({r['flag']})" for r in shown],
        hovertemplate="%{text}<extra></extra>"))
    for r in own.iter_rows(named=True):
        if r.get("ratio") is None or not r.get("expected"):
            continue
        fig.add_trace(go.Scatter(
            x=[r["expected"]], y=[r["ratio"]], mode="markers+text", name=f"Your force, 31 March {r['year']}",
            marker={"symbol": "star", "size": 16, "color": theme.BLACK},
            text=[f"Your force ({r['year']})"], textposition="top center",
            hovertemplate=f"Your force, 31 March {r['year']}: {formats.fmt_pct(r['rate'])} of {r['n']:,} officers; "
                          f"ratio {formats.fmt_ratio(r['ratio'])}<extra></extra>"))
    fig.update_xaxes(type="log")
    _too_few_note(fig, hidden, key="force")
    return _layout(fig, title=title, x="Expected officers if representative (log scale)",
                   y="Ratio to the force area's population", height=460)


def force_trend(frame: pl.DataFrame, *, title: str, axis: str = "% of officers of stated ethnicity") -> go.Figure:
    """The share by year, one line per force (and source), with the population share dotted."""
    if frame.height == 0:
        return empty_figure(title, "No data for this selection.")
    fig = go.Figure()
    shown, hidden = _shown(frame)
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
    _too_few_note(fig, hidden, key="force")
    fig.update_xaxes(dtick=1)
    return _layout(fig, title=title, x="31 March of", y=axis, height=420)
