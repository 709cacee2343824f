"""The session's analysis: the active dataset with the choices every page shares.

One model decision, one time unit and one set of economics (discount rate, churn multiplier, horizon, margin,
CAC) per session: the Overview's value, the CLV forecast, the Segments page and its exports, Survival's model
curve and survival-based CLV, the Cohorts page's forecast cells and the report all read them, so a number two
pages show is the same number. (The Cohorts forecast cells and Survival's model curve show the model as fitted,
churn ×1: they set the model beside what the data shows, not beside a what-if.) The choices are made on the CLV
forecast page (the economics also on the Segments and Survival pages, the time unit on the Model validation page)
and kept in ``_settings``, not in widget keys (Streamlit forgets a widget's value when its page is left). They
start from the link the session was opened with (:mod:`clv_app.links`), and every page's address carries those
that differ from the defaults (``_settings_link``, read by :func:`clv_app.links.publish`).

Pages ask :func:`analysis` for results: a :class:`clv_core.analysis.Analysis` whose steps are kept in the app's
shared store (:mod:`clv_app.cache`), so every session on the same dataset and choices shares them.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from clv_app import cache, links, memo, sources, warmup
from clv_core import currency as currency_
from clv_core.analysis import AUTO, CHOICES, Analysis
from clv_core.economics import MAX_MONTHS, Economics
from clv_core.errors import ClvError
from clv_core.models import MODEL_LABELS
from clv_core.samples import SAMPLES
from clv_core.summary import TIME_UNITS

CHURN_STEPS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
UNITS = ("weeks", "days", "months")
#: Each shared setting: its default and what a link may set it to (options, or a range).
SETTINGS: dict[str, tuple[Any, dict]] = {
    "model": (AUTO, {"options": CHOICES}),
    "unit": ("weeks", {"options": UNITS}),
    "rate": (0.10, {"bounds": (0.0, 0.30)}),
    "churn": (1.0, {"options": CHURN_STEPS}),
    "horizon": (12, {"bounds": (1, MAX_MONTHS)}),
    "margin": (0.30, {"bounds": (0.05, 1.0)}),
    "cac": (25.0, {"bounds": (0.0, 100_000.0)}),
}
ECONOMICS_KEYS = ("rate", "churn", "horizon", "margin", "cac")
_SETTINGS = "_settings"
_LINK = "_settings_link"
CHOSEN_IN = "chosen on the CLV forecast page, or in the link"
assert set(UNITS) == set(TIME_UNITS)


def settings() -> dict[str, Any]:
    """This session's shared settings (from the link it was opened with, else the defaults, on first use)."""
    chosen = st.session_state.get(_SETTINGS)
    if chosen is None:
        chosen = {name: links.initial(name, default, **allowed) for name, (default, allowed) in SETTINGS.items()}
        st.session_state[_SETTINGS] = chosen
        _publishable(chosen)
    return chosen


def _publishable(chosen: dict[str, Any]) -> None:
    st.session_state[_LINK] = {k: v for k, v in chosen.items() if v != SETTINGS[k][0]}


def _keep(name: str) -> None:
    """A widget's on_change: its new value becomes the session's setting."""
    chosen = settings()
    chosen[name] = st.session_state[name]
    _publishable(chosen)


def set_setting(name: str, value) -> None:
    """Set shared setting ``name`` for every page (within its bounds), as if its widget had been moved."""
    low, high = SETTINGS[name][1].get("bounds", (value, value))
    chosen = settings()
    chosen[name] = min(max(value, low), high)
    st.session_state.pop(name, None)  # a widget of that key drawn earlier starts from the setting again
    _publishable(chosen)


def choose(widget, label: str, name: str, *args, **kwargs):
    """A widget (``st.slider``, ``column.selectbox`` …) bound to shared setting ``name``: it starts from the
    session's value and changes it for every page. ``args`` follow the label (a slider's range, a selectbox's
    options); the value goes where the widget takes it."""
    value = settings()[name]
    if "options" in SETTINGS[name][1] and widget.__name__ == "selectbox":
        kwargs["index"] = list(args[0]).index(value)
    else:
        kwargs["value"] = value
    return widget(label, *args, key=name, on_change=_keep, args=(name,), **kwargs)


def economics() -> Economics:
    """The session's economics, as the sliders set them (or the defaults)."""
    s = settings()
    return Economics(
        annual_discount_rate=s["rate"],
        gross_margin=s["margin"],
        horizon_months=s["horizon"],
        churn_multiplier=s["churn"],
        cac=s["cac"],
    )


def analysis() -> Analysis:
    """The active dataset's analysis under this session's model choice and time unit."""
    s = settings()
    made = Analysis(sources.ensure_dataset(), model=s["model"], time_unit=s["unit"], memo=_MEMO, chosen_in=CHOSEN_IN)
    warmup.start(made, CHURN_STEPS)  # once per dataset and settings: the model pages' heavy work, in the background
    return made


def prepare_default() -> None:
    """Prepare the default sample's analysis under the default settings, as a fresh session would ask for it, on
    no session's behalf (the server, as it starts: :mod:`clv_app.serve`); nothing when preparation is off."""
    if not warmup.enabled():
        return
    with cache.acting_for("the server"):
        model, unit = SETTINGS["model"][0], SETTINGS["unit"][0]
        made = Analysis(sources.default_sample(), model=model, time_unit=unit, memo=_MEMO, chosen_in=CHOSEN_IN)
        warmup.start(made, CHURN_STEPS)


_CURRENCIES = "_currencies"  # dataset content hash -> the currency code chosen on the Data page


def detected_currency(transactions) -> currency_.Currency:
    """What a dataset's own data says its currency is: symbols or codes in the amounts, a currency column with one
    code, or a bundled sample's known currency; :data:`clv_core.currency.NONE` when nothing says."""
    found = currency_.detect(transactions.report.currencies, list(transactions.report.currency_codes))
    kind, key = sources.current_source()
    if not found.known and kind == "sample" and transactions is sources.current():
        return currency_.from_code(SAMPLES[key].currency)
    return found


def currency(transactions=None) -> currency_.Currency:
    """The currency the active dataset's (or ``transactions``') money is written in: the Data page's choice for it,
    else what its data says."""
    transactions = transactions if transactions is not None else sources.ensure_dataset()
    chosen = st.session_state.get(_CURRENCIES, {}).get(transactions.content_hash)
    if chosen is not None:
        return currency_.from_code(chosen)
    return detected_currency(transactions)


def choose_currency(transactions, code: str) -> None:
    """Keep ``code`` ("" for not stated) as the currency of ``transactions`` for this session."""
    st.session_state.setdefault(_CURRENCIES, {})[transactions.content_hash] = code


def summary(transactions, time_unit: str):
    """A dataset's per-customer summary (the Data page's preview, and the first step of its analysis)."""
    return Analysis(transactions, time_unit=time_unit, memo=_MEMO).summary()


def model_label(choice: str, analysis_: Analysis | None = None) -> str:
    """How the model picker names a choice ("Best on the holdout (MBG/NBD)" for auto, once known)."""
    if choice != AUTO:
        return MODEL_LABELS[choice]
    name = "Best on the holdout"
    if analysis_ is not None and analysis_.choice == AUTO:
        try:
            return f"{name} ({analysis_.decision().label})"
        except ClvError:
            pass
    return name


_MEMO = memo.AnalysisMemo()
