"""The RFM & lifecycle page's parts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clv_app.views.common import money_column, share_column, show_table


def segment_table(summary: pd.DataFrame) -> None:
    show_table(
        summary,
        width="stretch",
        column_config={
            "share of customers": share_column("Share of customers"),
            "share of revenue": share_column("Share of revenue"),
            "revenue": money_column("Revenue", cents=False),
            "mean recency (days)": st.column_config.NumberColumn(format="%,.0f"),
            "mean orders": st.column_config.NumberColumn(format="%,.2f"),
            "mean revenue": money_column("Mean revenue"),
        },
    )
