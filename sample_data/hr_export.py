"""The ``hr-export`` style of the sample: the same extracts as an HR system would export them.

Column names, words for codes ("Female", "White - British", Yes/No), UK and Excel dates and the
9999-12-31 "no end date" marker all come from the shipped mapping file, applied backwards
(data_contracts.mapping.write_mapped), so building the styled sample through the mapping gives the
same warehouse as the plain sample (tests/sample_data/test_hr_export.py).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from data_contracts.contract import load_contracts
from data_contracts.mapping import load_mapping, write_mapped
from metrics.config import EXTRACTS  # the load order: referenced extracts first

STYLES = ("plain", "hr-export")
HR_EXPORT_MAPPING = Path(__file__).resolve().parent / "hr-export-mapping.yaml"


def write_style(out_dir: Path, style: str) -> None:
    """Rewrite the plain extracts in ``out_dir`` in ``style`` (plain: leave them as they are)."""
    if style == "plain":
        return
    if style != "hr-export":
        raise ValueError(f"unknown style {style!r}")
    out_dir = Path(out_dir)
    extracts = tuple(p.stem for p in sorted(out_dir.glob("*.csv")))
    mapping = load_mapping(HR_EXPORT_MAPPING, extracts)
    contracts = load_contracts([e for e in EXTRACTS if e in extracts])
    marker = mapping.open_end_markers[0].isoformat() if mapping.open_end_markers else None
    for extract, spec in mapping.extracts.items():
        path = out_dir / f"{extract}.csv"
        frame = pl.read_csv(path, infer_schema=False)
        if marker:  # HR systems write "no end yet" as a far-future date
            frame = frame.with_columns(
                pl.col(c.name).fill_null(marker) for c in contracts[extract].columns if c.open_end)
        write_mapped(frame, spec).write_csv(path, line_terminator="\n")
