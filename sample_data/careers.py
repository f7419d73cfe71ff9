"""Careers: each person's postings (business area and rank) from join to leave, as spells."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sample_data.codes import OFFICER, RANK_OFFSET, STAFF
from sample_data.draws import draw
from sample_data.profiles import Force
from sample_data.timeline import END, YEAR
from sample_data.workforce import People

# Promotions per year in post at each rank (top rank 0); sized so the rank pyramid is Met-like.
PROMO_RATE = np.array([0.027, 0.045, 0.05, 0.10, 0.08, 0.05, 0.0,
                       0.045, 0.035, 0.030, 0.040, 0.030, 0.0, 0.0, 0.0])
MOVE_RATE = 0.10  # lateral moves between business areas per year
CAREER_RATE = MOVE_RATE + PROMO_RATE.max()  # thinning envelope: moves plus the highest promotion rate


def _area_weights(force: Force) -> np.ndarray:
    """(worker type, area) cumulative probabilities of being posted to each area."""
    w = np.array([a.weights for a in force.areas], dtype=float).T + 1e-9
    return np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)


def _pick_area(rng, cdf: np.ndarray, wt: np.ndarray) -> np.ndarray:
    return np.minimum((rng.random(len(wt))[:, None] >= cdf[wt]).sum(axis=1), cdf.shape[1] - 1)


@dataclass
class Spells:
    person: np.ndarray
    area: np.ndarray
    rank: np.ndarray  # index into RANKS
    start: np.ndarray
    end: np.ndarray  # inclusive; NEVER when open


def simulate_careers(rng, force: Force, people: People) -> Spells:
    """Spells from join to leave: lateral moves and promotions as a thinned Poisson process."""
    n = len(people.wt)
    wt = people.wt
    cdf = _area_weights(force)
    staff_entry = draw(rng, (0.45, 0.35, 0.20), n)
    level = np.where(wt == STAFF, staff_entry, 0)
    area = _pick_area(rng, cdf, wt)
    init_level, init_area = level.copy(), area.copy()
    ev_p, ev_t, k = _candidate_events(rng, people)
    accepted, ev_level, ev_area = _accept_events(rng, people, cdf, ev_p, ev_t, k, level, area)
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
    end = spell_ends(person, start, people.leave)
    return Spells(person, ar, rank, start, end)


def _candidate_events(rng, people: People) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate career events at CAREER_RATE over each person's service in the window, by person
    then day; and how many each person has."""
    n = len(people.wt)
    last = np.minimum(people.leave, END)
    span = np.maximum(last - people.join, 0)
    k = rng.poisson(CAREER_RATE * span / YEAR)
    ev_p = np.repeat(np.arange(n), k)
    ev_t = people.join[ev_p] + 1 + np.floor(rng.random(len(ev_p)) * np.maximum(span[ev_p], 1)).astype(np.int64)
    ev_t = np.minimum(ev_t, last[ev_p])
    order = np.lexsort((ev_t, ev_p))
    return ev_p[order], ev_t[order], k


def _accept_events(rng, people: People, cdf: np.ndarray, ev_p: np.ndarray, ev_t: np.ndarray, k: np.ndarray,
                   level: np.ndarray, area: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin the candidates into promotions and moves, everyone's k-th event at once (level and area
    are updated in place); return which were accepted and the level and area after each."""
    wt = people.wt
    first = np.repeat(np.cumsum(k) - k, k)
    ev_k = np.arange(len(ev_p)) - first
    ev_level = np.empty(len(ev_p), dtype=np.int64)
    ev_area = np.empty(len(ev_p), dtype=np.int64)
    accepted = np.zeros(len(ev_p), dtype=bool)
    by_k = np.argsort(ev_k, kind="stable")
    bounds = np.searchsorted(ev_k[by_k], np.arange(int(k.max(initial=0)) + 1))
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
    return accepted, ev_level, ev_area


def spell_ends(person: np.ndarray, start: np.ndarray, leave: np.ndarray) -> np.ndarray:
    end = np.empty(len(person), dtype=np.int64)
    same = person[1:] == person[:-1]
    end[:-1] = np.where(same, start[1:] - 1, leave[person[:-1]])
    if len(person):
        end[-1] = leave[person[-1]]
    return end
