"""Overview: the executive page. Headline numbers, trends, concentration and cohort value at a glance."""

import streamlit as st

from clv_app import links, memo, navigation, session, sources
from clv_app.views import common
from clv_app.views import overview as views
from clv_core import charts
from clv_core.cohorts import cohort_trend, default_trend_age
from clv_core.errors import ClvError

navigation.page_guard()

analysis = common.page_start("Overview")
WINDOWS = ("month", "quarter", "year")

window = (
    st.segmented_control(
        "Compare the last",
        WINDOWS,
        default="quarter",
        key="overview-window",
        bind="query-params",
    )
    or "quarter"
)
kpi_window, trend, concentration = analysis.overview(window)
if kpi_window.has_previous:
    st.caption(
        f"{kpi_window.start.date()} – {kpi_window.end.date()}, compared with the {window} before "
        f"(from {kpi_window.previous_start.date()}). Data: {common.md(sources.current_label())}."
    )
else:
    st.caption(
        f"{kpi_window.start.date()} – {kpi_window.end.date()}; the data starts too late for a previous {window}."
    )
views.kpi_cards(kpi_window)
value_slot = st.container()  # filled last: the forecast takes seconds the first time, the charts below do not
common.first_screen_sent()

st.plotly_chart(memo.of(charts.trend_chart, trend, currency=session.currency()), width="stretch")

st.subheader("Revenue concentration")
left, right = st.columns([1, 2])
with left:
    st.markdown("**Share of revenue from the best customers**")
    for label, share in concentration.top_shares.items():  # labels short enough for a third of a laptop screen
        st.metric(f"{label.capitalize()} of customers", common.format_value(share, "share"))
    st.metric(
        "Gini coefficient",
        f"{concentration.gini:.2f}",
        help="0: everyone spends the same; 1: one customer has all revenue.",
    )
right.plotly_chart(memo.of(charts.lorenz_chart, concentration), width="stretch")

st.subheader("Are newer cohorts worth more?")
try:
    table = analysis.cohorts("month")
except ClvError as exc:
    st.info(str(exc))
else:
    age = memo.of(default_trend_age, table)
    if age is None:
        st.info("Too few monthly cohorts to compare yet.")
    else:
        values, sentence = memo.of(cohort_trend, table, age=age, currency=session.currency())
        st.markdown(common.md(sentence))
        st.plotly_chart(
            memo.of(charts.cohort_trend_chart, values, age, table.period, currency=session.currency()), width="stretch"
        )
with value_slot:
    if st.toggle(
        "Forecast the customer base's value, with its 90 % interval",
        key="overview-value",
        bind="query-params",
        help="The CLV forecast page's base value: its model and economics (the most accurate model on a holdout, "
        "12 months, 30 % margin, 10 % discount rate unless changed there), with 30 refits on resampled customers. "
        "Seconds the first time on a dataset, then shared.",
    ):
        views.base_value(analysis)
    if st.toggle(
        "What the customer base is worth: customer equity",
        key="overview-equity",
        bind="query-params",
        help="Today's customers over 1 to 5 years, plus the customers the monthly cohorts say will come, less "
        "their acquisition cost (Gupta, Lehmann & Stuart 2004), with what one more point of retention or discount "
        "rate, 1 % more acquisitions or 1 % lower CAC would change.",
    ):
        views.customer_equity(analysis)
links.publish()
