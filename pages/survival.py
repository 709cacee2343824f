"""Survival: how long customers stay, and what makes them leave."""

import streamlit as st

from clv_app import links, memo, navigation, session
from clv_app.views import common
from clv_app.views import survival as views
from clv_core import charts, survival
from clv_core.economics import MAX_MONTHS
from clv_core.errors import ClvError

navigation.page_guard()

analysis = common.page_start("Survival")
tx = analysis.transactions

with common.steps("Measuring lifetimes", ("survival", analysis.key)) as step:
    step(f"Finding the typical gap between purchases of {tx.customers:,} customers…")
    suggestion = analysis.suggested_threshold()
    step("Measuring each customer's lifetime, with RFM segments to split by, and drawing the Kaplan–Meier curve…")
    first_data = analysis.survival(survival.ChurnDefinition(suggestion.days))
    analysis.kaplan_meier(first_data, None)
# a row that wraps, each control at the width its label and value need: in [3, 2, 1] columns at 800 px the lifetime's
# end read "When the churn"
row = st.container(horizontal=True)
inactivity = row.slider(
    "A customer has churned after this many days without a purchase",
    7,
    max(730, suggestion.days),
    suggestion.days,
    step=7,
    key="surv-inactivity",
    bind="query-params",
    width=380,
)
end = row.selectbox(
    "A churned customer's lifetime ends",
    views.LIFETIME_ENDS,
    key="surv-end",
    bind="query-params",
    help="When the churn is recognised: the last purchase plus the days without a purchase above (a one-time "
    "buyer's lifetime is that window, not a day). At the last purchase: plus the grace days beside.",
    width=270,
)
grace = row.number_input(
    "Grace days",
    0,
    365,
    1,
    key="surv-grace",
    bind="query-params",
    disabled=end == views.LIFETIME_ENDS[0],
    help="Added to a churned customer's last purchase when the lifetime ends there.",
    width=130,
)
st.caption(f"Suggested {suggestion.days} days. {suggestion.explanation}")
data = analysis.survival(survival.ChurnDefinition(inactivity, None if end == views.LIFETIME_ENDS[0] else grace))
views.survival_summary(data, analysis.kaplan_meier(data, None))
common.first_screen_sent()

group = st.selectbox("Split curves by", ["(all customers)", *data.groups], key="surv-group", bind="query-params")
group = None if group == "(all customers)" else group
km = analysis.kaplan_meier(data, group)
fit, implied = None, None
row = st.container(horizontal=True)  # two toggles as wide as their labels, one under the other when narrow
if group is None and row.toggle("Draw the best parametric fit", key="surv-fit", bind="query-params"):
    fit = analysis.parametric(data, 365)
if row.toggle(
    "Beside the purchase model's survival",
    key="surv-model",
    bind="query-params",
    help="The share of customers the CLV forecast's purchase model says have not dropped out, from its fitted "
    "parameters: the same story told by the model and by the data.",
):
    implied = views.implied_survival(analysis, km)
st.plotly_chart(memo.of(charts.km_chart, km, parametric=fit, implied=implied), width="stretch")
if implied is not None:
    views.implied_survival_note(km, implied, inactivity)
if km.logrank_sentence:
    st.markdown(km.logrank_sentence)
views.km_tables(km)

tab_cox, tab_param, tab_clv = st.tabs(
    ["What makes customers leave (Cox)", "Parametric lifetimes", "Survival-based CLV"]
)
with tab_cox:
    options = [*data.groups, "first order value"]
    default = list(survival.default_cox_attributes(data.groups))
    chosen = st.multiselect("Attributes", options, default=default, key="surv-cox", bind="query-params")
    try:
        views.cox_result(analysis.cox(data, tuple(chosen)))
    except ClvError as exc:
        st.warning(str(exc), icon=":material/warning:")
with tab_param:
    horizon = st.slider(
        "Horizon for the restricted mean (days)", 30, 1095, 365, step=15, key="surv-horizon", bind="query-params"
    )
    try:
        views.parametric_result(analysis.parametric(data, horizon))
    except ClvError as exc:
        st.warning(str(exc), icon=":material/warning:")
with tab_clv:
    h1, h2 = st.columns(2)
    months = session.choose(h1.slider, "Horizon (months, shared with the CLV forecast)", "horizon", 1, MAX_MONTHS)
    rate = session.choose(
        h2.slider, "Annual discount rate (shared with the CLV forecast)", "rate", 0.0, 0.30, step=0.01, format="percent"
    )
    value = analysis.survival_clv(data, months, rate)
    views.survival_clv_result(value)
links.publish()
