"""The SPOC-pack tests' warehouse (the shared small-profile one) and the month and areas they use,
chosen from the data, not hard-coded."""

from __future__ import annotations

from pathlib import Path

import pytest

from metrics.spoc import FORCE, add_months


@pytest.fixture(scope="session")
def export_db(small_warehouse) -> Path:
    """The session's shared small-profile warehouse (tests/conftest.py)."""
    return small_warehouse


@pytest.fixture
def wh(export_db):
    from metrics.warehouse import Warehouse

    with Warehouse(export_db) as w:
        yield w


@pytest.fixture(scope="session")
def choice(export_db) -> dict:
    """The pack month (the last full month), the busiest area over its 12 months, and an area
    with no grievance raised, closed or open in the month."""
    from metrics.warehouse import Warehouse

    with Warehouse(export_db) as w:
        last = w.query("select max(month_start) as m from dim_calendar")["m"][0]
        month = add_months(last, -1)
        busiest = w.query(
            """select business_area_code, count(*) as n from fct_grievance_outcomes
               where raised_month between ? and ? group by all order by n desc, business_area_code limit 1""",
            [add_months(month, -11), month])["business_area_code"][0]
        quiet = w.query(
            """select business_area_code from fct_spoc_monthly where month_start = ?
               and n_raised = 0 and n_closed = 0 and n_open = 0 order by 1 limit 1""", [month])
    return {"month": month, "busiest": busiest, "quiet": quiet["business_area_code"][0] if quiet.height else None,
            "areas": [busiest, FORCE]}
