"""Plain-English sentences: exact wording, the test always named, small groups never described."""

from __future__ import annotations

import polars as pl

from metrics import narrative
from metrics.tidy import tidy_frame

BASE = {"characteristic": "ethnicity_group", "reference_group": "White", "is_suppressed": False,
        "is_reference": False, "is_not_stated": False}


def row(**kw):
    return {**BASE, **kw}


def test_significant_rate_ratio_names_the_test_and_adjustment():
    r = row(group="Black", ratio=1.83, ratio_ci_low=1.52, ratio_ci_high=2.14, p_value=0.00001, p_adjusted=0.00004,
            is_significant=True, method="exact Poisson; log IRR; exact conditional binomial test; Holm")
    assert narrative.ratio_sentence(r, outcome="to be referred", kind="likely") == (
        "Black officers and staff were 1.83 times as likely as White officers and staff to be referred "
        "(95% CI 1.52–2.14); significant after Holm adjustment (exact Poisson test, adjusted p < 0.001).")


def test_not_significant_says_so_with_the_adjusted_p():
    r = row(group="Asian", ratio=1.2, ratio_ci_low=0.9, ratio_ci_high=1.6, p_value=0.21, p_adjusted=0.42,
            is_significant=False, method="Wilson; Katz log RR; chi-square; Holm")
    assert narrative.ratio_sentence(r, outcome="to have a grievance upheld") == (
        "Asian officers and staff were 1.20 times as likely as White officers and staff to have a grievance upheld "
        "(95% CI 0.90–1.60); not significant after Holm adjustment (chi-square test, adjusted p = 0.420).")


def test_fisher_and_benjamini_hochberg_are_named():
    r = row(group="Mixed", ratio=2.5, ratio_ci_low=1.1262, ratio_ci_high=5.5499, p_value=0.02, p_adjusted=0.04,
            is_significant=True, method="Wilson; Katz log RR; Fisher exact; Benjamini-Hochberg")
    text = narrative.ratio_sentence(r, outcome="to be referred")
    assert text.endswith("significant after Benjamini-Hochberg adjustment (Fisher's exact test, adjusted p = 0.040).")
    assert "(95% CI 1.13–5.55)" in text


def test_suppressed_and_small_groups_are_too_few_to_report():
    hidden = row(group="Other", ratio=None, is_suppressed=True, method="Wilson")
    tiny = row(group="Mixed", ratio=3.0, p_value=0.01, p_adjusted=0.02, is_significant=True,
               note="too few to report", method="Wilson; Katz log RR; Fisher exact; Holm")
    assert narrative.ratio_sentence(hidden, outcome="x") == "Other officers and staff: too few to report."
    assert narrative.ratio_sentence(tiny, outcome="x") == "Mixed officers and staff: too few to report."


def test_never_significant_without_a_test():
    r = row(group="Black", ratio=2.0, ratio_ci_low=1.5, ratio_ci_high=2.6, p_value=None, p_adjusted=None,
            is_significant=False, method="Wilson; reference group 'White' not in table")
    text = narrative.ratio_sentence(r, outcome="to be referred")
    assert "significant" not in text and text.endswith("no test was possible.")


def test_headline_picks_the_significant_group_furthest_from_parity():
    frame = tidy_frame([
        row(group="White", is_reference=True, ratio=1.0, method="Wilson; reference group"),
        row(group="Asian", ratio=1.4, ratio_ci_low=1.1, ratio_ci_high=1.8, p_value=0.01, p_adjusted=0.02,
            is_significant=True, method="Wilson; Katz log RR; chi-square; Holm"),
        row(group="Black", ratio=0.4, ratio_ci_low=0.2, ratio_ci_high=0.7, p_value=0.001, p_adjusted=0.003,
            is_significant=True, method="Wilson; Katz log RR; chi-square; Holm"),
    ], extras=("reference_group", "is_reference", "is_not_stated"))
    assert narrative.headline(frame, outcome="to be referred").startswith(
        "Black officers and staff were 0.40 times as likely as White officers and staff to be referred")
    assert len(narrative.ratio_sentences(frame, outcome="to be referred")) == 2  # every group but the reference


def test_headline_when_nothing_is_significant_names_the_tests_and_hidden_groups():
    frame = tidy_frame([
        row(group="White", is_reference=True, ratio=1.0, method="Wilson; reference group"),
        row(group="Asian", ratio=1.1, p_value=0.5, p_adjusted=0.9, is_significant=False,
            method="Wilson; Katz log RR; chi-square; Holm"),
        row(group="Other", is_suppressed=True, method="Wilson"),
    ], extras=("reference_group", "is_reference", "is_not_stated"))
    assert narrative.headline(frame, outcome="x") == (
        "No group differed significantly from the reference group after adjustment (chi-square test; "
        "1 group compared). 1 group is too few to report.")


def test_target_sentence_names_the_one_sided_test():
    r = {"group": "Black, Asian, Mixed and Other ethnic groups", "stage": "2026-03-31", "rate": 0.191,
         "ci_low": 0.18, "ci_high": 0.2, "target_share": 0.235, "p_value": 0.0001, "is_significant": True,
         "is_suppressed": False,
         "method": "Wilson; share / target; one-sided exact binomial test (below target); not adjusted"}
    assert narrative.target_sentence(r, what="officers") == (
        "At 2026-03-31, 19.1% of officers were from Black, Asian, Mixed and Other ethnic groups (95% CI 18.0–20.0%), "
        "below the target trajectory of 23.5%; significantly below it (one-sided exact binomial test, p < 0.001, "
        "not adjusted).")


def test_funnel_sentence_counts_areas_by_position():
    frame = pl.DataFrame({"group": ["A", "B", "C", "D"], "flag": ["alarm", "alert", "within", "low alert"]})
    assert narrative.funnel_sentence(frame, what="grievance rates", area_names={"A": "Central West"}) == (
        "Of 4 business areas, 1 had grievance rates above the 99.8% limit (Central West); 1 between the 95% and "
        "99.8% limits; 1 below the lower limits (exact Poisson funnel limits around the force rate).")


def test_group_phrases_read_naturally():
    assert narrative.group_phrase("age_band", "25-34") == "officers and staff aged 25-34"
    assert narrative.group_phrase("sex", "Female", "applicants") == "Female applicants"
    assert narrative.group_phrase("rank_grade", "Sergeant") == "officers and staff at Sergeant"


def test_selection_sentence_without_an_outcome_has_no_double_space():
    r = row(group="Black", ratio=0.7, ratio_ci_low=0.5, ratio_ci_high=0.95, p_value=0.03, p_adjusted=0.03,
            is_significant=True, method="Wilson; impact ratio (Katz log CI); chi-square; Holm")
    text = narrative.ratio_sentence(r, outcome="", kind="selection")
    assert "  " not in text and "times the selection rate of White officers and staff (95% CI" in text


def test_headline_counts_a_group_with_no_events_as_compared_not_too_few():
    """At mps (Misconduct, West Area, PCSOs, ethnicity 18+1) the headline said '12 groups are too
    few to report' of groups it then described one by one as '0 times the rate'."""
    method = "exact Poisson; log IRR; exact conditional binomial test; Holm"
    frame = tidy_frame([
        row(group="White", is_reference=True, ratio=1.0, method="exact Poisson; reference group"),
        row(group="Asian", ratio=0.0, ratio_ci_low=0.0, ratio_ci_high=19.0, p_value=1.0, p_adjusted=1.0,
            is_significant=False, method=method),
        row(group="Black", ratio=4.4, ratio_ci_low=0.46, ratio_ci_high=42.0, p_value=0.2, p_adjusted=1.0,
            is_significant=False, method=method),
        row(group="Other", is_suppressed=True, method=method),
    ], extras=("reference_group", "is_reference", "is_not_stated"))
    assert narrative.headline(frame, outcome="to be referred", kind="rate") == (
        "No group differed significantly from the reference group after adjustment (exact Poisson test; "
        "2 groups compared). 1 group is too few to report.")
    significant_zero = frame.with_columns(is_significant=pl.col("group") == "Asian")
    assert narrative.headline(significant_zero, outcome="to be referred", kind="rate").startswith("Asian")
