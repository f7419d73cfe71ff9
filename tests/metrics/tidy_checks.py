"""The tidy schema's check, for tests: every metric function's output must pass it."""

from __future__ import annotations

import polars as pl

from metrics.tidy import EXTRA_COLUMNS, TIDY_COLUMNS, TIDY_SCHEMA


def validate_tidy(frame: pl.DataFrame) -> None:
    """Raise ValueError unless `frame` has the fixed columns first, with their dtypes, then known extras
    in their fixed order."""
    names = frame.columns
    if tuple(names[: len(TIDY_COLUMNS)]) != TIDY_COLUMNS:
        raise ValueError(f"tidy table must start with columns {list(TIDY_COLUMNS)}; got {names}")
    for col, dtype in TIDY_SCHEMA.items():
        if frame.schema[col] != dtype:
            raise ValueError(f"tidy column {col!r} must be {dtype}; got {frame.schema[col]}")
    extras = names[len(TIDY_COLUMNS):]
    unknown = [e for e in extras if e not in EXTRA_COLUMNS]
    if unknown:
        raise ValueError(f"tidy table has unknown extra column(s) {unknown}")
    if list(extras) != [e for e in EXTRA_COLUMNS if e in extras]:
        raise ValueError(f"tidy extra columns out of order: {extras}")
