"""Buy-till-you-die models: BG/NBD, Pareto/NBD, MBG/NBD for purchases, Gamma–Gamma for spend.

Each purchase model is one :class:`PurchaseModel` entry in :data:`REGISTRY`: its name, its lifetimes fitter and
the maths the app needs beside lifetimes' predictions (dropout, survival, churn what-ifs, likelihood). Code that
needs a model's behaviour asks its entry instead of comparing model names. lifetimes predicts BG/NBD, MBG/NBD and
Gamma–Gamma; their fits maximise lifetimes' objectives with analytic gradients (:mod:`clv_core.likelihood`: the
same estimates, without autograd's cost). Pareto/NBD's likelihood, fit, P(alive) and conditional expectations
are our own (:mod:`clv_core.paretonbd`), because lifetimes' overflow for heavy buyers and its fit is slow on
large bases.

Models are fitted on the *distinct* (frequency, recency, T) rows with their counts as weights, which gives the
same parameters as fitting every customer and is much faster on large bases. Log-likelihoods are recomputed on
the unscaled data with no penalty, so the models can be compared (lifetimes' own objective differs by model).
"""

from __future__ import annotations

import abc
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from lifetimes.utils import ConvergenceError
from scipy import stats
from scipy.special import expit, gammaln, hyp2f1

from clv_core import likelihood, paretonbd
from clv_core.errors import ClvError
from clv_core.names import PURCHASE_MODEL_KEYS
from clv_core.summary import TIME_UNITS, CustomerSummary

PENALIZERS = (0.0, 0.001, 0.01, 0.1)
MIN_CUSTOMERS = 20
MIN_REPEAT_BUYERS = 20


@dataclass(frozen=True)
class PurchaseModel(abc.ABC):
    """One purchase-count model: what it is called, how lifetimes fits it, and its own maths.

    Times ``t``, ``recency`` and ``T`` are in the fit's time unit; ``params`` are a fit's parameters by their
    lifetimes names.

    Attributes
    ----------
    key : str
        The short name used in code, the CLI and saved results (``"bgnbd"``).
    label : str
        The name shown to people (``"BG/NBD"``).
    fitter_class : type
        The lifetimes fitter that estimates it and gives its predictions.
    churn_meaning : str
        What a churn multiplier does to this model, completing "For BG/NBD it …".
    p_alive_note : str
        What P(alive) cannot say under this model ("" when it can be read at face value).
    """

    key: str
    label: str
    fitter_class: type
    churn_meaning: str
    p_alive_note: str = ""

    @abc.abstractmethod
    def mean_dropout(self, params: Mapping) -> float:
        """The average chance a customer drops out after a purchase, or per time unit (Pareto/NBD)."""

    @abc.abstractmethod
    def survival(self, params: Mapping, t) -> np.ndarray:
        """Share of customers not yet dropped out ``t`` units after their first purchase (1 at t = 0)."""

    @abc.abstractmethod
    def adjust_churn(self, params: Mapping, multiplier: float) -> dict:
        """Parameters whose mean dropout is ``multiplier`` times this one's (see ``churn_meaning``)."""

    @abc.abstractmethod
    def row_log_likelihood(self, params: Mapping, frequency, recency, T) -> np.ndarray:
        """Each row's log-likelihood, unweighted and unpenalised (NaN or ±inf where it cannot be computed)."""

    def log_likelihood(self, params: Mapping, frequency, recency, T, weights) -> float:
        """The data's log-likelihood: rows' terms times the customers each row stands for, summed."""
        terms = self.row_log_likelihood(params, frequency, recency, T)
        return float(np.sum(np.asarray(weights, dtype=float) * terms))

    @abc.abstractmethod
    def estimate(self, rows: pd.DataFrame, penalizer: float) -> tuple[dict, dict]:
        """(parameters, standard errors) fitted to distinct ``frequency, recency, T`` rows with customer counts
        ``w``. Raises ConvergenceError, ValueError or LinAlgError when it fails."""

    def _fitter(self, params: Mapping):
        fitter = self.fitter_class()
        fitter.params_ = pd.Series(dict(params))
        return fitter

    def probability_alive(self, params: Mapping, frequency, recency, T) -> np.ndarray:
        """P(alive) at T for each history (lifetimes' formula unless the model has its own)."""
        return np.asarray(self._fitter(params).conditional_probability_alive(frequency, recency, T), dtype=float)

    def expected_purchases(self, params: Mapping, t, frequency, recency, T) -> np.ndarray:
        """Expected purchases in the next ``t`` for each history (lifetimes' formula unless the model has its own)."""
        fitter = self._fitter(params)
        return np.asarray(fitter.conditional_expected_number_of_purchases_up_to_time(t, frequency, recency, T), float)

    @abc.abstractmethod
    def cumulative_factors(self, params: Mapping, ts, frequency, recency, T):
        """Expected purchases by each time in ``ts`` for each history, as ``(grid, pair, alive)``: history i's
        expectation at ts[j] is ``grid[pair[i], j] * alive[i]``, the expectation of a customer still alive (which
        depends on (x, T, t) only, so it is computed on the distinct (x, T) pairs, a few thousand rows however many
        customers) times the history's P(alive). This is what a forecast base needs: every month boundary at once,
        and P(alive) with it."""

    def cumulative_purchases(self, params: Mapping, ts, frequency, recency, T) -> np.ndarray:
        """:meth:`cumulative_factors` multiplied out: rows × len(ts)."""
        grid, pair, scale = self.cumulative_factors(params, ts, frequency, recency, T)
        return grid[pair] * scale[:, None]


@dataclass(frozen=True)
class BetaGeometricDropout(PurchaseModel):
    """BG/NBD: Poisson purchases at Gamma(r, α) rates; after each *repeat* purchase a customer drops out with a
    Beta(a, b) probability p.

    References
    ----------
    Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the Pareto/NBD model",
    Marketing Science 24(2), section 3 (the likelihood).
    """

    def mean_dropout(self, params: Mapping) -> float:
        return params["a"] / (params["a"] + params["b"])

    def survival(self, params: Mapping, t) -> np.ndarray:
        """S(t) = ₂F₁(r, a; a + b; −t/α): dropout comes after a geometric number of repeat purchases, an
        exponential time with rate λp, averaged over the rates and probabilities (nobody leaves before a repeat
        purchase)."""
        k = params
        return hyp2f1(k["r"], k["a"], k["a"] + k["b"], -np.asarray(t, dtype=float) / k["alpha"])

    def adjust_churn(self, params: Mapping, multiplier: float) -> dict:
        """a / (a + b) times ``multiplier`` (at most 0.999), keeping a + b, the strength of the Beta prior."""
        p = dict(params)
        total = p["a"] + p["b"]
        mean = min(p["a"] / total * multiplier, 0.999)
        p["a"], p["b"] = mean * total, (1 - mean) * total
        return p

    def estimate(self, rows: pd.DataFrame, penalizer: float) -> tuple[dict, dict]:
        """lifetimes' objective, standard errors and scaling, maximised with analytic gradients
        (:mod:`clv_core.likelihood`; lifetimes' autograd took 0.9 s of the 4.5 s from a million-row file to scores)."""
        modified = self._shift == (1, 0)
        result = likelihood.fit_beta_geometric(
            rows["frequency"], rows["recency"], rows["T"], rows["w"], penalizer=penalizer, modified=modified
        )
        if not result.converged:
            raise ConvergenceError(f"{self.label} did not converge: {result.message}")
        return result.params, result.standard_errors

    #: (c₀, c₁): the expectation's ₂F₁(r + x, b + x + c₀; a + b + x + c₁; ·) and its (a + b + x + c₁)/(a − 1).
    _shift = (0, -1)

    def probability_alive(self, params: Mapping, frequency, recency, T) -> np.ndarray:
        """1 / (1 + odds · ((α + T)/(α + t_x))^(r+x)), in logs (lifetimes' formula), the odds a/(b + x − 1) for
        BG/NBD (0 for one-time buyers) and a/(b + x) for MBG/NBD."""
        r, alpha, a, b = (float(params[k]) for k in ("r", "alpha", "a", "b"))
        x, t_x, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        with np.errstate(divide="ignore", invalid="ignore"):
            log_odds = np.log(self._dropout_odds(a, b, x)) + (r + x) * np.log((alpha + T) / (alpha + t_x))
            return np.atleast_1d(expit(-log_odds))

    def _dropout_odds(self, a, b, x):
        """a/(b + x − 1) for repeat buyers, 0 for one-time buyers: BG/NBD lets nobody drop out before a repeat."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x > 0, a / (b + (np.maximum(x, 1) - 1)), 0.0)  # b + (x − 1): b alone at x = 1

    def cumulative_factors(self, params: Mapping, ts, frequency, recency, T):
        """E[Y(t) | x, t_x, T] = (a + b + x − 1)/(a − 1) · [1 − ((α + T)/(α + T + t))^(r+x) ₂F₁(r + x, b + x;
        a + b + x − 1; t/(α + T + t))] / [1 + δ(x > 0) a/(b + x − 1) ((α + T)/(α + t_x))^(r+x)] (Fader, Hardie & Lee
        2005, eq. 10; MBG/NBD shifts b + x and a + b + x − 1 by one and counts dropout after the first purchase
        too). The bracket depends on (x, T, t) only, so it is computed on the distinct (x, T) pairs; the
        denominator once per history. Equal to lifetimes' formula (tested)."""
        r, alpha, a, b = (float(params[k]) for k in ("r", "alpha", "a", "b"))
        x, t_x, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        ts = np.asarray(ts, dtype=float)
        pair, px, pT = _distinct_pairs(x, T)
        c0, c1 = self._shift
        with np.errstate(all="ignore"):
            z = ts[None, :] / (alpha + pT[:, None] + ts[None, :])
            log_shrink = (r + px[:, None]) * np.log((alpha + pT[:, None]) / (alpha + pT[:, None] + ts[None, :]))
            p, q, c = r + px[:, None], b + px[:, None] + c0, a + b + px[:, None] + c1
            log_hyp = np.log(hyp2f1(p, q, c, z))
            # heavy buyers overflow ₂F₁ (and underflow the power, 0 · inf): Euler's transformation, in logs, as
            # lifetimes does for BG/NBD
            log_hyp = np.where(
                np.isinf(log_hyp), np.log(hyp2f1(c - p, c - q, c, z)) + (c - p - q) * np.log1p(-z), log_hyp
            )
            bracket = (a + b + px + c1)[:, None] / (a - 1) * -np.expm1(log_hyp + log_shrink)
        return bracket, pair, self.probability_alive(params, x, t_x, T)  # the denominator is 1/P(alive)

    def row_log_likelihood(self, params: Mapping, frequency, recency, T) -> np.ndarray:
        """ln[B(a, b + x)/B(a, b) · Γ(r + x) α^r / Γ(r) · ((α + T)^−(r+x) + δ(x > 0) a/(b + x − 1) (α + t_x)^−(r+x))],
        term by term as lifetimes writes it."""
        r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
        x, t_x, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        with np.errstate(all="ignore"):
            a_1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
            a_2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
            a_3 = -(r + x) * np.log(alpha + T)
            a_4 = np.log(a) - np.log(b + (np.maximum(x, 1) - 1)) - (r + x) * np.log(t_x + alpha)
            return a_1 + a_2 + np.logaddexp(a_3, np.where(x > 0, a_4, -np.inf))


@dataclass(frozen=True)
class ModifiedBetaGeometricDropout(BetaGeometricDropout):
    """MBG/NBD: as BG/NBD, but a customer may also drop out right after the first purchase, with probability p.

    References
    ----------
    Batislam, Denizel & Filiztekin (2007), "Empirical validation and comparison of models for customer base
    analysis", International Journal of Research in Marketing 24(3).
    """

    _shift = (1, 0)

    def _dropout_odds(self, a, b, x):
        """a/(b + x): MBG/NBD lets a customer drop out at every purchase, the first one included."""
        return a / (b + x)

    def survival(self, params: Mapping, t) -> np.ndarray:
        """S(t) = b/(a + b) · ₂F₁(r, a; a + b + 1; −t/α) for t > 0, and 1 at t = 0 (those who leave right after
        the first purchase are gone from any t > 0)."""
        k, t = params, np.asarray(t, dtype=float)
        later = k["b"] / (k["a"] + k["b"]) * hyp2f1(k["r"], k["a"], k["a"] + k["b"] + 1, -t / k["alpha"])
        return np.where(t > 0, later, 1.0)

    def row_log_likelihood(self, params: Mapping, frequency, recency, T) -> np.ndarray:
        """ln[B(a, b + x + 1)/B(a, b) · Γ(r + x) α^r / Γ(r) · ((α + T)^−(r+x) + a/(b + x) (α + t_x)^−(r+x))], term by
        term as lifetimes writes it."""
        r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
        x, t_x, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        with np.errstate(all="ignore"):
            a_1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
            a_2 = gammaln(a + b) + gammaln(b + x + 1) - gammaln(b) - gammaln(a + b + x + 1)
            a_3 = -(r + x) * np.log(alpha + T)
            a_4 = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
            return a_1 + a_2 + a_3 + np.logaddexp(a_4, 0)


@dataclass(frozen=True)
class ExponentialLifetime(PurchaseModel):
    """Pareto/NBD: Poisson purchases at Gamma(r, α) rates; each customer's lifetime is exponential with a
    Gamma(s, β) dropout rate, so a customer may leave at any time.

    References
    ----------
    Schmittlein, Morrison & Colombo (1987), "Counting your customers: who are they and what will they do next?",
    Management Science 33(1).
    Fader & Hardie (2005), "A note on deriving the Pareto/NBD model and related expressions", equation (18).
    """

    def mean_dropout(self, params: Mapping) -> float:
        return params["s"] / params["beta"]

    def survival(self, params: Mapping, t) -> np.ndarray:
        """S(t) = (β / (β + t))^s: exponential lifetimes averaged over the Gamma(s, β) dropout rates."""
        return (params["beta"] / (params["beta"] + np.asarray(t, dtype=float))) ** params["s"]

    def adjust_churn(self, params: Mapping, multiplier: float) -> dict:
        """s / β times ``multiplier``: β divided by it, keeping s (the spread of dropout rates)."""
        return {**params, "beta": params["beta"] / multiplier}

    def row_log_likelihood(self, params: Mapping, frequency, recency, T) -> np.ndarray:
        """Finite for every history (:mod:`clv_core.paretonbd`); lifetimes' own terms overflow to inf − inf for
        customers with many repeat purchases, the last near the end of the data."""
        return paretonbd.row_log_likelihood(params, frequency, recency, T)

    def estimate(self, rows: pd.DataFrame, penalizer: float) -> tuple[dict, dict]:
        """Our own vectorised maximum likelihood (:func:`clv_core.paretonbd.fit`): lifetimes' Nelder–Mead on its
        overflowing likelihood took 34 s on a 1M-row upload and stopped at a NaN on the full CDNOW data."""
        result = paretonbd.fit(rows["frequency"], rows["recency"], rows["T"], rows["w"], penalizer=penalizer)
        if not result.converged:
            raise ConvergenceError(f"Pareto/NBD did not converge: {result.message}")
        if result.at_bound:
            raise ConvergenceError("Pareto/NBD stopped at the edge of its parameter range")
        return result.params, {k: float("nan") for k in paretonbd.NAMES}

    def probability_alive(self, params: Mapping, frequency, recency, T) -> np.ndarray:
        return paretonbd.probability_alive(params, frequency, recency, T)

    def expected_purchases(self, params: Mapping, t, frequency, recency, T) -> np.ndarray:
        return paretonbd.expected_purchases(params, t, frequency, recency, T)

    def cumulative_factors(self, params: Mapping, ts, frequency, recency, T):
        """The expectation if alive on the distinct (x, T) pairs, and each history's P(alive) (see
        :func:`clv_core.paretonbd.expected_purchases`)."""
        alive = paretonbd.probability_alive(params, frequency, recency, T)
        x, T = np.asarray(frequency, dtype=float), np.asarray(T, dtype=float)
        pair, px, pT = _distinct_pairs(x, T)
        ts = np.asarray(ts, dtype=float)[None, :]
        return paretonbd.expected_purchases_if_alive(params, ts, px[:, None], pT[:, None]), pair, alive


def _distinct_pairs(x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(index of each row's pair, the distinct x, the distinct T) of the distinct (x, T) pairs."""
    x_codes, xs = pd.factorize(x)
    T_codes, Ts = pd.factorize(T)
    width = max(len(Ts), 1)
    pair, keys = pd.factorize(x_codes.astype(np.int64) * width + T_codes)
    return pair, np.asarray(xs, dtype=float)[keys // width], np.asarray(Ts, dtype=float)[keys % width]


#: Every purchase model by key, in the order the app offers them.
REGISTRY: dict[str, PurchaseModel] = {
    m.key: m
    for m in (
        BetaGeometricDropout(
            key="bgnbd",
            label="BG/NBD",
            fitter_class=BetaGeoFitter,
            churn_meaning="multiplies the mean probability of dropping out after each purchase, a / (a + b), "
            "keeping a + b",
            p_alive_note=(
                "BG/NBD's P(alive) is 1 for every one-time buyer by construction: the model lets customers drop out "
                "only after a repeat purchase, so P(alive) says nothing about one-time buyers; their recency does."
            ),
        ),
        ExponentialLifetime(
            key="paretonbd",
            label="Pareto/NBD",
            fitter_class=ParetoNBDFitter,
            churn_meaning="multiplies the mean dropout rate s / β (β is divided by the multiplier)",
        ),
        ModifiedBetaGeometricDropout(
            key="mbgnbd",
            label="MBG/NBD",
            fitter_class=ModifiedBetaGeoFitter,
            churn_meaning="multiplies the mean probability of dropping out at each purchase, a / (a + b), "
            "keeping a + b",
        ),
    )
}
#: Views of the registry that other modules import: key → lifetimes fitter class, and key → label (with the spend
#: model's).
if tuple(REGISTRY) != PURCHASE_MODEL_KEYS:  # the command line offers clv_core.names' keys without importing this
    raise ImportError(f"clv_core.names.PURCHASE_MODEL_KEYS {PURCHASE_MODEL_KEYS} differ from the registry's")
PURCHASE_MODELS = {key: m.fitter_class for key, m in REGISTRY.items()}
MODEL_LABELS = {**{key: m.label for key, m in REGISTRY.items()}, "gammagamma": "Gamma–Gamma"}
_FITTERS = {**PURCHASE_MODELS, "gammagamma": GammaGammaFitter}


def purchase_model(key: str) -> PurchaseModel:
    """The registry entry for ``key``; a :class:`ClvError` naming the choices for anything else.

    >>> purchase_model("paretonbd").label
    'Pareto/NBD'
    """
    try:
        return REGISTRY[key]
    except (KeyError, TypeError):
        raise ClvError(f"Model must be one of {', '.join(REGISTRY)}, not {key!r}.") from None


def label_to_key(label: str) -> str:
    """The key of the model shown as ``label`` (a backtest names its best model by label).

    >>> label_to_key("MBG/NBD")
    'mbgnbd'
    """
    for key, name in MODEL_LABELS.items():
        if name == label:
            return key
    raise ClvError(f"No model is called {label!r}; the models are {', '.join(MODEL_LABELS.values())}.")


@dataclass(frozen=True)
class FitResult:
    """A fitted model's parameters and diagnostics.

    Attributes
    ----------
    model : str
        ``"bgnbd"``, ``"paretonbd"``, ``"mbgnbd"`` or ``"gammagamma"``.
    params, standard_errors : dict
        Parameter names as in lifetimes (r, alpha, a, b, s, beta, p, q, v); rates are per ``time_unit``.
        Standard errors are NaN where lifetimes gives none (Pareto/NBD).
    log_likelihood : float
        On the unscaled data, without the penalty; NaN when some customer's term cannot be computed (see
        ``likelihood_note``).
    customers : int
        Customers the model was fitted on (Gamma–Gamma: repeat buyers with positive spend).
    time_unit : str
    penalizer : float
        The penalty that was needed for convergence (0 when none).
    notes : tuple of str
        How the fit was reached (a penalty it needed).
    likelihood_note : str
        Why ``log_likelihood`` is not finite, in words, naming how many customers' terms are not; "" when it is.
    """

    model: str
    params: dict
    standard_errors: dict
    log_likelihood: float
    customers: int
    time_unit: str
    penalizer: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)
    likelihood_note: str = ""

    @property
    def likelihood_is_finite(self) -> bool:
        """Whether the log-likelihood (and so AIC and BIC) can compare or check this fit."""
        return bool(np.isfinite(self.log_likelihood))

    @property
    def purchase_model(self) -> PurchaseModel:
        """This fit's registry entry (a :class:`ClvError` for the Gamma–Gamma spend model, which has none)."""
        return purchase_model(self.model)

    @property
    def aic(self) -> float:
        return 2 * len(self.params) - 2 * self.log_likelihood

    @property
    def bic(self) -> float:
        return len(self.params) * np.log(self.customers) - 2 * self.log_likelihood

    def fitter(self):
        """A lifetimes fitter carrying these parameters (for its prediction methods); nothing is refitted."""
        fitter = _FITTERS[self.model](penalizer_coef=self.penalizer)
        fitter.params_ = pd.Series(self.params)
        return fitter

    @property
    def mean_dropout(self) -> float:
        """The average chance a customer drops out after a purchase (BG/NBD, MBG/NBD), or per unit (Pareto/NBD)."""
        return self.purchase_model.mean_dropout(self.params)

    def expected_purchases(self, t, f, r, T) -> np.ndarray:
        """Expected purchases in the next ``t`` units for customers (frequency, recency, T).

        When the data show no dropout at all (a year of history in which everyone keeps buying), BG/NBD fits
        a, b → 0 and lifetimes' formula divides by almost 0 for one-time buyers. Those rows take the model's
        limit with no dropout (the NBD: a customer buys at the rate (r + x)/(α + T)), which is what the fit says
        about them to within its negligible dropout.
        """
        f, r, T = (np.asarray(v, dtype=float) for v in (f, r, T))
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = self.purchase_model.expected_purchases(self.params, t, f, r, T)
        broken = ~np.isfinite(out)
        if broken.any() and self.mean_dropout < NO_DROPOUT:
            out = out.copy()
            out[broken] = (self.params["r"] + f[broken]) / (self.params["alpha"] + T[broken]) * t
        return out

    def cumulative_factors(self, ts, f, r, T):
        """Expected purchases by each time in ``ts`` as ``(grid, pair, alive)`` (see
        :meth:`PurchaseModel.cumulative_factors`), with :meth:`expected_purchases`' and :meth:`probability_alive`'s
        limits where the formulas break down on a fit with no dropout (then one grid row per history)."""
        f, r, T = (np.asarray(v, dtype=float) for v in (f, r, T))
        ts = np.asarray(ts, dtype=float)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            grid, pair, alive = self.purchase_model.cumulative_factors(self.params, ts, f, r, T)
            if (np.isfinite(grid).all() and np.isfinite(alive).all()) or self.mean_dropout >= NO_DROPOUT:
                return grid, pair, alive
            out = grid[pair] * alive[:, None]
            limit = (self.params["r"] + f[:, None]) / (self.params["alpha"] + T[:, None]) * ts[None, :]
            broken = ~(np.isfinite(out).all(axis=1) & np.isfinite(alive))
            # a row that takes the no-dropout limit is a customer still alive; the others keep the model's figures
            alive = np.where(broken, 1.0, self.probability_alive(f, r, T))
            if_alive = np.where(broken[:, None], limit, out / np.where(alive > 0, alive, 1.0)[:, None])
        return if_alive, np.arange(len(f)), alive

    def cumulative_purchases(self, ts, f, r, T) -> np.ndarray:
        """Expected purchases by each time in ``ts``: rows × len(ts) (:meth:`cumulative_factors` multiplied out)."""
        grid, pair, scale = self.cumulative_factors(ts, f, r, T)
        return grid[pair] * scale[:, None]

    def probability_alive(self, f, r, T) -> np.ndarray:
        """P(alive) at the end of the data; 1 where the formula breaks down on a fit with no dropout."""
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = self.purchase_model.probability_alive(self.params, f, r, T)
        broken = ~np.isfinite(out)
        if broken.any() and self.mean_dropout < NO_DROPOUT:
            out = np.where(broken, 1.0, out)
        return out

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "params": self.params,
            "log_likelihood": self.log_likelihood,
            "customers": self.customers,
            "time_unit": self.time_unit,
            "penalizer": self.penalizer,
            "notes": [*self.notes, self.likelihood_note] if self.likelihood_note else list(self.notes),
        }


def implied_survival(fit: FitResult, days) -> np.ndarray:
    """Share of customers the purchase model says have not dropped out ``days`` after their first purchase
    (the population curve, from the fitted parameters; comparable to a Kaplan–Meier curve of lifetimes).

    Each model's formula is its registry entry's ``survival`` (:meth:`PurchaseModel.survival`). Given a customer's
    purchase rate λ and dropout probability p, dropout comes after a geometric number of repeat purchases, an
    exponential time with rate λp; averaging over the Gamma(r, α) rates and Beta(a, b) dropout probabilities gives,
    with t in the model's time unit:

    - BG/NBD: S(t) = ₂F₁(r, a; a + b; −t/α) (nobody leaves before a repeat purchase);
    - MBG/NBD: S(t) = b/(a + b) · ₂F₁(r, a; a + b + 1; −t/α) for t > 0 (a customer may leave right after the
      first purchase, with probability p);
    - Pareto/NBD: S(t) = (β / (β + t))^s (exponential lifetimes with Gamma(s, β) dropout rates).

    >>> fit = FitResult("paretonbd", {"r": 1, "alpha": 1, "s": 2.0, "beta": 7.0}, {}, 0.0, 1, "days")
    >>> implied_survival(fit, [0, 7, 21]).round(4).tolist()
    [1.0, 0.25, 0.0625]
    """
    return fit.purchase_model.survival(fit.params, np.asarray(days, dtype=float) / TIME_UNITS[fit.time_unit])


#: Below this mean dropout a purchase model is, for every practical purpose, the no-dropout NBD.
NO_DROPOUT = 1e-6


def compress(table: pd.DataFrame) -> pd.DataFrame:
    """Distinct (frequency, recency, T) rows with a ``weight`` column counting the customers in each."""
    return table.groupby(["frequency", "recency", "T"], sort=False).size().rename("weight").reset_index()


def check_purchase_data(summary: CustomerSummary, weights: np.ndarray | None = None) -> None:
    """Refuse data a purchase model cannot learn from, saying what to do (``weights``: customers per row)."""
    t = summary.table
    w = np.ones(len(t)) if weights is None else np.asarray(weights, dtype=float)
    n, repeaters = int(w.sum()), int(w[t["frequency"].to_numpy() > 0].sum())
    if n < MIN_CUSTOMERS:
        raise ClvError(f"The models need at least {MIN_CUSTOMERS} customers (you have {n}). Load more history.")
    if (t["T"] <= 0).all():
        raise ClvError(
            "Every customer's first purchase is on the last day of the data, so there is no time to learn from. "
            "Choose a later observation end or load more history."
        )
    if repeaters < MIN_REPEAT_BUYERS:
        raise ClvError(
            f"The models need at least {MIN_REPEAT_BUYERS} customers who bought more than once (you have {repeaters}); "
            "with fewer they return meaningless parameters. Load a longer history. "
            "Cohorts, RFM and survival pages still work."
        )


def fit_purchases(summary: CustomerSummary, model: str = "bgnbd", *, weights: np.ndarray | None = None) -> FitResult:
    """Fit a purchase-count model, retrying with increasing penalizers if it does not converge.

    Parameters
    ----------
    summary : CustomerSummary
    model : {"bgnbd", "paretonbd", "mbgnbd"}
    weights : numpy.ndarray, optional
        Count of each customer (bootstrap resamples); default 1 each.

    References
    ----------
    Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science 24(2).
    Schmittlein, Morrison & Colombo (1987), Management Science 33(1) (Pareto/NBD).
    Batislam, Denizel & Filiztekin (2007), IJRM 24(3) (MBG/NBD).
    """
    spec = purchase_model(model)
    check_purchase_data(summary, weights)
    table = summary.table[["frequency", "recency", "T"]].assign(w=1 if weights is None else weights)
    rows = table[table["w"] > 0].groupby(["frequency", "recency", "T"], sort=False)["w"].sum().reset_index()
    failure = ""
    for penalizer in PENALIZERS:
        try:
            params, standard_errors = spec.estimate(rows, penalizer)
        except (ConvergenceError, ValueError, np.linalg.LinAlgError) as exc:
            failure = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            continue
        implausible = _implausible(params)
        if implausible:
            failure = implausible
            continue
        notes = (f"Fitted with penalizer {penalizer}: the unpenalised fit did not converge.",) if penalizer else ()
        terms = spec.row_log_likelihood(params, rows["frequency"], rows["recency"], rows["T"])
        weights = rows["w"].to_numpy(dtype=float)
        log_likelihood = float(np.sum(weights * terms))
        return FitResult(
            model=model,
            params=params,
            standard_errors=standard_errors,
            log_likelihood=log_likelihood,
            customers=int(weights.sum()),
            time_unit=summary.time_unit,
            penalizer=penalizer,
            notes=notes,
            likelihood_note="" if np.isfinite(log_likelihood) else likelihood_note(terms, rows, summary.time_unit),
        )
    raise ClvError(
        f"The {spec.label} model did not give usable parameters, even with a penalty ({failure}). "
        "Try another model, a longer history or a different time unit."
    )


def _implausible(params: dict) -> str:
    """Parameters that mean the model learned nothing (e.g. r ≈ 0.0001, α ≈ 425,740 with no repeat buyers)."""
    values = np.array(list(params.values()))
    if not np.all(np.isfinite(values)) or (values <= 0).any():
        return "non-finite or non-positive parameters"
    if params.get("r", 1) < 1e-3 or max(params.get("alpha", 0), params.get("beta", 0)) > 1e5:
        return f"implausible parameters ({', '.join(f'{k}={v:.4g}' for k, v in params.items())})"
    return ""


def likelihood_note(terms: np.ndarray, rows: pd.DataFrame, time_unit: str) -> str:
    """Why a log-likelihood is not finite, for people: how many customers' terms are not, and the most extreme
    of them (the most repeat purchases), e.g. a Pareto/NBD fit on the full CDNOW data:

    "The likelihood overflows for 1 customer (170 repeat purchases, the last on the final day); the parameters may
    be fine but the fit cannot be compared or checked by likelihood."

    Parameters
    ----------
    terms : numpy.ndarray
        Each row's log-likelihood (:meth:`PurchaseModel.row_log_likelihood`).
    rows : pandas.DataFrame
        ``frequency``, ``recency``, ``T`` (in ``time_unit``) and ``w``, the customers each row stands for.
    time_unit : str
        A key of ``TIME_UNITS``.
    """
    terms = np.asarray(terms, dtype=float)
    broken = ~np.isfinite(terms)
    if not broken.any():
        return ""
    customers = round(float(rows["w"].to_numpy(dtype=float)[broken].sum()))
    worst = rows[broken].sort_values("frequency", kind="stable").iloc[-1]
    days_before_end = round((float(worst["T"]) - float(worst["recency"])) * TIME_UNITS[time_unit])
    if worst["frequency"] == 0:
        who = "no repeat purchases"
    else:
        last = "on the final day" if days_before_end == 0 else f"{days_before_end:,} days before the end"
        who = f"{int(worst['frequency']):,} repeat purchase{'s' if worst['frequency'] != 1 else ''}, the last {last}"
    # NaN is what inf − inf leaves; −inf alone is a probability that rounded to 0
    what = "is zero" if (terms[broken] == -np.inf).all() else "overflows"
    many = "the most extreme has " if customers > 1 else ""
    return (
        f"The likelihood {what} for {customers:,} customer{'s' if customers != 1 else ''} ({many}{who}); the "
        "parameters may be fine but the fit cannot be compared or checked by likelihood."
    )


@dataclass(frozen=True)
class SpendCheck:
    """Gamma–Gamma assumes spend per order does not depend on how often a customer buys."""

    correlation: float
    p_value: float
    ok: bool
    sentence: str


def spend_frequency_check(summary: CustomerSummary, *, threshold: float = 0.3) -> SpendCheck:
    """Pearson correlation of frequency and mean spend among repeat buyers, with a verdict in words."""
    t = summary.table
    repeat = t[(t["frequency"] > 0) & (t["monetary_value"] > 0)]
    if len(repeat) < 3:
        return SpendCheck(
            float("nan"), float("nan"), False, "Too few repeat buyers to check the Gamma–Gamma assumption."
        )
    corr, p = stats.pearsonr(repeat["frequency"], repeat["monetary_value"])
    ok = abs(corr) < threshold
    sentence = (
        f"Frequency and spend per order are {'nearly independent' if ok else 'correlated'} (r = {corr:.2f}). "
        + (
            "Gamma–Gamma's assumption holds."
            if ok
            else "Gamma–Gamma assumes they are independent, so its spend predictions may be biased."
        )
    )
    return SpendCheck(float(corr), float(p), bool(ok), sentence)


def gamma_gamma_log_likelihood(params: Mapping[str, float], frequency, monetary_value, weights=None) -> float:
    """The Gamma–Gamma log-likelihood of repeat buyers' mean spends (Fader & Hardie, "The Gamma-Gamma Model of
    Monetary Value", 2013, equation 1a): for ``x`` repeat purchases of mean value ``m``,

    Γ(px+q) / (Γ(px) Γ(q)) · v^q · m^(px−1) · x^(px) / (v + x·m)^(px+q),

    summed over customers (each ``weights`` times). Without a penalty, unlike the fitter's objective.

    >>> round(gamma_gamma_log_likelihood({"p": 6.25, "q": 3.74, "v": 15.44}, [1, 4], [35.0, 12.5]), 6)
    -8.076608
    """
    p, q, v = (float(params[k]) for k in ("p", "q", "v"))
    x, m = np.asarray(frequency, dtype=float), np.asarray(monetary_value, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    each = (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(v + x * m)
    )
    return float((each * w).sum())


def fit_spend(summary: CustomerSummary, *, weights: np.ndarray | None = None) -> FitResult:
    """Fit Gamma–Gamma on repeat buyers with positive mean spend.

    References
    ----------
    Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves", JMR 42(4).
    """
    t = summary.table.assign(w=1 if weights is None else weights)
    repeat = t[(t["frequency"] > 0) & (t["monetary_value"] > 0) & (t["w"] > 0)]
    if len(repeat) < MIN_REPEAT_BUYERS:
        raise ClvError(
            f"Gamma–Gamma needs at least {MIN_REPEAT_BUYERS} repeat buyers with positive spend "
            f"(you have {len(repeat)})."
        )
    rows = repeat.groupby(["frequency", "monetary_value"], sort=False)["w"].sum().reset_index()
    failure = ""
    for penalizer in PENALIZERS:
        result = likelihood.fit_gamma_gamma(rows["frequency"], rows["monetary_value"], rows["w"], penalizer=penalizer)
        if not result.converged:
            failure = result.message
            continue
        params = result.params
        if params["q"] <= 1 or not np.all(np.isfinite(list(params.values()))):
            failure = f"q = {params['q']:.3g} ≤ 1 gives no finite mean spend"
            continue
        ll = gamma_gamma_log_likelihood(
            params, rows["frequency"].to_numpy(), rows["monetary_value"].to_numpy(), rows["w"].to_numpy()
        )
        return FitResult(
            model="gammagamma",
            params=params,
            standard_errors=result.standard_errors,
            log_likelihood=float(ll),
            customers=int(rows["w"].sum()),
            time_unit=summary.time_unit,
            penalizer=penalizer,
            notes=(f"Fitted with penalizer {penalizer}.",) if penalizer else (),
        )
    raise ClvError(f"The Gamma–Gamma spend model could not be fitted ({failure}).")


def expected_order_values(spend: FitResult, frequency, monetary_value) -> np.ndarray:
    """Each customer's expected spend per order from a Gamma–Gamma fit: the conditional expectation, which weighs
    the customer's own mean spend against the population's by how many repeat orders back it, for every repeat
    buyer (one whose repeat orders came to 0 included: their record says they spend little, so they are valued
    below the average, not at it); the population mean for one-time buyers, who have no repeat spend to go on
    (and for a negative mean, which the model cannot take).

    >>> fit = FitResult("gammagamma", {"p": 6.25, "q": 3.74, "v": 15.44}, {}, 0.0, 1, "weeks")
    >>> expected_order_values(fit, [0, 2, 2, 40], [0.0, 0.0, 35.0, 35.0]).round(2).tolist()
    [35.22, 6.33, 35.04, 35.0]
    """
    f, m = np.asarray(frequency, dtype=float), np.asarray(monetary_value, dtype=float)
    p, q, v = (spend.params[k] for k in ("p", "q", "v"))
    value = np.full(len(f), p * v / (q - 1))
    repeat = (f > 0) & (m >= 0)
    value[repeat] = spend.fitter().conditional_expected_average_profit(f[repeat], m[repeat])
    return value


def compare_models(summary: CustomerSummary) -> pd.DataFrame:
    """Fit every purchase model; log-likelihood, AIC and BIC side by side (failures and non-finite likelihoods say
    why, in ``note``)."""
    results = {}
    for key in REGISTRY:
        try:
            results[key] = fit_purchases(summary, key)
        except ClvError as exc:
            results[key] = exc
    return comparison_table(results)


def comparison_table(results: dict[str, FitResult | ClvError]) -> pd.DataFrame:
    """The comparison of fits already made (model key → fit, or the error that stopped it), in registry order."""
    rows = []
    for spec in REGISTRY.values():
        fit = results[spec.key]
        if isinstance(fit, ClvError):
            rows.append({"model": spec.label, "log-likelihood": np.nan, "AIC": np.nan, "BIC": np.nan, "note": str(fit)})
            continue
        rows.append(
            {
                "model": spec.label,
                "log-likelihood": fit.log_likelihood,
                "AIC": fit.aic,
                "BIC": fit.bic,
                "note": "; ".join([*fit.notes, fit.likelihood_note] if fit.likelihood_note else fit.notes),
            }
        )
    return pd.DataFrame(rows)


def repeat_purchase_fit(fit: FitResult, summary: CustomerSummary, *, max_count: int = 7) -> pd.DataFrame:
    """Customers by number of repeat purchases: actual vs expected under the model (last bucket is "7+").

    The expected count sums, over customers, the model's probability of x repeat purchases in each customer's
    own observation time T.
    """
    fitter = fit.fitter()
    if not hasattr(fitter, "probability_of_n_purchases_up_to_time"):
        raise ClvError(
            f"The repeat-purchase check is not available for {MODEL_LABELS[fit.model]}: lifetimes gives no "
            "P(X(t) = x) for it. The model comparison above and the Model validation page test it instead."
        )
    t = summary.table
    Ts, counts = np.unique(t["T"].to_numpy(), return_counts=True)
    expected = np.zeros(max_count + 1)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for x in range(max_count):
            probs = np.array([float(fitter.probability_of_n_purchases_up_to_time(T, x)) for T in Ts])
            expected[x] = np.nansum(probs * counts)
    expected[max_count] = len(t) - expected[:max_count].sum()
    actual = np.bincount(np.minimum(t["frequency"].astype(int), max_count), minlength=max_count + 1)
    labels = [str(i) for i in range(max_count)] + [f"{max_count}+"]
    return pd.DataFrame({"repeat purchases": labels, "actual": actual, "expected": expected})
