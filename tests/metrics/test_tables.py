"""The table registry on a real (small) warehouse: every table for every role, disclosure control
where the data is fetched, clear results for edge-case filters, and `eqdash table` printing the
same numbers."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from dashboard.cli import app
from metrics.queries import FilterError, Filters
from metrics.tables import CROSSTAB, PERSON_LEVEL, REGISTRY, TIDY, AccessDenied, get_table
from metrics.warehouse import Warehouse

PERSON_ID = re.compile(r"^P\d{7}$")


@pytest.fixture(scope="module")
def wh(small_warehouse):
    with Warehouse(small_warehouse) as w:
        yield w


LAST_YEAR = Filters(start=date(2025, 11, 1), end=date(2026, 10, 1))


@pytest.mark.parametrize("name", sorted(REGISTRY))
@pytest.mark.parametrize("role", ["analyst", "board", "staff_association"])
def test_every_table_runs_for_every_role(wh, name, role):
    spec = REGISTRY[name]
    if not spec.allowed(role):
        with pytest.raises(AccessDenied, match="row per person"):
            get_table(wh, name, LAST_YEAR, role=role)
        return
    frame = get_table(wh, name, LAST_YEAR, role=role)
    assert isinstance(frame, pl.DataFrame)
    if role == "staff_association":
        _assert_nothing_disclosive(frame)


def _assert_nothing_disclosive(frame: pl.DataFrame) -> None:
    """No person id anywhere, and no visible count in 1..4 (nor n - events in 1..4)."""
    for col, dtype in frame.schema.items():
        if dtype == pl.String:
            assert not frame[col].drop_nulls().str.contains(r"^P\d{7}$").any(), col
    counts = [c for c in ("n", "events", "value") if c in frame.columns]
    for col in counts:
        visible = frame.filter(~pl.col("is_suppressed")) if "is_suppressed" in frame.columns else frame
        if "exposure" in frame.columns and col == "n":
            continue  # person-years, not people
        assert not visible[col].drop_nulls().is_between(1, 4).any(), (col, visible)
    if {"n", "events", "is_suppressed"} <= set(frame.columns) and "exposure" not in frame.columns:
        visible = frame.filter(~pl.col("is_suppressed")).drop_nulls(["n", "events"])
        assert not (visible["n"] - visible["events"]).is_between(1, 4).any()


def test_staff_association_cannot_see_quarantined_rows(wh):
    assert REGISTRY["quarantine"].disclosure == PERSON_LEVEL
    with pytest.raises(AccessDenied):
        get_table(wh, "quarantine", role="staff_association")
    with pytest.raises(AccessDenied):
        get_table(wh, "quarantine", role="board")


def test_unknown_role_table_and_characteristic_are_clear_errors(wh):
    with pytest.raises(AccessDenied, match="unknown role 'public'"):
        get_table(wh, "grievance_rates", role="public")
    with pytest.raises(FilterError, match="unknown table 'nope'"):
        get_table(wh, "nope")
    with pytest.raises(FilterError, match="unknown characteristic 'height'"):
        get_table(wh, "grievance_rates", Filters(characteristic="height"))
    with pytest.raises(FilterError, match="applications record only"):
        get_table(wh, "recruitment_funnel", Filters(characteristic="religion"))


def test_suppressed_grievance_outcomes_hide_small_groups(wh):
    raw = get_table(wh, "grievance_outcomes", LAST_YEAR, role="analyst")
    shown = get_table(wh, "grievance_outcomes", LAST_YEAR, role="staff_association")
    assert raw["group"].to_list() == shown["group"].to_list()
    small = raw.filter(pl.col("n").is_between(1, 4) | pl.col("events").is_between(1, 4)
                       | (pl.col("n") - pl.col("events")).is_between(1, 4))["group"].to_list()
    assert small, "the small sample's last year should have small groups to hide"
    hidden = shown.filter(pl.col("is_suppressed"))
    assert set(small) <= set(hidden["group"].to_list())
    # a hidden group shows no rate, ratio or p-value
    assert hidden.select("rate", "ratio", "p_value", "p_adjusted").null_count().min_horizontal().item() == hidden.height


def test_a_curve_is_drawn_only_for_groups_whose_counts_are_shown(wh):
    """Each step of a Kaplan-Meier curve is a closure: a curve shows its group's closed and open
    counts, so a group the time-to-resolve table hides ('<5' or '[c]') gets no curve either. At mps
    the staff associations saw 'Not stated' (12 cases, 4 open, events '[c]') drawn step by step;
    here, over all years, Female (2 open of 125) was drawn while the table hid its closures."""
    drawn_any = set()
    for characteristic in ("ethnicity_group", "sex", "age_band", "disability"):
        f = Filters(characteristic=characteristic)  # all years: enough cases for some curves
        counts = get_table(wh, "grievance_resolution", f, role="staff_association")
        curve = get_table(wh, "grievance_resolution_curve", f, role="staff_association")
        drawn = set(curve["group"])
        assert not drawn & set(counts.filter(pl.col("is_suppressed"))["group"]), characteristic
        assert drawn == set(counts.filter(~pl.col("is_suppressed") & (pl.col("n") >= 10))["group"]), characteristic
        assert "at_risk" not in curve.columns and "n_events" not in curve.columns
        assert set(get_table(wh, "grievance_resolution_curve", f, role="analyst", suppressed=True)["group"]) == drawn
        unsuppressed = set(get_table(wh, "grievance_resolution_curve", f, role="analyst")["group"])
        assert drawn <= unsuppressed
        drawn_any |= {(characteristic, g) for g in drawn}
        if characteristic == "sex":
            assert not drawn and unsuppressed == {"Female", "Male"}
    assert {("ethnicity_group", "Mixed"), ("age_band", "45-54"), ("disability", "Not disabled")} <= drawn_any


@pytest.mark.parametrize("name", [n for n, s in REGISTRY.items() if s.disclosure in (TIDY, CROSSTAB)])
def test_empty_period_gives_an_empty_table_not_an_error(wh, name):
    empty = Filters(start=date(2031, 1, 1), end=date(2031, 12, 1))
    frame = get_table(wh, name, empty, role="analyst")
    if "events" in frame.columns and frame.height:
        assert frame["events"].fill_null(0).sum() == 0


def test_area_with_no_grievances_in_a_month(wh):
    spoc = wh.query("""select business_area_code from fct_spoc_monthly
                       where month_start = date '2026-10-01' and n_raised = 0 and n_closed = 0 limit 1""")
    area = spoc.item()
    f = Filters(start=date(2026, 10, 1), end=date(2026, 10, 1), area=area)
    rates = get_table(wh, "grievance_rates", f)
    assert rates["events"].sum() == 0
    assert rates.filter(pl.col("rate").is_not_null())["rate"].max() == 0.0


def test_group_counts_sum_to_the_total(wh):
    """Arithmetic invariant: events by group add up to the grievances raised in the period."""
    rates = get_table(wh, "grievance_rates", LAST_YEAR)
    total = wh.query("select count(*) as n from fct_grievance_outcomes where raised_month between ? and ?",
                     [LAST_YEAR.start, LAST_YEAR.end])["n"].item()
    assert rates["events"].sum() == total
    for characteristic in ("sex", "disability", "religion", "ethnicity_sex", "age_band", "rank_grade"):
        by = get_table(wh, "grievance_rates", LAST_YEAR.with_(characteristic=characteristic))
        assert by["events"].sum() == total, characteristic


def test_misconduct_stage_denominators_are_the_previous_stage(wh):
    stages = get_table(wh, "misconduct_stages")
    counts = wh.query("""select ethnicity_group as g, count(*) filter (where is_investigated) as inv,
                                count(*) as ref from fct_misconduct_referrals group by all""")
    black = counts.filter(pl.col("g") == "Black").row(0, named=True)
    row = stages.filter((pl.col("stage") == "Investigated") & (pl.col("group") == "Black")).row(0, named=True)
    assert (row["n"], row["events"]) == (black["ref"], black["inv"])


def _cli(*args) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_prints_the_same_numbers_as_get_table(wh, small_warehouse):
    for name in ("grievance_outcomes", "misconduct_rates", "acting_up", "stride_status"):
        expected = get_table(wh, name, Filters(start=date(2024, 4, 1), end=date(2025, 3, 1)))
        printed = pl.read_csv(io.StringIO(_cli("table", name, "--db", str(small_warehouse), "--from", "2024-04",
                                                  "--to", "2025-03", "--format", "csv")),
                              schema_overrides=expected.schema)
        assert printed.equals(expected), name


def test_cli_suppressed_json_has_no_small_counts(small_warehouse):
    rows = json.loads(_cli("table", "grievance_outcomes", "--db", str(small_warehouse), "--suppressed",
                           "--format", "json", "--from", "2025-11", "--to", "2026-10"))
    _assert_nothing_disclosive(pl.DataFrame(rows))


def test_cli_bad_filters_exit_2_with_a_message(small_warehouse):
    runner = CliRunner()
    cases = [
        (["table", "nope", "--db", str(small_warehouse)], "unknown table 'nope'"),
        (["table", "grievance_rates", "--db", str(small_warehouse), "--from", "2024-13"],
         "--from must be a month like 2024-03, not '2024-13'"),
        (["table", "quarantine", "--db", str(small_warehouse), "--role", "staff_association"], "row per person"),
        (["table", "grievance_rates", "--db", "/nonexistent/x.duckdb"], "no warehouse at /nonexistent/x.duckdb"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.output.split()), (args, result.output)
        assert "Traceback" not in result.output


def test_readme_lists_every_table_with_its_title_and_disclosure():
    """The README's table of tables is the registry: same names, titles and disclosure kinds."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    listed = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[0].endswith("`"):
            listed[cells[0].strip("`")] = (cells[1], cells[2])
    expected = {name: (spec.title, spec.disclosure.replace("_", " ")) for name, spec in REGISTRY.items()}
    assert listed == expected
