"""Purchases at fixed opportunities (a yearly donation drive, an annual event): the beta-geometric/beta-binomial
model (BG/BB, Fader, Hardie & Shang 2010), fitted by lifetimes.

When every purchase falls on one of a few regularly spaced dates, a customer can only buy at those opportunities:
time between them carries no information, and the continuous-time models (BG/NBD and the rest) are the wrong
description. BG/BB counts, for each customer, the opportunities after their first purchase (n), those with a
purchase (x) and the last one with a purchase (t_x): each opportunity, an alive customer buys with probability
p ~ Beta(α, β) and, after it, drops out with probability θ ~ Beta(γ, δ).

References
----------
Fader, Hardie & Shang (2010), "Customer-base analysis in a discrete-time noncontractual setting", Marketing
Science 29(6): the donations data (11,104 first-time supporters of 1995 and their next six yearly opportunities)
and its estimates α = 1.204, β = 0.750, γ = 0.657, δ = 2.783.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifetimes import BetaGeoBetaBinomFitter
from lifetimes.utils import ConvergenceError
from scipy.special import betaln, logsumexp

from clv_core.errors import ClvError
from clv_core.ingest.pipeline import Transactions
from clv_core.names import DAYS_PER_MONTH
from clv_core.runs import day_numbers

#: A grid has at least this many and at most this many purchase dates.
MIN_OPPORTUNITIES, MAX_OPPORTUNITIES = 3, 60
#: Penalties tried in turn when lifetimes' unbounded fit runs off (short grids).
PENALIZERS = (0.0, 0.001, 0.01, 0.1)
#: Opportunities are regular when every gap between them is within this share of the median gap.
REGULAR = 0.1
#: A grid is of opportunities, not of days: the median gap is a week or more.
MIN_GAP_DAYS = 7


@dataclass(frozen=True)
class Grid:
    """The purchase opportunities: their dates and the typical days between two."""

    days: np.ndarray  # day numbers (days since 1970-01-01), ascending
    period_days: float  # the mean gap between two opportunities

    def describe(self) -> str:
        """In words, e.g. "7 opportunities about every 365 days, 1995-11-15 to 2001-11-15".

        >>> Grid(np.array([0, 365, 730]), 365.0).describe()
        '3 opportunities about every 365 days, 1970-01-01 to 1972-01-01'
        """
        first, last = (str(np.datetime64(int(d), "D")) for d in (self.days[0], self.days[-1]))
        return f"{len(self.days)} opportunities about every {self.period_days:,.0f} days, {first} to {last}"


def opportunity_grid(transactions: Transactions) -> Grid | None:
    """The grid of purchase opportunities when every purchase falls on one of 3–60 dates at most 10 % off a
    regular spacing of a week or more; None otherwise (purchases any time: the continuous models apply).

    >>> from clv_core.ingest import ingest
    >>> rows = [f"c{i},{1995 + y}-11-15,25" for i in range(20) for y in range(i % 4 + 1)]
    >>> opportunity_grid(ingest(("customer_id,date,amount\\n" + "\\n".join(rows)).encode(), "t.csv")).describe()
    '4 opportunities about every 365 days, 1995-11-15 to 1998-11-15'
    """
    dates = transactions.data["date"]
    if len(np.unique(day_numbers(dates.iloc[:100_000]))) > MAX_OPPORTUNITIES:  # most data ends here, at once
        return None
    days = np.unique(day_numbers(dates))
    if not MIN_OPPORTUNITIES <= len(days) <= MAX_OPPORTUNITIES:
        return None
    gaps = np.diff(days).astype(float)
    typical = float(np.median(gaps))
    if typical < MIN_GAP_DAYS or np.any(np.abs(gaps - typical) > REGULAR * typical):
        return None
    return Grid(days, float(days[-1] - days[0]) / (len(days) - 1))  # the mean gap: months of 28–31 days average out


@dataclass(frozen=True)
class DiscreteSummary:
    """One row per customer: ``frequency`` (repeat opportunities with a purchase), ``recency`` (the last of them,
    counted from the first purchase's; 0 without repeats), ``n_periods`` (opportunities after the first purchase)
    and ``monetary_value`` (mean spend per opportunity with a purchase, the first included)."""

    table: pd.DataFrame
    grid: Grid


def summarise(transactions: Transactions, grid: Grid) -> DiscreteSummary:
    """Each customer's BG/BB history on ``grid`` (see :class:`DiscreteSummary`).

    >>> from clv_core.ingest import ingest
    >>> csv = b"customer_id,date,amount\\na,2020-05-01,10\\na,2022-05-01,30\\nb,2021-05-01,5\\nc,2020-05-01,8\\n"
    >>> s = summarise(ingest(csv, "t.csv"), Grid(np.array([18383, 18748, 19113]), 365.0))
    >>> s.table[["customer_id", "frequency", "recency", "n_periods", "monetary_value"]].values.tolist()
    [['a', 1, 2, 2, 20.0], ['b', 0, 0, 1, 5.0], ['c', 0, 0, 2, 8.0]]
    """
    data = transactions.data
    opportunity = np.searchsorted(grid.days, day_numbers(data["date"]))
    frame = pd.DataFrame({"customer_id": data["customer_id"].to_numpy(), "k": opportunity, "amount": data["amount"]})
    per_opportunity = frame.groupby(["customer_id", "k"], sort=True, observed=True)["amount"].sum().reset_index()
    by = per_opportunity.groupby("customer_id", sort=True, observed=True)
    first, last, count = by["k"].min(), by["k"].max(), by["k"].size()
    table = pd.DataFrame(
        {
            "frequency": (count - 1).astype(int),
            "recency": np.where(count > 1, last - first, 0).astype(int),
            "n_periods": (len(grid.days) - 1 - first).astype(int),
            "monetary_value": by["amount"].mean(),
        }
    )
    return DiscreteSummary(table.rename_axis("customer_id").reset_index(), grid)


@dataclass(frozen=True)
class BGBBFit:
    """α, β (purchase probability), γ, δ (dropout probability) with standard errors, and the log-likelihood."""

    params: dict
    standard_errors: dict
    log_likelihood: float
    customers: int
    notes: tuple[str, ...] = ()

    def fitter(self) -> BetaGeoBetaBinomFitter:
        fitter = BetaGeoBetaBinomFitter()
        fitter.params_ = pd.Series(self.params)
        return fitter

    @property
    def mean_purchase_probability(self) -> float:
        return self.params["alpha"] / (self.params["alpha"] + self.params["beta"])

    @property
    def mean_dropout(self) -> float:
        return self.params["gamma"] / (self.params["gamma"] + self.params["delta"])


def fit(summary: DiscreteSummary) -> BGBBFit:
    """BG/BB by maximum likelihood (lifetimes) on the distinct (frequency, recency, n_periods) histories."""
    t = summary.table
    if len(t) < 20:
        raise ClvError(f"BG/BB needs at least 20 customers (you have {len(t)}).")
    if (t["n_periods"] < 1).all():
        raise ClvError("Every customer bought first at the last opportunity: there is nothing to learn from yet.")
    rows = t.groupby(["frequency", "recency", "n_periods"]).size().reset_index(name="w")
    for penalizer in PENALIZERS:
        fitter = BetaGeoBetaBinomFitter(penalizer_coef=penalizer)
        try:
            # lifetimes prints the optimiser's result when it fails: not into our JSON or logs
            with warnings.catch_warnings(), np.errstate(all="ignore"), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                fitter.fit(rows["frequency"], rows["recency"], rows["n_periods"], weights=rows["w"])
        except (ConvergenceError, ValueError, np.linalg.LinAlgError):
            continue
        break
    else:
        raise ClvError(
            "The BG/BB model did not converge on this data, even with a small penalty: too few opportunities or "
            "customers to tell purchase and dropout apart."
        )
    params = {k: float(v) for k, v in fitter.params_.items()}
    errors = {k: float(v) for k, v in fitter.standard_errors_.items()}
    log_likelihood = float(
        rows["w"].to_numpy()
        @ log_likelihood_terms(params, *(rows[c].to_numpy() for c in ("frequency", "recency", "n_periods")))
    )
    notes = [f"Fitted with penalizer {penalizer}: the unpenalised fit did not converge."] if penalizer else []
    if not all(np.isfinite(list(errors.values()))) or min(params.values()) < 1e-3 or max(params.values()) > 1e3:
        notes.append(
            "The estimates sit at an edge (a parameter near 0 or very large, or no standard errors): the data "
            "cannot tell the purchase and dropout probabilities apart well; read the forecast with care."
        )
    return BGBBFit(params, errors, log_likelihood, int(rows["w"].sum()), tuple(notes))


def log_likelihood_terms(params, x, tx, n) -> np.ndarray:
    """Each history's log-likelihood (Fader, Hardie & Shang 2010, eq. 5): alive through all n opportunities, or
    dropped out after opportunity t_x + i for i = 0 … n − t_x − 1,

    L = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ) + Σ_i B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ).

    >>> params = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}
    >>> log_likelihood_terms(params, [0, 3], [0, 4], [6, 6]).round(6).tolist()  # lifetimes' figures too
    [-1.166264, -5.058997]
    """
    a, b, g, d = (float(params[k]) for k in ("alpha", "beta", "gamma", "delta"))
    x, tx, n = (np.asarray(v, dtype=float) for v in (x, tx, n))
    base = betaln(a, b) + betaln(g, d)
    alive = betaln(a + x, b + n - x) + betaln(g, d + n) - base
    i = np.arange(int(n.max()) if len(n) else 0)[None, :]
    dropped = betaln(a + x[:, None], b + tx[:, None] - x[:, None] + i) + betaln(g + 1, d + tx[:, None] + i) - base
    dropped = np.where(i < (n - tx)[:, None], dropped, -np.inf)
    return np.logaddexp(alive, logsumexp(dropped, axis=1)) if i.size else alive


@dataclass(frozen=True)
class DiscreteForecast:
    """Per customer: P(alive) now, expected purchases over the opportunities within the horizon and their
    discounted margin (``clv``); ``opportunities``: how many opportunities the horizon holds."""

    customers: pd.DataFrame
    opportunities: int
    horizon_months: int

    @property
    def total_clv(self) -> float:
        return float(self.customers["clv"].sum())


def forecast(
    summary: DiscreteSummary, fitted: BGBBFit, horizon_months: int, annual_rate: float, margin: float
) -> DiscreteForecast:
    """Expected purchases at each opportunity within the horizon (the next one a period after the last), each
    valued at the customer's mean spend per opportunity, times the margin, discounted monthly at the yearly rate
    to the month it falls in. The model's expectations are computed once per distinct history."""
    t = summary.table
    period_months = summary.grid.period_days / DAYS_PER_MONTH
    # an opportunity a few days past the horizon's end (a leap day, a drive on a weekday) still counts
    opportunities = int(np.floor(horizon_months / period_months + 0.02))
    patterns, where = np.unique(t[["frequency", "recency", "n_periods"]].to_numpy(), axis=0, return_inverse=True)
    where = where.reshape(-1)
    x, tx, n = patterns.T
    fitter = fitted.fitter()
    with np.errstate(all="ignore"):
        alive = np.asarray(fitter.conditional_probability_alive(0, x, tx, n), dtype=float)
        cumulative = np.column_stack(
            [np.zeros(len(patterns))]
            + [
                np.asarray(fitter.conditional_expected_number_of_purchases_up_to_time(j, x, tx, n), dtype=float)
                for j in range(1, opportunities + 1)
            ]
        )
    steps = np.diff(cumulative, axis=1)
    monthly = (1 + annual_rate) ** (1 / 12) - 1
    discount = (1 + monthly) ** -(period_months * np.arange(1, opportunities + 1))
    spend = t["monetary_value"].to_numpy(dtype=float)
    out = pd.DataFrame(
        {
            "customer_id": t["customer_id"].to_numpy(),
            "p_alive": alive[where],
            "expected_purchases": steps.sum(axis=1)[where],
            "expected_avg_value": spend,
            "clv": (steps @ discount)[where] * spend * margin,
        }
    )
    return DiscreteForecast(out, opportunities, horizon_months)


def columns(econ, observation_end, opportunities: int) -> dict[str, str]:
    """Meaning and unit of each column of :attr:`DiscreteForecast.customers`, for the assumptions of an export."""
    h, end = econ.horizon_months, pd.Timestamp(observation_end).date()
    return {
        "customer_id": "customer id, as in the file",
        "p_alive": f"probability the customer is still active on {end} (0–1, BG/BB)",
        "expected_purchases": f"expected purchases at the {opportunities} opportunities in the {h} months after {end}",
        "expected_avg_value": "the customer's mean spend per opportunity with a purchase (currency of the file)",
        "clv": (
            f"expected purchases × spend × margin {econ.gross_margin:.0%}, each opportunity discounted at "
            f"{econ.annual_discount_rate:.1%} a year to its month (currency of the file)"
        ),
    }
