"""Static vector charts for the printed pack (matplotlib's SVG backend: no browser, deterministic).

Readable in black and white: series differ by marker and line style, bars by hatching, and every
chart has its numbers in a table beside it. Hidden (suppressed) values are left out, never drawn.
"""

from __future__ import annotations

import io

import matplotlib
import polars as pl
from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global figure state

from dashboard import theme
from metrics.spoc import MEASURE_LABELS

RC = {
    "svg.hashsalt": "eqdash-spoc",  # stable element ids, so the same data gives the same SVG
    "svg.fonttype": "none",  # text stays text: searchable, and fonts come from the PDF renderer
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.5,
    "hatch.linewidth": 0.6,
}
LINE_STYLES = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D")]
HATCHES = ["///", "...", "xx", "\\\\", "++", "oo", "--", "||", "**"]


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    return buf.getvalue()


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(RC):
        return Figure(figsize=(width, height))


def trend_chart(trend: pl.DataFrame) -> str:
    """Lines per measure over the 13 months; hidden months are gaps."""
    with matplotlib.rc_context(RC):
        fig = _figure(6.8, 2.4)
        ax = fig.add_subplot()
        months = sorted(trend["month_start"].unique().to_list())
        x = list(range(len(months)))
        colours = [theme.BLUE, theme.ORANGE, theme.GREEN, theme.VERMILLION]
        for i, part in enumerate(trend.partition_by("measure", maintain_order=True)):
            values = dict(zip(part["month_start"], part["n"], strict=True))
            ys = [values.get(m) for m in months]
            style, marker = LINE_STYLES[i % len(LINE_STYLES)]
            ax.plot(x, [float("nan") if y is None else y for y in ys], linestyle=style, marker=marker,
                    markersize=3.5, linewidth=1.2, color=colours[i % len(colours)],
                    label=MEASURE_LABELS.get(part["measure"][0], part["label"][0]), markerfacecolor="white" if i % 2 else colours[i % len(colours)])
        ax.set_xticks(x, [m.strftime("%b\n%y") for m in months])
        ax.set_ylabel("Grievances")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=7)
        return _svg(fig)


def category_chart(categories: pl.DataFrame) -> str | None:
    """Horizontal bars: grievances raised by category over the 12 months (the crosstab's totals)."""
    totals = categories.filter((pl.col("group") == "Total") & (pl.col("category") != "Total"))
    if totals.height == 0:
        return None
    totals = totals.sort("category", descending=True)
    with matplotlib.rc_context(RC):
        fig = _figure(6.8, 0.3 * totals.height + 0.6)
        ax = fig.add_subplot()
        ys = list(range(totals.height))
        values = [v if v is not None else 0 for v in totals["n"].to_list()]
        bars = ax.barh(ys, values, color="white", edgecolor=theme.BLACK, linewidth=0.7)
        for bar, hatch in zip(bars, [HATCHES[i % len(HATCHES)] for i in ys], strict=True):
            bar.set_hatch(hatch)
        for y, v, disp in zip(ys, totals["n"].to_list(), totals["value_display"].to_list(), strict=True):
            ax.text((v or 0) + 0.2, y, disp, va="center", fontsize=7)
        ax.set_yticks(ys, totals["category"].to_list())
        ax.set_xlabel("Grievances raised (12 months)")
        ax.grid(axis="y", visible=False)
        return _svg(fig)


def funnel_chart(funnel: pl.DataFrame, highlight: str | None) -> str | None:
    """Each area's grievances per 1,000 person-years against its person-years, with the 95% and
    99.8% limits; the pack's own area is a large black diamond."""
    if funnel.height == 0 or "exposure" not in funnel.columns:
        return None
    placed = funnel.filter(pl.col("rate").is_not_null() & pl.col("exposure").is_not_null()).sort("exposure")
    if placed.height == 0:
        return None
    with matplotlib.rc_context(RC):
        fig = _figure(6.8, 2.8)
        ax = fig.add_subplot()
        x = placed["exposure"].to_list()
        overall = placed["overall_rate"][0] * 1000
        ax.axhline(overall, color=theme.BLACK, linewidth=1, label="Force rate")
        for col, style, name in (("upper_95", "--", "95% limits"), ("lower_95", "--", None),
                                 ("upper_99_8", ":", "99.8% limits"), ("lower_99_8", ":", None)):
            if col in placed.columns:
                ax.plot(x, [None if v is None else v * 1000 for v in placed[col].to_list()], linestyle=style,
                        color=theme.GREY, linewidth=1, label=name)
        others = placed.filter(pl.col("group") != (highlight or ""))
        ax.scatter(others["exposure"].to_list(), [r * 1000 for r in others["rate"].to_list()], s=14,
                   facecolor="white", edgecolor=theme.BLUE, linewidth=0.8, label="Business areas", zorder=3)
        mine = placed.filter(pl.col("group") == (highlight or ""))
        if mine.height:
            ax.scatter(mine["exposure"].to_list(), [r * 1000 for r in mine["rate"].to_list()], s=55, marker="D",
                       color=theme.BLACK, label="This area", zorder=4)
        ax.set_xlabel("Person-years in post (12 months)")
        ax.set_ylabel("Grievances per 1,000 person-years")
        # Limits explode at tiny sizes; keep the areas, not the funnel's mouth, in view.
        top = max([overall * 3, *(r * 1000 for r in placed["rate"].to_list())]) * 1.15
        ax.set_ylim(0, top)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=7)
        return _svg(fig)


def resolution_chart(curves: pl.DataFrame | None) -> str | None:
    """Share of grievances still open by days since raised (Kaplan-Meier), area against force."""
    if curves is None or curves.height == 0:
        return None
    with matplotlib.rc_context(RC):
        fig = _figure(6.8, 2.3)
        ax = fig.add_subplot()
        for i, part in enumerate(curves.partition_by("group", maintain_order=True)):
            style, _ = LINE_STYLES[i % len(LINE_STYLES)]
            ax.step(part["time"].to_list(), part["survival"].to_list(), where="post", linestyle=style,
                    color=theme.BLACK if i == 0 else theme.BLUE, linewidth=1.3, label=part["group"][0])
        ax.axvline(90, color=theme.GREY, linewidth=0.8, linestyle=":", label="90-day standard")
        ax.set_xlabel("Days since raised")
        ax.set_ylabel("Share still open")
        ax.set_ylim(0, 1.02)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=7)
        return _svg(fig)
