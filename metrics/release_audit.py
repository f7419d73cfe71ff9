"""The release audit: what an attacker can work out of every hidden cell from everything published.

The attacker's problem is a linear programme (the audit tau-argus and sdcTable run on linked
tables). Its unknowns are the counts of each view of a year's release: quarter x worker type (or
business area) x group x extra dimension, one set per characteristic. Its constraints:
- every published cell: an exact total is an equality; a rounded count r lies in
  [max(threshold, r-2), r+2]; a primary hidden cell ("[c]") in [1, threshold-1]; a secondary hidden
  cell is only >= 0; a published 0 fixes every count under it at 0;
- the structure a reader knows: each characteristic's groups add up to the same total; each extra
  dimension adds up to the same breakdown; ethnicity (18+1) and ethnic group x sex nest in ethnic
  group; business areas add up to the force and worker types to all worker types; quarters add up
  to every year-to-date snapshot released over the year.
For every hidden cell with a small true count, and for every quarter of a released count whose true
value is small (what differencing two snapshots aims at), the audit finds the smallest and largest
value the programme allows. A cell is at risk when only one whole number fits.

Solving two programmes per cell is slow at scale, so most cells are first cleared by a few
programmes with random objectives: a cell seen at two values at least one apart in feasible
solutions (the true counts are one) cannot be pinned. Only the rest get their exact bounds.
Solved with HiGHS (highspy, the solver scipy.optimize.linprog wraps), loaded once per year and
warm-started from the last basis for each new objective.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from metrics.release import Cell, ReleaseBuilder, YearRelease, part_of
from metrics.release_programme import EPS, Programme, Target, sparse_rows


@dataclass
class YearAudit:
    family: str
    fy: int
    targets: list[Target]
    lp_solves: int
    seconds: float
    at_risk: list[Target] = field(default_factory=list)


def targets_of(year: YearRelease) -> list[Target]:
    """Every hidden cell with a small count, and every quarter of a published breakdown whose own
    count is small (one per distinct view entry set). Withheld cells are not published; what can be
    worked out of them comes only through the published cells checked here."""
    t = year.settings.suppression_threshold
    out, seen = [], set()
    for cell in year.cells.values():
        if cell.status in ("primary", "secondary") and 0 < cell.value < t:
            out.append(Target(cell.key, cell.view, cell.qi, cell.xi, cell.gi, cell.ei, cell.value, cell))
        if cell.status in ("exact", "zero", "withheld") or len(cell.qi) < 2:
            continue
        view = year.views[cell.view]
        for q in cell.qi:
            sig = (cell.view, q, cell.xi, cell.gi, cell.ei)
            if sig in seen:
                continue
            seen.add(sig)
            v = int(view.counts[np.ix_((q,), cell.xi, cell.gi, cell.ei)].sum())
            if 0 < v < t:
                out.append(Target(("quarter", year.quarters[q], *cell.key), cell.view, (q,), cell.xi, cell.gi,
                                  cell.ei, v, None))
    return out


def audit_year(year: YearRelease, mappings: dict, *, exact_bounds: bool = False, seed: int = 2016,
               rounds: int = 12, only: list[Target] | None = None) -> YearAudit:
    """Solve the attacker's programme for every target of the year (or only the given ones, with
    their bounds solved afresh); return the audit."""
    started = time.perf_counter()
    targets = targets_of(year)
    if only is not None:
        wanted = {t.key for t in only}
        targets = [t for t in targets if t.key in wanted]
    if not targets:
        return YearAudit(year.family.name, year.fy, [], 0, time.perf_counter() - started)
    prog = Programme(year, mappings)
    # A count that is the whole of an exact total (everything else a published 0) says only what the
    # exact total and the zeros already say: not a hidden cell an attacker works out.
    targets = [t for t in targets if not prog.is_whole(t)]
    T = sparse_rows([prog.indices(t.view, t.qi, t.xi, t.gi, t.ei) for t in targets], prog.n)
    values = T @ prog.truth
    lo, hi = values.copy(), values.copy()
    open_ = np.ones(len(targets), dtype=bool)
    if not exact_bounds:
        open_ = _push_rounds(prog, T, lo, hi, np.random.default_rng(seed), rounds)
    for i in np.flatnonzero(open_):  # the rest: the programme's own bounds, one side at a time
        _solve_target(prog, np.asarray(T[i].todense()).ravel(), values[i], lo, hi, i, exact_bounds)
    for t, a, b in zip(targets, lo, hi, strict=True):
        t.lo, t.hi = float(a), float(b)
    audit = YearAudit(year.family.name, year.fy, targets, prog.solves,
                      time.perf_counter() - started)
    audit.at_risk = [t for t in targets if t.at_risk]
    return audit


def _push_rounds(prog: Programme, T, lo: np.ndarray, hi: np.ndarray, rng, rounds: int) -> np.ndarray:
    """Push every open cell up, then down, at once (random positive weights): a cell seen one whole
    number away from its true value is cleared. Repeat on what is left; returns the cells still open."""
    open_ = np.ones(T.shape[0], dtype=bool)
    for _ in range(rounds):
        before = int(open_.sum())
        w = rng.uniform(0.5, 1.5, size=T.shape[0]) * open_
        for x in prog.bounds_of(T.T @ w):
            if x is not None:
                v = T @ x
                np.minimum(lo, v, out=lo)
                np.maximum(hi, v, out=hi)
        open_ = np.floor(hi + EPS) - np.ceil(lo - EPS) < 1
        if not open_.any() or before - int(open_.sum()) < max(3, before // 20):
            break
    return open_


def _solve_target(prog: Programme, row: np.ndarray, value: float, lo: np.ndarray, hi: np.ndarray, i: int,
                  exact_bounds: bool) -> None:
    """One cell's bounds from the programme: the side not yet moved first, stopping (unless exact
    bounds are asked for) as soon as two whole numbers fit."""
    sides = (1.0, -1.0) if exact_bounds or value - lo[i] < 1 - EPS else (-1.0,)
    for sense in sides:
        x = prog.solve(row, sense)
        if x is None:
            continue
        v = float(row @ x)
        lo[i], hi[i] = min(lo[i], v), max(hi[i], v)
        if not exact_bounds and math.floor(hi[i] + EPS) - math.ceil(lo[i] - EPS) >= 1:
            break


def mappings_for(builder: ReleaseBuilder) -> dict:
    """How the finer ethnic breakdowns nest in ethnic group (and sex), read from the warehouse."""
    wh = builder.wh
    eth = wh.query("select distinct ethnicity as c, ethnicity_group as p from dim_person "
                   "union select distinct ethnicity, ethnicity_group from fct_recruitment_funnel")
    es = wh.query("select distinct ethnicity_sex as c, ethnicity_group as g, sex as s from dim_person "
                  "union select distinct ethnicity_sex, ethnicity_group, sex from fct_recruitment_funnel")
    lump = {c for c, g in zip(es["c"], es["g"], strict=True) if c == g}  # "Not stated" for both sexes
    return {
        "nesting": [("ethnicity", "ethnicity_group", "eq"), ("ethnicity_sex", "ethnicity_group", "eq"),
                    ("ethnicity_sex", "sex", "le")],
        ("ethnicity", "ethnicity_group"): dict(zip(eth["c"], eth["p"], strict=True)),
        ("ethnicity_sex", "ethnicity_group"): dict(zip(es["c"], es["g"], strict=True)),
        ("ethnicity_sex", "sex"): {c: s for c, s in zip(es["c"], es["s"], strict=True) if c not in lump},
    }


def repair(year: YearRelease, at_risk: list[Target], mappings: dict | None = None) -> int:
    """Protect each cell at risk: hide the smallest shown count among those whose bounds pin it
    (the programme's binding rows), else in the same row or column of a table that shows it
    (secondary suppression); where nothing is left to hide, withhold that breakdown. For a quarter
    at risk, act on the snapshots that contain it. Returns how many changes."""
    tables_of: dict[tuple, list[list[tuple]]] = {}
    for keys in year.tables.values():
        for k in keys:
            tables_of.setdefault(k, []).append(keys)
    secondary, withheld = year.secondary(), set(year.withheld)
    changes = 0
    prog = Programme(year, mappings) if mappings is not None else None
    for t in at_risk:
        hide = _binding_shown(prog, year, t, secondary) if prog is not None else None
        covering = [] if hide is not None else _covering(year, t)
        if hide is None and t.cell is None:
            hide = _smallest_shown([c for c in covering if c.key not in secondary], key=lambda c: (c.value, len(c.qi)))
        if hide is None:
            hide = _neighbour(year, covering, tables_of, secondary)
        if hide is not None:
            secondary.add(hide)
        elif covering and part_of(covering[0].key) is not None:
            withheld.add(part_of(covering[0].key))
        else:
            continue  # nothing published left to hide: the audit reports it
        changes += 1
    year.protect(secondary, withheld)
    return changes


def _smallest_shown(cells: list[Cell], key) -> tuple | None:
    shown = [c for c in cells if c.status == "shown"]
    return min(shown, key=key).key if shown else None


def _binding_shown(prog: Programme, year: YearRelease, t: Target, secondary: set) -> tuple | None:
    """The smallest shown count among the published cells whose bounds pin the target."""
    row = np.zeros(prog.n)
    row[prog.indices(t.view, t.qi, t.xi, t.gi, t.ei)] = 1.0
    binding = [year.cells[k] for k in prog.binding(row)]
    return _smallest_shown([c for c in binding if c.key not in secondary], key=lambda c: (c.value, str(c.key)))


def _covering(year: YearRelease, t: Target) -> list[Cell]:
    """The published cells that hold the target: itself, or for a quarter every snapshot that
    contains it (the shortest first)."""
    if t.cell is not None:
        return [] if t.cell.status == "withheld" else [t.cell]
    return sorted((c for c in year.cells.values()
                   if c.view == t.view and c.xi == t.xi and c.gi == t.gi and c.ei == t.ei
                   and t.qi[0] in c.qi and c.status != "withheld"), key=lambda c: len(c.qi))


def _neighbour(year: YearRelease, covering: list[Cell], tables_of: dict, secondary: set) -> tuple | None:
    """A count to hide beside the covering cells in a table that shows them: the same row or column
    first, a shown count before a 0 (a hidden 0 may be any size), the smallest first; only then
    the rest of the table."""
    candidates = []
    for cell in covering:
        for keys in tables_of.get(cell.key, []):
            for k in keys:
                c = year.cells[k]
                if c.status in ("shown", "zero") and k not in secondary:
                    near = c.gi == cell.gi or c.ei == cell.ei
                    candidates.append((not near, c.status == "zero", c.gi != cell.gi, c.value, str(k), k))
    return min(candidates)[-1] if candidates else None


def protect_year(year: YearRelease, mappings: dict, *, max_rounds: int = 25) -> YearAudit:
    """Protect a year of the release until the audit finds no cell at risk (or give up loudly).

    Hiding a count or withholding a breakdown only removes what an attacker knows, so a cell the
    first audit cleared stays clear: each later round re-solves only the cells still at risk."""
    year.protect()
    first = audit_year(year, mappings)
    at_risk, rounds = first.at_risk, 0
    while at_risk and rounds < max_rounds:
        if repair(year, at_risk, mappings) == 0:
            break
        at_risk = audit_year(year, mappings, only=at_risk, exact_bounds=True).at_risk
        rounds += 1
    first.at_risk = at_risk
    return first
