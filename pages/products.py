"""Products: value by category, who goes on to buy what, and whether buying more categories goes with staying."""

import streamlit as st

from clv_app import memo, navigation, session
from clv_app.views import common
from clv_core import charts, products, survival
from clv_core.errors import ClvError

navigation.page_guard()

analysis = common.page_start("Products")
if not analysis.has_products():
    st.info(
        "No product or category column is mapped for this dataset, so there is nothing to compare between "
        "products. On the Data page, map a column such as product, SKU or category (or load the retail sample, "
        "which has one).",
        icon=":material/category:",
    )
    st.stop()
if not common.model_line(analysis):
    st.stop()
econ = session.economics()
currency = session.currency()
horizon = econ.horizon_months
try:
    cats = analysis.categories()
    value = analysis.category_value(econ)
    matrix = analysis.adoption()
    breadth = analysis.breadth_value(econ)
except ClvError as exc:
    st.error(str(exc), icon=":material/block:")
    st.stop()
st.caption(
    f"{cats.note} Predicted CLV over {horizon} months at the economics of the CLV forecast page (margin "
    f"{econ.gross_margin:.0%}, discount rate {econ.annual_discount_rate:.0%} a year)."
)

st.subheader("Value by category")
left, right = st.columns([3, 2])
left.plotly_chart(
    memo.of(charts.category_value_chart, value, horizon, currency=currency), width="stretch", key="prod-value"
)
with right:
    top = value.iloc[0]
    best_repeat = value.loc[value["repeat rate"].idxmax()]
    st.markdown(
        f"**{common.md(top['category'])}** brings the most revenue ({top['share of revenue']:.0%} of it). "
        f"**{common.md(best_repeat['category'])}** is bought again most often: {best_repeat['repeat rate']:.0%} of "
        f"its buyers bought it on two or more days (95 % CI {best_repeat['repeat rate low']:.0%}–"
        f"{best_repeat['repeat rate high']:.0%})."
    )
    st.caption(
        "Predicted CLV splits each customer's predicted value over the categories in proportion to what they have "
        "spent on each, so the categories add up to the total; mean CLV of buyers counts a customer in every "
        "category they bought."
    )
common.show_table(
    value,
    hide_index=True,
    width="stretch",
    column_config={
        "category": st.column_config.TextColumn("Category"),
        "revenue": common.money_column("Revenue to date", cents=False),
        "share of revenue": common.share_column("Share of revenue"),
        "customers": st.column_config.NumberColumn("Customers", format="%,d"),
        "repeat rate": common.share_column("Repeat rate", help="Share of its buyers who bought it on 2+ days."),
        "repeat rate low": common.share_column("Repeat rate, 95 % low"),
        "repeat rate high": common.share_column("Repeat rate, 95 % high"),
        "predicted CLV": common.money_column(f"Predicted CLV ({horizon} mo)", cents=False),
        "mean CLV of buyers": common.money_column(f"Mean CLV of buyers ({horizon} mo)"),
    },
)

st.subheader("What customers buy next")
st.plotly_chart(memo.of(charts.adoption_heatmap, matrix), width="stretch", key="prod-adoption")
ADOPTION_NOTE = (
    "Customers who had not bought the column's category by their first purchase of the row's. Blank: a category "
    "and itself, or fewer than {n} such customers. Recent customers have had less time to buy more, so the shares "
    "are lower bounds. Each customer's most likely next category (the highest share from a category they have) "
    "is in the customer list and the exports on the Segments & export page."
)
st.caption(ADOPTION_NOTE.format(n=products.MIN_AT_RISK))
pairs = memo.of(products.Adoption.steps, matrix)
if not pairs.empty:
    st.markdown("**The ten most adopted next categories**")
    common.show_table(
        pairs.head(10),
        hide_index=True,
        width="stretch",
        column_config={
            "bought first": st.column_config.TextColumn("Bought first"),
            "then bought": st.column_config.TextColumn("Then bought"),
            "share": common.share_column("Share who did"),
            "share low": common.share_column("95 % low"),
            "share high": common.share_column("95 % high"),
            "customers who could": st.column_config.NumberColumn("Customers who could", format="%,d"),
            "customers who did": st.column_config.NumberColumn("Customers who did", format="%,d"),
            "median days to it": st.column_config.NumberColumn("Median days to it", format="%,.0f"),
        },
    )

st.subheader("Customers of several categories")
common.show_table(
    breadth,
    hide_index=True,
    width="stretch",
    column_config={
        "categories": st.column_config.TextColumn("Categories bought"),
        "customers": st.column_config.NumberColumn("Customers", format="%,d"),
        "share of customers": common.share_column("Share of customers"),
        "mean_revenue": common.money_column("Mean revenue to date"),
        "mean_clv": common.money_column(f"Mean CLV ({horizon} mo)"),
        "total_clv": common.money_column(f"Total CLV ({horizon} mo)", cents=False),
        "mean_p_alive": st.column_config.NumberColumn("Mean P(alive) now", format="%,.2f"),
    },
)
suggestion = analysis.suggested_threshold()
definition = survival.ChurnDefinition(suggestion.days)
try:
    evidence = analysis.breadth_evidence(definition)
except ClvError as exc:
    st.info(f"No lifetime comparison: {exc}", icon=":material/info:")
    st.stop()
st.markdown(evidence.sentence)  # our words only: no text from the file
st.plotly_chart(
    memo.of(
        charts.km_chart,
        evidence.km,
        since=f"after day {products.LANDMARK_DAYS}",
        title=f"Still customers after day {products.LANDMARK_DAYS}, by categories bought by then",
    ),
    width="stretch",
    key="prod-km",
)
ratios = memo.of(products.evidence_table, evidence)
common.show_table(
    ratios,
    hide_index=True,
    width="stretch",
    column_config={
        "model": st.column_config.TextColumn("Comparison"),
        "hazard ratio": st.column_config.NumberColumn("Hazard ratio, 2+ vs 1", format="%.2f"),
        "lower 95%": st.column_config.NumberColumn("95 % low", format="%.2f"),
        "upper 95%": st.column_config.NumberColumn("95 % high", format="%.2f"),
        "p": st.column_config.TextColumn("p-value"),
    },
)
st.caption(
    f"{evidence.customers:,} customers followed for more than {products.LANDMARK_DAYS} days after their first "
    f"purchase, grouped by the categories they bought before that day and followed from it ({evidence.excluded:,} "
    f"with shorter histories left out), so the groups differ from the table above, which counts every category "
    f"bought to date. Churned: {definition.inactivity_days} days without a purchase, the Survival page's "
    "suggested threshold, so a churned customer's curve drops that many days after their last purchase. A hazard ratio "
    "below 1: they leave more slowly (Cox models)."
)
