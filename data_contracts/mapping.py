"""Source mappings: read a real HR export as its contract describes it, without editing the file.

A mapping file (YAML, ``eqdash build --mapping FILE``) says, per extract, which source column is
which contract column, which source words mean which codes, and how dates are written::

    open_end_markers: ["9999-12-31"]        # end dates that mean "no end" (default: 9999-12-31)
    quarantine_threshold: 0.05              # share of an extract that may be quarantined
    extracts:
      people:
        columns: {Employee Ref: person_id, Gender: sex}     # source name: contract name
        values:
          sex: {Female: F, Male: M}                          # contract column: {source word: code}
        dates: {join_date: "%d/%m/%Y", leave_date: excel}    # strptime format, excel or iso_datetime

Words not listed pass through unchanged (so the contract's own codes still work, and an unknown word
is quarantined by the codes rule with its value). A date that does not parse in the declared format
is left as written, so the type rule quarantines it with the row. The same file, read backwards,
writes the ``hr-export`` sample (sample_data/hr_export.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl
import yaml

from data_contracts.errors import BlockingError

DEFAULT_OPEN_END_MARKERS: tuple[date, ...] = (date(9999, 12, 31),)
DATE_KINDS = ("excel", "iso_datetime")
_EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (it counts 1900 as a leap year; serial 60 onwards agree)


@dataclass(frozen=True)
class ExtractMapping:
    columns: dict[str, str] = field(default_factory=dict)  # source name -> contract name
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # contract column -> {source: code}
    dates: dict[str, str] = field(default_factory=dict)  # contract column -> format

    def source_name(self, contract_name: str) -> str:
        for source, target in self.columns.items():
            if target == contract_name:
                return source
        return contract_name


@dataclass(frozen=True)
class Mapping:
    path: Path | None = None
    extracts: dict[str, ExtractMapping] = field(default_factory=dict)
    open_end_markers: tuple[date, ...] = DEFAULT_OPEN_END_MARKERS
    quarantine_threshold: float | None = None
    quarantine_thresholds: dict[str, float] = field(default_factory=dict)

    def for_extract(self, extract: str) -> ExtractMapping:
        return self.extracts.get(extract, ExtractMapping())


def _bad(path: Path, message: str) -> BlockingError:
    return BlockingError(path.name, "mapping", message)


def load_mapping(path: Path, extracts: tuple[str, ...] | list[str]) -> Mapping:
    """Read and check a mapping file; every mistake is one BlockingError naming the key."""
    path = Path(path)
    raw = _read_yaml(path)
    unknown = set(raw) - {"extracts", "open_end_markers", "quarantine_threshold", "description"}
    if unknown:
        raise _bad(path, f"unknown top-level key(s) {sorted(unknown)}")
    markers = _markers(path, raw)
    threshold, per_extract = _thresholds(path, raw.get("quarantine_threshold"))
    out: dict[str, ExtractMapping] = {}
    for extract, spec in (raw.get("extracts") or {}).items():
        if extract not in extracts:
            raise _bad(path, f"extract {extract!r} is not one of {', '.join(extracts)}")
        out[extract] = _extract_mapping(path, extract, spec or {})
    return Mapping(path=path, extracts=out, open_end_markers=markers, quarantine_threshold=threshold,
                   quarantine_thresholds=per_extract)


def _read_yaml(path: Path) -> dict:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _bad(path, f"mapping file {path} does not exist") from None
    except (OSError, UnicodeError) as exc:
        raise _bad(path, f"mapping file {path} could not be read: {exc}") from None
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0]
        raise _bad(path, f"mapping file {path} is not valid YAML: {first}") from None
    if not isinstance(raw, dict):
        raise _bad(path, "the mapping must be a YAML mapping with an 'extracts' key")
    return raw


def _markers(path: Path, raw: dict) -> tuple[date, ...]:
    if "open_end_markers" not in raw:
        return DEFAULT_OPEN_END_MARKERS
    try:
        return tuple(date.fromisoformat(str(m)) for m in raw["open_end_markers"] or [])
    except (TypeError, ValueError):
        raise _bad(path, f"open_end_markers must be a list of dates like 9999-12-31, not {raw['open_end_markers']!r}") from None


def _thresholds(path: Path, q: object) -> tuple[float | None, dict[str, float]]:
    """One share for every extract, or a share per extract."""
    threshold, per_extract = None, {}
    if isinstance(q, dict):
        per_extract = {str(k): float(v) for k, v in q.items()}
    elif q is not None:
        threshold = float(q)
    for value in [threshold, *per_extract.values()]:
        if value is not None and not 0 <= value <= 1:
            raise _bad(path, f"quarantine_threshold must be a share between 0 and 1, not {value}")
    return threshold, per_extract


def _extract_mapping(path: Path, extract: str, spec: dict) -> ExtractMapping:
    unknown = set(spec) - {"columns", "values", "dates"}
    if unknown:
        raise _bad(path, f"{extract}: unknown key(s) {sorted(unknown)} (use columns, values, dates)")
    values = {}
    for column, words in (spec.get("values") or {}).items():
        if not isinstance(words, dict):
            raise _bad(path, f"{extract}.values.{column} must map source words to codes")
        # YAML reads unquoted Yes/No as booleans: take them back as the words they were
        values[column] = {_word(k): _word(v) for k, v in words.items()}
    dates = {str(k): str(v) for k, v in (spec.get("dates") or {}).items()}
    for column, fmt in dates.items():
        if fmt not in DATE_KINDS and "%" not in fmt:
            raise _bad(path, f"{extract}.dates.{column}: {fmt!r} is not a strptime format (e.g. %d/%m/%Y), excel or iso_datetime")
    return ExtractMapping(columns={str(k): str(v) for k, v in (spec.get("columns") or {}).items()}, values=values, dates=dates)


def _word(value: object) -> str:
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    return str(value)


def apply_mapping(frame: pl.DataFrame, mapping: ExtractMapping, notes: list[str]) -> pl.DataFrame:
    """Rename source columns, map source words to codes and rewrite dates as YYYY-MM-DD."""
    renames = {s: t for s, t in mapping.columns.items() if s in frame.columns}
    if renames:
        frame = frame.rename(renames)
        notes.append(f"mapping: {len(renames)} column(s) renamed")
    n_words = 0
    exprs = []
    for column, words in mapping.values.items():
        if column not in frame.columns:
            continue
        hit = pl.col(column).is_in(list(words))
        n_words += int(frame.select(hit.sum()).item())
        exprs.append(pl.col(column).replace(words).alias(column))
    if exprs:
        frame = frame.with_columns(exprs)
        notes.append(f"mapping: {n_words:,} value(s) mapped to codes")
    converted = []
    for column, fmt in mapping.dates.items():
        if column not in frame.columns:
            continue
        text = pl.col(column)
        if fmt == "excel":
            serial = pl.when(text.str.contains(r"^\d+(\.0+)?$")).then(text.str.replace(r"\.0+$", "").cast(pl.Int64, strict=False))
            parsed = (pl.lit(_EXCEL_EPOCH) + pl.duration(days=serial)).cast(pl.Date)
        elif fmt == "iso_datetime":
            parsed = pl.when(text.str.contains(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")).then(
                text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
        else:
            parsed = text.str.to_date(fmt, strict=False)
        # unparsable values stay as written: the type rule quarantines them with their row
        frame = frame.with_columns(pl.coalesce(parsed.dt.strftime("%Y-%m-%d"), text).alias(column))
        converted.append(f"{column} ({fmt})")
    if converted:
        notes.append(f"mapping: dates read from {', '.join(converted)}")
    return frame


def write_mapped(frame: pl.DataFrame, mapping: ExtractMapping) -> pl.DataFrame:
    """The inverse of apply_mapping for text frames in the contract's shape: codes back to source
    words, ISO dates back to the declared format, contract names back to source names."""
    exprs = []
    for column in frame.columns:
        text = pl.col(column)
        if column in mapping.values:
            inverse: dict[str, str] = {}
            for word, code in mapping.values[column].items():
                inverse.setdefault(code, word)  # the first word listed is the one written
            text = text.replace(inverse)
        fmt = mapping.dates.get(column)
        if fmt is not None:
            day = text.str.to_date("%Y-%m-%d", strict=False)
            if fmt == "excel":
                text = (day - pl.lit(_EXCEL_EPOCH)).dt.total_days().cast(pl.String)
            elif fmt == "iso_datetime":
                text = day.dt.strftime("%Y-%m-%dT00:00:00")
            else:
                text = day.dt.strftime(fmt)
        exprs.append(text.alias(mapping.source_name(column)))
    return frame.select(exprs)
