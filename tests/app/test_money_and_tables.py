"""Money looks like money and tables read like a report: every amount on a card, in a table and on a chart axis
carries the dataset's currency; table headers are words with one format per kind of number."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from clv_core import segments
from clv_core.currency import KNOWN
from clv_core.economics import Economics
from clv_core.export import in_currency
from tests.app.conftest import LAZY_SECTIONS, ROOT, open_sections, text_of, upload

#: Words that make a card or a numeric column an amount (unless the label says it is a share, count or ratio).
MONEY = re.compile(r"revenue|order value|\bCLV\b|value|spend|budget|margin|amount|net return|MAE \(spend\)", re.I)
NOT_MONEY = re.compile(
    r"P\(alive\)|purchases|share|percentile|%|responders|ROI|Spearman|Gini|customers|: CAC|RMSE|error", re.I
)
BARE_NUMBER = re.compile(r"[−-]?[\d,]+(\.\d+)?M?")


def money_label(label: str) -> bool:
    """Whether a header or card names an amount (a value group's name, e.g. a migration matrix's "Top value"
    column of customers, does not)."""
    return bool(MONEY.search(label)) and not NOT_MONEY.search(label) and label not in segments.VALUE_GROUPS


def money_cards(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric if money_label(m.label)}


def table_configs(at) -> list[tuple[pd.DataFrame, dict]]:
    return [(d.value, json.loads(d.proto.columns or "{}")) for d in at.dataframe]


def house_style_problems(at, symbol: str, code: str) -> list[str]:
    """Every table column shown: a worded header; numbers with a format; amounts with ``symbol`` (or, where they can
    be negative, ``code`` in the header: a cell's format would write the symbol before the sign, ``$-0.32``); dates
    without a time when there is none. Every card about money: ``symbol`` in its value. Sliders of rates show
    percentages, sliders and inputs of amounts their currency (``code`` in an input's label). A missing value is a dash,
    as on the cards, not the word None (a table to type into keeps its empty cells)."""
    problems = [
        f"a table writes a missing value as {d.proto.placeholder or 'None'!r}"
        for d in at.dataframe
        if d.proto.editing_mode == d.proto.EditingMode.READ_ONLY and d.proto.placeholder != "–"
    ]
    for frame, config in table_configs(at):
        for column in frame.columns:
            c = config.get(str(column), {})
            label, kind = c.get("label") or str(column), c.get("type_config", {})
            if "_" in label or label[:1].islower():
                problems.append(f"header {label!r} (column {column!r}) is not in words")
            if pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column]):
                fmt = kind.get("format")
                if not fmt:
                    problems.append(f"numbers in {label!r} have no format")
                elif money_label(label) and fmt != "percent" and symbol not in fmt and f"({code})" not in label:
                    problems.append(f"amounts in {label!r} are written {fmt!r}, without {symbol}")
                if fmt and fmt.startswith(symbol) and (frame[column] < 0).any():
                    problems.append(f"negative amounts in {label!r} read {symbol}-…: name {code} in the header")
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                values = frame[column].dropna()
                if (values == values.dt.normalize()).all() and "HH" in str(kind.get("format", "HH")):
                    problems.append(f"dates in {label!r} show a time of 00:00:00")
    for slider in at.slider:
        fmt = slider.proto.format
        if re.search(r"\brate\b|margin", slider.label, re.I):
            if fmt != "percent":
                problems.append(f"slider {slider.label!r} shows a rate as {fmt!r}, not as a percentage")
        elif money_label(slider.label) and symbol not in fmt:
            problems.append(f"slider {slider.label!r} shows amounts as {fmt!r}, without {symbol}")
    for box in at.number_input:
        if money_label(box.label) and f"({code})" not in box.label and symbol not in box.proto.format:
            problems.append(f"input {box.label!r} does not say its currency")
    for label, value in money_cards(at).items():
        if BARE_NUMBER.fullmatch(value):
            problems.append(f"card {label!r} shows {value!r} without a currency")
    return problems


@pytest.mark.parametrize(
    "page",
    [
        "pages/overview.py",
        "pages/data.py",
        "pages/cohorts.py",
        "pages/rfm.py",
        "pages/survival.py",
        "pages/forecast.py",
        "pages/segments.py",
        "pages/validation.py",
    ],
)
def test_every_table_and_card_of_every_page_is_in_house_style(app, page):
    """CDNOW is in US dollars (the sample says so; its file carries no symbol). Sections drawn once opened are open."""
    open_sections(app).switch_page(page).run()
    assert not app.exception, app.exception
    assert app.dataframe or app.metric, f"{page} shows no table and no card to check"
    assert house_style_problems(app, "$", "USD") == []


def test_a_loss_reads_as_a_negative_amount_not_a_symbol_before_a_minus(app):
    """At twice the churn, every segment loses value: the what-if's change column is negative."""
    app.switch_page("pages/forecast.py").run()
    app.select_slider(key="churn").set_value(2.0).run()
    assert not app.exception, app.exception
    changes = [
        (frame, config)
        for frame, config in table_configs(app)
        if "change" in frame.columns and (frame["change"] < 0).any()
    ]
    assert changes, "no churn what-if with a loss"
    assert all(config["change"]["label"] == "Change (USD)" for _, config in changes)
    assert house_style_problems(app, "$", "USD") == []


def test_every_section_drawn_once_opened_is_opened_by_the_house_style_check():
    """A section behind ``on_change="rerun"`` draws nothing until opened: the check above opens those it knows."""
    code = "\n".join(p.read_text(encoding="utf-8") for d in ("pages", "clv_app") for p in (ROOT / d).rglob("*.py"))
    calls = re.findall(r"\.expander\((.*?)\)\s*(?:\n|$|:)", code, flags=re.S)
    lazy = [call for call in calls if "on_change" in call]
    keys = [re.search(r'key="([^"]+)"', call) for call in lazy]
    assert lazy and all(keys) and sorted(k.group(1) for k in keys) == sorted(LAZY_SECTIONS)


def test_a_currency_chosen_on_the_data_page_is_on_every_amount_and_in_the_exports(app):
    tx_hash = next(s.key for s in app.selectbox if s.key and s.key.startswith("currency-"))
    assert app.selectbox(key=tx_hash).value == "USD"
    app.selectbox(key=tx_hash).set_value("CHF").run()
    app.switch_page("pages/forecast.py").run()
    assert not app.exception, app.exception
    cards = money_cards(app)
    assert cards and all(v.endswith(" CHF") for v in cards.values() if v != "–"), cards
    assert house_style_problems(app, "CHF", "CHF") == []
    axes = [
        axis
        for chart in app.get("plotly_chart")
        for name, axis in json.loads(chart.proto.spec)["layout"].items()
        if name.startswith(("xaxis", "yaxis")) and "CLV" in str(axis.get("title", ""))
    ]
    assert axes and all(a.get("ticksuffix") == " CHF" and "(CHF)" in json.dumps(a["title"]) for a in axes), axes
    app.switch_page("pages/data.py").run()
    app.selectbox(key=tx_hash).set_value("").run()  # not stated: plain numbers, no symbol guessed
    app.switch_page("pages/overview.py").run()
    assert BARE_NUMBER.fullmatch(dict((m.label, m.value) for m in app.metric)["Revenue"])


def test_a_file_with_euro_amounts_is_read_as_euros(app):
    rows = [f"c{i % 7},2024-0{1 + i % 9}-1{i % 10},€{10 + i},{i % 3 + 1}" for i in range(60)]
    upload(app, "orders.csv", ("customer,date,amount,qty\n" + "\n".join(rows)).encode())
    assert not app.exception, app.exception
    currency = next(s for s in app.selectbox if s.key and s.key.startswith("currency-"))
    assert currency.value == "EUR" and "EUR – Euro · from the data" in currency.options
    app.switch_page("pages/overview.py").run()
    assert dict((m.label, m.value) for m in app.metric)["Revenue"].startswith("€"), text_of(app)


def test_the_export_names_the_currency_in_each_money_header_and_nowhere_else():
    customers = pd.DataFrame(
        {
            "customer_id": ["a"],
            "p_alive": [0.5],
            "expected_purchases": [1.0],
            "expected_avg_value": [20.0],
            "clv": [9.0],
            "historical_revenue": [40.0],
            "value_group": ["Top value"],
        }
    )
    meanings = segments.scored_columns(Economics(), pd.Timestamp("2024-01-01"))
    out, said = in_currency(customers, meanings, KNOWN["USD"])
    money = {"expected_avg_value_usd", "clv_usd", "historical_revenue_usd"}
    assert set(out.columns) == {"customer_id", "p_alive", "expected_purchases", "value_group"} | money
    assert all("(USD)" in said[c] for c in money) and "(USD)" not in said["p_alive"]
    assert out["clv_usd"].tolist() == [9.0]  # renamed, never converted
