"""What a registry table declares (TableSpec) and who may see it (the disclosure kinds; the roles
are metrics.config.ROLES)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import polars as pl

from metrics.config import ANALYST, STAFF_ASSOCIATION, Settings
from metrics.queries import Filters
from metrics.warehouse import Warehouse

# How a table is disclosure-controlled for a restricted role.
TIDY = "tidy"  # rows of group counts with rates: suppress_tidy
CROSSTAB = "crosstab"  # group x category counts: suppress_crosstab on both margins
COUNTS = "counts"  # long counts table: suppressed within each set of rows summing to a published total
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

    def allowed(self, role: str) -> bool:
        if role == ANALYST:
            return True
        if role == STAFF_ASSOCIATION:
            from metrics.release import is_released

            return self.disclosure == NO_PEOPLE or is_released(self.name)
        return self.disclosure != PERSON_LEVEL

    def with_build(self, build: Build) -> TableSpec:
        return replace(self, build=build)
