"""Shareable views: a link's query string opens the same page, sliders and filters; the shared settings follow
every page. (A page's own widgets are bound to the URL by Streamlit, which updates the address from the browser:
tests/e2e/test_browser.py checks that the address follows them.)"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP


def param(at: AppTest, key: str) -> list[str]:
    value = at.query_params[key]
    return value if isinstance(value, list) else [value]


def opened_with(page: str = "pages/data.py", **params) -> AppTest:
    """A new session opened by a link to ``page`` with ``params`` (``cohort_period`` is ``cohort-period``), on the
    1/10 sample: chosen on the Data page by an earlier session, so kept in the workspace, and named by the link."""
    chooser = AppTest.from_file(APP, default_timeout=300)
    chooser.switch_page("pages/data.py").run()
    chooser.selectbox(key="data-sample").set_value("cdnow_sample").run()
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["dataset"] = chooser.query_params["dataset"]
    for key, value in params.items():
        at.query_params[key.replace("_", "-")] = value
    at.switch_page(page).run()
    return at


def test_a_forecast_link_opens_its_sliders_and_the_url_follows_the_shared_settings():
    at = opened_with("pages/forecast.py", horizon="24", rate="0.2", margin="0.5", model="paretonbd")
    assert not at.exception, at.exception
    assert at.slider(key="horizon").value == 24 and at.slider(key="rate").value == 0.2
    assert at.slider(key="margin").value == 0.5 and at.selectbox(key="model").value == "paretonbd"
    assert any(m.label == "Base value (24 mo, extrapolated)" for m in at.metric)
    assert param(at, "horizon") == ["24"] and param(at, "model") == ["paretonbd"]
    at.session_state["fc-diag"] = True  # the fit diagnostics, drawn once opened
    at.run()
    assert any("not available for Pareto/NBD" in c.value for c in at.caption)  # said, not a traceback
    at.slider(key="horizon").set_value(6).run()
    assert param(at, "horizon") == ["6"]  # the address bar holds what is on screen


def test_the_model_and_economics_chosen_once_follow_every_page_and_its_link():
    at = opened_with("pages/forecast.py")
    at.selectbox(key="model").set_value("bgnbd").run()
    at.slider(key="horizon").set_value(18).run()
    for page in ("pages/segments.py", "pages/overview.py", "pages/rfm.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert param(at, "model") == ["bgnbd"] and param(at, "horizon") == ["18"], page  # in every page's link
    at.switch_page("pages/segments.py").run()
    assert at.slider(key="horizon").value == 18  # the Segments page scores with the forecast's economics
    assert any(c.value.startswith("Model: BG/NBD for purchases") for c in at.caption)
    assert any("P(alive) is 1 for every one-time buyer" in c.value for c in at.caption)  # said beside P(alive)
    at.switch_page("pages/forecast.py").run()
    assert at.selectbox(key="model").value == "bgnbd" and at.slider(key="horizon").value == 18  # not forgotten


def test_a_mangled_link_falls_back_to_the_defaults_without_an_error():
    at = opened_with("pages/forecast.py", horizon="999", rate="lots", churn="9", model="<script>", unit="")
    assert not at.exception, at.exception
    assert at.slider(key="horizon").value == 12 and at.slider(key="rate").value == 0.1
    assert at.select_slider(key="churn").value == 1.0 and at.selectbox(key="unit").value == "weeks"
    assert at.selectbox(key="model").value == "auto"


def test_a_segment_link_opens_the_same_customer_list():
    by_hand = opened_with("pages/segments.py")
    by_hand.multiselect(key="seg-f-group").set_value(["Top value"]).run()
    by_hand.toggle(key="seg-f-slip").set_value(True).run()
    count = next(m.value for m in by_hand.metric if m.label == "Customers in the list")
    link = {k: param(by_hand, k) for k in by_hand.query_params}
    assert "dataset" in link  # the 1/10 sample, chosen by hand, is kept in the workspace: the link carries it
    link |= {"seg-f-group": ["Top value"], "seg-f-slip": ["true"]}  # what the browser's address gets

    at = AppTest.from_file(APP, default_timeout=300)
    for key, values in link.items():
        at.query_params[key] = values
    at.switch_page("pages/segments.py").run()  # the link's page, opened: no need to choose the sample again
    assert not at.exception, at.exception
    assert "CDNOW 1/10 sample" in "\n".join(str(m.value) for m in at.sidebar.markdown).replace("\\", "")
    assert at.multiselect(key="seg-f-group").value == ["Top value"] and at.toggle(key="seg-f-slip").value
    assert next(m.value for m in at.metric if m.label == "Customers in the list") == count


def test_cohort_and_overview_links():
    at = opened_with("pages/cohorts.py", cohort_period="quarter", cohort_metric="Revenue per original customer")
    assert not at.exception
    assert at.get("button_group")[0].value == "quarter" and at.selectbox(key="cohort-metric").value == (
        "revenue_per_customer"
    )
    at = opened_with("pages/overview.py", overview_window="year", overview_value="true")
    assert not at.exception and at.get("button_group")[0].value == "year" and at.toggle(key="overview-value").value
    assert param(at, "overview-window") == ["year"]  # the link's value stays in the address


def test_rfm_survival_and_validation_links():
    at = opened_with("pages/rfm.py", rfm_bins="Quartiles", rfm_churned="365")
    assert not at.exception, at.exception
    assert at.get("button_group")[0].value == 4 and at.number_input(key="rfm-churned").value == 365
    assert any("365 days" in m.value for m in at.markdown)  # the lifecycle rules use the linked threshold
    at = opened_with("pages/survival.py", surv_inactivity="140", surv_group="RFM segment", horizon="36")
    assert not at.exception, at.exception
    assert at.slider(key="surv-inactivity").value == 140 and at.selectbox(key="surv-group").value == "RFM segment"
    assert at.slider(key="horizon").value == 36  # the shared horizon, also the survival-based CLV's
    assert param(at, "surv-inactivity") == ["140"] and param(at, "surv-group") == ["RFM segment"]
    at = opened_with("pages/validation.py", val_end="1997-06-30", unit="days")
    assert not at.exception, at.exception
    assert str(at.date_input(key="val-end").value) == "1997-06-30" and at.selectbox(key="unit").value == "days"
    assert param(at, "val-end") == ["1997-06-30"]


def test_a_link_to_a_survival_split_the_data_does_not_have_falls_back():
    at = opened_with("pages/survival.py", surv_group="favourite colour", surv_inactivity="99999", surv_fit="maybe")
    assert not at.exception
    assert at.selectbox(key="surv-group").value == "(all customers)"
    assert at.slider(key="surv-inactivity").value != 99999 and not at.toggle(key="surv-fit").value
    assert not {"surv-group", "surv-inactivity", "surv-fit"} & set(at.query_params)  # dropped from the address


def test_a_link_made_before_the_settings_were_shared_still_opens_its_view():
    at = opened_with("pages/segments.py", fc_horizon="24", fc_model="bgnbd", seg_margin="0.5")
    assert not at.exception, at.exception
    assert at.slider(key="horizon").value == 24 and at.slider(key="margin").value == 0.5
    assert any(c.value.startswith("Model: BG/NBD for purchases") for c in at.caption)
    assert param(at, "horizon") == ["24"] and "fc-horizon" not in at.query_params  # rewritten in today's names


def test_a_link_made_before_the_binding_opens_its_switches_and_choices():
    """Older links wrote switches as 1/0 and choices as their keys: rewritten as the session opens."""
    at = opened_with("pages/cohorts.py", cohort_metric="revenue_per_customer", cohort_forecast="1")
    assert not at.exception, at.exception
    assert at.selectbox(key="cohort-metric").value == "revenue_per_customer" and at.toggle(key="cohort-forecast").value
    assert param(at, "cohort-metric") == ["Revenue per original customer"] and param(at, "cohort-forecast") == ["true"]
    at = opened_with("pages/rfm.py", rfm_bins="4")
    assert at.get("button_group")[0].value == 4


def test_a_setting_of_a_widget_drawn_later_stays_in_the_link_until_it_is_drawn():
    """The parametric fit's switch shows only with all customers: a link's value waits for it."""
    at = opened_with("pages/survival.py", surv_group="RFM segment", surv_fit="true")
    assert not at.exception, at.exception
    assert not any(t.key == "surv-fit" for t in at.toggle) and param(at, "surv-fit") == ["true"]
    at.selectbox(key="surv-group").set_value("(all customers)").run()
    assert at.toggle(key="surv-fit").value
