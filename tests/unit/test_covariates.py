"""Purchase models with attributes (clv_core.covariates): the plain model without them, gradients, recovery of
known coefficients in repeated simulations, the holdout comparison and the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from clv_core import covariates, validation
from clv_core.errors import ClvError
from clv_core.ingest import ingest
from clv_core.models import fit_purchases
from clv_core.samples import sample_bytes
from clv_core.summary import CustomerSummary, summarise

TRUTH = {
    "bgnbd": ({"r": 0.8, "alpha": 6.0, "a": 0.6, "b": 4.0}, 0.5, 0.6),
    "paretonbd": ({"r": 0.8, "alpha": 6.0, "s": 0.7, "beta": 20.0}, 0.5, 0.6),
}


def simulated(model: str, customers: int, seed: int, weeks: float = 52.0):
    """Customers acquired over the first half of the year; two in five with attribute "group" = "B", whose
    purchase rate is e^γₚ times and dropout e^γ_d times (BG/NBD: a × e^γ_d) the others'. Returns the summary and
    the attribute table."""
    params, purchase, dropout = TRUTH[model]
    rng = np.random.default_rng(seed)
    b_group = rng.uniform(size=customers) < 0.4  # A, the larger, is the reference
    T = weeks - np.floor(rng.uniform(0, weeks / 2, customers))
    lam = rng.gamma(params["r"], 1 / (params["alpha"] * np.exp(-purchase * b_group)))
    x, last = np.zeros(customers), np.zeros(customers)
    if model == "paretonbd":
        mu = rng.gamma(params["s"], 1 / (params["beta"] * np.exp(-dropout * b_group)))
        end = np.minimum(rng.exponential(1 / mu), T)
        t, open_ = np.zeros(customers), np.ones(customers, bool)
        while open_.any():
            t[open_] += rng.exponential(1 / lam[open_])
            bought = open_ & (t < end)
            x[bought] += 1
            last[bought] = t[bought]
            open_ = bought
    else:
        p = rng.beta(params["a"] * np.exp(dropout * b_group), params["b"])
        t, open_ = np.zeros(customers), np.ones(customers, bool)
        while open_.any():
            t[open_] += rng.exponential(1 / lam[open_])
            bought = open_ & (t < T)
            x[bought] += 1
            last[bought] = t[bought]
            open_ = bought & (rng.uniform(size=customers) >= p)
    ids = [f"c{i}" for i in range(customers)]
    table = pd.DataFrame({"customer_id": ids, "frequency": x, "recency": last, "T": T, "monetary_value": 10.0})
    attributes = pd.DataFrame({"group": np.where(b_group, "B", "A")}, index=pd.Index(ids, name="customer_id"))
    return CustomerSummary(table, "weeks", pd.Timestamp("2024-12-29")), attributes


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd", "paretonbd"])
def test_without_attributes_the_fit_is_the_plain_model(model):
    summary = summarise(ingest(*sample_bytes("cdnow_sample")), time_unit="weeks")
    fit = covariates.fit(summary, pd.DataFrame(index=summary.table["customer_id"]), [], model)
    plain = fit_purchases(summary, model)
    assert fit.coefficients.empty
    for name, value in plain.params.items():
        assert fit.params[name] == pytest.approx(value, rel=1e-4)
    assert fit.log_likelihood == pytest.approx(plain.log_likelihood, rel=1e-9)
    assert fit.likelihood_ratio_p == 1.0


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd", "paretonbd"])
def test_nil_coefficients_give_the_plain_likelihood_and_the_gradient_is_right(model):
    summary, attributes = simulated("bgnbd" if model == "mbgnbd" else model, 600, seed=3)
    fit = covariates.fit(summary, attributes, ["group"], model)
    # with the coefficients nil, the objective is the plain model's on all customers at the same parameters
    from clv_core import likelihood, paretonbd

    objective = _objective(fit, summary)
    base = np.array([-0.3, 1.2, -0.5, 1.0])
    t = summary.table
    rows = t.groupby(["frequency", "recency", "T"]).size().reset_index(name="w")
    x, t_x, T, w = (rows[c].to_numpy(float) for c in ("frequency", "recency", "T", "w"))
    scale = 10.0 / t["T"].max()
    if model == "paretonbd":
        plain = -paretonbd._Rows(x, t_x, T, w, scale).log_likelihood(*np.exp(base)) / w.sum()
    else:
        plain = likelihood._BetaGeometric(x, t_x * scale, T * scale, w, 1 if model == "mbgnbd" else 0).objective(base)[
            0
        ]
    assert objective(np.concatenate([base, [0.0, 0.0]]))[0] == pytest.approx(plain, rel=1e-12)
    # the objective's gradient (analytic for BG/NBD, central differences for Pareto/NBD) against differences of
    # the objective itself, away from the optimum
    theta = np.array([-0.3, 1.2, -0.5, 1.0, 0.4, -0.2])
    _, gradient = objective(theta)
    step = 1e-5
    for i in range(len(theta)):
        shift = np.zeros(len(theta))
        shift[i] = step
        numeric = (objective(theta + shift)[0] - objective(theta - shift)[0]) / (2 * step)
        assert gradient[i] == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def _objective(fit, summary):
    """The fit's objective rebuilt as :func:`covariates.fit` builds it (through its own pieces)."""
    from clv_core import likelihood, paretonbd

    _, index, sign = covariates._LAYOUT[fit.model]
    table = summary.table
    scale = 10.0 / table["T"].max()
    keys = table[["frequency", "recency", "T"]].assign(pattern=fit.design.pattern_of, w=1.0)
    rows = keys.groupby(["pattern", "frequency", "recency", "T"])["w"].sum().reset_index()
    groups = []
    for pattern, part in rows.groupby("pattern"):
        x, t_x, T, w = (part[c].to_numpy(float) for c in ("frequency", "recency", "T", "w"))
        if fit.model == "paretonbd":
            model = paretonbd._Rows(x, t_x, T, w, scale)
        else:
            model = likelihood._BetaGeometric(x, t_x * scale, T * scale, w, 1 if fit.model == "mbgnbd" else 0)
        groups.append((fit.design.patterns[int(pattern)], w.sum(), model))
    return covariates._Objective(groups, float(len(table)), 1, index, sign, fit.model == "paretonbd")


@pytest.mark.parametrize("model", ["bgnbd", "paretonbd"])
def test_known_coefficients_fall_in_their_intervals_in_most_of_50_simulations(model):
    """Coverage: over 50 seeds the 95 % intervals hold the true coefficients about 95 % of the time, and the
    standard errors match the spread of the estimates (so wide intervals cannot pass it)."""
    _, purchase, dropout = TRUTH[model]
    estimates, errors = [], []
    for seed in range(50):
        summary, attributes = simulated(model, 1500, seed)
        fit = covariates.fit(summary, attributes, ["group"], model)
        row = fit.coefficients.loc[("group", "B")]
        estimates.append((row["purchase"], row["dropout"]))
        errors.append((row["purchase_se"], row["dropout_se"]))
    estimates, errors = np.array(estimates), np.array(errors)
    covered = np.abs(estimates - [purchase, dropout]) <= 1.96 * errors
    assert covered.mean(axis=0).min() >= 0.86, covered.mean(axis=0)
    assert np.abs(estimates.mean(axis=0) - [purchase, dropout]).max() < 0.1
    ratio = errors.mean(axis=0) / estimates.std(axis=0, ddof=1)
    assert ((ratio > 0.7) & (ratio < 1.4)).all(), ratio


def test_sentences_say_the_effect_and_its_interval_in_words():
    summary, attributes = simulated("bgnbd", 4000, seed=11)
    fit = covariates.fit(summary, attributes, ["group"], "bgnbd")
    (sentence,) = fit.sentences()
    gamma, se = fit.coefficients.loc[("group", "B"), ["purchase", "purchase_se"]]
    more = round((np.exp(gamma) - 1) * 100)
    low = round((np.exp(gamma - 1.959964 * se) - 1) * 100)
    assert sentence.startswith(f"Customers whose group is B (against A) buy {more} % (95 % CI {low}–")
    assert "more often" in sentence


def test_design_pools_small_levels_names_missing_ones_and_refuses_a_constant():
    ids = [f"c{i}" for i in range(200)]
    values = ["Big"] * 120 + ["Mid"] * 40 + ["Tiny"] * 10 + [None] * 30
    attributes = pd.DataFrame({"channel": values, "one": "x"}, index=pd.Index(ids, name="customer_id"))
    plan = covariates.design(attributes, ids, ["channel"])
    assert plan.references == {"channel": "Big"}
    assert plan.terms == (("channel", "Mid"), ("channel", "Not recorded"), ("channel", "Other"))
    assert (plan.levels["channel"] == "Other").sum() == 10
    assert plan.patterns.shape == (4, 3)
    with pytest.raises(ClvError, match="'one' has too few customers"):
        covariates.design(attributes, ids, ["one"])
    with pytest.raises(ClvError, match="no attribute 'nope'"):
        covariates.design(attributes, ids, ["nope"])


def test_first_order_value_is_the_first_days_spend_in_quartiles():
    data = b"customer_id,date,amount\n" + b"".join(
        f"c{i},2024-01-0{1 + i % 3},{10 * (i + 1)}\nc{i},2024-01-0{1 + i % 3},5\nc{i},2024-03-01,999\n".encode()
        for i in range(8)
    )
    table = covariates.customer_attributes(ingest(data, "t.csv"))
    # first-day spend: 15, 25, …, 85; quartile edges 15, 32.5, 50, 67.5, 85
    assert table.loc["c0", covariates.FIRST_ORDER] == "under 32.50"
    assert table.loc["c3", covariates.FIRST_ORDER] == "32.50 to 50.00"
    assert table.loc["c7", covariates.FIRST_ORDER] == "67.50 and over"


def test_the_holdout_comparison_prefers_attributes_that_matter_and_scores_both_on_the_same_customers():
    tx = ingest(*sample_bytes("retail"))
    attributes = covariates.customer_attributes(tx)
    end = validation.default_calibration_end(tx)
    result = covariates.compare(tx, attributes, ["channel", "plan"], "bgnbd", calibration_end=end)
    assert list(result.metrics.index) == ["Without attributes", "With attributes"]
    assert result.metrics["holdout actual purchases"].nunique() == 1
    assert result.wins  # channels and plans differ strongly in the sample
    assert "predicts the holdout" in result.sentence()
    # an attribute drawn at random explains nothing: no better than without on the holdout, and the likelihood
    # ratio test finds nothing
    rng = np.random.default_rng(0)
    noise = pd.DataFrame({"coin": rng.choice(["heads", "tails"], len(attributes))}, index=attributes.index)
    summary = summarise(tx, time_unit="weeks")
    assert covariates.fit(summary, noise, ["coin"], "bgnbd").likelihood_ratio_p > 0.01
    # and never wins, even when it lowers the holdout error by a hair
    coin = covariates.compare(tx, noise, ["coin"], "bgnbd", calibration_end=end)
    assert not coin.wins
    if coin.better_on_holdout:
        assert "may be chance" in coin.sentence()


def test_the_fit_command_prints_the_coefficients(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(sample_bytes("retail")[0])
    out = subprocess.run(
        [sys.executable, "-m", "clv_core", "fit", str(path), "--model", "bgnbd", "--covariates", "plan"],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout)
    assert set(result["params"]) == {"r", "alpha", "a", "b"}
    (name,) = result["coefficients"]
    assert name == "plan = subscription"
    assert set(result["coefficients"][name]) == {"purchase", "purchase_se", "dropout", "dropout_se"}
    assert result["coefficients"][name]["purchase"] > 0
    assert result["log_likelihood"] > result["plain_log_likelihood"]
    bad = subprocess.run(
        [sys.executable, "-m", "clv_core", "fit", str(path), "--covariates", "nope"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "no attribute 'nope'" in bad.stderr and "Traceback" not in bad.stderr


def test_the_forecast_with_attributes_prices_each_customer_with_their_own_parameters():
    from clv_core import economics
    from clv_core.analysis import Analysis

    analysis = Analysis(ingest(*sample_bytes("retail")), model="bgnbd")
    econ = economics.Economics(horizon_months=12)
    fit = analysis.covariate_fit(("channel",))
    result = analysis.covariate_scenario(("channel",), econ)
    summary = analysis.summary()
    assert list(result.base.customer_id) == list(summary.table["customer_id"])
    # twelve months ahead, per customer, as the model with attributes predicts them directly
    twelve = result.base.expected_purchases(12)[result.base.rows]
    direct = fit.expected_purchases(12 * economics.DAYS_PER_MONTH / 7, summary)
    np.testing.assert_allclose(twelve, direct, rtol=1e-9)
    np.testing.assert_allclose(result.base.p_alive, fit.probability_alive(summary), rtol=1e-9)
    # with every coefficient nil it is the plain forecast, customer by customer
    nil = covariates.CovariateFit(
        fit.model, fit.plain.params, {}, fit.coefficients * 0, np.nan, fit.plain, fit.customers, "weeks", fit.design
    )
    _, spend = analysis.fits()
    same = economics.scenario(covariates.precompute(nil, spend, summary), econ)
    np.testing.assert_allclose(same.clv, analysis.scenario(econ).clv, rtol=1e-9)
    table = covariates.value_by_level(fit, result, analysis.scenario(econ))
    assert table["customers"].sum() == len(summary.table)
    assert table.index[0] == ("channel", fit.design.references["channel"])


def test_a_group_with_no_dropout_seen_fits_and_says_its_dropout_cannot_be_measured():
    """Six months of history: the subscription plan's customers never seem to drop out, so its dropout coefficient
    runs to the edge; the fit stands (as the plain model's a → 0 does) and says so instead of a number."""
    tx = ingest(*sample_bytes("retail"))
    holdout = validation.split(tx, calibration_end="2024-01-01")
    fit = covariates.fit(holdout.summary, covariates.customer_attributes(tx), ["plan"], "bgnbd")
    row = fit.coefficients.loc[("plan", "subscription")]
    assert row["purchase"] > 0 and np.isfinite(row["purchase_se"])
    assert np.isnan(row["dropout_se"])
    assert "cannot be measured apart" in fit.sentences()[0]


def test_attributes_that_describe_the_same_customers_or_too_many_at_once_are_refused():
    tx = ingest(*sample_bytes("retail"))
    attributes = covariates.customer_attributes(tx)
    ids = summarise(tx).table["customer_id"].to_numpy()
    with pytest.raises(ClvError, match="plan = subscription and first product = Coffee Club monthly describe"):
        covariates.design(attributes, ids, ["plan", "first product"])
    with pytest.raises(ClvError, match="at most 3 attributes"):
        covariates.design(attributes, ids, ["channel", "country", "plan", "first order value"])
    # first order value's quarters in their order, the lowest the reference
    plan = covariates.design(attributes, ids, ["first order value"])
    bounds = [covariates._lower_bound(level) for _, level in plan.terms]
    assert plan.references["first order value"].startswith("under") and bounds == sorted(bounds)


def test_a_hair_of_holdout_error_is_not_a_win():
    tx = ingest(*sample_bytes("retail"))
    end = validation.default_calibration_end(tx)
    result = covariates.compare(tx, covariates.customer_attributes(tx), ["channel"], "bgnbd", calibration_end=end)
    assert result.calibration_fit.likelihood_ratio_p < 0.05
    assert result.wins == (result.gain >= covariates.MIN_GAIN)
    metrics = result.metrics.copy()
    metrics.loc[result.WITH, "MAE (purchases)"] = metrics.loc[result.WITHOUT, "MAE (purchases)"] * 0.995
    hair = covariates.Comparison(
        result.model, result.attributes, metrics, result.calibration_end, result.holdout_end, result.calibration_fit
    )
    assert hair.better_on_holdout and not hair.wins and "no real difference" in hair.sentence()
