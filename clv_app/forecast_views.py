"""Renderers for the CLV forecast page. Numbers come from clv_core; this module only lays them out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from clv_app import links, memo, state, views
from clv_app.views import md
from clv_core import charts, contractual, economics, forecast
from clv_core import sufficiency as suff
from clv_core.economics import CHURN_MEANING, MAX_MONTHS, Economics
from clv_core.errors import ClvError
from clv_core.models import MIN_CUSTOMERS, MIN_REPEAT_BUYERS, MODEL_LABELS

CHURN_STEPS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
#: The what-if inputs a shared link carries (see clv_app.links).
ECONOMICS_KEYS = ("fc-rate", "fc-churn", "fc-horizon", "fc-margin", "fc-cac")


def fit_diagnostics(fit, spend, comparison: pd.DataFrame, repeat_fit: pd.DataFrame | str, check) -> None:
    left, right = st.columns(2)
    with left:
        st.markdown(
            f"**{MODEL_LABELS[fit.model]}** on {fit.customers:,} customers, rates per {fit.time_unit[:-1]}; "
            f"log-likelihood {fit.log_likelihood:,.1f}"
        )
        st.dataframe(memo.of(_params, fit), width="stretch")
        st.markdown(f"**Gamma–Gamma** on {spend.customers:,} repeat buyers; log-likelihood {spend.log_likelihood:,.1f}")
        st.dataframe(memo.of(_params, spend), width="stretch")
        for note in (*fit.notes, *spend.notes):
            st.caption(note)
    with right:
        st.markdown("**Model comparison** (lower AIC/BIC is better)")
        st.dataframe(
            comparison,
            hide_index=True,
            width="stretch",
            column_config={c: st.column_config.NumberColumn(format="%.1f") for c in ("log-likelihood", "AIC", "BIC")},
        )
        if isinstance(repeat_fit, str):  # no such check for this model: the reason
            st.caption(repeat_fit)
        else:
            st.plotly_chart(memo.of(charts.repeat_purchases_chart, repeat_fit), width="stretch")
    (st.info if check.ok else st.warning)(check.sentence)


def _params(fit) -> pd.DataFrame:
    return pd.DataFrame({"estimate": fit.params, "standard error": fit.standard_errors}).rename_axis("parameter")


def economics_sliders(model: str) -> Economics:
    c = st.columns(5)
    rate = links.ranged(c[0].slider, "Annual discount rate", 0.0, 0.30, 0.10, 0.01, format="%.2f", key="fc-rate")
    churn = c[1].select_slider(
        "Churn multiplier",
        CHURN_STEPS,
        value=links.initial("fc-churn", 1.0, options=CHURN_STEPS),
        key="fc-churn",
        help=f"For {MODEL_LABELS[model]} it {CHURN_MEANING[model]}.",
    )
    horizon = links.ranged(c[2].slider, "Horizon (months)", 1, MAX_MONTHS, 12, key="fc-horizon")
    margin = links.ranged(c[3].slider, "Gross margin", 0.05, 1.0, 0.30, 0.05, format="%.2f", key="fc-margin")
    cac = links.ranged(c[4].number_input, "CAC per customer", 0.0, 100_000.0, 25.0, step=1.0, key="fc-cac")
    econ = Economics(
        annual_discount_rate=rate, gross_margin=margin, horizon_months=horizon, churn_multiplier=churn, cac=cac
    )
    st.caption(f"{econ.discount_sentence()} Churn ×{churn:g}: it {CHURN_MEANING[model]}.")
    return econ


def sufficiency(gate) -> None:
    """Before the numbers: is the data enough, and how far ahead does it support a forecast."""
    show = {"enough": st.success, "thin": st.info, "too little": st.warning}[gate.verdict]
    show(gate.sentence, icon=":material/rule:")
    with st.expander("What the data has, check by check"):
        st.dataframe(
            pd.DataFrame(
                [(c.name, c.value, c.verdict) for c in gate.checks], columns=["check", "this data", "verdict"]
            ),
            hide_index=True,
            width="stretch",
        )
        st.caption(
            f"Comfortable: {suff.CUSTOMERS[1]:,} customers, {suff.REPEAT_BUYERS[1]:,} repeat buyers, "
            f"{suff.HISTORY_MONTHS[1]} months of history, data ending within {suff.STALE_DAYS} days. These are "
            f"conventions for a forecast worth acting on; the models themselves need {MIN_CUSTOMERS} customers and "
            f"{MIN_REPEAT_BUYERS} repeat buyers."
        )


def clv_headline(result, *, extrapolated: bool = False) -> None:
    e = result.economics
    c = st.columns(5)
    c[0].metric(
        f"Base value ({e.horizon_months} mo{', extrapolated' if extrapolated else ''})",
        f"{result.total_clv:,.0f}",
        border=True,
        help=f"Predicted discounted margin of today's customers over the next {e.horizon_months} months.",
    )
    c[1].metric("Average CLV per customer", f"{result.mean_clv:,.2f}", border=True)
    c[2].metric(
        "New-customer CLV",
        f"{result.new_customer_clv:,.2f}",
        border=True,
        help="Margin of the first order plus the expected repeat orders of a customer acquired today.",
    )
    if result.clv_to_cac is None:
        c[3].metric("CLV : CAC", "–", border=True, help="Enter a CAC to compare.")
        c[4].metric("Payback", "–", border=True)
        return
    good = result.clv_to_cac >= 3
    c[3].metric(
        "CLV : CAC",
        f"{result.clv_to_cac:.1f} : 1",
        delta="meets 3 : 1" if good else "below 3 : 1",
        delta_color="green" if good else "red",
        delta_arrow="off",
        border=True,
        help="New-customer CLV over CAC; 3 : 1 is the common rule of thumb.",
    )
    payback = "not within 60 months" if result.payback_months is None else f"{result.payback_months:.0f} months"
    c[4].metric(
        "Payback period",
        payback,
        border=True,
        help="First month in which a new customer's cumulative discounted margin covers the CAC.",
    )


def clv_by_segment(table: pd.DataFrame, horizon_months: int, boot=None) -> None:
    st.markdown(f"**Predicted {horizon_months}-month value by RFM segment**")
    if boot is not None:
        views.interval_sentences(table, "total_clv", horizon_months, boot.level)
    st.dataframe(
        table,
        width="stretch",
        column_config={
            "customers": st.column_config.NumberColumn("customers", format="%d"),
            "total_clv": st.column_config.NumberColumn(f"total CLV ({horizon_months} mo)", format="%.0f"),
            "mean_clv": st.column_config.NumberColumn(f"mean CLV ({horizon_months} mo)", format="%.2f"),
            "mean_p_alive": st.column_config.NumberColumn("mean P(alive) now", format="%.2f"),
            "share of value": st.column_config.NumberColumn(format="percent"),
            **views.interval_columns(boot, horizon_months),
        },
    )


# Tables and figures of one scenario (shared by every session through clv_app.memo: module-level functions).


def clv_histogram(result: economics.CLVScenario):
    return charts.clv_histogram(result.customers["clv"], horizon_months=result.economics.horizon_months)


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
    return forecast.clv_by_group(result.customers, segments, boot=boot)


def predicted_vs_historical(result: economics.CLVScenario):
    return charts.predicted_vs_historical(result.customers)


def discount_sensitivity(base: economics.ForecastBase, econ: Economics):
    return charts.sensitivity_chart(economics.sensitivity_to_discount(base, econ), "annual discount rate")


def churn_sensitivity(base: economics.ForecastBase, econ: Economics, *others: economics.ForecastBase):
    """``base`` and ``others`` are the bases for each of CHURN_STEPS, in order."""
    bases = dict(zip(CHURN_STEPS, (base, *others), strict=True))
    return charts.sensitivity_chart(economics.sensitivity_to_churn(bases, econ), "churn multiplier", percent=False)


def churn_what_if(base: economics.ForecastBase, econ: Economics, segments: pd.Series, *others) -> pd.DataFrame:
    """Value per segment as fitted and at the chosen churn multiplier; ``base`` and ``others`` as in
    :func:`churn_sensitivity`."""
    bases = dict(zip(CHURN_STEPS, (base, *others), strict=True))
    table = forecast.churn_by_group(bases, econ, segments)
    k = econ.churn_multiplier
    out = pd.DataFrame({"as fitted (×1)": table[1.0], f"at churn ×{k:g}": table[k]})
    out["change"] = out.iloc[:, 1] - out.iloc[:, 0]
    out["change %"] = out["change"] / out.iloc[:, 0].where(out.iloc[:, 0] != 0)
    return out.rename_axis("segment")


def top_table(result: economics.CLVScenario, boot) -> pd.DataFrame:
    table = result.customers
    if boot is not None:
        table = table.assign(clv_lower=boot.lower, clv_upper=boot.upper, clv_risk_adjusted=boot.risk_adjusted)
    return table.nlargest(100, "clv")


def sensitivity(result, base_for) -> list:
    """The value as the discount rate and as churn vary; returns the forecast bases of CHURN_STEPS."""
    e = result.economics
    left, right = st.columns(2)
    left.plotly_chart(memo.of(discount_sensitivity, base_for(e.churn_multiplier), e), width="stretch")
    bases = [base_for(k) for k in CHURN_STEPS]
    right.plotly_chart(memo.of(churn_sensitivity, bases[0], e, *bases[1:]), width="stretch")
    return bases


def churn_by_segment(result, bases, segments: pd.Series) -> None:
    """What the churn multiplier does to each segment's value (the total alone hides who is at stake)."""
    e = result.economics
    table = memo.of(churn_what_if, bases[0], e, segments, *bases[1:])
    st.markdown(
        f"**Churn what-if by RFM segment**: {e.horizon_months}-month value as fitted and at ×{e.churn_multiplier:g}"
    )
    if e.churn_multiplier == 1:
        st.caption("Move the churn multiplier to see which segments gain or lose value.")
    st.dataframe(
        table,
        width="stretch",
        column_config={
            **{c: st.column_config.NumberColumn(format="%.0f") for c in table.columns[:3]},
            "change %": st.column_config.NumberColumn(format="percent"),
        },
    )


def top_customers(result, boot) -> None:
    table = memo.of(top_table, result, None) if boot is None else top_table(result, boot)
    caption = "Top 100 customers by predicted CLV."
    if boot is not None:
        caption = (
            forecast.interval_sentence(
                "Customer base", result.economics.horizon_months, result.total_clv, boot.total_interval(), boot.level
            )
            + f" From {boot.resamples} refits{f' ({boot.failed} failed)' if boot.failed else ''}. "
            "Risk-adjusted CLV is each customer's 10th percentile."
        )
    st.markdown("**Top customers**")
    st.caption(caption)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config=views.customer_columns(result.economics.horizon_months),
    )


def formula_views(tx) -> None:
    with st.expander("Formula views: the textbook CLV formulas on this data"):
        try:
            inputs = memo.of(economics.formula_inputs, tx.data, tx.observation_end)
        except ClvError as exc:
            st.info(str(exc))
            return
        c1, c2 = st.columns(2)
        margin = c1.slider("Margin", 0.05, 1.0, 0.30, 0.05, key="fv-margin")
        rate = c2.slider("Annual discount rate ", 0.0, 0.30, 0.10, 0.01, key="fv-rate")
        m, r = inputs.revenue_per_year * margin, inputs.retention
        st.caption(md(inputs.sentence))
        years = np.arange(1, 6)
        rows = [
            (
                "Simple retention CLV",
                "m · r / (1 + d − r)",
                economics.simple_retention_clv(margin_per_period=m, retention=r, discount_rate=rate),
            ),
            (
                "Subscription CLV",
                "m / (c + d), c = 1 − r",
                economics.subscription_clv(margin_per_period=m, churn=1 - r, discount_rate=rate),
            ),
            (
                "Discounted margin × survival, 5 years",
                "Σₜ m · S(t) / (1 + d)ᵗ, S(t) = rᵗ",
                economics.discounted_margin_survival(margin_per_period=m, survival=r**years, discount_rate=rate),
            ),
        ]
        st.dataframe(
            pd.DataFrame(rows, columns=["view", "formula", "CLV per customer"]),
            hide_index=True,
            width="stretch",
            column_config={"CLV per customer": st.column_config.NumberColumn(format="%.2f")},
        )
        st.caption(
            f"m = margin per year ({m:,.2f}), r = annual retention ({r:.1%}), d = annual discount rate ({rate:.0%})."
        )


def subscription_mode(tx) -> None:
    st.markdown(
        "The **shifted-beta-geometric** model (Fader & Hardie 2007): each subscriber renews every period with "
        "their own churn probability, varying across subscribers as Beta(α, β)."
    )
    sources = ("From this dataset", "Upload subscriptions (start and end dates)", "Type them in")
    source = st.radio("Survivor counts", sources, horizontal=True, key="sbg-source")
    try:
        if source == "Type them in":
            text = st.text_input(
                "Survivors per period, cohort size first", "1000, 869, 743, 653, 593, 551, 517, 491", key="sbg-text"
            )
            try:
                survivors = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
            except ValueError:
                raise ClvError("Type numbers separated by commas, e.g. 1000, 869, 743.") from None
        elif source == sources[1]:
            upload = st.file_uploader(
                "Subscriptions: one row per subscription with customer, start and end (blank while active) dates",
                type=["csv", "tsv", "txt", "xlsx", "parquet", "gz", "zip"],
                key="sbg-upload",
            )
            if upload is None:
                st.info("Upload a file to fit the model to it.")
                return
            subs = state.subscriptions(upload.getvalue(), upload.name)
            months = sorted(subs.table["start"].dt.to_period("M").astype(str).unique())
            cohort = st.selectbox("Start month (cohort)", months, key="sbg-sub-cohort")
            st.caption(
                f"Columns used: {', '.join(f'{k} = {md(v)}' for k, v in subs.columns.items())}; "
                f"{len(subs.table):,} subscriptions, {subs.dropped:,} unusable rows left out; "
                f"observed to {subs.observation_end.date()}."
            )
            survivors = contractual.survivors_from_subscriptions(subs, cohort=cohort)
        else:
            cohorts = sorted(tx.data["date"].dt.to_period("M").astype(str).unique())
            cohort = st.selectbox(
                "Acquisition month (its customers' last purchase month ends their subscription)",
                cohorts,
                key="sbg-cohort",
            )
            survivors = contractual.survivors_from_transactions(tx.data, tx.observation_end, cohort=cohort)
        result = state.sbg(tuple(survivors))
    except ClvError as exc:
        st.error(str(exc), icon=":material/block:")
        return
    c = st.columns(3)
    periods = c[0].slider("Periods to project", len(survivors), 60, max(24, len(survivors)), key="sbg-periods")
    margin = c[1].number_input("Margin per period", 0.0, 1e6, 10.0, key="sbg-margin")
    rate = c[2].slider("Discount rate per period", 0.001, 0.10, 0.01, 0.001, format="%.3f", key="sbg-rate")
    m = st.columns(4)
    m[0].metric("α", f"{result.alpha:.3f}")
    m[1].metric("β", f"{result.beta:.3f}")
    m[2].metric("Discounted expected lifetime", f"{result.discounted_expected_lifetime(rate):.2f} periods")
    m[3].metric("CLV of a new subscriber", f"{result.clv(margin_per_period=margin, discount_rate=rate):,.2f}")
    st.plotly_chart(charts.retention_projection_chart(result.projection(periods)), width="stretch")
    st.caption(
        "Retention rises with tenure (the subscribers likely to cancel leave first): "
        + ", ".join(f"{v:.1%}" for v in result.retention_rates(6))
        + " in periods 1–6. Expected lifetime: "
        + (
            "unbounded (α ≤ 1)."
            if not np.isfinite(result.expected_lifetime())
            else f"{result.expected_lifetime():.1f} periods."
        )
    )


def base_value(tx) -> None:
    """The customer base's predicted value with its bootstrap interval, as the CLV forecast page opens (its default
    model, time unit and economics), for the Overview."""
    econ = Economics()
    try:
        with views.steps("Forecasting the customer base", ("base-value", state.dataset_key(tx))) as step:
            step("Choosing the most accurate model on a holdout period…")
            model, card, _ = state.default_model(tx, "weeks")
            step(f"Fitting {MODEL_LABELS[model]} and Gamma–Gamma, then 30 refits on resampled customers…")
            result = state.scenario(tx, "weeks", model, econ)
            boot = state.bootstrap(tx, "weeks", model, econ, 30)
    except ClvError as exc:
        st.info(f"No forecast of the customer base's value: {exc}", icon=":material/info:")
        return
    lo, hi = boot.total_interval()
    left, right = st.columns([1, 2])
    left.metric(
        f"Customer-base value, next {econ.horizon_months} months",
        f"{result.total_clv:,.0f}",
        border=True,
        help="Predicted discounted margin of today's customers: the CLV forecast page's opening figure.",
    )
    right.markdown(
        f"{boot.level * 100:.0f} % interval **{lo:,.0f} – {hi:,.0f}** "
        f"({boot.resamples} bootstrap refits). {MODEL_LABELS[model]}"
        f"{', the most accurate model on the holdout' if card is not None else ''}; "
        f"{econ.gross_margin:.0%} gross margin, {econ.annual_discount_rate:.0%} annual discount rate: "
        "the CLV forecast page's defaults, where they can be changed."
    )
