"""The SPOC pack as CSV: one file per table, exactly the disclosure-controlled frame the registry
returned (hidden counts blank, with their "<5" / "[c]" display columns), plus pack_info.csv."""

from __future__ import annotations

import polars as pl

from dashboard.exports.format import stable
from metrics.spoc import SpocPack


def render_csvs(pack: SpocPack) -> dict[str, bytes]:
    """file name -> bytes (UTF-8, comma, header row, ISO dates, blank = missing)."""
    files = {f"{t.key}.csv": _csv(t.frame) for t in pack.tables}
    info = pl.DataFrame({
        "field": ["area_code", "area_name", "month", "build_id", "built_at", "suppression_threshold",
                  "has_grievances"],
        "value": [pack.area_code, pack.area_name, f"{pack.month_start:%Y-%m}", pack.build_id, pack.built_at,
                  str(pack.settings.suppression_threshold), "yes" if pack.has_grievances else "no"],
    })
    files["pack_info.csv"] = _csv(info)
    return files


def _csv(frame: pl.DataFrame) -> bytes:
    return stable(frame).write_csv(date_format="%Y-%m-%d", null_value="").encode("utf-8")
