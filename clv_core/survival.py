"""How long customers stay: churn definition, Kaplan–Meier, log-rank, Cox PH, parametric lifetimes, survival CLV.

Customers have no cancellation date, so churn is *defined*: a customer has churned when inactive for more than
``inactivity_days`` at the observation end. A churned customer's lifetime runs from the first purchase to the day
the churn is recognised, the last purchase plus the inactivity window (by default; or the last purchase plus
``grace_days``); an active one's to the observation end, censored. Ending a lifetime at the last purchase would
give every one-time buyer a lifetime of a day, and the curve a median of a day on data where half buy once.
Lifetimes shorter than one day (a churned one-time buyer with no grace) are set to one day, and counted: lifelines
accepts zero and negative durations silently in Kaplan–Meier and Cox, and the parametric fitters need them
positive.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from lifelines import (
    CoxPHFitter,
    ExponentialFitter,
    KaplanMeierFitter,
    LogLogisticFitter,
    LogNormalFitter,
    WeibullFitter,
)
from lifelines.exceptions import ConvergenceError, ConvergenceWarning
from lifelines.statistics import multivariate_logrank_test, proportional_hazard_test
from lifelines.utils import concordance_index, restricted_mean_survival_time

from clv_core.errors import ClvError
from clv_core.ingest import Transactions
from clv_core.names import DAYS_PER_MONTH
from clv_core.runs import in_order, runs

#: Groups beyond this many levels are pooled into "Other" for curves and tests.
MAX_GROUPS = 8
#: Above this many customers, the Cox concordance and proportional-hazards check run on a random sample of this size.
DIAGNOSTIC_SAMPLE = 25_000


@dataclass(frozen=True)
class ChurnDefinition:
    """When a customer counts as churned, and how lifetimes are measured (days).

    Attributes
    ----------
    inactivity_days : int
        Churned when the last purchase is more than this many days before the observation end.
    grace_days : int, optional
        Added to a churned customer's first → last purchase span. By default (None) the inactivity window: the
        lifetime ends when the churn is recognised.

    >>> ChurnDefinition(240).lifetime_end
    'first purchase → last purchase + 240 days (when the churn is recognised)'
    >>> ChurnDefinition(240, 1).lifetime_end
    'first purchase → last purchase + 1 day'
    """

    inactivity_days: int
    grace_days: int | None = None

    def __post_init__(self) -> None:
        if self.inactivity_days < 1 or (self.grace_days is not None and self.grace_days < 0):
            raise ClvError("The inactivity threshold must be at least 1 day and the grace period not negative.")

    @property
    def added_days(self) -> int:
        """Days added to a churned customer's first → last purchase span."""
        return self.inactivity_days if self.grace_days is None else self.grace_days

    @property
    def lifetime_end(self) -> str:
        """What a churned customer's lifetime spans, in words, to print beside any lifetime figure."""
        days = f"{self.added_days:,} day" + ("" if self.added_days == 1 else "s")
        recognised = " (when the churn is recognised)" if self.grace_days is None else ""
        return f"first purchase → last purchase + {days}{recognised}"


@dataclass(frozen=True)
class SuggestedThreshold:
    """A default inactivity threshold from the data, with the sentence that explains it."""

    days: int
    explanation: str


def suggest_inactivity_days(transactions: Transactions | pd.DataFrame, *, quantile: float = 0.9) -> SuggestedThreshold:
    """The ``quantile`` of gaps between a customer's consecutive purchase days, rounded up to a week.

    >>> days = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(12) * 10, unit="D")
    >>> suggest_inactivity_days(pd.DataFrame({"customer_id": "a", "date": days})).days  # 10-day gaps → 2 weeks
    14
    """
    gaps = runs(in_order(transactions)).day_gaps()
    if len(gaps) < 10:
        return SuggestedThreshold(
            180, "Too few repeat purchases to learn a typical gap, so 180 days is used; adjust it to your business."
        )
    value = int(np.ceil(np.quantile(gaps, quantile) / 7) * 7)
    return SuggestedThreshold(
        value,
        f"{quantile:.0%} of repeat purchases came within {value} days of the previous one "
        f"(median gap {int(np.median(gaps))} days), so a customer silent for longer is unlikely to return.",
    )


@dataclass(frozen=True)
class SurvivalData:
    """One row per customer: ``customer_id``, ``duration_days`` (> 0), ``churned`` (bool), then group columns.

    ``floored`` counts lifetimes raised to one day; ``groups`` names the columns usable as splits/covariates.
    """

    table: pd.DataFrame
    definition: ChurnDefinition
    observation_end: pd.Timestamp
    groups: tuple[str, ...]
    floored: int = 0


def survival_data(
    transactions: Transactions,
    definition: ChurnDefinition,
    *,
    extra_groups: dict[str, pd.Series] | None = None,
) -> SurvivalData:
    """Lifetimes and churn flags per customer, with first-purchase attributes, acquisition quarter,
    first order value and any ``extra_groups`` (e.g. an RFM segment per customer id).

    >>> from clv_core.ingest import ingest
    >>> csv = b"customer_id,date,amount\\na,2024-01-01,5\\na,2024-01-11,5\\nb,2024-01-05,3\\nc,2024-06-30,2\\n"
    >>> tx = ingest(csv, "t.csv")
    >>> s = survival_data(tx, ChurnDefinition(inactivity_days=90, grace_days=0))
    >>> s.table[["customer_id", "duration_days", "churned"]].values.tolist()
    [['a', 10, True], ['b', 1, True], ['c', 1, False]]
    >>> survival_data(tx, ChurnDefinition(inactivity_days=90)).table["duration_days"].tolist()
    [100, 90, 1]
    """
    data = transactions.data
    end = transactions.observation_end
    r = runs(data)
    first, last = r.first_day, r.last_day
    end_day = np.datetime64(end.date(), "D").astype(np.int64)
    churned = (end_day - last) > definition.inactivity_days
    lived = np.where(churned, last - first + definition.added_days, end_day - first)
    floored = int((lived < 1).sum())
    table = pd.DataFrame(
        {
            "customer_id": r.first_of(data["customer_id"]),
            "duration_days": np.maximum(lived, 1),
            "churned": churned,
            "purchase days": r.purchase_days,
        }
    )
    groups = []
    for attr in transactions.attributes:
        table[attr] = r.first_of(data[attr])
        groups.append(attr)
    if "product" in data:
        table["first product"] = r.first_of(data["product"])
        groups.append("first product")
    quarters, labels = pd.factorize(pd.PeriodIndex(first.astype("datetime64[D]"), freq="Q").asi8)
    table["acquisition quarter"] = np.asarray([str(pd.Period(ordinal=q, freq="Q")) for q in labels])[quarters]
    groups.append("acquisition quarter")
    table["first order value"] = r.per_day(data["amount"].to_numpy())[r.first_day_index]
    for name, series in (extra_groups or {}).items():
        table[name] = series.reindex(table["customer_id"]).astype(str).to_numpy()
        groups.append(name)
    return SurvivalData(table, definition, end, tuple(groups), floored)


def cap_levels(values: pd.Series, *, keep: int = MAX_GROUPS) -> pd.Series:
    """The ``keep`` most common levels, the rest as "Other" (so a 1,000-level column still draws)."""
    values = values.astype(str)
    top = values.value_counts().index[:keep]
    return values.where(values.isin(top), "Other")


# --- Kaplan–Meier and log-rank ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KMCurve:
    """Survival function with a pointwise confidence band, for one group. ``median_days`` is inf when the curve
    never falls to 0.5 within the data."""

    group: str
    customers: int
    churned: int
    curve: pd.DataFrame  # timeline (days), survival, lower, upper
    median_days: float


@dataclass(frozen=True)
class KMResult:
    curves: tuple[KMCurve, ...]
    at_risk: pd.DataFrame  # groups × days: customers still at risk
    logrank_p: float | None = None
    logrank_statistic: float | None = None
    logrank_sentence: str = ""

    @property
    def medians(self) -> pd.Series:
        return pd.Series({c.group: c.median_days for c in self.curves}, name="median lifetime (days)")


def survival_at(curve: KMCurve, days: float) -> float:
    """A Kaplan–Meier curve's value at ``days`` (the step in force then; NaN past the last observed time).

    >>> c = KMCurve("all", 3, 2, pd.DataFrame({"timeline": [0.0, 10, 20], "survival": [1.0, 0.6, 0.3]}), 20.0)
    >>> survival_at(c, 15), survival_at(c, 20), survival_at(c, 25)
    (0.6, 0.3, nan)
    """
    timeline, values = curve.curve["timeline"].to_numpy(), curve.curve["survival"].to_numpy()
    if days > timeline[-1]:
        return float("nan")
    return float(values[np.searchsorted(timeline, days, side="right") - 1])


def kaplan_meier(
    durations,
    events,
    groups=None,
    *,
    confidence: float = 0.95,
    at_times: tuple[float, ...] | None = None,
) -> KMResult:
    """Kaplan–Meier curves (overall, or one per group) with confidence bands, number at risk and a log-rank test.

    Parameters
    ----------
    durations, events : array-like
        Time observed (> 0) and whether the event (churn) happened (else censored).
    groups : array-like, optional
        Group label per row; levels past ``MAX_GROUPS`` are pooled into "Other".
    at_times : tuple of float, optional
        Times for the number-at-risk table (default: 6 evenly spaced over the observed range).
    """
    durations = pd.Series(np.asarray(durations, dtype=float))
    events = pd.Series(np.asarray(events, dtype=bool))
    if len(durations) == 0:
        raise ClvError("There are no customers to draw survival curves for.")
    if (durations <= 0).any():
        raise ClvError("Lifetimes must be positive; found zero or negative durations.")
    if groups is None:
        labels, masks = None, {"All customers": slice(None)}
    else:
        labels = cap_levels(pd.Series(np.asarray(groups)))
        masks = {name: (labels == name).to_numpy() for name in labels.value_counts().index}
    at_times = at_times or tuple(np.linspace(0, durations.max(), 6).round())
    curves, at_risk = [], {}
    for name, mask in masks.items():
        kmf = KaplanMeierFitter(alpha=1 - confidence).fit(durations[mask], events[mask], label=str(name))
        band = kmf.confidence_interval_survival_function_
        curve = pd.DataFrame(
            {
                "timeline": kmf.survival_function_.index.to_numpy(),
                "survival": kmf.survival_function_.iloc[:, 0].to_numpy(),
                "lower": band.iloc[:, 0].to_numpy(),
                "upper": band.iloc[:, 1].to_numpy(),
            }
        )
        observed = durations[mask].to_numpy()
        curves.append(
            KMCurve(str(name), len(observed), int(events[mask].sum()), curve, float(kmf.median_survival_time_))
        )
        at_risk[str(name)] = [int((observed >= t).sum()) for t in at_times]
    table = pd.DataFrame(at_risk, index=[f"day {int(t)}" for t in at_times]).T
    if groups is None or len(curves) < 2:
        return KMResult(tuple(curves), table)
    test = multivariate_logrank_test(durations, labels, events)
    p = float(test.p_value)
    return KMResult(tuple(curves), table, p, float(test.test_statistic), logrank_sentence(p, len(curves)))


def logrank_sentence(p: float, n_groups: int) -> str:
    """The log-rank p-value in plain words."""
    shown = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    if p < 0.05:
        return (
            f"The {n_groups} groups keep their customers for different lengths of time ({shown}, log-rank test): "
            "a difference this large would be very unlikely if they were really the same."
        )
    return (
        f"No clear difference in how long the {n_groups} groups keep their customers ({shown}, log-rank test): "
        "what difference there is could be chance."
    )


# --- Cox proportional hazards -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoxResult:
    """Hazard ratios (``summary``: covariate, hazard ratio, lower, upper, p), concordance, the proportional-hazards
    check in words, and notes on what was pooled, dropped or penalised."""

    summary: pd.DataFrame
    concordance: float
    penalizer: float
    ph_sentence: str
    ph_violations: tuple[str, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    log_likelihood: float = np.nan


#: Attributes too fine-grained to start a Cox model with (the user may still choose them).
NOT_BY_DEFAULT = ("acquisition quarter", "RFM segment", "first product")


def default_cox_attributes(groups) -> tuple[str, ...]:
    """What the Cox model starts with: up to three of the data's groups, else the first order's value.

    >>> default_cox_attributes(["country", "RFM segment", "channel"]), default_cox_attributes([])
    (('country', 'channel'), ('first order value',))
    """
    chosen = tuple(g for g in groups if g not in NOT_BY_DEFAULT)[:3]
    return chosen or ("first order value",)


def design_matrix(frame: pd.DataFrame, covariates: list[str], *, min_level: int = 20) -> tuple[pd.DataFrame, list[str]]:
    """Numeric covariates as they are; categoricals one-hot (reference: the most common level), levels with fewer
    than ``min_level`` customers pooled into "Other", constant and perfectly collinear columns removed."""
    notes: list[str] = []
    parts = []
    for name in covariates:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            parts.append(column.astype(float).rename(name))
            continue
        values = column.astype(str)
        counts = values.value_counts()
        rare = counts.index[counts < min_level]
        reference = counts.index[0]
        if len(rare) and len(rare) < len(counts):
            pooled = "Other" if counts[rare].sum() >= min_level else reference  # a tiny "Other" has no estimable effect
            values = values.where(~values.isin(rare), pooled)
            notes.append(f"{name}: {len(rare)} level(s) with fewer than {min_level} customers pooled into '{pooled}'.")
        dummies = pd.get_dummies(values, prefix=name, prefix_sep="=", dtype=float).drop(columns=f"{name}={reference}")
        if not dummies.empty:
            notes.append(f"{name}: compared with '{reference}' (the most common level).")
        parts.append(dummies)
    if not parts:
        raise ClvError("Choose at least one attribute for the Cox model.")
    matrix = pd.concat(parts, axis=1)
    constant = [c for c in matrix if matrix[c].nunique(dropna=False) <= 1]
    if constant:
        matrix = matrix.drop(columns=constant)
        notes.append(f"Removed constant column(s): {', '.join(constant)}.")
    kept: list[str] = []
    for col in matrix:
        trial = matrix[[*kept, col]].to_numpy()
        if np.linalg.matrix_rank(trial - trial.mean(axis=0)) == len(kept) + 1:
            kept.append(col)
        else:
            notes.append(f"Removed {col}: it is a combination of other columns (collinear).")
    if not kept:
        raise ClvError("None of the chosen attributes varies between customers, so there is nothing to model.")
    return matrix[kept], notes


def cox(
    frame: pd.DataFrame,
    *,
    duration_col: str,
    event_col: str,
    covariates: list[str],
    penalizers: tuple[float, ...] = (0.0, 0.01, 0.1, 1.0),
) -> CoxResult:
    """Cox proportional-hazards model; on non-convergence, refit with increasing penalizers (and say so).

    References
    ----------
    Cox (1972), "Regression models and life-tables", JRSS B 34(2).
    """
    matrix, notes = design_matrix(frame, covariates)
    data = matrix.assign(_duration=frame[duration_col].to_numpy(), _event=frame[event_col].astype(int).to_numpy())
    if data["_event"].sum() < 5:
        raise ClvError(
            "Fewer than 5 customers churned: too few events for a Cox model. Lower the inactivity threshold."
        )
    last_error = ""
    for penalizer in penalizers:
        fitter = CoxPHFitter(penalizer=penalizer)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", ConvergenceWarning)
                fitter.fit(data, duration_col="_duration", event_col="_event", batch_mode=True)
        except (ConvergenceError, ConvergenceWarning, np.linalg.LinAlgError, ValueError) as exc:
            last_error = str(exc).splitlines()[0]
            continue
        if penalizer:
            notes.append(f"The unpenalised fit did not converge; fitted with penalizer {penalizer} (shrinks effects).")
        return _cox_result(fitter, data, penalizer, notes)
    raise ClvError(
        "The Cox model did not converge even with a penalty (" + last_error[:120] + "). "
        "Choose fewer attributes or pool rare levels."
    )


def _cox_result(fitter: CoxPHFitter, data: pd.DataFrame, penalizer: float, notes: list[str]) -> CoxResult:
    s = fitter.summary
    summary = pd.DataFrame(
        {
            "hazard ratio": s["exp(coef)"],
            "lower 95%": s["exp(coef) lower 95%"],
            "upper 95%": s["exp(coef) upper 95%"],
            "p": s["p"],
        }
    ).rename_axis("covariate")
    check = data
    if len(data) > DIAGNOSTIC_SAMPLE:  # lifelines' residuals and concordance grow faster than linearly
        check = data.sample(DIAGNOSTIC_SAMPLE, random_state=0)
        notes = [
            *notes,
            f"Concordance and the proportional-hazards check use a random {DIAGNOSTIC_SAMPLE:,} of the "
            f"{len(data):,} customers; the hazard ratios use all of them.",
        ]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            test = proportional_hazard_test(fitter, check, time_transform="rank")
        pvalues = test.summary["p"]
        violations = tuple(str(i if not isinstance(i, tuple) else i[0]) for i in pvalues.index[pvalues < 0.05])
    except (ValueError, np.linalg.LinAlgError, ZeroDivisionError):
        violations, pvalues = (), None
    if pvalues is None:
        sentence = "The proportional-hazards check could not be computed for this model."
    elif violations:
        sentence = (
            f"{', '.join(violations)}: the effect seems to change over time (proportional-hazards test p < 0.05), "
            "so read its hazard ratio as an average over customers' lifetimes."
        )
    else:
        sentence = "No covariate fails the proportional-hazards check (all p ≥ 0.05): the hazard ratios hold over time."
    return CoxResult(
        summary=summary,
        concordance=float(
            fitter.concordance_index_
            if check is data
            else concordance_index(check["_duration"], -fitter.predict_partial_hazard(check), check["_event"])
        ),
        penalizer=penalizer,
        ph_sentence=sentence,
        ph_violations=violations,
        notes=tuple(notes),
        log_likelihood=float(fitter.log_likelihood_),
    )


# --- parametric lifetimes -----------------------------------------------------------------------------------

PARAMETRIC = {
    "Weibull": WeibullFitter,
    "Exponential": ExponentialFitter,
    "Log-normal": LogNormalFitter,
    "Log-logistic": LogLogisticFitter,
}


@dataclass(frozen=True)
class ParametricResult:
    """Parametric fits compared by AIC (``table``: model, AIC, median days, RMST days), and the best curve."""

    table: pd.DataFrame
    best: str
    best_curve: pd.DataFrame  # timeline, survival
    horizon_days: float


def parametric(durations, events, *, horizon_days: float) -> ParametricResult:
    """Fit Weibull, exponential, log-normal and log-logistic lifetimes; rank by AIC; median and restricted mean
    survival time (RMST: expected days alive within ``horizon_days``) for each."""
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=bool)
    if events.sum() < 2:
        raise ClvError("Fewer than 2 customers churned: parametric lifetimes cannot be fitted.")
    rows, fitted = [], {}
    for name, cls in PARAMETRIC.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitter = cls().fit(durations, events)
        except (ConvergenceError, ValueError, np.linalg.LinAlgError):
            continue
        fitted[name] = fitter
        rows.append(
            {
                "model": name,
                "AIC": float(fitter.AIC_),
                "median (days)": float(fitter.median_survival_time_),
                f"RMST over {int(horizon_days)} days": float(restricted_mean_survival_time(fitter, t=horizon_days)),
            }
        )
    if not rows:
        raise ClvError("None of the parametric lifetime models could be fitted to this data.")
    table = pd.DataFrame(rows).sort_values("AIC").reset_index(drop=True)
    best = table["model"].iloc[0]
    timeline = np.linspace(0, max(durations.max(), horizon_days), 300)
    curve = pd.DataFrame(
        {"timeline": timeline, "survival": fitted[best].survival_function_at_times(timeline).to_numpy()}
    )
    return ParametricResult(table, best, curve, horizon_days)


# --- survival-based CLV -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurvivalCLV:
    """Expected discounted revenue per new customer over ``horizon_months`` (currency), from the survival curve
    and the observed revenue per active customer-month; ``monthly`` has the terms."""

    value: float
    revenue_per_active_month: float
    horizon_months: int
    annual_discount_rate: float
    monthly: pd.DataFrame


def survival_clv(
    km: KMCurve,
    *,
    total_revenue: float,
    total_customer_days: float,
    horizon_months: int = 24,
    annual_discount_rate: float = 0.10,
) -> SurvivalCLV:
    """Σ_{m=1..H} S(m) · spend per active month / (1 + d)^m, with d the monthly rate equivalent to the annual one.

    S(m) is the Kaplan–Meier survival at the end of month m (held flat beyond the data); spend per active month
    is total revenue divided by total customer-months lived.
    """
    if total_customer_days <= 0:
        raise ClvError("No customer time observed: survival-based CLV cannot be computed.")
    monthly_rate = (1 + annual_discount_rate) ** (1 / 12) - 1
    spend = total_revenue / (total_customer_days / DAYS_PER_MONTH)
    months = np.arange(1, horizon_months + 1)
    curve = km.curve.set_index("timeline")["survival"]
    survival = curve.reindex(curve.index.union(months * DAYS_PER_MONTH)).ffill().loc[months * DAYS_PER_MONTH].to_numpy()
    discount = (1 + monthly_rate) ** -months
    terms = survival * spend * discount
    monthly = pd.DataFrame(
        {"month": months, "survival": survival, "discount factor": discount, "expected revenue": terms}
    )
    return SurvivalCLV(float(terms.sum()), float(spend), horizon_months, annual_discount_rate, monthly)


def median_table(km: KMResult) -> pd.DataFrame:
    """Median lifetime, customers and churned, per curve; the median in words (:func:`duration_words`): "45 days",
    "14 months", or "not reached" while more than half are still customers (no ∞ in a table a marketer reads)."""
    medians = pd.DataFrame(
        {
            "median lifetime": [duration_words(c.median_days) for c in km.curves],
            "customers": [c.customers for c in km.curves],
            "churned": [c.churned for c in km.curves],
        },
        index=pd.Index([c.group for c in km.curves], name=km.medians.index.name),
    )
    return medians


def churned_after_one_visit(data: SurvivalData) -> float:
    """Share of customers who bought on one day only and have churned (one visit, never back)."""
    t = data.table
    return float(((t["purchase days"] == 1) & t["churned"]).mean())


@dataclass(frozen=True)
class LifetimeHeadline:
    """The numbers that lead the Survival page, each meaningful on data where half the customers buy once.

    ``median_days``: the median lifetime of all customers (inf: not reached); ``one_time_churned``: the share who
    bought on one day and have churned; ``repeat_median_days``: the median lifetime of those who came back (bought
    on two days or more; inf: not reached); ``repeat_customers``: how many did; ``lifetime_end``: the definition.
    """

    median_days: float
    one_time_churned: float
    repeat_median_days: float
    repeat_customers: int
    lifetime_end: str

    @property
    def sentence(self) -> str:
        """The headline in words, e.g. "49 % bought once and have churned; of the 12,000 who came back, half were
        still customers after 14 months." """
        back = f"of the {self.repeat_customers:,} who came back, "
        if not self.repeat_customers:
            back = "none came back."
        elif np.isfinite(self.repeat_median_days):
            back += f"half were still customers after {duration_words(self.repeat_median_days)}."
        else:
            back += "more than half are still customers."
        return f"{self.one_time_churned:.0%} bought once and have churned; {back}"


def duration_words(days: float) -> str:
    """A lifetime in the unit a marketer reads it in: days under two months, else months (30.4 days).

    >>> duration_words(45), duration_words(425), duration_words(float("inf"))
    ('45 days', '14 months', 'not reached')
    """
    if not np.isfinite(days):
        return "not reached"
    if days < 2 * DAYS_PER_MONTH:
        return f"{days:,.0f} day" + ("" if round(days) == 1 else "s")
    return f"{days / DAYS_PER_MONTH:,.0f} months"


def lifetime_headline(data: SurvivalData, overall: KMCurve) -> LifetimeHeadline:
    """:class:`LifetimeHeadline` from ``data`` and its overall Kaplan–Meier curve (the repeat buyers' median from a
    curve of their own)."""
    t = data.table
    repeat = t["purchase days"].to_numpy() > 1
    median = float("nan")
    if repeat.any():
        kmf = KaplanMeierFitter().fit(t.loc[repeat, "duration_days"], t.loc[repeat, "churned"])
        median = float(kmf.median_survival_time_)
    return LifetimeHeadline(
        median_days=overall.median_days,
        one_time_churned=churned_after_one_visit(data),
        repeat_median_days=median,
        repeat_customers=int(repeat.sum()),
        lifetime_end=data.definition.lifetime_end,
    )


def implied_curve(fit, longest_days: float, *, points: int = 241) -> pd.DataFrame:
    """The purchase model's implied survival (:func:`clv_core.models.implied_survival`) on ``points`` days from 0 to
    ``longest_days``, as a ``timeline``/``survival`` frame to draw beside Kaplan–Meier curves."""
    from clv_core.models import implied_survival

    timeline = pd.Series(np.linspace(0.0, longest_days, points))
    return pd.DataFrame({"timeline": timeline, "survival": implied_survival(fit, timeline)})


def model_against_curves(km: KMResult, implied: pd.DataFrame, *, day: float = 365.0) -> tuple[float, float, dict]:
    """(day, the model's share not dropped out then, each Kaplan–Meier group's share still a customer then), at
    ``day`` or the end of the model's curve if sooner; groups whose curve does not reach it are left out."""
    day = min(day, float(implied["timeline"].iloc[-1]))
    model_share = float(np.interp(day, implied["timeline"], implied["survival"]))
    observed = {c.group: survival_at(c, day) for c in km.curves}
    return day, model_share, {g: s for g, s in observed.items() if np.isfinite(s)}


def survival_clv_of(curve: KMCurve, transactions, data: SurvivalData, horizon_months: int, rate: float) -> SurvivalCLV:
    """:func:`survival_clv` with the spend per active month measured on ``transactions`` and ``data``'s lifetimes."""
    return survival_clv(
        curve,
        total_revenue=float(transactions.data["amount"].sum()),
        total_customer_days=float(data.table["duration_days"].sum()),
        horizon_months=horizon_months,
        annual_discount_rate=rate,
    )
