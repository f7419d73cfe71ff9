"""The generator's clock: whole days counted from 2016-04-01 (day 0) to the extract date (day END).

People in post on day 0 carry their history back to their join date, so day numbers can be negative.
"""

from __future__ import annotations

import numpy as np

START = np.datetime64("2016-04-01", "D")
EXTRACT_DATE = np.datetime64("2026-10-31", "D")
END = int((EXTRACT_DATE - START) / np.timedelta64(1, "D"))  # last day of the extract, inclusive
NEVER = 10**7  # "no leave date / open spell" sentinel, far beyond END
EPOCH = int((START - np.datetime64("1970-01-01", "D")) / np.timedelta64(1, "D"))
YEAR = 365.25
N_MONTHS = 127  # April 2016 .. October 2026


def financial_year(days: np.ndarray) -> np.ndarray:
    """Financial year (2016 = FY2016/17) of day numbers."""
    d = START + days.astype("timedelta64[D]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month0 = d.astype("datetime64[M]").astype(np.int64) % 12
    return year - (month0 < 3)


def calendar_year(days: np.ndarray) -> np.ndarray:
    return (START + days.astype("timedelta64[D]")).astype("datetime64[Y]").astype(np.int64) + 1970


def ramp(fy: np.ndarray, first: int, last: int) -> np.ndarray:
    """0 up to FY `first`, rising linearly to 1 at FY `last`, 1 after."""
    return np.clip((fy - first) / (last - first), 0.0, 1.0)


def month_of(days: np.ndarray) -> np.ndarray:
    d = START + days.astype("timedelta64[D]")
    return (d.astype("datetime64[M]") - np.datetime64("2016-04", "M")).astype(np.int64)
