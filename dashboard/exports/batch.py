"""Export the monthly SPOC packs for every business area plus the force (or one area) to disk:
`<out>/<YYYY-MM>/<AREA>/<AREA>-<YYYY-MM>.pdf`, `.xlsx` and `csv/<table>.csv`."""

from __future__ import annotations

import multiprocessing
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
                 settings: Settings = DEFAULTS, workers: int | None = None) -> list[Path]:
    """Write the packs; returns every file written, in order. progress(step, done, total) per pack.
    workers: processes to render with (default: up to 2 when there are several packs)."""
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
    report = progress or (lambda step, done, total: None)
    report("starting", 0, len(areas))
    return _write_all(_packs(wh, month_start, areas, formats, settings, workers), out_dir, month_start,
                      len(areas), report)


def iter_packs(wh: Warehouse, month_start: date, *, area: str = "all", formats: Sequence[str] = FORMATS,
               settings: Settings = DEFAULTS, workers: int | None = None):
    """(area code, files) for every business area and the force ("all"), or one area, in order."""
    areas = ([*business_areas(wh)["business_area_code"].to_list(), FORCE] if area == "all"
             else [check_request(wh, month_start, area)[0]])
    if area == "all":
        check_request(wh, month_start, FORCE)
    return _packs(wh, month_start, areas, list(formats), settings, workers)


def _packs(wh: Warehouse, month_start: date, areas: list[str], formats, settings: Settings, workers: int | None):
    if workers is None:
        workers = min(os.cpu_count() or 1, MAX_WORKERS) if len(areas) >= MIN_AREAS_FOR_POOL else 1
    if workers <= 1:
        cache = ForceCache()
        yield from ((code, build_pack_files(wh, month_start, code, formats, settings=settings, cache=cache))
                    for code in areas)
        return
    # PDF layout is CPU-bound Python: one process per core, each with its own read-only
    # connection; results come back in area order, so the output does not depend on scheduling.
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(str(wh.db_path), settings)) as pool:
        yield from pool.imap(_worker_pack, [(month_start, code, tuple(formats)) for code in areas])


MAX_WORKERS = 2
MIN_AREAS_FOR_POOL = 4  # starting a worker costs ~2 s of imports; not worth it for a few packs
_WORKER: dict = {}


def _init_worker(db_path: str, settings: Settings) -> None:
    _WORKER.update(wh=Warehouse(Path(db_path)), cache=ForceCache(), settings=settings)


def _worker_pack(job: tuple[date, str, tuple[str, ...]]) -> tuple[str, dict[str, bytes]]:
    month_start, code, formats = job
    return code, build_pack_files(_WORKER["wh"], month_start, code, formats, settings=_WORKER["settings"],
                                  cache=_WORKER["cache"])


def _write_all(results, out_dir: Path, month_start: date, total: int, report) -> list[Path]:
    written = []
    for i, (code, files) in enumerate(results, start=1):
        folder = out_dir / f"{month_start:%Y-%m}" / code
        for name, data in files.items():
            written.append(_write_atomic(folder / name, data))
        report(code, i, total)
    return written


def _write_atomic(path: Path, data: bytes) -> Path:
    """Write beside the target then rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path
