"""Fits on small random subsamples of real customers: finite parameters and predictions, or the clear
"not enough data" message, never a crash, NaN or an optimiser's traceback."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from clv_core.economics import Economics, precompute, scenario
from clv_core.errors import ClvError
from clv_core.models import MODEL_LABELS, PURCHASE_MODELS, fit_purchases, fit_spend
from clv_core.summary import CustomerSummary, summarise
from tests.conftest import load


@pytest.fixture(scope="module")
def cdnow(cdnow_master_path):
    return summarise(load(cdnow_master_path.read_bytes(), "CDNOW_master.txt"), time_unit="weeks")


@pytest.mark.parametrize("seed", range(12))
def test_subsamples_of_50_to_500_customers_fit_or_say_why(cdnow, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 501))
    table = cdnow.table.sample(n, random_state=seed).reset_index(drop=True)
    sample = CustomerSummary(table, cdnow.time_unit, cdnow.observation_end)
    try:
        spend = fit_spend(sample)
    except ClvError as exc:
        assert str(exc).startswith(("Gamma–Gamma needs at least", "The Gamma–Gamma spend model could not"))
        spend = None
    for model in PURCHASE_MODELS:
        try:
            fit = fit_purchases(sample, model)
        except ClvError as exc:
            assert str(exc).startswith(("The models need at least", f"The {MODEL_LABELS[model]} model did not"))
            continue
        assert all(np.isfinite(v) and v > 0 for v in fit.params.values()), (model, fit.params)
        assert np.isfinite(fit.log_likelihood)
        if spend is not None:
            result = scenario(precompute(fit, spend, sample), Economics())
            assert np.isfinite(result.clv).all() and (result.clv >= 0).all()


def no_dropout_summary(customers: int = 3_000, weeks: float = 52.0) -> CustomerSummary:
    """A year in which nobody leaves: Poisson purchases at gamma-distributed rates, all from week 0."""
    rng = np.random.default_rng(11)
    rate = rng.gamma(4.0, 1 / 80, customers)  # r = 4, α = 80 per week
    counts = rng.poisson(rate * weeks)
    last = np.array([rng.uniform(0, weeks, n).max() if n else 0.0 for n in counts])
    frequency = np.maximum(counts - 1, 0).astype(float)  # the first purchase at 0 is not a repeat
    table = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(customers)],
            "frequency": frequency,
            "recency": np.where(frequency > 0, np.round(last, 1), 0.0),
            "T": weeks,
            "monetary_value": np.where(frequency > 0, 30.0 + rng.gamma(2.0, 10.0, customers), 0.0),
            "total_revenue": 30.0 * (frequency + 1),
        }
    )
    return CustomerSummary(table, "weeks", pd.Timestamp("2024-12-31"))


def test_bgnbd_on_data_without_dropout_predicts_the_no_dropout_limit():
    """Fits on data without dropout reach a/(a + b) → 0, some with a, b → 0 (lifetimes' penalised fit here did),
    where lifetimes' formula gives NaN for one-time buyers; the app must not."""
    summary = no_dropout_summary()
    fitted = fit_purchases(summary, "bgnbd")
    assert fitted.mean_dropout < 1e-6, fitted.params  # the data really is the degenerate case
    fit = replace(fitted, params={**fitted.params, "a": 1e-13, "b": 1e-6})  # the a, b → 0 end of that ridge
    t = summary.table
    f, r, T = (t[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    with np.errstate(all="ignore"):
        raw = fit.fitter().conditional_expected_number_of_purchases_up_to_time(260, f, r, T)
    assert not np.isfinite(raw).all()  # lifetimes alone breaks down on these rows
    ours = fit.expected_purchases(260, f, r, T)  # five years ahead
    assert np.isfinite(ours).all() and np.isfinite(fit.probability_alive(f, r, T)).all()
    # Reference: lifetimes' own formula with the same r, α and an equally tiny dropout (mean 1e-6) whose a, b
    # keep it well conditioned; the limit agrees with it where lifetimes broke down
    nearby = replace(fit, params={**fit.params, "a": 1e-4, "b": 100.0}).fitter()
    broken = ~np.isfinite(raw)
    reference = nearby.conditional_expected_number_of_purchases_up_to_time(260, f[broken], r[broken], T[broken])
    np.testing.assert_allclose(ours[broken], reference, rtol=1e-4)
    np.testing.assert_array_equal(ours[~broken], raw[~broken])  # the rest is lifetimes' own answer
    result = scenario(precompute(fit, fit_spend(summary), summary), Economics())
    assert np.isfinite(result.clv).all() and (result.clv > 0).all()


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
@pytest.mark.parametrize("weeks", [52.0, 104.0])
def test_data_without_dropout_still_fits_with_a_or_b_at_the_edge_of_the_search(model, weeks):
    """a → 0 or b → ∞ is where such data lead; only r or α at the edge of the range searched is a failed fit."""
    fit = fit_purchases(no_dropout_summary(weeks=weeks), model)
    assert fit.mean_dropout < 0.05 and 0.5 < fit.params["r"] < 5, fit.params
