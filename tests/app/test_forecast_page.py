"""CLV forecast page: headline numbers, sliders that never refit, subscription mode, and refusals."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from clv_core import economics, models
from tests.app.conftest import text_of, upload
from tests.conftest import unescaped


def metric(app, label_start: str) -> str:
    return next(m.value for m in app.metric if m.label.startswith(label_start))


def number(text: str) -> float:
    return float(re.sub(r"[^\d.\-]", "", text.split(":")[0]))


@pytest.fixture
def forecast(app):
    app.selectbox(key="data-sample").set_value("cdnow_sample").run()
    app.switch_page("pages/forecast.py").run()
    assert not app.exception, app.exception
    return app


def test_forecast_shows_value_clv_to_cac_and_payback(forecast):
    assert number(metric(forecast, "Base value (12 mo)")) > 0
    assert metric(forecast, "CLV : CAC").endswith(": 1")
    assert "months" in metric(forecast, "Payback period")
    assert any("Top customers" in m.value for m in forecast.markdown)


def test_closed_sections_draw_only_once_opened(forecast):
    """The fit diagnostics and the formula views cost a first visit nothing; opened, they follow the page's sliders."""

    def tables():
        return [d.value for d in forecast.dataframe]

    def formulas():
        return next(t for t in tables() if "CLV per customer" in t.columns).set_index("view")["CLV per customer"]

    assert not any("AIC" in t.columns or "CLV per customer" in t.columns for t in tables())
    forecast.session_state["fc-formulas"] = True
    forecast.slider(key="margin").set_value(0.5).run()
    at_half = formulas()
    assert list(at_half.index) == list(
        economics.formula_table(
            economics.FormulaInputs(retention=0.5, revenue_per_year=1.0, window_months=12, sentence=""), 0.5, 0.1
        )["view"]
    )
    forecast.slider(key="margin").set_value(0.25).run()
    assert np.allclose(at_half / formulas(), 2.0)  # every formula is linear in the margin
    assert not any("AIC" in t.columns for t in tables())
    forecast.session_state["fc-diag"] = True
    forecast.run()
    assert any("AIC" in t.columns for t in tables()) and not forecast.exception


def test_the_cards_are_the_first_figure_the_browser_draws(forecast):
    """Elements are drawn in page order, and a table's or chart's scripts (1.2 and 4.7 MB) take a browser with an
    empty cache a second or more: nothing of the kind comes before the cards, not even in a closed section."""

    def kinds(node):
        kind = getattr(node, "type", None)
        return [kind, *[k for child in getattr(node, "children", {}).values() for k in kinds(child)]]

    figures = [k for k in kinds(forecast.main) if k in ("metric", "dataframe", "plotly_chart")]
    assert figures[0] == "metric" and figures.index("plotly_chart") > figures.index("metric")


def test_tables_lead_with_what_a_narrow_window_must_show(forecast):
    """At 800 px a table shows its first three or four columns: the customer and their CLV, a formula's figure
    before its text, and the fits' parameters in one full-width table, not two squeezed side by side."""
    top = next(d for d in forecast.dataframe if "customer_id" in d.value.columns and len(d.value) == 100)
    assert list(top.proto.column_order)[:2] == ["customer_id", "clv"]
    assert list(top.value.columns)[:2] != ["customer_id", "clv"]  # the order is the table's, not the frame's
    forecast.session_state["fc-formulas"] = True
    forecast.session_state["fc-diag"] = True
    forecast.run()
    formulas = next(d.value for d in forecast.dataframe if "CLV per customer" in d.value.columns)
    assert list(formulas.columns)[:2] == ["view", "CLV per customer"]
    params = next(d.value for d in forecast.dataframe if "standard error" in d.value.columns)
    purchase = params.loc[params["model"] != "Gamma–Gamma"]
    assert set(purchase["model"]) < {"BG/NBD", "Pareto/NBD", "MBG/NBD"} and len(purchase) == 4
    assert list(params.loc[params["model"] == "Gamma–Gamma", "parameter"]) == ["p", "q", "v"]
    assert params["standard error"].notna().all()


def test_economics_sliders_recompute_without_refitting(forecast, monkeypatch):
    calls = {"fit": 0, "precompute": 0}
    real_fit, real_pre = models.fit_purchases, economics.precompute

    def counting_fit(*a, **k):
        calls["fit"] += 1
        return real_fit(*a, **k)

    def counting_pre(*a, **k):
        calls["precompute"] += 1
        return real_pre(*a, **k)

    monkeypatch.setattr(models, "fit_purchases", counting_fit)
    monkeypatch.setattr(economics, "precompute", counting_pre)
    base_12 = number(metric(forecast, "Base value"))
    forecast.slider(key="horizon").set_value(24).run()
    forecast.slider(key="rate").set_value(0.2).run()
    forecast.slider(key="margin").set_value(0.6).run()
    forecast.number_input(key="cac").set_value(50.0).run()
    assert not forecast.exception
    assert calls == {"fit": 0, "precompute": 0}
    assert number(metric(forecast, "Base value (24 mo")) > base_12


def test_churn_multiplier_lowers_the_value(forecast):
    before = number(metric(forecast, "Base value"))
    forecast.select_slider(key="churn").set_value(2.0).run()
    assert number(metric(forecast, "Base value")) < before
    assert "multiplies the mean probability of dropping out" in text_of(forecast)


def test_churn_what_if_shows_the_change_per_segment(forecast):
    def what_if():
        return next(d.value for d in forecast.dataframe if "as fitted (×1)" in d.value.columns)

    as_fitted = what_if()
    assert (as_fitted["change"] == 0).all() and "Champions" in as_fitted.index
    forecast.select_slider(key="churn").set_value(1.5).run()
    moved = what_if()
    assert not forecast.exception and "at churn ×1.5" in moved.columns
    assert (moved["change"] < 0).all()  # more churn costs every segment something
    pd.testing.assert_series_equal(moved["as fitted (×1)"], as_fitted["as fitted (×1)"].reindex(moved.index))
    total = number(metric(forecast, "Base value"))
    assert moved["at churn ×1.5"].sum() == pytest.approx(total, abs=1)  # the segments add up to the headline


def test_the_page_says_whether_the_data_is_enough_and_marks_extrapolation(forecast):
    # cdnow_sample: 2,357 customers from 1997-01-01 to 1998-06-30, so 18 months are supported
    assert any(s.value.startswith("The data is enough for a forecast") for s in forecast.success)
    assert "up to 18 months are supported" in forecast.success[0].value
    assert not any("extrapolation" in w.value for w in forecast.warning)
    checks = unescaped(next(m.value for m in forecast.markdown if m.value.startswith("- Customers: ")))
    assert re.fullmatch(
        r"- Customers: \*\*[\d,]+\*\*, enough\n- Repeat buyers: \*\*[\d,]+\*\*, enough\n"
        r"- Months of history: \*\*17\.9\*\*, enough\n- Last data: \*\*1998-06-30\*\*, (enough|thin)",
        checks,
    ), checks
    forecast.slider(key="horizon").set_value(24).run()
    assert any(m.label == "Base value (24 mo, extrapolated)" for m in forecast.metric)
    assert any("24 months is past the 18 months of history" in w.value for w in forecast.warning)
    forecast.slider(key="horizon").set_value(18).run()
    assert any(m.label == "Base value (18 mo)" for m in forecast.metric)


def test_the_default_model_is_the_one_most_accurate_on_the_holdout(forecast):
    from clv_core import validation
    from clv_core.models import MODEL_LABELS
    from clv_core.samples import sample_bytes
    from tests.conftest import load

    tx = load(*sample_bytes("cdnow_sample"))
    tested = validation.backtest(tx, calibration_end=validation.default_calibration_end(tx), challenger=False)
    errors = tested.metrics.loc[[MODEL_LABELS[m] for m in models.PURCHASE_MODELS], "MAE (purchases)"]
    assert tested.best == errors.idxmin()
    chosen = forecast.selectbox(key="model")
    assert chosen.value == "auto"
    assert any(c.value.startswith(f"Model: {tested.best} for purchases") for c in forecast.caption)
    sentence = f"Tested on 1997-12-30 → 1998-06-30, {tested.best} predicted best"
    assert any(c.value.startswith(sentence) for c in forecast.caption)
    assert f"Best on the holdout ({tested.best})" in chosen.options
    chosen.set_value("bgnbd").run()  # the user's choice stands
    assert not forecast.exception and forecast.selectbox(key="model").value == "bgnbd"
    assert any(c.value.startswith("Model: BG/NBD for purchases") for c in forecast.caption)


def test_bootstrap_gives_an_interval_for_the_total(forecast):
    forecast.selectbox(key="fc-boot").set_value(10).run()
    assert not forecast.exception
    assert any(
        re.search(r"Customer base: 12-month value \$[\d,]+, 90 % interval \$[\d,]+–\$[\d,]+", unescaped(c.value))
        for c in forecast.caption
    )
    by_segment = next(d.value for d in forecast.dataframe if "total_lower" in d.value.columns)
    assert (by_segment["total_lower"] < by_segment["total_upper"]).all()
    top = by_segment.index[0]
    assert any(unescaped(m.value).startswith(f"- {top}: 12-month value") for m in forecast.markdown)
    forecast.slider(key="horizon").set_value(24).run()  # rescored from the same refits, for the new horizon
    assert any(re.search(r"Customer base: 24-month value", unescaped(c.value)) for c in forecast.caption)


def test_subscription_mode_reproduces_the_published_fit_and_reads_cohorts(app):
    app.switch_page("pages/forecast.py").run()
    app.get("button_group")[0].set_value("Subscriptions").run()
    app.radio(key="sbg-source").set_value("Type them in").run()
    assert metric(app, "α") == "0.668" and metric(app, "β") == "3.806"
    app.text_input(key="sbg-text").set_value("1000, 1200, 900").run()
    assert len(app.error) == 1 and "cannot rise" in app.error[0].value
    app.radio(key="sbg-source").set_value("From this dataset").run()
    assert not app.exception and float(metric(app, "α")) > 0


def test_data_too_small_for_the_models_gets_a_message_and_other_pages_still_work(app):
    upload(app, "tiny.csv", b"customer_id,date,amount\n1,2024-01-05,10\n2,2024-01-06,20\n3,2024-02-06,5\n")
    app.switch_page("pages/forecast.py").run()
    assert not app.exception
    assert len(app.error) == 1 and "at least 20 customers" in app.error[0].value
    app.switch_page("pages/cohorts.py").run()
    assert not app.exception and not app.error


def test_subscription_mode_fits_an_uploaded_subscription_file(app):
    rows = ["customer_id,start_date,end_date"]
    for i in range(80):  # most cancel after 1-9 months (earlier ones more often); one in ten stays
        months = [1, 1, 1, 2, 2, 3, 4, 6, 9][i % 9]
        rows.append(f"c{i},2023-01-{1 + i % 28:02d},{'' if i % 10 == 0 else f'2023-{1 + months:02d}-{1 + i % 28:02d}'}")
    app.switch_page("pages/forecast.py").run()
    app.get("button_group")[0].set_value("Subscriptions").run()
    app.radio(key="sbg-source").set_value("Upload subscriptions (start and end dates)").run()
    app.get("file_uploader")[0].set_value(("subs.csv", "\n".join(rows).encode(), "text/csv")).run()
    assert not app.exception and not app.error
    assert any("Columns used: customer id = customer\\_id" in c.value for c in app.caption)
    assert float(metric(app, "α")) > 0 and float(metric(app, "β")) > 0


def test_attributes_are_tested_on_the_holdout_and_explained_in_words(app):
    from clv_core.analysis import Analysis
    from clv_core.ingest import ingest
    from clv_core.samples import sample_bytes

    app.selectbox(key="data-sample").set_value("retail").run()
    app.switch_page("pages/forecast.py").run()
    assert "Choose attributes to see" in text_of(app)
    app.multiselect(key="fc-covariates").set_value(["channel"]).run()
    assert not app.exception, app.exception
    analysis = Analysis(ingest(*sample_bytes("retail")))  # the app's defaults: model chosen on the holdout, weeks
    fit = analysis.covariate_fit(("channel",))
    comparison = analysis.covariate_comparison(("channel",))
    shown = unescaped(text_of(app))
    assert comparison.sentence() in shown
    for line in fit.sentences():
        assert line in shown
    effects = next(d.value for d in app.dataframe if "Purchase rate ×" in d.value.columns)
    assert len(effects) == len(fit.coefficients)
    for shown_factor, gamma in zip(effects["Purchase rate ×"], fit.coefficients["purchase"], strict=True):
        assert shown_factor.startswith(f"×{np.exp(gamma):.2f} (")
    by_level = next(d.value for d in app.dataframe if "difference" in d.value.columns)
    assert by_level["customers"].sum() == len(analysis.summary().table)
    # the CLV without attributes is the forecast's own, level by level
    scenario = analysis.scenario(economics.Economics())
    levels = fit.design.levels["channel"].to_numpy()
    for _, row in by_level.iterrows():
        assert row["without"] == pytest.approx(scenario.clv[levels == row["level"]].mean())
    downloads = [b.label for b in app.get("download_button")]
    assert any(label.startswith("Download CLV with attributes") for label in downloads) == comparison.wins
