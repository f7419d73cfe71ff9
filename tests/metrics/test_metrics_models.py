"""models.py: Poisson IRR and logistic OR, pinned to closed forms and planted exact fits."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats
from tidy_checks import validate_tidy

from metrics.models import logistic_odds_ratios, poisson_irr

Z = stats.norm.ppf(0.975)


def cells(rows, cols):
    return pl.DataFrame(rows, schema=cols, orient="row")


POISSON_COLS = {"group": pl.String, "rank": pl.String, "events": pl.Int64, "exposure": pl.Float64}


def rows_by_group(table):
    return {r["group"]: r for r in table.iter_rows(named=True)}


def test_poisson_two_groups_equals_closed_form_irr():
    # With only a group term the MLE is the crude ratio (a/Ea)/(b/Eb), SE sqrt(1/a + 1/b).
    frame = cells([("White", "PC", 100, 20000.0), ("Black", "PC", 40, 4000.0)], POISSON_COLS)
    table = poisson_irr(frame, characteristic="ethnicity_group", reference_group="White")
    validate_tidy(table)
    black = rows_by_group(table)["Black"]
    se = math.sqrt(1 / 40 + 1 / 100)
    assert black["ratio"] == pytest.approx(2.0, rel=1e-8)
    assert (black["ratio_ci_low"], black["ratio_ci_high"]) == pytest.approx(
        (2 * math.exp(-Z * se), 2 * math.exp(Z * se)), rel=1e-6)
    assert black["p_value"] == pytest.approx(2 * stats.norm.sf(math.log(2) / se), rel=1e-5)  # IRLS tolerance
    assert black["rate_per_1000"] == pytest.approx(10.0)
    assert black["method"].startswith("exact Poisson; Poisson GLM, log person-years offset; unadjusted")
    assert rows_by_group(table)["White"]["ratio"] == 1.0


# A planted exact fit: rate = base(rank) x 2 for B; B is concentrated in the high-rate rank, so the
# crude IRR is 1.2 but the rank-adjusted IRR is exactly 2.
PLANTED = [("A", "x0", 10, 1000.0), ("A", "x1", 90, 3000.0), ("B", "x0", 60, 3000.0), ("B", "x1", 60, 1000.0)]


def test_poisson_adjusted_irr_recovers_planted_effect_and_hand_computed_se():
    table = poisson_irr(cells(PLANTED, POISSON_COLS), characteristic="e", reference_group="A", covariates=["rank"])
    b = rows_by_group(table)["B"]
    assert b["rate"] / rows_by_group(table)["A"]["rate"] == pytest.approx(1.2)  # crude
    assert b["ratio"] == pytest.approx(2.0, rel=1e-8)  # adjusted
    # Wald SE from the Fisher information X' diag(mu) X, mu = fitted = observed (exact fit).
    # Columns: intercept, group=B, rank=x0 (baseline is the rank with most exposure: tie -> 'x0' first
    # by exposure 4000 each; sorted ties take 'x0' as baseline, so the dummy is rank=x1).
    X = np.array([[1, 0, 0], [1, 0, 1], [1, 1, 0], [1, 1, 1]], dtype=float)
    mu = np.array([10, 90, 60, 60], dtype=float)
    se = math.sqrt(np.linalg.inv(X.T @ (mu[:, None] * X))[1, 1])
    assert b["ratio_ci_low"] == pytest.approx(2 * math.exp(-Z * se), rel=1e-6)
    assert b["ratio_ci_high"] == pytest.approx(2 * math.exp(Z * se), rel=1e-6)
    assert "adjusted for rank" in b["method"]


def test_poisson_overdispersion_switches_to_quasi_poisson():
    # Two groups, three areas each (areas not modelled): fitted mu = exposure x group crude rate.
    frame = cells([("A", "a1", 5, 1000.0), ("A", "a2", 30, 1000.0), ("A", "a3", 10, 1000.0),
                   ("B", "a1", 2, 500.0), ("B", "a2", 25, 500.0), ("B", "a3", 3, 500.0)], POISSON_COLS)
    table = poisson_irr(frame, characteristic="e", reference_group="A")
    b = rows_by_group(table)["B"]
    fitted = [15, 15, 15, 10, 10, 10]  # A: 45/3000 x 1000; B: 30/1500 x 500
    observed = [5, 30, 10, 2, 25, 3]
    phi = sum((o - f) ** 2 / f for o, f in zip(observed, fitted, strict=True)) / (6 - 2)
    se = math.sqrt(phi) * math.sqrt(1 / 45 + 1 / 30)
    irr = (30 / 1500) / (45 / 3000)
    assert b["ratio"] == pytest.approx(irr, rel=1e-8)
    assert b["ratio_ci_high"] == pytest.approx(irr * math.exp(Z * se), rel=1e-6)
    assert f"quasi-Poisson scale (Pearson chi2/df = {phi:.2f})" in b["method"]


def test_poisson_zero_event_group_and_level_give_notes_not_warnings():
    frame = cells(PLANTED + [("C", "x0", 0, 500.0), ("C", "x1", 0, 500.0),
                             ("A", "x2", 0, 200.0), ("B", "x2", 0, 300.0)], POISSON_COLS)
    table = poisson_irr(frame, characteristic="e", reference_group="A", covariates=["rank"])
    rows = rows_by_group(table)
    assert rows["C"]["ratio"] is None and "ratio not estimable: group has no events" in rows["C"]["method"]
    # Dropping the all-zero rank level gives exactly the planted estimate.
    assert rows["B"]["ratio"] == pytest.approx(2.0, rel=1e-8)
    assert "rank=x2" in rows["B"]["note"]


def test_poisson_reference_without_events_and_confounding():
    frame = cells([("A", "x0", 0, 1000.0), ("B", "x0", 5, 1000.0)], POISSON_COLS)
    row = rows_by_group(poisson_irr(frame, characteristic="e", reference_group="A"))["B"]
    assert row["ratio"] is None and "reference group has no events" in row["method"]
    confounded = cells([("A", "x0", 10, 1000.0), ("B", "x1", 20, 1000.0)], POISSON_COLS)
    row = rows_by_group(poisson_irr(confounded, characteristic="e", reference_group="A", covariates=["rank"]))["B"]
    assert row["ratio"] is None and "not identifiable" in row["method"]


def test_poisson_empty_and_bad_input():
    assert poisson_irr(cells([], POISSON_COLS), characteristic="e", reference_group="A").height == 0
    with pytest.raises(ValueError, match="row 1, column 'events': events with zero exposure"):
        poisson_irr(cells([("A", "x0", 3, 0.0)], POISSON_COLS), characteristic="e", reference_group="A")


LOGIT_COLS = {"group": pl.String, "category": pl.String, "n": pl.Int64, "events": pl.Int64}


def test_logistic_unadjusted_equals_closed_form_odds_ratio():
    # OR = (70/50)/(40/100) = 3.5, SE sqrt(1/70 + 1/50 + 1/40 + 1/100) (Woolf)
    frame = cells([("White", "c", 140, 40), ("Black", "c", 120, 70)], LOGIT_COLS)
    black = rows_by_group(logistic_odds_ratios(frame, characteristic="e", reference_group="White", covariates=[]))["Black"]
    se = math.sqrt(1 / 70 + 1 / 50 + 1 / 40 + 1 / 100)
    assert black["ratio"] == pytest.approx(3.5, rel=1e-8)
    assert black["ratio_ci_low"] == pytest.approx(3.5 * math.exp(-Z * se), rel=1e-6)
    assert black["p_value"] == pytest.approx(2 * stats.norm.sf(math.log(3.5) / se), rel=1e-6)


def test_logistic_adjusted_for_category_recovers_planted_or():
    # odds: c1 ref 0.25 (20/100), group 0.5 (10/30); c2 ref 1 (20/40), group 2 (60/90): OR 2 in both.
    frame = cells([("White", "c1", 100, 20), ("Black", "c1", 30, 10), ("White", "c2", 40, 20),
                   ("Black", "c2", 90, 60), ("Asian", "c1", 5, 5), ("Asian", "c2", 5, 5)], LOGIT_COLS)
    rows = rows_by_group(logistic_odds_ratios(frame, characteristic="e", reference_group="White"))
    assert rows["Black"]["ratio"] == pytest.approx(2.0, rel=1e-8)
    assert rows["Black"]["rate"] == pytest.approx(70 / 120)
    assert rows["Asian"]["ratio"] is None
    assert "group has every case with the outcome" in rows["Asian"]["method"]
    assert "adjusted for category" in rows["Black"]["method"]


@pytest.mark.parametrize("overdispersed", [False, True])
def test_sparse_poisson_irls_matches_statsmodels_glm(overdispersed):
    """The sparse IRLS fit against statsmodels' own GLM on a 4-group x 12-area x 5-band design:
    sm.GLM(y, X, family=Poisson(), offset=log(E)).fit() (and .fit(scale="X2") when overdispersed)."""
    import statsmodels.api as sm

    from metrics.glm import design_matrix, fit_glm, poisson_glm

    rng = np.random.default_rng(7)
    grid = [(g, a, b) for g in ("White", "Black", "Asian", "Mixed") for a in range(12) for b in range(5)]
    exposure = rng.uniform(50, 900, len(grid))
    true = np.array([{"White": 1.0, "Black": 1.8, "Asian": 1.4, "Mixed": 1.2}[g] * (1 + a / 10) * (1 + b / 4)
                     for g, a, b in grid]) * 0.02 * exposure
    mean = true * rng.gamma(0.8, 1 / 0.8, len(grid)) if overdispersed else true
    events = rng.poisson(mean)
    frame = pl.DataFrame({"group": [g for g, _, _ in grid], "area": [f"A{a:02d}" for _, a, _ in grid],
                          "band": [f"B{b}" for _, _, b in grid], "events": events, "exposure": exposure})
    X, names = design_matrix(frame, ["area", "band"], "White")
    y, offset = frame["events"].to_numpy().astype(float), np.log(exposure)
    ours = poisson_glm(X, y, offset)
    theirs = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit()
    assert ours.converged
    # statsmodels stops when the deviance changes by < 1e-8 (absolute), ours at 1e-12 relative:
    # agreement to ~1e-7 is what statsmodels' own stopping point allows.
    np.testing.assert_allclose(ours.params, theirs.params, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.bse, theirs.bse, rtol=1e-6)
    assert ours.pearson_chi2 == pytest.approx(theirs.pearson_chi2, rel=1e-8)
    assert ours.deviance == pytest.approx(theirs.deviance, rel=1e-8)
    assert ours.df_resid == theirs.df_resid
    fit = fit_glm(frame, ["area", "band"], reference_group="White", alpha=0.05, family="poisson")
    if overdispersed:
        assert fit["scale"].startswith("quasi-Poisson")
        theirs = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit(scale="X2")
    else:
        assert fit["scale"].startswith("Poisson scale")
    j = names.index("group=Black")
    ratio, low, high, p = fit["estimates"]["Black"]
    assert ratio == pytest.approx(math.exp(theirs.params[j]), rel=1e-6)
    assert low == pytest.approx(math.exp(theirs.params[j] - Z * theirs.bse[j]), rel=1e-6)
    assert high == pytest.approx(math.exp(theirs.params[j] + Z * theirs.bse[j]), rel=1e-6)
    assert p == pytest.approx(theirs.pvalues[j], rel=1e-6)


def test_a_trend_the_data_cannot_pin_down_is_said_not_estimable_not_an_overflow():
    """Group B has events in the last period only: its interaction coefficient runs off towards
    infinity (separation), which once overflowed math.exp. Now it is 'no trend estimable'."""
    import polars as pl

    from metrics.models import rate_ratio_trend

    frame = pl.DataFrame({
        "group": ["A"] * 4 + ["B"] * 4,
        "period": [2021, 2022, 2023, 2024] * 2,
        "events": [20, 22, 19, 21, 0, 0, 0, 6],
        "exposure": [1000.0] * 4 + [300.0] * 4,
    })
    out = rate_ratio_trend(frame, characteristic="g", reference_group="A")
    b = out.filter(pl.col("group") == "B").row(0, named=True)
    assert b["ratio"] is None and b["p_value"] is None
    assert b["method"] == "exact Poisson; no trend estimable: too few events to pin it down"
