"""The Overview page's parts: KPI cards and the customer base's predicted value."""

from __future__ import annotations

import streamlit as st

from clv_app import session
from clv_app.views.common import CARD_WIDTH, bootstrap, cards, format_value, model_line, money, money_md, steps
from clv_core.analysis import Analysis
from clv_core.errors import ClvError

#: The refits behind the Overview's interval (the CLV forecast page's 30-resample setting: shared with it).
RESAMPLES = 30


def kpi_cards(window) -> None:
    """KPI cards with the change against the previous window (none when there is no previous window). An arrow
    only where the number could have gone either way and did move: customers to date say how many were added, in
    grey; a value the same in both windows (a repeat rate of 100 % twice) says "unchanged", in grey."""
    with cards():
        for kpi in window.kpis:
            delta, colour = kpi_delta(kpi)
            st.metric(
                kpi.name,
                format_value(kpi.value, kpi.unit),
                delta=delta,
                delta_color=colour,
                delta_arrow="auto" if colour == "normal" else "off",
                help=kpi.help,
                border=True,
                width=CARD_WIDTH,
            )


def kpi_delta(kpi) -> tuple[str | None, str]:
    """(the delta text, Streamlit's delta colour) of a KPI card."""
    if kpi.added is not None:
        return (f"+{kpi.added:,.0f} new" if kpi.added else "no new customers"), "off"
    if kpi.change is None:
        return None, "normal"
    if kpi.value == kpi.previous:
        return "unchanged", "off"
    return f"{kpi.change:+.1%}", "normal"


def base_value(analysis: Analysis) -> None:
    """The customer base's predicted value with its bootstrap interval, under the session's model and economics:
    the CLV forecast page's headline figure, the same number."""
    econ = session.economics()
    try:
        with steps("Forecasting the customer base", ("base-value", analysis.key, analysis.choice)) as step:
            step("Choosing the purchase model (the most accurate on a holdout period, unless one was chosen)…")
            decision = analysis.decision()
            step(f"Fitting {decision.label} and Gamma–Gamma, then {RESAMPLES} refits on resampled customers…")
            result = analysis.scenario(econ)
            boot = bootstrap(analysis, econ, RESAMPLES)
    except ClvError as exc:
        st.info(f"No forecast of the customer base's value: {exc}", icon=":material/info:")
        return
    lo, hi = boot.total_interval()
    extrapolated = analysis.sufficiency().extrapolates(econ.horizon_months)
    st.metric(
        f"Customer-base value, next {econ.horizon_months} months" + (" (extrapolated)" if extrapolated else ""),
        money(result.total_clv),
        border=True,
        width=2 * CARD_WIDTH,
        help="Predicted discounted margin of today's customers: the CLV forecast page's base value.",
    )
    right = st.container()
    right.markdown(
        f"{boot.level * 100:.0f} % interval **{money_md(lo)} – {money_md(hi)}** ({boot.resamples} bootstrap refits); "
        f"{econ.gross_margin:.0%} gross margin, {econ.annual_discount_rate:.0%} annual discount rate, churn "
        f"×{econ.churn_multiplier:g}: set on the CLV forecast page."
        + (
            f" {econ.horizon_months} months is past the {analysis.sufficiency().supported_months} months of history: "
            "beyond that the forecast is extrapolation."
            if extrapolated
            else ""
        )
    )
    model_line(analysis, where=right)
