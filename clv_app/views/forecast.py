"""The CLV forecast page's parts: the model and economics pickers, the headline, diagnostics and what-ifs."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from clv_app import memo, session
from clv_app.session import CHURN_STEPS
from clv_app.views.common import (
    CARD_WIDTH,
    cards,
    customer_columns,
    group_value_columns,
    interval_sentences,
    md,
    money,
    money_column,
    money_md,
    share_column,
    show_table,
    words,
)
from clv_core import charts, economics, forecast
from clv_core import sufficiency as suff
from clv_core.analysis import CHOICES, Analysis
from clv_core.currency import NONE
from clv_core.economics import Economics
from clv_core.errors import ClvError
from clv_core.models import MIN_CUSTOMERS, MIN_REPEAT_BUYERS, MODEL_LABELS


def model_pickers(analysis: Analysis) -> None:
    """The session's purchase model and time unit (every page's model numbers follow them)."""
    c1, c2 = st.columns(2)
    session.choose(
        c1.selectbox,
        "Purchase model (for every page)",
        "model",
        CHOICES,
        format_func=lambda k: session.model_label(k, analysis),
        help="Best on the holdout: BG/NBD, Pareto/NBD and MBG/NBD refitted on the first two thirds "
        "of the history and scored on what customers bought in the last third (the Model validation page's default "
        "test). Choosing a model here changes every page, the exports and the report.",
    )
    session.choose(
        c2.selectbox,
        "Model time unit",
        "unit",
        session.UNITS,
        help="The unit the model is fitted in. Money figures do not depend on it: horizons are converted.",
    )


def fit_diagnostics(fit, spend, comparison: pd.DataFrame, repeat_fit: pd.DataFrame | str, check) -> None:
    """One column, each table at the full width: side by side, the tables lost their last columns in a narrow
    window."""
    likelihood = (
        f"log-likelihood {fit.log_likelihood:,.1f}"
        if math.isfinite(fit.log_likelihood)
        else "no finite log-likelihood (the comparison says why)"
    )
    st.markdown(
        f"- **{MODEL_LABELS[fit.model]}** on {fit.customers:,} customers, rates per {fit.time_unit[:-1]}; "
        f"{likelihood}\n"
        f"- **Gamma–Gamma** on {spend.customers:,} repeat buyers; log-likelihood {spend.log_likelihood:,.1f}"
    )
    show_table(memo.of(_params, fit, spend), hide_index=True, width="stretch", column_config=_PARAM_COLUMNS)
    for note in (*fit.notes, *spend.notes):
        st.caption(note)
    st.markdown("**Model comparison** (lower AIC/BIC is better)")
    show_table(memo.of(_comparison_text, comparison), hide_index=True, width="stretch")
    if isinstance(repeat_fit, str):  # no such check for this model: the reason
        st.caption(repeat_fit)
    else:
        st.plotly_chart(memo.of(charts.repeat_purchases_chart, repeat_fit), width="stretch")
    (st.info if check.ok else st.warning)(check.sentence)


def _comparison_text(comparison: pd.DataFrame) -> pd.DataFrame:
    """The comparison with its figures as text: a fit without a finite log-likelihood reads "not finite" (its note
    says why), not a blank or "None"."""
    out = comparison.copy()
    for column in ("log-likelihood", "AIC", "BIC"):
        out[column] = [f"{v:,.1f}" if math.isfinite(v) else "not finite" for v in comparison[column]]
    return out


#: Model parameters span 0.0001 to 100s: four decimals, not two.
_PARAM_COLUMNS = {c: st.column_config.NumberColumn(format="%,.4f") for c in ("estimate", "standard error")}


def _params(*fits) -> pd.DataFrame:
    """The fits' parameters in one table: model, parameter, estimate, standard error."""
    return pd.concat(
        pd.DataFrame(
            {
                "model": MODEL_LABELS.get(fit.model, fit.model),
                "parameter": list(fit.params),
                "estimate": [float(v) for v in fit.params.values()],
                "standard error": [float(fit.standard_errors.get(k, math.nan)) for k in fit.params],
            }
        )
        for fit in fits
    ).reset_index(drop=True)


def sufficiency(gate) -> None:
    """Before the numbers: is the data enough, and how far ahead does it support a forecast."""
    show = {"enough": st.success, "thin": st.info, "too little": st.warning}[gate.verdict]
    show(gate.sentence, icon=":material/rule:")
    with st.expander("What the data has, check by check"):
        # a list, not a table: a collapsed section is still drawn, and a table above the cards made a first visit
        # from an empty browser cache wait for the table's scripts before showing them
        st.markdown("\n".join(f"- {md(c.name.capitalize())}: **{md(c.value)}**, {c.verdict}" for c in gate.checks))
        st.caption(
            f"Comfortable: {suff.CUSTOMERS[1]:,} customers, {suff.REPEAT_BUYERS[1]:,} repeat buyers, "
            f"{suff.HISTORY_MONTHS[1]} months of history, data ending within {suff.STALE_DAYS} days. These are "
            f"conventions for a forecast worth acting on; the models themselves need {MIN_CUSTOMERS} customers and "
            f"{MIN_REPEAT_BUYERS} repeat buyers."
        )


def clv_headline(result, *, extrapolated: bool = False) -> None:
    e = result.economics
    row = cards()
    row.metric(
        f"Base value ({e.horizon_months} mo{', extrapolated' if extrapolated else ''})",
        money(result.total_clv),
        border=True,
        width=CARD_WIDTH,
        help=f"Predicted discounted margin of today's customers over the next {e.horizon_months} months.",
    )
    row.metric("Average CLV per customer", money(result.mean_clv, cents=True), border=True, width=CARD_WIDTH)
    row.metric(
        "New-customer CLV",
        money(result.new_customer_clv, cents=True),
        border=True,
        width=CARD_WIDTH,
        help="Margin of the first order plus the expected repeat orders of a customer acquired today.",
    )
    if result.clv_to_cac is None:
        row.metric("CLV : CAC", "–", border=True, width=CARD_WIDTH, help="Enter a CAC to compare.")
        row.metric("Payback", "–", border=True)
        return
    good = result.clv_to_cac >= 3
    row.metric(
        "CLV : CAC",
        f"{result.clv_to_cac:.1f} : 1",
        delta="meets 3 : 1" if good else "below 3 : 1",
        delta_color="green" if good else "red",
        delta_arrow="off",
        border=True,
        width=CARD_WIDTH,
        help="New-customer CLV over CAC; 3 : 1 is the common rule of thumb.",
    )
    payback = "not within 60 months" if result.payback_months is None else f"{result.payback_months:.0f} months"
    row.metric(
        "Payback period",
        payback,
        border=True,
        width=CARD_WIDTH,
        help="First month in which a new customer's cumulative discounted margin covers the CAC.",
    )


def clv_by_segment(frame: pd.DataFrame, horizon_months: int, boot=None) -> None:
    st.markdown(f"**Predicted {horizon_months}-month value by RFM segment**")
    if boot is not None:
        interval_sentences(frame, "total_clv", horizon_months, boot.level)
    show_table(frame, width="stretch", column_config=group_value_columns(frame, horizon_months, boot))


def clv_histogram(result: economics.CLVScenario, *, currency=NONE):
    return charts.clv_histogram(
        result.customers["clv"], horizon_months=result.economics.horizon_months, currency=currency
    )


def p_alive_figure(base: economics.ForecastBase, summary, unit: str):
    """P(alive) does not depend on the economics sliders (other than churn, which makes another base)."""
    return charts.p_alive_heatmap(forecast.p_alive_grid(pd.DataFrame({"p_alive": base.p_alive}), summary), unit)


def value_by_segment(result: economics.CLVScenario, segments: pd.Series, boot=None) -> pd.DataFrame:
    """Shared through :mod:`clv_app.memo` without intervals; with them it is rebuilt (milliseconds), since a memo
    entry would keep the bootstrap's per-customer draws alive as long as the scenario."""
    if boot is None:
        return memo.of(_value_by_segment, result, segments)
    return _value_by_segment(result, segments, boot)


def _value_by_segment(result: economics.CLVScenario, segments: pd.Series, boot=None) -> pd.DataFrame:
    codes = memo.of(_segment_codes, result.base, segments)  # once per base (and gone with it), not per slider move
    return forecast.clv_by_group(result.customers, segments, boot=boot, codes=codes)


def _segment_codes(base: economics.ForecastBase, segments: pd.Series):
    return forecast.group_codes(segments, base.customer_id)


def predicted_vs_historical(result: economics.CLVScenario, *, currency=NONE):
    return charts.predicted_vs_historical(result.customers, currency=currency)


def discount_sensitivity(base: economics.ForecastBase, econ: Economics, *, currency=NONE):
    frame = economics.sensitivity_to_discount(base, econ)
    return charts.sensitivity_chart(frame, "annual discount rate", currency=currency)


def churn_sensitivity(base: economics.ForecastBase, econ: Economics, *others: economics.ForecastBase, currency=NONE):
    """``base`` and ``others`` are the bases for each of CHURN_STEPS, in order."""
    bases = dict(zip(CHURN_STEPS, (base, *others), strict=True))
    frame = economics.sensitivity_to_churn(bases, econ)
    return charts.sensitivity_chart(frame, "churn multiplier", percent=False, currency=currency)


def churn_what_if(base: economics.ForecastBase, econ: Economics, segments: pd.Series, *others) -> pd.DataFrame:
    """:func:`clv_core.forecast.churn_what_if` with ``base`` and ``others`` the bases of CHURN_STEPS, in order
    (positional, so :func:`clv_app.memo.of` keys on each)."""
    return forecast.churn_what_if(dict(zip(CHURN_STEPS, (base, *others), strict=True)), econ, segments)


def sensitivity(result, base_for) -> list:
    """The value as the discount rate and as churn vary; returns the forecast bases of CHURN_STEPS."""
    e = result.economics
    left, right = st.columns(2)
    money = session.currency()
    left.plotly_chart(memo.of(discount_sensitivity, base_for(e.churn_multiplier), e, currency=money), width="stretch")
    bases = [base_for(k) for k in CHURN_STEPS]
    right.plotly_chart(memo.of(churn_sensitivity, bases[0], e, *bases[1:], currency=money), width="stretch")
    return bases


def churn_by_segment(result, bases, segments: pd.Series) -> None:
    """What the churn multiplier does to each segment's value (the total alone hides who is at stake)."""
    e = result.economics
    what_if = memo.of(churn_what_if, bases[0], e, segments, *bases[1:])
    st.markdown(
        f"**Churn what-if by RFM segment**: {e.horizon_months}-month value as fitted and at ×{e.churn_multiplier:g}"
    )
    if e.churn_multiplier == 1:
        st.caption("Move the churn multiplier to see which segments gain or lose value.")
    show_table(
        what_if,
        width="stretch",
        column_config={
            **{c: money_column(words(c), cents=False) for c in what_if.columns[:2]},
            "change": money_column("Change", cents=False, signed=True),
            "change %": share_column("Change (%)"),
        },
    )


def top_customers(result, boot) -> None:
    top = (
        memo.of(forecast.top_customers, result.customers)
        if boot is None
        else forecast.top_customers(result.customers, boot)
    )
    caption = "Top 100 customers by predicted CLV."
    if boot is not None:
        caption = (
            md(
                forecast.interval_sentence(
                    "Customer base",
                    result.economics.horizon_months,
                    result.total_clv,
                    boot.total_interval(),
                    boot.level,
                    currency=session.currency(),
                )
            )
            + f" From {boot.resamples} refits{f' ({boot.failed} failed)' if boot.failed else ''}. "
            "Risk-adjusted CLV is each customer's 10th percentile."
        )
    st.markdown("**Top customers**")
    st.caption(caption)
    show_table(top, hide_index=True, width="stretch", column_config=customer_columns(result.economics.horizon_months))


def formula_views(tx, econ: Economics) -> None:
    """The textbook formulas on the data's retention and spend, at the page's margin and discount rate."""
    section = st.expander("Formula views: the textbook CLV formulas on this data", on_change="rerun", key="fc-formulas")
    if not section.open:  # filled once opened (a rerun of the what-if part)
        return
    with section:
        try:
            inputs = memo.of(economics.formula_inputs, tx.data, tx.observation_end)
        except ClvError as exc:
            st.info(str(exc))
            return
        margin, rate = econ.gross_margin, econ.annual_discount_rate
        st.caption(md(inputs.sentence) + f" Buyers spent {money_md(inputs.revenue_per_year, cents=True)} a year.")
        formulas = memo.of(economics.formula_table, inputs, margin, rate)
        show_table(formulas, hide_index=True, width="stretch", column_config={"CLV per customer": money_column("")})
        st.caption(
            f"Every input per year: m = margin per year ({money_md(inputs.revenue_per_year * margin, cents=True)}), "
            "r = yearly "
            f"retention ({inputs.retention:.1%}), c = yearly churn (1 − r), d = annual discount rate ({rate:.0%}), "
            "t in years."
        )
