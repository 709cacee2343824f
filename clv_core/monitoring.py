"""Forecasts watched over time: a rolling-origin backtest, drift between the latest two snapshots, and a monitoring
table with thresholds and a plain-language alert (the Model validation page; ``python -m clv_core monitor``).

* **Rolling origin.** Every ``every`` months back from the end of the data, the model is refitted on the purchases
  to that day (the origin) and scored on what the same customers did in the next ``every`` months: the holdout
  measures of :func:`clv_core.validation.score` per origin, oldest first. An origin needs a calibration period of
  at least twice ``every`` and six months; at most :data:`MAX_ORIGINS` of the latest are used.
* **Drift** between the latest two snapshots (the data to ``every`` months before the end, and to the end):
  predicted CLV at each, and the purchases of the period before each (purchase days per active customer, spend
  per purchase day, days between purchases: the RFM inputs measured per period, so a steady business shows
  none), by two-sample Kolmogorov–Smirnov tests; data quality in the last period against the one before (rows
  with a missing attribute or product, returns, zero amounts); value-group migration between the snapshots.
* **Checks**: the latest holdout MAE against the median of the earlier origins', the latest revenue error, the
  share of missing values in the last period, each KS p-value — each against a threshold the user sets (defaults
  from the brief: MAE more than 15 % over baseline, revenue error over 10 %, missing over 5 %, KS p under 0.05;
  a KS threshold of 0 turns the distribution checks off).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from clv_core import forecast, segments, validation
from clv_core.errors import ClvError
from clv_core.ingest import BLANK_ATTRIBUTE, Transactions
from clv_core.models import fit_purchases, fit_spend
from clv_core.runs import runs
from clv_core.summary import summarise

#: At most this many origins, the latest.
MAX_ORIGINS = 8
#: Shortest calibration period before an origin (months), besides twice the period.
MIN_CALIBRATION_MONTHS = 6
#: The holdout measures followed over time.
MEASURES = ("MAE (purchases)", "purchases % error", "revenue % error", "Spearman (spend)", "top-decile precision")
#: MAE over the mean actual purchases per customer: comparable between a busy quarter and a quiet one.
RELATIVE_MAE = "relative MAE"
#: Exit status of ``monitor`` when a check is outside its threshold.
ALERT_EXIT = 3
_EVERY = re.compile(r"^\s*(\d{1,2})\s*([mMyY])\s*$")


def parse_every(text: str) -> int:
    """Months between origins from "3M", "6m", "1Y" (1 to 24 months).

    >>> parse_every("3M"), parse_every(" 1y "), parse_every("12m")
    (3, 12, 12)
    """
    match = _EVERY.match(str(text))
    months = int(match.group(1)) * (12 if match.group(2).lower() == "y" else 1) if match else 0
    if not 1 <= months <= 24:
        raise ClvError(f"The period between origins must be 1M to 24M (or 1Y, 2Y), not {str(text)[:20]!r}.")
    return months


@dataclass(frozen=True)
class Thresholds:
    """When a check alerts: the latest origin's relative holdout MAE more than ``mae_increase`` above the earlier
    origins' median; the latest revenue error beyond ± ``revenue_error``; the share of rows with a missing value up
    by more than ``missing`` on the period before; a distribution that moved by a KS statistic of at least
    ``ks_statistic`` with a p-value under ``ks_p`` (with thousands of customers any move, however small, has a
    tiny p-value: the size of the move is what a scheduler should wake someone for)."""

    mae_increase: float = 0.15
    revenue_error: float = 0.10
    missing: float = 0.05
    ks_p: float = 0.05
    ks_statistic: float = 0.10

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if name == "ks_p":
                if not 0 <= value < 1:
                    raise ClvError(f"The KS p-value threshold must be from 0 (never alert) to below 1, not {value}.")
            elif name == "ks_statistic":
                if not 0 <= value <= 1:
                    raise ClvError(f"The KS statistic threshold must be from 0 to 1, not {value}.")
            elif not (np.isfinite(value) and 0 < value <= 10):
                raise ClvError(f"The threshold {name.replace('_', ' ')} must be a share above 0, not {value}.")


def origins(transactions: Transactions, every: int) -> list[pd.Timestamp]:
    """The origins, oldest first: the end of the data minus 1, 2, … × ``every`` months, each with a calibration
    period long enough before it (see the module's description)."""
    end = transactions.observation_end.normalize()
    first = transactions.data["date"].min().normalize()
    out = []
    for k in range(1, MAX_ORIGINS + 1):
        origin = end - pd.DateOffset(months=every * k)
        # a week's slack: month ends differ, and a history starting on 1 January has its first origin on 30 June
        if origin - pd.DateOffset(months=max(MIN_CALIBRATION_MONTHS, 2 * every)) < first - pd.Timedelta(days=7):
            break
        out.append(origin)
    if not out:
        raise ClvError(
            f"The history ({first.date()} to {end.date()}) is too short for a backtest every {every} months: "
            f"each origin needs {max(MIN_CALIBRATION_MONTHS, 2 * every)} months of purchases before it and "
            f"{every} after. "
            "Choose a shorter period."
        )
    return out[::-1]


def rolling_backtest(transactions: Transactions, model: str, every: int, *, time_unit: str = "weeks") -> pd.DataFrame:
    """One row per origin (oldest first): the origin, the end of its holdout, the customers scored, and the
    holdout measures (:data:`MEASURES`, with actual revenue); an origin whose fit fails keeps its row with the
    reason in ``note``."""
    rows = []
    for origin in origins(transactions, every):
        end = min(origin + pd.DateOffset(months=every), transactions.observation_end.normalize())
        row = {"origin": origin, "holdout_end": end}
        try:
            holdout = validation.split(transactions, calibration_end=origin, holdout_end=end, time_unit=time_unit)
            fit, spend = fit_purchases(holdout.summary, model), fit_spend(holdout.summary)
            predictions = validation.predict_holdout(fit, spend, holdout)
            scores = validation.score(holdout.actual, predictions)
        except ClvError as exc:
            rows.append(row | {"customers": 0, "note": str(exc)})
            continue
        mean_actual = float(holdout.actual["purchases"].mean())
        rows.append(
            row
            | {"customers": len(holdout.actual), "holdout actual revenue": scores["holdout actual revenue"]}
            | {m: scores[m] for m in MEASURES}
            | {RELATIVE_MAE: scores["MAE (purchases)"] / mean_actual if mean_actual > 0 else np.nan, "note": ""}
        )
    table = pd.DataFrame(rows)
    for column in ("holdout actual revenue", *MEASURES, RELATIVE_MAE):
        if column not in table:
            table[column] = np.nan
    if (table["note"] != "").all():
        raise ClvError("No origin of the rolling backtest could be scored: " + "; ".join(table["note"]))
    return table[["origin", "holdout_end", "customers", "holdout actual revenue", *MEASURES, RELATIVE_MAE, "note"]]


@dataclass(frozen=True)
class Drift:
    """Between the snapshots at ``date_a`` and ``date_b`` (and the periods ``start`` → ``date_a`` → ``date_b``):
    ``tests`` (measure, how many values at each, medians, KS statistic and p-value: predicted CLV at each
    snapshot, :data:`BEHAVIOUR` in each period), ``quality`` (the two periods' rows and shares of missing values,
    returns and zero amounts) and the value-group ``migration``."""

    start: pd.Timestamp
    date_a: pd.Timestamp
    date_b: pd.Timestamp
    tests: pd.DataFrame
    quality: pd.DataFrame
    migration: segments.Migration


#: The behaviour compared between the last two periods (each period's own purchases, so that a stationary
#: business shows no drift: days since the last purchase, by contrast, grows with every snapshot).
BEHAVIOUR = ("Purchase days per active customer", "Spend per purchase day", "Days between purchases")


def snapshot(transactions: Transactions, date, *, model: str, time_unit: str, economics) -> pd.DataFrame:
    """The scored customers as the scoring chain gave them on ``date`` (a refit on the data to that day): the
    summary's RFM inputs and each customer's CLV."""
    data = transactions.data
    upto = data[data["date"].dt.normalize() <= pd.Timestamp(date)]
    summary = summarise(upto, time_unit=time_unit, observation_end=date)
    scored = forecast.score_table(summary.table, fit_purchases(summary, model), fit_spend(summary), economics)
    return summary.table.merge(scored[["customer_id", "clv"]], on="customer_id")


def period_behaviour(transactions: Transactions, start, end) -> dict[str, np.ndarray]:
    """The purchases after ``start`` up to ``end``: each active customer's purchase days, each purchase day's
    spend, and the days between a customer's consecutive purchase days whose second falls in the period."""
    data = transactions.data
    r = runs(data)
    days = r.days
    low, high = (_day_number(d) for d in (start, end))
    inside = (days > low) & (days <= high)
    per_customer = np.bincount(r.customer_of_day[inside], minlength=r.customers)
    same = np.diff(r.customer_of_day) == 0
    gaps = np.diff(days)[same & inside[1:]]
    return {
        BEHAVIOUR[0]: per_customer[per_customer > 0].astype(float),
        BEHAVIOUR[1]: r.per_day(data["amount"].to_numpy(dtype=float))[inside],
        BEHAVIOUR[2]: gaps.astype(float),
    }


def _day_number(date) -> int:
    return int(pd.Timestamp(date).normalize().to_datetime64().astype("datetime64[D]").astype(np.int64))


def drift(transactions: Transactions, model: str, every: int, *, time_unit: str = "weeks", economics) -> Drift:
    """The latest two snapshots (``every`` months apart, the second at the end of the data) compared: predicted CLV
    at each, and the purchases of the period before each (:data:`BEHAVIOUR`)."""
    b = transactions.observation_end.normalize()
    a = b - pd.DateOffset(months=every)
    previous = a - pd.DateOffset(months=every)
    if previous < transactions.data["date"].min().normalize():
        raise ClvError(
            f"The history is shorter than two periods of {every} months: there is no earlier period to compare."
        )
    at_a = snapshot(transactions, a, model=model, time_unit=time_unit, economics=economics)
    at_b = snapshot(transactions, b, model=model, time_unit=time_unit, economics=economics)
    # predicted CLV of the customers of both snapshots (newcomers would move it whatever the others do)
    both = at_b[at_b["customer_id"].isin(set(at_a["customer_id"]))]
    samples = {"Predicted CLV": (at_a["clv"].to_numpy(dtype=float), both["clv"].to_numpy(dtype=float))}
    before, after = period_behaviour(transactions, previous, a), period_behaviour(transactions, a, b)
    samples |= {name: (before[name], after[name]) for name in BEHAVIOUR}
    tests = []
    for label, (x, y) in samples.items():
        statistic, p = stats.ks_2samp(x, y) if len(x) and len(y) else (np.nan, np.nan)
        tests.append(
            {
                "measure": label,
                "count_a": len(x),
                "count_b": len(y),
                "median_a": float(np.median(x)) if len(x) else np.nan,
                "median_b": float(np.median(y)) if len(y) else np.nan,
                "ks_statistic": float(statistic),
                "p_value": float(p),
            }
        )
    groups = {
        side: pd.Series(
            segments.value_groups(frame["clv"]).astype(str).to_numpy(), index=frame["customer_id"].to_numpy()
        )
        for side, frame in (("a", at_a), ("b", at_b))
    }
    moves = segments.migration_between(groups["a"], groups["b"], a, b)
    quality = pd.DataFrame(
        [period_quality(transactions, previous, a), period_quality(transactions, a, b)],
        index=pd.Index([f"{previous.date()} → {a.date()}", f"{a.date()} → {b.date()}"], name="period"),
    )
    return Drift(previous, a, b, pd.DataFrame(tests), quality, moves)


def period_quality(transactions: Transactions, start, end) -> dict:
    """Rows after ``start`` up to ``end``, and the shares of them with a missing attribute or product value, that
    are returns (negative amounts, kept by the returns setting) and that have a zero amount."""
    data = transactions.data
    day = data["date"].dt.normalize()
    rows = data[(day > pd.Timestamp(start)) & (day <= pd.Timestamp(end))]
    columns = [c for c in (*transactions.attributes, "product") if c in rows]
    n = len(rows)
    if columns and n:
        text = rows[columns].astype(str).apply(lambda s: s.str.strip())
        blank = rows[columns].isna() | text.isin(["", BLANK_ATTRIBUTE])
        missing = float(blank.any(axis=1).mean())
    else:
        missing = 0.0
    amount = rows["amount"].to_numpy(dtype=float)
    return {
        "rows": n,
        "missing": missing,
        "returns": float((amount < 0).mean()) if n else 0.0,
        "zero_amounts": float((amount == 0).mean()) if n else 0.0,
    }


@dataclass(frozen=True)
class Monitoring:
    """The rolling backtest, the drift between the latest snapshots, and ``checks`` (check, value, threshold,
    alert) under ``thresholds``; :attr:`alerts` the checks outside theirs and :meth:`message` it in words."""

    model: str
    every: int
    rolling: pd.DataFrame
    drift: Drift
    checks: pd.DataFrame
    thresholds: Thresholds
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def alerts(self) -> pd.DataFrame:
        return self.checks[self.checks["alert"]]

    @property
    def exit_code(self) -> int:
        return ALERT_EXIT if len(self.alerts) else 0

    def message(self) -> str:
        checks = len(self.checks)
        if not len(self.alerts):
            return f"All {checks} checks are within their thresholds."
        said = "; ".join(self.alerts["says"])
        return f"{len(self.alerts)} of {checks} checks are outside their thresholds: {said}."

    def to_dict(self) -> dict:
        def records(frame: pd.DataFrame) -> list[dict]:
            out = frame.copy()
            for column in out.columns:
                if pd.api.types.is_datetime64_any_dtype(out[column]):
                    out[column] = out[column].dt.strftime("%Y-%m-%d")
            return out.to_dict("records")

        return {
            "model": self.model,
            "every_months": self.every,
            "status": "alert" if len(self.alerts) else "ok",
            "message": self.message(),
            "thresholds": asdict(self.thresholds),
            "checks": records(self.checks),
            "rolling_backtest": records(self.rolling),
            "drift": {
                "snapshots": [str(self.drift.date_a.date()), str(self.drift.date_b.date())],
                "distributions": records(self.drift.tests),
                "data_quality": records(self.drift.quality.reset_index()),
                "migration": {
                    str(a): {str(b): int(n) for b, n in row.items()}
                    for a, row in self.drift.migration.matrix.iterrows()
                },
            },
            "notes": list(self.notes),
        }


def monitor(
    transactions: Transactions,
    model: str,
    every: int = 3,
    *,
    thresholds: Thresholds | None = None,
    time_unit: str = "weeks",
    economics,
) -> Monitoring:
    """The rolling backtest, the drift and the checks of :class:`Monitoring`."""
    return assess(watch(transactions, model, every, time_unit=time_unit, economics=economics), thresholds)


@dataclass(frozen=True)
class Watched:
    """The rolling backtest and the drift: the work, done once whatever the thresholds."""

    model: str
    every: int
    rolling: pd.DataFrame
    drift: Drift


def watch(transactions: Transactions, model: str, every: int = 3, *, time_unit: str = "weeks", economics) -> Watched:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rolling = rolling_backtest(transactions, model, every, time_unit=time_unit)
        moved = drift(transactions, model, every, time_unit=time_unit, economics=economics)
    return Watched(model, every, rolling, moved)


def assess(watched: Watched, thresholds: Thresholds | None = None) -> Monitoring:
    """The checks of ``watched`` under ``thresholds`` (arithmetic: a threshold moved on the page refits nothing)."""
    thresholds = thresholds or Thresholds()
    rolling, moved = watched.rolling, watched.drift
    found = checks(rolling, moved, thresholds)
    return Monitoring(watched.model, watched.every, rolling, moved, found, thresholds, _notes(rolling))


def checks(rolling: pd.DataFrame, moved: Drift, thresholds: Thresholds) -> pd.DataFrame:
    """Each check's value, its threshold, whether it alerts and what it says (:class:`Monitoring`)."""
    rows = []
    last_origin = rolling.iloc[-1]
    if last_origin["note"]:
        rows.append(
            _check(
                "Refit at the latest origin",
                np.nan,
                np.nan,
                True,
                f"the refit at the latest origin, {last_origin['origin'].date()}, failed: {last_origin['note']}",
                "scored or not",
            )
        )
    scored = rolling[rolling["note"] == ""]
    if len(scored) == 1:
        rows.append(
            _check(
                "Holdout error against earlier origins",
                np.nan,
                thresholds.mae_increase,
                False,
                "the holdout error is not compared: one origin only, none earlier (choose a shorter period)",
                "rise over the median relative MAE",
            )
        )
    if len(scored) >= 2:
        latest = scored.iloc[-1]
        baseline = float(scored[RELATIVE_MAE].iloc[:-1].median())
        rise = float(latest[RELATIVE_MAE] / baseline - 1) if baseline > 0 else np.nan
        rows.append(
            _check(
                "Holdout error against earlier origins",
                rise,
                thresholds.mae_increase,
                bool(rise > thresholds.mae_increase),
                f"the holdout error from {latest['origin'].date()} (MAE over mean purchases per customer) is "
                f"{_pct(abs(rise))} {'above' if rise >= 0 else 'below'} the median of the earlier origins "
                f"(alert above {_pct(thresholds.mae_increase)})",
                "rise over the median relative MAE",
            )
        )
    if len(scored):
        latest = scored.iloc[-1]
        error = float(latest["revenue % error"])
        rows.append(
            _check(
                "Revenue error at the latest origin",
                error,
                thresholds.revenue_error,
                bool(abs(error) > thresholds.revenue_error),
                f"revenue from {latest['origin'].date()} was {'over' if error > 0 else 'under'}-predicted by "
                f"{_pct(abs(error))} (alert beyond ±{_pct(thresholds.revenue_error)})",
                "predicted ÷ actual − 1",
            )
        )
    before, last = moved.quality.iloc[0], moved.quality.iloc[-1]
    rise = float(last["missing"] - before["missing"])
    rows.append(
        _check(
            "Missing values: rise on the period before",
            rise,
            thresholds.missing,
            bool(rise > thresholds.missing),
            f"{_pct(last['missing'])} of the last period's rows miss an attribute or product, against "
            f"{_pct(before['missing'])} in the period before (alert on a rise above {_pct(thresholds.missing)})",
            "change in the share of rows",
        )
    )
    for _, test in moved.tests.iterrows():
        p, d = float(test["p_value"]), float(test["ks_statistic"])
        if not np.isfinite(p) or thresholds.ks_p == 0:
            why = "the distribution checks are off" if thresholds.ks_p == 0 else "no values"
            says = f"{_lower(test['measure'])} not tested: {why} {_between(test['measure'], moved)}"
            rows.append(
                _check(f"{test['measure']}: distribution", np.nan, thresholds.ks_p, False, says, "KS statistic")
            )
            continue
        moved_ = p < thresholds.ks_p and d >= thresholds.ks_statistic
        rows.append(
            _check(
                f"{test['measure']}: distribution",
                d,
                thresholds.ks_statistic,
                moved_,
                f"the distribution of {_lower(test['measure'])} {'moved' if moved_ else 'held'} "
                f"{_between(test['measure'], moved)} "
                f"(median {_number(test['median_a'])} → {_number(test['median_b'])}; KS statistic {d:.3f}, "
                f"p {_p(p)})",
                "KS statistic",
            )
        )
    return pd.DataFrame(rows)


def _check(name, value, threshold, alert, says, unit) -> dict:
    return {"check": name, "value": value, "threshold": threshold, "unit": unit, "alert": bool(alert), "says": says}


def _notes(rolling: pd.DataFrame) -> tuple[str, ...]:
    failed = rolling[rolling["note"] != ""]
    return tuple(f"Origin {row.origin.date()}: {row.note}" for row in failed.itertuples())


def _between(measure: str, moved: Drift) -> str:
    if measure in BEHAVIOUR:
        return f"from {moved.start.date()} → {moved.date_a.date()} to {moved.date_a.date()} → {moved.date_b.date()}"
    return f"between {moved.date_a.date()} and {moved.date_b.date()}"


def _lower(label: str) -> str:
    """ "Predicted CLV" → "predicted CLV": the first letter lowered unless the word is an acronym."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _pct(share: float) -> str:
    return f"{share * 100:,.1f} %" if np.isfinite(share) else "not measurable"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"
