"""Data: load a transaction file or a sample, map its columns, see what the loader did to it."""

import streamlit as st

from clv_app import links, memo, navigation, session, settings, sources
from clv_app.views import common as views
from clv_app.views import data as data_views
from clv_app.views import data_sources as source_views
from clv_core import export
from clv_core.errors import ClvError
from clv_core.ingest import detect_columns
from clv_core.samples import SAMPLES
from clv_core.summary import TRANSACTION_COLUMNS, summary_columns

navigation.page_guard()

st.title("Data")
st.caption("Load a transaction history: one row per purchase with a customer id, a date and an amount.")

active = sources.ensure_dataset()
kind, origin = sources.current_source()  # widgets default to the active dataset (see clv_app.sources)
SOURCES = ("Bundled sample", "Upload a file", "Recent datasets", "Database")
source = st.radio(
    "Source",
    SOURCES,
    index={"upload": 1, "workspace": 2, "database": 3}.get(kind, 0),
    horizontal=True,
    key="data-source",
    help="Recent datasets: files you loaded before, kept with their columns and cleaning options. Database: a "
    "table or query of a PostgreSQL database.",
)
data = name = file_id = database = sheet = None
reading = None  # whose reading options (encoding, delimiter) apply: this upload, saved entry or sample
if source == "Database":
    database = source_views.database_source()
    if database is not None:
        label, origin = database[1].source_name, ("database", database[1].source_name)
elif source == "Recent datasets":
    chosen = source_views.recent_datasets(origin if kind == "workspace" else None)
    if chosen is not None:
        try:
            if (kind, origin) != ("workspace", chosen):  # reopen it as it was loaded: the pickers below start there
                active = sources.open_saved(chosen)
            data, entry = sources.saved_bytes(chosen)
        except ClvError as exc:
            st.error(views.md(str(exc)), icon=":material/block:")
        else:
            name, label, origin = entry.file_name, entry.label, ("workspace", entry.id)
            st.session_state.setdefault(f"sheet-{name}", entry.sheet)
            reading = f"saved-{entry.id}"  # opened as it was saved, whatever another file of that name used
            st.session_state.setdefault(f"enc-{reading}", entry.options.encoding or data_views.DETECT)
            st.session_state.setdefault(f"delim-{reading}", data_views.delimiter_choice(entry.options.delimiter))
elif source == "Bundled sample":
    keys = tuple(SAMPLES)
    index = keys.index(origin) if kind == "sample" else 0
    key = st.selectbox("Sample", keys, index=index, format_func=lambda k: SAMPLES[k].label, key="data-sample")
    st.caption(SAMPLES[key].description)
    data, name = sources.cached_sample(key)
    label, origin = f"Sample: {SAMPLES[key].label}", ("sample", key)
else:
    limit_mb, limit_rows = st.get_option("server.maxUploadSize"), settings.limits().max_rows
    upload = st.file_uploader(
        f"Transaction file: CSV, TSV or TXT (any delimiter), Excel .xlsx, Parquet, or one of these in .gz or "
        f"a one-file .zip. Up to {limit_mb} MB and {limit_rows:,} rows.",
        type=["csv", "tsv", "txt", "xlsx", "parquet", "gz", "zip"],
        key="data-upload",
    )
    if upload is None:
        st.info(f"Choose a file to load. Until then the app keeps using: {views.md(sources.current_label())}.")
    else:
        data, name, file_id = upload.getvalue(), upload.name, upload.file_id
        reading = f"upload-{file_id}"  # each upload its own choice, even of a file with the same name
        label, origin = upload.name, ("upload", upload.name)

encoding = delimiter = None
garbled_shown = False  # the reading section warned that this file's text looks garbled
if data is not None or database is not None:
    try:
        if database is not None:
            file_hash, raw = database
            name = raw.source_name
        else:
            sheet = st.session_state.get(f"sheet-{name}")
            reading = reading or f"file-{name}"
            encoding, delimiter = data_views.text_options(reading)
            read = ("read", len(data), name, sheet, file_id, encoding, delimiter)
            with views.steps(f"Reading {views.md(name)}", read) as step:
                step(f"Reading {source_views.size_text(len(data))} and detecting its format and columns…")
                bundled = source == "Bundled sample"
                file_hash, raw = sources.read_file(
                    data, name, sheet=sheet, file_id=file_id, bundled=bundled, encoding=encoding, delimiter=delimiter
                )
            garbled_shown = data_views.garbled_notice(raw, reading)
        if len(raw.sheets) > 1:
            st.selectbox("Sheet", raw.sheets, index=raw.sheets.index(raw.sheet), key=f"sheet-{name}")
        guess = memo.of(detect_columns, raw.frame, has_header=raw.has_header)
        same_file = active.content_hash == file_hash
        mapping = data_views.mapping_picker(raw, guess, key=file_hash, active=active.mapping if same_file else None)
        local = data_views.browser_timezone() if source == "Upload a file" else None
        options = data_views.options_picker(active.options, encoding=encoding, delimiter=delimiter, local_zone=local)
        complete = mapping.customer_id and mapping.date and (mapping.amount or (mapping.price and mapping.quantity))
        if complete or not guess.ambiguous:  # an incomplete mapping fails with clv_core's "not found" message
            with views.steps(f"Loading {views.md(name)}", ("load", file_hash, mapping, options)) as step:
                step(f"Cleaning {len(raw.frame):,} rows: dates, amounts, duplicates, returns…")
                loaded = sources.load(file_hash, raw, mapping, options)
                step(f"Summarising {loaded.customers:,} customers…")
                session.summary(loaded, "weeks")
            sources.activate(loaded, label, origin)
            if data is not None:
                sources.remember(loaded, data, name, label, sheet)
            else:  # a database's answer is kept as a snapshot: a refresh reopens it without the database
                sources.remember_snapshot(loaded, raw, label)
        else:
            st.info("Choose the customer id, date and amount columns to load the file.")
    except ClvError as exc:
        st.error(views.md(str(exc)), icon=":material/block:")
        st.caption(f"Nothing was lost: the app keeps using {views.md(sources.current_label())}.")

tx = sources.ensure_dataset()
session.analysis()  # the active dataset's model work starts in the background (clv_app.warmup) while this page reads
views.sidebar_dataset(tx, sources.current_label())
data_views.currency_picker(tx)
data_views.quality_report(tx, garbled_shown=garbled_shown)

st.subheader("Preview")
tab_tx, tab_summary = st.tabs(["Cleaned transactions", "Customer summary"])
with tab_tx:
    st.caption(
        f"First {min(views.SHOWN_ROWS, len(tx.data)):,} of {len(tx.data):,} transactions, sorted by customer and date."
    )
    views.show_table(
        memo.of(views.head, tx.data),
        hide_index=True,
        width="stretch",
        column_config={"amount": views.money_column("Amount", signed=True)},  # refunds
    )
    views.full_download(
        "Download all cleaned transactions (CSV)",
        tx.data,
        "transactions",
        identity=tx.content_hash,
        key="data-tx-csv",
        about=lambda: export.assumptions(
            "cleaned transactions",
            tx.data,
            fingerprint=tx.content_hash,
            columns=TRANSACTION_COLUMNS,
            settings=views.dataset_settings(tx),
        ),
        meanings=TRANSACTION_COLUMNS,
    )
with tab_summary:
    unit = st.segmented_control("Time unit", ("days", "weeks", "months"), default="weeks", key="summary-unit")
    customer_summary = session.summary(tx, unit or "weeks")
    data_views.summary_preview(customer_summary)
    views.full_download(
        "Download the customer summary (CSV)",
        customer_summary.table,
        "customer-summary",
        identity=f"{tx.content_hash}-{customer_summary.time_unit}",
        key="data-summary-csv",
        about=lambda: export.assumptions(
            f"customer summary in {customer_summary.time_unit}",
            customer_summary.table,
            fingerprint=tx.content_hash,
            columns=summary_columns(customer_summary.time_unit),
            settings={"time unit": customer_summary.time_unit, **views.dataset_settings(tx)},
        ),
        meanings=summary_columns(customer_summary.time_unit),
    )
links.publish()  # keeps the saved dataset's id in the address, so a refresh reopens it
