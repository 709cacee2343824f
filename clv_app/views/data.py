"""What the Data page lays out for the data it has: the column mapping and cleaning options, the quality report and
the customer summary. Where the data comes from is :mod:`clv_app.source_views`; shared renderers are in
:mod:`clv_app.views`."""

from __future__ import annotations

import zoneinfo

import pandas as pd
import streamlit as st

from clv_app import session
from clv_app.views.common import CARD_WIDTH, SHOWN_ROWS, cards, md, money_column, show_table
from clv_core import currency as currency_
from clv_core.export import strict_json
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
from clv_core.ingest.encodings import DELIMITERS, ENCODING_LABELS
from clv_core.summary import CustomerSummary

NONE = "(none)"
PRICE_TIMES_QTY = "(unit price × quantity)"


def _timezones() -> tuple[str, ...]:
    """Every IANA time zone (Region/City) Python's tz database has, UTC first."""
    zones = (z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
    return ("UTC", *sorted(zones))


TIMEZONES = _timezones()


def browser_timezone() -> str | None:
    """The visitor's time zone as their browser reports it (``st.context.timezone``), when it is one of
    :data:`TIMEZONES`; None before the browser has said (a session's first run) or outside a browser."""
    try:
        zone = st.context.timezone
    except Exception:  # no browser context (a bare run)
        return None
    return zone if zone in TIMEZONES else None


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


#: The reading options' first choice: what detection finds.
DETECT = ""


def text_options(reading: str) -> tuple[str | None, str | None]:
    """A text file's encoding and delimiter, detected unless chosen (kept for the session per ``reading``: one
    upload, one saved dataset, one sample); the chosen ones, None for detected."""
    encodings = (DETECT, *ENCODING_LABELS)
    delimiters = (DETECT, *DELIMITERS)
    delimiter_names = {",": "Comma ( , )", ";": "Semicolon ( ; )", "tab": "Tab", "|": "Pipe ( | )", "space": "Spaces"}
    with st.expander("Reading options: text encoding and delimiter (text files; detected unless chosen)"):
        left, right = st.columns(2)
        encoding = left.selectbox(
            "Text encoding",
            encodings,
            format_func=lambda c: ENCODING_LABELS.get(c, "Detect (UTF-8, UTF-16, else Windows-1252)"),
            key=f"enc-{reading}",
            help="Detection reads UTF-8 and UTF-16 exactly and anything else as Windows-1252. A file saved in another "
            "code page (a Russian export in Windows-1251) reads garbled: the quality report says so and offers the "
            "encoding that reads it right.",
        )
        delimiter = right.selectbox(
            "Delimiter",
            delimiters,
            format_func=lambda d: delimiter_names.get(d, "Detect"),
            key=f"delim-{reading}",
            help="Detection tries comma, semicolon, tab, pipe and spaces on the first 200 lines.",
        )
    return encoding or None, DELIMITERS.get(delimiter) if delimiter else None


def garbled_notice(raw: RawTable, reading: str) -> bool:
    """Say when the text read looks garbled, with a button that reads it in the likely encoding; whether it said."""
    if not raw.garbled:
        return False
    st.warning(md(raw.garbled), icon=":material/translate:")
    if raw.likely_encoding:
        st.button(
            f"Read it as {ENCODING_LABELS.get(raw.likely_encoding, raw.likely_encoding)}",
            key=f"enc-fix-{reading}",
            on_click=st.session_state.__setitem__,
            args=(f"enc-{reading}", raw.likely_encoding),
        )
    return True


def delimiter_choice(character: str | None) -> str:
    """The delimiter picker's choice for a delimiter character (:data:`DETECT` for None)."""
    return next((k for k, v in DELIMITERS.items() if v == character), DETECT) if character else DETECT


def options_picker(
    current: IngestOptions,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    local_zone: str | None = None,
) -> IngestOptions:
    """Cleaning options, starting from the active dataset's (the quality report states each one), with the text
    file's chosen ``encoding`` and ``delimiter`` (None: detected). ``local_zone`` (the visitor's, for their own
    upload) is the time zone an upload starts in; the bundled samples keep theirs (UTC), so their one shared
    analysis is not computed again per time zone."""

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
            help="Net: each refund is taken from the line it refunds: the same product in the same order (or the "
            "order a C…, R… or -… id names), then the same product in earlier orders, the rest of that order, a "
            "purchase of the same amount, then the latest purchases. A refund of a product the customer never "
            "bought is left out and named in the report. Rows a Cancelled, is_return or transaction-type column "
            "marks count as refunds too.",
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
            "Business time zone",
            TIMEZONES,
            index=at(TIMEZONES, local_zone or current.timezone),
            key="opt-timezone-local" if local_zone else "opt-timezone",  # an upload's choice is kept apart
            help="Timestamps with an offset (2024-03-05T23:30:00+01:00) are converted to it before their day is "
            "taken, and 'today' (for future-dated rows) is today there. An upload starts in your browser's time "
            "zone; the bundled samples in UTC.",
        )
    return IngestOptions(
        date_order=order,
        returns=returns,
        zero_amounts=zero,
        duplicates=duplicates,
        timezone=timezone,
        encoding=encoding,
        delimiter=delimiter,
    )


def currency_picker(tx: Transactions) -> None:
    """The currency the dataset's money is written in, kept with the dataset for this session: what the data says
    (symbols in the amounts, a currency column, a bundled sample's) unless the person loading it says otherwise."""
    found = session.detected_currency(tx)
    codes = ["", *currency_.KNOWN]
    current = session.currency(tx).code

    def name(code: str) -> str:
        known = currency_.from_code(code)
        text = f"{code} – {known.name}" if code else "Not stated (plain numbers)"
        return text + (" · from the data" if code == found.code and found.known else "")

    chosen = st.selectbox(
        "Currency of the amounts",
        codes,
        index=codes.index(current),
        format_func=name,
        key=f"currency-{tx.content_hash}",
        help="Written on every amount, chart axis and export header. Amounts are never converted.",
    )
    if chosen != current:
        session.choose_currency(tx, chosen)
        st.rerun()


def quality_report(tx: Transactions, *, garbled_shown: bool = False) -> None:
    """The quality report's cards, warnings, notes and tables; ``garbled_shown`` when the reading section above
    already warned that the text looks garbled (with its button)."""
    r = tx.report
    st.subheader("Data quality")
    with cards():
        st.metric("Rows read", f"{r.rows_read:,}", width=CARD_WIDTH)
        st.metric("Transactions kept", f"{r.rows_kept:,}", width=CARD_WIDTH)
        st.metric("Rows dropped", f"{r.rows_dropped:,}", width=CARD_WIDTH)
        st.metric("Customers", f"{r.customers:,}", width=CARD_WIDTH)
    days = (pd.Timestamp(r.date_max) - pd.Timestamp(r.date_min)).days + 1
    st.caption(f"Purchases from {r.date_min} to {r.date_max} ({days:,} days); observation end {r.observation_end}.")
    if r.dates_ambiguous:
        st.warning(
            "Ambiguous dates: no day above 12 tells day from month. They were read as "
            f"{'DD/MM (day first)' if r.date_order == DAY_FIRST else 'MM/DD (month first)'}. "
            "If that is wrong, change *Date order* in the cleaning options.",
            icon=":material/event:",
        )
    if r.garbled and not garbled_shown:
        st.warning(md(r.garbled), icon=":material/translate:")
    for note in r.notes:
        if note != r.garbled:
            st.markdown(f"- {md(note)}")
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Rows dropped, and why**")
        if r.dropped:
            show_table(
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
        show_table(_detection_table(tx), hide_index=True, width="stretch")
    st.download_button(
        "Download the quality report (JSON)",
        strict_json(r.to_dict()),
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
        "currency marks": ", ".join(f"{c} ({n:,} rows)" for c, n in r.currencies) or "none in the amounts",
        "time zone": r.timezone,
        "order id": m.order_id or "–",
        "product": m.product or "–",
        "returns": f"{r.return_rows:,} rows, policy: {r.returns_policy}",
    }
    if r.refund_flag_column:
        rows["refunds marked by"] = f"column {r.refund_flag_column} ({r.refund_flag_rows:,} rows)"
    if r.returns_policy == "net" and r.return_rows:  # the conservation check of netting
        money = session.currency(tx).amount
        rows["revenue kept"] = (
            f"{money(r.revenue_kept, cents=True)} = purchases {money(r.purchases_amount, cents=True)} − refunds "
            f"netted {money(r.refunds_netted, cents=True)}"
        )
        if r.refunds_unmatched:
            rows["refunds left out"] = f"{r.refunds_unmatched.rows:,} found no purchase (see the notes)"
    rows["observation end"] = r.observation_end
    return pd.DataFrame({"item": list(rows), "value": [str(v) for v in rows.values()]})


def summary_preview(summary: CustomerSummary) -> None:
    unit = summary.time_unit
    st.caption(
        f"{len(summary.table):,} customers, observed to {summary.observation_end.date()} (the first "
        f"{min(SHOWN_ROWS, len(summary.table)):,} shown). "
        f"frequency = repeat purchase days; recency = first → last purchase and T = first purchase → "
        f"observation end, in {unit}; days_since_last_purchase is RFM recency."
    )
    show_table(
        summary.table.head(SHOWN_ROWS),
        hide_index=True,
        width="stretch",
        column_config={
            "frequency": st.column_config.NumberColumn(
                "Frequency", format="%,d", help="Days with a purchase after the first one"
            ),
            "recency": st.column_config.NumberColumn(f"Recency ({unit})", format="%,.2f"),
            "T": st.column_config.NumberColumn(f"T ({unit})", format="%,.2f"),
            "monetary_value": money_column("Monetary value", help="Mean spend per repeat purchase day"),
            "total_revenue": money_column("Total revenue"),
            "average_order_value": money_column("Average order value"),
        },
    )
