"""Grievances: who raises them, about what, how they end and how long they take."""

from __future__ import annotations

import numpy as np

from sample_data.careers import Spells
from sample_data.codes import ASIAN, BLACK, OTHER
from sample_data.draws import draw, draw_rows, exposure, poisson_events
from sample_data.effects import (
    GRIEVANCE_BLACK_DAYS_FACTOR,
    GRIEVANCE_GROUP_FACTOR,
    GRIEVANCE_MEDIAN_DAYS,
    GRIEVANCE_OUTLIER_AREA,
    GRIEVANCE_OUTLIER_FACTOR,
    GRIEVANCE_RATE,
    GRIEVANCE_SEX_FACTOR,
    P_RESOLVED_INFORMALLY,
    P_WITHDRAWN,
    UPHELD_DISCRIM,
    UPHELD_OTHER,
)
from sample_data.profiles import Force
from sample_data.timeline import END, NEVER, financial_year, ramp
from sample_data.workforce import People


def simulate_grievances(rng, force: Force, people: People, spells: Spells, effects: bool) -> dict:
    """Grievances as a Poisson process over each spell (planted effects 3a-3d)."""
    idx, ev, day, ep = _raised(rng, force, people, spells, effects)
    n = len(ev)
    g, sex = people.group[ep], people.sex[ep]
    category = _category(rng, g, sex, effects)
    outcome, stage = _outcome_and_stage(rng, g, category, effects)
    median = np.where((g == BLACK) & effects, GRIEVANCE_MEDIAN_DAYS * GRIEVANCE_BLACK_DAYS_FACTOR, GRIEVANCE_MEDIAN_DAYS)
    if not effects:
        median = np.full(n, 70.0)
    days = np.maximum(np.round(median * np.exp(rng.normal(0, 0.8, n))), 1).astype(np.int64)
    outcome_day = day + days
    open_ = outcome_day > END
    outcome = np.where(open_, -1, outcome)
    outcome_day = np.where(open_, NEVER, outcome_day)
    stage = np.where(open_, draw(rng, (0.25, 0.55, 0.15, 0.05), n), stage)
    fy = financial_year(day)
    independent = rng.random(n) < 0.20 + 0.45 * ramp(fy, 2016, 2023)
    upheld = outcome <= 1
    score_p = np.array([[0.25, 0.30, 0.25, 0.15, 0.05], [0.05, 0.10, 0.20, 0.35, 0.30]])
    score = 1 + draw_rows(rng, score_p, upheld.astype(np.int64))
    score = np.where(~open_ & (rng.random(n) < 0.40), score, -1)
    return dict(person=ep, area=spells.area[idx][ev], day=day, category=category, stage=stage,
                assessor=np.where(independent, 0, 1), outcome=outcome, outcome_day=outcome_day, score=score)


def _raised(rng, force: Force, people: People, spells: Spells, effects: bool) -> tuple[np.ndarray, ...]:
    """Exposed spell indices, and each grievance's spell (into them), day and person."""
    idx, cs, ce = exposure(spells)
    p = spells.person[idx]
    if effects:
        outlier = np.array([a.code == GRIEVANCE_OUTLIER_AREA for a in force.areas])[spells.area[idx]]
        mult = (GRIEVANCE_SEX_FACTOR[people.sex[p]] * GRIEVANCE_GROUP_FACTOR[people.group[p]]
                * np.where(outlier, GRIEVANCE_OUTLIER_FACTOR, 1.0))
        # reference (White male) rate chosen so the force-wide rate is GRIEVANCE_RATE
        rate = GRIEVANCE_RATE / _GRIEVANCE_MEAN_MULTIPLIER * mult
    else:
        rate = np.full(len(idx), GRIEVANCE_RATE)
    ev, day = poisson_events(rng, idx, cs, ce, rate)
    return idx, ev, day, p[ev]


def _category(rng, g: np.ndarray, sex: np.ndarray, effects: bool) -> np.ndarray:
    """Who raises what: with effects, race claims from minority staff, sex claims from women."""
    cat_p = np.tile(np.array([0.30, 0.13, 0.04, 0.07, 0.04, 0.06, 0.02, 0.02, 0.04, 0.02, 0.07, 0.19]), (4, 1))
    if effects:
        cat_p[1, [2, 4]] = (0.08, 0.10)  # white women
        cat_p[2, 3] = 0.28  # minority men
        cat_p[3, [2, 3, 4]] = (0.07, 0.24, 0.08)  # minority women
        cat_p[0, 3] = cat_p[1, 3] = 0.03
    minority = (g >= ASIAN) & (g <= OTHER)
    return draw_rows(rng, cat_p, (minority * 2 + (sex == 0)).astype(np.int64))


def _outcome_and_stage(rng, g: np.ndarray, category: np.ndarray, effects: bool) -> tuple[np.ndarray, np.ndarray]:
    """The outcome were each grievance closed, and the stage it ended at."""
    n = len(g)
    discrim = (category >= 3) & (category <= 9)
    if effects:
        p_up = np.where(discrim, UPHELD_DISCRIM[g], UPHELD_OTHER)
    else:
        p_up = np.full(n, 0.34)
    u = rng.random(n)
    outcome = np.select(
        [u < P_WITHDRAWN, u < P_WITHDRAWN + P_RESOLVED_INFORMALLY, u < P_WITHDRAWN + P_RESOLVED_INFORMALLY + p_up],
        [4, 3, np.where(rng.random(n) < 0.4, 0, 1)],
        2,
    )
    stage = np.select(
        [outcome == 3, outcome == 4],
        [0, draw(rng, (0.3, 0.6, 0.1, 0.0), n)],
        draw(rng, (0.0, 0.65, 0.25, 0.10), n),
    )
    return outcome, stage


def _grievance_mean_multiplier() -> float:
    """E[sex x group x area factor] for a Met-like workforce (about 40% women, 16% non-White, NE 1/20)."""
    sex = 0.40 * 1.5 + 0.60 * 1.0
    group = 0.81 + 0.07 * 1.5 + 0.04 * 2.0 + 0.035 * 1.4 + 0.015 * 1.0 + 0.03 * 1.0
    area = 1 + (GRIEVANCE_OUTLIER_FACTOR - 1) / 20
    return sex * group * area


_GRIEVANCE_MEAN_MULTIPLIER = _grievance_mean_multiplier()
