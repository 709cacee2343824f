"""One dataset, one analysis: the model decision and the scoring chain that every page, the CLI and the report ask.

The chain, each step computed once per dataset and what it depends on::

    summary ─► model decision (the holdout test, or the user's choice) ─► fits ─► forecast base (per churn
    multiplier) ─► scenario (per economics) ─► scored customers (P(alive), CLV, value group, slipping, RFM segment,
    lifecycle stage, first-purchase attributes)

A number two places show (a page's headline, a segment table, an export, the CLI, the report) is read from the
same step of the same :class:`Analysis`, so it is the same number. Where results are kept is the caller's choice
(:class:`Memo`): the command line keeps them for one run in a dictionary, the app in its shared, byte-bounded store.

>>> from clv_core.samples import sample_bytes
>>> from clv_core.ingest import ingest
>>> analysis = Analysis(ingest(*sample_bytes("cdnow_sample")))
>>> analysis.decision().model in REGISTRY
True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import pandas as pd

from clv_core import (
    cohorts,
    covariates,
    discrete,
    economics,
    first_value,
    forecast,
    hybrid,
    models,
    monitoring,
    next_purchase,
    overview,
    products,
    rfm,
    segments,
    spend,
    survival,
    validation,
)
from clv_core import equity as equity_
from clv_core import sufficiency as sufficiency_
from clv_core.errors import ClvError, ServerBusyError
from clv_core.glossary import glossary
from clv_core.ingest import Transactions
from clv_core.models import MODEL_LABELS, REGISTRY, label_to_key
from clv_core.names import AUTO, EQUITY_YEARS, MODEL_CHOICES
from clv_core.runs import runs
from clv_core.summary import CustomerSummary, summarise

#: The model choice that means "the most accurate on the holdout test" (the default everywhere).
CHOICES = MODEL_CHOICES


class Memo(Protocol):
    """Where an analysis keeps its results.

    ``compute`` keeps the expensive steps (fits, forecast bases, backtests) under ``key``; ``heavy`` names the work
    for whoever limits concurrent heavy jobs and ``spinner`` says what is happening while it runs. ``derive`` keeps
    a cheap result computed from one of them (``fn(source, *args)``: a scenario for one set of slider values)
    beside its source, so the many slider positions never push a fit out.
    """

    def compute(self, key: tuple, fn: Callable[[], Any], *, heavy: str | None = None, spinner: str | None = None): ...

    def derive(self, fn: Callable[..., Any], source: Any, *args: Any): ...

    def known(self, key: tuple) -> bool: ...


class LocalMemo:
    """Results kept for the life of one object (the command line: one run, one dataset)."""

    def __init__(self) -> None:
        self._values: dict = {}

    def compute(self, key: tuple, fn: Callable[[], Any], *, heavy: str | None = None, spinner: str | None = None):
        if key not in self._values:
            self._values[key] = fn()
        return self._values[key]

    def derive(self, fn: Callable[..., Any], source: Any, *args: Any):
        key = ("derived", fn, *(_token(v) for v in (source, *args)))
        if key not in self._values:
            self._values[key] = (fn(source, *args), source, args)  # the inputs stay alive: their ids stay theirs
        return self._values[key][0]

    def known(self, key: tuple) -> bool:
        return key in self._values


@dataclass(frozen=True)
class ModelDecision:
    """Which purchase model the analysis uses, and why.

    ``chosen_by`` is ``"holdout"`` (most accurate on the holdout test), ``"user"`` (chosen by name) or
    ``"fallback"`` (BG/NBD, when no holdout test was possible: too little history); ``scorecard`` is the holdout
    test when one ran; ``passed_over`` says why better-ranked models were not used (a model the test prefers whose
    fit on the whole history cannot score every customer).
    """

    model: str
    chosen_by: str
    scorecard: validation.Backtest | None
    reason: str
    passed_over: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return MODEL_LABELS[self.model]

    def line(self) -> str:
        """The one line a page shows to name its model.

        >>> ModelDecision("mbgnbd", "user", None, "chosen on the CLV forecast page").line()
        'Model: MBG/NBD for purchases, Gamma–Gamma for spend (chosen on the CLV forecast page).'
        """
        return f"Model: {self.label} for purchases, Gamma–Gamma for spend ({self.reason})."


class Analysis:
    """A dataset's analysis under one model choice (``"auto"`` or a key of :data:`REGISTRY`) and time unit.

    Cheap to create: the work happens when a result is first asked for, and is kept in ``memo`` under the
    dataset's identity (its content hash, mapping and cleaning options), so analyses of the same dataset share it.
    """

    def __init__(
        self,
        transactions: Transactions,
        *,
        model: str = AUTO,
        time_unit: str = "weeks",
        memo: Memo | None = None,
        today: dt.date | None = None,
        chosen_in: str = "chosen by name",
    ) -> None:
        if model not in CHOICES:
            raise ClvError(f"Model must be one of {', '.join(CHOICES)}, not {model!r}.")
        self.transactions = transactions
        self.choice = model
        self.time_unit = time_unit
        self.memo = memo or LocalMemo()
        self.today = today
        self.chosen_in = chosen_in
        tx = transactions
        self.key = (tx.content_hash, tx.mapping, tx.options)

    def _keep(self, name: str, *args: Any, fn: Callable[[], Any], heavy: str | None = None, spinner=None):
        return self.memo.compute((self.key, name, *args), fn, heavy=heavy, spinner=spinner)

    # --- the model decision -----------------------------------------------------------------------------------

    def summary(self, time_unit: str | None = None) -> CustomerSummary:
        unit = time_unit or self.time_unit
        return self._keep(
            "summary", unit, fn=lambda: summarise(self.transactions, time_unit=unit), spinner="Summarising customers…"
        )

    def scorecard(self) -> validation.Backtest:
        """The probabilistic models refitted on the first two thirds of the history and scored on the last third
        (:func:`clv_core.validation.default_calibration_end`): the test the default model comes from, the same
        test the Model validation page opens on and ``python -m clv_core validate`` runs by default."""
        return self.backtest(str(validation.default_calibration_end(self.transactions).date()), challenger=False)

    def backtest(self, calibration_end: str, *, challenger: bool = True) -> validation.Backtest:
        """The models refitted on purchases to ``calibration_end`` and scored on the rest; with ``challenger``, the
        ML challenger beside them, on the same fits (the scorecard's, at the default calibration end)."""
        unit = self.time_unit
        tested = self._keep(
            "backtest",
            calibration_end,
            unit,
            fn=lambda: validation.backtest(
                self.transactions, calibration_end=calibration_end, time_unit=unit, challenger=False
            ),
            heavy="testing the models on a holdout period",
            spinner="Refitting the models on the calibration period…",
        )
        if not challenger:
            return tested
        return self._keep(
            "backtest-challenger",
            calibration_end,
            unit,
            fn=lambda: validation.with_challenger(tested, self.transactions),
            heavy="training the ML challenger",
            spinner="Training the ML challenger on the same customers…",
        )

    def blend(self, calibration_end: str) -> validation.Blend:
        """The purchase model and the ML challenger blended with weights fitted on the calibration period alone
        (:func:`clv_core.validation.blend`), scored on this backtest's holdout."""
        return self._keep(
            "blend",
            calibration_end,
            self.time_unit,
            fn=lambda: validation.blend(self.backtest(calibration_end), self.transactions),
            heavy="weighing a blend of the model and the ML challenger",
            spinner="Weighing a blend on the calibration period…",
        )

    def challenger_ready(self, calibration_end: str) -> bool:
        """Whether :meth:`backtest` with the challenger is computed already (a page shows the models' backtest
        first and adds the challenger when it arrives, unless it is there)."""
        return self.memo.known((self.key, "backtest-challenger", calibration_end, self.time_unit))

    def decision(self) -> ModelDecision:
        """The model every page, export and command uses for this dataset (see :class:`ModelDecision`)."""
        return self._keep("decision", self.choice, self.time_unit, self.chosen_in, fn=self._decide)

    @property
    def model(self) -> str:
        return self.decision().model

    def _decide(self) -> ModelDecision:
        if self.choice != AUTO:
            return ModelDecision(self.choice, "user", None, self.chosen_in)
        try:
            card = self.scorecard()
        except ServerBusyError:  # nothing learnt about the data: decide when the server can run the test
            raise
        except ClvError as exc:
            return ModelDecision("bgnbd", "fallback", None, f"BG/NBD by default, since there is no holdout test: {exc}")
        ranked = [label_to_key(name) for name in card.ranking]
        passed = []
        for position, model in enumerate(ranked):
            try:
                self.base(1.0, model)  # the fit and its predictions for every customer must work
            except ServerBusyError:
                raise
            except ClvError as exc:
                passed.append(f"{MODEL_LABELS[model]} ranked {_ordinal(position)}, but: {str(exc).rstrip('.')}")
                continue
            h = card.holdout
            window = f"{h.calibration_end.date()} → {h.holdout_end.date()}"
            if position == 0:
                reason = f"the most accurate of {len(ranked)} on the holdout {window}"
            else:
                reason = f"ranked {_ordinal(position)} of {len(ranked)} on the holdout {window}; " + "; ".join(passed)
            return ModelDecision(model, "holdout", card, reason, tuple(passed))
        raise ClvError("No purchase model can score this data: " + "; ".join(passed) + ".")

    def against_decision(self, result: validation.Backtest) -> str:
        """How a backtest's winner relates to the model the analysis uses: the same test, or why they differ."""
        try:
            decision = self.decision()
        except ClvError as exc:
            return f"No model can score the whole history: {exc}"
        winner, used = result.best, decision.label
        if decision.chosen_by == "user":
            same = "the same model" if winner == used else f"this test ranks {winner} first"
            return f"The forecast uses {used}, {decision.reason}; {same}."
        if decision.scorecard is None:
            return f"The forecast uses {used}: {decision.reason}."
        default_end = decision.scorecard.holdout.calibration_end
        if result.holdout.calibration_end == default_end:
            if winner == used:
                return f"The forecast uses {used}: this test (without the ML challenger) chose it."
            return f"The forecast uses {used}, {decision.reason}."
        agree = "the same model" if winner == used else f"{used}, not {winner}"
        return (
            f"The forecast's model comes from the holdout from {default_end.date()} (the last third of the history): "
            f"{agree}. Another calibration end gives another holdout, and models this close can change places."
        )

    # --- the scoring chain ------------------------------------------------------------------------------------

    def fits(self, model: str | None = None) -> tuple[models.FitResult, models.FitResult]:
        """(purchase fit, Gamma–Gamma fit) on the whole history; raises ClvError when the data cannot support them.

        Each model is fitted once per dataset and time unit, whoever asks first (the decision, the forecast, the
        comparison table); a fit that fails is kept as its reason, so it is not tried again on every rerun."""
        model = model or self.model
        return _unwrap(self._purchase_fit(model)), _unwrap(self._spend_fit())

    def _purchase_fit(self, model: str) -> models.FitResult | ClvError:
        s = self.summary()
        return self._keep(
            "purchase-fit",
            self.time_unit,
            model,
            fn=lambda: _attempt(models.fit_purchases, s, model),
            heavy="fitting the models",
            spinner=f"Fitting {MODEL_LABELS[model]}…",
        )

    def _spend_fit(self) -> models.FitResult | ClvError:
        s = self.summary()
        return self._keep(
            "spend-fit",
            self.time_unit,
            fn=lambda: _attempt(models.fit_spend, s),
            heavy="fitting the models",
            spinner="Fitting Gamma–Gamma…",
        )

    def base(self, churn_multiplier: float = 1.0, model: str | None = None) -> economics.ForecastBase:
        """Every customer's expected purchases at each month boundary (the only model work a slider move causes,
        once per churn multiplier)."""
        model = model or self.model
        fit, spend = self.fits(model)
        s = self.summary()
        return self._keep(
            "base",
            self.time_unit,
            model,
            churn_multiplier,
            fn=lambda: economics.precompute(fit, spend, s, churn_multiplier=churn_multiplier),
            spinner="Predicting each customer's purchases…",
        )

    def scenario(self, econ: economics.Economics) -> economics.CLVScenario:
        """CLV under ``econ`` for every customer: array arithmetic on the forecast base, never a refit."""
        return self.memo.derive(economics.scenario, self.base(econ.churn_multiplier), econ)

    def equity(self, econ: economics.Economics, years: int = EQUITY_YEARS) -> equity_.CustomerEquity:
        """What the customer base is worth over ``years`` (:mod:`clv_core.equity`): the scenario's total CLV over
        ``12 × years`` months (the corporate rate is ``econ``'s discount rate), plus the customers the monthly
        cohorts say will come, less their CAC; with the four sensitivities."""
        if not 1 <= years <= equity_.MAX_YEARS:
            raise ClvError(f"Customer equity is valued over 1 to {equity_.MAX_YEARS} years, not {years}.")
        econ = replace(econ, horizon_months=12 * years)

        def build() -> equity_.CustomerEquity:
            acquired = equity_.acquisitions(self.cohorts("month"))
            up = econ.annual_discount_rate + 0.01
            rate_up = self.scenario(replace(econ, annual_discount_rate=up)) if up < 1 else None
            tx = self.transactions
            try:
                measured = economics.formula_inputs(tx.data, tx.observation_end)
            except ClvError as exc:
                measured, note = None, str(exc)
            multiplier = equity_.retention_multiplier(measured.retention) if measured else None
            retained = None
            if multiplier is not None:
                retained = self.scenario(replace(econ, churn_multiplier=econ.churn_multiplier * multiplier))
                note = f"{measured.retention:.1%} → {measured.retention + 0.01:.1%}"
            elif measured is not None:
                note = f"the data's yearly retention ({measured.retention:.1%}) cannot move one point"
            return equity_.customer_equity(
                self.scenario(econ), acquired, years=years, rate_up=rate_up, retained=retained, retention_note=note
            )

        return self._keep("equity", self.time_unit, self.model, econ, fn=build, spinner="Valuing the customer base…")

    def rfm(self, bins: int = 5, thresholds: rfm.LifecycleThresholds | None = None) -> rfm.RFMResult:
        thresholds = thresholds or rfm.LifecycleThresholds()
        tx = self.transactions
        return self._keep(
            "rfm",
            bins,
            thresholds,
            fn=lambda: rfm.rfm(
                self.summary("days"), bins=bins, thresholds=thresholds, previous_gap_days=rfm.previous_gaps(tx)
            ),
            spinner="Scoring customers…",
        )

    def rfm_segments(self) -> pd.Series:
        """Each customer's RFM segment under the default scoring, indexed by customer id (the grouping the
        Survival and Forecast pages offer)."""
        return self.memo.derive(_segment_of_customer, self.rfm())

    def attributes(self) -> pd.DataFrame:
        return self._keep("attributes", fn=lambda: cohorts.first_purchase_attributes(self.transactions))

    def scored(self, econ: economics.Economics, cuts: segments.ValueGroupCuts | None = None) -> pd.DataFrame:
        """One row per customer: the scenario's P(alive), expected purchases, order value and CLV, with value group,
        slipping flag, RFM segment and lifecycle stage (default thresholds), first-purchase attributes and, with a
        product column, categories bought and the likely next one. The table the Segments page, its exports,
        ``python -m clv_core segments`` and the report all read."""
        cuts = cuts or segments.ValueGroupCuts()
        return self.memo.derive(
            _scored,
            self.scenario(econ),
            self.rfm().table,
            self.attributes(),
            cuts,
            self.customer_products(),
            self.hybrid_parts(econ),
            self.memo.derive(_next_columns, self.next_purchases(econ)),
        )

    # --- purchase models with attributes known at the first purchase ---------------------------------------------

    def customer_attributes(self) -> pd.DataFrame:
        """What is known about each customer at the first purchase (:func:`clv_core.covariates.customer_attributes`)."""
        return self._keep("customer-attributes", fn=lambda: covariates.customer_attributes(self.transactions))

    def covariate_columns(self) -> tuple[str, ...]:
        """The attributes a purchase model can take: those with two levels of enough customers each."""

        def usable() -> tuple[str, ...]:
            table, ids = self.customer_attributes(), self.summary().table["customer_id"].to_numpy()
            out = []
            for column in table.columns:
                try:
                    covariates.design(table, ids, [column])
                except ClvError:
                    continue
                out.append(column)
            return tuple(out)

        return self._keep("covariate-columns", fn=usable)

    def covariate_fit(self, columns: tuple[str, ...]) -> covariates.CovariateFit:
        """The analysis' purchase model with ``columns`` on the whole history (raises ClvError when it cannot be
        fitted)."""
        columns, s, model = tuple(columns), self.summary(), self.model
        return _unwrap(
            self._keep(
                "covariate-fit", self.time_unit, model, columns,
                fn=lambda: _attempt(covariates.fit, s, self.customer_attributes(), columns, model),
                heavy="fitting the models", spinner=f"Fitting {MODEL_LABELS[model]} with the chosen attributes…",
            )
        )  # fmt: skip

    def covariate_comparison(self, columns: tuple[str, ...]) -> covariates.Comparison:
        """The plain model against the model with ``columns`` on the holdout the model was chosen on (the last
        third of the history, or the default split when the model was chosen by name)."""
        columns, model = tuple(columns), self.model
        card = self.decision().scorecard
        end = (
            card.holdout.calibration_end if card is not None else validation.default_calibration_end(self.transactions)
        )
        return _unwrap(
            self._keep(
                "covariate-comparison", self.time_unit, model, columns, str(end.date()),
                fn=lambda: _attempt(
                    covariates.compare, self.transactions, self.customer_attributes(), columns, model,
                    calibration_end=end, time_unit=self.time_unit,
                ),
                heavy="fitting the models", spinner="Testing the attributes on the holdout…",
            )
        )  # fmt: skip

    def covariate_scenario(self, columns: tuple[str, ...], econ: economics.Economics) -> economics.CLVScenario:
        """CLV per customer under ``econ`` from the model with ``columns`` (its forecast base once per churn step)."""
        fit = self.covariate_fit(columns)
        _, spend = self.fits()
        s = self.summary()
        base = self._keep(
            "covariate-base", self.time_unit, fit.model, tuple(columns), econ.churn_multiplier,
            fn=lambda: covariates.precompute(fit, spend, s, churn_multiplier=econ.churn_multiplier),
            spinner="Predicting each customer's purchases with the attributes…",
        )  # fmt: skip
        return self.memo.derive(economics.scenario, base, econ)

    # --- when customers are expected to buy next ------------------------------------------------------------------

    def next_purchases(self, econ: economics.Economics) -> next_purchase.NextPurchases:
        """Each customer's expected next purchase date under the model (the fitted one, churn ×1) within the
        economics' horizon (:func:`clv_core.next_purchase.next_purchases`)."""
        fit, _ = self.fits()
        return self.memo.derive(next_purchase.next_purchases, fit, self.summary(), econ.horizon_months)

    # --- purchases at fixed opportunities -----------------------------------------------------------------------

    def opportunity_grid(self) -> discrete.Grid | None:
        """The purchase opportunities when every purchase falls on a regular grid of dates, else None."""
        return self._keep("opportunity-grid", fn=lambda: discrete.opportunity_grid(self.transactions))

    def bgbb(self) -> tuple[discrete.DiscreteSummary, discrete.BGBBFit]:
        """Each customer's history on the grid and the BG/BB fit (raises ClvError without a grid)."""
        grid = self.opportunity_grid()
        if grid is None:
            raise ClvError(
                "The purchases do not fall on a regular grid of dates (a yearly drive, a monthly event), so the "
                "BG/BB model for fixed opportunities does not apply: the purchase models do."
            )

        def build():
            summary = discrete.summarise(self.transactions, grid)
            return summary, discrete.fit(summary)

        return self._keep("bgbb", fn=build, spinner="Fitting BG/BB…", heavy="fitting BG/BB")

    def discrete_forecast(self, econ: economics.Economics) -> discrete.DiscreteForecast:
        summary, fitted = self.bgbb()  # churn and CAC do not enter: a move of theirs reuses the forecast
        return self.memo.derive(
            discrete.forecast, summary, fitted, econ.horizon_months, econ.annual_discount_rate, econ.gross_margin
        )

    # --- subscriptions plus purchases ---------------------------------------------------------------------------

    def subscription_products(self) -> tuple[str, ...]:
        """Products paid monthly at a fixed price (:func:`clv_core.hybrid.subscription_products`)."""
        return self._keep("subscription-products", fn=lambda: hybrid.subscription_products(self.transactions))

    def subscriptions(self, products: tuple[str, ...]) -> hybrid.Subscriptions:
        products = hybrid.products_key(products)
        return self._keep(
            "subscriptions",
            products,
            fn=lambda: hybrid.subscriptions(self.transactions, products),
            spinner="Fitting subscription retention…",
            heavy="fitting subscription retention",
        )

    def purchases_without(self, products: tuple[str, ...]) -> Analysis:
        """The one-off purchases (subscription payments left out) under this analysis's model decision, sharing its
        memo: the purchase side of a hybrid valuation."""
        products = hybrid.products_key(products)
        tx = self._keep("purchases-without", products, fn=lambda: hybrid.split(self.transactions, products)[1])
        return Analysis(
            tx,
            model=self.model,
            time_unit=self.time_unit,
            memo=self.memo,
            today=self.today,
            chosen_in="the dataset's model decision, fitted to the purchases that are not subscription payments",
        )

    def hybrid_parts(self, econ: economics.Economics) -> pd.DataFrame | None:
        """Each customer's subscription value, purchase value and their sum (``hybrid_clv``) when the data has
        subscription products (None otherwise, or when they cannot be valued): the columns the scored table adds."""
        if not self.has_products() or not self.subscription_products():
            return None
        try:
            result = self.hybrid(econ)
        except ClvError:
            return None
        return self.memo.derive(_hybrid_parts, result)

    def hybrid(self, econ: economics.Economics, products: tuple[str, ...] | None = None) -> hybrid.HybridValue:
        """Each customer's subscription value plus purchase value (``products``: the subscription products; by
        default those found). Raises ClvError when there are no subscription payments."""
        products = hybrid.products_key(self.subscription_products() if products is None else products)
        subs = self.subscriptions(products)
        try:
            purchases = self.purchases_without(products)
            if purchases.transactions.data.empty:
                raise ClvError("there are no purchases besides the subscription payments")
            scenario = purchases.scenario(econ)
        except ServerBusyError:
            raise  # busy is not "no purchase value": the page says to wait
        except ClvError as exc:
            return self.memo.derive(_hybrid_without_purchases, subs, self.summary(), econ, str(exc))
        return self.memo.derive(_hybrid, subs, scenario, self.summary(), econ)

    # --- several products ---------------------------------------------------------------------------------------

    def has_products(self) -> bool:
        return products.has_products(self.transactions)

    def categories(self) -> products.Categories:
        """Raises ClvError without a product column."""
        return self._keep("categories", fn=lambda: products.categories(self.transactions))

    def adoption(self) -> products.Adoption:
        return self.memo.derive(products.adoption, self.categories())

    def customer_products(self) -> pd.DataFrame | None:
        """Categories bought and the likely next category per customer id; None without a product column."""
        if not self.has_products():
            return None
        return self.memo.derive(products.next_categories, self.categories(), self.adoption())

    def category_value(self, econ: economics.Economics) -> pd.DataFrame:
        return self.memo.derive(_category_value, self.categories(), self.scenario(econ))

    def breadth_value(self, econ: economics.Economics) -> pd.DataFrame:
        return self.memo.derive(products.breadth_value, self.categories(), self.scored(econ))

    def breadth_evidence(self, definition: survival.ChurnDefinition) -> products.BreadthEvidence:
        """Lifetimes after the landmark by early breadth; raises ClvError when there are not two groups."""
        return self._keep(
            "breadth-evidence",
            definition,
            fn=lambda: products.breadth_evidence(self.categories(), self.survival(definition)),
            spinner="Comparing lifetimes by the categories bought…",
            heavy="fitting the Cox models",
        )

    def value_summary(self, econ: economics.Economics, cuts: segments.ValueGroupCuts | None = None) -> pd.DataFrame:
        return self.memo.derive(segments.value_group_summary, self.scored(econ, cuts))

    def glossary(self, cuts: segments.ValueGroupCuts | None = None, thresholds=None) -> dict[str, str]:
        return glossary(cuts, thresholds, p_alive_note=self.p_alive_note())

    def p_alive_note(self) -> str:
        """What P(alive) cannot say under the model in use (BG/NBD: one-time buyers are 1 by construction)."""
        return REGISTRY[self.model].p_alive_note

    def comparison(self) -> pd.DataFrame:
        """Every purchase model fitted on the whole history: log-likelihood, AIC, BIC, and why a fit failed. The
        fits are the analysis's own (the model in use is not fitted again for the table)."""
        results = {key: self._purchase_fit(key) for key in REGISTRY}  # each in its own slot, before the table's key
        return self._keep("comparison", self.time_unit, fn=lambda: models.comparison_table(results))

    def diagnostics(self) -> tuple[pd.DataFrame | str, models.SpendCheck]:
        """(repeat-purchase table, or the reason there is none; the spend–frequency check)."""
        fit, _ = self.fits()

        def build():
            try:
                repeat = models.repeat_purchase_fit(fit, self.summary())
            except ClvError as exc:
                repeat = str(exc)
            return repeat, models.spend_frequency_check(self.summary())

        return self._keep("diagnostics", self.time_unit, self.model, fn=build)

    def bootstrap_fits(self, resamples: int, progress=None, *, seed: int = 0) -> forecast.BootstrapFits:
        s, model = self.summary(), self.model
        return self._keep(
            "bootstrap",
            self.time_unit,
            model,
            resamples,
            seed,
            fn=lambda: forecast.bootstrap_fits(s, model, resamples=resamples, seed=seed, progress=progress),
            heavy="bootstrap refits",
        )

    def bootstrap(
        self, econ: economics.Economics, resamples: int, progress=None, *, seed: int = 0
    ) -> forecast.BootstrapCLV:
        """Each customer's CLV under every bootstrap refit (the refits are shared by every slider position; the
        app always uses seed 0, so its pages share them)."""
        fits = self.bootstrap_fits(resamples, progress, seed=seed)
        s = self.summary()
        return self.memo.derive(_bootstrap_clv, fits, s, econ)

    def sufficiency(self) -> sufficiency_.Sufficiency:
        first_day = pd.Timestamp(self.transactions.report.date_min)
        return self.memo.derive(_assess, self.summary(), first_day, self.today or dt.date.today())

    def migration(self, date_a, date_b, econ: economics.Economics, cuts=None) -> segments.Migration:
        model, unit = self.model, self.time_unit
        return self._keep(
            "migration",
            str(date_a),
            str(date_b),
            unit,
            model,
            econ,
            cuts,
            fn=lambda: segments.migration(
                self.transactions, date_a, date_b, model=model, time_unit=unit, economics=econ, cuts=cuts
            ),
            heavy="scoring two snapshots",
            spinner="Scoring both snapshots…",
        )

    def monitoring(self, every: int, thresholds: monitoring.Thresholds, econ: economics.Economics | None = None):
        """The rolling backtest every ``every`` months, the drift between the latest two snapshots and the checks
        against ``thresholds`` (:mod:`clv_core.monitoring`), for the analysis' model. The refits are kept once per
        period and economics: a threshold moved only re-reads them."""
        econ = econ or economics.Economics()
        model, unit = self.model, self.time_unit
        watched = self._keep(
            "monitoring", every, unit, model, econ,
            fn=lambda: monitoring.watch(self.transactions, model, every, time_unit=unit, economics=econ),
            heavy="backtesting over time", spinner="Refitting the model at each origin and comparing snapshots…",
        )  # fmt: skip
        return self.memo.derive(monitoring.assess, watched, thresholds)

    def channel_economics(self, loaded: spend.Spend, attribute: str, econ: economics.Economics):
        """CAC, value per acquired customer, LTV:CAC and payback by channel and cohort from marketing ``loaded``
        (:mod:`clv_core.spend`), the value from the scored table under ``econ``."""
        new_customer = self.scenario(econ).new_customer_clv
        return self.memo.derive(
            _channel_economics, loaded, self.transactions, attribute, self.scored(econ), econ, new_customer
        )

    def first_value_backtest(self) -> first_value.FirstValueBacktest:
        """The value-at-first-purchase model learnt on older cohorts and tested on newer ones, beside the BTYD
        forecast of the analysis' model (:func:`clv_core.first_value.backtest`)."""
        model, unit = self.model, self.time_unit
        return _unwrap(
            self._keep(
                "first-value-backtest", model, unit,
                fn=lambda: _attempt(first_value.backtest, self.transactions, model, time_unit=unit),
                heavy="training the first-purchase model",
                spinner="Training the first-purchase model on older cohorts…",
            )
        )  # fmt: skip

    def new_customers(self) -> first_value.NewCustomers:
        """Today's one-purchase newcomers ranked by predicted first-year revenue (:func:`first_value.new_customers`)."""
        return _unwrap(
            self._keep(
                "new-customers",
                fn=lambda: _attempt(first_value.new_customers, self.transactions),
                heavy="training the first-purchase model", spinner="Scoring the new customers…",
            )
        )  # fmt: skip

    def cohort_forecast(self, table: cohorts.CohortTable, where, ahead: int) -> cohorts.CohortForecast:
        """A cohort table's future cells from the analysis's purchase model."""
        fit, _ = self.fits()
        base = self.base()
        return self.memo.derive(_cohort_forecast, table, self.transactions, fit, self.summary(), base, where, ahead)

    def report(self, econ: economics.Economics, cuts=None, *, label: str, currency=None) -> str:
        from clv_core.report import executive_report

        today = self.today or dt.date.today()
        # Not marked heavy: its steps (fits, survival, cohorts) take their own slots, and a heavy step that waits
        # for another key while holding a slot can keep that key's owner waiting for a slot (a lock-order inversion).
        return self._keep(
            "report",
            self.time_unit,
            self.model,
            econ,
            cuts,
            label,
            today,
            currency,
            fn=lambda: executive_report(self, label=label, economics=econ, cuts=cuts, today=today, currency=currency),
            spinner="Writing the report…",
        )

    # --- what needs no model ----------------------------------------------------------------------------------

    def cohorts(self, period: str, where: tuple[str, str] | None = None) -> cohorts.CohortTable:
        return self._keep(
            "cohorts",
            period,
            where,
            fn=lambda: cohorts.build_cohorts(self.transactions, period=period, where=where),
            spinner="Building cohorts…",
        )

    def overview(self, window: str):
        """(KPIWindow, monthly trend, Concentration)."""
        tx = self.transactions

        def build():
            revenue = runs(tx.data).per_customer(tx.data["amount"].to_numpy())
            return overview.kpis(tx, window=window), overview.monthly_trend(tx), overview.concentration(revenue)

        return self._keep("overview", window, fn=build, spinner="Computing the overview…")

    def suggested_threshold(self) -> survival.SuggestedThreshold:
        return self._keep("suggested-threshold", fn=lambda: survival.suggest_inactivity_days(self.transactions))

    def survival(self, definition: survival.ChurnDefinition) -> survival.SurvivalData:
        """Lifetimes under ``definition``, with the default RFM segment as one of the groups."""
        groups = {"RFM segment": self.rfm_segments()}
        return self._keep(
            "survival",
            definition,
            fn=lambda: survival.survival_data(self.transactions, definition, extra_groups=groups),
            spinner="Measuring customer lifetimes…",
        )

    def kaplan_meier(self, data: survival.SurvivalData, group: str | None) -> survival.KMResult:
        t = data.table
        return self._keep(
            "km",
            data.definition,
            group,
            fn=lambda: survival.kaplan_meier(t["duration_days"], t["churned"], None if group is None else t[group]),
            spinner="Drawing survival curves…",
        )

    def cox(self, data: survival.SurvivalData, covariates: tuple[str, ...]) -> survival.CoxResult:
        return self._keep(
            "cox",
            data.definition,
            covariates,
            fn=lambda: survival.cox(
                data.table, duration_col="duration_days", event_col="churned", covariates=list(covariates)
            ),
            spinner="Fitting the Cox model…",
            heavy="fitting the Cox model",
        )

    def parametric(self, data: survival.SurvivalData, horizon_days: int) -> survival.ParametricResult:
        t = data.table
        return self._keep(
            "parametric",
            data.definition,
            horizon_days,
            fn=lambda: survival.parametric(t["duration_days"], t["churned"], horizon_days=horizon_days),
            spinner="Fitting parametric lifetimes…",
            heavy="fitting parametric lifetimes",
        )

    def survival_clv(self, data: survival.SurvivalData, horizon_months: int, rate: float) -> survival.SurvivalCLV:
        """Revenue per new customer from the overall Kaplan–Meier curve and the spend per active customer-month."""
        curve = self.kaplan_meier(data, None).curves[0]
        return self.memo.derive(survival.survival_clv_of, curve, self.transactions, data, horizon_months, rate)

    def implied_survival(self, longest_days: float) -> pd.DataFrame:
        """The purchase model's survival curve (from its fitted parameters) over ``longest_days``."""
        fit, _ = self.fits()
        return self.memo.derive(survival.implied_curve, fit, longest_days)

    def tracking(self, result: validation.Backtest, model_label: str) -> pd.DataFrame:
        fit = next(m.fit for m in result.models if m.name == model_label)
        return self.memo.derive(validation.tracking, fit, self.transactions, result.holdout)


def _attempt(fit: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A fit, or the reason it failed (kept like a result, so a failing fit is not retried on every rerun)."""
    try:
        return fit(*args, **kwargs)
    except ServerBusyError:  # not a property of the data: never kept
        raise
    except ClvError as exc:
        return exc


def _unwrap(result: models.FitResult | ClvError) -> models.FitResult:
    if isinstance(result, ClvError):
        raise ClvError(str(result))  # a fresh exception: the kept one is shared and keeps no traceback
    return result


def _token(value: Any) -> Any:
    """A value as part of a key: itself when hashable, else its identity (kept alive by the entry)."""
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return value


def _channel_economics(loaded, transactions, attribute, scored, econ, new_customer_clv):
    return spend.channel_economics(loaded, transactions, attribute, scored, econ, new_customer_clv)


def _segment_of_customer(result: rfm.RFMResult) -> pd.Series:
    return result.table.set_index("customer_id")["segment"]


def _scored(result: economics.CLVScenario, rfm_table, attributes, cuts, bought, parts, due) -> pd.DataFrame:
    return segments.scored_customers(
        result.customers, rfm_table=rfm_table, attributes=attributes, cuts=cuts, extra=(bought, parts, due)
    )


def _next_columns(result: next_purchase.NextPurchases) -> pd.DataFrame:
    return result.table[["next_purchase_date", "buys_within_horizon"]]


def _hybrid_parts(result: hybrid.HybridValue) -> pd.DataFrame:
    table = result.table.set_index("customer_id")[["subscription_value", "purchase_value", "clv"]]
    return table.rename(columns={"clv": "hybrid_clv"})


def _hybrid(subs, scenario: economics.CLVScenario, summary: CustomerSummary, econ) -> hybrid.HybridValue:
    clv = scenario.customers.set_index("customer_id")["clv"]
    return hybrid.hybrid_value(subs, clv, summary.table["customer_id"], econ)


def _hybrid_without_purchases(subs, summary: CustomerSummary, econ, why: str) -> hybrid.HybridValue:
    result = hybrid.hybrid_value(subs, pd.Series(dtype=float), summary.table["customer_id"], econ)
    return replace(result, notes=(*result.notes, f"No purchase value: {why}"))


def _category_value(cats: products.Categories, result: economics.CLVScenario) -> pd.DataFrame:
    return products.category_value(cats, result.customers.set_index("customer_id")["clv"])


def _bootstrap_clv(fits: forecast.BootstrapFits, summary: CustomerSummary, econ) -> forecast.BootstrapCLV:
    return forecast.bootstrap_clv(summary, fits.model, econ, fits=fits)


def _assess(summary: CustomerSummary, first_day: pd.Timestamp, today: dt.date) -> sufficiency_.Sufficiency:
    return sufficiency_.assess(summary, first_day, today=today)


def _cohort_forecast(table, tx, fit, summary, base, where, ahead):
    return cohorts.forecast_cells(table, tx, fit, summary, base.expected_order_value, where=where, ahead=ahead)


def _ordinal(position: int) -> str:
    return ("first", "second", "third", "fourth", "fifth")[position] if position < 5 else f"#{position + 1}"
