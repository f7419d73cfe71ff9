"""Read an extract's text (or Parquet) into a frame of text columns named as its header says.

The blocking checks on the header and the CSV shape live here: CR-only line endings, an
unterminated quote, a title line above the header, a delimiter other than the comma, duplicate
header names and rows with more fields than the header. Tolerated with a note: a UTF-8 byte-order
mark, CRLF line endings and a trailing Ctrl-Z.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from data_contracts.contract import Contract
from data_contracts.errors import BlockingError
from data_contracts.files import decode, sniff_binary
from data_contracts.mapping import ExtractMapping

_BOM = b"\xef\xbb\xbf"
_OTHER_DELIMITERS = {";": "semicolons (';')", "\t": "tabs", "|": "pipes ('|')"}

# A header cell left blank names its column UNNAMED + its position (1-based), so it can be checked.
UNNAMED = "__unnamed_"


def _header_cells(text: str) -> list[str]:
    # the header is the first record; 1 MiB is far more than any header, and avoids copying a big file
    return next(csv.reader(io.StringIO(text[: 1 << 20])), [])


def _raise_unterminated_quote(text: str, name: str) -> None:
    reader = csv.reader(io.StringIO(text), strict=True)
    records, last_line = 0, 0
    try:
        for _ in reader:
            records += 1
            last_line = reader.line_num
    except csv.Error:
        row, line = records + 1, last_line + 1
        start = text.split("\n")[line - 1] if line - 1 < text.count("\n") + 1 else ""
        raise BlockingError(
            name, "unterminated_quote",
            f"row {row} (line {line}) opens a quoted value that is never closed, so everything after it would be read "
            f"as one value: {start[:60]!r}; close the quote or remove it",
            row=row,
        ) from None


def _check_title_line(text: str, header: list[str], expected: set[str], name: str) -> None:
    """A report title or export banner above the header (the header is further down)."""
    if {h.strip() for h in header} & expected:
        return
    lines = csv.reader(io.StringIO("\n".join(text[: 1 << 16].splitlines()[1:10])))
    for number, cells in enumerate(lines, start=2):
        found = {c.strip() for c in cells} & expected
        if len(found) >= min(2, len(expected)):
            title = ",".join(header).strip()
            raise BlockingError(
                name, "title_line",
                f"line 1 ({title[:60]!r}) is not the header: the header is on line {number}; delete the "
                f"line(s) above it so the header is the first line",
                row=1,
            )


def _check_delimiter(text: str, header: list[str], name: str, expected: set[str]) -> None:
    first_line = text.split("\n", 1)[0]
    if len(header) > 1 and expected & {h.strip() for h in header}:
        return
    for delimiter, words in _OTHER_DELIMITERS.items():
        parts = [p.strip().strip('"') for p in first_line.split(delimiter)]
        if len(parts) > 1 and (expected & set(parts) or len(header) <= 1):
            raise BlockingError(
                name,
                "delimiter",
                f"the file is separated by {words}, not commas; re-export it as comma-separated CSV",
                row=1,
            )


def _locate_bad_field_count(text: str, name: str, width: int) -> BlockingError | None:
    for number, record in enumerate(csv.reader(io.StringIO(text)), start=1):
        if len(record) > width:
            return BlockingError(
                name,
                "field_count",
                f"row {number} has {len(record)} fields but the header has {width} "
                "(an unquoted comma in a value?)",
                row=number,
            )
    return None


def read_csv_text(data: bytes, name: str, notes: list[str], source_names: set[str]) -> pl.DataFrame:
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
        notes.append("UTF-8 byte-order mark removed")
    if data[-64:].rstrip(b"\r\n\t ").endswith(b"\x1a"):  # the tail only: rstrip copies the whole file
        # DOS end-of-file mark left by old export tools: not data
        data = data.rstrip(b"\r\n\t ").rstrip(b"\x1a").rstrip(b"\r\n") + b"\n"
        notes.append("a trailing end-of-file mark (Ctrl-Z, byte 0x1A) was ignored")
    try:
        return _read_csv_text(data, name, notes, source_names)
    except BlockingError as exc:
        if exc.rule != "encoding":
            decode(data, name)  # bytes that are not UTF-8 are the problem to name first, wherever they are
        raise


def _read_csv_text(data: bytes, name: str, notes: list[str], source_names: set[str]) -> pl.DataFrame:
    """The checks work on the bytes and on the decoded head; the whole file is decoded to text only on
    the way to an error. Polars checks that every value is UTF-8 as it parses (an invalid byte anywhere
    is a parse error, then named by ``decode``), so the file is not decoded twice. In UTF-8 the bytes of
    CR, LF and the double quote are those characters only, so counting bytes counts characters."""
    sniff_binary(data, name)
    head = _head(data, name)
    if not head.strip() and (len(head) == len(data) or not decode(data, name).strip()):
        raise BlockingError(name, "empty_file", "the file has no header and no rows (only blank space)")
    first_cr = data.find(b"\r")
    crlf = first_cr >= 0 and (data[first_cr + 1 : first_cr + 2] == b"\n" or b"\r\n" in data)
    if crlf:
        notes.append("Windows (CRLF) line endings read")
    elif first_cr >= 0 and "\n" not in decode(data, name).strip():
        raise BlockingError(name, "line_endings", "lines end with a carriage return only (CR, old Mac OS style), so the "
                                                  "whole file reads as one line; re-export it with LF or CRLF line endings",
                            row=1)
    if data.count(b'"') % 2:
        _raise_unterminated_quote(decode(data, name), name)
    if "\n" not in head and len(head) < len(data):
        head = decode(data, name)  # a first line longer than the head: the delimiter check reads all of it
    header = _header_cells(head)
    _check_title_line(head, header, source_names, name)
    _check_delimiter(head, header, name, source_names)
    try:
        frame = pl.read_csv(
            io.BytesIO(data),
            has_header=False,
            infer_schema=False,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        located = _locate_bad_field_count(decode(data, name), name, len(header))
        if located is not None:
            raise located from None
        first_line = str(exc).strip().splitlines()[0]
        raise BlockingError(name, "csv_parse", f"the file could not be parsed as CSV: {first_line}") from None
    if frame.height == 0:
        raise BlockingError(name, "empty_file", "the file has no header and no rows")
    # has_header=False keeps header cells as data row 0, so empty and duplicate names survive to be checked
    names = [("" if v is None else str(v)) for v in frame.row(0)]
    frame = frame.slice(1)
    return _name_columns(frame, names, name)


_HEAD_BYTES = 4 << 20  # at least the 1 MiB of characters the header checks read (4 bytes a character at most)


def _head(data: bytes, name: str) -> str:
    """The file's first bytes as text, cut at a character boundary; an encoding error in them is named
    by ``decode`` as for the whole file."""
    head = data[:_HEAD_BYTES]
    if len(head) < len(data):
        cut = len(head)
        while cut > len(head) - 4 and cut > 0 and (head[cut - 1] & 0xC0) == 0x80:
            cut -= 1  # back over continuation bytes to the lead byte of a character the cut splits
        if cut > 0 and head[cut - 1] >= 0xC0:
            cut -= 1  # the lead byte itself
        head = head[:cut]
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError:
        decode(data, name)  # raises, naming the first bad byte of the file
        raise


def _name_columns(frame: pl.DataFrame, names: list[str], name: str) -> pl.DataFrame:
    names = [n.strip() for n in names]
    positions: dict[str, list[int]] = {}
    for i, n in enumerate(names, start=1):
        if n:
            positions.setdefault(n, []).append(i)
    for n, where in positions.items():
        if len(where) > 1:
            raise BlockingError(
                name,
                "duplicate_header",
                f"column name {n!r} appears {len(where)} times in the header (columns {', '.join(map(str, where))})",
                column=n,
                row=1,
            )
    renamed = {old: (new or f"{UNNAMED}{i}") for i, (old, new) in enumerate(zip(frame.columns, names, strict=True), 1)}
    return frame.rename(renamed)


def read_parquet_text(path: Path, contract: Contract, notes: list[str], mapping: ExtractMapping | None = None) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable parquet is the same blocking failure
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BlockingError(path.name, "parquet_read", f"the file could not be read as Parquet: {first_line}") from None
    types = {(mapping.source_name(c.name) if mapping else c.name): c.type for c in contract.columns}  # by source name
    casts = []
    for col, dtype in frame.schema.items():
        expr = pl.col(col)
        if dtype.is_float() and types.get(col) == "integer":
            # 3.0 from a float column is the whole number 3, not a type failure
            expr = pl.when(expr == expr.floor()).then(expr.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(expr.cast(pl.String))
        elif isinstance(dtype, pl.Datetime):
            expr = expr.dt.strftime("%Y-%m-%d")
        else:
            expr = expr.cast(pl.String)
        casts.append(expr.alias(col))
    if casts:
        frame = frame.select(casts)
    notes.append("read from Parquet")
    return _name_columns(frame, list(frame.columns), path.name)

