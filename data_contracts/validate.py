"""Validate the extracts in a data directory against their contracts: accept, quarantine or block.

Every input row ends up either accepted (typed, ready to load) or quarantined with each rule it
broke; ``rows_read == rows_accepted + rows_quarantined`` is asserted per extract. A file that
cannot be read as its contract describes raises ``BlockingError`` (one line: file, column, row,
rule) and nothing is built.

Blocking (the whole build stops):
  missing extract file (or both .csv and .parquet present), 0-byte or blank file, header but no
  data rows (no extract may legitimately be empty for this product), wrong delimiter (semicolon,
  tab or pipe), undecodable bytes (not UTF-8), duplicate header names, a contract column missing
  from the header (optional means the *values* may be blank, not that the column may go), an
  unnamed column holding data, a row with more fields than the header, and a column of the wrong
  type: more than half (COLUMN_TYPE_THRESHOLD) of its non-blank values fail to parse.
Tolerated, with a note (nothing in the contract is lost):
  UTF-8 byte-order mark, CRLF line endings, quoted commas and newlines, surrounding whitespace
  (trimmed; blank = missing), unnamed all-empty columns (dropped), codes in the wrong case
  (normalised to the code list's case and counted), unknown extra columns (ignored with a
  warning note: HR exports add columns, and a renamed contract column still blocks as missing).
Row-level (the row is quarantined; it appears once per rule broken, counts once):
  required, type, pattern, codes, min, max, not_future, unique, references, date_order,
  both_or_neither, not_greater.
  - unique: every row sharing a duplicated primary key is quarantined, not just the later ones,
    because nothing says which of them is right.
  - references: the value must be among the ACCEPTED rows of the referenced extract, so a
    quarantined person takes their grievances, postings and cases with them (the message says so).

Who evaluates what: great-expectations (one suite per extract, one validation run, COMPLETE
result format with unexpected indices) evaluates required, pattern, codes, min, max, not_future,
unique (single and compound keys), date_order and not_greater. Polars evaluates type (parsing is
what produces the typed columns, so GX would only repeat it), both_or_neither (GX has no
"both or neither null" expectation) and references (a cross-extract lookup GX cannot express).

Source rows use spreadsheet numbering: header = row 1, first data row = row 2. With quoted
newlines this is the record number + 1, not the text line.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from data_contracts.contract import CONTRACTS_DIR, Code, Column, Contract, load_codes, load_contracts
from data_contracts.errors import BlockingError

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


def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BlockingError(name, "encoding", "the file is UTF-16 encoded (it starts with a UTF-16 byte-order mark); re-export it as UTF-8")
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


def _check_delimiter(text: str, header: list[str], contract: Contract, name: str) -> None:
    first_line = text.split("\n", 1)[0]
    expected = set(contract.column_names)
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


def _read_csv_text(data: bytes, name: str, contract: Contract, notes: list[str]) -> pl.DataFrame:
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
        notes.append("UTF-8 byte-order mark removed")
    text = _decode(data, name)
    if not text.strip():
        raise BlockingError(name, "empty_file", "the file has no header and no rows (only blank space)")
    if "\r\n" in text:
        notes.append("Windows (CRLF) line endings read")
    header = _header_cells(text)
    _check_delimiter(text, header, contract, name)
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


def _read_parquet_text(path: Path, contract: Contract, notes: list[str]) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable parquet is the same blocking failure
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BlockingError(path.name, "parquet_read", f"the file could not be read as Parquet: {first_line}") from None
    types = {c.name: c.type for c in contract.columns}
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


def read_extract(path: Path, contract: Contract) -> tuple[pl.DataFrame, str, list[str]]:
    """The file as trimmed text columns (blank -> null), its sha256 and notes on what was tolerated."""
    name = path.name
    notes: list[str] = []
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if not data:
        raise BlockingError(name, "empty_file", "the file is empty (0 bytes); every extract needs a header and at least one row")
    if path.suffix == ".parquet":
        frame = _read_parquet_text(path, contract, notes)
    else:
        frame = _read_csv_text(data, name, contract, notes)

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

    frame = _check_columns(frame, contract, name, notes)
    if frame.height == 0:
        raise BlockingError(
            name,
            "no_data_rows",
            "the file has a header but no data rows; no extract may be empty (re-export it with its rows)",
            row=2,
        )
    _check_column_types(frame, contract, name)
    return frame, digest, notes


def _check_columns(frame: pl.DataFrame, contract: Contract, name: str, notes: list[str]) -> pl.DataFrame:
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
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        col = missing[0]
        unknown = [c for c in frame.columns if c not in expected and not c.startswith("__unnamed_")]
        close = difflib.get_close_matches(col, unknown, n=1, cutoff=0.6)
        hint = f" (found {close[0]!r} — renamed?)" if close else ""
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


def _gx_expectations(gx, contract: Contract, codes: dict[str, dict[str, Code]], as_of: date) -> list:
    E = gx.expectations
    out = []

    def meta(rule: str, column: str, **extra) -> dict:
        return {"rule": rule, "column": column, **extra}

    for col in contract.columns:
        typed = f"{col.name}__typed"
        if col.required:
            out.append(E.ExpectColumnValuesToNotBeNull(column=col.name, meta=meta("required", col.name)))
        if col.pattern:
            out.append(E.ExpectColumnValuesToMatchRegex(column=col.name, regex=col.pattern, meta=meta("pattern", col.name)))
        if col.codes:
            out.append(E.ExpectColumnValuesToBeInSet(column=col.name, value_set=list(codes[col.codes]), meta=meta("codes", col.name)))
        if col.min is not None:
            out.append(E.ExpectColumnValuesToBeBetween(column=typed, min_value=col.min, meta=meta("min", col.name)))
        if col.max is not None:
            out.append(E.ExpectColumnValuesToBeBetween(column=typed, max_value=col.max, meta=meta("max", col.name)))
        if col.not_future:
            limit = (as_of - _EPOCH).days
            out.append(E.ExpectColumnValuesToBeBetween(column=typed, max_value=limit, meta=meta("not_future", col.name)))
    key = list(contract.primary_key)
    key_label = "+".join(key)
    if len(key) == 1:
        out.append(E.ExpectColumnValuesToBeUnique(column=key[0], meta=meta("unique", key_label)))
    else:
        out.append(E.ExpectCompoundColumnsToBeUnique(column_list=key, meta=meta("unique", key_label)))
    for rule in contract.rules:
        if rule.check == "date_order":
            later, earlier = rule.columns
            out.append(
                E.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=f"{later}__typed", column_B=f"{earlier}__typed", or_equal=True,
                    ignore_row_if="either_value_is_missing", meta=meta("date_order", later, rule_name=rule.name),
                )
            )
        elif rule.check == "not_greater":
            smaller, larger = rule.columns
            out.append(
                E.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=f"{larger}__typed", column_B=f"{smaller}__typed", or_equal=True,
                    ignore_row_if="either_value_is_missing", meta=meta("not_greater", smaller, rule_name=rule.name),
                )
            )
    return out


def _gx_frame(frame: pl.DataFrame, typed: pl.DataFrame, contract: Contract):
    """The pandas frame GX sees: text columns plus ``<col>__typed`` for every non-string column."""
    # Typed values go to GX as float64 (dates as days since 1970-01-01): its between check is
    # vectorised only for int64/float64/datetime64[ns] and runs row by row in Python otherwise
    # (seconds on 250k rows); float64 is exact for these integers and takes nulls as NaN.
    extra = {
        f"{c.name}__typed": (typed[c.name].cast(pl.Int32) if c.type == "date" else typed[c.name]).cast(pl.Float64)
        for c in contract.columns
        if c.type != "string"
    }
    combined = frame.with_columns(**extra) if extra else frame
    return combined.to_pandas()


def _message(rule: str, column: str, value: str | None, contract: Contract, codes, as_of: date, row: dict, rule_name: str | None) -> str:
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
    if rule == "date_order":
        rule_obj = next(r for r in contract.rules if r.name == rule_name)
        later, earlier = rule_obj.columns
        return f"{rule_name}: {later} {row[later]} is before {earlier} {row[earlier]}"
    if rule == "not_greater":
        rule_obj = next(r for r in contract.rules if r.name == rule_name)
        smaller, larger = rule_obj.columns
        return f"{rule_name}: {smaller} {row[smaller]} is greater than {larger} {row[larger]}"
    raise ValueError(rule)


def _evaluate(
    extract: str,
    file_name: str,
    frame: pl.DataFrame,
    contract: Contract,
    codes: dict[str, dict[str, Code]],
    as_of: date,
    accepted_keys: dict[tuple[str, str], tuple[set[str], dict[str, int], str]],
    gx_runner: _GxRunner,
) -> tuple[pl.DataFrame, _Failures]:
    failures = _Failures()
    typed = frame.select(_parsed(c).alias(c.name) for c in contract.columns)

    # type (polars): non-blank text that did not parse
    for col in contract.columns:
        if col.type == "string":
            continue
        bad = frame.with_row_index("_i").filter(pl.col(col.name).is_not_null() & typed[col.name].is_null())
        for i, value in bad.select("_i", col.name).iter_rows():
            failures.add(i, "type", col.name, value, f"{col.name} {value!r} is not {_TYPE_ONE[col.type]}")

    # both_or_neither (polars)
    for rule in contract.rules:
        if rule.check != "both_or_neither":
            continue
        a, b = rule.columns
        bad = frame.with_row_index("_i").filter(pl.col(a).is_null() != pl.col(b).is_null())
        for i, va, vb in bad.select("_i", a, b).iter_rows():
            blank, given, given_value = (b, a, va) if vb is None else (a, b, vb)
            failures.add(i, "both_or_neither", blank, given_value,
                         f"{rule.name}: {given} is {given_value!r} but {blank} is blank; give both or neither")

    # references (polars): against the ACCEPTED rows of the referenced extract
    for col in contract.columns:
        if col.references is None:
            continue
        keys, quarantined_at, target_file = accepted_keys[col.references]
        bad = frame.with_row_index("_i").filter(pl.col(col.name).is_not_null() & ~pl.col(col.name).is_in(list(keys)))
        target, target_col = col.references
        for i, value in bad.select("_i", col.name).iter_rows():
            if value in quarantined_at:
                message = (
                    f"{col.name} {value!r} was quarantined in {target_file} (row {quarantined_at[value]}), "
                    f"so this row is quarantined too"
                )
            else:
                message = f"{col.name} {value!r} is not in {target_file} ({target}.{target_col})"
            failures.add(i, "references", col.name, value, message)

    # the rest: great-expectations
    expectations = _gx_expectations(gx_runner.gx, contract, codes, as_of)
    failed = gx_runner.run(extract, file_name, _gx_frame(frame, typed, contract), expectations)
    for meta, indices in failed:
        rule, column = meta["rule"], meta["column"]
        if not indices:  # a failure without rows would be a silently lost failure: refuse
            raise RuntimeError(f"{file_name}: great-expectations reported rule {rule} on {column} failed without row indices")
        if rule == "unique":
            _add_unique(failures, frame, contract, indices)
            continue
        values = frame[column].gather(indices).to_list()
        pair_rows: list[dict] = [{}] * len(indices)
        if rule in ("date_order", "not_greater"):
            pair = next(r for r in contract.rules if r.name == meta.get("rule_name")).columns
            pair_rows = frame.select(pair).gather(indices).to_dicts()
        for i, value, row in zip(indices, values, pair_rows, strict=True):
            failures.add(i, rule, column, value, _message(rule, column, value, contract, codes, as_of, row, meta.get("rule_name")))
    return typed, failures


def _add_unique(failures: _Failures, frame: pl.DataFrame, contract: Contract, indices: list[int]) -> None:
    key = list(contract.primary_key)
    label = "+".join(key)
    dupes = (
        frame.with_row_index("_i")
        .filter(pl.col("_i").is_in(indices))
        .with_columns(pl.concat_str([pl.col(k).fill_null("") for k in key], separator="|").alias("_key"))
        .with_columns(pl.col("_i").over("_key", mapping_strategy="join").alias("_all"))
    )
    for i, k, all_rows in dupes.select("_i", "_key", "_all").iter_rows():
        rows = ", ".join(str(r + 2) for r in sorted(all_rows)[:10])
        failures.add(
            i, "unique", label, k,
            f"{label} {k!r} appears in {len(all_rows)} rows (rows {rows}); every row sharing a duplicated key "
            "is quarantined because nothing says which one is right",
        )


def validate_extract(
    path: Path,
    contract: Contract,
    *,
    codes: dict[str, dict[str, Code]],
    as_of: date,
    accepted_keys: dict,
    gx_runner: _GxRunner,
) -> ExtractResult:
    """Read one extract file and split its rows into accepted (typed) and quarantined."""
    extract, name = contract.extract, path.name
    frame, digest, notes = read_extract(path, contract)
    frame, n_normalised, per_column = _normalise_codes(frame, contract, codes)
    if n_normalised:
        detail = ", ".join(f"{c}: {n}" for c, n in per_column.items())
        notes.append(f"{n_normalised} codes normalised to the code list's case ({detail})")
    try:
        typed, failures = _evaluate(extract, name, frame, contract, codes, as_of, accepted_keys, gx_runner)
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
    bad_rows = sorted(set(failures.rows))
    accepted = (
        typed.with_row_index("_i")
        .filter(~pl.col("_i").is_in(bad_rows))
        .drop("_i")
        .cast({c.name: _POLARS_TYPES[c.type] for c in contract.columns})
    )
    rejected = frame.with_row_index("source_row", offset=2).filter(pl.col("source_row").is_in([r + 2 for r in bad_rows]))
    result = ExtractResult(
        extract=extract,
        file=name,
        sha256=digest,
        rows_read=frame.height,
        rows_accepted=accepted.height,
        rows_quarantined=len(bad_rows),
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


def validate_dataset(
    data_dir: Path,
    extracts: Iterable[str],
    *,
    as_of: date | None = None,
    contracts_dir: Path = CONTRACTS_DIR,
    progress: Callable[[str, int, int], None] | None = None,
) -> ValidationResult:
    """Validate every extract in load order; references resolve against earlier accepted rows."""
    data_dir = Path(data_dir)
    extracts = list(extracts)
    as_of = as_of or date.today()
    contracts = load_contracts(extracts, contracts_dir)
    codes = load_codes(contracts_dir)
    if not data_dir.is_dir():
        raise BlockingError(str(data_dir), "missing_directory", f"data directory {data_dir} does not exist")
    paths = {e: find_extract_file(data_dir, e) for e in extracts}  # every file present before any work
    needed = {col.references for c in contracts.values() for col in c.columns if col.references}
    gx_runner = _GxRunner()
    result = ValidationResult()
    accepted_keys: dict[tuple[str, str], tuple[set[str], dict[str, int], str]] = {}
    for number, extract in enumerate(extracts, start=1):
        if progress:
            progress(f"validate {extract}", number, len(extracts))
        try:
            outcome = validate_extract(
                paths[extract], contracts[extract], codes=codes, as_of=as_of, accepted_keys=accepted_keys, gx_runner=gx_runner
            )
        except (OSError, csv.Error, UnicodeError, pl.exceptions.PolarsError) as exc:
            # bad input must reach the user as one line naming the file, never as a traceback
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise BlockingError(paths[extract].name, "read", f"the file could not be read: {first}") from None
        result.extracts[extract] = outcome
        for target, column in needed:
            if target == extract:
                accepted_keys[(target, column)] = _keys(outcome, column)
    return result


def _keys(outcome: ExtractResult, column: str) -> tuple[set[str], dict[str, int], str]:
    """Accepted values of a referenced column, and the first quarantined row holding each other value."""
    accepted = set(outcome.accepted[column].cast(pl.String).drop_nulls().to_list())
    quarantined = (
        outcome.rejected.filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(list(accepted)))
        .group_by(column)
        .agg(pl.col("source_row").min())
    )
    return accepted, dict(quarantined.iter_rows()), outcome.file
