"""Charts and number tables on hand-made tidy frames: colours by meaning, nothing hidden leaks."""

from __future__ import annotations

import json

import polars as pl

from dashboard import charts, theme
from metrics.tidy import tidy_frame

EXTRAS = ("reference_group", "is_reference", "is_not_stated", "note", "n_display", "events_display")


def frame():
    base = {"characteristic": "ethnicity_group", "reference_group": "White", "is_not_stated": False,
            "is_suppressed": False, "is_reference": False, "method": "Wilson; Katz log RR; chi-square; Holm"}
    return tidy_frame([
        {**base, "group": "White", "n": 400, "events": 40, "rate": 0.1, "ci_low": 0.074, "ci_high": 0.133,
         "ratio": 1.0, "is_reference": True, "n_display": "400", "events_display": "40"},
        {**base, "group": "Black", "n": 120, "events": 30, "rate": 0.25, "ci_low": 0.18, "ci_high": 0.33,
         "ratio": 2.5, "ratio_ci_low": 1.63, "ratio_ci_high": 3.83, "p_value": 0.00002, "p_adjusted": 0.00008,
         "is_significant": True, "n_display": "120", "events_display": "30"},
        {**base, "group": "Asian", "n": 150, "events": 12, "rate": 0.08, "ci_low": 0.046, "ci_high": 0.135,
         "ratio": 0.8, "ratio_ci_low": 0.43, "ratio_ci_high": 1.49, "p_value": 0.48, "p_adjusted": 0.96,
         "is_significant": False, "n_display": "150", "events_display": "12"},
        # Suppressed by disclosure control: counts and statistics already nulled, display strings only.
        {**base, "group": "Other", "is_suppressed": True, "note": "too few to report", "n_display": "<5",
         "events_display": "[c]"},
    ], extras=EXTRAS)


def test_ratio_chart_shows_the_verdict_by_shape_and_word_never_by_colour():
    fig = charts.ratio_chart(frame(), title="t")
    drawn = [tr for tr in fig.data if tr.mode != "text" and tr.x and tr.x[0] is not None]
    assert {tr.name: tr.marker.symbol for tr in drawn} == {
        "Higher than reference, significant after adjustment": "triangle-up",
        "Not significant after adjustment": "circle-open",
        "Reference group": "square-open",
    }
    assert {tr.marker.color for tr in drawn} == {charts.VERDICT_INK}  # one ink: colour carries no verdict
    black = next(tr for tr in drawn if tr.marker.symbol == "triangle-up")
    assert list(black.y) == ["Black"] and list(black.x) == [2.5]
    assert black.error_x.array[0] == 3.83 - 2.5 and black.error_x.arrayminus[0] == 2.5 - 1.63


def test_group_colours_are_distinct_and_black_is_not_the_alarm_colour():
    fixed = [theme.group_colour(g) for g in ("White", "Asian", "Black", "Mixed", "Other", "Not stated")]
    assert len(set(fixed)) == 6
    assert theme.group_colour("Black") != theme.VERMILLION and theme.VERMILLION not in fixed
    # Ethnicity x sex: ten groups, ten colours, none a fixed group's.
    others = [theme.group_colour(f"{e} {s}", i) for i, (e, s) in
              enumerate((e, s) for e in ("Asian", "Black", "Mixed", "Other", "White") for s in ("Female", "Male"))]
    assert len(set(others)) == 10 and not set(others) & set(theme.GROUP_COLOURS.values())


def test_suppressed_group_is_labelled_not_drawn_and_not_in_hover():
    for fig in (charts.ratio_chart(frame(), title="t"), charts.rate_chart(frame(), title="t", axis="%")):
        drawn = [y for tr in fig.data if getattr(tr, "mode", None) != "text" for y in (list(tr.y) + list(tr.x or []))]
        assert "Other" not in drawn
        labels = [(g, t) for tr in fig.data if getattr(tr, "mode", None) == "text"
                  for g, t in zip(tr.y if isinstance(tr.y[0], str) else tr.x, tr.text, strict=True)]
        assert labels == [("Other", "too few to report")]
        assert any("too few to report: Other" in (a.text or "") for a in fig.layout.annotations)


def test_crosstab_chart_draws_only_visible_cells_and_no_totals_in_hover():
    t = pl.DataFrame({
        "group": ["White", "White", "Black", "Black"], "category": ["Upheld", "Not upheld"] * 2,
        "n": [20, 30, None, 9], "value_display": ["20", "30", "<5", "9"],
        "is_suppressed": [False, False, True, False], "is_total": [False] * 4,
    })
    fig = charts.crosstab_chart(t, title="t")
    values = [v for tr in fig.data for v in tr.x]
    assert sorted(values) == [9, 20, 30]
    assert "1 cell(s) too few to report" in fig.layout.annotations[0].text


def test_display_frame_uses_human_labels_and_display_strings_for_counts():
    shown, formats = charts.display_frame(frame())
    assert shown.columns[:6] == ["Group", "Number", "Events", "Rate", "95% CI low", "95% CI high"]
    assert shown["Number"].to_list() == ["400", "120", "150", "<5"]
    assert shown["Events"].to_list() == ["40", "30", "12", "[c]"]
    assert formats == {} and all(dtype == pl.String for dtype in shown.schema.values())
    assert "Characteristic" not in shown.columns and "is_reference" not in shown.columns


def test_display_frame_writes_every_number_in_the_one_style():
    shown, _ = charts.display_frame(frame())
    assert shown["Ratio to reference"].to_list() == ["1.00", "2.50", "0.80", None]
    assert shown["Rate"].to_list() == ["10.0%", "25.0%", "8.0%", None]
    assert shown["p (raw)"].to_list() == [None, "< 0.001", "0.480", None]
    assert shown["p (adjusted)"].to_list() == [None, "< 0.001", "0.960", None]
    assert shown["Significant after adjustment"].to_list()[1:3] == ["Yes", "No"]
    big = pl.DataFrame({"group": ["A"], "n": [12345], "median_days": [13.0], "exposure": [4567.89]})
    assert charts.display_frame(big)[0].row(0) == ("A", "12,345", "13", "4,568")


def test_display_frame_names_the_quantity_per_table():
    shown, _ = charts.display_frame(frame(), name="grievance_outcomes")
    assert shown.columns[:3] == ["Group", "Closed grievances", "Upheld (in full or part)"]
    shown, _ = charts.display_frame(frame(), name="grievance_rates")
    assert shown.columns[1:3] == ["Person-years", "Grievances raised"]


def test_crosstab_percent_within_group_uses_the_published_total_and_keeps_hidden_cells_hidden():
    t = pl.DataFrame({
        "group": ["White"] * 3 + ["Black"] * 3, "category": ["Upheld", "Not upheld", "Total"] * 2,
        "n": [20, 30, 50, None, 9, 12], "value_display": ["20", "30", "50", "<5", "9", "12"],
        "is_suppressed": [False, False, False, True, False, False], "is_total": [False, False, True] * 2,
    })
    wide = charts.crosstab_wide(t, percent=True)
    assert wide.rows() == [("White", "40.0%", "60.0%"), ("Black", "<5", "75.0%")]
    assert charts.crosstab_wide(t).rows() == [("White", "20", "30", "50"), ("Black", "<5", "9", "12")]
    # No published total and a hidden cell: no shares for that group (the visible cells alone mislead).
    no_total = t.filter(~pl.col("is_total"))
    assert charts.crosstab_wide(no_total, percent=True).rows() == [("White", "40.0%", "60.0%"), ("Black", "<5", "–")]
    fig = charts.crosstab_chart(t, title="t", percent=True)
    assert fig.layout.xaxis.title.text == "% within group"
    assert sorted(v for tr in fig.data for v in tr.x) == [40.0, 60.0, 75.0]


def test_every_chart_has_a_description():
    fig = charts.ratio_chart(frame(), title="Upheld: ratio to the reference group")
    text = charts.describe(fig)
    assert text.startswith("Chart: Upheld: ratio to the reference group. Axes: across, Ratio to reference group "
                           "(log scale).")
    assert ("Series: Higher than reference, significant after adjustment, Not significant after adjustment, "
            "Reference group. Notes: too few to report: Other.") in text
    assert text.endswith("The same numbers are in the table with this chart.")


def test_plotly_config_fetches_nothing_from_the_internet():
    assert charts.PLOTLY_CONFIG["typesetMath"] is False
    fig = charts.ratio_chart(frame(), title="t")
    text = json.dumps(fig.to_plotly_json(), default=str)
    assert "http://" not in text and "https://" not in text


def test_stage_chart_omits_the_reference_and_draws_the_four_fifths_line():
    rows = []
    for stage in ("Passed sift", "Joined"):
        for g, ratio, sig in (("White", 1.0, False), ("Black", 0.7, True)):
            rows.append({"characteristic": "ethnicity_group", "group": g, "ratio": ratio, "ratio_ci_low": ratio * 0.8,
                         "ratio_ci_high": ratio * 1.2, "is_significant": sig, "is_suppressed": False,
                         "is_reference": g == "White", "stage": stage, "method": "x"})
    fig = charts.stage_chart(tidy_frame(rows, extras=("stage", "is_reference")), title="t", axis="Impact ratio",
                             threshold=0.8)
    assert [tr.name for tr in fig.data] == ["Black", "0.8 (four-fifths threshold)"]
    assert sorted(s["y0"] for s in fig.layout.shapes) == [0.8, 1]


def test_progress_chart_writes_the_rag_status_as_text_not_colour_alone():
    t = pl.DataFrame({"commitment_id": [1, 2], "commitment": ["A", "B"], "rag_status": ["R", "G"],
                      "percent_complete": [10, 90]})
    fig = charts.progress_chart(t, title="t", label="commitment", key="commitment_id")
    assert {tr.name: list(tr.text) for tr in fig.data} == {"Red": ["Red"], "Green": ["Green"]}
    assert {tr.name: tr.marker.color for tr in fig.data} == {"Red": theme.RAG["R"], "Green": theme.RAG["G"]}


def test_legend_sits_at_the_foot_of_the_figure_under_the_axis_title():
    """A legend placed a fraction of the plot height below it overlapped the axis title of short
    charts (every forest plot at mps) and floated far below tall ones (the IOPC chart)."""
    figs = [charts.ratio_chart(frame(), title="t"), charts.rate_chart(frame(), title="t", axis="%"),
            charts.crosstab_chart(pl.DataFrame({"group": ["A"], "category": ["x"], "n": [3]}), title="t")]
    for fig in figs:
        assert fig.layout.legend.yref == "container" and fig.layout.legend.y == 0
        assert fig.layout.legend.yanchor == "bottom"


def test_log_ticks_are_labelled_with_their_values():
    """plotly labels log-axis minor ticks with one digit: 0.8 showed as '8' beside '1'."""
    assert charts.log_ticks([0.54, 1.28, 0.8]) == [0.6, 0.7, 0.8, 0.9, 1, 1.2]
    assert charts.log_ticks([0.104, 10.6]) == [0.2, 0.5, 1, 2, 5, 10]
    assert charts.log_ticks([0.57, 2.6]) == [0.7, 1, 1.5, 2]
    assert charts.log_ticks([None, float("nan"), 0, 1.0]) == [1]
    fig = charts.ratio_chart(frame(), title="t")
    ticks = list(fig.layout.xaxis.tickvals)
    assert fig.layout.xaxis.type == "log" and 1 in ticks
    assert [float(t) for t in fig.layout.xaxis.ticktext] == ticks
    assert min(ticks) >= 0.43 and max(ticks) <= 3.83  # within the intervals drawn


def test_threshold_is_a_dashed_line_named_in_the_legend_not_an_annotation_at_ten_to_its_power():
    """add_vline's annotation on a log axis lands at 10**0.8 = 6.3 and stretches the axis to it."""
    fig = charts.ratio_chart(frame(), title="t", threshold=0.8)
    assert not [a for a in fig.layout.annotations if a.text == "0.8" or (a.xref == "x" and (a.x or 0) > 1)]
    assert "0.8 (four-fifths threshold)" in [tr.name for tr in fig.data]
    assert [s["x0"] for s in fig.layout.shapes if (s.line.dash or "") == "dash"] == [0.8]
    assert 0.8 in list(fig.layout.xaxis.tickvals)


def _stage_rows(hidden_at_sanction: bool):
    rows = []
    for stage in ("Investigated", "Sanction"):
        for g, ratio in (("White", 1.0), ("Black", 1.4), ("Mixed", 0.9)):
            hidden = stage == "Sanction" and (hidden_at_sanction or g == "Mixed")
            rows.append({"characteristic": "ethnicity_group", "group": g, "ratio": None if hidden else ratio,
                         "ratio_ci_low": None if hidden else ratio * 0.8,
                         "ratio_ci_high": None if hidden else ratio * 1.2, "is_significant": False,
                         "is_suppressed": hidden, "note": "too few to report" if hidden else None,
                         "is_reference": g == "White", "stage": stage, "method": "x"})
    return tidy_frame(rows, extras=("stage", "is_reference", "note"))


def test_a_stage_with_every_group_hidden_stays_on_the_axis_labelled():
    fig = charts.stage_chart(_stage_rows(hidden_at_sanction=True), title="t", axis="RRI")
    assert list(fig.layout.xaxis.categoryarray) == ["Investigated", "Sanction"]
    assert tuple(fig.layout.xaxis.range) == (-0.5, 1.5)
    label = [tr for tr in fig.data if tr.mode == "text"]
    assert len(label) == 1 and list(label[0].x) == ["Sanction"] and list(label[0].text) == ["too few to report"]
    drawn = [x for tr in fig.data if tr.mode != "text" for x in tr.x]
    assert "Sanction" not in drawn
    notes = [a.text for a in fig.layout.annotations]
    assert "too few to report: Sanction (every group)" in notes
    partly = charts.stage_chart(_stage_rows(hidden_at_sanction=False), title="t", axis="RRI")
    assert "too few to report: Sanction: Mixed" in [a.text for a in partly.layout.annotations]
    assert not [tr for tr in partly.data if tr.mode == "text"]


def test_crosstab_chart_leaves_the_margins_to_the_table():
    """The staff-association crosstabs carry a 'Total' row and column: stacked, they doubled every bar."""
    t = pl.DataFrame({
        "group": ["White"] * 3 + ["Black"] * 3 + ["Mixed"] * 3 + ["Total"] * 3,
        "category": ["Upheld", "Not upheld", "Total"] * 4,
        "n": [20, 30, 50, None, None, 7, 0, None, 3, 20, 40, 60],
        "is_suppressed": [False, False, False, True, True, False, False, True, False, False, False, False],
        "is_total": [False, False, True] * 3 + [True] * 3,
    })
    fig = charts.crosstab_chart(t, title="t")
    bars = [tr for tr in fig.data if tr.type == "bar"]
    assert [tr.name for tr in bars] == ["Upheld", "Not upheld"]
    assert sorted(v for tr in bars for v in tr.x) == [0, 20, 30]
    assert "Total" not in [y for tr in fig.data for y in tr.y]
    assert list(fig.layout.yaxis.categoryarray) == ["Mixed", "Black", "White"]
    # Black and Mixed have nothing to draw but hidden cells: they stay on the axis, labelled.
    marks = [(list(tr.y), set(tr.text)) for tr in fig.data if tr.type == "scatter"]
    assert marks == [(["Black", "Mixed"], {"too few to report"})]
    assert "3 cell(s) too few to report" in fig.layout.annotations[0].text


def test_crosstab_chart_tells_every_category_apart_beyond_the_palette():
    cats = [f"c{i}" for i in range(13)]  # 13 grievance categories, 9 colours
    t = pl.DataFrame({"group": ["A"] * 13, "category": cats, "n": list(range(1, 14))})
    fig = charts.crosstab_chart(t, title="t")
    looks = [(tr.marker.color, tr.marker.pattern.shape) for tr in fig.data]
    assert len(set(looks)) == 13
    # White hatching drawn over the bar's colour; in 'replace' mode Streamlit showed nothing at all.
    assert {tr.marker.pattern.fillmode for tr in fig.data} == {"overlay"}


def test_display_frame_keeps_the_characteristic_when_rows_differ_by_it():
    """not_stated: every row's group is 'Not stated'; without the characteristic the table is unreadable."""
    t = tidy_frame([{"characteristic": c, "group": "Not stated", "n": 100, "events": e, "rate": e / 100,
                     "is_suppressed": False, "method": "Wilson"} for c, e in (("sex", 3), ("religion", 18))])
    shown, _ = charts.display_frame(t)
    assert shown.columns[0] == "Characteristic" and shown["Characteristic"].to_list() == ["sex", "religion"]
    assert "Characteristic" not in charts.display_frame(frame())[0].columns


def test_survival_chart_says_why_it_is_empty():
    empty = pl.DataFrame(schema={"group": pl.String, "time": pl.Float64, "survival": pl.Float64})
    assert "No grievances" in charts.survival_chart(empty, title="t").layout.annotations[0].text
    assert charts.survival_chart(empty, title="t", empty="hidden").layout.annotations[0].text == "hidden"


def test_progress_heatmap_projection_and_funnel_read_cleanly():
    """Seen at mps: the 100% tick missing, the SPOC heatmap's areas bottom-up (West Area first),
    markers on the projection band's corners, the funnel's 'force' label cut at the right edge."""
    t = pl.DataFrame({"commitment_id": [1], "commitment": ["A"], "rag_status": ["C"], "percent_complete": [100]})
    xaxis = charts.progress_chart(t, title="t", label="commitment", key="commitment_id").layout.xaxis
    assert 100 in list(xaxis.tickvals) and xaxis.range[1] > 100
    grid = pl.DataFrame({"area": ["B", "A"], "month": ["2026-01", "2026-01"], "n": [1, 2]})
    heat = charts.heatmap(grid, x="month", y="area", z="n", title="t", axis="n")
    assert list(heat.data[0].y) == ["A", "B"] and heat.layout.yaxis.autorange == "reversed"
    proj = pl.DataFrame({"date": [1, 2], "share": [0.1, 0.2], "low": [0.05, 0.1], "high": [0.2, 0.3]})
    band = charts.line_chart(proj, x="date", ys={"share": "Share"}, title="t", axis="%", band=("low", "high")).data[0]
    assert band.name == "Interval" and band.mode == "lines"
    funnel = pl.DataFrame({"group": ["A", "B"], "exposure": [10.0, 20.0], "rate": [0.1, 0.2], "overall_rate": [0.15, 0.15]})
    fig = charts.funnel_chart(funnel, title="t", size="exposure")
    force = [a for a in fig.layout.annotations if a.text == "force"]
    assert force and force[0].xanchor == "right"  # inside the plot, not past its right edge


def test_an_empty_selection_says_so_instead_of_drawing_bare_axes():
    """At mps a staff association choosing PCSOs in one business area by ethnicity (18+1) got a
    forest plot that was a lone line at 1 and bar charts of bare gridlines."""
    empty = frame().clear()
    for fig in (charts.ratio_chart(empty, title="t"), charts.rate_chart(empty, title="t", axis="%"),
                charts.stage_chart(empty, title="t", axis="RRI"), charts.trend_chart(empty, title="t", axis="RR")):
        assert [a.text for a in fig.layout.annotations] == [charts.NOTHING]
        assert not fig.data


def test_small_counts_get_whole_number_ticks():
    """The SPOC page's open-grievances bars for one area (1 open) were ticked 0, 0.2, ... 1."""
    one = pl.DataFrame({"area": ["Central South"], "n": [1]})
    assert charts.bar_chart(one, x="area", y="n", title="t", axis="Open").layout.xaxis.dtick == 1
    many = pl.DataFrame({"area": ["A", "B"], "n": [3, 240]})
    assert charts.bar_chart(many, x="area", y="n", title="t", axis="Open").layout.xaxis.dtick is None
    share = pl.DataFrame({"area": ["A"], "n": [0.4]})
    assert charts.bar_chart(share, x="area", y="n", title="t", axis="%", percent=True).layout.xaxis.dtick is None
    cells = pl.DataFrame({"group": ["A", "A"], "category": ["x", "y"], "n": [1, 2]})
    assert charts.crosstab_chart(cells, title="t").layout.xaxis.dtick == 1


def test_long_hidden_notes_are_cut_between_parts_and_point_to_the_table():
    everything = _stage_rows(hidden_at_sanction=True).with_columns(
        ratio=None, ratio_ci_low=None, ratio_ci_high=None, is_suppressed=True, note=pl.lit("too few to report"))
    fig = charts.stage_chart(everything, title="t", axis="RRI")
    assert "too few to report: every group at every stage" in [a.text for a in fig.layout.annotations]
    text = charts.note_text("too few to report: " + "; ".join(f"Stage {i}: Mixed, Other" for i in range(9)))
    assert len(text) <= charts.NOTE_CHARS and text.endswith("Stage 1: Mixed, Other … (see the table)")
