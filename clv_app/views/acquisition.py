"""The Acquisition & CAC page's parts: the channel column, the spend (uploaded or typed), the template, the
headline, the channel and cohort tables and their downloads (the numbers: clv_core.spend)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from clv_app import session
from clv_app.views.common import (
    CARD_WIDTH,
    cards,
    dataset_settings,
    full_download,
    money,
    money_column,
    show_table,
)
from clv_core import export, spend
from clv_core.ingest import Transactions

_SPEND = "_spend"  # session state: content hash → the spend loaded for that dataset
_CAC_SET = "_cac_from_spend"  # session state: content hash → the blended CAC the CAC slider was set to


def channel_picker(tx: Transactions) -> str | None:
    """The attribute read as the acquisition channel: found by name, or chosen among the data's attributes."""
    found = spend.channel_attribute(tx)
    if found is not None or not tx.attributes:
        return found
    return st.selectbox(
        "Acquisition channel column",
        tx.attributes,
        key="acq-attribute",
        help="The attribute whose value on a customer's first purchase says which channel acquired them.",
    )


def template_download(tx: Transactions, attribute: str | None) -> None:
    channels = (
        tuple(pd.unique(tx.data[attribute].astype(str)))[:12] if attribute else ("Paid search", "Paid social", "Email")
    )
    end = tx.observation_end.to_period("M").to_timestamp()
    st.download_button(
        "Download a spend template (CSV)",
        lambda: spend.template(channels, 6, str(end.date())),
        file_name="marketing-spend-template.csv",
        mime="text/csv",
        key="acq-template",
        on_click="ignore",
        help="The last six months of the data for each of its channels, spend 0: fill in what was spent.",
    )


def spend_input(tx: Transactions) -> spend.Spend | None:
    """The spend for this dataset: a file uploaded or a table typed in this visit, else what was loaded before."""
    kept = st.session_state.setdefault(_SPEND, {})
    source = st.radio(
        "Marketing spend",
        ("Upload a file", "Type it in"),
        horizontal=True,
        key="acq-source",
        label_visibility="visible",
    )
    if source == "Upload a file":
        upload = st.file_uploader(
            "Spend per month and channel (CSV, Excel or Parquet; columns month, channel, spend)",
            type=["csv", "txt", "tsv", "xlsx", "parquet", "gz", "zip"],
            key="acq-upload",
            help=f"Up to {spend.MAX_ROWS:,} rows. Months as 2025-01 or any date in the month; spend in the data's "
            "currency, 0 or more. Repeated month and channel rows are added together.",
        )
        if upload is not None:
            try:
                kept[tx.content_hash] = spend.read_spend(upload.getvalue(), upload.name)
            except spend.ClvError as exc:
                st.error(str(exc), icon=":material/block:")
                return None
    else:
        start = kept.get(tx.content_hash)
        frame = start.table.assign(month=start.table["month"].dt.strftime("%Y-%m")) if start else _blank(tx)
        edited = st.data_editor(
            frame,
            num_rows="dynamic",
            key="acq-editor",
            column_config={
                "month": st.column_config.TextColumn("Month (YYYY-MM)", required=True, max_chars=10),
                "channel": st.column_config.TextColumn("Channel", required=True, max_chars=100),
                "spend": st.column_config.NumberColumn("Spend", min_value=0.0, format="%,.2f", required=True),
            },
            hide_index=True,
            width="stretch",
        )
        if edited["spend"].fillna(0).sum() > 0:
            try:
                kept[tx.content_hash] = spend.spend_from(edited.head(spend.MAX_ROWS))
            except spend.ClvError as exc:
                st.error(str(exc), icon=":material/block:")
                return None
    loaded = kept.get(tx.content_hash)
    if loaded is None or loaded.total <= 0:
        return None
    for note in loaded.notes:
        st.caption(note)
    return loaded


def _blank(tx: Transactions) -> pd.DataFrame:
    attribute = spend.channel_attribute(tx)
    channels = list(pd.unique(tx.data[attribute].astype(str)))[:6] if attribute else ["Paid search"]
    end = tx.observation_end.to_period("M")
    months = [str(end - k) for k in range(2, -1, -1)]
    return pd.DataFrame([(m, c, 0.0) for m in months for c in channels], columns=["month", "channel", "spend"])


def blended_only(tx: Transactions, loaded: spend.Spend) -> float:
    """All spend ÷ the customers first buying in the months it covers (no channel to match)."""
    first = tx.data.groupby("customer_id", sort=False)["date"].min().dt.to_period("M").dt.to_timestamp()
    new = int(first.isin(set(loaded.table["month"])).sum())
    return loaded.total / new if new else float("nan")


def apply_cac_default(tx: Transactions, blended: float) -> None:
    """Once per dataset and spend: the shared CAC setting (the CLV forecast's slider) starts at the blended CAC."""
    if not np.isfinite(blended):
        return
    value = round(float(blended), 2)
    done = st.session_state.setdefault(_CAC_SET, {})
    if done.get(tx.content_hash) != value:
        done[tx.content_hash] = value
        session.set_setting("cac", value)
    st.caption(
        f"The CAC on the CLV forecast page now starts at this blended CAC, {money(value, cents=True)} (move it there "
        "to try others)."
    )


def headline(result: spend.ChannelEconomics) -> None:
    everyone = result.channels.set_index("channel").loc[spend.ALL]
    row = cards()
    row.metric(
        "Blended CAC",
        money(everyone["cac"], cents=True),
        border=True,
        width=CARD_WIDTH,
        help="All spend ÷ all customers acquired in the months it covers.",
    )
    row.metric(
        f"Value per acquired customer ({result.horizon_months} mo ahead)",
        money(everyone["value"], cents=True),
        border=True,
        width=CARD_WIDTH,
        help="Margin of what they have bought so far plus their predicted CLV over the horizon (the Segments page's).",
    )
    ratio = everyone["ltv_to_cac"]
    good = bool(np.isfinite(ratio) and ratio >= spend.TARGET_RATIO)
    row.metric(
        "LTV : CAC",
        f"{ratio:.1f} : 1" if np.isfinite(ratio) else "–",
        delta="meets 3 : 1" if good else "below 3 : 1",
        delta_color="green" if good else "red",
        delta_arrow="off",
        border=True,
        width=CARD_WIDTH,
    )
    row.metric(
        "Payback",
        _months(everyone["payback_month"]),
        border=True,
        width=CARD_WIDTH,
        help="First month after acquisition in which the margin of what customers bought covers the CAC.",
    )


def _months(value) -> str:
    return "not yet" if not np.isfinite(value) else f"month {value:.0f}"


def _columns(result: spend.ChannelEconomics) -> dict:
    h = result.horizon_months
    return {
        "spend": money_column("Spend", cents=False),
        "new_customers": st.column_config.NumberColumn("New customers", format="%,d"),
        "cac": money_column("CAC"),
        "value": money_column(f"Value per customer (margin so far + {h}-mo CLV)"),
        "ltv_to_cac": st.column_config.NumberColumn("LTV : CAC", format="%.2f"),
        "payback_month": st.column_config.NumberColumn(
            "Payback month", format="%d", help="Blank: not reached in the data yet."
        ),
        "month": st.column_config.DateColumn("Acquisition month", format="YYYY-MM"),
    }


def channel_table(result: spend.ChannelEconomics) -> None:
    st.markdown("**By channel** (customers acquired in the months with spend)")
    show_table(result.channels, hide_index=True, width="stretch", column_config=_columns(result))


def cohort_table(result: spend.ChannelEconomics) -> None:
    st.markdown("**By channel and acquisition month**")
    show_table(result.cohorts, hide_index=True, width="stretch", column_config=_columns(result))


def downloads(tx: Transactions, result: spend.ChannelEconomics, loaded: spend.Spend, econ) -> None:
    meanings = spend.columns(result.horizon_months)
    for label, frame, name, key in (
        ("Download the channel table (CSV)", result.channels, "cac-by-channel", "acq-channels"),
        ("Download the cohort table (CSV)", result.cohorts, "cac-by-cohort", "acq-cohorts"),
    ):
        full_download(
            label,
            frame,
            name,
            identity=f"{tx.content_hash}-{export.fingerprint(loaded.table).hex()}-{econ}",
            key=key,
            about=lambda frame=frame, label=label: export.assumptions(
                label.removeprefix("Download the ").removesuffix(" (CSV)"),
                frame,
                fingerprint=tx.content_hash,
                columns=meanings,
                economics=econ,
                settings={"spend": loaded.report, **dataset_settings(tx)},
            ),
            meanings=meanings,
        )
