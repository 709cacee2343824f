"""Budget by incremental return: response curves, the split that equalises marginal returns against a closed
form, the stop point, and the risk-aware split on a measured covariance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_core.budget import (
    ASSUMPTIONS,
    ResponseCurve,
    allocate,
    curves_from,
    default_assumptions,
    return_by_budget,
    value_covariance,
)
from clv_core.errors import ClvError

A = ResponseCurve(customers=2_000, value=80.0, reference_spend=2.0, reference_response=0.04, saturation=0.10)
B = ResponseCurve(customers=10_000, value=40.0, reference_spend=2.0, reference_response=0.05, saturation=0.08)


def test_a_response_curve_passes_through_its_reference_point_and_saturates():
    assert A.response(2.0) == pytest.approx(0.04)
    assert A.response(1e6) == pytest.approx(0.10)
    assert A.response(0.0) == 0
    assert A.margin(4_000.0) == pytest.approx(2_000 * 0.04 * 80)  # 2 per customer: the reference point
    h = 1e-3  # the marginal return is the derivative of the margin
    assert A.marginal(3_000.0) == pytest.approx((A.margin(3_000.0 + h) - A.margin(3_000.0 - h)) / (2 * h), rel=1e-6)


def test_two_groups_split_as_the_closed_form_says():
    """Returns n·s·v·(1 − e^(−k·b/n)): the optimum gives every group the same marginal return λ, so
    b_g = (n_g/k_g)·ln(c_g/λ) with c_g the first unit's return, and Σ b_g = B gives
    ln λ = (Σ (n_g/k_g)·ln c_g − B) / Σ n_g/k_g."""
    total = 5_000.0
    w = {g: c.customers / c.steepness for g, c in {"A": A, "B": B}.items()}
    c = {"A": A.first_return, "B": B.first_return}
    level = np.exp((sum(w[g] * np.log(c[g]) for g in w) - total) / sum(w.values()))
    expected = {g: w[g] * np.log(c[g] / level) for g in w}
    assert level > 1 and all(b > 0 for b in expected.values())  # inside: both groups get money, none wasted

    split = allocate({"A": A, "B": B}, total)
    assert split.table["budget"].to_dict() == pytest.approx(expected, rel=1e-9)
    assert split.table["marginal ROI"].to_numpy() == pytest.approx([level, level], rel=1e-9)
    assert split.spent == pytest.approx(total) and split.kept == pytest.approx(0)
    assert split.table["average ROI"].min() > level  # concave: the average beats the last unit
    assert split.margin == pytest.approx(A.margin(expected["A"]) + B.margin(expected["B"]))


def test_the_split_stops_where_the_next_unit_returns_less_than_it_costs():
    split = allocate({"A": A, "B": B}, 1e7)
    assert split.stop_budget == pytest.approx(A.budget_at(1.0) + B.budget_at(1.0))
    assert split.spent == pytest.approx(split.stop_budget) and split.kept == pytest.approx(1e7 - split.stop_budget)
    assert split.table["marginal ROI"].to_numpy() == pytest.approx([1.0, 1.0])
    assert split.net > allocate({"A": A, "B": B}, split.stop_budget * 1.2).net - 1e-6  # more money, no more net
    poor = ResponseCurve(customers=5_000, value=1.0, reference_spend=2.0, reference_response=0.05, saturation=0.08)
    assert poor.first_return < 1 and allocate({"poor": poor, "A": A}, 1e4).table.loc["poor", "budget"] == 0


def test_total_return_by_budget_rises_then_stays_flat():
    curves = {"A": A, "B": B}
    stop = allocate(curves, 1e9).stop_budget
    table = return_by_budget(curves, np.linspace(0, 2 * stop, 21))
    assert np.all(np.diff(table["incremental margin"]) >= -1e-9)
    assert table["net return"].iloc[0] == 0 and table["net return"].idxmax() >= 10
    past = table["budget"] >= stop
    assert table.loc[past, "spent"].to_numpy() == pytest.approx(stop)


def test_risk_aversion_moves_money_away_from_the_uncertain_group():
    """Two groups with the same curve and mean value; A's value is uncertain, C's is not. Risk-neutral: an even
    split. Averse: less on A, a smaller spread, a smaller expected margin; at the solution no feasible small move
    does better (checked)."""
    C = ResponseCurve(customers=2_000, value=80.0, reference_spend=2.0, reference_response=0.04, saturation=0.10)
    curves = {"A": A, "C": C}
    cov = pd.DataFrame([[400.0, 0.0], [0.0, 1.0]], index=["A", "C"], columns=["A", "C"])
    neutral = allocate(curves, 6_000.0, value_covariance=cov)
    assert neutral.table.loc["A", "budget"] == pytest.approx(neutral.table.loc["C", "budget"])
    averse = allocate(curves, 6_000.0, risk_aversion=1.0, value_covariance=cov)
    assert averse.table.loc["A", "budget"] < 0.9 * averse.table.loc["C", "budget"]
    assert averse.spread < neutral.spread and averse.margin < neutral.margin

    def objective(budgets):
        responders = np.array([curves[g].responders(b) for g, b in zip(curves, budgets, strict=True)])
        return responders @ [80.0, 80.0] - sum(budgets) - np.sqrt(responders @ cov.to_numpy() @ responders)

    best = averse.table["budget"].to_numpy()
    for move in ([50, -50], [-50, 50], [-50, 0], [0, -50]):
        assert objective(best) >= objective(best + np.array(move)) - 1e-6


def test_value_covariance_is_the_covariance_of_the_groups_mean_values_across_refits():
    rng = np.random.default_rng(5)
    draws = rng.gamma(2.0, 10.0, size=(40, 9))
    groups = np.array(["x", "x", "y", "y", "y", "z", "z", "z", "z"])
    sizes = pd.Series([2, 3, 4], index=["x", "y", "z"])
    cov = value_covariance(draws, groups, sizes)
    means = np.column_stack([draws[:, groups == g].mean(axis=1) for g in ("x", "y", "z")])
    np.testing.assert_allclose(cov.to_numpy(), np.cov(means, rowvar=False))
    assert list(cov.index) == ["x", "y", "z"]


def test_assumptions_are_checked_and_defaults_make_curves():
    summary = pd.DataFrame(
        {"customers": [100, 400], "mean CLV": [90.0, 10.0]}, index=pd.Index(["Top", "Rest"], name="value group")
    )
    assumptions = default_assumptions(summary)
    assert list(assumptions.columns) == ["value group", *ASSUMPTIONS]
    assert assumptions[ASSUMPTIONS[0]].nunique() == 1 and assumptions[ASSUMPTIONS[0]].iloc[0] == 2.6  # 26 / 10
    curves = curves_from(summary, assumptions)
    assert curves["Top"].customers == 100 and curves["Top"].value == 90.0
    broken = assumptions.assign(**{ASSUMPTIONS[1]: [0.2, 0.01]})  # above the most extra response
    with pytest.raises(ClvError, match="below its most extra response"):
        curves_from(summary, broken)
    with pytest.raises(ClvError, match="at least 0"):
        allocate(curves, -1.0)
