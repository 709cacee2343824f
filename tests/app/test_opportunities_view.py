"""The CLV forecast page's "Fixed purchase opportunities" view (issue 24, point 2): offered only for data on a
grid of dates, with the analysis's BG/BB figures."""

from __future__ import annotations

from clv_app import session
from clv_core.analysis import Analysis
from clv_core.economics import Economics
from clv_core.samples import sample_bytes
from tests.conftest import amount, load

MODE = "Fixed purchase opportunities"


def modes(app) -> list[str]:
    group = next(b for b in app.get("button_group") if "Purchases any time" in str(b.proto))
    return list(group.proto.options) if hasattr(group.proto, "options") else str(group.proto)


def test_offered_for_yearly_donations_with_the_analysis_figures(app):
    app.selectbox(key="data-sample").set_value("donations").run()
    app.switch_page("pages/forecast.py").run()
    assert MODE in str(modes(app))
    next(b for b in app.get("button_group") if MODE in str(b.proto)).set_value(MODE).run()
    assert not app.exception, app.exception
    s = session.SETTINGS
    econ = Economics(annual_discount_rate=s["rate"][0], gross_margin=s["margin"][0], horizon_months=s["horizon"][0])
    expected = Analysis(load(*sample_bytes("donations"))).discrete_forecast(econ)
    cards = {m.label: m.value for m in app.metric}
    assert cards[f"Opportunities in {econ.horizon_months} months"] == f"{expected.opportunities:,}"
    assert amount(cards[f"CLV ({econ.horizon_months} mo, discounted margin)"]) == round(expected.total_clv)
    parameters = next(d.value for d in app.dataframe if "parameter" in d.value.columns)
    assert [round(v, 3) for v in parameters["value"]] == [1.204, 0.750, 0.657, 2.783]


def test_not_offered_for_purchases_any_time(app):
    app.selectbox(key="data-sample").set_value("cdnow_sample").run()
    app.switch_page("pages/forecast.py").run()
    assert not app.exception, app.exception
    assert MODE not in str(modes(app))
