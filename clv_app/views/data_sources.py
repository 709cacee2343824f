"""Where the Data page's dataset comes from besides a sample or an upload: the saved datasets of the workspace and
a database, each within what this server allows (:mod:`clv_app.settings`)."""

from __future__ import annotations

import contextlib
import hashlib

import streamlit as st

from clv_app import access, settings, sources
from clv_app.views.common import md, steps
from clv_core.errors import ClvError
from clv_core.ingest.database import DEFAULT_TIMEOUT_S, safe_url


def database_source():
    """Where to read from (the configured connection, or a URL typed in when this visitor may), a table or a query
    (when this visitor may type one), and a Read button; returns the content hash and raw table once read, else
    None. What a visitor may do is set under ``[database]`` (see :mod:`clv_app.settings`)."""

    policy = sources.database_policy()
    limit, minutes = settings.limits().max_rows, f"{DEFAULT_TIMEOUT_S / 60:g}"
    configured = sources.configured_database_url()
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
            ".streamlit/secrets.toml instead (docs/deployment.md).",
        )
    else:
        st.info(
            "Typing a database address is turned off on this server. An administrator can set up a connection "
            "(docs/deployment.md).",
            icon=":material/lock:",
        )
        return None
    ways = ("A table", "A query") if policy.may("queries") else ("A table",)
    how = st.radio("Read", ways, horizontal=True, key="db-how") if len(ways) > 1 else ways[0]
    if how == "A table":
        if policy.problem:
            st.warning(policy.problem, icon=":material/warning:")
        if policy.tables is not None:
            table = st.selectbox(
                "Table", policy.tables, key="db-table-choice", placeholder="No table is offered on this server"
            )
        else:
            table = st.text_input("Table", placeholder="orders or sales.orders", key="db-table")
        query = None
        if len(ways) == 1:
            st.caption(
                "Typed queries are turned off on this server: read a table by its name.",
                help="[database] queries in .streamlit/secrets.toml (docs/deployment.md).",
            )
    else:
        table = None
        query = st.text_area(
            "Query (read-only)",
            placeholder="SELECT customer_id, ordered_at, total FROM orders WHERE country = 'DE'",
            key="db-query",
            help=f"One SELECT (or WITH … SELECT, VALUES, TABLE) statement, run read-only with a {minutes}-minute "
            "limit: it can select, join and filter, never change the database. On a login that can reach beyond its "
            "database (a superuser, server files), typed queries are refused.",
        )
    st.caption(f"At most {limit:,} rows are read, within {minutes} minutes (the limits set for this server).")
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
            return sources.database(url, table, query, st.session_state["db-nonce"])
    except ClvError as exc:
        st.error(md(str(exc)), icon=":material/block:")
        st.caption(f"Nothing was lost: the app keeps using {md(sources.current_label())}.")
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

    try:
        space = sources.workspace()
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
        current = st.session_state.get(sources.DATASET_ID)  # the dataset just loaded, kept under this id
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

    space = sources.workspace()
    if space is not None:
        with contextlib.suppress(ClvError):  # already gone (a second click, another tab): nothing to do
            space.delete(key)
    if st.session_state.get(sources.DATASET_ID) == key:
        st.session_state.pop(sources.DATASET_ID)
    for widget in ("data-saved", "data-saved-confirm"):
        st.session_state.pop(widget, None)
    st.session_state["data-saved-deleted"] = label
    sources.forget_kept()
