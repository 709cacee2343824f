"""The per-customer summary equals lifetimes' summary_data_from_transaction_data, on the real CDNOW data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes.utils import summary_data_from_transaction_data

from clv_core.errors import ClvError
from clv_core.summary import TIME_UNITS, summarise
from tests.conftest import load


@pytest.fixture(scope="module")
def cdnow_sample(cdnow_sample_path):
    return load(cdnow_sample_path.read_bytes(), "CDNOW_sample.txt")


@pytest.fixture(scope="module")
def cdnow_master(cdnow_master_path):
    return load(cdnow_master_path.read_bytes(), "CDNOW_master.txt")


@pytest.mark.parametrize("dataset", ["cdnow_sample", "cdnow_master"])
@pytest.mark.parametrize(("unit", "multiplier"), [("days", 1), ("weeks", 7)])
@pytest.mark.parametrize("end", ["1997-09-30", None])
def test_summary_equals_lifetimes_on_cdnow(request, dataset, unit, multiplier, end):
    tx = request.getfixturevalue(dataset)
    ours = summarise(tx, time_unit=unit, observation_end=end).btyd
    theirs = summary_data_from_transaction_data(
        tx.data,
        "customer_id",
        "date",
        monetary_value_col="amount",
        observation_period_end=end or "1998-06-30",
        freq="D",
        freq_multiplier=multiplier,
    )
    assert len(ours) == len(theirs) == tx.report.customers
    np.testing.assert_allclose(ours.to_numpy(), theirs.loc[ours.index].to_numpy(), rtol=0, atol=1e-9)


def test_cdnow_sample_summary_matches_the_published_customer(cdnow_sample):
    # Fader, Hardie & Lee's worked example: customer 00004, x = 2, t_x = 30.43, T = 38.86 weeks at 1997-09-30
    row = summarise(cdnow_sample, time_unit="weeks", observation_end="1997-09-30").btyd.loc["00004"]
    assert (row["frequency"], round(row["recency"], 2), round(row["T"], 2)) == (2.0, 30.43, 38.86)


def test_time_units_scale_recency_and_t_only(cdnow_sample):
    days = summarise(cdnow_sample, time_unit="days").table
    for unit, per in TIME_UNITS.items():
        table = summarise(cdnow_sample, time_unit=unit).table
        np.testing.assert_allclose(table["T"] * per, days["T"])
        np.testing.assert_allclose(table["recency"] * per, days["recency"])
        assert table["frequency"].equals(days["frequency"])


def test_summary_invariants_and_descriptive_columns(cdnow_master):
    table = summarise(cdnow_master).table
    assert (table["frequency"] >= 0).all() and (table["recency"] <= table["T"]).all()
    assert ((table["frequency"] == 0) == (table["monetary_value"] == 0)).mean() > 0.99
    assert table["total_revenue"].sum() == pytest.approx(cdnow_master.data["amount"].sum())
    assert (table["orders"] >= table["frequency"] + 1).all()
    np.testing.assert_allclose(table["average_order_value"], table["total_revenue"] / table["orders"])
    assert (table["days_since_last_purchase"] == (pd.Timestamp("1998-06-30") - table["last_purchase"]).dt.days).all()


def test_transactions_after_the_observation_end_are_counted_not_used(cdnow_sample):
    summary = summarise(cdnow_sample, observation_end="1997-09-30")
    assert summary.transactions_after_end == int((cdnow_sample.data["date"] > "1997-09-30").sum()) > 0
    assert summary.table["last_purchase"].max() <= pd.Timestamp("1997-09-30")


def test_attributes_are_taken_from_the_first_purchase():
    tx = load(
        "customer_id,date,amount,channel\n1,2024-01-05,10,Email\n1,2024-02-05,10,Web\n2,2024-01-07,5,Web\n"
        "3,2024-01-08,5,Web\n4,2024-01-09,5,Web\n5,2024-01-09,5,Email\n"
    )
    table = summarise(tx).table.set_index("customer_id")
    assert table.loc["1", "channel"] == "Email"


def test_unknown_time_unit_and_empty_window_are_user_errors(cdnow_sample):
    with pytest.raises(ClvError, match="Time unit must be one of"):
        summarise(cdnow_sample, time_unit="fortnights")
    with pytest.raises(ClvError, match="No transactions on or before"):
        summarise(cdnow_sample, observation_end="1990-01-01")


def test_a_shuffled_frame_with_integer_ids_gives_the_same_summary(cdnow_master):
    # Plain DataFrames need not be in customer order; the summary puts them in it before reading boundaries.
    data = cdnow_master.data[["customer_id", "date", "amount"]]
    shuffled = data.sample(frac=1, random_state=3).assign(customer_id=lambda d: d["customer_id"].astype(int))
    ours = summarise(shuffled, time_unit="days").btyd
    expected = summarise(cdnow_master, time_unit="days").btyd
    expected.index = expected.index.astype(int).astype(str)  # "00004" → "4", as the integer ids read
    assert ours.index.tolist() == sorted(expected.index)
    pd.testing.assert_frame_equal(ours, expected.loc[ours.index], check_exact=False, rtol=1e-12)


def test_orders_count_distinct_order_ids_per_customer():
    tx = load(
        "customer_id,order_id,date,amount\nb,o1,2024-01-05,10\nb,o1,2024-01-05,4\nb,o2,2024-01-09,3\n"
        "a,o3,2024-01-07,5\na,o4,2024-01-07,6\nc,o5,2024-01-09,1\n"
    )
    table = summarise(tx, time_unit="days").table.set_index("customer_id")
    assert table["orders"].to_dict() == {"a": 2, "b": 2, "c": 1}
    assert table.loc["b", "frequency"] == 1 and table.loc["b", "monetary_value"] == 3
    assert table.loc["a", "frequency"] == 0 and table.loc["a", "total_revenue"] == 11


def test_every_module_converts_months_with_the_one_month_length():
    """A second definition (even of the same 365.25 / 12) would be another object: the modules must import it."""
    from clv_core import economics, names, samples, sufficiency, summary, survival

    assert summary.TIME_UNITS["months"] is names.DAYS_PER_MONTH
    for module in (economics, samples, sufficiency, survival):
        assert module.DAYS_PER_MONTH is names.DAYS_PER_MONTH, module.__name__
