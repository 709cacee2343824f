"""Customer equity (issue 23, point 3): current customers from the one scoring chain, future customers from the
monthly cohorts, the closed form on a synthetic case, and a clear sentence where the data cannot say."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clv_core import equity
from clv_core.analysis import Analysis
from clv_core.cohorts import build_cohorts
from clv_core.economics import Economics
from clv_core.errors import ClvError
from clv_core.samples import sample_bytes
from tests.conftest import load, run_cli


def test_current_customers_are_worth_the_total_that_score_writes_for_the_same_horizon(cdnow_sample_path, tmp_path):
    economics = ("--margin", "0.35")
    scored = run_cli(
        "score", str(cdnow_sample_path), *economics, "--horizon-months", "36", "--annual-discount-rate", "0.08",
        "--out", str(tmp_path / "s.csv"),
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    valued = run_cli(
        "equity", str(cdnow_sample_path), *economics, "--years", "3", "--corporate-discount-rate", "0.08",
        "--cac", "20",
    )  # fmt: skip
    assert valued.returncode == 0, valued.stderr
    out = json.loads(valued.stdout)
    total = pd.read_csv(tmp_path / "s.csv")["clv"].sum()
    assert out["current_customers_value"] == pytest.approx(total, rel=1e-12)
    assert out["customer_equity"] == pytest.approx(
        out["current_customers_value"] + out["future_customers_value"] - out["acquisition_cost"], rel=1e-12
    )
    assumptions = out["assumptions"]
    assert (assumptions["years"], assumptions["corporate_discount_rate"], assumptions["cac"]) == (3, 0.08, 20.0)
    # CDNOW follows the customers acquired in the first quarter of 1997: none in the last 12 months
    assert out["future_customers_value"] == out["acquisition_cost"] == 0
    assert "No customer was acquired in the last 12 complete months" in assumptions["acquisitions_basis"]


def monthly_cohorts(per_month: int, months: int) -> pd.DataFrame:
    """``per_month`` new customers on the 3rd of each month from January 2023; each buys again on the 20th."""
    rows = []
    for m, start in enumerate(pd.date_range("2023-01-01", periods=months, freq="MS") + pd.Timedelta(days=2)):
        for c in range(per_month):
            rows += [(f"c{m:02d}-{c}", start, 10.0), (f"c{m:02d}-{c}", start + pd.Timedelta(days=17), 5.0)]
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


def test_a_known_acquisition_rate_is_measured_from_the_last_twelve_complete_months():
    tx = load(monthly_cohorts(7, 24).to_csv(index=False))
    acquired = equity.acquisitions(build_cohorts(tx, period="month"))
    # the data ends on 2024-12-20, inside December: the months averaged are December 2023 to November 2024
    assert (acquired.per_month, acquired.months, acquired.first, acquired.last) == (7.0, 12, "2023-12", "2024-11")
    assert acquired.recent_per_month == 7.0 and "last three" not in acquired.sentence


def test_future_customers_match_the_closed_form_of_a_constant_retention_customer():
    """A customer pays margin m when acquired and each month after while retained (probability r a month): the
    new-customer curve is m · Σ_{t ≤ j} (r v)^t, and n acquisitions a month over H months sum to
    n m / (1 − r v) · [Σ_k v^k − (r v)^(H+1) Σ_k r^(−k)] (k = 1 … H), both sums geometric."""
    m, r, n, cac, d, months = 12.0, 0.9, 40.0, 30.0, 0.008, 36
    v = 1 / (1 + d)
    curve = m * np.cumsum((r * v) ** np.arange(61))
    value, cost = equity.future_customers(curve, n, cac, d, months)
    s1 = v * (1 - v**months) / (1 - v)
    s2 = (1 / r) * (1 - r**-months) / (1 - 1 / r)
    assert value == pytest.approx(n * m / (1 - r * v) * (s1 - (r * v) ** (months + 1) * s2), rel=1e-12)
    assert cost == pytest.approx(n * cac * s1, rel=1e-12)


def test_one_more_point_of_retention_is_the_constant_hazard_multiplier():
    for r in (0.2, 0.5, 0.9):
        multiplier = equity.retention_multiplier(r)
        assert np.exp(multiplier * np.log(r)) == pytest.approx(r + 0.01, rel=1e-12)  # e^(-12 λ m) = r + 1 pt
    assert equity.retention_multiplier(0.0) is None and equity.retention_multiplier(0.995) is None


@pytest.fixture(scope="module")
def retail() -> Analysis:
    return Analysis(load(*sample_bytes("retail")))


def test_the_sensitivities_move_the_way_the_paper_says(retail):
    result = retail.equity(Economics(annual_discount_rate=0.10, gross_margin=0.30, cac=25.0), years=3)
    s = result.sensitivities
    assert result.future_customers_value > result.acquisition_cost > 0 and result.acquisitions.per_month > 0
    assert s["retention_plus_1pt"] > 0 and s["discount_rate_plus_1pt"] < 0
    assert s["acquisitions_plus_1pct"] == pytest.approx(
        0.01 * (result.future_customers_value - result.acquisition_cost)
    )
    assert s["cac_minus_1pct"] == pytest.approx(0.01 * result.acquisition_cost)
    bridge = result.bridge()
    assert bridge["amount"].iloc[:3].sum() == pytest.approx(bridge["amount"].iloc[3])
    assert result.retention_moved and "→" in result.retention_moved
    # the shop stopped acquiring in March 2025: the projection says its last months differ from its mean
    assert result.acquisitions.recent_per_month < 0.5 * result.acquisitions.per_month
    assert "The last three of them had" in result.acquisitions.sentence
    longer = retail.equity(Economics(annual_discount_rate=0.10, gross_margin=0.30, cac=25.0), years=5)
    assert longer.customer_equity > result.customer_equity  # more years of the same customers, more value


def test_customers_already_there_when_the_data_starts_are_not_counted_as_acquired():
    """An export that starts in the middle of a business: its first month holds every customer who buys then."""
    rows = [(f"old-{c}", "2024-01-10", 20.0) for c in range(500)]
    rows += [r for r in monthly_cohorts(10, 9).itertuples(index=False) if r.date >= pd.Timestamp("2023-02-01")]
    shifted = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    shifted["date"] = pd.to_datetime(shifted["date"])
    shifted.loc[~shifted["customer_id"].str.startswith("old"), "date"] += pd.DateOffset(years=1)
    acquired = equity.acquisitions(build_cohorts(load(shifted.to_csv(index=False)), period="month"))
    assert acquired.per_month == 10.0 and acquired.first == "2024-02" and acquired.lead_in_left_out
    assert "first month is left out" in acquired.sentence


def test_data_that_cannot_be_valued_gets_a_sentence():
    two_months = load(monthly_cohorts(5, 3).to_csv(index=False))  # January, February, and March until the 20th
    with pytest.raises(ClvError, match=r"at least three complete months of data .* this data has 2\. Load"):
        equity.acquisitions(build_cohorts(two_months, period="month"))
    with pytest.raises(ClvError, match="1 to 5 years"):
        Analysis(two_months).equity(Economics(), years=9)
