"""KPIs, monthly trend and revenue concentration on hand-made data and CDNOW."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_core.overview import concentration, kpis, monthly_trend
from clv_core.samples import sample_bytes
from tests.conftest import load

HAND = """customer_id,date,amount
a,2024-01-10,10
a,2024-02-10,20
b,2024-02-15,30
c,2024-03-05,40
a,2024-03-20,50
"""


def by_name(window):
    return {k.name: k for k in window.kpis}


def test_monthly_kpis_by_hand():
    tx = load(HAND.replace("2024-03-20", "2024-03-31"))
    k = by_name(kpis(tx, window="month"))
    assert k["Revenue"].value == 90 and k["Revenue"].previous == 50
    assert k["Revenue"].change == pytest.approx(0.8)
    assert k["Active customers"].value == 2 and k["Active customers"].previous == 2
    assert k["Customers"].value == 3 and k["Customers"].previous == 2
    assert k["Orders"].value == 2 and k["Average order value"].value == 45
    assert k["Repeat-purchase rate"].value == 0.5  # a had bought before March, c had not
    assert k["Historical CLV per customer"].value == pytest.approx(150 / 3)


def test_no_previous_window_means_no_change():
    tx = load("customer_id,date,amount\na,2024-03-05,1\n")
    window = kpis(tx, window="quarter")
    assert not window.has_previous and all(k.change is None for k in window.kpis)


def test_monthly_trend_splits_new_and_returning_and_marks_an_incomplete_month():
    trend = monthly_trend(load(HAND))
    assert trend["revenue"].tolist() == [10, 50, 90]
    assert trend["revenue from new customers"].tolist() == [10, 30, 40]
    assert trend["revenue from returning customers"].tolist() == [0, 20, 50]
    assert trend["complete"].tolist() == [True, True, False]  # data ends on March 20


def test_gini_of_equal_spend_is_zero_and_of_one_spender_is_n_minus_1_over_n():
    assert concentration(np.full(50, 7.0)).gini == pytest.approx(0.0, abs=1e-12)
    assert concentration(np.array([0.0] * 9 + [100.0])).gini == pytest.approx(0.9)
    lorenz = concentration(np.array([1.0, 2.0, 3.0, 4.0])).lorenz
    assert lorenz.iloc[0].tolist() == [0.0, 0.0] and lorenz.iloc[-1].tolist() == [1.0, 1.0]


def test_top_shares_by_hand():
    result = concentration(np.array([1.0] * 99 + [901.0]))
    assert result.top_shares["top 1%"] == pytest.approx(0.901)
    assert result.top_shares["top 10%"] == pytest.approx((901 + 9) / 1000)


def test_cdnow_overview_figures():
    data, name = sample_bytes("cdnow")
    tx = load(data, name)
    k = by_name(kpis(tx, window="quarter"))
    assert k["Customers"].value == 23570
    trend = monthly_trend(tx)
    assert trend["revenue"].sum() == pytest.approx(tx.data["amount"].sum())
    assert len(trend) == 18 and trend["complete"].all()
    result = concentration(tx.data.groupby("customer_id")["amount"].sum())
    assert 0.5 < result.gini < 0.8 and result.top_shares["top 10%"] > 0.4


def test_trend_and_kpis_equal_plain_pandas_on_the_retail_sample():
    tx = load(*sample_bytes("retail"))
    data = tx.data.sample(frac=1, random_state=2)  # the reference must not depend on row order
    month = data["date"].dt.to_period("M")
    first = month.groupby(data["customer_id"]).transform("min")
    trend = monthly_trend(tx)
    by_month = data.groupby(month)
    expected_active = by_month["customer_id"].nunique()
    expected_new = data[month == first].groupby(month[month == first])["customer_id"].nunique()
    shown = trend.set_index(trend.index.to_period("M"))
    assert shown["active customers"].loc[expected_active.index].tolist() == expected_active.tolist()
    assert shown["new customers"].loc[expected_new.index].tolist() == expected_new.tolist()
    np.testing.assert_allclose(shown["revenue"].loc[expected_active.index], by_month["amount"].sum())

    window = kpis(tx, window="quarter")
    values = {k.name: k.value for k in window.kpis}
    inside = data[(data["date"] >= window.start) & (data["date"] < window.end + pd.Timedelta(days=1))]
    first_date = data.groupby("customer_id")["date"].transform("min").loc[inside.index]
    assert values["Active customers"] == inside["customer_id"].nunique()
    assert values["Repeat-purchase rate"] == pytest.approx(
        inside.loc[first_date < window.start, "customer_id"].nunique() / inside["customer_id"].nunique()
    )
    assert values["Customers"] == data.loc[data["date"] < window.end + pd.Timedelta(days=1), "customer_id"].nunique()
