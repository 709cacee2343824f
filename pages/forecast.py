"""CLV forecast: fitted models, per-customer predictions, and what-if economics that never refit."""

import streamlit as st

from clv_app import forecast_views as fviews
from clv_app import links, memo, navigation, state, views
from clv_core import validation
from clv_core.errors import ClvError
from clv_core.models import MODEL_LABELS, PURCHASE_MODELS

navigation.page_guard()

tx = views.page_start("CLV forecast")

mode = (
    st.segmented_control(
        "Business model", ("Purchases any time", "Subscriptions"), default="Purchases any time", key="fc-mode"
    )
    or "Purchases any time"
)
if mode == "Subscriptions":
    fviews.subscription_mode(tx)
    st.stop()

c1, c2 = st.columns(2)
units = ("weeks", "days", "months")
unit = links.choose(
    c2.selectbox,
    "Model time unit",
    units,
    "weeks",
    key="fc-unit",
    help="The unit the model is fitted in. Money figures do not depend on it: horizons are converted.",
)
with views.steps("Choosing the model", ("scorecard", state.dataset_key(tx), unit)) as step:
    step(
        "Fitting BG/NBD, Pareto/NBD and MBG/NBD on the first two thirds of the history and scoring them on "
        "what customers bought in the last third…"
    )
    best, card, why_not = state.default_model(tx, unit)
if card is None:
    st.caption(f"No holdout test, so BG/NBD is the default: {why_not}")
choices = tuple(PURCHASE_MODELS)
model = links.choose(
    c1.selectbox,
    "Purchase model",
    choices,
    best,
    format_func=lambda k: MODEL_LABELS[k] + (" (most accurate on the holdout)" if card and k == best else ""),
    key="fc-model",
)
if card is not None:
    st.caption(f"{validation.scorecard(card)} It is the default here; the Model validation page has the details.")
try:
    with views.steps("Fitting the models", ("forecast", state.dataset_key(tx), unit, model)) as step:
        step(f"Fitting {MODEL_LABELS[model]} and Gamma–Gamma on {tx.customers:,} customers…")
        summary, fit, spend = state.fits(tx, unit, model)
        step("Predicting each customer's purchases for the next 60 months…")
        state.forecast_base(tx, unit, model, 1.0)
        step("Fitting BG/NBD, Pareto/NBD and MBG/NBD for the comparison table…")
        state.model_comparison(tx, unit)
except ClvError as exc:
    st.error(str(exc), icon=":material/block:")
    st.stop()

gate = state.sufficiency(tx, unit)
fviews.sufficiency(gate)

with st.expander("Fit diagnostics: parameters, model comparison, goodness of fit, spend check"):
    fviews.fit_diagnostics(fit, spend, state.model_comparison(tx, unit), *state.diagnostics(tx, unit, model, fit))


@st.fragment
def what_if() -> None:
    """Only this part reruns when a slider moves: the fit is cached, CLV is recomputed vectorised."""
    econ = fviews.economics_sliders(model)
    result = state.scenario(tx, unit, model, econ)
    fviews.clv_headline(result, extrapolated=gate.extrapolates(econ.horizon_months))
    if gate.extrapolates(econ.horizon_months):
        st.warning(
            f"{econ.horizon_months} months is past the {gate.supported_months} months of history this data covers: "
            "beyond that the forecast is extrapolation, assuming the purchase and dropout rates seen so far continue.",
            icon=":material/trending_flat:",
        )
    left, right = st.columns(2)
    left.plotly_chart(memo.of(fviews.clv_histogram, result), width="stretch")
    right.plotly_chart(memo.of(fviews.p_alive_figure, result.base, summary, unit), width="stretch")
    boot = None
    b1, b2 = st.columns([1, 3])
    resamples = links.choose(
        b1.selectbox,
        "Bootstrap resamples",
        (0, 10, 30, 50),
        0,
        key="fc-boot",
        help="Customers resampled with replacement and both models refitted once (seed 0); a slider move then "
        "rescores each refit. Gives the intervals of the base, of each segment and of each customer.",
    )
    if resamples:
        try:
            boot = state.bootstrap(tx, unit, model, econ, resamples)
        except ClvError as exc:
            b2.warning(str(exc))
    segments = state.default_segments(tx)
    fviews.clv_by_segment(fviews.value_by_segment(result, segments, boot), econ.horizon_months, boot)
    bases = fviews.sensitivity(result, lambda k: state.forecast_base(tx, unit, model, k))
    fviews.churn_by_segment(result, bases, segments)
    st.plotly_chart(memo.of(fviews.predicted_vs_historical, result), width="stretch")
    fviews.top_customers(result, boot)
    links.publish(SHARED)


SHARED = ("fc-unit", "fc-model", "fc-boot", *fviews.ECONOMICS_KEYS)
what_if()
links.publish(SHARED)
fviews.formula_views(tx)
