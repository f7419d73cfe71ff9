"""Validate the extracts in a data directory against their contracts: accept, quarantine or block.

Every input row ends up either accepted (typed, ready to load) or quarantined with each rule it
broke; ``rows_read == rows_accepted + rows_quarantined`` is asserted per extract. A file that
cannot be read as its contract describes raises ``BlockingError`` (one line: file, column, row,
rule) and nothing is built.

Blocking (the whole build stops):
  missing extract file (or both .csv and .parquet present), a symbolic link that loops or leads
  nowhere, 0-byte or blank file, header but no data rows (no extract may legitimately be empty for
  this product), bytes that are not CSV text (Parquet, gzip, zip/xlsx, UTF-16 with or without a
  byte-order mark: named by their first bytes), undecodable bytes (not UTF-8), CR-only line
  endings, an unterminated quote (named with the row it opened on), a title line above the header,
  wrong delimiter (semicolon, tab or pipe), duplicate header names, a contract column missing from
  the header (optional means the *values* may be blank, not that the column may go), an unnamed
  column holding data, a row with more fields than the header, and a column of the wrong type:
  more than half (COLUMN_TYPE_THRESHOLD) of its non-blank values fail to parse.
Tolerated, with a note (nothing in the contract is lost):
  UTF-8 byte-order mark, CRLF line endings, a trailing Ctrl-Z, quoted commas and newlines,
  surrounding whitespace (trimmed; blank = missing), unnamed all-empty columns (dropped), codes in
  the wrong case (normalised to the code list's case and counted), unknown extra columns (ignored
  with a warning note), open-end markers (9999-12-31: read as blank) and end dates after the as-of
  date (still open at it; staging clips them). A mapping file (data_contracts/mapping.py) renames,
  recodes and re-dates a source export before any of this.
Row-level (the row is quarantined; it appears once per rule broken, counts once):
  required, type, pattern, codes, min, max, not_future, date_floor, unique, references,
  date_order, both_or_neither, not_greater, duplicate_spell, overlapping_spell, outside_service.
  - unique: keys compare as the contract's types ("01" is 1); every row sharing a duplicated key is
    quarantined, not just the later ones, because nothing says which of them is right.
  - references: the value must be among the ACCEPTED rows of the referenced extract, so a
    quarantined person takes their grievances, postings and cases with them (the message says so).

Who evaluates what: great-expectations evaluates required, pattern, codes, min, max, not_future,
date_floor, unique, date_order and not_greater, on DISTINCT values stacked over every extract in
one batch (see "great-expectations on distinct values" below), and the verdicts are joined back to
rows, so the work grows with distinct values rather than rows or duplicates. Polars evaluates type
(parsing is what produces the typed columns), both_or_neither (GX has no "both or neither null"
expectation), references, spells and service (cross-row and cross-extract checks GX cannot express).

Source rows use spreadsheet numbering: header = row 1, first data row = row 2. With quoted
newlines this is the record number + 1, not the text line.
"""

from __future__ import annotations

import csv
import difflib
import errno
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from data_contracts.contract import (
    CONTRACTS_DIR,
    DEFAULT_MIN_DATE,
    Code,
    Column,
    Contract,
    load_codes,
    load_contracts,
)
from data_contracts.errors import BlockingError
from data_contracts.mapping import DEFAULT_OPEN_END_MARKERS, ExtractMapping, Mapping, apply_mapping

# A typed column with more than this share of unparsable non-blank values is the wrong type for
# the whole file (a blocking error); at or below it the bad values are row-level type failures.
COLUMN_TYPE_THRESHOLD = 0.5

QUARANTINE_SCHEMA = {
    "extract": pl.String,
    "file": pl.String,
    "source_row": pl.Int64,
    "rule": pl.String,
    "column_name": pl.String,
    "value": pl.String,
    "message": pl.String,
}

_BOM = b"\xef\xbb\xbf"
_EPOCH = date(1970, 1, 1)
_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
_INT_RE = r"^[+-]?\d+$"
_NUM_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_TYPE_WORDS = {"date": "dates (YYYY-MM-DD)", "integer": "whole numbers", "number": "numbers"}
_TYPE_ONE = {"date": "a date (YYYY-MM-DD)", "integer": "a whole number", "number": "a number"}
_POLARS_TYPES = {"string": pl.String, "integer": pl.Int64, "number": pl.Float64, "date": pl.Date}
_OTHER_DELIMITERS = {";": "semicolons (';')", "\t": "tabs", "|": "pipes ('|')"}


@dataclass
class ExtractResult:
    """One extract's outcome: the accepted typed rows, the quarantine rows and the audit counts."""

    extract: str
    file: str
    sha256: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    n_normalised: int
    notes: tuple[str, ...]
    accepted: pl.DataFrame
    quarantine: pl.DataFrame
    rejected: pl.DataFrame  # the quarantined rows as read (text) with their source_row

    def audit_row(self) -> dict:
        return {
            "extract": self.extract,
            "file": self.file,
            "sha256": self.sha256,
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_quarantined": self.rows_quarantined,
            "n_normalised": self.n_normalised,
            "notes": "; ".join(self.notes),
        }


@dataclass
class ValidationResult:
    extracts: dict[str, ExtractResult] = field(default_factory=dict)
    as_of: date | None = None
    as_of_source: str = ""

    @property
    def quarantine(self) -> pl.DataFrame:
        frames = [r.quarantine for r in self.extracts.values()]
        if not frames:
            return pl.DataFrame(schema=QUARANTINE_SCHEMA)
        return pl.concat(frames, how="vertical")

    @property
    def n_normalised(self) -> int:
        return sum(r.n_normalised for r in self.extracts.values())


class ReconciliationError(AssertionError):
    """rows_read != rows_accepted + rows_quarantined: a bug in this module, never bad input."""


# --------------------------------------------------------------------------------------------
# Reading: bytes -> a frame of trimmed text columns named as the header says
# --------------------------------------------------------------------------------------------


def find_extract_file(data_dir: Path, extract: str) -> Path:
    csv_path, parquet_path = data_dir / f"{extract}.csv", data_dir / f"{extract}.parquet"
    for path in (csv_path, parquet_path):
        _check_link(path)
    if csv_path.exists() and parquet_path.exists():
        raise BlockingError(
            csv_path.name,
            "ambiguous_file",
            f"both {csv_path.name} and {parquet_path.name} are in {data_dir}; keep only one",
        )
    if csv_path.exists():
        return csv_path
    if parquet_path.exists():
        return parquet_path
    raise BlockingError(
        csv_path.name,
        "missing_file",
        f"extract {extract!r} is missing: expected {csv_path.name} (or {parquet_path.name}) in {data_dir}",
    )


def _check_link(path: Path) -> None:
    """A path that is a link but leads nowhere: say which, rather than 'missing'."""
    if not os.path.islink(path):
        return
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise BlockingError(path.name, "symlink_loop",
                                f"{path} is a symbolic link that loops back on itself ({os.readlink(path)!r}); "
                                "point it at the extract file") from None
        raise BlockingError(path.name, "broken_link",
                            f"{path} is a symbolic link to {os.readlink(path)!r}, which does not exist") from None


def _sniff_binary(data: bytes, name: str) -> None:
    """Files that are not text at all, named by what their first bytes say they are."""
    if data.startswith(b"PAR1"):
        stem = name.rsplit(".", 1)[0]
        raise BlockingError(name, "not_csv", f"the file is Parquet, not CSV (it starts with the Parquet mark PAR1); "
                                             f"name it {stem}.parquet")
    if data.startswith(b"\x1f\x8b"):
        raise BlockingError(name, "not_csv", "the file is gzip-compressed (it starts with the gzip mark 1F 8B); "
                                             "decompress it first (gunzip)")
    if data.startswith(b"PK\x03\x04"):
        what = "an Excel workbook (.xlsx)" if b"xl/" in data[:4096] or b"[Content_Types].xml" in data[:4096] else "a zip archive"
        raise BlockingError(name, "not_csv", f"the file is {what}, not CSV (it starts with the zip mark PK); "
                                             "save or extract it as CSV UTF-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BlockingError(name, "encoding", "the file is UTF-16 encoded (it starts with a UTF-16 byte-order mark); re-export it as UTF-8")
    head = data[:4096]
    if len(head) >= 4:
        even, odd = head[0::2], head[1::2]
        # ASCII text in UTF-16 has a zero byte in every other position
        for zeros, order in ((odd, "little-endian"), (even, "big-endian")):
            if zeros.count(0) > 0.9 * len(zeros) and (even if zeros is odd else odd).count(0) < 0.1 * len(zeros):
                raise BlockingError(name, "encoding", f"the file is UTF-16 ({order}) without a byte-order mark: every "
                                                      "other byte is zero; re-export it as UTF-8")


def _decode(data: bytes, name: str) -> str:
    _sniff_binary(data, name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1].hex().upper()
        raise BlockingError(
            name,
            "encoding",
            f"byte 0x{bad} at byte offset {exc.start} (line {line}) is not valid UTF-8 — the file looks "
            "Latin-1/Windows-1252 encoded; re-export it as UTF-8",
            row=None,
        ) from None


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


def _check_delimiter(text: str, header: list[str], contract: Contract, name: str, expected: set[str]) -> None:
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


def _read_csv_text(data: bytes, name: str, contract: Contract, notes: list[str], source_names: set[str]) -> pl.DataFrame:
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
        notes.append("UTF-8 byte-order mark removed")
    if data[-64:].rstrip(b"\r\n\t ").endswith(b"\x1a"):  # the tail only: rstrip copies the whole file
        # DOS end-of-file mark left by old export tools: not data
        data = data.rstrip(b"\r\n\t ").rstrip(b"\x1a").rstrip(b"\r\n") + b"\n"
        notes.append("a trailing end-of-file mark (Ctrl-Z, byte 0x1A) was ignored")
    text = _decode(data, name)
    if not text.strip():
        raise BlockingError(name, "empty_file", "the file has no header and no rows (only blank space)")
    if "\r\n" in text:
        notes.append("Windows (CRLF) line endings read")
    elif "\r" in text and "\n" not in text.strip():
        raise BlockingError(name, "line_endings", "lines end with a carriage return only (CR, old Mac OS style), so the "
                                                  "whole file reads as one line; re-export it with LF or CRLF line endings",
                            row=1)
    if text.count('"') % 2:
        _raise_unterminated_quote(text, name)
    header = _header_cells(text)
    _check_title_line(text, header, source_names, name)
    _check_delimiter(text, header, contract, name, source_names)
    try:
        frame = pl.read_csv(
            io.BytesIO(data),
            has_header=False,
            infer_schema=False,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        located = _locate_bad_field_count(text, name, len(header))
        if located is not None:
            raise located from None
        first_line = str(exc).strip().splitlines()[0]
        raise BlockingError(name, "csv_parse", f"the file could not be parsed as CSV: {first_line}") from None
    if frame.height == 0:
        raise BlockingError(name, "empty_file", "the file has no header and no rows")
    # has_header=False keeps header cells as data row 0, so empty and duplicate names survive to be checked
    names = [("" if v is None else str(v)) for v in frame.row(0)]
    frame = frame.slice(1)
    return _name_columns(frame, names, name, notes)


def _name_columns(frame: pl.DataFrame, names: list[str], name: str, notes: list[str]) -> pl.DataFrame:
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
    renamed = {old: (new or f"__unnamed_{i}") for i, (old, new) in enumerate(zip(frame.columns, names, strict=True), 1)}
    return frame.rename(renamed)


def _read_parquet_text(path: Path, contract: Contract, notes: list[str], mapping: ExtractMapping | None = None) -> pl.DataFrame:
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
    return _name_columns(frame, list(frame.columns), path.name, notes)


def read_extract(
    path: Path,
    contract: Contract,
    mapping: ExtractMapping | None = None,
    open_end_markers: Sequence[date] = DEFAULT_OPEN_END_MARKERS,
) -> tuple[pl.DataFrame, str, list[str]]:
    """The file as trimmed text columns (blank -> null) named as the contract says, its sha256 and
    notes on what was tolerated. A mapping renames, recodes and re-dates a source export first."""
    name = path.name
    notes: list[str] = []
    mapping = mapping or ExtractMapping()
    source_names = {mapping.source_name(c) for c in contract.column_names}
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if not data:
        raise BlockingError(name, "empty_file", "the file is empty (0 bytes); every extract needs a header and at least one row")
    if path.suffix == ".parquet":
        frame = _read_parquet_text(path, contract, notes, mapping)
    else:
        frame = _read_csv_text(data, name, contract, notes, source_names)

    # trim and turn blanks into nulls; count trimmed values so the note says how many
    trimmed = frame.select(pl.col(c).str.strip_chars().alias(c) for c in frame.columns)
    n_trimmed = 0
    if frame.width:
        n_trimmed = int(
            frame.select(
                pl.sum_horizontal((pl.col(c) != pl.col(c).str.strip_chars()).fill_null(False) for c in frame.columns).sum()
            ).item()
        )
    frame = trimmed.with_columns(pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in frame.columns)
    if n_trimmed:
        notes.append(f"{n_trimmed} values had surrounding whitespace trimmed")

    frame = apply_mapping(frame, mapping, notes)
    frame = _check_columns(frame, contract, name, notes, mapping)
    frame = _open_end_markers(frame, contract, open_end_markers, notes)
    if frame.height == 0:
        raise BlockingError(
            name,
            "no_data_rows",
            "the file has a header but no data rows; no extract may be empty (re-export it with its rows)",
            row=2,
        )
    _check_column_types(frame, contract, name)
    return frame, digest, notes


def _open_end_markers(frame: pl.DataFrame, contract: Contract, markers: Sequence[date], notes: list[str]) -> pl.DataFrame:
    """End dates such as 9999-12-31 are how HR systems write "no end yet": read them as blank."""
    texts = [m.isoformat() for m in markers]
    for col in contract.columns:
        if not col.open_end or not texts:
            continue
        hit = pl.col(col.name).is_in(texts)
        n = int(frame.select(hit.sum()).item())
        if n:
            frame = frame.with_columns(pl.when(hit).then(None).otherwise(pl.col(col.name)).alias(col.name))
            notes.append(f"{n:,} {col.name} value(s) {'/'.join(texts)} read as open (no end date)")
    return frame


def _check_columns(frame: pl.DataFrame, contract: Contract, name: str, notes: list[str],
                   mapping: ExtractMapping | None = None) -> pl.DataFrame:
    expected = contract.column_names
    dropped_empty, ignored = [], []
    for col in frame.columns:
        if col in expected:
            continue
        has_data = frame.height > 0 and frame[col].null_count() < frame.height
        if col.startswith("__unnamed_"):
            if has_data:
                position = int(col.removeprefix("__unnamed_"))
                first = frame.with_row_index("_i").filter(pl.col(col).is_not_null())["_i"][0] + 2
                raise BlockingError(
                    name,
                    "unnamed_column",
                    f"column {position} has no header name but holds data (e.g. row {first}); name it or remove it",
                    row=first,
                )
            dropped_empty.append(col)
        elif has_data:
            ignored.append(col)
        else:
            dropped_empty.append(col)
    absent = [c.name for c in contract.columns if c.may_be_absent and c.name not in frame.columns]
    if absent:  # a column added to the contract later, missing from an older extract: all blank
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in absent)
        notes.append(f"column(s) not in this extract read as blank: {', '.join(absent)}")
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        col = missing[0]
        unknown = [c for c in frame.columns if c not in expected and not c.startswith("__unnamed_")]
        close = difflib.get_close_matches(col, unknown, n=1, cutoff=0.6)
        hint = f" (found {close[0]!r} — renamed?)" if close else ""
        source = mapping.source_name(col) if mapping else col
        if source != col:
            hint = f" (the mapping reads it from source column {source!r}){hint}"
        more = f"; also missing: {', '.join(missing[1:])}" if len(missing) > 1 else ""
        raise BlockingError(name, "missing_column", f"required column {col!r} is not in the header{hint}{more}", column=col, row=1)
    if dropped_empty:
        notes.append(f"{len(dropped_empty)} empty unnamed or unknown column(s) dropped")
    if ignored:
        notes.append(f"WARNING: column(s) not in the contract ignored: {', '.join(ignored)}")
    return frame.select(expected)


def _parsed(col: Column) -> pl.Expr:
    """The typed value of a text column; null where blank or unparsable."""
    text = pl.col(col.name)
    if col.type == "date":
        return pl.when(text.str.contains(_DATE_RE)).then(text.str.to_date("%Y-%m-%d", strict=False))
    if col.type == "integer":
        return pl.when(text.str.contains(_INT_RE)).then(text.cast(pl.Int64, strict=False))
    if col.type == "number":
        return pl.when(text.str.contains(_NUM_RE)).then(text.cast(pl.Float64, strict=False))
    return text


def _check_column_types(frame: pl.DataFrame, contract: Contract, name: str) -> None:
    typed = [c for c in contract.columns if c.type != "string"]
    if not typed:
        return
    stats = frame.select(
        *(pl.col(c.name).is_not_null().sum().alias(f"n|{c.name}") for c in typed),
        *((pl.col(c.name).is_not_null() & _parsed(c).is_null()).sum().alias(f"bad|{c.name}") for c in typed),
    ).row(0, named=True)
    for col in typed:
        n, bad = stats[f"n|{col.name}"], stats[f"bad|{col.name}"]
        if n and bad / n > COLUMN_TYPE_THRESHOLD:
            example = (
                frame.with_row_index("_i")
                .filter(pl.col(col.name).is_not_null() & _parsed(col).is_null())
                .select("_i", col.name)
                .row(0)
            )
            raise BlockingError(
                name,
                "column_type",
                f"{bad / n:.0%} of values are not {_TYPE_WORDS[col.type]}, e.g. row {example[0] + 2}: {example[1]!r}",
                column=col.name,
            )


# --------------------------------------------------------------------------------------------
# Row-level rules
# --------------------------------------------------------------------------------------------


@dataclass
class _Failures:
    """Row-level failures collected per rule before they become the quarantine frame."""

    rows: list[int] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    values: list[str | None] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def add(self, row: int, rule: str, column: str, value: str | None, message: str) -> None:
        self.rows.append(row)
        self.rules.append(rule)
        self.columns.append(column)
        self.values.append(value)
        self.messages.append(message)

    def extend(self, hits: pl.DataFrame, rule: str, column: str) -> None:
        """Many rows at once: ``hits`` has _i, value and message columns."""
        n = hits.height
        self.rows.extend(hits["_i"].to_list())
        self.rules.extend([rule] * n)
        self.columns.extend([column] * n)
        self.values.extend(hits["value"].cast(pl.String).to_list())
        self.messages.extend(hits["message"].to_list())


def _normalise_codes(frame: pl.DataFrame, contract: Contract, codes: dict[str, dict[str, Code]]) -> tuple[pl.DataFrame, int, dict[str, int]]:
    """Map codes given in the wrong case onto the code list's spelling; return the counts."""
    exprs, counts = [], {}
    for col in contract.columns:
        if col.codes is None:
            continue
        valid = list(codes[col.codes])
        by_upper = {c.upper(): c for c in valid}
        text = pl.col(col.name)
        fixable = text.is_not_null() & ~text.is_in(valid) & text.str.to_uppercase().is_in(list(by_upper))
        n = int(frame.select(fixable.sum()).item())
        if n:
            counts[col.name] = n
            exprs.append(
                pl.when(fixable).then(text.str.to_uppercase().replace_strict(by_upper, default=None)).otherwise(text).alias(col.name)
            )
    if exprs:
        frame = frame.with_columns(exprs)
    return frame, sum(counts.values()), counts


def _fmt(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _code_list_text(valid: Sequence[str]) -> str:
    return ", ".join(valid) if len(valid) <= 12 else ", ".join(valid[:10]) + f", … ({len(valid)} codes)"


class _GxRunner:
    """One ephemeral great-expectations context for a whole dataset; one suite run per extract."""

    def __init__(self) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx  # lazy: importing it takes ~3 s
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        self.source = self.context.data_sources.add_pandas("extracts")

    def run(self, extract: str, file_name: str, frame_pd, expectations: list) -> list[tuple[dict, list[int]]]:
        """(meta, unexpected row positions) for each expectation that failed."""
        gx = self.gx
        asset = self.source.add_dataframe_asset(extract)
        batch = asset.add_batch_definition_whole_dataframe(f"{extract}_all").get_batch(batch_parameters={"dataframe": frame_pd})
        # one suite built whole (adding expectations one by one re-serialises the suite each time)
        suite = gx.ExpectationSuite(name=f"{extract}_contract", expectations=expectations)
        result = batch.validate(
            suite,
            result_format={"result_format": "COMPLETE", "partial_unexpected_count": 0, "return_unexpected_index_query": False},
        )
        failed = []
        for item in result.results:
            info = item.exception_info or {}
            if info.get("raised_exception"):
                meta = dict(item.expectation_config.meta)
                raise BlockingError(
                    file_name,
                    "validation",
                    f"great-expectations could not evaluate rule {meta.get('rule')}: {info.get('exception_message')}",
                    column=meta.get("column"),
                )
            if not item.success:
                failed.append((dict(item.expectation_config.meta), list(item.result.get("unexpected_index_list") or [])))
        return failed


# --------------------------------------------------------------------------------------------
# great-expectations on distinct values
#
# Every rule GX evaluates is a property of a value, so GX judges DISTINCT things and the verdicts
# are mapped back to every row holding a failing value by a polars join:
#   required  each column's two states (given / blank)
#   codes     each column's distinct values, as "<code list>\x1f<value>" against every list's codes
#   pattern   each column's distinct values, as "<pattern no.>\x1f<value>" against one combined regex
#   range     min, max, date_floor and not_future: each column's distinct values as a margin >= 0
#   order     date_order and not_greater: each rule's distinct differences (later - earlier) >= 0
#   unique    each extract's distinct "rows per key" counts, which must be 1
# All extracts are stacked into ONE batch of six expectations: GX costs ~30 ms per expectation
# whatever the data, and the old frame (every column of every row, hashed twice by GX) is gone.
# Work grows with distinct values, not rows: 100,000 copies of one person are one value.
# --------------------------------------------------------------------------------------------

_SEP = "\x1f"


def _as_float(col: Column, typed: pl.Expr) -> pl.Expr:
    return (typed.cast(pl.Int32) if col.type == "date" else typed).cast(pl.Float64)


def _key_exprs(contract: Contract) -> list[pl.Expr]:
    """The primary key compared as the contract's types: '01' and '1' are the same integer."""
    exprs = []
    for name in contract.primary_key:
        col = contract.column(name)
        if col.type == "string":
            exprs.append(pl.col(name).fill_null("").alias(name))
        else:
            exprs.append(pl.coalesce(_parsed(col).cast(pl.String), pl.col(name), pl.lit("")).alias(name))
    return exprs


def _key_rows(frame: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    return frame.select(_key_exprs(contract)).group_by(list(contract.primary_key)).len("_rows")


def _pair_margin(contract: Contract, rule) -> pl.Expr:
    """later - earlier (date_order) or larger - smaller (not_greater): negative breaks the rule."""
    big, small = rule.columns if rule.check == "date_order" else rule.columns[::-1]
    return _as_float(contract.column(big), pl.col(big)) - _as_float(contract.column(small), pl.col(small))


def _digits_interchangeable(pattern: str) -> bool:
    """True if the pattern cannot tell one ASCII digit from another: every digit it mentions is in
    a class holding all of 0-9 (or \\d), apart from quantifier counts. Then replacing each digit of a
    value by 0 never changes whether it matches, so ids collapse to a handful of shapes."""
    rest = re.sub(r"\{\d*,?\d*\}", "", pattern)  # {7}, {2,8}: counts, not characters
    rest = re.sub(r"\[[^\]]*\]", lambda m: m.group(0).replace("0-9", ""), rest)
    rest = rest.replace("\\d", "")
    return not any(ch.isdigit() for ch in rest)


def _regex_alternative(number: int, pattern: str) -> str:
    core, start, end = pattern, "", ""
    if core.startswith("^"):
        core = core[1:]
    else:
        start = ".*?"
    if core.endswith("$") and not core.endswith("\\$"):
        core, end = core[:-1], "$"
    return f"{number}{_SEP}{start}(?:{core}){end}"


_STACK_SCHEMAS = {
    "required": {"extract": pl.String, "column": pl.String, "v": pl.String},
    "codes": {"extract": pl.String, "column": pl.String, "value": pl.String, "v": pl.String},
    "pattern": {"extract": pl.String, "column": pl.String, "value": pl.String, "v": pl.String},
    "range": {"extract": pl.String, "rule": pl.String, "column": pl.String, "value": pl.String, "floor": pl.String,
              "v": pl.Float64},
    "order": {"extract": pl.String, "rule": pl.String, "rule_name": pl.String, "v": pl.Float64},
    "unique": {"extract": pl.String, "v": pl.Float64},
}


def _stacks(frames: dict[str, pl.DataFrame], contracts: dict[str, Contract], codes, as_of: date):
    """What GX judges, stacked over every extract and column, plus what it needs to judge it."""
    parts: dict[str, list[pl.DataFrame]] = {k: [] for k in _STACK_SCHEMAS}
    patterns: dict[str, int] = {}
    lists: set[str] = set()

    def lit(**values) -> list[pl.Expr]:
        return [pl.lit(v, dtype=pl.String).alias(k) for k, v in values.items()]

    for extract, frame in frames.items():
        contract = contracts[extract]
        for col in contract.columns:
            text = pl.col(col.name)
            if col.required:
                states = frame.select(text.is_null().unique().alias("_blank"))
                parts["required"].append(states.select(*lit(extract=extract, column=col.name),
                                                       pl.when(~pl.col("_blank")).then(pl.lit("given")).alias("v")))
            distinct = None
            if col.codes or col.pattern or col.type != "string":
                distinct = frame.select(text.drop_nulls().unique().alias("value"))
            if col.codes:
                lists.add(col.codes)
                parts["codes"].append(distinct.select(*lit(extract=extract, column=col.name), "value",
                                                      (pl.lit(col.codes + _SEP) + pl.col("value")).alias("v")))
            if col.pattern:
                number = patterns.setdefault(col.pattern, len(patterns))
                shown = pl.col("value")
                if _digits_interchangeable(col.pattern):
                    # P0000825 and P0012345 are the same to such a pattern: GX judges P0000000 once
                    shown = shown.str.replace_all("[0-9]", "0")
                parts["pattern"].append(distinct.select(*lit(extract=extract, column=col.name), "value",
                                                        (pl.lit(f"{number}{_SEP}") + shown).alias("v")))
            if col.type == "string":
                continue
            value = distinct.with_columns(_as_float(col, _parsed(Column(name="value", type=col.type))).alias("_x")).drop_nulls("_x")
            bounds: list[tuple[str, float, bool, str | None]] = []  # rule, bound, is_lower, floor text
            if col.min is not None:
                bounds.append(("min", float(col.min), True, None))
            if col.max is not None:
                bounds.append(("max", float(col.max), False, None))
            if col.type == "date":
                floor = col.min_date or DEFAULT_MIN_DATE
                bounds.append(("date_floor", float((floor - _EPOCH).days), True, floor.isoformat()))
            if col.not_future:
                bounds.append(("not_future", float((as_of - _EPOCH).days), False, None))
            for rule, bound, lower, floor_text in bounds:
                margin = (pl.col("_x") - bound) if lower else (bound - pl.col("_x"))
                parts["range"].append(value.select(*lit(extract=extract, rule=rule, column=col.name), "value",
                                                   *lit(floor=floor_text), margin.alias("v")))
        for rule in contract.rules:
            if rule.check in ("date_order", "not_greater"):
                typed = frame.select(_parsed(contract.column(c)).alias(c) for c in rule.columns)
                margins = typed.select(_pair_margin(contract, rule).drop_nulls().unique().alias("v"))
                parts["order"].append(margins.select(*lit(extract=extract, rule=rule.check, rule_name=rule.name), "v"))
        counts = _key_rows(frame, contract).select(pl.col("_rows").unique())
        parts["unique"].append(counts.select(*lit(extract=extract), (1 - pl.col("_rows").cast(pl.Int64)).cast(pl.Float64).alias("v")))
    stacks = {k: pl.concat(v, how="vertical") if v else pl.DataFrame(schema=_STACK_SCHEMAS[k]) for k, v in parts.items()}
    regex = "^(?:" + "|".join(_regex_alternative(n, p) for p, n in patterns.items()) + ")" if patterns else None
    value_set = [f"{name}{_SEP}{code}" for name in sorted(lists) for code in codes[name]]
    return stacks, regex, value_set


def _gx_verdicts(gx_runner: _GxRunner, stacks: dict[str, pl.DataFrame], regex: str | None, value_set: list[str]
                 ) -> dict[str, pl.DataFrame]:
    """Run the stacked checks in one GX batch; for each kind, the stack rows GX rejected."""
    E = gx_runner.gx.expectations
    gx_columns: dict[str, pl.Series] = {}
    expectations = []
    for kind, stack in stacks.items():
        if stack.height == 0:
            continue
        series = stack["v"].unique(maintain_order=True) if kind == "pattern" else stack["v"]
        gx_columns[kind] = series
        meta = {"rule": kind, "column": kind}
        if kind == "required":
            expectations.append(E.ExpectColumnValuesToNotBeNull(column=kind, meta=meta))
        elif kind == "codes":
            expectations.append(E.ExpectColumnValuesToBeInSet(column=kind, value_set=value_set, meta=meta))
        elif kind == "pattern":
            expectations.append(E.ExpectColumnValuesToMatchRegex(column=kind, regex=regex, meta=meta))
        else:
            expectations.append(E.ExpectColumnValuesToBeBetween(column=kind, min_value=0, meta=meta))
    if not gx_columns:
        return {}
    # ids make the pattern column long (a distinct value per row): it goes in a batch of its own so
    # that the other, short columns are not padded to its length (GX hashes the whole batch)
    batches = [[k for k in gx_columns if k != "pattern"], [k for k in gx_columns if k == "pattern"]]
    results = []
    for number, kinds in enumerate(b for b in batches if b):
        height = max(gx_columns[k].len() for k in kinds)
        frame = pl.DataFrame([pl.concat([gx_columns[k], pl.Series([None] * (height - gx_columns[k].len()),
                                                                   dtype=gx_columns[k].dtype)]).alias(k) for k in kinds])
        wanted = [e for e in expectations if e.meta["rule"] in kinds]
        results += gx_runner.run(f"extracts_{number}", "the extracts", frame.to_pandas(), wanted)
    verdicts: dict[str, pl.DataFrame] = {}
    for meta, indices in results:
        kind = meta["rule"]
        real = [i for i in indices if i < gx_columns[kind].len()]  # padding is never a verdict
        if indices and not real:
            continue  # only the padding nulls failed (required)
        if not real:  # a failure without rows would be a silently lost failure: refuse
            raise RuntimeError(f"great-expectations reported {kind} failed without row indices")
        if kind == "pattern":
            bad = gx_columns[kind].gather(real)
            verdicts[kind] = stacks[kind].filter(pl.col("v").is_in(bad.implode()))
        else:
            verdicts[kind] = stacks[kind][real]
    return verdicts


def _message(rule: str, column: str, value: str | None, contract: Contract, codes, as_of: date, meta: dict) -> str:
    col = contract.column(column) if column in contract.column_names else None
    if rule == "required":
        return f"{column} is required but blank"
    if rule == "pattern":
        return f"{column} {value!r} does not match the pattern {col.pattern}"
    if rule == "codes":
        valid = list(codes[col.codes])
        return f"{column} {value!r} is not in code list {col.codes} ({_code_list_text(valid)})"
    if rule == "min":
        return f"{column} {value} is below the minimum {_fmt(col.min)}"
    if rule == "max":
        return f"{column} {value} is above the maximum {_fmt(col.max)}"
    if rule == "not_future":
        return f"{column} {value} is after the as-of date {as_of.isoformat()} (a date in the future)"
    if rule == "date_floor":
        return f"{column} {value} is before {meta['floor']}: not a plausible date (a system default or a typo?)"
    raise ValueError(rule)


def _apply_verdicts(failures: _Failures, base: pl.DataFrame, typed: pl.DataFrame, contract: Contract, codes,
                    as_of: date, verdicts: dict[str, pl.DataFrame]) -> None:
    """Map GX's verdicts on distinct values back to this extract's rows."""
    extract = contract.extract
    mine = {k: v.filter(pl.col("extract") == extract) for k, v in verdicts.items()}
    for column in (mine["required"]["column"].unique(maintain_order=True).to_list() if "required" in mine else []):
        hits = base.filter(pl.col(column).is_null()).select("_i", pl.col(column).alias("value"))
        failures.extend(hits.with_columns(pl.lit(f"{column} is required but blank").alias("message")), "required", column)
    for kind in ("pattern", "codes", "range"):
        if kind not in mine:
            continue
        rules = mine[kind] if kind == "range" else mine[kind].with_columns(pl.lit(kind).alias("rule"), pl.lit(None, pl.String).alias("floor"))
        for (rule, column), group in rules.sort("rule", "column").group_by("rule", "column", maintain_order=True):
            bad = group.unique("value", maintain_order=True)
            messages = pl.DataFrame({"value": bad["value"], "message": [
                _message(rule, column, v, contract, codes, as_of, {"floor": f}) for v, f in bad.select("value", "floor").iter_rows()]},
                schema={"value": pl.String, "message": pl.String})
            hits = base.select("_i", pl.col(column).alias("value")).join(messages, on="value", how="inner").sort("_i")
            failures.extend(hits, rule, column)
    if "order" in mine:
        for rule_name, margins in mine["order"].group_by("rule_name", maintain_order=True):
            rule_obj = next(r for r in contract.rules if r.name == rule_name[0])
            first, second = rule_obj.columns
            rows = typed.with_row_index("_i").filter(_pair_margin(contract, rule_obj).is_in(margins["v"].implode()))
            hits = rows.select("_i").join(base.select("_i", first, second), on="_i", how="left").sort("_i")
            word = "is before" if rule_obj.check == "date_order" else "is greater than"
            hits = hits.with_columns(
                pl.col(first).alias("value"),
                pl.format(f"{rule_obj.name}: {first} {{}} {word} {second} {{}}", pl.col(first), pl.col(second)).alias("message"))
            failures.extend(hits, rule_obj.check, first)
    if "unique" in mine:
        keys = _key_rows(base.drop("_i"), contract)
        bad_counts = (1 - mine["unique"]["v"]).cast(pl.Int64)
        _add_unique(failures, base, contract, keys.filter(pl.col("_rows").cast(pl.Int64).is_in(bad_counts.implode())))


def _evaluate(
    extract: str,
    file_name: str,
    frame: pl.DataFrame,
    contract: Contract,
    codes: dict[str, dict[str, Code]],
    as_of: date,
    accepted_keys: dict[tuple[str, str], tuple[set[str], dict[str, int], str]],
    verdicts: dict[str, pl.DataFrame] | None = None,
    accepted: dict[str, pl.DataFrame] | None = None,
) -> tuple[pl.DataFrame, _Failures]:
    failures = _Failures()
    typed = frame.select(_parsed(c).alias(c.name) for c in contract.columns)
    base = frame.with_row_index("_i")

    # type (polars): non-blank text that did not parse
    for col in contract.columns:
        if col.type == "string":
            continue
        bad = base.filter(pl.col(col.name).is_not_null() & typed[col.name].is_null())
        for i, value in bad.select("_i", col.name).iter_rows():
            failures.add(i, "type", col.name, value, f"{col.name} {value!r} is not {_TYPE_ONE[col.type]}")

    # both_or_neither (polars)
    for rule in contract.rules:
        if rule.check != "both_or_neither":
            continue
        a, b = rule.columns
        bad = base.filter(pl.col(a).is_null() != pl.col(b).is_null())
        for i, va, vb in bad.select("_i", a, b).iter_rows():
            blank, given, given_value = (b, a, va) if vb is None else (a, b, vb)
            failures.add(i, "both_or_neither", blank, given_value,
                         f"{rule.name}: {given} is {given_value!r} but {blank} is blank; give both or neither")

    # references (polars): against the ACCEPTED rows of the referenced extract
    for col in contract.columns:
        if col.references is None:
            continue
        keys, quarantined_at, target_file = accepted_keys[col.references]
        target, target_col = col.references
        bad = base.filter(pl.col(col.name).is_not_null() & ~pl.col(col.name).is_in(pl.Series(list(keys), dtype=pl.String).implode()))
        for i, value in bad.select("_i", col.name).iter_rows():
            if value in quarantined_at:
                message = (
                    f"{col.name} {value!r} was quarantined in {target_file} (row {quarantined_at[value]}), "
                    f"so this row is quarantined too"
                )
            else:
                message = f"{col.name} {value!r} is not in {target_file} ({target}.{target_col})"
            failures.add(i, "references", col.name, value, message)

    if contract.spells:
        _check_spells(failures, base, typed, contract)
    if contract.within_service and accepted and "people" in accepted:
        _check_within_service(failures, base, typed, contract, accepted["people"], as_of)

    # the rest: great-expectations' verdicts on distinct values (judged for every extract at once)
    _apply_verdicts(failures, base, typed, contract, codes, as_of, verdicts or {})
    return typed, failures


def _add_unique(failures: _Failures, base: pl.DataFrame, contract: Contract, bad_keys: pl.DataFrame) -> None:
    """Every row of each duplicated key, with the key's first ten rows named (one group_by: linear)."""
    key = list(contract.primary_key)
    label = "+".join(key)
    rows = (base.select("_i", *_key_exprs(contract))
            .join(bad_keys.select(key), on=key, how="inner")
            .with_columns(pl.concat_str([pl.col(k) for k in key], separator="|").alias("value")))
    groups = rows.group_by("value").agg(pl.len().alias("n"), (pl.col("_i").sort().head(10) + 2).alias("first"))
    groups = groups.with_columns(pl.format(
        f"{label} '{{}}' appears in {{}} rows (rows {{}}); every row sharing a duplicated key is quarantined because "
        "nothing says which one is right", pl.col("value"), pl.col("n"),
        pl.col("first").cast(pl.List(pl.String)).list.join(", ")).alias("message"))
    hits = rows.select("_i", "value").join(groups.select("value", "message"), on="value", how="left").sort("_i")
    failures.extend(hits, "unique", label)


def _check_spells(failures: _Failures, base: pl.DataFrame, typed: pl.DataFrame, contract: Contract) -> None:
    """Dated spells of one person may not repeat or overlap (end dates inclusive; blank = open)."""
    person, start, end = contract.spells  # type: ignore[misc]
    key = contract.primary_key[0]
    others = [c for c in contract.column_names if c not in (key, person, start, end)]
    spells = (base.select("_i", pl.col(key).alias("_id"), pl.col(person).alias("_person"), *others)
              .hstack(typed.select(pl.col(start).alias("_start"), pl.col(end).alias("_end")))
              .filter(pl.col("_person").is_not_null() & pl.col("_start").is_not_null()))
    # the same spell twice (every column but the id): keep the first, quarantine the copies
    spells = spells.with_columns(
        pl.col("_i").min().over("_person", "_start", "_end", *others).alias("_first"))
    copies = spells.filter(pl.col("_i") != pl.col("_first")).join(
        spells.select(pl.col("_i").alias("_first"), pl.col("_id").alias("_first_id")), on="_first", how="left").sort("_i")
    failures.extend(copies.select(
        "_i", pl.col("_id").alias("value"),
        pl.format(f"{person} {{}}: the same spell as {key} {{}} (row {{}}), {start} {{}} to {{}}; the copy is quarantined",
                  pl.col("_person"), pl.col("_first_id"), pl.col("_first") + 2, pl.col("_start"),
                  pl.col("_end").cast(pl.String).fill_null("open")).alias("message")), "duplicate_spell", key)
    rest = (spells.filter(pl.col("_i") == pl.col("_first"))
            .with_columns(pl.col("_end").fill_null(date(9999, 12, 31)).alias("_stop"))
            .sort("_person", "_start", "_stop", "_i"))
    # sweep: a spell starting on or before the latest end so far (same person) joins that cluster
    rest = rest.with_columns(pl.col("_stop").cum_max().shift(1).over("_person").alias("_reach"))
    rest = rest.with_columns((pl.col("_reach").is_null() | (pl.col("_start") > pl.col("_reach"))).cum_sum().alias("_cluster"))
    rest = rest.with_columns(pl.len().over("_cluster").alias("_n"))
    clusters = (rest.filter(pl.col("_n") > 1).group_by("_cluster")
                .agg((pl.col("_i").sort().head(10) + 2).cast(pl.String).str.join(", ").alias("_rows")))
    overlap = rest.filter(pl.col("_n") > 1).join(clusters, on="_cluster", how="left").sort("_i")
    failures.extend(overlap.select(
        "_i", pl.col("_id").alias("value"),
        pl.format(f"{person} {{}} has {{}} spells that overlap (rows {{}}): {start} {{}} to {{}} overlaps another; a "
                  "person holds one post at a time, and nothing says which spell is right",
                  pl.col("_person"), pl.col("_n"), pl.col("_rows"), pl.col("_start"),
                  pl.col("_end").cast(pl.String).fill_null("open")).alias("message")), "overlapping_spell", key)


def _check_within_service(failures: _Failures, base: pl.DataFrame, typed: pl.DataFrame, contract: Contract,
                          people: pl.DataFrame, as_of: date) -> None:
    """A spell lies between the person's join date and leave date (a leave date after as-of: still in post)."""
    start, end = contract.within_service  # type: ignore[misc]
    service = people.select("person_id", "join_date",
                            pl.when(pl.col("leave_date") <= as_of).then(pl.col("leave_date")).alias("leave_date"))
    spells = (base.select("_i", "person_id").hstack(typed.select(pl.col(start).alias("_start"), pl.col(end).alias("_end")))
              .join(service, on="person_id", how="inner").filter(pl.col("_start").is_not_null()))
    before = spells.filter(pl.col("_start") < pl.col("join_date")).select(
        "_i", pl.col("_start").cast(pl.String).alias("value"),
        pl.format(f"{start} {{}} is before person_id {{}} joined ({{}}): outside their service",
                  pl.col("_start"), pl.col("person_id"), pl.col("join_date")).alias("message"))
    failures.extend(before, "outside_service", start)
    left = spells.filter(pl.col("leave_date").is_not_null() & (pl.col("_start") >= pl.col("join_date")))
    # (a spell left open for a leaver is not judged here: HR systems often leave it blank)
    starts_after = left.filter(pl.col("_start") > pl.col("leave_date")).select(
        "_i", pl.col("_start").cast(pl.String).alias("value"),
        pl.format(f"{start} {{}} is after person_id {{}} left ({{}}): outside their service",
                  pl.col("_start"), pl.col("person_id"), pl.col("leave_date")).alias("message"))
    failures.extend(starts_after, "outside_service", start)
    ends_after = left.filter((pl.col("_start") <= pl.col("leave_date")) & (pl.col("_end") > pl.col("leave_date"))).select(
        "_i", pl.col("_end").cast(pl.String).alias("value"),
        pl.format(f"{end} {{}} is after person_id {{}} left ({{}}): outside their service",
                  pl.col("_end"), pl.col("person_id"), pl.col("leave_date")).alias("message"))
    failures.extend(ends_after, "outside_service", end)


@dataclass
class _Read:
    path: Path
    frame: pl.DataFrame
    sha256: str
    notes: list[str]
    n_normalised: int


def _read(path: Path, contract: Contract, codes, mapping: Mapping) -> _Read:
    frame, digest, notes = read_extract(path, contract, mapping.for_extract(contract.extract), mapping.open_end_markers)
    frame, n_normalised, per_column = _normalise_codes(frame, contract, codes)
    if n_normalised:
        detail = ", ".join(f"{c}: {n}" for c, n in per_column.items())
        notes.append(f"{n_normalised} codes normalised to the code list's case ({detail})")
    return _Read(path, frame, digest, notes, n_normalised)


def validate_extract(
    path: Path,
    contract: Contract,
    *,
    codes: dict[str, dict[str, Code]],
    as_of: date,
    accepted_keys: dict,
    gx_runner: _GxRunner | None = None,
    verdicts: dict[str, pl.DataFrame] | None = None,
    mapping: Mapping | None = None,
    accepted_frames: dict[str, pl.DataFrame] | None = None,
    read: _Read | None = None,
) -> ExtractResult:
    """Read one extract file and split its rows into accepted (typed) and quarantined.
    ``verdicts``: great-expectations' verdicts for the whole dataset (validate_dataset); without
    them, this extract is judged on its own."""
    extract, name = contract.extract, path.name
    read = read or _read(path, contract, codes, mapping or Mapping())
    frame, digest, notes, n_normalised = read.frame, read.sha256, list(read.notes), read.n_normalised
    try:
        if verdicts is None:
            verdicts = _judge({extract: read}, {extract: contract}, codes, as_of, gx_runner or _GxRunner())
        typed, failures = _evaluate(extract, name, frame, contract, codes, as_of, accepted_keys, verdicts, accepted_frames)
    except BlockingError:
        raise
    except (pl.exceptions.PolarsError, ValueError, TypeError) as exc:
        raise BlockingError(name, "validation", f"the rows could not be checked: {exc}") from exc

    quarantine = pl.DataFrame(
        {
            "extract": [extract] * len(failures.rows),
            "file": [name] * len(failures.rows),
            "source_row": [r + 2 for r in failures.rows],
            "rule": failures.rules,
            "column_name": failures.columns,
            "value": [None if v is None else str(v) for v in failures.values],
            "message": failures.messages,
        },
        schema=QUARANTINE_SCHEMA,
    ).sort("source_row", "rule", "column_name", maintain_order=True)
    bad_rows = pl.Series("_i", sorted(set(failures.rows)), dtype=pl.UInt32)
    accepted = (
        typed.with_row_index("_i")
        .filter(~pl.col("_i").is_in(bad_rows.implode()))
        .drop("_i")
        .cast({c.name: _POLARS_TYPES[c.type] for c in contract.columns})
    )
    rejected = frame.with_row_index("source_row", offset=2).filter(pl.col("source_row").is_in((bad_rows.cast(pl.Int64) + 2).implode()))
    for col in contract.columns:
        if col.open_end:
            later = int(accepted.select((pl.col(col.name) > as_of).sum()).item())
            if later:
                notes.append(f"{later:,} {col.name} value(s) after the as-of date {as_of.isoformat()}: "
                             "still open at the as-of date")
    result = ExtractResult(
        extract=extract,
        file=name,
        sha256=digest,
        rows_read=frame.height,
        rows_accepted=accepted.height,
        rows_quarantined=bad_rows.len(),
        n_normalised=n_normalised,
        notes=tuple(notes),
        accepted=accepted,
        quarantine=quarantine,
        rejected=rejected,
    )
    if result.rows_read != result.rows_accepted + result.rows_quarantined:
        raise ReconciliationError(
            f"{name}: rows_read {result.rows_read} != accepted {result.rows_accepted} + quarantined {result.rows_quarantined}"
        )
    return result


def _judge(reads: dict[str, _Read], contracts: dict[str, Contract], codes, as_of: date, gx_runner: _GxRunner
           ) -> dict[str, pl.DataFrame]:
    """great-expectations' verdicts on every extract's distinct values, in one batch."""
    stacks, regex, value_set = _stacks({e: r.frame for e, r in reads.items()}, contracts, codes, as_of)
    return _gx_verdicts(gx_runner, stacks, regex, value_set)


def default_as_of(data_dir: Path, reads: dict[str, _Read], contracts: dict[str, Contract], *,
                  today: date | None = None) -> tuple[date, str]:
    """The analysis edge when --as-of is not given: the extract date recorded with the extracts
    (manifest.json), else the latest event date on or before today. Never an end date: a posting
    ending 9999-12-31 or on a planned date is not the edge of the data."""
    today = today or date.today()
    manifest = Path(data_dir) / "manifest.json"
    if manifest.is_file():
        try:
            recorded = json.loads(manifest.read_text(encoding="utf-8")).get("extract_date")
            if recorded:
                return date.fromisoformat(str(recorded)), "the extract date in manifest.json"
        except (ValueError, OSError, AttributeError) as exc:
            raise BlockingError("manifest.json", "manifest", f"the extract date could not be read: {exc}") from None
    best: tuple[date, str] | None = None
    for extract, read in reads.items():
        for col in contracts[extract].columns:
            if not col.not_future:  # event dates; end dates are never the edge
                continue
            latest = read.frame.select(_parsed(col).filter(_parsed(col) <= today).max()).item()
            if latest is not None and (best is None or latest > best[0]):
                best = (latest, f"the latest event date ({extract}.{col.name})")
    return best or (today, "today (no event dates)")


def validate_dataset(
    data_dir: Path,
    extracts: Iterable[str],
    *,
    as_of: date | None = None,
    contracts_dir: Path = CONTRACTS_DIR,
    progress: Callable[[str, int, int], None] | None = None,
    mapping: Mapping | None = None,
) -> ValidationResult:
    """Validate every extract in load order; references resolve against earlier accepted rows.

    Every file is read first (so a blocking problem in the last file stops the build before any
    checking), then the as-of date is settled (given, or default_as_of), then the rows are checked."""
    data_dir = Path(data_dir)
    extracts = list(extracts)
    mapping = mapping or Mapping()
    contracts = load_contracts(extracts, contracts_dir)
    codes = load_codes(contracts_dir)
    if not data_dir.is_dir():
        raise BlockingError(str(data_dir), "missing_directory", f"data directory {data_dir} does not exist")
    paths = {e: find_extract_file(data_dir, e) for e in extracts}  # every file present before any work
    reads: dict[str, _Read] = {}
    for number, extract in enumerate(extracts, start=1):
        if progress:
            progress(f"read {extract}", number, len(extracts))
        try:
            reads[extract] = _read(paths[extract], contracts[extract], codes, mapping)
        except (OSError, csv.Error, UnicodeError, pl.exceptions.PolarsError) as exc:
            # bad input must reach the user as one line naming the file, never as a traceback
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise BlockingError(paths[extract].name, "read", f"the file could not be read: {first}") from None
    if as_of is None:
        as_of, as_of_source = default_as_of(data_dir, reads, contracts)
    else:
        as_of_source = "--as-of"
    needed = {col.references for c in contracts.values() for col in c.columns if col.references}
    if progress:
        progress("great-expectations", len(extracts), len(extracts))
    try:
        verdicts = _judge(reads, contracts, codes, as_of, _GxRunner())
    except (pl.exceptions.PolarsError, ValueError, TypeError) as exc:
        raise BlockingError(str(data_dir), "validation", f"the rows could not be checked: {exc}") from exc
    result = ValidationResult(as_of=as_of, as_of_source=as_of_source)
    accepted_keys: dict[tuple[str, str], tuple[set[str], dict[str, int], str]] = {}
    accepted_frames: dict[str, pl.DataFrame] = {}
    for number, extract in enumerate(extracts, start=1):
        if progress:
            progress(f"validate {extract}", number, len(extracts))
        outcome = validate_extract(
            paths[extract], contracts[extract], codes=codes, as_of=as_of, accepted_keys=accepted_keys,
            verdicts=verdicts, mapping=mapping, accepted_frames=accepted_frames, read=reads.pop(extract),
        )
        result.extracts[extract] = outcome
        accepted_frames[extract] = outcome.accepted
        for target, column in needed:
            if target == extract:
                accepted_keys[(target, column)] = _keys(outcome, column)
    return result


def _keys(outcome: ExtractResult, column: str) -> tuple[set[str], dict[str, int], str]:
    """Accepted values of a referenced column, and the first quarantined row holding each other value."""
    accepted = set(outcome.accepted[column].cast(pl.String).drop_nulls().to_list())
    quarantined = (
        outcome.rejected.filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(pl.Series(list(accepted), dtype=pl.String).implode()))
        .group_by(column)
        .agg(pl.col("source_row").min())
    )
    return accepted, dict(quarantined.iter_rows()), outcome.file
