"""The CLV forecast page's section on customer attributes: the purchase model with what is known at the first
purchase (clv_core.covariates), what each attribute does in words, its holdout test against the plain model, and
the CLV by attribute level both ways."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from clv_app.views.common import dataset_settings, full_download, md, money_column, show_table
from clv_core import covariates, export
from clv_core.analysis import Analysis
from clv_core.economics import Economics
from clv_core.errors import ClvError

#: The holdout measures shown for the two models (all of them are in the download of the Validation page).
SHOWN_METRICS = ("MAE (purchases)", "purchases % error", "revenue % error", "Spearman (spend)", "top-decile precision")


def attributes_section(analysis: Analysis, econ: Economics) -> None:
    st.subheader("Do customer attributes change how customers buy?")
    try:
        offered = analysis.covariate_columns()
    except ClvError as exc:
        st.info(md(str(exc)))
        return
    if not offered:
        st.info(
            "This data has no attribute known at the first purchase with two values of at least "
            f"{covariates.MIN_CUSTOMERS} customers each (map an acquisition channel, country or product column on the "
            "Data page to use one).",
            icon=":material/info:",
        )
        return
    chosen = st.multiselect(
        "Attributes known at the first purchase",
        offered,
        key="fc-covariates",
        placeholder="Choose attributes to test",
        help="Each attribute's values (the largest is the reference) may scale the purchase rate and the dropout of "
        f"{analysis.decision().label} by a factor, fitted on the whole history and tested on the model's holdout. "
        f"Values with fewer than {covariates.MIN_CUSTOMERS} customers are pooled as 'Other'; 'first order value' is "
        "the first purchase day's spend in quarters.",
    )
    if not chosen:
        st.caption(
            "Choose attributes to see whether customers acquired one way buy more often or drop out sooner than "
            "others, with a holdout test of whether knowing it predicts better than the model without it."
        )
        return
    columns = tuple(chosen)
    try:
        fit = analysis.covariate_fit(columns)
        comparison = analysis.covariate_comparison(columns)
        with_attributes = analysis.covariate_scenario(columns, econ)
    except ClvError as exc:
        st.warning(md(str(exc)), icon=":material/warning:")
        return
    if comparison.wins:
        st.success(md(comparison.sentence()), icon=":material/check_circle:")
    else:
        st.info(
            md(comparison.sentence()) + f" The forecast above stays with {fit.label} alone.", icon=":material/info:"
        )
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**What each attribute does**")
        show_table(effects(fit), hide_index=True, width="stretch")
        lr = fit.likelihood_ratio_p
        st.caption(
            f"Purchase rate and dropout of each value against the reference, with 95 % intervals. Together the "
            f"attributes {'do' if lr < 0.05 else 'do not clearly'} improve the fit on the whole history "
            f"(likelihood-ratio test p {_p(lr)})."
        )
    with right:
        st.markdown("**Holdout test**")
        shown = comparison.metrics[list(SHOWN_METRICS)].T
        show_table(shown, width="stretch")
    st.markdown("\n".join(f"- {md(line)}" for line in fit.sentences()))
    table = covariates.value_by_level(fit, with_attributes, analysis.scenario(econ))
    st.markdown(f"**Average {econ.horizon_months}-month CLV per customer by attribute value**")
    show_table(
        table.reset_index(),
        hide_index=True,
        width="stretch",
        column_config={
            "without": money_column(f"Without attributes ({fit.label})"),
            "with": money_column("With attributes"),
            "difference": money_column("Difference"),
        },
    )
    if comparison.wins:
        st.caption(
            "The model with attributes predicted the holdout better: for targeting by these attributes its CLV is "
            "the better estimate. Every other page keeps the forecast's model."
        )
        tx = analysis.transactions
        frame = per_customer(fit, with_attributes, analysis.scenario(econ))
        meanings = covariates.columns(econ, columns)
        full_download(
            "Download CLV with attributes (CSV)",
            frame,
            "clv-with-attributes",
            identity=f"{tx.content_hash}-{'-'.join(columns)}-{econ}",
            key="fc-covariates-download",
            about=lambda: export.assumptions(
                f"CLV per customer from {fit.label} with attributes",
                frame,
                fingerprint=tx.content_hash,
                columns=meanings,
                economics=econ,
                settings={"attribute model": fit.to_dict(), **dataset_settings(tx)},
            ),
            meanings=meanings,
        )


def effects(fit: covariates.CovariateFit) -> pd.DataFrame:
    """One row per attribute value: the factors on the purchase rate and the dropout, with their intervals."""
    rows = []
    for (attribute, level), row in fit.coefficients.iterrows():
        rows.append(
            {
                "Attribute": attribute,
                "Value": level,
                "Against": fit.design.references[attribute],
                "Purchase rate ×": float(np.exp(row["purchase"])),
                "Purchase 95 % CI": _interval(row["purchase"], row["purchase_se"]),
                "Dropout ×": float(np.exp(row["dropout"])),
                "Dropout 95 % CI": _interval(row["dropout"], row["dropout_se"]),
            }
        )
    return pd.DataFrame(rows)


def per_customer(fit: covariates.CovariateFit, with_attributes, without) -> pd.DataFrame:
    """The download: each customer's attribute values and CLV with and without the attributes."""
    levels = fit.design.levels.reset_index(drop=True)
    return pd.concat(
        [
            pd.DataFrame({"customer_id": with_attributes.base.customer_id}),
            levels,
            pd.DataFrame(
                {
                    "p_alive": with_attributes.base.p_alive,
                    "clv": with_attributes.clv,
                    "clv_without_attributes": without.clv,
                }
            ),
        ],
        axis=1,
    )


def _interval(gamma: float, se: float) -> str:
    if not np.isfinite(se) or se > covariates.UNMEASURABLE:
        return "not measurable"
    low, high = np.exp(gamma - 1.96 * se), np.exp(gamma + 1.96 * se)
    return f"{low:.2f}–{high:.2f}"


def _p(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"{value:.3f}"
