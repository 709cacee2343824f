"""The Overview page's parts: KPI cards and the customer base's predicted value."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clv_app import memo, session
from clv_app.views.common import (
    CARD_WIDTH,
    bootstrap,
    cards,
    format_value,
    md,
    model_line,
    money,
    money_md,
    show_table,
    steps,
)
from clv_core import charts
from clv_core.analysis import Analysis
from clv_core.errors import ClvError
from clv_core.names import EQUITY_MAX_YEARS, EQUITY_YEARS

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


def customer_equity(analysis: Analysis) -> None:
    """What the customer base is worth (:mod:`clv_core.equity`) under the session's model and economics: the
    cards, the bridge from today's customers to the equity, and the four sensitivities."""
    econ = session.economics()
    years = (
        st.segmented_control(
            "Years valued",
            tuple(range(1, EQUITY_MAX_YEARS + 1)),
            default=EQUITY_YEARS,
            key="equity-years",
            bind="query-params",
        )
        or EQUITY_YEARS
    )
    try:
        with steps("Valuing the customer base", ("equity", analysis.key, analysis.choice)) as step:
            step("Choosing and fitting the purchase model (once per dataset)…")
            analysis.decision()
            step(f"Valuing today's customers over {years} years and the customers the monthly cohorts say will come…")
            result = analysis.equity(econ, years)
    except ClvError as exc:
        st.info(f"No customer equity: {exc}", icon=":material/info:")
        return
    # two rows of two fixed-width cards (as the KPI cards): four columns cut the amounts at 800 px
    top, bottom = cards(), cards()
    with top:
        st.metric(
            f"Customer equity, {years} yr",
            money(result.customer_equity),
            border=True,
            width=CARD_WIDTH,
            help="Current customers' value plus future customers' value, less what acquiring them costs.",
        )
        st.metric(
            "Current customers",
            money(result.current_customers_value),
            border=True,
            width=CARD_WIDTH,
            help=f"The CLV forecast's base value over {result.months} months: {result.current_customers:,} customers.",
        )
    with bottom:
        st.metric(
            "Future customers",
            money(result.future_customers_value),
            border=True,
            width=CARD_WIDTH,
            help=f"{result.acquisitions.per_month:,.1f} new customers a month, each worth "
            f"{money(result.new_customer_clv)} over {result.months} months when acquired today, valued from the "
            "month they are acquired to the horizon.",
        )
        st.metric(
            "Acquisition cost",
            money(-result.acquisition_cost),
            border=True,
            width=CARD_WIDTH,
            help=f"{money(result.cac)} per new customer (the CAC on the CLV forecast page), discounted.",
        )
    st.plotly_chart(memo.of(charts.equity_bridge_chart, result, currency=session.currency()), width="stretch")
    st.caption(
        md(
            f"{result.acquisitions.sentence} Discounted at {econ.annual_discount_rate:.0%} a year (the corporate "
            f"rate: the CLV forecast page's discount rate), {econ.gross_margin:.0%} gross margin, churn "
            f"×{econ.churn_multiplier:g}. After Gupta, Lehmann & Stuart (2004)."
            + "".join(f" {note}" for note in result.notes)
        )
    )
    st.markdown("**What moves it**")
    show_table(memo.of(_sensitivities, result, session.currency()), hide_index=True)


def _sensitivities(result, currency):
    """The sensitivities as they read: amounts and shares written out with their sign (a minus before the
    currency's symbol, as on the cards), since a number column would write ``$-26,567``."""
    table = result.sensitivity_table()
    return pd.DataFrame(
        {
            "Change": table["change"],
            "Equity change": [currency.amount(v) for v in table["equity change"]],
            "Share of equity": [f"{v:+.2%}".replace("-", "−") for v in table["share of equity"]],
        }
    )
