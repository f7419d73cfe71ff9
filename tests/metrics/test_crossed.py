"""Any two characteristics crossed (`-c ethnicity_group,disability`): cells, the reference cell of
both references, the same tests and adjustment, the Overall row beside the cells, tidy columns kept
for disclosure control, and the planted intersection recovered."""

from __future__ import annotations

import polars as pl
import pytest
from typer.testing import CliRunner

from dashboard.cli import app
from metrics import queries as q
from metrics.crossing import OVERALL, with_overall
from metrics.queries import FilterError, Filters
from metrics.rates import proportion_table
from metrics.tables import REGISTRY, TIDY, get_table
from metrics.tidy import TIDY_COLUMNS
from metrics.warehouse import Warehouse


def test_crossed_names_are_checked_and_the_reference_is_both_references():
    assert q.characteristic_parts("ethnicity_group,disability") == ("ethnicity_group", "disability")
    assert q.reference_group("ethnicity_group,disability") == "White x Not disabled"
    assert q.reference_group("sex,religion") == "Male x Christian"
    assert not q.is_crossed("sex") and q.is_crossed("sex, age_band")
    for bad, message in (("sex,sex", "crosses sex with itself"), ("sex,height", "unknown characteristic 'height'"),
                         ("sex,age_band,religion", "cross at most two")):
        with pytest.raises(FilterError, match=message):
            q.characteristic_column(bad)


def test_crossed_proportions_pinned_to_scipy_with_the_overall_row():
    cells = pl.DataFrame({"group": ["Black x Male", "Not stated", "White x Female", "White x Male"],
                          "n": [8, 28, 99, 119], "events": [2, 16, 25, 43]})
    table = proportion_table(cells, characteristic="ethnicity_group,sex",
                             reference_group=q.reference_group("ethnicity_group,sex"))
    table = with_overall(table)
    rows = {r["group"]: r for r in table.iter_rows(named=True)}
    white_f, black_m = rows["White x Female"], rows["Black x Male"]
    # scipy.stats.contingency.relative_risk(25, 99, 43, 119): 0.6988489546629082, CI (0.46165290911123746, 1.0579157020231398)
    assert white_f["ratio"] == pytest.approx(0.6988489546629082, rel=1e-9)
    assert (white_f["ratio_ci_low"], white_f["ratio_ci_high"]) == pytest.approx((0.46165290911123746, 1.0579157020231398), rel=1e-9)
    # scipy.stats.chi2_contingency([[25, 74], [43, 76]], correction=False).pvalue
    assert white_f["p_value"] == pytest.approx(0.08421568394754125, rel=1e-9)
    # scipy.stats.fisher_exact([[2, 6], [43, 76]]).pvalue (an expected count under 5)
    assert black_m["p_value"] == pytest.approx(0.7111351475758094, rel=1e-9)
    # statsmodels multipletests([0.0842..., 0.7111...], method="holm")[1]: Not stated is not in the family
    assert (white_f["p_adjusted"], black_m["p_adjusted"]) == pytest.approx((0.16843137, 0.71113515), rel=1e-7)
    assert rows["Not stated"]["p_adjusted"] is None and rows["White x Male"]["is_reference"]
    overall = rows[OVERALL]
    assert (overall["n"], overall["events"], overall["ratio"], overall["p_value"]) == (254, 86, None, None)
    # scipy.stats.binomtest(86, 254).proportion_ci(method="wilson")
    assert (overall["ci_low"], overall["ci_high"]) == pytest.approx((0.28317556428950286, 0.39879955183399174), rel=1e-9)
    assert table["group"][0] == OVERALL and table.columns[:len(TIDY_COLUMNS)] == list(TIDY_COLUMNS)


@pytest.fixture(scope="module")
def wh(small_warehouse):
    with Warehouse(small_warehouse) as w:
        yield w


def test_crossed_cells_equal_a_recount_and_scipy(wh):
    from scipy import stats

    table = get_table(wh, "grievance_outcomes", Filters(characteristic="sex,disability"))
    recount = wh.query("""select sex, disability, count(*)::bigint as n, count(*) filter (where is_upheld)::bigint as events
                          from fct_grievance_outcomes where not is_open group by all""")
    recount = recount.with_columns(
        pl.when(pl.col("disability") == "Not stated").then(pl.lit("Not stated"))
        .otherwise(pl.col("sex") + " x " + pl.col("disability")).alias("group")
    ).group_by("group").agg(pl.col("n").sum(), pl.col("events").sum())
    ours = table.filter(pl.col("group") != OVERALL).select("group", "n", "events").sort("group")
    assert ours.rows() == recount.sort("group").select("group", "n", "events").rows()
    overall = table.filter(pl.col("group") == OVERALL).row(0, named=True)
    assert (overall["n"], overall["events"]) == (recount["n"].sum(), recount["events"].sum())
    ref = table.filter(pl.col("group") == "Male x Not disabled").row(0, named=True)
    for row in table.filter(pl.col("p_value").is_not_null()).iter_rows(named=True):
        grid = [[row["events"], row["n"] - row["events"]], [ref["events"], ref["n"] - ref["events"]]]
        expected = stats.contingency.expected_freq(grid)
        p = stats.fisher_exact(grid).pvalue if (expected < 5).any() else stats.chi2_contingency(grid, correction=False).pvalue
        assert row["p_value"] == pytest.approx(p, rel=1e-9), row["group"]


def test_every_tidy_table_takes_two_characteristics_and_stays_tidy_for_every_role(wh):
    f = Filters(characteristic="ethnicity_group,disability")
    for name, spec in REGISTRY.items():
        if spec.disclosure != TIDY or not spec.uses_characteristic or name in ("recruitment_funnel", "outreach"):
            continue
        for role in ("analyst", "board"):
            table = get_table(wh, name, f, role=role)
            assert table.columns[:len(TIDY_COLUMNS)] == list(TIDY_COLUMNS), (name, role)
            if table.height:
                assert OVERALL in table["group"].to_list(), name
                assert table.filter(pl.col("group") == OVERALL)["p_adjusted"].null_count() == \
                    table.filter(pl.col("group") == OVERALL).height
                groups = set(table["group"]) - {OVERALL, "Not stated"}
                assert all(" x " in g for g in groups), (name, groups)
    # applications hold only ethnicity and sex: those two cross, others say why not
    table = get_table(wh, "recruitment_funnel", Filters(characteristic="ethnicity_group,sex"))
    assert "Black x Female" in table["group"].to_list()
    with pytest.raises(FilterError, match="applications record only"):
        get_table(wh, "outreach", f)


def test_staff_associations_get_no_crossed_tables(wh):
    """Crossing two characteristics multiplies the small cells: the protected release breaks down
    by one characteristic at a time (ethnic group x sex, a characteristic of its own, apart)."""
    with pytest.raises(FilterError, match="one characteristic at a time"):
        get_table(wh, "grievance_outcomes", Filters(characteristic="sex,disability"), role="staff_association")


def test_planted_intersection_recovered(wh):
    # grievance rate: women x1.5 and Black x2.0 against White men, so Black women x3.0 (planted)
    table = get_table(wh, "grievance_rates", Filters(characteristic="ethnicity_group,sex"))
    black_women = table.filter(pl.col("group") == "Black x Female").row(0, named=True)
    assert black_women["ratio_ci_low"] < 3.0 < black_women["ratio_ci_high"]
    assert black_women["is_significant"]
    assert table.filter(pl.col("group") == "White x Male")["is_reference"][0]


def test_cli_prints_a_crossed_table(small_warehouse):
    result = CliRunner().invoke(app, ["table", "misconduct_rates", "-c", "ethnicity_group,disability", "--format", "csv",
                                      "--db", str(small_warehouse)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("\"ethnicity_group,disability\",Overall,")
    assert any(line.startswith("\"ethnicity_group,disability\",White x Not disabled,") for line in lines)
    bad = CliRunner().invoke(app, ["table", "misconduct_rates", "-c", "sex,sex", "--db", str(small_warehouse)])
    assert bad.exit_code == 2 and "crosses sex with itself" in bad.output
