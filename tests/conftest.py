"""Shared fixtures: the valid extracts every malformed-input test starts from, and sample
warehouses built once per test session and shared by every folder's tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from contract_data import AS_OF, valid_rows, write_dataset


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


def _sample_warehouse(tmp_path_factory, profile: str, *, effects: bool, keep_staging: bool = False) -> Path:
    from metrics.warehouse import build
    from sample_data.generate import generate

    base = tmp_path_factory.mktemp(f"{profile}-{'effects' if effects else 'no-effects'}")
    generate(profile, SAMPLE_SEED, base / "data", effects=effects)
    build(base / "data", base / "warehouse.duckdb", as_of=date(2026, 10, 31), keep_staging=keep_staging)
    return base / "warehouse.duckdb"


@pytest.fixture(scope="session")
def small_warehouse(tmp_path_factory) -> Path:
    """The small profile with planted effects (seed 2016): the fast everyday warehouse. Built with
    --keep-staging, so the SQL tests can read the raw_, stg_ and int_ tables; the mps warehouses are
    built as a user's are (test_code_quality checks no product code reads a build-only table)."""
    return _sample_warehouse(tmp_path_factory, "small", effects=True, keep_staging=True)


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
