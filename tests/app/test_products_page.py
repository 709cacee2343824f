"""The Products page (issue 23, point 1): value by category, the adoption matrix and the breadth evidence are the
analysis's figures; the next category reaches the customer list; data without products gets a sentence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from clv_app import session
from clv_core.analysis import Analysis
from clv_core.economics import Economics
from clv_core.samples import sample_bytes
from clv_core.survival import ChurnDefinition
from tests.app.conftest import text_of
from tests.app.test_analysis_pages import array
from tests.conftest import load


def spec(chart) -> dict:
    return json.loads(chart.proto.spec)


def retail_analysis() -> Analysis:
    return Analysis(load(*sample_bytes("retail")), time_unit="weeks")


def shared_economics() -> Economics:
    s = session.SETTINGS
    return Economics(
        annual_discount_rate=s["rate"][0], gross_margin=s["margin"][0], horizon_months=s["horizon"][0], cac=s["cac"][0]
    )


def test_products_page_shows_the_analysis_figures(app):
    app.selectbox(key="data-sample").set_value("retail").run()
    app.switch_page("pages/products.py").run()
    assert not app.exception, app.exception
    analysis = retail_analysis()
    value = analysis.category_value(shared_economics())
    shown = app.dataframe[0].value
    assert list(shown["category"]) == list(value["category"])
    np.testing.assert_allclose(shown["revenue"], value["revenue"])
    # the categories' predicted CLV adds up to the one scoring chain's total
    total = analysis.scored(shared_economics())["clv"].sum()
    assert shown["predicted CLV"].sum() == pytest.approx(total, rel=1e-12)
    heat = next(s["data"][0] for s in map(spec, app.get("plotly_chart")) if s["data"][0]["type"] == "heatmap")
    matrix = analysis.adoption()
    z = array(heat["z"]).reshape(len(matrix.names), len(matrix.names))
    np.testing.assert_allclose(z, matrix.share.to_numpy() * 100, equal_nan=True)
    evidence = analysis.breadth_evidence(ChurnDefinition(analysis.suggested_threshold().days))
    assert evidence.sentence.split(" (")[0] in text_of(app)
    assert "hazard ratio" in evidence.sentence and evidence.unadjusted["upper 95%"] < 1


def test_the_next_category_is_in_the_customer_list(app):
    app.selectbox(key="data-sample").set_value("retail").run()
    app.switch_page("pages/segments.py").run()
    assert not app.exception, app.exception
    expected = retail_analysis().customer_products()
    lists = [d.value for d in app.dataframe if "next_category" in d.value.columns]
    assert lists, [list(d.value.columns) for d in app.dataframe]
    shown = lists[-2].set_index("customer_id")  # the customer list (a cell of the matrix before, the due list after)
    assert len(shown) >= 20
    assert (shown["next_category"] == expected["next_category"].reindex(shown.index)).all()
    assert (shown["categories_bought"] == expected["categories_bought"].reindex(shown.index)).all()
    app.selectbox(key="seg-f-attr").set_value("next_category").run()
    app.multiselect(key="seg-f-attr-v").set_value(["Burr grinder"]).run()
    assert not app.exception, app.exception
    count = int(next(m.value for m in app.metric if m.label == "Customers in the list").replace(",", ""))
    chosen = next(d.value for d in app.dataframe if "next_category" in d.value.columns and len(d.value) == count)
    assert len(chosen) and set(chosen["next_category"]) == {"Burr grinder"}
    assert f"{(expected['next_category'] == 'Burr grinder').sum():,}" in [m.value for m in app.metric]


def test_data_without_a_product_column_gets_a_sentence(app):
    app.selectbox(key="data-sample").set_value("cdnow_sample").run()
    app.switch_page("pages/products.py").run()
    assert not app.exception, app.exception
    assert any("No product or category column is mapped" in i.value for i in app.info)
    assert not app.get("plotly_chart")
