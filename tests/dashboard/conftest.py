"""Dashboard fixtures: helpers to run the app on the shared small warehouse (tests/conftest.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "dashboard" / "app.py"


@pytest.fixture(scope="session")
def warehouse(small_warehouse):
    from metrics.warehouse import Warehouse

    with Warehouse(small_warehouse) as wh:
        yield wh


@pytest.fixture(scope="session")
def default_filters(warehouse):
    """What the sidebar selects on first load: the last 12 months, whole force, ethnic group."""
    from metrics.queries import Filters

    months = sorted(warehouse.table("dim_calendar")["month_start"].to_list())
    start: date = months[-12]
    return Filters(start=start, end=months[-1], area=None, worker_type=None, characteristic="ethnicity_group")


@pytest.fixture
def app_env(small_warehouse, monkeypatch):
    """Point the app at the test warehouse; returns a function making an AppTest for a role."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("EQDASH_DB", str(small_warehouse))

    def make(role: str) -> AppTest:
        monkeypatch.setenv("EQDASH_ROLE", role)
        # a staff association's first visit to a year solves that year's protection (metrics/release.py)
        at = AppTest.from_file(str(APP), default_timeout=600)
        # The sidebar's "Open every number table": closed tables are not drawn, and the tests read them all.
        at.session_state["eqdash_open_numbers"] = True
        return at

    return make
