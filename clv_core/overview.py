"""Headline numbers for executives: KPIs with change, monthly trends, and revenue concentration."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clv_core.ingest import Transactions

WINDOWS = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True)
class KPI:
    """One headline number for the latest window, with the previous window's value.

    ``unit`` is ``"count"``, ``"currency"`` or ``"share"``; ``change`` is the relative change (None when the
    previous value is 0 or there is no previous window).
    """

    name: str
    value: float
    previous: float | None
    unit: str
    help: str

    @property
    def change(self) -> float | None:
        if self.previous in (None, 0) or not np.isfinite(self.previous):
            return None
        return (self.value - self.previous) / abs(self.previous)


@dataclass(frozen=True)
class KPIWindow:
    """The window the KPIs describe: ``start`` … ``end`` (inclusive days), compared with the same length before."""

    kpis: tuple[KPI, ...]
    start: pd.Timestamp
    end: pd.Timestamp
    previous_start: pd.Timestamp
    has_previous: bool


def kpis(transactions: Transactions, *, window: str = "quarter") -> KPIWindow:
    """KPIs for the last ``window`` (month, quarter or year) up to the observation end, beside the one before.

    Customers and historical CLV per customer are cumulative to each window's end; the others count what
    happened inside the window. *Repeat-purchase rate* is the share of the window's buyers who had bought before
    it began.

    >>> from clv_core.ingest import ingest
    >>> tx = ingest(b"customer_id,date,amount\\na,2024-01-05,10\\na,2024-04-07,30\\nb,2024-05-20,20\\n", "t.csv")
    >>> w = kpis(tx, window="quarter")
    >>> {k.name: k.value for k in w.kpis}["Repeat-purchase rate"]
    0.5
    """
    months = WINDOWS[window]
    data = transactions.data
    end = transactions.observation_end + pd.Timedelta(days=1)  # exclusive
    start = end - pd.DateOffset(months=months)
    previous_start = start - pd.DateOffset(months=months)
    first = data.groupby("customer_id")["date"].transform("min")
    has_order_id = "order_id" in data and (data["order_id"] != "").all()

    def measure(lo: pd.Timestamp, hi: pd.Timestamp) -> dict[str, float]:
        inside = (data["date"] >= lo) & (data["date"] < hi)
        rows = data[inside]
        to_date = data[data["date"] < hi]
        buyers = rows["customer_id"].unique()
        orders = rows["order_id"].nunique() if has_order_id else len(rows)
        returning = rows.loc[first[inside] < lo, "customer_id"].nunique()
        customers = to_date["customer_id"].nunique()
        revenue = float(rows["amount"].sum())
        return {
            "Customers": customers,
            "Active customers": len(buyers),
            "Revenue": revenue,
            "Orders": orders,
            "Average order value": revenue / orders if orders else np.nan,
            "Repeat-purchase rate": returning / len(buyers) if len(buyers) else np.nan,
            "Historical CLV per customer": float(to_date["amount"].sum()) / customers if customers else np.nan,
        }

    now = measure(start, end)
    has_previous = bool(data["date"].min() < start)
    before = measure(previous_start, start) if has_previous else None
    meta = {
        "Customers": ("count", "Customers who have bought at least once, to the end of the window."),
        "Active customers": ("count", "Customers who bought in the window."),
        "Revenue": ("currency", "Revenue in the window, after returns."),
        "Orders": ("count", "Orders in the window."),
        "Average order value": ("currency", "Revenue divided by orders in the window."),
        "Repeat-purchase rate": ("share", "Share of the window's buyers who had bought before it."),
        "Historical CLV per customer": ("currency", "All revenue to date divided by all customers to date."),
    }
    items = tuple(
        KPI(name, float(value), None if before is None else float(before[name]), *meta[name])
        for name, value in now.items()
    )
    return KPIWindow(items, start, end - pd.Timedelta(days=1), previous_start, has_previous)


def monthly_trend(transactions: Transactions) -> pd.DataFrame:
    """Per calendar month: revenue, active customers, new customers, and revenue from new vs returning
    customers (new = in their acquisition month). ``complete`` is False for a month the data ends inside."""
    data = transactions.data
    month = data["date"].dt.to_period("M")
    first_month = month.groupby(data["customer_id"]).transform("min")
    new = month == first_month
    frame = pd.DataFrame({"month": month, "customer": data["customer_id"], "amount": data["amount"], "new": new})
    grouped = frame.groupby("month")
    out = pd.DataFrame(
        {
            "revenue": grouped["amount"].sum(),
            "active customers": grouped["customer"].nunique(),
            "new customers": frame[frame["new"]].groupby("month")["customer"].nunique(),
            "revenue from new customers": frame[frame["new"]].groupby("month")["amount"].sum(),
        }
    ).fillna(0)
    out["revenue from returning customers"] = out["revenue"] - out["revenue from new customers"]
    full = pd.period_range(out.index.min(), out.index.max(), freq="M")
    out = out.reindex(full, fill_value=0)
    out["complete"] = [p.end_time.normalize() <= transactions.observation_end for p in out.index]
    out.index = out.index.to_timestamp()
    return out.rename_axis("month")


@dataclass(frozen=True)
class Concentration:
    """How concentrated revenue is across customers.

    Attributes
    ----------
    top_shares : dict
        Share of revenue from the top 1 %, 10 % and 20 % of customers by revenue.
    lorenz : pandas.DataFrame
        ``customers`` (cumulative share, poorest first) and ``revenue`` (cumulative share), from (0, 0) to (1, 1).
    gini : float
        Gini coefficient: 0 when everyone spends the same, → 1 when one customer has all revenue.
    """

    top_shares: dict
    lorenz: pd.DataFrame
    gini: float


def concentration(revenue_per_customer: pd.Series | np.ndarray, *, points: int = 200) -> Concentration:
    """Revenue concentration from per-customer revenue (negative values count as 0).

    >>> concentration(np.array([5.0, 5.0, 5.0, 5.0])).gini
    0.0
    >>> round(concentration(np.array([0.0, 0.0, 0.0, 10.0])).gini, 2)
    0.75
    """
    values = np.sort(np.clip(np.asarray(revenue_per_customer, dtype=float), 0, None))
    n = values.size
    total = values.sum()
    if n == 0 or total == 0:
        flat = pd.DataFrame({"customers": [0.0, 1.0], "revenue": [0.0, 1.0]})
        return Concentration({"top 1%": np.nan, "top 10%": np.nan, "top 20%": np.nan}, flat, 0.0)
    cumulative = np.concatenate([[0.0], np.cumsum(values) / total])
    share = np.arange(n + 1) / n
    gini = float(1 - 2 * np.trapezoid(cumulative, share))
    descending = values[::-1]
    tops = {}
    for pct in (1, 10, 20):
        k = max(int(np.ceil(n * pct / 100)), 1)
        tops[f"top {pct}%"] = float(descending[:k].sum() / total)
    idx = np.unique(np.linspace(0, n, min(points, n + 1)).round().astype(int))
    lorenz = pd.DataFrame({"customers": share[idx], "revenue": cumulative[idx]})
    return Concentration(tops, lorenz, max(gini, 0.0))
