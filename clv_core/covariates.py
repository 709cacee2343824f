"""Purchase models whose rates depend on what is known about a customer at the first purchase.

BG/NBD, MBG/NBD and Pareto/NBD with time-invariant attributes (acquisition channel, country, first product, first
order value): each customer's purchase rate and dropout are scaled by exp(γ·x), x the customer's 0/1 indicators of
the attribute levels other than each attribute's largest (the reference), as R's CLVTools does for "static
covariates" and Fader & Hardie's note on time-invariant covariates describes. For a customer with indicators x:

* purchase rate λ ~ Gamma(r, α·e^(−γₚ·x)): the mean rate r/α is multiplied by e^(γₚ·x) (all three models);
* Pareto/NBD dropout rate μ ~ Gamma(s, β·e^(−γ_d·x)): the mean dropout rate is multiplied by e^(γ_d·x);
* BG/NBD and MBG/NBD dropout chance p ~ Beta(a·e^(γ_d·x), b): while p is small (it is for any customer base that
  buys more than once) the mean chance of dropping out after a purchase, a/(a + b), is multiplied by about
  e^(γ_d·x). CLVTools scales a and b together, which moves the spread of p and leaves its mean alone; scaling a
  alone makes γ_d mean what a marketer reads it as.

Every customer with the same indicators has the plain model's likelihood with those scaled parameters, so the
likelihood is the plain one summed over the distinct combinations ("patterns"), each on its distinct histories:
BG/NBD's with its analytic gradient (:mod:`clv_core.likelihood`), Pareto/NBD's (:mod:`clv_core.paretonbd`) with a
gradient by central differences in its four parameters, both carried to the coefficients by the chain rule. With no
attributes the model is the plain one (tested).

References
----------
Fader & Hardie (2007), "Incorporating time-invariant covariates into the Pareto/NBD and BG/NBD models".
Bachmann, Meierer & Näf (2021), "The role of time-varying contextual factors in latent attrition models for
customer base analysis" (CLVTools' static and dynamic covariates).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from clv_core import likelihood, paretonbd, validation
from clv_core.cohorts import first_purchase_attributes
from clv_core.errors import ClvError
from clv_core.ingest import BLANK_ATTRIBUTE, Transactions
from clv_core.models import (
    MODEL_LABELS,
    PENALIZERS,
    FitResult,
    expected_order_values,
    fit_purchases,
    fit_spend,
    purchase_model,
)
from clv_core.runs import runs
from clv_core.summary import CustomerSummary

#: The attribute built from every customer's first purchase day's spend (quartiles of it).
FIRST_ORDER = "first order value"
#: Levels kept per attribute: the largest ones, with at least MIN_CUSTOMERS customers, and "Other" for the rest.
MAX_LEVELS = 6
MIN_CUSTOMERS = 30
OTHER = "Other"
MISSING = "Not recorded"
#: Models that take attributes, by key.
MODELS = ("bgnbd", "mbgnbd", "paretonbd")
#: The coefficients' range searched (e^10: a factor of 22,000 between two groups of customers).
_COEFFICIENT_BOUND = 10.0
#: The likelihood-ratio p-value under which the attributes count as improving the fit.
SIGNIFICANT = 0.05
#: The least share by which the attributes must lower the holdout error to be offered (0.531 against 0.532 is
#: no reason to change a forecast).
MIN_GAIN = 0.01
#: Most attributes at once (each adds up to five indicators and two coefficients each; Pareto/NBD's numeric
#: gradient costs a fit per distinct pattern of values).
MAX_ATTRIBUTES = 3
#: Two indicators equal for this share of customers describe the same customers: their effects cannot be told
#: apart.
SAME_CUSTOMERS = 0.98
#: A coefficient whose standard error is above this (95 % interval wider than a factor of 10⁵) is not measured.
UNMEASURABLE = 3.0
_BOUND = 12.0
_Z = float(stats.norm.ppf(0.975))


def customer_attributes(transactions: Transactions) -> pd.DataFrame:
    """What is known about each customer at the first purchase, indexed by customer id: the data's attributes
    (as recorded on the first purchase), the first product when there is a product column, and the first
    purchase day's spend in quartiles (:data:`FIRST_ORDER`)."""
    data = transactions.data
    table = first_purchase_attributes(transactions)
    r = runs(data)
    first_spend = r.per_day(data["amount"].to_numpy(dtype=float))[r.first_day_index]
    table[FIRST_ORDER] = _quartiles(first_spend).to_numpy()
    return table


def _quartiles(values: np.ndarray) -> pd.Series:
    """Each value's quartile, labelled with its range (ties keep equal values together, so there may be fewer)."""
    edges = np.unique(np.quantile(values, [0, 0.25, 0.5, 0.75, 1]))
    if len(edges) < 2:
        return pd.Series(np.full(len(values), "All"), dtype=object)
    codes = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    labels = []
    for i in range(len(edges) - 1):
        low, high = f"{edges[i]:,.2f}", f"{edges[i + 1]:,.2f}"
        if i == 0:
            labels.append(f"under {high}")
        elif i == len(edges) - 2:
            labels.append(f"{low} and over")
        else:
            labels.append(f"{low} to {high}")
    return pd.Series(np.asarray(labels, dtype=object)[codes], dtype=object)


@dataclass(frozen=True)
class Design:
    """Customers' attribute indicators, in the order of a summary's customers.

    ``levels`` holds each customer's (pooled) level of every attribute; ``references`` each attribute's reference
    level (its largest); ``terms`` the (attribute, level) of each indicator column; ``patterns`` the distinct rows
    of indicators and ``pattern_of`` each customer's.
    """

    attributes: tuple[str, ...]
    levels: pd.DataFrame
    references: dict
    terms: tuple[tuple[str, str], ...]
    patterns: np.ndarray
    pattern_of: np.ndarray


def design(attributes: pd.DataFrame, customer_ids, columns) -> Design:
    """The indicators of ``columns`` of the attribute table for the customers ``customer_ids`` (in that order).

    Levels with fewer than :data:`MIN_CUSTOMERS` customers, or beyond the :data:`MAX_LEVELS` − 1 largest, are pooled
    as "Other"; a missing value is a level of its own ("Not recorded"). An attribute with fewer than two levels
    left cannot explain anything and is refused with its reason."""
    columns = tuple(dict.fromkeys(columns))
    if len(columns) > MAX_ATTRIBUTES:
        raise ClvError(f"Choose at most {MAX_ATTRIBUTES} attributes at once, not {len(columns)}.")
    unknown = [c for c in columns if c not in attributes]
    if unknown:
        offered = ", ".join(attributes.columns) or "none"
        raise ClvError(f"There is no attribute {', '.join(map(repr, unknown))}; this data has: {offered}.")
    table = attributes.reindex(pd.Index(customer_ids))
    levels, references, terms = {}, {}, []
    for column in columns:
        values = table[column].astype(object).where(table[column].notna(), MISSING).astype(str)
        values = values.where(~values.str.strip().isin(["", BLANK_ATTRIBUTE]), MISSING)
        counts = values.value_counts()
        kept = [level for level, n in counts.items() if n >= MIN_CUSTOMERS and level != OTHER][: MAX_LEVELS - 1]
        pooled = values.where(values.isin(kept), OTHER)
        counts = pooled.value_counts()
        if len(counts) < 2 or (counts.iloc[1] < MIN_CUSTOMERS and len(counts) == 2 and OTHER in counts.index):
            raise ClvError(
                f"The attribute {column!r} has too few customers outside its most common value "
                f"({counts.index[0]!r}) to compare: at least {MIN_CUSTOMERS} are needed in a second value."
            )
        ranked = list(counts.index)
        if column == FIRST_ORDER:  # quarters in their order, the lowest the reference
            ranked = sorted(ranked, key=_lower_bound)
        references[column] = str(ranked[0])
        levels[column] = pooled.to_numpy()
        order = [level for level in ranked[1:] if level != OTHER] + ([OTHER] if OTHER in ranked[1:] else [])
        terms.extend((column, str(level)) for level in order)
    frame = pd.DataFrame(levels, index=table.index)
    if not terms:
        return Design(columns, frame, references, (), np.zeros((1, 0)), np.zeros(len(frame), dtype=np.int64))
    matrix = np.column_stack([frame[c].to_numpy() == level for c, level in terms]).astype(float)
    _refuse_duplicates(matrix, terms)
    patterns, pattern_of = np.unique(matrix, axis=0, return_inverse=True)
    return Design(columns, frame, references, tuple(terms), patterns, np.asarray(pattern_of).reshape(-1))


def _lower_bound(label: str) -> float:
    """The lower end of a first-order quarter's label ("under 14.37" → −inf, "23.54 to 39.35" → 23.54)."""
    if label.startswith("under"):
        return -np.inf
    try:
        return float(label.split(" ")[0].replace(",", ""))
    except ValueError:
        return np.inf


def _refuse_duplicates(matrix: np.ndarray, terms) -> None:
    """Refuse two indicators of different attributes that are equal for nearly every customer (a plan and the
    product that is the plan): their effects could not be told apart."""
    if len(terms) < 2:
        return
    for i in range(len(terms)):
        for j in range(i + 1, len(terms)):
            if terms[i][0] != terms[j][0] and np.mean(matrix[:, i] == matrix[:, j]) >= SAME_CUSTOMERS:
                (a, x), (b, y) = terms[i], terms[j]
                raise ClvError(
                    f"{a} = {x} and {b} = {y} describe nearly the same customers ({SAME_CUSTOMERS * 100:.0f} % or "
                    f"more): their effects cannot be told apart. Choose {a} or {b}."
                )


@dataclass(frozen=True)
class CovariateFit:
    """A purchase model with attributes: the reference customers' parameters (lifetimes' names, time in
    ``time_unit``) and each indicator's coefficients.

    ``coefficients`` is indexed by (attribute, level) with columns ``purchase``, ``purchase_se``, ``dropout``,
    ``dropout_se`` (γ on the log scale: e^γ multiplies the purchase rate or the dropout); ``log_likelihood`` is on
    the unscaled data, comparable with the plain model's (``plain``, fitted on the same customers), which
    :attr:`likelihood_ratio_p` tests it against.
    """

    model: str
    params: dict
    standard_errors: dict
    coefficients: pd.DataFrame
    log_likelihood: float
    plain: FitResult
    customers: int
    time_unit: str
    design: Design
    penalizer: float = 0.0

    @property
    def label(self) -> str:
        return MODEL_LABELS[self.model]

    @property
    def likelihood_ratio_p(self) -> float:
        """P-value of the likelihood-ratio test of the attributes (2 coefficients each) against the plain model."""
        extra = 2 * len(self.coefficients)
        statistic = max(2 * (self.log_likelihood - self.plain.log_likelihood), 0.0)
        return float(stats.chi2.sf(statistic, extra)) if extra else 1.0

    def pattern_fit(self, pattern: int) -> FitResult:
        """The plain model of the customers with indicator row ``pattern`` (their scaled parameters)."""
        x = self.design.patterns[pattern]
        params = _scaled(self.model, self.params, x @ self.coefficients["purchase"], x @ self.coefficients["dropout"])
        return FitResult(self.model, params, {}, np.nan, int((self.design.pattern_of == pattern).sum()), self.time_unit)

    def expected_purchases(self, t: float, summary: CustomerSummary) -> np.ndarray:
        """Each customer's expected purchases in the next ``t`` units (the summary's customers, as designed)."""
        return self._per_pattern(summary, lambda fit, f, r, T: fit.expected_purchases(t, f, r, T))

    def probability_alive(self, summary: CustomerSummary) -> np.ndarray:
        return self._per_pattern(summary, lambda fit, f, r, T: fit.probability_alive(f, r, T))

    def _per_pattern(self, summary: CustomerSummary, predict) -> np.ndarray:
        table = summary.table
        if len(table) != len(self.design.pattern_of):
            raise ClvError("These customers are not the ones the attribute model was designed for.")
        f, r, T = (table[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
        out = np.empty(len(table))
        for pattern in range(len(self.design.patterns)):
            rows = self.design.pattern_of == pattern
            out[rows] = predict(self.pattern_fit(pattern), f[rows], r[rows], T[rows])
        return out

    def sentences(self) -> list[str]:
        """Each indicator's effect in words, e.g. "Customers whose channel is Paid search (against Organic) buy
        38 % (95 % CI 21–57 %) more often; their dropout rate is not clearly different (95 % CI −20 % to +35 %)."

        The dropout of BG/NBD and MBG/NBD is said as the change in the mean chance of dropping out after a
        purchase, a·e^γ/(a·e^γ + b) against a/(a + b) (exact, where e^γ alone is the change in its odds-like scale)."""
        out = []
        dropout_words = "dropout rate" if self.model == "paretonbd" else "chance of dropping out after a purchase"
        if self.model == "paretonbd":

            def dropout_change(m):
                return m
        else:
            a, b = self.params["a"], self.params["b"]

            def dropout_change(m):
                return m * (a + b) / (a * m + b)

        for (attribute, level), row in self.coefficients.iterrows():
            reference = self.design.references[attribute]
            buy = _effect(
                row["purchase"],
                row["purchase_se"],
                "buy {} more often",
                "buy {} less often",
                "buy about as often, not clearly different {}",
            )
            drop = _effect(
                row["dropout"], row["dropout_se"], f"their {dropout_words} is {{}} higher",
                f"their {dropout_words} is {{}} lower", f"their {dropout_words} is not clearly different {{}}",
                change=dropout_change,
            )  # fmt: skip
            if drop is None:
                drop = f"their {dropout_words} cannot be measured apart with this history and these attributes"
            if buy is None:
                buy = "buy at a rate that cannot be measured apart with these attributes"
            out.append(f"Customers whose {attribute} is {level} (against {reference}) {buy}; {drop}.")
        return out

    def to_dict(self) -> dict:
        """The plain model's JSON (params, standard errors, log-likelihood…) plus the coefficients by term."""
        return {
            "model": self.model,
            "params": self.params,
            "standard_errors": self.standard_errors,
            "log_likelihood": self.log_likelihood,
            "plain_log_likelihood": self.plain.log_likelihood,
            "likelihood_ratio_p": self.likelihood_ratio_p,
            "customers": self.customers,
            "time_unit": self.time_unit,
            "penalizer": self.penalizer,
            "covariates": list(self.design.attributes),
            "references": self.design.references,
            "coefficients": {
                f"{attribute} = {level}": {k: float(v) for k, v in row.items()}
                for (attribute, level), row in self.coefficients.iterrows()
            },
        }


def _effect(gamma: float, se: float, up: str, down: str, same: str, *, change=lambda m: m) -> str | None:
    """The change a coefficient makes, in words with its 95 % interval: "38 % (95 % CI 21–57 %)" into ``up`` or
    ``down``, or "(95 % CI −20 % to +35 %)" into ``same`` when the interval holds no change;
    None when it cannot be measured (no standard error, or one above :data:`UNMEASURABLE`). ``change`` maps the
    factor e^γ to the factor the words speak of (monotone increasing)."""
    if not (np.isfinite(se) and se <= UNMEASURABLE):
        return None
    size, low, high = (change(np.exp(g)) - 1 for g in (gamma, gamma - _Z * se, gamma + _Z * se))
    if low <= 0 <= high:
        return same.format(f"(95 % CI {_signed(low)} to {_signed(high)})")
    if size > 0:
        return up.format(f"{_percent(size)} (95 % CI {_percent(low, sign=False)}–{_percent(high)})")
    return down.format(f"{_percent(-size)} (95 % CI {_percent(-high, sign=False)}–{_percent(-low)})")


def _listing(names) -> str:
    """ "channel", "channel and plan", "channel, plan and country"."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _signed(share: float) -> str:
    """−20 % or +35 %."""
    return f"{'+' if share >= 0 else '−'}{abs(share) * 100:,.0f} %"


def _percent(share: float, sign: bool = True) -> str:
    """38 % (with ``sign=False`` the bare number, for the first bound of a range)."""
    return f"{share * 100:,.0f} %" if sign else f"{share * 100:,.0f}"


def _scaled(model: str, params: dict, purchase: float, dropout: float) -> dict:
    """The plain model's parameters of customers whose indicators give ``purchase`` = γₚ·x and ``dropout`` = γ_d·x."""
    out = dict(params)
    out["alpha"] = params["alpha"] * np.exp(-purchase)
    if model == "paretonbd":
        out["beta"] = params["beta"] * np.exp(-dropout)
    else:
        out["a"] = params["a"] * np.exp(dropout)
    return {k: float(v) for k, v in out.items()}


#: Per model: the names of the four parameters and which of them (index, sign of γ_d·x in its log) the dropout
#: coefficients move; the purchase coefficients move α (index 1) with sign −1.
_LAYOUT = {
    "bgnbd": (("r", "alpha", "a", "b"), 2, 1.0),
    "mbgnbd": (("r", "alpha", "a", "b"), 2, 1.0),
    "paretonbd": (paretonbd.NAMES, 3, -1.0),
}


def fit(summary: CustomerSummary, attributes: pd.DataFrame, columns, model: str = "bgnbd") -> CovariateFit:
    """The model with ``columns`` of ``attributes`` (indexed by customer id, e.g. :func:`customer_attributes`).

    Fitted on the distinct (frequency, recency, T, pattern) rows, from the plain model's parameters and nil
    coefficients, by L-BFGS-B; when that does not converge, again with lifetimes' small penalties on the four
    scaled parameters (never on the coefficients). Standard errors from the inverse Hessian (central differences
    of the gradient)."""
    if model not in MODELS:
        raise ClvError(f"Attributes can be added to {', '.join(MODEL_LABELS[m] for m in MODELS)}, not {model!r}.")
    plain = fit_purchases(summary, model)
    table = summary.table
    plan = design(attributes, table["customer_id"].to_numpy(), columns)
    names, dropout_index, dropout_sign = _LAYOUT[model]
    T_all = table["T"].to_numpy(dtype=float)
    scale = 10.0 / float(T_all.max()) if T_all.max() > 0 else 1.0
    keys = table[["frequency", "recency", "T"]].assign(pattern=plan.pattern_of, w=1.0)
    rows = keys.groupby(["pattern", "frequency", "recency", "T"], sort=True)["w"].sum().reset_index()
    groups = []
    for pattern, part in rows.groupby("pattern", sort=True):
        x, t_x, T, w = (part[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T", "w"))
        if model == "paretonbd":
            groups.append((plan.patterns[int(pattern)], w.sum(), paretonbd._Rows(x, t_x, T, w, scale)))
        else:
            c = 1 if model == "mbgnbd" else 0
            groups.append(
                (plan.patterns[int(pattern)], w.sum(), likelihood._BetaGeometric(x, t_x * scale, T * scale, w, c))
            )
    total = float(sum(g[1] for g in groups))
    k = plan.patterns.shape[1]
    objective = _Objective(groups, total, k, dropout_index, dropout_sign, model == "paretonbd")
    base = np.log([plain.params[n] * (scale if n in ("alpha", "beta") else 1.0) for n in names])
    start = np.concatenate([base, np.zeros(2 * k)])
    bounds = [(-_BOUND, _BOUND)] * 4 + [(-_COEFFICIENT_BOUND, _COEFFICIENT_BOUND)] * (2 * k)
    failure = ""
    for penalizer in PENALIZERS:
        penalised = _penalise(objective, penalizer)
        result = optimize.minimize(
            penalised, start, jac=True, method="L-BFGS-B", bounds=bounds,
            options={"ftol": 1e-13, "gtol": 1e-8, "maxiter": 2000},
        )  # fmt: skip
        theta = result.x
        stationary = bool(result.success) or float(np.max(np.abs(result.jac))) < 1e-6
        # as in the plain fits, dropout parameters may run off (a group in which nobody seems to drop out);
        # r, α or a purchase coefficient at the edge means the fit failed
        edge = np.any(np.abs(theta[:2]) >= _BOUND - 0.1) or np.any(np.abs(theta[4 : 4 + k]) >= _COEFFICIENT_BOUND - 0.1)
        if stationary and np.isfinite(result.fun) and not edge:
            break
        failure = "the parameters ran to the edge of the range searched" if edge else str(result.message)
    else:
        raise ClvError(
            f"{MODEL_LABELS[model]} with {', '.join(plan.attributes)} did not converge ({failure}). "
            "Try fewer attributes or another model."
        )
    errors = likelihood.standard_errors(penalised, theta, 0.0, total)
    # a coefficient at the edge of its range has no meaningful standard error
    errors[4:] = np.where(np.abs(theta[4:]) >= _COEFFICIENT_BOUND - 0.1, np.nan, errors[4:])
    values = np.exp(theta[:4])
    params = {n: float(v / (scale if n in ("alpha", "beta") else 1.0)) for n, v in zip(names, values)}
    standard_errors = {n: float(e * params[n]) for n, e in zip(names, errors[:4])}
    index = pd.MultiIndex.from_tuples(plan.terms, names=["attribute", "level"]) if plan.terms else None
    coefficients = pd.DataFrame(
        {
            "purchase": theta[4 : 4 + k],
            "purchase_se": errors[4 : 4 + k],
            "dropout": theta[4 + k :],
            "dropout_se": errors[4 + k :],
        },
        index=index,
    )
    spec = purchase_model(model)
    ll = 0.0
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for pattern, part in rows.groupby("pattern", sort=True):
            x = plan.patterns[int(pattern)]
            scaled = _scaled(model, params, x @ coefficients["purchase"], x @ coefficients["dropout"])
            terms = spec.row_log_likelihood(scaled, part["frequency"], part["recency"], part["T"])
            ll += float(np.dot(part["w"], terms))
    return CovariateFit(
        model, params, standard_errors, coefficients, ll, plain, int(total), summary.time_unit, plan, penalizer
    )


class _Objective:
    """−mean log-likelihood over all customers and its gradient in (θ₁…θ₄, γₚ, γ_d)."""

    def __init__(self, groups, total, k, dropout_index, dropout_sign, numeric):
        self.groups, self.total, self.k = groups, total, k
        self.dropout_index, self.dropout_sign, self.numeric = dropout_index, dropout_sign, numeric

    def __call__(self, theta):
        k = self.k
        base, purchase, dropout = theta[:4], theta[4 : 4 + k], theta[4 + k :]
        value, gradient = 0.0, np.zeros(len(theta))
        for x, weight, rows in self.groups:
            local = base.copy()
            local[1] -= x @ purchase
            local[self.dropout_index] += self.dropout_sign * (x @ dropout)
            v, g = self._group(rows, local)
            if not np.isfinite(v):
                return np.inf, np.zeros(len(theta))
            share = weight / self.total
            value += share * v
            gradient[:4] += share * g
            gradient[4 : 4 + k] += share * g[1] * -x
            gradient[4 + k :] += share * g[self.dropout_index] * self.dropout_sign * x
        return value, gradient

    def _group(self, rows, theta):
        if not self.numeric:
            return rows.objective(theta)

        def f(t):
            with np.errstate(all="ignore"):
                v = -rows.log_likelihood(*np.exp(t)) / rows.total
            return v if np.isfinite(v) else np.inf

        value = f(theta)
        if not np.isfinite(value):
            return np.inf, np.zeros(4)
        step = 1e-6
        gradient = np.empty(4)
        for i in range(4):
            shift = np.zeros(4)
            shift[i] = step
            gradient[i] = (f(theta + shift) - f(theta - shift)) / (2 * step)
        return value, gradient


def _penalise(objective, penalizer: float):
    def f(theta):
        value, gradient = objective(theta)
        if penalizer:
            params = np.exp(theta[:4])
            value = value + penalizer * float(params @ params)
            gradient = gradient.copy()
            gradient[:4] += 2 * penalizer * params**2
        return value, gradient

    return f


# --- the holdout test --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """The plain model and the model with attributes, both fitted on the calibration period and scored on the
    holdout (``metrics``: one row each, :data:`clv_core.validation.METRIC_KEYS` columns); ``wins`` when the
    attributes lower the holdout MAE on purchases (the measure the forecast's model is chosen by)."""

    model: str
    attributes: tuple[str, ...]
    metrics: pd.DataFrame
    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp
    calibration_fit: CovariateFit

    WITHOUT = "Without attributes"
    WITH = "With attributes"

    @property
    def better_on_holdout(self) -> bool:
        m = self.metrics["MAE (purchases)"]
        return bool(m[self.WITH] < m[self.WITHOUT])

    @property
    def wins(self) -> bool:
        """Lower holdout error, and attributes that improve the calibration fit beyond chance (likelihood-ratio
        p below 0.05): a coin-flip attribute lowers the error by a hair half the time."""
        return (
            self.better_on_holdout and self.calibration_fit.likelihood_ratio_p < SIGNIFICANT and self.gain >= MIN_GAIN
        )

    @property
    def gain(self) -> float:
        """How much lower the holdout MAE is with the attributes, as a share of the MAE without."""
        m = self.metrics["MAE (purchases)"]
        return float(1 - m[self.WITH] / m[self.WITHOUT]) if m[self.WITHOUT] > 0 else 0.0

    def sentence(self) -> str:
        m = self.metrics["MAE (purchases)"]
        window = f"{self.calibration_end.date()} → {self.holdout_end.date()}"
        label = MODEL_LABELS[self.model]
        if self.better_on_holdout and not self.wins:
            return (
                f"The attributes lower {label}'s error on the holdout {window} only slightly ({m[self.WITH]:.3f} "
                f"purchases per customer against {m[self.WITHOUT]:.3f}, {self.gain:.1%} less; "
                f"likelihood-ratio p on the calibration period {self.calibration_fit.likelihood_ratio_p:.3f}): no "
                f"real difference for a forecast (it takes {MIN_GAIN:.0%} less error and p below {SIGNIFICANT})."
            )
        if self.wins:
            return (
                f"With {_listing(self.attributes)}, {label} predicts the holdout {window} better: mean absolute "
                f"error {m[self.WITH]:.3f} purchases per customer against {m[self.WITHOUT]:.3f} without."
            )
        return (
            f"The attributes do not improve {label}'s predictions of the holdout {window}: mean absolute error "
            f"{m[self.WITH]:.3f} purchases per customer with them, {m[self.WITHOUT]:.3f} without."
        )


def compare(
    transactions: Transactions, attributes: pd.DataFrame, columns, model: str, *, calibration_end, time_unit="weeks"
) -> Comparison:
    """Fit the plain model and the model with ``columns`` on purchases to ``calibration_end`` and score both on
    what the same customers did after it."""
    holdout = validation.split(transactions, calibration_end=calibration_end, time_unit=time_unit)
    covariate = fit(holdout.summary, attributes, columns, model)
    spend = fit_spend(holdout.summary)
    t = holdout.summary.table
    f, r, T = (t[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        value = expected_order_values(spend, f, t["monetary_value"])
        predictions = {
            Comparison.WITHOUT: covariate.plain.expected_purchases(holdout.duration, f, r, T),
            Comparison.WITH: covariate.expected_purchases(holdout.duration, holdout.summary),
        }
    metrics = pd.DataFrame(
        {
            name: validation.score(holdout.actual, pd.DataFrame({"purchases": p, "spend": p * value}))
            for name, p in predictions.items()
        }
    ).T.rename_axis("model")
    return Comparison(
        model, covariate.design.attributes, metrics, holdout.calibration_end, holdout.holdout_end, covariate
    )


# --- the forecast with attributes ----------------------------------------------------------------------------------


def precompute(fit_: CovariateFit, spend: FitResult, summary: CustomerSummary, *, churn_multiplier: float = 1.0):
    """The forecast base (:class:`clv_core.economics.ForecastBase`) of the model with attributes: each pattern's
    customers with their own parameters, put together in the summary's customer order, so that
    :func:`clv_core.economics.scenario` prices it like the plain model's (a new customer: the patterns' mix)."""
    from clv_core import economics

    table = summary.table
    if len(table) != len(fit_.design.pattern_of):
        raise ClvError("These customers are not the ones the attribute model was designed for.")
    n = len(table)
    p_alive, rows = np.empty(n), np.empty(n, dtype=np.int64)
    order_value, revenue = np.empty(n), np.empty(n)
    pairs, row_pair, row_scale, by_row = [], [], [], []
    new_customer = 0.0
    distinct = paired = 0
    for pattern in range(len(fit_.design.patterns)):
        mask = fit_.design.pattern_of == pattern
        if not mask.any():
            continue
        part = CustomerSummary(table[mask].reset_index(drop=True), summary.time_unit, summary.observation_end)
        base = economics.precompute(fit_.pattern_fit(pattern), spend, part, churn_multiplier=churn_multiplier)
        p_alive[mask], rows[mask] = base.p_alive, base.rows + distinct
        order_value[mask], revenue[mask] = base.expected_order_value, base.historical_revenue
        pairs.append(base.pair_cumulative)
        row_pair.append(base.row_pair + paired)
        row_scale.append(base.row_scale)
        by_row.append(base.order_value_by_row)
        new_customer = new_customer + base.new_customer_cumulative * (mask.sum() / n)
        distinct += len(base.row_scale)
        paired += len(base.pair_cumulative)
    return economics.ForecastBase(
        customer_id=table["customer_id"].to_numpy(),
        p_alive=p_alive,
        rows=rows,
        pair_cumulative=np.vstack(pairs),
        row_pair=np.concatenate(row_pair),
        row_scale=np.concatenate(row_scale),
        expected_order_value=order_value,
        order_value_by_row=np.concatenate(by_row),
        new_customer_cumulative=new_customer,
        population_order_value=base.population_order_value,
        historical_revenue=revenue,
        model=fit_.model,
        churn_multiplier=churn_multiplier,
        time_unit=summary.time_unit,
    )


def value_by_level(fit_: CovariateFit, with_attributes, without) -> pd.DataFrame:
    """Mean CLV per customer by each attribute level under the plain model (``without``, a
    :class:`~clv_core.economics.CLVScenario`) and the model with attributes (``with_attributes``), in the order of
    the fit's terms with each reference first."""
    frames = []
    for attribute in fit_.design.attributes:
        levels = fit_.design.levels[attribute].to_numpy()
        frame = pd.DataFrame({"level": levels, "without": without.clv, "with": with_attributes.clv})
        grouped = frame.groupby("level", sort=False).agg(
            customers=("with", "size"), without=("without", "mean"), with_=("with", "mean")
        )
        order = [fit_.design.references[attribute]] + [lv for a, lv in fit_.design.terms if a == attribute]
        grouped = grouped.reindex(order)
        grouped.index = pd.MultiIndex.from_product([[attribute], grouped.index], names=["attribute", "level"])
        frames.append(grouped.rename(columns={"with_": "with"}))
    out = pd.concat(frames)
    out["difference"] = out["with"] - out["without"]
    return out


def columns(econ, attributes) -> dict[str, str]:
    """The meanings of the per-customer download's columns (for its assumptions and currency headers)."""
    h = econ.horizon_months
    out = {"customer_id": "customer identifier, as in the data"}
    out |= {
        a: f"the customer's {a} at the first purchase (values with few customers pooled as 'Other')" for a in attributes
    }
    out |= {
        "p_alive": "probability the customer is still active at the end of the data, from the model with attributes",
        "clv": f"predicted discounted margin over the next {h} months from the model with attributes (currency)",
        "clv_without_attributes": "the same from the forecast's model without attributes (currency)",
    }
    return out
