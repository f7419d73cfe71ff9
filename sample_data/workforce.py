"""Who works for a force: the people (stock and joiners, with their leave dates), their ethnicity
codes and their other protected characteristics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sample_data.codes import (
    ASIAN,
    ETHNICITY_BY_GROUP,
    ETHNICITY_CODES,
    GROUPS,
    NS_GROUP,
    OFFICER,
    OTHER,
    PCSO,
    RETIREMENT,
    SPECIAL,
    STAFF,
    WHITE,
)
from sample_data.draws import draw, draw_rows
from sample_data.effects import LEAVE_MINORITY_FACTOR, LEAVE_RATE, RETIREMENT_AGE
from sample_data.profiles import Force, joiner_minority_share
from sample_data.timeline import END, N_MONTHS, NEVER, START, YEAR, calendar_year, financial_year, month_of


@dataclass
class People:
    wt: np.ndarray
    sex: np.ndarray  # 0 F, 1 M
    group: np.ndarray
    join: np.ndarray
    leave: np.ndarray  # NEVER while in post at the extract date
    reason: np.ndarray  # index into LEAVING, -1 none
    birth: np.ndarray  # birth day number


def minority_group(rng, force: Force, is_minority: np.ndarray, n_stated_ns: float) -> np.ndarray:
    """Ethnic group: White, or one of the four by the force's mix; then ~3% not stated."""
    n = len(is_minority)
    group = np.where(is_minority, 1 + draw(rng, force.minority_mix, n), WHITE)
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
    other = np.array([1, 0, 3, 4, 5])[draw(rng, (0.74, 0.0, 0.16, 0.01, 0.09), len(wt))]
    reason = np.where((leave >= retire_day) | ((age >= 55) & (rng.random(len(wt)) < 0.8)), RETIREMENT, other)
    leave = np.where(leave > END, NEVER, leave)
    reason = np.where(leave == NEVER, -1, reason)
    return leave, reason


SERVICE_SHAPE = {OFFICER: (2.0, 6.5), STAFF: (1.8, 5.5), PCSO: (1.5, 3.0), SPECIAL: (1.2, 2.5)}
JOIN_AGE = {OFFICER: (21, 2.0, 3.5), STAFF: (18, 2.5, 7.0), PCSO: (18, 2.0, 5.0), SPECIAL: (18, 1.5, 5.0)}


def simulate_people(rng, force: Force, effects: bool) -> People:
    """The stock on 2016-04-01 plus monthly joiners replacing leavers to follow the headcount path."""
    parts: list[dict[str, np.ndarray]] = []
    for wt in range(4):
        targets = _headcount_targets(force, wt)
        stock = _stock(rng, force, wt, int(round(targets[0])), effects)
        parts.append(stock)
        parts.extend(_joiners(rng, force, wt, targets, stock["leave"], effects))
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return People(**cat)


def _stock(rng, force: Force, wt: int, n0: int, effects: bool) -> dict[str, np.ndarray]:
    """Those in post on 2016-04-01: non-White officers were recruited more recently (shorter
    service, junior ranks)."""
    minority = rng.random(n0) < force.minority_stock[wt]
    group = minority_group(rng, force, minority, 0.03)
    sex = (rng.random(n0) >= force.female[wt]).astype(np.int8)
    k, theta = SERVICE_SHAPE[wt]
    service = rng.gamma(k, theta, n0)
    if wt == OFFICER:
        service = np.where(minority, rng.gamma(1.6, 5.0, n0), service)
    lo, ka, th = JOIN_AGE[wt]
    age_join = np.minimum(lo + rng.gamma(ka, th, n0), 57.0)
    # nobody past retirement age; spread the over-long careers rather than pile them at 59
    too_long = service > 59.0 - age_join
    service = np.where(too_long, (59.0 - age_join) * rng.uniform(0.3, 1.0, n0), np.maximum(service, 0.05))
    join = -np.ceil(service * YEAR).astype(np.int64)
    birth = join - np.floor(age_join * YEAR).astype(np.int64)
    wts = np.full(n0, wt)
    leave, reason = _leave_days(rng, wts, group, np.zeros(n0, dtype=np.int64), birth, effects, 1)
    return dict(wt=wts, sex=sex, group=group, join=join, leave=leave, reason=reason, birth=birth)


def _joiners(rng, force: Force, wt: int, targets: np.ndarray, stock_leave: np.ndarray,
             effects: bool) -> list[dict[str, np.ndarray]]:
    """Joiners month by month: replace leavers and follow the target path."""
    parts = []
    lo, ka, th = JOIN_AGE[wt]
    leavers = np.bincount(month_of(stock_leave[stock_leave <= END]), minlength=N_MONTHS + 1)
    in_post = len(stock_leave)
    month_start = (np.datetime64("2016-04", "M") + np.arange(N_MONTHS + 1)).astype("datetime64[D]")
    month_day = ((month_start - START) / np.timedelta64(1, "D")).astype(np.int64)
    fy_of_month = financial_year(month_day[:-1])
    for m in range(N_MONTHS):
        in_post -= leavers[m]
        need = int(round(targets[m] - in_post))
        if need <= 0:
            continue
        days = month_day[m] + rng.integers(0, month_day[m + 1] - month_day[m], need)
        share = joiner_minority_share(force, fy_of_month[m:m + 1])[0] if wt == OFFICER else force.minority_stock[wt]
        j_minority = rng.random(need) < share
        j_group = minority_group(rng, force, j_minority, 0.03)
        j_sex = (rng.random(need) >= force.female_joiners[wt]).astype(np.int8)
        j_age = np.minimum(lo + rng.gamma(ka, th * 0.8, need), 55.0)
        j_birth = days - np.floor(j_age * YEAR).astype(np.int64)
        j_wt = np.full(need, wt)
        j_leave, j_reason = _leave_days(rng, j_wt, j_group, days, j_birth, effects, 30)
        leavers += np.bincount(month_of(j_leave[j_leave <= END]), minlength=N_MONTHS + 1)
        in_post += need
        parts.append(dict(wt=j_wt, sex=j_sex, group=j_group, join=days, leave=j_leave, reason=j_reason, birth=j_birth))
    return parts


def ethnicity_codes(rng, group: np.ndarray) -> np.ndarray:
    offsets = np.cumsum([0] + [len(c) for c, _ in ETHNICITY_BY_GROUP])
    probs = np.zeros((len(GROUPS), len(ETHNICITY_CODES)))
    for g, (codes, p) in enumerate(ETHNICITY_BY_GROUP):
        probs[g, offsets[g]:offsets[g] + len(codes)] = p
    return draw_rows(rng, probs, group)


def characteristics(rng, people: People, ethnicity: np.ndarray) -> dict[str, np.ndarray]:
    """The other protected characteristics, with realistic 'not stated' shares."""
    n = len(people.wt)
    g = people.group
    disabled = np.array([0.045, 0.09, 0.06, 0.05])[people.wt]
    disability = np.where(rng.random(n) < 0.12, 2, np.where(rng.random(n) < disabled / 0.88, 0, 1))
    gender_re = np.where(rng.random(n) < 0.25, 2, np.where(rng.random(n) < 0.004, 0, 1))
    marital = draw(rng, (0.36, 0.44, 0.015, 0.09, 0.015, 0.08), n)
    young = calendar_year(people.birth) >= 1978
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
    religion = np.where(rng.random(n) < 0.18, 8, draw_rows(rng, religion_p, g))
    orientation = draw(rng, (0.72, 0.035, 0.02, 0.005, 0.22), n)
    return dict(disability=disability, gender_re=gender_re, marital=marital, preg=preg,
                religion=religion, orientation=orientation, ethnicity=ethnicity)


# Caring responsibilities (composition, not an effect): primary carer of a child or an adult who
# depends on them, not a carer, not stated. Drawn after every other draw of the force's stream, so
# adding it left every other column of every extract as it was.
CARING_SHARES = (0.12, 0.80, 0.08)


def caring_responsibilities(rng, n: int) -> np.ndarray:
    """Index into codes.CARING for n people."""
    return draw(rng, CARING_SHARES, n)
