"""Per-customer work on transactions in customer order, without hashing or sorting.

Cleaned transactions are sorted by customer id, then date (:class:`clv_core.ingest.Transactions`), so each
customer's rows form one run and each purchase day one run inside it. Finding where runs start is one
comparison of neighbours; sums and counts per run are then ``np.add.reduceat`` and ``np.bincount``. On 10M rows
this takes about a second where a pandas ``groupby`` on text ids takes 10–15 s (benchmarks/bench_scale.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from clv_core.ingest import Transactions
from clv_core.ingest.text import in_customer_order, text_rank


@dataclass(frozen=True, eq=False)
class Runs:
    """Customer and purchase-day runs of transactions in customer order.

    Attributes
    ----------
    first_rows : numpy.ndarray
        Row where each customer's run starts (customers in id order).
    day_starts : numpy.ndarray
        Row where each (customer, day) run starts.
    day : numpy.ndarray
        Day number (days since 1970-01-01) of every row.
    rows : int
    """

    first_rows: np.ndarray
    day_starts: np.ndarray
    day: np.ndarray
    rows: int

    @property
    def customers(self) -> int:
        return len(self.first_rows)

    @cached_property
    def customer_of_row(self) -> np.ndarray:
        """Customer number (0 … customers − 1) of every row."""
        return np.repeat(np.arange(self.customers), np.diff(np.append(self.first_rows, self.rows)))

    @cached_property
    def first_day_index(self) -> np.ndarray:
        """Index into ``day_starts`` of each customer's first purchase day."""
        return np.searchsorted(self.day_starts, self.first_rows)

    @cached_property
    def purchase_days(self) -> np.ndarray:
        """Distinct purchase days per customer."""
        return np.diff(np.append(self.first_day_index, len(self.day_starts)))

    @property
    def days(self) -> np.ndarray:
        """Day number of every (customer, day) run."""
        return self.day[self.day_starts]

    @property
    def last_rows(self) -> np.ndarray:
        """Row where each customer's run ends."""
        return np.append(self.first_rows[1:], self.rows) - 1

    @property
    def first_day(self) -> np.ndarray:
        return self.day[self.first_rows]

    @property
    def last_day(self) -> np.ndarray:
        return self.day[self.last_rows]

    def per_customer(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` (one per row) per customer."""
        return np.add.reduceat(np.asarray(values, dtype=float), self.first_rows)

    def per_day(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` (one per row) per (customer, day) run."""
        return np.add.reduceat(np.asarray(values, dtype=float), self.day_starts)

    def first_of(self, column: pd.Series) -> np.ndarray:
        """The value at each customer's first row."""
        return column.to_numpy()[self.first_rows]

    def day_gaps(self) -> np.ndarray:
        """Days between consecutive purchase days of the same customer (all customers, flattened)."""
        days = self.days
        gaps = np.diff(days)
        return gaps[np.diff(self.customer_of_day) == 0]

    @cached_property
    def customer_of_day(self) -> np.ndarray:
        """Customer number of every (customer, day) run."""
        return np.repeat(np.arange(self.customers), self.purchase_days)


def runs(data: pd.DataFrame, day: np.ndarray | None = None) -> Runs:
    """Runs of ``data`` (``customer_id``, ``date``), which must be in customer order (each customer's rows together,
    dates ascending), as :class:`clv_core.ingest.Transactions` data always is.

    Examples
    --------
    >>> data = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...     "date": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 10:00", "2024-01-05 08:00", "2024-01-02 12:00"])})
    >>> r = runs(data)
    >>> r.first_rows.tolist(), r.day_starts.tolist(), r.purchase_days.tolist(), r.day_gaps().tolist()
    ([0, 3], [0, 2, 3], [2, 1], [4])
    """
    ids = data["customer_id"].to_numpy(dtype=object)
    if day is None:  # day numbers of the rows, when the caller has not computed them already
        day = day_numbers(data["date"])
    n = len(ids)
    new_customer = np.empty(n, dtype=bool)
    new_customer[:1] = True
    np.not_equal(ids[1:], ids[:-1], out=new_customer[1:])
    new_day = new_customer.copy()
    new_day[1:] |= day[1:] != day[:-1]
    return Runs(np.flatnonzero(new_customer), np.flatnonzero(new_day), day, n)


def in_order(transactions) -> pd.DataFrame:
    """The transaction table in customer order: :class:`~clv_core.ingest.Transactions` data as it is (cleaning
    sorted it), a plain DataFrame sorted (ids as text)."""
    if isinstance(transactions, Transactions):
        return transactions.data
    data = transactions.assign(customer_id=transactions["customer_id"].astype(str))
    return in_customer_order(data, text_rank(data["customer_id"]))


def day_numbers(dates: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 (int64) of datetime values."""
    return dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").view(np.int64)
