"""The app's one home for caching and cross-page session state.

Session keys (set only through the functions here):

* ``transactions`` – the active :class:`clv_core.ingest.Transactions` (what every page analyses);
* ``dataset_label`` – how the sidebar names it ("Sample: …" or the uploaded file's name);
* ``dataset_source`` – ``("sample", key)`` or ``("upload", file name)``: where it came from. The Data page's
  widgets default to it, because Streamlit forgets a page's widget values when another page is shown, and a
  forgotten radio must not silently swap the active dataset for the default sample;
* ``dataset_id`` – the workspace entry of the active dataset, when it is kept (the address carries it);
* ``_remembered`` – what this session kept in the workspace, or could not and why (:func:`remember`);
* ``_upload_hashes`` – the current upload's content hash, so a rerun does not hash its bytes again.

The Data page's database source keeps ``db-request`` and ``db-nonce`` (what was asked, and how many times Read was
pressed) in :mod:`clv_app.source_views`.

Cached work is keyed on the SHA-256 of the file bytes plus the mapping and options (Streamlit would otherwise hash
only a sample of a large DataFrame's rows); the bytes and frames themselves are passed as unhashed ``_``
arguments. Results live in :mod:`clv_app.cache`: one shared object per dataset and options, computed once however
many sessions ask, never pickled or copied on a rerun (which ``st.cache_data`` would do with every 10M-row table on
every access), and dropped least recently used first once they hold more memory than ``[limits] cache_mb``. Heavy
work (reading, cleaning, fitting, backtests) runs one at a time per visitor and a few at a time per server.
Shared objects are therefore read-only: pages copy before they change anything (tests/app/test_cache_sharing.py
checks that a tour of every page leaves them as computed). Tables and figures derived from these objects are kept
beside them by :mod:`clv_app.memo`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

import pandas as pd
import streamlit as st
from pyarrow import ArrowException

from clv_app import access, cache, memo, settings
from clv_core import cohorts, contractual, economics, forecast, models, overview, rfm, survival, validation
from clv_core import sufficiency as sufficiency_
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
from clv_core.runs import runs
from clv_core.samples import SAMPLES, sample_bytes
from clv_core.summary import CustomerSummary, summarise

TRANSACTIONS = "transactions"
DATASET_LABEL = "dataset_label"
DATASET_SOURCE = "dataset_source"
DEFAULT_SAMPLE = "cdnow"


@cache.shared()
def cached_sample(key: str) -> tuple[bytes, str]:
    return sample_bytes(key)


@cache.shared(spinner="Reading the file…", heavy="reading a file")
def cached_raw(
    file_hash: str, name: str, sheet: str | None, max_bytes: int, max_rows: int | None, _data: bytes
) -> RawTable:
    return read_raw(
        _data, name, sheet=sheet, max_decompressed_bytes=max_bytes, max_rows=max_rows, sheet_chooser=choose_sheet
    )


@cache.shared(spinner="Cleaning the transactions…", heavy="cleaning transactions")
def cached_clean(
    file_hash: str, name: str, mapping: ColumnMapping, options: IngestOptions, _raw: RawTable
) -> Transactions:
    return clean(_raw, mapping=mapping, options=options, source_hash=file_hash)


@cache.shared(spinner="Summarising customers…")
def cached_summary(
    file_hash: str, mapping: ColumnMapping, options: IngestOptions, time_unit: str, _tx: Transactions
) -> CustomerSummary:
    return summarise(_tx, time_unit=time_unit)


def read_file(
    data: bytes, name: str, *, sheet: str | None = None, file_id: str | None = None, bundled: bool = False
) -> tuple[str, RawTable]:
    """Hash and read uploaded bytes (cached). Raises :class:`clv_core.ClvError` for unreadable files.

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
    return file_hash, cached_raw(file_hash, name, sheet, IngestOptions().max_decompressed_bytes, limit, data)


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


@st.cache_resource(max_entries=64, show_spinner=False)
def _workspace(folder: str, owner: str, quota_bytes: int) -> workspace_.Workspace:
    return workspace_.Workspace(folder, owner, quota_bytes=quota_bytes)


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
    file_hash, raw = read_file(data, entry.file_name, sheet=entry.sheet)
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


def summary(transactions: Transactions, time_unit: str) -> CustomerSummary:
    tx = transactions
    return cached_summary(tx.content_hash, tx.mapping, tx.options, time_unit, tx)


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
            data, name = cached_sample(DEFAULT_SAMPLE)
            file_hash, raw = read_file(data, name, bundled=True)
            mapping = resolve_mapping(raw.frame, detect_columns(raw.frame, has_header=raw.has_header))
            tx = load(file_hash, raw, mapping, IngestOptions())
        except ClvError as exc:  # the server stayed busy: nothing to show yet, and no traceback
            st.error(f"{exc} The page opens once the sample is loaded: reload it in a moment.", icon=":material/block:")
            st.stop()
        activate(tx, f"Sample: {SAMPLES[DEFAULT_SAMPLE].label}", ("sample", DEFAULT_SAMPLE))
    return tx


# --- analyses: each cached on the dataset's identity (content hash, mapping, options) plus its own options ---


def dataset_key(tx: Transactions) -> tuple:
    return (tx.content_hash, tx.mapping, tx.options)


@cache.shared(spinner="Building cohorts…")
def _cohorts(key: tuple, period: str, where: tuple[str, str] | None, _tx: Transactions) -> cohorts.CohortTable:
    return cohorts.build_cohorts(_tx, period=period, where=where)


@cache.shared()
def _first_attributes(key: tuple, _tx: Transactions):
    return cohorts.first_purchase_attributes(_tx)


@cache.shared(spinner="Scoring customers…")
def _rfm(key: tuple, bins: int, thresholds: rfm.LifecycleThresholds, _tx: Transactions) -> rfm.RFMResult:
    summary = summarise(_tx, time_unit="days")
    return rfm.rfm(summary, bins=bins, thresholds=thresholds, previous_gap_days=rfm.previous_gaps(_tx))


@cache.shared(spinner="Computing the overview…")
def _overview(key: tuple, window: str, _tx: Transactions):
    revenue = runs(_tx.data).per_customer(_tx.data["amount"].to_numpy())
    return overview.kpis(_tx, window=window), overview.monthly_trend(_tx), overview.concentration(revenue)


def cohort_table(tx: Transactions, period: str, where: tuple[str, str] | None = None) -> cohorts.CohortTable:
    return _cohorts(dataset_key(tx), period, where, tx)


def first_attributes(tx: Transactions):
    return _first_attributes(dataset_key(tx), tx)


def rfm_result(tx: Transactions, bins: int, thresholds: rfm.LifecycleThresholds) -> rfm.RFMResult:
    return _rfm(dataset_key(tx), bins, thresholds, tx)


def overview_of(tx: Transactions, window: str):
    """(KPIWindow, monthly trend, Concentration) for the dataset."""
    return _overview(dataset_key(tx), window, tx)


@cache.shared()
def _suggested_threshold(key: tuple, _tx: Transactions) -> survival.SuggestedThreshold:
    return survival.suggest_inactivity_days(_tx)


@cache.shared(spinner="Measuring customer lifetimes…")
def _survival(key: tuple, definition: survival.ChurnDefinition, _tx: Transactions, _segments) -> survival.SurvivalData:
    return survival.survival_data(_tx, definition, extra_groups={"RFM segment": _segments})


@cache.shared(spinner="Drawing survival curves…")
def _km(key: tuple, definition, group: str | None, _data: survival.SurvivalData) -> survival.KMResult:
    t = _data.table
    return survival.kaplan_meier(t["duration_days"], t["churned"], None if group is None else t[group])


@cache.shared(spinner="Fitting the Cox model…")
def _cox(key: tuple, definition, covariates: tuple[str, ...], _data: survival.SurvivalData) -> survival.CoxResult:
    return survival.cox(_data.table, duration_col="duration_days", event_col="churned", covariates=list(covariates))


@cache.shared(spinner="Fitting parametric lifetimes…")
def _parametric(key: tuple, definition, horizon_days: int, _data: survival.SurvivalData) -> survival.ParametricResult:
    return survival.parametric(_data.table["duration_days"], _data.table["churned"], horizon_days=horizon_days)


def suggested_threshold(tx: Transactions) -> survival.SuggestedThreshold:
    return _suggested_threshold(dataset_key(tx), tx)


def _segment_by_customer(result: rfm.RFMResult):
    return result.table.set_index("customer_id")["segment"]


def default_segments(tx: Transactions):
    """Each customer's RFM segment under the default scoring (quintiles, default lifecycle thresholds), indexed by
    customer id: the grouping the Survival and Forecast pages offer."""
    return memo.of(_segment_by_customer, rfm_result(tx, 5, rfm.LifecycleThresholds()))


def survival_of(tx: Transactions, definition: survival.ChurnDefinition) -> survival.SurvivalData:
    """Lifetimes under ``definition``, with the default RFM segment as one of the groups."""
    return _survival(dataset_key(tx), definition, tx, default_segments(tx))


def km_of(tx: Transactions, data: survival.SurvivalData, group: str | None) -> survival.KMResult:
    return _km(dataset_key(tx), data.definition, group, data)


def cox_of(tx: Transactions, data: survival.SurvivalData, covariates: tuple[str, ...]) -> survival.CoxResult:
    return _cox(dataset_key(tx), data.definition, covariates, data)


def parametric_of(tx: Transactions, data: survival.SurvivalData, horizon_days: int) -> survival.ParametricResult:
    return _parametric(dataset_key(tx), data.definition, horizon_days, data)


@cache.shared(spinner="Fitting the models…", heavy="fitting the models")
def _fits(key: tuple, unit: str, model: str, _summary: CustomerSummary) -> tuple[models.FitResult, models.FitResult]:
    return models.fit_purchases(_summary, model), models.fit_spend(_summary)


@cache.shared(spinner="Comparing models…", heavy="comparing the models")
def _comparison(key: tuple, unit: str, _summary: CustomerSummary):
    return models.compare_models(_summary)


@cache.shared()
def _diagnostics(key: tuple, unit: str, model: str, _fit: models.FitResult, _summary: CustomerSummary):
    """(repeat-purchase table, or the reason there is none; spend–frequency check)."""
    try:
        repeat = models.repeat_purchase_fit(_fit, _summary)
    except ClvError as exc:
        repeat = str(exc)
    return repeat, models.spend_frequency_check(_summary)


@cache.shared(spinner="Preparing the forecast…")
def _base(key: tuple, unit: str, model: str, churn: float, _fit, _spend, _summary) -> economics.ForecastBase:
    return economics.precompute(_fit, _spend, _summary, churn_multiplier=churn)


def fits(tx: Transactions, unit: str, model: str):
    """(summary, purchase fit, spend fit); raises ClvError when the data cannot support the models."""
    s = summary(tx, unit)
    return (s, *_fits(dataset_key(tx), unit, model, s))


def model_comparison(tx: Transactions, unit: str):
    return _comparison(dataset_key(tx), unit, summary(tx, unit))


def diagnostics(tx: Transactions, unit: str, model: str, fit):
    return _diagnostics(dataset_key(tx), unit, model, fit, summary(tx, unit))


def forecast_base(tx: Transactions, unit: str, model: str, churn: float) -> economics.ForecastBase:
    s, fit, spend = fits(tx, unit, model)
    return _base(dataset_key(tx), unit, model, churn, fit, spend, s)


def sufficiency(tx: Transactions, unit: str = "weeks") -> sufficiency_.Sufficiency:
    """Whether the data is enough for a forecast and how far ahead it supports one (see clv_core.sufficiency)."""
    first_day = pd.Timestamp(tx.report.date_min)  # the report keeps it: no pass over the data
    return memo.of(sufficiency_.assess, summary(tx, unit), first_day, today=dt.date.today())


def scenario(tx: Transactions, unit: str, model: str, econ: economics.Economics) -> economics.CLVScenario:
    """CLV under ``econ``: one shared result per forecast base and slider values (see :mod:`clv_app.memo`)."""
    return memo.of(economics.scenario, forecast_base(tx, unit, model, econ.churn_multiplier), econ)


def bootstrap_fits(tx: Transactions, unit: str, model: str, resamples: int) -> forecast.BootstrapFits:
    """Refits on resampled customers, with a progress bar per resample the first time (computed outside a cached
    function, because an element drawn inside one is replayed on every later hit).
    They do not depend on the economics, so every slider position and page shares them."""
    key = ("bootstrap", dataset_key(tx), unit, model, resamples)
    store = cache.store()
    hit = store.get(key)
    if hit is not cache.MISSING:
        return hit
    customer_summary = summary(tx, unit)
    text = "Refitting both models on resampled customers: {} of {}"
    bar = st.progress(0.0, text=text.format(0, resamples))

    def report(done: int, total: int) -> None:
        bar.progress(done / total, text=text.format(done, total))

    try:
        return store.compute(
            key,
            lambda: forecast.bootstrap_fits(customer_summary, model, resamples=resamples, seed=0, progress=report),
            heavy="bootstrap refits",
        )
    finally:
        bar.empty()


def bootstrap(tx: Transactions, unit: str, model: str, econ: economics.Economics, resamples: int):
    """Bootstrap CLV intervals under ``econ`` from the shared refits (each holds every customer's CLV under every
    refit: 30 × 23,570 customers is 5.7 MB)."""
    fits = bootstrap_fits(tx, unit, model, resamples)
    key = ("bootstrap-clv", dataset_key(tx), unit, model, econ, resamples)
    customer_summary = summary(tx, unit)
    return cache.store().compute(key, lambda: forecast.bootstrap_clv(customer_summary, model, econ, fits=fits))


@cache.shared()
def sbg(survivors: tuple[float, ...]) -> contractual.SBGResult:
    return contractual.fit_sbg(survivors)


@cache.shared(spinner="Reading subscriptions…", heavy="reading subscriptions")
def _subscriptions(file_hash: str, name: str, _data: bytes) -> contractual.Subscriptions:
    return contractual.read_subscriptions(_data, name)


def subscriptions(data: bytes, name: str) -> contractual.Subscriptions:
    return _subscriptions(content_hash(data), name, data)


@cache.shared(
    spinner="Refitting every model on the calibration period…", heavy="testing the models on a holdout period"
)
def _backtest(key: tuple, calibration_end: str, unit: str, _tx: Transactions) -> validation.Backtest:
    return validation.backtest(_tx, calibration_end=calibration_end, time_unit=unit)


@cache.shared()
def _tracking(key: tuple, calibration_end: str, unit: str, model: str, _result: validation.Backtest, _tx: Transactions):
    fit = next(m.fit for m in _result.models if m.name == model)
    return validation.tracking(fit, _tx, _result.holdout)


@cache.shared(heavy="testing the models on a holdout period")
def _scorecard(key: tuple, unit: str, _tx: Transactions) -> validation.Backtest:
    calibration_end = validation.default_calibration_end(_tx)
    return validation.backtest(_tx, calibration_end=calibration_end, time_unit=unit, challenger=False)


def scorecard(tx: Transactions, unit: str) -> validation.Backtest:
    """The probabilistic models tested on the last third of the history: which one the forecast uses by default."""
    return _scorecard(dataset_key(tx), unit, tx)


def default_model(tx: Transactions, unit: str) -> tuple[str, validation.Backtest | None, str]:
    """The purchase model the forecast starts from: the scorecard's most accurate on the holdout, else BG/NBD.
    Returns (model key, the scorecard or None, why there is none)."""
    try:
        card = scorecard(tx, unit)
    except ClvError as exc:  # too little history to hold a period out: the forecast itself may still work
        return "bgnbd", None, str(exc)
    best = next((k for k in models.PURCHASE_MODELS if models.MODEL_LABELS[k] == card.best), "bgnbd")
    return best, card, ""


def cohort_forecast(tx: Transactions, table: cohorts.CohortTable, where, ahead: int) -> cohorts.CohortForecast:
    """The cohort table's future cells from the forecast's default purchase model (weeks), shared by every session
    through the table (see :mod:`clv_app.memo`)."""
    model, _, _ = default_model(tx, "weeks")
    customer_summary, fit, _ = fits(tx, "weeks", model)
    base = forecast_base(tx, "weeks", model, 1.0)
    return memo.of(_cohort_forecast, table, tx, fit, customer_summary, base, where, ahead)


def _cohort_forecast(table, tx, fit, customer_summary, base, where, ahead):
    return cohorts.forecast_cells(table, tx, fit, customer_summary, base.expected_order_value, where=where, ahead=ahead)


def backtest_of(tx: Transactions, calibration_end: str, unit: str) -> validation.Backtest:
    return _backtest(dataset_key(tx), calibration_end, unit, tx)


def tracking_of(tx: Transactions, result: validation.Backtest, calibration_end: str, unit: str, model: str):
    return _tracking(dataset_key(tx), calibration_end, unit, model, result, tx)


def scored(tx: Transactions, model: str, unit: str, econ: economics.Economics, thresholds):
    """Forecast + segments + RFM + attributes per customer (every part is cached; this join is cheap)."""
    rfm_table = rfm_result(tx, 5, rfm.LifecycleThresholds()).table
    return memo.of(_scored, scenario(tx, unit, model, econ), rfm_table, first_attributes(tx), thresholds)


def _scored(result: economics.CLVScenario, rfm_table, attributes, thresholds):
    from clv_core import segments

    return segments.scored_customers(
        result.customers, rfm_table=rfm_table, attributes=attributes, thresholds=thresholds
    )


@cache.shared(spinner="Scoring both snapshots…", heavy="scoring two snapshots")
def _migration(key: tuple, date_a: str, date_b: str, model: str, econ, thresholds, _tx: Transactions):
    from clv_core import segments

    return segments.migration(_tx, date_a, date_b, model=model, economics=econ, thresholds=thresholds)


def migration(tx: Transactions, date_a, date_b, model: str, econ, thresholds):
    return _migration(dataset_key(tx), str(date_a), str(date_b), model, econ, thresholds, tx)


@cache.shared(spinner="Writing the report…", heavy="writing the report")
def _report(key: tuple, label: str, model: str, econ, thresholds, _tx: Transactions) -> str:
    from clv_core.report import executive_report

    return executive_report(_tx, label=label, model=model, economics=econ, thresholds=thresholds)


def report(tx: Transactions, model: str, econ, thresholds) -> str:
    return _report(dataset_key(tx), current_label(), model, econ, thresholds, tx)


# --- progress: shown the first time work is done, not on the reruns that find it cached ----------------------


_FINISHED_KEPT = 10_000
_finished_lock = threading.Lock()


@st.cache_resource(show_spinner=False)
def _finished() -> OrderedDict:
    """Keys of multi-step work that has completed in this server process (shared, like the caches), the most recent
    ``_FINISHED_KEPT``: a key forgotten only shows its progress once more."""
    return OrderedDict()


def seen(key: tuple) -> bool:
    """Whether the work named ``key`` has completed before (so its cached steps will return at once)."""
    return key in _finished()


def mark_done(key: tuple) -> None:
    done = _finished()
    with _finished_lock:
        done[key] = None
        done.move_to_end(key)
        while len(done) > _FINISHED_KEPT:
            done.popitem(last=False)
