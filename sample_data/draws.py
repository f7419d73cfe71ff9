"""Vectorised random draws every simulator shares: categorical draws, and Poisson events in spells."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sample_data.timeline import END, YEAR

if TYPE_CHECKING:
    from sample_data.careers import Spells

def draw(rng: np.random.Generator, probs, n: int) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    return np.minimum(np.searchsorted(np.cumsum(p / p.sum()), rng.random(n), side="right"), len(p) - 1)


def draw_rows(rng: np.random.Generator, prob_matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One categorical draw per element, from the probability row `rows[i]` of prob_matrix."""
    cdf = np.cumsum(prob_matrix / prob_matrix.sum(axis=1, keepdims=True), axis=1)[rows]
    return np.minimum((rng.random(len(rows))[:, None] >= cdf).sum(axis=1), prob_matrix.shape[1] - 1)


def exposure(spells: Spells) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spell indices overlapping the extract window, with their clipped first and last day."""
    cs = np.maximum(spells.start, 0)
    ce = np.minimum(spells.end, END)
    idx = np.nonzero(ce >= cs)[0]
    return idx, cs[idx], ce[idx]


def poisson_events(rng, idx, cs, ce, lam_max: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candidate event days in each clipped spell at rate lam_max per year (to be thinned)."""
    n_ev = rng.poisson(lam_max * (ce - cs + 1) / YEAR)
    ev = np.repeat(np.arange(len(idx)), n_ev)
    day = cs[ev] + np.floor(rng.random(len(ev)) * (ce[ev] - cs[ev] + 1)).astype(np.int64)
    return ev, day
