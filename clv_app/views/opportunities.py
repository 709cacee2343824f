"""The CLV forecast page's view for purchases at fixed opportunities (BG/BB)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clv_app import memo, session
from clv_app.views.common import (
    SHOWN_ROWS,
    cards,
    customer_columns,
    dataset_settings,
    full_download,
    money,
    show_table,
)
from clv_core import charts, discrete, export
from clv_core.analysis import Analysis
from clv_core.errors import ClvError


def opportunities_mode(analysis: Analysis) -> None:
    """BG/BB on the grid of opportunities: its parameters in words, each customer's P(alive), expected purchases
    and CLV over the opportunities within the horizon, with the economics of the purchase forecast."""
    tx = analysis.transactions
    econ = session.economics()
    try:
        summary, fitted = analysis.bgbb()
        result = analysis.discrete_forecast(econ)
    except ClvError as exc:
        st.info(str(exc), icon=":material/info:")
        return
    grid = summary.grid
    st.markdown(
        f"Every purchase falls on one of **{grid.describe()}**: customers can only buy at those opportunities, so "
        "the **beta-geometric/beta-binomial** model (BG/BB, Fader, Hardie & Shang 2010) describes them: at each "
        "opportunity an active customer buys with their own probability, and afterwards drops out with their own "
        "probability."
    )
    h = econ.horizon_months
    with cards():
        st.metric(f"Opportunities in {h} months", f"{result.opportunities:,}")
        st.metric(f"Expected purchases ({h} mo)", f"{result.customers['expected_purchases'].sum():,.0f}")
        st.metric(f"CLV ({h} mo, discounted margin)", money(result.total_clv))
        st.metric("Mean P(alive) now", f"{result.customers['p_alive'].mean():.2f}")
    if result.opportunities == 0:
        st.info(
            f"The next opportunity is more than {h} months away: lengthen the horizon (on the Purchases any time "
            "view, shared by every view) to value it.",
            icon=":material/event:",
        )
    st.caption(
        f"Economics of the purchase forecast: margin {econ.gross_margin:.0%}, discount rate "
        f"{econ.annual_discount_rate:.0%} a year, each opportunity discounted to the month it falls in; a purchase "
        "is valued at the customer's own mean spend per opportunity."
    )
    for note in fitted.notes:
        st.warning(note, icon=":material/warning:")
    st.markdown(
        f"An active customer buys at an opportunity with probability **{fitted.mean_purchase_probability:.0%}** on "
        f"average and drops out after one with probability **{fitted.mean_dropout:.0%}** on average "
        f"({fitted.customers:,} customers, log-likelihood {fitted.log_likelihood:,.1f})."
    )
    show_table(
        memo.of(_parameters, fitted),
        hide_index=True,
        width="stretch",
        column_config={
            "parameter": st.column_config.TextColumn("Parameter"),
            "value": st.column_config.NumberColumn("Estimate", format="%.3f"),
            "standard error": st.column_config.NumberColumn("Standard error", format="%.3f"),
            "meaning": st.column_config.TextColumn("What it is"),
        },
    )
    if result.opportunities == 0:
        return
    st.plotly_chart(
        memo.of(_histogram, result.customers, h, session.currency()),
        width="stretch",
        key="bgbb-histogram",
    )
    st.markdown("**Customers by predicted value**")
    show_table(
        memo.of(_top, result.customers),
        hide_index=True,
        width="stretch",
        column_config={
            **customer_columns(h),
            "expected_purchases": st.column_config.NumberColumn(f"Expected purchases ({h} mo)", format="%,.2f"),
        },
    )
    meanings = discrete.columns(econ, tx.observation_end, result.opportunities)
    full_download(
        "Download every customer's BG/BB forecast (CSV)",
        result.customers,
        "bgbb-clv",
        identity=f"{tx.content_hash}-{econ}",
        key="bgbb-csv",
        about=lambda: export.assumptions(
            "BG/BB forecast per customer",
            result.customers,
            fingerprint=tx.content_hash,
            columns=meanings,
            economics=econ,
            settings={"opportunities": grid.describe(), "BG/BB": fitted.params, **dataset_settings(tx)},
        ),
        meanings=meanings,
    )


def _parameters(fitted: discrete.BGBBFit) -> pd.DataFrame:
    meaning = {
        "alpha": "purchase probability ~ Beta(α, β)",
        "beta": "purchase probability ~ Beta(α, β)",
        "gamma": "dropout probability ~ Beta(γ, δ)",
        "delta": "dropout probability ~ Beta(γ, δ)",
    }
    return pd.DataFrame(
        {
            "parameter": ["α", "β", "γ", "δ"],
            "value": [fitted.params[k] for k in meaning],
            "standard error": [fitted.standard_errors.get(k, float("nan")) for k in meaning],
            "meaning": list(meaning.values()),
        }
    )


def _histogram(customers: pd.DataFrame, horizon_months: int, currency):
    return charts.clv_histogram(customers["clv"], horizon_months=horizon_months, currency=currency)


def _top(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values("clv", ascending=False, kind="stable").head(SHOWN_ROWS).reset_index(drop=True)
