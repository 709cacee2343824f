"""Predicted CLV under what-if economics, recomputed without refitting.

:func:`precompute` evaluates the fitted purchase model once per churn multiplier: each customer's expected
cumulative purchases at every month boundary up to ``MAX_MONTHS`` (on the distinct (frequency, recency, T) rows,
mapped back to customers), P(alive), and expected order value from Gamma–Gamma. :func:`scenario` then turns
discount rate, margin, horizon and CAC into CLV with array arithmetic only.

Time units cannot be mixed up here: the horizon is in months and is converted to the model's own unit
(days, weeks or months of the summary) before the model is asked anything, and discounting is monthly at the
rate equivalent to the annual one.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd

from clv_core.errors import ClvError
from clv_core.models import REGISTRY, FitResult, expected_order_values
from clv_core.names import DAYS_PER_MONTH
from clv_core.summary import TIME_UNITS, CustomerSummary

MAX_MONTHS = 60

#: What a churn multiplier does to each purchase model (its registry entry's ``churn_meaning``).
CHURN_MEANING = {key: model.churn_meaning for key, model in REGISTRY.items()}


@dataclass(frozen=True)
class Economics:
    """What-if inputs.

    Attributes
    ----------
    annual_discount_rate : float
        E.g. 0.10 for 10 % a year; applied monthly as (1 + annual)^(1/12) − 1.
    gross_margin : float
        Share of revenue kept (0–1).
    horizon_months : int
        1 … MAX_MONTHS.
    churn_multiplier : float
        1 = as fitted; 2 = customers drop out twice as readily (meaning per model in ``CHURN_MEANING``).
    cac : float
        Acquisition cost per new customer (currency).
    """

    annual_discount_rate: float = 0.10
    gross_margin: float = 0.30
    horizon_months: int = 12
    churn_multiplier: float = 1.0
    cac: float = 0.0

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in (self.annual_discount_rate, self.gross_margin, self.churn_multiplier)):
            raise ClvError("The discount rate, margin and churn multiplier must be numbers.")
        if not math.isfinite(self.cac):
            raise ClvError("The acquisition cost must be a number.")
        if not 0 <= self.annual_discount_rate < 1:
            raise ClvError("The annual discount rate must be between 0 and 100 %.")
        if not 0 < self.gross_margin <= 1:
            raise ClvError("The gross margin must be above 0 and at most 100 %.")
        if not 1 <= self.horizon_months <= MAX_MONTHS:
            raise ClvError(f"The horizon must be 1 to {MAX_MONTHS} months.")
        if not 0 < self.churn_multiplier <= 10:
            raise ClvError("The churn multiplier must be above 0 and at most 10.")
        if self.cac < 0:
            raise ClvError("The acquisition cost cannot be negative.")

    @property
    def monthly_discount_rate(self) -> float:
        return (1 + self.annual_discount_rate) ** (1 / 12) - 1

    @property
    def continuous_discount_rate(self) -> float:
        """The continuously compounded annual rate, ln(1 + annual): the same discounting as a force of interest."""
        return float(np.log1p(self.annual_discount_rate))

    def discount_sentence(self) -> str:
        """The rate as annual, with its monthly and continuous equivalents (they discount identically).

        >>> Economics(annual_discount_rate=0.10).discount_sentence()
        'Discounting 10.0% a year = 0.797% a month = 9.531% a year compounded continuously.'
        """
        return (
            f"Discounting {self.annual_discount_rate:.1%} a year = {self.monthly_discount_rate:.3%} a month = "
            f"{self.continuous_discount_rate:.3%} a year compounded continuously."
        )

    def as_dict(self) -> dict:
        """Every input with its unit, for the assumptions that travel with an export."""
        return {
            "horizon (months)": self.horizon_months,
            "gross margin (share of revenue)": self.gross_margin,
            "discount rate (annual)": self.annual_discount_rate,
            "discount rate (monthly equivalent)": round(self.monthly_discount_rate, 8),
            "discount rate (continuous equivalent)": round(self.continuous_discount_rate, 8),
            "churn multiplier": self.churn_multiplier,
            "acquisition cost per customer (currency)": self.cac,
        }


def adjust_churn(fit: FitResult, multiplier: float) -> FitResult:
    """The fit with its dropout scaled by ``multiplier`` (see ``CHURN_MEANING``; the model's registry entry says
    how); no refit."""
    if multiplier == 1:
        return fit
    return replace(fit, params=fit.purchase_model.adjust_churn(fit.params, multiplier))


@dataclass(frozen=True)
class ForecastBase:
    """Everything a slider needs, computed once per (fit, spend fit, churn multiplier).

    Attributes
    ----------
    customer_id : numpy.ndarray
    p_alive : numpy.ndarray
        Probability each customer is still active at the observation end.
    rows : numpy.ndarray
        Each customer's distinct history: customers with the same (frequency, recency, T) share one.
    pair_cumulative : numpy.ndarray
        (distinct (x, T) pairs, months + 1): the part of the expected purchases from the observation end to each
        month boundary that depends on (x, T, t) alone (see :meth:`clv_core.models.FitResult.cumulative_factors`).
    row_pair, row_scale : numpy.ndarray
        Each distinct history's pair and P(alive): its expected purchases are ``pair_cumulative[row_pair] *
        row_scale`` (:attr:`distinct_cumulative`). Kept apart, a new churn multiplier or a slider move works on a
        few thousand pairs instead of every history × 61 month boundaries.
    expected_order_value : numpy.ndarray
        Gamma–Gamma conditional expected spend per order (the population mean for one-time buyers).
    order_value_by_row : numpy.ndarray
        ``expected_order_value`` summed over the customers of each distinct history (for base totals).
    new_customer_cumulative : numpy.ndarray
        (months + 1,): expected repeat purchases of a customer acquired today.
    population_order_value : float
        Gamma–Gamma mean spend per order, p·v / (q − 1).
    historical_revenue : numpy.ndarray
    """

    customer_id: np.ndarray
    p_alive: np.ndarray
    rows: np.ndarray
    pair_cumulative: np.ndarray
    row_pair: np.ndarray
    row_scale: np.ndarray
    expected_order_value: np.ndarray
    order_value_by_row: np.ndarray
    new_customer_cumulative: np.ndarray
    population_order_value: float
    historical_revenue: np.ndarray
    model: str
    churn_multiplier: float
    time_unit: str

    @property
    def months(self) -> int:
        """The longest horizon this base serves."""
        return self.pair_cumulative.shape[1] - 1

    @property
    def distinct_cumulative(self) -> np.ndarray:
        """(distinct histories, months + 1): expected purchases to each month boundary, multiplied out (a large
        matrix: for checks, not for slider moves)."""
        return self.pair_cumulative[self.row_pair] * self.row_scale[:, None]

    def expected_purchases(self, month: int) -> np.ndarray:
        """Each distinct history's expected purchases over the next ``month`` months."""
        return self.pair_cumulative[self.row_pair, month] * self.row_scale

    def discounted_purchases(self, discount: np.ndarray) -> np.ndarray:
        """Each distinct history's Σ_m (E[X(m)] − E[X(m−1)]) · discount[m − 1], for m up to len(discount)."""
        h = len(discount)
        return (np.diff(self.pair_cumulative[:, : h + 1], axis=1) @ discount)[self.row_pair] * self.row_scale


def precompute(
    fit: FitResult,
    spend: FitResult,
    summary: CustomerSummary,
    *,
    churn_multiplier: float = 1.0,
    months: int = MAX_MONTHS,
) -> ForecastBase:
    """Evaluate the models once for every month boundary up to ``months`` (the only model work a slider move can
    cause). Fewer months serve only horizons up to that (the bootstrap computes just the horizon it needs)."""
    if not 1 <= months <= MAX_MONTHS:
        raise ClvError(f"Prepare between 1 and {MAX_MONTHS} months, not {months}.")
    purchase = adjust_churn(fit, churn_multiplier)
    table = summary.table
    unit_days = TIME_UNITS[summary.time_unit]
    keys = table[["frequency", "recency", "T"]]
    distinct = keys.drop_duplicates().reset_index(drop=True)  # in order of first appearance, as ngroup numbers them
    index = keys.groupby(["frequency", "recency", "T"], sort=False).ngroup().to_numpy()
    f, r, T = (distinct[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    t_units = np.arange(months + 1) * DAYS_PER_MONTH / unit_days
    new_customer = np.zeros(months + 1)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        population = purchase.fitter()
        grid, row_pair, alive = purchase.cumulative_factors(t_units[1:], f, r, T)  # and P(alive), once
        cumulative = np.zeros((len(grid), months + 1))
        cumulative[:, 1:] = grid
        for m in range(1, months + 1):
            new_customer[m] = population.expected_number_of_purchases_up_to_time(t_units[m])
        mean_spend = spend.params["p"] * spend.params["v"] / (spend.params["q"] - 1)
        order_value = expected_order_values(spend, table["frequency"], table["monetary_value"])
    if not (np.all(np.isfinite(cumulative)) and np.all(np.isfinite(alive))):
        raise ClvError("The fitted model gives non-finite predictions for some customers; try another model.")
    idx = np.asarray(index, dtype=np.int64)
    return ForecastBase(
        customer_id=table["customer_id"].to_numpy(),
        p_alive=np.clip(alive[idx], 0, 1),
        rows=idx,
        pair_cumulative=cumulative,
        row_pair=np.asarray(row_pair, dtype=np.int64),
        row_scale=np.asarray(alive, dtype=float),
        expected_order_value=order_value,
        order_value_by_row=np.bincount(idx, weights=order_value, minlength=len(distinct)),
        new_customer_cumulative=new_customer,
        population_order_value=float(mean_spend),
        historical_revenue=table["total_revenue"].to_numpy(dtype=float),
        model=fit.model,
        churn_multiplier=churn_multiplier,
        time_unit=summary.time_unit,
    )


@dataclass(frozen=True)
class CLVScenario:
    """CLV per customer and for the base, and new-customer economics, under one :class:`Economics`.

    Attributes
    ----------
    clv : numpy.ndarray
        Discounted margin of each customer over the horizon (currency), in ``base.customer_id`` order.
    total_clv, mean_clv : float
        Customer-base value over the horizon and per customer (currency).
    new_customer_clv : float
        Discounted margin of a customer acquired today: first order plus expected repeat orders.
    clv_to_cac : float or None
        ``new_customer_clv / cac`` (None without a CAC).
    payback_months : float or None
        First month in which a new customer's cumulative discounted margin covers the CAC (None if never
        within ``MAX_MONTHS``; 0 when the first order does).
    """

    base: ForecastBase
    economics: Economics
    clv: np.ndarray
    total_clv: float
    mean_clv: float
    new_customer_clv: float
    new_customer_curve: np.ndarray
    clv_to_cac: float | None
    payback_months: float | None

    @cached_property
    def customers(self) -> pd.DataFrame:
        """``customer_id``, ``p_alive``, ``expected_purchases`` (over the horizon), ``expected_avg_value`` (currency
        per order), ``clv``, ``historical_revenue``: built on first use, since a slider move needs only ``clv``."""
        base, h = self.base, self.economics.horizon_months
        return pd.DataFrame(
            {
                "customer_id": base.customer_id,
                "p_alive": base.p_alive,
                "expected_purchases": base.expected_purchases(h)[base.rows],
                "expected_avg_value": base.expected_order_value,
                "clv": self.clv,
                "historical_revenue": base.historical_revenue,
            }
        )


def discount_factors(economics: Economics, months: int = MAX_MONTHS) -> np.ndarray:
    """1 / (1 + d)^m for m = 1 … months, d the monthly rate."""
    return (1 + economics.monthly_discount_rate) ** -np.arange(1, months + 1)


def scenario(base: ForecastBase, economics: Economics) -> CLVScenario:
    """CLV under ``economics``: Σ_m (E[X(m)] − E[X(m−1)]) · E[order value] · margin / (1 + d)^m.

    ``economics.churn_multiplier`` must match the base's (a different multiplier needs :func:`precompute`).
    """
    if economics.churn_multiplier != base.churn_multiplier:
        raise ClvError("This forecast was prepared for another churn multiplier; prepare it again.")
    h = _horizon(base, economics)
    discount = discount_factors(economics, base.months)
    # One product per distinct (x, T) pair, then gathers: O(customers), whatever the horizon.
    discounted_purchases = base.discounted_purchases(discount[:h])
    clv = discounted_purchases[base.rows] * base.expected_order_value * economics.gross_margin
    margin_per_order = base.population_order_value * economics.gross_margin
    new_curve = margin_per_order * (
        1 + np.concatenate([[0.0], np.cumsum(np.diff(base.new_customer_cumulative) * discount)])
    )
    new_clv = float(new_curve[h])
    ratio = new_clv / economics.cac if economics.cac > 0 else None
    payback = None
    if economics.cac > 0:
        covered = np.flatnonzero(new_curve >= economics.cac)
        payback = float(covered[0]) if covered.size else None
    return CLVScenario(base, economics, clv, float(clv.sum()), float(clv.mean()), new_clv, new_curve, ratio, payback)


def _horizon(base: ForecastBase, economics: Economics) -> int:
    h = economics.horizon_months
    if h > base.months:
        raise ClvError(f"This forecast was prepared for {base.months} months, not {h}; prepare it again.")
    return h


def total_clv(base: ForecastBase, economics: Economics) -> float:
    """The customer-base total of :func:`scenario` without building per-customer results (for sensitivity curves):
    each month's expected value summed over customers, discounted, times margin."""
    h = _horizon(base, economics)
    by_pair = np.bincount(
        base.row_pair, weights=base.row_scale * base.order_value_by_row, minlength=len(base.pair_cumulative)
    )
    monthly_value = np.diff(base.pair_cumulative[:, : h + 1], axis=1).T @ by_pair
    return float(monthly_value @ discount_factors(economics, h)) * economics.gross_margin


def sensitivity_to_discount(base: ForecastBase, economics: Economics, rates=None) -> pd.DataFrame:
    """Total CLV as the annual discount rate varies (other inputs fixed)."""
    rates = np.linspace(0, 0.30, 13) if rates is None else np.asarray(rates)
    totals = [total_clv(base, replace(economics, annual_discount_rate=float(r))) for r in rates]
    return pd.DataFrame({"annual discount rate": rates, "total CLV": totals})


def sensitivity_to_churn(bases: dict[float, ForecastBase], economics: Economics) -> pd.DataFrame:
    """Total CLV for each churn multiplier, from bases precomputed for each."""
    multipliers = sorted(bases)
    totals = [total_clv(bases[k], replace(economics, churn_multiplier=k)) for k in multipliers]
    return pd.DataFrame({"churn multiplier": multipliers, "total CLV": totals})


# --- formula views: what an analyst checks beside the models ------------------------------------------------


def simple_retention_clv(*, margin_per_period: float, retention: float, discount_rate: float) -> float:
    """m · r / (1 + d − r): margin earned at the end of each period by a customer retained with probability r
    (infinite horizon, constant retention)."""
    if not 0 <= retention < 1 + discount_rate:
        raise ClvError("Retention must be between 0 and 1.")
    return margin_per_period * retention / (1 + discount_rate - retention)


def subscription_clv(*, margin_per_period: float, churn: float, discount_rate: float) -> float:
    """m / (c + d): margin per period over churn plus discount rate (payment at the start of the period
    excluded, as the formula is usually quoted)."""
    if churn + discount_rate <= 0:
        raise ClvError("Churn plus discount rate must be positive.")
    return margin_per_period / (churn + discount_rate)


def discounted_margin_survival(*, margin_per_period: float, survival: np.ndarray, discount_rate: float) -> float:
    """Σ_t m · S(t) / (1 + d)^t over the periods given (t = 1 …)."""
    survival = np.asarray(survival, dtype=float)
    t = np.arange(1, len(survival) + 1)
    return float((margin_per_period * survival / (1 + discount_rate) ** t).sum())


@dataclass(frozen=True)
class FormulaInputs:
    """Data-derived inputs for the formula views, every one per year (the formulas' period).

    Two consecutive windows of ``window_months`` (12, or half the history when shorter) end at the observation end.
    ``window_retention`` is the share of the first window's buyers who bought again in the second; ``retention``
    is its yearly equivalent at a constant rate, ``window_retention ** (12 / window_months)`` (an 8-month 40 % is
    a yearly 25.3 %); ``revenue_per_year`` is the second window's revenue per buyer, scaled to a year.
    """

    retention: float
    revenue_per_year: float
    window_months: int
    sentence: str
    window_retention: float | None = None


def formula_inputs(data: pd.DataFrame, observation_end: pd.Timestamp) -> FormulaInputs:
    end = observation_end + pd.Timedelta(days=1)
    span_months = int((end - data["date"].min()).days / DAYS_PER_MONTH)
    window = max(1, min(12, span_months // 2))
    middle, start = end - pd.DateOffset(months=window), end - pd.DateOffset(months=2 * window)
    first = set(data.loc[(data["date"] >= start) & (data["date"] < middle), "customer_id"])
    second_rows = data[(data["date"] >= middle) & (data["date"] < end)]
    second = set(second_rows["customer_id"])
    if not first or not second:
        raise ClvError("Too little history for the formula views: they need two periods with purchases.")
    kept = len(first & second) / len(first)
    yearly = kept ** (12 / window)
    per_year = float(second_rows["amount"].sum()) / len(second) * 12 / window
    retained = (
        f"{kept:.1%} of the customers who bought in the {window} months before {middle.date()} bought again in the "
        f"{window} months after"
    )
    if window == 12:
        retained += ": the yearly retention."
    else:
        retained += (
            f"; at that rate {yearly:.1%} are kept over a year ({kept:.1%} to the power 12/{window}), the yearly "
            f"retention the formulas take. Customers who buy less often than every {window} months count as lost in "
            "such a window, so it is a floor."
        )
    return FormulaInputs(float(yearly), per_year, window, retained, float(kept))


def formula_table(inputs: FormulaInputs, margin: float, rate: float) -> pd.DataFrame:
    """The textbook CLV formulas on the data's retention and yearly spend (``margin`` a share of revenue, ``rate``
    the annual discount rate): one row per view with its formula and CLV per customer.

    >>> inputs = FormulaInputs(retention=0.5, revenue_per_year=100.0, window_months=12, sentence="")
    >>> formula_table(inputs, 0.3, 0.1)["CLV per customer"].round(2).tolist()
    [25.0, 50.0, 24.51]
    """
    m, r = inputs.revenue_per_year * margin, inputs.retention
    years = np.arange(1, 6)
    rows = [
        (
            "Simple retention CLV",
            "m · r / (1 + d − r)",
            simple_retention_clv(margin_per_period=m, retention=r, discount_rate=rate),
        ),
        (
            "Subscription CLV",
            "m / (c + d), c = 1 − r",
            subscription_clv(margin_per_period=m, churn=1 - r, discount_rate=rate),
        ),
        (
            "Discounted margin × survival, 5 years",
            "Σₜ m · S(t) / (1 + d)ᵗ, S(t) = rᵗ",
            discounted_margin_survival(margin_per_period=m, survival=r**years, discount_rate=rate),
        ),
    ]
    table = pd.DataFrame(rows, columns=["view", "formula", "CLV per customer"])
    return table[["view", "CLV per customer", "formula"]]  # the figure before the long formula text
