"""Purchases at fixed opportunities (issue 24, point 2): the grid found only where every purchase sits on it,
BG/BB reproducing Fader, Hardie & Shang's donations figures from the bundled sample's transactions, and the
forecast equal to lifetimes' expressions with the page's discounting."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from lifetimes.datasets import load_donations

from clv_core import discrete
from clv_core.analysis import Analysis
from clv_core.economics import Economics
from clv_core.errors import ClvError
from clv_core.samples import sample_bytes
from tests.conftest import load, run_cli


@pytest.fixture(scope="module")
def donations() -> Analysis:
    return Analysis(load(*sample_bytes("donations")))


def test_the_donations_sample_gives_the_published_histories_and_estimates(donations):
    summary, fitted = donations.bgbb()
    assert summary.grid.describe() == "7 opportunities about every 365 days, 1995-11-15 to 2001-11-15"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = load_donations()
    counts = summary.table.groupby(["frequency", "recency", "n_periods"]).size().reset_index(name="weights")
    assert counts.to_numpy().tolist() == reference.to_numpy().tolist()  # the same 22 patterns, the same counts
    assert {k: round(v, 3) for k, v in fitted.params.items()} == {
        "alpha": 1.204,
        "beta": 0.750,
        "gamma": 0.657,
        "delta": 2.783,
    }  # Fader, Hardie & Shang (2010), table 2
    assert round(fitted.log_likelihood, 1) == -33225.6


@pytest.mark.parametrize(
    "dates, found",
    [
        (["2020-03-01", "2021-03-01", "2022-03-01", "2023-03-01"], True),  # yearly
        (["2024-01-06", "2024-01-13", "2024-01-20", "2024-01-27"], True),  # weekly market days
        (["2020-03-01", "2021-03-01", "2021-09-01", "2022-03-01"], False),  # an extra date off the grid
        ([f"2024-01-{d:02d}" for d in range(1, 20)], False),  # every day: purchases any time
        (["2020-03-01", "2021-03-01"], False),  # two dates are no grid
    ],
)
def test_the_grid_is_found_only_where_every_purchase_sits_on_it(dates, found):
    rows = [(f"c{i}", d, 10.0) for i in range(12) for d in dates[: 1 + i % len(dates)]]
    tx = load(pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).to_csv(index=False))
    assert (discrete.opportunity_grid(tx) is not None) is found
    assert discrete.opportunity_grid(load(*sample_bytes("cdnow_sample"))) is None


def test_the_forecast_is_lifetimes_expectation_discounted_to_each_opportunity(donations):
    summary, fitted = donations.bgbb()
    econ = Economics(horizon_months=36, gross_margin=0.5, annual_discount_rate=0.08)
    result = donations.discrete_forecast(econ)
    assert result.opportunities == 3  # 36 months hold the next three yearly drives
    t = summary.table
    fitter = fitted.fitter()
    x, tx, n = (t[c].to_numpy() for c in ("frequency", "recency", "n_periods"))
    expected = np.asarray(fitter.conditional_expected_number_of_purchases_up_to_time(3, x, tx, n))
    np.testing.assert_allclose(result.customers["expected_purchases"], expected, rtol=1e-12)
    np.testing.assert_allclose(result.customers["p_alive"], fitter.conditional_probability_alive(0, x, tx, n))
    steps = np.diff(
        np.column_stack(
            [np.zeros(len(t))]
            + [np.asarray(fitter.conditional_expected_number_of_purchases_up_to_time(j, x, tx, n)) for j in (1, 2, 3)]
        ),
        axis=1,
    )
    period = (np.datetime64("2001-11-15") - np.datetime64("1995-11-15")).astype(int) / 6  # two leap days in six
    months = period / (365.25 / 12) * np.arange(1, 4)
    by_hand = (steps * 1.08 ** (-months / 12)).sum(axis=1) * t["monetary_value"].to_numpy() * 0.5
    np.testing.assert_allclose(result.customers["clv"], by_hand, rtol=1e-9)
    assert donations.discrete_forecast(Economics(horizon_months=6)).total_clv == 0  # the next drive is a year off


@pytest.mark.parametrize(
    "dates, horizon, opportunities",
    [
        ([f"2024-{m:02d}-01" for m in range(1, 13)], 12, 12),  # monthly drives: months of 28–31 days
        (["2019-03-01", "2020-03-01", "2021-03-01"], 12, 1),  # a yearly grid across 29 February
        (["2019-03-01", "2020-03-01", "2021-03-01"], 11, 0),
    ],
)
def test_the_horizon_holds_the_opportunities_a_calendar_says(dates, horizon, opportunities):
    rows = [(f"c{i}", d, 10.0) for i in range(40) for k, d in enumerate(dates) if k % (1 + i % 3) == 0 or k == 0]
    tx = load(pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).to_csv(index=False))
    grid = discrete.opportunity_grid(tx)
    summary = discrete.summarise(tx, grid)
    fitted = discrete.BGBBFit({"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}, {}, 0.0, 40)
    assert discrete.forecast(summary, fitted, horizon, 0.1, 0.3).opportunities == opportunities


def test_a_short_grid_that_lifetimes_cannot_fit_unpenalised_is_fitted_with_a_penalty_and_says_so():
    """Four opportunities, 400 customers: lifetimes' unbounded fit runs off on most such data sets."""
    fitted_with = []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        rows = []
        for i in range(400):
            p, theta = rng.beta(2, 2), rng.beta(1, 4)
            rows.append((f"c{i}", "2021-06-01", 10.0))
            for k in range(1, 4):
                if rng.uniform() < theta:
                    break
                if rng.uniform() < p:
                    rows.append((f"c{i}", f"{2021 + k}-06-01", 10.0))
        tx = load(pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).to_csv(index=False))
        fitted = discrete.fit(discrete.summarise(tx, discrete.opportunity_grid(tx)))
        assert all(np.isfinite(list(fitted.params.values())))
        fitted_with.append(bool(fitted.notes))
    assert any(fitted_with)  # at least one needed the penalty, and the page says it


def test_data_off_the_grid_says_the_purchase_models_apply():
    with pytest.raises(ClvError, match="do not fall on a regular grid"):
        Analysis(load(*sample_bytes("cdnow_sample"))).bgbb()


def test_the_command_line_prints_the_fit_and_the_totals(donations, tmp_path):
    data, name = sample_bytes("donations")
    (tmp_path / name).write_bytes(data)
    done = run_cli("opportunities", str(tmp_path / name), "--horizon-months", "24", "--out", str(tmp_path / "f.csv"))
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert round(said["params"]["gamma"], 3) == 0.657 and said["opportunities_in_horizon"] == 2
    assert said["total_clv"] == pytest.approx(donations.discrete_forecast(Economics(horizon_months=24)).total_clv)
    assert len(pd.read_csv(tmp_path / "f.csv")) == 11104
    cdnow, cdnow_name = sample_bytes("cdnow_sample")
    (tmp_path / cdnow_name).write_bytes(cdnow)
    refused = run_cli("opportunities", str(tmp_path / cdnow_name))
    assert refused.returncode != 0 and "do not fall on a regular grid" in refused.stderr
    assert refused.stdout == ""  # nothing lifetimes prints reaches the JSON channel
