"""The printed SPOC pack: A4 HTML rendered to PDF by weasyprint, offline (system fonts, charts as
inline SVG data, no URLs). Every page's margin carries the area, month, build date and build id."""

from __future__ import annotations

import base64
import html
import logging
from collections.abc import Sequence
from functools import cache

import polars as pl

from dashboard.exports import charts
from dashboard.exports.format import cell_value, label, text
from metrics.spoc import FORCE, MEASURES, PackTable, SpocPack

CSS = """
@page {
  size: A4; margin: 20mm 14mm 18mm 14mm;
  @top-left { content: "SPOC grievance pack · %(area)s · %(month)s"; font-size: 8pt; }
  @top-right { content: "Warehouse build %(build_id)s · built %(build_date)s"; font-size: 8pt; }
  @bottom-left { content: "Aggregates only. Counts of 1 to %(t1)s are shown as <%(t)s; [c] = hidden so a small count cannot be worked out."; font-size: 7pt; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 8pt; }
}
body { font-family: "DejaVu Sans", sans-serif; font-size: 8.5pt; color: #000; line-height: 1.3; }
h1 { font-size: 16pt; margin: 0 0 2mm 0; }
h2 { font-size: 11.5pt; margin: 5mm 0 1.5mm 0; border-bottom: 1.2pt solid #000; padding-bottom: 0.5mm;
     break-after: avoid; }
h3 { font-size: 9.5pt; margin: 3mm 0 1mm 0; break-after: avoid; }
p.lede { margin: 0 0 3mm 0; }
p.small { font-size: 7.5pt; color: #333; margin: 0.5mm 0 2mm 0; }
.tiles { display: flex; gap: 3mm; margin: 2mm 0 3mm 0; }
.tile { flex: 1; border: 1pt solid #000; padding: 2mm; }
.tile .v { font-size: 18pt; font-weight: bold; }
.tile .l { font-size: 7.5pt; }
ul.themes { margin: 1mm 0 2mm 0; padding-left: 5mm; }
ul.themes li { margin-bottom: 1mm; }
table { border-collapse: collapse; width: 100%%; margin: 1mm 0 2mm 0; font-size: 7.5pt; break-inside: auto; }
th, td { border: 0.5pt solid #777; padding: 0.6mm 1.2mm; text-align: right; vertical-align: top; }
th { background: #EEE; font-weight: bold; }
td.t, th.t { text-align: left; }
tr.hl td { font-weight: bold; border: 1.2pt solid #000; }
tr { break-inside: avoid; }
img.chart { width: 100%%; margin: 1mm 0; }
.section { break-inside: avoid; }
.pagebreak { break-before: page; }
"""


def render_pdf(pack: SpocPack, *, curves: pl.DataFrame | None = None) -> bytes:
    """The pack as PDF bytes."""
    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return HTML(string=render_html(pack, curves=curves), base_url=None).write_pdf(font_config=_font_config())


@cache
def _font_config():
    """One fontconfig set-up per process, shared by every pack it renders."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def render_html(pack: SpocPack, *, curves: pl.DataFrame | None = None) -> str:
    t = pack.settings.suppression_threshold
    css = CSS % {"area": _css(f"{pack.area_code} {pack.area_name}"), "month": _css(pack.month_label),
                 "build_id": _css(pack.build_id), "build_date": _css(pack.build_date), "t": t, "t1": t - 1}
    e = html.escape
    parts = [f"<!doctype html><html lang='en-GB'><head><meta charset='utf-8'><title>SPOC pack {e(pack.area_code)} "
             f"{e(pack.month_label)}</title><style>{css}</style></head><body>"]
    where = "the force" if pack.area_code == FORCE else f"{pack.area_name} ({pack.area_code})"
    parts.append(f"<h1>{e(pack.area_name)}: grievances, {e(pack.month_label)}</h1>")
    parts.append(f"<p class='lede'>Monthly pack for the grievance single point of contact and the local senior "
                 f"leadership team, for {e(where)}. Month: {e(pack.month_label)}. Data built {e(pack.build_date)} "
                 f"(warehouse build {e(pack.build_id)}).</p>")
    if not pack.has_grievances:
        parts.append(f"<p class='lede'><strong>No grievances were raised, closed or open in {e(where)} in "
                     f"{e(pack.month_label)}.</strong> The 12-month tables below still apply.</p>")
    parts.append("<div class='tiles'>")
    for m, name in MEASURES.items():
        parts.append(f"<div class='tile'><div class='v c'>{e(pack.headline_display[m])}</div>"
                     f"<div class='l'>{e(name)}</div></div>")
    parts.append("</div>")

    parts.append("<h2>Themes and trends</h2>")
    if pack.themes:
        parts.append("<ul class='themes'>" + "".join(f"<li>{e(th.statement)}</li>" for th in pack.themes) + "</ul>")
    parts.append(f"<p class='small'>{e(pack.themes_note)}</p>")
    parts.append(f"<p>{e(pack.funnel_note)}</p>")

    trend = pack.table("trend")
    parts.append(_section_head(trend))
    parts.append(_img(charts.trend_chart(trend.frame)))
    parts.append(_trend_table(trend.frame))

    cats = pack.table("categories")
    parts.append("<div class='pagebreak'></div>" + _section_head(cats))
    parts.append(_img(charts.category_chart(cats.frame)))
    parts.append(_crosstab(cats.frame, "Category"))
    outcomes = pack.table("outcomes")
    parts.append(_section_head(outcomes))
    parts.append(_crosstab(outcomes.frame, "Outcome"))

    res = pack.table("time_to_resolve")
    parts.append(_section_head(res))
    parts.append(_img(charts.resolution_chart(curves)))
    if curves is None:
        parts.append("<p class='small'>No curve is drawn: too few grievances for a curve that "
                     "would not single people out.</p>")
    parts.append(_table(res.frame, ["group", "n", "events", "median_days", "median_ci_low", "median_ci_high",
                                    "p_value", "method"], labels={"n": "Grievances", "events": "Closed"}))

    funnel = pack.table("funnel")
    parts.append("<div class='pagebreak'></div>" + _section_head(funnel))
    parts.append(_img(charts.funnel_chart(funnel.frame, None if pack.area_code == FORCE else pack.area_code)))
    parts.append(f"<p>{e(pack.funnel_note)}</p>")
    if pack.area_code == FORCE:
        parts.append(_funnel_table(funnel.frame, None))
    else:
        parts.append(_funnel_table(funnel.frame.filter(pl.col("group") == pack.area_code), pack.area_code))

    ind = pack.table("independent_assessor")
    parts.append(_section_head(ind))
    parts.append(_tidy(ind.frame))

    parts.append("<div class='pagebreak'></div><h2>By protected characteristic (12 months)</h2>")
    for key in ("raised_by_ethnicity_group", "raised_by_sex", "raised_by_disability"):
        tbl = pack.table(key)
        parts.append(_section_head(tbl, level=3, describe=False))
        parts.append(_tidy(tbl.frame))
    for key in ("upheld_by_ethnicity_group", "upheld_by_sex", "upheld_by_disability"):
        tbl = pack.table(key)
        parts.append(_section_head(tbl, level=3, describe=False))
        parts.append(_tidy(tbl.frame))

    mis = pack.table("misconduct_referrals")
    parts.append(_section_head(mis))
    parts.append(_tidy(mis.frame))

    parts.append("<h2>Notes</h2>")
    parts.append("".join(f"<p class='small'>{e(n)}</p>" for n in notes(pack)))
    parts.append("</body></html>")
    return "".join(parts)


def notes(pack: SpocPack) -> list[str]:
    """Definitions and the disclosure rule (shared with the XLSX Notes sheet)."""
    t = pack.settings.suppression_threshold
    return [
        "Raised: grievances with a raised date in the month. Closed: an outcome date in the month. Open at "
        "month end: raised on or before the last day of the month with no outcome by then. Open longer than "
        f"the service standard: open at month end and raised more than {pack.settings.service_standard_days} "
        "days before it.",
        "Upheld means upheld or partly upheld, of grievances closed in the period. Characteristics are the "
        "aggrieved person's; rates are computed on stated values and 'Not stated' is shown as its own group.",
        f"Disclosure control (staff-association rules): counts of 1 to {t - 1} are shown as <{t}; further "
        "cells are hidden ([c]) where a small count could otherwise be worked out from a total; a hidden or "
        f"small group (fewer than {pack.settings.min_group_for_ratio}) has no rate, ratio or p-value "
        "('too few to report'). Percentages use unrounded values.",
        "Tests: rates with Wilson (proportions) or exact Poisson (per person-year) intervals; ratios to the "
        "reference group with Katz or log intervals; Fisher's exact test when any expected count is under 5, "
        f"otherwise chi-square; p-values adjusted across groups ({pack.settings.adjustment}). Time to resolve "
        "by Kaplan-Meier with open grievances censored; funnel limits exact Poisson at 95% and 99.8%.",
        "Themes are stated only when a named test supports them after adjustment across the pack's tests; "
        "a month with nothing unusual says so.",
    ]


# ------------------------------------------------------------------------------------------------


def _css(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def _img(svg: str | None) -> str:
    if svg is None:
        return ""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f"<img class='chart' alt='chart' src='data:image/svg+xml;base64,{data}'>"


def _section_head(t: PackTable, *, level: int = 2, describe: bool = True) -> str:
    e = html.escape
    head = f"<h{level}>{e(t.title)} <span style='font-weight:normal'>({e(t.period)})</span></h{level}>"
    return head + (f"<p class='small'>{e(t.description)}</p>" if describe else "")


def _table(frame: pl.DataFrame, columns: Sequence[str], *, labels: dict[str, str] | None = None,
           highlight: str | None = None, text_columns: Sequence[str] = ("group", "method", "note", "category",
                                                                         "flag", "label")) -> str:
    e = html.escape
    labels = labels or {}
    columns = [c for c in columns if c in frame.columns]
    if frame.height == 0:
        return "<p class='small'>No rows for this period.</p>"
    head = "".join(f"<th class='{'t' if c in text_columns else ''}'>{e(labels.get(c, label(c)))}</th>"
                   for c in columns)
    body = []
    for row in frame.iter_rows(named=True):
        cls = " class='hl'" if highlight is not None and row.get("group") == highlight else ""
        cells = "".join(f"<td class='{_cls(c, text_columns)}'>{e(text(cell_value(row, c), c))}</td>"
                        for c in columns)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _cls(column: str, text_columns: Sequence[str]) -> str:
    """'t' for text; 'c' marks a count of people or cases (tests scan these for hidden values)."""
    if column in text_columns:
        return "t"
    return "c" if column in ("n", "events") else ""


def _tidy(frame: pl.DataFrame) -> str:
    if "rate_per_1000" in frame.columns:  # exposure table: n is person-years, rate per person-year
        cols = ["group", "exposure", "events", "rate_per_1000", "ratio", "ratio_ci_low", "ratio_ci_high",
                "p_value", "p_adjusted", "note"]
        return _table(frame.with_columns(pl.col("exposure").round(0)), cols)
    cols = ["group", "n", "events", "rate", "ci_low", "ci_high", "ratio", "p_value", "p_adjusted", "note"]
    return _table(frame, cols)


def _crosstab(frame: pl.DataFrame, first: str) -> str:
    """category rows x group columns of display values (groups are few, categories many), totals last."""
    e = html.escape
    if frame.height == 0:
        return "<p class='small'>None in this period.</p>"
    cats = list(dict.fromkeys(frame["category"].to_list()))
    groups = list(dict.fromkeys(frame["group"].to_list()))
    cell = {(g, c): d for g, c, d in frame.select("group", "category", "value_display").iter_rows()}
    head = f"<th class='t'>{e(first)}</th>" + "".join(f"<th>{e(g)}</th>" for g in groups)
    rows = []
    for c in cats:
        rows.append(f"<tr><td class='t'>{e(c)}</td>" + "".join(f"<td class='c'>{e(cell.get((g, c), '0'))}</td>"
                                                              for g in groups)
                    + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _trend_table(trend: pl.DataFrame) -> str:
    e = html.escape
    months = sorted(trend["month_start"].unique().to_list())
    cell = {(m, k): d for m, k, d in trend.select("month_start", "measure", "value_display").iter_rows()}
    head = "<th class='t'>Month</th>" + "".join(f"<th>{e(v)}</th>" for v in MEASURES.values())
    rows = [f"<tr><td class='t'>{m:%b %Y}</td>" + "".join(f"<td class='c'>{e(cell[(m, k)])}</td>" for k in MEASURES)
            + "</tr>" for m in months]
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _funnel_table(frame: pl.DataFrame, highlight: str | None) -> str:
    if frame.height == 0 or "exposure" not in frame.columns:
        return ""
    per1000 = frame.with_columns([(pl.col(c) * 1000).alias(c) for c in frame.columns
                                  if c == "rate" or c.startswith(("lower_", "upper_")) or c == "overall_rate"])
    # A hidden area has no flag: say why, as the registry's note does.
    per1000 = per1000.with_columns(pl.col("exposure").round(0),
                                   pl.coalesce("flag", "note").alias("flag"))
    labels = {"rate": "Per 1,000 person-years", "overall_rate": "Force per 1,000", "group": "Business area",
              "events": "Grievances", "exposure": "Person-years"}
    cols = ["group", "events", "exposure", "rate", "overall_rate", "lower_99_8", "lower_95", "upper_95",
            "upper_99_8", "flag"]
    # Rates here are per 1,000, not shares: print them as plain numbers.
    return _table(per1000.with_columns([pl.col(c).round(2) for c in cols
                                        if c in per1000.columns and per1000.schema[c] == pl.Float64])
                  .rename({"rate": "rate_1000", "overall_rate": "overall_1000"}),
                  ["group", "events", "exposure", "rate_1000", "overall_1000", "lower_99_8", "lower_95",
                   "upper_95", "upper_99_8", "flag"],
                  labels={**labels, "rate_1000": labels["rate"], "overall_1000": labels["overall_rate"]},
                  highlight=highlight)
