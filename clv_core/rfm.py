"""RFM scores, named segments, the four-tier R-F-M grid and lifecycle stages.

Inputs are RFM quantities, not BTYD ones: *recency* is days from the last purchase to the observation end,
*frequency* is the number of orders, *monetary* is total revenue.

Scores are quantile ranks in which tied values share one score: score = 1 + ⌊q · (r − 1) / n⌋ where r is the
lowest rank of the value among n customers. A value held by many customers (one order, for most of a
customer base) therefore gets one score, and some scores may be unused; the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clv_core.errors import ClvError
from clv_core.ingest import Transactions
from clv_core.runs import in_order, runs
from clv_core.summary import CustomerSummary

#: The 11-segment scheme as a complete (R, FM) grid on 1–5 scores (DESIGN.md): every cell has one segment.
SEGMENT_GRID = {
    "Champions": ("55", "54", "45"),
    "Loyal Customers": ("53", "44", "35", "34"),
    "Potential Loyalist": ("52", "42", "33", "43"),
    "Recent / New Customers": ("51",),
    "Promising": ("41", "31"),
    "Need Attention": ("32", "23", "22"),
    "About To Sleep": ("21",),
    "At Risk": ("25", "24", "13"),
    "Can't Lose Them": ("15", "14"),
    "Hibernating": ("12",),
    "Lost": ("11",),
}
SEGMENT_OF_CELL = {cell: name for name, cells in SEGMENT_GRID.items() for cell in cells}
SEGMENT_ORDER = tuple(SEGMENT_GRID)

#: The four-tier grid (1 = best quartile on each of R, F, M) and its named groups.
TIER_GROUPS = {
    "Best customers": ("1-1-1",),
    "High-spending new customers": ("1-4-1", "1-4-2"),
    "Lowest-spending active loyal customers": ("1-1-3", "1-1-4"),
    "Churned best customers": ("4-1-1", "4-1-2", "4-2-1", "4-2-2"),
}
TIER_OF_CODE = {code: name for name, codes in TIER_GROUPS.items() for code in codes}
OTHER_TIER = "Other"
_SEGMENT_CODE = np.full(56, -1)
for _cell, _name in SEGMENT_OF_CELL.items():
    _SEGMENT_CODE[int(_cell)] = SEGMENT_ORDER.index(_name)
_TIER_CODES = np.array([f"{r}-{f}-{m}" for r in range(1, 5) for f in range(1, 5) for m in range(1, 5)], dtype=object)
_TIER_GROUP_OF = np.array([TIER_OF_CODE.get(code, OTHER_TIER) for code in _TIER_CODES], dtype=object)

LIFECYCLE_ORDER = ("First-time", "Sporadic", "Frequent", "Reactivated", "At risk of churn", "Churned")
_STAGE = {name: code for code, name in enumerate(LIFECYCLE_ORDER)}


@dataclass(frozen=True)
class LifecycleThresholds:
    """Thresholds for lifecycle stages, in days since the last purchase and in orders.

    Attributes
    ----------
    at_risk_days : int
        Inactive longer than this: at risk of churn.
    churned_days : int
        Inactive longer than this: churned. Also the gap after which a returning customer is *reactivated*.
    frequent_orders : int
        Active customers with at least this many orders are *frequent*; with 2 or more, *sporadic*.
    """

    at_risk_days: int = 90
    churned_days: int = 180
    frequent_orders: int = 4

    def __post_init__(self) -> None:
        if not 0 < self.at_risk_days < self.churned_days:
            raise ClvError("The at-risk threshold must be positive and shorter than the churn threshold.")
        if self.frequent_orders < 2:
            raise ClvError("A frequent customer needs at least 2 orders.")


@dataclass(frozen=True)
class RFMResult:
    """Per-customer RFM table and how it was made.

    ``table`` columns: ``customer_id``, ``recency_days``, ``orders``, ``revenue``; ``R``, ``F``, ``M`` (1–``bins``,
    higher is better); ``segment`` (11-segment scheme on quintiles); ``tier_code`` ("1-1-1", quartiles, 1 is
    best) and ``tier_group``; ``lifecycle``; ``previous_gap_days`` (days between the last two purchase days).
    """

    table: pd.DataFrame
    bins: int
    thresholds: LifecycleThresholds
    observation_end: pd.Timestamp


def scores(values: pd.Series, bins: int, *, higher_is_better: bool = True) -> pd.Series:
    """Quantile scores 1…``bins`` (``bins`` best) in which tied values share a score.

    >>> scores(pd.Series([1, 1, 1, 1, 2, 3, 5, 8, 13, 21]), 5).tolist()
    [1, 1, 1, 1, 3, 3, 4, 4, 5, 5]
    """
    return pd.Series(_binned(_min_ranks(values, higher_is_better), bins), index=values.index)


def _min_ranks(values: pd.Series, higher_is_better: bool = True) -> np.ndarray:
    """Rank of each value, ties sharing the lowest rank (1-based); the best values rank highest."""
    return (values if higher_is_better else -values).rank(method="min").to_numpy()


def _binned(ranked: np.ndarray, bins: int) -> np.ndarray:
    if bins < 2:
        raise ClvError("Scores need at least 2 bins.")
    return (1 + np.floor(bins * (ranked - 1) / len(ranked))).clip(1, bins).astype(int)


def rfm(
    summary: CustomerSummary,
    *,
    bins: int = 5,
    thresholds: LifecycleThresholds | None = None,
    previous_gap_days: pd.Series | None = None,
) -> RFMResult:
    """Score customers and name their segment, tier and lifecycle stage.

    Parameters
    ----------
    summary : CustomerSummary
        From :func:`clv_core.summary.summarise` (any time unit: RFM uses days and order counts).
    bins : {5, 4}
        Quintiles or quartiles for the displayed R, F, M scores. Named segments always use quintiles (the
        scheme is defined on 1–5) and the four-tier grid always quartiles.
    thresholds : LifecycleThresholds, optional
    previous_gap_days : pandas.Series, optional
        Days between each customer's last two purchase days (see :func:`previous_gaps`), for *reactivated*.
    """
    if bins not in (4, 5):
        raise ClvError("RFM scores use quintiles (5) or quartiles (4).")
    thresholds = thresholds or LifecycleThresholds()
    t = summary.table
    table = pd.DataFrame(
        {
            "customer_id": t["customer_id"].to_numpy(),
            "recency_days": t["days_since_last_purchase"].to_numpy(),
            "orders": t["orders"].to_numpy(),
            "revenue": t["total_revenue"].to_numpy(),
        }
    )
    recency, orders, revenue = table["recency_days"], table["orders"], table["revenue"]
    ranks = _min_ranks(recency, False), _min_ranks(orders), _min_ranks(revenue)
    table["R"], table["F"], table["M"] = (_binned(rank, bins) for rank in ranks)

    table["segment"] = named_segment(*(_binned(rank, 5) for rank in ranks))

    # four-tier grid: 1 is the best quartile
    r4, f4, m4 = (5 - _binned(rank, 4) for rank in ranks)
    tier = (r4 - 1) * 16 + (f4 - 1) * 4 + (m4 - 1)
    table["tier_code"] = _TIER_CODES[tier]
    table["tier_group"] = _TIER_GROUP_OF[tier]

    gaps = (
        previous_gap_days.reindex(table["customer_id"]).to_numpy()
        if previous_gap_days is not None
        else np.full(len(table), np.nan)
    )
    table["previous_gap_days"] = gaps
    table["lifecycle"] = lifecycle(recency, orders, gaps, thresholds)
    return RFMResult(table=table, bins=bins, thresholds=thresholds, observation_end=summary.observation_end)


def named_segment(r, f, m) -> pd.Categorical:
    """The 11-segment name for quintile scores (5 best): cell (R, FM) with FM = (F + M) / 2 rounded half up.

    >>> named_segment(pd.Series([5, 4, 1]), pd.Series([5, 5, 1]), pd.Series([5, 4, 1])).tolist()
    ['Champions', 'Champions', 'Lost']
    """
    r, f, m = (np.asarray(x, dtype=int) for x in (r, f, m))
    fm = np.floor((f + m) / 2 + 0.5).astype(int)  # half up: Python's round((5 + 4) / 2) would give 4
    return pd.Categorical.from_codes(_SEGMENT_CODE[r * 10 + fm], SEGMENT_ORDER)


def lifecycle(recency_days, orders, previous_gap_days, thresholds: LifecycleThresholds) -> pd.Categorical:
    """Stage per customer, first rule that applies: churned, at risk, reactivated (came back after a gap
    longer than the churn threshold), first-time (one order), frequent, sporadic."""
    recency = np.asarray(recency_days, dtype=float)
    orders = np.asarray(orders)
    gap = np.asarray(previous_gap_days, dtype=float)
    stage = np.select(
        [
            recency > thresholds.churned_days,
            recency > thresholds.at_risk_days,
            np.nan_to_num(gap, nan=0) > thresholds.churned_days,
            orders <= 1,
            orders >= thresholds.frequent_orders,
        ],
        [
            _STAGE["Churned"],
            _STAGE["At risk of churn"],
            _STAGE["Reactivated"],
            _STAGE["First-time"],
            _STAGE["Frequent"],
        ],
        default=_STAGE["Sporadic"],
    )
    return pd.Categorical.from_codes(stage, LIFECYCLE_ORDER)


def previous_gaps(transactions: Transactions | pd.DataFrame) -> pd.Series:
    """Days between each customer's last two distinct purchase days (NaN with one purchase day).

    >>> data = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-03-11", "2024-01-01"])})
    >>> previous_gaps(data).to_dict()
    {'a': 10.0, 'b': nan}
    """
    data = in_order(transactions)
    r = runs(data)
    days, last = r.days, r.first_day_index + r.purchase_days - 1
    gaps = np.where(r.purchase_days >= 2, days[last] - days[np.maximum(last - 1, 0)], np.nan)
    return pd.Series(gaps, index=pd.Index(r.first_of(data["customer_id"]), name="customer_id"), dtype=float)


def segment_summary(result: RFMResult, column: str = "segment") -> pd.DataFrame:
    """Per group: customers and their share, revenue and its share, revenue per customer, and mean recency
    (days), orders and revenue (the segment profile)."""
    t = result.table
    grouped = t.groupby(column, observed=True)
    out = pd.DataFrame(
        {
            "customers": grouped.size(),
            "revenue": grouped["revenue"].sum(),
            "mean recency (days)": grouped["recency_days"].mean(),
            "mean orders": grouped["orders"].mean(),
            "mean revenue": grouped["revenue"].mean(),
        }
    )
    out.insert(1, "share of customers", out["customers"] / len(t))
    out.insert(3, "share of revenue", out["revenue"] / t["revenue"].sum() if t["revenue"].sum() else np.nan)
    return out.sort_values("revenue", ascending=False)


def rf_matrix(result: RFMResult) -> pd.DataFrame:
    """Customers per (R, F) score cell: rows R (best first), columns F."""
    grid = pd.crosstab(result.table["R"], result.table["F"])
    scores_ = range(1, result.bins + 1)
    return grid.reindex(index=scores_[::-1], columns=scores_, fill_value=0)


def segment_rules() -> pd.DataFrame:
    """The 11-segment scheme as a readable table (for the page)."""
    return pd.DataFrame(
        {"segment": list(SEGMENT_GRID), "(R, FM) score cells": [", ".join(c) for c in SEGMENT_GRID.values()]}
    )


def unused_scores(result: RFMResult) -> dict[str, list[int]]:
    """Scores no customer received, per letter: heavy ties (most customers with one order) leave gaps."""
    return {
        letter: missing
        for letter in ("R", "F", "M")
        if (missing := sorted(set(range(1, result.bins + 1)) - set(result.table[letter].unique())))
    }


def tier_rules() -> pd.DataFrame:
    """The named groups of the four-tier grid (for the page)."""
    return pd.DataFrame({"group": list(TIER_GROUPS), "R-F-M codes": [", ".join(c) for c in TIER_GROUPS.values()]})


def lifecycle_rules(thresholds: LifecycleThresholds) -> str:
    """The lifecycle rules in words, first match wins."""
    t = thresholds
    return (
        f"First rule that applies: **Churned** – no purchase for more than {t.churned_days} days; "
        f"**At risk of churn** – none for more than {t.at_risk_days} days; **Reactivated** – came back after a gap "
        f"of more than {t.churned_days} days; **First-time** – one order; **Frequent** – {t.frequent_orders} or more "
        "orders; **Sporadic** – the rest."
    )
