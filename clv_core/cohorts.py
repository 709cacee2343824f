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

from clv_core.currency import NONE, Currency
from clv_core.errors import ClvError
from clv_core.ingest import Transactions
from clv_core.models import MODEL_LABELS
from clv_core.runs import runs
from clv_core.summary import TIME_UNITS

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


# --- the model's forecast for the cells the data has not reached yet ---------------------------------------

#: The cohort metrics the purchase and spend models can forecast (they predict purchases and their value, not
#: which customers buy in a given period).
FORECAST_METRICS = ("revenue_per_customer", "cumulative_revenue_per_customer")


@dataclass(frozen=True)
class CohortForecast:
    """Model forecasts for the cells right of each cohort's last complete period, up to the table's oldest age.

    ``revenue_per_customer`` and ``cumulative_revenue_per_customer`` have the table's rows and columns, with values
    only in forecast cells (NaN where the data speaks). A period the data ends inside holds what was bought in it
    so far plus the forecast for the rest. ``model`` names the purchase model.
    """

    revenue_per_customer: pd.DataFrame
    cumulative_revenue_per_customer: pd.DataFrame
    model: str

    def matrix(self, metric: str) -> pd.DataFrame:
        return getattr(self, metric)

    @property
    def model_label(self) -> str:
        return MODEL_LABELS.get(self.model, self.model)


def forecast_cells(
    table: CohortTable,
    transactions: Transactions,
    fit,
    summary,
    order_value: np.ndarray,
    *,
    where: tuple[str, str] | None = None,
    ahead: int = 0,
) -> CohortForecast:
    """Fill each cohort's future cells with the purchase model's expected purchases in that calendar period times
    each customer's expected order value (Gamma–Gamma), summed over the cohort and divided by its original size.

    ``fit`` is a purchase :class:`~clv_core.models.FitResult` on ``summary`` (the same transactions, observed to the
    table's end); ``order_value`` is per customer in the summary's order; ``where`` is the table's filter. The
    forecast reaches the table's oldest age, and ``ahead`` more periods past it (extra columns).
    """
    if ahead < 0:
        raise ClvError("Forecast zero or more periods ahead.")
    freq = PERIODS[table.period]
    end = table.observation_end.normalize()
    last = pd.Period(end, freq=freq)
    partial = table.excluded_partial_period is not None
    last_complete = last.ordinal - int(partial)
    labels = list(table.sizes.index)
    ordinals = np.array([pd.Period(label, freq=freq).ordinal for label in labels])
    observed = table.revenue_per_customer
    ages = np.arange(observed.shape[1] + ahead)
    frame = observed.reindex(columns=pd.Index(ages, name=observed.columns.name))  # with the columns ahead
    future = ordinals[:, None] + ages[None, :] - last_complete  # periods after the last complete one (≥ 1: future)
    horizon = max(int(future.max()), 0)
    if horizon == 0:
        return CohortForecast(frame * np.nan, frame * np.nan, fit.model)

    # each customer's cohort row (−1: outside the table or the filter)
    data = transactions.data
    r = runs(data)
    ids = pd.Index(r.first_of(data["customer_id"]))
    first = pd.PeriodIndex(r.first_of(data["date"]), freq=freq).asi8
    scope = np.ones(len(ids), dtype=bool)
    if where is not None:
        attribute, value = where
        scope = (first_purchase_attributes(transactions)[attribute].reindex(ids) == value).to_numpy()
    row_of = pd.Series(np.where(scope, pd.Index(ordinals).get_indexer(first), -1), index=ids)
    t = summary.table
    rows = row_of.reindex(t["customer_id"]).fillna(-1).to_numpy(dtype=int)

    # expected purchases per customer in each future calendar period: differences at the periods' ends
    ends = [pd.Period(ordinal=int(last_complete + j), freq=freq).end_time.normalize() for j in range(1, horizon + 1)]
    days = np.array([0.0, *[(e - end).days for e in ends]])
    keys = t[["frequency", "recency", "T"]]
    distinct = keys.drop_duplicates().reset_index(drop=True)
    index = keys.groupby(["frequency", "recency", "T"], sort=False).ngroup().to_numpy()
    f, rec, T = (distinct[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    cumulative = np.column_stack(
        [np.zeros(len(distinct))]
        + [fit.expected_purchases(d / TIME_UNITS[summary.time_unit], f, rec, T) for d in days[1:]]
    )
    per_period = np.diff(cumulative, axis=1)[index] * np.asarray(order_value, dtype=float)[:, None]
    inside = rows >= 0
    revenue = np.zeros((len(labels), horizon))
    for j in range(horizon):
        revenue[:, j] = np.bincount(rows[inside], weights=per_period[inside, j], minlength=len(labels))
    if partial:  # what was bought so far in the period the data ends inside
        so_far = data["date"] >= last.start_time
        bought = pd.Series(data["amount"].to_numpy()[so_far], index=data["customer_id"].to_numpy()[so_far])
        by_row = bought.groupby(row_of.reindex(bought.index).to_numpy()).sum()
        by_row = by_row[by_row.index >= 0]
        revenue[by_row.index.to_numpy(dtype=int), 0] += by_row.to_numpy()
    per_customer = revenue / table.sizes.to_numpy(dtype=float)[:, None]

    cells = np.full(future.shape, np.nan)
    ahead = future >= 1
    cells[ahead] = per_customer[np.nonzero(ahead)[0], future[ahead] - 1]
    forecast = pd.DataFrame(cells, index=frame.index, columns=frame.columns)
    observed_to_date = table.cumulative_revenue_per_customer.ffill(axis=1).to_numpy()[:, -1]
    running = observed_to_date[:, None] + np.nancumsum(np.where(ahead, cells, 0.0), axis=1)
    cumulative_frame = forecast.copy()
    cumulative_frame[:] = np.where(ahead, running, np.nan)
    return CohortForecast(forecast, cumulative_frame, fit.model)


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


def cohort_trend(table: CohortTable, *, age: int, currency: Currency = NONE) -> tuple[pd.Series, str]:
    """Cumulative revenue per customer at ``age`` for every cohort old enough, and one sentence comparing the
    newest third of those cohorts with the oldest third (amounts in ``currency``)."""
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
    which, verb = ("cohort", "is") if third == 1 else (f"{third} cohorts", "are")
    sentence = (
        f"At {age} {table.period}s after acquisition, the newest {which} {verb} worth "
        f"{currency.amount(new, cents=True)} per customer, {abs(change):.0%} {direction} than the oldest {which} "
        f"({currency.amount(old, cents=True)})."
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
