"""The SPOC pack as an accessible Excel workbook (xlsxwriter), laid out as the Government Analysis
Function's guidance on releasing statistics in spreadsheets asks: a Cover sheet, a Contents sheet
with links, a Notes sheet, then one table per sheet as a marked-up Excel table (title in A1, one
line of guidance in A2, the table from A3), no frozen panes or merged cells, numbers stored as
numbers, shorthand ([c], [z], [x], <5) explained on the cover, and native charts that read only
cells holding numbers.

Deterministic: the document's created date is the warehouse build time and xlsxwriter writes
fixed zip timestamps, so the same warehouse and month give the same bytes.
"""

from __future__ import annotations

import io
from datetime import date, datetime

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from dashboard.exports.format import CONTACT, Column, Sheet, notes, sheets, shorthand_legend
from metrics.spoc import FORCE, MEASURES, SpocPack

TABLE_ROW = 2  # 0-based row of each table's header (A3): title in A1, guidance in A2
NUMBER_FORMATS = {"count": "#,##0", "person_years": "#,##0", "days": "#,##0", "rate": "#,##0.0",
                  "percent": "0.0%", "ratio": "0.00", "p": '[<0.001]"< 0.001";0.000', "month": "mmm yyyy"}


def workbook_title(pack: SpocPack) -> str:
    return f"Grievances in {pack.area_name}: SPOC pack for {pack.month_label}"


def cover_rows(pack: SpocPack, tables: list[Sheet], synthetic: str | None = None) -> list[tuple[str, str]]:
    """The cover's (heading, text) lines after its title: shared with the ODS writer. A pack built
    from sample extracts says so first (`synthetic`, format.synthetic_label)."""
    where = "the whole force" if pack.area_code == FORCE else f"{pack.area_name} ({pack.area_code})"
    return [
        *((("Synthetic data", synthetic),) if synthetic else ()),
        ("About these tables", f"Grievances raised, closed and open in {where}, the findings a leadership team "
                               "can act on, and the tables behind them, by ethnic group, sex and disability."),
        ("Period", f"{pack.month_label} (monthly counts: the 13 months to {pack.month_label}; breakdowns: the 12 "
                   f"months to {pack.month_label})."),
        ("Data date", f"Warehouse built {pack.build_date} (build {pack.build_id})."),
        ("Contact", CONTACT),
        ("Tables", f"This workbook has {len(tables)} tables, one per sheet; the Contents sheet links to each. "
                   "Definitions and methods are on the Notes sheet."),
        *((f"Shorthand {k}", v) for k, v in shorthand_legend(pack.settings.suppression_threshold)),
    ]


def render_xlsx(pack: SpocPack, *, synthetic: str | None = None) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                   "strings_to_urls": False})
    wb.set_properties({"title": workbook_title(pack), "subject": f"{pack.area_name}, {pack.month_label}",
                       "author": "eqdash", "company": "", "comments": f"Warehouse build {pack.build_id}",
                       "created": _created(pack.built_at)})
    fmt = _Formats(wb)
    tables = sheets(pack)
    _cover(wb, fmt, pack, tables, synthetic)
    _contents(wb, fmt, tables)
    _notes(wb, fmt, pack)
    written = {}
    for sheet in tables:
        ws = wb.add_worksheet(sheet.name)
        _table_sheet(ws, fmt, sheet)
        written[sheet.key] = (ws, sheet)
    _charts(wb, pack, written)
    wb.close()
    return buf.getvalue()


class _Formats:
    def __init__(self, wb) -> None:
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.heading = wb.add_format({"bold": True, "font_size": 11, "text_wrap": True, "valign": "top"})
        self.wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        self.link = wb.add_format({"font_color": "#0000FF", "underline": 1})
        self.numbers = {k: wb.add_format({"num_format": f, "valign": "top"}) for k, f in NUMBER_FORMATS.items()}
        self.right = wb.add_format({"align": "right", "valign": "top"})


def _created(built_at: str) -> datetime:
    try:
        return datetime.fromisoformat(built_at).replace(tzinfo=None)
    except ValueError:
        return datetime(2000, 1, 1)


def _cover(wb, fmt: _Formats, pack: SpocPack, tables: list[Sheet], synthetic: str | None) -> None:
    ws = wb.add_worksheet("Cover")
    ws.write_string(0, 0, workbook_title(pack), fmt.title)
    ws.set_column(0, 0, 110, fmt.wrap)
    row = 1
    for heading, body in cover_rows(pack, tables, synthetic):
        ws.write_string(row, 0, heading, fmt.heading)
        ws.write_string(row + 1, 0, body, fmt.wrap)
        row += 2


def _marked_up(ws, fmt: _Formats, title: str, guidance: str, columns: list[Column], rows, name: str) -> None:
    """Title (A1), one line of guidance (A2), then the rows as an Excel table from A3."""
    ws.write_string(0, 0, title, fmt.title)
    ws.write_string(1, 0, guidance)
    last_row = TABLE_ROW + max(len(rows), 1)
    ws.add_table(TABLE_ROW, 0, last_row, len(columns) - 1, {
        "name": name, "style": "Table Style Light 1", "autofilter": False,
        "columns": [{"header": c.label} for c in columns],
    })
    for j, c in enumerate(columns):
        width = 60 if c.label in ("Finding", "Table title", "Note") else max(12, min(30, len(c.label) + 2))
        ws.set_column(j, j, width, fmt.wrap if c.kind == "text" else None)
    for i, values in enumerate(rows, start=TABLE_ROW + 1):
        for j, (c, v) in enumerate(zip(columns, values, strict=True)):
            _write(ws, fmt, i, j, c, v)


def _write(ws, fmt: _Formats, i: int, j: int, column: Column, value) -> None:
    if isinstance(value, bool):
        ws.write_string(i, j, "Yes" if value else "No")
    elif isinstance(value, int | float):
        ws.write_number(i, j, value, fmt.numbers.get(column.kind))
    elif isinstance(value, date):
        ws.write_datetime(i, j, datetime(value.year, value.month, value.day), fmt.numbers["month"])
    elif column.kind != "text":
        ws.write_string(i, j, str(value), fmt.right)  # shorthand in a number column
    else:
        ws.write_string(i, j, str(value), fmt.wrap)


def _contents(wb, fmt: _Formats, tables: list[Sheet]) -> None:
    ws = wb.add_worksheet("Contents")
    cols = [Column("Sheet", "text"), Column("Table title", "text"), Column("About the table", "text")]
    _marked_up(ws, fmt, "Contents", "This worksheet contains one table. Select a sheet name to go to it.", cols,
               [("Notes", "Notes and definitions", "What each word means, what is exact and what is protected, "
                 "and how each finding is tested"),
                *((t.name, t.title, t.description) for t in tables)], "contents")
    ws.set_column(2, 2, 80, fmt.wrap)
    for i, name in enumerate(["Notes", *(t.name for t in tables)], start=TABLE_ROW + 1):
        ws.write_url(i, 0, f"internal:'{name}'!A1", fmt.link, string=name)


def _notes(wb, fmt: _Formats, pack: SpocPack) -> None:
    ws = wb.add_worksheet("Notes")
    rows = [(i, title, body) for i, (title, body) in enumerate(notes(pack), start=1)]
    _marked_up(ws, fmt, "Notes and definitions", "This worksheet contains one table.",
               [Column("Note number", "count"), Column("Subject", "text"), Column("Note", "text")], rows, "notes")
    ws.set_column(1, 1, 28, fmt.wrap)
    ws.set_column(2, 2, 110, fmt.wrap)


def _table_sheet(ws, fmt: _Formats, sheet: Sheet) -> None:
    guidance = (f"This worksheet contains one table. {sheet.description} Shorthand and definitions: see the Cover "
                "and Notes sheets.")
    _marked_up(ws, fmt, sheet.title, guidance, list(sheet.columns), sheet.rows, sheet.key)


def numeric_rows(sheet: Sheet, label: str, rows: list[int] | None = None) -> list[int]:
    """Rows (0-based, within the table) whose cell in the column holds a number."""
    values = sheet.column(label)
    return [i for i in (rows if rows is not None else range(len(values)))
            if isinstance(values[i], int | float) and not isinstance(values[i], bool)]


def _ref(ws, sheet: Sheet, label: str, rows: list[int]) -> str:
    """A chart range over exactly these table rows of one column: a union of single cells when the
    rows are not contiguous, so a hidden cell is never read (Excel would draw its text as zero)."""
    j = [c.label for c in sheet.columns].index(label)
    cells = [xl_rowcol_to_cell(TABLE_ROW + 1 + i, j, row_abs=True, col_abs=True) for i in rows]
    quoted = f"'{ws.name}'"
    if rows == list(range(rows[0], rows[-1] + 1)):
        return f"={quoted}!{cells[0]}:{cells[-1]}"
    return "=(" + ",".join(f"{quoted}!{c}" for c in cells) + ")"


def _place(ws, sheet: Sheet, chart, description: str) -> None:
    """Beside the table, never over it; the description is the chart's alt text."""
    ws.insert_chart(TABLE_ROW, len(sheet.columns) + 1, chart,
                    {"x_scale": 1.5, "y_scale": 1.3, "description": description})


def _charts(wb, pack: SpocPack, written: dict[str, tuple]) -> None:
    """Charts beside their tables: the monthly trend, rates by group, categories and the funnel."""
    _trend_chart(wb, pack, *written["monthly_counts"])
    for c in ("ethnicity_group", "sex", "disability"):
        _rate_chart(wb, *written[f"raised_by_{c}"])
    _category_chart(wb, *written["categories"])
    _funnel_chart(wb, pack, *written["funnel"])


def _trend_chart(wb, pack: SpocPack, ws, sheet: Sheet) -> None:
    chart = wb.add_chart({"type": "line"})
    months = list(range(len(sheet.rows)))
    for k, _m in enumerate(MEASURES):
        label = sheet.columns[k + 1].label
        chart.add_series({"name": label, "categories": _ref(ws, sheet, "Month", months),
                          "values": _ref(ws, sheet, label, numeric_rows(sheet, label)),
                          "marker": {"type": ["circle", "square", "triangle", "diamond"][k]},
                          "line": {"dash_type": ["solid", "dash", "round_dot", "dash_dot"][k], "width": 1.5}})
    chart.set_title({"name": "Grievances each month"})
    chart.set_y_axis({"min": 0, "name": "Grievances"})
    chart.set_x_axis({"date_axis": True, "num_format": "mmm yy"})
    chart.show_blanks_as("gap")
    _place(ws, sheet, chart, f"Line chart of grievances raised, closed, open and open for more than 90 days in "
                          f"each of the 13 months to {pack.month_label}; the numbers are in the table.")


def _rate_chart(wb, ws, sheet: Sheet) -> None:
    label = "Rate per 1,000 person-years"
    rows = numeric_rows(sheet, label)
    if not rows:
        return
    chart = wb.add_chart({"type": "bar"})
    chart.add_series({"name": label, "categories": _ref(ws, sheet, sheet.columns[0].label, rows),
                      "values": _ref(ws, sheet, label, rows),
                      "pattern": {"pattern": "wide_upward_diagonal", "fg_color": "#000000", "bg_color": "#FFFFFF"},
                      "border": {"color": "#000000"}})
    chart.set_title({"name": f"Grievances raised per 1,000 person-years by {sheet.columns[0].label.lower()}"})
    chart.set_x_axis({"name": "Per 1,000 person-years", "min": 0})
    chart.set_legend({"none": True})
    _place(ws, sheet, chart, f"Bar chart of {sheet.title.lower()}; groups whose rate is not shown are left out.")


def _category_chart(wb, ws, sheet: Sheet) -> None:
    total = sheet.columns[-1].label
    rows = numeric_rows(sheet, total, list(range(len(sheet.rows) - 1)))  # not the Total row
    if rows:
        chart = wb.add_chart({"type": "bar"})
        chart.add_series({"name": "Raised in the 12 months", "categories": _ref(ws, sheet, "Category", rows),
                          "values": _ref(ws, sheet, total, rows), "border": {"color": "#000000"},
                          "pattern": {"pattern": "light_upward_diagonal", "fg_color": "#000000", "bg_color": "#FFFFFF"}})
        chart.set_title({"name": "Grievances raised in the 12 months by category"})
        chart.set_legend({"none": True})
        _place(ws, sheet, chart, "Bar chart of grievances raised in the 12 months by category, all groups together; "
                              "categories whose total is not shown are left out.")


def _funnel_chart(wb, pack: SpocPack, ws, sheet: Sheet) -> None:
    x, y = "Person-years", "Rate per 1,000 person-years"
    rows = numeric_rows(sheet, y, numeric_rows(sheet, x))
    if rows:
        chart = wb.add_chart({"type": "scatter"})
        chart.add_series({"name": "Business areas", "categories": _ref(ws, sheet, x, rows),
                          "values": _ref(ws, sheet, y, rows),
                          "marker": {"type": "circle", "size": 5, "border": {"color": "#0072B2"}, "fill": {"none": True}}})
        for label, marker in (("Upper 95% limit (per 1,000)", "short_dash"), ("Upper 99.8% limit (per 1,000)", "x")):
            chart.add_series({"name": label, "categories": _ref(ws, sheet, x, rows),
                              "values": _ref(ws, sheet, label, numeric_rows(sheet, label, rows)),
                              "marker": {"type": marker, "size": 4, "border": {"color": "#8C8C8C"}}})
        codes = sheet.column("Code")
        if pack.area_code in codes and codes.index(pack.area_code) in rows:
            i = [codes.index(pack.area_code)]
            chart.add_series({"name": pack.area_name, "categories": _ref(ws, sheet, x, i), "values": _ref(ws, sheet, y, i),
                              "marker": {"type": "diamond", "size": 9, "fill": {"color": "#000000"}}})
        chart.set_title({"name": "Grievances raised per 1,000 person-years by business area"})
        chart.set_x_axis({"name": "Person-years (12 months)"})
        chart.set_y_axis({"name": "Per 1,000 person-years", "min": 0})
        _place(ws, sheet, chart, "Funnel plot: each business area's grievance rate per 1,000 person-years against its "
                              "person-years, with the force's upper 95% and 99.8% limits.")
