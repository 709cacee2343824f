"""Widgets and renderers shared by pages. No computation: numbers come from clv_core results."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import streamlit as st

from clv_app import links, memo
from clv_core import charts, export, forecast
from clv_core.ingest import (
    Transactions,
)

#: Rows of a per-customer or per-transaction table sent to the browser; the whole table is a download.
SHOWN_ROWS = 1_000
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$])")


def md(text: str) -> str:
    """Escape text from a user's file so Markdown renders it literally (and never as a link or HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def full_download(
    label: str, frame: pd.DataFrame, name: str, *, identity: str, key: str, about: Callable[[], dict]
) -> None:
    """A CSV download of a whole table shown capped at ``SHOWN_ROWS``, and its assumptions as JSON under the same
    name (``about`` builds them, see :func:`clv_core.export.assumptions`). Files are written only when clicked.

    Downloads here and elsewhere use ``on_click="ignore"``: a download changes nothing on the page, and a rerun
    started by the click could replace the file the browser is about to fetch.

    ``identity`` names the content in the file name (e.g. the dataset's content hash), so a rerun does not hash a
    large table just to name a file nobody may download."""
    left, right = st.columns([3, 2])
    left.download_button(
        f"{label}: {len(frame):,} rows",
        lambda: export.to_csv_bytes(frame),
        file_name=export.file_name(name, identity.encode(), "csv"),
        mime="text/csv",
        key=key,
        on_click="ignore",
    )
    assumptions_download(right, about, export.file_name(name, identity.encode(), "assumptions.json"), f"{key}-about")


def dataset_settings(tx: Transactions) -> dict:
    """How the active data was read and cleaned: part of every export's assumptions."""
    r = tx.report.to_dict()
    keep = ("source_name", "rows_read", "rows_kept", "customers", "date_min", "date_max", "observation_end")
    return {
        "data": {k: r[k] for k in keep},
        "cleaning": {k: v for k, v in dataclasses.asdict(tx.options).items() if v is not None},
        "columns used": {k: v for k, v in dataclasses.asdict(tx.mapping).items() if v},
    }


def assumptions_download(
    where, about: Callable[[], dict], file_name: str, key: str, label: str = "Assumptions (JSON)"
) -> None:
    """The assumptions behind an export, as the JSON that travels with its CSV."""
    where.download_button(
        label,
        lambda: export.assumptions_json(about()),
        file_name=file_name,
        mime="application/json",
        key=key,
        on_click="ignore",
        help="Model and parameters, economics, time unit, column meanings and units, data fingerprint, app version.",
    )


@contextmanager
def steps(label: str, key: tuple) -> Iterator[Callable[[str], None]]:
    """Run multi-step cached work under an ``st.status`` that lists each step as it starts and ends with the
    elapsed time, but only the first time (``key`` not done before): later reruns find every step cached and
    show nothing. Yields ``announce(text)``, to call before each step."""
    from clv_app import state

    if state.seen(key):
        yield lambda text: None
        return
    start = time.perf_counter()
    with st.status(label, expanded=True) as status:
        try:
            yield lambda text: status.write(text)
        except Exception:
            status.update(label=f"{label}: stopped", state="error", expanded=False)  # the message below says why
            raise
        status.update(label=f"{label}: done in {time.perf_counter() - start:.1f} s", state="complete", expanded=False)
    state.mark_done(key)


def page_start(title: str) -> Transactions:
    """Every analysis page's opening: the title, the active dataset, and its card in the sidebar."""
    from clv_app import state

    st.title(title)
    tx = state.ensure_dataset()
    sidebar_dataset(tx, state.current_label())
    return tx


def sidebar_dataset(tx: Transactions, label: str) -> None:
    r = tx.report
    with st.sidebar:
        st.caption("Active dataset")
        st.markdown(f"**{md(label)}**")
        st.caption(f"{r.rows_kept:,} transactions · {r.customers:,} customers · {r.date_min} → {r.date_max}")


def format_value(value: float, unit: str) -> str:
    if value is None or pd.isna(value):
        return "–"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "currency":  # compact where cards are narrow: 213,330 not 213,330.48; 1.23M not 1,234,567
        if abs(value) >= 1e6:
            return f"{value / 1e6:,.2f}M"
        return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:,.2f}"
    return f"{value:,.0f}"


def kpi_cards(window) -> None:
    """KPI cards with the change against the previous window (none when there is no previous window)."""
    items = window.kpis
    for start in range(0, len(items), 4):
        cols = st.columns(4)
        for col, kpi in zip(cols, items[start : start + 4], strict=False):
            delta = None if kpi.change is None else f"{kpi.change:+.1%}"
            col.metric(kpi.name, format_value(kpi.value, kpi.unit), delta=delta, help=kpi.help, border=True)


def choose_filter(tx: Transactions, attributes: pd.DataFrame, key: str) -> tuple[str, str] | None:
    """An attribute and one of its values (the 20 most common), or None for all customers."""
    names = list(attributes.columns)
    if not names:
        st.caption("This dataset has no attribute columns (channel, country …) to filter by.")
        return None
    c1, c2 = st.columns(2)
    attribute = c1.selectbox(
        "Filter customers by their first purchase's", ["(all customers)", *names], key=f"{key}-attr"
    )
    if attribute == "(all customers)":
        return None
    counts = attributes[attribute].value_counts()
    value = c2.selectbox(
        f"{attribute} is",
        list(counts.index[:20]),
        format_func=lambda v: f"{v} ({counts[v]:,} customers)",
        key=f"{key}-value",
        help="The 20 most common values are offered." if len(counts) > 20 else None,
    )
    return attribute, value


def segment_table(summary: pd.DataFrame) -> None:
    st.dataframe(
        summary,
        width="stretch",
        column_config={
            "share of customers": st.column_config.NumberColumn(format="percent"),
            "share of revenue": st.column_config.NumberColumn(format="percent"),
            "revenue": st.column_config.NumberColumn(format="%.2f"),
            "mean recency (days)": st.column_config.NumberColumn(format="%.0f"),
            "mean orders": st.column_config.NumberColumn(format="%.2f"),
            "mean revenue": st.column_config.NumberColumn(format="%.2f"),
        },
    )


def implied_survival(tx: Transactions, km) -> tuple[str, pd.DataFrame] | None:
    """The survival the forecast's default purchase model implies, over the Kaplan–Meier chart's range, named for
    the legend; None (with a note) when the model cannot be fitted on this data."""
    from clv_app import state
    from clv_core import models
    from clv_core.errors import ClvError

    try:
        with steps("Fitting the purchase model", ("implied-survival", state.dataset_key(tx))) as step:
            step("Choosing the most accurate purchase model on a holdout period, then fitting it…")
            model, _, _ = state.default_model(tx, "weeks")
            _, fit, _ = state.fits(tx, "weeks", model)
    except ClvError as exc:
        st.info(f"No model curve: {exc}", icon=":material/info:")
        return None
    longest = max(float(c.curve["timeline"].max()) for c in km.curves)
    return models.MODEL_LABELS[model], memo.of(_implied_frame, fit, longest)


def _implied_frame(fit, longest_days: float) -> pd.DataFrame:
    from clv_core import models

    timeline = pd.Series(np.linspace(0.0, longest_days, 241))
    return pd.DataFrame({"timeline": timeline, "survival": models.implied_survival(fit, timeline)})


def implied_survival_note(km, implied: tuple[str, pd.DataFrame], inactivity_days: int) -> None:
    """How the model's curve and the Kaplan–Meier curves compare at one year (or the end of the data), and why they
    may differ."""
    from clv_core import survival

    name, curve = implied
    day = min(365.0, float(curve["timeline"].iloc[-1]))
    model_share = float(np.interp(day, curve["timeline"], curve["survival"]))
    observed = "; ".join(
        f"{c.group} {survival.survival_at(c, day):.0%}" for c in km.curves if np.isfinite(survival.survival_at(c, day))
    )
    st.markdown(
        f"After {day:,.0f} days: **{name}** says {model_share:.0%} of customers have not dropped out; Kaplan–Meier "
        f"counts {observed} still customers."
    )
    st.caption(
        f"The Kaplan–Meier curves count a customer as lost after {inactivity_days} days without a purchase; the "
        "model knows quiet customers may still buy, so where its curve is higher, customers are quiet rather than "
        "gone. It is one curve for everyone: the model expects every acquisition cohort and segment to start alike, "
        "so the curves of the groups show where they differ from it. BG/NBD assumes nobody leaves before a second "
        "purchase, MBG/NBD lets one-time buyers leave at once."
    )


def survival_summary(data) -> None:
    t = data.table
    c = st.columns(4)
    c[0].metric("Customers", f"{len(t):,}")
    c[1].metric("Churned", f"{t['churned'].mean():.1%}")
    one_time = (t["duration_days"] <= data.definition.grace_days + 1) & t["churned"]
    c[2].metric("Churned after one visit", f"{one_time.mean():.1%}", help="Their lifetime is the grace period.")
    c[3].metric("Observed to", str(data.observation_end.date()))
    if data.floored:
        st.caption(f"{data.floored:,} lifetimes shorter than one day were set to one day (lifetimes must be positive).")


def km_medians(km) -> pd.DataFrame:
    medians = km.medians.to_frame()
    medians["customers"] = [c.customers for c in km.curves]
    medians["churned"] = [c.churned for c in km.curves]
    return medians


def km_tables(km) -> None:
    left, right = st.columns([1, 2])
    medians = memo.of(km_medians, km)
    left.markdown("**Median lifetime** (∞: more than half are still customers)")
    left.dataframe(
        medians, width="stretch", column_config={"median lifetime (days)": st.column_config.NumberColumn(format="%.0f")}
    )
    right.markdown("**Customers still at risk** (observed and not yet churned)")
    right.dataframe(km.at_risk, width="stretch")


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
    st.dataframe(
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
    st.dataframe(result.table, hide_index=True, width="stretch")


def survival_clv_result(value) -> None:
    c1, c2 = st.columns(2)
    c1.metric(f"Expected revenue per new customer, {value.horizon_months} months", f"{value.value:,.2f}")
    c2.metric("Revenue per active customer-month", f"{value.revenue_per_active_month:,.2f}")
    st.caption(
        f"Σ over months of survival × revenue per active month, discounted at {value.annual_discount_rate:.0%} a year "
        f"({(1 + value.annual_discount_rate) ** (1 / 12) - 1:.3%} a month)."
    )
    st.dataframe(
        value.monthly,
        hide_index=True,
        width="stretch",
        column_config={
            "month": st.column_config.NumberColumn("month ahead", format="%d"),
            "survival": st.column_config.NumberColumn("still a customer", format="percent"),
            "expected revenue": st.column_config.NumberColumn("expected revenue per new customer", format="%.2f"),
        },
    )


def metrics_table(metrics: pd.DataFrame) -> None:
    percent = ("purchases % error", "revenue % error", "top-decile precision", "top-decile recall")
    st.dataframe(
        metrics,
        width="stretch",
        column_config={
            **{c: st.column_config.NumberColumn(format="percent") for c in percent},
            **{c: st.column_config.NumberColumn(format="%.3f") for c in metrics.columns if c not in percent},
            "holdout actual purchases": st.column_config.NumberColumn(format="%.0f"),
            "holdout predicted purchases": st.column_config.NumberColumn(format="%.0f"),
            "holdout actual revenue": st.column_config.NumberColumn(format="%.0f"),
            "holdout predicted revenue": st.column_config.NumberColumn(format="%.0f"),
        },
    )


def segment_value_table(summary: pd.DataFrame, horizon_months: int, boot=None) -> None:
    if boot is not None:
        interval_sentences(summary, "total CLV", horizon_months, boot.level)
    st.dataframe(
        summary,
        width="stretch",
        column_config={
            "total CLV": st.column_config.NumberColumn(f"total CLV ({horizon_months} mo)", format="%.0f"),
            "mean CLV": st.column_config.NumberColumn(f"mean CLV ({horizon_months} mo)", format="%.2f"),
            "mean P(alive)": st.column_config.NumberColumn("mean P(alive) now", format="%.2f"),
            "share of value": st.column_config.NumberColumn(format="percent"),
            **interval_columns(boot, horizon_months),
        },
    )


def customer_columns(horizon_months: int) -> dict:
    """Headers with their units for a scored customer list (the exports carry the same in their assumptions)."""
    h = horizon_months
    money = st.column_config.NumberColumn
    return {
        "p_alive": money("P(alive) now", format="%.2f", help="Probability the customer is still active (0–1)."),
        "expected_purchases": money(f"expected purchases ({h} mo)", format="%.2f"),
        "expected_avg_value": money("expected order value", format="%.2f", help="Revenue per order (Gamma–Gamma)."),
        "clv": money(f"CLV ({h} mo, discounted margin)", format="%.2f"),
        "clv_lower": money(f"CLV {h} mo, 90 % low", format="%.2f"),
        "clv_upper": money(f"CLV {h} mo, 90 % high", format="%.2f"),
        "clv_risk_adjusted": money(f"CLV {h} mo, 10th percentile", format="%.2f"),
        "historical_revenue": money("revenue to date", format="%.2f"),
        "clv_segment": st.column_config.TextColumn("CLV segment"),
        "value_tier": st.column_config.TextColumn("value tier"),
        "rfm_segment": st.column_config.TextColumn("RFM segment"),
    }


def interval_columns(boot, horizon_months: int) -> dict:
    """Column labels for a table's ``total_lower``/``total_upper`` (bootstrap interval of each group's total)."""
    if boot is None:
        return {}
    pct = f"{boot.level * 100:.0f} %"
    return {
        "total_lower": st.column_config.NumberColumn(f"total ({horizon_months} mo), {pct} low", format="%.0f"),
        "total_upper": st.column_config.NumberColumn(f"total ({horizon_months} mo), {pct} high", format="%.0f"),
    }


def interval_sentences(table: pd.DataFrame, total: str, horizon_months: int, level: float, *, top: int = 3) -> None:
    """The most valuable groups' totals with their bootstrap intervals, as sentences a decision can quote."""
    ranked = table.sort_values(total, ascending=False).head(top)
    st.markdown(
        "\n".join(
            "- "
            + forecast.interval_sentence(
                str(name), horizon_months, row[total], (row["total_lower"], row["total_upper"]), level
            )
            for name, row in ranked.iterrows()
        )
    )


def budget_table(allocation: pd.DataFrame) -> None:
    st.dataframe(
        allocation,
        width="stretch",
        column_config={
            "budget": st.column_config.NumberColumn(format="%.0f"),
            "per customer": st.column_config.NumberColumn(format="%.2f"),
            "expected return": st.column_config.NumberColumn(format="%.0f"),
            "return on budget": st.column_config.NumberColumn(format="%.1f×"),
        },
    )
    st.caption(
        "Budget split by segment CLV × response rate, capped at customers × mean CLV × max spend share "
        "(edit both in the table above); expected return = customers × response rate × mean CLV."
    )


def head(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows a table on screen shows (the downloads have all of them)."""
    return frame.head(SHOWN_ROWS)


def column_total(frame: pd.DataFrame, column: str) -> float:
    return float(frame[column].sum())


def frozen(chosen: dict) -> dict:
    """Filter choices with lists as tuples, so equal choices are equal keys for :func:`clv_app.memo.of`.

    >>> frozen({"segments": ["Champions"], "attribute": ("channel", ["web"]), "slipping_only": False})
    {'segments': ('Champions',), 'attribute': ('channel', ('web',)), 'slipping_only': False}
    """

    def freeze(value):
        return tuple(freeze(v) for v in value) if isinstance(value, (list, tuple)) else value

    return {k: freeze(v) for k, v in chosen.items()}


#: The customer-list filters a shared link carries (see clv_app.links).
FILTER_KEYS = ("seg-f-segment", "seg-f-rfm", "seg-f-life", "seg-f-clv", "seg-f-alive", "seg-f-slip")


def customer_filters(table: pd.DataFrame, attributes: tuple[str, ...]) -> dict:
    c = st.columns(3)
    lists = {
        "seg-f-segment": list(table["clv_segment"].cat.categories)
        if hasattr(table["clv_segment"], "cat")
        else sorted(table["clv_segment"].unique()),
        "seg-f-rfm": sorted(table["rfm_segment"].unique()),
        "seg-f-life": sorted(table["lifecycle"].unique()),
    }

    def pick(column, label: str, key: str) -> list:
        options = lists[key]
        return column.multiselect(label, options, default=links.initial(key, [], options=options), key=key)

    chosen = {
        "segments": pick(c[0], "CLV segment", "seg-f-segment"),
        "rfm_segments": pick(c[1], "RFM segment", "seg-f-rfm"),
        "lifecycle": pick(c[2], "Lifecycle stage", "seg-f-life"),
    }
    r = st.columns(3)
    top = max(float(table["clv"].max()) if len(table) else 1.0, 1.0)
    clv = links.initial("seg-f-clv", (0.0, top), bounds=(0.0, top))
    chosen["clv_range"] = r[0].slider("CLV range", 0.0, top, clv, key="seg-f-clv")
    alive = links.initial("seg-f-alive", (0.0, 1.0), bounds=(0.0, 1.0))
    chosen["p_alive_range"] = r[1].slider("P(alive) range", 0.0, 1.0, alive, 0.05, key="seg-f-alive")
    chosen["slipping_only"] = links.switch(r[2].toggle, "Only valuable but slipping", key="seg-f-slip")
    if attributes:
        a1, a2 = st.columns(2)
        name = a1.selectbox("Attribute", ["(any)", *attributes], key="seg-f-attr")
        if name != "(any)":
            chosen["attribute"] = (name, a2.multiselect(f"{name} is", sorted(table[name].unique()), key="seg-f-attr-v"))
    return chosen


def customer_list_downloads(
    tx: Transactions,
    filtered: pd.DataFrame,
    chosen: dict,
    *,
    model,
    econ,
    thresholds,
    gate,
    key: str = "seg",
    label: str | None = None,
    verb: str = "Download",
    about_label: str = "Assumptions of this list (JSON)",
):
    """CSV, Excel (assumptions on a second sheet) and the assumptions as JSON for the filtered customer list; the
    files are built only when a button is clicked. ``chosen`` (the filters) goes into the assumptions; ``label``
    names the list in file names (default: its CLV segment when one is chosen); ``key`` prefixes widget keys and
    ``verb`` starts the button labels, ``about_label`` is the assumptions button's."""
    from clv_app import state
    from clv_core import segments

    if label is None:
        one = chosen.get("segments") or []
        label = one[0] if len(one) == 1 else "filtered"
    stamp, today = memo.of(export.fingerprint, filtered), dt.date.today()

    def about() -> dict:
        _, fit, spend = state.fits(tx, "weeks", model)
        return export.assumptions(
            f"customer list: {label}",
            filtered,
            fingerprint=tx.content_hash,
            columns=segments.scored_columns(econ, tx.observation_end),
            fits=(fit, spend),
            economics=econ,
            settings={
                "horizon supported by the history (months)": gate.supported_months,
                "extrapolated": gate.extrapolates(econ.horizon_months),
                "filters": frozen(chosen),
                "segment thresholds (lower percentile of CLV)": dataclasses.asdict(thresholds),
                **dataset_settings(tx),
            },
        )

    d1, d2, d3 = st.columns(3)
    d1.download_button(
        f"{verb} CSV ({len(filtered):,} rows)",
        lambda: export.to_csv_bytes(filtered),
        file_name=export.file_name(label, stamp, "csv", today=today),
        mime="text/csv",
        key=f"{key}-csv",
        on_click="ignore",
    )
    d2.download_button(
        f"{verb} Excel ({len(filtered):,} rows)",
        lambda: export.to_excel_bytes(filtered, about=about()),
        file_name=export.file_name(label, stamp, "xlsx", today=today),
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}-xlsx",
        on_click="ignore",
        help="The second sheet, assumptions, says how every number was made.",
    )
    assumptions_download(
        d3, about, export.file_name(label, stamp, "assumptions.json", today=today), f"{key}-about", about_label
    )


CELL_KEYS = ("seg-cell-metric", "seg-cell-rfm", "seg-cell-band")


def rfm_alive_section(tx: Transactions, table: pd.DataFrame, *, model, econ, thresholds, gate) -> None:
    """What customers did (RFM segment) against whether the model thinks they are still there (P(alive)), and
    any cell as a downloadable action list."""
    from clv_core import segments

    h = econ.horizon_months
    metrics = {"customers": "Customers", "total_clv": f"Predicted value ({h} mo)"}
    metric = (
        st.segmented_control(
            "Colour by",
            tuple(metrics),
            format_func=metrics.get,
            default=links.initial(CELL_KEYS[0], "customers", options=tuple(metrics)),
            key=CELL_KEYS[0],
        )
        or "customers"
    )
    cells = memo.of(segments.rfm_alive_matrix, table)
    st.plotly_chart(memo.of(charts.rfm_alive_heatmap, cells, metric, h), width="stretch")
    st.caption(
        "Rows: RFM segment (what customers did). Columns: the model's probability they are still active. "
        "Each cell: customers, then their predicted value. A cell is an action list below."
    )
    c1, c2 = st.columns(2)
    rows = list(dict.fromkeys(cells["rfm_segment"]))
    start = next((r for r in ("Champions", "Loyal Customers") if r in rows), rows[0])
    rfm_segment = links.choose(c1.selectbox, "RFM segment", rows, start, key=CELL_KEYS[1])
    band = links.choose(c2.selectbox, "P(alive) band", segments.ALIVE_BANDS, segments.ALIVE_BANDS[1], key=CELL_KEYS[2])
    cell = memo.of(segments.rfm_alive_cell, table, rfm_segment, band)
    action = segments.ALIVE_ACTIONS[segments.ALIVE_BANDS.index(band)]
    name = f"{rfm_segment}, {band}" if band.startswith("P(") else f"{rfm_segment}, P(alive) {band}"
    st.markdown(
        f"**{md(name)}**: {len(cell):,} customers, {h}-month predicted value {cell['clv'].sum():,.0f}. "
        f"Suggested: {action}."
    )
    if cell.empty:
        return
    st.dataframe(memo.of(head, cell), hide_index=True, width="stretch", height=220, column_config=customer_columns(h))
    customer_list_downloads(
        tx,
        cell,
        {"rfm_segments": [rfm_segment], "p_alive band": band},
        model=model,
        econ=econ,
        thresholds=thresholds,
        gate=gate,
        key="seg-cell",
        label=name,
        verb="Action list as",
        about_label="Action list assumptions (JSON)",
    )


def migration_section(tx: Transactions, model: str, econ, thresholds) -> None:
    from clv_app import state
    from clv_core.errors import ClvError

    first, last = tx.data["date"].min().date(), tx.observation_end.date()
    default_a = max(first, (tx.observation_end - pd.DateOffset(months=6)).date())
    c1, c2 = st.columns(2)
    date_a = c1.date_input("First snapshot", default_a, min_value=first, max_value=last, key="mig-a")
    date_b = c2.date_input("Second snapshot", last, min_value=first, max_value=last, key="mig-b")
    try:
        result = state.migration(tx, date_a, date_b, model, econ, thresholds)
    except ClvError as exc:
        st.error(str(exc), icon=":material/block:")
        return
    counts = result.customers["moved"].value_counts()
    st.caption(
        f"Each snapshot refits the models on the data up to that day. Moved up {counts.get('up', 0):,}, "
        f"down {counts.get('down', 0):,}, same {counts.get('same', 0):,}, new {counts.get('new', 0):,}."
    )
    left, right = st.columns([2, 3])
    left.dataframe(result.matrix, width="stretch")
    right.plotly_chart(memo.of(charts.sankey_chart, result.matrix, result.date_a, result.date_b), width="stretch")
    st.markdown(f"**Customers who moved down** ({len(result.moved_down):,})")
    if len(result.moved_down) > SHOWN_ROWS:
        st.caption(f"The first {SHOWN_ROWS:,} are shown; the download has all of them.")
    st.dataframe(memo.of(head, result.moved_down), hide_index=True, width="stretch")
    full_download(
        "Download the customers who moved down (CSV)",
        result.moved_down,
        "moved-down",
        identity=f"{result.date_a}-{result.date_b}-{len(result.moved_down)}",
        key="seg-mig-csv",
        about=lambda: export.assumptions(
            "customers whose CLV segment moved down between two snapshots",
            result.moved_down,
            fingerprint=tx.content_hash,
            columns={
                "customer_id": "customer id, as in the file",
                "segment_a": f"CLV segment with the models refitted on the data to {result.date_a.date()}",
                "segment_b": f"CLV segment with the models refitted on the data to {result.date_b.date()}",
                "moved": "up, down, same or new",
            },
            economics=econ,
            settings={
                "model": model,
                "model time unit": "weeks",
                "first snapshot": str(result.date_a.date()),
                "second snapshot": str(result.date_b.date()),
                "segment thresholds (lower percentile of CLV)": dataclasses.asdict(thresholds),
                **dataset_settings(tx),
            },
        ),
    )
