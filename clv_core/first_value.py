"""Value at first purchase: a new customer's next-12-month revenue from what is known at the first order.

BTYD models know nothing about a customer with one purchase and no history: every such customer gets the same
forecast. What the first order says (acquisition channel, country and the data's other attributes, the first
product, the first order's value and lines, its day of the week) can rank them. A gradient-boosted regressor
(scikit-learn's ``HistGradientBoostingRegressor``, Poisson loss for a non-negative revenue with many zeros;
categorical features natively, levels outside the 30 most common treated as missing) learns **the revenue in the
365 days after the first purchase day** of customers whose 365 days the data covers.

* **Backtest**: the customers whose year is covered are split by acquisition date; the model learns from the
  older cohorts only (two thirds of them) and predicts the newer ones, beside the BTYD forecast for the same
  customers, fitted on the same older cohorts' histories (the analysis' purchase model and Gamma–Gamma: a new
  customer's expected repeat purchases over 365 days × the mean spend per purchase, the same for every one of
  them). Both see the older cohorts' purchases to the end of the data, calendar months the tested customers live
  in too, and neither sees a tested customer: a cohort holdout, not a wait of a year after the split (which a
  history of two years could not give).
* **New customers now**: trained on every customer whose year is covered, the model scores the customers whose
  first and only purchase day fell in the last :data:`NEW_DAYS` days; the top fifth by predicted value is the
  "likely high-value new customers" list, and every new customer with the prediction is the lookalike seed an ad
  platform takes (ids and a value).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from clv_core import validation
from clv_core.cohorts import first_purchase_attributes
from clv_core.errors import ClvError
from clv_core.ingest import Transactions
from clv_core.models import fit_purchases, fit_spend
from clv_core.names import TIME_UNITS
from clv_core.runs import runs
from clv_core.summary import summarise

#: Days after the first purchase day whose revenue is predicted.
HORIZON_DAYS = 365
#: "New customers": first (and only) purchase day within this many days (half a year) of the end of the data.
NEW_DAYS = 180
#: The share of new customers listed as likely high-value.
HIGH_VALUE_SHARE = 0.20
#: Fewest customers to learn from and to test on.
MIN_TRAIN, MIN_TEST = 200, 100
#: Most levels a categorical feature keeps (the rest are treated as missing).
MAX_LEVELS = 30
NUMERIC = ("first order value", "first order lines")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: The measures compared in the backtest.
MEASURES = ("MAE", "RMSE", "total % error", "Spearman", "top-decile precision", "normalized Gini")


def first_orders(transactions: Transactions) -> pd.DataFrame:
    """Per customer (indexed by id): what the first order says (the features), the first purchase day, the
    purchase days so far, the revenue in the 365 days after the first purchase day (``value``) and whether the
    data covers that year (``observed``)."""
    data = transactions.data
    r = runs(data)
    amount = data["amount"].to_numpy(dtype=float)
    first_day = r.days[r.first_day_index]
    day_spend = r.per_day(amount)
    lines = np.diff(np.append(r.day_starts, r.rows))
    table = first_purchase_attributes(transactions)
    table["first order value"] = day_spend[r.first_day_index]
    table["first order lines"] = lines[r.first_day_index].astype(float)
    first = pd.to_datetime(first_day.astype("datetime64[D]"))
    table["weekday"] = np.asarray(WEEKDAYS, dtype=object)[first.dayofweek]
    table["first purchase"] = np.asarray(first)
    table["purchase days"] = r.purchase_days
    # revenue after the first day and within the year, per customer
    days = r.days
    owner = r.customer_of_day
    within = (days > first_day[owner]) & (days <= first_day[owner] + HORIZON_DAYS)
    table["value"] = np.bincount(owner[within], weights=day_spend[within], minlength=r.customers)
    end = transactions.observation_end.normalize()
    table["observed"] = np.asarray(first + pd.Timedelta(days=HORIZON_DAYS) <= end)
    return table


def feature_names(table: pd.DataFrame) -> list[str]:
    """The features: the attributes and first product, then the first order's value, lines and weekday."""
    skip = {"first purchase", "purchase days", "value", "observed", *NUMERIC, "weekday"}
    return [c for c in table.columns if c not in skip] + [*NUMERIC, "weekday"]


class FirstValueModel:
    """The regressor with its categorical encoding learnt from the training customers."""

    def __init__(self, train: pd.DataFrame, *, seed: int = 0) -> None:
        # scikit-learn loads with the first model, not with the app: 0.3 s off every page's first run on a fresh server
        from sklearn.ensemble import HistGradientBoostingRegressor

        self.features = feature_names(train)
        self.levels = {
            c: list(train[c].astype(str).value_counts().index[:MAX_LEVELS]) for c in self.features if c not in NUMERIC
        }
        mask = [c not in NUMERIC for c in self.features]
        self.regressor = HistGradientBoostingRegressor(
            loss="poisson",
            max_iter=200,
            learning_rate=0.06,
            max_leaf_nodes=15,
            min_samples_leaf=20,
            categorical_features=mask,
            random_state=seed,
        )
        with threadpool_limits(limits=1, user_api="openmp"):  # as the challenger: two cores, other work
            self.regressor.fit(self._matrix(train), train["value"].to_numpy(dtype=float))

    def _matrix(self, table: pd.DataFrame) -> np.ndarray:
        columns = []
        for c in self.features:
            if c in NUMERIC:
                columns.append(table[c].to_numpy(dtype=float))
            else:
                codes = pd.Categorical(table[c].astype(str), categories=self.levels[c]).codes.astype(float)
                columns.append(np.where(codes < 0, np.nan, codes))
        return np.column_stack(columns)

    def predict(self, table: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(limits=1, user_api="openmp"):
            return np.clip(self.regressor.predict(self._matrix(table)), 0, None)


@dataclass(frozen=True)
class FirstValueBacktest:
    """The model learnt on customers acquired before ``split`` and tested on those acquired from it on (whose year
    the data covers), beside the BTYD forecast: ``metrics`` one row each (:data:`MEASURES`), ``test`` the tested
    customers' actual and predicted values."""

    split: pd.Timestamp
    train_customers: int
    test: pd.DataFrame
    metrics: pd.DataFrame
    btyd_model: str

    MODEL = "First-purchase model"
    BTYD = "BTYD forecast"

    def sentence(self) -> str:
        m = self.metrics
        gini, precision = m.loc[self.MODEL, "normalized Gini"], m.loc[self.MODEL, "top-decile precision"]
        better = m.loc[self.MODEL, "MAE"] < m.loc[self.BTYD, "MAE"]
        return (
            f"Both learnt from the {self.train_customers:,} customers acquired before {self.split.date()} (their "
            f"purchases to the end of the data) and tested on the {len(self.test):,} acquired from then on, whom "
            f"neither saw. The first-purchase model's top tenth held {precision * 100:.0f} % of the actual top "
            f"tenth (10 % by chance) and its normalized Gini is {gini:.2f}; its mean absolute error, "
            f"{m.loc[self.MODEL, 'MAE']:,.2f}, is {'below' if better else 'not below'} the BTYD forecast's "
            f"{m.loc[self.BTYD, 'MAE']:,.2f}, which gives every new customer the same value."
        )


def _scores(actual: np.ndarray, predicted: np.ndarray) -> dict:
    precision, _ = validation.top_decile(actual, predicted)
    total = actual.sum()
    return {
        "MAE": validation.mae(actual, predicted),
        "RMSE": validation.rmse(actual, predicted),
        "total % error": float(predicted.sum() / total - 1) if total else np.nan,
        "Spearman": validation.spearman(actual, predicted),
        "top-decile precision": precision,
        "normalized Gini": validation.normalized_gini(actual, predicted) if np.ptp(predicted) > 0 else 0.0,
    }


def backtest(transactions: Transactions, model: str, *, time_unit: str = "weeks", seed: int = 0) -> FirstValueBacktest:
    """See the module's description; raises ClvError when too few customers have a covered year to split."""
    table = first_orders(transactions)
    covered = table[table["observed"]].sort_values("first purchase", kind="stable")
    if len(covered) < MIN_TRAIN + MIN_TEST:
        raise ClvError(
            f"Value at first purchase needs {MIN_TRAIN + MIN_TEST:,} customers whose first {HORIZON_DAYS} days the "
            f"data covers (acquired by {(transactions.observation_end - pd.Timedelta(days=HORIZON_DAYS)).date()}); "
            f"it has {len(covered):,}."
        )
    split = covered["first purchase"].iloc[int(len(covered) * 2 / 3)]
    train, test = covered[covered["first purchase"] < split], covered[covered["first purchase"] >= split]
    if len(train) < MIN_TRAIN or len(test) < MIN_TEST:
        raise ClvError(
            "The customers whose year the data covers were all acquired within a few days: there are no older "
            "cohorts to learn from and newer ones to test on."
        )
    learnt = FirstValueModel(train, seed=seed)
    predicted = learnt.predict(test)
    btyd = _btyd_new_customer_value(transactions, train.index, model, time_unit)
    actual = test["value"].to_numpy(dtype=float)
    metrics = pd.DataFrame(
        {
            FirstValueBacktest.MODEL: _scores(actual, predicted),
            FirstValueBacktest.BTYD: _scores(actual, np.full(len(test), btyd)),
        }
    ).T.rename_axis("prediction")
    tested = pd.DataFrame(
        {"customer_id": test.index, "actual": actual, "predicted": predicted, "btyd": btyd}
    ).reset_index(drop=True)
    return FirstValueBacktest(pd.Timestamp(split), len(train), tested, metrics, model)


def _btyd_new_customer_value(transactions: Transactions, customers, model: str, time_unit: str) -> float:
    """A new customer's expected repeat purchases over the year × the mean spend per purchase, from the purchase
    model and Gamma–Gamma fitted on the histories of ``customers`` (the training cohorts: what the first-purchase
    model learnt from, and nothing of the customers tested)."""
    data = transactions.data
    theirs = data[data["customer_id"].isin(set(customers))]
    summary = summarise(theirs, time_unit=time_unit, observation_end=transactions.observation_end)
    fit, spend = fit_purchases(summary, model), fit_spend(summary)
    purchases = fit.fitter().expected_number_of_purchases_up_to_time(HORIZON_DAYS / TIME_UNITS[time_unit])
    mean_spend = spend.params["p"] * spend.params["v"] / (spend.params["q"] - 1)
    return float(purchases * mean_spend)


@dataclass(frozen=True)
class NewCustomers:
    """Every new customer (first and only purchase day in the last :data:`NEW_DAYS` days) with the predicted
    revenue of their first year (``predicted_value``), highest first, and whether they are in the likely
    high-value top fifth (``likely_high_value``); ``trained_on`` customers taught the model."""

    customers: pd.DataFrame
    trained_on: int
    since: pd.Timestamp

    @property
    def high_value(self) -> pd.DataFrame:
        return self.customers[self.customers["likely_high_value"]]

    def seed(self) -> pd.DataFrame:
        """The lookalike seed: ids and predicted value, as value-based lookalike audiences take them."""
        return self.customers[["customer_id", "predicted_value"]]


def new_customers(transactions: Transactions, *, seed: int = 0) -> NewCustomers:
    """Score today's new customers with the model learnt on every customer whose year the data covers."""
    table = first_orders(transactions)
    covered = table[table["observed"]]
    if len(covered) < MIN_TRAIN:
        raise ClvError(
            f"Value at first purchase needs {MIN_TRAIN:,} customers whose first {HORIZON_DAYS} days the data covers "
            f"to learn from; it has {len(covered):,}."
        )
    since = transactions.observation_end.normalize() - pd.Timedelta(days=NEW_DAYS)
    new = table[(table["first purchase"] > since) & (table["purchase days"] == 1)]
    if new.empty:
        raise ClvError(f"No customer made a first and only purchase in the last {NEW_DAYS} days of the data.")
    learnt = FirstValueModel(covered, seed=seed)
    out = new[[c for c in feature_names(new)] + ["first purchase"]].copy()
    out.insert(0, "customer_id", out.index)
    out.insert(1, "predicted_value", learnt.predict(new))  # what the list is ranked by, first
    out["first order lines"] = out["first order lines"].astype(int)
    out = out.sort_values("predicted_value", ascending=False, kind="stable").reset_index(drop=True)
    top = max(int(np.ceil(len(out) * HIGH_VALUE_SHARE)), 1)
    out["likely_high_value"] = np.arange(len(out)) < top
    return NewCustomers(out, len(covered), since)


def columns() -> dict[str, str]:
    """The meanings of the new-customer list's columns (for its downloads' assumptions)."""
    return {
        "customer_id": "customer identifier, as in the data",
        "first purchase": "the day of the customer's first and only purchase so far",
        "first order value": "what the first purchase day came to (currency)",
        "first order lines": "rows of the first purchase day",
        "weekday": "day of the week of the first purchase",
        "first product": "the product of the first purchase's first row",
        "predicted_value": f"predicted revenue in the {HORIZON_DAYS} days after the first purchase day, from what "
        "the first order says (currency)",
        "likely_high_value": f"in the top {HIGH_VALUE_SHARE:.0%} of new customers by predicted value",
    }
