"""Export the monthly SPOC packs for every business area plus the force (or one area) to disk:
`<out>/<YYYY-MM>/<AREA>/<AREA>-<YYYY-MM>.pdf`, `.xlsx` and `csv/<table>.csv`."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from dashboard.exports.pack import FORMATS, build_pack_files
from metrics.config import DEFAULTS, Settings
from metrics.spoc import FORCE, ForceCache, PackError, business_areas, check_request
from metrics.warehouse import Warehouse


class ExportError(Exception):
    """The export cannot run as asked (unknown area, month outside the data, bad format)."""


def export_packs(wh: Warehouse, month_start: date, *, area: str = "all", formats: Sequence[str] = FORMATS,
                 out_dir: Path, progress: Callable[[str, int, int], None] | None = None,
                 settings: Settings = DEFAULTS) -> list[Path]:
    """Write the packs; returns every file written, in order. progress(step, done, total) per pack."""
    formats = list(dict.fromkeys(formats))
    bad = sorted(set(formats) - set(FORMATS))
    if bad or not formats:
        raise ExportError(f"formats must be some of {', '.join(FORMATS)}; got {', '.join(formats) or 'none'}")
    try:
        if area == "all":
            check_request(wh, month_start, FORCE)
            areas = [*business_areas(wh)["business_area_code"].to_list(), FORCE]
        else:
            areas = [check_request(wh, month_start, area)[0]]
    except PackError as e:
        raise ExportError(str(e)) from e
    out_dir = Path(out_dir)
    cache = ForceCache()
    written: list[Path] = []
    report = progress or (lambda step, done, total: None)
    report("starting", 0, len(areas))
    for i, code in enumerate(areas, start=1):
        files = build_pack_files(wh, month_start, code, formats, settings=settings, cache=cache)
        folder = out_dir / f"{month_start:%Y-%m}" / code
        for name, data in files.items():
            written.append(_write_atomic(folder / name, data))
        report(code, i, len(areas))
    return written


def _write_atomic(path: Path, data: bytes) -> Path:
    """Write beside the target then rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path
