"""Customer equity: what the customer base is worth, today's customers and those still to come.

After Gupta, Lehmann & Stuart (2004), *Valuing customers*, Journal of Marketing Research 41(1): the value of a
firm's customers is the discounted margin of the current ones plus that of the customers it will acquire, less
what acquiring them costs. Over a horizon of H = 12 × years months, with d the monthly equivalent of the
corporate rate::

    current customers  = Σ_i CLV_i(H)                                 (the one scoring chain: score's total)
    future customers   = Σ_{k=1..H} n · CLV_new(H − k) / (1 + d)^k
    acquisition cost   = Σ_{k=1..H} n · CAC / (1 + d)^k
    customer equity    = current + future − acquisition cost

``n`` is the customers acquired per month (the mean of the last complete monthly cohorts' sizes, held constant),
``CLV_new(j)`` the discounted margin a customer acquired today brings within ``j`` months: the scenario's
new-customer curve (the first order plus the purchase model's expected repeat orders of a new customer). A
customer acquired in month k is valued from then to the horizon, and both its value and its cost are discounted
from month k.

Sensitivities, as in the paper: the change in equity for one more point of yearly retention (the data's yearly
retention, moved one point by scaling every customer's dropout with a constant-hazard multiplier,
ln(r + 0.01) / ln(r): no refit), one more point of corporate rate, 1 % more acquisitions and 1 % lower CAC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clv_core.cohorts import CohortTable
from clv_core.economics import CLVScenario
from clv_core.errors import ClvError
from clv_core.names import EQUITY_MAX_YEARS

#: The sensitivities, by their key in :meth:`CustomerEquity.as_dict`.
SENSITIVITIES = {
    "retention_plus_1pt": "+1 pt yearly retention",
    "discount_rate_plus_1pt": "+1 pt corporate discount rate",
    "acquisitions_plus_1pct": "+1 % acquisitions",
    "cac_minus_1pct": "−1 % acquisition cost",
}
#: Complete monthly cohorts averaged for the acquisition rate.
ACQUISITION_MONTHS = 12
MAX_YEARS = EQUITY_MAX_YEARS


@dataclass(frozen=True)
class Acquisitions:
    """New customers per month, from the monthly cohorts' sizes.

    ``per_month`` is the mean over the last ``months`` complete months (a month without a new customer counts as
    0), ``first`` and ``last`` the months averaged. The data's first month is never among them: customers who
    bought before the data starts first appear in it, as if new (``lead_in_left_out`` says when that shortened
    the window).
    """

    per_month: float
    months: int
    first: str
    last: str
    lead_in_left_out: bool = False
    #: The mean of the window's last three months (None in a window shorter than six months).
    recent_per_month: float | None = None

    @property
    def sentence(self) -> str:
        where = f"{self.first} – {self.last}" if self.months > 1 else self.first
        lead_in = (
            " The data's first month is left out: customers who bought before the data starts appear in it as new."
            if self.lead_in_left_out
            else ""
        )
        if self.per_month == 0:
            return (
                f"No customer was acquired in the last {self.months} complete months ({where}): at that rate future "
                f"customers add nothing.{lead_in}"
            )
        recent = ""
        if self.recent_per_month is not None and abs(self.recent_per_month - self.per_month) > 0.5 * self.per_month:
            recent = (
                f" The last three of them had {self.recent_per_month:,.1f} a month: if that is the new normal, the "
                "future customers' value is far from this projection."
            )
        return (
            f"{self.per_month:,.1f} new customers a month: the mean of the {self.months} complete months "
            f"{where}.{recent}{lead_in}"
        )


def acquisitions(table: CohortTable, months: int = ACQUISITION_MONTHS) -> Acquisitions:
    """The acquisition rate of monthly ``table``: the mean of the last ``months`` complete months (the last calendar
    month is left out when the data ends inside it, and so is the data's first month).

    >>> from clv_core.cohorts import build_cohorts
    >>> from clv_core.ingest import ingest
    >>> csv = b"customer_id,date,amount\\na,2024-01-05,10\\nb,2024-01-20,8\\nc,2024-03-02,1\\nd,2024-04-30,1\\n"
    >>> a = acquisitions(build_cohorts(ingest(csv, "t.csv")), months=12)
    >>> round(a.per_month, 4), a.months, a.first, a.last, a.lead_in_left_out
    (0.6667, 3, '2024-02', '2024-04', True)
    """
    if table.period != "month":
        raise ClvError("The acquisition rate is measured on monthly cohorts.")
    sizes = table.sizes.copy()
    sizes.index = pd.PeriodIndex(sizes.index, freq="M")
    end = pd.Period(table.observation_end, freq="M") - (1 if table.excluded_partial_period else 0)
    span = pd.period_range(sizes.index.min(), end, freq="M")
    if len(span) < 3:
        raise ClvError(
            "Customer equity needs at least three complete months of data to project future customers (the first "
            "is left out: customers who bought before the data starts appear in it as new); this data has "
            f"{len(span)}. Load a longer history."
        )
    counts = sizes.reindex(span, fill_value=0).iloc[1:].iloc[-months:]
    lead_in = len(span) - 1 <= months
    recent = float(counts.iloc[-3:].mean()) if len(counts) >= 6 else None
    first, last = str(counts.index[0]), str(counts.index[-1])
    return Acquisitions(float(counts.mean()), len(counts), first, last, lead_in, recent)


def future_customers(
    new_customer_curve: np.ndarray, per_month: float, cac: float, monthly_rate: float, months: int
) -> tuple[float, float]:
    """(value, acquisition cost) of ``per_month`` customers acquired at the end of each month 1 … ``months``, each
    worth ``new_customer_curve[months - k]`` when acquired in month k, discounted at ``monthly_rate``.

    >>> future_customers(np.array([10.0, 10.0]), per_month=2, cac=4, monthly_rate=0.0, months=1)
    (20.0, 8.0)
    """
    if len(new_customer_curve) <= months:
        raise ClvError(f"The new-customer curve covers {len(new_customer_curve) - 1} months, not {months}.")
    k = np.arange(1, months + 1)
    discount = (1 + monthly_rate) ** -k.astype(float)
    value = per_month * float(new_customer_curve[months - k] @ discount)
    cost = per_month * cac * float(discount.sum())
    return value, cost


def retention_multiplier(retention: float, points: float = 0.01) -> float | None:
    """The churn multiplier that moves a yearly retention ``retention`` up by ``points`` when dropout is a constant
    hazard (retention = e^(−12λ)): ln(r + points) / ln(r). None where that is undefined (r ≤ 0 or r + points ≥ 1).

    >>> round(retention_multiplier(0.5), 6)
    0.971431
    """
    if not (retention > 0 and retention + points < 1):
        return None
    return float(np.log(retention + points) / np.log(retention))


@dataclass(frozen=True)
class CustomerEquity:
    """What the customer base is worth over ``years`` (currency), with the paper's four sensitivities.

    ``sensitivities`` maps each change (a key of :data:`SENSITIVITIES`) to the equity's change (currency); a change
    that cannot be computed on this data (no yearly retention measured) is absent, with the reason in ``notes``.
    ``retention_moved`` names the yearly retention moved ("25.6% → 26.6%").
    """

    years: int
    corporate_rate: float
    current_customers: int
    current_customers_value: float
    future_customers_value: float
    acquisition_cost: float
    acquisitions: Acquisitions
    cac: float
    gross_margin: float
    new_customer_clv: float
    sensitivities: dict[str, float]
    retention_moved: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def customer_equity(self) -> float:
        return self.current_customers_value + self.future_customers_value - self.acquisition_cost

    @property
    def months(self) -> int:
        return 12 * self.years

    def bridge(self) -> pd.DataFrame:
        """The bridge from today's customers to the equity: step, amount, and whether it is a total."""
        return pd.DataFrame(
            {
                "step": ["Current customers", "Future customers", "Acquisition cost", "Customer equity"],
                "amount": [
                    self.current_customers_value,
                    self.future_customers_value,
                    -self.acquisition_cost,
                    self.customer_equity,
                ],
                "total": [False, False, False, True],
            }
        )

    def sensitivity_table(self) -> pd.DataFrame:
        """Each change with the equity's change, in currency and as a share of the equity."""
        base = self.customer_equity
        labels = dict(SENSITIVITIES, retention_plus_1pt=f"+1 pt yearly retention ({self.retention_moved})")
        return pd.DataFrame(
            {
                "change": [labels[k] for k in self.sensitivities],
                "equity change": list(self.sensitivities.values()),
                "share of equity": [v / base if base else float("nan") for v in self.sensitivities.values()],
            }
        )

    def as_dict(self) -> dict:
        """Every figure and assumption, for JSON (the command line) and the report."""
        return {
            "current_customers_value": self.current_customers_value,
            "future_customers_value": self.future_customers_value,
            "acquisition_cost": self.acquisition_cost,
            "customer_equity": self.customer_equity,
            "current_customers": self.current_customers,
            "new_customer_clv": self.new_customer_clv,
            "sensitivities": dict(self.sensitivities),
            "assumptions": {
                "years": self.years,
                "corporate_discount_rate": self.corporate_rate,
                "corporate_discount_rate_monthly": (1 + self.corporate_rate) ** (1 / 12) - 1,
                "gross_margin": self.gross_margin,
                "cac": self.cac,
                "acquisitions_per_month": self.acquisitions.per_month,
                "acquisitions_basis": self.acquisitions.sentence,
                "retention_moved": self.retention_moved,
            },
            "notes": list(self.notes),
        }


def customer_equity(
    current: CLVScenario,
    acquired: Acquisitions,
    *,
    years: int,
    rate_up: CLVScenario | None,
    retained: CLVScenario | None,
    retention_note: str,
) -> CustomerEquity:
    """Equity from the scenario over ``12 × years`` months (``current``), the same at one more point of corporate
    rate (``rate_up``, None at a rate of 99 % or more) and at one more point of yearly retention (``retained``,
    None when not measurable: then ``retention_note`` says why; else it names the retention moved)."""
    econ = current.economics
    months = 12 * years
    if econ.horizon_months != months:
        raise ClvError(f"The scenario covers {econ.horizon_months} months, not {years} years.")

    def equity_of(scenario: CLVScenario) -> float:
        e = scenario.economics
        value, cost = future_customers(
            scenario.new_customer_curve, acquired.per_month, e.cac, e.monthly_discount_rate, months
        )
        return scenario.total_clv + value - cost

    future, cost = future_customers(
        current.new_customer_curve, acquired.per_month, econ.cac, econ.monthly_discount_rate, months
    )
    equity = current.total_clv + future - cost
    sensitivities = {}
    notes = []
    if retained is not None:
        sensitivities["retention_plus_1pt"] = equity_of(retained) - equity
    else:
        notes.append(f"No retention sensitivity: {retention_note.rstrip('.')}.")
    if rate_up is not None:
        sensitivities["discount_rate_plus_1pt"] = equity_of(rate_up) - equity
    else:
        notes.append("No discount-rate sensitivity: the rate cannot move one point above 99 %.")
    sensitivities["acquisitions_plus_1pct"] = 0.01 * (future - cost)
    sensitivities["cac_minus_1pct"] = 0.01 * cost
    if econ.cac == 0:
        notes.append("No acquisition cost given: future customers count at their full value.")
    return CustomerEquity(
        years=years,
        corporate_rate=econ.annual_discount_rate,
        current_customers=len(current.clv),
        current_customers_value=current.total_clv,
        future_customers_value=future,
        acquisition_cost=cost,
        acquisitions=acquired,
        cac=econ.cac,
        gross_margin=econ.gross_margin,
        new_customer_clv=current.new_customer_clv,
        sensitivities=sensitivities,
        retention_moved=retention_note if retained is not None else None,
        notes=tuple(notes),
    )
