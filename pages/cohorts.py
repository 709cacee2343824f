"""Cohorts: retention and value by acquisition period, comparison, and curve projection."""

import streamlit as st

from clv_app import links, memo, navigation, session
from clv_app.views import cohorts as views
from clv_app.views import common
from clv_core import charts, cohorts
from clv_core.errors import ClvError

navigation.page_guard()

analysis = common.page_start("Cohorts")
tx = analysis.transactions

# a row that wraps, each control as wide as it needs: in a third of a narrow window "quarter" was cut off
row = st.container(horizontal=True)
PERIODS = ("week", "month", "quarter")
period = (
    row.segmented_control("Cohorts by", PERIODS, default="month", key="cohort-period", bind="query-params") or "month"
)
metrics = tuple(charts.COHORT_METRICS)
metric = row.selectbox(
    "Show",
    metrics,
    format_func=lambda m: charts.COHORT_METRICS[m][0],
    key="cohort-metric",
    bind="query-params",
    width=360,
)
where = views.choose_filter(tx, analysis.attributes(), key="cohort-filter")

try:
    table = analysis.cohorts(period, where)
except ClvError as exc:
    st.error(str(exc), icon=":material/block:")
    st.stop()

scope = f"{where[0]} = {where[1]}" if where else "all customers"
n = len(table.sizes)
st.caption(
    f"{table.customers:,} customers ({common.md(scope)}) in {n} {period}ly cohort{'' if n == 1 else 's'}. "
    + (
        f"The {period} {table.excluded_partial_period} is left out: the data ends inside it."
        if table.excluded_partial_period
        else ""
    )
)
forecast = None
if st.toggle(
    "Fill the future with the model",
    key="cohort-forecast",
    bind="query-params",
    help="Cells the data has not reached yet, filled with the CLV forecast's purchase model: each customer's "
    "expected purchases in that period times their expected order value.",
):
    if metric not in cohorts.FORECAST_METRICS:
        st.caption(
            "The model forecasts purchases and their value, not who buys in a given period: choose revenue per "
            "customer or cumulative revenue to see its cells."
        )
    else:
        ahead = st.slider(
            f"And {period}s past the oldest cohort's age", 0, 24, 6, key="cohort-ahead", bind="query-params"
        )
        try:
            with common.steps("Forecasting the cohorts", ("cohort-forecast", analysis.key, analysis.choice)) as step:
                step("Choosing and fitting the purchase model (once per dataset)…")
                forecast = analysis.cohort_forecast(table, where, ahead)
            common.model_line(analysis)
        except ClvError as exc:
            st.info(f"No forecast cells: {exc}", icon=":material/info:")
st.plotly_chart(memo.of(charts.cohort_heatmap, table, metric, forecast, currency=session.currency()), width="stretch")

st.subheader("Cohort comparison")
ages = tuple(a for a in (3, 6, 12) if a < table.retention.shape[1]) or (0,)
comparison = memo.of(cohorts.comparison, table, ages=ages)
common.show_table(
    comparison,
    width="stretch",
    column_config={
        **{f"retention {a}": common.share_column(f"Retention at {a}") for a in ages},
        **{c: common.money_column("") for c in comparison.columns if "revenue" in c or "order value" in c},
    },
)
st.plotly_chart(memo.of(charts.cohort_curves, table, currency=session.currency()), width="stretch")

st.subheader("Projected cumulative revenue per customer")
p1, p2 = st.columns([2, 1])
cohort = p1.selectbox("Cohort", list(table.sizes.index), key="cohort-project")
horizon = p2.slider(f"Project to ({period}s since acquisition)", 6, 60, 24, key="cohort-horizon")
projection = memo.of(cohorts.project_curve, table, cohort, horizon=horizon)
if projection.refused:
    st.info(projection.refused)
else:
    st.plotly_chart(memo.of(charts.projection_chart, projection, period, currency=session.currency()), width="stretch")
    tried = ", ".join(f"{name} {common.money_md(rmse, cents=True)}" for name, rmse in projection.candidates.items())
    st.caption(
        f"Best fit: {projection.family} ({projection.formula}, t = {period}s since acquisition + 1), "
        f"RMSE {common.money_md(projection.rmse, cents=True)} per customer on {len(projection.observed)} observed "
        f"{period}s. "
        f"RMSE of each family tried: {tried}. Projected value at {horizon}: "
        f"{common.money_md(projection.projected.iloc[-1], cents=True)} per customer."
    )
links.publish()
