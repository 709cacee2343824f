"""Shareable views: a page's filters and slider values live in its URL, so a link opens the same view.

The page is the URL's path (``/forecast``); its settings are the query string (``?horizon=24&rate=0.2``).
When a session starts, the query string it was opened with is read once (:func:`start`), and each widget takes
its starting value from it (:func:`initial`). Reading it once keeps each widget's default constant for the
session (Streamlit would otherwise see a new widget each time the URL changed and reset it). After the widgets
run, the page writes their current values back (:func:`publish`), so the address bar always holds the view.

A link carries settings, never data: it opens on the dataset the recipient has loaded. A mangled or out-of-range
value in a link is ignored for that setting (the default is used), never an error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import streamlit as st

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
    """Remember the query string this session was opened with (once per session), old names read as new."""
    if _OPENED_WITH not in st.session_state:
        opened = {k: st.query_params.get_all(k) for k in st.query_params}
        for old, new in RENAMED.items():
            if old in opened:
                opened.setdefault(new, opened.pop(old))
        st.session_state[_OPENED_WITH] = opened


def _decode(raw: list[str], default: Any) -> Any:
    """``raw`` (the link's values for one key) as the type of ``default``.

    >>> _decode(["24"], 12), _decode(["0.2"], 0.1), _decode(["1"], False), _decode(["a", "b"], [])
    (24, 0.2, True, ['a', 'b'])
    >>> _decode(["0.5", "2"], (0.0, 1.0)), _decode(["2024-03-01"], dt.date(2024, 1, 1))
    ((0.5, 2.0), datetime.date(2024, 3, 1))
    """
    if isinstance(default, bool):
        if raw[0] not in ("1", "0", "true", "false"):
            raise ValueError(raw[0])
        return raw[0] in ("1", "true")
    if isinstance(default, (list, tuple)) and not isinstance(default, str):
        if isinstance(default, tuple):
            kind = type(default[0]) if default else str
            return tuple(kind(v) for v in raw)
        return list(raw)
    if isinstance(default, dt.date):
        return dt.date.fromisoformat(raw[0])
    if default is None:
        return raw[0]
    return type(default)(raw[0])


def initial(
    key: str,
    default: Any,
    *,
    options: Sequence | None = None,
    bounds: tuple[Any, Any] | None = None,
) -> Any:
    """The starting value of widget ``key``: from the link the session was opened with, else ``default``.

    ``options`` (a select widget's choices) and ``bounds`` (a slider's or number input's range) reject values the
    widget could not show; then ``default`` is used.
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
        if isinstance(value, list):
            value = [options[allowed.index(v)] for v in value if v in allowed]
        elif str(value) in allowed:
            value = options[allowed.index(str(value))]
        else:
            return default
    if bounds is not None:
        lo, hi = bounds
        values = value if isinstance(value, tuple) else (value,)
        if not all(lo <= v <= hi for v in values):
            return default
    return value


def ranged(widget, label: str, lo, hi, default, *args, key: str, **kwargs):
    """A slider or number input (``widget``, e.g. ``st.slider`` or ``column.number_input``) on ``lo`` … ``hi``
    starting from the link's value for ``key`` when it is in range, else ``default``."""
    return widget(label, lo, hi, initial(key, default, bounds=(lo, hi)), *args, key=key, **kwargs)


def choose(widget, label: str, options: Sequence, default, *, key: str, **kwargs):
    """A selectbox (``widget``) on ``options`` starting from the link's choice for ``key``, else ``default``."""
    return widget(label, options, index=list(options).index(initial(key, default, options=options)), key=key, **kwargs)


def switch(widget, label: str, default: bool = False, *, key: str, **kwargs) -> bool:
    """A toggle or checkbox (``widget``, e.g. ``st.toggle``) starting from the link's value for ``key``."""
    return widget(label, value=initial(key, default), key=key, **kwargs)


def _encode(value: Any) -> list[str] | str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]  # type: ignore[misc]
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def publish(keys: Iterable[str]) -> None:
    """Write the current values of widgets ``keys`` into the URL (only those; other pages' settings go), the
    settings every page shares where they differ from the defaults (model, time unit, economics: kept by
    :mod:`clv_app.session` in ``_settings_link``), and the active dataset's workspace id when it is kept there
    (``dataset``: a refresh reopens it)."""
    params = {}
    if dataset := st.session_state.get("dataset_id"):
        params["dataset"] = dataset
    for key, value in st.session_state.get("_settings_link", {}).items():
        params[key] = _encode(value)
    for key in keys:
        if key in st.session_state:
            encoded = _encode(st.session_state[key])
            if encoded is not None and encoded != []:
                params[key] = encoded
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    wanted = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    if current != wanted:
        st.query_params.from_dict(params)
