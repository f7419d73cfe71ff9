"""One extract as checked text: read, trimmed, mapped, its columns and types checked, codes normalised.

Everything that can stop the build before any row is judged happens in read_extract; what it
tolerates is written into the notes that load_audit keeps.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from data_contracts.contract import Code, Contract
from data_contracts.csv_read import UNNAMED, read_csv_text, read_parquet_text
from data_contracts.errors import FIRST_DATA_ROW, BlockingError
from data_contracts.mapping import DEFAULT_OPEN_END_MARKERS, ExtractMapping, Mapping, apply_mapping
from data_contracts.parsing import check_column_types


def read_extract(
    path: Path,
    contract: Contract,
    mapping: ExtractMapping | None = None,
    open_end_markers: Sequence[date] = DEFAULT_OPEN_END_MARKERS,
) -> tuple[pl.DataFrame, str, list[str], pl.DataFrame]:
    """The file as trimmed text columns (blank -> null) named as the contract says, its sha256,
    notes on what was tolerated and its non-text columns typed. A mapping renames, recodes and
    re-dates a source export first."""
    name = path.name
    notes: list[str] = []
    mapping = mapping or ExtractMapping()
    source_names = {mapping.source_name(c) for c in contract.column_names}
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if not data:
        raise BlockingError(name, "empty_file", "the file is empty (0 bytes); every extract needs a header and at least one row")
    if path.suffix == ".parquet":
        frame = read_parquet_text(path, contract, notes, mapping)
    else:
        frame = read_csv_text(data, name, notes, source_names)

    # trim and turn blanks into nulls; count trimmed values so the note says how many
    trimmed = frame.select(pl.col(c).str.strip_chars().alias(c) for c in frame.columns)
    # stripping only removes characters, so a value was trimmed exactly when its length changed
    # (lengths are read from the string offsets: no second strip)
    n_trimmed = sum(int((frame[c].str.len_bytes() != trimmed[c].str.len_bytes()).sum()) for c in frame.columns)
    frame = trimmed.with_columns(pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in frame.columns)
    if n_trimmed:
        notes.append(f"{n_trimmed:,} values had surrounding whitespace trimmed")

    frame = apply_mapping(frame, mapping, notes)
    frame = _check_columns(frame, contract, name, notes, mapping)
    frame = _open_end_markers(frame, contract, open_end_markers, notes)
    if frame.height == 0:
        raise BlockingError(
            name,
            "no_data_rows",
            "the file has a header but no data rows; no extract may be empty (re-export it with its rows)",
            row=FIRST_DATA_ROW,
        )
    typed = check_column_types(frame, contract, name)
    return frame, digest, notes, typed


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
        if col.startswith(UNNAMED):
            if has_data:
                position = int(col.removeprefix(UNNAMED))
                first = frame.with_row_index("_i").filter(pl.col(col).is_not_null())["_i"][0] + FIRST_DATA_ROW
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
    frame = _blank_absent(frame, contract, notes)
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        col = missing[0]
        unknown = [c for c in frame.columns if c not in expected and not c.startswith(UNNAMED)]
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



def normalise_codes(frame: pl.DataFrame, contract: Contract, codes: dict[str, dict[str, Code]]
                    ) -> tuple[pl.DataFrame, int, dict[str, int], dict[str, pl.Series]]:
    """Map codes given in the wrong case onto the code list's spelling; return the counts, and each
    code column's distinct non-blank values as they now stand (great-expectations judges those:
    gx_suite reuses them rather than finding them again)."""
    columns = [col for col in contract.columns if col.codes is not None]
    if not columns:
        return frame, 0, {}, {}
    # every code column's distinct values in one pass (judged first: usually none is fixable)
    uniques = frame.select(pl.col(col.name).unique().implode() for col in columns).row(0)
    exprs, counts, distinct = [], {}, {}
    for col, values in zip(columns, uniques, strict=True):
        valid = list(codes[col.codes])
        by_upper = {c.upper(): c for c in valid}
        text = pl.col(col.name)
        fixable = text.is_not_null() & ~text.is_in(valid) & text.str.to_uppercase().is_in(list(by_upper))
        values = pl.Series("value", values, dtype=pl.String).drop_nulls()
        if not values.to_frame(col.name).select(fixable.any()).item():
            distinct[col.name] = values
            continue
        n = int(frame.select(fixable.sum()).item())
        counts[col.name] = n
        exprs.append(
            pl.when(fixable).then(text.str.to_uppercase().replace_strict(by_upper, default=None)).otherwise(text).alias(col.name)
        )
    if exprs:
        frame = frame.with_columns(exprs)
    return frame, sum(counts.values()), counts, distinct


@dataclass
class ExtractRead:
    path: Path
    frame: pl.DataFrame
    sha256: str
    notes: list[str]
    n_normalised: int
    typed: pl.DataFrame | None = None  # the non-text columns parsed (normalising codes leaves them alone)
    distinct: dict[str, pl.Series] | None = None  # code columns' distinct values (normalise_codes)


def read_and_normalise(path: Path, contract: Contract, codes, mapping: Mapping) -> ExtractRead:
    frame, digest, notes, typed = read_extract(path, contract, mapping.for_extract(contract.extract),
                                               mapping.open_end_markers)
    frame, n_normalised, per_column, distinct = normalise_codes(frame, contract, codes)
    if n_normalised:
        detail = ", ".join(f"{c}: {n:,}" for c, n in per_column.items())
        notes.append(f"{n_normalised:,} codes normalised to the code list's case ({detail})")
    return ExtractRead(path, frame, digest, notes, n_normalised, typed, distinct)


def _blank_absent(frame: pl.DataFrame, contract: Contract, notes: list[str]) -> pl.DataFrame:
    """A column added to the contract later (`may_be_absent`), missing from an older extract: read
    as blank, and said in the extract's notes."""
    absent = [c.name for c in contract.columns if c.may_be_absent and c.name not in frame.columns]
    if not absent:
        return frame
    notes.append(f"column(s) not in this extract read as blank: {', '.join(absent)}")
    return frame.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in absent)
