"""Pareto/NBD evaluated stably: checked against an arbitrary-precision reference (mpmath, from the integral the
likelihood comes from, not from the closed form under test), against lifetimes where lifetimes is finite, and
against the published CDNOW fit."""

from __future__ import annotations

import warnings

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from lifetimes import ParetoNBDFitter
from lifetimes.datasets import load_cdnow_summary
from scipy.special import hyp2f1

from clv_core import paretonbd
from clv_core.samples import sample_bytes
from clv_core.summary import summarise
from tests.conftest import load

#: Parameter sets far apart: CDNOW's fit, α ≫ β, β ≫ α, little heterogeneity, much.
PARAMS = [
    {"r": 0.6109, "alpha": 13.613, "s": 0.3126, "beta": 6.148},
    {"r": 0.5, "alpha": 500.0, "s": 0.8, "beta": 0.5},
    {"r": 2.0, "alpha": 0.5, "s": 0.3, "beta": 800.0},
    {"r": 0.1, "alpha": 5.0, "s": 0.1, "beta": 5.0},
    {"r": 20.0, "alpha": 100.0, "s": 20.0, "beta": 100.0},
]
#: Histories (x, t_x, T) in weeks, up to 1,000 repeat purchases and 10 years: one-time buyers, the last purchase on
#: the final day, long silences, the heaviest buyers.
HISTORIES = [
    (0, 0.0, 0.0),
    (0, 0.0, 520.0),
    (1, 3.0, 3.0),
    (1, 0.5, 520.0),
    (10, 40.0, 41.0),
    (170, 70.857142857142857, 70.857142857142857),
    (170, 70.0, 70.857142857142857),
    (1000, 519.0, 520.0),
    (1000, 100.0, 520.0),
    (1000, 520.0, 520.0),
]


def reference(params: dict, x: float, t_x: float, T: float) -> tuple[mp.mpf, mp.mpf]:
    """(log-likelihood, P(alive)) at 40 digits from the model's definition: alive at T, or died at τ in [t_x, T].

    L = Γ(r + x) α^r β^s / Γ(r) · [(α + T)^−(r+x) (β + T)^−s + s ∫_{t_x}^T (α + τ)^−(r+x) (β + τ)^−(s+1) dτ].
    """
    with mp.workdps(40):
        r, alpha, s, beta = (mp.mpf(params[k]) for k in paretonbd.NAMES)
        x, t_x, T = mp.mpf(x), mp.mpf(t_x), mp.mpf(T)
        alive = (alpha + T) ** -(r + x) * (beta + T) ** -s
        died = mp.mpf(0)
        if t_x < T:
            # the integrand falls by e per `scale` after t_x: nodes at t_x + scale · 2^k resolve its peak
            scale = 1 / ((r + x) / (alpha + t_x) + (s + 1) / (beta + t_x))
            cuts = [t_x] + [t_x + scale * 2**k for k in range(-4, 60) if scale * 2**k < T - t_x] + [T]
            died = s * mp.quad(lambda tau: (alpha + tau) ** -(r + x) * (beta + tau) ** -(s + 1), cuts)
        common = mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(alpha) + s * mp.log(beta)
        return common + mp.log(alive + died), alive / (alive + died)


@pytest.mark.parametrize("params", PARAMS, ids=["cdnow", "alpha>>beta", "beta>>alpha", "small r,s", "large r,s"])
def test_likelihood_and_p_alive_match_a_40_digit_reference_on_extreme_histories(params):
    x, t_x, T = (np.array(v, dtype=float) for v in zip(*HISTORIES, strict=True))
    ours = paretonbd.row_log_likelihood(params, x, t_x, T)
    alive = paretonbd.probability_alive(params, x, t_x, T)
    for i, history in enumerate(HISTORIES):
        ll, p = reference(params, *history)
        assert ours[i] == pytest.approx(float(ll), rel=1e-10, abs=1e-10), history
        assert alive[i] == pytest.approx(float(p), rel=1e-9, abs=1e-300), history
    assert np.all(alive[t_x == T] == 1.0)  # no time to die after the last purchase: exactly alive


def test_hypergeometric_matches_mpmath_where_scipy_overflows_or_loses_digits():
    """Random (a, b, z) as Pareto/NBD forms them (a = r + s + x; b = s + 1 or r + x), r, s ≥ 0.1, x ≤ 5,000."""
    rng = np.random.default_rng(7)
    n = 400
    r, s = np.exp(rng.uniform(np.log(0.1), np.log(50), (2, n)))
    x = np.where(rng.uniform(size=n) < 0.3, 0, np.floor(np.exp(rng.uniform(0, np.log(5000), n))))
    a = r + s + x
    b = np.where(rng.uniform(size=n) < 0.5, s + 1, r + x)
    z = np.where(rng.uniform(size=n) < 0.5, rng.uniform(0, 1, n), -np.expm1(-np.exp(rng.uniform(0, np.log(20), n))))
    ours = paretonbd.log_hyp2f1_next(a, b, z)
    with mp.workdps(40):
        ref = np.array([float(mp.re(mp.log(mp.hyp2f1(p, q, p + 1, w)))) for p, q, w in zip(a, b, z, strict=True)])
    assert np.all(np.isfinite(ours))
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)
    with np.errstate(all="ignore"):
        scipy_log = np.log(hyp2f1(a, b, a + 1, z))
    assert (~np.isclose(scipy_log, ref, rtol=1e-10)).sum() > 20  # the cases this function exists for


def lifetimes_terms(params, x, t_x, T):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        values = [params[k] for k in paretonbd.NAMES]
        return np.asarray(ParetoNBDFitter._conditional_log_likelihood(values, x, t_x, T), dtype=float)


def simulated_histories(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Histories drawn from Pareto/NBD itself (CDNOW-like parameters), T up to 10 years in weeks."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(1, 520, n).round(3)
    lam, mu = rng.gamma(0.6, 1 / 13.6, n), rng.gamma(0.31, 1 / 6.1, n)
    life = np.minimum(rng.exponential(1 / mu), T)
    x = rng.poisson(lam * life)
    t_x = np.where(x > 0, life * rng.beta(np.maximum(x, 1), 1), 0.0).round(3)
    return x.astype(float), t_x, T


def test_likelihood_equals_lifetimes_wherever_lifetimes_is_finite():
    cdnow_sample = load_cdnow_summary()
    master = summarise(load(*sample_bytes("cdnow")), time_unit="weeks").table
    sets = [
        tuple(cdnow_sample[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")),
        tuple(master[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")),
        simulated_histories(20_000, seed=3),
    ]
    for x, t_x, T in sets:
        for params in PARAMS[:4]:
            ours, theirs = paretonbd.row_log_likelihood(params, x, t_x, T), lifetimes_terms(params, x, t_x, T)
            finite = np.isfinite(theirs)
            assert np.all(np.isfinite(ours)) and finite.mean() > 0.99
            np.testing.assert_allclose(ours[finite], theirs[finite], rtol=1e-8, atol=1e-8)


def test_fit_on_the_full_cdnow_data_is_finite_and_at_least_as_good_as_lifetimes_parameters():
    table = summarise(load(*sample_bytes("cdnow")), time_unit="weeks").table
    x, t_x, T = (table[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    lifetimes_params = {"r": 0.6109, "alpha": 13.613, "s": 0.3126, "beta": 6.148}
    at_theirs = paretonbd.row_log_likelihood(lifetimes_params, x, t_x, T).sum()
    assert at_theirs == pytest.approx(-173_328, abs=1)  # lifetimes says NaN: customer 14048
    fit = paretonbd.fit(x, t_x, T)
    assert fit.converged and np.isfinite(fit.log_likelihood) and fit.log_likelihood >= at_theirs
    heavy = np.flatnonzero(table["customer_id"].to_numpy() == "14048")
    assert paretonbd.probability_alive(fit.params, x[heavy], t_x[heavy], T[heavy])[0] == 1.0


def test_fit_recovers_the_parameters_it_was_simulated_with():
    x, t_x, T = simulated_histories(40_000, seed=11)
    fit = paretonbd.fit(x, t_x, T)
    truth = {"r": 0.6, "alpha": 13.6, "s": 0.31, "beta": 6.1}
    for name, value in truth.items():
        assert fit.params[name] == pytest.approx(value, rel=0.15), name
    # the weighted fit on distinct histories is the fit on every customer
    keys, counts = np.unique(np.stack([x, t_x, T], 1), axis=0, return_counts=True)
    compressed = paretonbd.fit(keys[:, 0], keys[:, 1], keys[:, 2], counts)
    for name in truth:
        assert compressed.params[name] == pytest.approx(fit.params[name], rel=1e-4)


def test_conditional_expectation_equals_lifetimes_and_its_s_equals_1_limit():
    x, t_x, T = simulated_histories(5_000, seed=5)
    params = PARAMS[0]
    fitter = ParetoNBDFitter()
    fitter.params_ = pd.Series(params)
    theirs = np.asarray(fitter.conditional_expected_number_of_purchases_up_to_time(26.0, x, t_x, T), dtype=float)
    ours = paretonbd.expected_purchases(params, 26.0, x, t_x, T)
    finite = np.isfinite(theirs)
    np.testing.assert_allclose(ours[finite], theirs[finite], rtol=1e-8)
    near = [paretonbd.expected_purchases({**params, "s": 1 + d}, 26.0, x, t_x, T) for d in (-1e-7, 1e-7)]
    exact = paretonbd.expected_purchases({**params, "s": 1.0}, 26.0, x, t_x, T)
    np.testing.assert_allclose(exact, near[0], rtol=1e-5)
    np.testing.assert_allclose(exact, near[1], rtol=1e-5)
