"""Per-customer forecasts with bootstrap intervals: fit → precompute → scenario, repeated on resampled customers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from clv_core.economics import Economics, ForecastBase, precompute, scenario
from clv_core.errors import ClvError
from clv_core.models import fit_purchases, fit_spend
from clv_core.summary import CustomerSummary


@dataclass(frozen=True)
class BootstrapCLV:
    """Bootstrap distribution of CLV: per-customer percentiles and the total's draws.

    ``lower``/``upper`` are the (1 − level)/2 and (1 + level)/2 percentiles of each customer's CLV across refits on
    resampled customers; ``risk_adjusted`` is the 10th percentile; ``totals`` has each resample's base value.
    """

    lower: np.ndarray
    upper: np.ndarray
    risk_adjusted: np.ndarray
    totals: np.ndarray
    resamples: int
    level: float
    failed: int


def bootstrap_clv(
    summary: CustomerSummary,
    model: str,
    economics: Economics,
    *,
    resamples: int = 30,
    seed: int = 0,
    level: float = 0.90,
    progress: Callable[[int, int], None] | None = None,
) -> BootstrapCLV:
    """Resample customers with replacement (as weights, so each refit runs on the distinct rows), refit the
    purchase and spend models, and score every customer of the original data under each refit.

    ``progress(done, total)`` is called after each resample."""
    if resamples < 2:
        raise ClvError("Use at least 2 bootstrap resamples.")
    rng = np.random.default_rng(seed)
    n = len(summary.table)
    draws, totals, failed = [], [], 0
    for done in range(1, resamples + 1):
        weights = np.bincount(rng.integers(0, n, n), minlength=n)
        try:
            fit = fit_purchases(summary, model, weights=weights)
            spend = fit_spend(summary, weights=weights)
            result = scenario(precompute(fit, spend, summary, churn_multiplier=economics.churn_multiplier), economics)
        except ClvError:
            failed += 1
        else:
            draws.append(result.clv)
            totals.append(result.total_clv)
        if progress is not None:
            progress(done, resamples)
    if len(draws) < 2:
        raise ClvError("Too few bootstrap refits succeeded to give intervals; use more data or fewer resamples.")
    matrix = np.vstack(draws)
    tail = (1 - level) / 2 * 100
    return BootstrapCLV(
        lower=np.percentile(matrix, tail, axis=0),
        upper=np.percentile(matrix, 100 - tail, axis=0),
        risk_adjusted=np.percentile(matrix, 10, axis=0),
        totals=np.asarray(totals),
        resamples=len(draws),
        level=level,
        failed=failed,
    )


def score_customers(
    summary: CustomerSummary,
    model: str,
    economics: Economics,
    *,
    bootstrap: int = 0,
    seed: int = 0,
    base: ForecastBase | None = None,
) -> pd.DataFrame:
    """One row per customer: ``customer_id, p_alive, expected_purchases, expected_avg_value, clv, clv_lower,
    clv_upper, clv_risk_adjusted`` (interval columns empty without ``bootstrap``)."""
    if base is None:
        base = precompute(
            fit_purchases(summary, model), fit_spend(summary), summary, churn_multiplier=economics.churn_multiplier
        )
    out = scenario(base, economics).customers.drop(columns="historical_revenue")
    if bootstrap:
        boot = bootstrap_clv(summary, model, economics, resamples=bootstrap, seed=seed)
        out["clv_lower"], out["clv_upper"], out["clv_risk_adjusted"] = boot.lower, boot.upper, boot.risk_adjusted
    else:
        out["clv_lower"] = out["clv_upper"] = out["clv_risk_adjusted"] = np.nan
    return out


def p_alive_grid(
    customers: pd.DataFrame, summary: CustomerSummary, *, max_frequency: int = 10, bins: int = 8
) -> pd.DataFrame:
    """Mean P(alive) by repeat purchases (rows, capped at ``max_frequency``+) and BTYD recency (columns,
    equal-width bins in the summary's time unit)."""
    t = summary.table
    freq = np.minimum(t["frequency"].to_numpy(dtype=int), max_frequency)
    labels = [str(i) for i in range(max_frequency)] + [f"{max_frequency}+"]
    edges = np.linspace(0, max(float(t["recency"].max()), 1e-9), bins + 1)
    which = np.clip(np.digitize(t["recency"].to_numpy(), edges[1:-1]), 0, bins - 1)
    names = [f"{edges[i]:.0f}–{edges[i + 1]:.0f}" for i in range(bins)]
    frame = pd.DataFrame(
        {
            "frequency": np.array(labels)[freq],
            "recency": np.array(names)[which],
            "p_alive": customers["p_alive"].to_numpy(),
        }
    )
    grid = frame.pivot_table(index="frequency", columns="recency", values="p_alive", aggfunc="mean")
    return grid.reindex(index=labels, columns=names)


def churn_by_group(bases: dict[float, ForecastBase], economics: Economics, groups: pd.Series) -> pd.DataFrame:
    """Total CLV of each group (rows) for each churn multiplier (columns, one per base), other inputs from
    ``economics``: which segments a churn what-if moves, not only the total. ``groups`` is indexed by customer id.
    Each column sums to the customer-base total at that multiplier."""
    columns = {}
    for multiplier in sorted(bases):
        base = bases[multiplier]
        result = scenario(base, replace(economics, churn_multiplier=multiplier))
        labels = groups.reindex(base.customer_id).astype(str).to_numpy()
        columns[multiplier] = pd.Series(result.clv).groupby(labels).sum()
    table = pd.DataFrame(columns)
    table.columns.name = "churn multiplier"
    return table.sort_values(min(bases, key=lambda k: abs(k - 1)), ascending=False)


def clv_by_group(customers: pd.DataFrame, groups: pd.Series, *, name: str = "segment") -> pd.DataFrame:
    """Customers, total and mean CLV, and share of value per group (``groups`` indexed by customer id)."""
    frame = customers.assign(**{name: groups.reindex(customers["customer_id"]).astype(str).to_numpy()})
    out = frame.groupby(name).agg(
        customers=("clv", "size"), total_clv=("clv", "sum"), mean_clv=("clv", "mean"), mean_p_alive=("p_alive", "mean")
    )
    out["share of value"] = out["total_clv"] / out["total_clv"].sum() if out["total_clv"].sum() else np.nan
    return out.sort_values("total_clv", ascending=False)
