"""Acting-up decisions (effect 6): who is put forward to act one rank up, who is selected and for how long."""

from __future__ import annotations

import numpy as np

from sample_data.careers import Spells
from sample_data.codes import OFFICER, WHITE
from sample_data.draws import exposure, poisson_events
from sample_data.effects import ACTING_RATE, SELECTION_RATE
from sample_data.timeline import financial_year, ramp
from sample_data.workforce import People


def simulate_acting_up(rng, people: People, spells: Spells, effects: bool) -> dict:
    idx, cs, ce = exposure(spells)
    rate = ACTING_RATE[spells.rank[idx]]
    ev, day = poisson_events(rng, idx, cs, ce, rate)
    ep = spells.person[idx][ev]
    n = len(ev)
    rank = spells.rank[idx][ev]
    g = people.group[ep]
    p_sel = SELECTION_RATE[g] if effects else np.full(n, SELECTION_RATE[WHITE])
    selected = rng.random(n) < p_sel
    duration = np.where(selected, np.clip(np.round(rng.gamma(2.0, 60.0, n)), 14, 730), -1).astype(np.int64)
    officer = people.wt[ep] == OFFICER
    qualified = officer & (rng.random(n) < 0.6)
    rationale = rng.random(n) < 0.60 + 0.35 * ramp(financial_year(day), 2016, 2023)
    return dict(person=ep, area=spells.area[idx][ev], day=day, rank=rank, acting=rank + 1,
                selected=selected, duration=duration, qualified=qualified, rationale=rationale)
