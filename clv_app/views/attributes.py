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
        max_selections=covariates.MAX_ATTRIBUTES,
        help=f"Up to {covariates.MAX_ATTRIBUTES}. Each attribute's values (the largest is the reference; for first "
        "order value the lowest quarter) may scale the purchase rate and the dropout of "
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
    st.markdown("**What each attribute does**")
    show_table(effects(fit), hide_index=True, width="stretch")
    lr = fit.likelihood_ratio_p
    st.caption(
        "Each value's purchase rate and dropout against the reference's (×1.00: the same), with 95 % intervals. "
        f"Together the attributes {'do' if lr < 0.05 else 'do not clearly'} improve the fit on the whole history "
        f"(likelihood-ratio test p {_p(lr)})."
    )
    st.markdown("\n".join(f"- {md(line)}" for line in fit.sentences()))
    st.markdown("**Holdout test**: both refitted on the calibration period, scored on what customers did after it")
    show_table(holdout_table(comparison), hide_index=True, width="stretch")
    table = covariates.value_by_level(fit, with_attributes, analysis.scenario(econ))
    st.markdown(f"**Average {econ.horizon_months}-month CLV per customer by attribute value**")
    show_table(
        table.reset_index(),
        hide_index=True,
        width="stretch",
        height=36 * (len(table) + 1) + 3,  # every value, no inner scroll
        column_config={
            "without": money_column(f"Without attributes ({fit.label})"),
            "with": money_column("With attributes"),
            "difference": money_column("Difference", signed=True),
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
            "with-attributes",
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
    """One row per attribute value: the factors on the purchase rate and the dropout with their intervals, as
    text ("×1.53 (1.32–1.78)"), so that the table fits a laptop's width."""
    rows = []
    for (attribute, level), row in fit.coefficients.iterrows():
        rows.append(
            {
                "Attribute": attribute,
                "Value": level,
                "Against": fit.design.references[attribute],
                "Purchase rate ×": _factor(row["purchase"], row["purchase_se"]),
                "Dropout ×": _factor(row["dropout"], row["dropout_se"]),
            }
        )
    return pd.DataFrame(rows)


def holdout_table(comparison: covariates.Comparison) -> pd.DataFrame:
    """The holdout measures in words, one row each, the two models as columns."""
    m = comparison.metrics
    rows = {
        "Mean absolute error (purchases per customer)": ("MAE (purchases)", "{:.3f}"),
        "Predicted ÷ actual purchases − 1": ("purchases % error", "{:+.1%}"),
        "Predicted ÷ actual revenue − 1": ("revenue % error", "{:+.1%}"),
        "Rank correlation with actual spend": ("Spearman (spend)", "{:.3f}"),
        "Predicted top tenth that was the actual top tenth": ("top-decile precision", "{:.1%}"),
    }
    out = pd.DataFrame(
        {
            "Measure": list(rows),
            **{
                name: [fmt.format(m.loc[name, key]).replace("%", " %") for key, fmt in rows.values()]
                for name in (comparison.WITHOUT, comparison.WITH)
            },
        }
    )
    return out


def _factor(gamma: float, se: float) -> str:
    if not np.isfinite(se) or se > covariates.UNMEASURABLE:
        return f"×{np.exp(gamma):.2f} (not measurable)"
    low, high = np.exp(gamma - 1.96 * se), np.exp(gamma + 1.96 * se)
    return f"×{np.exp(gamma):.2f} ({low:.2f}–{high:.2f})"


def per_customer(fit: covariates.CovariateFit, with_attributes, without) -> pd.DataFrame:
    """The download: each customer's attribute values and CLV with and without the attributes."""
    levels = fit.design.levels.reset_index(drop=True)
    return pd.concat(
        [
            pd.DataFrame({"customer_id": with_attributes.base.customer_id}),
            levels,
            pd.DataFrame(
                {
                    "p_alive": np.round(with_attributes.base.p_alive, 4),
                    "clv": np.round(with_attributes.clv, 2),
                    "clv_without_attributes": np.round(without.clv, 2),
                }
            ),
        ],
        axis=1,
    )


def _p(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"{value:.3f}"
