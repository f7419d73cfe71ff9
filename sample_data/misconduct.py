"""Misconduct referrals and the decisions on them (planted effects 1, 2 and 2b), and dismissals,
which end a person's service."""

from __future__ import annotations

import numpy as np

from sample_data.careers import Spells, spell_ends
from sample_data.codes import BLACK, DISMISSAL_LEAVE, FTR_REASON_SHARES, NS_GROUP, RANK_OFFSET, WHITE
from sample_data.draws import draw, exposure, poisson_events
from sample_data.effects import (
    MISCONDUCT_BASE,
    MISCONDUCT_BASE_NO_EFFECTS,
    MISCONDUCT_RANK_FACTOR,
    MISCONDUCT_SERVICE_FACTOR,
    P_FAILED_TO_REPORT,
    P_INVESTIGATED,
    RR_2016,
    RR_2022,
    RRI_INVESTIGATED_BLACK,
    SERVICE_BANDS,
)
from sample_data.profiles import Force
from sample_data.timeline import END, NEVER, YEAR, financial_year, ramp
from sample_data.workforce import People


def service_band(years: np.ndarray) -> np.ndarray:
    return np.searchsorted(SERVICE_BANDS, years, side="right")


def _misconduct_rr(group: np.ndarray, fy: np.ndarray) -> np.ndarray:
    t = ramp(fy, 2016, 2022)
    rr = RR_2016 + (RR_2022[group] - RR_2016) * t
    return np.where((group == WHITE) | (group == NS_GROUP), 1.0, rr)


def simulate_misconduct(rng, force: Force, people: People, spells: Spells, effects: bool) -> dict:
    """Referrals as a thinned Poisson process over each spell, then the decisions on each case."""
    idx, ev, day, ep = _referrals(rng, force, people, spells, effects)
    n = len(ev)
    investigated, route, severity, outcome = _decisions(rng, people.group[ep], effects)
    # a reduction in rank needs a rank to reduce from
    lowest = np.isin(spells.rank[idx][ev], RANK_OFFSET)
    outcome = np.where((outcome == 4) & lowest, 3, outcome)
    route, outcome, outcome_day = _close(rng, people.leave[ep], day, investigated, route, outcome)
    ftr = rng.random(n) < P_FAILED_TO_REPORT
    ftr_reason = np.where(ftr, draw(rng, FTR_REASON_SHARES, n), -1)
    source = draw(rng, (0.35, 0.58, 0.07), n)
    allegation = draw(rng, (0.22, 0.12, 0.07, 0.16, 0.12, 0.15, 0.06, 0.04, 0.02, 0.04), n)
    allegation = np.where(source == 2, np.where(rng.random(n) < 0.8, 2, allegation), allegation)
    allegation = np.where(ftr & (rng.random(n) < 0.7), 9, allegation)
    return dict(person=ep, area=spells.area[idx][ev], day=day, source=source, allegation=allegation,
                severity=severity, investigated=investigated, route=route, outcome=outcome,
                outcome_day=outcome_day, ftr=ftr, ftr_reason=ftr_reason)


def _referrals(rng, force: Force, people: People, spells: Spells, effects: bool) -> tuple[np.ndarray, ...]:
    """The referrals: exposed spell indices, each referral's spell (into them), day and person."""
    idx, cs, ce = exposure(spells)
    p = spells.person[idx]
    wt, group = people.wt[p], people.group[p]
    area_factor = np.array([a.misconduct_factor for a in force.areas])[spells.area[idx]]
    if effects:
        base = MISCONDUCT_BASE[wt] * MISCONDUCT_RANK_FACTOR[spells.rank[idx]] * area_factor
        lam_max = base * MISCONDUCT_SERVICE_FACTOR.max() * np.where(group == WHITE, 1.0, RR_2016)
    else:
        base = np.full(len(idx), MISCONDUCT_BASE_NO_EFFECTS)
        lam_max = base
    ev, day = poisson_events(rng, idx, cs, ce, lam_max)
    ep = p[ev]
    if effects:
        service = (day - people.join[ep]) / YEAR
        lam = base[ev] * MISCONDUCT_SERVICE_FACTOR[service_band(service)] * _misconduct_rr(group[ev], financial_year(day))
        keep = rng.random(len(ev)) < lam / lam_max[ev]
        ev, day, ep = ev[keep], day[keep], ep[keep]
    return idx, ev, day, ep


def _decisions(rng, g: np.ndarray, effects: bool) -> tuple[np.ndarray, ...]:
    """Investigated or not, the route, the severity and the outcome (before anyone leaves)."""
    n = len(g)
    p_inv = np.where((g == BLACK) & effects, P_INVESTIGATED * RRI_INVESTIGATED_BLACK, P_INVESTIGATED)
    investigated = rng.random(n) < p_inv
    route = np.where(investigated, draw(rng, (0.15, 0.20, 0.25, 0.28, 0.12), n), draw(rng, (0.55, 0.25, 0.20, 0, 0), n))
    severity = np.select(
        [route == 4, route == 3, investigated],
        [2, np.where(rng.random(n) < 0.85, 1, 2), np.where(rng.random(n) < 0.55, 1, 0)],
        np.where(rng.random(n) < 0.85, 0, 1),
    )
    sanction = rng.random(n) < 0.65
    hearing_sanction = np.array([2, 3, 4, 5])[draw(rng, (0.12, 0.35, 0.08, 0.45), n)]
    meeting_sanction = np.array([2, 3])[draw(rng, (0.60, 0.40), n)]
    outcome = np.select(
        [route == 0, route <= 2, (route == 4) & sanction, (route == 3) & sanction],
        [0, 1, hearing_sanction, meeting_sanction],
        draw(rng, (0.5, 0.5), n),
    )
    return investigated, route, severity, outcome


def _close(rng, leave: np.ndarray, day: np.ndarray, investigated: np.ndarray, route: np.ndarray,
           outcome: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How long each case takes; a case whose subject leaves first ends RESIGNED_RETIRED, one still
    running at the extract date is open (no outcome, and no route if not yet decided)."""
    n = len(day)
    median = np.select([route == 4, route == 3, investigated], [420.0, 330.0, 200.0], 45.0)
    total = np.maximum(np.round(median * np.exp(rng.normal(0, 0.5, n))), 2).astype(np.int64)
    route_day = day + np.round(total * np.where(investigated, 0.6, 0.5)).astype(np.int64)
    outcome_day = day + total
    left_first = leave < outcome_day  # left before the outcome (leave <= END here)
    outcome = np.where(left_first, 6, outcome)
    outcome_day = np.where(left_first, leave, outcome_day)
    route = np.where(left_first & (route_day > leave), -1, route)
    open_ = ~left_first & (outcome_day > END)
    outcome = np.where(open_, -1, outcome)
    outcome_day = np.where(open_, NEVER, outcome_day)
    route = np.where(open_ & (route_day > END), -1, route)
    return route, outcome, outcome_day


def apply_dismissals(cases: dict, people: People, spells: Spells) -> tuple[dict, Spells]:
    """A dismissal ends the person's service that day: later cases and postings go, open ones close."""
    dismissed = cases["outcome"] == 5
    d_day = np.full(len(people.wt), NEVER, dtype=np.int64)
    np.minimum.at(d_day, cases["person"][dismissed], cases["outcome_day"][dismissed])
    hit = d_day < NEVER
    people.leave = np.where(hit, d_day, people.leave)
    people.reason = np.where(hit, DISMISSAL_LEAVE, people.reason)
    cd = d_day[cases["person"]]
    keep = cases["day"] <= cd
    later = keep & (cases["outcome_day"] > cd)  # still running when the person was dismissed
    cases["outcome"] = np.where(later, 0, cases["outcome"])
    cases["outcome_day"] = np.where(later, cd, cases["outcome_day"])
    cases = {k: v[keep] for k, v in cases.items()}
    sd = d_day[spells.person]
    keep_s = spells.start <= sd
    spells = Spells(*(a[keep_s] for a in (spells.person, spells.area, spells.rank, spells.start, spells.end)))
    spells.end = spell_ends(spells.person, spells.start, people.leave)
    return cases, spells
