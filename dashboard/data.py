"""Everything a page may read, fetched for the session's role: the only module with st.cache_*.

Roles are enforced here, where data is fetched: `table()` always passes the role resolved for this
session (never one a page chooses) to metrics.tables.get_table, which suppresses small numbers for
staff associations and refuses person-level tables to anyone but analysts. Results are cached on
(build id, table, filters, role), so a new warehouse build is never served from an old cache and
one role's frame is never served to another.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import polars as pl
import streamlit as st

from dashboard.roles import ROLES, env_role, load_role_map, role_for_email, role_for_user  # noqa: F401 (re-exported)
from metrics import config
from metrics.queries import Filters

ROLE_KEY = "eqdash_role"
FILTERS_KEY = "eqdash_filters"


class NoRole(RuntimeError):
    """The session has no role yet: nothing may be fetched."""


# ---------------------------------------------------------------------------------------------
# The warehouse
# ---------------------------------------------------------------------------------------------

def db_path() -> Path:
    return Path(os.environ.get("EQDASH_DB") or config.DEFAULT_WAREHOUSE)


def _stamp(path: Path) -> int:
    # The build replaces the file atomically, so its mtime changes with every build.
    return path.stat().st_mtime_ns


@st.cache_resource(show_spinner=False, max_entries=2)
def _warehouse(path: str, stamp: int):
    """One read-only connection per warehouse file version, shared by the sessions of this server
    (each query runs on its own cursor, so sessions do not block each other)."""
    from metrics.warehouse import Warehouse

    return Warehouse(Path(path))


@st.cache_data(show_spinner=False, max_entries=4)
def _build_info(path: str, stamp: int) -> dict:
    return dict(_warehouse(path, stamp).build_info())


def build_info() -> dict:
    path = db_path()
    return _build_info(str(path), _stamp(path))


@st.cache_data(show_spinner=False, max_entries=4)
def _dimensions(path: str, stamp: int) -> dict:
    """Filter choices: business areas, months and financial years in the warehouse."""
    wh = _warehouse(path, stamp)
    areas = wh.table("stg_business_areas").select("business_area_code", "business_area_name").sort("business_area_code")
    calendar = wh.table("dim_calendar").select("month_start", "financial_year").sort("month_start")
    from metrics.release import release_periods

    return {"areas": dict(areas.iter_rows()), "months": calendar["month_start"].to_list(),
            "financial_years": sorted(set(calendar["financial_year"].to_list())),
            "release_periods": release_periods(wh)}


def dimensions() -> dict:
    path = db_path()
    return _dimensions(str(path), _stamp(path))


def worker_types() -> dict[str, str]:
    """Worker-type code -> label (from the shared code list): the sidebar offers the codes."""
    codes = config.code_lists().get("worker_type", {})
    codes = codes.get("codes", codes)  # a list may nest its codes under "codes:" with labels
    return {str(k): str(v.get("label", k)) if isinstance(v, Mapping) else str(v) for k, v in codes.items()}


def worker_type_filter(code: str | None) -> str | None:
    """metrics.Filters.worker_type for a worker-type code. metrics filters on the marts' worker_type
    label today (queries.Filters documents it), so the code becomes its label here and nowhere else."""
    return None if code is None else worker_types()[code]


# ---------------------------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------------------------

def set_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    st.session_state[ROLE_KEY] = role


def role() -> str:
    r = st.session_state.get(ROLE_KEY)
    if r not in ROLES:
        raise NoRole("no role has been resolved for this session")
    return r


# ---------------------------------------------------------------------------------------------
# Filters and tables
# ---------------------------------------------------------------------------------------------

def set_filters(filters: Filters) -> None:
    st.session_state[FILTERS_KEY] = filters


def filters() -> Filters:
    return st.session_state.get(FILTERS_KEY) or Filters()


@st.cache_data(show_spinner=False, max_entries=1024)
def _table(build_id: str, name: str, key: tuple, role: str, path: str, stamp: int) -> pl.DataFrame:
    from metrics.tables import get_table

    start, end, area, worker_type, characteristic = key
    f = Filters(start=start, end=end, area=area, worker_type=worker_type, characteristic=characteristic)
    return get_table(_warehouse(path, stamp), name, f, role=role)


PREPARING = ("Preparing the protected figures: each year is checked against every other published number "
             "before anyone sees it, which takes a minute or two a year the first time after a new build.")
_DECIDED: set[tuple[str, int]] = set()


def release_pending(path: str, stamp: int) -> bool:
    """Some year of this build's release is not decided yet (a staff association's page may wait for a
    solve); once every year is, it stays so for the build."""
    if (path, stamp) in _DECIDED:
        return False
    from metrics.release import release_for

    if release_for(_warehouse(path, stamp)).undecided():
        return True
    _DECIDED.add((path, stamp))
    return False


def table(name: str, f: Filters | None = None) -> pl.DataFrame:
    """A metric table for this session's role: exactly get_table's output for these filters. A staff
    association whose release is still being decided is told why a page may wait."""
    f = f or filters()
    path = db_path()
    stamp = _stamp(path)
    build_id = str(_build_info(str(path), stamp).get("build_id"))
    key = (f.start, f.end, f.area, f.worker_type, f.characteristic)
    if role() == "staff_association" and release_pending(str(path), stamp):
        with st.spinner(PREPARING):
            return _table(build_id, name, key, role(), str(path), stamp)
    return _table(build_id, name, key, role(), str(path), stamp)


def table_for_role(name: str, f: Filters, role: str) -> pl.DataFrame:
    """The same cached fetch as table(), for a role given explicitly: only the server's prewarm
    (dashboard/prewarm.py) uses it, outside any session, to fill the cache each role reads."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    path = db_path()
    stamp = _stamp(path)
    build_id = str(_build_info(str(path), stamp).get("build_id"))
    key = (f.start, f.end, f.area, f.worker_type, f.characteristic)
    return _table(build_id, name, key, role, str(path), stamp)


def figure(name: str, f: Filters | None, chart_key: str, build):
    """The chart of a table, built once per (build, table, filters, role, chart) and reused.

    Building a plotly figure validates every property (~20 ms a chart); the frame it is drawn from is
    this role's table, so a cached figure can never carry another role's numbers. Kept as an object
    (cache_resource): st.plotly_chart copies it with to_dict() and never changes it.
    """
    f = f or filters()
    path = db_path()
    stamp = _stamp(path)
    build_id = str(_build_info(str(path), stamp).get("build_id"))
    key = (f.start, f.end, f.area, f.worker_type, f.characteristic)
    return _figure(build_id, name, key, role(), chart_key, str(path), stamp, _build=build)


@st.cache_resource(show_spinner=False, max_entries=512)
def _figure(build_id: str, name: str, key: tuple, role: str, chart_key: str, path: str, stamp: int, _build=None):
    return _build(_table(build_id, name, key, role, path, stamp))


def spec(name: str):
    from metrics.tables import REGISTRY

    return REGISTRY[name]


def allowed(name: str) -> bool:
    """Whether this session's role may see a table (the page hides what it may not)."""
    return spec(name).allowed(role())


def spoc_preview(month_start: date, area: str):
    """The pack's tables exactly as its files show them: (pack, sheets) for the SPOC page."""
    if role() != "analyst":
        raise PermissionError("only analysts export SPOC packs")
    return _spoc_preview(str(build_info().get("build_id")), month_start, area, str(db_path()), _stamp(db_path()))


@st.cache_data(show_spinner=False, max_entries=16)
def _spoc_preview(build_id: str, month_start: date, area: str, path: str, stamp: int):
    from dashboard.exports.format import sheets
    from metrics.spoc import assemble_pack

    pack = assemble_pack(_warehouse(path, stamp), month_start, area)
    return pack, sheets(pack)


def spoc_zip(month_start: date, area: str) -> bytes:
    """One zip of a pack's files (area code, or "all": every business area and the force)."""
    if role() != "analyst":
        raise PermissionError("only analysts export SPOC packs")
    return _spoc_zip(str(build_info().get("build_id")), month_start, area, str(db_path()), _stamp(db_path()))


@st.cache_data(show_spinner=False, max_entries=4)
def _spoc_zip(build_id: str, month_start: date, area: str, path: str, stamp: int) -> bytes:
    from dashboard.exports.batch import iter_packs
    from dashboard.exports.pack import ZIP_FORMATS, zip_files

    packs = iter_packs(_warehouse(path, stamp), month_start, area=area, formats=ZIP_FORMATS)
    return zip_files(packs, folders=area == "all")
