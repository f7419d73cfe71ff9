"""What a registry table declares (TableSpec) and who may see it: the roles and the disclosure kinds.

The roles are defined here once; dashboard/roles.py imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import polars as pl

from metrics.config import Settings
from metrics.queries import Filters
from metrics.warehouse import Warehouse

BOARD, STAFF_ASSOCIATION, ANALYST = "board", "staff_association", "analyst"
ROLES = (BOARD, STAFF_ASSOCIATION, ANALYST)

# How a table is disclosure-controlled for a restricted role.
TIDY = "tidy"  # rows of group counts with rates: suppress_tidy
CROSSTAB = "crosstab"  # group x category counts: suppress_crosstab on both margins
COUNTS = "counts"  # long counts table: suppress_counts within each `counts_by` set
CURVE = "curve"  # Kaplan-Meier points: small groups dropped, at-risk counts removed
NO_PEOPLE = "no_people"  # no counts about people (e.g. STRIDE status): shown as is
PERSON_LEVEL = "person_level"  # rows about people: analysts only

Build = Callable[[Warehouse, Filters, Settings], pl.DataFrame]


class AccessDenied(PermissionError):
    """The role may not see this table."""


@dataclass(frozen=True)
class TableSpec:
    name: str
    title: str
    description: str
    build: Build
    disclosure: str = TIDY
    uses_characteristic: bool = True
    crosstab: tuple[str, str, str] = ("group", "category", "n")  # row, column, value for CROSSTAB
    counts_by: tuple[str, ...] = ()  # for COUNTS: the columns whose rows sum to a published total
    counts_from: str | None = None  # for CURVE: the table publishing each curve's counts

    def allowed(self, role: str) -> bool:
        if role == ANALYST:
            return True
        if role == STAFF_ASSOCIATION:
            from metrics.release import is_released

            return self.disclosure == NO_PEOPLE or is_released(self.name)
        return self.disclosure != PERSON_LEVEL

    def with_build(self, build: Build) -> TableSpec:
        return replace(self, build=build)
