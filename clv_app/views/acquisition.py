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
    md,
    money,
    money_column,
    show_table,
)
from clv_core import export, spend
from clv_core.errors import ClvError
from clv_core.ingest import Transactions

_SPEND = "_spend"  # session state: content hash → the spend loaded for that dataset
_CAC_SET = "_cac_from_spend"  # session state: content hash → the blended CAC the CAC slider was set to
_TYPED = "_spend_typed"  # session state: content hash → the table the spend editor starts from
_TYPED_LAST = "_spend_typed_last"  # session state: content hash → the table as last edited
_SOURCE = "_spend_source"  # session state: content hash → upload or type


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
    st.download_button(
        "Download a spend template (CSV)",
        lambda: spend.template(tx, attribute),
        file_name="marketing-spend-template.csv",
        mime="text/csv",
        key="acq-template",
        on_click="ignore",
        help="The data's last six whole months for each of its channels, spend 0: fill in what was spent.",
    )


def spend_input(tx: Transactions, attribute: str | None) -> spend.Spend | None:
    """The spend for this dataset: a file uploaded or a table typed in, else what was loaded before (kept per
    dataset for the session)."""
    kept = st.session_state.setdefault(_SPEND, {})
    typed = st.session_state.setdefault(_TYPED, {})
    last_typed = st.session_state.setdefault(_TYPED_LAST, {})
    sources = ("Upload a file", "Type it in")
    remembered = st.session_state.setdefault(_SOURCE, {})
    source = st.radio(
        "Marketing spend",
        sources,
        index=sources.index(remembered.get(tx.content_hash, sources[0])),  # back on the page: as it was left
        horizontal=True,
        key="acq-source",
    )
    remembered[tx.content_hash] = source
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
            except ClvError as exc:
                st.error(md(str(exc)), icon=":material/block:")
                return None
            typed.pop(tx.content_hash, None)  # typing starts from the file just uploaded
            last_typed.pop(tx.content_hash, None)
    else:
        # while the editor is on the page it is given the same starting table (a new one would reset it and lose
        # the last edit); a fresh editor (first visit, or back on the page) starts from the table as last edited
        if "acq-editor" not in st.session_state or tx.content_hash not in typed:
            before = kept.get(tx.content_hash)
            if last_typed.get(tx.content_hash) is not None:
                typed[tx.content_hash] = last_typed[tx.content_hash]
            elif before is not None:
                typed[tx.content_hash] = before.table.assign(month=before.table["month"].dt.strftime("%Y-%m"))
            else:
                typed[tx.content_hash] = spend.starting_table(tx, attribute)
        edited = st.data_editor(
            typed[tx.content_hash],
            num_rows="dynamic",
            key="acq-editor",
            column_config={
                "month": st.column_config.TextColumn("Month (YYYY-MM)", max_chars=10),
                "channel": st.column_config.TextColumn("Channel", max_chars=100),
                "spend": st.column_config.NumberColumn("Spend", min_value=0.0, format="%,.2f"),
            },
            hide_index=True,
            width="stretch",
        )
        last_typed[tx.content_hash] = edited.reset_index(drop=True)
        kept.pop(tx.content_hash, None)
        if pd.to_numeric(edited["spend"], errors="coerce").fillna(0).sum() <= 0:
            st.caption("Every spend in the table is 0: type what was spent to see CAC.")
            return None
        try:
            kept[tx.content_hash] = spend.spend_from(edited.head(spend.MAX_ROWS))
        except ClvError as exc:
            st.error(md(str(exc)), icon=":material/block:")
            return None
    loaded = kept.get(tx.content_hash)
    if loaded is None:
        return None
    if loaded.total <= 0:
        st.warning("Every spend in the file is 0: there is no cost of acquisition to measure.", icon=":material/info:")
        return None
    for note in loaded.notes:
        st.caption(note)
    return loaded


def apply_cac_default(tx: Transactions, result: spend.ChannelEconomics) -> None:
    """The shared CAC setting (the CLV forecast's slider) starts at the blended CAC, once per dataset and spend,
    when every channel that acquired customers has spend (otherwise those customers look free)."""
    blended = result.blended_cac
    if not np.isfinite(blended) or blended <= 0:
        return
    if not result.complete:
        st.caption(
            "The CLV forecast's CAC is left as it is: some channels acquired customers without spend given, so the "
            "blended CAC counts them as free."
        )
        return
    value = round(float(min(blended, session.SETTINGS["cac"][1]["bounds"][1])), 2)
    done = st.session_state.setdefault(_CAC_SET, {})
    if done.get(tx.content_hash) != value:
        done[tx.content_hash] = value
        session.set_setting("cac", value)
        st.caption(
            f"The CAC on the CLV forecast page now starts at this blended CAC, {money(value, cents=True)} (move it "
            "there to try others)."
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
        f"Value per acquired customer (to date + {result.horizon_months} mo)",
        money(everyone["value"], cents=True),
        border=True,
        width=CARD_WIDTH,
        help="Margin of what they have bought so far plus their predicted CLV over the horizon (the Segments page's).",
    )
    ratio = everyone["ltv_to_cac"]
    if np.isfinite(ratio):
        good = bool(ratio >= spend.TARGET_RATIO)
        row.metric(
            "LTV : CAC",
            f"{ratio:.1f} : 1",
            delta="meets 3 : 1" if good else "below 3 : 1",
            delta_color="green" if good else "red",
            delta_arrow="off",
            border=True,
            width=CARD_WIDTH,
        )
    else:
        row.metric("LTV : CAC", "–", border=True, width=CARD_WIDTH, help="No customers, or no spend, to compare.")
    payback = "–" if not everyone["new_customers"] else _months(everyone["payback_month"])
    row.metric(
        "Payback",
        payback,
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
        "value": money_column("Value per customer", help=f"Margin of what they bought so far + {h}-month CLV."),
        "ltv_to_cac": st.column_config.NumberColumn("LTV : CAC", format="%.2f"),
        "clv_to_cac": st.column_config.NumberColumn(
            "CLV : CAC", format="%.2f", help=f"A newly acquired customer's {h}-month CLV (the CLV forecast's) ÷ CAC."
        ),
        "payback_month": st.column_config.TextColumn(
            "Payback", help="First month after acquisition (1: the acquisition month) whose margin covers the CAC."
        ),
        "month": st.column_config.TextColumn("Month"),
    }


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    """The table as the page shows it: payback in words ("month 6", "not yet"), months as 2025-01."""
    out = frame.copy()
    out["payback_month"] = [
        "–" if not n else _months(p) for n, p in zip(out["new_customers"], out["payback_month"], strict=True)
    ]
    if "month" in out:
        out["month"] = pd.to_datetime(out["month"]).dt.strftime("%Y-%m")
    return out


def channel_table(result: spend.ChannelEconomics) -> None:
    st.markdown("**By channel** (customers acquired in the months with spend)")
    show_table(_shown(result.channels), hide_index=True, width="stretch", column_config=_columns(result))
    st.caption(
        "LTV : CAC counts what these customers have bought so far (as margin) plus their predicted CLV; CLV : CAC, "
        "as on the CLV forecast page, a newly acquired customer's predicted value over the horizon."
    )


def cohort_table(result: spend.ChannelEconomics) -> None:
    st.markdown("**By channel and acquisition month**")
    show_table(_shown(result.cohorts), hide_index=True, width="stretch", column_config=_columns(result))


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """A table for download: money to the cent, ratios to 0.01, months as 2025-01."""
    out = frame.copy()
    for column in ("spend", "cac", "value"):
        out[column] = out[column].round(2)
    out[["ltv_to_cac", "clv_to_cac"]] = out[["ltv_to_cac", "clv_to_cac"]].round(2)
    if "month" in out:
        out["month"] = pd.to_datetime(out["month"]).dt.strftime("%Y-%m")
    return out


def downloads(tx: Transactions, result: spend.ChannelEconomics, loaded: spend.Spend, econ) -> None:
    meanings = spend.columns(result.horizon_months)
    for label, frame, name, key in (
        ("Download the channel table (CSV)", _rounded(result.channels), "cac-by-channel", "acq-channels"),
        ("Download the cohort table (CSV)", _rounded(result.cohorts), "cac-by-cohort", "acq-cohorts"),
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
