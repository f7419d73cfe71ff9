"""Officer recruitment: every joiner's application and those of the applicants who stopped at each
stage (planted effects 4a-4c)."""

from __future__ import annotations

import numpy as np

from sample_data.codes import ASIAN, BLACK, NS_GROUP, OFFICER, STAGE_DAYS, WHITE
from sample_data.draws import draw, draw_rows
from sample_data.effects import (
    ASSESSMENT_BLACK_FACTOR,
    HEARD_VIA_OUTREACH,
    PASS_RATES,
    SPOKE_ONLY_BLACK_F,
    SPOKE_ONLY_MINORITY,
    SPOKE_ONLY_WHITE,
    VETTING_ASIAN_FACTOR,
)
from sample_data.profiles import Force, joiner_minority_share
from sample_data.timeline import END, financial_year
from sample_data.workforce import People, ethnicity_codes, minority_group


def _stage_pass(group: np.ndarray, effects: bool) -> np.ndarray:
    """Pass rate at each of the six stages after applying, per applicant (n x 6)."""
    rates = np.tile(PASS_RATES, (len(group), 1))
    if effects:
        rates[:, 1] *= np.where(group == BLACK, ASSESSMENT_BLACK_FACTOR, 1.0)
        rates[:, 2] *= np.where(group == ASIAN, VETTING_ASIAN_FACTOR, 1.0)
    return rates


def simulate_applications(rng, force: Force, people: People, effects: bool) -> dict:
    """Every officer joiner applied; around each joiner, the applicants who stopped earlier."""
    base_join, base_group, base_sex, base_person, applied = _joiner_applications(rng, force, people)
    c_of, c_stage, c_applied = _companions(rng, base_group, applied, effects)
    stage = np.concatenate([np.full(len(base_join), 6), c_stage])
    app_day = np.concatenate([applied, c_applied])
    group = np.concatenate([base_group, base_group[c_of]])
    sex = np.concatenate([base_sex, base_sex[c_of]])
    person = np.concatenate([base_person, np.full(len(c_of), -1)])
    # not yet decided at the extract date: the furthest stage so far
    reached_by_time = np.searchsorted(STAGE_DAYS, END - app_day, side="right") - 1
    future = np.concatenate([base_join > END, np.zeros(len(c_of), dtype=bool)])
    stage = np.where(future, np.minimum(reached_by_time, 5), np.where(stage == 6, 6, np.minimum(stage, reached_by_time)))
    keep = app_day <= END
    app_day, stage, group, sex, person = app_day[keep], stage[keep], group[keep], sex[keep], person[keep]
    fy = financial_year(app_day)
    route_p = np.array([[0.25, 0.12, 0.03, 0.60], [0.45, 0.33, 0.10, 0.12], [0.45, 0.25, 0.05, 0.25]])
    route = draw_rows(rng, route_p, np.select([fy <= 2019, fy <= 2023], [0, 1], 2))
    heard, spoke_only, outreach_bcu = _outreach(rng, force, group, sex, effects)
    ethnicity = ethnicity_codes(rng, group)
    # joiners keep the ethnicity code they applied with
    joined = person >= 0
    return dict(day=app_day, route=route, sex=sex, ethnicity=ethnicity, heard=heard, spoke_only=spoke_only,
                outreach_bcu=outreach_bcu, stage=stage, person=person, joined_ethnicity=ethnicity[joined],
                joined_person=person[joined])


def _joiner_applications(rng, force: Force, people: People) -> tuple[np.ndarray, ...]:
    """The applications that reach JOINED: every officer joiner's, plus those of joiners-to-be after
    END still in the pipeline. Join day, group, sex, person (-1 for the future) and applied day."""
    joiner = np.nonzero((people.wt == OFFICER) & (people.join >= 0))[0]
    j_day = people.join[joiner]
    recent = (j_day > END - 365).sum()
    n_future = rng.poisson(recent * 320 / 365)
    f_day = END + 1 + rng.integers(0, 320, n_future)
    f_fy = financial_year(np.full(n_future, END))
    f_minority = rng.random(n_future) < joiner_minority_share(force, f_fy)
    f_group = minority_group(rng, force, f_minority, 0.03)
    f_sex = (rng.random(n_future) >= force.female_joiners[OFFICER]).astype(np.int8)
    base_join = np.concatenate([j_day, f_day])
    base_group = np.concatenate([people.group[joiner], f_group])
    base_sex = np.concatenate([people.sex[joiner], f_sex])
    base_person = np.concatenate([joiner, np.full(n_future, -1)])
    lag = rng.integers(190, 321, len(base_join))
    applied = base_join - lag
    early = applied < 0  # joined in the first months: the application falls inside the window
    applied = np.where(early, np.floor(rng.random(len(base_join)) * (base_join + 1)).astype(np.int64), applied)
    return base_join, base_group, base_sex, base_person, applied


def _companions(rng, base_group: np.ndarray, applied: np.ndarray, effects: bool) -> tuple[np.ndarray, ...]:
    """Around each joiner, 1/P(join) - 1 applicants on average (P by group) who stopped short of
    JOINED: the joiner each goes with, the furthest stage reached and the applied day."""
    rates = _stage_pass(base_group, effects)
    reach = np.cumprod(rates, axis=1)  # P(reach stage s), s = SIFT..JOINED
    p_join = reach[:, -1]
    n_comp = rng.poisson(1 / p_join - 1)
    c_of = np.repeat(np.arange(len(applied)), n_comp)
    reach_all = np.hstack([np.ones((len(applied), 1)), reach])  # APPLIED..JOINED
    stop_p = (reach_all[:, :-1] - reach_all[:, 1:]) / (1 - p_join)[:, None]  # furthest = APPLIED..OFFER
    c_stage = draw_rows(rng, stop_p, c_of)
    c_applied = np.clip(applied[c_of] + rng.integers(-20, 21, len(c_of)), 0, END)
    return c_of, c_stage, c_applied


def _outreach(rng, force: Force, group: np.ndarray, sex: np.ndarray, effects: bool) -> tuple[np.ndarray, ...]:
    """Heard via outreach, spoke only to outreach, and the outreach BCU (-1 none)."""
    n = len(group)
    heard_p = HEARD_VIA_OUTREACH[group] if effects else np.full(n, 0.25)
    heard = rng.random(n) < heard_p
    if effects:
        so_share = np.where(group == WHITE, SPOKE_ONLY_WHITE,
                            np.where(group == NS_GROUP, SPOKE_ONLY_WHITE,
                                     np.where((group == BLACK) & (sex == 0), SPOKE_ONLY_BLACK_F, SPOKE_ONLY_MINORITY)))
        so_given_heard = so_share / heard_p
    else:
        so_given_heard = np.full(n, 0.30)
    spoke_only = heard & (rng.random(n) < so_given_heard)
    bcu = np.array([i for i, a in enumerate(force.areas) if a.area_type == "BCU"])
    bcu_w = np.array([force.areas[i].weights[OFFICER] for i in bcu])
    outreach_bcu = np.where(heard, bcu[draw(rng, bcu_w, n)], -1)
    return heard, spoke_only, outreach_bcu
