"""CLV segments, recommended actions and budget allocation, on scored customers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from clv_core import forecast
from clv_core.errors import ClvError

SEGMENT_ORDER = ("Champions", "Loyal", "Potential Loyalists", "New", "At Risk")


@dataclass(frozen=True)
class SegmentThresholds:
    """Lower percentile of predicted CLV for each segment (customers below ``new`` are At Risk)."""

    champions: float = 95
    loyal: float = 80
    potential: float = 50
    new: float = 20

    def __post_init__(self) -> None:
        if not 0 < self.new < self.potential < self.loyal < self.champions < 100:
            raise ClvError("Segment percentiles must rise: New < Potential Loyalists < Loyal < Champions, all 1–99.")


def clv_segments(clv: pd.Series, thresholds: SegmentThresholds | None = None) -> pd.Series:
    """Segment by percentile of predicted CLV (ties at a cut share the higher segment).

    >>> clv_segments(pd.Series(np.arange(100.0))).value_counts().reindex(SEGMENT_ORDER).tolist()
    [5, 15, 30, 30, 20]
    """
    t = thresholds or SegmentThresholds()
    values = clv.to_numpy(float)
    cuts = np.percentile(values, [t.new, t.potential, t.loyal, t.champions])
    labels = np.select(
        [values >= cuts[3], values >= cuts[2], values >= cuts[1], values >= cuts[0]],
        ["Champions", "Loyal", "Potential Loyalists", "New"],
        default="At Risk",
    )
    return pd.Series(pd.Categorical(labels, SEGMENT_ORDER), index=clv.index, name="clv_segment")


def value_tier(clv: pd.Series) -> pd.Series:
    """High (top 20 %), medium (next 30 %) or low value."""
    pct = clv.rank(pct=True, method="max")
    return pd.Series(np.select([pct > 0.8, pct > 0.5], ["High", "Medium"], "Low"), index=clv.index, name="value_tier")


def slipping(
    clv: pd.Series, p_alive: pd.Series, *, clv_percentile: float = 80, p_alive_below: float = 0.5
) -> pd.Series:
    """Valuable but slipping: CLV in the top (100 − ``clv_percentile``) % and P(alive) under ``p_alive_below``.

    The CLV cut uses the value the customer would have at P(alive) = 1 (CLV / P(alive)), since predicted CLV already
    shrinks with P(alive) and would hide exactly these customers.
    """
    potential = clv / p_alive.clip(lower=1e-6)
    return (potential >= np.percentile(potential, clv_percentile)) & (p_alive < p_alive_below)


def default_actions() -> pd.DataFrame:
    """Recommended action per segment; ``max spend share`` caps spend per customer as a share of its CLV."""
    return pd.DataFrame(
        {
            "segment": list(SEGMENT_ORDER),
            "strategy": [
                "Retain and reward",
                "Grow share of wallet",
                "Develop into loyal",
                "Second purchase",
                "Win back selectively",
            ],
            "tactics": [
                "Early access, VIP service, referral asks",
                "Cross-sell, subscriptions, loyalty tiers",
                "Personalised recommendations, bundles",
                "Onboarding series, first-repeat incentive",
                "Reactivation offer to the valuable ones only",
            ],
            "max spend share": [0.20, 0.15, 0.10, 0.08, 0.05],
            "response rate": [0.30, 0.20, 0.12, 0.08, 0.04],
        }
    )


def segment_summary(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers, total and mean CLV, mean P(alive) and slipping count per CLV segment."""
    grouped = customers.groupby("clv_segment", observed=False)
    out = pd.DataFrame(
        {
            "customers": grouped.size(),
            "total CLV": grouped["clv"].sum(),
            "mean CLV": grouped["clv"].mean(),
            "mean P(alive)": grouped["p_alive"].mean(),
            "slipping": grouped["slipping"].sum(),
        }
    )
    out["share of value"] = out["total CLV"] / out["total CLV"].sum() if out["total CLV"].sum() else np.nan
    return out.rename_axis("segment")


def with_intervals(summary: pd.DataFrame, customers: pd.DataFrame, boot, customer_ids) -> pd.DataFrame:
    """``summary`` (:func:`segment_summary`) with the bootstrap interval of each segment's total CLV
    (``total_lower``, ``total_upper``); ``boot`` is scored on ``customer_ids`` in that order. A customer's segment
    is fixed by its point estimate; the interval says how far that segment's total could be off."""
    groups = customers.set_index("customer_id")["clv_segment"]
    intervals = forecast.group_intervals(boot, groups, customer_ids)
    return summary.join(intervals.reindex(summary.index.astype(str)).set_axis(summary.index))


def allocate_budget(summary: pd.DataFrame, actions: pd.DataFrame, total_budget: float) -> pd.DataFrame:
    """Split ``total_budget`` by CLV weight × response rate, capped per segment at customers × mean CLV × max
    spend share; what the caps leave is reported as unallocated. Expected return = customers × response rate ×
    mean CLV (the value of those who respond)."""
    if total_budget < 0:
        raise ClvError("The budget cannot be negative.")
    a = actions.set_index("segment").reindex(summary.index)
    if a[["max spend share", "response rate"]].isna().any().any():
        raise ClvError("Every segment needs a response rate and a maximum spend share.")
    weight = summary["total CLV"].clip(lower=0) * a["response rate"].clip(0, 1)
    cap = summary["customers"] * summary["mean CLV"].fillna(0) * a["max spend share"].clip(lower=0)
    budget = pd.Series(0.0, index=summary.index)
    remaining, open_ = float(total_budget), weight > 0
    for _ in range(len(weight)):  # water-filling: give capped segments their cap, share the rest again
        if remaining <= 1e-9 or not open_.any():
            break
        share = weight[open_] / weight[open_].sum() * remaining
        room = cap[open_] - budget[open_]
        given = np.minimum(share, room)
        budget[open_] += given
        remaining -= float(given.sum())
        open_ &= budget < cap - 1e-9
    expected = summary["customers"] * a["response rate"] * summary["mean CLV"].fillna(0)
    out = pd.DataFrame(
        {
            "budget": budget,
            "per customer": budget / summary["customers"].replace(0, np.nan),
            "expected return": expected,
        }
    )
    out["return on budget"] = out["expected return"] / out["budget"].replace(0, np.nan)
    out.loc["Unallocated (caps reached)"] = [remaining, np.nan, 0.0, np.nan]
    return out


def scored_columns(economics, observation_end: pd.Timestamp) -> dict[str, str]:
    """Meaning and unit of each column of :func:`scored_customers`, for the assumptions of an export."""
    h, end = economics.horizon_months, pd.Timestamp(observation_end).date()
    return {
        "customer_id": "customer id, as in the file",
        "p_alive": f"probability the customer is still active on {end} (0–1)",
        "expected_purchases": f"expected purchases in the {h} months after {end} (count)",
        "expected_avg_value": "expected revenue per order, Gamma–Gamma (currency of the file)",
        "clv": (
            f"predicted gross margin over the {h} months after {end}, discounted at "
            f"{economics.annual_discount_rate:.1%} a year (currency of the file)"
        ),
        "historical_revenue": f"revenue to {end} (currency of the file)",
        "clv_segment": "CLV segment by percentile of clv (see settings)",
        "value_tier": "High (top 20 % of clv), Medium (next 30 %) or Low",
        "slipping": "clv at p_alive = 1 in the top 20 %, but p_alive below 0.5 (true/false)",
        "rfm_segment": "RFM segment (quintile scores)",
        "lifecycle": "lifecycle stage (default thresholds)",
    }


def scored_customers(
    customers: pd.DataFrame,
    *,
    rfm_table: pd.DataFrame | None = None,
    attributes: pd.DataFrame | None = None,
    thresholds: SegmentThresholds | None = None,
) -> pd.DataFrame:
    """Forecast output with CLV segment, value tier, the slipping flag, RFM segment and lifecycle stage and the
    first purchase's attributes, one row per customer."""
    out = customers.reset_index(drop=True).copy()
    out["clv_segment"] = clv_segments(out["clv"], thresholds).array  # keep the categorical order
    out["value_tier"] = value_tier(out["clv"]).to_numpy()
    out["slipping"] = slipping(out["clv"], out["p_alive"]).to_numpy()
    if rfm_table is not None:
        r = rfm_table.set_index("customer_id")
        out["rfm_segment"] = r["segment"].astype(str).reindex(out["customer_id"]).to_numpy()
        out["lifecycle"] = r["lifecycle"].astype(str).reindex(out["customer_id"]).to_numpy()
    if attributes is not None:
        for column in attributes.columns:
            out[column] = attributes[column].astype(str).reindex(out["customer_id"]).to_numpy()
    return out


def filter_customers(
    table: pd.DataFrame,
    *,
    segments=None,
    rfm_segments=None,
    lifecycle=None,
    clv_range: tuple[float, float] | None = None,
    p_alive_range: tuple[float, float] | None = None,
    attribute: tuple[str, list] | None = None,
    slipping_only: bool = False,
) -> pd.DataFrame:
    """Rows matching every given filter (None or empty means no filter on that field)."""
    keep = pd.Series(True, index=table.index)
    for column, values in (("clv_segment", segments), ("rfm_segment", rfm_segments), ("lifecycle", lifecycle)):
        if values:
            keep &= table[column].astype(str).isin([str(v) for v in values])
    if clv_range is not None:
        keep &= table["clv"].between(*clv_range)
    if p_alive_range is not None:
        keep &= table["p_alive"].between(*p_alive_range)
    if attribute is not None and attribute[1]:
        keep &= table[attribute[0]].astype(str).isin([str(v) for v in attribute[1]])
    if slipping_only:
        keep &= table["slipping"]
    return table.loc[keep].reset_index(drop=True)


#: P(alive) bands of the RFM × P(alive) matrix: lower edges (each band includes its lower edge, the last 1.0 too).
ALIVE_EDGES = (0.0, 0.25, 0.5, 0.75)
ALIVE_BANDS = ("P(alive) < 0.25", "0.25 – 0.5", "0.5 – 0.75", "≥ 0.75")
#: What to do with the customers of each P(alive) band, whatever their RFM segment.
ALIVE_ACTIONS = (
    "likely gone: win back through cheap channels, or let go",
    "slipping away: re-engage now, before they are gone",
    "cooling: nurture with reminders and relevant offers",
    "active: keep them, reward and upsell",
)


def alive_band(p_alive: pd.Series) -> pd.Series:
    """Each customer's P(alive) band (:data:`ALIVE_BANDS`), as an ordered categorical.

    >>> list(alive_band(pd.Series([0.0, 0.25, 0.49, 0.5, 0.75, 1.0])).astype(str))
    ['P(alive) < 0.25', '0.25 – 0.5', '0.25 – 0.5', '0.5 – 0.75', '≥ 0.75', '≥ 0.75']
    """
    which = np.searchsorted(np.asarray(ALIVE_EDGES), p_alive.to_numpy(dtype=float), side="right") - 1
    return pd.Series(
        pd.Categorical.from_codes(np.clip(which, 0, len(ALIVE_BANDS) - 1), ALIVE_BANDS, ordered=True),
        index=p_alive.index,
    )


def rfm_alive_matrix(table: pd.DataFrame) -> pd.DataFrame:
    """Customers, predicted value and mean CLV per (RFM segment, P(alive) band) of scored customers: where the
    RFM view (what they did) and the model (whether they are still there) agree and where they do not. One row per
    cell, empty cells included; RFM segments by total predicted value, largest first."""
    frame = pd.DataFrame(
        {"rfm_segment": table["rfm_segment"].astype(str), "band": alive_band(table["p_alive"]), "clv": table["clv"]}
    )
    order = frame.groupby("rfm_segment")["clv"].sum().sort_values(ascending=False).index
    cells = frame.groupby(["rfm_segment", "band"], observed=False)["clv"].agg(customers="size", total_clv="sum")
    cells = cells.reindex(pd.MultiIndex.from_product([order, ALIVE_BANDS], names=["rfm_segment", "band"]))
    cells = cells.fillna({"customers": 0, "total_clv": 0.0}).astype({"customers": int})
    cells["mean_clv"] = cells["total_clv"] / cells["customers"].where(cells["customers"] > 0)
    return cells.reset_index()


def rfm_alive_cell(table: pd.DataFrame, rfm_segment: str, band: str) -> pd.DataFrame:
    """The scored customers of one matrix cell, most valuable first: an action list."""
    keep = (table["rfm_segment"].astype(str) == rfm_segment) & (alive_band(table["p_alive"]).astype(str) == band)
    return table.loc[keep].sort_values("clv", ascending=False).reset_index(drop=True)


@dataclass(frozen=True)
class Migration:
    """CLV segments at two snapshots and the moves between them.

    ``customers``: ``customer_id``, ``segment_a`` ("Not yet a customer" for those acquired after the first
    snapshot), ``segment_b``, ``moved`` ("up", "down", "same", "new"). ``matrix`` counts customers per (a, b).
    """

    date_a: pd.Timestamp
    date_b: pd.Timestamp
    customers: pd.DataFrame
    matrix: pd.DataFrame

    @cached_property
    def moved_down(self) -> pd.DataFrame:
        return self.customers[self.customers["moved"] == "down"]


NOT_YET = "Not yet a customer"


def segments_at(transactions, date, *, model: str, time_unit: str, economics, thresholds=None) -> pd.Series:
    """Each customer's CLV segment as it would have been computed on ``date`` (a refit on the data to that day)."""
    from clv_core.economics import precompute, scenario
    from clv_core.models import fit_purchases, fit_spend
    from clv_core.summary import summarise

    data = transactions.data
    upto = data[data["date"].dt.normalize() <= pd.Timestamp(date)]
    summary = summarise(upto, time_unit=time_unit, observation_end=date)
    base = precompute(
        fit_purchases(summary, model), fit_spend(summary), summary, churn_multiplier=economics.churn_multiplier
    )
    customers = scenario(base, economics).customers
    return pd.Series(clv_segments(customers["clv"], thresholds).to_numpy(), index=customers["customer_id"].to_numpy())


def migration(
    transactions, date_a, date_b, *, model: str = "bgnbd", time_unit: str = "weeks", economics=None, thresholds=None
) -> Migration:
    """Segments at ``date_a`` and ``date_b`` (each from a refit on the data to that day) and the moves between."""
    from clv_core.economics import Economics

    a, b = pd.Timestamp(date_a).normalize(), pd.Timestamp(date_b).normalize()
    if not a < b:
        raise ClvError("The first snapshot must come before the second.")
    economics = economics or Economics()
    seg_a = segments_at(transactions, a, model=model, time_unit=time_unit, economics=economics, thresholds=thresholds)
    seg_b = segments_at(transactions, b, model=model, time_unit=time_unit, economics=economics, thresholds=thresholds)
    frame = pd.DataFrame({"customer_id": seg_b.index, "segment_b": seg_b.astype(str).to_numpy()})
    frame["segment_a"] = seg_a.astype(str).reindex(frame["customer_id"]).fillna(NOT_YET).to_numpy()
    rank = {name: i for i, name in enumerate(SEGMENT_ORDER)}  # 0 is best
    ra, rb = frame["segment_a"].map(rank), frame["segment_b"].map(rank)
    frame["moved"] = np.select([ra.isna(), rb > ra, rb < ra], ["new", "down", "up"], default="same")
    rows = [*SEGMENT_ORDER, NOT_YET]
    matrix = pd.crosstab(frame["segment_a"], frame["segment_b"]).reindex(
        index=rows, columns=list(SEGMENT_ORDER), fill_value=0
    )
    matrix = matrix.loc[matrix.sum(axis=1) > 0]
    return Migration(a, b, frame[["customer_id", "segment_a", "segment_b", "moved"]], matrix)


def tier_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Customers and total CLV per value tier (High, Medium, Low)."""
    grouped = table.groupby("value_tier")
    out = pd.DataFrame({"customers": grouped.size(), "total CLV": grouped["clv"].sum()})
    return out.reindex(["High", "Medium", "Low"]).fillna(0).rename_axis("value tier")
