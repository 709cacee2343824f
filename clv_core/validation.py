"""Backtests: fit on a calibration period, predict the holdout period, and compare with what happened.

Customers are those who bought on or before the calibration end. Holdout purchases are counted as lifetimes
counts them (``calibration_and_holdout_data``): distinct purchase days in (calibration end, holdout end];
holdout spend is the revenue in that window. Every model is scored on the same customers with the same metrics.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from clv_core.errors import ClvError
from clv_core.ingest import Transactions
from clv_core.models import MODEL_LABELS, PURCHASE_MODELS, FitResult, expected_order_values, fit_purchases, fit_spend
from clv_core.runs import day_numbers, runs
from clv_core.summary import TIME_UNITS, CustomerSummary, summarise

ML_LABEL = "ML challenger (gradient boosting)"


# --- metrics ------------------------------------------------------------------------------------------------


def mae(actual, predicted) -> float:
    return float(np.mean(np.abs(np.asarray(actual, float) - np.asarray(predicted, float))))


def rmse(actual, predicted) -> float:
    return float(np.sqrt(np.mean((np.asarray(actual, float) - np.asarray(predicted, float)) ** 2)))


def spearman(actual, predicted) -> float:
    """Rank correlation (1: same order, −1: reversed). NaN when either side is constant.

    >>> spearman([1, 2, 3, 4], [10, 20, 30, 40]), spearman([1, 2, 3, 4], [4, 3, 2, 1])
    (1.0, -1.0)
    """
    a, p = np.asarray(actual, float), np.asarray(predicted, float)
    if np.ptp(a) == 0 or np.ptp(p) == 0:
        return float("nan")
    return float(stats.spearmanr(a, p).statistic)


def top_decile(actual, predicted, *, share: float = 0.10) -> tuple[float, float]:
    """Precision and recall of the predicted top ``share`` at finding the actual top ``share`` (ties broken by
    position). With equal list sizes they coincide unless the actual top has ties at zero."""
    a, p = np.asarray(actual, float), np.asarray(predicted, float)
    k = max(int(np.ceil(len(a) * share)), 1)
    predicted_top = set(np.argsort(-p, kind="stable")[:k])
    actual_top = set(np.argsort(-a, kind="stable")[:k]) if (a > 0).sum() >= k else set(np.flatnonzero(a > 0))
    if not actual_top:
        return float("nan"), float("nan")
    hits = len(predicted_top & actual_top)
    return hits / len(predicted_top), hits / len(actual_top)


def normalized_gini(actual, predicted) -> float:
    """Gini of actual values ordered by prediction over the Gini of the ideal order: 1 perfect, 0 random,
    negative when the order is reversed.

    >>> actual = [0, 0, 1, 5]
    >>> round(normalized_gini(actual, [0.1, 0.2, 0.3, 0.9]), 6), round(normalized_gini(actual, [0.9, 0.8, 0.3, 0.1]), 6)
    (1.0, -1.0)
    """
    a, p = np.asarray(actual, float), np.asarray(predicted, float)

    def gini(order_by: np.ndarray) -> float:
        order = np.argsort(-order_by, kind="stable")
        cumulative = np.cumsum(a[order]) / a.sum()
        return float(cumulative.sum() / len(a) - (len(a) + 1) / (2 * len(a)))

    if a.sum() == 0:
        return float("nan")
    return gini(p) / gini(a)


# --- backtest -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Holdout:
    """Calibration summary and holdout outcomes for the same customers.

    ``actual`` columns: ``customer_id``, ``purchases`` (distinct purchase days in the holdout), ``spend``
    (holdout revenue); ``duration`` is the holdout length in ``summary.time_unit``.
    """

    summary: CustomerSummary
    actual: pd.DataFrame
    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp
    duration: float


def split(transactions: Transactions, *, calibration_end, holdout_end=None, time_unit: str = "weeks") -> Holdout:
    """Calibration summary to ``calibration_end`` and holdout outcomes to ``holdout_end`` (default: data end).

    The calibration customers are those who bought by the calibration end: the summary of the data cut there. Their
    holdout purchases are the distinct days they bought on after it, up to the holdout end, and their spend what
    those purchases came to. The data is in customer order, so both come from its customer and day runs, without
    grouping by id."""
    data = transactions.data
    cal_end = pd.Timestamp(calibration_end).normalize()
    end = pd.Timestamp(holdout_end).normalize() if holdout_end is not None else transactions.observation_end
    if not data["date"].min() < cal_end < end:
        raise ClvError(
            f"The calibration end {cal_end.date()} must fall after the first purchase "
            f"({data['date'].min().date()}) and before the holdout end ({end.date()})."
        )
    summary = summarise(transactions, time_unit=time_unit, observation_end=cal_end)
    day = day_numbers(data["date"])
    r = runs(data, day)
    cal_day, end_day = (int(d.to_datetime64().astype("datetime64[D]").astype(np.int64)) for d in (cal_end, end))
    cohort = r.first_day <= cal_day  # each customer: bought by the calibration end (in the summary, in this order)
    in_window = (day > cal_day) & (day <= end_day)
    days = r.days
    purchases = np.bincount(r.customer_of_day, weights=(days > cal_day) & (days <= end_day), minlength=r.customers)
    spend = np.bincount(r.customer_of_row[in_window], weights=data["amount"].to_numpy(dtype=float)[in_window])
    spend = np.append(spend, np.zeros(r.customers - len(spend)))
    actual = pd.DataFrame(
        {
            "customer_id": summary.table["customer_id"].to_numpy(),
            "purchases": purchases[cohort],
            "spend": spend[cohort],
        }
    )
    duration = (end - cal_end).days / TIME_UNITS[time_unit]
    return Holdout(summary, actual, cal_end, end, duration)


@dataclass(frozen=True)
class ModelBacktest:
    """One model's holdout predictions (``purchases``, ``spend``, ``p_alive`` per customer) and its fit."""

    name: str
    predictions: pd.DataFrame
    fit: FitResult | None = None
    feature_importance: pd.Series | None = None


@dataclass(frozen=True)
class Backtest:
    holdout: Holdout
    models: tuple[ModelBacktest, ...]
    metrics: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def best(self) -> str:
        """The probabilistic model with the lowest holdout MAE on purchases."""
        return self.ranking[0]

    @property
    def ranking(self) -> tuple[str, ...]:
        """The probabilistic models fitted on the calibration period, most accurate (lowest holdout MAE on
        purchases) first; ties keep the registry's order."""
        probabilistic = self.metrics[self.metrics.index.isin([MODEL_LABELS[m] for m in PURCHASE_MODELS])]
        return tuple(probabilistic["MAE (purchases)"].sort_values(kind="stable").index.astype(str))


def predict_holdout(fit: FitResult, spend: FitResult, holdout: Holdout) -> pd.DataFrame:
    """Expected holdout purchases (conditional on calibration behaviour), spend = purchases × Gamma–Gamma value."""
    t = holdout.summary.table
    f, r, T = (t[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        purchases = fit.expected_purchases(holdout.duration, f, r, T)
        alive = fit.probability_alive(f, r, T)
        value = expected_order_values(spend, f, t["monetary_value"])
    return pd.DataFrame({"purchases": purchases, "spend": purchases * value, "p_alive": alive})


#: Each metric's label in tables and its key in the CLI's JSON.
METRIC_KEYS = {
    "holdout actual purchases": "holdout_actual_purchases",
    "holdout predicted purchases": "holdout_predicted_purchases",
    "purchases % error": "purchases_pct_error",
    "holdout actual revenue": "holdout_actual_revenue",
    "holdout predicted revenue": "holdout_predicted_revenue",
    "revenue % error": "revenue_pct_error",
    "MAE (purchases)": "mae",
    "RMSE (purchases)": "rmse",
    "MAE (spend)": "mae_spend",
    "Spearman (spend)": "spearman",
    "top-decile precision": "top_decile_precision",
    "top-decile recall": "top_decile_recall",
    "normalized Gini": "normalized_gini",
}


def score(actual: pd.DataFrame, predictions: pd.DataFrame) -> dict:
    """Every metric in ``METRIC_KEYS`` for one model's holdout predictions."""
    precision, recall = top_decile(actual["spend"], predictions["spend"])
    total = actual["purchases"].sum()
    revenue = actual["spend"].sum()
    return {
        "holdout actual purchases": float(total),
        "holdout predicted purchases": float(predictions["purchases"].sum()),
        "purchases % error": float(predictions["purchases"].sum() / total - 1) if total else np.nan,
        "holdout actual revenue": float(revenue),
        "holdout predicted revenue": float(predictions["spend"].sum()),
        "revenue % error": float(predictions["spend"].sum() / revenue - 1) if revenue else np.nan,
        "MAE (purchases)": mae(actual["purchases"], predictions["purchases"]),
        "RMSE (purchases)": rmse(actual["purchases"], predictions["purchases"]),
        "MAE (spend)": mae(actual["spend"], predictions["spend"]),
        "Spearman (spend)": spearman(actual["spend"], predictions["spend"]),
        "top-decile precision": precision,
        "top-decile recall": recall,
        "normalized Gini": normalized_gini(actual["spend"], predictions["spend"]),
    }


def backtest(
    transactions: Transactions,
    *,
    calibration_end,
    holdout_end=None,
    time_unit: str = "weeks",
    challenger: bool = True,
    seed: int = 0,
) -> Backtest:
    """Refit every purchase model (and Gamma–Gamma) on the calibration period and score it on the holdout;
    optionally the ML challenger, on the same customers."""
    holdout = split(transactions, calibration_end=calibration_end, holdout_end=holdout_end, time_unit=time_unit)
    spend = fit_spend(holdout.summary)
    results, notes = [], []
    for model in PURCHASE_MODELS:
        try:
            fit = fit_purchases(holdout.summary, model)
        except ClvError as exc:
            notes.append(f"{MODEL_LABELS[model]}: {exc}")
            continue
        results.append(ModelBacktest(MODEL_LABELS[model], predict_holdout(fit, spend, holdout), fit=fit))
    if not results:
        raise ClvError("No model could be fitted on the calibration period: " + " ".join(notes))
    metrics = pd.DataFrame({r.name: score(holdout.actual, r.predictions) for r in results}).T.rename_axis("model")
    tested = Backtest(holdout, tuple(results), metrics, tuple(notes))
    return with_challenger(tested, transactions, seed=seed) if challenger else tested


def per_customer(result: Backtest) -> pd.DataFrame:
    """Each customer's holdout outcome beside every model's prediction for it: ``customer_id``,
    ``actual_purchases`` (distinct purchase days in the holdout), ``actual_spend``, then per model
    ``<key>_purchases``, ``<key>_spend`` and ``<key>_p_alive``, the key as ``--model`` names it (bgnbd, paretonbd,
    mbgnbd) or ``ml_challenger``."""
    actual = result.holdout.actual
    out = pd.DataFrame(
        {
            "customer_id": actual["customer_id"].to_numpy(),
            "actual_purchases": actual["purchases"].to_numpy(),
            "actual_spend": actual["spend"].to_numpy(),
        }
    )
    keys = {label: key for key, label in MODEL_LABELS.items()} | {ML_LABEL: "ml_challenger"}
    for model in result.models:
        for column in ("purchases", "spend", "p_alive"):
            out[f"{keys[model.name]}_{column}"] = model.predictions[column].to_numpy()
    return out


def with_challenger(tested: Backtest, transactions: Transactions, *, seed: int = 0) -> Backtest:
    """``tested`` with the ML challenger trained and scored on the same customers and holdout (the probabilistic
    models are not refitted)."""
    from clv_core.challenger import challenger_predictions

    predictions, importance = challenger_predictions(transactions, tested.holdout, seed=seed)
    row = pd.DataFrame({ML_LABEL: score(tested.holdout.actual, predictions)}).T.rename_axis("model")
    return Backtest(
        tested.holdout,
        (*tested.models, ModelBacktest(ML_LABEL, predictions, feature_importance=importance)),
        pd.concat([tested.metrics, row]),
        tested.notes,
    )


def tracking(fit: FitResult, transactions: Transactions, holdout: Holdout) -> pd.DataFrame:
    """Cumulative repeat purchases (distinct purchase days after each customer's first) by week, actual vs the
    model's expectation for customers born at their first purchase days (the Fader–Hardie tracking plot)."""
    data = transactions.data
    ids = set(holdout.summary.table["customer_id"])
    rows = data[data["customer_id"].isin(ids) & (data["date"].dt.normalize() <= holdout.holdout_end)]
    days = rows.assign(day=rows["date"].dt.normalize())[["customer_id", "day"]].drop_duplicates()
    first = days.groupby("customer_id")["day"].transform("min")
    repeat_days = days.loc[days["day"] > first, "day"]
    start = days["day"].min()
    weeks = pd.date_range(start + pd.Timedelta(days=7), holdout.holdout_end + pd.Timedelta(days=7), freq="7D")
    actual = np.array([(repeat_days < w).sum() for w in weeks], dtype=float)
    births, counts = np.unique(days.groupby("customer_id")["day"].min().to_numpy(), return_counts=True)
    purchase = fit.fitter()
    unit = pd.Timedelta(days=TIME_UNITS[fit.time_unit])
    predicted = np.zeros(len(weeks))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for i, w in enumerate(weeks):
            ages = np.asarray((w - pd.to_datetime(births)) / unit, dtype=float)
            ok = ages > 0
            if ok.any():
                predicted[i] = float(
                    np.sum(np.asarray(purchase.expected_number_of_purchases_up_to_time(ages[ok])) * counts[ok])
                )
    return pd.DataFrame({"week ending": weeks - pd.Timedelta(days=1), "actual": actual, "predicted": predicted})


def conditional_by_frequency(holdout: Holdout, predictions: pd.DataFrame, *, max_frequency: int = 7) -> pd.DataFrame:
    """Mean holdout purchases by calibration repeat purchases (last bucket "7+"), actual vs predicted."""
    f = np.minimum(holdout.summary.table["frequency"].to_numpy(int), max_frequency)
    labels = [str(i) for i in range(max_frequency)] + [f"{max_frequency}+"]
    frame = pd.DataFrame(
        {
            "calibration repeat purchases": np.array(labels)[f],
            "actual": holdout.actual["purchases"].to_numpy(),
            "predicted": predictions["purchases"].to_numpy(),
        }
    )
    out = frame.groupby("calibration repeat purchases").agg(
        customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")
    )
    return out.reindex([label for label in labels if label in out.index])


def p_alive_calibration(holdout: Holdout, predictions: pd.DataFrame, *, bins: int = 10) -> pd.DataFrame:
    """Predicted P(alive) in deciles vs the observed share who bought again in the holdout."""
    frame = pd.DataFrame(
        {"p_alive": predictions["p_alive"].to_numpy(), "bought": (holdout.actual["purchases"] > 0).to_numpy()}
    )
    frame["bin"] = pd.qcut(frame["p_alive"].rank(method="first"), bins, labels=False)
    return frame.groupby("bin").agg(
        predicted=("p_alive", "mean"), observed=("bought", "mean"), customers=("bought", "size")
    )


def default_calibration_end(transactions: Transactions) -> pd.Timestamp:
    """Two thirds of the way through the history (the last third is held out)."""
    first, last = transactions.data["date"].min().normalize(), transactions.observation_end
    return first + (last - first) * 2 / 3


def verdict(result: Backtest) -> str:
    """What an executive can read: which model predicted customers best (lowest per-customer MAE), how close its
    total came, and how well it ranked them."""
    best = result.metrics.loc[result.best]
    direction = "over" if best["purchases % error"] > 0 else "under"
    predicted, actual = best["holdout predicted purchases"], best["holdout actual purchases"]
    error, gini, mae_ = abs(best["purchases % error"]), best["normalized Gini"], best["MAE (purchases)"]
    return (
        f"{result.best} predicted individual customers best (mean absolute error {mae_:.3f} purchases per customer). "
        f"In total it predicted {predicted:,.0f} repeat purchases against {actual:,.0f} that happened "
        f"({error:.0%} {direction}), and it ranked customers by future spend with a normalized Gini of {gini:.2f} "
        "(1 is perfect, 0 is random)."
    )


def scorecard(result: Backtest) -> str:
    """One sentence an executive can read: which model predicted best on the holdout, and how accurate it was.

    The best model is the probabilistic one with the lowest mean absolute error per customer (:attr:`Backtest.best`).
    """
    h, best = result.holdout, result.metrics.loc[result.best]
    direction = "over" if best["purchases % error"] > 0 else "under"
    return (
        f"Tested on {h.calibration_end.date()} → {h.holdout_end.date()}, {result.best} predicted best among "
        f"{', '.join(m.name for m in result.models if m.fit is not None)}: off by "
        f"{best['MAE (purchases)']:.2f} repeat purchases per customer on average, and "
        f"{abs(best['purchases % error']):.0%} {direction} in total."
    )


def spend_by_decile(holdout: Holdout, predictions: pd.DataFrame, *, bins: int = 10) -> pd.DataFrame:
    """Customers in deciles of predicted holdout spend (1 = lowest): mean predicted vs mean actual spend."""
    frame = pd.DataFrame({"predicted": predictions["spend"].to_numpy(), "actual": holdout.actual["spend"].to_numpy()})
    frame["decile"] = pd.qcut(frame["predicted"].rank(method="first"), bins, labels=False) + 1
    return frame.groupby("decile").agg(
        predicted=("predicted", "mean"), actual=("actual", "mean"), customers=("actual", "size")
    )


# --- a blend of the best model and the ML challenger ----------------------------------------------------------

#: The blend's weights on the purchase model tried: 0 %, 5 %, …, 100 %.
BLEND_WEIGHTS = np.linspace(0.0, 1.0, 21)


@dataclass(frozen=True)
class Blend:
    """``weight`` × the purchase model ``model`` + (1 − weight) × the ML challenger, both the model and the weight
    chosen on the calibration period alone (an inner backtest that ends at the calibration end); its holdout
    predictions and metrics; whether it beats both on the holdout's MAE on spend; the sentence that says so."""

    model: str
    weight: float
    inner_end: pd.Timestamp
    predictions: pd.DataFrame
    metrics: dict
    beats_both: bool
    sentence: str

    @property
    def label(self) -> str:
        return f"Blend: {self.weight:.0%} {self.model} + {1 - self.weight:.0%} ML challenger"


def blend(tested: Backtest, transactions: Transactions, *, seed: int = 0) -> Blend:
    """Blend the purchase model and the ML challenger with weights fitted without the holdout.

    The calibration period is split again, two thirds and one third (the default split, inside it): every model and
    the challenger are refitted on the first part and scored on the second, the most accurate model there (MAE on
    purchases) is the one blended, and the weight is the one whose blend has the lowest MAE on spend there. The
    blend is then applied to the holdout predictions of ``tested`` and scored like the others: the holdout never
    chose anything about it.
    """
    challenger = next((m for m in tested.models if m.name == ML_LABEL), None)
    if challenger is None:
        raise ClvError("The blend needs the ML challenger, which was not trained on this backtest.")
    cal_end = tested.holdout.calibration_end
    first = transactions.data["date"].min().normalize()
    inner_end = (first + (cal_end - first) * 2 / 3).normalize()
    try:
        inner = backtest(
            transactions,
            calibration_end=inner_end,
            holdout_end=cal_end,
            time_unit=tested.holdout.summary.time_unit,
            challenger=True,
            seed=seed,
        )
    except ClvError as exc:
        raise ClvError(f"The calibration period is too short to weigh a blend on it ({exc})") from None
    model = inner.best
    inner_model = next(m for m in inner.models if m.name == model).predictions
    inner_ml = next(m for m in inner.models if m.name == ML_LABEL).predictions
    actual = inner.holdout.actual["spend"].to_numpy(dtype=float)
    errors = [mae(actual, w * inner_model["spend"] + (1 - w) * inner_ml["spend"]) for w in BLEND_WEIGHTS]
    weight = float(BLEND_WEIGHTS[int(np.argmin(errors))])
    outer = next((m for m in tested.models if m.name == model), None)
    if outer is None:
        raise ClvError(f"{model}, the best model on the calibration period, could not be fitted for this holdout.")
    columns = ["purchases", "spend", "p_alive"]
    predictions = weight * outer.predictions[columns] + (1 - weight) * challenger.predictions[columns].to_numpy()
    metrics = score(tested.holdout.actual, predictions)
    rivals = tested.metrics.loc[[model, ML_LABEL], "MAE (spend)"]
    beats = bool(metrics["MAE (spend)"] < rivals.min())
    weighted = f"weighted on the calibration period alone (fitted to {inner_end.date()}, scored {inner_end.date()} "
    weighted += f"→ {cal_end.date()})"
    if weight in (0.0, 1.0):
        alone = model if weight == 1.0 else "the ML challenger"
        sentence = (
            f"No blend: {weighted}, the mix of {model} and the ML challenger with the lowest error on spend is "
            f"{alone} alone, so blending adds nothing."
        )
    else:
        sentence = (
            f"A blend of {weight:.0%} {model} and {1 - weight:.0%} ML challenger, {weighted}, "
            + ("beats both" if beats else "does not beat both")
            + f" on the holdout's mean absolute error on spend, the measure it was weighted on: "
            f"{metrics['MAE (spend)']:,.2f} against {rivals[model]:,.2f} ({model}) and {rivals[ML_LABEL]:,.2f} (ML "
            "challenger), in the data's currency. The table gives the other measures."
        )
    beats = beats and 0.0 < weight < 1.0
    return Blend(model, weight, inner_end, predictions, metrics, beats, sentence)
