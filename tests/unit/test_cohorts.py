"""Cohort matrices on hand-made data where the answer is known, and invariants on the real CDNOW data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_core.cohorts import (
    MIN_PERIODS_TO_PROJECT,
    build_cohorts,
    cohort_trend,
    comparison,
    default_trend_age,
    first_purchase_attributes,
    project_curve,
)
from clv_core.errors import ClvError
from clv_core.samples import sample_bytes
from tests.conftest import load

HAND = """customer_id,date,amount,channel
a,2024-01-05,10,Email
a,2024-02-07,20,Web
a,2024-04-01,30,Web
b,2024-01-20,40,Web
c,2024-02-10,5,Email
c,2024-03-03,7,Email
d,2024-04-30,9,Web
"""


@pytest.fixture(scope="module")
def cdnow():
    data, name = sample_bytes("cdnow")
    return load(data, name)


@pytest.fixture(scope="module")
def retail():
    data, name = sample_bytes("retail")
    return load(data, name)


def test_monthly_cohorts_by_hand():
    table = build_cohorts(load(HAND), period="month")
    assert table.sizes.to_dict() == {"2024-01": 2, "2024-02": 1, "2024-04": 1}
    assert table.excluded_partial_period is None  # the data ends on April 30
    np.testing.assert_array_equal(table.retention.loc["2024-01"].to_numpy(), [1.0, 0.5, 0.0, 0.5])
    np.testing.assert_array_equal(table.retention.loc["2024-02"].iloc[:3].to_numpy(), [1.0, 1.0, 0.0])
    assert table.retention.loc["2024-02"].iloc[3:].isna().all()  # not observed yet
    np.testing.assert_array_equal(table.revenue_per_customer.loc["2024-01"].to_numpy(), [25.0, 10.0, 0.0, 15.0])
    np.testing.assert_array_equal(table.cumulative_revenue_per_customer.loc["2024-01"].to_numpy(), [25, 35, 35, 50])
    np.testing.assert_array_equal(table.orders_per_customer.loc["2024-01"].to_numpy(), [1.0, 0.5, 0.0, 0.5])


def test_a_period_the_data_ends_inside_is_left_out_not_shown_as_a_drop():
    table = build_cohorts(load(HAND.replace("2024-04-30", "2024-04-15")), period="month")
    assert table.excluded_partial_period == "2024-04"
    assert list(table.retention.columns) == [0, 1, 2]  # April (age 3 of January) is not a complete period
    assert "2024-04" not in table.sizes.index  # a cohort acquired inside it has no complete cell


def test_filter_by_first_purchase_attribute():
    tx = load(HAND)
    assert first_purchase_attributes(tx)["channel"].to_dict() == {"a": "Email", "b": "Web", "c": "Email", "d": "Web"}
    table = build_cohorts(tx, period="month", where=("channel", "Email"))
    assert table.sizes.to_dict() == {"2024-01": 1, "2024-02": 1}
    with pytest.raises(ClvError, match="No customer's first purchase"):
        build_cohorts(tx, where=("channel", "Fax"))


@pytest.mark.parametrize("period", ["week", "month", "quarter"])
def test_cdnow_cohorts_account_for_every_customer_and_all_revenue(cdnow, period):
    table = build_cohorts(cdnow, period=period)
    kept = table.sizes.sum()
    assert kept == cdnow.report.customers or table.excluded_partial_period
    assert (table.retention[0] == 1.0).all()
    assert (table.retention.stack() <= 1.0).all()
    cumulative = table.cumulative_revenue_per_customer
    assert (cumulative.diff(axis=1).stack() >= -1e-9).all()
    if table.excluded_partial_period is None:
        per_cohort = table.revenue_per_customer.sum(axis=1) * table.sizes
        np.testing.assert_allclose(per_cohort, table.revenue)
        assert table.revenue.sum() == pytest.approx(cdnow.data["amount"].sum())


def test_filtered_cohorts_hold_exactly_the_customers_with_that_first_value(retail):
    firsts = first_purchase_attributes(retail)
    table = build_cohorts(retail, period="month", where=("channel", "Email"))
    assert table.sizes.sum() == (firsts["channel"] == "Email").sum()


def test_comparison_table_reads_the_matrices(cdnow):
    table = build_cohorts(cdnow, period="month")
    comp = comparison(table)
    assert comp["customers"].sum() == 23570
    assert comp.loc["1997-01", "retention 3"] == table.retention.loc["1997-01", 3]
    assert (
        comp.loc["1997-01", "cumulative revenue per customer at 12"]
        == table.cumulative_revenue_per_customer.loc["1997-01", 12]
    )
    np.testing.assert_allclose(comp["revenue per customer to date"] * comp["customers"], table.revenue)


def test_projection_recovers_a_known_power_curve():
    ages = np.arange(12)
    curve = 40.0 * np.power(ages + 1.0, 0.35)
    matrix = pd.DataFrame([curve], index=["2024-01"], columns=ages)
    table = build_cohorts(load(HAND), period="month")
    table = type(table)(**{**table.__dict__, "cumulative_revenue_per_customer": matrix})
    projection = project_curve(table, "2024-01", horizon=24)
    assert projection.family == "power" and projection.rmse < 1e-6
    np.testing.assert_allclose(projection.params, (40.0, 0.35), rtol=1e-6)
    assert projection.projected.index[-1] == 24
    assert projection.projected.iloc[-1] == pytest.approx(40.0 * 25**0.35)


def test_projection_refuses_a_young_cohort_and_says_why():
    table = build_cohorts(load(HAND), period="month")
    projection = project_curve(table, "2024-02")
    assert projection.projected is None
    assert (
        f"at least {MIN_PERIODS_TO_PROJECT} are needed" in projection.refused
        and "has 3 complete months" in projection.refused
    )


def test_cohort_trend_compares_newest_with_oldest(cdnow):
    table = build_cohorts(cdnow, period="month")
    assert default_trend_age(table) == 12
    values, sentence = cohort_trend(table, age=3)
    assert list(values.index) == ["1997-01", "1997-02", "1997-03"]
    assert "newest cohort" in sentence and f"{values.iloc[-1]:,.2f}" in sentence and "less" in sentence


def test_unknown_period_is_a_user_error(cdnow):
    with pytest.raises(ClvError, match="Cohort period must be one of"):
        build_cohorts(cdnow, period="decade")


@pytest.mark.parametrize("period", ["week", "month", "quarter"])
def test_cohort_cells_equal_a_plain_groupby_on_the_retail_sample(period):
    # The fast path reads customer runs; this is the same table by hashing groups, as a reference.
    tx = load(*sample_bytes("retail"))
    table = build_cohorts(tx, period=period)
    data = tx.data.sample(frac=1, random_state=1)  # order must not matter to the reference
    freq = {"week": "W", "month": "M", "quarter": "Q"}[period]
    tx_period = data["date"].dt.to_period(freq)
    first = tx_period.groupby(data["customer_id"]).transform("min")
    frame = pd.DataFrame(
        {
            "cohort": first.astype(str),
            "age": (tx_period - first).map(lambda offset: offset.n),
            "customer": data["customer_id"],
            "amount": data["amount"],
            "order": data["order_id"],
        }
    )
    cells = frame.groupby(["cohort", "age"]).agg(
        active=("customer", "nunique"), revenue=("amount", "sum"), orders=("order", "nunique")
    )
    sizes = frame.groupby("cohort")["customer"].nunique()
    observed = table.retention.stack().index  # cells inside the observed window
    for cohort, age in observed[:: max(1, len(observed) // 200)]:
        expected = cells.loc[(cohort, age)] if (cohort, age) in cells.index else pd.Series(0.0, cells.columns)
        n = sizes[cohort]
        assert table.active.loc[cohort, age] == expected["active"]
        assert table.revenue_per_customer.loc[cohort, age] == pytest.approx(expected["revenue"] / n)
        assert table.orders_per_customer.loc[cohort, age] == pytest.approx(expected["orders"] / n)
    assert table.sizes.to_dict() == sizes.loc[table.sizes.index].to_dict()


def _model_on(tx):
    from clv_core.economics import precompute
    from clv_core.models import fit_purchases, fit_spend
    from clv_core.summary import summarise

    summary = summarise(tx, time_unit="weeks")
    fit, spend = fit_purchases(summary, "bgnbd"), fit_spend(summary)
    return fit, summary, precompute(fit, spend, summary, months=1).expected_order_value


def test_forecast_cells_predict_the_revenue_cohorts_went_on_to_make():
    """Cut CDNOW at 1997-09-30, forecast nine months of each cohort's revenue, and compare with what it made."""
    import dataclasses

    from clv_core.cohorts import forecast_cells

    data, name = sample_bytes("cdnow_sample")
    full = load(data, name)
    cut = pd.Timestamp("1997-09-30")
    calibration = dataclasses.replace(full, data=full.data[full.data["date"] <= cut], observation_end=cut)
    table = build_cohorts(calibration, period="month")
    fit, summary, order_value = _model_on(calibration)
    forecast = forecast_cells(table, calibration, fit, summary, order_value, ahead=9)

    # forecast cells are exactly those the data had not reached: Oct 1997 – Jun 1998 for each cohort
    observed = table.revenue_per_customer.reindex(columns=forecast.revenue_per_customer.columns)
    assert (forecast.revenue_per_customer.notna() == observed.isna()).sum().sum() == observed.size
    assert forecast.revenue_per_customer.notna().sum(axis=1).tolist() == [9, 10, 11]  # to 9 past the oldest age
    actual = build_cohorts(full, period="month").revenue_per_customer
    predicted = forecast.revenue_per_customer.reindex(columns=actual.columns)
    ahead = predicted.notna() & actual.notna()  # to June 1998, where the data ends
    assert ahead.sum().sum() == 9 + 9 + 9
    sizes = table.sizes.to_numpy()[:, None]
    total = (predicted[ahead] * sizes).sum().sum()
    error = total / (actual[ahead] * sizes).sum().sum() - 1
    assert abs(error) < 0.20, f"holdout revenue off by {error:.1%}"
    # and it is the holdout spend the validation page predicts, added up by cohort and month instead of customer
    from clv_core import validation
    from clv_core.models import fit_spend

    holdout = validation.split(full, calibration_end=cut)
    per_customer = validation.predict_holdout(fit, fit_spend(holdout.summary), holdout)
    assert total == pytest.approx(per_customer["spend"].sum(), rel=1e-6)
    # the cumulative view carries on from each cohort's last observed value
    for cohort, history in table.cumulative_revenue_per_customer.iterrows():
        age = int(history.notna().sum())  # the first age the data had not reached
        step = forecast.revenue_per_customer.loc[cohort, age]
        assert forecast.cumulative_revenue_per_customer.loc[cohort, age] == pytest.approx(history[age - 1] + step)


def test_a_period_the_data_ends_inside_holds_its_purchases_so_far_plus_the_forecast_for_the_rest():
    from clv_core.cohorts import forecast_cells

    tx = load((HAND + "b,2024-05-10,100,Web\n").encode(), "hand.csv")  # the data ends inside May
    table = build_cohorts(tx, period="month")
    assert table.excluded_partial_period == "2024-05"
    fit = _FlatFit()
    summary = _flat_summary(tx)
    forecast = forecast_cells(table, tx, fit, summary, np.ones(len(summary.table)), ahead=1)
    # cohort 2024-01 (a, b): May holds b's 100 bought so far, plus 1 expected purchase a day per customer for
    # the rest of May (21 days: 10 → 31), at order value 1, over the cohort's 2 customers
    may = forecast.revenue_per_customer.loc["2024-01", 4]
    assert may == pytest.approx((100 + 2 * 21) / 2)


class _FlatFit:
    """A stand-in purchase model: one purchase a day for everyone (days as the unit)."""

    model = "flat"

    def expected_purchases(self, t, f, r, T):
        return np.full(len(np.atleast_1d(f)), float(t))


def _flat_summary(tx):
    from clv_core.summary import summarise

    return summarise(tx, time_unit="days")
