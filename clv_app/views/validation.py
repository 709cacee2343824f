"""The Model validation page's parts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clv_app.views.common import card, cards, money, money_column, share_column, show_table


def metrics_table(metrics: pd.DataFrame) -> None:
    percent = ("purchases % error", "revenue % error", "top-decile precision", "top-decile recall")
    show_table(
        metrics,
        width="stretch",
        column_config={
            **{c: share_column("") for c in percent},
            **{c: st.column_config.NumberColumn(format="%.3f") for c in metrics.columns if c not in percent},
            "holdout actual purchases": st.column_config.NumberColumn(format="%,.0f"),
            "holdout predicted purchases": st.column_config.NumberColumn(format="%,.0f"),
            "holdout actual revenue": money_column("", cents=False),
            "holdout predicted revenue": money_column("", cents=False),
            "MAE (spend)": money_column(""),
        },
    )


#: Said under the table while the ML challenger is trained (in a placeholder of its own, emptied when the row comes:
#: a container redrawn with fewer elements in the same run keeps the old last one).
PENDING = "The ML challenger is being trained on the same customers: its row joins the table when ready."


def headline(result) -> None:
    """The backtest in three cards, before any table or chart: the best model's holdout purchases and revenue against
    what happened (the error as the delta), and how well it ranked customers (its error per customer beside)."""
    best = result.metrics.loc[result.best]
    row = cards()
    card(
        row,
        f"Predicted by {result.best}",
        f"{best['holdout predicted purchases']:,.0f}",
        note=f"{best['purchases % error']:+.1%} against {best['holdout actual purchases']:,.0f} bought",
        help="Repeat purchases in the holdout by the customers who bought by the calibration end, predicted by "
        "the model with the lowest error per customer (fitted on the calibration period only), against what they "
        "bought.",
    )
    card(
        row,
        "Holdout revenue predicted",
        money(best["holdout predicted revenue"]),
        note=f"{best['revenue % error']:+.1%} against {money(best['holdout actual revenue'])}",
        help="Expected purchases × Gamma–Gamma's expected spend per customer, against what they spent.",
    )
    card(
        row,
        "Ranking (normalized Gini)",
        f"{best['normalized Gini']:.2f}",
        note=f"off by {best['MAE (purchases)']:.2f} purchases per customer",
        help="How well the predicted spend orders customers by what they spent in the holdout: 1 is perfect, 0 is "
        "random. Under it: the mean absolute error of each customer's predicted repeat purchases.",
    )


def scores(result) -> None:
    """The backtest's notes and metrics table."""
    for note in result.notes:
        st.caption(note)
    metrics_table(result.metrics)


def blend_table(result, mix) -> None:
    """The blend's holdout metrics beside the two it blends (the same columns as the table above)."""
    from clv_core.validation import ML_LABEL

    rows = result.metrics.loc[[mix.model, ML_LABEL]]
    metrics_table(pd.concat([rows, pd.DataFrame({mix.label: mix.metrics}).T.rename_axis(rows.index.name)]))
