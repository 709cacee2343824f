"""The Cohorts page's parts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clv_core.ingest import Transactions


def choose_filter(tx: Transactions, attributes: pd.DataFrame, key: str) -> tuple[str, str] | None:
    """An attribute and one of its values (the 20 most common), or None for all customers."""
    names = list(attributes.columns)
    if not names:
        st.caption("This dataset has no attribute columns (channel, country …) to filter by.")
        return None
    c1, c2 = st.columns(2)
    attribute = c1.selectbox(
        "Filter customers by their first purchase's", ["(all customers)", *names], key=f"{key}-attr"
    )
    if attribute == "(all customers)":
        return None
    counts = attributes[attribute].value_counts()
    value = c2.selectbox(
        f"{attribute} is",
        list(counts.index[:20]),
        format_func=lambda v: f"{v} ({counts[v]:,} customers)",
        key=f"{key}-value",
        help="The 20 most common values are offered." if len(counts) > 20 else None,
    )
    return attribute, value
