"""Where the active dataset comes from: the bundled samples, an uploaded file, the workspace, a database.

Session keys (set only through the functions here):

* ``transactions`` – the active :class:`clv_core.ingest.Transactions` (what every page analyses);
* ``dataset_label`` – how the sidebar names it ("Sample: …" or the uploaded file's name);
* ``dataset_source`` – ``("sample", key)``, ``("upload", file name)``, ``("workspace", entry id)`` or
  ``("database", label)``: where it came from. The Data page's widgets default to it, because Streamlit forgets a
  page's widget values when another page is shown, and a forgotten radio must not silently swap the active dataset
  for the default sample;
* ``dataset_id`` – the workspace entry of the active dataset, when it is kept (the address carries it);
* ``_remembered`` – what this session kept in the workspace, or could not and why (:func:`remember`);
* ``_upload_hashes`` – the current upload's content hash, so a rerun does not hash its bytes again.

The Data page's database source keeps ``db-request`` and ``db-nonce`` (what was asked, and how many times Read was
pressed) in :mod:`clv_app.views.data_sources`.

Reading and cleaning are keyed on the SHA-256 of the file bytes plus the mapping and options (the bytes themselves
travel in unhashed ``_`` arguments) and kept in the app's one store (:mod:`clv_app.cache`); what is computed from
the active dataset is the session's analysis (:mod:`clv_app.session`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import sqlite3
from pathlib import Path

import streamlit as st
from pyarrow import ArrowException

from clv_app import access, cache, settings
from clv_core import contractual
from clv_core import workspace as workspace_
from clv_core.errors import ClvError
from clv_core.ingest import (
    ColumnMapping,
    IngestOptions,
    RawTable,
    Transactions,
    choose_sheet,
    clean,
    content_hash,
    detect_columns,
    read_raw,
    resolve_mapping,
)
from clv_core.ingest.database import read_database
from clv_core.samples import SAMPLES, sample_bytes

TRANSACTIONS = "transactions"
DATASET_LABEL = "dataset_label"
DATASET_SOURCE = "dataset_source"
DEFAULT_SAMPLE = "cdnow"


@cache.shared()
def cached_sample(key: str) -> tuple[bytes, str]:
    return sample_bytes(key)


@cache.shared(spinner="Reading the file…", heavy="reading a file")
def cached_raw(
    file_hash: str,
    name: str,
    sheet: str | None,
    max_bytes: int,
    max_rows: int | None,
    _data: bytes,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> RawTable:
    return read_raw(
        _data,
        name,
        sheet=sheet,
        max_decompressed_bytes=max_bytes,
        max_rows=max_rows,
        sheet_chooser=choose_sheet,
        encoding=encoding,
        delimiter=delimiter,
    )


@cache.shared(spinner="Cleaning the transactions…", heavy="cleaning transactions")
def cached_clean(
    file_hash: str, name: str, mapping: ColumnMapping, options: IngestOptions, _raw: RawTable
) -> Transactions:
    return clean(_raw, mapping=mapping, options=options, source_hash=file_hash)


def read_file(
    data: bytes,
    name: str,
    *,
    sheet: str | None = None,
    file_id: str | None = None,
    bundled: bool = False,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> tuple[str, RawTable]:
    """Hash and read uploaded bytes (cached). Raises :class:`clv_core.ClvError` for unreadable files. A text
    file's ``encoding`` and ``delimiter`` are detected unless given.

    ``file_id`` (an upload's id) lets a rerun skip re-hashing the same upload's bytes. A visitor's file is held to
    ``[limits] max_rows``; a ``bundled`` sample is not (it is the same for everyone, and the app's fallback).
    """
    hashes = st.session_state.setdefault("_upload_hashes", {})
    file_hash = hashes.get(file_id) if file_id else None
    if file_hash is None:
        file_hash = content_hash(data)
        if file_id:
            hashes.clear()  # one upload at a time: keep the map from growing
            hashes[file_id] = file_hash
    limit = None if bundled else settings.limits().max_rows
    cap = IngestOptions().max_decompressed_bytes
    return file_hash, cached_raw(file_hash, name, sheet, cap, limit, data, encoding, delimiter)


def load(file_hash: str, raw: RawTable, mapping: ColumnMapping, options: IngestOptions) -> Transactions:
    """Clean a raw table (cached) without touching the session: the caller activates it on success."""
    return cached_clean(file_hash, raw.source_name, mapping, options, raw)


def activate(transactions: Transactions, label: str, source: tuple[str, str]) -> None:
    """Make a dataset the one every page analyses."""
    if st.session_state.get(TRANSACTIONS) is not transactions:
        st.session_state.pop(DATASET_ID, None)  # the caller says when the new one is kept in the workspace
    st.session_state[TRANSACTIONS] = transactions
    st.session_state[DATASET_LABEL] = label
    st.session_state[DATASET_SOURCE] = source


# --- the persistent workspace (clv_core.workspace): what was loaded survives a refresh or a restart ---

DATASET_ID = "dataset_id"
#: What this session has kept in the workspace (or could not): (content hash, mapping, options, sheet) -> (entry id,
#: or None and why not).
_KEPT = "_remembered"
#: Where the workspace lives: the CLV_WORKSPACE environment variable, else ``folder`` under ``[workspace]`` in
#: ``.streamlit/secrets.toml``, else ``.workspace`` beside app.py. ``off`` turns it off.
DEFAULT_WORKSPACE = Path(__file__).resolve().parent.parent / ".workspace"


def workspace_folder() -> str:
    folder = os.environ.get("CLV_WORKSPACE")
    if folder is None:
        section = access.section("workspace") or {}
        folder = section.get("folder") if hasattr(section, "get") else None
    return str(folder or DEFAULT_WORKSPACE)


def _workspace(folder: str, owner: str, quota_bytes: int) -> workspace_.Workspace:
    key = ("workspace", folder, owner, quota_bytes)
    return cache.store().compute(key, lambda: workspace_.Workspace(folder, owner, quota_bytes=quota_bytes))


def workspace() -> workspace_.Workspace | None:
    """This user's workspace (the signed-in email's, or ``local`` without sign-in); None when turned off."""
    folder = workspace_folder()
    if folder.lower() == "off":
        return None
    return _workspace(folder, access.owner(), settings.limits().workspace_quota_bytes)


def remember(transactions: Transactions, data: bytes, name: str, label: str, sheet: str | None) -> str | None:
    """Keep a dataset the user loaded in the workspace (once per session and dataset); returns its entry id, or
    None when the workspace is off or cannot keep it (full, or not writable: the page says so, and the dataset
    still works for this session, it is only not kept)."""
    space = workspace()
    if space is None or is_default(transactions):  # what every fresh session opens anyway: nothing to keep
        return None
    done = st.session_state.setdefault(_KEPT, {})
    marker = (transactions.content_hash, transactions.mapping, transactions.options, sheet)
    if marker not in done:  # once per session and dataset: no hashing of a large upload on every rerun
        key = workspace_.entry_id(hashlib.sha256(data).hexdigest(), sheet, transactions.mapping, transactions.options)
        try:
            space.save(
                data,
                file_name=name,
                label=label,
                mapping=transactions.mapping,
                options=transactions.options,
                rows=len(transactions.data),
                customers=transactions.customers,
                sheet=sheet,
            )
        except ClvError as exc:  # over the quota, or a folder that cannot be used
            done[marker] = (None, str(exc))
        except (OSError, sqlite3.Error) as exc:
            done[marker] = (None, f"The workspace could not keep it ({type(exc).__name__}).")
        else:
            done[marker] = (key, None)
    key, problem = done[marker]
    if problem:
        st.warning(f"Not kept in Recent datasets: {problem} It stays open for this session.", icon=":material/warning:")
        return None
    st.session_state[DATASET_ID] = key
    return key


def remember_snapshot(transactions: Transactions, raw: RawTable, label: str) -> str | None:
    """Keep what a database query returned as a Parquet snapshot in the workspace, so a refresh or a restart
    reopens it without the database (the entry's label says it is a snapshot). The Parquet bytes are built only
    when this session has not kept this dataset yet, and not held after."""
    stamp = dt.date.today().isoformat()
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", label.rsplit(" · ", 1)[-1]).strip("-") or "query"
    marker = (transactions.content_hash, transactions.mapping, transactions.options, None)
    if marker in st.session_state.get(_KEPT, {}):  # kept (or refused) before: remember() needs no bytes
        return remember(transactions, b"", f"{name}.parquet", f"{label} (snapshot {stamp})", None)
    buffer = io.BytesIO()
    try:
        raw.frame.to_parquet(buffer, index=False)
    except (ValueError, TypeError, ImportError, ArrowException):  # a column type Parquet cannot hold
        st.session_state.setdefault(_KEPT, {})[marker] = (None, "Parquet cannot hold one of its column types.")
        return None
    return remember(transactions, buffer.getvalue(), f"{name}.parquet", f"{label} (snapshot {stamp})", None)


def forget_kept() -> None:
    """After a deletion: loading a dataset again keeps it again."""
    st.session_state[_KEPT] = {}


def is_default(transactions: Transactions) -> bool:
    """Whether this is the dataset a fresh session opens (the default sample, loaded the default way)."""
    data, name = cached_sample(DEFAULT_SAMPLE)
    file_hash, raw = read_file(data, name, bundled=True)
    default = resolve_mapping(raw.frame, detect_columns(raw.frame, has_header=raw.has_header))
    same_file = transactions.content_hash == file_hash
    return same_file and transactions.mapping == default and transactions.options == IngestOptions()


@cache.shared()
def _saved_bytes(folder: str, owner: str, key: str, content_hash: str, _space: workspace_.Workspace) -> bytes:
    return _space.read(key)


def open_saved(key: str) -> Transactions:
    """Load a workspace entry the way it was loaded before and make it the active dataset."""
    space = workspace()
    if space is None:
        raise ClvError("The workspace is turned off.")
    entry = space.get(key)
    data = _saved_bytes(str(space.folder), space.owner, key, entry.content_hash, space)
    chosen = entry.options
    file_hash, raw = read_file(
        data, entry.file_name, sheet=entry.sheet, encoding=chosen.encoding, delimiter=chosen.delimiter
    )
    tx = load(file_hash, raw, entry.mapping, entry.options)
    activate(tx, entry.label, ("workspace", key))
    st.session_state[DATASET_ID] = key
    return tx


def saved_bytes(key: str) -> tuple[bytes, workspace_.Entry]:
    space = workspace()
    if space is None:
        raise ClvError("The workspace is turned off.")
    entry = space.get(key)
    return _saved_bytes(str(space.folder), space.owner, key, entry.content_hash, space), entry


@cache.shared(heavy="reading from the database")
def _database(
    url: str, table: str | None, query: str | None, trusted: bool, max_rows: int, nonce: int
) -> tuple[str, RawTable]:
    return read_database(url, table=table, query=query, max_rows=max_rows, trusted=trusted)


def database_policy() -> settings.DatabasePolicy:
    return settings.database_policy(configured_connection=configured_database_url() is not None)


def database(url: str, table: str | None, query: str | None, nonce: int = 0) -> tuple[str, RawTable]:
    """A table or query read from a database (kept while the store has room; a new ``nonce`` reads it again), within
    this visitor's permissions (:mod:`clv_app.settings`) and the row limit. A URL is trusted only when it is the
    configured connection (see :func:`clv_core.ingest.database.parse_url`)."""
    policy = database_policy()
    configured = configured_database_url()
    if url != configured and not policy.may("urls"):
        raise ClvError("Typing a database address is turned off on this server; an administrator can set one up.")
    if query is not None and not policy.may("queries"):
        raise ClvError("Typed queries are turned off on this server; read a table by its name.")
    if table is not None and not policy.table_allowed(table):
        offered = ", ".join(policy.tables or ()) or "none"
        raise ClvError(f"{table.strip()[:80]!r} is not one of the tables offered here ({offered}).")
    return _database(url, table, query, url == configured, settings.limits().max_rows, nonce)


def configured_database_url() -> str | None:
    """The URL under ``[connections.clv]`` in ``.streamlit/secrets.toml``, if any."""
    section = access.section("connections") or {}
    clv = section.get("clv") if hasattr(section, "get") else None
    url = clv.get("url") if hasattr(clv, "get") else None
    return str(url) if url else None


def current_source() -> tuple[str, str]:
    return st.session_state.get(DATASET_SOURCE, ("sample", DEFAULT_SAMPLE))


def current() -> Transactions | None:
    return st.session_state.get(TRANSACTIONS)


def current_label() -> str:
    return st.session_state.get(DATASET_LABEL, "")


def default_sample() -> Transactions:
    """The default sample, read and cleaned as a session opens it (shared: the same object for every session);
    needs no session, so the server can prepare it before anyone visits (:mod:`clv_app.serve`)."""
    data, name = cached_sample(DEFAULT_SAMPLE)
    file_hash = content_hash(data)
    raw = cached_raw(file_hash, name, None, IngestOptions().max_decompressed_bytes, None, data)
    mapping = resolve_mapping(raw.frame, detect_columns(raw.frame, has_header=raw.has_header))
    return load(file_hash, raw, mapping, IngestOptions())


def ensure_dataset() -> Transactions:
    """The active dataset; on a fresh session, the CDNOW sample (so every page has real data to show)."""
    tx = current()
    if tx is None and (linked := st.query_params.get("dataset")):  # a refresh, or a link to a saved dataset
        try:
            return open_saved(str(linked))
        except ClvError:
            pass  # gone or damaged: the default sample, and the Data page lists what is there
    if tx is None:
        try:
            tx = default_sample()
        except ClvError as exc:  # the server stayed busy: nothing to show yet, and no traceback
            st.error(f"{exc} The page opens once the sample is loaded: reload it in a moment.", icon=":material/block:")
            st.stop()
        activate(tx, f"Sample: {SAMPLES[DEFAULT_SAMPLE].label}", ("sample", DEFAULT_SAMPLE))
    return tx


@cache.shared()
def sbg(survivors: tuple[float, ...]) -> contractual.SBGResult:
    """The shifted-beta-geometric fit of survivor counts (typed, from a subscriptions file, or from the dataset)."""
    return contractual.fit_sbg(survivors)


@cache.shared(spinner="Reading subscriptions…", heavy="reading subscriptions")
def _subscriptions(file_hash: str, name: str, _data: bytes) -> contractual.Subscriptions:
    return contractual.read_subscriptions(_data, name)


def subscriptions(data: bytes, name: str) -> contractual.Subscriptions:
    return _subscriptions(content_hash(data), name, data)
