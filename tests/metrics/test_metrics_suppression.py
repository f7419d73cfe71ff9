"""suppression.py: primary and secondary suppression, examples and hypothesis properties."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.rates import exposure_rate_table, proportion_table
from metrics.suppression import suppress_counts, suppress_crosstab, suppress_tidy
from metrics.tidy import TOO_FEW, concat_tidy, validate_tidy

T = 5
FAST = settings(derandomize=True, max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def table(rows, characteristic="ethnicity_group", reference="g0"):
    frame = pl.DataFrame(rows, schema={"group": pl.String, "n": pl.Int64, "events": pl.Int64}, orient="row")
    return proportion_table(frame, characteristic=characteristic, reference_group=reference)


def by_group(frame):
    return {r["group"]: r for r in frame.iter_rows(named=True)}


def test_small_events_hidden_with_secondary_and_statistics_nulled():
    out = suppress_tidy(table([("White", 225, 12), ("Black", 75, 10), ("Asian", 40, 3), ("Other", 60, 9)],
                              reference="White"))
    validate_tidy(out)
    rows = by_group(out)
    assert rows["Asian"]["events_display"] == "<5" and rows["Asian"]["events"] is None
    assert rows["Asian"]["n_display"] == "40" and rows["Asian"]["n"] == 40
    assert rows["Asian"]["rate"] is None and rows["Asian"]["ratio"] is None and rows["Asian"]["p_value"] is None
    assert rows["Asian"]["note"] == TOO_FEW and rows["Asian"]["is_suppressed"] is True
    # secondary: the next-smallest non-reference events cell (Other, 9) is hidden as well
    assert rows["Other"]["events_display"] == "[c]" and rows["Other"]["is_suppressed"] is True
    assert "cannot be worked out from the total" in rows["Other"]["note"]
    assert rows["Black"]["events"] == 10 and rows["Black"]["ratio"] == pytest.approx(2.5)


def test_complement_is_protected():
    # 20 people, 18 with the outcome reveals 2 without it
    rows = by_group(suppress_tidy(table([("White", 300, 30), ("Black", 20, 18), ("Asian", 50, 10)], reference="White")))
    assert rows["Black"]["events"] is None and rows["Black"]["events_display"] == "[c]"
    assert rows["Black"]["n"] == 20 and rows["Black"]["note"] == TOO_FEW


def test_hidden_reference_hides_every_ratio():
    rows = by_group(suppress_tidy(table([("White", 3, 1), ("Black", 80, 10), ("Asian", 90, 12)], reference="White")))
    assert rows["White"]["is_suppressed"] is True
    assert all(rows[g]["ratio"] is None and rows[g]["p_value"] is None for g in ("Black", "Asian"))
    assert rows["Asian"]["rate"] == pytest.approx(12 / 90)  # rates themselves are still safe
    assert "reference group too small" in rows["Asian"]["note"]


def test_tiny_group_flagged_by_metric_loses_statistics_not_counts():
    rows = by_group(suppress_tidy(table([("White", 300, 30), ("Mixed", 8, 6)], reference="White")))
    # n = 8 < min_n = 10 (note from proportion_table); counts 8 and 6 (complement 2 -> hidden)
    assert rows["Mixed"]["rate"] is None and rows["Mixed"]["is_suppressed"] is True


def test_round_style_rounds_visible_counts_to_five():
    rows = by_group(suppress_tidy(table([("White", 223, 12), ("Black", 77, 18), ("Asian", 40, 3),
                                         ("Other", 61, 9)], reference="White"), style="round"))
    assert (rows["White"]["n_display"], rows["White"]["events_display"]) == ("225", "10")
    assert (rows["Black"]["n"], rows["Black"]["events"]) == (75, 20)
    assert rows["Black"]["rate"] == pytest.approx(18 / 77)  # rates from unrounded values
    assert rows["Asian"]["events_display"] == "<5"


def test_suppress_zeros_option():
    rows = table([("White", 300, 30), ("Black", 60, 0), ("Asian", 70, 12)], reference="White")
    assert by_group(suppress_tidy(rows))["Black"]["events_display"] == "0"
    shown = by_group(suppress_tidy(rows, suppress_zeros=True))
    assert shown["Black"]["events_display"] == "<5" and shown["Asian"]["events_display"] == "[c]"


def test_exposure_tables_protect_events_only():
    frame = pl.DataFrame({"group": ["White", "Black", "Asian"], "events": [100, 3, 20],
                          "exposure": [20000.0, 3.5, 3000.0]})
    rows = by_group(suppress_tidy(exposure_rate_table(frame, characteristic="e", reference_group="White")))
    assert rows["Black"]["n_display"] == "4" and rows["Black"]["events_display"] == "<5"
    assert rows["Black"]["rate_per_1000"] is None and rows["Asian"]["events_display"] == "[c]"


def test_single_row_table_says_total_must_go():
    out = suppress_tidy(table([("g0", 3, 1)]))
    assert "the table total must be hidden too" in out["note"][0]


def test_crosstab_example():
    frame = pl.DataFrame({"eth": ["W", "W", "B", "B", "A", "A"], "sex": ["M", "F"] * 3, "k": [100, 80, 3, 20, 12, 15]})
    out = {(r["eth"], r["sex"]): r for r in suppress_crosstab(frame, row="eth", col="sex", value="k").iter_rows(named=True)}
    assert out[("B", "M")]["value_display"] == "<5"
    assert out[("B", "F")]["is_suppressed"] and out[("A", "M")]["is_suppressed"] and out[("A", "F")]["is_suppressed"]
    assert out[("B", "Total")]["k"] == 23 and out[("Total", "Total")]["k"] == 230
    assert out[("W", "M")]["k"] == 100


def test_suppress_counts_one_way():
    frame = pl.DataFrame({"area": ["a"] * 3 + ["b"] * 2, "outcome": ["x", "y", "z", "x", "y"], "k": [2, 30, 9, 40, 50]})
    out = suppress_counts(frame, by=["area"], value="k")
    assert out["value_display"].to_list() == ["<5", "30", "[c]", "40", "50"]
    assert out["k"].to_list() == [None, 30, None, 40, 50]


# --- properties -----------------------------------------------------------------------------

group_counts = st.tuples(st.integers(0, 40), st.integers(0, 40)).map(lambda t: (max(t), min(t)))
partition = st.lists(group_counts, min_size=2, max_size=7)


def _check_tidy(original, out, style):
    truth = {(r["characteristic"], r["group"]): (r["n"], r["events"]) for r in original.iter_rows(named=True)}
    shown = (lambda v: v) if style == "mask" else (lambda v: (v + 2) // 5 * 5)
    for characteristic, part in out.group_by("characteristic"):
        hidden_n = hidden_e = hidden_c = 0
        for r in part.iter_rows(named=True):
            n, e = truth[(r["characteristic"], r["group"])]
            if r["n"] is not None:
                assert not 0 < n < T and r["n"] == shown(n)
            if r["events"] is not None:
                assert not 0 < e < T and r["events"] == shown(e)
            if r["n"] is not None and r["events"] is not None:
                assert not 0 < n - e < T
            else:
                assert r["rate"] is None and r["ratio"] is None and r["p_value"] is None and r["is_suppressed"]
            hidden_n += r["n"] is None
            hidden_e += r["events"] is None
            hidden_c += r["n"] is None or r["events"] is None
        # no total minus the visible cells reveals a single hidden one
        assert 1 not in (hidden_n, hidden_e, hidden_c), characteristic
        # a hidden reference group takes every ratio in its table with it
        ref = part.filter(pl.col("is_reference"))
        if ref.height and (ref["n"][0] is None or ref["events"][0] is None):
            assert part["ratio"].is_null().all() and part["p_value"].is_null().all()


@FAST
@given(st.lists(partition, min_size=1, max_size=3), st.sampled_from(["mask", "round"]))
def test_property_tidy_no_small_visible_and_no_single_hidden_cell(parts, style):
    tables = [table([(f"g{i}", n, e) for i, (n, e) in enumerate(p)], characteristic=f"c{j}")
              for j, p in enumerate(parts)]
    original = concat_tidy(tables)
    _check_tidy(original, suppress_tidy(original, style=style), style)


@FAST
@given(st.lists(st.lists(st.integers(0, 25), min_size=1, max_size=4), min_size=1, max_size=4).filter(
    lambda m: len({len(r) for r in m}) == 1), st.sampled_from(["mask", "round"]))
def test_property_crosstab_lines_never_have_one_hidden_cell(matrix, style):
    records = [{"r": f"r{i}", "c": f"c{j}", "k": v} for i, row in enumerate(matrix) for j, v in enumerate(row)]
    out = suppress_crosstab(pl.DataFrame(records), row="r", col="c", value="k", style=style)
    R, C = len(matrix), len(matrix[0])
    assert out.height == (R + 1) * (C + 1)
    truth = {(f"r{i}", f"c{j}"): v for i, row in enumerate(matrix) for j, v in enumerate(row)}
    for i, row in enumerate(matrix):
        truth[(f"r{i}", "Total")] = sum(row)
    for j in range(C):
        truth[("Total", f"c{j}")] = sum(row[j] for row in matrix)
    truth[("Total", "Total")] = sum(map(sum, matrix))
    for r in out.iter_rows(named=True):
        true = truth[(r["r"], r["c"])]
        if r["is_suppressed"]:
            assert r["k"] is None and r["value_display"] in ("<5", "[c]")
        else:
            assert not 0 < true < T
            assert r["k"] == (true if style == "mask" else (true + 2) // 5 * 5)
    for key in ("r", "c"):
        for _, line in out.group_by(key):
            assert line["is_suppressed"].sum() != 1
