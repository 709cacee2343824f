"""Model validation page through AppTest."""

from __future__ import annotations

import re

import pytest

from tests.conftest import amount


def test_validation_page_scores_every_model_and_names_the_best(app):
    app.selectbox(key="data-sample").set_value("cdnow_sample").run()
    app.switch_page("pages/validation.py").run()
    assert not app.exception, app.exception
    metrics = app.dataframe[0].value
    assert list(metrics.index) == ["BG/NBD", "Pareto/NBD", "MBG/NBD", "ML challenger (gradient boosting)"]
    best = metrics.iloc[:3]["MAE (purchases)"].idxmin()
    assert any(re.match(rf"\*\*{re.escape(best)} predicted individual customers best", m.value) for m in app.markdown)
    assert app.selectbox(key="val-model").value == best
    # the cards come before the table and give the best model's row of it
    card = {m.label: m for m in app.metric}
    row = metrics.loc[best]
    assert card[f"Predicted by {best}"].value == f"{row['holdout predicted purchases']:,.0f}"
    delta = f"{row['purchases % error']:+.1%} against {row['holdout actual purchases']:,.0f} bought"
    assert card[f"Predicted by {best}"].proto.delta == delta
    assert card["Ranking (normalized Gini)"].value == f"{row['normalized Gini']:.2f}"
    assert amount(card["Holdout revenue predicted"].value) == pytest.approx(row["holdout predicted revenue"], abs=1)
    assert len(app.get("plotly_chart")) == 5
    # the challenger was trained during this first visit: its row is in, so "being trained" is not said any more
    assert not any("being trained" in c.value for c in app.caption)


def test_changing_the_calibration_end_refits(app):
    app.selectbox(key="data-sample").set_value("cdnow_sample").run()
    app.switch_page("pages/validation.py").run()
    first = app.dataframe[0].value["holdout actual purchases"].iloc[0]
    import datetime as dt

    app.date_input(key="val-end").set_value(dt.date(1997, 9, 30)).run()
    assert not app.exception
    assert app.dataframe[0].value["holdout actual purchases"].iloc[0] != first
    assert any("holdout 1997-09-30 → 1998-06-30" in c.value for c in app.caption)


def test_a_calibration_end_on_the_first_day_is_a_message(app):
    import datetime as dt

    app.switch_page("pages/validation.py").run()
    app.date_input(key="val-end").set_value(dt.date(1997, 1, 1)).run()
    assert not app.exception and len(app.error) == 1 and "must fall after the first purchase" in app.error[0].value


def test_a_challenger_that_cannot_be_trained_leaves_the_models_backtest_and_says_why(app, monkeypatch):
    from clv_core import validation
    from clv_core.errors import ClvError

    def refuse(tested, transactions):
        raise ClvError("Too few customers with repeat purchases to train it.")

    monkeypatch.setattr(validation, "with_challenger", refuse)
    app.selectbox(key="data-sample").set_value("cdnow_sample").run()
    app.switch_page("pages/validation.py").run()
    assert not app.exception, app.exception
    assert list(app.dataframe[0].value.index) == ["BG/NBD", "Pareto/NBD", "MBG/NBD"]
    captions = [c.value for c in app.caption]
    assert "No ML challenger: Too few customers with repeat purchases to train it." in captions
    assert not any("being trained" in c for c in captions)  # the placeholder's note was replaced
    assert not any(s.value == "The ML challenger" for s in app.subheader)


def test_the_forecast_is_watched_over_time_with_the_thresholds_set_on_the_page(app):
    from clv_core import monitoring
    from clv_core.analysis import Analysis
    from clv_core.economics import Economics
    from clv_core.ingest import ingest
    from clv_core.samples import sample_bytes

    app.selectbox(key="data-sample").set_value("cdnow_sample").run()
    app.switch_page("pages/validation.py").run()
    charts = len(app.get("plotly_chart"))
    app.toggle(key="val-monitor").set_value(True).run()
    assert not app.exception, app.exception
    expected = Analysis(ingest(*sample_bytes("cdnow_sample"))).monitoring(
        3, monitoring.Thresholds(), Economics(cac=25.0)
    )
    assert len(expected.alerts)  # CDNOW's revenue from the last origin is over-predicted by 23 %
    assert [e.value for e in app.error] == [expected.message()]
    table = next(d.value for d in app.dataframe if "Alert when" in d.value.columns)
    assert table["Status"].tolist() == ["Alert" if a else "OK" for a in expected.checks["alert"]]
    assert len(app.get("plotly_chart")) == charts + 1
    # looser error thresholds and the distribution checks off: the alerts go, the message says so
    app.number_input(key="val-t-rev").set_value(30.0).run()
    app.number_input(key="val-t-mae").set_value(50.0).run()
    app.number_input(key="val-t-ks").set_value(0.0).run()
    assert not app.error and [s.value for s in app.success] == [
        f"All {len(expected.checks)} checks are within their thresholds."
    ]
