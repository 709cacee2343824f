"""A marketing budget split by incremental return, with diminishing returns and, optionally, risk.

Each value group answers spend along a response curve: spending ``s`` per customer turns a share
``r(s) = saturation · (1 − e^(−k·s))`` of the group into *extra* responders (customers who act because of the
spend), with ``k`` set so that the curve passes through the reference point the user states (an extra response of
``reference_response`` at ``reference_spend`` per customer). What the spend earns is the incremental margin: extra
responders × their predicted value (the group's mean CLV, a margin over the forecast horizon), not every
responder's whole CLV.

The split equalises the marginal return of the last unit in every group (the optimum of a sum of concave
returns), found with :func:`scipy.optimize.brentq` on that common marginal return, and stops where the next unit
returns less than it costs: money past that point is better kept. With the bootstrap refits' joint distribution
of the groups' values, a risk-aware split maximises expected net return − ``risk_aversion`` × its standard
deviation (mean–variance on measured covariance, :func:`scipy.optimize.minimize`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize

from clv_core.errors import ClvError

#: The response assumptions' columns, as the Segments page edits them.
ASSUMPTIONS = ("reference spend per customer", "extra response at that spend", "most extra response")


@dataclass(frozen=True)
class ResponseCurve:
    """How one group answers spend: ``customers`` in the group, ``value`` of one extra responder (currency), and
    the curve through (``reference_spend`` per customer, ``reference_response``) rising to ``saturation``.

    >>> c = ResponseCurve(customers=1_000, value=50.0, reference_spend=2.0, reference_response=0.05, saturation=0.10)
    >>> round(float(c.response(2.0)), 4), round(float(c.margin(2_000.0)), 2)  # the reference point: 1,000 × 5 % × 50
    (0.05, 2500.0)
    """

    customers: int
    value: float
    reference_spend: float
    reference_response: float
    saturation: float

    def __post_init__(self) -> None:
        if self.customers < 0 or not np.isfinite(self.value):
            raise ClvError("A group needs a customer count and a finite value per customer.")
        if not self.reference_spend > 0:
            raise ClvError("The reference spend per customer must be above 0.")
        if not 0 < self.reference_response < self.saturation <= 1:
            raise ClvError(
                "Each group's extra response at the reference spend must be above 0 and below its most extra "
                "response, which is at most 100 %."
            )

    @property
    def steepness(self) -> float:
        """``k``: how fast the response approaches saturation, per unit spent per customer."""
        return -np.log1p(-self.reference_response / self.saturation) / self.reference_spend

    @property
    def first_return(self) -> float:
        """Margin returned by the first unit spent: the marginal return at a budget of 0."""
        return self.saturation * self.steepness * max(self.value, 0.0)

    def response(self, spend_per_customer):
        """Share of the group turned into extra responders by ``spend_per_customer``."""
        return self.saturation * -np.expm1(-self.steepness * np.asarray(spend_per_customer, dtype=float))

    def responders(self, budget):
        """Extra responders bought by ``budget`` spent on the whole group."""
        if not self.customers:
            return np.zeros_like(np.asarray(budget, dtype=float))
        return self.customers * self.response(np.asarray(budget, dtype=float) / self.customers)

    def margin(self, budget):
        """Incremental margin of ``budget``: extra responders × their value."""
        return self.responders(budget) * self.value

    def marginal(self, budget):
        """Margin returned by the next unit at ``budget`` (d margin / d budget)."""
        if not self.customers:
            return np.zeros_like(np.asarray(budget, dtype=float))
        return self.first_return * np.exp(-self.steepness * np.asarray(budget, dtype=float) / self.customers)

    def budget_at(self, marginal_return: float) -> float:
        """The budget at which the next unit returns ``marginal_return`` (0 where even the first returns less)."""
        if not self.customers or self.first_return <= marginal_return:
            return 0.0
        return float(self.customers / self.steepness * np.log(self.first_return / marginal_return))


@dataclass(frozen=True)
class Allocation:
    """A split of ``total_budget``: ``table`` has one row per group (budget, per customer, extra responders,
    incremental margin, average and marginal ROI); ``spent`` ≤ ``total_budget``, the rest ``kept``;
    ``stop_budget`` is where the next unit returns less than it costs (what a risk-neutral split would spend at
    most); ``spread`` is the standard deviation of the incremental margin (None without a covariance)."""

    table: pd.DataFrame
    total_budget: float
    spent: float
    stop_budget: float
    marginal_return: float
    risk_aversion: float
    spread: float | None

    @property
    def kept(self) -> float:
        return self.total_budget - self.spent

    @property
    def margin(self) -> float:
        return float(self.table["incremental margin"].sum())

    @property
    def net(self) -> float:
        """Incremental margin minus the money spent."""
        return self.margin - self.spent


def curves_from(summary: pd.DataFrame, assumptions: pd.DataFrame) -> dict[str, ResponseCurve]:
    """One :class:`ResponseCurve` per value group of ``summary`` (``customers``, ``mean CLV``) under the edited
    ``assumptions`` (a ``value group`` column and :data:`ASSUMPTIONS`)."""
    a = assumptions.set_index("value group").reindex(summary.index.astype(str))
    if a[list(ASSUMPTIONS)].isna().any().any():
        raise ClvError("Every value group needs a reference spend, an extra response and a most extra response.")
    return {
        str(group): ResponseCurve(
            customers=int(summary.loc[group, "customers"]),
            value=float(np.nan_to_num(summary.loc[group, "mean CLV"])),
            reference_spend=float(a.loc[str(group), ASSUMPTIONS[0]]),
            reference_response=float(a.loc[str(group), ASSUMPTIONS[1]]),
            saturation=float(a.loc[str(group), ASSUMPTIONS[2]]),
        )
        for group in summary.index
    }


def default_assumptions(summary: pd.DataFrame) -> pd.DataFrame:
    """Editable starting assumptions: one reference spend for every group (a tenth of the mean value per customer,
    rounded: the cost of a typical contact with an offer), higher response and saturation for the more valuable
    groups. They are assumptions, shown and editable, not measurements."""
    customers = summary["customers"].sum()
    mean = float((summary["mean CLV"].fillna(0) * summary["customers"]).sum() / customers) if customers else 1.0
    spend = float(f"{max(mean / 10, 0.01):.2g}")
    n = len(summary)
    response = np.interp(np.arange(n), [0, max(n - 1, 1)], [0.05, 0.02])
    saturation = np.interp(np.arange(n), [0, max(n - 1, 1)], [0.15, 0.05])
    return pd.DataFrame(
        {
            "value group": [str(g) for g in summary.index],
            ASSUMPTIONS[0]: spend,
            ASSUMPTIONS[1]: response.round(3),
            ASSUMPTIONS[2]: saturation.round(3),
        }
    )


def allocate(
    curves: dict[str, ResponseCurve],
    total_budget: float,
    *,
    risk_aversion: float = 0.0,
    value_covariance: pd.DataFrame | None = None,
) -> Allocation:
    """The split of ``total_budget`` that maximises incremental margin − spend (risk-neutral: marginal returns
    equal, none below 1), or, with ``risk_aversion`` > 0 and ``value_covariance`` (the groups' values per extra
    responder, from the bootstrap refits), expected net return − ``risk_aversion`` × its standard deviation."""
    if not np.isfinite(total_budget) or total_budget < 0:
        raise ClvError("The budget must be a number of at least 0.")
    if risk_aversion < 0:
        raise ClvError("The risk aversion cannot be negative.")
    names = list(curves)
    stop = float(sum(c.budget_at(1.0) for c in curves.values()))
    if stop <= total_budget:
        budgets = np.array([curves[g].budget_at(1.0) for g in names])
    elif total_budget == 0:
        budgets = np.zeros(len(names))
    else:
        top = max(c.first_return for c in curves.values())
        level = float(brentq(lambda m: sum(c.budget_at(m) for c in curves.values()) - total_budget, 1.0, top))
        budgets = np.array([curves[g].budget_at(level) for g in names])
        budgets *= total_budget / budgets.sum()  # the root's tolerance: spend exactly the budget
    cov = None
    if value_covariance is not None:
        cov = value_covariance.reindex(index=names, columns=names).fillna(0.0).to_numpy()
    if risk_aversion > 0 and cov is not None and budgets.sum() > 0:
        budgets = _risk_aware(curves, names, budgets, total_budget, risk_aversion, cov)
    return _allocation(curves, names, budgets, total_budget, stop, risk_aversion, cov)


def _risk_aware(curves, names, start, total_budget, risk_aversion, cov) -> np.ndarray:
    """Maximise Σ responders·value − Σ budget − risk_aversion · √(responders' C responders) under Σ budget ≤ total."""
    values = np.array([curves[g].value for g in names])
    scale = max(float(start.sum()), 1.0)  # the optimiser works in shares of the risk-neutral spend

    def loss(x):
        budgets = x * scale
        responders = np.array([curves[g].responders(b) for g, b in zip(names, budgets, strict=True)])
        spread = np.sqrt(max(float(responders @ cov @ responders), 0.0))
        return -(responders @ values - budgets.sum() - risk_aversion * spread) / scale

    result = minimize(
        loss,
        start / scale,
        method="SLSQP",
        bounds=[(0.0, total_budget / scale)] * len(names),
        constraints=[{"type": "ineq", "fun": lambda x: total_budget / scale - x.sum()}],
        options={"ftol": 1e-12, "maxiter": 500},
    )
    return np.clip(result.x, 0.0, None) * scale if result.success else start


def _allocation(curves, names, budgets, total_budget, stop, risk_aversion, cov) -> Allocation:
    rows = []
    for g, b in zip(names, budgets, strict=True):
        c = curves[g]
        margin = float(c.margin(b))
        rows.append(
            {
                "budget": float(b),
                "per customer": float(b) / c.customers if c.customers else np.nan,
                "extra responders": float(c.responders(b)),
                "incremental margin": margin,
                # at a budget of 0 the average is the first unit's return (its limit), not a blank
                "average ROI": margin / b if b > 0 else float(c.marginal(0.0)),
                "marginal ROI": float(c.marginal(b)),
            }
        )
    table = pd.DataFrame(rows, index=pd.Index(names, name="value group"))
    spread = None
    if cov is not None:
        responders = table["extra responders"].to_numpy()
        spread = float(np.sqrt(max(float(responders @ cov @ responders), 0.0)))
    spent = float(budgets.sum())
    level = float(table.loc[table["budget"] > 0, "marginal ROI"].min()) if spent > 0 else 1.0
    return Allocation(table, float(total_budget), spent, stop, level, float(risk_aversion), spread)


def return_by_budget(curves: dict[str, ResponseCurve], budgets) -> pd.DataFrame:
    """The best risk-neutral split's incremental margin and net return (margin − spend) at each total budget of
    ``budgets``: the total as a function of budget, flat past the stop point (nothing more is spent)."""
    rows = []
    for total in np.asarray(budgets, dtype=float):
        a = allocate(curves, float(total))
        rows.append({"budget": float(total), "spent": a.spent, "incremental margin": a.margin, "net return": a.net})
    return pd.DataFrame(rows)


def value_covariance(draws: np.ndarray, groups, customers_per_group: pd.Series) -> pd.DataFrame:
    """Covariance between groups of one extra responder's value (the group's mean CLV), across bootstrap refits:
    ``draws`` (refits × customers) and ``groups`` (each customer's group, in the draws' order)."""
    labels = np.asarray(groups).astype(str)
    names, which = np.unique(labels, return_inverse=True)
    counts = np.bincount(which, minlength=len(names)).astype(float)
    means = np.vstack([np.bincount(which, weights=d, minlength=len(names)) for d in draws]) / np.where(
        counts > 0, counts, np.nan
    )
    if len(means) < 2:
        raise ClvError("The covariance of the groups' values needs at least two bootstrap refits.")
    cov = np.cov(np.nan_to_num(means), rowvar=False)
    order = [str(g) for g in customers_per_group.index]
    return pd.DataFrame(np.atleast_2d(cov), index=names, columns=names).reindex(index=order, columns=order)
