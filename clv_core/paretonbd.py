"""Pareto/NBD evaluated so that it never overflows: the log-likelihood, P(alive), conditional expectations and
the fit, vectorised over customers.

lifetimes writes the likelihood's A₀ term as a difference of two Gauss hypergeometric terms and evaluates each
with scipy's ``hyp2f1``. For customers with many repeat purchases (or parameters far apart, α ≫ β) both terms
overflow and inf − inf leaves NaN: on the full CDNOW data one customer (170 repeat purchases, the last on the
final day) makes the whole log-likelihood NaN. Here every quantity is a logarithm from the start:

* the likelihood is written with the integral it comes from. Given purchase rate λ ~ Gamma(r, α) and dropout rate
  μ ~ Gamma(s, β),

      L(r, α, s, β | x, t_x, T) = Γ(r + x) α^r β^s / Γ(r) · [ (α + T)^−(r+x) (β + T)^−s  +  s · J ],
      J = ∫_{t_x}^{T} (α + τ)^−(r+x) (β + τ)^−(s+1) dτ

  (the customer is alive at T, or died at some τ between the last purchase and T). J = 0 exactly when
  t_x = T, so such a customer's P(alive) is exactly 1;
* J = I(t_x) − I(T) with I(y) = ∫_y^∞ …, and log I(y) = −a·ln(m + y) − ln a + ln ₂F₁(a, b; a + 1; z) with
  a = r + s + x and (m, b, z) = (α, s + 1, (α − β)/(α + y)) when α ≥ β, else (β, r + x, (β − α)/(β + y)):
  Fader & Hardie's (2005) equations (19)–(20), divided by a so that each term is the integral it stands for;
* ln ₂F₁(a, b; a + 1; z) for 0 ≤ z < 1 comes from the evaluation that is accurate where it is used
  (:func:`log_hyp2f1_next`), each checked against mpmath at 40 digits in the tests;
* J from two tails loses digits when the interval [t_x, T] holds a small part of the tail (recent buyers with a
  long future): there J is integrated directly by Gauss–Legendre, where the integrand hardly changes.

References
----------
Schmittlein, Morrison & Colombo (1987), "Counting your customers: who are they and what will they do next?",
Management Science 33(1).
Fader & Hardie (2005), "A note on deriving the Pareto/NBD model and related expressions", equations (18)–(20),
(36)–(37) and (41).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.special import gammaln, hyp2f1

#: The optimiser searches log-parameters in ±this (e^12 ≈ 160,000 in time scaled so that the longest T is 10).
_BOUND = 12.0
#: Parameter names in lifetimes' order.
NAMES = ("r", "alpha", "s", "beta")

_LOW_NODES, _LOW_WEIGHTS = np.polynomial.legendre.leggauss(40)
_SHORT_NODES, _SHORT_WEIGHTS = np.polynomial.legendre.leggauss(12)
#: The integrand is below e^-46 of its peak beyond the truncation points: nothing a double can hold.
_TAIL = 46.0
#: J is integrated directly when the two tails differ by less than this share (ln scale): there the difference
#: of the tails would lose more than about 1e-13 × ln I / 0.05 of J's digits.
_SHORT = 0.05


def log_hyp2f1_next(a, b, z) -> np.ndarray:
    """ln ₂F₁(a, b; a + 1; z) for a > 0, b > 0, 0 ≤ z < 1, elementwise (the only ₂F₁ Pareto/NBD needs).

    scipy's ``hyp2f1`` returns inf or NaN here for large a and b or z near 1 (a = b = 1,000, z = 0.9). Each
    element is taken from the evaluation that is accurate for it:

    * z ≤ 1/2: Pfaff's transformation, ₂F₁(a, b; a + 1; z) = (1 − z)^−b ₂F₁(1, b; a + 1; z / (z − 1)), whose series
      argument lies in [−1, 0] and whose power is taken in logs;
    * 1/2 < z ≤ 0.9 with a ≤ 100: scipy's ``hyp2f1`` directly (it cannot overflow there);
    * otherwise Euler's integral a ∫₀¹ t^(a−1) (1 − z t)^−b dt by Gauss–Legendre in two pieces: t ≤ 1/2 with
      t = u^k / 2 (k ≥ 4/a makes the integrand smooth at 0), and 1 − t = σ ≤ 1/2 with σ + ε = ε e^w,
      ε = (1 − z)/z, which spreads the peak at t = 1 over the nodes; each piece in logs.

    Examples
    --------
    >>> round(float(log_hyp2f1_next(1.0, 1.0, 0.5)), 12)  # ₂F₁(1, 1; 2; z) = −ln(1 − z)/z
    0.326634259978
    >>> bool(np.isfinite(log_hyp2f1_next(1000.0, 1000.0, 0.999)))
    True
    """
    a, b, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, b, z)))
    out = np.empty(a.shape)
    low = z <= 0.5
    middle = ~low & (z <= 0.9) & (a <= 100)
    high = ~low & ~middle
    with np.errstate(all="ignore"):
        if low.any():
            al, bl, zl = a[low], b[low], z[low]
            out[low] = -bl * np.log1p(-zl) + np.log(hyp2f1(1.0, bl, al + 1.0, zl / (zl - 1.0)))
        if middle.any():
            out[middle] = np.log(hyp2f1(a[middle], b[middle], a[middle] + 1.0, z[middle]))
        if high.any():
            out[high] = _log_hyp2f1_next_by_quadrature(a[high], b[high], z[high])
    return out


def _log_sum(log_terms: np.ndarray, weights: np.ndarray, length) -> np.ndarray:
    """ln of a Gauss–Legendre sum over the first axis (nodes × rows), on an interval of ``length``."""
    peak = log_terms.max(axis=0)
    return peak + np.log((weights[:, None] * np.exp(log_terms - peak)).sum(axis=0) * (np.asarray(length) / 2))


def _log_hyp2f1_next_by_quadrature(a, b, z) -> np.ndarray:
    u = (_LOW_NODES[:, None] + 1) / 2
    k = np.maximum(4.0, 4.0 / a)
    log_u = np.log(u)
    t = np.exp(k * log_u) / 2
    low_piece = np.log(a * k) - a * np.log(2.0) + _log_sum((k * a - 1) * log_u - b * np.log1p(-z * t), _LOW_WEIGHTS, 1)
    eps = (1 - z) / z
    upper = np.minimum(np.log1p(0.5 / eps), np.log1p(_TAIL / (np.maximum(a - 1, 0) * eps)))
    upper = np.where(b > 1, np.minimum(upper, _TAIL / np.maximum(b - 1, 1e-300)), upper)
    w = (_LOW_NODES[:, None] + 1) / 2 * upper
    sigma = np.minimum(eps * np.expm1(w), 0.5)
    high_piece = np.log(a) - b * np.log(z) + (1 - b) * np.log(eps)
    high_piece = high_piece + _log_sum((a - 1) * np.log1p(-sigma) - (b - 1) * w, _LOW_WEIGHTS, upper)
    return np.logaddexp(low_piece, high_piece)


def log_tail(p, q, alpha: float, beta: float, y) -> np.ndarray:
    """ln ∫_y^∞ (α + τ)^−p (β + τ)^−q dτ for p, q > 0 with p + q > 1, y ≥ 0, elementwise.

    Examples
    --------
    >>> round(float(np.exp(log_tail(1.0, 1.0, 2.0, 2.0, 3.0))), 12)  # ∫_3^∞ (2 + τ)^−2 dτ = 1/5
    0.2
    """
    p, q, y = (np.asarray(v, dtype=float) for v in (p, q, y))
    a = p + q - 1
    if alpha >= beta:
        m, b, z = alpha + y, q, (alpha - beta) / (alpha + y)
    else:
        m, b, z = beta + y, p, (beta - alpha) / (beta + y)
    return -a * np.log(m) - np.log(a) + log_hyp2f1_next(a, b, z)


def _log_dropout_mass(r, alpha, s, beta, x, t_x, T) -> np.ndarray:
    """ln J, J = ∫_{t_x}^T (α + τ)^−(r+x) (β + τ)^−(s+1) dτ (−inf when t_x = T)."""
    head = log_tail(r + x, s + 1, alpha, beta, t_x)
    return _mass_from_tails(head, log_tail(r + x, s + 1, alpha, beta, T), r, alpha, s, beta, x, t_x, T)


def _mass_from_tails(head, tail, r, alpha, s, beta, x, t_x, T) -> np.ndarray:
    """ln J from the tails ln I(t_x) (``head``) and ln I(T) (``tail``): their difference, or, where it would lose
    digits (a short interval), J integrated directly; −inf when t_x = T."""
    gap = np.minimum(tail - head, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = head + np.log(-np.expm1(gap))
    short = (gap > -_SHORT) & (t_x < T)
    if short.any():
        lo, hi, ps = t_x[short], T[short], (r + x)[short]
        tau = lo + (_SHORT_NODES[:, None] + 1) / 2 * (hi - lo)
        integrand = -ps * np.log(alpha + tau) - (s + 1) * np.log(beta + tau)
        out[short] = _log_sum(integrand, _SHORT_WEIGHTS, hi - lo)
    out[t_x >= T] = -np.inf
    return out


def _values(params) -> tuple[float, float, float, float]:
    """(r, α, s, β) from a mapping by name or a sequence in that order."""
    return tuple(float(params[k]) for k in NAMES) if isinstance(params, dict) else tuple(map(float, params))


def _parts(params, frequency, recency, T):
    """(ln of the alive-at-T term, ln of the died-in-between term), both without the common factor."""
    r, alpha, s, beta = _values(params)
    x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (frequency, recency, T)))
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    died = np.log(s) + _log_dropout_mass(r, alpha, s, beta, x, t_x, T)
    return alive, died


def row_log_likelihood(params, frequency, recency, T) -> np.ndarray:
    """Each customer's Pareto/NBD log-likelihood (Fader & Hardie 2005, eq. 18), finite for every history.

    ``params`` is a mapping with r, alpha, s, beta or a sequence in that order; times in one unit.
    """
    r, alpha, s, beta = _values(params)
    x = np.asarray(frequency, dtype=float)
    alive, died = _parts((r, alpha, s, beta), x, recency, T)
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return common + np.logaddexp(alive, died)


def probability_alive(params, frequency, recency, T) -> np.ndarray:
    """P(alive at T | x, t_x, T) = 1 / (1 + s·J / ((α + T)^−(r+x) (β + T)^−s)); exactly 1 when t_x = T."""
    alive, died = _parts(params, frequency, recency, T)
    return np.exp(alive - np.logaddexp(alive, died))


def expected_purchases(params, t, frequency, recency, T) -> np.ndarray:
    """Expected purchases in the next ``t`` (Fader & Hardie 2005, eq. 41), with P(alive) from
    :func:`probability_alive`:

        (r + x)(β + T) / ((α + T)(s − 1)) · [1 − ((β + T)/(β + T + t))^(s−1)] · P(alive),

    whose s → 1 limit is (r + x)(β + T)/(α + T) · ln((β + T + t)/(β + T)) · P(alive).
    """
    return expected_purchases_if_alive(params, t, frequency, T) * probability_alive(params, frequency, recency, T)


def expected_purchases_if_alive(params, t, frequency, T) -> np.ndarray:
    """Expected purchases in the next ``t`` of a customer alive at T: the factor of :func:`expected_purchases`
    that does not depend on t_x (``t`` may be a column against rows, giving rows × times)."""
    r, alpha, s, beta = _values(params)
    x, T = np.asarray(frequency, dtype=float), np.asarray(T, dtype=float)
    shrink = np.log(beta + T) - np.log(beta + T + np.asarray(t, dtype=float))  # ≤ 0
    horizon = -shrink if abs(s - 1) < 1e-12 else -np.expm1((s - 1) * shrink) / (s - 1)
    return (r + x) * (beta + T) / (alpha + T) * horizon


@dataclass(frozen=True)
class Fit:
    """Maximum-likelihood Pareto/NBD parameters (time in the data's unit) and the optimiser's account."""

    params: dict
    log_likelihood: float
    iterations: int
    evaluations: int
    converged: bool
    message: str
    at_bound: bool = False


class _Rows:
    """Distinct histories with weights, prepared once for the many evaluations of a fit: everything that depends
    on one of x, t_x or T alone, or on (x, time) pairs, is computed on its distinct values and indexed."""

    def __init__(self, x, t_x, T, weights, scale):
        self.x, self.t_x, self.T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        self.t_x, self.T = self.t_x * scale, self.T * scale
        self.w = np.asarray(weights, dtype=float)
        self.total = float(self.w.sum())
        n = len(self.x)
        self.xs, self.x_of = np.unique(self.x, return_inverse=True)
        self.Ts, self.T_of = np.unique(self.T, return_inverse=True)
        times, time_of = np.unique(np.concatenate([self.t_x, self.T]), return_inverse=True)
        pair_codes, pair_of = np.unique(np.tile(self.x_of, 2) * len(times) + time_of, return_inverse=True)
        self.ux, self.uy = self.xs[pair_codes // len(times)], times[pair_codes % len(times)]
        self.head, self.tail = pair_of[:n], pair_of[n:]
        self.wx = np.bincount(self.x_of, weights=self.w)  # customers per distinct x

    def log_likelihood(self, r, alpha, s, beta) -> float:
        tails = log_tail(r + self.ux, s + 1, alpha, beta, self.uy)
        mass = _mass_from_tails(tails[self.head], tails[self.tail], r, alpha, s, beta, self.x, self.t_x, self.T)
        log_alpha_T, log_beta_T = np.log(alpha + self.Ts)[self.T_of], np.log(beta + self.Ts)[self.T_of]
        alive = -(r + self.x) * log_alpha_T - s * log_beta_T
        common = np.dot(self.wx, gammaln(r + self.xs)) - self.total * gammaln(r)
        common += self.total * (r * np.log(alpha) + s * np.log(beta))
        return float(common + np.dot(self.w, np.logaddexp(alive, np.log(s) + mass)))


def fit(frequency, recency, T, weights=None, *, penalizer: float = 0.0, start=None) -> Fit:
    """Maximum likelihood on the distinct histories (``weights``: customers per row).

    Times are rescaled so that the longest T is 10 (as lifetimes does), the four parameters are optimised on the
    log scale by L-BFGS-B from r = α = s = β = 1 (scaled) or ``start``, and α, β are scaled back. The objective is
    the mean log-likelihood per customer minus ``penalizer`` × the sum of the squared (scaled) parameters.
    """
    x, t_x, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    weights = np.ones(len(T)) if weights is None else np.asarray(weights, dtype=float)
    scale = 10.0 / float(T.max()) if T.max() > 0 else 1.0
    theta = np.zeros(4) if start is None else np.log(np.asarray(start, dtype=float) * [1, scale, 1, scale])
    result, calls = _optimise(_Rows(x, t_x, T, weights, scale), theta, penalizer)
    r, alpha, s, beta = np.exp(result.x)
    params = {"r": float(r), "alpha": float(alpha / scale), "s": float(s), "beta": float(beta / scale)}
    with np.errstate(all="ignore"):
        total = float(np.dot(weights, row_log_likelihood(params, x, t_x, T)))
    at_bound = bool(np.any(np.abs(result.x) >= _BOUND - 0.1))  # the optimum lies outside what it may search
    return Fit(params, total, int(result.nit), calls, bool(result.success), str(result.message), at_bound)


def _optimise(rows: _Rows, theta: np.ndarray, penalizer: float):
    calls = [0]

    def objective(theta):
        calls[0] += 1
        params = np.exp(theta)
        with np.errstate(all="ignore"):
            value = -rows.log_likelihood(*params) / rows.total + penalizer * float(np.sum(params**2))
        return value if np.isfinite(value) else 1e300

    result = optimize.minimize(
        objective,
        theta,
        method="L-BFGS-B",
        bounds=[(-_BOUND, _BOUND)] * 4,
        options={"ftol": 1e-11, "gtol": 1e-9, "maxiter": 500},
    )
    return result, calls[0]
