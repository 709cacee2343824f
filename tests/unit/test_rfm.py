"""RFM scores, the 11-segment grid, the four-tier grid and lifecycle stages."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from clv_core.errors import ClvError
from clv_core.rfm import (
    SEGMENT_GRID,
    SEGMENT_OF_CELL,
    LifecycleThresholds,
    lifecycle,
    named_segment,
    previous_gaps,
    rf_matrix,
    rfm,
    scores,
    segment_summary,
    unused_scores,
)
from clv_core.samples import sample_bytes
from clv_core.summary import summarise
from tests.conftest import load


@pytest.fixture(scope="module")
def cdnow_rfm():
    data, name = sample_bytes("cdnow")
    tx = load(data, name)
    return rfm(summarise(tx), previous_gap_days=previous_gaps(tx.data))


def test_segment_grid_is_complete_and_non_overlapping():
    cells = [c for cs in SEGMENT_GRID.values() for c in cs]
    assert len(cells) == len(set(cells)) == 25
    assert set(cells) == {f"{r}{fm}" for r, fm in itertools.product(range(1, 6), repeat=2)}


@pytest.mark.parametrize(
    ("r", "f", "m", "segment"),
    [
        (5, 5, 5, "Champions"),
        (4, 5, 4, "Champions"),  # FM = 4.5 rounds up to 5; Python's round() would say 4 → Loyal
        (5, 3, 2, "Loyal Customers"),  # FM = 2.5 → 3; round() would say 2 → Potential Loyalist
        (5, 1, 1, "Recent / New Customers"),
        (1, 5, 5, "Can't Lose Them"),
        (2, 5, 5, "At Risk"),
        (2, 1, 1, "About To Sleep"),
        (1, 1, 1, "Lost"),
    ],
)
def test_named_segment_cells(r, f, m, segment):
    assert named_segment([r], [f], [m]).tolist() == [segment]


def test_scores_give_tied_values_one_score_and_stay_in_range():
    values = pd.Series([1] * 60 + list(range(2, 42)))
    s = scores(values, 5)
    assert s[:60].nunique() == 1 and s[:60].iloc[0] == 1
    assert s.between(1, 5).all() and s.iloc[-1] == 5
    assert scores(pd.Series([10, 20, 30, 40]), 4, higher_is_better=False).tolist() == [4, 3, 2, 1]


def test_cdnow_every_customer_gets_one_segment_tier_and_stage(cdnow_rfm):
    t = cdnow_rfm.table
    assert len(t) == 23570 and t["segment"].notna().all() and t["lifecycle"].notna().all()
    for column in ("segment", "tier_group", "lifecycle"):
        summary = segment_summary(cdnow_rfm, column)
        assert summary["customers"].sum() == 23570
        assert summary["share of customers"].sum() == pytest.approx(1.0)
        assert summary["share of revenue"].sum() == pytest.approx(1.0)
    assert rf_matrix(cdnow_rfm).to_numpy().sum() == 23570
    assert unused_scores(cdnow_rfm) == {"F": [2]}  # most CDNOW customers have one order: heavy ties


def test_champions_are_more_valuable_than_lost_customers(cdnow_rfm):
    summary = segment_summary(cdnow_rfm)
    assert summary.loc["Champions", "mean revenue"] > 10 * summary.loc["Lost", "mean revenue"]
    assert summary.loc["Champions", "mean recency (days)"] < summary.loc["Lost", "mean recency (days)"]


def test_four_tier_grid_names_the_best_customer():
    rows = "\n".join(f"c{i},2024-0{1 + i % 6}-10,{i + 1}" for i in range(40))
    extra = "\n".join(f"best,2024-0{m}-15,500" for m in range(1, 7))
    tx = load(f"customer_id,date,amount\n{rows}\n{extra}\n")
    result = rfm(summarise(tx), bins=4)
    best = result.table.set_index("customer_id").loc["best"]
    assert (best["tier_code"], best["tier_group"]) == ("1-1-1", "Best customers")
    assert result.table[["R", "F", "M"]].max().max() == 4


def test_lifecycle_rules_first_match_wins():
    t = LifecycleThresholds(at_risk_days=90, churned_days=180, frequent_orders=4)
    stages = lifecycle(
        recency_days=[200, 100, 10, 10, 10, 10],
        orders=[9, 9, 3, 1, 5, 2],
        previous_gap_days=[np.nan, np.nan, 200, np.nan, 30, 30],
        thresholds=t,
    )
    assert stages.tolist() == ["Churned", "At risk of churn", "Reactivated", "First-time", "Frequent", "Sporadic"]


def test_changing_thresholds_moves_customers(cdnow_rfm):
    data, name = sample_bytes("cdnow")
    tx = load(data, name)
    loose = rfm(summarise(tx), thresholds=LifecycleThresholds(at_risk_days=300, churned_days=500))
    assert (loose.table["lifecycle"] == "Churned").sum() < (cdnow_rfm.table["lifecycle"] == "Churned").sum()


def test_invalid_thresholds_and_bins_are_user_errors():
    with pytest.raises(ClvError, match="shorter than the churn threshold"):
        LifecycleThresholds(at_risk_days=200, churned_days=100)
    with pytest.raises(ClvError, match="quintiles"):
        rfm(summarise(load("customer_id,date,amount\n1,2024-01-05,1\n")), bins=3)


def test_segment_of_cell_covers_every_score_pair():
    assert len(SEGMENT_OF_CELL) == 25
