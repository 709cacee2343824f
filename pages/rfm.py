"""RFM: scores, named segments, the four-tier grid and lifecycle stages."""

import streamlit as st

from clv_app import links, memo, navigation, session
from clv_app.views import common
from clv_app.views import rfm as views
from clv_core import charts, rfm
from clv_core.errors import ClvError

navigation.page_guard()

analysis = common.page_start("RFM & lifecycle")

row = st.container(horizontal=True)  # wraps: the scores' choice whole at 800 px, the thresholds beside or below
bins = (
    row.segmented_control(
        "Scores",
        (5, 4),
        format_func={5: "Quintiles", 4: "Quartiles"}.get,
        default=5,
        key="rfm-bins",
        bind="query-params",
    )
    or 5
)
with row.expander("Lifecycle thresholds"):
    t1, t2, t3 = st.columns(3)
    at_risk = t1.number_input(
        "At risk after (days inactive)", 7, 3650, 90, step=15, key="rfm-at-risk", bind="query-params"
    )
    churned = t2.number_input(
        "Churned after (days inactive)", 14, 3650, 180, step=15, key="rfm-churned", bind="query-params"
    )
    frequent = t3.number_input("Frequent from (orders)", 2, 100, 4, key="rfm-frequent", bind="query-params")
links.publish()
try:
    thresholds = rfm.LifecycleThresholds(at_risk_days=at_risk, churned_days=churned, frequent_orders=frequent)
except ClvError as exc:
    st.error(str(exc), icon=":material/block:")
    st.stop()
result = analysis.rfm(bins, thresholds)
st.caption(
    f"{len(result.table):,} customers scored at {result.observation_end.date()}: R = days since the last purchase "
    f"(recent scores high), F = orders, M = revenue. Tied values share a score."
)
if unused := memo.of(rfm.unused_scores, result):
    st.caption("Unused scores (ties): " + "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in unused.items()) + ".")

tab_segments, tab_grid, tab_life = st.tabs(["Named segments", "Four-tier grid", "Lifecycle stages"])
with tab_segments:
    summary = memo.of(rfm.segment_summary, result, "segment")
    st.plotly_chart(
        memo.of(charts.segment_treemap, summary, "Segments: size and revenue", currency=session.currency()),
        width="stretch",
    )
    views.segment_table(summary)
    left, right = st.columns(2)
    left.plotly_chart(memo.of(charts.rf_heatmap, memo.of(rfm.rf_matrix, result)), width="stretch")
    with right:
        st.markdown("**How segments are defined** (R and FM = round((F + M) / 2) on quintile scores)")
        common.show_table(rfm.segment_rules(), hide_index=True, width="stretch")
with tab_grid:
    st.markdown("Quartiles on each of R, F and M, **1 = best** (most recent, most orders, most revenue).")
    views.segment_table(memo.of(rfm.segment_summary, result, "tier_group"))
    common.show_table(rfm.tier_rules(), hide_index=True, width="stretch")
with tab_life:
    life = memo.of(rfm.segment_summary, result, "lifecycle")
    st.plotly_chart(
        memo.of(charts.segment_treemap, life, "Lifecycle stages", currency=session.currency()), width="stretch"
    )
    views.segment_table(life)
    st.markdown(rfm.lifecycle_rules(thresholds))
