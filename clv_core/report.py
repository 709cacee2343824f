"""The executive report: one self-contained HTML file (plotly.js inlined, no network needed to open it).

Every text that comes from the user's data (file name, labels) is HTML-escaped; figures hold only labels this
package generates (dates, segment names).
"""

from __future__ import annotations

import datetime as dt
import html
from typing import TYPE_CHECKING

import pandas as pd

from clv_core import charts, segments, survival
from clv_core.currency import NONE, Currency
from clv_core.economics import Economics
from clv_core.errors import ClvError
from clv_core.names import EQUITY_YEARS

if TYPE_CHECKING:
    from clv_core.analysis import Analysis

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;color:#1B2430;max-width:1100px;margin:2rem auto;
     padding:0 1rem}
h1{margin-bottom:.2rem} .muted{color:#5b6675} table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #dde2ea;padding:.35rem .6rem;text-align:right} th{background:#f3f5f9}
td:first-child,th:first-child{text-align:left} .kpis{display:flex;flex-wrap:wrap;gap:.8rem}
.kpi{border:1px solid #dde2ea;border-radius:.5rem;padding:.6rem .9rem;min-width:150px}
.kpi b{display:block;font-size:1.4rem} section{margin:2rem 0}
"""


def _money(currency: Currency):
    return lambda value: currency.amount(value, cents=True)


def _table(frame: pd.DataFrame, formats: dict | None = None) -> str:
    formats = formats or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [frame.index.name or "", *frame.columns])
    rows = []
    for index, row in frame.iterrows():
        cells = [f"<td>{html.escape(str(index))}</td>"]
        for column, value in row.items():
            written = formats.get(column, "{:,.2f}")
            text = (
                (written(value) if callable(written) else written.format(value))
                if isinstance(value, int | float) and pd.notna(value)
                else value
            )
            cells.append(f"<td>{html.escape(str(text))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def executive_report(
    analysis: Analysis,
    *,
    label: str,
    economics: Economics | None = None,
    cuts: segments.ValueGroupCuts | None = None,
    today: dt.date | None = None,
    currency: Currency | None = None,
) -> str:
    """The report as an HTML string: KPIs, cohort retention, survival, value groups, the glossary and the
    assumptions. Every number comes from ``analysis`` (the scoring chain the pages and the CLI use)."""
    economics = economics or Economics()
    currency = currency or NONE
    transactions = analysis.transactions
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
        window = analysis.overview("quarter")[0]
        cards = []
        for k in window.kpis:
            value = (
                f"{k.value:.1%}"
                if k.unit == "share"
                else currency.amount(k.value, cents=True)
                if k.unit == "currency"
                else f"{k.value:,.0f}"
            )
            change = "" if k.change is None else f" <span class='muted'>({k.change:+.1%} vs previous quarter)</span>"
            cards.append(f"<div class='kpi'>{html.escape(k.name)}<b>{value}</b>{change}</div>")
        return (
            f"<p class='muted'>{window.start.date()} – {window.end.date()}</p><div class='kpis'>{''.join(cards)}</div>"
        )

    def cohort_section() -> str:
        return figure(charts.cohort_heatmap(analysis.cohorts("month"), "retention"))

    def survival_section() -> str:
        suggestion = analysis.suggested_threshold()
        data = analysis.survival(survival.ChurnDefinition(suggestion.days))
        km = analysis.kaplan_meier(data, None)
        return f"<p>{html.escape(suggestion.explanation)}</p>" + figure(charts.km_chart(km))

    def value_section() -> str:
        result = analysis.scenario(economics)
        table = analysis.value_summary(economics, cuts)
        total = pd.DataFrame([table.sum(numeric_only=True)], index=pd.Index(["All customers"], name=table.index.name))
        total["mean CLV"] = result.mean_clv
        total["mean P(alive)"] = float(analysis.scored(economics, cuts)["p_alive"].mean())
        note = analysis.p_alive_note()
        return (
            f"<p>{html.escape(analysis.decision().line())}</p>"
            f"<p>Customer-base value over {economics.horizon_months} months: "
            f"<b>{html.escape(currency.amount(result.total_clv, cents=True))}</b>; "
            f"new-customer CLV {html.escape(currency.amount(result.new_customer_clv, cents=True))}.</p>"
            + (f"<p class='muted'>{html.escape(note)}</p>" if note else "")
            + _table(
                pd.concat([table, total]),
                {
                    "customers": "{:,.0f}",
                    "slipping": "{:,.0f}",
                    "share of value": "{:.1%}",
                    "mean P(alive)": "{:.2f}",
                    **{c: _money(currency) for c in ("total CLV", "mean CLV", "total_lower", "total_upper")},
                },
            )
        )

    def equity_section() -> str:
        result = analysis.equity(economics, EQUITY_YEARS)
        table = result.sensitivity_table().set_index("change")
        return (
            f"<p>Over {result.years} years: today's customers "
            f"<b>{html.escape(currency.amount(result.current_customers_value))}</b>, future customers "
            f"<b>{html.escape(currency.amount(result.future_customers_value))}</b>, less their acquisition cost "
            f"<b>{html.escape(currency.amount(result.acquisition_cost))}</b>: customer equity "
            f"<b>{html.escape(currency.amount(result.customer_equity))}</b>. "
            f"{html.escape(result.acquisitions.sentence)}</p>"
            + "".join(f"<p class='muted'>{html.escape(note)}</p>" for note in result.notes)
            + figure(charts.equity_bridge_chart(result, currency=currency))
            + _table(table, {"equity change": _money(currency), "share of equity": "{:.2%}"})
        )

    def products_section() -> str:
        value = analysis.category_value(economics).set_index("category")
        shown = value[["revenue", "share of revenue", "customers", "repeat rate", "predicted CLV"]]
        suggestion = analysis.suggested_threshold()
        try:
            evidence = analysis.breadth_evidence(survival.ChurnDefinition(suggestion.days)).sentence
        except ClvError as exc:
            evidence = f"No lifetime comparison by categories bought: {exc}"
        top = analysis.adoption().steps().head(1)
        step = (
            ""
            if top.empty
            else f" The likeliest next step: {top['share'].iloc[0]:.0%} of {top['bought first'].iloc[0]} buyers went "
            f"on to buy {top['then bought'].iloc[0]} (median {top['median days to it'].iloc[0]:,.0f} days later)."
        )
        return f"<p>{html.escape(analysis.categories().note + step)}</p><p>{html.escape(evidence)}</p>" + _table(
            shown.rename(columns={"predicted CLV": f"predicted CLV ({economics.horizon_months} mo)"}),
            {
                "revenue": _money(currency),
                f"predicted CLV ({economics.horizon_months} mo)": _money(currency),
                "share of revenue": "{:.1%}",
                "customers": "{:,.0f}",
                "repeat rate": "{:.1%}",
            },
        )

    def hybrid_section() -> str:
        products = analysis.subscription_products()
        result = analysis.hybrid(economics, products)
        fits = analysis.subscriptions(products).fits
        counts = result.table["subscriber"].value_counts()
        by_status = result.table.groupby("subscriber", sort=False)[["subscription_value", "purchase_value", "clv"]]
        table = by_status.sum().rename_axis("subscriber")
        table.insert(0, "customers", result.table.groupby("subscriber", sort=False).size())
        retention = "; ".join(
            f"{plan}: α {fit.alpha:.3f}, β {fit.beta:.3f} (mean monthly churn of new subscribers "
            f"{fit.alpha / (fit.alpha + fit.beta):.1%})"
            for plan, fit in fits.items()
        )
        return (
            f"<p>Subscription payments: {html.escape(', '.join(products))}. Over {economics.horizon_months} months, "
            f"subscriptions <b>{html.escape(currency.amount(result.subscription_total))}</b> "
            f"({int(counts.get('active', 0)):,} active subscribers) plus one-off purchases "
            f"<b>{html.escape(currency.amount(result.purchase_total))}</b>: "
            f"<b>{html.escape(currency.amount(result.total))}</b>. Retention (shifted-beta-geometric): "
            f"{html.escape(retention)}.</p>"
            + "".join(f"<p class='muted'>{html.escape(note)}</p>" for note in result.notes)
            + _table(table, {"customers": "{:,.0f}", **{c: _money(currency) for c in table.columns[1:]}})
        )

    def glossary_section() -> str:
        terms = pd.DataFrame({"meaning": analysis.glossary(cuts)}).rename_axis("term")
        return _table(terms)

    section("Headline numbers", kpi_section)
    section("Cohort retention", cohort_section)
    section("How long customers stay", survival_section)
    section("Customers by predicted value", value_section)
    section("What the customer base is worth", equity_section)
    if analysis.has_products():
        section("Products", products_section)
        if analysis.subscription_products():
            section("Subscriptions and purchases", hybrid_section)
    section("What the names mean", glossary_section)
    try:
        model = analysis.decision()
        model_text = f"{model.label} ({model.reason})"
    except ClvError as exc:
        model_text = f"none: {exc}"
    assumptions = pd.DataFrame(
        {
            "value": [
                model_text,
                f"{economics.annual_discount_rate:.0%} a year",
                f"{economics.gross_margin:.0%}",
                f"{economics.horizon_months} months",
                f"{EQUITY_YEARS} years",
                currency.amount(economics.cac, cents=True),
                f"×{economics.churn_multiplier:g}",
                analysis.time_unit,
                str(transactions.observation_end.date()),
            ]
        },
        index=pd.Index(
            [
                "model",
                "discount rate",
                "gross margin",
                "horizon",
                "customer equity valued over",
                "acquisition cost per new customer",
                "churn multiplier",
                "model time unit",
                "data observed to",
            ],
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
