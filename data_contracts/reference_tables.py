"""Read and validate the published reference tables: Home Office police workforce and the 2011
Census population by police force area (the benchmarks' inputs).

The publishers' files are not extracts we control, so they are normalised first, each change
counted in a note: either header spelling maps to the contract's names (HEADER_NAMES), unnamed
empty trailing columns are dropped, ' -' (a dash) is zero and '1,832' is 1832. Then every row goes
through the same contract machinery as every extract (data_contracts/validate.py): accepted or
quarantined with its rule, and rows read = accepted + quarantined for each file.

A reference directory holds any number of Home Office tables (recognised by their header, in any
sub-folder) and one census table. Where two Home Office files publish the same cell (the chief
officers of 2003-2006 are in both shipped files), their headcounts must agree or the load stops
naming both files: two editions that disagree cannot both be benchmarks.
"""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import NamedTuple

import polars as pl

from data_contracts import gx_worker
from data_contracts.contract import Contract, load_codes, load_contract
from data_contracts.errors import BlockingError
from data_contracts.gx_suite import judge
from data_contracts.mapping import Mapping
from data_contracts.reading import ExtractRead, read_and_normalise
from data_contracts.results import QUARANTINE_SCHEMA, ExtractResult
from data_contracts.validate import validate_extract

CONTRACTS_DIR = Path(__file__).resolve().parent / "reference"
HO_EXTRACT, CENSUS_EXTRACT = "ho_workforce", "census_population"

# Published header (either edition's spelling, compared case-insensitively) -> contract column.
HEADER_NAMES: dict[str, dict[str, str]] = {
    HO_EXTRACT: {
        "as at 31 march...": "year", "as at 31 march": "year",
        "geo code": "geo_code", "geocode": "geo_code",
        "force name": "force_name",
        "region": "region",
        "gender": "sex", "sex": "sex",
        "rank description": "rank", "rank": "rank",
        "worker type": "worker_type",
        "ethnicity": "ethnicity",
        "ethnic group": "ethnic_group",
        "total (headcount)": "headcount",
        "total (fte)": "fte",
    },
    CENSUS_EXTRACT: {
        "police force": "force_area",
        "white": "white",
        "black (or black british)": "black",
        "asian (or asian british)": "asian",
        "chinese": "chinese",
        "mixed": "mixed",
        "other": "other",
    },
}
NUMBER_COLUMNS = {HO_EXTRACT: ("headcount", "fte"), CENSUS_EXTRACT: ("white", "black", "asian", "chinese", "mixed", "other")}
ZERO_MARKERS = ("-",)  # after trimming: the Home Office writes a zero as ' -'
# The cell two files must agree on, and what they publish there.
HO_KEY = ("year", "force_name", "sex", "rank", "ethnicity")


@dataclass
class ReferenceResult:
    """Every reference file's outcome, and the accepted rows stacked per table."""

    files: list[ExtractResult] = field(default_factory=list)
    ho_workforce: pl.DataFrame | None = None  # accepted rows of every Home Office file, with source_file
    census_population: pl.DataFrame | None = None

    @property
    def quarantine(self) -> pl.DataFrame:
        frames = [r.quarantine for r in self.files]
        return pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=QUARANTINE_SCHEMA)

    def audit(self) -> pl.DataFrame:
        return pl.DataFrame([r.audit_row() for r in self.files])


def classify(path: Path) -> str | None:
    """Which reference table a CSV file is, from its header; None if neither."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError):
        return None
    cells = {h.strip().lower() for h in header if h.strip()}
    for extract, names in HEADER_NAMES.items():
        needed = {"force_name", "ethnicity", "headcount", "year"} if extract == HO_EXTRACT else {"force_area", "white"}
        if needed <= {names[c] for c in cells if c in names}:
            return extract
    return None


def normalise(path: Path, extract: str) -> tuple[bytes, list[str]]:
    """The file as CSV with the contract's column names, zero markers as 0 and no thousands
    separators; the notes say what was changed and how often. Rows keep their order and number,
    so source rows still point into the published file."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BlockingError(path.name, "encoding", f"byte offset {exc.start} is not valid UTF-8; save the table as UTF-8 CSV") from None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        raise BlockingError(path.name, "empty_file", "the file is empty")
    renamed, notes = _header(rows, HEADER_NAMES[extract])
    width = len(renamed)
    numeric = [i for i, name in enumerate(renamed) if name in NUMBER_COLUMNS[extract]]
    n_zero = n_thousands = 0
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(renamed)
    for row in rows[1:]:
        row = row[:width] if len(row) >= width else row + [""] * (width - len(row))
        for i in numeric:
            row[i], kind = _number(row[i])
            n_zero, n_thousands = n_zero + (kind == "zero"), n_thousands + (kind == "thousands")
        writer.writerow(row)
    if n_zero:
        notes.append(f"{n_zero:,} zero marker(s) ' -' read as 0")
    if n_thousands:
        notes.append(f"{n_thousands:,} number(s) with thousands separators read")
    return out.getvalue().encode("utf-8"), notes


def _header(rows: list[list[str]], names: dict[str, str]) -> tuple[list[str], list[str]]:
    """The header as contract names, without empty unnamed trailing columns, and notes saying so."""
    header = rows[0]
    width = len(header)
    while width and not header[width - 1].strip() and all(len(r) < width or not r[width - 1].strip() for r in rows[1:]):
        width -= 1
    notes = []
    if width < len(header):
        notes.append(f"{len(header) - width} empty unnamed trailing column(s) dropped")
    renamed = [names.get(h.strip().lower(), h.strip()) for h in header[:width]]
    spelled = [h.strip() for h in header[:width] if h.strip().lower() in names and names[h.strip().lower()] != h.strip()]
    if spelled:
        notes.append(f"published headers read as contract columns: {', '.join(spelled)}")
    return renamed, notes


def _number(cell: str) -> tuple[str, str | None]:
    """A published number cell as plain digits: ' -' is 0, '1,832' is 1832 (and which change was made)."""
    value = cell.strip()
    if value in ZERO_MARKERS:
        return "0", "zero"
    if "," in value and value.replace(",", "").replace(".", "", 1).isdigit():
        return value.replace(",", ""), "thousands"
    return cell, None


def find_reference_files(reference_dir: Path) -> dict[str, list[Path]]:
    """Home Office and census CSV files under reference_dir (any depth), by table."""
    reference_dir = Path(reference_dir)
    if not reference_dir.is_dir():
        raise BlockingError(str(reference_dir), "missing_directory", f"reference directory {reference_dir} does not exist")
    found: dict[str, list[Path]] = {HO_EXTRACT: [], CENSUS_EXTRACT: []}
    for path in sorted(reference_dir.rglob("*.csv")):
        kind = classify(path)
        if kind is not None:
            found[kind].append(path)
    if not found[HO_EXTRACT]:
        raise BlockingError(str(reference_dir), "missing_file", "no Home Office police workforce table (a CSV whose header has "
                            "'Force Name', 'Ethnicity' and 'Total (headcount)') was found")
    if len(found[CENSUS_EXTRACT]) != 1:
        raise BlockingError(str(reference_dir), "missing_file" if not found[CENSUS_EXTRACT] else "ambiguous_file",
                            f"expected one census population table (header 'Police force', 'White', ...), found "
                            f"{len(found[CENSUS_EXTRACT])}")
    return found


class _Staged(NamedTuple):
    """One reference file, normalised and copied under its published name, read for validation."""

    path: Path
    copy: Path
    contract: Contract
    notes: list[str]
    read: ExtractRead


def validate_reference(reference_dir: Path, *, as_of: date | None = None,
                       before_judging: Callable[[], object] | None = None) -> ReferenceResult:
    """Validate every reference table under reference_dir; BlockingError if one cannot be read or
    two Home Office files disagree about the same cell. ``before_judging`` is called (and waited
    for) before great-expectations is asked for verdicts: a build lets the extracts go first."""
    found = find_reference_files(reference_dir)
    codes = load_codes(CONTRACTS_DIR)
    as_of = as_of or date.today()
    result = ReferenceResult()
    stacked: dict[str, list[pl.DataFrame]] = {HO_EXTRACT: [], CENSUS_EXTRACT: []}
    with tempfile.TemporaryDirectory(prefix="eqdash-reference-") as tmp:
        staged: dict[str, _Staged] = {}
        for extract, paths in found.items():
            contract = load_contract(extract, CONTRACTS_DIR)
            for number, path in enumerate(paths):
                data, notes = normalise(path, extract)
                # validate_extract reads a file: write the normalised text under the published name
                # (in its own folder), so quarantine rows name the file the user has
                copy = Path(tmp) / f"{extract}-{number}" / path.name
                copy.parent.mkdir()
                copy.write_bytes(data)
                staged[f"{extract}-{number}"] = _Staged(path, copy, contract, notes,
                                                        read_and_normalise(copy, contract, codes, Mapping()))
        # every file judged by great-expectations in one batch (its cost is per expectation, not per row)
        if before_judging is not None:
            before_judging()
        try:
            verdicts = judge({key: s.read.frame for key, s in staged.items()},
                             {key: s.contract for key, s in staged.items()}, codes, as_of, gx_worker.shared(),
                             typed={key: s.read.typed for key, s in staged.items()},
                             distinct={key: s.read.distinct for key, s in staged.items()})
        except (pl.exceptions.PolarsError, ValueError, TypeError) as exc:
            raise BlockingError(str(reference_dir), "validation", f"the rows could not be checked: {exc}") from exc
        for key, (path, copy, contract, notes, read) in staged.items():
            mine = {kind: v.filter(pl.col("extract") == key).with_columns(pl.lit(contract.extract).alias("extract"))
                    for kind, v in verdicts.items()}
            outcome = validate_extract(copy, contract, codes=codes, as_of=as_of, accepted_keys={}, verdicts=mine,
                                       read=read)
            outcome.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
            outcome.notes = tuple(notes) + outcome.notes
            outcome.file = str(path.relative_to(reference_dir))
            outcome.quarantine = outcome.quarantine.with_columns(pl.lit(outcome.file).alias("file"))
            result.files.append(outcome)
            stacked[contract.extract].append(outcome.accepted.with_columns(pl.lit(outcome.file).alias("source_file")))
    result.ho_workforce = _reconcile_overlaps(pl.concat(stacked[HO_EXTRACT], how="vertical"))
    result.census_population = pl.concat(stacked[CENSUS_EXTRACT], how="vertical")
    return result


def _reconcile_overlaps(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per published cell: a cell in several files must have the same headcount in each
    (then the first file's row is kept); otherwise a BlockingError naming the files and the cell."""
    key = list(HO_KEY)
    spread = (frame.group_by(key).agg(pl.col("headcount").n_unique().alias("values"),
                                      pl.col("headcount").alias("headcounts"), pl.col("source_file").alias("files"))
              .filter(pl.col("values") > 1).sort(key))
    if spread.height:
        row = spread.row(0, named=True)
        cell = ", ".join(str(row[k]) for k in key)
        detail = "; ".join(f"{f}: {h}" for f, h in zip(row["files"], row["headcounts"], strict=True))
        raise BlockingError(row["files"][0], "editions_disagree",
                            f"{spread.height} published cell(s) differ between files, e.g. {cell} ({detail}); "
                            "load one edition at a time", column="headcount")
    return frame.unique(subset=key, keep="first", maintain_order=True)
