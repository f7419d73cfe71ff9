"""The forces a profile simulates: a Met-like force (small or full size) or the 43 forces of England
and Wales, each with its business areas, headcount path and composition."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sample_data.effects import JOINER_MINORITY_FY2016, JOINER_MINORITY_FY2025
from sample_data.reference import CENSUS_FORCES, MET_AREAS, MET_FORCE_NAME
from sample_data.timeline import ramp

PROFILES: tuple[str, ...] = ("small", "mps", "national")


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


def met_force(scale: float) -> Force:
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


def national_forces() -> list[Force]:
    """The 43 forces, sized by population (the Met at its own size, as in reality it is larger)."""
    pops = np.array([sum(p) for _, _, p in CENSUS_FORCES], dtype=float)
    met = [i for i, (n, _, _) in enumerate(CENSUS_FORCES) if n == "Metropolitan"][0]
    mps_total = sum(row[-1] for row in MPS_HEADCOUNT)
    rest = 250_000 - mps_total
    others = pops.sum() - pops[met]
    forces = []
    for i, (name, prefix, p) in enumerate(CENSUS_FORCES):
        if i == met:
            forces.append(met_force(1.0))
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


def profile_forces(profile: str) -> list[Force]:
    if profile == "small":
        return [met_force(4000 / sum(row[-1] for row in MPS_HEADCOUNT))]
    if profile == "mps":
        return [met_force(1.0)]
    if profile == "national":
        return national_forces()
    raise ValueError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}")


def joiner_minority_share(force: Force, fy: np.ndarray) -> np.ndarray:
    a, b = force.joiner_minority
    return a + (b - a) * ramp(fy, 2016, 2025)
