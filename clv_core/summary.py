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

#: Days per time unit. Weeks are days / 7 (what reproduces Fader, Hardie & Lee's CDNOW figures); a month is
#: an average Gregorian month.
TIME_UNITS = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12}

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
    if isinstance(transactions, Transactions):
        data, attributes = transactions.data, transactions.attributes
        default_end = transactions.observation_end
    else:
        data, attributes = transactions, ()
        default_end = pd.Timestamp(data["date"].max()).normalize()
    end = pd.Timestamp(observation_end).normalize() if observation_end is not None else default_end
    day = data["date"].dt.normalize()
    within = (day <= end).to_numpy()
    after = int((~within).sum())
    data, day = data.loc[within], day[within]
    if data.empty:
        raise ClvError(f"No transactions on or before the observation end {end.date()}. Choose a later date.")
    unit = TIME_UNITS[time_unit]

    per_day = data.groupby(["customer_id", day.rename("day")], sort=True)["amount"].sum()
    customers = per_day.index.get_level_values(0)
    days = per_day.index.get_level_values(1)
    grouped = pd.DataFrame({"customer_id": customers, "day": days, "amount": per_day.to_numpy()}).groupby(
        "customer_id", sort=True
    )
    first = grouped["day"].min()
    last = grouped["day"].max()
    periods = grouped["day"].size()
    spend = grouped["amount"].sum()
    first_spend = grouped["amount"].first()
    frequency = (periods - 1).astype(float)
    repeat_spend = (spend - first_spend).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency.to_numpy() > 0, repeat_spend / frequency.to_numpy(), 0.0)

    rows = data.groupby("customer_id", sort=True)
    if "order_id" in data and (data["order_id"] != "").all():
        orders = rows["order_id"].nunique()
    else:
        orders = rows.size()
    revenue = rows["amount"].sum()
    table = pd.DataFrame(
        {
            "customer_id": first.index.astype(str),
            "frequency": frequency.to_numpy(),
            "recency": ((last - first).dt.days / unit).to_numpy(dtype=float),
            "T": ((end - first).dt.days / unit).to_numpy(dtype=float),
            "monetary_value": monetary,
            "first_purchase": first.to_numpy(),
            "last_purchase": last.to_numpy(),
            "orders": orders.to_numpy(),
            "total_revenue": revenue.to_numpy(),
            "average_order_value": (revenue / orders).to_numpy(),
            "days_since_last_purchase": (end - last).dt.days.to_numpy(),
        }
    )
    for attr in attributes:
        table[attr] = rows[attr].first().to_numpy()
    return CustomerSummary(table=table, time_unit=time_unit, observation_end=end, transactions_after_end=after)
