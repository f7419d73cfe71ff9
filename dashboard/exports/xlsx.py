"""The SPOC pack as an Excel workbook (xlsxwriter): a Summary sheet, one sheet per table with a
frozen header row and number formats, native Excel charts, and a Notes sheet.

Deterministic: the document's created date is the warehouse build time and xlsxwriter writes
fixed zip timestamps, so the same warehouse and month give the same bytes.
"""

from __future__ import annotations

import io
from datetime import date, datetime

import polars as pl
import xlsxwriter

from dashboard.exports.format import cell_value, label, sheet_columns, stable
from dashboard.exports.pdf import notes
from metrics.spoc import MEASURES, SpocPack

HEADER_ROWS = 3  # provenance line, table title, blank; the column header row follows
NUMBER_FORMATS = {
    "rate": "0.0%", "ci_low": "0.0%", "ci_high": "0.0%", "overall_rate": "0.000000",
    "ratio": "0.00", "ratio_ci_low": "0.00", "ratio_ci_high": "0.00",
    "p_value": "0.0000", "p_adjusted": "0.0000", "exposure": "#,##0.0", "rate_per_1000": "0.00",
    "median_days": "0.0", "median_ci_low": "0.0", "median_ci_high": "0.0",
}


def render_xlsx(pack: SpocPack) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                   "strings_to_urls": False})
    created = _created(pack.built_at)
    wb.set_properties({"title": f"SPOC grievance pack {pack.area_code} {pack.month_start:%Y-%m}",
                       "subject": f"{pack.area_name}, {pack.month_label}", "author": "eqdash",
                       "company": "", "comments": f"Warehouse build {pack.build_id}", "created": created})
    fmt = _Formats(wb)
    provenance = (f"{pack.area_code} {pack.area_name} · {pack.month_label} · built {pack.build_date} · "
                  f"warehouse build {pack.build_id}")
    _summary(wb, fmt, pack, provenance)
    sheets: dict[str, tuple] = {}
    for table in pack.tables:
        ws = wb.add_worksheet(table.key[:31])
        frame = stable(table.frame)
        columns = sheet_columns(frame)
        _provenance(ws, fmt, provenance, f"{table.title} ({table.period})", table.description)
        _write_frame(ws, fmt, frame, columns, HEADER_ROWS + 1)
        sheets[table.key] = (ws, columns, frame)
    _charts(wb, pack, sheets)
    ws = wb.add_worksheet("Notes")
    _provenance(ws, fmt, provenance, "Notes and definitions", "")
    ws.set_column(0, 0, 120)
    for i, note in enumerate(notes(pack)):
        ws.write_string(HEADER_ROWS + 1 + i, 0, note, fmt.wrap)
    wb.close()
    return buf.getvalue()


class _Formats:
    def __init__(self, wb) -> None:
        self.title = wb.add_format({"bold": True, "font_size": 12})
        self.small = wb.add_format({"font_size": 8, "font_color": "#333333"})
        self.header = wb.add_format({"bold": True, "bg_color": "#EEEEEE", "border": 1, "text_wrap": True,
                                     "valign": "top"})
        self.wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        self.right = wb.add_format({"align": "right"})
        self.date = wb.add_format({"num_format": "yyyy-mm-dd"})
        self.big = wb.add_format({"bold": True, "font_size": 16, "align": "right"})
        self.numbers = {c: wb.add_format({"num_format": f}) for c, f in NUMBER_FORMATS.items()}
        self.integer = wb.add_format({"num_format": "#,##0"})


def _created(built_at: str) -> datetime:
    try:
        return datetime.fromisoformat(built_at).replace(tzinfo=None)
    except ValueError:
        return datetime(2000, 1, 1)


def _provenance(ws, fmt: _Formats, provenance: str, title: str, description: str) -> None:
    ws.write_string(0, 0, provenance, fmt.small)
    ws.write_string(1, 0, title, fmt.title)
    if description:
        ws.write_string(2, 0, description, fmt.small)
    ws.set_header(f"&L&8{provenance.replace('&', '&&')}")
    ws.set_footer("&R&8Page &P of &N")
    ws.set_paper(9)  # A4


def _write_frame(ws, fmt: _Formats, frame: pl.DataFrame, columns: list[str], header_row: int) -> None:
    for j, c in enumerate(columns):
        ws.write_string(header_row, j, label(c), fmt.header)
        width = max(10, min(45, len(label(c)) + 2))
        if c in ("statement",):
            width = 110
        elif c in ("method", "note", "description"):
            width = 45
        ws.set_column(j, j, width, fmt.numbers.get(c))
    ws.freeze_panes(header_row + 1, 0)
    for i, row in enumerate(frame.iter_rows(named=True), start=header_row + 1):
        for j, c in enumerate(columns):
            _write_cell(ws, fmt, i, j, c, cell_value(row, c))
    if frame.height:
        ws.autofilter(header_row, 0, header_row + frame.height, len(columns) - 1)


def _write_cell(ws, fmt: _Formats, i: int, j: int, column: str, value) -> None:
    if value is None:
        ws.write_blank(i, j, None)
    elif isinstance(value, bool):
        ws.write_boolean(i, j, value)
    elif isinstance(value, int | float):
        ws.write_number(i, j, value, fmt.numbers.get(column, fmt.integer if isinstance(value, int) else None))
    elif isinstance(value, datetime | date):
        ws.write_datetime(i, j, datetime(value.year, value.month, value.day), fmt.date)
    elif isinstance(value, str):
        ws.write_string(i, j, value, fmt.right if value.startswith("<") or value == "[c]" else None)
    else:
        ws.write_string(i, j, str(value))


def _summary(wb, fmt: _Formats, pack: SpocPack, provenance: str) -> None:
    ws = wb.add_worksheet("Summary")
    _provenance(ws, fmt, provenance, f"{pack.area_name}: grievances, {pack.month_label}", "")
    ws.set_column(0, 0, 48)
    ws.set_column(1, 1, 14)
    row = HEADER_ROWS + 1
    ws.write_string(row, 0, "Measure", fmt.header)
    ws.write_string(row, 1, pack.month_label, fmt.header)
    for m, name in MEASURES.items():
        row += 1
        ws.write_string(row, 0, name)
        value = pack.headline[m]
        if value is None:
            ws.write_string(row, 1, pack.headline_display[m], fmt.right)
        else:
            ws.write_number(row, 1, value, fmt.integer)
    row += 2
    if not pack.has_grievances:
        ws.write_string(row, 0, f"No grievances were raised, closed or open in {pack.area_name} in "
                                f"{pack.month_label}.", fmt.title)
        row += 2
    ws.write_string(row, 0, "Themes and trends", fmt.title)
    for th in pack.themes:
        row += 1
        ws.write_string(row, 0, th.statement)
    row += 1
    ws.write_string(row, 0, pack.themes_note, fmt.small)
    row += 2
    ws.write_string(row, 0, pack.funnel_note)
    ws.freeze_panes(HEADER_ROWS + 2, 0)


def _charts(wb, pack: SpocPack, sheets: dict[str, tuple]) -> None:
    """Native Excel charts beside their data: trend lines, categories bars, the funnel."""
    ws, columns, frame = sheets["trend"]
    first = HEADER_ROWS + 2
    n_months = frame["month_start"].n_unique()
    chart = wb.add_chart({"type": "line"})
    mcol, ncol = columns.index("month_start"), columns.index("n")
    markers = ["circle", "square", "triangle", "diamond"]
    dashes = ["solid", "dash", "round_dot", "dash_dot"]
    for k, name in enumerate(MEASURES.values()):
        top = first + k * n_months  # the trend sheet is sorted by measure, then month
        chart.add_series({
            "name": name,
            "categories": [ws.name, top, mcol, top + n_months - 1, mcol],
            "values": [ws.name, top, ncol, top + n_months - 1, ncol],
            "marker": {"type": markers[k]}, "line": {"dash_type": dashes[k], "width": 1.5},
        })
    chart.set_title({"name": "Grievances each month"})
    chart.set_y_axis({"min": 0, "name": "Grievances"})
    chart.set_x_axis({"date_axis": True, "num_format": "mmm yy"})
    chart.show_blanks_as("gap")
    ws.insert_chart(HEADER_ROWS + 1, len(columns) + 1, chart, {"x_scale": 1.6, "y_scale": 1.2})

    ws, columns, frame = sheets["categories"]
    rows = [i for i, (g, c) in enumerate(frame.select("group", "category").iter_rows())
            if g == "Total" and c != "Total"]
    if rows:
        chart = wb.add_chart({"type": "bar"})
        ccol, ncol = columns.index("category"), columns.index("n")
        r0, r1 = HEADER_ROWS + 1 + rows[0] + 1, HEADER_ROWS + 1 + rows[-1] + 1
        chart.add_series({"name": "Raised (12 months)", "categories": [ws.name, r0, ccol, r1, ccol],
                          "values": [ws.name, r0, ncol, r1, ncol],
                          "pattern": {"pattern": "wide_upward_diagonal", "fg_color": "#000000",
                                      "bg_color": "#FFFFFF"}, "border": {"color": "#000000"}})
        chart.set_title({"name": "Grievances raised by category"})
        chart.set_legend({"none": True})
        ws.insert_chart(HEADER_ROWS + 1, len(columns) + 1, chart, {"x_scale": 1.4, "y_scale": 1.3})

    ws, columns, frame = sheets["funnel"]
    if frame.height and "exposure" in columns and "rate" in columns:
        chart = wb.add_chart({"type": "scatter"})
        scol, rcol = columns.index("exposure"), columns.index("rate")
        r0, r1 = HEADER_ROWS + 2, HEADER_ROWS + 1 + frame.height
        chart.add_series({"name": "Business areas", "categories": [ws.name, r0, scol, r1, scol],
                          "values": [ws.name, r0, rcol, r1, rcol],
                          "marker": {"type": "circle", "size": 5, "border": {"color": "#0072B2"},
                                     "fill": {"none": True}}})
        # Limits as small markers per area (areas are not sorted by size, so no joining line).
        for col, marker in (("upper_95", "short_dash"), ("lower_95", "short_dash"), ("upper_99_8", "x"),
                            ("lower_99_8", "x")):
            if col in columns:
                chart.add_series({"name": label(col), "categories": [ws.name, r0, scol, r1, scol],
                                  "values": [ws.name, r0, columns.index(col), r1, columns.index(col)],
                                  "marker": {"type": marker, "size": 4, "border": {"color": "#8C8C8C"}}})
        if pack.area_code in frame["group"].to_list():
            i = frame["group"].to_list().index(pack.area_code)
            chart.add_series({"name": "This area", "categories": [ws.name, r0 + i, scol, r0 + i, scol],
                              "values": [ws.name, r0 + i, rcol, r0 + i, rcol],
                              "marker": {"type": "diamond", "size": 9, "fill": {"color": "#000000"}}})
        chart.set_title({"name": "Grievance rate per person-year by business area"})
        chart.set_x_axis({"name": "Person-years (12 months)"})
        chart.set_y_axis({"name": "Grievances per person-year"})
        ws.insert_chart(HEADER_ROWS + 1, len(columns) + 1, chart, {"x_scale": 1.6, "y_scale": 1.4})
