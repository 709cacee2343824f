"""Overview, Cohorts and RFM pages through AppTest: content, splits, thresholds, and failure paths."""

from __future__ import annotations

import re

from tests.app.conftest import text_of
from tests.conftest import amount, unescaped


def open_page(app, page: str, sample: str | None = None):
    if sample:
        app.selectbox(key="data-sample").set_value(sample).run()
    app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def test_overview_shows_kpis_concentration_and_the_cohort_sentence_without_a_click(app):
    open_page(app, "pages/overview.py")
    text = text_of(app)
    assert "Customers 23,570" in text and "Revenue $213,330" in text
    assert "Share of revenue from the best customers" in text and "Top 10% of customers 50.9%" in text
    assert re.search(
        r"At 12 months after acquisition, the newest cohort is worth \$[\d.,]+ per customer", unescaped(text)
    )
    assert len(app.get("plotly_chart")) == 3


def test_overview_gives_the_base_value_with_its_interval_as_the_forecast_page_opens(app):
    open_page(app, "pages/overview.py")
    assert not any(m.label.startswith("Customer-base value") for m in app.metric)  # the page opens at once
    app.toggle(key="overview-value").set_value(True).run()
    value = next(m.value for m in app.metric if m.label == "Customer-base value, next 12 months")
    sentence = next(m.value for m in app.markdown if "% interval" in m.value)
    found = re.search(r"interval \*\*(\$[\d,]+) – (\$[\d,]+)\*\*", unescaped(sentence))
    lo, hi = (amount(x) for x in found.groups())
    point = amount(value)
    assert lo < hi and 0.8 * point < lo and hi < 1.2 * point
    assert any(
        c.value.startswith("Model: MBG/NBD for purchases, Gamma–Gamma for spend (the most accurate")
        for c in app.caption
    )
    # CDNOW: MBG/NBD's base value, on every page that shows it (230,114 when its one repeat buyer whose repeat
    # orders came to 0 was valued at the population's mean spend, not at Gamma–Gamma's expectation for them)
    assert value == "$230,113"
    app.switch_page("pages/forecast.py").run()  # the same figure the forecast page opens with
    assert next(m.value for m in app.metric if m.label.startswith("Base value (12 mo")) == value
    # the fit diagnostics are drawn only once opened: a closed section costs a first visit nothing
    assert not any("AIC" in d.value.columns for d in app.dataframe)
    app.session_state["fc-diag"] = True
    app.run()
    comparison = next(d.value for d in app.dataframe if "AIC" in d.value.columns).set_index("model")
    pareto = comparison.loc["Pareto/NBD"]  # CDNOW's customer 14048 makes lifetimes' likelihood NaN; ours is finite
    assert pareto["log-likelihood"] == "-173,328.0" and pareto["note"] == ""
    assert comparison.loc["MBG/NBD", "log-likelihood"] == "-173,294.4"


def test_overview_window_changes_the_comparison(app):
    open_page(app, "pages/overview.py")
    app.get("button_group")[0].set_value("month").run()
    assert "1998-06-01 – 1998-06-30" in text_of(app)


def test_cohorts_page_heatmap_filter_and_projection(app):
    open_page(app, "pages/cohorts.py", sample="retail")
    assert "3,963 customers (all customers) in 24 monthly cohorts" in text_of(app)
    app.selectbox(key="cohort-filter-attr").set_value("channel").run()
    app.selectbox(key="cohort-filter-value").set_value("Email").run()
    assert re.search(r"[\d,]+ customers \(channel = Email\)", text_of(app))
    app.selectbox(key="cohort-project").set_value("2025-04").run()
    assert any("at least 6 are needed" in i.value for i in app.info)
    app.selectbox(key="cohort-project").set_value("2023-07").run()
    assert "Best fit:" in text_of(app)


def test_cohorts_by_week_leave_out_the_partial_week(app):
    open_page(app, "pages/cohorts.py", sample="retail")
    app.get("button_group")[0].set_value("week").run()
    assert "The week 2025-06-30/2025-07-06 is left out" in text_of(app)


def test_rfm_page_segments_quartiles_and_thresholds(app):
    open_page(app, "pages/rfm.py")
    assert "Unused scores (ties): F: 2." in text_of(app)
    segments = app.dataframe[0].value
    assert segments["customers"].sum() == 23570 and segments.index[0] == "Champions"
    lifecycle_before = app.dataframe[-1].value["customers"].to_dict()
    app.number_input(key="rfm-churned").set_value(400).run()
    lifecycle_after = app.dataframe[-1].value["customers"].to_dict()
    assert lifecycle_after["Churned"] < lifecycle_before["Churned"]
    app.get("button_group")[0].set_value(4).run()
    assert not app.exception


def test_rfm_thresholds_that_contradict_each_other_show_a_message(app):
    open_page(app, "pages/rfm.py")
    app.number_input(key="rfm-at-risk").set_value(300).run()
    assert len(app.error) == 1 and "shorter than the churn threshold" in app.error[0].value


def test_survival_page_curves_split_logrank_cox_and_clv(app):
    open_page(app, "pages/survival.py", sample="retail")
    text = text_of(app)
    assert "Suggested 98 days." in text and "Churned" in text
    app.selectbox(key="surv-group").set_value("channel").run()
    assert any("log-rank test" in m.value for m in app.markdown)
    medians = app.dataframe[0].value
    assert set(medians.index) == {"Organic search", "Paid social", "Email", "Referral", "Marketplace"}
    assert any("Concordance" in m.label for m in app.metric)
    assert any("fits best (lowest AIC)" in m.value for m in app.markdown)
    assert any("Expected revenue per new customer" in m.label for m in app.metric)


def array(value):
    """A Plotly JSON array: a list, or (Plotly 6) base64-encoded bytes with their dtype."""
    import base64

    import numpy as np

    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).astype(float)
        return flat.reshape([int(n) for n in str(value["shape"]).split(",")]) if "shape" in value else flat
    return np.asarray(value, dtype=float)


def test_cohort_heatmap_future_cells_come_from_the_model_and_are_marked(app):
    import json

    import numpy as np

    open_page(app, "pages/cohorts.py", sample="retail")
    app.toggle(key="cohort-forecast").set_value(True).run()
    assert any("not who buys in a given period" in c.value for c in app.caption)  # retention: no forecast cells
    app.selectbox(key="cohort-metric").set_value("revenue_per_customer").run()
    assert not app.exception, app.exception
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    observed, forecast = spec["data"]
    assert forecast["name"] == "forecast" and "forecast by" in spec["layout"]["title"]["text"]
    assert forecast["opacity"] < 1 and spec["layout"]["shapes"][0]["type"] == "path"  # pale, and a line between
    seen, ahead = array(observed["z"]), array(forecast["z"])
    assert seen.shape == ahead.shape == (24, 24 + 6)  # 24 monthly cohorts, their ages and 6 months ahead
    assert np.array_equal(np.isnan(seen), ~np.isnan(ahead))  # every cell is observed or forecast, never both
    assert np.all(ahead[~np.isnan(ahead)] >= 0)


def test_survival_by_cohort_beside_the_purchase_models_survival(app):
    import json

    import numpy as np

    open_page(app, "pages/survival.py", sample="retail")
    app.selectbox(key="surv-group").set_value("acquisition quarter").run()
    app.toggle(key="surv-model").set_value(True).run()
    assert not app.exception, app.exception
    chart = json.loads(app.get("plotly_chart")[0].proto.spec)
    named = [t for t in chart["data"] if t.get("showlegend", True) is not False and "name" in t]
    model = [t for t in named if t["name"].endswith(": not yet dropped out")]
    cohorts = [t for t in named if t not in model]
    assert len(model) == 1 and len(cohorts) >= 4  # one curve for everyone, beside each quarter's Kaplan–Meier
    x, y = array(model[0]["x"]), array(model[0]["y"])
    assert y[0] == 1.0 and np.all(np.diff(y) <= 0) and 0 < y[-1] < 1
    name = model[0]["name"].removesuffix(": not yet dropped out")
    note = next(m.value for m in app.markdown if "have not dropped out" in m.value)
    said = float(re.search(r"says (\d+)% of customers", note).group(1))
    assert f"**{name}**" in note and abs(said - 100 * np.interp(365, x, y)) <= 0.5
    app.toggle(key="surv-model").set_value(False).run()
    assert not any(
        "dropped out" in t.get("name", "") for t in json.loads(app.get("plotly_chart")[0].proto.spec)["data"]
    )


def test_survival_threshold_changes_who_churned(app):
    open_page(app, "pages/survival.py")
    before = next(m.value for m in app.metric if m.label == "Churned")
    app.slider(key="surv-inactivity").set_value(350).run()
    after = next(m.value for m in app.metric if m.label == "Churned")
    assert float(after.rstrip("%")) < float(before.rstrip("%"))


def test_survival_headline_states_the_lifetime_it_measures(app):
    """On CDNOW half the customers buy once: the median lifetime is not "1 day" but at least the churn window,
    the definition is printed beside it, one-time buyers are counted apart, and ending lifetimes at the last
    purchase instead is a choice that changes the number."""
    open_page(app, "pages/survival.py")
    window = app.slider(key="surv-inactivity").value
    median = next(m for m in app.metric if m.label == "Median lifetime")
    months = int(median.value.split()[0])
    assert median.value.endswith("months") and months * 30.4375 >= window
    sentence = next(m.value for m in app.markdown if "bought once and have churned" in m.value)
    assert f"last purchase + {window} days (when the churn is recognised)" in sentence
    assert "of the " in sentence and "who came back" in sentence
    app.selectbox(key="surv-end").set_value("At the last purchase").run()
    assert not app.exception, app.exception
    assert next(m.value for m in app.metric if m.label == "Median lifetime") != median.value
    assert any("last purchase + 1 day." in m.value for m in app.markdown)


def test_survival_cox_with_no_attribute_says_so(app):
    open_page(app, "pages/survival.py")
    app.multiselect(key="surv-cox").set_value([]).run()
    assert any("Choose at least one attribute" in w.value for w in app.warning)
