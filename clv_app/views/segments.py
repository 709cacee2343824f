"""The Segments & export page's parts: the value-group table, the RFM × P(alive) matrix, budget, migration, the
customer list and its downloads."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import streamlit as st

from clv_app import memo, session
from clv_app.views.common import (
    CARD_WIDTH,
    SHOWN_ROWS,
    assumptions_download,
    bootstrap,
    card,
    cards,
    customer_columns,
    dataset_settings,
    frozen,
    full_download,
    group_value_columns,
    head,
    interval_sentences,
    md,
    money,
    money_column,
    money_md,
    show_table,
    words,
)
from clv_core import budget, charts, export, segments
from clv_core.analysis import Analysis
from clv_core.errors import ClvError


def headline(summary: pd.DataFrame, table: pd.DataFrame, horizon_months: int) -> None:
    """Three cards before the value-group table: the predicted value (the CLV forecast page's base value), the top
    group's size and share of it, and the valuable customers slipping away."""
    top = summary.iloc[0]
    row = cards()
    card(
        row,
        f"Predicted value ({horizon_months} mo)",
        money(table["clv"].sum()),
        help="Every customer's predicted discounted margin: the CLV forecast page's base value.",
    )
    card(
        row,
        f"{top.name} customers",
        f"{int(top['customers']):,}",
        note=f"{top['share of value']:.1%} of the value" if pd.notna(top["share of value"]) else None,
        help="The value group at the top of the table below, and its share of the predicted value.",
    )
    card(
        row,
        "Valuable customers slipping",
        f"{int(table['slipping'].sum()):,}",
        help="In the top 20 % by value if still active, but P(alive) below 50 %: worth a win-back offer now.",
    )


def value_table(summary: pd.DataFrame, horizon_months: int, boot=None) -> None:
    if boot is not None:
        interval_sentences(summary, "total CLV", horizon_months, boot.level)
    show_table(summary, width="stretch", column_config=group_value_columns(summary, horizon_months, boot))


def budget_section(analysis: Analysis, summary: pd.DataFrame, table: pd.DataFrame, econ, boot) -> None:
    """What to do with each value group and what to spend on it: the actions, each group's response curve (its
    assumptions editable), the split that equalises marginal returns and stops where the next unit returns less
    than it costs, and, with the bootstrap refits, a split that trades expected return against its spread."""
    show_table(segments.default_actions(), hide_index=True, width="stretch")
    st.markdown(
        "**How each group answers spend** (assumptions: edit them). Spend per customer turns a share of the group "
        "into *extra* customers who act because of it, fewer for each further unit; an extra customer is worth "
        "the group's mean predicted value."
    )
    assumptions = st.data_editor(
        budget.default_assumptions(summary),
        hide_index=True,
        width="stretch",
        key="seg-response",
        disabled=["value group"],
        column_config={
            "value group": st.column_config.TextColumn("Value group"),
            budget.ASSUMPTIONS[0]: st.column_config.NumberColumn(
                "Reference spend per customer",
                min_value=0.01,
                format=session.currency().column_format(),
                help="A contact with its offer.",
            ),
            budget.ASSUMPTIONS[1]: st.column_config.NumberColumn(
                "Extra response at that spend",
                min_value=0.001,
                max_value=1.0,
                format="percent",
                step=0.001,
                help="Share of the group that acts because of that spend and would not have otherwise.",
            ),
            budget.ASSUMPTIONS[2]: st.column_config.NumberColumn(
                "Most extra response (saturation)",
                min_value=0.001,
                max_value=1.0,
                format="percent",
                step=0.001,
                help="The share no spend can exceed: the curve flattens towards it.",
            ),
        },
    )
    left, right = st.columns(2)
    total = left.number_input(
        session.currency().header("Total budget"), 0.0, 1e9, 10_000.0, step=1_000.0, key="seg-budget", format="%.0f"
    )
    risk = right.slider(
        "Risk aversion",
        0.0,
        2.0,
        0.0,
        step=0.1,
        key="seg-risk",
        help="0: the most expected return. Above 0: each unit of spread (standard deviation of the return, from "
        "the 30 bootstrap refits' values of the groups, measured together) costs this much expected return.",
    )
    try:
        curves = budget.curves_from(summary, assumptions)
        covariance = None
        if risk > 0:
            boot = boot or bootstrap(analysis, econ, 30)
            groups = table.set_index("customer_id")["value_group"].astype(str)
            ids = analysis.base(econ.churn_multiplier).customer_id
            covariance = budget.value_covariance(boot.draws, groups.reindex(ids).to_numpy(), summary["customers"])
        split = budget.allocate(curves, total, risk_aversion=risk, value_covariance=covariance)
    except ClvError as exc:
        st.error(str(exc), icon=":material/block:")
        return
    budget_table(split)
    c1, c2 = st.columns(2)
    # a few groups: the split, the curves and the charts take milliseconds, nothing is kept
    c1.plotly_chart(charts.response_curves_chart(curves, split, currency=session.currency()), width="stretch")
    by_budget = budget.return_by_budget(curves, np.linspace(0, max(2 * split.stop_budget, 1.2 * total, 1.0), 41))
    c2.plotly_chart(charts.budget_return_chart(by_budget, split, currency=session.currency()), width="stretch")


def budget_table(split) -> None:
    """The split per value group, its totals, and where to stop."""
    show_table(
        split.table,
        width="stretch",
        column_config={
            "budget": money_column("Budget", cents=False),
            "per customer": money_column("Per customer"),
            "extra responders": st.column_config.NumberColumn("Extra responders", format="%,.0f"),
            "incremental margin": money_column("Incremental margin", cents=False),
            "average ROI": st.column_config.NumberColumn(
                "Average ROI", format="%.2f×", help="Incremental margin ÷ budget."
            ),
            "marginal ROI": st.column_config.NumberColumn(
                "Marginal ROI", format="%.2f×", help="What the next unit spent on the group returns."
            ),
        },
    )
    with cards():
        st.metric("Spend", money(split.spent), width=CARD_WIDTH, border=True)
        st.metric("Incremental margin", money(split.margin), width=CARD_WIDTH, border=True)
        st.metric(
            "Net return",
            money(split.net),
            width=CARD_WIDTH,
            border=True,
            help="Incremental margin minus the spend: what the campaign adds.",
        )
        if split.spread is not None:
            st.metric(
                "Spread of the margin",
                money(split.spread),
                width=CARD_WIDTH,
                border=True,
                help="Standard deviation over the bootstrap refits' values of the groups.",
            )
    if split.kept > 0.5:
        st.markdown(
            f"**Stop at {money_md(split.spent)}.** Past {money_md(split.stop_budget)} the next unit returns less "
            f"than it costs in every group: {money_md(split.kept)} of the budget is better kept."
            + (" Risk aversion spends less still." if split.spent < split.stop_budget - 0.5 else "")
        )
    else:
        st.markdown(
            f"The whole budget is worth spending: its last unit returns {split.marginal_return:.2f}× what it costs; "
            f"spending could go on up to {money_md(split.stop_budget)}."
        )
    st.caption(
        "The split gives every group the same marginal return, so no unit could earn more elsewhere; the return "
        "counted is only what the spend adds (extra responders × their predicted value), not the value of "
        "customers who would have bought anyway."
    )


#: The customer-list filters a shared link carries (see clv_app.links).
FILTER_KEYS = ("seg-f-group", "seg-f-rfm", "seg-f-life", "seg-f-clv", "seg-f-alive", "seg-f-slip")


def customer_filters(table: pd.DataFrame, attributes: tuple[str, ...]) -> dict:
    c = st.columns(3)
    lists = {
        "seg-f-group": list(segments.VALUE_GROUPS),
        "seg-f-rfm": sorted(table["rfm_segment"].unique()),
        "seg-f-life": sorted(table["lifecycle"].unique()),
    }

    def pick(column, label: str, key: str) -> list:
        options = lists[key]
        return column.multiselect(label, options, key=key, bind="query-params")

    chosen = {
        "value_groups": pick(c[0], "Value group", "seg-f-group"),
        "rfm_segments": pick(c[1], "RFM segment", "seg-f-rfm"),
        "lifecycle": pick(c[2], "Lifecycle stage", "seg-f-life"),
    }
    r = st.columns(2)
    top = max(float(table["clv"].max()) if len(table) else 1.0, 1.0)
    chosen["clv_range"] = r[0].slider(
        "CLV range",
        0.0,
        top,
        (0.0, top),
        key="seg-f-clv",
        format=session.currency().column_format(),
        bind="query-params",
    )
    chosen["p_alive_range"] = r[1].slider(
        "P(alive) range", 0.0, 1.0, (0.0, 1.0), 0.05, key="seg-f-alive", bind="query-params"
    )
    # its own line: in a third of a narrow window the label was cut ("Only valuable b…")
    chosen["slipping_only"] = st.toggle("Only valuable but slipping", key="seg-f-slip", bind="query-params")
    if attributes:
        a1, a2 = st.columns(2)
        name = a1.selectbox("Attribute", ["(any)", *attributes], key="seg-f-attr", format_func=words)
        if name != "(any)":
            values = sorted(table[name].unique())
            chosen["attribute"] = (name, a2.multiselect(f"{words(name)} is", values, key="seg-f-attr-v"))
    return chosen


def customer_list_downloads(
    analysis: Analysis,
    filtered: pd.DataFrame,
    chosen: dict,
    *,
    econ,
    cuts,
    key: str = "seg",
    label: str | None = None,
    verb: str = "Download",
    about_label: str = "Assumptions of this list (JSON)",
):
    """CSV, Excel (assumptions on a second sheet) and the assumptions as JSON for the filtered customer list; the
    files are built only when a button is clicked. ``chosen`` (the filters) goes into the assumptions; ``label``
    names the list in file names (default: its value group when one is chosen); ``key`` prefixes widget keys and
    ``verb`` starts the button labels, ``about_label`` is the assumptions button's."""
    tx, gate = analysis.transactions, analysis.sufficiency()
    if label is None:
        one = chosen.get("value_groups") or []
        label = one[0] if len(one) == 1 else "filtered"
    stamp, today = memo.of(export.fingerprint, filtered), dt.date.today()
    meanings = segments.scored_columns(econ, tx.observation_end)
    money = session.currency()

    def about() -> dict:
        decision = analysis.decision()
        shown, said = export.in_currency(filtered, meanings, money)
        return export.assumptions(
            f"customer list: {label}",
            shown,
            fingerprint=tx.content_hash,
            columns=said,
            fits=analysis.fits(),
            economics=econ,
            settings={
                "model chosen": f"{decision.label}: {decision.reason}",
                "horizon supported by the history (months)": gate.supported_months,
                "extrapolated": gate.extrapolates(econ.horizon_months),
                "filters": frozen(chosen),
                "value groups (percentiles of CLV)": cuts.describe(),
                "glossary": analysis.glossary(cuts),
                **dataset_settings(tx),
            },
        )

    # a row that wraps, each button as wide as its label: in three equal columns the labels were cut at 800 px
    # ("Download the du…" twice, for the CSV and the Excel file)
    row = st.container(horizontal=True)
    row.download_button(
        f"{verb} CSV ({len(filtered):,} rows)",
        lambda: export.to_csv_bytes(export.in_currency(filtered, meanings, money)[0]),
        file_name=export.file_name(label, stamp, "csv", today=today),
        mime="text/csv",
        key=f"{key}-csv",
        on_click="ignore",
    )
    row.download_button(
        f"{verb} Excel ({len(filtered):,} rows)",
        lambda: export.to_excel_bytes(export.in_currency(filtered, meanings, money)[0], about=about()),
        file_name=export.file_name(label, stamp, "xlsx", today=today),
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}-xlsx",
        on_click="ignore",
        help="The second sheet, assumptions, says how every number was made.",
    )
    assumptions_download(
        row, about, export.file_name(label, stamp, "assumptions.json", today=today), f"{key}-about", about_label
    )


CELL_KEYS = ("seg-cell-metric", "seg-cell-rfm", "seg-cell-band")


def rfm_alive_section(analysis: Analysis, table: pd.DataFrame, *, econ, cuts) -> None:
    """What customers did (RFM segment) against whether the model thinks they are still there (P(alive)), and
    any cell as a downloadable action list."""
    h = econ.horizon_months
    metrics = {"customers": "Customers", "total_clv": f"Predicted value ({h} mo)"}
    metric = (
        st.segmented_control(
            "Colour by",
            tuple(metrics),
            format_func=metrics.get,
            default="customers",
            key=CELL_KEYS[0],
            bind="query-params",
        )
        or "customers"
    )
    cells = memo.of(segments.rfm_alive_matrix, table)
    st.plotly_chart(memo.of(charts.rfm_alive_heatmap, cells, metric, h, currency=session.currency()), width="stretch")
    st.caption(
        "Rows: RFM segment (what customers did). Columns: the model's probability they are still active. "
        "Each cell: customers, then their predicted value. A cell is an action list below."
    )
    if note := analysis.p_alive_note():
        st.caption(note)
    c1, c2 = st.columns(2)
    rows = list(dict.fromkeys(cells["rfm_segment"]))
    start = next((r for r in ("Champions", "Loyal Customers") if r in rows), rows[0])
    rfm_segment = c1.selectbox("RFM segment", rows, rows.index(start), key=CELL_KEYS[1], bind="query-params")
    band = c2.selectbox("P(alive) band", segments.ALIVE_BANDS, 1, key=CELL_KEYS[2], bind="query-params")
    cell = memo.of(segments.rfm_alive_cell, table, rfm_segment, band)
    action = segments.ALIVE_ACTIONS[segments.ALIVE_BANDS.index(band)]
    name = f"{rfm_segment}, {band}" if band.startswith("P(") else f"{rfm_segment}, P(alive) {band}"
    st.markdown(
        f"**{md(name)}**: {len(cell):,} customers, {h}-month predicted value {money_md(cell['clv'].sum())}. "
        f"Suggested: {action}."
    )
    if cell.empty:
        return
    show_table(memo.of(head, cell), hide_index=True, width="stretch", height=220, column_config=customer_columns(h))
    customer_list_downloads(
        analysis,
        cell,
        {"rfm_segments": [rfm_segment], "p_alive band": band},
        econ=econ,
        cuts=cuts,
        key="seg-cell",
        label=name,
        verb="Action list as",
        about_label="Action list assumptions (JSON)",
    )


def migration_section(analysis: Analysis, econ, cuts) -> None:
    """Value groups at two snapshot dates (each a refit on the data to that day) and who moved down."""
    tx = analysis.transactions
    first, last = tx.data["date"].min().date(), tx.observation_end.date()
    default_a = max(first, (tx.observation_end - pd.DateOffset(months=6)).date())
    c1, c2 = st.columns(2)
    # kept while the section is closed (a closed section draws nothing, and Streamlit drops an undrawn widget's value)
    date_a = c1.date_input(
        "First snapshot", default_a, min_value=first, max_value=last, key="mig-a", persist_state="page"
    )
    date_b = c2.date_input("Second snapshot", last, min_value=first, max_value=last, key="mig-b", persist_state="page")
    try:
        result = analysis.migration(date_a, date_b, econ, cuts)
    except ClvError as exc:
        st.error(str(exc), icon=":material/block:")
        return
    counts = result.customers["moved"].value_counts()
    st.caption(
        f"Each snapshot refits the models on the data up to that day. Moved up {counts.get('up', 0):,}, "
        f"down {counts.get('down', 0):,}, same {counts.get('same', 0):,}, new {counts.get('new', 0):,}."
    )
    on_a, on_b = f"Value group on {result.date_a.date()}", f"Value group on {result.date_b.date()}"
    st.markdown(
        f"**Customers by value group**: rows their group on {result.date_a.date()}, columns on {result.date_b.date()}"
    )
    # the headers say "Top" for "Top value" (the heading names the groups): with the full names a narrow window
    # showed the first three columns only
    short = {str(c): st.column_config.NumberColumn(str(c).removesuffix(" value"), format="%,d") for c in result.matrix}
    show_table(result.matrix.rename_axis(f"On {result.date_a.date()}"), width="stretch", column_config=short)
    st.plotly_chart(memo.of(charts.sankey_chart, result.matrix, result.date_a, result.date_b), width="stretch")
    st.markdown(f"**Customers who moved down** ({len(result.moved_down):,})")
    if len(result.moved_down) > SHOWN_ROWS:
        st.caption(f"The first {SHOWN_ROWS:,} are shown; the download has all of them.")
    show_table(
        memo.of(head, result.moved_down),
        hide_index=True,
        width="stretch",
        column_config={"group_a": st.column_config.TextColumn(on_a), "group_b": st.column_config.TextColumn(on_b)},
        column_order=["customer_id", "group_a", "group_b"],  # "moved" is "down" on every row (the download has it)
    )
    full_download(
        "Download the customers who moved down (CSV)",
        result.moved_down,
        "moved-down",
        identity=f"{result.date_a}-{result.date_b}-{len(result.moved_down)}",
        key="seg-mig-csv",
        about=lambda: export.assumptions(
            "customers whose value group moved down between two snapshots",
            result.moved_down,
            fingerprint=tx.content_hash,
            columns={
                "customer_id": "customer id, as in the file",
                "group_a": f"value group with the models refitted on the data to {result.date_a.date()}",
                "group_b": f"value group with the models refitted on the data to {result.date_b.date()}",
                "moved": "up, down, same or new",
            },
            economics=econ,
            settings={
                "model": analysis.decision().label,
                "model time unit": analysis.time_unit,
                "first snapshot": str(result.date_a.date()),
                "second snapshot": str(result.date_b.date()),
                "value groups (percentiles of CLV)": cuts.describe(),
                **dataset_settings(tx),
            },
        ),
    )


#: The "due" list: customers expected to buy within this many days of the end of the data.
DUE_DAYS = 30


def due_section(analysis: Analysis, table: pd.DataFrame, econ, cuts) -> None:
    """Customers expected to buy within the next month (their median time to the next purchase), for campaign
    timing: soonest first, with a download."""
    end = analysis.transactions.observation_end.normalize()
    st.subheader(f"Due in the next {DUE_DAYS} days")
    due = memo.of(segments.due_customers, table, end, DUE_DAYS)
    st.caption(
        f"Customers whose expected next purchase falls by {(end + pd.Timedelta(days=DUE_DAYS)).date()}, "
        f"{DUE_DAYS} days after the data ends: the median of the time to their next purchase under "
        f"{analysis.decision().label}, given their history and P(alive). Reach them before they buy elsewhere; "
        "a customer with no date is not expected to buy within the horizon."
    )
    if due.empty:
        st.info(
            f"No customer is expected to buy within {DUE_DAYS} days of the end of the data.", icon=":material/event:"
        )
        return
    st.metric("Customers due", f"{len(due):,}")
    show_table(head(due), hide_index=True, width="stretch", column_config=customer_columns(econ.horizon_months))
    customer_list_downloads(
        analysis,
        due,
        {"due within days": DUE_DAYS},
        econ=econ,
        cuts=cuts,
        key="due",
        label=f"due-{DUE_DAYS}-days",
        verb="Download the due list as",
        about_label="Assumptions of the due list (JSON)",
    )
