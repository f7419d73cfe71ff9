"""One SPOC pack's files as bytes: the same code behind the batch export and the dashboard's SPOC
page's download buttons, so both give the same bytes."""

from __future__ import annotations

from datetime import date

from metrics.config import DEFAULTS, Settings
from metrics.spoc import ForceCache, SpocPack, assemble_pack, resolution_curves
from metrics.warehouse import Warehouse

FORMATS = ("pdf", "xlsx", "csv")


def pack_file_names(area: str, month_start: date, formats) -> list[str]:
    """Relative names inside the area's folder (csv files are listed by build_pack_files)."""
    stem = f"{area}-{month_start:%Y-%m}"
    return [f"{stem}.{f}" for f in formats if f != "csv"]


def build_pack_files(wh: Warehouse, month_start: date, area: str, formats=FORMATS, *,
                     settings: Settings = DEFAULTS, cache: ForceCache | None = None) -> dict[str, bytes]:
    """Relative path -> bytes: `<AREA>-<YYYY-MM>.pdf`, `.xlsx` and `csv/<table>.csv`.

    Raises metrics.spoc.PackError for a month outside the warehouse or an unknown area.
    """
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown format(s) {unknown}: choose from {', '.join(FORMATS)}")
    pack = assemble_pack(wh, month_start, area, settings=settings, cache=cache)
    return render_pack(wh, pack, formats, cache=cache)


def render_pack(wh: Warehouse, pack: SpocPack, formats, *, cache: ForceCache | None = None) -> dict[str, bytes]:
    stem = f"{pack.area_code}-{pack.month_start:%Y-%m}"
    files: dict[str, bytes] = {}
    if "pdf" in formats:
        from dashboard.exports.pdf import render_pdf

        cache = cache or ForceCache()
        # A curve steps at each closure: drawn only when no row of its table is hidden.
        curves = None
        if not pack.table("time_to_resolve").frame["is_suppressed"].any():
            curves = cache.get(("curves", pack.month_start, pack.area_code),
                               lambda: resolution_curves(wh, pack.month_start, pack.area_code, pack.settings))
        files[f"{stem}.pdf"] = render_pdf(pack, curves=curves)
    if "xlsx" in formats:
        from dashboard.exports.xlsx import render_xlsx

        files[f"{stem}.xlsx"] = render_xlsx(pack)
    if "csv" in formats:
        from dashboard.exports.csvs import render_csvs

        files.update({f"csv/{name}": data for name, data in render_csvs(pack).items()})
    return files
