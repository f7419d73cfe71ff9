"""How a pack table's cells read in every format: column labels, which columns a reader sees, and
a hidden count's display text ("<5"). One place, so the PDF, XLSX and CSV agree."""

from __future__ import annotations

from typing import Any

import polars as pl

from dashboard.theme import COLUMN_LABELS, fmt_p, fmt_pct, fmt_ratio

# A count column and the column carrying its display text when hidden.
DISPLAY_OF = {"n": "n_display", "events": "events_display"}
DISPLAY_COLUMNS = ("n_display", "events_display", "value_display")
COUNT_COLUMNS = ("n", "events", "value")

LABELS = {
    **COLUMN_LABELS,
    "month_start": "Month",
    "measure": "Measure code",
    "label": "Measure",
    "category": "Category",
    "is_total": "Total row or column",
    "median_days": "Median days",
    "median_ci_low": "Median CI low",
    "median_ci_high": "Median CI high",
    "overall_rate": "Force rate",
    "flag": "Funnel position",
    "statement": "Statement",
    "test": "Test",
    "is_reference": "Reference group?",
    "is_not_stated": "Not stated?",
    "stage": "Stage",
    "n_display": "Number (as published)",
    "events_display": "Events (as published)",
    "value_display": "Count (as published)",
}


SIGNIFICANT_DIGITS = 12


def stable(frame: pl.DataFrame) -> pl.DataFrame:
    """Floats to 12 significant digits for the files: DuckDB's parallel float sums (person-years)
    can differ in the last bit between runs, and a pack must be byte-identical run to run."""
    floats = [c for c, t in frame.schema.items() if t in (pl.Float64, pl.Float32)]
    return frame.with_columns(pl.col(floats).round_sig_figs(SIGNIFICANT_DIGITS)) if floats else frame


def label(column: str) -> str:
    if column in LABELS:
        return LABELS[column]
    if column.startswith(("lower_", "upper_")):
        side, level = column.split("_", 1)
        return f"{side.capitalize()} {level.replace('_', '.')}% limit"
    return column.replace("_", " ").capitalize()


def sheet_columns(frame: pl.DataFrame) -> list[str]:
    """The columns a spreadsheet shows: every column except the display twins, which are folded
    into the count cells they describe."""
    return [c for c in frame.columns if c not in DISPLAY_COLUMNS]


def cell_value(row: dict[str, Any], column: str) -> Any:
    """The value a reader sees: the number, or, for a hidden count, its display text."""
    value = row[column]
    if value is None:
        twin = DISPLAY_OF.get(column) if DISPLAY_OF.get(column) in row else None
        if twin is None and column in COUNT_COLUMNS:
            twin = "value_display"  # one-way and two-way count tables carry a single display column
        if twin is not None and row.get(twin) is not None:
            return row[twin]
    return value


def text(value: Any, column: str) -> str:
    """Printed text for a cell (PDF)."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if column in ("p_value", "p_adjusted"):
        return fmt_p(value)
    if column in ("rate", "ci_low", "ci_high", "overall_rate") and isinstance(value, float):
        return fmt_pct(value)
    if column in ("ratio", "ratio_ci_low", "ratio_ci_high"):
        return fmt_ratio(value)
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
