"""One SPOC pack's files as bytes, and packs zipped for download: the same code behind the batch
export and the dashboard's SPOC page, so both give the same bytes."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from datetime import date

from dashboard.exports.format import synthetic_label
from metrics.config import DEFAULTS, Settings
from metrics.spoc import ForceCache, SpocPack, assemble_pack, resolution_curves
from metrics.warehouse import Warehouse

FORMATS = ("pdf", "xlsx", "ods", "csv")
ZIP_FORMATS = ("pdf", "xlsx", "ods", "csv")  # what a downloaded pack holds
MIME = {"pdf": "application/pdf", "csv": "text/csv", "zip": "application/zip",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ods": "application/vnd.oasis.opendocument.spreadsheet"}


def build_pack_files(wh: Warehouse, month_start: date, area: str, formats=FORMATS, *,
                     settings: Settings = DEFAULTS, cache: ForceCache | None = None) -> dict[str, bytes]:
    """Relative path -> bytes: `<AREA>-<YYYY-MM>.pdf`, `.xlsx`, `.ods` and `csv/<table>.csv`.

    Raises metrics.spoc.PackError for a month outside the warehouse or an unknown area.
    """
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown format(s) {unknown}: choose from {', '.join(FORMATS)}")
    pack = assemble_pack(wh, month_start, area, settings=settings, cache=cache)
    return render_pack(wh, pack, formats, cache=cache)


def render_pack(wh: Warehouse, pack: SpocPack, formats, *, cache: ForceCache | None = None) -> dict[str, bytes]:
    stem = f"{pack.area_code}-{pack.month_start:%Y-%m}"
    synthetic = synthetic_label(wh.build_info())
    files: dict[str, bytes] = {}
    if "pdf" in formats:
        from dashboard.exports.pdf import render_pdf

        cache = cache or ForceCache()
        # A curve steps at each closure: drawn only when no row of its table is hidden.
        curves = None
        if not pack.table("time_to_resolve").frame["is_suppressed"].any():
            curves = cache.get(("curves", pack.month_start, pack.area_code),
                               lambda: resolution_curves(wh, pack.month_start, pack.area_code, pack.settings))
        files[f"{stem}.pdf"] = render_pdf(pack, curves=curves, synthetic=synthetic)
    if "xlsx" in formats:
        from dashboard.exports.xlsx import render_xlsx

        files[f"{stem}.xlsx"] = render_xlsx(pack, synthetic=synthetic)
    if "ods" in formats:
        from dashboard.exports.ods import render_ods

        files[f"{stem}.ods"] = render_ods(pack, synthetic=synthetic)
    if "csv" in formats:
        from dashboard.exports.csvs import render_csvs

        files.update({f"csv/{name}": data for name, data in render_csvs(pack).items()})
    return files


def zip_files(packs: Iterable[tuple[str, dict[str, bytes]]], *, folders: bool) -> bytes:
    """One zip of packs' files: (area code, files) pairs, each area in its own folder when
    `folders` (the all-areas zip). Fixed timestamps, so the same files give the same zip."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for code, files in packs:
            for name, data in files.items():
                info = zipfile.ZipInfo(f"{code}/{name}" if folders else name, (2000, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)
    return out.getvalue()


def zip_name(area: str, month_start: date) -> str:
    return f"spoc-pack-{'all-areas' if area == 'all' else area}-{month_start:%Y-%m}.zip"
