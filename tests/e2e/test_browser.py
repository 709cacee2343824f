"""Browser journeys on the real server: open the app, upload a file, read the report, open the summary."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.conftest import amount
from tests.e2e.conftest import wait_for_run

pytestmark = pytest.mark.e2e

# 30 rows: customer 00042 buys on 3 days, 27 one-off buyers, and one row whose date cannot be read
CSV = "Customer ID,Order Date,Amount\n00042,2024-01-05,$10.00\n00042,2024-02-05,$30.00\n00042,2024-02-05,$30.00\n"
CSV += "".join(f"{100 + i},2024-01-{i + 1:02d},$5.00\n" for i in range(26)) + "8,not a date,$1.00\n"


def upload(page, server, path) -> None:
    """Open the Data page, choose "Upload a file" and give it ``path``."""
    page.goto(f"{server}/data")
    page.get_by_text("Data quality").wait_for()
    page.get_by_text("Upload a file").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))


def metric(page, label: str) -> str:
    """The value of the metric card whose label is exactly ``label``."""
    name = page.locator('[data-testid="stMetricLabel"]').filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    box = page.locator('[data-testid="stMetric"]').filter(has=name)
    expect(box).to_have_count(1)  # a rerun may show the stale card beside the new one for a moment
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def test_the_overview_opens_at_the_root_url_and_the_data_page_is_one_click_away(page, server):
    page.goto(server)
    page.get_by_text("Revenue concentration", exact=True).wait_for()
    wait_for_run(page)
    assert metric(page, "Customers") == "23,570"
    assert nav_titles(page)[:2] == ["Overview", "Data"]
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Data").first.click()
    page.get_by_text("Data quality").wait_for()
    wait_for_run(page)
    assert metric(page, "Rows read") == "69,659"
    assert page.url.rstrip("/").split("?")[0].endswith("/data")
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_link_opens_the_customer_equity_with_its_bridge(page, server):
    """CDNOW follows the buyers of early 1997: today's customers are the whole equity, and the page says why."""
    page.goto(f"{server}/?overview-equity=true&equity-years=5")
    page.get_by_text("No customer was acquired in the last 12 complete months", exact=False).wait_for(timeout=300_000)
    wait_for_run(page)
    assert metric(page, "Customer equity, 5 yr") == metric(page, "Current customers")
    assert metric(page, "Future customers") == "$0"
    page.locator(".js-plotly-plot .waterfalllayer .point").first.wait_for()  # the bridge is drawn
    page.get_by_text("What moves it").wait_for()  # and the sensitivities' table under it
    assert page.locator('[data-testid="stException"]').count() == 0
    from tests.e2e.test_accessibility import CUT_CARDS

    for width in (1280, 800):  # four columns of cards cut their amounts at 800 px
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(500)
        assert page.evaluate(CUT_CARDS) == [], width


def choose_sample(page, server, label: str) -> None:
    """Pick the bundled sample whose label starts with ``label`` on the Data page and wait until it is active."""
    page.goto(f"{server}/data")
    wait_for_run(page)
    page.locator('[data-testid="stSelectbox"]').filter(has_text=re.compile(r"^\s*Sample\s*$")).click()
    page.get_by_role("option", name=re.compile(re.escape(label))).click()
    page.locator('[data-testid="stSidebar"]').get_by_text(f"Sample: {label}").wait_for()
    wait_for_run(page)


def choose_the_retail_sample(page, server) -> None:
    choose_sample(page, server, "Synthetic coffee shop")


def test_yearly_donations_get_the_fixed_opportunities_model(page, server):
    """The donations sample: the forecast page offers BG/BB and shows Fader, Hardie & Shang's estimates."""
    choose_sample(page, server, "Yearly donations")
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text="CLV forecast").click()
    page.locator('[data-testid="stButtonGroup"]').get_by_text("Fixed purchase opportunities", exact=True).click()
    page.get_by_text("7 opportunities about every 365 days").first.wait_for(timeout=300_000)
    wait_for_run(page)
    assert metric(page, "Opportunities in 12 months") == "1"
    page.locator(".js-plotly-plot").first.wait_for()  # the CLV histogram
    assert page.locator('[data-testid="stException"]').count() == 0


def test_subscriptions_and_purchases_on_the_forecast_page(page, server):
    """The retail sample's subscribers who also shop: both parts as cards, the retention chart, no error."""
    choose_the_retail_sample(page, server)
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text="CLV forecast").click()
    page.locator('[data-testid="stButtonGroup"]').get_by_text("Subscriptions and purchases", exact=True).click()
    page.get_by_text("Subscribers still paying").first.wait_for(timeout=300_000)
    wait_for_run(page)
    assert metric(page, "Subscription value (12 mo)").startswith("$")
    assert metric(page, "Active subscribers").endswith("of 475")
    assert page.locator('[data-testid="stException"]').count() == 0


def test_the_products_page_on_a_shop_with_products(page, server):
    """The retail sample chosen on the Data page, then Products from the navigation: the value by category, the
    adoption matrix and the lifetime comparison drawn, nothing cut sideways at 1280 and 800 px."""
    choose_the_retail_sample(page, server)
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Products").click()
    page.get_by_text("Customers who bought 2+ categories in their first 90 days").wait_for(timeout=300_000)
    wait_for_run(page)
    page.locator(".js-plotly-plot .heatmaplayer").first.wait_for()  # the adoption matrix
    assert page.locator(".js-plotly-plot").count() == 3  # value by category, adoption, lifetimes by breadth
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    for width in (1280, 800):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(500)
        main = "document.querySelector('[data-testid=\"stMain\"]')"
        overflow = page.evaluate(f"{main}.scrollWidth - {main}.clientWidth")  # wider than its own box: sideways
        assert overflow <= 0, (width, overflow)


def test_upload_a_csv_see_the_quality_report_and_the_summary(page, server, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(CSV)
    upload(page, server, path)
    page.get_by_text("Dates read as ISO 8601").wait_for()
    wait_for_run(page)
    assert metric(page, "Rows read") == "30"
    assert metric(page, "Customers") == "27"
    assert metric(page, "Rows dropped") == "1"
    page.get_by_text("unreadable or missing date").first.wait_for(state="attached")  # grid cells are canvas-drawn
    assert "orders.csv" in page.locator('[data-testid="stSidebar"]').inner_text()

    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("Download the quality report")).click()
    report = json.loads(Path(download.value.path()).read_text())
    assert report["rows_read"] == 30 and report["dropped"][0]["examples"][0]["value"] == "not a date"

    page.get_by_role("tab", name="Customer summary").click()
    page.get_by_text("27 customers, observed to 2024-02-05").wait_for()


def test_an_upload_is_still_open_after_the_browser_reloads_the_page(page, server, tmp_path):
    path = tmp_path / "kept.csv"
    path.write_text(CSV)
    upload(page, server, path)
    page.get_by_text("Dates read as ISO 8601").wait_for()
    wait_for_run(page)
    page.wait_for_url(re.compile(r"[?&]dataset=[0-9a-f]{16}"))
    page.reload()
    page.get_by_text("Data quality").wait_for()
    wait_for_run(page)
    assert "kept.csv" in page.locator('[data-testid="stSidebar"]').inner_text()
    assert metric(page, "Customers") == "27"
    page.goto(f"{server}/cohorts?{page.url.split('?', 1)[1]}")  # the address carries it to any page
    page.get_by_text("Cohort comparison").wait_for()
    assert "kept.csv" in page.locator('[data-testid="stSidebar"]').inner_text()
    page.goto(f"{server}/?{page.url.split('?', 1)[1]}")  # the Overview, at the root
    page.get_by_text("Revenue concentration", exact=True).wait_for()
    assert "kept.csv" in page.locator('[data-testid="stSidebar"]').inner_text()


def test_a_bad_file_shows_a_message_and_the_previous_data_stays(page, server, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b"<!DOCTYPE html><html><body>Login</body></html>")
    upload(page, server, path)
    page.get_by_text("is a web page (HTML)").wait_for()
    wait_for_run(page)
    assert metric(page, "Rows read") == "69,659"
    assert page.locator('[data-testid="stException"]').count() == 0


PAGES = {  # url path → text that shows the page rendered with the sample's numbers
    "": "Revenue concentration",
    "data": "Data quality",
    "cohorts": "Cohort comparison",
    "rfm": "Named segments",
    "products": "No product or category column is mapped",  # the default sample has none: a sentence, not a chart
    "survival": "Share of customers still active",
    "forecast": "Top customers",
    "acquisition": "Add what was spent on marketing",  # no spend loaded: what to upload, and the template
    "validation": "The ML challenger",
    "segments": "Customer list",
}
NAV_TITLES = [
    "Overview",
    "Data",
    "Cohorts",
    "RFM & lifecycle",
    "Products",
    "Survival",
    "CLV forecast",
    "Acquisition & CAC",
    "Model validation",
    "Segments & export",
]


def nav_titles(page) -> list[str]:
    links = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
    return [t.strip().split("\n")[-1] for t in links]  # the text before the title is the icon's name


def test_a_deep_link_as_the_first_visit_gets_the_app_navigation(page, fresh_server):
    page.goto(f"{fresh_server}/cohorts")
    page.get_by_text(PAGES["cohorts"]).wait_for()
    wait_for_run(page)
    assert nav_titles(page) == NAV_TITLES  # not the file names of pages/ auto-discovery
    assert page.locator('[data-testid="stException"]').count() == 0


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_opens_by_its_url(page, server, path):
    page.goto(f"{server}/{path}")
    # visible: a step of a finished (collapsed) status can hold the same words ("…and the ML challenger…")
    page.get_by_text(PAGES[path]).filter(visible=True).first.wait_for(timeout=300_000)
    wait_for_run(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert nav_titles(page) == NAV_TITLES


def test_moving_the_horizon_slider_updates_the_forecast(page, server):
    page.goto(f"{server}/forecast")
    page.get_by_text("Top customers").wait_for(timeout=300_000)
    wait_for_run(page)
    before = metric(page, "Base value (12 mo)")
    handle = page.get_by_role("slider", name="Horizon (months)")
    handle.focus()
    for _ in range(12):
        page.keyboard.press("ArrowRight")
    page.get_by_text("Base value (24 mo, extrapolated)").wait_for()  # CDNOW has 18 months of history
    wait_for_run(page)
    after = metric(page, "Base value (24 mo, extrapolated)")
    assert amount(after) > amount(before)
    assert page.get_by_text("24 months is past the 18 months of history").count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_section_drawn_once_opened_fills_when_clicked_and_folds_back(page, server):
    """The forecast's fit diagnostics cost a first visit nothing: a click opens them, drawn by a rerun."""
    page.goto(f"{server}/forecast")
    page.get_by_text("Top customers").wait_for(timeout=300_000)
    wait_for_run(page)
    comparison = page.get_by_text("Model comparison (lower AIC/BIC is better)")
    assert comparison.count() == 0
    page.get_by_text("Fit diagnostics: parameters, model comparison").click()
    comparison.wait_for(timeout=120_000)
    wait_for_run(page)
    assert comparison.is_visible() and page.locator('[data-testid="stException"]').count() == 0
    page.get_by_text("Fit diagnostics: parameters, model comparison").click()
    expect(comparison).to_be_hidden()


def test_download_a_filtered_segment_list_with_the_stated_row_count(page, server):
    page.goto(f"{server}/segments")
    page.get_by_text("Customer list").wait_for(timeout=300_000)
    wait_for_run(page)
    everyone = metric(page, "Customers in the list")
    box = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Value group").locator("input")
    box.click()
    box.fill("Top value")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    for _ in range(100):  # the list is refiltered by a rerun: wait for the stated count to change
        wait_for_run(page)
        if metric(page, "Customers in the list") != everyone:
            break
    stated = int(metric(page, "Customers in the list").replace(",", ""))
    assert stated < int(everyone.replace(",", ""))
    assert "seg-f-group=Top+value" in page.url  # the list's filter is in its link
    button = page.get_by_role("button", name=f"Download CSV ({stated:,} rows)")  # the button updates after the count
    button.wait_for()
    wait_for_run(page)
    with page.expect_download() as download:
        button.click()
    assert download.value.suggested_filename.startswith("clv-top-value-")
    rows = pd.read_csv(download.value.path(), encoding="utf-8-sig", dtype={"customer_id": str})
    assert len(rows) == stated > 0 and set(rows["value_group"]) == {"Top value"}

    # The assumptions travel with the list: as JSON under the same name, and on the Excel file's second sheet.
    wait_for_run(page)  # the page is idle before each click
    with page.expect_download() as download:
        page.get_by_role("button", name="Assumptions of this list (JSON)").click()
    stem = Path(download.value.suggested_filename).name.removesuffix(".assumptions.json")
    assert stem.startswith("clv-top-value-")
    about = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert about["rows"] == stated and about["economics"]["horizon (months)"] == 12
    assert set(about["model: MBG/NBD"]["parameters"]) == {"r", "alpha", "a", "b"}  # CDNOW's holdout winner
    assert about["settings"]["filters"]["value_groups"] == ["Top value"]
    assert about["settings"]["glossary"]["value group"].startswith("Rank of predicted CLV")
    assert set(about["columns"]) == set(rows.columns)
    wait_for_run(page)
    with page.expect_download() as download:
        page.get_by_role("button", name=f"Download Excel ({stated:,} rows)").click()
    assert download.value.suggested_filename == f"{stem}.xlsx"
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()), read_only=True)
    settings = {r[0]: r[1] for r in book["assumptions"].iter_rows(min_row=2, values_only=True)}
    r = about["model: MBG/NBD"]["parameters"]["r"]
    assert settings["model: MBG/NBD / parameters / r"] == pytest.approx(r, rel=1e-12)


def test_a_shared_link_opens_the_same_view_and_the_address_follows_it(page, server):
    page.goto(f"{server}/forecast?horizon=24&margin=0.5")
    page.get_by_text("Base value (24 mo, extrapolated)").wait_for(timeout=300_000)
    wait_for_run(page)
    assert "horizon=24" in page.url and "margin=0.5" in page.url
    handle = page.get_by_role("slider", name="Horizon (months)")
    handle.focus()
    for _ in range(6):
        page.keyboard.press("ArrowLeft")
    page.get_by_text("Base value (18 mo)").wait_for()
    wait_for_run(page)
    page.wait_for_url(re.compile(r"horizon=18"))
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_pages_own_settings_follow_the_address_and_leave_it_with_the_page(page, server):
    """A page's widgets are bound to the query string by Streamlit: the address follows a click, a reload keeps the
    view, and another page drops them while the shared settings stay."""
    page.goto(f"{server}/cohorts?cohort-period=quarter&horizon=24")
    page.get_by_text(re.compile(r"in \d+ quarterly cohorts?")).wait_for(timeout=300_000)
    wait_for_run(page)
    page.locator('[data-testid="stButtonGroup"]').get_by_text("week", exact=True).click()
    page.wait_for_url(re.compile(r"cohort-period=week"))
    page.get_by_text(re.compile(r"in \d+ weekly cohorts")).wait_for()
    wait_for_run(page)
    assert "horizon=24" in page.url

    page.reload()
    page.get_by_text(re.compile(r"in \d+ weekly cohorts")).wait_for(timeout=300_000)
    wait_for_run(page)
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text="RFM & lifecycle").first.click()
    page.wait_for_url(re.compile(r"/rfm"))
    wait_for_run(page)
    page.wait_for_timeout(500)
    assert "cohort-period" not in page.url and "horizon=24" in page.url, page.url
    assert page.locator('[data-testid="stException"]').count() == 0


def test_an_invoice_line_export_uploads_with_no_options_set(page, server, tmp_path):
    """The Online Retail shape built from the CDNOW sample (tests/unit/test_invoice_lines.py): cancellations,
    partial returns, guest rows, float ids, m/d/yyyy h:mm dates and a refund of a product never bought."""
    from tests.conftest import DATASETS, load
    from tests.unit.test_invoice_lines import invoice_file

    cdnow = load((DATASETS / "CDNOW_sample.txt").read_bytes(), "CDNOW_sample.txt").data
    data, foreign = invoice_file(cdnow, partial_returns=True, foreign_refund=True)
    path = tmp_path / "Online Retail.csv"
    path.write_bytes(data)
    upload(page, server, path)
    page.get_by_text(re.compile(r"^Revenue kept ")).first.wait_for()
    wait_for_run(page)
    assert metric(page, "Customers") == f"{cdnow['customer_id'].nunique():,}"
    assert metric(page, "Rows dropped") == f"{-(-len(cdnow) // 100)}"  # the guest rows: one every 100 invoices
    page.get_by_text(f"{foreign} refunds (").first.wait_for()  # named, not netted against other purchases

    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("Download the quality report")).click()
    report = json.loads(Path(download.value.path()).read_text())
    assert report["mapping"]["product"] == "StockCode" and report["mapping"]["order_id"] == "InvoiceNo"
    assert report["revenue_kept"] == pytest.approx(cdnow["amount"].sum(), rel=1e-9)
    assert report["refunds_unmatched"]["rows"] == foreign and report["duplicate_rows"] == 1
