"""Survival: lifelines' documented figures through our functions, and churn/durations on hand-made histories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_rossi, load_waltons

from clv_core.errors import ClvError
from clv_core.samples import sample_bytes
from clv_core.survival import (
    ChurnDefinition,
    cap_levels,
    cox,
    design_matrix,
    duration_words,
    kaplan_meier,
    lifetime_headline,
    median_table,
    parametric,
    suggest_inactivity_days,
    survival_clv,
    survival_data,
)
from tests.conftest import load

HISTORY = """customer_id,date,amount,channel
a,2024-01-01,10,Email
a,2024-01-31,10,Email
a,2024-03-01,10,Email
b,2024-01-15,20,Web
c,2024-05-20,5,Web
c,2024-06-25,5,Web
d,2024-06-30,7,Email
"""


def test_waltons_kaplan_meier_and_logrank_match_lifelines_documentation():
    w = load_waltons()
    overall = kaplan_meier(w["T"], w["E"])
    assert overall.curves[0].median_days == 56.0
    split = kaplan_meier(w["T"], w["E"], w["group"])
    assert split.medians.to_dict() == {"control": 58.0, "miR-137": 26.0}
    assert split.logrank_statistic == pytest.approx(122.25, abs=0.01)
    assert split.logrank_p < 1e-20 and "different lengths of time (p < 0.001" in split.logrank_sentence
    assert split.at_risk.loc["control", "day 0"] == 129


def test_rossi_cox_matches_lifelines_documentation():
    rossi = load_rossi()
    covariates = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
    result = cox(rossi, duration_col="week", event_col="arrest", covariates=covariates)
    coefficients = np.log(result.summary["hazard ratio"]).round(2).to_dict()
    assert coefficients == {
        "fin": -0.38,
        "age": -0.06,
        "race": 0.31,
        "wexp": -0.15,
        "mar": -0.43,
        "paro": -0.08,
        "prio": 0.09,
    }
    assert round(result.concordance, 2) == 0.64 and round(result.log_likelihood, 2) == -658.75
    assert result.penalizer == 0
    assert "age" in result.ph_violations and "wexp" in result.ph_violations  # lifelines' docs flag age and wexp


def test_churn_and_durations_on_a_hand_made_history():
    data = survival_data(load(HISTORY), ChurnDefinition(inactivity_days=60, grace_days=1))
    t = data.table.set_index("customer_id")
    # observation end 2024-06-30: a last bought 121 days before → churned, lifetime 60 + 1 days
    assert t.loc["a", ["duration_days", "churned"]].tolist() == [61, True]
    assert t.loc["b", ["duration_days", "churned"]].tolist() == [1, True]  # one visit: the grace period
    assert t.loc["c", ["duration_days", "churned"]].tolist() == [41, False]  # active: censored at the end
    assert t.loc["d", ["duration_days", "churned"]].tolist() == [1, False]  # first bought on the last day: floored
    assert data.floored == 1
    assert t.loc["a", "channel"] == "Email" and t.loc["c", "first order value"] == 5


def test_by_default_a_lifetime_ends_when_the_churn_is_recognised():
    """The default adds the inactivity window to a churned customer's last purchase: a one-time buyer lived until
    they would be recognised as gone, not one day; active customers are censored as before."""
    data = survival_data(load(HISTORY), ChurnDefinition(inactivity_days=60))
    t = data.table.set_index("customer_id")
    assert t.loc["a", ["duration_days", "churned"]].tolist() == [60 + 60, True]
    assert t.loc["b", ["duration_days", "churned"]].tolist() == [60, True]
    assert t.loc["c", ["duration_days", "churned"]].tolist() == [41, False]
    assert t["purchase days"].to_dict() == {"a": 3, "b": 1, "c": 2, "d": 1}
    assert "60 days (when the churn is recognised)" in data.definition.lifetime_end


def _one_time_heavy(one_time: int, repeat_days: list[int]) -> str:
    """A history ending 2024-12-31: ``one_time`` customers who bought once in January, and repeat buyers who
    bought on 2024-01-01 and again ``d`` days later, for each ``d`` of ``repeat_days``."""
    rows = ["customer_id,date,amount"]
    rows += [f"o{i},2024-01-{1 + i % 28:02d},10" for i in range(one_time)]
    for i, gap in enumerate(repeat_days):
        rows += [f"r{i},2024-01-01,10", f"r{i},{(pd.Timestamp('2024-01-01') + pd.Timedelta(days=gap)).date()},10"]
    rows.append("z,2024-12-31,10")  # sets the observation end
    return "\n".join(rows) + "\n"


def test_the_headline_means_something_when_half_the_customers_buy_once():
    """60 % bought once: ending lifetimes at the last purchase gives a median of one day, which says nothing. By
    default the median is the churn window at least, and the repeat buyers' median comes from their own curve:
    five who came back, last bought after 10, 20, 30, 40 and 50 days and all churned (90-day window), lived
    100…140 days, median 120."""
    tx = load(_one_time_heavy(one_time=9, repeat_days=[10, 20, 30, 40, 50]))
    at_last_purchase = survival_data(tx, ChurnDefinition(90, 1))
    old = lifetime_headline(
        at_last_purchase,
        kaplan_meier(at_last_purchase.table["duration_days"], at_last_purchase.table["churned"]).curves[0],
    )
    assert old.median_days == 1  # the figure the issue quoted: meaningless
    data = survival_data(tx, ChurnDefinition(90))
    t = data.table
    head = lifetime_headline(data, kaplan_meier(t["duration_days"], t["churned"]).curves[0])
    assert head.median_days >= 90
    assert head.one_time_churned == pytest.approx(9 / 15)
    assert head.repeat_customers == 5 and head.repeat_median_days == 120
    assert (
        head.sentence
        == "60% bought once and have churned; of the 5 who came back, half were still customers after 4 months."
    )
    assert duration_words(45) == "45 days" and duration_words(121.7) == "4 months"


def test_zero_grace_floors_one_visit_lifetimes_to_one_day():
    data = survival_data(load(HISTORY), ChurnDefinition(inactivity_days=60, grace_days=0))
    assert (data.table["duration_days"] > 0).all() and data.floored == 2


def test_median_table_says_not_reached_instead_of_infinity():
    w = load_waltons()
    durations = pd.concat([w["T"], pd.Series([30.0, 40.0, 50.0, 60.0])], ignore_index=True)
    events = pd.concat([w["E"], pd.Series([True, False, False, False])], ignore_index=True)
    groups = pd.concat([w["group"], pd.Series(["mostly staying"] * 4)], ignore_index=True)
    table = median_table(kaplan_meier(durations, events, groups))
    assert table["median lifetime"].to_dict() == {
        "control": "58 days",
        "miR-137": "26 days",
        "mostly staying": "not reached",  # three of four still customers: the curve never reaches one half
    }
    assert table.loc["mostly staying", "customers"] == 4 and table.loc["mostly staying", "churned"] == 1


def test_kaplan_meier_refuses_non_positive_durations():
    with pytest.raises(ClvError, match="must be positive"):
        kaplan_meier([0, 5], [True, False])


def test_suggested_threshold_is_a_high_percentile_of_gaps_in_whole_weeks():
    data, name = sample_bytes("cdnow")
    tx = load(data, name)
    suggestion = suggest_inactivity_days(tx.data)
    days = tx.data[["customer_id"]].assign(day=tx.data["date"]).drop_duplicates()
    gaps = days.sort_values(["customer_id", "day"]).groupby("customer_id")["day"].diff().dt.days.dropna()
    assert suggestion.days % 7 == 0 and 0 <= suggestion.days - np.quantile(gaps, 0.9) < 7
    assert f"within {suggestion.days} days" in suggestion.explanation
    assert suggest_inactivity_days(load(HISTORY).data).days == 180  # too few gaps: the stated fallback


def test_design_matrix_pools_rare_levels_drops_constant_and_collinear_columns():
    frame = pd.DataFrame(
        {
            "channel": ["web"] * 50 + ["email"] * 40 + ["fax"] * 3,
            "plan": ["a"] * 93,
            "twin": ["web"] * 50 + ["email"] * 40 + ["fax"] * 3,
        }
    )
    matrix, notes = design_matrix(frame, ["channel", "plan", "twin"])
    assert list(matrix.columns) == ["channel=email"]
    joined = " ".join(notes)
    assert "pooled into 'web'" in joined and "collinear" in joined


def test_cox_with_too_few_events_is_a_user_error():
    frame = pd.DataFrame({"d": [1.0, 2, 3, 4], "e": [1, 0, 0, 0], "x": [1.0, 2, 3, 4]})
    with pytest.raises(ClvError, match="Fewer than 5 customers churned"):
        cox(frame, duration_col="d", event_col="e", covariates=["x"])


def test_cox_falls_back_to_a_penalised_fit_when_the_plain_one_does_not_converge():
    rng = np.random.default_rng(3)
    x = rng.normal(size=200)
    frame = pd.DataFrame({"d": np.where(x > 0, 1.0, 50.0) + rng.uniform(0, 0.1, 200), "e": 1, "x": x > 0})
    frame["x"] = frame["x"].astype(float)  # x perfectly separates early and late churners
    result = cox(frame, duration_col="d", event_col="e", covariates=["x"])
    assert result.penalizer > 0 and any("penalizer" in n for n in result.notes)


def test_parametric_fits_rank_by_aic_and_report_rmst():
    w = load_waltons()
    result = parametric(w["T"], w["E"], horizon_days=60)
    assert list(result.table["AIC"]) == sorted(result.table["AIC"])
    assert set(result.table["model"]) == {"Weibull", "Exponential", "Log-normal", "Log-logistic"}
    assert (result.table["RMST over 60 days"] <= 60).all()
    assert result.best_curve["survival"].iloc[0] == pytest.approx(1.0)


def test_survival_clv_by_hand():
    curve = kaplan_meier([400.0] * 10, [False] * 10).curves[0]  # nobody churns within the horizon
    value = survival_clv(
        curve, total_revenue=1200.0, total_customer_days=365.25 * 10, horizon_months=12, annual_discount_rate=0.0
    )
    assert value.revenue_per_active_month == pytest.approx(10.0)
    assert value.value == pytest.approx(120.0)
    discounted = survival_clv(
        curve, total_revenue=1200.0, total_customer_days=365.25 * 10, horizon_months=12, annual_discount_rate=0.12
    )
    assert discounted.value < 120.0


def test_cap_levels_keeps_the_most_common():
    values = pd.Series(list("aaaabbbcc") + [f"x{i}" for i in range(20)])
    capped = cap_levels(values, keep=3)
    assert set(capped) == {"a", "b", "c", "Other"}


def test_large_cox_checks_run_on_a_stated_sample_with_the_full_fit(monkeypatch):
    rossi = load_rossi()
    covariates = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
    full = cox(rossi, duration_col="week", event_col="arrest", covariates=covariates)
    monkeypatch.setattr("clv_core.survival.DIAGNOSTIC_SAMPLE", 300)
    sampled = cox(rossi, duration_col="week", event_col="arrest", covariates=covariates)
    pd.testing.assert_frame_equal(sampled.summary, full.summary)  # the hazard ratios still use every row
    assert any("random 300 of the 432 customers" in note for note in sampled.notes)
    assert not any("random" in note for note in full.notes)
    assert sampled.concordance != full.concordance and abs(sampled.concordance - full.concordance) < 0.05
