"""What the release holds: its families of counts (views), the tables cut from them and which cells
each shows (metrics/release.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from metrics.config import APPLICANT_CHARACTERISTICS, CHARACTERISTICS

FORCE, AREA = "force", "area"
ALL = "*"
HIDDEN = "[c]"
TOO_FEW = "too few to report"
HIDDEN_NOTE = "hidden: fewer than {t}, or hidden so that a small count cannot be worked out"
EXPOSURE_BASE = 10  # person-years are rounded to the nearest 10, and hidden below 10
TREND_YEARS = 6  # released periods in a staff association's trend table

PERSON_CHARACTERISTICS = tuple(CHARACTERISTICS)
# Business-area tables (SPOC packs and the area disparity table) break down by these only: finer
# breakdowns of a few dozen cases per area would be hidden almost entirely.
AREA_CHARACTERISTICS = ("ethnicity_group", "sex", "disability")



# ---------------------------------------------------------------------------------------------
# Families of counts and their views
# ---------------------------------------------------------------------------------------------

def _flag(expr: str, mark: str) -> str:
    return f"(case when coalesce({expr}, false) then '{mark}' else '-' end)"


@dataclass(frozen=True)
class Family:
    """Records counted in one fact table, by the month they fall in and the extra dimensions the
    released tables break them down by (each a SQL expression giving a short string)."""

    name: str
    table: str
    month_col: str
    where: str
    edims: tuple[tuple[str, str], ...]
    characteristics: tuple[str, ...] = PERSON_CHARACTERISTICS
    has_area: bool = True
    area_views: tuple[tuple[str, str | None], ...] = ()  # (characteristic, edim) at area level


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("raised", "fct_grievance_outcomes", "raised_month", "true",
           (("category", "category_label"),
            ("assessor", "case when is_independent_assessor then 'Independent' else 'Local' end")),
           area_views=(("ethnicity_group", None), ("sex", None), ("disability", None),
                       ("ethnicity_group", "category"), ("ethnicity_group", "assessor"))),
    Family("closed", "fct_grievance_outcomes", "closed_month", "not is_open",
           (("closure", "(case when is_discrimination then 'D' else 'O' end) || '|' || outcome_label"),),
           area_views=(("ethnicity_group", "closure"), ("sex", "closure"), ("disability", "closure"))),
    Family("referred", "fct_misconduct_referrals", "referral_month", "true",
           (("stage", " || ".join((_flag("is_investigated", "I"), _flag("is_meeting_or_hearing", "M"),
                                   _flag("has_sanction", "S"), _flag("is_investigation_decided", "1"),
                                   _flag("is_route_decided", "2"), _flag("is_outcome_decided", "3")))),
            ("outcome", "coalesce(outcome_label, '')")),
           area_views=(("ethnicity_group", None),)),
    Family("applied", "fct_recruitment_funnel", "applied_month", "true",
           (("progress", " || ".join(_flag(c, m) for c, m in (
               ("passed_sift", "S"), ("passed_assessment", "A"), ("passed_vetting", "V"),
               ("passed_medical", "M"), ("was_offered", "O"), ("has_joined", "J"), ("is_in_progress", "P")))),),
           characteristics=APPLICANT_CHARACTERISTICS, has_area=False),
    Family("acting", "fct_acting_up", "decision_month", "true",
           (("selected", "case when is_selected then 'Selected' else 'Not selected' end"),)),
)}


@dataclass
class View:
    """Counts of one family at one level (force by worker type, or business area), broken down by
    one characteristic and at most one extra dimension: a dense array [quarter, x, group, e]."""

    level: str
    characteristic: str
    edim: str | None
    xs: list[str]
    groups: list[str]
    es: list[str]
    counts: np.ndarray

    @cached_property
    def x_index(self) -> dict[str, int]:
        return {x: i for i, x in enumerate(self.xs)}

    @cached_property
    def g_index(self) -> dict[str, int]:
        return {g: i for i, g in enumerate(self.groups)}


@dataclass
class Cell:
    """One published count: its key (the same count has the same key in every table), the view
    and index sets it sums, its exact value and how it is published."""

    key: tuple
    view: tuple[str, str, str | None]
    qi: tuple[int, ...]
    xi: tuple[int, ...]
    gi: tuple[int, ...]
    ei: tuple[int, ...]
    value: int
    exact: bool  # a total with no breakdown: published exactly
    status: str = ""  # "exact", "zero", "shown", "primary", "secondary", "withheld"
    shown: int | None = None

    @property
    def is_hidden(self) -> bool:
        return self.status in ("primary", "secondary")


# ---------------------------------------------------------------------------------------------
# Table definitions: which cells each released table shows
# ---------------------------------------------------------------------------------------------

Pred = Callable[[str], bool]


@dataclass(frozen=True)
class TableDef:
    name: str
    family: str
    kind: str  # "rate", "proportion", "crosstab", "stages"
    n: tuple[str | None, Pred | None] = (None, None)  # (edim, predicate) for the denominator; None = all
    events: tuple[str | None, Pred | None] = (None, None)
    edim: str | None = None  # crosstab columns / stage dimension
    column: Callable[[str], str | None] = lambda e: e or None  # crosstab column label of an e value
    stages: tuple[tuple[str, Pred, Pred, Pred], ...] = ()  # (label, n, events, pending) over the edim
    levels: tuple[str, ...] = (FORCE,)
    four_fifths: bool = False


def _decision(reached: Pred, decided: Pred, progressed: Pred) -> tuple[Pred, Pred, Pred]:
    """A decision point counting decided cases only (metrics.disparity.decision_stage_table): n =
    at the previous stage and decided here, events = of those, progressed; pending = not decided."""
    return (lambda e: reached(e) and decided(e), lambda e: reached(e) and decided(e) and progressed(e),
            lambda e: reached(e) and not decided(e))


def _misconduct_stages():
    steps = (("Investigated", lambda e: True, "1", "I"), ("Meeting or hearing", lambda e: "I" in e, "2", "M"),
             ("Sanction", lambda e: "M" in e, "3", "S"))
    return tuple((label, *_decision(reached, lambda e, d=d: d in e, lambda e, m=m: m in e))
                 for label, reached, d, m in steps)


def _recruitment_stages():
    marks = ("S", "A", "V", "M", "O", "J")
    labels = ("Passed sift", "Passed assessment centre", "Passed vetting", "Passed medical", "Offered a place", "Joined")
    out = []
    for k, (mark, label) in enumerate(zip(marks, labels, strict=True)):
        reached = (lambda e: True) if k == 0 else (lambda e, p=marks[k - 1]: p in e)
        # an application still in progress that has not passed this stage is pending here
        out.append((label, *_decision(reached, lambda e, m=mark: m in e or "P" not in e, lambda e, m=mark: m in e)))
    return tuple(out)


def _upheld(e: str) -> bool:
    return e.split("|", 1)[1] in ("Upheld", "Partly upheld")


TABLES: dict[str, TableDef] = {t.name: t for t in (
    TableDef("grievance_rates", "raised", "rate", levels=(FORCE, AREA)),
    TableDef("grievance_categories", "raised", "crosstab", edim="category", levels=(FORCE, AREA)),
    TableDef("grievance_independent_assessor", "raised", "proportion",
             events=("assessor", lambda e: e == "Independent"), levels=(FORCE, AREA)),
    TableDef("grievance_outcomes", "closed", "proportion", n=("closure", None), events=("closure", _upheld),
             levels=(FORCE, AREA)),
    TableDef("grievance_discrimination_outcomes", "closed", "proportion", n=("closure", lambda e: e[0] == "D"),
             events=("closure", lambda e: e[0] == "D" and _upheld(e))),
    TableDef("grievance_outcome_mix", "closed", "crosstab", edim="closure", column=lambda e: e.split("|", 1)[1],
             levels=(FORCE, AREA)),
    TableDef("misconduct_rates", "referred", "rate", levels=(FORCE, AREA)),
    TableDef("misconduct_stages", "referred", "stages", edim="stage", stages=_misconduct_stages()),
    TableDef("misconduct_outcomes", "referred", "crosstab", edim="outcome"),
    TableDef("recruitment_funnel", "applied", "stages", edim="progress", four_fifths=True, stages=_recruitment_stages()),
    TableDef("acting_up", "acting", "proportion", events=("selected", lambda e: e == "Selected"),
             four_fifths=True),
)}
# Tables made from other released tables (never from the warehouse directly).
DERIVED = {"misconduct_trend": "misconduct_rates", "misconduct_area_disparity": "misconduct_rates",
           "grievance_resolution": "grievance_rates"}
# Totals with no breakdown (an area's grievances raised and closed, open and overdue): released exactly,
# for released periods only (the funnel) or month by month (the SPOC pack's trend).
EXACT_TOTAL_TABLES = ("grievance_funnel", "spoc_trend")
# Officers by ethnic group on 31 March: what every force publishes to the Home Office each year
# (the police workforce statistics; the published tables are shipped in sample_data/reference/).
PUBLISHED_TABLES = ("representation", "force_representation")
RELEASED = (*TABLES, *DERIVED, *EXACT_TOTAL_TABLES, *PUBLISHED_TABLES)


def is_released(name: str) -> bool:
    return name in RELEASED
