"""Segments & export: who to target, what to spend, and lists a campaign tool can take."""

import streamlit as st

from clv_app import links, memo, navigation, session, sources
from clv_app.views import common, first_value
from clv_app.views import segments as views
from clv_core import export, segments
from clv_core.errors import ClvError

navigation.page_guard()

analysis = common.page_start("Segments & export")
if not common.model_line(analysis, p_alive=True):
    st.stop()
with st.expander("Economics and value groups (the economics are shared with the CLV forecast page)"):
    econ = common.economics_sliders(analysis.model)
    t = st.columns(4)
    cuts = [
        t[i].number_input(f"{name} from percentile", 1, 99, value, key=f"seg-cut-{i}", bind="query-params")
        for i, (name, value) in enumerate(zip(segments.VALUE_GROUPS, (95, 80, 50, 20), strict=False))
    ]
try:
    cuts = segments.ValueGroupCuts(*cuts)
    with common.steps("Scoring customers", ("segments", analysis.key, analysis.choice)) as step:
        step(f"Fitting {analysis.decision().label} and Gamma–Gamma, then predicting 60 months per customer…")
        analysis.base(econ.churn_multiplier)
        step("Joining predicted value with RFM segments, lifecycle stages and attributes…")
        table = analysis.scored(econ, cuts)
except ClvError as exc:
    st.error(str(exc), icon=":material/block:")
    st.stop()

summary = analysis.value_summary(econ, cuts)
gate = analysis.sufficiency()
horizon = econ.horizon_months
st.subheader("Customers by predicted value")
views.headline(summary, table, horizon)
boot = None
if st.toggle(
    "90 % intervals (30 bootstrap refits)",
    key="seg-intervals",
    bind="query-params",
    help="Customers resampled with replacement and both models refitted 30 times (seed 0): how far each "
    "group's total could be off because the model was learned from a sample. Seconds to minutes the first time on "
    "a dataset (Pareto/NBD fits slowest), then shared with the CLV forecast page and the Overview.",
):
    try:
        boot = common.bootstrap(analysis, econ, 30)
    except ClvError as exc:
        st.caption(f"No intervals: {exc}")
    else:
        summary = segments.with_intervals(summary, table, boot, analysis.base(econ.churn_multiplier).customer_id)
if gate.extrapolates(horizon):
    st.warning(
        f"{horizon} months is past the {gate.supported_months} months of history this data covers: the predicted "
        "values beyond that are extrapolation.",
        icon=":material/trending_flat:",
    )
views.value_table(summary, horizon, boot)
common.glossary(analysis, cuts)
common.first_screen_sent()

st.subheader("Who to act on: RFM segment × P(alive)")
views.rfm_alive_section(analysis, table, econ=econ, cuts=cuts)

st.subheader("Actions and budget")
views.budget_section(analysis, summary, table, econ, boot)

st.subheader("Executive report")
st.caption(
    "One HTML file with the KPIs, cohort retention, survival curve, value-group table, glossary and these "
    "assumptions; it opens offline in any browser."
)
if st.toggle("Prepare the report", key="seg-report"):
    html_report = analysis.report(econ, cuts, label=sources.current_label(), currency=session.currency())
    st.download_button(
        "Download the executive report (HTML)",
        html_report.encode("utf-8"),
        file_name=export.file_name("report", html_report.encode("utf-8"), "html"),
        mime="text/html",
        key="seg-report-download",
        on_click="ignore",
    )

# filled once opened (a rerun): each snapshot refits the models on the data to that day
migration = st.expander("Value-group migration between two snapshot dates", on_change="rerun", key="seg-migration")
if migration.open:
    with migration:
        views.migration_section(analysis, econ, cuts)

st.subheader("Customer list")
# the likely next category is a campaign's audience too ("who will buy grinders next")
filterable = (*analysis.transactions.attributes, *(["next_category"] if "next_category" in table else []))
chosen = views.customer_filters(table, filterable)
filtered = memo.of(segments.filter_customers, table, **common.frozen(chosen))
st.metric("Customers in the list", f"{len(filtered):,}")
if len(filtered) > common.SHOWN_ROWS:
    st.caption(f"The first {common.SHOWN_ROWS:,} customers are shown; the downloads have all {len(filtered):,}.")
common.show_table(
    memo.of(common.head, filtered), hide_index=True, width="stretch", column_config=common.customer_columns(horizon)
)
views.customer_list_downloads(analysis, filtered, chosen, econ=econ, cuts=cuts)
views.due_section(analysis, table, econ, cuts)
first_value.new_customers_section(analysis)
links.publish()
