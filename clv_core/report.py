"""The executive report: one self-contained HTML file (plotly.js inlined, no network needed to open it).

Every text that comes from the user's data (file name, labels) is HTML-escaped; figures hold only labels this
package generates (dates, segment names).
"""

from __future__ import annotations

import datetime as dt
import html

import pandas as pd

from clv_core import charts, cohorts, overview, segments, survival
from clv_core.economics import Economics, precompute, scenario
from clv_core.errors import ClvError
from clv_core.ingest import Transactions
from clv_core.models import MODEL_LABELS, fit_purchases, fit_spend
from clv_core.summary import summarise

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;color:#1B2430;max-width:1100px;margin:2rem auto;
     padding:0 1rem}
h1{margin-bottom:.2rem} .muted{color:#5b6675} table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #dde2ea;padding:.35rem .6rem;text-align:right} th{background:#f3f5f9}
td:first-child,th:first-child{text-align:left} .kpis{display:flex;flex-wrap:wrap;gap:.8rem}
.kpi{border:1px solid #dde2ea;border-radius:.5rem;padding:.6rem .9rem;min-width:150px}
.kpi b{display:block;font-size:1.4rem} section{margin:2rem 0}
"""


def _table(frame: pd.DataFrame, formats: dict | None = None) -> str:
    formats = formats or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [frame.index.name or "", *frame.columns])
    rows = []
    for index, row in frame.iterrows():
        cells = [f"<td>{html.escape(str(index))}</td>"]
        for column, value in row.items():
            text = (
                formats.get(column, "{:,.2f}").format(value)
                if isinstance(value, int | float) and pd.notna(value)
                else value
            )
            cells.append(f"<td>{html.escape(str(text))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def executive_report(
    transactions: Transactions,
    *,
    label: str,
    model: str = "bgnbd",
    economics: Economics | None = None,
    thresholds: segments.SegmentThresholds | None = None,
    today: dt.date | None = None,
) -> str:
    """The report as an HTML string: KPIs, cohort retention, survival, CLV segments, and the assumptions."""
    economics = economics or Economics()
    parts: list[str] = []
    first_figure = True

    def figure(fig) -> str:
        nonlocal first_figure
        out = fig.to_html(
            full_html=False, include_plotlyjs="inline" if first_figure else False, config={"displaylogo": False}
        )
        first_figure = False
        return out

    def section(title: str, build) -> None:
        try:
            body = build()
        except ClvError as exc:
            body = f"<p class='muted'>Not available for this data: {html.escape(str(exc))}</p>"
        parts.append(f"<section><h2>{html.escape(title)}</h2>{body}</section>")

    def kpi_section() -> str:
        window = overview.kpis(transactions, window="quarter")
        cards = []
        for k in window.kpis:
            value = (
                f"{k.value:.1%}"
                if k.unit == "share"
                else f"{k.value:,.2f}"
                if k.unit == "currency"
                else f"{k.value:,.0f}"
            )
            change = "" if k.change is None else f" <span class='muted'>({k.change:+.1%} vs previous quarter)</span>"
            cards.append(f"<div class='kpi'>{html.escape(k.name)}<b>{value}</b>{change}</div>")
        return (
            f"<p class='muted'>{window.start.date()} – {window.end.date()}</p><div class='kpis'>{''.join(cards)}</div>"
        )

    def cohort_section() -> str:
        table = cohorts.build_cohorts(transactions, period="month")
        return figure(charts.cohort_heatmap(table, "retention"))

    def survival_section() -> str:
        suggestion = survival.suggest_inactivity_days(transactions)
        data = survival.survival_data(transactions, survival.ChurnDefinition(suggestion.days))
        km = survival.kaplan_meier(data.table["duration_days"], data.table["churned"])
        return f"<p>{html.escape(suggestion.explanation)}</p>" + figure(charts.km_chart(km))

    def segment_section() -> str:
        summary = summarise(transactions, time_unit="weeks")
        base = precompute(
            fit_purchases(summary, model), fit_spend(summary), summary, churn_multiplier=economics.churn_multiplier
        )
        result = scenario(base, economics)
        table = segments.segment_summary(segments.scored_customers(result.customers, thresholds=thresholds))
        return (
            f"<p>Customer-base value over {economics.horizon_months} months: <b>{result.total_clv:,.0f}</b>; "
            f"new-customer CLV {result.new_customer_clv:,.2f}.</p>"
            + _table(
                table,
                {"customers": "{:,.0f}", "slipping": "{:,.0f}", "share of value": "{:.1%}", "mean P(alive)": "{:.2f}"},
            )
        )

    section("Headline numbers", kpi_section)
    section("Cohort retention", cohort_section)
    section("How long customers stay", survival_section)
    section("Customer segments by predicted value", segment_section)
    assumptions = pd.DataFrame(
        {
            "value": [
                MODEL_LABELS[model],
                f"{economics.annual_discount_rate:.0%} a year",
                f"{economics.gross_margin:.0%}",
                f"{economics.horizon_months} months",
                f"×{economics.churn_multiplier:g}",
                str(transactions.observation_end.date()),
            ]
        },
        index=pd.Index(
            ["model", "discount rate", "gross margin", "horizon", "churn multiplier", "data observed to"],
            name="assumption",
        ),
    )
    parts.append(f"<section><h2>Assumptions</h2>{_table(assumptions)}</section>")
    made = (today or dt.date.today()).isoformat()
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>CLV report – {html.escape(label)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Customer lifetime value report</h1><p class='muted'>{html.escape(label)} · "
        f"{transactions.report.customers:,} customers · made {made} with CLV Studio</p>"
        + "".join(parts)
        + "</body></html>"
    )
