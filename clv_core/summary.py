"""Per-customer summary: the BTYD statistics (frequency, recency, T, monetary value) and descriptive columns.

The BTYD columns are defined exactly as ``lifetimes.utils.summary_data_from_transaction_data`` defines them
with ``freq="D"`` and ``freq_multiplier`` = days per unit: purchases are counted per calendar day, so
``frequency`` is the number of days with a purchase after the first one (*repeat* purchase days),
``recency`` is first → last purchase day and ``T`` first purchase day → observation end, both in the time
unit, and ``monetary_value`` is the mean spend per repeat purchase day (0 with no repeats).

BTYD ``recency`` (first → last purchase) is not RFM recency (last purchase → today); the latter is
``days_since_last_purchase`` so the two cannot be confused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clv_core.errors import ClvError
from clv_core.ingest import Transactions
from clv_core.names import TIME_UNITS
from clv_core.runs import Runs, day_numbers, in_order, runs

BTYD_COLUMNS = ("frequency", "recency", "T", "monetary_value")


@dataclass(frozen=True)
class CustomerSummary:
    """One row per customer.

    Attributes
    ----------
    table : pandas.DataFrame
        ``customer_id``; ``frequency`` (repeat purchase days), ``recency`` and ``T`` (in ``time_unit``),
        ``monetary_value`` (mean spend per repeat purchase day, currency); ``first_purchase``,
        ``last_purchase`` (dates); ``orders`` (rows, or distinct order ids when the data has them);
        ``total_revenue`` and ``average_order_value`` (currency); ``days_since_last_purchase`` (RFM recency,
        days to ``observation_end``); then each attribute's value at the customer's first purchase.
    time_unit : str
        ``"days"``, ``"weeks"`` or ``"months"``.
    observation_end : pandas.Timestamp
        The last day observed; transactions after it are not counted.
    transactions_after_end : int
        Rows excluded because they fall after ``observation_end``.
    """

    table: pd.DataFrame
    time_unit: str
    observation_end: pd.Timestamp
    transactions_after_end: int = 0

    @property
    def btyd(self) -> pd.DataFrame:
        """``frequency, recency, T, monetary_value`` indexed by customer id (the shape lifetimes expects)."""
        return self.table.set_index("customer_id")[list(BTYD_COLUMNS)]


TRANSACTION_COLUMNS = {
    "customer_id": "customer id, as in the file",
    "date": "purchase day (YYYY-MM-DD)",
    "amount": "revenue of the purchase after the cleaning rules (currency of the file)",
}


def summary_columns(time_unit: str) -> dict[str, str]:
    """Meaning and unit of each column of :attr:`CustomerSummary.table`, for the assumptions of an export."""
    return {
        "customer_id": "customer id, as in the file",
        "frequency": "repeat purchase days: purchase days after the first (count)",
        "recency": f"time from the first to the last purchase day ({time_unit})",
        "T": f"time from the first purchase day to the end of observation ({time_unit})",
        "monetary_value": "mean revenue per repeat purchase day, 0 without one (currency of the file)",
        "first_purchase": "first purchase day",
        "last_purchase": "last purchase day",
        "orders": "orders: rows, or distinct order ids when the file has them (count)",
        "total_revenue": "revenue over the whole history (currency of the file)",
        "average_order_value": "total_revenue / orders (currency of the file)",
        "days_since_last_purchase": "days from the last purchase to the end of observation (days)",
    }


def summarise(
    transactions: Transactions | pd.DataFrame,
    *,
    time_unit: str = "weeks",
    observation_end: str | pd.Timestamp | None = None,
) -> CustomerSummary:
    """Summarise transactions per customer.

    Parameters
    ----------
    transactions : Transactions or pandas.DataFrame
        Canonical transactions (``customer_id``, ``date``, ``amount`` …).
    time_unit : {"days", "weeks", "months"}
        Unit of ``recency`` and ``T``.
    observation_end : str or Timestamp, optional
        Last day observed (inclusive). Default: the last transaction day.

    References
    ----------
    Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science 24(2), §2 (x, t_x, T).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-15"]),
    ...     "amount": [10.0, 5.0, 20.0, 7.0]})
    >>> summarise(tx, time_unit="days").btyd
                 frequency  recency     T  monetary_value
    customer_id
    a                  1.0      7.0  14.0            20.0
    b                  0.0      0.0   0.0             0.0
    """
    if time_unit not in TIME_UNITS:
        raise ClvError(f"Time unit must be one of {', '.join(TIME_UNITS)}, not {time_unit!r}.")
    data = in_order(transactions)
    if isinstance(transactions, Transactions):
        attributes, default_end = transactions.attributes, transactions.observation_end
    else:
        attributes, default_end = (), pd.Timestamp(data["date"].max()).normalize()
    end = pd.Timestamp(observation_end).normalize() if observation_end is not None else default_end
    day = day_numbers(data["date"])
    end_day = int(end.to_datetime64().astype("datetime64[D]").astype(np.int64))
    within = day <= end_day
    after = int(len(day) - np.count_nonzero(within))
    if after:
        data, day = data.loc[within], day[within]
    del within
    if data.empty:
        raise ClvError(f"No transactions on or before the observation end {end.date()}. Choose a later date.")
    table, first_rows = _per_customer(data, day, TIME_UNITS[time_unit], end_day)
    for attr in attributes:
        table[attr] = data[attr].to_numpy()[first_rows]
    return CustomerSummary(table=table, time_unit=time_unit, observation_end=end, transactions_after_end=after)


def _per_customer(data: pd.DataFrame, day: np.ndarray, unit: float, end_day: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The summary table and each customer's first row, from the customer and purchase-day runs. Intermediate
    arrays are released before the table is built, and the table takes the arrays without copying them."""
    amount = data["amount"].to_numpy(dtype=float)
    r = runs(data, day)
    first_spend = r.per_day(amount)[r.first_day_index]
    frequency = (r.purchase_days - 1).astype(float)
    first, last = r.first_day, r.last_day
    revenue = r.per_customer(amount)
    orders = _orders(data, r)
    ids, first_rows = r.first_of(data["customer_id"]), r.first_rows
    del r
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, (revenue - first_spend) / frequency, 0.0)
    del first_spend
    table = pd.DataFrame(
        {
            "customer_id": ids,
            "frequency": frequency,
            "recency": (last - first) / unit,
            "T": (end_day - first) / unit,
            "monetary_value": monetary,
            "first_purchase": first.astype("datetime64[D]").astype("datetime64[ns]"),
            "last_purchase": last.astype("datetime64[D]").astype("datetime64[ns]"),
            "orders": orders,
            "total_revenue": revenue,
            "average_order_value": revenue / orders,
            "days_since_last_purchase": end_day - last,
        },
        copy=False,
    )
    return table, first_rows


def _orders(data: pd.DataFrame, r: Runs) -> np.ndarray:
    """Orders per customer: distinct order ids when every row has one, else rows."""
    rows = np.diff(np.append(r.first_rows, r.rows))
    if "order_id" not in data or not (data["order_id"] != "").all():
        return rows
    order_codes, uniques = pd.factorize(data["order_id"])
    pairs = np.unique(r.customer_of_row * np.int64(len(uniques)) + order_codes)
    return np.bincount(pairs // len(uniques), minlength=r.customers)
