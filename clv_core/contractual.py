"""Subscriptions: the shifted-beta-geometric (sBG) model of Fader & Hardie (2007), written on scipy.

Each customer renews every period with a constant churn probability θ that varies across customers as
Beta(α, β). With survivors n_0 ≥ n_1 ≥ … ≥ n_T of a cohort, the model gives
P(T = t) = B(α + 1, β + t − 1) / B(α, β) and S(t) = B(α, β + t) / B(α, β).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, hyp2f1

from clv_core.errors import ClvError


@dataclass(frozen=True)
class SBGResult:
    """Fitted α, β (per period), the survivors they were fitted to, and the log-likelihood."""

    alpha: float
    beta: float
    survivors: tuple[int, ...]
    log_likelihood: float

    def survival(self, periods: int) -> np.ndarray:
        """S(t) for t = 0 … periods: the share of a new cohort still subscribed after t renewals."""
        t = np.arange(periods + 1)
        return np.exp(betaln(self.alpha, self.beta + t) - betaln(self.alpha, self.beta))

    def retention_rates(self, periods: int) -> np.ndarray:
        """r_t = S(t) / S(t − 1) = (β + t − 1) / (α + β + t − 1) for t = 1 … periods: rising as the mix changes."""
        t = np.arange(1, periods + 1)
        return (self.beta + t - 1) / (self.alpha + self.beta + t - 1)

    def projection(self, periods: int) -> pd.DataFrame:
        """Observed and projected survivors per period (projected = n_0 · S(t))."""
        n0 = self.survivors[0]
        observed = list(self.survivors) + [np.nan] * max(0, periods + 1 - len(self.survivors))
        return pd.DataFrame(
            {
                "period": np.arange(periods + 1),
                "observed": observed[: periods + 1],
                "projected": n0 * self.survival(periods),
            }
        )

    def discounted_expected_lifetime(self, discount_rate: float) -> float:
        """DEL = Σ_{t≥0} S(t) / (1 + d)^t = ₂F₁(1, β; α + β; 1 / (1 + d)): renewals a new customer pays for,
        discounted, counting the first payment (Fader & Hardie 2010, eq. 6)."""
        if discount_rate <= 0:
            raise ClvError("The discount rate per period must be positive for the lifetime sum to converge.")
        return float(hyp2f1(1.0, self.beta, self.alpha + self.beta, 1.0 / (1.0 + discount_rate)))

    def expected_lifetime(self) -> float:
        """Mean number of periods paid by a new customer, (α + β − 1) / (α − 1); infinite when α ≤ 1."""
        return float((self.alpha + self.beta - 1) / (self.alpha - 1)) if self.alpha > 1 else float("inf")

    def clv(self, *, margin_per_period: float, discount_rate: float) -> float:
        """Expected discounted margin of a new subscriber: margin per period × DEL."""
        return margin_per_period * self.discounted_expected_lifetime(discount_rate)


def fit_sbg(survivors) -> SBGResult:
    """Fit α and β by maximum likelihood to survivor counts of one cohort (n_0 first, never increasing).

    References
    ----------
    Fader & Hardie (2007), "How to project customer retention", Journal of Interactive Marketing 21(1), eq. (5).

    Examples
    --------
    >>> r = fit_sbg([1000, 869, 743, 653, 593, 551, 517, 491])
    >>> round(r.alpha, 3), round(r.beta, 3)
    (0.668, 3.806)
    """
    n = np.asarray(survivors, dtype=float)
    if n.ndim != 1 or len(n) < 3:
        raise ClvError("Give survivor counts for at least 3 periods, starting with the cohort size.")
    if not np.all(np.isfinite(n)) or (n < 0).any() or n[0] <= 0:
        raise ClvError("Survivor counts must be non-negative numbers, starting with a positive cohort size.")
    if np.any(np.diff(n) > 0):
        raise ClvError("Survivor counts cannot rise from one period to the next: each is a subset of the one before.")
    if n[-1] == n[0]:
        raise ClvError("Nobody churned in these periods, so churn cannot be estimated yet.")
    lost = -np.diff(n)
    t = np.arange(1, len(n))

    def negative_log_likelihood(log_params: np.ndarray) -> float:
        a, b = np.exp(log_params)
        base = betaln(a, b)
        p_churn = betaln(a + 1, b + t - 1) - base
        survive = betaln(a, b + t[-1]) - base
        return -float((lost * p_churn).sum() + n[-1] * survive)

    best = None
    for start in ((0.0, 0.0), (-1.0, 1.0), (1.0, 2.0)):
        result = minimize(
            negative_log_likelihood,
            np.array(start),
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20_000},
        )
        if best is None or result.fun < best.fun:
            best = result
    alpha, beta = np.exp(best.x)
    if not (np.isfinite(alpha) and np.isfinite(beta)) or alpha > 1e6 or beta > 1e6:
        raise ClvError("The retention model did not converge for these counts; check them or give more periods.")
    return SBGResult(float(alpha), float(beta), tuple(int(v) for v in n), -float(best.fun))


def survivors_from_lifetimes(months_paid: pd.Series, *, periods: int) -> list[int]:
    """Survivor counts of a cohort from each subscriber's number of paid periods (all observed ≥ ``periods``).

    >>> survivors_from_lifetimes(pd.Series([1, 1, 2, 3, 5]), periods=3)
    [5, 3, 2, 1]
    """
    paid = np.asarray(months_paid)
    return [int((paid > k).sum()) for k in range(periods + 1)]


def survivors_from_transactions(data: pd.DataFrame, observation_end: pd.Timestamp, *, cohort: str) -> list[int]:
    """Survivor counts per month for the customers acquired in ``cohort`` (a month, "YYYY-MM"), treating each
    customer's last purchase month as the last month paid. Only months the data has fully observed are counted.

    >>> dates = ["2024-01-03", "2024-02-03", "2024-03-03", "2024-01-09", "2024-01-20", "2024-02-20"]
    >>> data = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "c", "c"], "date": pd.to_datetime(dates)})
    >>> survivors_from_transactions(data, pd.Timestamp("2024-04-30"), cohort="2024-01")
    [3, 2, 1, 0]
    """
    month = data["date"].dt.to_period("M")
    span = month.groupby(data["customer_id"]).agg(["min", "max"])
    members = span[span["min"] == pd.Period(cohort, freq="M")]
    if members.empty:
        raise ClvError(f"No customer was acquired in {cohort}.")
    last_full = pd.Period(observation_end, freq="M")
    if last_full.end_time.normalize() > observation_end.normalize():
        last_full -= 1
    periods = (last_full - pd.Period(cohort, freq="M")).n
    if periods < 2:
        raise ClvError(f"The cohort {cohort} has fewer than 3 complete months observed; choose an earlier one.")
    paid = np.array([(m - pd.Period(cohort, freq="M")).n + 1 for m in members["max"]])
    return survivors_from_lifetimes(pd.Series(paid), periods=periods)


_START_NAMES = {
    "start",
    "startdate",
    "subscriptionstart",
    "subscriptionstartdate",
    "signupdate",
    "signup",
    "startedat",
    "activationdate",
    "activatedat",
    "joindate",
    "joined",
    "subscribedat",
    "subscriptiondate",
}
_END_NAMES = {
    "end",
    "enddate",
    "subscriptionend",
    "subscriptionenddate",
    "canceledat",
    "cancelledat",
    "cancellationdate",
    "canceldate",
    "cancelled",
    "canceled",
    "churndate",
    "churnedat",
    "endedat",
    "terminationdate",
    "stopdate",
}


@dataclass(frozen=True)
class Subscriptions:
    """One row per subscription: ``customer_id``, ``start``, ``end`` (NaT while still active).

    ``observation_end`` is the last day the data describes; ``columns`` says which file columns were used and
    ``dropped`` how many rows were unusable (no start date, or an end before the start).
    """

    table: pd.DataFrame
    observation_end: pd.Timestamp
    columns: dict
    dropped: int


def read_subscriptions(
    data: bytes,
    name: str,
    *,
    customer_col: str | None = None,
    start_col: str | None = None,
    end_col: str | None = None,
    observation_end: str | None = None,
) -> Subscriptions:
    """Read a file of subscriptions with start and end (cancellation) dates, as the transaction loader reads files
    (same sniffing, same date rules; an empty end means still active)."""
    from clv_core.ingest.columns import _SYNONYMS, normalise_name
    from clv_core.ingest.dates import parse_dates
    from clv_core.ingest.sniff import read_raw

    raw = read_raw(data, name)
    columns = list(raw.frame.columns)

    def pick(given: str | None, names: set[str], role: str) -> str:
        if given is not None:
            if given not in columns:
                raise ClvError(f"Column {given!r} ({role}) is not in the file. Columns: {', '.join(columns)}.")
            return given
        found = [c for c in columns if normalise_name(c) in names]
        if len(found) != 1:
            what = "not found" if not found else f"ambiguous ({', '.join(found)})"
            raise ClvError(f"Column for the subscription {role} {what}. Columns in file: {', '.join(columns)}.")
        return found[0]

    customer = pick(customer_col, _SYNONYMS["customer_id"], "customer id")
    start = pick(start_col, _START_NAMES, "start date")
    end = pick(end_col, _END_NAMES, "end date")
    starts = parse_dates(raw.frame[start]).values.dt.normalize()
    ends = parse_dates(raw.frame[end]).values.dt.normalize()
    ids = raw.frame[customer].astype(str).str.strip()
    bad = starts.isna() | (ends < starts) | (ids == "")
    table = pd.DataFrame({"customer_id": ids, "start": starts, "end": ends}).loc[~bad.to_numpy()].reset_index(drop=True)
    if table.empty:
        raise ClvError(f"{name} has no usable subscriptions (each needs a customer id and a start date).")
    last_seen = pd.concat([table["start"], table["end"]]).max()
    end_day = pd.Timestamp(observation_end) if observation_end else last_seen
    return Subscriptions(table, end_day, {"customer id": customer, "start": start, "end": end}, int(bad.sum()))


def survivors_from_subscriptions(subscriptions: Subscriptions, *, cohort: str) -> list[int]:
    """Survivor counts per month for the subscriptions started in ``cohort`` ("YYYY-MM"): n_k counts those still
    active k months after their own start, for every k the data covers for the whole cohort.

    >>> subs = Subscriptions(pd.DataFrame({"customer_id": list("abcd"),
    ...     "start": pd.to_datetime(["2024-01-05", "2024-01-10", "2024-01-20", "2024-01-31"]),
    ...     "end": pd.to_datetime(["2024-02-01", "2024-03-15", None, "2024-05-01"])}),
    ...     pd.Timestamp("2024-05-31"), {}, 0)
    >>> survivors_from_subscriptions(subs, cohort="2024-01")  # b cancels on Mar 15, after its month-2 renewal
    [4, 3, 3, 2, 1]
    """
    t = subscriptions.table
    members = t[t["start"].dt.to_period("M") == pd.Period(cohort, freq="M")]
    if members.empty:
        raise ClvError(f"No subscription started in {cohort}.")
    counts = []
    k = 0
    while True:
        due = members["start"] + pd.DateOffset(months=k)
        if due.max() > subscriptions.observation_end:
            break
        counts.append(
            int((members["end"].isna() | (members["end"] > due)).sum())
        )  # cancelling on the renewal day is not renewing
        k += 1
    if len(counts) < 3:
        raise ClvError(f"The {cohort} cohort has fewer than 3 observed months; choose an earlier one.")
    return counts
