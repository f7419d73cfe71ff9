"""The SPOC pack as CSV: one file per table, the same cells as the spreadsheets (numbers, and
shorthand such as <5 or [c] where a number is not shown), plus pack_info.csv."""

from __future__ import annotations

import csv
import io
from datetime import date

from dashboard.exports.format import Sheet, sheets
from metrics.spoc import SpocPack


def render_csvs(pack: SpocPack) -> dict[str, bytes]:
    """file name -> bytes (UTF-8, comma, header row, ISO dates)."""
    files = {f"{s.key}.csv": _csv(s) for s in sheets(pack)}
    info = [("area_code", pack.area_code), ("area_name", pack.area_name), ("month", f"{pack.month_start:%Y-%m}"),
            ("build_id", pack.build_id), ("built_at", pack.built_at),
            ("suppression_threshold", str(pack.settings.suppression_threshold)),
            ("has_grievances", "yes" if pack.has_grievances else "no")]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["field", "value"])
    w.writerows(info)
    files["pack_info.csv"] = buf.getvalue().encode("utf-8")
    return files


def _csv(sheet: Sheet) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([c.label for c in sheet.columns])
    for row in sheet.rows:
        w.writerow([v.isoformat() if isinstance(v, date) else v for v in row])
    return buf.getvalue().encode("utf-8")
