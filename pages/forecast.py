"""CLV forecast: the model every page uses, per-customer predictions, and what-if economics that never refit."""

import streamlit as st

from clv_app import links, memo, navigation, session
from clv_app.views import attributes, common, opportunities, subscriptions
from clv_app.views import forecast as views
from clv_core import validation
from clv_core.errors import ClvError

navigation.page_guard()

analysis = common.page_start("CLV forecast")

modes = ("Purchases any time", "Subscriptions", "Subscriptions and purchases")
if analysis.opportunity_grid() is not None:  # every purchase on a regular grid of dates: BG/BB is offered
    modes = (*modes, "Fixed purchase opportunities")
mode = st.segmented_control("Business model", modes, default="Purchases any time", key="fc-mode") or modes[0]
if mode == "Subscriptions":
    subscriptions.subscription_mode(analysis)
    st.stop()
if mode == "Subscriptions and purchases":
    subscriptions.hybrid_mode(analysis)
    st.stop()
if mode == "Fixed purchase opportunities":
    opportunities.opportunities_mode(analysis)
    st.stop()

try:
    with common.steps("Choosing and fitting the model", ("forecast", analysis.key, analysis.choice)) as step:
        step(
            "Fitting BG/NBD, Pareto/NBD and MBG/NBD on the first two thirds of the history and scoring them on "
            "what customers bought in the last third…"
        )
        decision = analysis.decision()
        step(f"Fitting {decision.label} and Gamma–Gamma on {analysis.transactions.customers:,} customers…")
        fit, spend = analysis.fits()
        step("Predicting each customer's purchases for the next 60 months…")
        analysis.base()
except ClvError as exc:
    views.model_pickers(None)
    st.error(str(exc), icon=":material/block:")
    st.stop()
views.model_pickers(analysis)
common.model_line(analysis, hint=False)  # the pickers are right above
if decision.scorecard is not None:
    st.caption(f"{validation.scorecard(decision.scorecard)} The Model validation page has the details.")

gate = analysis.sufficiency()
views.sufficiency(gate)

# filled once opened (a rerun), after the rest of the page: the comparison fits every model on the whole history,
# and a collapsed section's tables and chart would cost every visit their drawing
diagnostics = st.expander(
    "Fit diagnostics: parameters, model comparison, goodness of fit, spend check", on_change="rerun", key="fc-diag"
)


@st.fragment
def what_if() -> None:
    """Only this part reruns when a slider moves: the fit is cached, CLV is recomputed vectorised."""
    econ = common.economics_sliders(analysis.model)
    result = analysis.scenario(econ)
    views.clv_headline(result, extrapolated=gate.extrapolates(econ.horizon_months))
    if gate.extrapolates(econ.horizon_months):
        st.warning(
            f"{econ.horizon_months} months is past the {gate.supported_months} months of history this data covers: "
            "beyond that the forecast is extrapolation, assuming the purchase and dropout rates seen so far continue.",
            icon=":material/trending_flat:",
        )
    common.first_screen_sent()
    left, right = st.columns(2)
    left.plotly_chart(memo.of(views.clv_histogram, result, currency=session.currency()), width="stretch")
    right.plotly_chart(
        memo.of(views.p_alive_figure, result.base, analysis.summary(), analysis.time_unit), width="stretch"
    )
    if note := analysis.p_alive_note():
        right.caption(note)
    boot = None
    b1, b2 = st.columns([1, 3])
    resamples = b1.selectbox(
        "Bootstrap resamples",
        (0, 10, 30, 50),
        key="fc-boot",
        bind="query-params",
        help="Customers resampled with replacement and both models refitted once (seed 0); a slider move then "
        "rescores each refit. Gives the intervals of the base, of each segment and of each customer.",
    )
    if resamples:
        try:
            boot = common.bootstrap(analysis, econ, resamples)
        except ClvError as exc:
            b2.warning(str(exc))
    segments = analysis.rfm_segments()
    views.clv_by_segment(views.value_by_segment(result, segments, boot), econ.horizon_months, boot)
    bases = views.sensitivity(result, analysis.base)
    views.churn_by_segment(result, bases, segments)
    st.plotly_chart(memo.of(views.predicted_vs_historical, result, currency=session.currency()), width="stretch")
    views.top_customers(result, boot)
    views.formula_views(analysis.transactions, econ)
    attributes.attributes_section(analysis, econ)
    links.publish()


what_if()
if diagnostics.open:
    with diagnostics:
        try:
            views.fit_diagnostics(fit, spend, analysis.comparison(), *analysis.diagnostics())
        except ClvError as exc:  # e.g. the server stayed busy: the forecast above stands
            st.warning(str(exc))
links.publish()
