"""The attacker's linear programme for one year of the release, solved with HiGHS (metrics/release_audit.py
says what it holds and how the audit uses it)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from metrics.release import ALL, AREA, FORCE, Cell, YearRelease, rounding_bounds

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
        self.A_cells = sparse_rows(rows_ub, n)
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
        eq, le = [], []
        for level in (FORCE, AREA):
            keys = [k for k in self.year.views if k[0] == level]
            if not keys:
                continue
            eq += self._extra_dimensions_add_up(keys)
            eq += self._same_totals_and_breakdowns(keys)
            for child, parent, kind in mappings["nesting"]:
                (eq if kind == "eq" else le).extend(self._nested(level, keys, child, parent, mappings))
        eq += self._areas_add_up()
        return eq, le

    def _cells(self, k, *, g: bool = False, e: bool = False):
        """(q, x[, g][, e]) index tuples of a view."""
        v = self.year.views[k]
        nq, nx = v.counts.shape[0], v.counts.shape[1]
        dims = [range(nq), range(nx)] + ([range(len(v.groups))] if g else []) + ([range(len(v.es))] if e else [])
        return itertools.product(*dims)

    def _extra_dimensions_add_up(self, keys) -> list:
        """Each extra dimension adds up, within a characteristic, to the view without it."""
        out = []
        for c in dict.fromkeys(k[1] for k in keys):
            base = next(k for k in keys if k[1] == c)
            for k in keys:
                if k[1] == c and k != base:
                    out += [(self._ix(k, q, x, g), self._ix(base, q, x, g)) for q, x, g in self._cells(k, g=True)]
        return out

    def _same_totals_and_breakdowns(self, keys) -> list:
        """Every characteristic has the same total; every extra dimension the same breakdown."""
        out, first = [], keys[0]
        for c in list(dict.fromkeys(k[1] for k in keys))[1:]:
            k = next(kk for kk in keys if kk[1] == c)
            out += [(self._ix(k, q, x), self._ix(first, q, x)) for q, x in self._cells(k)]
        for edim in {k[2] for k in keys} - {None}:
            ek = [k for k in keys if k[2] == edim]
            for k in ek[1:]:
                out += [(self._ix(k, q, x, e=e), self._ix(ek[0], q, x, e=e)) for q, x, e in self._cells(k, e=True)]
        return out

    def _nested(self, level, keys, child, parent, mappings) -> list:
        """Ethnicity and ethnic group x sex nest in ethnic group (and the latter within sex)."""
        views, out = self.year.views, []
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
            for q, x, e in self._cells(ck, e=True):
                out += [(self._ix(ck, q, x, g=kids, e=e), self._ix(pk, q, x, g=[p], e=e)) for p, kids in groups_of.items()]
        return out

    def _areas_add_up(self) -> list:
        """Business areas add up to the force."""
        out = []
        for k in [k for k in self.year.views if k[0] == AREA]:
            fk = (FORCE, k[1], k[2])
            if fk not in self.year.views:
                continue
            v = self.year.views[k]
            for q, g, e in itertools.product(range(v.counts.shape[0]), range(len(v.groups)), range(len(v.es))):
                out.append((self._ix(fk, q, None, g=[g], e=e), self._ix(k, q, None, g=[g], e=e)))
        return out

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


def sparse_rows(rows: list[np.ndarray], n: int) -> sp.csr_matrix:
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
