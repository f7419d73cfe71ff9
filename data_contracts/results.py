"""What validation hands on: each extract's accepted rows, quarantine and audit counts.

``reconcile`` turns the failures into the quarantine frame and splits the rows into accepted
(typed) and rejected (as read), asserting rows_read == rows_accepted + rows_quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from data_contracts.contract import Contract
from data_contracts.errors import FIRST_DATA_ROW
from data_contracts.parsing import POLARS_TYPES
from data_contracts.reading import ExtractRead
from data_contracts.row_rules import Failures

QUARANTINE_SCHEMA = {
    "extract": pl.String,
    "file": pl.String,
    "source_row": pl.Int64,
    "rule": pl.String,
    "column_name": pl.String,
    "value": pl.String,
    "message": pl.String,
}


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
    """rows_read != rows_accepted + rows_quarantined: a bug in validation, never bad input."""



def reconcile(read: ExtractRead, contract: Contract, typed: pl.DataFrame, failures: Failures, as_of: date
              ) -> ExtractResult:
    """Every row accepted (typed) or quarantined with each rule it broke, and the counts that prove it."""
    extract, name, frame = contract.extract, read.path.name, read.frame
    notes = list(read.notes)
    bad_rows = pl.Series("_i", sorted(set(failures.rows)), dtype=pl.UInt32)
    accepted = (
        typed.with_row_index("_i")
        .filter(~pl.col("_i").is_in(bad_rows.implode()))
        .drop("_i")
        .cast({c.name: POLARS_TYPES[c.type] for c in contract.columns})
    )
    rejected = frame.with_row_index("source_row", offset=FIRST_DATA_ROW).filter(pl.col("source_row").is_in((bad_rows.cast(pl.Int64) + FIRST_DATA_ROW).implode()))
    notes += _open_at_as_of(accepted, contract, as_of)
    result = ExtractResult(
        extract=extract,
        file=name,
        sha256=read.sha256,
        rows_read=frame.height,
        rows_accepted=accepted.height,
        rows_quarantined=bad_rows.len(),
        n_normalised=read.n_normalised,
        notes=tuple(notes),
        accepted=accepted,
        quarantine=_quarantine_frame(extract, name, failures),
        rejected=rejected,
    )
    if result.rows_read != result.rows_accepted + result.rows_quarantined:
        raise ReconciliationError(
            f"{name}: rows_read {result.rows_read} != accepted {result.rows_accepted} + quarantined {result.rows_quarantined}"
        )
    return result


def _quarantine_frame(extract: str, name: str, failures: Failures) -> pl.DataFrame:
    """One row per (source row, rule broken), in source-row order."""
    return pl.DataFrame(
        {
            "extract": [extract] * len(failures.rows),
            "file": [name] * len(failures.rows),
            "source_row": [r + FIRST_DATA_ROW for r in failures.rows],
            "rule": failures.rules,
            "column_name": failures.columns,
            "value": [None if v is None else str(v) for v in failures.values],
            "message": failures.messages,
        },
        schema=QUARANTINE_SCHEMA,
    ).sort("source_row", "rule", "column_name", maintain_order=True)


def _open_at_as_of(accepted: pl.DataFrame, contract: Contract, as_of: date) -> list[str]:
    """A note for each end-date column with accepted values after the as-of date (still open then)."""
    notes = []
    for col in contract.columns:
        if col.open_end:
            later = int(accepted.select((pl.col(col.name) > as_of).sum()).item())
            if later:
                notes.append(f"{later:,} {col.name} value(s) after the as-of date {as_of.isoformat()}: "
                             "still open at the as-of date")
    return notes
