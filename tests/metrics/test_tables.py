"""The table registry on a real (small) warehouse: every table for every role, disclosure control
where the data is fetched, clear results for edge-case filters, and `eqdash table` printing the
same numbers."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from pathlib import Path

import numpy as np
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
FY = Filters(start=date(2025, 4, 1), end=date(2026, 3, 1))  # a released period: FY2025/26
EXACT_FOR_EVERYONE = ("grievance_funnel", "spoc_trend", "force_representation", "representation")


@pytest.mark.parametrize("name", sorted(REGISTRY))
@pytest.mark.parametrize("role", ["analyst", "board", "staff_association"])
def test_every_table_runs_for_every_role(wh, name, role):
    spec = REGISTRY[name]
    f = FY if role == "staff_association" else LAST_YEAR
    if not spec.allowed(role):
        with pytest.raises(AccessDenied, match="row per person|not in the restricted release"):
            get_table(wh, name, f, role=role)
        return
    frame = get_table(wh, name, f, role=role)
    assert isinstance(frame, pl.DataFrame)
    if role == "staff_association" and name not in EXACT_FOR_EVERYONE:
        _assert_nothing_disclosive(frame)


def _assert_nothing_disclosive(frame: pl.DataFrame) -> None:
    """No person id anywhere; every visible count 0 or a multiple of 5 from 10 (counts of 1-7 hidden,
    the rest rounded to 5: metrics/release.py)."""
    for col, dtype in frame.schema.items():
        if dtype == pl.String:
            assert not frame[col].drop_nulls().str.contains(r"^P\d{7}$").any(), col
    counts = [c for c in ("n", "events", "value", "n_pending") if c in frame.columns]
    for col in counts:
        if "exposure" in frame.columns and col == "n":
            continue  # person-years, not people
        values = frame[col].drop_nulls()
        assert ((values == 0) | ((values >= 10) & (values % 5 == 0))).all(), (col, values.to_list())


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
    raw = get_table(wh, "grievance_outcomes", FY, role="analyst")
    shown = get_table(wh, "grievance_outcomes", FY, role="staff_association")
    assert sorted(raw["group"].to_list()) == sorted(shown["group"].to_list())
    small = raw.filter(pl.col("n").is_between(1, 7) | pl.col("events").is_between(1, 7))["group"].to_list()
    assert small, "the small sample's year should have small groups to hide"
    hidden = shown.filter(pl.col("is_suppressed"))
    assert set(small) <= set(hidden["group"].to_list())
    # a hidden group shows no rate, ratio or p-value
    assert hidden.select("rate", "ratio", "p_value", "p_adjusted").null_count().min_horizontal().item() == hidden.height


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
                           "--format", "json", "--period", "FY2025/26"))
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


# ---------------------------------------------------------------------------------------------
# misconduct_area_disparity: one row per business area and group
# ---------------------------------------------------------------------------------------------

AREA_TABLE = "misconduct_area_disparity"


def test_area_disparity_matches_scipy_for_one_area(wh):
    from scipy import stats
    from statsmodels.stats.multitest import multipletests

    table = get_table(wh, AREA_TABLE)
    # the area with most Black referrals; its cells counted the plain way (no pre-aggregation)
    area = wh.query("""select business_area_code from fct_misconduct_referrals where ethnicity_group = 'Black'
                       group by all order by count(*) desc, business_area_code limit 1""").item()
    days = dict(wh.query("""select d.ethnicity_group, sum(pm.exposure_days)::bigint from fct_person_time as pm
                            inner join dim_person as d using (person_id) where pm.business_area_code = ?
                            group by all""", [area]).iter_rows())
    events = dict(wh.query("""select ethnicity_group, count(*) from fct_misconduct_referrals
                              where business_area_code = ? group by all""", [area]).iter_rows())
    rows = {r["group"]: r for r in table.filter(pl.col("business_area_code") == area).iter_rows(named=True)}
    assert set(rows) == set(days)
    k0, e0 = events.get("White", 0), days["White"] / 365.25
    z = stats.norm.ppf(0.975)
    for group, row in rows.items():
        k, e = events.get(group, 0), days[group] / 365.25
        assert (row["events"], row["exposure"]) == (k, pytest.approx(e, rel=1e-12))
        assert row["rate"] == pytest.approx(k / e, rel=1e-12)
        # Garwood: chi2.ppf(0.025, 2k) / 2 / E, chi2.ppf(0.975, 2k + 2) / 2 / E
        low = stats.chi2.ppf(0.025, 2 * k) / 2 / e if k else 0.0
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, stats.chi2.ppf(0.975, 2 * k + 2) / 2 / e),
                                                                rel=1e-12)
        if group == "White":
            assert row["ratio"] == 1.0 and row["p_value"] is None
            continue
        irr = (k / e) / (k0 / e0)
        half = z * (1 / k + 1 / k0) ** 0.5
        assert row["ratio"] == pytest.approx(irr, rel=1e-12)
        assert (row["ratio_ci_low"], row["ratio_ci_high"]) == pytest.approx(
            (irr * float(np.exp(-half)), irr * float(np.exp(half))), rel=1e-12)
        # scipy.stats.binomtest(k, k + k0, E / (E + E0)).pvalue: the exact conditional test
        assert row["p_value"] == pytest.approx(stats.binomtest(k, k + k0, e / (e + e0)).pvalue, rel=1e-12)
    # Holm across every stated comparison in the table (all areas): one family
    family = table.filter(pl.col("p_adjusted").is_not_null())
    assert family.filter(pl.col("is_reference") | pl.col("is_not_stated")).height == 0
    assert family.height == table.filter(~pl.col("is_reference") & ~pl.col("is_not_stated")
                                         & pl.col("p_value").is_not_null()).height
    holm = multipletests(family["p_value"].to_numpy(), method="holm")[1]
    assert family["p_adjusted"].to_numpy() == pytest.approx(holm, rel=1e-12)
    assert family["method"].str.ends_with(f"; Holm across all business areas ({family.height} comparisons)").all()


@pytest.mark.parametrize("characteristic", ["ethnicity_group", "sex", "rank_grade", "age_band"])
def test_area_disparity_respects_period_and_worker_type(wh, characteristic):
    # fixed characteristics come from dim_person, time-varying ones (rank, age) from fct_person_time
    f = LAST_YEAR.with_(worker_type="Police officer", characteristic=characteristic)
    table = get_table(wh, AREA_TABLE, f)
    referrals = wh.query("""select count(*) from fct_misconduct_referrals
                            where referral_month between ? and ? and worker_type = ?""",
                         [f.start, f.end, f.worker_type]).item()
    assert table["events"].sum() == referrals
    # summed over areas, each group's events and person-years are misconduct_rates' for the same filters
    by_group = table.group_by("group").agg(pl.col("events").sum(), pl.col("exposure").sum())
    force = get_table(wh, "misconduct_rates", f).select("group", "events", "exposure")
    joined = force.join(by_group, on="group", suffix="_areas")
    assert joined.height == force.height == by_group.height
    assert joined["events"].to_list() == joined["events_areas"].to_list()
    assert joined["exposure"].to_numpy() == pytest.approx(joined["exposure_areas"].to_numpy(), rel=1e-12)
    assert (table["characteristic"] == characteristic).all()
    one = get_table(wh, AREA_TABLE, f.with_(area=table["business_area_code"][0]))
    assert one["business_area_code"].unique().to_list() == [table["business_area_code"][0]]


def test_area_disparity_is_suppressed_area_by_area(wh):
    raw = get_table(wh, AREA_TABLE, FY)
    shown = get_table(wh, AREA_TABLE, FY, role="staff_association")
    assert shown.equals(get_table(wh, AREA_TABLE, FY, suppressed=True))
    assert raw["events"].is_between(1, 7).any(), "the small sample's year should have small cells"
    _assert_nothing_disclosive(shown)
    # every area's small counts are hidden; what stays may not pin them (the release audit checks it)
    assert set(raw.filter(pl.col("events").is_between(1, 7)).select("business_area_code", "group").iter_rows()) <= \
        set(shown.filter(pl.col("events").is_null()).select("business_area_code", "group").iter_rows())
    withheld = shown.filter(pl.col("is_suppressed"))
    assert withheld.select("rate", "ratio", "p_value").null_count().min_horizontal().item() == withheld.height


def test_area_disparity_is_listed_by_eqdash_tables():
    from metrics.tables import REGISTRY

    assert REGISTRY[AREA_TABLE].disclosure == TIDY
    result = CliRunner().invoke(app, ["tables"], terminal_width=200)
    assert result.exit_code == 0 and AREA_TABLE in result.output


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
