"""Value groups, recommended actions and budget allocation, on scored customers; the RFM × P(alive) matrix and the
migration of value groups between two snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from clv_core import forecast
from clv_core.errors import ClvError
from clv_core.names import VALUE_GROUPS

#: Value groups: customers ranked by predicted CLV, best first. Named for what they are (a rank of value from now on),
#: never with an RFM segment's or a lifecycle stage's word: "new" means recently acquired and "at risk" comes from
#: recency or P(alive) everywhere in the product (see :mod:`clv_core.glossary`).


@dataclass(frozen=True)
class ValueGroupCuts:
    """Lower percentile of predicted CLV for each value group (customers below ``low`` are Lowest value)."""

    top: float = 95
    high: float = 80
    middle: float = 50
    low: float = 20

    def __post_init__(self) -> None:
        if not 0 < self.low < self.middle < self.high < self.top < 100:
            raise ClvError("Value-group percentiles must rise: Low < Middle < High < Top value, all 1–99.")

    def describe(self) -> dict[str, str]:
        """Each group's range of CLV percentiles, in words.

        >>> ValueGroupCuts().describe()["High value"]
        'CLV from the 80th to the 95th percentile'
        """
        cuts = (self.top, self.high, self.middle, self.low)
        out = {VALUE_GROUPS[0]: f"CLV from the {cuts[0]:g}th percentile up"}
        for name, lo, hi in zip(VALUE_GROUPS[1:-1], cuts[1:], cuts[:-1], strict=True):
            out[name] = f"CLV from the {lo:g}th to the {hi:g}th percentile"
        out[VALUE_GROUPS[-1]] = f"CLV below the {cuts[-1]:g}th percentile"
        return out


def value_groups(clv: pd.Series, cuts: ValueGroupCuts | None = None) -> pd.Series:
    """Value group by percentile of predicted CLV (ties at a cut share the higher group).

    >>> value_groups(pd.Series(np.arange(100.0))).value_counts().reindex(VALUE_GROUPS).tolist()
    [5, 15, 30, 30, 20]
    """
    t = cuts or ValueGroupCuts()
    values = clv.to_numpy(float)
    edges = np.percentile(values, [t.low, t.middle, t.high, t.top])
    labels = np.select(
        [values >= edges[3], values >= edges[2], values >= edges[1], values >= edges[0]],
        list(VALUE_GROUPS[:4]),
        default=VALUE_GROUPS[4],
    )
    return pd.Series(pd.Categorical(labels, VALUE_GROUPS), index=clv.index, name="value_group")


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
    """Recommended strategy and tactics per value group (what to spend on each: :mod:`clv_core.budget`)."""
    return pd.DataFrame(
        {
            "value group": list(VALUE_GROUPS),
            "strategy": [
                "Retain and reward",
                "Grow share of wallet",
                "Develop: the next purchase",
                "Keep in touch cheaply",
                "Automated contact only",
            ],
            "tactics": [
                "Early access, VIP service, referral asks",
                "Cross-sell, subscriptions, loyalty tiers",
                "Personalised recommendations, bundles",
                "Newsletter, seasonal offers",
                "Email and remarketing audiences, no paid incentives",
            ],
        }
    )


def value_group_summary(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers, total and mean CLV, mean P(alive) and slipping count per value group."""
    grouped = customers.groupby("value_group", observed=False)
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
    return out.rename_axis("value group")


def with_intervals(summary: pd.DataFrame, customers: pd.DataFrame, boot, customer_ids) -> pd.DataFrame:
    """``summary`` (:func:`value_group_summary`) with the bootstrap interval of each group's total CLV
    (``total_lower``, ``total_upper``); ``boot`` is scored on ``customer_ids`` in that order. A customer's group
    is fixed by its point estimate; the interval says how far that group's total could be off."""
    groups = customers.set_index("customer_id")["value_group"]
    intervals = forecast.group_intervals(boot, groups, customer_ids)
    return summary.join(intervals.reindex(summary.index.astype(str)).set_axis(summary.index))


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
        "clv_lower": "lower end of the clv's bootstrap interval (currency of the file)",
        "clv_upper": "upper end of the clv's bootstrap interval (currency of the file)",
        "clv_risk_adjusted": "10th percentile of the clv over the bootstrap refits (currency of the file)",
        "historical_revenue": f"revenue to {end} (currency of the file)",
        "value_group": "rank of clv among all customers (Top, High, Middle, Low, Lowest value; see settings)",
        "slipping": "clv at p_alive = 1 in the top 20 %, but p_alive below 0.5 (true/false)",
        "rfm_segment": "RFM segment (quintile scores)",
        "lifecycle": "lifecycle stage (default thresholds)",
        "categories_bought": "product categories bought to date (count; with a product column)",
        "next_category": (
            "category not yet bought with the highest share of customers adopting it after one they have bought "
            "(adoption matrix; empty: none left or too few customers to say)"
        ),
        "next_category_chance": "that share: of customers like them, how many went on to buy it (0–1)",
        "next_purchase_date": (
            f"expected next purchase: the median of the time to it under the model, given the customer's history "
            f"and P(alive) (empty: not expected within the {h} months after {end})"
        ),
        "buys_within_horizon": f"probability of a purchase in the {h} months after {end} (0–1)",
        "subscription_value": (
            f"with subscriptions: expected subscription payments over the {h} months after {end} "
            "(sBG retention, same margin and discount; currency of the file)"
        ),
        "purchase_value": "with subscriptions: the purchase model's value of the purchases that are not "
        "subscription payments (currency of the file)",
        "hybrid_clv": "with subscriptions: subscription_value + purchase_value, the CLV forecast page's "
        "'Subscriptions and purchases' value (clv values subscription payments as purchases)",
    }


def scored_customers(
    customers: pd.DataFrame,
    *,
    rfm_table: pd.DataFrame | None = None,
    attributes: pd.DataFrame | None = None,
    cuts: ValueGroupCuts | None = None,
    extra: tuple[pd.DataFrame | None, ...] = (),
) -> pd.DataFrame:
    """Forecast output with the value group, the slipping flag, RFM segment and lifecycle stage, the first
    purchase's attributes and the columns of each ``extra`` table indexed by customer id (categories bought and the
    next category; subscription and purchase value), one row per customer."""
    out = customers.reset_index(drop=True).copy()
    out["value_group"] = value_groups(out["clv"], cuts).array  # keep the categorical order
    out["slipping"] = slipping(out["clv"], out["p_alive"]).to_numpy()
    if rfm_table is not None:
        r = rfm_table.set_index("customer_id")
        out["rfm_segment"] = r["segment"].astype(str).reindex(out["customer_id"]).to_numpy()
        out["lifecycle"] = r["lifecycle"].astype(str).reindex(out["customer_id"]).to_numpy()
    if attributes is not None:
        for column in attributes.columns:
            out[column] = attributes[column].astype(str).reindex(out["customer_id"]).to_numpy()
    for table in extra:
        if table is not None:
            for column in table.columns:
                out[column] = table[column].reindex(out["customer_id"]).to_numpy()
    return out


def filter_customers(
    table: pd.DataFrame,
    *,
    value_groups=None,
    rfm_segments=None,
    lifecycle=None,
    clv_range: tuple[float, float] | None = None,
    p_alive_range: tuple[float, float] | None = None,
    attribute: tuple[str, list] | None = None,
    slipping_only: bool = False,
) -> pd.DataFrame:
    """Rows matching every given filter (None or empty means no filter on that field)."""
    keep = pd.Series(True, index=table.index)
    for column, values in (("value_group", value_groups), ("rfm_segment", rfm_segments), ("lifecycle", lifecycle)):
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
    """Value groups at two snapshots and the moves between them.

    ``customers``: ``customer_id``, ``group_a`` ("Not yet a customer" for those acquired after the first
    snapshot), ``group_b``, ``moved`` ("up", "down", "same", "new"). ``matrix`` counts customers per (a, b).
    """

    date_a: pd.Timestamp
    date_b: pd.Timestamp
    customers: pd.DataFrame
    matrix: pd.DataFrame

    @cached_property
    def moved_down(self) -> pd.DataFrame:
        return self.customers[self.customers["moved"] == "down"]


NOT_YET = "Not yet a customer"


def groups_at(transactions, date, *, model: str, time_unit: str, economics, cuts=None) -> pd.Series:
    """Each customer's value group as it would have been computed on ``date``: the scoring chain (fit, forecast,
    scenario: :func:`clv_core.forecast.score_table`) on the data to that day."""
    from clv_core.models import fit_purchases, fit_spend
    from clv_core.summary import summarise

    data = transactions.data
    upto = data[data["date"].dt.normalize() <= pd.Timestamp(date)]
    summary = summarise(upto, time_unit=time_unit, observation_end=date)
    customers = forecast.score_table(summary.table, fit_purchases(summary, model), fit_spend(summary), economics)
    return pd.Series(value_groups(customers["clv"], cuts).to_numpy(), index=customers["customer_id"].to_numpy())


def migration(transactions, date_a, date_b, *, model: str, time_unit: str, economics, cuts=None) -> Migration:
    """Value groups at ``date_a`` and ``date_b`` (each from a refit on the data to that day) and the moves between."""
    a, b = pd.Timestamp(date_a).normalize(), pd.Timestamp(date_b).normalize()
    if not a < b:
        raise ClvError("The first snapshot must come before the second.")
    at_a = groups_at(transactions, a, model=model, time_unit=time_unit, economics=economics, cuts=cuts)
    at_b = groups_at(transactions, b, model=model, time_unit=time_unit, economics=economics, cuts=cuts)
    return migration_between(at_a, at_b, a, b)


def migration_between(at_a: pd.Series, at_b: pd.Series, date_a, date_b) -> Migration:
    """The moves between value groups ``at_a`` and ``at_b`` (indexed by customer id) of two snapshots."""
    a, b = pd.Timestamp(date_a).normalize(), pd.Timestamp(date_b).normalize()
    frame = pd.DataFrame({"customer_id": at_b.index, "group_b": at_b.astype(str).to_numpy()})
    frame["group_a"] = at_a.astype(str).reindex(frame["customer_id"]).fillna(NOT_YET).to_numpy()
    rank = {name: i for i, name in enumerate(VALUE_GROUPS)}  # 0 is best
    ra, rb = frame["group_a"].map(rank), frame["group_b"].map(rank)
    frame["moved"] = np.select([ra.isna(), rb > ra, rb < ra], ["new", "down", "up"], default="same")
    rows = [*VALUE_GROUPS, NOT_YET]
    matrix = pd.crosstab(frame["group_a"], frame["group_b"]).reindex(
        index=rows, columns=list(VALUE_GROUPS), fill_value=0
    )
    matrix = matrix.loc[matrix.sum(axis=1) > 0]
    return Migration(a, b, frame[["customer_id", "group_a", "group_b", "moved"]], matrix)


def due_customers(table: pd.DataFrame, end: pd.Timestamp, days: int) -> pd.DataFrame:
    """The scored customers whose expected next purchase falls within ``days`` of ``end`` (the end of the data),
    soonest first: a campaign's timing list."""
    dates = table["next_purchase_date"]
    due = table[dates.notna() & (dates <= end + pd.Timedelta(days=days))]
    return due.sort_values("next_purchase_date", kind="stable").reset_index(drop=True)
