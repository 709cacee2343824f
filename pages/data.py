"""Data: load a transaction file or a sample, map its columns, see what the loader did to it."""

import streamlit as st

from clv_app import navigation, state, views
from clv_core.errors import ClvError
from clv_core.ingest import detect_columns
from clv_core.samples import SAMPLES

navigation.page_guard()

st.title("Data")
st.caption("Load a transaction history: one row per purchase with a customer id, a date and an amount.")

active = state.ensure_dataset()
kind, origin = state.current_source()  # widgets default to the active dataset (see clv_app.state)
sources = ("Bundled sample", "Upload a file")
source = st.radio("Source", sources, index=int(kind == "upload"), horizontal=True, key="data-source")
data = name = file_id = None
if source == "Bundled sample":
    keys = tuple(SAMPLES)
    index = keys.index(origin) if kind == "sample" else 0
    key = st.selectbox("Sample", keys, index=index, format_func=lambda k: SAMPLES[k].label, key="data-sample")
    st.caption(SAMPLES[key].description)
    data, name = state.cached_sample(key)
    label, origin = f"Sample: {SAMPLES[key].label}", ("sample", key)
else:
    limit_mb = st.get_option("server.maxUploadSize")
    upload = st.file_uploader(
        f"Transaction file: CSV, TSV or TXT (any delimiter), Excel .xlsx, Parquet, or one of these in .gz or "
        f"a one-file .zip. Up to {limit_mb} MB.",
        type=["csv", "tsv", "txt", "xlsx", "parquet", "gz", "zip"],
        key="data-upload",
    )
    if upload is None:
        st.info(f"Choose a file to load. Until then the app keeps using: {views.md(state.current_label())}.")
    else:
        data, name, file_id = upload.getvalue(), upload.name, upload.file_id
        label, origin = upload.name, ("upload", upload.name)

if data is not None:
    try:
        file_hash, raw = state.read_file(data, name, sheet=st.session_state.get(f"sheet-{name}"), file_id=file_id)
        if len(raw.sheets) > 1:
            st.selectbox("Sheet", raw.sheets, index=raw.sheets.index(raw.sheet), key=f"sheet-{name}")
        guess = detect_columns(raw.frame, has_header=raw.has_header)
        same_file = active.content_hash == file_hash
        mapping = views.mapping_picker(raw, guess, key=file_hash, active=active.mapping if same_file else None)
        options = views.options_picker(active.options)
        complete = mapping.customer_id and mapping.date and (mapping.amount or (mapping.price and mapping.quantity))
        if complete or not guess.ambiguous:  # an incomplete mapping fails with clv_core's "not found" message
            state.activate(state.load(file_hash, raw, mapping, options), label, origin)
        else:
            st.info("Choose the customer id, date and amount columns to load the file.")
    except ClvError as exc:
        st.error(str(exc), icon=":material/block:")
        st.caption(f"Nothing was lost: the app keeps using {views.md(state.current_label())}.")

tx = state.ensure_dataset()
views.sidebar_dataset(tx, state.current_label())
views.quality_report(tx)

st.subheader("Preview")
tab_tx, tab_summary = st.tabs(["Cleaned transactions", "Customer summary"])
with tab_tx:
    st.caption(f"First {min(1000, len(tx.data)):,} of {len(tx.data):,} transactions, sorted by customer and date.")
    st.dataframe(tx.data.head(1000), hide_index=True, width="stretch")
with tab_summary:
    unit = st.segmented_control("Time unit", ("days", "weeks", "months"), default="weeks", key="summary-unit")
    views.summary_preview(state.summary(tx, unit or "weeks"))
