"""Widgets and renderers shared by pages. No computation: numbers come from clv_core results."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import streamlit as st

from clv_app import links, memo
from clv_core import charts, export, forecast
from clv_core.ingest import (
    AUTO,
    DAY_FIRST,
    MONTH_FIRST,
    ROLE_LABELS,
    ColumnMapping,
    IngestOptions,
    MappingGuess,
    RawTable,
    Transactions,
)
from clv_core.summary import CustomerSummary

NONE = "(none)"
#: Rows of a per-customer or per-transaction table sent to the browser; the whole table is a download.
SHOWN_ROWS = 1_000
PRICE_TIMES_QTY = "(unit price × quantity)"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$])")
TIMEZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Australia/Sydney",
)


def md(text: str) -> str:
    """Escape text from a user's file so Markdown renders it literally (and never as a link or HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def full_download(
    label: str, frame: pd.DataFrame, name: str, *, identity: str, key: str, about: Callable[[], dict]
) -> None:
    """A CSV download of a whole table shown capped at ``SHOWN_ROWS``, and its assumptions as JSON under the same
    name (``about`` builds them, see :func:`clv_core.export.assumptions`). Files are written only when clicked.

    Downloads here and elsewhere use ``on_click="ignore"``: a download changes nothing on the page, and a rerun
    started by the click could replace the file the browser is about to fetch.

    ``identity`` names the content in the file name (e.g. the dataset's content hash), so a rerun does not hash a
    large table just to name a file nobody may download."""
    left, right = st.columns([3, 2])
    left.download_button(
        f"{label}: {len(frame):,} rows",
        lambda: export.to_csv_bytes(frame),
        file_name=export.file_name(name, identity.encode(), "csv"),
        mime="text/csv",
        key=key,
        on_click="ignore",
    )
    assumptions_download(right, about, export.file_name(name, identity.encode(), "assumptions.json"), f"{key}-about")


def dataset_settings(tx: Transactions) -> dict:
    """How the active data was read and cleaned: part of every export's assumptions."""
    r = tx.report.to_dict()
    keep = ("source_name", "rows_read", "rows_kept", "customers", "date_min", "date_max", "observation_end")
    return {
        "data": {k: r[k] for k in keep},
        "cleaning": {k: v for k, v in dataclasses.asdict(tx.options).items() if v is not None},
        "columns used": {k: v for k, v in dataclasses.asdict(tx.mapping).items() if v},
    }


def assumptions_download(
    where, about: Callable[[], dict], file_name: str, key: str, label: str = "Assumptions (JSON)"
) -> None:
    """The assumptions behind an export, as the JSON that travels with its CSV."""
    where.download_button(
        label,
        lambda: export.assumptions_json(about()),
        file_name=file_name,
        mime="application/json",
        key=key,
        on_click="ignore",
        help="Model and parameters, economics, time unit, column meanings and units, data fingerprint, app version.",
    )


@contextmanager
def steps(label: str, key: tuple) -> Iterator[Callable[[str], None]]:
    """Run multi-step cached work under an ``st.status`` that lists each step as it starts and ends with the
    elapsed time, but only the first time (``key`` not done before): later reruns find every step cached and
    show nothing. Yields ``announce(text)``, to call before each step."""
    from clv_app import state

    if state.seen(key):
        yield lambda text: None
        return
    start = time.perf_counter()
    with st.status(label, expanded=True) as status:
        try:
            yield lambda text: status.write(text)
        except Exception:
            status.update(label=f"{label}: stopped", state="error", expanded=False)  # the message below says why
            raise
        status.update(label=f"{label}: done in {time.perf_counter() - start:.1f} s", state="complete", expanded=False)
    state.mark_done(key)


def page_start(title: str) -> Transactions:
    """Every analysis page's opening: the title, the active dataset, and its card in the sidebar."""
    from clv_app import state

    st.title(title)
    tx = state.ensure_dataset()
    sidebar_dataset(tx, state.current_label())
    return tx


def database_source():
    """Where to read from (the configured connection, or a URL typed in when this visitor may), a table or a query
    (when this visitor may type one), and a Read button; returns the content hash and raw table once read, else
    None. What a visitor may do is set under ``[database]`` (see :mod:`clv_app.settings`)."""
    from clv_app import settings, state
    from clv_core.errors import ClvError
    from clv_core.ingest.database import safe_url

    policy = state.database_policy()
    limit = settings.limits().max_rows
    configured = state.configured_database_url()
    if configured:
        st.caption(f"Connection set up by the administrator: {md(safe_url(configured))}")
        url = configured
    elif policy.may("urls"):
        url = st.text_input(
            "Database URL",
            placeholder="postgresql://user@host:5432/database",
            type="password",
            key="db-url",
            help="Not kept anywhere but this session. For a shared server, put it under [connections.clv] in "
            ".streamlit/secrets.toml instead (README › Sharing the app).",
        )
    else:
        st.info(
            "Typing a database address is turned off on this server. An administrator can set up a connection "
            "(README › Sharing the app).",
            icon=":material/lock:",
        )
        return None
    ways = ("A table", "A query") if policy.may("queries") else ("A table",)
    how = st.radio("Read", ways, horizontal=True, key="db-how") if len(ways) > 1 else ways[0]
    if how == "A table":
        if policy.tables:
            table = st.selectbox("Table", policy.tables, key="db-table-choice")
        else:
            table = st.text_input("Table", placeholder="orders or sales.orders", key="db-table")
        query = None
        if len(ways) == 1:
            st.caption(
                "Typed queries are turned off on this server: read a table by its name.",
                help="[database] queries in .streamlit/secrets.toml (README › Sharing the app).",
            )
    else:
        table = None
        query = st.text_area(
            "Query (read-only)",
            placeholder="SELECT customer_id, ordered_at, total FROM orders WHERE country = 'DE'",
            key="db-query",
            help="One SELECT (or WITH … SELECT, VALUES, TABLE) statement, run read-only with a 2-minute limit: it "
            "can select, join and filter, never change the database. On a login that can reach beyond its "
            "database (a superuser, server files), typed queries are refused.",
        )
    st.caption(f"At most {limit:,} rows are read, within 2 minutes (the limits set for this server).")
    request = (url, table, query)
    asked = bool(url and (table or query or "").strip())
    if st.button("Read from the database", key="db-read", icon=":material/database:", disabled=not asked):
        st.session_state["db-request"] = request
        st.session_state["db-nonce"] = st.session_state.get("db-nonce", 0) + 1
    if st.session_state.get("db-request") != request:
        st.info("Give the table or the query, then read it." if len(ways) > 1 else "Give the table, then read it.")
        return None
    try:
        asked = hashlib.sha256(repr(request).encode()).hexdigest()  # the progress key holds no password
        with steps("Reading from the database", ("db", asked, st.session_state["db-nonce"])) as step:
            step(f"Reading {md(table or 'the query')} from {md(safe_url(url))}…")
            return state.database(url, table, query, st.session_state["db-nonce"])
    except ClvError as exc:
        st.error(str(exc), icon=":material/block:")
        st.caption(f"Nothing was lost: the app keeps using {md(state.current_label())}.")
        return None


def size_text(size: float) -> str:
    """Bytes as people read them.

    >>> size_text(2_900), size_text(3_400_000), size_text(2_000_000_000)
    ('2.9 KB', '3.4 MB', '2.0 GB')
    """
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size:,.0f} bytes"


def recent_datasets(current: str | None) -> str | None:
    """The workspace's datasets to choose from (the active one first chosen), with a delete button that asks
    first; returns the chosen entry's id, or None when there is nothing to open. Rows that cannot be read back are
    named, with a button to remove them."""
    from clv_app import access, settings, state
    from clv_core.errors import ClvError

    try:
        space = state.workspace()
        listing = space.listing() if space is not None else None
    except ClvError as exc:
        st.warning(str(exc), icon=":material/warning:")
        return None
    if space is None:
        st.info("The workspace is turned off (CLV_WORKSPACE=off): loaded datasets are not kept.")
        return None
    if deleted := st.session_state.pop("data-saved-deleted", None):
        st.success(f"Deleted {md(deleted)} from Recent datasets.", icon=":material/check:")
    if listing.message:
        st.warning(listing.message, icon=":material/warning:")
        if st.button("Remove the damaged entries", key="data-saved-purge", icon=":material/delete_sweep:"):
            for damaged in listing.damaged:
                with contextlib.suppress(ClvError):
                    space.delete(damaged.id)
            st.rerun()
    entries = list(listing.entries)
    quota = settings.limits().workspace_quota_bytes
    shared = "everyone using this app without sign-in" if not access.sign_in_configured() else "you"
    kept = f"{size_text(space.used_bytes())} of {size_text(quota)} used"
    if not entries:
        st.info(
            f"Nothing saved yet: every dataset you load here is kept, with its columns and cleaning options ({kept})."
        )
        return None
    ids = [e.id for e in entries]
    by_id = {e.id: e for e in entries}

    def name(key: str) -> str:
        entry = by_id[key]
        saved = "" if "(snapshot " in entry.label else f" · saved {entry.saved_at[:10]}"
        return f"{entry.label} · {entry.customers:,} customers · {entry.rows:,} rows{saved}"

    if current not in ids:
        current = st.session_state.get(state.DATASET_ID)  # the dataset just loaded, kept under this id
    chosen = st.selectbox(
        "Saved dataset",
        ids,
        index=ids.index(current) if current in ids else None,
        placeholder="Choose a dataset to open",
        format_func=name,
        key="data-saved",
    )
    st.caption(f"{len(entries)} kept for {shared}, the most recently opened first ({kept}).")
    if chosen is None:
        return None
    if st.session_state.get("data-saved-confirm") != chosen:
        st.button(
            "Delete from Recent datasets",
            key="data-saved-ask",
            icon=":material/delete:",
            on_click=lambda: st.session_state.update({"data-saved-confirm": chosen}),
        )
        return chosen
    with st.container(border=True):
        st.write(
            f"Delete {md(by_id[chosen].label)} from Recent datasets? It is gone for {shared}; what is open stays open."
        )
        yes, no = st.columns(2)
        yes.button(
            "Delete it",
            key="data-saved-delete",
            type="primary",
            on_click=_delete_saved,
            args=(chosen, by_id[chosen].label),
        )
        no.button("Keep it", key="data-saved-keep", on_click=lambda: st.session_state.pop("data-saved-confirm", None))
    return chosen


def _delete_saved(key: str, label: str) -> None:
    from clv_app import state
    from clv_core.errors import ClvError

    space = state.workspace()
    if space is not None:
        with contextlib.suppress(ClvError):  # already gone (a second click, another tab): nothing to do
            space.delete(key)
    if st.session_state.get(state.DATASET_ID) == key:
        st.session_state.pop(state.DATASET_ID)
    for widget in ("data-saved", "data-saved-confirm"):
        st.session_state.pop(widget, None)
    st.session_state["data-saved-deleted"] = label
    st.session_state["_remembered"] = {}  # loading it again keeps it again


def sidebar_dataset(tx: Transactions, label: str) -> None:
    r = tx.report
    with st.sidebar:
        st.caption("Active dataset")
        st.markdown(f"**{md(label)}**")
        st.caption(f"{r.rows_kept:,} transactions · {r.customers:,} customers · {r.date_min} → {r.date_max}")


def mapping_picker(raw: RawTable, guess: MappingGuess, key: str, active: ColumnMapping | None = None) -> ColumnMapping:
    """Column pickers pre-filled with the active mapping when this file is the active dataset, else with the
    detected one; roles the detector could not decide start empty and say why."""
    columns = list(raw.frame.columns)
    st.subheader("Columns")
    if guess.ambiguous and active is None:
        roles = ", ".join(ROLE_LABELS[r] for r in guess.ambiguous)
        st.warning(
            f"More than one column could be the {md(roles)}. Choose the right one below.", icon=":material/warning:"
        )
    m = active or guess.mapping
    c1, c2, c3 = st.columns(3)
    customer = _pick(c1, "Customer id", columns, m.customer_id, f"{key}-customer", required=True)
    date = _pick(c2, "Purchase date", columns, m.date, f"{key}-date", required=True)
    amount_choices = [*columns, PRICE_TIMES_QTY]
    price_times_qty = m.price and m.quantity and (active is not None or "amount" not in guess.ambiguous)
    amount_default = m.amount or (PRICE_TIMES_QTY if price_times_qty else None)
    amount = _pick(c3, "Amount", amount_choices, amount_default, f"{key}-amount", required=True)
    with st.expander("Optional columns: order id, quantity, unit price, product, attributes", expanded=False):
        o1, o2, o3, o4 = st.columns(4)
        order_id = _pick(o1, "Order id", columns, m.order_id, f"{key}-order")
        quantity = _pick(o2, "Quantity", columns, m.quantity, f"{key}-quantity")
        price = _pick(o3, "Unit price", columns, m.price, f"{key}-price")
        product = _pick(o4, "Product", columns, m.product, f"{key}-product")
        attributes = st.multiselect(
            "Attributes for splits (channel, country, plan …)",
            columns,
            default=[a for a in (m.attributes if active else guess.attribute_candidates) if a in columns],
            key=f"{key}-attributes",
            help="Categorical columns later pages can split cohorts, survival curves and segments by.",
        )
    return ColumnMapping(
        customer_id=customer,
        date=date,
        amount=None if amount == PRICE_TIMES_QTY else amount,
        price=price,
        quantity=quantity,
        order_id=order_id,
        product=product,
        attributes=tuple(
            a for a in attributes if a not in {customer, date, amount, price, quantity, order_id, product}
        ),
    )


def _pick(where, label: str, columns: list[str], default: str | None, key: str, required: bool = False) -> str | None:
    options = columns if required else [NONE, *columns]
    index = options.index(default) if default in options else (None if required else 0)
    value = where.selectbox(label, options, index=index, key=key, placeholder="Choose a column…")
    return None if value in (None, NONE) else value


def options_picker(current: IngestOptions) -> IngestOptions:
    """Cleaning options, starting from the active dataset's (the quality report states each one)."""

    def at(choices: tuple, value) -> int:
        return choices.index(value) if value in choices else 0

    with st.expander("Cleaning options: date order, returns, zero amounts, duplicates, time zone"):
        c1, c2, c3 = st.columns(3)
        order = c1.radio(
            "Date order",
            (AUTO, DAY_FIRST, MONTH_FIRST),
            index=at((AUTO, DAY_FIRST, MONTH_FIRST), current.date_order),
            format_func={AUTO: "Detect", DAY_FIRST: "Day first (DD/MM)", MONTH_FIRST: "Month first (MM/DD)"}.get,
            key="opt-date-order",
            help="Detect reads the order from any day above 12; when none exists the dates are ambiguous and "
            "are read day first unless you choose otherwise.",
        )
        returns = c2.selectbox(
            "Returns and refunds (negative amounts)",
            ("net", "drop", "keep"),
            index=at(("net", "drop", "keep"), current.returns),
            format_func={"net": "Net against the purchase", "drop": "Drop them", "keep": "Keep as negative rows"}.get,
            key="opt-returns",
        )
        zero = c2.selectbox(
            "Zero amounts",
            ("keep", "drop"),
            index=at(("keep", "drop"), current.zero_amounts),
            format_func={"keep": "Keep (count as purchases)", "drop": "Drop"}.get,
            key="opt-zero",
        )
        duplicates = c3.selectbox(
            "Exact duplicate rows",
            ("auto", "drop", "keep"),
            index=at(("auto", "drop", "keep"), current.duplicates),
            format_func={
                "auto": "Drop if an order id or time tells them apart",
                "drop": "Always drop",
                "keep": "Keep",
            }.get,
            key="opt-duplicates",
        )
        timezone = c3.selectbox(
            "Business time zone", TIMEZONES, index=at(TIMEZONES, current.timezone), key="opt-timezone"
        )
    return IngestOptions(date_order=order, returns=returns, zero_amounts=zero, duplicates=duplicates, timezone=timezone)


def quality_report(tx: Transactions) -> None:
    r = tx.report
    st.subheader("Data quality")
    cols = st.columns(4)
    cols[0].metric("Rows read", f"{r.rows_read:,}")
    cols[1].metric("Transactions kept", f"{r.rows_kept:,}")
    cols[2].metric("Rows dropped", f"{r.rows_dropped:,}")
    cols[3].metric("Customers", f"{r.customers:,}")
    days = (pd.Timestamp(r.date_max) - pd.Timestamp(r.date_min)).days + 1
    st.caption(f"Purchases from {r.date_min} to {r.date_max} ({days:,} days); observation end {r.observation_end}.")
    if r.dates_ambiguous:
        st.warning(
            "Ambiguous dates: no day above 12 tells day from month. They were read as "
            f"{'DD/MM (day first)' if r.date_order == DAY_FIRST else 'MM/DD (month first)'}. "
            "If that is wrong, change *Date order* in the cleaning options.",
            icon=":material/event:",
        )
    for note in r.notes:
        st.markdown(f"- {md(note)}")
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Rows dropped, and why**")
        if r.dropped:
            st.dataframe(
                pd.DataFrame(
                    {
                        "reason": [d.reason for d in r.dropped],
                        "rows": [d.rows for d in r.dropped],
                        "examples (row: value)": [
                            "; ".join(f"{row}: {val!r}" for row, val in d.examples) for d in r.dropped
                        ],
                    }
                ),
                hide_index=True,
                width="stretch",
            )
        else:
            st.caption("No rows were dropped.")
    with right:
        st.markdown("**How the file was read**")
        st.dataframe(_detection_table(tx), hide_index=True, width="stretch")
    st.download_button(
        "Download the quality report (JSON)",
        json.dumps(r.to_dict(), indent=2, default=str),
        file_name=f"quality-report-{tx.content_hash}.json",
        mime="application/json",
        key="download-report",
        on_click="ignore",
    )


FORMATS = {"text": "delimited text", "excel": "Excel workbook", "parquet": "Parquet", "database": "database table"}


def _detection_table(tx: Transactions) -> pd.DataFrame:
    r = tx.report
    m = tx.mapping
    rows = {
        "file": r.source_name + (f" ({r.compression}: {r.archive_member})" if r.compression else ""),
        "format": FORMATS.get(r.file_format, r.file_format),
        "encoding": r.encoding or "–",
        "delimiter": r.delimiter or "–",
        "sheet": f"{r.sheet} (of {len(r.sheets)})" if r.sheet else "–",
        "customer id": m.customer_id,
        "date": m.date,
        "amount": m.amount or f"{m.price} × {m.quantity}",
        "date format": ", ".join(f for f, _ in r.date_formats) or "–",
        "decimal mark": r.decimal_mark,
        "currency": ", ".join(c for c, _ in r.currencies) or "none marked",
        "time zone": r.timezone,
        "returns": f"{r.return_rows:,} rows, policy: {r.returns_policy}",
        "observation end": r.observation_end,
    }
    return pd.DataFrame({"item": list(rows), "value": [str(v) for v in rows.values()]})


def summary_preview(summary: CustomerSummary) -> None:
    unit = summary.time_unit
    st.caption(
        f"{len(summary.table):,} customers, observed to {summary.observation_end.date()} (the first "
        f"{min(SHOWN_ROWS, len(summary.table)):,} shown). "
        f"frequency = repeat purchase days; recency = first → last purchase and T = first purchase → "
        f"observation end, in {unit}; days_since_last_purchase is RFM recency."
    )
    st.dataframe(
        summary.table.head(SHOWN_ROWS),
        hide_index=True,
        width="stretch",
        column_config={
            "frequency": st.column_config.NumberColumn("frequency", help="Days with a purchase after the first one"),
            "recency": st.column_config.NumberColumn(f"recency ({unit})", format="%.2f"),
            "T": st.column_config.NumberColumn(f"T ({unit})", format="%.2f"),
            "monetary_value": st.column_config.NumberColumn(
                "monetary_value", format="%.2f", help="Mean spend per repeat purchase day"
            ),
            "total_revenue": st.column_config.NumberColumn("total_revenue", format="%.2f"),
            "average_order_value": st.column_config.NumberColumn("average_order_value", format="%.2f"),
        },
    )


def format_value(value: float, unit: str) -> str:
    if value is None or pd.isna(value):
        return "–"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "currency":  # compact where cards are narrow: 213,330 not 213,330.48; 1.23M not 1,234,567
        if abs(value) >= 1e6:
            return f"{value / 1e6:,.2f}M"
        return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:,.2f}"
    return f"{value:,.0f}"


def kpi_cards(window) -> None:
    """KPI cards with the change against the previous window (none when there is no previous window)."""
    items = window.kpis
    for start in range(0, len(items), 4):
        cols = st.columns(4)
        for col, kpi in zip(cols, items[start : start + 4], strict=False):
            delta = None if kpi.change is None else f"{kpi.change:+.1%}"
            col.metric(kpi.name, format_value(kpi.value, kpi.unit), delta=delta, help=kpi.help, border=True)


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


def segment_table(summary: pd.DataFrame) -> None:
    st.dataframe(
        summary,
        width="stretch",
        column_config={
            "share of customers": st.column_config.NumberColumn(format="percent"),
            "share of revenue": st.column_config.NumberColumn(format="percent"),
            "revenue": st.column_config.NumberColumn(format="%.2f"),
            "mean recency (days)": st.column_config.NumberColumn(format="%.0f"),
            "mean orders": st.column_config.NumberColumn(format="%.2f"),
            "mean revenue": st.column_config.NumberColumn(format="%.2f"),
        },
    )


def implied_survival(tx: Transactions, km) -> tuple[str, pd.DataFrame] | None:
    """The survival the forecast's default purchase model implies, over the Kaplan–Meier chart's range, named for
    the legend; None (with a note) when the model cannot be fitted on this data."""
    from clv_app import state
    from clv_core import models
    from clv_core.errors import ClvError

    try:
        with steps("Fitting the purchase model", ("implied-survival", state.dataset_key(tx))) as step:
            step("Choosing the most accurate purchase model on a holdout period, then fitting it…")
            model, _, _ = state.default_model(tx, "weeks")
            _, fit, _ = state.fits(tx, "weeks", model)
    except ClvError as exc:
        st.info(f"No model curve: {exc}", icon=":material/info:")
        return None
    longest = max(float(c.curve["timeline"].max()) for c in km.curves)
    return models.MODEL_LABELS[model], memo.of(_implied_frame, fit, longest)


def _implied_frame(fit, longest_days: float) -> pd.DataFrame:
    from clv_core import models

    timeline = pd.Series(np.linspace(0.0, longest_days, 241))
    return pd.DataFrame({"timeline": timeline, "survival": models.implied_survival(fit, timeline)})


def implied_survival_note(km, implied: tuple[str, pd.DataFrame], inactivity_days: int) -> None:
    """How the model's curve and the Kaplan–Meier curves compare at one year (or the end of the data), and why they
    may differ."""
    from clv_core import survival

    name, curve = implied
    day = min(365.0, float(curve["timeline"].iloc[-1]))
    model_share = float(np.interp(day, curve["timeline"], curve["survival"]))
    observed = "; ".join(
        f"{c.group} {survival.survival_at(c, day):.0%}" for c in km.curves if np.isfinite(survival.survival_at(c, day))
    )
    st.markdown(
        f"After {day:,.0f} days: **{name}** says {model_share:.0%} of customers have not dropped out; Kaplan–Meier "
        f"counts {observed} still customers."
    )
    st.caption(
        f"The Kaplan–Meier curves count a customer as lost after {inactivity_days} days without a purchase; the "
        "model knows quiet customers may still buy, so where its curve is higher, customers are quiet rather than "
        "gone. It is one curve for everyone: the model expects every acquisition cohort and segment to start alike, "
        "so the curves of the groups show where they differ from it. BG/NBD assumes nobody leaves before a second "
        "purchase, MBG/NBD lets one-time buyers leave at once."
    )


def survival_summary(data) -> None:
    t = data.table
    c = st.columns(4)
    c[0].metric("Customers", f"{len(t):,}")
    c[1].metric("Churned", f"{t['churned'].mean():.1%}")
    one_time = (t["duration_days"] <= data.definition.grace_days + 1) & t["churned"]
    c[2].metric("Churned after one visit", f"{one_time.mean():.1%}", help="Their lifetime is the grace period.")
    c[3].metric("Observed to", str(data.observation_end.date()))
    if data.floored:
        st.caption(f"{data.floored:,} lifetimes shorter than one day were set to one day (lifetimes must be positive).")


def km_medians(km) -> pd.DataFrame:
    medians = km.medians.to_frame()
    medians["customers"] = [c.customers for c in km.curves]
    medians["churned"] = [c.churned for c in km.curves]
    return medians


def km_tables(km) -> None:
    left, right = st.columns([1, 2])
    medians = memo.of(km_medians, km)
    left.markdown("**Median lifetime** (∞: more than half are still customers)")
    left.dataframe(
        medians, width="stretch", column_config={"median lifetime (days)": st.column_config.NumberColumn(format="%.0f")}
    )
    right.markdown("**Customers still at risk** (observed and not yet churned)")
    right.dataframe(km.at_risk, width="stretch")


def cox_result(result) -> None:
    c1, c2 = st.columns(2)
    c1.metric(
        "Concordance",
        f"{result.concordance:.3f}",
        help="0.5: no better than chance at ordering who leaves first; 1: perfect.",
    )
    c2.metric("Penalizer", f"{result.penalizer:g}")
    st.plotly_chart(memo.of(charts.forest_plot, result.summary), width="stretch")
    st.markdown(md(result.ph_sentence))
    for note in result.notes:
        st.caption(note)
    st.dataframe(
        result.summary,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in result.summary.columns},
    )


def parametric_result(result) -> None:
    best = result.table.iloc[0]
    st.markdown(
        f"**{md(result.best)}** fits best (lowest AIC): median lifetime {best['median (days)']:,.0f} days; "
        f"within {int(result.horizon_days)} days a new customer stays {best.iloc[3]:,.0f} days on average."
    )
    st.dataframe(result.table, hide_index=True, width="stretch")


def survival_clv_result(value) -> None:
    c1, c2 = st.columns(2)
    c1.metric(f"Expected revenue per new customer, {value.horizon_months} months", f"{value.value:,.2f}")
    c2.metric("Revenue per active customer-month", f"{value.revenue_per_active_month:,.2f}")
    st.caption(
        f"Σ over months of survival × revenue per active month, discounted at {value.annual_discount_rate:.0%} a year "
        f"({(1 + value.annual_discount_rate) ** (1 / 12) - 1:.3%} a month)."
    )
    st.dataframe(
        value.monthly,
        hide_index=True,
        width="stretch",
        column_config={
            "month": st.column_config.NumberColumn("month ahead", format="%d"),
            "survival": st.column_config.NumberColumn("still a customer", format="percent"),
            "expected revenue": st.column_config.NumberColumn("expected revenue per new customer", format="%.2f"),
        },
    )


def metrics_table(metrics: pd.DataFrame) -> None:
    percent = ("purchases % error", "revenue % error", "top-decile precision", "top-decile recall")
    st.dataframe(
        metrics,
        width="stretch",
        column_config={
            **{c: st.column_config.NumberColumn(format="percent") for c in percent},
            **{c: st.column_config.NumberColumn(format="%.3f") for c in metrics.columns if c not in percent},
            "holdout actual purchases": st.column_config.NumberColumn(format="%.0f"),
            "holdout predicted purchases": st.column_config.NumberColumn(format="%.0f"),
            "holdout actual revenue": st.column_config.NumberColumn(format="%.0f"),
            "holdout predicted revenue": st.column_config.NumberColumn(format="%.0f"),
        },
    )


def segment_value_table(summary: pd.DataFrame, horizon_months: int, boot=None) -> None:
    if boot is not None:
        interval_sentences(summary, "total CLV", horizon_months, boot.level)
    st.dataframe(
        summary,
        width="stretch",
        column_config={
            "total CLV": st.column_config.NumberColumn(f"total CLV ({horizon_months} mo)", format="%.0f"),
            "mean CLV": st.column_config.NumberColumn(f"mean CLV ({horizon_months} mo)", format="%.2f"),
            "mean P(alive)": st.column_config.NumberColumn("mean P(alive) now", format="%.2f"),
            "share of value": st.column_config.NumberColumn(format="percent"),
            **interval_columns(boot, horizon_months),
        },
    )


def customer_columns(horizon_months: int) -> dict:
    """Headers with their units for a scored customer list (the exports carry the same in their assumptions)."""
    h = horizon_months
    money = st.column_config.NumberColumn
    return {
        "p_alive": money("P(alive) now", format="%.2f", help="Probability the customer is still active (0–1)."),
        "expected_purchases": money(f"expected purchases ({h} mo)", format="%.2f"),
        "expected_avg_value": money("expected order value", format="%.2f", help="Revenue per order (Gamma–Gamma)."),
        "clv": money(f"CLV ({h} mo, discounted margin)", format="%.2f"),
        "clv_lower": money(f"CLV {h} mo, 90 % low", format="%.2f"),
        "clv_upper": money(f"CLV {h} mo, 90 % high", format="%.2f"),
        "clv_risk_adjusted": money(f"CLV {h} mo, 10th percentile", format="%.2f"),
        "historical_revenue": money("revenue to date", format="%.2f"),
        "clv_segment": st.column_config.TextColumn("CLV segment"),
        "value_tier": st.column_config.TextColumn("value tier"),
        "rfm_segment": st.column_config.TextColumn("RFM segment"),
    }


def interval_columns(boot, horizon_months: int) -> dict:
    """Column labels for a table's ``total_lower``/``total_upper`` (bootstrap interval of each group's total)."""
    if boot is None:
        return {}
    pct = f"{boot.level * 100:.0f} %"
    return {
        "total_lower": st.column_config.NumberColumn(f"total ({horizon_months} mo), {pct} low", format="%.0f"),
        "total_upper": st.column_config.NumberColumn(f"total ({horizon_months} mo), {pct} high", format="%.0f"),
    }


def interval_sentences(table: pd.DataFrame, total: str, horizon_months: int, level: float, *, top: int = 3) -> None:
    """The most valuable groups' totals with their bootstrap intervals, as sentences a decision can quote."""
    ranked = table.sort_values(total, ascending=False).head(top)
    st.markdown(
        "\n".join(
            "- "
            + forecast.interval_sentence(
                str(name), horizon_months, row[total], (row["total_lower"], row["total_upper"]), level
            )
            for name, row in ranked.iterrows()
        )
    )


def budget_table(allocation: pd.DataFrame) -> None:
    st.dataframe(
        allocation,
        width="stretch",
        column_config={
            "budget": st.column_config.NumberColumn(format="%.0f"),
            "per customer": st.column_config.NumberColumn(format="%.2f"),
            "expected return": st.column_config.NumberColumn(format="%.0f"),
            "return on budget": st.column_config.NumberColumn(format="%.1f×"),
        },
    )
    st.caption(
        "Budget split by segment CLV × response rate, capped at customers × mean CLV × max spend share "
        "(edit both in the table above); expected return = customers × response rate × mean CLV."
    )


def head(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows a table on screen shows (the downloads have all of them)."""
    return frame.head(SHOWN_ROWS)


def column_total(frame: pd.DataFrame, column: str) -> float:
    return float(frame[column].sum())


def frozen(chosen: dict) -> dict:
    """Filter choices with lists as tuples, so equal choices are equal keys for :func:`clv_app.memo.of`.

    >>> frozen({"segments": ["Champions"], "attribute": ("channel", ["web"]), "slipping_only": False})
    {'segments': ('Champions',), 'attribute': ('channel', ('web',)), 'slipping_only': False}
    """

    def freeze(value):
        return tuple(freeze(v) for v in value) if isinstance(value, (list, tuple)) else value

    return {k: freeze(v) for k, v in chosen.items()}


#: The customer-list filters a shared link carries (see clv_app.links).
FILTER_KEYS = ("seg-f-segment", "seg-f-rfm", "seg-f-life", "seg-f-clv", "seg-f-alive", "seg-f-slip")


def customer_filters(table: pd.DataFrame, attributes: tuple[str, ...]) -> dict:
    c = st.columns(3)
    lists = {
        "seg-f-segment": list(table["clv_segment"].cat.categories)
        if hasattr(table["clv_segment"], "cat")
        else sorted(table["clv_segment"].unique()),
        "seg-f-rfm": sorted(table["rfm_segment"].unique()),
        "seg-f-life": sorted(table["lifecycle"].unique()),
    }

    def pick(column, label: str, key: str) -> list:
        options = lists[key]
        return column.multiselect(label, options, default=links.initial(key, [], options=options), key=key)

    chosen = {
        "segments": pick(c[0], "CLV segment", "seg-f-segment"),
        "rfm_segments": pick(c[1], "RFM segment", "seg-f-rfm"),
        "lifecycle": pick(c[2], "Lifecycle stage", "seg-f-life"),
    }
    r = st.columns(3)
    top = max(float(table["clv"].max()) if len(table) else 1.0, 1.0)
    clv = links.initial("seg-f-clv", (0.0, top), bounds=(0.0, top))
    chosen["clv_range"] = r[0].slider("CLV range", 0.0, top, clv, key="seg-f-clv")
    alive = links.initial("seg-f-alive", (0.0, 1.0), bounds=(0.0, 1.0))
    chosen["p_alive_range"] = r[1].slider("P(alive) range", 0.0, 1.0, alive, 0.05, key="seg-f-alive")
    chosen["slipping_only"] = links.switch(r[2].toggle, "Only valuable but slipping", key="seg-f-slip")
    if attributes:
        a1, a2 = st.columns(2)
        name = a1.selectbox("Attribute", ["(any)", *attributes], key="seg-f-attr")
        if name != "(any)":
            chosen["attribute"] = (name, a2.multiselect(f"{name} is", sorted(table[name].unique()), key="seg-f-attr-v"))
    return chosen


def customer_list_downloads(
    tx: Transactions,
    filtered: pd.DataFrame,
    chosen: dict,
    *,
    model,
    econ,
    thresholds,
    gate,
    key: str = "seg",
    label: str | None = None,
    verb: str = "Download",
    about_label: str = "Assumptions of this list (JSON)",
):
    """CSV, Excel (assumptions on a second sheet) and the assumptions as JSON for the filtered customer list; the
    files are built only when a button is clicked. ``chosen`` (the filters) goes into the assumptions; ``label``
    names the list in file names (default: its CLV segment when one is chosen); ``key`` prefixes widget keys and
    ``verb`` starts the button labels, ``about_label`` is the assumptions button's."""
    from clv_app import state
    from clv_core import segments

    if label is None:
        one = chosen.get("segments") or []
        label = one[0] if len(one) == 1 else "filtered"
    stamp, today = memo.of(export.fingerprint, filtered), dt.date.today()

    def about() -> dict:
        _, fit, spend = state.fits(tx, "weeks", model)
        return export.assumptions(
            f"customer list: {label}",
            filtered,
            fingerprint=tx.content_hash,
            columns=segments.scored_columns(econ, tx.observation_end),
            fits=(fit, spend),
            economics=econ,
            settings={
                "horizon supported by the history (months)": gate.supported_months,
                "extrapolated": gate.extrapolates(econ.horizon_months),
                "filters": frozen(chosen),
                "segment thresholds (lower percentile of CLV)": dataclasses.asdict(thresholds),
                **dataset_settings(tx),
            },
        )

    d1, d2, d3 = st.columns(3)
    d1.download_button(
        f"{verb} CSV ({len(filtered):,} rows)",
        lambda: export.to_csv_bytes(filtered),
        file_name=export.file_name(label, stamp, "csv", today=today),
        mime="text/csv",
        key=f"{key}-csv",
        on_click="ignore",
    )
    d2.download_button(
        f"{verb} Excel ({len(filtered):,} rows)",
        lambda: export.to_excel_bytes(filtered, about=about()),
        file_name=export.file_name(label, stamp, "xlsx", today=today),
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}-xlsx",
        on_click="ignore",
        help="The second sheet, assumptions, says how every number was made.",
    )
    assumptions_download(
        d3, about, export.file_name(label, stamp, "assumptions.json", today=today), f"{key}-about", about_label
    )


CELL_KEYS = ("seg-cell-metric", "seg-cell-rfm", "seg-cell-band")


def rfm_alive_section(tx: Transactions, table: pd.DataFrame, *, model, econ, thresholds, gate) -> None:
    """What customers did (RFM segment) against whether the model thinks they are still there (P(alive)), and
    any cell as a downloadable action list."""
    from clv_core import segments

    h = econ.horizon_months
    metrics = {"customers": "Customers", "total_clv": f"Predicted value ({h} mo)"}
    metric = (
        st.segmented_control(
            "Colour by",
            tuple(metrics),
            format_func=metrics.get,
            default=links.initial(CELL_KEYS[0], "customers", options=tuple(metrics)),
            key=CELL_KEYS[0],
        )
        or "customers"
    )
    cells = memo.of(segments.rfm_alive_matrix, table)
    st.plotly_chart(memo.of(charts.rfm_alive_heatmap, cells, metric, h), width="stretch")
    st.caption(
        "Rows: RFM segment (what customers did). Columns: the model's probability they are still active. "
        "Each cell: customers, then their predicted value. A cell is an action list below."
    )
    c1, c2 = st.columns(2)
    rows = list(dict.fromkeys(cells["rfm_segment"]))
    start = next((r for r in ("Champions", "Loyal Customers") if r in rows), rows[0])
    rfm_segment = links.choose(c1.selectbox, "RFM segment", rows, start, key=CELL_KEYS[1])
    band = links.choose(c2.selectbox, "P(alive) band", segments.ALIVE_BANDS, segments.ALIVE_BANDS[1], key=CELL_KEYS[2])
    cell = memo.of(segments.rfm_alive_cell, table, rfm_segment, band)
    action = segments.ALIVE_ACTIONS[segments.ALIVE_BANDS.index(band)]
    name = f"{rfm_segment}, {band}" if band.startswith("P(") else f"{rfm_segment}, P(alive) {band}"
    st.markdown(
        f"**{md(name)}**: {len(cell):,} customers, {h}-month predicted value {cell['clv'].sum():,.0f}. "
        f"Suggested: {action}."
    )
    if cell.empty:
        return
    st.dataframe(memo.of(head, cell), hide_index=True, width="stretch", height=220, column_config=customer_columns(h))
    customer_list_downloads(
        tx,
        cell,
        {"rfm_segments": [rfm_segment], "p_alive band": band},
        model=model,
        econ=econ,
        thresholds=thresholds,
        gate=gate,
        key="seg-cell",
        label=name,
        verb="Action list as",
        about_label="Action list assumptions (JSON)",
    )


def migration_section(tx: Transactions, model: str, econ, thresholds) -> None:
    from clv_app import state
    from clv_core.errors import ClvError

    first, last = tx.data["date"].min().date(), tx.observation_end.date()
    default_a = max(first, (tx.observation_end - pd.DateOffset(months=6)).date())
    c1, c2 = st.columns(2)
    date_a = c1.date_input("First snapshot", default_a, min_value=first, max_value=last, key="mig-a")
    date_b = c2.date_input("Second snapshot", last, min_value=first, max_value=last, key="mig-b")
    try:
        result = state.migration(tx, date_a, date_b, model, econ, thresholds)
    except ClvError as exc:
        st.error(str(exc), icon=":material/block:")
        return
    counts = result.customers["moved"].value_counts()
    st.caption(
        f"Each snapshot refits the models on the data up to that day. Moved up {counts.get('up', 0):,}, "
        f"down {counts.get('down', 0):,}, same {counts.get('same', 0):,}, new {counts.get('new', 0):,}."
    )
    left, right = st.columns([2, 3])
    left.dataframe(result.matrix, width="stretch")
    right.plotly_chart(memo.of(charts.sankey_chart, result.matrix, result.date_a, result.date_b), width="stretch")
    st.markdown(f"**Customers who moved down** ({len(result.moved_down):,})")
    if len(result.moved_down) > SHOWN_ROWS:
        st.caption(f"The first {SHOWN_ROWS:,} are shown; the download has all of them.")
    st.dataframe(memo.of(head, result.moved_down), hide_index=True, width="stretch")
    full_download(
        "Download the customers who moved down (CSV)",
        result.moved_down,
        "moved-down",
        identity=f"{result.date_a}-{result.date_b}-{len(result.moved_down)}",
        key="seg-mig-csv",
        about=lambda: export.assumptions(
            "customers whose CLV segment moved down between two snapshots",
            result.moved_down,
            fingerprint=tx.content_hash,
            columns={
                "customer_id": "customer id, as in the file",
                "segment_a": f"CLV segment with the models refitted on the data to {result.date_a.date()}",
                "segment_b": f"CLV segment with the models refitted on the data to {result.date_b.date()}",
                "moved": "up, down, same or new",
            },
            economics=econ,
            settings={
                "model": model,
                "model time unit": "weeks",
                "first snapshot": str(result.date_a.date()),
                "second snapshot": str(result.date_b.date()),
                "segment thresholds (lower percentile of CLV)": dataclasses.asdict(thresholds),
                **dataset_settings(tx),
            },
        ),
    )
