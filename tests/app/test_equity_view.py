"""Customer equity on the Overview (issue 23, point 3): the same numbers as the analysis and the CLV forecast page,
and a sentence instead of a chart where the data cannot be valued."""

from __future__ import annotations

import json

import pandas as pd

from clv_app import session
from clv_core.analysis import Analysis
from clv_core.economics import Economics
from clv_core.samples import sample_bytes
from tests.app.conftest import text_of, upload
from tests.app.test_analysis_pages import array
from tests.conftest import amount, load


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_the_equity_cards_are_the_analysis_figures_and_today_s_customers_the_forecast_s_base_value(app):
    app.selectbox(key="data-sample").set_value("retail").run()
    app.switch_page("pages/forecast.py").run()
    app.slider(key="horizon").set_value(36).run()
    app.number_input(key="cac").set_value(40.0).run()
    assert not app.exception, app.exception
    base = next(m.value for m in app.metric if m.label.startswith("Base value (36 mo"))

    app.switch_page("pages/overview.py").run()
    app.toggle(key="overview-equity").set_value(True).run()
    assert not app.exception, app.exception
    assert metric(app, "Current customers") == base  # one number on both pages
    settings = session.SETTINGS
    econ = Economics(
        annual_discount_rate=settings["rate"][0], gross_margin=settings["margin"][0], horizon_months=36, cac=40.0
    )
    expected = Analysis(load(*sample_bytes("retail")), time_unit="weeks").equity(econ, 3)
    assert amount(metric(app, "Customer equity, 3 yr")) == round(expected.customer_equity)
    assert amount(metric(app, "Acquisition cost")) == -round(expected.acquisition_cost)
    shown = app.dataframe[-1].value
    assert list(shown["Change"])[1:] == ["+1 pt corporate discount rate", "+1 % acquisitions", "−1 % acquisition cost"]
    assert amount(shown["Equity change"].iloc[3]) == round(expected.acquisition_cost * 0.01)
    assert shown["Equity change"].iloc[1].startswith("−$")  # a higher rate lowers it: the minus before the symbol
    charts = [json.loads(c.proto.spec)["data"][0] for c in app.get("plotly_chart")]
    bridge = next(c for c in charts if c["type"] == "waterfall")
    assert array(bridge["y"])[3] == expected.customer_equity and bridge["measure"] == ["relative"] * 3 + ["total"]

    app.get("button_group")[-1].set_value(5).run()  # years valued
    assert any(m.label == "Customer equity, 5 yr" for m in app.metric)


def test_data_without_new_customers_says_so_and_a_single_month_gets_a_sentence(app):
    app.selectbox(key="data-sample").set_value("cdnow_sample").run()
    app.switch_page("pages/overview.py").run()
    app.toggle(key="overview-equity").set_value(True).run()
    assert "No customer was acquired in the last 12 complete months" in text_of(app)
    assert metric(app, "Future customers") == metric(app, "Acquisition cost").replace("−", "") == "$0"

    rows = [(f"c{i}", f"2024-03-{1 + i % 28:02d}", 10.0 + i) for i in range(60)]
    rows += [(f"c{i}", f"2024-04-{1 + i % 20:02d}", 5.0) for i in range(30)]
    csv = pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).to_csv(index=False).encode()
    upload(app, "one-cohort.csv", csv)
    app.switch_page("pages/overview.py").run()
    app.toggle(key="overview-equity").set_value(True).run()
    assert not app.exception, app.exception
    said = [i.value for i in app.info if "No customer equity" in i.value]
    assert said and "at least three complete months of data" in said[0]
