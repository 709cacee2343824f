"""Backtests: lifetimes as the oracle for the holdout prediction, and metrics on cases known by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter
from lifetimes.utils import calibration_and_holdout_data

from clv_core.errors import ClvError
from clv_core.models import fit_purchases, fit_spend
from clv_core.samples import sample_bytes
from clv_core.validation import (
    ML_LABEL,
    backtest,
    conditional_by_frequency,
    mae,
    normalized_gini,
    p_alive_calibration,
    predict_holdout,
    rmse,
    scorecard,
    spearman,
    spend_by_decile,
    split,
    top_decile,
    tracking,
)
from tests.conftest import load


@pytest.fixture(scope="module")
def cdnow():
    data, name = sample_bytes("cdnow_sample")
    return load(data, name)


def test_bgnbd_holdout_prediction_equals_lifetimes(cdnow):
    holdout = split(cdnow, calibration_end="1997-09-30", holdout_end="1998-06-30", time_unit="weeks")
    theirs = calibration_and_holdout_data(
        cdnow.data,
        "customer_id",
        "date",
        calibration_period_end="1997-09-30",
        observation_period_end="1998-06-30",
        freq="D",
        freq_multiplier=7,
    ).loc[holdout.summary.table["customer_id"]]
    assert holdout.duration == pytest.approx(theirs["duration_holdout"].iloc[0])
    np.testing.assert_array_equal(holdout.actual["purchases"].to_numpy(), theirs["frequency_holdout"].to_numpy())
    bgf = BetaGeoFitter().fit(theirs["frequency_cal"], theirs["recency_cal"], theirs["T_cal"])
    expected = bgf.conditional_expected_number_of_purchases_up_to_time(
        theirs["duration_holdout"], theirs["frequency_cal"], theirs["recency_cal"], theirs["T_cal"]
    )
    ours = predict_holdout(fit_purchases(holdout.summary, "bgnbd"), fit_spend(holdout.summary), holdout)
    np.testing.assert_allclose(ours["purchases"].to_numpy(), expected.to_numpy(), rtol=1e-5)


def _split_by_grouping(tx, cal_end, end, time_unit):
    """The holdout split written the plain way: group the rows by customer id."""
    data = tx.data
    day = data["date"].dt.normalize()
    first = day.groupby(data["customer_id"]).transform("min")
    cohort = data[(first <= cal_end).to_numpy()]
    calibration = cohort[day[cohort.index] <= cal_end]
    window = cohort[(day[cohort.index] > cal_end) & (day[cohort.index] <= end)]
    grouped = window.assign(day=day[window.index]).groupby("customer_id")
    return calibration, grouped["day"].nunique(), grouped["amount"].sum()


@pytest.mark.parametrize("cut", ["1997-02-15", "1997-09-30", "1998-03-01"])
def test_holdout_outcomes_from_runs_equal_grouping_by_customer(cut):
    """Several purchases a day, customers who start after the cut, text ids that do not sort as numbers."""
    rng = np.random.default_rng(7)
    n, names = 4_000, np.array([f"c{i}" for i in range(300)] + [str(i) for i in range(5, 400, 7)])
    who = rng.integers(0, len(names), n)
    start, life = rng.integers(0, 400, len(names)), rng.integers(1, 300, len(names))  # some leave before the cut
    days = start[who] + rng.integers(0, life[who])
    tx = load(
        pd.DataFrame(
            {
                "customer_id": names[who],
                "date": pd.Timestamp("1997-01-01")
                + pd.to_timedelta(days, unit="D")
                + pd.to_timedelta(rng.integers(0, 3, n), unit="h"),
                "amount": rng.gamma(2.0, 20.0, n).round(2),
            }
        )
        .to_csv(index=False)
        .encode(),
        "shop.csv",
    )
    cal_end, end = pd.Timestamp(cut), pd.Timestamp("1998-06-01")
    holdout = split(tx, calibration_end=cal_end, holdout_end=end, time_unit="days")
    calibration, purchases, spend = _split_by_grouping(tx, cal_end, end, "days")
    ids = holdout.summary.table["customer_id"]
    assert sorted(ids) == sorted(calibration["customer_id"].unique())
    np.testing.assert_array_equal(holdout.actual["customer_id"], ids)
    np.testing.assert_array_equal(holdout.actual["purchases"], purchases.reindex(ids).fillna(0).to_numpy())
    np.testing.assert_allclose(holdout.actual["spend"], spend.reindex(ids).fillna(0).to_numpy(), rtol=1e-12)
    assert holdout.actual["purchases"].gt(0).any() and holdout.actual["purchases"].eq(0).any()
    by_hand = calibration.groupby("customer_id")["date"].agg(lambda d: d.dt.normalize().nunique() - 1)
    np.testing.assert_array_equal(holdout.summary.table["frequency"], by_hand.reindex(ids).to_numpy())


def test_perfect_and_reversed_rankings():
    actual = [0.5, 1, 2, 3, 8]
    assert spearman(actual, [0.1, 0.2, 0.3, 0.4, 0.9]) == pytest.approx(1.0)
    assert normalized_gini(actual, [0.1, 0.2, 0.3, 0.4, 0.9]) == pytest.approx(1.0)
    assert spearman(actual, [0.9, 0.8, 0.7, 0.6, 0.1]) == pytest.approx(-1.0)
    assert normalized_gini(actual, [0.9, 0.8, 0.7, 0.6, 0.1]) == pytest.approx(-1.0)
    assert spearman([0, 0, 1, 3, 8], [0.1, 0.2, 0.3, 0.4, 0.9]) < 1  # ties in the actual values
    assert np.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_error_metrics_and_top_decile_by_hand():
    assert mae([1, 2, 3], [2, 2, 5]) == pytest.approx(1.0)
    assert rmse([0, 0], [3, 4]) == pytest.approx(np.sqrt(12.5))
    actual = np.arange(20, dtype=float)  # top 10 % = the two largest, indices 18 and 19
    assert top_decile(actual, actual) == (1.0, 1.0)
    predicted = actual.copy()
    predicted[19] = -1  # one of the two misses the predicted top
    assert top_decile(actual, predicted) == (0.5, 0.5)


def test_backtest_scores_every_model_on_the_same_customers(cdnow):
    result = backtest(cdnow, calibration_end="1997-09-30", holdout_end="1998-06-30")
    assert list(result.metrics.index) == ["BG/NBD", "Pareto/NBD", "MBG/NBD", ML_LABEL]
    assert (result.metrics["holdout actual purchases"] == result.holdout.actual["purchases"].sum()).all()
    assert result.metrics["holdout actual revenue"].iloc[0] == pytest.approx(result.holdout.actual["spend"].sum())
    ratio = result.metrics["holdout predicted revenue"] / result.metrics["holdout actual revenue"] - 1
    np.testing.assert_allclose(ratio, result.metrics["revenue % error"])
    assert all(len(m.predictions) == len(result.holdout.actual) == 2357 for m in result.models)
    assert result.metrics["normalized Gini"].between(0.3, 1).all()
    assert result.best in ("BG/NBD", "Pareto/NBD", "MBG/NBD")
    importance = result.models[-1].feature_importance
    assert importance.index[0] in importance.index and importance.max() > 0


def test_tracking_and_diagnostic_tables(cdnow):
    holdout = split(cdnow, calibration_end="1997-09-30", holdout_end="1998-06-30")
    fit, spend = fit_purchases(holdout.summary, "bgnbd"), fit_spend(holdout.summary)
    track = tracking(fit, cdnow, holdout)
    assert track["actual"].is_monotonic_increasing and track["predicted"].is_monotonic_increasing
    at_end = track.loc[track["week ending"] <= pd.Timestamp("1997-09-30"), "actual"].iloc[-1]
    assert at_end == pytest.approx(holdout.summary.table["frequency"].sum(), rel=0.02)
    predictions = predict_holdout(fit, spend, holdout)
    by_frequency = conditional_by_frequency(holdout, predictions)
    assert by_frequency["customers"].sum() == 2357 and by_frequency.loc["0", "customers"] == 1411
    deciles = spend_by_decile(holdout, predictions)
    assert deciles["customers"].sum() == 2357 and deciles["predicted"].is_monotonic_increasing
    assert deciles["actual"].iloc[-1] > 5 * deciles["actual"].iloc[0]  # the model's top decile really spends more
    calibration = p_alive_calibration(holdout, predictions)
    assert calibration["customers"].sum() == 2357 and calibration["predicted"].between(0, 1).all()


def test_calibration_end_outside_the_data_is_a_user_error(cdnow):
    with pytest.raises(ClvError, match="must fall after the first purchase"):
        split(cdnow, calibration_end="1999-01-01")


def test_every_metric_has_a_json_key():
    from clv_core.validation import METRIC_KEYS, score

    actual = pd.DataFrame({"purchases": [0.0, 1, 2], "spend": [0.0, 5, 9]})
    assert set(score(actual, actual)) == set(METRIC_KEYS)


def test_scorecard_names_the_lowest_error_model_in_one_sentence(cdnow):
    result = backtest(cdnow, calibration_end="1997-09-30", holdout_end="1998-06-30", challenger=False)
    assert ML_LABEL not in result.metrics.index
    errors = result.metrics["MAE (purchases)"]
    best = errors.idxmin()
    sentence = scorecard(result)
    assert sentence.count(". ") == 0 and sentence.endswith(".")  # one sentence
    assert f"{best} predicted best" in sentence and f"off by {errors[best]:.2f} repeat purchases" in sentence
    error = result.metrics.loc[best, "purchases % error"]
    assert f"{abs(error):.0%} {'over' if error > 0 else 'under'} in total" in sentence


def test_the_challenger_grows_its_trees_on_one_openmp_thread(cdnow, monkeypatch):
    """Two backtests at once on two cores took 52 s each with a thread per core in each, 7 s with one."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_info

    from clv_core import challenger

    seen = []
    fit = HistGradientBoostingClassifier.fit

    def watched(self, *args, **kwargs):
        seen.extend(p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp")
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(HistGradientBoostingClassifier, "fit", watched)
    holdout = split(cdnow, calibration_end="1997-09-30", holdout_end="1998-06-30", time_unit="weeks")
    challenger.challenger_predictions(cdnow, holdout, folds=2)
    assert seen and set(seen) == {1}
