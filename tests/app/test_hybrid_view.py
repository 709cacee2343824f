"""The CLV forecast page's "Subscriptions and purchases" view (issue 23, point 2): the analysis's figures, the
products it reads as subscriptions, and a sentence where the data has none."""

from __future__ import annotations

from clv_app import session
from clv_core.analysis import Analysis
from clv_core.economics import Economics
from clv_core.samples import SUBSCRIPTION, sample_bytes
from tests.conftest import amount, load


def shared_economics() -> Economics:
    s = session.SETTINGS
    return Economics(annual_discount_rate=s["rate"][0], gross_margin=s["margin"][0], horizon_months=s["horizon"][0])


def open_hybrid(app, sample: str):
    app.selectbox(key="data-sample").set_value(sample).run()
    app.switch_page("pages/forecast.py").run()
    next(b for b in app.get("button_group") if "Subscriptions and purchases" in str(b.proto)).set_value(
        "Subscriptions and purchases"
    ).run()
    assert not app.exception, app.exception


def test_the_view_shows_the_analysis_parts_and_the_chosen_products(app):
    open_hybrid(app, "retail")
    expected = Analysis(load(*sample_bytes("retail")), time_unit="weeks").hybrid(shared_economics())
    cards = {m.label: m.value for m in app.metric}
    assert amount(cards["Subscription value (12 mo)"]) == round(expected.subscription_total)
    assert amount(cards["Purchase value (12 mo)"]) == round(expected.purchase_total)
    assert amount(cards["Total value (12 mo)"]) == round(expected.total)
    assert app.multiselect(key="hyb-products").value == [SUBSCRIPTION]
    top = app.dataframe[-1].value
    assert top["clv"].iloc[0] == expected.table["clv"].max()
    assert any(c.proto.spec and "Subscribers still paying" in c.proto.spec for c in app.get("plotly_chart"))

    app.multiselect(key="hyb-products").set_value([]).run()  # nothing chosen: a sentence, the page still works
    assert not app.exception, app.exception
    assert any(i.value.startswith("Choose at least one subscription product (found: Coffee Club") for i in app.info)


def test_data_without_products_gets_a_sentence(app):
    open_hybrid(app, "cdnow_sample")
    assert any("no product column is mapped" in i.value for i in app.info)
    assert not app.metric
