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
import scipy.sparse as sp

from metrics.release import ALL, AREA, FORCE, Cell, ReleaseBuilder, YearRelease, part_of, rounding_bounds

INF = math.inf
EPS = 1e-6


@dataclass
class Target:
    """A count the audit protects: a hidden published cell, or one quarter of a published cell."""

    key: tuple
    view: tuple
    qi: tuple[int, ...]
    xi: tuple[int, ...]
    gi: tuple[int, ...]
    ei: tuple[int, ...]
    value: int
    cell: Cell | None  # the published cell, or None for a quarter of one
    lo: float = INF
    hi: float = -INF

    @property
    def at_risk(self) -> bool:
        return math.floor(self.hi + EPS) - math.ceil(self.lo - EPS) < 1


@dataclass
class YearAudit:
    family: str
    fy: int
    cells_published: int
    cells_hidden: int
    targets: list[Target]
    lp_solves: int
    seconds: float
    at_risk: list[Target] = field(default_factory=list)


class Programme:
    """The attacker's linear programme for one year of one family."""

    def __init__(self, year: YearRelease, mappings: dict) -> None:
        self.year = year
        t = year.settings.suppression_threshold
        base = year.settings.rounding_base
        # Unknowns: every view entry not under a published zero.
        zero = {k: np.zeros(v.counts.shape, dtype=bool) for k, v in year.views.items()}
        for cell in year.cells.values():
            if cell.shown == 0 and cell.status in ("zero", "exact"):
                zero[cell.view][np.ix_(cell.qi, cell.xi, cell.gi, cell.ei)] = True
        self.ids, n = {}, 0
        for k, v in year.views.items():
            ids = np.full(v.counts.shape, -1, dtype=np.int64)
            free = ~zero[k]
            ids[free] = np.arange(n, n + int(free.sum()))
            n += int(free.sum())
            self.ids[k] = ids
        self.n = n
        self.truth = np.zeros(n)
        for k, v in year.views.items():
            ids = self.ids[k]
            self.truth[ids[ids >= 0]] = v.counts[ids >= 0]
        rows_ub, lo_ub, hi_ub = [], [], []
        self.row_keys: list[tuple] = []
        for cell in year.cells.values():
            if cell.status in ("zero", "withheld") or (cell.status == "exact" and cell.value == 0):
                continue  # a 0 is built in (its unknowns removed); withheld cells are not published
            idx = self.indices(cell.view, cell.qi, cell.xi, cell.gi, cell.ei)
            if cell.status == "exact":
                bounds = (cell.value, cell.value)
            elif cell.status == "shown":
                bounds = rounding_bounds(cell.shown, t, base)
            elif cell.status == "primary":
                bounds = (1, t - 1)
            else:
                bounds = (0, INF)
            rows_ub.append(idx)
            self.row_keys.append(cell.key)
            lo_ub.append(bounds[0])
            hi_ub.append(bounds[1])
        eq = self._structure(mappings)
        self.A_cells = _rows(rows_ub, n)
        self.cell_lo, self.cell_hi = np.array(lo_ub, dtype=float), np.array(hi_ub, dtype=float)
        self.A_eq = _signed_rows(eq[0], n)
        self.A_le = _signed_rows(eq[1], n)
        self.solves = 0
        self._highs = None

    def is_whole(self, t: Target) -> bool:
        """The target is the whole of a total published exactly (an area's or the force's count for
        the quarter or period, every other group and category a published 0): its value is what the
        exact totals and the zeros already say. Parts under the threshold are never broken down
        (ReleaseBuilder.sparse_parts), so such a total, and this target, is never small; a count
        that is only a category's total over groups is not exempt."""
        view = self.year.views[t.view]
        if not (t.view[0] == AREA or [view.xs[i] for i in t.xi] == [ALL]):
            return False
        shape = self.ids[t.view].shape
        whole = self.indices(t.view, t.qi, t.xi, tuple(range(shape[2])), tuple(range(shape[3])))
        return np.array_equal(np.sort(whole), np.sort(self.indices(t.view, t.qi, t.xi, t.gi, t.ei)))

    def indices(self, view, qi, xi, gi, ei) -> np.ndarray:
        sub = self.ids[view][np.ix_(qi, xi, gi, ei)].ravel()
        return sub[sub >= 0]

    def _structure(self, mappings: dict) -> tuple[list, list]:
        """Equalities (and inequalities) every reader knows, as (plus, minus) index lists."""
        year, eq, le = self.year, [], []
        views = year.views
        for level in (FORCE, AREA):
            keys = [k for k in views if k[0] == level]
            if not keys:
                continue
            chars = list(dict.fromkeys(k[1] for k in keys))
            shape = views[keys[0]].counts.shape
            nq, nx = shape[0], shape[1]
            # each extra dimension adds up, within a characteristic, to the view without it
            for c in chars:
                base = next(k for k in keys if k[1] == c)
                for k in keys:
                    if k[1] != c or k == base:
                        continue
                    for q in range(nq):
                        for x in range(nx):
                            for g in range(len(views[k].groups)):
                                eq.append((self._ix(k, q, x, g), self._ix(base, q, x, g)))
            # every characteristic has the same total; every extra dimension the same breakdown
            first = next(iter(keys))
            for c in chars[1:]:
                k = next(kk for kk in keys if kk[1] == c)
                for q in range(nq):
                    for x in range(nx):
                        eq.append((self._ix(k, q, x), self._ix(first, q, x)))
            for edim in {k[2] for k in keys} - {None}:
                ek = [k for k in keys if k[2] == edim]
                for k in ek[1:]:
                    for q in range(nq):
                        for x in range(nx):
                            for e in range(len(views[k].es)):
                                eq.append((self._ix(k, q, x, e=e), self._ix(ek[0], q, x, e=e)))
            # ethnicity and ethnic group x sex nest in ethnic group (and the latter within sex)
            for child, parent, kind in mappings["nesting"]:
                for edim in {k[2] for k in keys}:
                    ck, pk = (level, child, edim), (level, parent, edim)
                    if ck not in views or pk not in views:
                        continue
                    pg = views[pk].g_index
                    groups_of: dict[int, list[int]] = {}
                    for gi, g in enumerate(views[ck].groups):
                        target = mappings[(child, parent)].get(g)
                        if target in pg:
                            groups_of.setdefault(pg[target], []).append(gi)
                    for q in range(nq):
                        for x in range(nx):
                            for e in range(len(views[ck].es)):
                                for p, kids in groups_of.items():
                                    lhs = self._ix(ck, q, x, g=kids, e=e)
                                    rhs = self._ix(pk, q, x, g=[p], e=e)
                                    (eq if kind == "eq" else le).append((lhs, rhs))
        # business areas add up to the force
        for k in [k for k in views if k[0] == AREA]:
            fk = (FORCE, k[1], k[2])
            if fk not in views:
                continue
            v = views[k]
            for q in range(v.counts.shape[0]):
                for g in range(len(v.groups)):
                    for e in range(len(v.es)):
                        eq.append((self._ix(fk, q, None, g=[g], e=e), self._ix(k, q, None, g=[g], e=e)))
        return eq, le

    def _ix(self, k, q, x=None, g=None, e=None) -> np.ndarray:
        ids = self.ids[k]
        sub = ids[q]
        sub = sub if x is None else sub[x:x + 1] if isinstance(x, int) else sub
        sub = sub if g is None else sub[:, g if isinstance(g, list) else [g]]
        sub = sub if e is None else sub[:, :, [e]]
        flat = sub.ravel()
        return flat[flat >= 0]

    def highs(self):
        """The programme loaded once into HiGHS: each new objective starts from the last basis."""
        if self._highs is None:
            import highspy

            A = sp.vstack([self.A_cells, self.A_eq, self.A_le]).tocsr()
            lower = np.concatenate([self.cell_lo, np.zeros(self.A_eq.shape[0]), np.full(self.A_le.shape[0], -INF)])
            upper = np.concatenate([self.cell_hi, np.zeros(self.A_eq.shape[0] + self.A_le.shape[0])])
            lp = highspy.HighsLp()
            lp.num_col_, lp.num_row_ = self.n, A.shape[0]
            lp.col_cost_ = np.zeros(self.n)
            lp.col_lower_ = np.zeros(self.n)
            lp.col_upper_ = np.full(self.n, INF)
            lp.row_lower_, lp.row_upper_ = lower, upper
            lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
            lp.a_matrix_.start_ = A.indptr.astype(np.int32)
            lp.a_matrix_.index_ = A.indices.astype(np.int32)
            lp.a_matrix_.value_ = A.data.astype(float)
            h = _quiet_highs(highspy)
            h.setOptionValue("output_flag", False)
            h.setOptionValue("threads", 1)  # many small programmes: threads only contend
            h.setOptionValue("simplex_strategy", 4)  # primal simplex: a new objective keeps the basis feasible
            h.setOptionValue("presolve", "off")  # keep the basis between objectives (warm start)
            h.passModel(lp)
            self._highs, self._hs = h, highspy
        return self._highs

    def solve(self, objective: np.ndarray, sense: float) -> np.ndarray | None:
        """A solution minimising (sense 1) or maximising (sense -1) objective . x, or None."""
        h = self.highs()
        self.solves += 1
        h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), (sense * objective).astype(float))
        h.run()
        if h.getModelStatus() != self._hs.HighsModelStatus.kOptimal:
            return None
        return np.asarray(h.getSolution().col_value)

    def binding(self, objective: np.ndarray) -> set[tuple]:
        """Published cells whose bounds hold the objective at its minimum or maximum (non-zero row
        duals): hiding one of them is what can widen it."""
        out = set()
        for sense in (1.0, -1.0):
            if self.solve(objective, sense) is None:
                continue
            duals = np.asarray(self._highs.getSolution().row_dual)[:len(self.row_keys)]
            out |= {self.row_keys[i] for i in np.flatnonzero(np.abs(duals) > EPS)}
        return out

    def bounds_of(self, objective: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Solutions minimising and maximising the objective (None where HiGHS fails)."""
        return self.solve(objective, 1.0), self.solve(objective, -1.0)


def _quiet_highs(highspy):
    """A Highs instance without the banner it prints to stdout when created."""
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return h


def _rows(rows: list[np.ndarray], n: int) -> sp.csr_matrix:
    if not rows:
        return sp.csr_matrix((0, n))
    indptr = np.cumsum([0] + [len(r) for r in rows])
    indices = np.concatenate(rows) if rows else np.array([], dtype=np.int64)
    return sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(rows), n))


def _signed_rows(pairs: list[tuple[np.ndarray, np.ndarray]], n: int) -> sp.csr_matrix:
    """Rows plus - minus, dropping rows that are empty on both sides (0 = 0)."""
    data, indices, indptr = [], [], [0]
    for plus, minus in pairs:
        if len(plus) == 0 and len(minus) == 0:
            continue
        idx = np.concatenate([plus, minus])
        val = np.concatenate([np.ones(len(plus)), -np.ones(len(minus))])
        indices.append(idx)
        data.append(val)
        indptr.append(indptr[-1] + len(idx))
    if len(indptr) == 1:
        return sp.csr_matrix((0, n))
    m = sp.csr_matrix((np.concatenate(data), np.concatenate(indices), indptr), shape=(len(indptr) - 1, n))
    m.sum_duplicates()
    return m


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
    hidden = sum(c.is_hidden for c in year.cells.values())
    if not targets:
        return YearAudit(year.family.name, year.fy, len(year.cells), hidden, [], 0, time.perf_counter() - started)
    prog = Programme(year, mappings)
    # A count that is the whole of an exact total (everything else a published 0) says only what the
    # exact total and the zeros already say: not a hidden cell an attacker works out.
    targets = [t for t in targets if not prog.is_whole(t)]
    T = _rows([prog.indices(t.view, t.qi, t.xi, t.gi, t.ei) for t in targets], prog.n)
    values = T @ prog.truth
    lo, hi = values.copy(), values.copy()
    rng = np.random.default_rng(seed)
    open_ = np.ones(len(targets), dtype=bool)
    if not exact_bounds:
        # Push every open cell up, then down, at once (random positive weights): a cell seen one
        # whole number away from its true value is cleared. Repeat on what is left.
        for _ in range(rounds):
            before = int(open_.sum())
            w = rng.uniform(0.5, 1.5, size=len(targets)) * open_
            for x in prog.bounds_of(T.T @ w):
                if x is not None:
                    v = T @ x
                    lo, hi = np.minimum(lo, v), np.maximum(hi, v)
            open_ = np.floor(hi + EPS) - np.ceil(lo - EPS) < 1
            if not open_.any() or before - int(open_.sum()) < max(3, before // 20):
                break
    for i in np.flatnonzero(open_):  # the rest: the programme's own bounds, one side at a time
        row = np.asarray(T[i].todense()).ravel()
        sides = (1.0, -1.0) if exact_bounds or values[i] - lo[i] < 1 - EPS else (-1.0,)
        for sense in sides:
            x = prog.solve(row, sense)
            if x is None:
                continue
            v = float(row @ x)
            lo[i], hi[i] = min(lo[i], v), max(hi[i], v)
            if not exact_bounds and math.floor(hi[i] + EPS) - math.ceil(lo[i] - EPS) >= 1:
                break
    for t, a, b in zip(targets, lo, hi, strict=True):
        t.lo, t.hi = float(a), float(b)
    audit = YearAudit(year.family.name, year.fy, len(year.cells), hidden, targets, prog.solves,
                      time.perf_counter() - started)
    audit.at_risk = [t for t in targets if t.at_risk]
    return audit


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
        if prog is not None:
            row = np.zeros(prog.n)
            row[prog.indices(t.view, t.qi, t.xi, t.gi, t.ei)] = 1.0
            binding = [year.cells[k] for k in prog.binding(row)]
            shown = [c for c in binding if c.status == "shown" and c.key not in secondary]
            if shown:
                secondary.add(min(shown, key=lambda c: (c.value, str(c.key))).key)
                changes += 1
                continue
        if t.cell is not None:
            if t.cell.status == "withheld":
                continue  # nothing published left to hide: the audit reports it
            covering = [t.cell]
        else:
            covering = sorted((c for c in year.cells.values()
                               if c.view == t.view and c.xi == t.xi and c.gi == t.gi and c.ei == t.ei
                               and t.qi[0] in c.qi and c.status != "withheld"), key=lambda c: len(c.qi))
            shown = [c for c in covering if c.status == "shown" and c.key not in secondary]
            if shown:
                secondary.add(min(shown, key=lambda c: (c.value, len(c.qi))).key)
                changes += 1
                continue
        candidates = []
        for cell in covering:
            for keys in tables_of.get(cell.key, []):
                for k in keys:
                    c = year.cells[k]
                    if c.status in ("shown", "zero") and k not in secondary:
                        # the same row or column first, a shown count before a 0 (a hidden 0 may be
                        # any size), the smallest first; only then the rest of the table
                        near = c.gi == cell.gi or c.ei == cell.ei
                        candidates.append((not near, c.status == "zero", c.gi != cell.gi, c.value, str(k), k))
        if candidates:
            secondary.add(min(candidates)[-1])
        elif covering and part_of(covering[0].key) is not None:
            withheld.add(part_of(covering[0].key))
        else:
            continue
        changes += 1
    year.protect(secondary, withheld)
    return changes


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
    first.cells_hidden = sum(c.is_hidden for c in year.cells.values())
    return first
