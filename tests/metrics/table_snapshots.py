"""Every registry table for a fixed set of filters, written to or compared with a snapshot directory.

The snapshot pins the registry's output across refactors (issue 16: every table for the same filters
identical before and after). Written once from the commit before the registry was split, at `small`
(tests/metrics/snapshots/, read by test_table_snapshots.py); run by hand at `mps`:

    python tests/metrics/table_snapshots.py write   --db BEFORE.duckdb --out DIR   # on the old commit
    python tests/metrics/table_snapshots.py compare --db AFTER.duckdb  --out DIR   # on the new one
"""

from __future__ import annotations

import inspect
import json
import sys
from datetime import date
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from metrics.queries import FilterError, Filters
from metrics.tables import REGISTRY, AccessDenied, get_table
from metrics.warehouse import Warehouse

SNAPSHOT_DIR = Path(__file__).parent / "snapshots"


def filter_sets(wh: Warehouse) -> dict[str, tuple[Filters, bool]]:
    """(filters, suppressed) by name: the whole window, a last-12-months cut by another characteristic,
    one area and worker type over a financial year, two characteristics crossed, and a released period
    as a circulated pack shows it (suppressed)."""
    area = wh.query("select min(business_area_code) as a from fct_spoc_monthly")["a"][0]
    return {
        "all": (Filters(), False),
        "last12_sex": (Filters(start=date(2025, 11, 1), end=date(2026, 10, 1), characteristic="sex"), False),
        "fy_area_officer": (Filters(start=date(2024, 4, 1), end=date(2025, 3, 1), area=area,
                                    worker_type="Police officer"), False),
        "crossed": (Filters(start=date(2023, 4, 1), end=date(2026, 3, 1),
                            characteristic="ethnicity_group,disability"), False),
        "released_fy": (Filters(start=date(2025, 4, 1), end=date(2026, 3, 1)), True),
    }


def compute(wh: Warehouse, only: tuple[str, ...] | None = None) -> tuple[dict[str, pl.DataFrame], dict[str, str]]:
    """Every table for every filter set (or the sets named in `only`): frames by key, and the error
    message where one is refused."""
    frames, errors = {}, {}
    for set_name, (f, suppressed) in filter_sets(wh).items():
        if only is not None and set_name not in only:
            continue
        for name in sorted(REGISTRY):
            key = f"{set_name}__{name}"
            try:
                frames[key] = get_table(wh, name, f, suppressed=suppressed)
            except (FilterError, AccessDenied, ArithmeticError) as e:  # refusals, and failures to pin too
                errors[key] = f"{type(e).__name__}: {e}"
    return frames, errors


def write(wh: Warehouse, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    frames, errors = compute(wh)
    for key, frame in frames.items():
        frame.write_parquet(out / f"{key}.parquet", compression="zstd", statistics=False)
    (out / "errors.json").write_text(json.dumps(errors, indent=1, sort_keys=True) + "\n", encoding="utf-8")


# polars 1.32.3 renamed rtol/atol to rel_tol/abs_tol (the old names warn, and warnings are errors here)
TOLERANCE = ({"rel_tol": 1e-9, "abs_tol": 1e-12} if "rel_tol" in inspect.signature(assert_frame_equal).parameters
             else {"rtol": 1e-9, "atol": 1e-12})


def differences(wh: Warehouse, snapshot: Path, only: tuple[str, ...] | None = None) -> list[str]:
    """What differs from the snapshot: one line per table and filter set (empty when identical)."""
    frames, errors = compute(wh, only)

    def kept(key: str) -> bool:
        return only is None or key.split("__", 1)[0] in only

    stored_errors = {k: v for k, v in json.loads((snapshot / "errors.json").read_text(encoding="utf-8")).items()
                     if kept(k)}
    stored = {p.stem for p in snapshot.glob("*.parquet") if kept(p.stem)}
    out = [f"{k}: error {errors.get(k)!r} != {stored_errors.get(k)!r}"
           for k in sorted(set(errors) | set(stored_errors)) if errors.get(k) != stored_errors.get(k)]
    out += [f"{k}: table missing from this run" for k in sorted(stored - set(frames))]
    out += [f"{k}: table missing from the snapshot" for k in sorted(set(frames) - stored)]
    for key in sorted(stored & set(frames)):
        before = pl.read_parquet(snapshot / f"{key}.parquet")
        now = frames[key]
        if "characteristic" in before.columns:  # characteristics added since (caring responsibilities)
            now = now.filter(pl.col("characteristic").is_in(before["characteristic"].unique().implode()))
        try:
            # Counts, labels and suppression marks exactly; floats to 1e-9 relative (1e-12 absolute).
            # The fitted models (the adjusted ratios, the trend tests) go through OpenBLAS, which picks
            # its kernels by CPU (DYNAMIC_ARCH): on an AVX-512 machine their last bits moved by up to
            # 2.9e-13 relative from the snapshot's, far below the 3 significant figures any output shows.
            assert_frame_equal(now, before, check_exact=False, **TOLERANCE)
        except AssertionError as e:
            out.append(f"{key}: {str(e).splitlines()[0]}")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 5 or argv[0] not in ("write", "compare") or argv[1] != "--db" or argv[3] != "--out":
        print(__doc__)
        return 2
    with Warehouse(Path(argv[2])) as wh:
        if argv[0] == "write":
            write(wh, Path(argv[4]))
            print(f"wrote {len(list(Path(argv[4]).glob('*.parquet')))} tables to {argv[4]}")
            return 0
        diffs = differences(wh, Path(argv[4]))
        n = len(list(Path(argv[4]).glob("*.parquet")))
        print(f"{n} tables x filter sets compared; {len(diffs)} differences")
        print("\n".join(diffs))
        return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
