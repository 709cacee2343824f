"""Acquisition & CAC page through AppTest: the template and the sentence without spend, a spend upload giving the
channel table from the scoring chain, the CAC slider starting at the blended CAC, and bad uploads as messages."""

from __future__ import annotations

import pandas as pd
import pytest

from clv_core import spend
from clv_core.analysis import Analysis
from clv_core.economics import Economics
from clv_core.ingest import ingest
from clv_core.samples import sample_bytes
from tests.app.conftest import text_of

SPEND = b"month,channel,spend\n" + b"".join(
    f"2024-{m:02d},{c},{s}\n".encode()
    for m in range(7, 13)
    for c, s in (
        ("Organic search", 500),
        ("Paid social", 4000),
        ("Email", 300),
        ("Referral", 800),
        ("Marketplace", 900),
        ("TV", 50),
    )
)


@pytest.fixture
def acquisition(app):
    app.selectbox(key="data-sample").set_value("retail").run()
    app.switch_page("pages/acquisition.py").run()
    assert not app.exception, app.exception
    return app


def test_without_spend_the_page_says_what_to_upload_and_offers_a_template(acquisition):
    assert "Add what was spent on marketing per channel and month" in text_of(acquisition)
    templates = [b for b in acquisition.get("download_button") if b.label.startswith("Download a spend template")]
    assert len(templates) == 1
    assert not acquisition.metric


def test_uploaded_spend_gives_cac_and_ltv_to_cac_by_channel_and_sets_the_cac_slider(acquisition):
    acquisition.get("file_uploader")[0].set_value(("spend.csv", SPEND, "text/csv"))
    acquisition.run()
    assert not acquisition.exception, acquisition.exception
    tx = ingest(*sample_bytes("retail"))
    expected = Analysis(tx).channel_economics(spend.read_spend(SPEND, "spend.csv"), "channel", Economics(cac=25.0))
    shown = next(d.value for d in acquisition.dataframe if "ltv_to_cac" in d.value.columns)
    numbers = ["spend", "new_customers", "cac", "value", "ltv_to_cac"]
    pd.testing.assert_frame_equal(shown[numbers].reset_index(drop=True), expected.channels[numbers], check_dtype=False)
    # payback in words: the month, "not yet" when not reached, "–" without customers
    for words, months, n in zip(
        shown["payback_month"], expected.channels["payback_month"], expected.channels["new_customers"]
    ):
        assert words == ("–" if not n else "not yet" if months != months else f"month {months:.0f}")
    assert any("'TV'" in w.value for w in acquisition.warning)  # a spend channel with no customers is named
    blended = round(expected.blended_cac, 2)
    assert next(m.value for m in acquisition.metric if m.label == "Blended CAC") == f"${blended:,.2f}"
    assert len(acquisition.get("plotly_chart")) == 1
    # the CLV forecast's CAC now starts at the blended CAC, and its CLV : CAC is this page's for all channels
    acquisition.switch_page("pages/forecast.py").run()
    assert acquisition.number_input(key="cac").value == pytest.approx(blended)
    forecast_ratio = next(m.value for m in acquisition.metric if m.label == "CLV : CAC")
    page_ratio = expected.channels.set_index("channel").loc[spend.ALL, "new_customers"]
    assert page_ratio > 0
    new_customer = Analysis(tx).scenario(Economics(cac=blended)).new_customer_clv
    assert forecast_ratio == f"{new_customer / blended:.1f} : 1"
    assert expected.channels.set_index("channel").loc[spend.ALL, "clv_to_cac"] == pytest.approx(
        new_customer / expected.blended_cac
    )


def test_a_spend_file_without_the_columns_is_a_message_and_the_page_stands(acquisition):
    acquisition.get("file_uploader")[0].set_value(("spend.csv", b"a,b\n1,2\n", "text/csv"))
    acquisition.run()
    assert not acquisition.exception
    assert len(acquisition.error) == 1 and "needs a month, channel, spend column" in acquisition.error[0].value


def test_spend_missing_a_channel_leaves_the_forecasts_cac_alone(acquisition):
    partial = b"month,channel,spend\n2024-08,Email,300\n2024-09,Email,300\n"
    acquisition.get("file_uploader")[0].set_value(("spend.csv", partial, "text/csv"))
    acquisition.run()
    assert not acquisition.exception
    assert any("left as it is" in c.value for c in acquisition.caption)
    acquisition.switch_page("pages/forecast.py").run()
    assert acquisition.number_input(key="cac").value == 25.0  # the default, untouched
