"""The Survival page's parts: the headline, Kaplan–Meier tables, the model's curve, Cox, parametric fits and
survival-based CLV."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clv_app import memo
from clv_app.views.common import CARD_WIDTH, cards, md, model_line, money, money_column, share_column, show_table, steps
from clv_core import charts, survival
from clv_core.analysis import Analysis
from clv_core.errors import ClvError


def implied_survival(analysis: Analysis, km) -> tuple[str, pd.DataFrame] | None:
    """The survival the session's purchase model implies, over the Kaplan–Meier chart's range, named for the
    legend; None (with a note) when the model cannot be fitted on this data."""
    try:
        with steps("Fitting the purchase model", ("implied-survival", analysis.key, analysis.choice)) as step:
            step("Choosing the purchase model (the most accurate on a holdout period, unless one was chosen)…")
            decision = analysis.decision()
            step(f"Fitting {decision.label}…")
            longest = max(float(c.curve["timeline"].max()) for c in km.curves)
            curve = analysis.implied_survival(longest)
    except ClvError as exc:
        st.info(f"No model curve: {exc}", icon=":material/info:")
        return None
    model_line(analysis)
    return decision.label, curve


def implied_survival_note(km, implied: tuple[str, pd.DataFrame], inactivity_days: int) -> None:
    """How the model's curve and the Kaplan–Meier curves compare at one year (or the end of the data), and why they
    may differ."""
    name, curve = implied
    day, model_share, observed = memo.of(survival.model_against_curves, km, curve)
    counted = "; ".join(f"{md(group)} {share:.0%}" for group, share in observed.items())
    st.markdown(
        f"After {day:,.0f} days: **{name}** says {model_share:.0%} of customers have not dropped out; Kaplan–Meier "
        f"counts {counted} still customers."
    )
    st.caption(
        f"The Kaplan–Meier curves count a customer as lost after {inactivity_days} days without a purchase; the "
        "model knows quiet customers may still buy, so where its curve is higher, customers are quiet rather than "
        "gone. It is one curve for everyone: the model expects every acquisition cohort and segment to start alike, "
        "so the curves of the groups show where they differ from it. BG/NBD assumes nobody leaves before a second "
        "purchase, MBG/NBD lets one-time buyers leave at once."
    )


#: The two ways a churned customer's lifetime can end (the Survival page's choice; the first is the default).
LIFETIME_ENDS = ("When the churn is recognised", "At the last purchase")


def survival_summary(data, overall) -> None:
    """The headline: customers, churned, the median lifetime with its definition beside it, one-time buyers apart,
    and the sentence that says what those mean together (``overall``: the all-customers Kaplan–Meier result)."""
    t = data.table
    head = memo.of(survival.lifetime_headline, data, overall.curves[0])
    with cards():
        st.metric("Customers", f"{len(t):,}", width=CARD_WIDTH)
        st.metric("Churned", f"{t['churned'].mean():.1%}", width=CARD_WIDTH)
        st.metric(
            "Median lifetime",
            survival.duration_words(head.median_days),
            help=f"Half the customers stayed longer. Lifetime: {head.lifetime_end}; a customer still buying counts "
            "to the end of the data.",
            width=CARD_WIDTH,
        )
        st.metric(
            "Bought once, churned",
            f"{head.one_time_churned:.1%}",
            help="Customers who bought on one day only and have been quiet longer than the churn window.",
            width=CARD_WIDTH,
        )
        st.metric("Observed to", str(data.observation_end.date()), width=CARD_WIDTH)
    st.markdown(f"{head.sentence} Lifetime: {head.lifetime_end}.")
    if data.floored:
        st.caption(f"{data.floored:,} lifetimes shorter than one day were set to one day (lifetimes must be positive).")


def km_tables(km) -> None:
    left, right = st.columns([1, 2])
    medians = memo.of(survival.median_table, km)
    left.markdown("**Median lifetime** (not reached: more than half are still customers)")
    show_table(medians, where=left, width="stretch")
    right.markdown("**Customers still at risk** (observed and not yet churned)")
    show_table(km.at_risk, where=right, width="stretch")


def cox_result(result) -> None:
    c1, c2 = st.columns(2)
    c1.metric(
        "Concordance",
        f"{result.concordance:.3f}",
        help="0.5: no better than chance at ordering who leaves first; 1: perfect.",
    )
    c2.metric("Penalizer", f"{result.penalizer:g}")
    st.plotly_chart(memo.of(charts.forest_plot, result.summary), width="stretch")
    st.markdown(md(result.ph_sentence))
    for note in result.notes:
        st.caption(note)
    show_table(
        result.summary,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in result.summary.columns},
    )


def parametric_result(result) -> None:
    best = result.table.iloc[0]
    st.markdown(
        f"**{md(result.best)}** fits best (lowest AIC): median lifetime {best['median (days)']:,.0f} days; "
        f"within {int(result.horizon_days)} days a new customer stays {best.iloc[3]:,.0f} days on average."
    )
    show_table(result.table, hide_index=True, width="stretch")


def survival_clv_result(value) -> None:
    c1, c2 = st.columns(2)
    c1.metric(f"Expected revenue per new customer, {value.horizon_months} months", money(value.value, cents=True))
    c2.metric("Revenue per active customer-month", money(value.revenue_per_active_month, cents=True))
    st.caption(
        f"Σ over months of survival × revenue per active month, discounted at {value.annual_discount_rate:.0%} a year "
        f"({(1 + value.annual_discount_rate) ** (1 / 12) - 1:.3%} a month)."
    )
    show_table(
        value.monthly,
        hide_index=True,
        width="stretch",
        column_config={
            "month": st.column_config.NumberColumn("Month ahead", format="%,d"),
            "survival": share_column("Still a customer"),
            "expected revenue": money_column("Expected revenue per new customer"),
        },
    )
