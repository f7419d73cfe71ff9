"""The printed SPOC pack: A4 HTML rendered to a tagged PDF (PDF/UA-1) by weasyprint, offline (system
fonts, charts as inline SVG data, no URLs). Page 1 is the findings, then the month's counts; the
tables follow, each heading kept with its table; plain-English notes are on the last page.
Every chart has alt text saying what it shows and its main finding."""

from __future__ import annotations

import base64
import html
import logging
from functools import cache

import polars as pl

from dashboard.exports import charts
from dashboard.exports.format import Sheet, notes, sheets, shorthand_legend, text
from metrics import formats
from metrics.spoc import FORCE, MEASURE_LABELS, MEASURES, RELEASE_STATEMENT, SpocPack

CSS = """
@page {
  size: A4; margin: 20mm 14mm 18mm 14mm;
  @top-left { content: "SPOC grievance pack · %(area)s · %(month)s"; font-size: 8pt; }
  @top-right { content: "Data built %(build_date)s"; font-size: 8pt; }
  @bottom-left { content: "<%(t)s = a count of 1 to %(t1)s; [c] = hidden to protect a small count; [z] = not applicable; [x] = not available"; font-size: 7pt; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 8pt; }
}
body { font-family: "DejaVu Sans", sans-serif; font-size: 9pt; color: #000; line-height: 1.35; }
h1 { font-size: 16pt; margin: 0 0 2mm 0; }
h2 { font-size: 12pt; margin: 5mm 0 1.5mm 0; border-bottom: 1.2pt solid #000; padding-bottom: 0.5mm;
     break-after: avoid; }
h3 { font-size: 10pt; margin: 3mm 0 1mm 0; break-after: avoid; }
p { margin: 0 0 2mm 0; }
p.small { font-size: 8pt; color: #222; }
p.synthetic { border: 1.2pt solid #000; padding: 1mm 2mm; }
ol.findings { margin: 1mm 0 2mm 0; padding-left: 6mm; }
ol.findings li { margin-bottom: 1.5mm; }
.tiles { display: flex; gap: 3mm; margin: 2mm 0 3mm 0; }
.tile { flex: 1; border: 1pt solid #000; padding: 2mm; }
.tile .v { font-size: 18pt; font-weight: bold; }
.tile .l { font-size: 8pt; }
table { border-collapse: collapse; width: 100%%; margin: 1mm 0 2mm 0; font-size: 7.5pt; }
caption { text-align: left; font-size: 8pt; caption-side: top; margin-bottom: 0.5mm; }
th, td { border: 0.5pt solid #777; padding: 0.6mm 1.2mm; text-align: right; vertical-align: top; }
th { background: #EEE; font-weight: bold; }
td.t, th.t { text-align: left; }
tr.hl td { font-weight: bold; border: 1.2pt solid #000; }
tr { break-inside: avoid; }
img.chart { width: 100%%; margin: 1mm 0; }
section.keep, div.keep { break-inside: avoid; }
section.notes h3 { break-after: avoid; }
"""


def render_pdf(pack: SpocPack, *, curves: pl.DataFrame | None = None, synthetic: str | None = None) -> bytes:
    """The pack as tagged PDF bytes (PDF/UA-1: structure tags, alt text, document language).
    `synthetic`: the label of a pack built from sample extracts (format.synthetic_label), on page 1."""
    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return HTML(string=render_html(pack, curves=curves, synthetic=synthetic), base_url=None).write_pdf(
        font_config=_font_config(), pdf_variant="pdf/ua-1")


@cache
def _font_config():
    """One fontconfig set-up per process, shared by every pack it renders."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def render_html(pack: SpocPack, *, curves: pl.DataFrame | None = None, synthetic: str | None = None) -> str:
    t = pack.settings.suppression_threshold
    css = CSS % {"area": _css(f"{pack.area_code} {pack.area_name}"), "month": _css(pack.month_label),
                 "build_date": _css(pack.build_date), "t": t, "t1": t - 1}
    e = html.escape
    tables = {s.key: s for s in sheets(pack)}
    where = "the whole force" if pack.area_code == FORCE else f"{pack.area_name} ({pack.area_code})"
    parts = [f"<!doctype html><html lang='en-GB'><head><meta charset='utf-8'>"
             f"<title>Grievances in {e(pack.area_name)}: SPOC pack for {e(pack.month_label)}</title>"
             f"<style>{css}</style></head><body>"]
    parts += _page_one(pack, where, synthetic)
    parts += _tables(pack, tables, curves)
    parts += _notes(pack)
    parts.append("</body></html>")
    return "".join(parts)


def _page_one(pack: SpocPack, where: str, synthetic: str | None) -> list[str]:
    """The title, the synthetic-data label when there is one, the findings ranked, the month's counts."""
    e = html.escape
    parts = []
    parts.append(f"<h1>{e(pack.area_name)}: grievances, {e(pack.month_label)}</h1>")
    if synthetic:
        parts.append(f"<p class='synthetic'><strong>{e(synthetic)}</strong></p>")
    parts.append(f"<p>Monthly pack for the grievance single point of contact and the senior leadership team of "
                 f"{e(where)}. Data built {e(pack.build_date)}.</p>")

    # Page 1: the findings, ranked, then the counts.
    parts.append("<h2>What the figures show</h2>")
    if pack.findings:
        parts.append("<ol class='findings'>" + "".join(f"<li>{e(f.statement)}</li>" for f in pack.findings) + "</ol>")
    parts.append(f"<p class='small'>{e(pack.findings_note)}</p>")
    parts.append(f"<p>{e(pack.funnel_note)}</p>")
    parts.append(f"<section class='keep'><h2>Counts for {e(pack.month_label)}: all staff</h2>")
    if not pack.has_grievances:
        parts.append(f"<p><strong>No grievances were raised, closed or open in {e(where)} in "
                     f"{e(pack.month_label)}.</strong> The 12-month tables still apply.</p>")
    parts.append("<div class='tiles'>" + "".join(
        f"<div class='tile'><div class='v'>{formats.fmt_int(pack.headline[m])}</div><div class='l'>{e(MEASURE_LABELS[m])}</div></div>"
        for m in MEASURES) + "</div>")
    parts.append(f"<p class='small'>{e(RELEASE_STATEMENT)}</p></section>")
    return parts


def _tables(pack: SpocPack, tables: dict[str, Sheet], curves: pl.DataFrame | None) -> list[str]:
    """Every table, each heading kept with it, charts beside the counts, categories, time and funnel."""
    e = html.escape
    parts = []
    counts = tables["monthly_counts"]
    parts.append(_section(counts, _img(charts.trend_chart(pack.table("counts").frame), _trend_alt(pack, counts))))

    parts.append("<h2>Grievances raised, by protected characteristic</h2>")
    for c in ("ethnicity_group", "sex", "disability"):
        s = tables[f"raised_by_{c}"]
        parts.append(_section(s, level=3))
    parts.append("<h2>Grievances upheld, by protected characteristic</h2>")
    for c in ("ethnicity_group", "sex", "disability"):
        parts.append(_section(tables[f"upheld_by_{c}"], level=3))

    cats = tables["categories"]
    parts.append(_section(cats, _img(charts.category_chart(pack.table("categories").frame), _category_alt(cats))))
    parts.append(_section(tables["outcomes"]))
    res = tables["time_to_resolve"]
    chart = charts.resolution_chart(curves)
    extra = (_img(chart, _resolution_alt(pack, res)) if chart else
             "<p class='small'>No chart: too few grievances for a curve that would not single people out.</p>")
    parts.append(_section(res, extra))
    parts.append(_section(tables["independent_assessor"]))

    funnel = tables["funnel"]
    highlight = None if pack.area_code == FORCE else pack.area_code
    img = _img(charts.funnel_chart(pack.table("funnel").frame, highlight), _funnel_alt(pack))
    if highlight is not None:  # the area's own row; every area's row is in the spreadsheets
        own = Sheet(funnel.key, funnel.name, funnel.title, funnel.description, funnel.columns,
                    tuple(r for r in funnel.rows if r[1] == highlight))
        parts.append(_section(own, img + f"<p>{e(pack.funnel_note)}</p>"))
    else:
        parts.append(f"<section><h2>{e(funnel.title)}</h2><p class='small'>{e(funnel.description)}</p>{img}"
                     f"<p>{e(pack.funnel_note)}</p>{_table(funnel)}</section>")
    parts.append(_section(tables["misconduct_referrals"]))
    return parts


def _notes(pack: SpocPack) -> list[str]:
    """The plain-English notes and the shorthand, on the last page."""
    e = html.escape
    t = pack.settings.suppression_threshold
    parts = []
    parts.append("<section class='notes'><h2>How to read this pack</h2>")
    for title, body in notes(pack):
        parts.append(f"<h3>{e(title)}</h3><p class='small'>{e(body)}</p>")
    parts.append("<p class='small'>" + e("; ".join(f"{k} = {v}" for k, v in shorthand_legend(t))) + ".</p>")
    parts.append("</section>")
    return parts


# ------------------------------------------------------------------------------------------------


def _css(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def _img(svg: str | None, alt: str) -> str:
    if svg is None:
        return ""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f"<img class='chart' alt='{html.escape(alt, quote=True)}' src='data:image/svg+xml;base64,{data}'>"


def _section(sheet: Sheet, extra: str = "", *, level: int = 2) -> str:
    """A heading, its description, any chart and the table, kept together on one page."""
    e = html.escape
    head = f"<h{level}>{e(sheet.title)}</h{level}><p class='small'>{e(sheet.description)}</p>"
    if extra:  # a chart: keep it with its heading; its table may start on the next page
        return f"<section><div class='keep'>{head}{extra}</div>{_table(sheet)}</section>"
    return f"<section class='keep'>{head}{_table(sheet)}</section>"


def _table(sheet: Sheet) -> str:
    e = html.escape
    if not sheet.rows:
        return "<p class='small'>No rows for this period.</p>"
    head = "".join(f"<th class='{'t' if c.kind == 'text' else ''}' scope='col'>{e(c.label)}</th>"
                   for c in sheet.columns)
    body = []
    for row in sheet.rows:
        cells = "".join(f"<td class='{'t' if c.kind in ('text', 'month') else 'n'}'>{e(text(v, c.kind))}</td>"
                        for c, v in zip(sheet.columns, row, strict=True))
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


# Alt text: what the chart shows and its main finding, from the same cells as its table.

def _trend_alt(pack: SpocPack, counts: Sheet) -> str:
    raised = counts.column(MEASURE_LABELS["n_raised"])
    months = counts.column("Month")
    peak = max(range(len(raised)), key=lambda i: (raised[i], i)) if raised else None
    trend = next((f for f in pack.findings if f.theme == "Trend over 13 months"), None)
    main = trend.statement if trend else "No rise or fall over the 13 months is statistically supported."
    return (f"Line chart of grievances each month, {months[0]:%B %Y} to {months[-1]:%B %Y}: raised, closed, open at "
            f"month end and open for more than 90 days. {sum(raised)} were raised in the 13 months, most in "
            f"{months[peak]:%B %Y} ({raised[peak]}). {main}" if raised else "Line chart of grievances each month.")


def _category_alt(cats: Sheet) -> str:
    totals = [(r[0], r[-1]) for r in cats.rows[:-1] if isinstance(r[-1], int)]
    if not totals:
        return "Bar chart of grievances raised by category: no category has a total that can be shown."
    top = max(totals, key=lambda x: x[1])
    return (f"Bar chart of grievances raised in the 12 months by category. The most common category is {top[0]} "
            f"({top[1]}).")


def _resolution_alt(pack: SpocPack, res: Sheet) -> str:
    meds = dict(zip(res.column("Where"), res.column("Median days to resolve"), strict=True))
    said = "; ".join(f"{k}: median {text(v, 'days')} days" for k, v in meds.items())
    return (f"Step chart of the share of grievances still open by days since raised, with the 90-day standard "
            f"marked. {said}.")


def _funnel_alt(pack: SpocPack) -> str:
    return (f"Funnel plot of every business area's grievances raised per 1,000 person-years against its size, with "
            f"the range expected from the force's rate. {pack.funnel_note}")
