"""sBG reproduces the published retention fits; CLV economics behave as money should."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln

from clv_core.contractual import fit_sbg, survivors_from_lifetimes
from clv_core.economics import (
    CHURN_MEANING,
    Economics,
    adjust_churn,
    discounted_margin_survival,
    formula_inputs,
    formula_table,
    precompute,
    scenario,
    sensitivity_to_churn,
    sensitivity_to_discount,
    simple_retention_clv,
    subscription_clv,
)
from clv_core.errors import ClvError
from clv_core.forecast import bootstrap_clv, bootstrap_fits
from clv_core.models import REGISTRY, fit_purchases, fit_spend
from clv_core.samples import sample_bytes
from clv_core.summary import summarise
from tests.conftest import load

HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]
REGULAR = [1000, 631, 468, 380, 329, 287, 262, 241]


def sbg_nll(alpha, beta, survivors):
    n = np.asarray(survivors, float)
    t = np.arange(1, len(n))
    base = betaln(alpha, beta)
    return -((-np.diff(n)) * (betaln(alpha + 1, beta + t - 1) - base)).sum() - n[-1] * (
        betaln(alpha, beta + t[-1]) - base
    )


@pytest.mark.parametrize(("survivors", "alpha", "beta"), [(HIGH_END, 0.668, 3.806), (REGULAR, 0.704, 1.182)])
def test_sbg_reproduces_fader_hardie_2007(survivors, alpha, beta):
    fit = fit_sbg(survivors)
    assert fit.alpha == pytest.approx(alpha, abs=1e-3) and fit.beta == pytest.approx(beta, abs=1e-3)
    # the paper's (spreadsheet) solution is no better than ours: we are at the maximum (regular β is 1.18125)
    assert -fit.log_likelihood <= sbg_nll(alpha, beta, survivors) + 1e-9


def test_sbg_retention_rises_and_projection_starts_at_the_cohort():
    fit = fit_sbg(REGULAR)
    rates = fit.retention_rates(10)
    assert np.all(np.diff(rates) > 0)
    projection = fit.projection(12)
    assert projection["projected"].iloc[0] == 1000 and projection["observed"].iloc[7] == 241
    assert fit.clv(margin_per_period=10, discount_rate=0.1) == pytest.approx(10 * fit.discounted_expected_lifetime(0.1))
    s = fit.survival(400)
    assert fit.discounted_expected_lifetime(0.1) == pytest.approx((s / 1.1 ** np.arange(401)).sum(), rel=1e-6)


@pytest.mark.parametrize(
    ("survivors", "message"),
    [([1000, 900], "at least 3 periods"), ([1000, 1100, 900], "cannot rise"), ([5, 5, 5], "Nobody churned")],
)
def test_sbg_refuses_impossible_counts(survivors, message):
    with pytest.raises(ClvError, match=message):
        fit_sbg(survivors)


def test_survivors_from_paid_periods():
    assert survivors_from_lifetimes(np.array([1, 1, 2, 3, 5]), periods=3) == [5, 3, 2, 1]


@pytest.fixture(scope="module")
def cdnow_base():
    data, name = sample_bytes("cdnow_sample")
    summary = summarise(load(data, name), time_unit="weeks")
    return summary, precompute(fit_purchases(summary, "bgnbd"), fit_spend(summary), summary)


def test_a_repeat_buyer_whose_repeat_orders_came_to_zero_is_valued_by_gamma_gamma_not_at_the_average(cdnow_base):
    """Their record says they spend little: Gamma–Gamma's conditional expectation (lifetimes' figure), well below
    the population mean a one-time buyer gets."""
    summary, _ = cdnow_base
    t = summary.table.copy()
    zero = (t["frequency"] > 0).to_numpy() & (np.arange(len(t)) % 7 == 0)  # their repeat orders came to nothing
    t.loc[zero, "monetary_value"] = 0.0
    one_time = (t["frequency"] == 0).to_numpy()
    assert zero.sum() > 50 and one_time.any()
    spend = fit_spend(summary)
    summary = replace(summary, table=t)
    base = precompute(fit_purchases(summary, "bgnbd"), spend, summary)
    gg = spend.fitter()
    expected = gg.conditional_expected_average_profit(t["frequency"][zero], t["monetary_value"][zero])
    np.testing.assert_allclose(base.expected_order_value[zero], expected.to_numpy(), rtol=1e-12)
    assert (base.expected_order_value[zero] < 0.6 * base.population_order_value).all()
    np.testing.assert_allclose(base.expected_order_value[one_time], base.population_order_value)


def test_clv_falls_as_the_discount_rate_rises_and_rises_with_margin_and_horizon(cdnow_base):
    _, base = cdnow_base
    e = Economics(horizon_months=24)
    sensitivity = sensitivity_to_discount(base, e)
    totals = sensitivity["total CLV"].to_numpy()
    assert np.all(np.diff(totals) < 0)
    rate = float(sensitivity["annual discount rate"].iloc[4])
    assert totals[4] == pytest.approx(scenario(base, replace(e, annual_discount_rate=rate)).total_clv)
    assert scenario(base, replace(e, gross_margin=0.6)).total_clv == pytest.approx(2 * scenario(base, e).total_clv)
    assert scenario(base, replace(e, horizon_months=36)).total_clv > scenario(base, e).total_clv


def test_clv_is_the_discounted_sum_of_monthly_expected_purchases(cdnow_base):
    _, base = cdnow_base
    e = Economics(horizon_months=3, annual_discount_rate=0.0, gross_margin=1.0)
    customers = scenario(base, e).customers
    np.testing.assert_allclose(customers["clv"], customers["expected_purchases"] * customers["expected_avg_value"])


def test_money_does_not_depend_on_the_models_time_unit():
    data, name = sample_bytes("cdnow_sample")
    tx = load(data, name)
    totals = []
    for unit in ("days", "weeks", "months"):
        summary = summarise(tx, time_unit=unit)
        base = precompute(fit_purchases(summary, "bgnbd"), fit_spend(summary), summary)
        totals.append(scenario(base, Economics(horizon_months=12)).total_clv)
    assert max(totals) / min(totals) - 1 < 1e-4


@pytest.mark.parametrize("key", list(REGISTRY))
def test_churn_multiplier_two_doubles_each_models_mean_dropout(cdnow_base, key):
    summary, _ = cdnow_base
    fit = fit_purchases(summary, key)
    doubled = adjust_churn(fit, 2.0)
    assert doubled.mean_dropout == pytest.approx(2 * fit.mean_dropout)
    assert doubled.params["r"] == fit.params["r"] and doubled.params["alpha"] == fit.params["alpha"]
    assert key in CHURN_MEANING and CHURN_MEANING[key] == REGISTRY[key].churn_meaning
    assert adjust_churn(fit, 1.0) is fit


def test_churn_multiplier_lowers_value_and_means_what_it_says(cdnow_base):
    summary, base = cdnow_base
    fit = fit_purchases(summary, "bgnbd")
    doubled = adjust_churn(fit, 2.0)
    p, q = fit.params, doubled.params
    assert q["a"] / (q["a"] + q["b"]) == pytest.approx(2 * p["a"] / (p["a"] + p["b"]))
    assert q["a"] + q["b"] == pytest.approx(p["a"] + p["b"]) and q["r"] == p["r"]
    pnbd = fit_purchases(summary, "paretonbd")
    assert adjust_churn(pnbd, 2.0).params["beta"] == pytest.approx(pnbd.params["beta"] / 2)
    churny = precompute(fit, fit_spend(summary), summary, churn_multiplier=2.0)
    assert scenario(churny, Economics(churn_multiplier=2.0)).total_clv < scenario(base, Economics()).total_clv
    curve = sensitivity_to_churn({1.0: base, 2.0: churny}, Economics())
    assert curve["total CLV"].tolist() == pytest.approx(
        [scenario(base, Economics()).total_clv, scenario(churny, Economics(churn_multiplier=2.0)).total_clv]
    )
    with pytest.raises(ClvError, match="another churn multiplier"):
        scenario(base, Economics(churn_multiplier=2.0))


def test_p_alive_is_a_probability_and_clv_is_not_negative(cdnow_base):
    _, base = cdnow_base
    customers = scenario(base, Economics()).customers
    assert customers["p_alive"].between(0, 1).all() and (customers["clv"] >= 0).all()


def test_clv_to_cac_and_payback(cdnow_base):
    _, base = cdnow_base
    result = scenario(base, Economics(horizon_months=24, cac=10.0))
    assert result.clv_to_cac == pytest.approx(result.new_customer_clv / 10.0)
    month = int(result.payback_months)
    assert result.new_customer_curve[month] >= 10.0 and (month == 0 or result.new_customer_curve[month - 1] < 10.0)
    assert scenario(base, Economics(cac=1e6)).payback_months is None


def test_formula_views_by_hand():
    assert simple_retention_clv(margin_per_period=100, retention=0.8, discount_rate=0.1) == pytest.approx(80 / 0.3)
    assert subscription_clv(margin_per_period=30, churn=0.05, discount_rate=0.01) == pytest.approx(500)
    assert discounted_margin_survival(margin_per_period=10, survival=[1.0, 0.5], discount_rate=0.0) == 15.0


@pytest.mark.parametrize(("history_months", "window"), [(25.5, 12), (16.5, 8), (9.5, 4)])
def test_formula_views_take_yearly_retention_whatever_window_the_history_allows(history_months, window):
    """A history built so the yearly retention is known (0.36): everyone buys once early in the first window; the
    share 0.36^(window/12) of them buys again in the second. The formulas must see 0.36 a year (an 8-month
    window's 50.7 % taken as yearly would overstate m·r/(1 + d − r) about 1.9 times)."""
    yearly, customers, spend = 0.36, 10_000, 120.0
    end = pd.Timestamp("1998-12-31")
    after = end + pd.Timedelta(days=1)
    middle, start = after - pd.DateOffset(months=window), after - pd.DateOffset(months=2 * window)
    kept = round(customers * yearly ** (window / 12))
    ids = [f"c{i}" for i in range(customers)]
    rows = [("early", after - pd.Timedelta(days=round(history_months * 30.4375)), 1.0)]  # sets the history span
    rows += [(c, start + pd.Timedelta(days=3), 50.0) for c in ids]
    rows += [(c, middle + pd.Timedelta(days=3), spend) for c in ids[:kept]]
    data = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    inputs = formula_inputs(data, end)
    assert inputs.window_months == window
    assert inputs.window_retention == pytest.approx(kept / customers)
    assert inputs.retention == pytest.approx(yearly, rel=2e-4)
    assert inputs.revenue_per_year == pytest.approx(spend * 12 / window)
    table = formula_table(inputs, 0.3, 0.1).set_index("view")["CLV per customer"]
    m = spend * 12 / window * 0.3
    assert table["Simple retention CLV"] == pytest.approx(m * yearly / (1.1 - yearly), rel=1e-3)
    assert table["Subscription CLV"] == pytest.approx(m / (1 - yearly + 0.1), rel=1e-3)
    survival = sum(m * yearly**t / 1.1**t for t in range(1, 6))
    assert table["Discounted margin × survival, 5 years"] == pytest.approx(survival, rel=1e-3)
    assert f"{yearly:.1%}" in inputs.sentence


def test_bootstrap_interval_brackets_the_point_estimate_and_is_seeded(cdnow_base):
    summary, _ = cdnow_base
    boot = bootstrap_clv(summary, "bgnbd", Economics(), resamples=12, seed=4)
    total = scenario(precompute(fit_purchases(summary, "bgnbd"), fit_spend(summary), summary), Economics()).total_clv
    assert boot.lower.sum() < total < boot.upper.sum()
    assert (boot.lower <= boot.upper).all()
    again = bootstrap_clv(summary, "bgnbd", Economics(), fits=bootstrap_fits(summary, "bgnbd", resamples=12, seed=4))
    np.testing.assert_array_equal(again.lower, boot.lower)


def test_invalid_economics_are_user_errors():
    for kwargs, message in [
        ({"gross_margin": 0}, "gross margin"),
        ({"horizon_months": 0}, "horizon"),
        ({"annual_discount_rate": 1.5}, "discount rate"),
        ({"cac": -1}, "acquisition cost"),
    ]:
        with pytest.raises(ClvError, match=message):
            Economics(**kwargs)


SUBSCRIPTIONS = """Customer ID;Signup Date;Cancelled At
s1;05/01/2024;01/02/2024
s2;10/01/2024;15/03/2024
s3;20/01/2024;
s4;31/01/2024;01/05/2024
s5;02/02/2024;
bad;;
s6;03/02/2024;01/01/2024
"""


def test_subscriptions_file_is_read_like_transactions_and_gives_survivors():
    from clv_core.contractual import read_subscriptions, survivors_from_subscriptions

    subs = read_subscriptions(SUBSCRIPTIONS.encode(), "subs.csv", observation_end="2024-05-31")
    assert subs.columns == {"customer id": "Customer ID", "start": "Signup Date", "end": "Cancelled At"}
    assert subs.dropped == 2  # no start date; an end before its start
    assert subs.table["end"].isna().sum() == 2
    assert survivors_from_subscriptions(subs, cohort="2024-01") == [4, 3, 3, 2, 1]
    with pytest.raises(ClvError, match="fewer than 3 observed months"):
        survivors_from_subscriptions(
            read_subscriptions(SUBSCRIPTIONS.encode(), "s.csv", observation_end="2024-03-05"), cohort="2024-02"
        )


def test_subscription_columns_must_be_found():
    from clv_core.contractual import read_subscriptions

    with pytest.raises(ClvError, match="subscription end date not found"):
        read_subscriptions(b"customer_id,start\na,2024-01-01\n", "s.csv")


def test_bootstrap_reports_progress_after_every_resample(cdnow_base):
    summary, _ = cdnow_base
    calls = []
    bootstrap_clv(summary, "bgnbd", Economics(), resamples=3, seed=1, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_churn_by_segment_adds_up_to_the_total_and_falls_with_churn():
    from clv_core.forecast import churn_by_group
    from clv_core.rfm import rfm

    data, name = sample_bytes("cdnow_sample")
    tx = load(data, name)
    summary = summarise(tx, time_unit="weeks")
    fit, spend = fit_purchases(summary, "bgnbd"), fit_spend(summary)
    econ = Economics(horizon_months=24)
    bases = {k: precompute(fit, spend, summary, churn_multiplier=k) for k in (0.5, 1.0, 2.0)}
    segments = rfm(summarise(tx, time_unit="days")).table.set_index("customer_id")["segment"]
    table = churn_by_group(bases, econ, segments)
    totals = sensitivity_to_churn(bases, econ).set_index("churn multiplier")["total CLV"]
    np.testing.assert_allclose(table.sum().to_numpy(), totals.to_numpy(), rtol=1e-10)
    assert set(table.index) == set(segments.astype(str))
    assert (table[0.5] > table[1.0]).all() and (table[1.0] > table[2.0]).all()
    # one segment's value is that segment's customers' CLV under the same economics
    champions = segments.index[segments.astype(str) == "Champions"]
    one = scenario(bases[2.0], Economics(horizon_months=24, churn_multiplier=2.0))
    mask = np.isin(bases[2.0].customer_id, champions)
    assert table.loc["Champions", 2.0] == pytest.approx(one.clv[mask].sum(), rel=1e-12)


def test_a_base_prepared_for_fewer_months_scores_those_horizons_alike_and_refuses_longer_ones(cdnow_base):
    summary, full = cdnow_base
    fit, spend = fit_purchases(summary, "bgnbd"), fit_spend(summary)
    short = precompute(fit, spend, summary, months=12)
    assert short.months == 12 and full.months == 60
    for econ in (Economics(horizon_months=12), Economics(horizon_months=5, annual_discount_rate=0.25)):
        np.testing.assert_allclose(scenario(short, econ).clv, scenario(full, econ).clv, rtol=1e-12)
        assert scenario(short, econ).new_customer_clv == pytest.approx(scenario(full, econ).new_customer_clv)
    with pytest.raises(ClvError, match="prepared for 12 months"):
        scenario(short, Economics(horizon_months=13))


def test_one_set_of_refits_serves_every_economics_and_rolls_up_per_group(cdnow_base):
    from clv_core.forecast import bootstrap_fits, clv_by_group

    summary, base = cdnow_base
    fits = bootstrap_fits(summary, "bgnbd", resamples=6, seed=2)
    low = bootstrap_clv(summary, "bgnbd", Economics(gross_margin=0.2), fits=fits)
    high = bootstrap_clv(summary, "bgnbd", Economics(gross_margin=0.4), fits=fits)
    np.testing.assert_allclose(high.draws, 2 * low.draws)  # CLV is linear in margin: the same refits, rescored
    assert low.draws.shape == (6, len(summary.table))
    np.testing.assert_allclose(low.totals, low.draws.sum(axis=1))

    # one group holding everyone has the base's interval; groups' per-refit sums add up to the base's
    everyone = low.group_intervals(np.full(len(summary.table), "all"))
    assert tuple(everyone.loc["all"]) == pytest.approx(low.total_interval())
    result = scenario(base, Economics(gross_margin=0.2))
    groups = pd.Series(np.where(result.customers["clv"] > result.customers["clv"].median(), "top", "rest"))
    groups.index = result.customers["customer_id"]
    table = clv_by_group(result.customers, groups, boot=low)
    top = low.draws[:, (groups == "top").to_numpy()].sum(axis=1)
    assert table.loc["top", "total_lower"] == pytest.approx(np.percentile(top, 5))
    assert table.loc["top", "total_upper"] == pytest.approx(np.percentile(top, 95))
    assert (table["total_lower"] <= table["total_upper"]).all()
    with pytest.raises(ClvError, match="other customers"):
        clv_by_group(result.customers.head(10), groups, boot=low)


def test_value_per_group_equals_a_group_by_and_reuses_its_look_up(cdnow_base):
    from clv_core.forecast import clv_by_group, group_codes

    _, base = cdnow_base
    customers = scenario(base, Economics(gross_margin=0.3)).customers
    rng = np.random.default_rng(4)
    groups = pd.Series(
        rng.choice(["Champions", "Lost", "At Risk", "New"], len(customers)), index=customers["customer_id"]
    )
    groups = pd.concat([groups, pd.Series(["Nobody here"], index=["not a customer"])])
    expected = (
        customers.assign(segment=groups.reindex(customers["customer_id"]).to_numpy())
        .groupby("segment")
        .agg(
            customers=("clv", "size"),
            total_clv=("clv", "sum"),
            mean_clv=("clv", "mean"),
            mean_p_alive=("p_alive", "mean"),
        )
    )
    expected["share of value"] = expected["total_clv"] / expected["total_clv"].sum()
    expected = expected.sort_values("total_clv", ascending=False)
    codes = group_codes(groups, customers["customer_id"])
    for table in (clv_by_group(customers, groups), clv_by_group(customers, groups, codes=codes)):
        pd.testing.assert_frame_equal(table, expected, check_dtype=False, rtol=1e-12)
    with pytest.raises(ClvError, match="other customers"):
        clv_by_group(customers.head(10), groups, codes=codes)
