"""Is the data enough for a forecast, and how far ahead is it reasonable to project? Said in plain language.

The probabilistic models fit on very little data (:mod:`clv_core.models` refuses only below 20 customers or 20
repeat buyers), but a fit is not a forecast anyone should act on. Four checks, each with a sentence:

* customers: BG/NBD-type models estimate population-level heterogeneity; a few hundred customers is thin;
* repeat buyers: Gamma–Gamma learns order values only from customers who bought again;
* months of history: repeat-purchase rates and dropout are only seen over the time observed;
* how recent the data is: a forecast runs from the last day in the data, not from today.

A projection no longer than the history observed is supported by it; beyond that it is extrapolation (the models
assume the rates they saw continue). The thresholds are conventions, stated where they are used.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from clv_core.economics import DAYS_PER_MONTH, MAX_MONTHS
from clv_core.summary import CustomerSummary

#: (thin below, enough from): conventions for a forecast worth acting on.
CUSTOMERS = (200, 1_000)
REPEAT_BUYERS = (50, 200)
HISTORY_MONTHS = (6, 12)
#: Data that ends longer ago than this is flagged: the forecast starts from its last day, not from today.
STALE_DAYS = 90

OK, THIN, SHORT = "enough", "thin", "too little"


@dataclass(frozen=True)
class Check:
    name: str
    value: str
    verdict: str  # OK, THIN or SHORT ("too little")
    sentence: str


@dataclass(frozen=True)
class Sufficiency:
    """The checks, the horizon the history supports (months) and one sentence for the page."""

    checks: tuple[Check, ...]
    supported_months: int
    data_end: pd.Timestamp

    @property
    def verdict(self) -> str:
        order = (OK, THIN, SHORT)
        return max((c.verdict for c in self.checks if c.name != "last data"), key=order.index)

    @property
    def sentence(self) -> str:
        lead = {
            OK: "The data is enough for a forecast",
            THIN: "The data is thin: read the forecast as indicative",
            SHORT: "The data is too little to act on this forecast",
        }[self.verdict]
        weak = [c.sentence for c in self.checks if c.verdict != OK]
        return (
            f"{lead}. Projections up to {self.supported_months} months are supported by the history observed; "
            f"further ahead they are extrapolation." + (" " + " ".join(weak) if weak else "")
        )

    def extrapolates(self, horizon_months: int) -> bool:
        return horizon_months > self.supported_months


def _grade(value: float, limits: tuple[float, float]) -> str:
    thin, enough = limits
    return OK if value >= enough else THIN if value >= thin else SHORT


def assess(summary: CustomerSummary, first_day: pd.Timestamp, *, today: dt.date | None = None) -> Sufficiency:
    """Grade ``summary`` (of transactions starting on ``first_day``) for forecasting.

    >>> table = pd.DataFrame({"frequency": [0, 2, 1] * 400})
    >>> summary = CustomerSummary(table, "weeks", pd.Timestamp("2024-06-30"), 0)
    >>> result = assess(summary, pd.Timestamp("2024-01-01"), today=dt.date(2024, 7, 15))
    >>> result.verdict, result.supported_months, [c.verdict for c in result.checks]
    ('too little', 6, ['enough', 'enough', 'too little', 'enough'])
    """
    table, end = summary.table, pd.Timestamp(summary.observation_end)
    customers = len(table)
    repeat = int((table["frequency"] > 0).sum())
    months = (end - pd.Timestamp(first_day)).days / DAYS_PER_MONTH
    age = ((today or dt.date.today()) - end.date()).days
    checks = (
        Check(
            "customers",
            f"{customers:,}",
            _grade(customers, CUSTOMERS),
            f"Only {customers:,} customers: the models learn how customers differ from few examples "
            f"({CUSTOMERS[1]:,} or more is comfortable).",
        ),
        Check(
            "repeat buyers",
            f"{repeat:,}",
            _grade(repeat, REPEAT_BUYERS),
            f"Only {repeat:,} customers bought more than once, and order values are learned from them alone "
            f"({REPEAT_BUYERS[1]:,} or more is comfortable).",
        ),
        Check(
            "months of history",
            f"{months:,.1f}",
            _grade(months, HISTORY_MONTHS),
            f"{months:,.1f} months of history: repeat rates and dropout are seen over a short time "
            f"({HISTORY_MONTHS[1]} months or more is comfortable).",
        ),
        Check(
            "last data",
            str(end.date()),
            OK if age <= STALE_DAYS else THIN,
            f"The data ends on {end.date()}, {age:,} days ago: forecasts run from that day, not from today.",
        ),
    )
    return Sufficiency(checks, max(1, min(MAX_MONTHS, round(months))), end)
