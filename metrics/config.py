"""Project-wide defaults and the characteristic vocabulary: one place, read by every layer.

Thresholds are passed through to metric functions as arguments; this module only supplies defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

# EXTRACTS: the extracts in load order (referenced extracts first), one list kept with their contracts
from data_contracts.contract import EXTRACTS as EXTRACTS
from data_contracts.contract import read_yaml

ROOT = Path(__file__).resolve().parents[1]
SQL_DIR = ROOT / "sql"
CONTRACTS_DIR = ROOT / "data_contracts"
SAMPLE_DIR = ROOT / "sample_data"
SHARED_REFERENCE_DIR = ROOT.parent / "shared" / "reference-data"
DEFAULT_WAREHOUSE = ROOT / "warehouse" / "eqdash.duckdb"
DEFAULT_SAMPLE_DATA = ROOT / "warehouse" / "sample-small"
# The published Home Office and Census tables shipped with eqdash (Open Government Licence).
REFERENCE_DIR = SAMPLE_DIR / "reference"
# The force the warehouse's extracts come from, as the Home Office names it (placed among the
# 43 forces on the Benchmarks page and compared with its force area's census population).
OWN_FORCE = "Metropolitan Police"


@dataclass(frozen=True)
class Characteristic:
    """A breakdown: the column in the marts, its reference group and its human label."""

    column: str
    label: str
    reference_group: str
    not_stated: str | None = "Not stated"


# Column names are the mart columns (see sql/marts/fct_person_time.sql). Reference groups are
# the defaults DOMAIN.md names; every metric function takes reference_group as an argument.
CHARACTERISTICS: dict[str, Characteristic] = {
    c.column: c
    for c in (
        Characteristic("ethnicity_group", "Ethnic group", "White"),
        Characteristic("ethnicity", "Ethnicity (18+1)", "White British"),
        Characteristic("sex", "Sex", "Male", not_stated=None),
        Characteristic("age_band", "Age band", "35-44", not_stated=None),
        Characteristic("disability", "Disability", "Not disabled"),
        Characteristic("gender_reassignment", "Gender reassignment", "No"),
        Characteristic("marital_status", "Marriage and civil partnership", "Married"),
        Characteristic("pregnancy_maternity", "Pregnancy and maternity", "No"),
        Characteristic("religion", "Religion or belief", "Christian"),
        Characteristic("sexual_orientation", "Sexual orientation", "Heterosexual"),
        Characteristic("caring_responsibilities", "Caring responsibilities", "Not a carer"),
        Characteristic("worker_type", "Worker type", "Police officer", not_stated=None),
        Characteristic("rank_grade", "Rank or grade", "Constable", not_stated=None),
        Characteristic("service_band", "Length of service", "5-9 years", not_stated=None),
        Characteristic("ethnicity_sex", "Ethnic group x sex", "White male"),
    )
}

# The force's aggregate of the non-White ethnic groups (Asian + Black + Mixed + Other; White
# minorities excluded, as Home Office statistics do). Never shown without the five groups beside it.
AGGREGATE_GROUPS: tuple[str, ...] = ("Asian", "Black", "Mixed", "Other")
AGGREGATE_LABEL = "Black, Asian, Mixed and Other ethnic groups"
# The five ethnic groups in display order, then the not-stated row (GOV.UK ethnicity guidance).
ETHNIC_GROUPS: tuple[str, ...] = (*AGGREGATE_GROUPS, "White", "Not stated")

# The characteristics an application records (the recruitment tables break down by these only).
APPLICANT_CHARACTERISTICS: tuple[str, ...] = ("ethnicity_group", "ethnicity", "sex", "ethnicity_sex")

# Who may see what (metrics/tables.get_table enforces it; dashboard/roles.py maps people to them):
# the Management Board (aggregates), staff associations (the protected release only), analysts (all).
BOARD, STAFF_ASSOCIATION, ANALYST = "board", "staff_association", "analyst"
ROLES: tuple[str, ...] = (BOARD, STAFF_ASSOCIATION, ANALYST)


@dataclass(frozen=True)
class Settings:
    alpha: float = 0.05
    # The restricted release (metrics/release.py): counts 1..threshold-1 are hidden ("[c]"), the
    # rest rounded to the nearest rounding_base (NHS Digital and OpenSAFELY: 1-7 hidden, rounded to 5).
    suppression_threshold: int = 8
    rounding_base: int = 5
    min_cases_for_median: int = 20  # a released median needs this many cases in its group
    min_breakdown: int = 20  # a release part (period, area or worker type) with fewer records is not broken down
    min_group_for_ratio: int = 10  # below this denominator a ratio is "too few to report"
    adjustment: str = "holm"  # or "fdr_bh"
    service_standard_days: int = 90  # a grievance open longer than this is "overdue"
    # supervision standards (IOPC recommendations 13-14; metrics/supervision.py)
    constables_per_sergeant: float = 10.0  # teams of about 20 with two sergeants
    teams_per_inspector: float = 6.0
    recruits_per_line_manager: float = 90.0  # recruits in their first 20 weeks
    high_demand_tenure_days: int = 730  # longest time in post on a night-time economy or nights team
    # evidence strength (metrics/power.py): a comparison that could have detected a ratio this
    # small (at 80% power) and found none says "no difference larger than ... is likely"
    evidence_ratio_threshold: float = 2.0


DEFAULTS = Settings()


@cache
def code_lists() -> dict:
    """The shared code lists (data_contracts/codes.yaml)."""
    return read_yaml(CONTRACTS_DIR / "codes.yaml")
