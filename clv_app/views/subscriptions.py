"""The CLV forecast page's subscription views: the shifted-beta-geometric model on survivor counts, and
subscriptions plus one-off purchases (hybrid CLV)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from clv_app import memo, session, sources
from clv_app.views.common import (
    SHOWN_ROWS,
    cards,
    dataset_settings,
    full_download,
    md,
    money,
    money_column,
    share_column,
    show_table,
)
from clv_core import charts, contractual, export, hybrid
from clv_core.analysis import Analysis
from clv_core.errors import ClvError


def subscription_mode(analysis: Analysis) -> None:
    tx = analysis.transactions
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
            found = analysis.subscription_products() if "product" in tx.data else ()
            lines = tx.data[tx.data["product"].isin(found)] if found else tx.data
            if found:
                st.caption(f"Subscription payments: {md(', '.join(found))} (paid monthly at a fixed price).")
            cohorts = sorted(lines["date"].dt.to_period("M").astype(str).unique())
            cohort = st.selectbox(
                "Acquisition month (its customers' last purchase month ends their subscription)",
                cohorts,
                key="sbg-cohort",
            )
            survivors = contractual.survivors_from_transactions(lines, tx.observation_end, cohort=cohort)
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
    m[2].metric("Discounted lifetime (periods)", f"{result.discounted_expected_lifetime(rate):.2f}")
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


def hybrid_mode(analysis: Analysis) -> None:
    """Subscriptions plus one-off purchases: each customer's subscription value (sBG on their payments) plus the
    purchase model's value of their other purchases."""
    tx = analysis.transactions
    st.markdown(
        "A customer's value is the subscription's **expected remaining payments** (shifted-beta-geometric "
        "retention fitted to every subscriber's payments) plus the **purchase model's value** of their other "
        "purchases, with the economics of the purchase forecast."
    )
    if "product" not in tx.data:
        st.info(
            "Subscription payments are told apart by their product, and no product column is mapped. Map one on "
            "the Data page, or use the Subscriptions view with survivor counts.",
            icon=":material/category:",
        )
        return
    found = analysis.subscription_products()
    offered = memo.of(_product_names, tx.data)
    chosen = st.multiselect(
        "Subscription products (paid monthly at a fixed price)",
        offered,
        default=[p for p in found if p in offered],
        key="hyb-products",
        help="Found by their monthly cadence and fixed price; change them if the data says otherwise.",
    )
    if not chosen:
        st.info(
            "Choose at least one subscription product"
            + (
                f" (found: {', '.join(found)})."
                if found
                else ": none is paid monthly at a fixed price by most of its buyers, so none was found."
            ),
            icon=":material/info:",
        )
        return
    econ = session.economics()
    try:
        result = analysis.hybrid(econ, tuple(chosen))
        subs = analysis.subscriptions(tuple(chosen))
    except ClvError as exc:
        st.info(str(exc), icon=":material/info:")
        return
    table = result.table
    active = int((table["subscriber"] == "active").sum())
    with cards():
        st.metric(f"Subscription value ({result.horizon_months} mo)", money(result.subscription_total))
        st.metric(f"Purchase value ({result.horizon_months} mo)", money(result.purchase_total))
        st.metric(f"Total value ({result.horizon_months} mo)", money(result.total))
        st.metric("Active subscribers", f"{active:,} of {len(subs.subscribers):,}")
    st.caption(
        f"Economics of the purchase forecast: margin {econ.gross_margin:.0%}, discount rate "
        f"{econ.annual_discount_rate:.0%} a year, {econ.horizon_months} months. "
        + analysis.purchases_without(tuple(chosen)).decision().line()
        + " "
        + md(" ".join(result.notes))  # a plan's name comes from the file
    )
    fits = pd.DataFrame(
        [
            {
                "plan": plan,
                "alpha": fit.alpha,
                "beta": fit.beta,
                "subscribers": fit.subscribers,
                "cancelled": fit.cancelled,
                "monthly churn": fit.alpha / (fit.alpha + fit.beta),
            }
            for plan, fit in subs.fits.items()
        ]
    )
    st.markdown("**Subscription retention (sBG)**")
    show_table(
        fits,
        hide_index=True,
        width="stretch",
        column_config={
            "plan": st.column_config.TextColumn("Plan"),
            "alpha": st.column_config.NumberColumn("α", format="%.3f"),
            "beta": st.column_config.NumberColumn("β", format="%.3f"),
            "monthly churn": share_column("Monthly churn (new subscribers)"),
        },
    )
    by_status = table.groupby("subscriber", sort=False)[["subscription_value", "purchase_value", "clv"]].sum()
    by_status.insert(0, "customers", table.groupby("subscriber", sort=False).size())
    show_table(
        by_status.reset_index(),
        hide_index=True,
        width="stretch",
        column_config={
            "subscriber": st.column_config.TextColumn("Subscriber"),
            "subscription_value": money_column("Subscription value", cents=False),
            "purchase_value": money_column("Purchase value", cents=False),
            "clv": money_column("Total", cents=False),
        },
    )
    st.plotly_chart(memo.of(_retention_chart, subs), width="stretch", key="hyb-retention")
    st.markdown("**Customers by total value**")
    top = memo.of(_top, table)
    show_table(
        top,
        hide_index=True,
        width="stretch",
        column_config={
            "customer_id": st.column_config.Column("Customer ID"),
            "subscriber": st.column_config.TextColumn("Subscriber"),
            "plan": st.column_config.TextColumn("Plan"),
            "monthly_price": money_column("Monthly price"),
            "subscription_value": money_column(f"Subscription value ({result.horizon_months} mo)"),
            "purchase_value": money_column(f"Purchase value ({result.horizon_months} mo)"),
            "clv": money_column(f"Total ({result.horizon_months} mo)"),
        },
    )
    meanings = hybrid.columns(econ, tx.observation_end)
    full_download(
        "Download every customer's subscription and purchase value (CSV)",
        table,
        "hybrid-clv",
        identity=f"{tx.content_hash}-{'|'.join(chosen)}-{econ}",
        key="hyb-csv",
        about=lambda: export.assumptions(
            "subscription and purchase value per customer",
            table,
            fingerprint=tx.content_hash,
            columns=meanings,
            economics=econ,
            settings={"subscription products": list(chosen), **dataset_settings(tx)},
        ),
        meanings=meanings,
    )


def _top(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values("clv", ascending=False, kind="stable").head(SHOWN_ROWS).reset_index(drop=True)


def _retention_chart(subs: hybrid.Subscriptions):
    return charts.subscription_retention_chart(subs.fits, hybrid.observed_retention(subs))


def _product_names(data: pd.DataFrame) -> list[str]:
    names = pd.unique(data["product"].astype(str))
    return sorted(n for n in names if n.strip())
