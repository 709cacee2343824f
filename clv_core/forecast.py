"""Per-customer forecasts with bootstrap intervals: fit → precompute → scenario, repeated on resampled customers."""

from __future__ import annotations

from dataclasses import dataclass

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
) -> BootstrapCLV:
    """Resample customers with replacement (as weights, so each refit runs on the distinct rows), refit the
    purchase and spend models, and score every customer of the original data under each refit."""
    if resamples < 2:
        raise ClvError("Use at least 2 bootstrap resamples.")
    rng = np.random.default_rng(seed)
    n = len(summary.table)
    draws, totals, failed = [], [], 0
    for _ in range(resamples):
        weights = np.bincount(rng.integers(0, n, n), minlength=n)
        try:
            fit = fit_purchases(summary, model, weights=weights)
            spend = fit_spend(summary, weights=weights)
            result = scenario(precompute(fit, spend, summary, churn_multiplier=economics.churn_multiplier), economics)
        except ClvError:
            failed += 1
            continue
        draws.append(result.customers["clv"].to_numpy())
        totals.append(result.total_clv)
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
