"""One force's whole history, simulated from one random stream in a fixed order: people, careers,
misconduct (and the dismissals it ends in), grievances, acting up, applications, characteristics,
the grievance SPOCs and, last, caring responsibilities."""

from __future__ import annotations

import numpy as np

from sample_data.acting_up import simulate_acting_up
from sample_data.applications import simulate_applications
from sample_data.careers import simulate_careers
from sample_data.grievances import simulate_grievances
from sample_data.misconduct import apply_dismissals, simulate_misconduct
from sample_data.profiles import Force
from sample_data.timeline import NEVER
from sample_data.workforce import caring_responsibilities, characteristics, ethnicity_codes, simulate_people


def simulate_force(rng, force: Force, effects: bool) -> dict:
    people = simulate_people(rng, force, effects)
    spells = simulate_careers(rng, force, people)
    cases = simulate_misconduct(rng, force, people, spells, effects)
    cases, spells = apply_dismissals(cases, people, spells)
    grievances = simulate_grievances(rng, force, people, spells, effects)
    acting = simulate_acting_up(rng, people, spells, effects)
    apps = simulate_applications(rng, force, people, effects)
    ethnicity = ethnicity_codes(rng, people.group)
    ethnicity[apps["joined_person"]] = apps["joined_ethnicity"]
    chars = characteristics(rng, people, ethnicity)
    # the grievance SPOC: someone in post in the area at the extract date, sergeant/band C or above
    current = (spells.end == NEVER) & ((spells.rank == 1) | (spells.rank == 9))
    spoc = np.full(len(force.areas), -1)
    for a in range(len(force.areas)):
        cand = spells.person[current & (spells.area == a)]
        if len(cand):
            spoc[a] = cand[rng.integers(0, len(cand))]
    chars["caring"] = caring_responsibilities(rng, len(people.wt))  # the stream's last draw: keep it last
    return dict(people=people, chars=chars, spells=spells, cases=cases, grievances=grievances,
                acting=acting, apps=apps, spoc=spoc)
