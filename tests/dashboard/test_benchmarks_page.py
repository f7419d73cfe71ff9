"""The Benchmarks page (streamlit's AppTest) shows exactly get_table's force_representation rows for
the chosen rank, year and group, for every role: staff associations the disclosure-controlled ones."""

from __future__ import annotations

import polars as pl
import pytest
from test_app import assert_clean, run_page, shown_frames

from dashboard import charts
from metrics.benchmarks import PUBLISHED
from metrics.config import AGGREGATE_LABEL
from metrics.queries import Filters
from metrics.tables import get_table


@pytest.mark.parametrize("role", ["board", "staff_association", "analyst"])
def test_benchmarks_page_shows_the_published_forces_for_the_chosen_year(role, app_env, warehouse):
    at = app_env(role)
    at.run()
    run_page(at, "benchmarks")
    assert_clean(at, f"{role}/benchmarks")
    assert at.title[0].value == "Benchmarks"
    # first view: All ranks, the latest published year for it (2006), the four groups together
    chosen = [at.selectbox(key=k).value for k in ("bench_rank", "bench_year", "bench_group")]
    assert chosen == ["All ranks", 2006, AGGREGATE_LABEL]
    table = get_table(warehouse, "force_representation", Filters(), role=role)
    want = table.filter(pl.col("source") == PUBLISHED, pl.col("rank") == "All ranks", pl.col("year") == 2006,
                        pl.col("group") == AGGREGATE_LABEL)
    assert want.height == 43
    expected, _ = charts.display_frame(want)
    frames = shown_frames(at)
    assert any(list(f.columns) == list(expected.columns) and len(f) == 43
               and f.reset_index(drop=True).equals(expected.to_pandas().reset_index(drop=True)) for f in frames)
    text = " ".join(m.value for m in at.markdown)
    assert "forces had fewer all ranks officers from this group than their population would suggest" in text
    # every one of the 43 forces is below its population's share beyond the 95% limit in 2006
    assert want.filter(pl.col("flag").is_in(["below 95% limit", "below 99.8% limit"])).height == int(
        text.split("In 2006, ")[1].split(" of ")[0])


@pytest.mark.parametrize("role", ["board", "analyst"])  # staff associations: one characteristic at a time
def test_every_page_takes_two_characteristics_crossed(role, app_env, warehouse, default_filters):
    """'Crossed with' in the sidebar: every page renders, and Grievances shows the crossed table
    with its Overall row exactly as get_table gives it."""
    at = app_env(role)
    at.run()
    at.selectbox(key="crossed").set_value("disability").run()
    f = default_filters.with_(characteristic="ethnicity_group,disability")
    for page in ("grievances", "misconduct", "recruitment", "acting_up"):
        run_page(at, page)
        assert_clean(at, f"{role}/{page} crossed")
    run_page(at, "grievances")
    want, _ = charts.display_frame(get_table(warehouse, "grievance_outcomes", f, role=role), name="grievance_outcomes")
    frames = shown_frames(at)
    assert any(list(g.columns) == list(want.columns) and len(g) == want.height
               and g.reset_index(drop=True).equals(want.to_pandas().reset_index(drop=True)) for g in frames)
    assert "Overall" in want["Group"].to_list() and "White x Not disabled" in want["Group"].to_list()
