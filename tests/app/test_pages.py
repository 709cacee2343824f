"""Every page through AppTest, and the Data page's journeys: samples, uploads, mistakes, choices."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from clv_app import sources
from clv_core.samples import sample_bytes
from tests.app.conftest import APP, text_of, upload
from tests.conftest import ROOT

PAGE_FILES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py"))


def test_every_page_file_is_registered_in_the_navigation():
    app_source = (ROOT / "clv_app" / "navigation.py").read_text()
    assert PAGE_FILES and all(f'"{page}"' in app_source for page in PAGE_FILES)


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_page_runs_without_exception(app, page):
    app.switch_page(page).run()
    assert not app.exception, app.exception
    assert app.title, f"{page} shows no title"


def test_a_fresh_session_opens_on_the_real_cdnow_data(app):
    text = text_of(app)
    assert "Rows read 69,659" in text and "Customers 23,570" in text
    assert "Dates read as YYYYMMDD" in text
    assert "CDNOW" in app.sidebar.markdown[0].value


def test_the_app_opens_on_the_overview_and_shows_no_arrow_that_cannot_move():
    """Executives first: a fresh visit lands on the Overview of the CDNOW data, the Data page is the next link.
    Customers to date can only grow: the card says how many were added, in grey, without an arrow; CDNOW's
    repeat-purchase rate is 100 % in both quarters (everyone was acquired in 1997's first quarter): "unchanged",
    in grey. Revenue moves either way and keeps its coloured arrow."""
    from streamlit.proto.Metric_pb2 import Metric

    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    assert "Revenue concentration" in [s.value for s in at.subheader]
    cards = {m.label: m.proto for m in at.metric}
    customers, repeat, revenue = cards["Customers"], cards["Repeat-purchase rate"], cards["Revenue"]
    assert customers.delta == "no new customers" and customers.color == Metric.MetricColor.GRAY  # none since 1997
    assert customers.direction == Metric.MetricDirection.NONE
    assert repeat.body == "100.0%" and repeat.delta == "unchanged" and repeat.color == Metric.MetricColor.GRAY
    assert re.fullmatch(r"[+-]\d+\.\d%", revenue.delta) and revenue.color in (
        Metric.MetricColor.GREEN,
        Metric.MetricColor.RED,
    )


def test_switching_sample_loads_it_and_reports_returns(app):
    app.selectbox(key="data-sample").set_value("retail").run()
    assert not app.exception
    text = text_of(app)
    assert "netted against the purchases they refund" in text
    assert re.search(r"Customers 3,9\d\d", text)
    assert "Synthetic coffee shop" in app.sidebar.markdown[0].value


def test_uploaded_csv_is_loaded_reported_and_summarised(app):
    csv = b"Customer ID;Invoice Date;Sales Amount\n0007;13/01/2024;10,50\n0007;20/01/2024;5,25\n8;14/01/2024;3\n"
    upload(app, "shop.csv", csv)
    assert not app.exception and not app.error
    text = text_of(app)
    assert "Rows read 3" in text and "Customers 2" in text
    assert "DD/MM/YYYY" in text and "decimal mark ','" in text
    summary = app.dataframe[-1].value
    assert summary.set_index("customer_id").loc["0007", "frequency"] == 1
    assert app.sidebar.markdown[0].value == "**shop\\.csv**"


def test_a_bad_upload_shows_one_message_and_keeps_the_previous_dataset(app):
    upload(app, "picture.csv", b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert not app.exception
    assert len(app.error) == 1 and "looks like a PNG image" in app.error[0].value.replace("\\", "")
    assert "Rows read 69,659" in text_of(app)  # CDNOW is still the active dataset
    assert "CDNOW" in app.sidebar.markdown[0].value


def test_ambiguous_dates_are_flagged_and_the_order_can_be_switched(app):
    upload(app, "amb.csv", b"customer_id,date,amount\n1,01/02/2024,1\n1,03/02/2024,2\n")
    assert any("Ambiguous dates" in w.value for w in app.warning)
    preview = app.dataframe[-2].value
    assert preview["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-02-01", "2024-02-03"]
    app.radio(key="opt-date-order").set_value("month-first").run()
    preview = app.dataframe[-2].value
    assert preview["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-02", "2024-03-02"]
    assert not any("Ambiguous dates" in w.value for w in app.warning)


def test_ambiguous_columns_ask_and_load_once_chosen(app):
    upload(app, "two.csv", b"customer_id,date,Sales,Revenue\n1,2024-01-05,10,11\n2,2024-01-06,20,21\n")
    assert any("could be the amount" in w.value for w in app.warning)
    assert "Rows read 69,659" in text_of(app)  # nothing loaded until the user chooses
    amount = next(s for s in app.selectbox if s.label == "Amount")
    amount.set_value("Revenue").run()
    assert "Rows read 2" in text_of(app)
    assert app.dataframe[-2].value["amount"].tolist() == [11.0, 21.0]


def test_returns_policy_changes_the_loaded_data(app):
    data, name = sample_bytes("retail")
    upload(app, name, data)
    kept_net = int(re.search(r"Transactions kept ([\d,]+)", text_of(app)).group(1).replace(",", ""))
    app.selectbox(key="opt-returns").set_value("keep").run()
    kept_all = int(re.search(r"Transactions kept ([\d,]+)", text_of(app)).group(1).replace(",", ""))
    assert kept_all > kept_net


def test_summary_time_unit_changes_t(app):
    weeks = app.dataframe[-1].value["T"].max()
    app.get("button_group")[0].set_value("days").run()
    assert app.dataframe[-1].value["T"].max() == pytest.approx(weeks * 7)


def revisit(app):
    """The Data page as it runs after another page was shown: app state kept, every widget value forgotten
    (Streamlit drops the widget state of pages that are not rendered)."""
    fresh = AppTest.from_file(APP, default_timeout=300)
    for key in (sources.TRANSACTIONS, sources.DATASET_LABEL, sources.DATASET_SOURCE):
        fresh.session_state[key] = app.session_state[key]
    fresh.switch_page("pages/data.py")
    fresh.run()
    assert not fresh.exception, fresh.exception
    return fresh


def test_returning_to_the_data_page_keeps_the_active_dataset_and_its_options(app):
    app.selectbox(key="data-sample").set_value("retail").run()
    app.selectbox(key="opt-returns").set_value("keep").run()
    before = text_of(app.run())  # a rerun: the loading steps are shown only on the run that did the work
    again = revisit(app)
    assert again.selectbox(key="data-sample").value == "retail"
    assert again.selectbox(key="opt-returns").value == "keep"
    assert text_of(again) == before
    assert "Synthetic coffee shop" in again.sidebar.markdown[0].value


def test_returning_after_an_upload_does_not_swap_in_a_sample(app):
    upload(app, "shop.csv", b"customer_id,date,amount\n1,2024-01-05,10\n2,2024-01-06,20\n")
    again = revisit(app)
    assert again.radio(key="data-source").value == "Upload a file"
    assert again.sidebar.markdown[0].value == "**shop\\.csv**"
    assert "Rows read 2" in text_of(again)


def test_excel_upload_offers_the_sheets_and_a_wrong_sheet_keeps_the_data(app):
    from tests.unit.test_ingest_bad_inputs import _xlsx

    book = _xlsx(
        {
            "Notes": [["Exported", "by"], ["finance", "team"]],
            "Orders": [["Customer", "Order Date", "Revenue"], ["A1", "2024-01-05", 10], ["A2", "2024-01-06", 20]],
        }
    )
    upload(app, "book.xlsx", book)
    sheet = app.selectbox(key="sheet-book.xlsx")
    assert sheet.options == ["Notes", "Orders"] and sheet.value == "Orders"
    assert "Rows read 2" in text_of(app)
    sheet.set_value("Notes").run()
    assert not app.exception
    assert len(app.error) == 1 and "Column for customer id not found" in app.error[0].value.replace("\\", "")
    assert "Rows read 2" in text_of(app)  # the Orders sheet stays loaded


def test_a_file_without_an_amount_column_says_which_columns_it_has(app):
    upload(app, "no-amount.csv", b"customer_id,date\n1,2024-01-05\n")
    assert len(app.error) == 1
    assert "Column for amount not found. Columns in file: customer_id, date." in app.error[0].value.replace("\\", "")
    assert "Rows read 69,659" in text_of(app)


def test_loading_shows_its_steps_once_and_offers_the_full_tables(app):
    rows = "".join(f"c{i % 1500},2024-{1 + i % 12:02d}-{1 + i % 28:02d},{5 + i % 7}\n" for i in range(3000))
    upload(app, "big.csv", b"customer_id,date,amount\n" + rows.encode())
    assert not app.exception and not app.error
    loading = [s for s in app.get("status") if s.label.startswith("Loading big")]
    assert len(loading) == 1 and loading[0].state == "complete" and "done in" in loading[0].label
    steps = " ".join(m.value for m in loading[0].markdown)
    assert "Cleaning 3,000 rows" in steps and "Summarising 1,500 customers" in steps
    previews = [d.value for d in app.dataframe if {"customer_id", "amount"} <= set(d.value.columns)]
    assert [len(p) for p in previews] == [1000]  # the preview is capped; the download has every row
    buttons = {b.proto.label for b in app.get("download_button")}
    assert "Download all cleaned transactions (CSV): 3,000 rows" in buttons
    assert "Download the customer summary (CSV): 1,500 rows" in buttons
    app.run()  # a rerun finds everything cached: no status box
    assert not [s for s in app.get("status") if s.label.startswith("Loading")]
