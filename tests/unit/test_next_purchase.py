"""Expected next purchase dates (issue 25, point 2): the closed form and the quadrature against simulation of the
model, and the medians calibrated on customers simulated from a known BG/NBD."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_core import next_purchase
from clv_core.analysis import Analysis
from clv_core.economics import Economics
from clv_core.models import FitResult
from clv_core.samples import sample_bytes
from clv_core.summary import CustomerSummary
from tests.conftest import load

TRUE = {"r": 0.6, "alpha": 8.0, "a": 0.5, "b": 2.5}


def simulated(customers: int = 30_000, calibration: float = 52.0, seed: int = 1):
    """BG/NBD customers all acquired at week 0: Poisson purchases at λ ~ Gamma(r, α), dropout with p ~ Beta(a, b)
    after each repeat purchase; their calibration summary at week 52 and the week of their first purchase after
    it (inf: none)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], customers)
    p = rng.beta(TRUE["a"], TRUE["b"], customers)
    x, last, following = np.zeros(customers), np.zeros(customers), np.full(customers, np.inf)
    for i in range(customers):
        t, alive = 0.0, True
        while alive:
            t += rng.exponential(1 / lam[i])
            if t > calibration:
                following[i] = t
                break
            x[i], last[i] = x[i] + 1, t
            alive = rng.uniform() >= p[i]
    table = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(customers)],
            "frequency": x,
            "recency": last,
            "T": calibration,
            "monetary_value": 10.0,
        }
    )
    return CustomerSummary(table, "weeks", pd.Timestamp("2024-12-29")), following - calibration


def test_predicted_medians_split_the_simulated_next_purchases_in_half():
    summary, wait = simulated()
    fit = FitResult("bgnbd", TRUE, {}, 0.0, len(wait), "weeks")
    result = next_purchase.next_purchases(fit, summary, 12)
    weeks = result.table["next_purchase_days"].to_numpy() / 7
    dated = ~np.isnan(weeks)
    assert 2000 < dated.sum() < len(weeks)  # some expected within the year, most not
    # of those given a date, half bought by it; of the rest, under half within the horizon
    assert (wait[dated] <= weeks[dated]).mean() == pytest.approx(0.5, abs=0.02)
    horizon = result.horizon_days / 7
    assert (wait[~dated] <= horizon).mean() < 0.5
    # and the chance to buy within the horizon is calibrated on everyone
    assert result.table["buys_within_horizon"].mean() == pytest.approx((wait <= horizon).mean(), abs=0.01)


def test_pareto_nbd_quadrature_matches_a_simulation_of_its_posterior():
    params = {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}
    fit = FitResult("paretonbd", params, {}, 0.0, 1, "weeks")
    rng = np.random.default_rng(2)
    x, T = 3.0, 30.0
    lam = rng.gamma(params["r"] + x, 1 / (params["alpha"] + T), 400_000)
    mu = rng.gamma(params["s"], 1 / (params["beta"] + T), 400_000)
    death, purchase = rng.exponential(1 / mu), rng.exponential(1 / lam)
    for weeks in (2.0, 10.0, 40.0):
        simulated_share = ((purchase <= weeks) & (purchase < death)).mean()
        assert next_purchase.conditional_cdf(fit, [weeks], [x], [T])[0, 0] == pytest.approx(simulated_share, abs=3e-3)


def test_the_due_list_is_the_scored_tables_dates_within_a_month():
    analysis = Analysis(load(*sample_bytes("cdnow_sample")))
    econ = Economics()
    result = analysis.next_purchases(econ)
    scored = analysis.scored(econ).set_index("customer_id")
    dates = result.table["next_purchase_date"]
    assert scored["next_purchase_date"].equals(dates.reindex(scored.index))  # the one scoring chain's dates
    due = result.due_within(30)
    assert len(due) and (due["next_purchase_days"] <= 30).all()
    assert due["next_purchase_days"].is_monotonic_increasing
    no_date = result.table[dates.isna()]
    assert (no_date["buys_within_horizon"] < 0.5).all()  # no date: less than an even chance within the horizon
