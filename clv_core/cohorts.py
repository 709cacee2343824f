"""Acquisition cohorts: who came in when, and what each cohort did in each period since.

A customer's cohort is the calendar week, month or quarter of their first purchase; period ``k`` is the
``k``-th calendar period after it (period 0 is the acquisition period). Cells that the data does not fully cover
(the calendar period holding the observation end, when it ends later) are left empty, never shown as a drop.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeWarning, curve_fit

from clv_core.errors import ClvError
from clv_core.ingest import Transactions
from clv_core.runs import runs

PERIODS = {"week": "W", "month": "M", "quarter": "Q"}


@dataclass(frozen=True)
class CohortTable:
    """Cohort × period matrices (rows: cohort labels, oldest first; columns: periods since acquisition).

    Attributes
    ----------
    period : str
        ``"week"``, ``"month"`` or ``"quarter"``: the unit of cohorts and of periods since acquisition.
    sizes : pandas.Series
        Customers acquired in each cohort.
    active : pandas.DataFrame
        Customers of the cohort who bought in that period.
    retention : pandas.DataFrame
        ``active / size`` (a share, 0–1).
    revenue_per_customer : pandas.DataFrame
        Revenue in that period divided by the cohort's original size (currency per customer).
    cumulative_revenue_per_customer : pandas.DataFrame
        Running sum of the above: the cohort's historical CLV curve (currency per customer).
    orders_per_customer : pandas.DataFrame
        Orders in that period per original customer.
    revenue : pandas.Series
        Total revenue of each cohort; ``orders`` its total orders.
    excluded_partial_period : str or None
        The calendar period left out because the data ends inside it.
    observation_end : pandas.Timestamp
    """

    period: str
    sizes: pd.Series
    active: pd.DataFrame
    retention: pd.DataFrame
    revenue_per_customer: pd.DataFrame
    cumulative_revenue_per_customer: pd.DataFrame
    orders_per_customer: pd.DataFrame
    revenue: pd.Series
    orders: pd.Series
    excluded_partial_period: str | None
    observation_end: pd.Timestamp

    @property
    def customers(self) -> int:
        return int(self.sizes.sum())


def first_purchase_attributes(transactions: Transactions) -> pd.DataFrame:
    """Each customer's attribute values (and product) at their first purchase, indexed by customer id."""
    data = transactions.data
    r = runs(data)
    columns = [c for c in (*transactions.attributes, "product") if c in data]
    index = pd.Index(r.first_of(data["customer_id"]), name="customer_id")
    first = pd.DataFrame({c: r.first_of(data[c]) for c in columns}, index=index)
    return first.rename(columns={"product": "first product"})


def build_cohorts(
    transactions: Transactions,
    *,
    period: str = "month",
    where: tuple[str, str] | None = None,
) -> CohortTable:
    """Cohort matrices by acquisition ``period``.

    Parameters
    ----------
    transactions : Transactions
    period : {"week", "month", "quarter"}
    where : (attribute, value), optional
        Keep only customers whose first purchase had this attribute value (``"first product"`` for the
        product of the first purchase).

    Examples
    --------
    >>> from clv_core.ingest import ingest
    >>> csv = b"customer_id,date,amount\\na,2024-01-05,10\\na,2024-02-07,5\\nb,2024-01-20,8\\nc,2024-02-29,1\\n"
    >>> t = build_cohorts(ingest(csv, "t.csv"))
    >>> t.sizes.to_dict(), t.retention.loc["2024-01"].tolist()
    ({'2024-01': 2, '2024-02': 1}, [1.0, 0.5])
    """
    if period not in PERIODS:
        raise ClvError(f"Cohort period must be one of {', '.join(PERIODS)}, not {period!r}.")
    data = transactions.data[
        ["customer_id", "date", "amount", *(["order_id"] if "order_id" in transactions.data else [])]
    ]
    if where is not None:
        attribute, value = where
        firsts = first_purchase_attributes(transactions)
        if attribute not in firsts:
            raise ClvError(f"There is no attribute {attribute!r} to filter cohorts by.")
        keep = firsts.index[firsts[attribute] == value]
        data = data[data["customer_id"].isin(keep)]
        if data.empty:
            raise ClvError(f"No customer's first purchase has {attribute} = {value!r}.")
    freq = PERIODS[period]
    end = transactions.observation_end
    last = pd.Period(end, freq=freq)
    # the data ends inside its last calendar period when that period ends after the last observed day
    partial = last.end_time.normalize() > end.normalize()
    last_complete = last.ordinal - (1 if partial else 0)
    active, revenue, orders, sizes = _cells(data, freq)

    cohorts = sizes.index.to_numpy()
    max_age = max(int(last_complete - cohorts.min()), 0)
    ages = np.arange(max_age + 1)
    observed = (cohorts[:, None] + ages[None, :]) <= last_complete
    labels = [str(pd.Period(ordinal=int(c), freq=freq)) for c in cohorts]
    if not observed.any():
        raise ClvError(f"The data covers less than one complete {period}; choose a shorter cohort period.")

    def matrix(values: pd.DataFrame, per_customer: bool) -> pd.DataFrame:
        full = values.reindex(columns=ages, fill_value=0).to_numpy(dtype=float)
        if per_customer:
            full = full / sizes.to_numpy()[:, None]
        full[~observed] = np.nan
        return pd.DataFrame(full, index=labels, columns=ages).rename_axis(
            index="cohort", columns=f"{period}s since acquisition"
        )

    keep_rows = observed[:, 0]
    revenue_pc = matrix(revenue, True)
    table = CohortTable(
        period=period,
        sizes=pd.Series(sizes.to_numpy(), index=labels, name="customers"),
        active=matrix(active, False),
        retention=matrix(active, True),
        revenue_per_customer=revenue_pc,
        cumulative_revenue_per_customer=revenue_pc.cumsum(axis=1).where(revenue_pc.notna()),
        orders_per_customer=matrix(orders, True),
        revenue=pd.Series(revenue.sum(axis=1).to_numpy(), index=labels),
        orders=pd.Series(orders.sum(axis=1).to_numpy(), index=labels),
        excluded_partial_period=str(last) if partial else None,
        observation_end=end,
    )
    if not keep_rows.all():  # a cohort acquired inside the partial last period has no complete cell
        rows = [label for label, k in zip(labels, keep_rows, strict=True) if k]
        table = CohortTable(
            **{
                **table.__dict__,
                **{
                    name: getattr(table, name).loc[rows]
                    for name in (
                        "sizes",
                        "active",
                        "retention",
                        "revenue_per_customer",
                        "cumulative_revenue_per_customer",
                        "orders_per_customer",
                        "revenue",
                        "orders",
                    )
                },
            }
        )
    return table


def comparison(table: CohortTable, *, ages: tuple[int, ...] = (3, 6, 12)) -> pd.DataFrame:
    """Per cohort: size, retention at the given ages, cumulative revenue per customer at the last of them,
    average order value and orders per customer. A cohort too young for an age shows NaN there."""
    out = pd.DataFrame({"customers": table.sizes})
    for age in ages:
        out[f"retention {age}"] = table.retention.get(age, np.nan)
    horizon = ages[-1]
    cumulative = table.cumulative_revenue_per_customer
    out[f"cumulative revenue per customer at {horizon}"] = cumulative.get(horizon, np.nan)
    out["average order value"] = table.revenue / table.orders.replace(0, np.nan)
    out["orders per customer"] = table.orders / table.sizes
    out["revenue per customer to date"] = table.revenue / table.sizes
    return out.rename_axis("cohort")


# --- projection of cumulative revenue curves --------------------------------------------------------------


def _power(t, a, b):
    return a * np.power(t, b)


def _log(t, a, b):
    return a + b * np.log(t)


def _saturating(t, c, k):
    return c * (1 - np.exp(-k * t))


CURVES = {
    "power": (_power, "a·t^b", (1.0, 0.5)),
    "logarithmic": (_log, "a + b·ln t", (1.0, 1.0)),
    "saturating exponential": (_saturating, "c·(1 − e^(−k·t))", None),
}
MIN_PERIODS_TO_PROJECT = 6


@dataclass(frozen=True)
class CurveProjection:
    """A cohort's cumulative revenue per customer, fitted and projected.

    ``observed`` and ``projected`` are indexed by periods since acquisition; ``fitted`` covers the observed
    periods. ``rmse`` is the root-mean-square error of the chosen curve on the observed points (currency);
    ``candidates`` has the RMSE of every family tried. ``refused`` says why no projection was made.
    """

    cohort: str
    observed: pd.Series
    family: str | None = None
    formula: str | None = None
    params: tuple[float, ...] = ()
    rmse: float | None = None
    fitted: pd.Series | None = None
    projected: pd.Series | None = None
    candidates: dict | None = None
    refused: str | None = None


def project_curve(table: CohortTable, cohort: str, *, horizon: int = 24) -> CurveProjection:
    """Fit power, logarithmic and saturating-exponential curves to a cohort's cumulative revenue per
    customer and project the best (lowest RMSE) to ``horizon`` periods since acquisition.

    Time enters as ``t = period + 1`` (the acquisition period is t = 1). A cohort with fewer than
    ``MIN_PERIODS_TO_PROJECT`` complete periods is refused with the reason.
    """
    observed = table.cumulative_revenue_per_customer.loc[cohort].dropna()
    if len(observed) < MIN_PERIODS_TO_PROJECT:
        return CurveProjection(
            cohort,
            observed,
            refused=f"Cohort {cohort} has {len(observed)} complete {table.period}s; at least "
            f"{MIN_PERIODS_TO_PROJECT} are needed to tell the curve families apart.",
        )
    t = observed.index.to_numpy(dtype=float) + 1
    y = observed.to_numpy(dtype=float)
    results = {}
    for name, (fn, formula, p0) in CURVES.items():
        guess = p0 or (max(y.max() * 1.5, 1e-9), 0.2)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", OptimizeWarning)
                params, _ = curve_fit(fn, t, y, p0=guess, maxfev=20_000)
        except (RuntimeError, ValueError):
            continue
        fit = fn(t, *params)
        if np.all(np.isfinite(fit)):
            results[name] = (float(np.sqrt(np.mean((fit - y) ** 2))), params, formula, fn)
    if not results:
        return CurveProjection(cohort, observed, refused=f"No curve family could be fitted to cohort {cohort}.")
    best = min(results, key=lambda n: results[n][0])
    rmse, params, formula, fn = results[best]
    future = np.arange(len(observed), max(horizon, len(observed)) + 1)
    return CurveProjection(
        cohort=cohort,
        observed=observed,
        family=best,
        formula=formula,
        params=tuple(float(p) for p in params),
        rmse=rmse,
        fitted=pd.Series(fn(t, *params), index=observed.index),
        projected=pd.Series(fn(future + 1.0, *params), index=future),
        candidates={name: r[0] for name, r in results.items()},
    )


def cohort_trend(table: CohortTable, *, age: int) -> tuple[pd.Series, str]:
    """Cumulative revenue per customer at ``age`` for every cohort old enough, and one sentence comparing the
    newest third of those cohorts with the oldest third."""
    cumulative = table.cumulative_revenue_per_customer
    if age not in cumulative:
        return pd.Series(dtype=float), f"No cohort is {age} {table.period}s old yet."
    values = cumulative[age].dropna()
    if len(values) < 3:
        return values, f"Too few cohorts have reached {age} {table.period}s to compare old and new."
    third = max(len(values) // 3, 1)
    old, new = values.iloc[:third].mean(), values.iloc[-third:].mean()
    change = (new - old) / old if old else np.nan
    direction = "more" if change > 0 else "less"
    which = "cohort" if third == 1 else f"{third} cohorts"
    sentence = (
        f"At {age} {table.period}s after acquisition, the newest {which} are worth {new:,.2f} per customer, "
        f"{abs(change):.0%} {direction} than the oldest {which} ({old:,.2f})."
    )
    return values, sentence


def default_trend_age(table: CohortTable) -> int | None:
    """The longest of 12, 6, 3, 1 periods that at least three cohorts have reached (None if none)."""
    reached = table.cumulative_revenue_per_customer.notna().sum()
    for age in (12, 6, 3, 1):
        if age in reached and reached[age] >= 3:
            return age
    return None


def _cells(data: pd.DataFrame, freq: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.Series]:
    """Active customers, revenue and orders per (cohort, age) cell, and customers per cohort.

    ``data`` is in customer order, so a customer's first row holds the acquisition period and the age only grows
    along the customer's run: a customer is counted active in a cell at the run's rows where the age changes.
    """
    r = runs(data)
    period = pd.PeriodIndex(data["date"], freq=freq).asi8
    cohort = period[r.first_rows][r.customer_of_row]
    age = period - cohort
    first_cohort = int(cohort.min())
    width = int(age.max()) + 1
    cell = (cohort - first_cohort) * width + age
    cohorts = np.unique(cohort)
    n_cells = (int(cohort.max()) - first_cohort + 1) * width
    new_cell = np.ones(len(cell), dtype=bool)
    new_cell[1:] = (cell[1:] != cell[:-1]) | (r.customer_of_row[1:] != r.customer_of_row[:-1])
    active = np.bincount(cell[new_cell], minlength=n_cells)
    revenue = np.bincount(cell, weights=data["amount"].to_numpy(dtype=float), minlength=n_cells)
    if "order_id" in data:
        codes, uniques = pd.factorize(data["order_id"])
        distinct = np.unique(cell * np.int64(len(uniques) + 1) + codes + 1)
        orders = np.bincount(distinct // (len(uniques) + 1), minlength=n_cells)
    else:
        orders = np.bincount(cell, minlength=n_cells)
    rows = cohorts - first_cohort

    def frame(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(values.reshape(-1, width)[rows], index=cohorts, columns=np.arange(width))

    sizes = pd.Series(np.bincount(cohort[r.first_rows] - first_cohort)[rows], index=cohorts)
    return frame(active), frame(revenue), frame(orders), sizes
