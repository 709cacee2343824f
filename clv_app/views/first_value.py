"""Value at first purchase on the pages: its backtest on the Model validation page and the likely high-value new
customers, with the lookalike seed, on Segments & export (the numbers: clv_core.first_value)."""

from __future__ import annotations

import streamlit as st

from clv_app.views.common import (
    SHOWN_ROWS,
    dataset_settings,
    full_download,
    head,
    money_column,
    share_column,
    show_table,
)
from clv_core import export, first_value
from clv_core.analysis import Analysis
from clv_core.errors import ClvError


def backtest_section(analysis: Analysis) -> None:
    st.subheader("Value at first purchase")
    st.caption(
        "BTYD models give every one-purchase newcomer the same forecast. A gradient-boosted model of the revenue "
        f"in the {first_value.HORIZON_DAYS} days after the first purchase day, from what the first order says "
        "(channel and other attributes, first product, order value and lines, weekday), learnt on older cohorts "
        "and tested on newer ones."
    )
    try:
        result = analysis.first_value_backtest()
    except ClvError as exc:
        st.caption(f"Not available for this data: {exc}")
        return
    st.markdown(result.sentence())
    shown = result.metrics.rename(
        index={result.BTYD: f"{result.BTYD} ({analysis.decision().label} + Gamma–Gamma)"}
    ).rename(columns={"MAE": "MAE (revenue per customer)", "RMSE": "RMSE (revenue per customer)"})
    show_table(
        shown,
        width="stretch",
        column_config={
            "MAE (revenue per customer)": money_column("MAE (revenue per customer)"),
            "RMSE (revenue per customer)": money_column("RMSE (revenue per customer)"),
            "total % error": share_column("Total % error"),
            "top-decile precision": share_column("Top-decile precision"),
        },
    )


def new_customers_section(analysis: Analysis) -> None:
    st.subheader("Likely high-value new customers")
    try:
        result = analysis.new_customers()
    except ClvError as exc:
        st.caption(f"Value at first purchase: {exc}")
        return
    share = first_value.HIGH_VALUE_SHARE
    st.caption(
        f"{len(result.customers):,} customers made their first and only purchase since {result.since.date()}. "
        f"Ranked by the revenue their first {first_value.HORIZON_DAYS} days are predicted to bring, from what "
        f"their first order says (a model learnt on the {result.trained_on:,} customers whose first year the data "
        f"covers; its backtest is on the Model validation page). The top {share:.0%} are listed; the lookalike seed "
        "has every new customer with the predicted value, as ad platforms' value-based lookalike audiences take it."
    )
    listed = result.high_value
    if len(listed) > SHOWN_ROWS:
        st.caption(f"The first {SHOWN_ROWS:,} are shown; the download has all {len(listed):,}.")
    config = {
        "predicted_value": money_column(f"Predicted {first_value.HORIZON_DAYS}-day revenue"),
        "first order value": money_column("First order value"),
        "likely_high_value": st.column_config.CheckboxColumn("Likely high value"),
    }
    show_table(head(listed), hide_index=True, width="stretch", column_config=config)
    tx = analysis.transactions
    meanings = first_value.columns()
    for label, frame, name, key in (
        ("Download the likely high-value new customers (CSV)", listed, "likely-high-value-new", "seg-fv-list"),
        ("Download the lookalike seed (CSV: ids and predicted value)", result.seed(), "lookalike-seed", "seg-fv-seed"),
    ):
        full_download(
            label,
            frame,
            name,
            identity=f"{tx.content_hash}-{len(frame)}",
            key=key,
            about=lambda frame=frame, label=label: export.assumptions(
                label.removeprefix("Download the ").split(" (CSV")[0],
                frame,
                fingerprint=tx.content_hash,
                columns=meanings,
                settings={"new customers since": str(result.since.date()), **dataset_settings(tx)},
            ),
            meanings=meanings,
        )
