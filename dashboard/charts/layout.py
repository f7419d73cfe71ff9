"""What every chart shares: plotly's config and layout, a frame split into drawable rows and rows
'too few to report' (kept on the axis, labelled, never silently dropped), notes, log and count axes,
the empty figure, and the text description a screen reader gets."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import plotly.graph_objects as go
import polars as pl

from dashboard import theme
from metrics.narrative import is_too_few
from metrics.tidy import TOO_FEW

PLOTLY_CONFIG = {"typesetMath": False, "displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

def layout(fig: go.Figure, *, title: str, x: str = "", y: str = "", height: int | None = None) -> go.Figure:
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


def split_too_few(frame: pl.DataFrame) -> tuple[list[dict], list[dict]]:
    """Rows that may be drawn, and rows that are 'too few to report' (drawn as a label only)."""
    shown, hidden = [], []
    for r in frame.iter_rows(named=True):
        (hidden if is_too_few(r) else shown).append(r)
    return shown, hidden


def too_few_marks(fig: go.Figure, hidden: Sequence[dict], *, at: float = 1.0, label: str = TOO_FEW) -> None:
    """Keep a hidden group on the axis, labelled, so no group silently disappears from a chart."""
    if hidden:
        fig.add_trace(go.Scatter(x=[at] * len(hidden), y=[str(r["group"]) for r in hidden], mode="text",
                                 text=[label] * len(hidden), textposition="middle right", showlegend=False,
                                 hoverinfo="skip", textfont={"color": "#555555", "size": 11}))


NOTE_CHARS = 100  # a plotly annotation does not wrap: longer notes point to the table instead


def note_text(text: str) -> str:
    if len(text) <= NOTE_CHARS:
        return text
    head = text[: NOTE_CHARS - 20]
    cut = head.rsplit("; ", 1)[0] if "; " in head else head.rsplit(" ", 1)[0]  # whole parts where it can
    return cut + " … (see the table)"


def too_few_note(fig: go.Figure, hidden: Sequence[dict], *, key: str = "group") -> None:
    if hidden:
        names = ", ".join(dict.fromkeys(str(r[key]) for r in hidden))
        note(fig, f"{TOO_FEW}: {names}")


def note(fig: go.Figure, text: str) -> None:
    fig.add_annotation(text=note_text(text), xref="paper", yref="paper", x=0, y=1.0, xanchor="left",
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


def threshold_legend(fig: go.Figure, threshold: float) -> None:
    """Name the dashed threshold line in the legend. Not add_vline/add_hline's annotation: on a log
    axis plotly places it at 10**threshold (0.8 landed at 6.3 and stretched the axis to reach it)."""
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=f"{threshold:g} (four-fifths threshold)",
                             line={"color": theme.TARGET, "width": 1, "dash": "dash"}, hoverinfo="skip"))


def log_axis(update_axis, values: Iterable[float | None], threshold: float | None = None) -> None:
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
    return layout(fig, title=title, height=220)


def count_axis(update_axis, values: Iterable[float | None]) -> None:
    """Counts take whole-number ticks: with a largest value of 1 plotly ticked 0, 0.2, 0.4, ..."""
    values = [v for v in values if v is not None]
    if values and all(float(v).is_integer() for v in values) and max(values) <= 10:
        update_axis(tick0=0, dtick=1, rangemode="tozero")


def describe(fig: go.Figure) -> str:
    """A text description of a chart for screen readers (the chart's alt text): its title, its axes,
    and what each series is; the numbers themselves are in the table with it."""
    lay = fig.layout
    title = (lay.title.text or "Chart") if lay.title else "Chart"
    parts = [f"Chart: {title}."]
    x_title = lay.xaxis.title.text if lay.xaxis and lay.xaxis.title else None
    y_title = lay.yaxis.title.text if lay.yaxis and lay.yaxis.title else None
    if x_title or y_title:
        parts.append("Axes: " + "; ".join(f"{k} {v}" for k, v in (("across,", x_title), ("up,", y_title)) if v) + ".")
    names = [t.name for t in fig.data if getattr(t, "name", None)]
    if names:
        parts.append(f"Series: {', '.join(dict.fromkeys(names))}.")
    notes = [a.text.rstrip(".") + "." for a in (lay.annotations or []) if a.text]
    if notes:
        parts.append("Notes: " + " ".join(dict.fromkeys(notes)))
    parts.append("The same numbers are in the table with this chart.")
    return " ".join(parts)
