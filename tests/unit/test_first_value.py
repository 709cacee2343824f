"""Value at first purchase (clv_core.first_value): the first order's features and the year's revenue by hand, a
simulation in which the first order decides the value, the backtest's split and its BTYD comparison, the new
customers' list and seed, and the command."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from clv_core import first_value
from clv_core.errors import ClvError
from clv_core.ingest import ingest
from clv_core.models import fit_purchases, fit_spend
from clv_core.samples import sample_bytes
from clv_core.summary import summarise


def test_the_first_order_and_the_years_revenue_by_hand():
    csv = (
        "customer_id,date,amount,channel\n"
        "a,2024-01-01,10,web\na,2024-01-01,5,web\na,2024-06-01,20,shop\na,2024-12-31,7,web\na,2025-01-02,100,web\n"
        "b,2024-03-04,8,shop\n"
        + "".join(f"f{i},2024-0{1 + i % 9}-1{i % 10},3,{('web', 'shop')[i % 2]}\n" for i in range(12))
        + "y,2025-01-10,4,web\nz,2025-06-30,1,web\n"
    ).encode()
    table = first_value.first_orders(ingest(csv, "t.csv"))
    a = table.loc["a"]
    assert a["first order value"] == 15 and a["first order lines"] == 2 and a["weekday"] == "Monday"
    # after 2024-01-01 and within 365 days: 20 (June) + 7 (31 December); 2 January 2025 is day 367
    assert a["value"] == 27 and a["channel"] == "web" and a["purchase days"] == 4
    # the data ends on 2025-06-30: b's year (to 2025-03-04) is covered, y's (to 2026-01-10) is not
    assert bool(a["observed"]) and bool(table.loc["b", "observed"]) and not bool(table.loc["y", "observed"])
    assert table.loc["b", "value"] == 0


def simulated_shop(customers: int = 2000, seed: int = 0) -> bytes:
    """Customers acquired over three years (to the end of 2024) through three channels; an Email customer buys
    four times as often as a Display one, and spends the same per order: the channel decides the year's value."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2022-01-01")
    rows = []
    rate = {"Email": 8.0, "Search": 4.0, "Display": 2.0}
    for i in range(customers):
        channel = rng.choice(list(rate))
        first = start + pd.Timedelta(days=int(rng.integers(0, 1096)))
        rows.append((f"c{i}", first, round(rng.gamma(4, 10), 2), channel))
        for _ in range(rng.poisson(rate[channel] * 1.5)):
            day = first + pd.Timedelta(days=int(rng.integers(1, 548)))
            if day <= pd.Timestamp("2024-12-31"):
                rows.append((f"c{i}", day, round(rng.gamma(4, 10), 2), channel))
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount", "channel"])
    return frame.to_csv(index=False).encode()


def test_when_the_channel_decides_the_value_the_first_purchase_model_ranks_newcomers_and_btyd_cannot():
    tx = ingest(simulated_shop(), "shop.csv")
    result = first_value.backtest(tx, "bgnbd")
    assert len(result.test) >= first_value.MIN_TEST
    model, btyd = result.metrics.loc[result.MODEL], result.metrics.loc[result.BTYD]
    assert model["normalized Gini"] > 0.3 and btyd["normalized Gini"] == 0
    assert model["MAE"] < btyd["MAE"]
    assert np.isnan(btyd["Spearman"])  # the same value for every newcomer
    # older cohorts only: every training customer was acquired before every tested one
    table = first_value.first_orders(tx)
    tested = table.loc[result.test["customer_id"], "first purchase"]
    assert tested.min() == result.split
    assert (table.loc[table["observed"] & (table["first purchase"] < result.split)].shape[0]) == result.train_customers
    # the BTYD figure comes from the same older cohorts' histories, and nothing of the tested customers
    train_ids = table.index[table["observed"] & (table["first purchase"] < result.split)]
    data = tx.data[tx.data["customer_id"].isin(set(train_ids))]
    summary = summarise(data, time_unit="weeks", observation_end=tx.observation_end)
    fit, spend = fit_purchases(summary, "bgnbd"), fit_spend(summary)
    expected = fit.fitter().expected_number_of_purchases_up_to_time(365 / 7) * (
        spend.params["p"] * spend.params["v"] / (spend.params["q"] - 1)
    )
    assert result.test["btyd"].iloc[0] == pytest.approx(expected)
    assert not set(result.test["customer_id"]) & set(train_ids)


def test_new_customers_are_the_recent_one_purchase_ones_ranked_and_the_seed_carries_every_one():
    tx = ingest(simulated_shop(), "shop.csv")
    result = first_value.new_customers(tx)
    table = first_value.first_orders(tx)
    recent = table[(table["first purchase"] > result.since) & (table["purchase days"] == 1)]
    assert set(result.customers["customer_id"]) == set(recent.index)
    assert result.customers["predicted_value"].is_monotonic_decreasing
    assert len(result.high_value) == int(np.ceil(len(recent) * first_value.HIGH_VALUE_SHARE))
    seed = result.seed()
    assert list(seed.columns) == ["customer_id", "predicted_value"] and len(seed) == len(recent)
    # Email newcomers (four times Display's rate) fill the top of the list
    top = result.high_value["channel"].value_counts()
    assert top.idxmax() == "Email"


def test_a_history_shorter_than_a_year_is_a_message():
    csv = b"customer_id,date,amount\n" + b"".join(f"c{i},2024-0{1 + i % 6}-01,5\n".encode() for i in range(400))
    with pytest.raises(ClvError, match="customers whose first 365 days"):
        first_value.backtest(ingest(csv, "t.csv"), "bgnbd")


def test_the_command_prints_the_backtest_and_writes_the_seed(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(sample_bytes("retail")[0])
    out = tmp_path / "seed.csv"
    run = subprocess.run(
        [sys.executable, "-m", "clv_core", "first-value", str(path), "--model", "bgnbd", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    printed = json.loads(run.stdout)
    direct = first_value.backtest(ingest(*sample_bytes("retail")), "bgnbd")
    assert printed["backtest"]["First-purchase model"]["mae"] == pytest.approx(direct.metrics.loc[direct.MODEL, "MAE"])
    seed = pd.read_csv(out)
    assert list(seed.columns) == ["customer_id", "predicted_value"]
    assert printed["new_customers"] == len(seed)
