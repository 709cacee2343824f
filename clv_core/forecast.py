"""Per-customer forecasts with bootstrap intervals: fit → precompute → scenario, repeated on resampled customers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from clv_core.currency import NONE, Currency
from clv_core.economics import Economics, ForecastBase, precompute, scenario
from clv_core.errors import ClvError
from clv_core.models import FitResult, fit_purchases, fit_spend
from clv_core.summary import CustomerSummary


@dataclass(frozen=True)
class BootstrapFits:
    """Purchase and spend models refitted on customers resampled with replacement (seeded). They do not depend on
    the economics, so one set serves every slider position; ``failed`` counts refits that gave no usable model."""

    fits: tuple[tuple[FitResult, FitResult], ...]
    failed: int
    model: str
    seed: int


@dataclass(frozen=True)
class BootstrapCLV:
    """Bootstrap distribution of CLV under one :class:`Economics`.

    ``draws`` has one row per successful refit and one column per customer (in the summary's order): each
    customer's CLV under that refit. ``lower``/``upper`` are the (1 − level)/2 and (1 + level)/2 percentiles of each
    customer's CLV; ``risk_adjusted`` is the 10th percentile; ``totals`` has each refit's base value.
    """

    draws: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    risk_adjusted: np.ndarray
    totals: np.ndarray
    resamples: int
    level: float
    failed: int

    def interval(self, values: np.ndarray) -> tuple[float, float]:
        """The ``level`` interval of per-refit values (e.g. ``totals``)."""
        tail = (1 - self.level) / 2 * 100
        lo, hi = np.percentile(values, [tail, 100 - tail])
        return float(lo), float(hi)

    def total_interval(self) -> tuple[float, float]:
        """The ``level`` interval of the customer-base total."""
        return self.interval(self.totals)

    def group_intervals(self, labels: np.ndarray) -> pd.DataFrame:
        """The ``level`` interval of each group's total (``labels`` per customer, in the summary's order): the
        percentiles of the group's sum within each refit, so customers' errors add up as the model's do, not as
        if they were independent. Columns ``total_lower``, ``total_upper``; one row per label."""
        labels = np.asarray(labels).astype(str)
        names, which = np.unique(labels, return_inverse=True)
        sums = np.zeros((len(self.draws), len(names)))
        for row, draw in enumerate(self.draws):
            sums[row] = np.bincount(which, weights=draw, minlength=len(names))
        tail = (1 - self.level) / 2 * 100
        lo, hi = np.percentile(sums, [tail, 100 - tail], axis=0)
        return pd.DataFrame({"total_lower": lo, "total_upper": hi}, index=pd.Index(names, name="group"))


def bootstrap_fits(
    summary: CustomerSummary,
    model: str,
    *,
    resamples: int = 30,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> BootstrapFits:
    """Resample customers with replacement (as weights, so each refit runs on the distinct rows) and refit the
    purchase and spend models. ``progress(done, total)`` is called after each resample."""
    if resamples < 2:
        raise ClvError("Use at least 2 bootstrap resamples.")
    rng = np.random.default_rng(seed)
    n = len(summary.table)
    fits, failed = [], 0
    for done in range(1, resamples + 1):
        weights = np.bincount(rng.integers(0, n, n), minlength=n)
        try:
            fits.append((fit_purchases(summary, model, weights=weights), fit_spend(summary, weights=weights)))
        except ClvError:
            failed += 1
        if progress is not None:
            progress(done, resamples)
    if len(fits) < 2:
        raise ClvError("Too few bootstrap refits succeeded to give intervals; use more data or fewer resamples.")
    return BootstrapFits(tuple(fits), failed, model, seed)


def bootstrap_clv(
    summary: CustomerSummary,
    model: str,
    economics: Economics,
    *,
    resamples: int = 30,
    seed: int = 0,
    level: float = 0.90,
    progress: Callable[[int, int], None] | None = None,
    fits: BootstrapFits | None = None,
) -> BootstrapCLV:
    """Score every customer of the original data under each refit of :func:`bootstrap_fits` (made here unless
    ``fits`` is given), evaluating only the months the horizon needs."""
    if fits is None:
        fits = bootstrap_fits(summary, model, resamples=resamples, seed=seed, progress=progress)
    draws, failed = [], fits.failed
    for fit, spend in fits.fits:
        try:
            base = precompute(
                fit, spend, summary, churn_multiplier=economics.churn_multiplier, months=economics.horizon_months
            )
        except ClvError:
            failed += 1
            continue
        draws.append(scenario(base, economics).clv)
    if len(draws) < 2:
        raise ClvError("Too few bootstrap refits succeeded to give intervals; use more data or fewer resamples.")
    matrix = np.vstack(draws)
    tail = (1 - level) / 2 * 100
    return BootstrapCLV(
        draws=matrix,
        lower=np.percentile(matrix, tail, axis=0),
        upper=np.percentile(matrix, 100 - tail, axis=0),
        risk_adjusted=np.percentile(matrix, 10, axis=0),
        totals=matrix.sum(axis=1),
        resamples=len(draws),
        level=level,
        failed=failed,
    )


def score_table(table: pd.DataFrame, fit: FitResult, spend: FitResult, economics: Economics) -> pd.DataFrame:
    """The scoring function every engine runs: summary rows (``customer_id, frequency, recency, T,
    monetary_value, total_revenue`` in ``fit.time_unit``) in, ``customer_id, p_alive, expected_purchases,
    expected_avg_value, clv`` out, for any slice of the customers (Spark runs it on each partition)."""
    summary = CustomerSummary(table=table.reset_index(drop=True), time_unit=fit.time_unit, observation_end=pd.NaT)
    base = precompute(fit, spend, summary, churn_multiplier=economics.churn_multiplier, months=economics.horizon_months)
    return scenario(base, economics).customers.drop(columns="historical_revenue")


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


def group_codes(groups: pd.Series, customer_ids) -> tuple[np.ndarray, np.ndarray]:
    """(codes, labels): each customer's group (``groups`` indexed by customer id, looked up for ``customer_ids``
    in their order) as a position in ``labels``, the groups' names in sorted order. The look-up is the slow part
    at a million customers; a slider move reuses it (:func:`clv_by_group`'s ``codes``)."""
    names = groups.reindex(customer_ids).astype(str).to_numpy()
    labels, codes = np.unique(names, return_inverse=True)
    return codes.ravel(), labels


def clv_by_group(
    customers: pd.DataFrame,
    groups: pd.Series,
    *,
    name: str = "segment",
    boot: BootstrapCLV | None = None,
    codes: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Customers, total and mean CLV, and share of value per group (``groups`` indexed by customer id). With
    ``boot`` (scored on the same customers, in the same order), the bootstrap interval of each group's total too.
    ``codes`` is :func:`group_codes` for these customers, when the caller keeps it."""
    index, labels = group_codes(groups, customers["customer_id"]) if codes is None else codes
    if len(index) != len(customers):
        raise ClvError("These groups were looked up for other customers; look them up again.")
    size = np.bincount(index, minlength=len(labels))
    total = np.bincount(index, weights=customers["clv"].to_numpy(dtype=float), minlength=len(labels))
    alive = np.bincount(index, weights=customers["p_alive"].to_numpy(dtype=float), minlength=len(labels))
    present = size > 0
    out = pd.DataFrame(
        {
            "customers": size,
            "total_clv": total,
            "mean_clv": total / np.maximum(size, 1),
            "mean_p_alive": alive / np.maximum(size, 1),
        },
        index=pd.Index(labels, name=name),
    )[present]
    out["share of value"] = out["total_clv"] / out["total_clv"].sum() if out["total_clv"].sum() else np.nan
    if boot is not None:
        out = out.join(group_intervals(boot, groups, customers["customer_id"]).rename_axis(name))
    return out.sort_values("total_clv", ascending=False)


def group_intervals(boot: BootstrapCLV, groups: pd.Series, customer_ids) -> pd.DataFrame:
    """:meth:`BootstrapCLV.group_intervals` for ``groups`` indexed by customer id; ``customer_ids`` are the
    bootstrap's customers in its order (the summary's, as in a forecast base)."""
    if boot.draws.shape[1] != len(customer_ids):
        raise ClvError("These intervals were computed for other customers; compute them again.")
    return boot.group_intervals(groups.reindex(customer_ids).astype(str).to_numpy())


def interval_sentence(
    name: str,
    horizon_months: int,
    total: float,
    interval: tuple[float, float],
    level: float,
    *,
    currency: Currency = NONE,
) -> str:
    """``Champions: 12-month value $1,234, 90 % interval $1,100–$1,400.`` (amounts in ``currency``).

    >>> from clv_core.currency import KNOWN
    >>> interval_sentence("Champions", 12, 1234.4, (1100.2, 1399.9), 0.9, currency=KNOWN["USD"])
    'Champions: 12-month value $1,234, 90 % interval $1,100–$1,400.'
    """
    lo, hi = interval
    amount = currency.amount
    return (
        f"{name}: {horizon_months}-month value {amount(total)}, {level * 100:.0f} % interval {amount(lo)}–{amount(hi)}."
    )


def churn_what_if(bases: dict[float, ForecastBase], economics: Economics, groups: pd.Series) -> pd.DataFrame:
    """Each group's value as fitted (×1) and at ``economics.churn_multiplier``, with the change and the change in
    per cent (``bases`` must hold both multipliers)."""
    table = churn_by_group(bases, economics, groups)
    k = economics.churn_multiplier
    out = pd.DataFrame({"as fitted (×1)": table[1.0], f"at churn ×{k:g}": table[k]})
    out["change"] = out.iloc[:, 1] - out.iloc[:, 0]
    out["change %"] = out["change"] / out.iloc[:, 0].where(out.iloc[:, 0] != 0)
    return out.rename_axis(groups.name or "group")


def top_customers(customers: pd.DataFrame, boot: BootstrapCLV | None = None, *, n: int = 100) -> pd.DataFrame:
    """The ``n`` customers with the highest predicted CLV, with their bootstrap interval when ``boot`` is given
    (scored on the same customers, in the same order)."""
    clv = customers["clv"].to_numpy(dtype=float)
    top = _largest(clv, n)  # a partition, not pandas' nlargest, which copies a million-row table on each slider move
    out = customers.iloc[top]
    if boot is not None:
        out = out.assign(
            clv_lower=boot.lower[top], clv_upper=boot.upper[top], clv_risk_adjusted=boot.risk_adjusted[top]
        )
    return out


def _largest(values: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` largest values, largest first, ties in position order, NaN left out (for n below
    the number of values, what pandas' ``nlargest(n, keep="first")`` selects).

    >>> _largest(np.array([3.0, 9.0, np.nan, 3.0, 5.0, 3.0]), 4).tolist()
    [1, 4, 0, 3]
    """
    valid = np.flatnonzero(~np.isnan(values))
    if n <= 0 or not valid.size:
        return valid[:0]
    if n < valid.size:
        cut = np.partition(values[valid], valid.size - n)[valid.size - n]  # the n-th largest value
        above, at = valid[values[valid] > cut], valid[values[valid] == cut]
        valid = np.concatenate([above, at[: n - above.size]])
    return valid[np.lexsort((valid, -values[valid]))][:n]
