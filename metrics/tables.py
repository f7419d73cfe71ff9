"""The named metric tables: one registry behind `eqdash table`, every dashboard page and every pack.

`get_table(wh, name, filters, role=...)` is the only way data leaves metrics/ for display. It
enforces the role where the data is fetched: a staff association gets disclosure-controlled
aggregates only (suppression applied here, before returning), never a person-level table; the
Management Board gets aggregates; analysts get everything. The dashboard and the exports call
this function, so a page can never show a number `eqdash table` would not print.

This module is the registry's policy only. The tables are declared as data in
metrics/table_catalogue.py, built by metrics/table_builders*.py from the SQL of
metrics/table_queries.py; what a table declares and the roles are in metrics/table_spec.py.
"""

from __future__ import annotations

import polars as pl

from metrics import queries as q
from metrics.config import DEFAULTS, ROLES, STAFF_ASSOCIATION, Settings
from metrics.queries import FilterError, Filters
from metrics.table_builders import adjust_across_table, dated
from metrics.table_builders_workforce import PACK_MEASURES
from metrics.table_catalogue import TABLES
from metrics.table_queries import resolution_rows as _resolution_rows
from metrics.table_spec import (
    COUNTS,
    CROSSTAB,
    CURVE,
    NO_PEOPLE,
    PERSON_LEVEL,
    TIDY,
    AccessDenied,
    Build,
    TableSpec,
)
from metrics.warehouse import Warehouse

# Kept importable from here: the lead's metrics/release.py reads adjust_across_table and
# _resolution_rows, metrics/spoc.py PACK_MEASURES, the tests and dashboard the kinds.
__all__ = ["COUNTS", "CROSSTAB", "CURVE", "NO_PEOPLE", "PACK_MEASURES", "PERSON_LEVEL", "REGISTRY", "ROLES", "TIDY",
           "AccessDenied", "TableSpec", "_resolution_rows", "adjust_across_table", "get_table"]


def _with_overall_when_crossed(build: Build) -> Build:
    """Two characteristics crossed (`-c ethnicity_group,disability`): the tidy table by group gets the
    Overall row beside its cells (metrics/crossing.py)."""
    def crossed(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
        from metrics.crossing import with_overall

        frame = build(wh, f, s)
        return with_overall(frame, alpha=s.alpha) if q.is_crossed(f.characteristic) else frame

    return crossed


def _with_evidence(build: Build) -> Build:
    """Evidence strength on every comparison (metrics/power.py): the smallest ratio each row could
    have detected and the verdict, over the Overall rows."""
    def evidenced(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
        from metrics.power import with_evidence

        return with_evidence(build(wh, f, s), alpha=s.alpha, threshold=s.evidence_ratio_threshold,
                             min_n=s.min_group_for_ratio)

    return evidenced


def _registered(spec: TableSpec) -> TableSpec:
    """A declared table as the registry serves it: every tidy table by group gets the Overall row when
    crossed, then every tidy table the evidence strength of its comparisons."""
    if spec.disclosure == TIDY and spec.uses_characteristic:
        spec = spec.with_build(_with_overall_when_crossed(spec.build))
    if spec.disclosure == TIDY:
        spec = spec.with_build(_with_evidence(spec.build))
    return spec


REGISTRY: dict[str, TableSpec] = {spec.name: _registered(spec) for spec in TABLES}


def _check_access(name: str, role: str) -> TableSpec:
    if role not in ROLES:
        raise AccessDenied(f"unknown role '{role}': choose one of {', '.join(ROLES)}")
    if name not in REGISTRY:
        raise FilterError(f"unknown table '{name}': choose one of {', '.join(sorted(REGISTRY))}")
    spec = REGISTRY[name]
    if not spec.allowed(role):
        if spec.disclosure == PERSON_LEVEL:
            raise AccessDenied(f"the {role.replace('_', ' ')} role cannot see '{name}': it has a row per person")
        raise AccessDenied(f"'{name}' is not in the restricted release for staff associations: it is for the "
                           "Management Board and analysts")
    return spec


def _released(wh: Warehouse, spec: TableSpec, f: Filters, settings: Settings) -> pl.DataFrame | None:
    """The table cut from the protected release (metrics/release.py), or None when it is shown exact
    (area totals and published tables, for released periods only)."""
    from metrics import release

    name = spec.name
    if spec.disclosure == PERSON_LEVEL:
        raise AccessDenied(f"'{name}' has a row per person and is never released")
    if name in release.TABLES or name in release.DERIVED:
        frame = release.release_for(wh, settings).table(name, f)
        if spec.disclosure != TIDY:
            return frame
        from metrics.power import with_evidence  # from the protected counts, like every statistic

        return dated(wh, f, with_evidence(frame, alpha=settings.alpha, threshold=settings.evidence_ratio_threshold,
                                          min_n=settings.min_group_for_ratio))
    if name == "grievance_funnel":
        release.period_for_filters(wh, f)  # exact area totals, for released periods only
    elif name not in (*release.EXACT_TOTAL_TABLES, *release.PUBLISHED_TABLES) and spec.disclosure != NO_PEOPLE:
        raise AccessDenied(f"'{name}' is not in the restricted release")
    return None


def get_table(wh: Warehouse, name: str, f: Filters | None = None, *, role: str = "analyst",
              suppressed: bool | None = None, settings: Settings = DEFAULTS) -> pl.DataFrame:
    """A metric table for a role. Staff associations (and `suppressed` for anyone: what a circulated
    pack shows) get the table cut from the protected release (metrics/release.py), for a released
    period only; the Board and analysts get exact numbers for any window."""
    spec = _check_access(name, role)
    f = f or Filters()
    if role == STAFF_ASSOCIATION or suppressed:
        frame = _released(wh, spec, f, settings)
        if frame is not None:
            return frame
    return spec.build(wh, f, settings)
