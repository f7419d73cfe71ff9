"""The restricted release (metrics/release.py) and its audit (metrics/release_audit.py), attacked the
way a determined staff-association member would: period differencing, row totals, two tables of one
page, stage links, nested characteristics and filters, Kaplan-Meier steps, statistics of hidden rows.

The independent attacker here is scipy.optimize.milp (an integer programme built from the published
values alone), not the audit's own programme."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from datetime import date

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from metrics.config import DEFAULTS, Settings
from metrics.queries import FilterError, Filters
from metrics.release import (
    ALL,
    FORCE,
    METHOD,
    Family,
    Release,
    ReleasePeriod,
    View,
    YearRelease,
    part_of,
    period_named,
    protect_value,
    release_for,
    release_periods,
    rounding_bounds,
)
from metrics.release_audit import protect_year
from metrics.significance import adjust_pvalues
from metrics.tables import AccessDenied, get_table
from metrics.warehouse import Warehouse

SA = "staff_association"


@pytest.fixture(scope="module")
def wh(small_warehouse):
    with Warehouse(small_warehouse) as w:
        yield w


@pytest.fixture(scope="module")
def fy(wh):
    return next(p for p in release_periods(wh) if p.label == "FY2025/26")


# --- the protection rule -------------------------------------------------------------------

@pytest.mark.parametrize(("value", "shown"), [(0, 0), (1, None), (7, None), (8, 10), (12, 10), (13, 15), (102, 100)])
def test_counts_are_hidden_below_8_and_rounded_to_5(value, shown):
    assert protect_value(value, 8, 5) == shown


def test_what_a_reader_knows_of_a_rounded_count():
    assert rounding_bounds(10, 8, 5) == (8, 12)  # 8..12 round to 10; below 8 would be hidden
    assert rounding_bounds(15, 8, 5) == (13, 17)


# --- periods: nothing slides -----------------------------------------------------------------

def test_released_periods_are_complete_years_and_this_year_to_its_last_complete_quarter(wh):
    labels = [p.label for p in release_periods(wh)]
    assert labels[0] == "FY2016/17" and labels[-2] == "FY2025/26"
    assert labels[-1] == "FY2026/27 to date (Apr-Sep 2026)"  # data to 31 Oct 2026: Q2 is the last complete


@pytest.mark.parametrize("window", [(date(2025, 1, 1), date(2026, 3, 1)), (None, None), (date(2025, 4, 1), date(2025, 9, 1))])
def test_a_staff_association_cannot_ask_for_its_own_window(wh, window):
    with pytest.raises(FilterError, match="released only for fixed periods.*FY2025/26"):
        get_table(wh, "grievance_outcomes", Filters(start=window[0], end=window[1]), role=SA)


def test_the_cli_refuses_a_custom_window_and_names_the_allowed_periods(small_warehouse):
    out = subprocess.run([sys.executable, "-m", "dashboard.cli", "table", "grievance_outcomes", "--role", SA,
                          "--from", "2025-01", "--to", "2026-03", "--db", str(small_warehouse)],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "FY2026/27 to date (Apr-Sep 2026)" in out.stdout + out.stderr


def test_filter_differencing_is_refused(wh, fy):
    with pytest.raises(FilterError, match="all worker types together"):
        get_table(wh, "misconduct_rates", fy.filters.with_(worker_type="Police officer"), role=SA)
    with pytest.raises(FilterError, match="broken down only by ethnicity_group, sex, disability"):
        get_table(wh, "misconduct_rates", fy.filters.with_(area="NE", characteristic="religion"), role=SA)


# --- what the tables show -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["grievance_rates", "grievance_outcomes", "misconduct_rates", "acting_up",
                                  "misconduct_stages", "recruitment_funnel", "grievance_independent_assessor"])
@pytest.mark.parametrize("c", ["ethnicity_group", "sex", "ethnicity"])
def test_hidden_rows_carry_no_statistic_and_shown_rates_come_from_protected_counts(wh, fy, name, c):
    t = get_table(wh, name, fy.filters.with_(characteristic=c), role=SA)
    assert t.height > 0
    hidden = t.filter(pl.col("is_suppressed"))
    for col in ("rate", "ci_low", "ci_high", "ratio", "p_value", "p_adjusted"):
        assert hidden[col].is_null().all(), col
    shown = t.filter(~pl.col("is_suppressed") & pl.col("events").is_not_null())
    assert (shown["events"] % 5 == 0).all()  # rounded to 5
    if "exposure" not in t.columns:  # a proportion: the rate is the protected events over the protected n
        shown = shown.filter(pl.col("n") > 0)
        assert shown["rate"].to_list() == pytest.approx((shown["events"] / shown["n"]).to_list())
    if "stage" not in t.columns and shown.filter(pl.col("p_adjusted").is_not_null()).height:
        family = shown.filter(pl.col("p_adjusted").is_not_null())
        # adjusted over the groups shown only: a hidden group's p-value is not in the family
        assert family["p_adjusted"].to_list() == pytest.approx(adjust_pvalues(family["p_value"].to_list(), "holm"))


def test_a_true_zero_is_shown_as_0_never_as_hidden(wh, fy):
    exact = get_table(wh, "grievance_outcomes", fy.filters.with_(characteristic="ethnicity"), role="analyst")
    protected = get_table(wh, "grievance_outcomes", fy.filters.with_(characteristic="ethnicity"), role=SA)
    zeros = set(exact.filter(pl.col("events") == 0)["group"].to_list())
    assert zeros
    shown = dict(zip(protected["group"], protected["events_display"], strict=True))
    assert all(shown[g] in ("0", "-") for g in zeros)  # "-": the breakdown is withheld


def test_stage_links_carry_one_protected_value(wh, fy):
    """A stage's count is the next stage's base: it has one key, so it is shown the same way in both."""
    t = get_table(wh, "misconduct_stages", fy.filters, role=SA)
    rows = {(r["group"], r["stage"]): r for r in t.iter_rows(named=True)}
    for g in set(t["group"]):
        for before, after in (("Investigated", "Meeting or hearing"), ("Meeting or hearing", "Sanction")):
            assert rows[(g, before)]["events_display"] == rows[(g, after)]["n_display"]


def test_kaplan_meier_steps_are_not_released(wh, fy):
    with pytest.raises(AccessDenied, match="not in the restricted release"):
        get_table(wh, "grievance_resolution_curve", fy.filters, role=SA)
    t = get_table(wh, "grievance_resolution", fy.filters, role=SA)
    assert t["events"].is_null().all()  # neither closed nor at-risk counts
    shown = t.filter(pl.col("median_days").is_not_null())
    assert (shown["n"] >= DEFAULTS.min_cases_for_median).all()


def test_person_level_tables_are_never_released(wh, fy):
    with pytest.raises(AccessDenied):
        get_table(wh, "quarantine", fy.filters, role=SA)


def test_the_analyst_preview_is_the_release(wh, fy):
    a = get_table(wh, "misconduct_rates", fy.filters, role="analyst", suppressed=True)
    b = get_table(wh, "misconduct_rates", fy.filters, role=SA)
    assert a.equals(b)


# --- the audit ----------------------------------------------------------------------------

def test_the_audit_finds_nothing_at_risk_in_a_year_of_the_small_sample(small_warehouse):
    out = subprocess.run([sys.executable, "-m", "dashboard.cli", "release", "audit", "--period", "FY2025/26",
                          "--db", str(small_warehouse)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "cells at risk: 0;" in out.stdout


def test_the_audit_refuses_an_unreleased_period(small_warehouse):
    out = subprocess.run([sys.executable, "-m", "dashboard.cli", "release", "audit", "--period", "FY2030/31",
                          "--db", str(small_warehouse)], capture_output=True, text=True)
    assert out.returncode == 2 and "is not a released period" in out.stdout + out.stderr


def test_every_snapshot_difference_is_checked(wh):
    """Period differencing: the year-to-date snapshots of a year differ by a quarter; the audit
    checks each quarter of every published count whose own value is small, and none is pinned."""
    rel = release_for(wh)
    year = rel.year("referred", 2025)
    from metrics.release_audit import audit_year, mappings_for

    audit = audit_year(year, mappings_for(rel.builder))
    quarters = [t for t in audit.targets if t.cell is None]
    assert quarters and not [t for t in audit.targets if t.at_risk]


@pytest.fixture
def own_wh(small_warehouse, tmp_path):
    """A copy of the small warehouse with a decision store of its own: the tests that rewrite or delete
    the store must not take the shared warehouse's decisions (and other tests' solves) with them."""
    copy = tmp_path / small_warehouse.name
    shutil.copyfile(small_warehouse, copy)
    with Warehouse(copy) as w:
        yield w


def test_decisions_are_kept_for_this_build_and_method_only(own_wh):
    """A year's secondary suppressions are stored beside the warehouse and reused by the next
    process; decisions stored by another method (a fix to the audit) or build are made again."""
    wh = own_wh
    first = Release(wh)
    chosen = first.year("acting", 2016).secondary()
    assert chosen  # the year needs secondary suppression: a stale empty list would show
    stored = json.loads(first.store.read_text(encoding="utf-8"))
    assert stored["method"] == METHOD and "acting:2016" in stored["years"]
    again = Release(wh)
    assert again.year("acting", 2016).secondary() == chosen and ("acting", 2016) not in again.audits
    stale = dict(stored, method="2026-11-30")
    stale["years"] = dict(stored["years"], **{"acting:2016": {"secondary": [], "withheld": []}})
    first.store.write_text(json.dumps(stale), encoding="utf-8")
    remade = Release(wh)
    assert remade.year("acting", 2016).secondary() == chosen and ("acting", 2016) in remade.audits


def test_prepare_solves_each_year_once_and_stores_it(own_wh):
    """`eqdash release prepare` (and the server, in the background) decide every year ahead of the
    first reader; a year already decided for this build is not solved again."""
    wh = own_wh
    rel = Release(wh)
    assert not rel.store.exists()
    seen = []
    assert rel.prepare(years=[2016, 2017], families=["acting"], on_year=lambda f, y, s: seen.append((f, y))) == 2
    assert seen == [("acting", 2017), ("acting", 2016)]  # the newest first
    assert set(json.loads(rel.store.read_text(encoding="utf-8"))["years"]) == {"acting:2016", "acting:2017"}
    assert Release(wh).prepare(years=[2016, 2017], families=["acting"]) == 0


_WAITS = """
import sys, time
from pathlib import Path
from metrics.release import Release
from metrics.warehouse import Warehouse
with Warehouse(Path(sys.argv[1])) as wh:
    rel = Release(wh)
    secondary = rel.year("acting", 2016).secondary()
    print(("acting", 2016) in rel.audits, sorted(map(str, secondary)))
"""


def test_a_year_being_decided_elsewhere_is_waited_for_and_read_not_solved_again(own_wh):
    """A reader asking for a year another process is deciding (the background preparer, another
    server) waits for that decision and reads it: the year is solved once."""
    rel = Release(own_wh)
    with rel.decisions.solving("acting", 2016):  # this process is deciding it
        child = subprocess.Popen([sys.executable, "-c", _WAITS, str(own_wh.db_path)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        waited = child.poll() is None
        year = rel.builder.year("acting", 2016)
        rel.protect(year)
        rel.decisions.save("acting", 2016, year.secondary(), year.withheld)
    out, err = child.communicate(timeout=120)
    assert waited and child.returncode == 0, err[-2000:]
    assert year.secondary()  # something to agree on
    assert out.strip() == f"False {sorted(map(str, year.secondary()))}"


_SAVES = """
import sys
from pathlib import Path
from metrics.release_store import DecisionStore
store = DecisionStore(Path(sys.argv[1]), "build", "settings")
first = int(sys.argv[2])
for fy in range(first, first + 40):
    store.save("family", fy, {("cell", fy)}, set())
"""


def test_two_processes_saving_decisions_lose_none(tmp_path):
    store = tmp_path / "w.duckdb.release.json"
    children = [subprocess.Popen([sys.executable, "-c", _SAVES, str(store), str(first)]) for first in (0, 1000)]
    assert [c.wait(timeout=120) for c in children] == [0, 0]
    years = json.loads(store.read_text(encoding="utf-8"))["years"]
    assert sorted(years) == sorted(f"family:{fy}" for fy in [*range(40), *range(1000, 1040)])


def test_two_threads_saving_decisions_lose_none(tmp_path):
    # the store's lock is a file each save opens for itself, so threads of one process exclude each other
    import threading

    from metrics.release_store import DecisionStore

    store = DecisionStore(tmp_path / "w.duckdb.release.json", "build", "settings")
    threads = [threading.Thread(target=lambda first=first: [store.save("family", fy, {("cell", fy)}, set())
                                                              for fy in range(first, first + 40)])
               for first in (0, 1000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(store.read()) == sorted(f"family:{fy}" for fy in [*range(40), *range(1000, 1040)])


# --- an independent attacker on random tables ------------------------------------------------

def _attack(cells, n_rows, n_cols) -> list[tuple[int, int]]:
    """Integer bounds on each hidden primary cell of a rows x cols table with margins, from the
    published values alone (scipy milp); returns the cells an attacker pins to one value."""
    t = 8
    nvar = n_rows * n_cols

    def coeffs(gi, ei):
        a = np.zeros(nvar)
        for g in gi:
            for e in ei:
                a[g * n_cols + e] = 1
        return a

    rows, lo, hi, targets = [], [], [], []
    for c in cells:
        if c.status in ("withheld",):
            continue
        a = coeffs(c.gi, range(n_cols) if c.view[2] is None else c.ei)  # a view without the columns: all of them
        if c.status in ("exact", "zero"):
            bounds = (c.shown, c.shown)
        elif c.status == "shown":
            bounds = rounding_bounds(c.shown, t, 5)
        elif c.status == "primary":
            bounds = (1, t - 1)
            targets.append((a, c))
        else:
            bounds = (0, np.inf)
        rows.append(a)
        lo.append(bounds[0])
        hi.append(bounds[1])
    if not targets:
        return []
    cons = LinearConstraint(np.array(rows), lo, hi)
    pinned = []
    for a, c in targets:
        lo_v = milp(a, constraints=cons, integrality=np.ones(nvar), bounds=Bounds(0, np.inf))
        hi_v = milp(-a, constraints=cons, integrality=np.ones(nvar), bounds=Bounds(0, np.inf))
        assert lo_v.status == 0 and hi_v.status == 0
        if round(lo_v.fun) == round(-hi_v.fun):
            pinned.append((c.gi, c.ei))
    return pinned


def _random_table(n_rows, n_cols, values):
    """A crosstab with its margins and an exact grand total, protected by the release (every part
    broken down, however few its records: the threshold is then the only floor)."""
    counts = np.array(values, dtype=np.int64).reshape(n_rows, n_cols)
    groups, cats = [f"g{i}" for i in range(n_rows)], [f"c{j}" for j in range(n_cols)]
    family = Family("t", "t", "m", "true", (("category", "c"),), characteristics=("sex",))
    q = date(2024, 4, 1)
    period = ReleasePeriod("P", 2024, q, date(2024, 6, 1), (q,), False)
    views = {(FORCE, "sex", None): View(FORCE, "sex", None, [ALL], groups, [ALL], counts.sum(axis=1).reshape(1, 1, -1, 1)),
             (FORCE, "sex", "category"): View(FORCE, "sex", "category", [ALL], groups, cats,
                                              counts.reshape(1, 1, n_rows, n_cols))}
    year = YearRelease(family, 2024, (period,), [q], views, Settings(min_breakdown=0))
    keys = []
    for gs in [[g] for g in groups] + [None]:
        for j in [*range(n_cols), None]:
            pred = None if j is None else (lambda e, j=j: e == cats[j])
            keys.append(year.cell(period, FORCE, ALL, "sex", gs, "category", pred).key)
    year.tables[("crosstab", "P", FORCE, ALL, "sex")] = keys
    audit = protect_year(year, {"nesting": []})
    return audit, [year.cells[k] for k in keys]


TABLES = st.tuples(st.integers(2, 4), st.integers(2, 3)).flatmap(
    lambda rc: st.tuples(st.just(rc[0]), st.just(rc[1]),
                         st.lists(st.integers(0, 14), min_size=rc[0] * rc[1], max_size=rc[0] * rc[1])))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TABLES)
@example((2, 2, [0, 0, 0, 1]))  # CI's find: one record; the zeros told its group and category
@example((2, 3, [0, 0, 3, 0, 0, 9]))  # a category's total (3) all in one group, the rest 0
@example((3, 2, [0, 2, 0, 3, 0, 4]))  # a whole category small, spread over three groups
@example((2, 2, [0, 0, 7, 7]))  # CI's second find: two small category totals that add up to the exact 14
def test_no_random_table_with_its_margins_gives_a_small_count_back(table):
    """Every hidden small count still takes at least two values for an integer attacker who sees
    every published cell (and knows which hidden ones are the small ones)."""
    n_rows, n_cols, values = table
    audit, cells = _random_table(n_rows, n_cols, values)
    assert not audit.at_risk
    assert _attack(cells, n_rows, n_cols) == []


def test_a_table_of_one_record_is_not_broken_down():
    """Seven records or fewer in the whole part: withheld, even with min_breakdown set to 0."""
    audit, cells = _random_table(2, 2, [0, 0, 0, 1])
    assert [c.status for c in cells] == ["withheld"] * 8 + ["exact"]


def test_small_category_totals_with_nothing_left_to_hide_are_withheld():
    """Categories 7 and 7 of an exact 14: each total over groups is small and, hidden, pinned by
    the other (both are 1-7 and add up to 14). Nothing shown is left to hide, so the categories of
    everyone are withheld; the breakdown by sex stays (each of its small counts can still be 1-7)."""
    audit, cells = _random_table(2, 2, [0, 0, 7, 7])
    assert [c.status for c in cells] == ["secondary"] * 3 + ["primary"] * 2 + ["secondary", "withheld", "withheld", "exact"]
    assert audit.at_risk == []
    assert part_of(cells[6].key) == ("P", FORCE, ALL, "*category")
    assert part_of(cells[8].key) is None


def test_the_attacker_pins_a_row_total_the_old_way():
    """The issue's example: Asian, Mixed, Not stated hidden, White 9, total 12 (1-4 known): each
    hidden cell is 1. Shown unprotected to the attacker above, it is pinned; the release is not."""
    from types import SimpleNamespace as NS

    view = ("force", "g", "e")
    cells = [NS(status="primary", shown=None, gi=(i,), ei=(0,), view=view) for i in range(3)]
    cells += [NS(status="exact", shown=9, gi=(3,), ei=(0,), view=view),
              NS(status="exact", shown=12, gi=(0, 1, 2, 3), ei=(0,), view=view)]
    assert len(_attack(cells, 4, 1)) == 3


def test_period_named_accepts_the_short_label_of_a_complete_year(wh):
    assert period_named(wh, "FY2024/25").label == "FY2024/25"
    with pytest.raises(FilterError, match="not a released period"):
        period_named(wh, "last year")
