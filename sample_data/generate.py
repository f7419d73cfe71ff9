"""Write the ten contract-shaped extracts for a synthetic force (or all 43) from a seed.

One job: deterministic, realistic sample data with the planted effects documented in
sample_data/README.md, so the pipeline can be tested on whether it recovers them. Same profile, seed
and effects flag give byte-identical files: no wall clock, fixed row order, fixed number formats.

Time runs in whole days counted from 2016-04-01 (day 0) to the extract date 2026-10-31 (day END).
People in post on day 0 carry their history back to their join date, so postings cover each
person's whole service.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from sample_data.reference import (
    CENSUS_FORCES,
    IOPC_ACTIONS,
    MET_AREAS,
    MET_FORCE_NAME,
    STRIDE_COMMITMENTS,
    STRIDE_LEADS,
)

GENERATOR_VERSION = "1.0.0"
PROFILES: tuple[str, ...] = ("small", "mps", "national")
EXTRACTS: tuple[str, ...] = (
    "business_areas", "people", "postings", "grievances", "misconduct_cases",
    "applications", "acting_up", "stride_updates", "iopc_actions", "targets",
)

START = np.datetime64("2016-04-01", "D")
EXTRACT_DATE = np.datetime64("2026-10-31", "D")
END = int((EXTRACT_DATE - START) / np.timedelta64(1, "D"))  # last day of the extract, inclusive
NEVER = 10**7  # "no leave date / open spell" sentinel, far beyond END
EPOCH = int((START - np.datetime64("1970-01-01", "D")) / np.timedelta64(1, "D"))
YEAR = 365.25
N_MONTHS = 127  # April 2016 .. October 2026

# ---------------------------------------------------------------------------------------------
# Code lists (the contract values; tests check them against data_contracts/codes.yaml)
WORKER_TYPES = ("OFFICER", "STAFF", "PCSO", "SPECIAL")
OFFICER, STAFF, PCSO, SPECIAL = range(4)
RANKS = ("PC", "PS", "INSP", "CI", "SUPT", "CSUPT", "CHIEF",
         "BAND_E", "BAND_D", "BAND_C", "BAND_B", "BAND_A", "SCS", "PCSO", "SC")
RANK_OFFSET = np.array([0, 7, 13, 14])
RANK_LEVELS = np.array([7, 6, 1, 1])
# Promotions per year in post at each rank (top rank 0); sized so the rank pyramid is Met-like.
PROMO_RATE = np.array([0.027, 0.045, 0.05, 0.10, 0.08, 0.05, 0.0,
                       0.045, 0.035, 0.030, 0.040, 0.030, 0.0, 0.0, 0.0])
MOVE_RATE = 0.10  # lateral moves between business areas per year
CAREER_RATE = MOVE_RATE + PROMO_RATE.max()  # thinning envelope: moves plus the highest promotion rate

GROUPS = ("White", "Asian", "Black", "Mixed", "Other", "Not stated")
WHITE, ASIAN, BLACK, MIXED, OTHER, NS_GROUP = range(6)
ETHNICITY_BY_GROUP: tuple[tuple[tuple[str, ...], tuple[float, ...]], ...] = (
    (("W1", "W2", "W3", "W4", "W9"), (0.80, 0.04, 0.005, 0.005, 0.15)),
    (("A1", "A2", "A3", "A4", "A9"), (0.35, 0.20, 0.15, 0.08, 0.22)),
    (("B1", "B2", "B9"), (0.45, 0.45, 0.10)),
    (("M1", "M2", "M3", "M9"), (0.35, 0.15, 0.25, 0.25)),
    (("O1", "O9"), (0.30, 0.70)),
    (("NS",), (1.0,)),
)
ETHNICITY_CODES = tuple(c for codes, _ in ETHNICITY_BY_GROUP for c in codes)
ETHNICITY_GROUP_OF_CODE = np.array([g for g, (codes, _) in enumerate(ETHNICITY_BY_GROUP) for _ in codes])
SEXES = ("F", "M")
YES_NO_NS = ("Y", "N", "NS")
YES_NO = ("Y", "N")
MARITAL = ("SINGLE", "MARRIED", "CIVIL_PARTNERSHIP", "DIVORCED", "WIDOWED", "NS")
RELIGIONS = ("CHRISTIAN", "MUSLIM", "HINDU", "SIKH", "JEWISH", "BUDDHIST", "OTHER", "NONE", "NS")
ORIENTATIONS = ("HETEROSEXUAL", "GAY_LESBIAN", "BISEXUAL", "OTHER", "NS")
LEAVING = ("RETIREMENT", "RESIGNATION", "DISMISSAL", "TRANSFER", "DEATH", "OTHER")
RETIREMENT, RESIGNATION, DISMISSAL_LEAVE = 0, 1, 2
GRIEVANCE_CATEGORIES = ("BULLYING", "HARASSMENT", "SEXUAL_HARASSMENT", "DISCRIM_RACE", "DISCRIM_SEX",
                        "DISCRIM_DISABILITY", "DISCRIM_SEXUAL_ORIENTATION", "DISCRIM_RELIGION",
                        "DISCRIM_AGE", "DISCRIM_OTHER", "VICTIMISATION", "OTHER")
GRIEVANCE_STAGES = ("INFORMAL", "STAGE_1", "STAGE_2", "APPEAL")
ASSESSORS = ("INDEPENDENT", "LOCAL")
GRIEVANCE_OUTCOMES = ("UPHELD", "PARTLY_UPHELD", "NOT_UPHELD", "RESOLVED_INFORMALLY", "WITHDRAWN")
SOURCES = ("PUBLIC_COMPLAINT", "INTERNAL_CONDUCT", "DISCRIMINATION_UNIT")
ALLEGATIONS = ("DISCREDITABLE_CONDUCT", "HONESTY_INTEGRITY", "EQUALITY_DIVERSITY", "AUTHORITY_RESPECT",
               "USE_OF_FORCE", "DUTIES_RESPONSIBILITIES", "CONFIDENTIALITY", "ORDERS_INSTRUCTIONS",
               "FITNESS_FOR_DUTY", "CHALLENGING_REPORTING")
SEVERITIES = ("NO_MISCONDUCT", "MISCONDUCT", "GROSS_MISCONDUCT")
ROUTES = ("NO_CASE_TO_ANSWER", "REFLECTIVE_PRACTICE", "MANAGEMENT_ACTION", "MISCONDUCT_MEETING",
          "GROSS_MISCONDUCT_HEARING")
MISCONDUCT_OUTCOMES = ("NO_FURTHER_ACTION", "MANAGEMENT_ADVICE", "WRITTEN_WARNING", "FINAL_WRITTEN_WARNING",
                       "REDUCTION_IN_RANK", "DISMISSAL", "RESIGNED_RETIRED")
FTR_REASONS = ("FEAR_OF_REPRISAL", "LOYALTY_TO_COLLEAGUES", "DID_NOT_RECOGNISE", "NOT_BELIEVED",
               "DID_NOT_KNOW_HOW", "OTHER")
FTR_REASON_SHARES = (0.40, 0.25, 0.15, 0.10, 0.05, 0.05)
ENTRY_ROUTES = ("PCDA", "DHEP", "DHEP_DETECTIVE", "PCEP")
STAGES = ("APPLIED", "SIFT", "ASSESSMENT", "VETTING", "MEDICAL", "OFFER", "JOINED")
STAGE_DAYS = np.array([0, 21, 60, 120, 150, 180])  # days after applying each stage is decided
ACTING_OUTCOMES = ("SELECTED", "NOT_SELECTED")

# ---------------------------------------------------------------------------------------------
# Planted effects (sample_data/README.md documents each; effects=False sets every one to "alike")
MISCONDUCT_BASE = np.array([0.045, 0.012, 0.025, 0.015])  # referrals per person-year, by worker type
MISCONDUCT_BASE_NO_EFFECTS = 0.035
MISCONDUCT_RANK_FACTOR = np.array([1.0, 0.85, 0.7, 0.6, 0.5, 0.5, 0.5,
                                   1.0, 1.0, 0.9, 0.8, 0.7, 0.6, 1.0, 1.0])
SERVICE_BANDS = np.array([2.0, 5.0, 10.0, 20.0])  # complete years: 0-1, 2-4, 5-9, 10-19, 20+
MISCONDUCT_SERVICE_FACTOR = np.array([1.4, 1.2, 1.0, 0.85, 0.75])
RR_2016 = 2.0  # every non-White group vs White, FY2016/17
RR_2022 = np.array([1.0, 1.55, 1.8, 1.4, 1.5, 1.0])  # by GROUPS, FY2022/23 on; linear in between
P_INVESTIGATED = 0.45
RRI_INVESTIGATED_BLACK = 1.25
P_FAILED_TO_REPORT = 0.07
GRIEVANCE_RATE = 0.0065  # per person-year overall
GRIEVANCE_SEX_FACTOR = np.array([1.5, 1.0])  # F, M
GRIEVANCE_GROUP_FACTOR = np.array([1.0, 1.5, 2.0, 1.4, 1.0, 1.0])
GRIEVANCE_OUTLIER_AREA, GRIEVANCE_OUTLIER_FACTOR = "NE", 2.5
UPHELD_DISCRIM = np.array([0.40, 0.40, 0.20, 0.40, 0.40, 0.40])  # share of closed, by group
UPHELD_OTHER = 0.30
P_WITHDRAWN, P_RESOLVED_INFORMALLY = 0.08, 0.15
GRIEVANCE_MEDIAN_DAYS, GRIEVANCE_BLACK_DAYS_FACTOR = 68.0, 1.4
PASS_RATES = np.array([0.60, 0.50, 0.85, 0.92, 0.90, 0.85])  # sift .. joined, given the stage before
ASSESSMENT_BLACK_FACTOR, VETTING_ASIAN_FACTOR = 0.75, 0.85
HEARD_VIA_OUTREACH = np.array([0.15, 0.35, 0.45, 0.35, 0.30, 0.15])
SPOKE_ONLY_BLACK_F, SPOKE_ONLY_MINORITY, SPOKE_ONLY_WHITE = 0.27, 0.10, 0.04
LEAVE_RATE = np.array([0.060, 0.075, 0.11, 0.15])  # per year, by worker type, before retirement
LEAVE_MINORITY_FACTOR = 1.15  # officers
RETIREMENT_AGE = np.array([60, 66, 65, 65])
ACTING_RATE = np.array([0.05, 0.10, 0.10, 0, 0, 0, 0, 0.04, 0.04, 0.04, 0, 0, 0, 0, 0])
SELECTION_RATE = np.array([0.50, 0.42, 0.35, 0.45, 0.45, 0.50])

# Joiner minority share (Asian+Black+Mixed+Other among stated) by financial year, officers.
JOINER_MINORITY_FY2016, JOINER_MINORITY_FY2025 = 0.12, 0.25


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    area_type: str
    weights: tuple[float, float, float, float]  # relative headcount by worker type
    misconduct_factor: float


@dataclass(frozen=True)
class Force:
    name: str
    areas: tuple[Area, ...]
    headcount: tuple[tuple[float, float, float, float], ...]  # by worker type: 2016-04, 2019-03, 2023-03, 2026-10
    minority_stock: tuple[float, float, float, float]  # share non-White among stated, by worker type, 2016
    joiner_minority: tuple[float, float]  # officer joiners FY2016 and FY2025
    minority_mix: tuple[float, float, float, float]  # Asian, Black, Mixed, Other within non-White
    female: tuple[float, float, float, float]  # stock 2016, by worker type
    female_joiners: tuple[float, float, float, float]


MPS_HEADCOUNT = ((31500, 30500, 34500, 33000),  # officers: flat, then the 2019-2023 uplift
                 (10500, 10700, 11000, 11200),  # staff
                 (1600, 1300, 1200, 1200),  # PCSOs
                 (3100, 2000, 1700, 1500))  # special constables
MET_MIX = (0.42, 0.24, 0.24, 0.10)


def _met_force(scale: float) -> Force:
    areas = tuple(Area(c, n, t, (o, s, p, sc), f) for c, n, t, o, s, p, sc, f in MET_AREAS)
    return Force(
        name=MET_FORCE_NAME,
        areas=areas,
        headcount=tuple(tuple(h * scale for h in row) for row in MPS_HEADCOUNT),
        minority_stock=(0.125, 0.30, 0.33, 0.30),
        joiner_minority=(JOINER_MINORITY_FY2016, JOINER_MINORITY_FY2025),
        minority_mix=MET_MIX,
        female=(0.27, 0.58, 0.42, 0.30),
        female_joiners=(0.36, 0.58, 0.42, 0.33),
    )


def _national_forces() -> list[Force]:
    """The 43 forces, sized by population (the Met at its own size, as in reality it is larger)."""
    pops = np.array([sum(p) for _, _, p in CENSUS_FORCES], dtype=float)
    met = [i for i, (n, _, _) in enumerate(CENSUS_FORCES) if n == "Metropolitan"][0]
    mps_total = sum(row[-1] for row in MPS_HEADCOUNT)
    rest = 250_000 - mps_total
    others = pops.sum() - pops[met]
    forces = []
    for i, (name, prefix, p) in enumerate(CENSUS_FORCES):
        if i == met:
            forces.append(_met_force(1.0))
            continue
        size = max(600.0, rest * pops[i] / others)
        scale = size / mps_total
        pop_minority = 1 - p[0] / sum(p)
        asian, black, mixed, other = p[2] + p[3], p[1], p[4], p[5]
        tot = asian + black + mixed + other
        n_bcu = int(np.clip(round(size / 2500), 2, 8))
        areas = [Area(f"{prefix}{j + 1:02d}", f"{name} BCU {j + 1}", "BCU", (10, 1, 1, 1), 1.2) for j in range(n_bcu)]
        areas.append(Area(f"{prefix}{n_bcu + 1:02d}", f"{name} Operations", "OCU", (5, 1, 0.1, 0.1), 1.1))
        areas.append(Area(f"{prefix}{n_bcu + 2:02d}", f"{name} Crime and Intelligence", "OCU", (5, 2, 0, 0), 0.9))
        areas.append(Area(f"{prefix}{n_bcu + 3:02d}", f"{name} Headquarters", "HQ", (1, 6, 0, 0), 0.6))
        forces.append(Force(
            name=name,
            areas=tuple(areas),
            headcount=tuple(tuple(h * scale for h in row) for row in MPS_HEADCOUNT),
            minority_stock=(0.31 * pop_minority, 0.6 * pop_minority, 0.7 * pop_minority, 0.7 * pop_minority),
            joiner_minority=(0.30 * pop_minority, 0.62 * pop_minority),
            minority_mix=(asian / tot, black / tot, mixed / tot, other / tot),
            female=(0.29, 0.60, 0.45, 0.32),
            female_joiners=(0.38, 0.60, 0.45, 0.35),
        ))
    return forces


def _forces(profile: str) -> list[Force]:
    if profile == "small":
        return [_met_force(4000 / sum(row[-1] for row in MPS_HEADCOUNT))]
    if profile == "mps":
        return [_met_force(1.0)]
    if profile == "national":
        return _national_forces()
    raise ValueError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}")


# ---------------------------------------------------------------------------------------------
# Small vectorised helpers


def _fy(days: np.ndarray) -> np.ndarray:
    """Financial year (2016 = FY2016/17) of day numbers."""
    d = START + days.astype("timedelta64[D]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month0 = d.astype("datetime64[M]").astype(np.int64) % 12
    return year - (month0 < 3)


def _year(days: np.ndarray) -> np.ndarray:
    return (START + days.astype("timedelta64[D]")).astype("datetime64[Y]").astype(np.int64) + 1970


def _draw(rng: np.random.Generator, probs, n: int) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    return np.minimum(np.searchsorted(np.cumsum(p / p.sum()), rng.random(n), side="right"), len(p) - 1)


def _draw_rows(rng: np.random.Generator, prob_matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One categorical draw per element, from the probability row `rows[i]` of prob_matrix."""
    cdf = np.cumsum(prob_matrix / prob_matrix.sum(axis=1, keepdims=True), axis=1)[rows]
    return np.minimum((rng.random(len(rows))[:, None] >= cdf).sum(axis=1), prob_matrix.shape[1] - 1)


def _service_band(years: np.ndarray) -> np.ndarray:
    return np.searchsorted(SERVICE_BANDS, years, side="right")


def _ramp(fy: np.ndarray, first: int, last: int) -> np.ndarray:
    """0 up to FY `first`, rising linearly to 1 at FY `last`, 1 after."""
    return np.clip((fy - first) / (last - first), 0.0, 1.0)


def _joiner_minority_share(force: Force, fy: np.ndarray) -> np.ndarray:
    a, b = force.joiner_minority
    return a + (b - a) * _ramp(fy, 2016, 2025)


# ---------------------------------------------------------------------------------------------
# One force


@dataclass
class _People:
    wt: np.ndarray
    sex: np.ndarray  # 0 F, 1 M
    group: np.ndarray
    join: np.ndarray
    leave: np.ndarray  # NEVER while in post at the extract date
    reason: np.ndarray  # index into LEAVING, -1 none
    birth: np.ndarray  # birth day number


def _minority_group(rng, force: Force, is_minority: np.ndarray, n_stated_ns: float) -> np.ndarray:
    """Ethnic group: White, or one of the four by the force's mix; then ~3% not stated."""
    n = len(is_minority)
    group = np.where(is_minority, 1 + _draw(rng, force.minority_mix, n), WHITE)
    return np.where(rng.random(n) < n_stated_ns, NS_GROUP, group)


def _headcount_targets(force: Force, wt: int) -> np.ndarray:
    """Target headcount at the end of each month 0..N_MONTHS-1 (piecewise linear)."""
    return np.interp(np.arange(N_MONTHS), [0, 35, 83, N_MONTHS - 1], force.headcount[wt])


def _leave_days(rng, wt: np.ndarray, group: np.ndarray, from_day: np.ndarray, birth: np.ndarray,
                effects: bool, min_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Leave day (competing: a constant hazard or reaching retirement age) and the reason."""
    rate = LEAVE_RATE[wt].copy()
    if effects:
        rate = np.where((wt == OFFICER) & (group >= ASIAN) & (group <= OTHER), rate * LEAVE_MINORITY_FACTOR, rate)
    hazard_day = from_day + np.ceil(rng.exponential(YEAR / rate)).astype(np.int64)
    retire_day = birth + np.floor(RETIREMENT_AGE[wt] * YEAR).astype(np.int64)
    leave = np.maximum(np.minimum(hazard_day, retire_day), from_day + min_days)
    age = (leave - birth) / YEAR
    # other reasons, in LEAVING order: retirement (55+ only), resignation, -, transfer, death, other
    other = np.array([1, 0, 3, 4, 5])[_draw(rng, (0.74, 0.0, 0.16, 0.01, 0.09), len(wt))]
    reason = np.where((leave >= retire_day) | ((age >= 55) & (rng.random(len(wt)) < 0.8)), RETIREMENT, other)
    leave = np.where(leave > END, NEVER, leave)
    reason = np.where(leave == NEVER, -1, reason)
    return leave, reason


def _simulate_people(rng, force: Force, effects: bool) -> _People:
    """The stock on 2016-04-01 plus monthly joiners replacing leavers to follow the headcount path."""
    parts: list[dict[str, np.ndarray]] = []
    service_shape = {OFFICER: (2.0, 6.5), STAFF: (1.8, 5.5), PCSO: (1.5, 3.0), SPECIAL: (1.2, 2.5)}
    join_age = {OFFICER: (21, 2.0, 3.5), STAFF: (18, 2.5, 7.0), PCSO: (18, 2.0, 5.0), SPECIAL: (18, 1.5, 5.0)}
    for wt in range(4):
        targets = _headcount_targets(force, wt)
        n0 = int(round(targets[0]))
        # stock: non-White officers were recruited more recently (shorter service, junior ranks)
        minority = rng.random(n0) < force.minority_stock[wt]
        group = _minority_group(rng, force, minority, 0.03)
        sex = (rng.random(n0) >= force.female[wt]).astype(np.int8)
        k, theta = service_shape[wt]
        service = rng.gamma(k, theta, n0)
        if wt == OFFICER:
            service = np.where(minority, rng.gamma(1.6, 5.0, n0), service)
        lo, ka, th = join_age[wt]
        age_join = np.minimum(lo + rng.gamma(ka, th, n0), 57.0)
        # nobody past retirement age; spread the over-long careers rather than pile them at 59
        too_long = service > 59.0 - age_join
        service = np.where(too_long, (59.0 - age_join) * rng.uniform(0.3, 1.0, n0), np.maximum(service, 0.05))
        join = -np.ceil(service * YEAR).astype(np.int64)
        birth = join - np.floor(age_join * YEAR).astype(np.int64)
        wts = np.full(n0, wt)
        leave, reason = _leave_days(rng, wts, group, np.zeros(n0, dtype=np.int64), birth, effects, 1)
        parts.append(dict(wt=wts, sex=sex, group=group, join=join, leave=leave, reason=reason, birth=birth))
        # joiners month by month: replace leavers and follow the target path
        leavers = np.bincount(_month_of(leave[leave <= END]), minlength=N_MONTHS + 1)
        in_post = n0
        month_start = (np.datetime64("2016-04", "M") + np.arange(N_MONTHS + 1)).astype("datetime64[D]")
        month_day = ((month_start - START) / np.timedelta64(1, "D")).astype(np.int64)
        fy_of_month = _fy(month_day[:-1])
        for m in range(N_MONTHS):
            in_post -= leavers[m]
            need = int(round(targets[m] - in_post))
            if need <= 0:
                continue
            days = month_day[m] + rng.integers(0, month_day[m + 1] - month_day[m], need)
            share = _joiner_minority_share(force, fy_of_month[m:m + 1])[0] if wt == OFFICER else force.minority_stock[wt]
            j_minority = rng.random(need) < share
            j_group = _minority_group(rng, force, j_minority, 0.03)
            j_sex = (rng.random(need) >= force.female_joiners[wt]).astype(np.int8)
            j_age = np.minimum(lo + rng.gamma(ka, th * 0.8, need), 55.0)
            j_birth = days - np.floor(j_age * YEAR).astype(np.int64)
            j_wt = np.full(need, wt)
            j_leave, j_reason = _leave_days(rng, j_wt, j_group, days, j_birth, effects, 30)
            leavers += np.bincount(_month_of(j_leave[j_leave <= END]), minlength=N_MONTHS + 1)
            in_post += need
            parts.append(dict(wt=j_wt, sex=j_sex, group=j_group, join=days, leave=j_leave, reason=j_reason, birth=j_birth))
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return _People(**cat)


def _month_of(days: np.ndarray) -> np.ndarray:
    d = START + days.astype("timedelta64[D]")
    return (d.astype("datetime64[M]") - np.datetime64("2016-04", "M")).astype(np.int64)


def _area_weights(force: Force) -> np.ndarray:
    """(worker type, area) cumulative probabilities of being posted to each area."""
    w = np.array([a.weights for a in force.areas], dtype=float).T + 1e-9
    return np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)


def _pick_area(rng, cdf: np.ndarray, wt: np.ndarray) -> np.ndarray:
    return np.minimum((rng.random(len(wt))[:, None] >= cdf[wt]).sum(axis=1), cdf.shape[1] - 1)


@dataclass
class _Spells:
    person: np.ndarray
    area: np.ndarray
    rank: np.ndarray  # index into RANKS
    start: np.ndarray
    end: np.ndarray  # inclusive; NEVER when open


def _simulate_careers(rng, force: Force, people: _People) -> _Spells:
    """Spells from join to leave: lateral moves and promotions as a thinned Poisson process."""
    n = len(people.wt)
    wt = people.wt
    cdf = _area_weights(force)
    staff_entry = _draw(rng, (0.45, 0.35, 0.20), n)
    level = np.where(wt == STAFF, staff_entry, 0)
    area = _pick_area(rng, cdf, wt)
    last = np.minimum(people.leave, END)
    span = np.maximum(last - people.join, 0)
    k = rng.poisson(CAREER_RATE * span / YEAR)
    ev_p = np.repeat(np.arange(n), k)
    ev_t = people.join[ev_p] + 1 + np.floor(rng.random(len(ev_p)) * np.maximum(span[ev_p], 1)).astype(np.int64)
    ev_t = np.minimum(ev_t, last[ev_p])
    order = np.lexsort((ev_t, ev_p))
    ev_p, ev_t = ev_p[order], ev_t[order]
    first = np.repeat(np.cumsum(k) - k, k)
    ev_k = np.arange(len(ev_p)) - first
    ev_level = np.empty(len(ev_p), dtype=np.int64)
    ev_area = np.empty(len(ev_p), dtype=np.int64)
    accepted = np.zeros(len(ev_p), dtype=bool)
    by_k = np.argsort(ev_k, kind="stable")
    bounds = np.searchsorted(ev_k[by_k], np.arange(int(k.max(initial=0)) + 1))
    init_level, init_area = level.copy(), area.copy()
    for kk in range(len(bounds) - 1):
        sel = by_k[bounds[kk]:bounds[kk + 1]]
        p = ev_p[sel]
        rank = RANK_OFFSET[wt[p]] + level[p]
        eligible = (wt[p] != OFFICER) | (level[p] > 0) | (ev_t[sel] - people.join[p] >= 2 * YEAR)
        promo_rate = PROMO_RATE[rank] * eligible
        u = rng.random(len(sel))
        is_promo = u < promo_rate / CAREER_RATE
        is_move = ~is_promo & (u < (promo_rate + MOVE_RATE) / CAREER_RATE)
        level[p[is_promo]] += 1
        moves = is_move | (is_promo & (rng.random(len(sel)) < 0.6))
        area[p[moves]] = _pick_area(rng, cdf, wt[p[moves]])
        accepted[sel] = is_promo | is_move
        ev_level[sel] = level[p]
        ev_area[sel] = area[p]
    person = np.concatenate([np.arange(n), ev_p[accepted]])
    start = np.concatenate([people.join, ev_t[accepted]])
    lvl = np.concatenate([init_level, ev_level[accepted]])
    ar = np.concatenate([init_area, ev_area[accepted]])
    order = np.lexsort((np.arange(len(person)), start, person))
    person, start, lvl, ar = person[order], start[order], lvl[order], ar[order]
    # two changes on one day: the later state wins
    keep = np.ones(len(person), dtype=bool)
    keep[:-1] = ~((person[1:] == person[:-1]) & (start[1:] == start[:-1]))
    person, start, lvl, ar = person[keep], start[keep], lvl[keep], ar[keep]
    rank = RANK_OFFSET[wt[person]] + lvl
    end = _spell_ends(person, start, people.leave)
    return _Spells(person, ar, rank, start, end)


def _spell_ends(person: np.ndarray, start: np.ndarray, leave: np.ndarray) -> np.ndarray:
    end = np.empty(len(person), dtype=np.int64)
    same = person[1:] == person[:-1]
    end[:-1] = np.where(same, start[1:] - 1, leave[person[:-1]])
    if len(person):
        end[-1] = leave[person[-1]]
    return end


def _exposure(spells: _Spells, people: _People) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spell indices overlapping the extract window, with their clipped first and last day."""
    cs = np.maximum(spells.start, 0)
    ce = np.minimum(spells.end, END)
    idx = np.nonzero(ce >= cs)[0]
    return idx, cs[idx], ce[idx]


def _poisson_events(rng, idx, cs, ce, lam_max: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candidate event days in each clipped spell at rate lam_max per year (to be thinned)."""
    n_ev = rng.poisson(lam_max * (ce - cs + 1) / YEAR)
    ev = np.repeat(np.arange(len(idx)), n_ev)
    day = cs[ev] + np.floor(rng.random(len(ev)) * (ce[ev] - cs[ev] + 1)).astype(np.int64)
    return ev, day


def _misconduct_rr(group: np.ndarray, fy: np.ndarray) -> np.ndarray:
    t = _ramp(fy, 2016, 2022)
    rr = RR_2016 + (RR_2022[group] - RR_2016) * t
    return np.where((group == WHITE) | (group == NS_GROUP), 1.0, rr)


def _simulate_misconduct(rng, force: Force, people: _People, spells: _Spells, effects: bool) -> dict:
    idx, cs, ce = _exposure(spells, people)
    p = spells.person[idx]
    wt, group = people.wt[p], people.group[p]
    area_factor = np.array([a.misconduct_factor for a in force.areas])[spells.area[idx]]
    if effects:
        base = MISCONDUCT_BASE[wt] * MISCONDUCT_RANK_FACTOR[spells.rank[idx]] * area_factor
        lam_max = base * MISCONDUCT_SERVICE_FACTOR.max() * np.where(group == WHITE, 1.0, RR_2016)
    else:
        base = np.full(len(idx), MISCONDUCT_BASE_NO_EFFECTS)
        lam_max = base
    ev, day = _poisson_events(rng, idx, cs, ce, lam_max)
    ep = p[ev]
    if effects:
        service = (day - people.join[ep]) / YEAR
        lam = base[ev] * MISCONDUCT_SERVICE_FACTOR[_service_band(service)] * _misconduct_rr(group[ev], _fy(day))
        keep = rng.random(len(ev)) < lam / lam_max[ev]
        ev, day, ep = ev[keep], day[keep], ep[keep]
    n = len(ev)
    g = people.group[ep]
    p_inv = np.where((g == BLACK) & effects, P_INVESTIGATED * RRI_INVESTIGATED_BLACK, P_INVESTIGATED)
    investigated = rng.random(n) < p_inv
    route = np.where(investigated, _draw(rng, (0.15, 0.20, 0.25, 0.28, 0.12), n), _draw(rng, (0.55, 0.25, 0.20, 0, 0), n))
    severity = np.select(
        [route == 4, route == 3, investigated],
        [2, np.where(rng.random(n) < 0.85, 1, 2), np.where(rng.random(n) < 0.55, 1, 0)],
        np.where(rng.random(n) < 0.85, 0, 1),
    )
    sanction = rng.random(n) < 0.65
    hearing_sanction = np.array([2, 3, 4, 5])[_draw(rng, (0.12, 0.35, 0.08, 0.45), n)]
    meeting_sanction = np.array([2, 3])[_draw(rng, (0.60, 0.40), n)]
    outcome = np.select(
        [route == 0, route <= 2, (route == 4) & sanction, (route == 3) & sanction],
        [0, 1, hearing_sanction, meeting_sanction],
        _draw(rng, (0.5, 0.5), n),
    )
    # a reduction in rank needs a rank to reduce from
    lowest = np.isin(spells.rank[idx][ev], RANK_OFFSET)
    outcome = np.where((outcome == 4) & lowest, 3, outcome)
    median = np.select([route == 4, route == 3, investigated], [420.0, 330.0, 200.0], 45.0)
    total = np.maximum(np.round(median * np.exp(rng.normal(0, 0.5, n))), 2).astype(np.int64)
    route_day = day + np.round(total * np.where(investigated, 0.6, 0.5)).astype(np.int64)
    outcome_day = day + total
    leave = people.leave[ep]
    left_first = leave < outcome_day  # left before the outcome (leave <= END here)
    outcome = np.where(left_first, 6, outcome)
    outcome_day = np.where(left_first, leave, outcome_day)
    route = np.where(left_first & (route_day > leave), -1, route)
    open_ = ~left_first & (outcome_day > END)
    outcome = np.where(open_, -1, outcome)
    outcome_day = np.where(open_, NEVER, outcome_day)
    route = np.where(open_ & (route_day > END), -1, route)
    ftr = rng.random(n) < P_FAILED_TO_REPORT
    ftr_reason = np.where(ftr, _draw(rng, FTR_REASON_SHARES, n), -1)
    source = _draw(rng, (0.35, 0.58, 0.07), n)
    allegation = _draw(rng, (0.22, 0.12, 0.07, 0.16, 0.12, 0.15, 0.06, 0.04, 0.02, 0.04), n)
    allegation = np.where(source == 2, np.where(rng.random(n) < 0.8, 2, allegation), allegation)
    allegation = np.where(ftr & (rng.random(n) < 0.7), 9, allegation)
    return dict(person=ep, area=spells.area[idx][ev], day=day, source=source, allegation=allegation,
                severity=severity, investigated=investigated, route=route, outcome=outcome,
                outcome_day=outcome_day, ftr=ftr, ftr_reason=ftr_reason)


def _apply_dismissals(cases: dict, people: _People, spells: _Spells) -> tuple[dict, _Spells]:
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
    spells = _Spells(*(a[keep_s] for a in (spells.person, spells.area, spells.rank, spells.start, spells.end)))
    spells.end = _spell_ends(spells.person, spells.start, people.leave)
    return cases, spells


def _simulate_grievances(rng, force: Force, people: _People, spells: _Spells, effects: bool) -> dict:
    idx, cs, ce = _exposure(spells, people)
    p = spells.person[idx]
    if effects:
        outlier = np.array([a.code == GRIEVANCE_OUTLIER_AREA for a in force.areas])[spells.area[idx]]
        mult = (GRIEVANCE_SEX_FACTOR[people.sex[p]] * GRIEVANCE_GROUP_FACTOR[people.group[p]]
                * np.where(outlier, GRIEVANCE_OUTLIER_FACTOR, 1.0))
        # reference (White male) rate chosen so the force-wide rate is GRIEVANCE_RATE
        rate = GRIEVANCE_RATE / _GRIEVANCE_MEAN_MULTIPLIER * mult
    else:
        rate = np.full(len(idx), GRIEVANCE_RATE)
    ev, day = _poisson_events(rng, idx, cs, ce, rate)
    ep = p[ev]
    n = len(ev)
    g, sex = people.group[ep], people.sex[ep]
    cat_p = np.tile(np.array([0.30, 0.13, 0.04, 0.07, 0.04, 0.06, 0.02, 0.02, 0.04, 0.02, 0.07, 0.19]), (4, 1))
    if effects:  # who raises what: race claims from minority staff, sex claims from women
        cat_p[1, [2, 4]] = (0.08, 0.10)  # white women
        cat_p[2, 3] = 0.28  # minority men
        cat_p[3, [2, 3, 4]] = (0.07, 0.24, 0.08)  # minority women
        cat_p[0, 3] = cat_p[1, 3] = 0.03
    minority = (g >= ASIAN) & (g <= OTHER)
    category = _draw_rows(rng, cat_p, (minority * 2 + (sex == 0)).astype(np.int64))
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
        [0, _draw(rng, (0.3, 0.6, 0.1, 0.0), n)],
        _draw(rng, (0.0, 0.65, 0.25, 0.10), n),
    )
    median = np.where((g == BLACK) & effects, GRIEVANCE_MEDIAN_DAYS * GRIEVANCE_BLACK_DAYS_FACTOR, GRIEVANCE_MEDIAN_DAYS)
    if not effects:
        median = np.full(n, 70.0)
    days = np.maximum(np.round(median * np.exp(rng.normal(0, 0.8, n))), 1).astype(np.int64)
    outcome_day = day + days
    open_ = outcome_day > END
    outcome = np.where(open_, -1, outcome)
    outcome_day = np.where(open_, NEVER, outcome_day)
    stage = np.where(open_, _draw(rng, (0.25, 0.55, 0.15, 0.05), n), stage)
    fy = _fy(day)
    independent = rng.random(n) < 0.20 + 0.45 * _ramp(fy, 2016, 2023)
    upheld = outcome <= 1
    score_p = np.array([[0.25, 0.30, 0.25, 0.15, 0.05], [0.05, 0.10, 0.20, 0.35, 0.30]])
    score = 1 + _draw_rows(rng, score_p, upheld.astype(np.int64))
    score = np.where(~open_ & (rng.random(n) < 0.40), score, -1)
    return dict(person=ep, area=spells.area[idx][ev], day=day, category=category, stage=stage,
                assessor=np.where(independent, 0, 1), outcome=outcome, outcome_day=outcome_day, score=score)


def _grievance_mean_multiplier() -> float:
    """E[sex x group x area factor] for a Met-like workforce (about 40% women, 16% non-White, NE 1/20)."""
    sex = 0.40 * 1.5 + 0.60 * 1.0
    group = 0.81 + 0.07 * 1.5 + 0.04 * 2.0 + 0.035 * 1.4 + 0.015 * 1.0 + 0.03 * 1.0
    area = 1 + (GRIEVANCE_OUTLIER_FACTOR - 1) / 20
    return sex * group * area


_GRIEVANCE_MEAN_MULTIPLIER = _grievance_mean_multiplier()


def _simulate_acting_up(rng, people: _People, spells: _Spells, effects: bool) -> dict:
    idx, cs, ce = _exposure(spells, people)
    rate = ACTING_RATE[spells.rank[idx]]
    ev, day = _poisson_events(rng, idx, cs, ce, rate)
    ep = spells.person[idx][ev]
    n = len(ev)
    rank = spells.rank[idx][ev]
    g = people.group[ep]
    p_sel = SELECTION_RATE[g] if effects else np.full(n, SELECTION_RATE[WHITE])
    selected = rng.random(n) < p_sel
    duration = np.where(selected, np.clip(np.round(rng.gamma(2.0, 60.0, n)), 14, 730), -1).astype(np.int64)
    officer = people.wt[ep] == OFFICER
    qualified = officer & (rng.random(n) < 0.6)
    rationale = rng.random(n) < 0.60 + 0.35 * _ramp(_fy(day), 2016, 2023)
    return dict(person=ep, area=spells.area[idx][ev], day=day, rank=rank, acting=rank + 1,
                selected=selected, duration=duration, qualified=qualified, rationale=rationale)


def _stage_pass(group: np.ndarray, effects: bool) -> np.ndarray:
    """Pass rate at each of the six stages after applying, per applicant (n x 6)."""
    rates = np.tile(PASS_RATES, (len(group), 1))
    if effects:
        rates[:, 1] *= np.where(group == BLACK, ASSESSMENT_BLACK_FACTOR, 1.0)
        rates[:, 2] *= np.where(group == ASIAN, VETTING_ASIAN_FACTOR, 1.0)
    return rates


def _simulate_applications(rng, force: Force, people: _People, effects: bool) -> dict:
    """Every officer joiner applied; around each joiner, the applicants who stopped earlier."""
    joiner = np.nonzero((people.wt == OFFICER) & (people.join >= 0))[0]
    j_day = people.join[joiner]
    # applications still in the pipeline at the extract date: joiners-to-be after END
    recent = (j_day > END - 365).sum()
    n_future = rng.poisson(recent * 320 / 365)
    f_day = END + 1 + rng.integers(0, 320, n_future)
    f_fy = _fy(np.full(n_future, END))
    f_minority = rng.random(n_future) < _joiner_minority_share(force, f_fy)
    f_group = _minority_group(rng, force, f_minority, 0.03)
    f_sex = (rng.random(n_future) >= force.female_joiners[OFFICER]).astype(np.int8)
    base_join = np.concatenate([j_day, f_day])
    base_group = np.concatenate([people.group[joiner], f_group])
    base_sex = np.concatenate([people.sex[joiner], f_sex])
    base_person = np.concatenate([joiner, np.full(n_future, -1)])
    lag = rng.integers(190, 321, len(base_join))
    applied = base_join - lag
    early = applied < 0  # joined in the first months: the application falls inside the window
    applied = np.where(early, np.floor(rng.random(len(base_join)) * (base_join + 1)).astype(np.int64), applied)
    # companions: P(join) per group; expected companions 1/P - 1, each stopping short of JOINED
    rates = _stage_pass(base_group, effects)
    reach = np.cumprod(rates, axis=1)  # P(reach stage s), s = SIFT..JOINED
    p_join = reach[:, -1]
    n_comp = rng.poisson(1 / p_join - 1)
    c_of = np.repeat(np.arange(len(base_join)), n_comp)
    reach_all = np.hstack([np.ones((len(base_join), 1)), reach])  # APPLIED..JOINED
    stop_p = (reach_all[:, :-1] - reach_all[:, 1:]) / (1 - p_join)[:, None]  # furthest = APPLIED..OFFER
    c_stage = _draw_rows(rng, stop_p, c_of)
    c_applied = np.clip(applied[c_of] + rng.integers(-20, 21, len(c_of)), 0, END)
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
    n = len(app_day)
    fy = _fy(app_day)
    route_p = np.array([[0.25, 0.12, 0.03, 0.60], [0.45, 0.33, 0.10, 0.12], [0.45, 0.25, 0.05, 0.25]])
    route = _draw_rows(rng, route_p, np.select([fy <= 2019, fy <= 2023], [0, 1], 2))
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
    outreach_bcu = np.where(heard, bcu[_draw(rng, bcu_w, n)], -1)
    ethnicity = _ethnicity_codes(rng, group)
    # joiners keep the ethnicity code they applied with
    joined = person >= 0
    return dict(day=app_day, route=route, sex=sex, ethnicity=ethnicity, heard=heard, spoke_only=spoke_only,
                outreach_bcu=outreach_bcu, stage=stage, person=person, joined_ethnicity=ethnicity[joined],
                joined_person=person[joined])


def _ethnicity_codes(rng, group: np.ndarray) -> np.ndarray:
    offsets = np.cumsum([0] + [len(c) for c, _ in ETHNICITY_BY_GROUP])
    probs = np.zeros((len(GROUPS), len(ETHNICITY_CODES)))
    for g, (codes, p) in enumerate(ETHNICITY_BY_GROUP):
        probs[g, offsets[g]:offsets[g] + len(codes)] = p
    return _draw_rows(rng, probs, group)


def _characteristics(rng, people: _People, ethnicity: np.ndarray) -> dict[str, np.ndarray]:
    """The other protected characteristics, with realistic 'not stated' shares."""
    n = len(people.wt)
    g = people.group
    disabled = np.array([0.045, 0.09, 0.06, 0.05])[people.wt]
    disability = np.where(rng.random(n) < 0.12, 2, np.where(rng.random(n) < disabled / 0.88, 0, 1))
    gender_re = np.where(rng.random(n) < 0.25, 2, np.where(rng.random(n) < 0.004, 0, 1))
    marital = _draw(rng, (0.36, 0.44, 0.015, 0.09, 0.015, 0.08), n)
    young = _year(people.birth) >= 1978
    preg = np.where(rng.random(n) < 0.10, 2, np.where((people.sex == 0) & young & (rng.random(n) < 0.13), 0, 1))
    religion_p = np.array([
        # CHRISTIAN MUSLIM HINDU SIKH JEWISH BUDDHIST OTHER NONE
        [0.50, 0.01, 0.0, 0.0, 0.015, 0.005, 0.02, 0.45],
        [0.08, 0.40, 0.25, 0.12, 0.0, 0.03, 0.02, 0.10],
        [0.70, 0.15, 0.0, 0.0, 0.0, 0.0, 0.02, 0.13],
        [0.40, 0.08, 0.0, 0.0, 0.0, 0.03, 0.04, 0.45],
        [0.25, 0.45, 0.0, 0.0, 0.0, 0.05, 0.05, 0.20],
        [0.40, 0.05, 0.02, 0.01, 0.01, 0.01, 0.03, 0.47],
    ])
    religion = np.where(rng.random(n) < 0.18, 8, _draw_rows(rng, religion_p, g))
    orientation = _draw(rng, (0.72, 0.035, 0.02, 0.005, 0.22), n)
    return dict(disability=disability, gender_re=gender_re, marital=marital, preg=preg,
                religion=religion, orientation=orientation, ethnicity=ethnicity)


def _simulate_force(rng, force: Force, effects: bool) -> dict:
    people = _simulate_people(rng, force, effects)
    spells = _simulate_careers(rng, force, people)
    cases = _simulate_misconduct(rng, force, people, spells, effects)
    cases, spells = _apply_dismissals(cases, people, spells)
    grievances = _simulate_grievances(rng, force, people, spells, effects)
    acting = _simulate_acting_up(rng, people, spells, effects)
    apps = _simulate_applications(rng, force, people, effects)
    ethnicity = _ethnicity_codes(rng, people.group)
    ethnicity[apps["joined_person"]] = apps["joined_ethnicity"]
    chars = _characteristics(rng, people, ethnicity)
    # the grievance SPOC: someone in post in the area at the extract date, sergeant/band C or above
    current = (spells.end == NEVER) & ((spells.rank == 1) | (spells.rank == 9))
    spoc = np.full(len(force.areas), -1)
    for a in range(len(force.areas)):
        cand = spells.person[current & (spells.area == a)]
        if len(cand):
            spoc[a] = cand[rng.integers(0, len(cand))]
    return dict(people=people, chars=chars, spells=spells, cases=cases, grievances=grievances,
                acting=acting, apps=apps, spoc=spoc)


# ---------------------------------------------------------------------------------------------
# Frames


def _codes(values: np.ndarray, codes: tuple[str, ...], name: str) -> pl.Series:
    """Code strings from indices; a negative index is blank."""
    lookup = pl.Series(name, list(codes), dtype=pl.String)
    vals = np.asarray(values, dtype=np.int64)
    s = lookup.gather(np.where(vals < 0, 0, vals)).alias(name)
    return s.set(pl.Series(vals < 0), None) if (vals < 0).any() else s


def _dates(values: np.ndarray, name: str) -> pl.Series:
    vals = np.asarray(values, dtype=np.int64)
    blank = vals >= NEVER
    s = pl.Series(name, np.where(blank, 0, vals) + EPOCH, dtype=pl.Int32).cast(pl.Date)
    return s.set(pl.Series(blank), None) if blank.any() else s


def _ints(values: np.ndarray, name: str) -> pl.Series:
    vals = np.asarray(values, dtype=np.int64)
    s = pl.Series(name, vals, dtype=pl.Int64)
    return s.set(pl.Series(vals < 0), None) if (vals < 0).any() else s


def _ids(prefix: str, numbers: np.ndarray, width: int, name: str) -> pl.Series:
    return pl.select(
        pl.format(f"{prefix}{{}}", pl.lit(pl.Series(numbers, dtype=pl.Int64)).cast(pl.String).str.zfill(width))
    ).to_series().alias(name)


def _flag(values: np.ndarray, name: str) -> pl.Series:
    return _codes(np.where(np.asarray(values, dtype=bool), 0, 1), YES_NO, name)


def _numbered(df: pl.DataFrame, sort_by: list[str], id_col: str, prefix: str, width: int) -> pl.DataFrame:
    """Sort rows deterministically and number them 1..n in that order."""
    df = df.sort(sort_by, maintain_order=True)
    ids = _ids(prefix, np.arange(1, df.height + 1), width, id_col)
    return df.with_columns(ids).select([id_col, *[c for c in df.columns if c != id_col]])


def _build_frames(sims: list[dict], forces: list[Force], rng: np.random.Generator) -> dict[str, pl.DataFrame]:
    # global person and area indices
    n_people = [len(s["people"].wt) for s in sims]
    p_off = np.cumsum([0] + n_people)
    a_off = np.cumsum([0] + [len(f.areas) for f in forces])
    total = int(p_off[-1])
    # pseudonymised ids: a random sample of 7-digit numbers, so ids carry no order
    numbers = rng.choice(10_000_000, size=total, replace=False)
    pid = _ids("P", numbers, 7, "person_id")
    area_codes = [a.code for f in forces for a in f.areas]

    def cat(key: str, sub: str, offset=None) -> np.ndarray:
        parts = []
        for i, s in enumerate(sims):
            v = s[key][sub] if isinstance(s[key], dict) else getattr(s[key], sub)
            if offset == "person":
                v = np.where(v >= 0, v + p_off[i], -1)
            elif offset == "area":
                v = np.where(v >= 0, v + a_off[i], -1)
            parts.append(v)
        return np.concatenate(parts)

    def person_ids(idx: np.ndarray) -> pl.Series:
        idx = np.asarray(idx, dtype=np.int64)
        s = pid.gather(np.where(idx < 0, 0, idx))
        return s.set(pl.Series(idx < 0), None) if (idx < 0).any() else s

    def area_col(idx: np.ndarray, name: str = "business_area_code") -> pl.Series:
        return _codes(idx, tuple(area_codes), name)

    frames: dict[str, pl.DataFrame] = {}
    spoc = np.concatenate([np.where(s["spoc"] >= 0, s["spoc"] + p_off[i], -1) for i, s in enumerate(sims)])
    frames["business_areas"] = pl.DataFrame([
        pl.Series("business_area_code", area_codes, dtype=pl.String),
        pl.Series("business_area_name", [a.name for f in forces for a in f.areas], dtype=pl.String),
        pl.Series("area_type", [a.area_type for f in forces for a in f.areas], dtype=pl.String),
        person_ids(spoc).alias("spoc_person_id"),
        pl.Series("force_name", [f.name for f in forces for _ in f.areas], dtype=pl.String),
    ]).sort("business_area_code")

    people = pl.DataFrame([
        pid,
        _codes(cat("people", "wt"), WORKER_TYPES, "worker_type"),
        _codes(cat("people", "sex"), SEXES, "sex"),
        _ints(_year(cat("people", "birth")), "birth_year"),
        _codes(cat("chars", "ethnicity"), ETHNICITY_CODES, "ethnicity_code"),
        _codes(cat("chars", "disability"), YES_NO_NS, "disability"),
        _codes(cat("chars", "gender_re"), YES_NO_NS, "gender_reassignment"),
        _codes(cat("chars", "marital"), MARITAL, "marital_status"),
        _codes(cat("chars", "preg"), YES_NO_NS, "pregnancy_maternity"),
        _codes(cat("chars", "religion"), RELIGIONS, "religion"),
        _codes(cat("chars", "orientation"), ORIENTATIONS, "sexual_orientation"),
        _dates(cat("people", "join"), "join_date"),
        _dates(cat("people", "leave"), "leave_date"),
        _codes(cat("people", "reason"), LEAVING, "leaving_reason"),
    ])
    frames["people"] = people.sort("person_id")

    postings = pl.DataFrame([
        person_ids(cat("spells", "person", "person")),
        area_col(cat("spells", "area", "area")),
        _codes(cat("spells", "rank"), RANKS, "rank_grade"),
        _dates(cat("spells", "start"), "start_date"),
        _dates(cat("spells", "end"), "end_date"),
    ])
    frames["postings"] = _numbered(postings, ["person_id", "start_date"], "posting_id", "S", 8)

    grievances = pl.DataFrame([
        person_ids(cat("grievances", "person", "person")),
        area_col(cat("grievances", "area", "area")),
        _dates(cat("grievances", "day"), "raised_date"),
        _codes(cat("grievances", "category"), GRIEVANCE_CATEGORIES, "category"),
        _codes(cat("grievances", "stage"), GRIEVANCE_STAGES, "stage"),
        _codes(cat("grievances", "assessor"), ASSESSORS, "assessor_type"),
        _codes(cat("grievances", "outcome"), GRIEVANCE_OUTCOMES, "outcome"),
        _dates(cat("grievances", "outcome_day"), "outcome_date"),
        _ints(cat("grievances", "score"), "satisfaction_score"),
    ])
    frames["grievances"] = _numbered(grievances, ["raised_date", "person_id", "category"], "grievance_id", "G", 7)

    cases = pl.DataFrame([
        person_ids(cat("cases", "person", "person")),
        area_col(cat("cases", "area", "area")),
        _dates(cat("cases", "day"), "referral_date"),
        _codes(cat("cases", "source"), SOURCES, "source"),
        _codes(cat("cases", "allegation"), ALLEGATIONS, "allegation_type"),
        _codes(cat("cases", "severity"), SEVERITIES, "severity"),
        _flag(cat("cases", "investigated"), "is_investigated"),
        _codes(cat("cases", "route"), ROUTES, "route"),
        _codes(cat("cases", "outcome"), MISCONDUCT_OUTCOMES, "outcome"),
        _dates(cat("cases", "outcome_day"), "outcome_date"),
        _flag(cat("cases", "ftr"), "failed_to_report"),
        _codes(cat("cases", "ftr_reason"), FTR_REASONS, "failed_to_report_reason"),
    ])
    frames["misconduct_cases"] = _numbered(cases, ["referral_date", "person_id", "allegation_type"], "case_id", "C", 7)

    apps = pl.DataFrame([
        _dates(cat("apps", "day"), "applied_date"),
        _codes(cat("apps", "route"), ENTRY_ROUTES, "entry_route"),
        _codes(cat("apps", "sex"), SEXES, "sex"),
        _codes(cat("apps", "ethnicity"), ETHNICITY_CODES, "ethnicity_code"),
        _flag(cat("apps", "heard"), "heard_via_outreach"),
        _flag(cat("apps", "spoke_only"), "spoke_only_to_outreach"),
        area_col(cat("apps", "outreach_bcu", "area"), "outreach_bcu_code"),
        _codes(cat("apps", "stage"), STAGES, "furthest_stage"),
        person_ids(cat("apps", "person", "person")).alias("person_id"),
    ])
    # a hidden random key breaks ties between otherwise identical applications, reproducibly
    apps = apps.with_columns(pl.Series("_key", rng.permutation(apps.height)))
    apps = _numbered(apps, ["applied_date", "_key"], "application_id", "R", 8).drop("_key")
    frames["applications"] = apps

    acting = pl.DataFrame([
        person_ids(cat("acting", "person", "person")),
        area_col(cat("acting", "area", "area")),
        _dates(cat("acting", "day"), "decision_date"),
        _codes(cat("acting", "rank"), RANKS, "substantive_rank"),
        _codes(cat("acting", "acting"), RANKS, "acting_rank"),
        _codes(np.where(cat("acting", "selected"), 0, 1), ACTING_OUTCOMES, "outcome"),
        _ints(cat("acting", "duration"), "duration_days"),
        _flag(cat("acting", "qualified"), "is_qualified"),
        _flag(cat("acting", "rationale"), "has_rationale"),
    ])
    frames["acting_up"] = _numbered(acting, ["decision_date", "person_id", "substantive_rank"], "decision_id", "D", 7)
    return frames


# ---------------------------------------------------------------------------------------------
# STRIDE, IOPC actions and targets (force-level, the same shape in every profile)


def _board_dates(first: str, every_days: int = 42) -> np.ndarray:
    d0 = int((np.datetime64(first, "D") - START) / np.timedelta64(1, "D"))
    return np.arange(d0, END + 1, every_days)


def _progress_rows(rng, dates: np.ndarray, n_milestones: int, finish: int, lag_plan: np.ndarray) -> dict:
    """Percent complete and milestones at each board: planned finish board, lag in milestones met."""
    n = len(dates)
    t = np.arange(n)
    start_pct = int(rng.integers(3, 15))
    due = np.minimum(n_milestones, np.ceil(n_milestones * (t + 1) / (finish + 1))).astype(np.int64)
    met = np.maximum.accumulate(np.maximum(due - lag_plan, 0))
    met = np.minimum(met, due)
    pct = np.round(start_pct + (100 - start_pct) * met / n_milestones).astype(np.int64)
    pct = np.maximum.accumulate(np.minimum(pct, 100))
    gap = due - met
    rag = np.select([(pct == 100) & (gap == 0), gap >= 2, gap == 1], [3, 0, 1], 2)
    return dict(due=due, met=met, pct=pct, rag=rag)


RAG = ("R", "A", "G", "C")
NARRATIVE = {
    0: "Behind plan: {gap} milestones overdue; recovery plan requested by the Management Board.",
    1: "Slightly behind plan: 1 milestone overdue, expected to be recovered by the next board.",
    2: "On track: {met} of {due} milestones met.",
    3: "Complete: all {due} milestones met; moved to business as usual.",
}


def _narratives(rag, gap, met, due) -> list[str]:
    return [NARRATIVE[int(r)].format(gap=int(g), met=int(m), due=int(d)) for r, g, m, d in zip(rag, gap, met, due, strict=True)]


def _stride_updates(rng, effects: bool) -> pl.DataFrame:
    dates = _board_dates("2021-01-12")
    n = len(dates)
    in_2024 = dates >= int((np.datetime64("2024-01-01") - START) / np.timedelta64(1, "D"))
    rows = []
    for cid, _, _ in STRIDE_COMMITMENTS:
        n_ms = int(rng.integers(8, 15))
        finish = int(rng.integers(n - 20, n + 15))
        lag = (rng.random(n) < 0.12).astype(np.int64)  # an occasional milestone a board late
        if effects and cid == 11:
            # stalled from 2024: milestones keep falling due, few are met
            # (milestones fall due faster than the lag grows, so the gap is the lag: Red)
            lag = np.where(in_2024, 2 + np.minimum(np.cumsum(in_2024) // 8, 3), lag)
            n_ms, finish = 20, n
        elif effects and cid == 9:
            lag = np.ones(n, dtype=np.int64)
            finish = n + 10
        r = _progress_rows(rng, dates, n_ms, finish, lag)
        rows.append(pl.DataFrame({
            "commitment_id": np.full(n, cid, dtype=np.int64),
            "board_date": _dates(dates, "board_date"),
            "rag_status": [RAG[i] for i in r["rag"]],
            "percent_complete": r["pct"],
            "milestones_due": r["due"],
            "milestones_met": r["met"],
            "senior_lead": [STRIDE_LEADS[cid]] * n,
            "narrative": _narratives(r["rag"], r["due"] - r["met"], r["met"], r["due"]),
        }))
    return pl.concat(rows).sort(["commitment_id", "board_date"])


# IOPC actions planted as overdue (effects=True): recommendation, action number, from board index
OVERDUE_ACTIONS = {(2, 2): 10, (3, 2): 20, (11, 1): 15, (15, 3): 25, (13, 1): 30}


def _iopc_actions(rng, effects: bool) -> pl.DataFrame:
    dates = _board_dates("2022-03-01")
    n = len(dates)
    t = np.arange(n)
    rows = []
    for rec, (lead, actions) in IOPC_ACTIONS.items():
        for a, text in enumerate(actions, start=1):
            n_ms = int(rng.integers(3, 8))
            finish = int(rng.integers(8, n + 5))
            lag = (rng.random(n) < 0.08).astype(np.int64)
            if effects and (rec, a) in OVERDUE_ACTIONS:
                stall = t >= OVERDUE_ACTIONS[(rec, a)]
                lag = np.where(stall, 1 + (t - OVERDUE_ACTIONS[(rec, a)]) // 6, lag)
                finish = max(finish, n + 5)
            r = _progress_rows(rng, dates, n_ms, finish, lag)
            rows.append(pl.DataFrame({
                "action_id": [f"R{rec:02d}-{a:02d}"] * n,
                "recommendation_id": np.full(n, rec, dtype=np.int64),
                "board_date": _dates(dates, "board_date"),
                "rag_status": [RAG[i] for i in r["rag"]],
                "percent_complete": r["pct"],
                "milestones_due": r["due"],
                "milestones_met": r["met"],
                "senior_lead": [lead] * n,
                "action": [text] * n,
                "narrative": _narratives(r["rag"], r["due"] - r["met"], r["met"], r["due"]),
            }))
    return pl.concat(rows).sort(["action_id", "board_date"])


def _targets() -> pl.DataFrame:
    src_rep = ("MPS published commitment (response to the IOPC Operation Hotton recommendations and STRIDE): "
               "16% of officers from Black, Asian and Multiple Ethnic Heritage backgrounds by 2022, 28% by 2030")
    src_rec = ("MPS published commitment: about 40% of officer recruits from Black, Asian and Multiple Ethnic "
               "Heritage backgrounds each year to reach 28% of officers by 2030")
    return pl.DataFrame({
        "measure": ["OFFICER_REPRESENTATION", "OFFICER_REPRESENTATION", "RECRUIT_SHARE", "RECRUIT_SHARE"],
        "target_group": ["BLACK_ASIAN_MIXED_OTHER"] * 4,
        "target_date": pl.Series(["2022-03-31", "2030-03-31", "2020-04-01", "2030-03-31"]).str.to_date(),
        "target_share": [0.16, 0.28, 0.40, 0.40],
        "source": [src_rep, src_rep, src_rec, src_rec],
    })


# ---------------------------------------------------------------------------------------------
# Public API


# ---------------------------------------------------------------------------------------------
# Teams and recruit line managers on postings (supervision ratios, IOPC recommendations 13-14)

TEAM_SIZE = 20  # constables per response team, roughly (two sergeants each in the IOPC report)
HIGH_DEMAND_TEAMS = ("NTE01", "NIGHTS01")  # night-time economy and permanent nights, in every BCU
SUPERVISION_AREA = "AW"  # Central West (Charing Cross is in Westminster): the planted area
RECRUIT_WEEKS = 20
RECRUITS_PER_MANAGER = 20  # a line manager per 20 recruits of each join month
SURGE_FY = 2022  # FY2022/23 joiners share one line manager per 1,000 (at least one): planted
SURGE_RECRUITS_PER_MANAGER = 1000
SPREAD = np.linspace(0, 1, 8)  # the days of a posting a sergeant's or inspector's team is judged on


def _assign_teams(postings: pl.DataFrame, people: pl.DataFrame, areas: pl.DataFrame, seed: int,
                  effects: bool) -> pl.DataFrame:
    """Add team_code, team_type and line_manager_id to the postings (sample_data/README.md,
    "Supervision"). Constables, sergeants and inspectors in BCUs are on teams: RESPnn response teams
    of about TEAM_SIZE constables plus one night-time economy and one permanent-nights team per
    BCU. Constables join a team at random; each sergeant and inspector joins the team with the
    most constables per officer of their rank over their posting, so every team keeps its share.
    A recruit's first posting names a sergeant of the same force in post when they join as their
    line manager. With effects, Central West's
    night-time economy team gets no sergeant, its inspectors keep only 5% of their team roles, and FY2022/23 recruits share SURGE_RECRUITS_PER_MANAGER per manager.
    Drawn from their own seed, so every other extract is unchanged."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 5]))
    frame = postings.join(areas.select("business_area_code", "area_type", "force_name"), on="business_area_code",
                          how="left", maintain_order="left")
    n = frame.height
    team = np.full(n, None, dtype=object)
    bcu = frame["area_type"].to_numpy() == "BCU"
    rank = frame["rank_grade"].to_numpy()
    area = frame["business_area_code"].to_numpy()
    start = frame["start_date"].to_physical().to_numpy()
    end = frame["end_date"].to_physical().fill_null(NEVER).to_numpy()
    posting_ids = frame["posting_id"].to_numpy()
    in_bcu = np.flatnonzero(bcu)
    by_area = in_bcu[np.argsort(area[in_bcu], kind="stable")]
    codes, first = np.unique(area[by_area], return_index=True)
    for code, rows in zip(codes, np.split(by_area, first[1:]), strict=True):
        open_pcs = int(((rank[rows] == "PC") & (end[rows] >= NEVER)).sum())
        teams = [f"RESP{k:02d}" for k in range(1, max(1, round(open_pcs / TEAM_SIZE) - 2) + 1)]
        teams = [f"{code}-{t}" for t in (*teams, *HIGH_DEMAND_TEAMS)]
        pcs = rows[rank[rows] == "PC"]
        drawn = rng.integers(len(teams), size=len(pcs))
        team[pcs] = np.array(teams, dtype=object)[drawn]
        pc_team = np.array([teams.index(t) for t in team[pcs]], dtype=np.int64)
        first_day, last_day = EPOCH, EPOCH + END
        for r in ("PS", "INSP"):
            # in start order, each to the team with the most constables per officer of the rank
            # over the days of the posting inside the window (8 days spread across it)
            ranked = rows[rank[rows] == r]
            ranked = ranked[np.lexsort((posting_ids[ranked], start[ranked]))]  # in start order
            held_start, held_end = start[ranked], end[ranked]
            held_team = np.zeros(len(ranked), dtype=np.int64)
            # constables on each team on each day of the window: starts up to it minus ends before it
            window = np.arange(first_day, last_day + 1)
            on_team = np.array([np.searchsorted(np.sort(start[pcs][pc_team == t]), window, "right")
                                - np.searchsorted(np.sort(end[pcs][pc_team == t]), window, "left")
                                for t in range(len(teams))])  # teams x days
            for j, i in enumerate(ranked):
                if end[i] < first_day:  # over before the window: no month counts it
                    held_team[j] = j % len(teams)
                    team[i] = teams[held_team[j]]
                    continue
                lo = max(start[i], first_day)
                days = (lo + (max(min(end[i], last_day), first_day) - lo) * SPREAD).astype(np.int64)
                held_rows, held_days = np.nonzero((held_start[:j, None] <= days) & (held_end[:j, None] >= days))
                held = np.bincount(held_team[held_rows] * len(days) + held_days,
                                   minlength=len(teams) * len(days)).reshape(len(teams), len(days))
                score = ((on_team[:, days - first_day] + 1) / (held + 1)).sum(axis=1)
                if r == "PS" and effects and code == SUPERVISION_AREA:
                    score[teams.index(f"{code}-NTE01")] = -np.inf  # planted: no sergeant of its own
                k = int(np.argmax(score))
                held_team[j] = k
                team[i] = teams[k]
        if effects and code == SUPERVISION_AREA:
            insp = rows[rank[rows] == "INSP"]
            team[insp[rng.random(len(insp)) >= 0.05]] = None
    # recruits: a constable's first posting, starting on their join date inside the window
    joined = frame.join(people.select("person_id", "join_date"), on="person_id", how="left", maintain_order="left")
    recruit = ((rank == "PC") & (joined["start_date"] == joined["join_date"]).fill_null(False).to_numpy()
               & (start >= EPOCH))
    manager = np.full(n, None, dtype=object)
    person = frame["person_id"].to_numpy()
    force = frame["force_name"].to_numpy()
    fy = _fy(start - EPOCH)
    month = _month_of(start - EPOCH)
    for f in sorted(set(force[recruit])):
        sergeants = np.flatnonzero((rank == "PS") & (force == f))
        cohorts: dict[tuple, list[int]] = {}
        for i in np.flatnonzero(recruit & (force == f)):
            key = ("surge", SURGE_FY) if effects and fy[i] == SURGE_FY else ("month", int(month[i]))
            cohorts.setdefault(key, []).append(int(i))
        for key, members in sorted(cohorts.items()):
            members = sorted(members, key=lambda i: (start[i], person[i]))
            first_day = start[members[0]]
            available = sergeants[(start[sergeants] <= first_day) & (end[sergeants] >= first_day)]
            if not len(available):
                continue
            per = SURGE_RECRUITS_PER_MANAGER if key[0] == "surge" else RECRUITS_PER_MANAGER
            k = min(len(available), max(1, -(-len(members) // per)))
            chosen = person[np.sort(rng.choice(available, size=k, replace=False))]
            for j, i in enumerate(members):
                manager[i] = chosen[j % k]
    team_type = [None if t is None else t.split("-", 1)[1].rstrip("0123456789") for t in team]
    return postings.with_columns(
        pl.Series("team_code", team.tolist(), dtype=pl.String),
        pl.Series("team_type", [None if t is None else {"RESP": "RESPONSE"}.get(t, t) for t in team_type],
                  dtype=pl.String),
        pl.Series("line_manager_id", manager.tolist(), dtype=pl.String),
    )


def generate(profile: str, seed: int, out_dir: Path, *, effects: bool = True,
             progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Write `<extract>.csv` for all ten extracts and manifest.json to out_dir; return the manifest.

    profile: "small" (~4,000 in post), "mps" (~46,000, Met-like) or "national" (43 forces, ~250,000).
    effects=False treats every group alike (see sample_data/README.md) while keeping the realistic
    composition of the workforce.
    """
    forces = _forces(profile)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    total_steps = len(EXTRACTS) + 1
    if progress:
        progress("simulating the workforce", 0, total_steps)
    sims = []
    for i, force in enumerate(forces):
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1, i]))
        sims.append(_simulate_force(rng, force, effects))
    frames = _build_frames(sims, forces, np.random.default_rng(np.random.SeedSequence([seed, 2])))
    frames["stride_updates"] = _stride_updates(np.random.default_rng(np.random.SeedSequence([seed, 3])), effects)
    frames["iopc_actions"] = _iopc_actions(np.random.default_rng(np.random.SeedSequence([seed, 4])), effects)
    frames["targets"] = _targets()
    frames["postings"] = _assign_teams(frames["postings"], frames["people"], frames["business_areas"], seed, effects)
    if progress:
        progress("simulating the workforce", 1, total_steps)
    rows: dict[str, int] = {}
    sha: dict[str, str] = {}
    for step, extract in enumerate(EXTRACTS, start=2):
        path = out_dir / f"{extract}.csv"
        frames[extract].write_csv(path, float_precision=2, line_terminator="\n", date_format="%Y-%m-%d")
        rows[extract] = frames[extract].height
        sha[extract] = hashlib.sha256(path.read_bytes()).hexdigest()
        if progress:
            progress(extract, step, total_steps)
    manifest = {
        "profile": profile,
        "seed": seed,
        "effects": effects,
        "period_start": str(START),
        "extract_date": str(EXTRACT_DATE),
        "forces": len(forces),
        "rows": rows,
        "sha256": sha,
        "generator_version": GENERATOR_VERSION,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest
