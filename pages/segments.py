"""Segments & export: who to target, what to spend, and lists a campaign tool can take."""

import streamlit as st

from clv_app import links, memo, navigation, state, views
from clv_core import export, segments
from clv_core.economics import Economics
from clv_core.errors import ClvError
from clv_core.models import MODEL_LABELS

navigation.page_guard()

tx = views.page_start("Segments & export")
with st.expander("Scoring and segment thresholds"):
    s1, s2, s3, s4 = st.columns(4)
    horizon = links.ranged(s1.slider, "Horizon (months)", 1, 60, 12, key="seg-horizon")
    margin = links.ranged(s2.slider, "Gross margin", 0.05, 1.0, 0.30, 0.05, key="seg-margin")
    rate = links.ranged(s3.slider, "Annual discount rate", 0.0, 0.30, 0.10, 0.01, key="seg-rate")
    model = links.choose(s4.selectbox, "Model", ("bgnbd", "paretonbd", "mbgnbd"), "bgnbd", key="seg-model")
    t = st.columns(4)
    cuts = [
        links.ranged(t[i].number_input, f"{name} from percentile", 1, 99, value, key=f"seg-cut-{i}")
        for i, (name, value) in enumerate((("Champions", 95), ("Loyal", 80), ("Potential Loyalists", 50), ("New", 20)))
    ]
    econ = Economics(rate, margin, horizon)
    st.caption(econ.discount_sentence())
try:
    thresholds = segments.SegmentThresholds(*cuts)
    with views.steps("Scoring customers", ("segments", state.dataset_key(tx), model)) as step:
        step(f"Fitting {MODEL_LABELS[model]} and Gamma–Gamma, then predicting 60 months per customer…")
        state.forecast_base(tx, "weeks", model, 1.0)
        step("Joining predicted value with RFM segments, lifecycle stages and attributes…")
        table = state.scored(tx, model, "weeks", econ, thresholds)
except ClvError as exc:
    st.error(str(exc), icon=":material/block:")
    st.stop()

summary = memo.of(segments.segment_summary, table)
gate = state.sufficiency(tx)
st.subheader("CLV segments")
boot = None
if links.switch(
    st.toggle,
    "90 % intervals (30 bootstrap refits)",
    True,
    key="seg-intervals",
    help="Customers resampled with replacement and both models refitted 30 times (seed 0): how far each "
    "segment's total could be off because the model was learned from a sample.",
):
    try:
        boot = state.bootstrap(tx, "weeks", model, econ, 30)
    except ClvError as exc:
        st.caption(f"No intervals: {exc}")
    else:
        ids = state.forecast_base(tx, "weeks", model, 1.0).customer_id
        summary = segments.with_intervals(summary, table, boot, ids)
if gate.extrapolates(horizon):
    st.warning(
        f"{horizon} months is past the {gate.supported_months} months of history this data covers: the predicted "
        "values beyond that are extrapolation.",
        icon=":material/trending_flat:",
    )
st.caption(
    f"Predicted {horizon}-month CLV. {int(table['slipping'].sum()):,} valuable customers are slipping "
    "(top-20 % value if still active, but P(alive) below 50 %)."
)
views.segment_value_table(summary, horizon, boot)
with st.expander("Value tiers: High (top 20 % of CLV), Medium (next 30 %), Low"):
    st.dataframe(
        memo.of(segments.tier_summary, table),
        width="stretch",
        column_config={"total CLV": st.column_config.NumberColumn(f"total CLV ({horizon} mo)", format="%.0f")},
    )

st.subheader("Who to act on: RFM segment × P(alive)")
views.rfm_alive_section(tx, table, model=model, econ=econ, thresholds=thresholds, gate=gate)

st.subheader("Actions and budget")
actions = st.data_editor(
    segments.default_actions(), hide_index=True, width="stretch", key="seg-actions", disabled=["segment"]
)
budget = st.number_input("Total budget", 0.0, 1e9, 10_000.0, step=1_000.0, key="seg-budget")
try:
    allocation = segments.allocate_budget(summary, actions, budget)
    views.budget_table(allocation)
    st.metric(
        "Expected return in total",
        f"{allocation['expected return'].sum():,.0f}",
        help="Sum over segments of customers × response rate × mean CLV.",
    )
except ClvError as exc:
    st.error(str(exc), icon=":material/block:")

st.subheader("Executive report")
st.caption(
    "One HTML file with the KPIs, cohort retention, survival curve, segment table and these assumptions; "
    "it opens offline in any browser."
)
if st.toggle("Prepare the report", key="seg-report"):
    html_report = state.report(tx, model, econ, thresholds)
    st.download_button(
        "Download the executive report (HTML)",
        html_report.encode("utf-8"),
        file_name=export.file_name("report", html_report.encode("utf-8"), "html"),
        mime="text/html",
        key="seg-report-download",
        on_click="ignore",
    )

with st.expander("Segment migration between two snapshot dates"):
    views.migration_section(tx, model, econ, thresholds)

st.subheader("Customer list")
chosen = views.customer_filters(table, tx.attributes)
filtered = memo.of(segments.filter_customers, table, **views.frozen(chosen))
st.metric("Customers in the list", f"{len(filtered):,}")
if len(filtered) > views.SHOWN_ROWS:
    st.caption(f"The first {views.SHOWN_ROWS:,} customers are shown; the downloads have all {len(filtered):,}.")
st.dataframe(
    memo.of(views.head, filtered), hide_index=True, width="stretch", column_config=views.customer_columns(horizon)
)
views.customer_list_downloads(tx, filtered, chosen, model=model, econ=econ, thresholds=thresholds, gate=gate)
links.publish(
    (
        "seg-horizon",
        "seg-margin",
        "seg-rate",
        "seg-model",
        *(f"seg-cut-{i}" for i in range(4)),
        "seg-intervals",
        *views.CELL_KEYS,
        *views.FILTER_KEYS,
    )
)
