"""Shareable views: a page's filters and slider values live in its URL, so a link opens the same view.

The page is the URL's path (``/forecast``); its settings are the query string (``?horizon=24&rate=0.2``).

A page's own widgets (filters, thresholds, toggles) are bound to the query string by Streamlit itself
(``bind="query-params"`` with the widget's key as the parameter): a link's value seeds the widget when the session
opens, the browser's address follows every change, a value equal to the default is left out, and a value the widget
cannot take (mangled, out of range, an option the data does not have) is dropped from the address and the default
used, never an error. A selectbox's parameter is the option as the widget writes it (``Revenue per customer``, not
``revenue_per_customer``), a toggle's ``true`` or ``false``.

What Streamlit's binding cannot do stays here:

* the settings every page shares (model, time unit, economics: :mod:`clv_app.session`): a bound widget's parameter
  leaves the address when its page is left, and these are chosen on one page and used on all, so every page writes
  them into its address (:func:`publish`), and a session reads them once from the link it was opened with
  (:func:`start`, :func:`initial`);
* links made before those settings were shared (``fc-horizon``, ``seg-margin`` …: :data:`RENAMED`), read as today's
  names, and links made before the binding, whose switches said ``1``/``0`` and whose choices their keys
  (``rfm-bins=4``, ``cohort-metric=revenue_per_customer``: :func:`_old_values`), rewritten once as the session
  opens;
* the active dataset's workspace id (``dataset``), kept in the address so a refresh reopens it.

A link carries settings, never data: it opens on the dataset the recipient has loaded.
"""

from __future__ import annotations

import contextlib
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAPIException

_OPENED_WITH = "_link_opened_with"
#: Names links used before the model, time unit and economics were shared by every page: an old link still opens
#: with its settings.
RENAMED = {
    "fc-model": "model",
    "seg-model": "model",
    "fc-unit": "unit",
    "val-unit": "unit",
    "fc-rate": "rate",
    "seg-rate": "rate",
    "surv-clv-rate": "rate",
    "fc-churn": "churn",
    "fc-horizon": "horizon",
    "seg-horizon": "horizon",
    "surv-clv-months": "horizon",
    "fc-margin": "margin",
    "seg-margin": "margin",
    "fc-cac": "cac",
}


def start() -> None:
    """Remember the query string this session was opened with (once per session), old names read as new; a page
    setting written as links wrote it before the binding is rewritten, and the run starts again with it."""
    if _OPENED_WITH not in st.session_state:
        opened = {k: st.query_params.get_all(k) for k in st.query_params}
        for old, new in RENAMED.items():
            if old in opened:
                opened.setdefault(new, opened.pop(old))
        st.session_state[_OPENED_WITH] = opened
        rewritten = False
        for key, values in _old_values(opened).items():
            if (value := st.query_params.get(key)) in values:
                st.query_params[key] = values[value]  # no widget is bound yet: the page has not run
                rewritten = True
        if rewritten:
            st.rerun()  # the page's widgets seed from the address as it is now


#: The switches of the pages, bound to the address: ``true``/``false`` there, ``1``/``0`` in older links.
_SWITCHES = ("surv-fit", "surv-model", "cohort-forecast", "overview-value", "overview-equity", "seg-intervals")


def _old_values(opened: dict) -> dict[str, dict[str, str]]:
    """Per page setting, what older links wrote → what its widget reads today."""
    old = {key: {"1": "true", "0": "false"} for key in (*_SWITCHES, "seg-f-slip")}
    old["rfm-bins"] = {"5": "Quintiles", "4": "Quartiles"}
    old["seg-cell-metric"] = {"customers": "Customers"}
    if "cohort-metric" in opened:  # the charts (and plotly) only when such a link asks
        from clv_core.charts import COHORT_METRICS

        old["cohort-metric"] = {key: label for key, (label, *_) in COHORT_METRICS.items()}
    return old


def _decode(raw: list[str], default: Any) -> Any:
    """``raw`` (the link's values for one key) as the type of ``default``.

    >>> _decode(["24"], 12), _decode(["0.2"], 0.1), _decode(["1"], False), _decode(["true"], False)
    (24, 0.2, True, True)
    """
    if isinstance(default, bool):
        if raw[0] not in ("1", "0", "true", "false"):
            raise ValueError(raw[0])
        return raw[0] in ("1", "true")
    return type(default)(raw[0])


def initial(
    key: str,
    default: Any,
    *,
    options: tuple | None = None,
    bounds: tuple[Any, Any] | None = None,
) -> Any:
    """The starting value of shared setting ``key``: from the link the session was opened with, else ``default``.

    ``options`` (the setting's choices) and ``bounds`` (its range) reject values it could not take; then
    ``default`` is used.
    """
    raw = st.session_state.get(_OPENED_WITH, {}).get(key)
    if not raw:
        return default
    try:
        value = _decode(raw, default)
    except (ValueError, TypeError):
        return default
    if options is not None:
        allowed = [str(o) for o in options]
        if str(value) not in allowed:
            return default
        value = options[allowed.index(str(value))]
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        return default
    return value


def publish() -> None:
    """Make the address hold what Streamlit's binding does not: the settings every page shares where they differ
    from the defaults (kept by :mod:`clv_app.session` in ``_settings_link``) and the active dataset's workspace id
    when it is kept there (``dataset``: a refresh reopens it). A shared setting at its default and an old link's
    names (read as today's when the session opened) go; any other parameter is left to Streamlit's binding (a
    page's widget drawn only under a condition, ``cohort-ahead`` …, is bound when it is drawn)."""
    wanted = {key: str(value) for key, value in st.session_state.get("_settings_link", {}).items()}
    if dataset := st.session_state.get("dataset_id"):
        wanted["dataset"] = str(dataset)
    ours = {*RENAMED, *st.session_state.get("_settings", {}), "dataset"}  # _settings: every shared setting's name
    for key in list(st.query_params):
        if key not in wanted and key in ours:
            with contextlib.suppress(StreamlitAPIException):  # bound to a widget: Streamlit's to keep
                del st.query_params[key]
    for key, value in wanted.items():
        if st.query_params.get_all(key) != [value]:
            st.query_params[key] = value
