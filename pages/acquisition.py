"""Acquisition & CAC: marketing spend per channel and month → CAC, value per acquired customer, LTV:CAC and payback."""

import streamlit as st

from clv_app import links, memo, navigation, session
from clv_app.views import acquisition as views
from clv_app.views import common
from clv_core import charts, spend
from clv_core.errors import ClvError

navigation.page_guard()

analysis = common.page_start("Acquisition & CAC")
tx = analysis.transactions
attribute = views.channel_picker(tx)
if attribute is None:
    st.caption(
        "This data has no acquisition-channel column (map one as an attribute on the Data page): spend can still "
        "give the blended CAC, but not CAC or LTV:CAC by channel."
    )
views.template_download(tx, attribute)
loaded = views.spend_input(tx, attribute)
if loaded is None:
    st.info(
        "Add what was spent on marketing per channel and month (upload a file with the columns month, channel and "
        "spend, or type it in) to see the cost of acquiring a customer through each channel, what those customers "
        "are worth, LTV:CAC against the 3 : 1 rule of thumb, and the month each channel's customers pay back.",
        icon=":material/upload_file:",
    )
    st.stop()
if attribute is None:
    blended = spend.blended_cac(tx, loaded)
    measured = (
        f"Until then only the blended CAC can be measured: {common.money(blended, cents=True)} per new customer in "
        "the whole months of the data the spend covers."
        if blended == blended
        else "No customer was acquired in the whole months of the data that the spend covers: there is no CAC to "
        "measure (check the spend's months against the data's)."
    )
    st.warning(
        "The data has no acquisition-channel attribute to match the spend to: map a channel column on the Data "
        f"page. {measured}",
        icon=":material/warning:",
    )
    st.stop()
econ = session.economics()
try:
    result = analysis.channel_economics(loaded, attribute, econ)
except ClvError as exc:
    st.error(common.md(str(exc)), icon=":material/block:")
    st.stop()
views.apply_cac_default(tx, result)
for sentence in (*result.matching.sentences(), *result.sentences()):
    st.warning(common.md(sentence), icon=":material/link_off:")
views.headline(result)
st.plotly_chart(memo.of(charts.ltv_cac_chart, result.channels, spend.TARGET_RATIO), width="stretch")
views.channel_table(result)
views.cohort_table(result)
views.downloads(tx, result, loaded, econ)
links.publish()
