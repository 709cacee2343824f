"""The Model validation page's section on watching the forecast over time: the rolling-origin backtest, the drift
between the latest two snapshots, and the checks against thresholds the user sets (clv_core.monitoring)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clv_app import memo, session
from clv_app.views.common import md, money, share_column, show_table
from clv_core import charts, monitoring
from clv_core.analysis import Analysis
from clv_core.errors import ClvError
from clv_core.models import MODEL_LABELS

#: Periods between origins offered, in months.
PERIODS = (1, 3, 6, 12)


def monitoring_section(analysis: Analysis) -> None:
    st.subheader("The forecast watched over time")
    st.caption(
        "A rolling backtest refits the forecast's model at several past dates and scores each on the period after "
        "it; the drift checks compare the latest two snapshots. `python -m clv_core monitor` runs the same for a "
        "scheduler (exit status 3 when a check alerts)."
    )
    left, right = st.columns([1, 2])
    every = left.selectbox(
        "Refit every",
        PERIODS,
        index=PERIODS.index(3),
        format_func=lambda m: f"{m} month{'s' * (m > 1)}",
        key="val-every",
        help="Months between the origins of the rolling backtest, and between the two snapshots the drift compares.",
    )
    with right.popover("Alert thresholds", icon=":material/tune:"):
        thresholds = _thresholds()
    if not st.toggle("Run the rolling backtest and drift checks", key="val-monitor"):
        st.caption("About one refit per origin (up to 8) and two snapshots; it runs when switched on.")
        return
    try:
        result = analysis.monitoring(every, thresholds, session.economics())
    except ClvError as exc:
        st.warning(str(exc), icon=":material/warning:")
        return
    if len(result.alerts):
        st.error(result.message(), icon=":material/notification_important:")  # our words and dates only
    else:
        st.success(result.message(), icon=":material/check_circle:")
    show_table(checks_table(result), hide_index=True, width="stretch")
    label = MODEL_LABELS.get(result.model, result.model)
    st.plotly_chart(memo.of(charts.accuracy_over_time, result.rolling, label), width="stretch")
    key_first = ["origin", "holdout_end", monitoring.RELATIVE_MAE, "revenue % error", "MAE (purchases)"]
    rolling = result.rolling.drop(columns="note")
    show_table(
        rolling[key_first + [c for c in rolling.columns if c not in key_first]],
        hide_index=True,
        width="stretch",
        column_config={
            "origin": st.column_config.DateColumn("Origin (refit on purchases to)", format="YYYY-MM-DD"),
            "holdout_end": st.column_config.DateColumn("Scored to", format="YYYY-MM-DD"),
            "holdout actual revenue": st.column_config.NumberColumn(
                f"Actual revenue ({session.currency().code or 'currency'})", format="%,.2f"
            ),
            "purchases % error": share_column("Purchases % error"),
            "revenue % error": share_column("Revenue % error"),
            "top-decile precision": share_column("Top-decile precision"),
        },
    )
    for note in result.notes:
        st.caption(md(note))
    drift = result.drift
    st.markdown(f"**Drift: {drift.date_a.date()} (A) against {drift.date_b.date()} (B)**")
    st.caption(
        f"Predicted CLV compares the two snapshots' customers; the other rows compare the purchases made in "
        f"{drift.start.date()} → {drift.date_a.date()} (A) with those in {drift.date_a.date()} → "
        f"{drift.date_b.date()} (B). A two-sample Kolmogorov–Smirnov p-value below the threshold says the "
        "distribution moved (with thousands of values even a small move does)."
    )
    show_table(drift_table(drift), hide_index=True, width="stretch")
    st.markdown("**Data quality by period**")
    show_table(
        drift.quality,
        width="stretch",
        column_config={
            "missing": share_column("Missing attribute or product"),
            "returns": share_column("Returns"),
            "zero_amounts": share_column("Zero amounts"),
        },
    )
    st.markdown(
        f"**Value-group migration**: customers by value group on {drift.date_a.date()} (rows) and on "
        f"{drift.date_b.date()} (columns), with the default cuts (top 5 %, next 15 %, …)"
    )
    show_table(drift.migration.matrix.rename_axis(f"On {drift.date_a.date()}"), width="stretch")


def drift_table(drift) -> pd.DataFrame:
    """The distribution tests in words: medians in each measure's unit, p-values as "< 0.001"."""
    money_measures = {"Predicted CLV", "Spend per purchase day"}
    rows = []
    for _, test in drift.tests.iterrows():

        def shown(value, measure=test["measure"]):
            if pd.isna(value):
                return "–"
            return money(value, cents=True) if measure in money_measures else f"{value:,.0f}"

        rows.append(
            {
                "Measure": test["measure"],
                "Median A": shown(test["median_a"]),
                "Median B": shown(test["median_b"]),
                "Values A": f"{int(test['count_a']):,}",
                "Values B": f"{int(test['count_b']):,}",
                "KS statistic": "–" if pd.isna(test["ks_statistic"]) else f"{test['ks_statistic']:.3f}",
                "P-value": "–" if pd.isna(test["p_value"]) else _p(test["p_value"]),
            }
        )
    return pd.DataFrame(rows)


def _thresholds() -> monitoring.Thresholds:
    d = monitoring.Thresholds()
    mae = st.number_input(
        "Holdout error above earlier origins (%)", 1.0, 500.0, d.mae_increase * 100, 1.0, key="val-t-mae"
    )
    revenue = st.number_input("Revenue error beyond (±%)", 1.0, 500.0, d.revenue_error * 100, 1.0, key="val-t-rev")
    missing = st.number_input(
        "Missing values: rise above (% points)", 0.1, 100.0, d.missing * 100, 0.5, key="val-t-missing"
    )
    shift = st.number_input(
        "Distribution change: KS statistic from", 0.0, 1.0, d.ks_statistic, 0.01, format="%.2f", key="val-t-ks-d"
    )
    ks = st.number_input("… with a KS p below (0: off)", 0.0, 0.5, d.ks_p, 0.01, format="%.4f", key="val-t-ks")
    return monitoring.Thresholds(mae / 100, revenue / 100, missing / 100, ks, shift)


def checks_table(result: monitoring.Monitoring) -> pd.DataFrame:
    """The checks as the page shows them: values in their unit, and the status in words."""
    rows = []
    t = result.thresholds
    for _, check in result.checks.iterrows():
        unit = check["unit"]
        if unit == "KS statistic":
            value = "not tested" if pd.isna(check["value"]) else f"{check['value']:.3f}"
            when = "off" if t.ks_p == 0 else f"from {t.ks_statistic:.2f} with p below {t.ks_p:g}"
        elif unit == "scored or not":
            value, when = "failed", "the refit fails"
        elif unit.startswith("predicted"):
            value, when = _share(check["value"]), f"beyond ±{_share(t.revenue_error)}"
        elif unit.startswith("change"):
            value, when = _share(check["value"]), f"a rise above {_share(t.missing)}"
        else:
            value = "not tested" if pd.isna(check["value"]) else _share(check["value"])
            when = f"above {_share(t.mae_increase)}"
        rows.append(
            {"Status": "Alert" if check["alert"] else "OK", "Check": check["check"], "Value": value, "Alert when": when}
        )
    return pd.DataFrame(rows)


def _share(value: float) -> str:
    return f"{value * 100:,.1f} %" if pd.notna(value) else "–"


def _p(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"{value:.3f}"
