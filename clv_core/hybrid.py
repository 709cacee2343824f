"""Subscriptions plus one-off purchases (hybrid CLV): a customer's value is the subscription's expected remaining
value plus what the purchase model expects from their other purchases.

* **Which lines are subscription payments**: products paid at a monthly cadence at a fixed price
  (:func:`subscription_products` finds them; the user may choose others).
* **Subscription value** (shifted-beta-geometric, Fader & Hardie 2007, fitted to individual subscribers): each
  subscriber renews monthly with their own churn probability θ ~ Beta(α, β). A subscriber who made t payments and
  cancelled has T = t (probability B(α + 1, β + t − 1)/B(α, β)); one still paying has T ≥ t (probability
  S(t − 1) = B(α, β + t − 1)/B(α, β)). An active subscriber's expected discounted payments over the next H months
  are Σ_{j=1..H} S(t + j − 1)/S(t − 1) · d^j, times their monthly price and the margin. With a plan column, each
  plan with enough subscribers has its own α, β.
* **Purchase value**: the one analysis's purchase model (its decision, not a new holdout test), fitted to the
  purchases that are not subscription payments, scored with the same economics.

References
----------
Fader & Hardie (2007), "How to project customer retention", Journal of Interactive Marketing 21(1).
Fader & Hardie (2010), "Customer-base valuation in a contractual setting: the perils of ignoring heterogeneity",
Marketing Science 29(1) (the expected residual lifetime of a subscriber with a given tenure).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln

from clv_core.errors import ClvError
from clv_core.ingest.pipeline import Transactions

#: A monthly charge: the median gap between a customer's payments of the product, in days.
MONTHLY_GAP_DAYS = (26.0, 35.0)
#: A subscriber whose last payment is more than a month and this many days old has cancelled.
OVERDUE_DAYS = 7
#: Subscribers (each with three payments or more) a product needs to be read as a subscription.
MIN_SUBSCRIBERS = 20
#: A plan gets its own retention fit from this many subscribers (else the plans share one).
MIN_PLAN_SUBSCRIBERS = 30
#: α + β of the geometric limit (a Beta this tight is one churn probability for everyone).
_GEOMETRIC = 1e7
#: The name of the one retention fit all subscribers share.
ALL = "All subscribers"
#: The attribute column read as the plan, when present.
PLAN_COLUMN = "plan"


def subscription_products(transactions: Transactions) -> tuple[str, ...]:
    """Products paid monthly at a fixed price: among customers with three or more payments of the product, the
    median gap between payments is a month, 80 % of the gaps are, and each customer's amounts vary by under 5 %.

    >>> from clv_core.ingest import ingest
    >>> rows = [f"c{i},2024-{m:02d}-0{1 + i % 5},24,club" for i in range(25) for m in range(1, 6)]
    >>> rows += [f"c{i},2024-0{1 + i % 6}-17,{10 + i},tea" for i in range(25)]
    >>> subscription_products(ingest(("customer_id,date,amount,product\\n" + "\\n".join(rows)).encode(), "t.csv"))
    ('club',)
    """
    data = transactions.data
    if "product" not in data:
        return ()
    # vectorised over every product at once: a catalogue of thousands of SKUs costs a few group-bys, not a loop
    frame = pd.DataFrame(
        {
            "product": data["product"].astype(str).to_numpy(),
            "customer": pd.factorize(data["customer_id"])[0],
            "date": data["date"].to_numpy(),
            "amount": data["amount"].to_numpy(dtype=float),
        }
    )
    frame = frame[(frame["product"].str.strip() != "") & (frame["amount"] > 0)]  # refunds and free months aside
    if frame.empty:
        return ()
    table = _cadence(frame)
    buyers = frame.groupby("product", sort=False)["customer"].nunique()
    table = table.join(buyers.rename("buyers"), how="inner")
    keep = (
        (table["regulars"] >= MIN_SUBSCRIBERS)  # enough customers with three payments or more to judge by
        & (table["monthly"] >= 0.8)  # whose payments come a month apart
        & (table["fixed"] >= 0.8)  # at a steady price
        & (table["repeat"] >= 0.5 * table["buyers"])  # and most buyers pay again: not a product some buy monthly
    )
    return tuple(sorted(str(p) for p in table.index[keep]))


def _cadence(frame: pd.DataFrame) -> pd.DataFrame:
    """Per product: customers who paid for it two times or more (``repeat``), three or more (``regulars``), and of
    the regulars the share whose median gap is a month (``monthly``) and whose consecutive amounts mostly repeat
    (``fixed``: a first month free or discounted, or one price change, still counts)."""
    frame = frame.sort_values(["product", "customer", "date"], kind="stable")
    product, customer = frame["product"].to_numpy(), frame["customer"].to_numpy()
    same = (product[1:] == product[:-1]) & (customer[1:] == customer[:-1])
    seconds = frame["date"].to_numpy().astype("datetime64[s]").astype(np.int64)
    amount = frame["amount"].to_numpy()
    steps = pd.DataFrame(
        {
            "product": product[1:][same],
            "customer": customer[1:][same],
            "gap": (np.diff(seconds) / 86400)[same],
            "equal": (np.abs(np.diff(amount)) <= 0.01 * np.abs(amount[1:]))[same],
        }
    )
    per = steps.groupby(["product", "customer"], sort=False).agg(
        gaps=("gap", "size"), median=("gap", "median"), equal=("equal", "mean")
    )
    per["monthly"] = per["median"].between(*MONTHLY_GAP_DAYS)
    per["fixed"] = (per["equal"] >= 0.6) | (per["gaps"] <= 2) & (per["equal"] >= 0.5)
    regular = per[per["gaps"] >= 2]
    out = regular.groupby(level=0).agg(regulars=("gaps", "size"), monthly=("monthly", "mean"), fixed=("fixed", "mean"))
    return out.join(per.groupby(level=0).size().rename("repeat"), how="inner")


def check_monthly(transactions: Transactions, products: tuple[str, ...]) -> None:
    """Refuse products chosen by hand that are not paid monthly: the valuation counts payments as months."""
    data = transactions.data
    frame = pd.DataFrame(
        {
            "product": data["product"].astype(str).to_numpy(),
            "customer": pd.factorize(data["customer_id"])[0],
            "date": data["date"].to_numpy(),
            "amount": data["amount"].to_numpy(dtype=float),
        }
    )
    frame = frame[frame["product"].isin(products) & (frame["amount"] > 0)]
    per = _cadence(frame) if len(frame) else pd.DataFrame()
    for product in products:
        if product in per.index and per.loc[product, "monthly"] < 0.5:
            raise ClvError(
                f"{product} is not paid monthly by most of its repeat buyers, and the subscription value counts "
                "payments as months: choose monthly subscription products only."
            )


def products_key(products) -> tuple[str, ...]:
    """The same products in one order, each once (the key their results are kept under)."""
    return tuple(sorted(set(map(str, products))))


def split(transactions: Transactions, products: tuple[str, ...]) -> tuple[pd.DataFrame, Transactions]:
    """(the subscription payment lines, the transactions without them: the one-off purchases, the same
    observation end and a content hash of their own)."""
    data = transactions.data
    paid = data["product"].isin(products).to_numpy() if "product" in data else np.zeros(len(data), bool)
    purchases = dataclasses.replace(
        transactions,
        data=data.loc[~paid].reset_index(drop=True),
        content_hash=f"{transactions.content_hash}-without-{_digest(products)}",
    )
    return data.loc[paid], purchases


def _digest(products) -> str:
    return hashlib.sha256(json.dumps(products_key(products)).encode()).hexdigest()[:16]


def subscribers(payments: pd.DataFrame, observation_end: pd.Timestamp, plans: pd.Series | None = None) -> pd.DataFrame:
    """One row per subscriber. Payments are the positive amounts (refunds and free months aside), counted per
    subscription product: a customer with two subscriptions has the tenure of the longer one and pays the prices of
    those still running. ``monthly_price`` is the median of a subscription's last three payments; active: the last
    payment at most a month and :data:`OVERDUE_DAYS` days old."""
    paid = payments[payments["amount"] > 0].sort_values(["customer_id", "product", "date"], kind="stable")
    keys = ["customer_id", "product"]
    by = paid.groupby(keys, sort=True, observed=True)
    recent = paid[by.cumcount(ascending=False).to_numpy() < 3]  # each subscription's last three payments
    each = pd.DataFrame(
        {
            "payments": by.size(),
            "first_payment": by["date"].min(),
            "last_payment": by["date"].max(),
            "price": recent.groupby(keys, sort=True, observed=True)["amount"].median(),
        }
    )
    age = (pd.Timestamp(observation_end) - each["last_payment"]).dt.total_seconds() / 86400
    each["active"] = age <= 31 + OVERDUE_DAYS
    each["running"] = np.where(each["active"], each["price"], 0.0)
    per = each.groupby(level=0, sort=True)
    table = pd.DataFrame(
        {
            "payments": per["payments"].max(),
            "first_payment": per["first_payment"].min(),
            "last_payment": per["last_payment"].max(),
            "active": per["active"].any(),
            "monthly_price": per["running"].sum(),
        }
    )
    last_price = each.reset_index().sort_values("last_payment").groupby("customer_id")["price"].last()
    table["monthly_price"] = table["monthly_price"].where(table["active"], last_price.reindex(table.index))
    table["plan"] = "" if plans is None else plans.reindex(table.index).fillna("(no plan)").astype(str)
    return table.rename_axis("customer_id").reset_index()


@dataclass(frozen=True)
class RetentionFit:
    """sBG α, β fitted to subscribers' payments (cancelled: T = payments; active: T ≥ payments)."""

    alpha: float
    beta: float
    subscribers: int
    cancelled: int
    log_likelihood: float
    geometric: bool = False  # the fit ran to every subscriber having the same churn

    def survival(self, t) -> np.ndarray:
        """S(t) = P(T > t) = B(α, β + t)/B(α, β): the share of new subscribers still paying after t renewals."""
        return np.exp(betaln(self.alpha, self.beta + np.asarray(t, dtype=float)) - betaln(self.alpha, self.beta))

    def expected_payments(self, payments, months: int, monthly_rate: float) -> np.ndarray:
        """Expected discounted payments in the next ``months`` of subscribers still paying after ``payments``
        payments: Σ_{j=1..months} S(t + j − 1)/S(t − 1) · (1 + monthly_rate)^−j."""
        tenures, where = np.unique(np.asarray(payments, dtype=float), return_inverse=True)  # a few hundred at most
        t = tenures[:, None]
        j = np.arange(1, months + 1, dtype=float)[None, :]
        stay = np.exp(betaln(self.alpha, self.beta + t + j - 1) - betaln(self.alpha, self.beta + t - 1))
        return (stay * (1 + monthly_rate) ** -j).sum(axis=1)[where.reshape(-1)]


def fit_retention(payments, active) -> RetentionFit:
    """Maximum likelihood α, β from each subscriber's number of payments and whether they still pay.

    >>> fit = fit_retention([1] * 131 + [2] * 126 + [3] * 90 + [4] * 60 + [5] * 42 + [6] * 34 + [7] * 26 + [8] * 491,
    ...                     [False] * 509 + [True] * 491)
    >>> round(fit.alpha, 3), round(fit.beta, 3)  # Fader & Hardie (2007)'s regular customers, as survivor counts
    (0.668, 3.806)
    """
    t = np.asarray(payments, dtype=float)
    alive = np.asarray(active, dtype=bool)
    if len(t) < 2 or (t < 1).any():
        raise ClvError("Retention needs at least two subscribers, each with a payment.")
    if alive.all():
        raise ClvError("No subscriber has cancelled yet, so the churn of subscriptions cannot be estimated.")
    values, where = np.unique(np.where(alive, -t, t), return_inverse=True)  # distinct (t, active) pairs
    weight = np.bincount(where).astype(float)
    periods, still = np.abs(values), values < 0

    def negative(log_params):
        a, b = np.exp(log_params)
        base = betaln(a, b)
        terms = np.where(still, betaln(a, b + periods - 1), betaln(a + 1, b + periods - 1)) - base
        value = -float(weight @ terms)
        return value if np.isfinite(value) else 1e300

    best = min(
        (
            minimize(negative, np.array(start), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-10})
            for start in ((0.0, 0.0), (-1.0, 1.0), (1.0, 2.0))
        ),
        key=lambda r: r.fun,
    )
    alpha, beta = np.exp(best.x)
    cancelled = int((~alive).sum())
    if not (np.isfinite(alpha) and np.isfinite(beta)) or max(alpha, beta) > 1e5:
        # every subscriber churns alike (α, β → ∞ at a fixed ratio): the geometric limit, churn = cancellations per
        # renewal a subscriber could have cancelled at
        churn = cancelled / float(np.sum(t - 1) + cancelled)
        alpha, beta = churn * _GEOMETRIC, (1 - churn) * _GEOMETRIC
        return RetentionFit(alpha, beta, len(t), cancelled, -negative(np.log([alpha, beta])), geometric=True)
    return RetentionFit(float(alpha), float(beta), len(t), cancelled, -float(best.fun))


@dataclass(frozen=True)
class Subscriptions:
    """The subscription side of a hybrid dataset: its products, its subscribers and the retention fit per plan."""

    products: tuple[str, ...]
    subscribers: pd.DataFrame
    fits: dict
    notes: tuple[str, ...]


def subscriptions(transactions: Transactions, products: tuple[str, ...]) -> Subscriptions:
    """Subscribers of ``products`` and their retention fits (raises ClvError when there are none)."""
    if "product" not in transactions.data:
        raise ClvError(
            "Subscription payments are told apart from other purchases by their product, and this data has no "
            "product column. Map one on the Data page, or value subscriptions from survivor counts."
        )
    if not products:
        raise ClvError(
            "No subscription payments were found: no product is paid monthly at a fixed price by at least "
            f"{MIN_SUBSCRIBERS} customers. Choose the subscription products, or use the purchase forecast."
        )
    payments, _ = split(transactions, products)
    if payments.empty:
        raise ClvError("None of the chosen products was bought in this data.")
    check_monthly(transactions, products)
    plans = None
    if PLAN_COLUMN in transactions.attributes:
        plans = payments.groupby("customer_id", observed=True)[PLAN_COLUMN].last().astype(str)
    table = subscribers(payments, transactions.observation_end, plans)
    counts = table["plan"].value_counts()
    own = [plan for plan, n in counts.items() if n >= MIN_PLAN_SUBSCRIBERS]
    notes = []
    if len(own) < 2:
        fits = {ALL: fit_retention(table["payments"], table["active"])}
        table["fit"] = ALL
        if len(counts) > 1:
            notes.append(f"The plans share one retention fit: fewer than two have {MIN_PLAN_SUBSCRIBERS} subscribers.")
    else:
        pooled = fit_retention(table["payments"], table["active"])
        fits = {}
        for plan in own:
            rows = table[table["plan"] == plan]
            try:
                fits[plan] = fit_retention(rows["payments"], rows["active"])
            except ClvError as exc:  # a new plan nobody has left yet: the plans' pooled retention
                fits[plan] = pooled
                notes.append(f"{plan}: {exc} Valued with all subscribers' retention.")

        table["fit"] = np.where(table["plan"].isin(own), table["plan"], own[0])
        if len(own) < len(counts):
            notes.append(
                f"Plans with fewer than {MIN_PLAN_SUBSCRIBERS} subscribers are valued with the largest plan's "
                f"retention ({own[0]})."
            )
    return Subscriptions(tuple(products), table, fits, tuple(notes))


@dataclass(frozen=True)
class HybridValue:
    """Per customer (``table``): subscription status and value, purchase value and their sum (``clv``), over the
    economics' horizon; the totals; and notes for the reader."""

    table: pd.DataFrame
    subscription_total: float
    purchase_total: float
    horizon_months: int
    notes: tuple[str, ...]

    @property
    def total(self) -> float:
        return self.subscription_total + self.purchase_total


def hybrid_value(subs: Subscriptions, purchase_clv: pd.Series, customers, econ) -> HybridValue:
    """Both parts per customer (every id in ``customers``), with the same horizon, margin and discount rate.

    ``purchase_clv`` is the purchase model's CLV per customer id (customers without one-off purchases: 0)."""
    table = subs.subscribers.set_index("customer_id")
    rate, months = econ.monthly_discount_rate, econ.horizon_months
    value = np.zeros(len(table))
    for name, fit in subs.fits.items():
        mine = (table["fit"] == name).to_numpy() & table["active"].to_numpy()
        if mine.any():
            paid = fit.expected_payments(table.loc[mine, "payments"].to_numpy(), months, rate)
            value[mine] = paid * table.loc[mine, "monthly_price"].to_numpy() * econ.gross_margin
    ids = pd.Index(pd.unique(np.asarray(customers, dtype=object)), name="customer_id")
    status = np.where(
        ids.isin(table.index),
        np.where(table["active"].reindex(ids).eq(True).to_numpy(), "active", "cancelled"),
        "never subscribed",
    )
    out = pd.DataFrame(
        {
            "subscriber": status,
            "plan": table["plan"].reindex(ids).fillna("").to_numpy(),
            "payments": table["payments"].reindex(ids).fillna(0).astype(int).to_numpy(),
            "monthly_price": table["monthly_price"].reindex(ids).to_numpy(),
            "subscription_value": pd.Series(value, index=table.index).reindex(ids).fillna(0.0).to_numpy(),
            "purchase_value": purchase_clv.reindex(ids).fillna(0.0).to_numpy(dtype=float),
        },
        index=ids,
    )
    out["clv"] = out["subscription_value"] + out["purchase_value"]
    return HybridValue(
        out.reset_index(),
        float(out["subscription_value"].sum()),
        float(out["purchase_value"].sum()),
        months,
        subs.notes,
    )


def observed_retention(subs: Subscriptions):
    """Kaplan–Meier share of subscribers still paying after t payments, per retention fit (a subscriber still paying
    after t payments is censored just before the (t + 1)-th is due: T ≥ t)."""
    from clv_core.survival import kaplan_meier

    t = subs.subscribers
    durations = np.where(t["active"], t["payments"] - 0.5, t["payments"]).astype(float)
    return kaplan_meier(durations, ~t["active"].to_numpy(dtype=bool), t["fit"])  # named as the fits are


def columns(econ, observation_end) -> dict[str, str]:
    """Meaning and unit of each column of :attr:`HybridValue.table`, for the assumptions of an export."""
    h, end = econ.horizon_months, pd.Timestamp(observation_end).date()
    discounted = f"over the {h} months after {end}, margin {econ.gross_margin:.0%}, discounted at "
    discounted += f"{econ.annual_discount_rate:.1%} a year (currency of the file)"
    return {
        "customer_id": "customer id, as in the file",
        "subscriber": "active (still paying), cancelled or never subscribed",
        "plan": "the subscriber's plan (empty: never subscribed)",
        "payments": "subscription payments made to date (count)",
        "monthly_price": "the last subscription payment (currency of the file)",
        "subscription_value": "expected subscription payments (sBG retention) " + discounted,
        "purchase_value": "expected value of the one-off purchases (purchase model) " + discounted,
        "clv": "subscription_value + purchase_value (currency of the file)",
    }
