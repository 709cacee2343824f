"""The RFM & lifecycle page's parts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clv_app.views.common import counts


def segment_table(summary: pd.DataFrame) -> None:
    st.dataframe(
        summary,
        width="stretch",
        column_config={
            **counts(summary),
            "share of customers": st.column_config.NumberColumn(format="percent"),
            "share of revenue": st.column_config.NumberColumn(format="percent"),
            "revenue": st.column_config.NumberColumn(format="%,.2f"),
            "mean recency (days)": st.column_config.NumberColumn(format="%,.0f"),
            "mean orders": st.column_config.NumberColumn(format="%,.2f"),
            "mean revenue": st.column_config.NumberColumn(format="%,.2f"),
        },
    )
