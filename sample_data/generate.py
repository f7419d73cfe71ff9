"""Write the ten contract-shaped extracts for a synthetic force (or all 43) from a seed.

One job: put the pieces together in a fixed order. Deterministic, realistic sample data with the
planted effects documented in sample_data/README.md, so the pipeline can be tested on whether it
recovers them. Same profile, seed and effects flag give byte-identical files: no wall clock, fixed
row order, fixed number formats. Each part draws from its own random stream:
[seed, 1, force] the workforce and its events (sample_data/simulate.py), [seed, 2] person ids and
tie-breaks (frames.py), [seed, 3] STRIDE and [seed, 4] IOPC progress (boards.py), [seed, 5] teams
and line managers (teams.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from metrics.config import EXTRACTS
from sample_data.boards import iopc_actions_frame, stride_updates_frame, targets_frame
from sample_data.frames import build_frames
from sample_data.profiles import PROFILES, profile_forces
from sample_data.simulate import simulate_force
from sample_data.teams import assign_teams
from sample_data.timeline import EXTRACT_DATE, START
from sample_data.writer import GENERATOR_VERSION, Progress, write_extracts

__all__ = ["GENERATOR_VERSION", "PROFILES", "generate"]


def _stream(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(list(key)))


def generate(profile: str, seed: int, out_dir: Path, *, effects: bool = True,
             progress: Progress | None = None) -> dict:
    """Write `<extract>.csv` for all ten extracts and manifest.json to out_dir; return the manifest.

    profile: "small" (~4,000 in post), "mps" (~46,000, Met-like) or "national" (43 forces, ~250,000).
    effects=False treats every group alike (see sample_data/README.md) while keeping the realistic
    composition of the workforce.
    """
    forces = profile_forces(profile)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if progress:
        progress("simulating the workforce", 0, len(EXTRACTS) + 1)
    sims = [simulate_force(_stream(seed, 1, i), force, effects) for i, force in enumerate(forces)]
    frames = build_frames(sims, forces, _stream(seed, 2))
    frames["stride_updates"] = stride_updates_frame(_stream(seed, 3), effects)
    frames["iopc_actions"] = iopc_actions_frame(_stream(seed, 4), effects)
    frames["targets"] = targets_frame()
    frames["postings"] = assign_teams(frames["postings"], frames["people"], frames["business_areas"], seed, effects)
    if progress:
        progress("simulating the workforce", 1, len(EXTRACTS) + 1)
    about = {
        "profile": profile,
        "seed": seed,
        "effects": effects,
        "period_start": str(START),
        "extract_date": str(EXTRACT_DATE),
        "forces": len(forces),
    }
    return write_extracts(frames, out_dir, about, progress)
