"""Shared fixtures: the valid extracts every malformed-input test starts from, and sample
warehouses built once per test session and shared by every folder's tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from contract_data import AS_OF, valid_rows, write_dataset


def pytest_collection_modifyitems(config, items):
    """Every test run as the staff association (or about what it sees) goes last, in its own order.
    Those tests read the protected release of the small warehouse, and the first reader of a year
    waits while its suppression is solved (minutes of linear programmes; metrics/release.py). The
    release is decided in the background from the moment the warehouse is built (_PREPARE, on the
    idle core), so by the end of the session it is mostly decided and the tests read it."""
    late = [item for item in items if "staff_association" in item.nodeid]
    if late:
        items[:] = [item for item in items if "staff_association" not in item.nodeid] + late


@pytest.fixture
def as_of() -> date:
    return AS_OF


@pytest.fixture
def valid_extracts(tmp_path: Path) -> Path:
    """A data directory holding a minimal valid copy of all ten extracts (a handful of rows each)."""
    return write_dataset(tmp_path / "data", valid_rows())


# ---------------------------------------------------------------------------------------------
# Sample warehouses, built once per test session and shared by every folder's tests.
# ---------------------------------------------------------------------------------------------

SAMPLE_SEED = 2016
ROOT = Path(__file__).resolve().parents[1]


def _sample_warehouse(tmp_path_factory, profile: str, *, effects: bool, keep_staging: bool = False) -> Path:
    from metrics.warehouse import build
    from sample_data.generate import generate

    base = tmp_path_factory.mktemp(f"{profile}-{'effects' if effects else 'no-effects'}")
    generate(profile, SAMPLE_SEED, base / "data", effects=effects)
    build(base / "data", base / "warehouse.duckdb", as_of=date(2026, 10, 31), keep_staging=keep_staging)
    return base / "warehouse.duckdb"


# The staff association's pages and tables in the tests need about five minutes of the release's solves
# on the small warehouse (the misconduct trend's years, the latest full year of every family). A reader
# asking for a year another process is deciding waits for it and reads it (metrics/release_store.py),
# so a preparer on the idle core takes the years from the other end to the tests, which ask for the
# latest year and then the trend's years from the oldest up: the two meet in the middle.
_PREPARE = """
import sys
from pathlib import Path
from metrics.release import FAMILIES, release_for
from metrics.release_periods import year_blocks
from metrics.warehouse import Warehouse
with Warehouse(Path(sys.argv[1])) as wh:
    rel = release_for(wh)
    latest_full = sorted(year_blocks(wh))[-2]
    for fy in range(latest_full, latest_full - 5, -1):
        rel.prepare(years=[fy], families=["referred"])
    rel.prepare(years=[latest_full], families=list(FAMILIES))
"""


@pytest.fixture(scope="session")
def small_warehouse(tmp_path_factory) -> Iterator[Path]:
    """The small profile with planted effects (seed 2016): the fast everyday warehouse. Built with
    --keep-staging, so the SQL tests can read the raw_, stg_ and int_ tables; the mps warehouses are
    built as a user's are (test_code_quality checks no product code reads a build-only table).
    Its release is decided in the background meanwhile (above), at idle priority as `eqdash serve` does."""
    from dashboard.prewarm import _background

    db = _sample_warehouse(tmp_path_factory, "small", effects=True, keep_staging=True)
    preparer = subprocess.Popen([sys.executable, "-c", _PREPARE, str(db)], cwd=ROOT, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_background)
    yield db
    preparer.kill()
    preparer.wait()


@pytest.fixture(scope="session")
def small_dir(small_warehouse) -> Path:
    """The CSV extracts the small warehouse was built from."""
    return small_warehouse.parent / "data"


@pytest.fixture(scope="session")
def mps_warehouse(tmp_path_factory) -> Path:
    """The mps profile (~46k in post) with planted effects: enough power to recover them."""
    return _sample_warehouse(tmp_path_factory, "mps", effects=True)


@pytest.fixture(scope="session")
def mps_no_effects_warehouse(tmp_path_factory) -> Path:
    """The mps profile with every group treated alike: nothing should be flagged."""
    return _sample_warehouse(tmp_path_factory, "mps", effects=False)
