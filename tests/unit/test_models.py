"""Purchase and spend models reproduce the published CDNOW figures; guards refuse data they cannot learn from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes import ParetoNBDFitter

from clv_core.errors import ClvError
from clv_core.models import (
    MODEL_LABELS,
    PURCHASE_MODELS,
    REGISTRY,
    FitResult,
    compare_models,
    compress,
    fit_purchases,
    fit_spend,
    implied_survival,
    label_to_key,
    likelihood_note,
    repeat_purchase_fit,
    spend_frequency_check,
)
from clv_core.samples import sample_bytes
from clv_core.summary import CustomerSummary, summarise
from tests.conftest import load


@pytest.fixture(scope="module")
def calibration():
    """Fader, Hardie & Lee's set-up: the 2,357-customer sample, weeks = days / 7, calibration to 1997-09-30."""
    data, name = sample_bytes("cdnow_sample")
    return summarise(load(data, name), time_unit="weeks", observation_end="1997-09-30")


def test_params_out_are_close_to_the_published_bgnbd_and_gamma_gamma(calibration):
    bg = fit_purchases(calibration, "bgnbd")
    assert {k: round(v, 3) for k, v in bg.params.items()} == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert round(bg.log_likelihood, 1) == -9582.4
    gg = fit_spend(calibration)
    assert {k: round(v, 2) for k, v in gg.params.items()} == {"p": 6.25, "q": 3.74, "v": 15.44}


def test_conditional_expectation_for_the_published_customer(calibration):
    fitter = fit_purchases(calibration, "bgnbd").fitter()
    assert fitter.conditional_expected_number_of_purchases_up_to_time(39, 2, 30.43, 38.86) == pytest.approx(
        1.226, abs=1e-3
    )


def test_pareto_nbd_matches_its_published_fit_every_time(calibration):
    fits = [fit_purchases(calibration, "paretonbd") for _ in range(3)]  # lifetimes alone starts from a random guess
    pnbd = fits[0]
    assert {k: round(v, 2) for k, v in pnbd.params.items()} == {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
    assert round(pnbd.log_likelihood, 1) == -9595.0
    assert all(f.params == pnbd.params for f in fits)


def test_weighted_fit_on_distinct_rows_equals_the_fit_on_every_customer(calibration):
    from lifetimes import BetaGeoFitter

    rows = compress(calibration.table)
    assert rows["weight"].sum() == 2357 and len(rows) < 2357 / 2
    direct = BetaGeoFitter().fit(calibration.table["frequency"], calibration.table["recency"], calibration.table["T"])
    ours = fit_purchases(calibration, "bgnbd")
    np.testing.assert_allclose(list(ours.params.values()), direct.params_.to_numpy(), rtol=1e-5)


def test_model_comparison_and_standard_errors(calibration):
    table = compare_models(calibration)
    assert list(table["model"]) == ["BG/NBD", "Pareto/NBD", "MBG/NBD"]
    assert table["AIC"].notna().all() and (table["BIC"] > table["AIC"]).all()
    bg = fit_purchases(calibration, "bgnbd")
    assert all(0 < se < v for v, se in zip(bg.params.values(), bg.standard_errors.values(), strict=True))


def test_expected_repeat_purchase_counts_track_the_actual(calibration):
    table = repeat_purchase_fit(fit_purchases(calibration, "bgnbd"), calibration)
    assert table["actual"].sum() == 2357 and table["expected"].sum() == pytest.approx(2357)
    assert table.loc[0, "actual"] == 1411 and abs(table.loc[0, "expected"] - 1411) < 10
    mbg = repeat_purchase_fit(fit_purchases(calibration, "mbgnbd"), calibration)
    assert mbg["expected"].sum() == pytest.approx(2357)
    with pytest.raises(ClvError, match="not available for Pareto/NBD"):  # lifetimes has no P(X(t) = x) for it
        repeat_purchase_fit(fit_purchases(calibration, "paretonbd"), calibration)


def test_spend_frequency_check_passes_on_cdnow_and_fails_when_spend_follows_frequency(calibration):
    assert spend_frequency_check(calibration).ok
    coupled = calibration.table.copy()
    coupled["monetary_value"] = np.where(coupled["frequency"] > 0, 10 * coupled["frequency"], 0.0)
    check = spend_frequency_check(type(calibration)(coupled, "weeks", calibration.observation_end))
    assert not check.ok and "may be biased" in check.sentence


def one_day_history(customers: int, repeat: int) -> str:
    rows = [f"c{i},2024-01-05,10" for i in range(customers)]
    rows += [f"c{i},2024-02-0{1 + i % 9},12" for i in range(repeat)]
    return "customer_id,date,amount\n" + "\n".join(rows) + "\n"


@pytest.mark.parametrize(
    ("customers", "repeat", "message"),
    [(5, 5, "at least 20 customers"), (200, 3, "at least 20 customers who bought more than once")],
)
def test_guards_refuse_too_little_data(customers, repeat, message):
    summary = summarise(load(one_day_history(customers, repeat)))
    for model in PURCHASE_MODELS:
        with pytest.raises(ClvError, match=message):
            fit_purchases(summary, model)


def test_all_purchases_on_the_last_day_are_refused():
    summary = summarise(load("customer_id,date,amount\n" + "\n".join(f"c{i},2024-01-05,1" for i in range(50))))
    with pytest.raises(ClvError, match="no time to learn from"):
        fit_purchases(summary)


def test_gamma_gamma_refuses_too_few_positive_repeat_spenders():
    table = pd.DataFrame(
        {
            "customer_id": list("abc"),
            "frequency": [1.0, 2, 0],
            "recency": [1.0, 2, 0],
            "T": [5.0, 5, 5],
            "monetary_value": [3.0, -1, 0],
            "total_revenue": [1.0, 1, 1],
        }
    )
    from clv_core.summary import CustomerSummary

    with pytest.raises(ClvError, match="Gamma–Gamma needs at least 20 repeat buyers"):
        fit_spend(CustomerSummary(table, "weeks", pd.Timestamp("2024-01-01")))


def test_random_small_subsamples_give_finite_parameters_or_the_clear_message():
    data, name = sample_bytes("cdnow_sample")
    full = summarise(load(data, name)).table
    rng = np.random.default_rng(7)
    outcomes = []
    for size in (30, 60, 120, 250):
        sample = full.iloc[rng.choice(len(full), size, replace=False)].reset_index(drop=True)
        summary = type(summarise(load(data, name)))(sample, "weeks", pd.Timestamp("1998-06-30"))
        try:
            fit = fit_purchases(summary)
        except ClvError as exc:
            assert "customers" in str(exc) or "usable parameters" in str(exc)
            outcomes.append("refused")
            continue
        assert np.all(np.isfinite(list(fit.params.values())))
        outcomes.append("fitted")
    assert "fitted" in outcomes


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd", "paretonbd"])
def test_implied_survival_matches_a_simulation_of_the_model(calibration, model):
    """Simulate each model's story (rates, dropout after purchases) with the CDNOW parameters, and compare the share
    not yet dropped out with the closed form."""
    fit = fit_purchases(calibration, model)
    k, rng, n = fit.params, np.random.default_rng(3), 400_000
    lam = rng.gamma(k["r"], 1 / k["alpha"], n)  # purchases per week
    if model == "paretonbd":
        lifetime = rng.exponential(1 / rng.gamma(k["s"], 1 / k["beta"], n))
    else:
        p = rng.beta(k["a"], k["b"], n)
        repeats = rng.geometric(p)  # repeat purchases until the one after which the customer leaves
        lifetime = rng.gamma(repeats, 1 / lam)  # the time of that purchase
        if model == "mbgnbd":
            lifetime = np.where(rng.uniform(size=n) < p, 0.0, lifetime)  # may leave right after the first purchase
    days = np.array([7.0, 30, 90, 365, 730])
    simulated = (lifetime[None, :] > days[:, None] / 7).mean(axis=1)
    np.testing.assert_allclose(implied_survival(fit, days), simulated, atol=0.004)
    assert implied_survival(fit, [0.0])[0] == 1.0
    assert np.all(np.diff(implied_survival(fit, np.linspace(0, 2000, 50))) <= 0)


# --- the registry: one entry per purchase model -------------------------------------------------------------


@pytest.mark.parametrize("key", list(REGISTRY))
def test_each_model_has_lost_nobody_at_time_zero(calibration, key):
    fit = fit_purchases(calibration, key)
    assert REGISTRY[key].survival(fit.params, 0.0) == 1.0
    assert implied_survival(fit, [0.0, 365.0])[0] == 1.0 > implied_survival(fit, [0.0, 365.0])[1]


@pytest.mark.parametrize("key", list(REGISTRY))
def test_registry_log_likelihood_is_lifetimes_objective_unscaled(calibration, key):
    """lifetimes' objective is −ℓ divided by the mean weight (Pareto/NBD, on the raw parameters) or by the total
    weight (BG/NBD and MBG/NBD, on their logs); undone, it is the registry's log-likelihood at the fitted
    parameters. (Its value at the optimum is on rescaled time for BG/NBD and MBG/NBD, so it is evaluated here.)"""
    spec = REGISTRY[key]
    rows = compress(calibration.table)
    x, t_x, T, w = (rows[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T", "weight"))
    fit = fit_purchases(calibration, key)
    values = np.array(list(fit.params.values()))
    at, scale = (values, w.mean()) if key == "paretonbd" else (np.log(values), w.sum())
    theirs = -spec.fitter_class._negative_log_likelihood(at, x, t_x, T, w, 0.0) * scale
    assert spec.log_likelihood(fit.params, x, t_x, T, w) == pytest.approx(theirs, rel=1e-12)
    assert fit.log_likelihood == pytest.approx(theirs, rel=1e-12) and fit.likelihood_note == ""


def test_only_bgnbd_warns_that_p_alive_is_one_for_every_one_time_buyer(calibration):
    T = calibration.table.loc[calibration.table["frequency"] == 0, "T"].to_numpy()
    for key, spec in REGISTRY.items():
        alive = fit_purchases(calibration, key).probability_alive(np.zeros_like(T), np.zeros_like(T), T)
        assert (alive == 1).all() == bool(spec.p_alive_note), key
    assert "one-time buyer" in REGISTRY["bgnbd"].p_alive_note


def test_views_of_the_registry_and_label_lookup():
    fitters = {key: cls.__name__ for key, cls in PURCHASE_MODELS.items()}
    assert fitters == {"bgnbd": "BetaGeoFitter", "paretonbd": "ParetoNBDFitter", "mbgnbd": "ModifiedBetaGeoFitter"}
    assert MODEL_LABELS["gammagamma"] == "Gamma–Gamma"
    assert all(label_to_key(MODEL_LABELS[key]) == key for key in MODEL_LABELS)
    with pytest.raises(ClvError, match="No model is called 'NBD'"):
        label_to_key("NBD")
    with pytest.raises(ClvError, match="Model must be one of bgnbd, paretonbd, mbgnbd, not 'gammagamma'"):
        implied_survival(FitResult("gammagamma", {"p": 6.0, "q": 4.0, "v": 15.0}, {}, 0.0, 30, "weeks"), [7.0])


# --- a likelihood that cannot be computed says why ---------------------------------------------------------


def heavy_buyer_summary() -> CustomerSummary:
    """30 ordinary customers over 70 weeks and one with 170 repeat purchases, the last on the final day: lifetimes'
    Pareto/NBD likelihood is a difference of two ₂F₁ terms that both overflow for that customer (inf − inf)."""
    rng = np.random.default_rng(0)
    frequency = rng.poisson(2, 30).astype(float)
    recency = np.where(frequency > 0, rng.uniform(0, 70, 30).round(1), 0.0)
    table = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(30)] + ["heavy"],
            "frequency": [*frequency, 170.0],
            "recency": [*recency, 70.0],
            "T": 70.0,
        }
    )
    return CustomerSummary(table, "weeks", pd.Timestamp("2024-06-30"))


def test_a_heavy_buyer_on_the_last_day_leaves_every_pareto_nbd_figure_finite():
    summary = heavy_buyer_summary()
    t = summary.table
    fit = fit_purchases(summary, "paretonbd")
    lifetimes_terms = ParetoNBDFitter._conditional_log_likelihood(
        [fit.params[k] for k in ("r", "alpha", "s", "beta")], t["frequency"], t["recency"], t["T"]
    )
    assert np.isnan(lifetimes_terms.iloc[-1])  # what lifetimes gives for the heavy buyer
    assert fit.likelihood_is_finite and fit.likelihood_note == "" and fit.to_dict()["notes"] == []
    alive = fit.probability_alive(t["frequency"], t["recency"], t["T"])
    assert alive[-1] == 1.0 and np.all((alive > 0) & (alive <= 1))
    assert np.all(np.isfinite(fit.expected_purchases(52, t["frequency"], t["recency"], t["T"])))
    table = compare_models(summary).set_index("model")
    assert np.isfinite(table["log-likelihood"]).all() and (table["note"] == "").all()


def test_likelihood_note_counts_customers_not_rows_and_names_the_heaviest():
    rows = pd.DataFrame({"frequency": [3.0, 9, 1], "recency": [10.0, 12, 20], "T": [20.0, 20, 20], "w": [4, 2, 7]})
    note = likelihood_note(np.array([np.nan, np.inf, -1.0]), rows, "weeks")
    assert note.startswith(
        "The likelihood overflows for 6 customers "
        "(the most extreme has 9 repeat purchases, the last 56 days before the end);"
    )
    assert likelihood_note(np.array([-1.0, -np.inf, -1.0]), rows, "weeks").startswith(
        "The likelihood is zero for 2 customers (the most extreme has 9 repeat purchases"
    )
    assert likelihood_note(np.array([-1.0, -2.0, -3.0]), rows, "weeks") == ""


@pytest.mark.parametrize("key", list(REGISTRY))
def test_every_month_at_once_equals_lifetimes_formula_month_by_month(calibration, key):
    """The forecast base evaluates all month boundaries at once, the (x, T, t) part on distinct (x, T) pairs; each
    column is the model's conditional expectation at that time (lifetimes' formula for BG/NBD and MBG/NBD), and a
    churn-adjusted fit gives the same agreement."""
    t = calibration.table
    f, r, T = (t[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    ts = np.array([0.5, 4.35, 26.1, 52.2, 260.0])
    fit = fit_purchases(calibration, key)
    for params in (fit.params, fit.purchase_model.adjust_churn(fit.params, 1.7)):
        adjusted = FitResult(key, params, {}, 0.0, len(t), "weeks")
        grid = adjusted.cumulative_purchases(ts, f, r, T)
        fitter = REGISTRY[key].fitter_class()
        fitter.params_ = pd.Series(params)
        for j, horizon in enumerate(ts):
            if key == "paretonbd":
                expected = adjusted.expected_purchases(horizon, f, r, T)
            else:
                expected = fitter.conditional_expected_number_of_purchases_up_to_time(horizon, f, r, T)
            np.testing.assert_allclose(grid[:, j], np.asarray(expected, dtype=float), rtol=1e-10)
        assert np.all(np.diff(grid, axis=1) > 0)  # more time, more purchases
        _, _, alive = adjusted.cumulative_factors(ts, f, r, T)  # the forecast base's P(alive): the model's
        np.testing.assert_allclose(alive, adjusted.probability_alive(f, r, T), rtol=1e-12)


@pytest.mark.parametrize("key", ["bgnbd", "mbgnbd"])
def test_probability_alive_equals_lifetimes(calibration, key):
    t = calibration.table
    f, r, T = (t[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    fit = fit_purchases(calibration, key)
    fitter = REGISTRY[key].fitter_class()
    fitter.params_ = pd.Series(fit.params)
    expected = np.asarray(fitter.conditional_probability_alive(f, r, T), dtype=float)
    np.testing.assert_allclose(fit.probability_alive(f, r, T), expected, rtol=1e-12)


def test_a_fit_without_dropout_forecasts_the_no_dropout_limit_for_every_customer():
    """With b below rounding, lifetimes' b + x − 1 is 0 at x = 1: P(alive) 0 and no purchases for every one-repeat
    customer. Ours keeps b + (x − 1) = b: they are alive and buy at their rate, (r + x)/(α + T) per unit."""
    params = {"r": 0.5, "alpha": 4.0, "a": 1e-300, "b": 1e-200}
    fit = FitResult("bgnbd", params, {}, 0.0, 3, "weeks")
    f, r, T = np.array([0.0, 1.0, 3.0]), np.array([0.0, 5.0, 30.0]), np.array([40.0, 40.0, 40.0])
    assert fit.mean_dropout < 1e-6
    np.testing.assert_allclose(fit.probability_alive(f, r, T), 1.0)
    grid = fit.cumulative_purchases([10.0, 52.0], f, r, T)
    np.testing.assert_allclose(grid, (0.5 + f[:, None]) / (4.0 + T[:, None]) * np.array([10.0, 52.0]), rtol=1e-6)


def test_heavy_buyers_forecasts_stay_finite_and_equal_lifetimes():
    """₂F₁ overflows and the power underflows for hundreds of repeat purchases (0 · inf); the transformed form in
    logs gives lifetimes' BG/NBD figures, and MBG/NBD (which lifetimes leaves NaN there) stays finite."""
    params = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    x, t_x, T = np.array([0, 1, 5, 400, 600, 1500.0]), np.array([0, 10, 20, 38, 38.5, 38.9]), np.full(6, 39.0)
    fitter = REGISTRY["bgnbd"].fitter_class()
    fitter.params_ = pd.Series(params)
    grid = REGISTRY["bgnbd"].cumulative_purchases(params, [4.35, 265.0], x, t_x, T)
    expected = fitter.conditional_expected_number_of_purchases_up_to_time(265.0, x, t_x, T)
    np.testing.assert_allclose(grid[:, 1], np.asarray(expected, dtype=float), rtol=1e-10)
    assert grid[-1, 1] > 3_000
    heavy = REGISTRY["mbgnbd"].cumulative_purchases(params, [4.35, 265.0], x, t_x, T)
    assert np.all(np.isfinite(heavy)) and np.all(np.diff(heavy, axis=1) > 0)


def test_the_gamma_gamma_log_likelihood_matches_the_closed_form_in_high_precision():
    """Our own log-likelihood (no private lifetimes function): equation 1a of Fader & Hardie's Gamma–Gamma note,
    evaluated term by term in 50-digit arithmetic, on a spread of repeat counts and mean spends, with weights."""
    import mpmath

    from clv_core.models import gamma_gamma_log_likelihood

    mpmath.mp.dps = 50
    params = {"p": 6.25, "q": 3.74, "v": 15.44}
    x = np.array([1, 2, 3, 7, 15, 40])
    m = np.array([35.0, 12.5, 80.25, 3.1, 250.0, 19.99])
    w = np.array([3, 1, 2, 5, 1, 4])
    p, q, v = (mpmath.mpf(params[k]) for k in "pqv")

    def one(xi: int, mi: float):
        px, mean = p * xi, mpmath.mpf(mi)
        ratio = mpmath.gamma(px + q) / (mpmath.gamma(px) * mpmath.gamma(q))
        return mpmath.log(ratio * v**q * mean ** (px - 1) * mpmath.mpf(xi) ** px / (v + xi * mean) ** (px + q))

    reference = mpmath.fsum(int(wi) * one(xi, mi) for xi, mi, wi in zip(x.tolist(), m.tolist(), w, strict=True))
    assert gamma_gamma_log_likelihood(params, x, m, w) == pytest.approx(float(reference), rel=1e-12)


def test_no_private_lifetimes_function_is_called():
    from tests.conftest import ROOT

    for path in (ROOT / "clv_core").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "._negative_log_likelihood" not in text, path
