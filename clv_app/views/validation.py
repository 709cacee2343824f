"""The Model validation page's parts."""

from __future__ import annotations

import pandas as pd
import streamlit as st


def metrics_table(metrics: pd.DataFrame) -> None:
    percent = ("purchases % error", "revenue % error", "top-decile precision", "top-decile recall")
    st.dataframe(
        metrics,
        width="stretch",
        column_config={
            **{c: st.column_config.NumberColumn(format="percent") for c in percent},
            **{c: st.column_config.NumberColumn(format="%.3f") for c in metrics.columns if c not in percent},
            "holdout actual purchases": st.column_config.NumberColumn(format="%,.0f"),
            "holdout predicted purchases": st.column_config.NumberColumn(format="%,.0f"),
            "holdout actual revenue": st.column_config.NumberColumn(format="%,.0f"),
            "holdout predicted revenue": st.column_config.NumberColumn(format="%,.0f"),
        },
    )
