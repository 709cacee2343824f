"""The CLV forecast page's subscription mode: the shifted-beta-geometric model on survivor counts."""

from __future__ import annotations

import numpy as np
import streamlit as st

from clv_app import session, sources
from clv_app.views.common import md, money
from clv_core import charts, contractual
from clv_core.errors import ClvError


def subscription_mode(tx) -> None:
    st.markdown(
        "The **shifted-beta-geometric** model (Fader & Hardie 2007): each subscriber renews every period with "
        "their own churn probability, varying across subscribers as Beta(α, β)."
    )
    origins = ("From this dataset", "Upload subscriptions (start and end dates)", "Type them in")
    source = st.radio("Survivor counts", origins, horizontal=True, key="sbg-source")
    try:
        if source == "Type them in":
            text = st.text_input(
                "Survivors per period, cohort size first", "1000, 869, 743, 653, 593, 551, 517, 491", key="sbg-text"
            )
            try:
                survivors = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
            except ValueError:
                raise ClvError("Type numbers separated by commas, e.g. 1000, 869, 743.") from None
        elif source == origins[1]:
            upload = st.file_uploader(
                "Subscriptions: one row per subscription with customer, start and end (blank while active) dates",
                type=["csv", "tsv", "txt", "xlsx", "parquet", "gz", "zip"],
                key="sbg-upload",
            )
            if upload is None:
                st.info("Upload a file to fit the model to it.")
                return
            subs = sources.subscriptions(upload.getvalue(), upload.name)
            months = sorted(subs.table["start"].dt.to_period("M").astype(str).unique())
            cohort = st.selectbox("Start month (cohort)", months, key="sbg-sub-cohort")
            st.caption(
                f"Columns used: {', '.join(f'{k} = {md(v)}' for k, v in subs.columns.items())}; "
                f"{len(subs.table):,} subscriptions, {subs.dropped:,} unusable rows left out; "
                f"observed to {subs.observation_end.date()}."
            )
            survivors = contractual.survivors_from_subscriptions(subs, cohort=cohort)
        else:
            cohorts = sorted(tx.data["date"].dt.to_period("M").astype(str).unique())
            cohort = st.selectbox(
                "Acquisition month (its customers' last purchase month ends their subscription)",
                cohorts,
                key="sbg-cohort",
            )
            survivors = contractual.survivors_from_transactions(tx.data, tx.observation_end, cohort=cohort)
        result = sources.sbg(tuple(survivors))
    except ClvError as exc:
        st.error(str(exc), icon=":material/block:")
        return
    c = st.columns(3)
    periods = c[0].slider("Periods to project", len(survivors), 60, max(24, len(survivors)), key="sbg-periods")
    margin = c[1].number_input(session.currency().header("Margin per period"), 0.0, 1e6, 10.0, key="sbg-margin")
    rate = c[2].slider("Discount rate per period", 0.001, 0.10, 0.01, 0.001, format="percent", key="sbg-rate")
    m = st.columns(4)
    m[0].metric("α", f"{result.alpha:.3f}")
    m[1].metric("β", f"{result.beta:.3f}")
    m[2].metric("Discounted expected lifetime", f"{result.discounted_expected_lifetime(rate):.2f} periods")
    m[3].metric("CLV of a new subscriber", money(result.clv(margin_per_period=margin, discount_rate=rate), cents=True))
    st.plotly_chart(charts.retention_projection_chart(result.projection(periods)), width="stretch")
    st.caption(
        "Retention rises with tenure (the subscribers likely to cancel leave first): "
        + ", ".join(f"{v:.1%}" for v in result.retention_rates(6))
        + " in periods 1–6. Expected lifetime: "
        + (
            "unbounded (α ≤ 1)."
            if not np.isfinite(result.expected_lifetime())
            else f"{result.expected_lifetime():.1f} periods."
        )
    )
