"""Headline numbers for executives: KPIs with change, monthly trends, and revenue concentration."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clv_core.ingest import Transactions
from clv_core.runs import runs

WINDOWS = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True)
class KPI:
    """One headline number for the latest window, with the previous window's value.

    ``unit`` is ``"count"``, ``"currency"`` or ``"share"``; ``change`` is the relative change (None when the
    previous value is 0 or there is no previous window). A ``cumulative`` KPI (customers to date) can only grow:
    its change is not news, what it grew by is (``added``).
    """

    name: str
    value: float
    previous: float | None
    unit: str
    help: str
    cumulative: bool = False

    @property
    def added(self) -> float | None:
        """How much a cumulative KPI grew in the window (None for others, or with no previous window)."""
        return None if not self.cumulative or self.previous is None else self.value - self.previous

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
    >>> [(k.name, k.added) for k in w.kpis][:2]  # customers to date only grow: b joined in the window
    [('Customers', 1.0), ('Active customers', None)]
    """
    months = WINDOWS[window]
    data = transactions.data
    end = transactions.observation_end + pd.Timedelta(days=1)  # exclusive
    start = end - pd.DateOffset(months=months)
    previous_start = start - pd.DateOffset(months=months)
    r = runs(data)
    customer = r.customer_of_row
    dates = data["date"].to_numpy()
    first = dates[r.first_rows][customer]
    amount = data["amount"].to_numpy(dtype=float)
    has_order_id = "order_id" in data and (data["order_id"] != "").all()

    def measure(lo: pd.Timestamp, hi: pd.Timestamp) -> dict[str, float]:
        lo64, hi64 = lo.to_datetime64(), hi.to_datetime64()
        to_date = dates < hi64
        inside = to_date & (dates >= lo64)
        buyers = _distinct(customer[inside])
        orders = data.loc[inside, "order_id"].nunique() if has_order_id else int(inside.sum())
        returning = _distinct(customer[inside & (first < lo64)])
        customers = _distinct(customer[to_date])
        revenue = float(amount[inside].sum())
        return {
            "Customers": customers,
            "Active customers": buyers,
            "Revenue": revenue,
            "Orders": orders,
            "Average order value": revenue / orders if orders else np.nan,
            "Repeat-purchase rate": returning / buyers if buyers else np.nan,
            "Historical CLV per customer": float(amount[to_date].sum()) / customers if customers else np.nan,
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
        KPI(name, float(value), None if before is None else float(before[name]), *meta[name], name == "Customers")
        for name, value in now.items()
    )
    return KPIWindow(items, start, end - pd.Timedelta(days=1), previous_start, has_previous)


def monthly_trend(transactions: Transactions) -> pd.DataFrame:
    """Per calendar month: revenue, active customers, new customers, and revenue from new vs returning
    customers (new = in their acquisition month). ``complete`` is False for a month the data ends inside."""
    data = transactions.data
    r = runs(data)
    month = pd.PeriodIndex(data["date"], freq="M").asi8
    first_month = month[r.first_rows]
    new = month == first_month[r.customer_of_row]
    lo = int(month.min())
    index = month - lo
    size = int(month.max()) - lo + 1
    amount = data["amount"].to_numpy(dtype=float)
    # rows are in customer order and months only grow along a customer's run: a (customer, month) pair starts
    # where the customer or the month changes
    starts = np.ones(len(month), dtype=bool)
    starts[1:] = (np.diff(r.customer_of_row) != 0) | (np.diff(month) != 0)
    out = pd.DataFrame(
        {
            "revenue": np.bincount(index, weights=amount, minlength=size),
            "active customers": np.bincount(index[starts], minlength=size),
            "new customers": np.bincount(first_month - lo, minlength=size),
            "revenue from new customers": np.bincount(index[new], weights=amount[new], minlength=size),
        },
        index=pd.PeriodIndex.from_ordinals(np.arange(lo, lo + size), freq="M"),
    )
    out["revenue from returning customers"] = out["revenue"] - out["revenue from new customers"]
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


def _distinct(sorted_codes: np.ndarray) -> int:
    """Distinct values of a sorted integer array."""
    return int(sorted_codes.size > 0) + int(np.count_nonzero(np.diff(sorted_codes)))
