"""The SPOC pack as an OpenDocument spreadsheet (odfpy), published beside the Excel workbook as the
Analysis Function's guidance recommends: the same Cover, Contents (with links), Notes and one table
per sheet, numbers stored as numbers (shares as percentages, months as dates), shorthand as text.
No charts: the PDF and the Excel workbook carry them.

Deterministic: odfpy stamps the zip entries with the clock, so the archive is rewritten with the
warehouse build time (mimetype first and uncompressed, as the format requires).
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

from odf.opendocument import OpenDocumentSpreadsheet
from odf.style import ParagraphProperties, Style, TableColumnProperties, TextProperties
from odf.table import Table, TableCell, TableColumn, TableRow
from odf.text import A, P

from dashboard.exports.format import Column, notes, sheets, text
from dashboard.exports.xlsx import _created, cover_rows, workbook_title
from metrics.spoc import SpocPack

_WARM: list[bool] = []


def render_ods(pack: SpocPack, *, synthetic: str | None = None) -> bytes:
    # odfpy declares namespaces from process-wide state that grows during the first document it
    # writes: write one and throw it away, so every pack of the process has the same bytes.
    if not _WARM:
        _WARM.append(True)
        _render(pack, synthetic)
    return _render(pack, synthetic)


def _render(pack: SpocPack, synthetic: str | None) -> bytes:
    doc = OpenDocumentSpreadsheet()
    bold = Style(name="Heading", family="paragraph")
    bold.addElement(TextProperties(fontweight="bold"))
    title = Style(name="Title", family="paragraph")
    title.addElement(TextProperties(fontweight="bold", fontsize="14pt"))
    wrap = Style(name="Wrap", family="paragraph")
    wrap.addElement(ParagraphProperties())
    wide = Style(name="Wide", family="table-column")
    wide.addElement(TableColumnProperties(columnwidth="12cm"))
    for s in (bold, title, wrap, wide):
        doc.automaticstyles.addElement(s)
    styles = {"title": title, "bold": bold, "wide": wide}

    tables = sheets(pack)
    cover = Table(name="Cover")
    cover.addElement(TableColumn(stylename=wide))
    cover.addElement(_row([_text(workbook_title(pack), title)]))
    for heading, body in cover_rows(pack, tables, synthetic):
        cover.addElement(_row([_text(heading, bold)]))
        cover.addElement(_row([_text(body)]))
    doc.spreadsheet.addElement(cover)

    contents = [("Notes", "Notes and definitions", "What each word means, what is exact and what is protected, "
                 "and how each finding is tested"), *((t.name, t.title, t.description) for t in tables)]
    doc.spreadsheet.addElement(_table("Contents", "Contents", "This worksheet contains one table. Select a sheet name "
                                      "to go to it.", [Column("Sheet", "text"), Column("Table title", "text"),
                                                       Column("About the table", "text")], contents, styles, links=True))
    doc.spreadsheet.addElement(_table(
        "Notes", "Notes and definitions", "This worksheet contains one table.",
        [Column("Note number", "count"), Column("Subject", "text"), Column("Note", "text")],
        [(i, t, b) for i, (t, b) in enumerate(notes(pack), start=1)], styles))
    for sheet in tables:
        doc.spreadsheet.addElement(_table(
            sheet.name, sheet.title, f"This worksheet contains one table. {sheet.description} Shorthand and "
            "definitions: see the Cover and Notes sheets.", list(sheet.columns), sheet.rows, styles))
    buf = io.BytesIO()
    doc.write(buf)
    return _fixed_times(buf.getvalue(), _created(pack.built_at))


def _text(value: str, style=None) -> TableCell:
    cell = TableCell(valuetype="string")
    cell.addElement(P(text=value, stylename=style) if style is not None else P(text=value))
    return cell


def _row(cells) -> TableRow:
    row = TableRow()
    for c in cells:
        row.addElement(c)
    return row


def _cell(column: Column, value) -> TableCell:
    if isinstance(value, bool):
        return _text("Yes" if value else "No")
    if isinstance(value, date):
        cell = TableCell(valuetype="date", datevalue=value.isoformat())
    elif isinstance(value, int | float):
        cell = TableCell(valuetype="percentage" if column.kind == "percent" else "float", value=value)
    else:
        return _text(str(value))
    cell.addElement(P(text=text(value, column.kind)))  # the value as the PDF prints it
    return cell


def _table(name: str, title: str, guidance: str, columns: list[Column], rows, styles, *, links: bool = False) -> Table:
    """Title in A1, guidance in A2, the header row in A3 and the data below it: one table a sheet."""
    t = Table(name=name)
    for c in columns:
        t.addElement(TableColumn(stylename=styles["wide"]) if c.kind == "text" else TableColumn())
    t.addElement(_row([_text(title, styles["title"])]))
    t.addElement(_row([_text(guidance)]))
    t.addElement(_row([_text(c.label, styles["bold"]) for c in columns]))
    for values in rows:
        cells = [_cell(c, v) for c, v in zip(columns, values, strict=True)]
        if links:
            link = TableCell(valuetype="string")
            p = P()
            p.addElement(A(href=f"#'{values[0]}'.A1", text=str(values[0])))
            link.addElement(p)
            cells[0] = link
        t.addElement(_row(cells))
    return t


def _fixed_times(data: bytes, when: datetime) -> bytes:
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        names = sorted(src.namelist(), key=lambda n: n != "mimetype")
        for n in names:
            info = zipfile.ZipInfo(n, stamp)
            info.compress_type = zipfile.ZIP_STORED if n == "mimetype" else zipfile.ZIP_DEFLATED
            dst.writestr(info, src.read(n))
    return out.getvalue()
