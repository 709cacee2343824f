"""Marketing spend → CAC, value, LTV:CAC and payback by channel (clv_core.spend): the loader on good, bad and
hostile tables, the matching of channels, and every figure counted by hand or against the scoring chain."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from clv_core import export, spend
from clv_core.analysis import Analysis
from clv_core.economics import Economics
from clv_core.errors import ClvError
from clv_core.ingest import ingest
from clv_core.samples import sample_bytes


def test_the_template_has_the_datas_channels_and_last_whole_months_and_reads_back():
    tx = ingest(*sample_bytes("retail"))  # 2023-07-04 → 2025-06-30: June 2025 is whole, July 2023 is not
    data = spend.template(tx, "channel", 3)
    read = spend.read_spend(data, "template.csv")
    # the sample stops acquiring customers in March 2025 (5 from April on, against about 220 a month before):
    # the template offers the last whole months that still acquired some
    assert read.table["month"].dt.strftime("%Y-%m").unique().tolist() == ["2025-01", "2025-02", "2025-03"]
    assert set(read.table["channel"]) == set(tx.data["channel"].unique())
    assert read.total == 0 and read.notes == ()
    months = spend.full_months(tx)
    assert min(months) == pd.Timestamp("2023-08-01") and max(months) == pd.Timestamp("2025-06-01")


def test_columns_are_found_by_their_names_and_bad_rows_said_and_repeats_summed():
    csv = (
        b"Period;Marketing Channel;Cost\n"
        b"2025-01;Email;100\n2025-01;Email;50\n"  # repeated: summed
        b"15/02/2025;Paid search;1.234,50\n"  # any day in the month, a decimal comma
        b"nonsense;Email;10\n2025-03;;10\n2025-03;Email;-5\n2025-03;Email;lots\n"
    )
    read = spend.read_spend(csv, "spend.csv")
    assert read.table.to_dict("records") == [
        {"month": pd.Timestamp("2025-01-01"), "channel": "Email", "spend": 150.0},
        {"month": pd.Timestamp("2025-02-01"), "channel": "Paid search", "spend": 1234.5},
    ]
    assert read.report["rows dropped"] == {
        "no month that can be read": 1,
        "no channel": 1,
        "no spend that can be read": 1,
        "negative spend": 1,
    }
    assert read.report["repeated rows summed"] == 1
    assert "4 of 7 rows were left out" in read.notes[0] and "added" in read.notes[1]


def test_an_excel_spend_file_reads_like_a_csv():
    frame = pd.DataFrame({"month": ["2025-01", "2025-02"], "channel": ["Email", "Email"], "spend": [10, 20]})
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    assert spend.read_spend(buffer.getvalue(), "spend.xlsx").total == 30


@pytest.mark.parametrize(
    "data, message",
    [
        (b"when,who,what\n2025-01,Email,10\n", "needs a month, channel, spend column"),
        (b"month,channel,spend\nx,y,z\n", "No row of the spend table could be read"),
        (b"month,channel,spend\n" + b"2025-01,Email,1\n" * (spend.MAX_ROWS + 5), f"{spend.MAX_ROWS:,}"),
        (b"\x00\x01\x02 not a table", "no spend rows"),
    ],
)
def test_a_spend_file_that_cannot_be_used_is_a_message(data, message):
    with pytest.raises(ClvError, match=message):
        spend.read_spend(data, "spend.csv")


def test_hostile_channel_names_stay_text_and_the_exports_neutralise_formulas(tmp_path):
    csv = b'month,channel,spend\n2025-01,"=HYPERLINK(""http://x"",""y"")",10\n2025-01,<script>alert(1)</script>,5\n'
    read = spend.read_spend(csv, "../../etc/passwd")
    assert set(read.table["channel"]) == {'=HYPERLINK("http://x","y")', "<script>alert(1)</script>"}
    written = export.to_csv_bytes(read.table).decode()
    assert "'=HYPERLINK" in written  # a spreadsheet shows it as text, never runs it


def shop_with_channels():
    """Three channels, customers acquired January–March 2025, purchases known by hand."""
    rows = []
    # Email: two January customers; one buys 100 in Jan and 100 in March, one 50 in January
    rows += [("e1", "2025-01-05", 100, "Email"), ("e1", "2025-03-05", 100, "Email"), ("e2", "2025-01-09", 50, "Email")]
    # Search: one February customer, 300 in February
    rows += [("s1", "2025-02-02", 300, "Search")]
    # Social: one March customer with no spend given
    rows += [("o1", "2025-03-02", 40, "Social")]
    # January filler customers through Search, so the attribute is read as one
    rows += [(f"f{i}", "2025-01-1" + str(i), 10, "Search") for i in range(8)]
    # the data covers 1 January to 31 March whole: one Social customer on each end
    rows += [("g0", "2025-01-01", 10, "Social"), ("g1", "2025-03-31", 10, "Social")]
    text = "customer_id,date,amount,channel\n" + "".join(f"{c},{d},{a},{ch}\n" for c, d, a, ch in rows)
    return ingest(text.encode(), "shop.csv")


def test_cac_value_and_payback_by_hand():
    tx = shop_with_channels()
    assert tx.attributes == ("channel",)
    loaded = spend.spend_from(
        pd.DataFrame(
            {
                "month": ["2025-01", "2025-01", "2025-02", "2025-01"],
                "channel": ["email", "Search", "Search", "TV"],
                "spend": [120.0, 80.0, 30.0, 25.0],
            }
        )
    )
    econ = Economics(gross_margin=0.5, horizon_months=12)
    scored = pd.DataFrame(
        {"customer_id": ["e1", "e2", "s1", "o1", "g0", "g1", *[f"f{i}" for i in range(8)]], "clv": 1.0}
    )
    result = spend.channel_economics(loaded, tx, "channel", scored, econ, 90.0)
    cohorts = result.cohorts.set_index(["channel", "month"])
    assert cohorts["clv_to_cac"].tolist() == pytest.approx((90.0 / cohorts["cac"]).tolist(), nan_ok=True)
    email = cohorts.loc[("Email", pd.Timestamp("2025-01-01"))]  # "email" matched to "Email"
    assert email["new_customers"] == 2 and email["cac"] == 60.0
    # margin so far 0.5 × (200 + 50) / 2 = 62.5, plus CLV 1: 63.5 per customer
    assert email["value"] == pytest.approx(63.5) and email["ltv_to_cac"] == pytest.approx(63.5 / 60)
    # cumulative margin per customer: January 0.5 × 150 / 2 = 37.5, February the same, March + 0.5 × 100 / 2 =
    # 62.5 ≥ 60: pays back in its third month
    assert email["payback_month"] == 3
    search_feb = cohorts.loc[("Search", pd.Timestamp("2025-02-01"))]
    assert search_feb["new_customers"] == 1 and search_feb["cac"] == 30.0 and search_feb["payback_month"] == 1
    search_jan = cohorts.loc[("Search", pd.Timestamp("2025-01-01"))]
    # eight customers at 80 ÷ 8 = 10 each; margin 5 each in January, nothing after: never pays back
    assert search_jan["cac"] == 10.0 and np.isnan(search_jan["payback_month"])
    channels = result.channels.set_index("channel")
    assert channels.loc["Search", "spend"] == 110 and channels.loc["Search", "new_customers"] == 9
    assert channels.loc["Search", "cac"] == pytest.approx(110 / 9)
    # blended: all 255 of spend over the 12 customers acquired in January and February (TV's spend included)
    assert result.blended_cac == pytest.approx(255 / 12)
    assert channels.loc[spend.ALL, "cac"] == pytest.approx(255 / 12)
    assert result.matching.spend_only == ("TV",)
    assert result.matching.customers_only == ("Social",)  # g0 came through Social in January, without spend
    assert not result.complete  # so the blended CAC is not a fair default for the forecast
    assert any("'TV'" in s for s in result.matching.sentences())


def test_spend_in_months_the_data_does_not_wholly_cover_is_left_out_and_said():
    tx = shop_with_channels()  # 1 January to 31 March 2025
    loaded = spend.spend_from(
        pd.DataFrame({"month": ["2024-12", "2025-02", "2025-04"], "channel": "Search", "spend": [500.0, 30.0, 900.0]})
    )
    scored = pd.DataFrame({"customer_id": tx.data["customer_id"].unique(), "clv": 0.0})
    result = spend.channel_economics(loaded, tx, "channel", scored, Economics())
    assert result.months_left_out == ("2024-12", "2025-04")
    assert result.blended_cac == 30.0 and "2024-12, 2025-04" in result.sentences()[0]
    outside = spend.spend_from(pd.DataFrame({"month": ["2026-01"], "channel": "Search", "spend": [5.0]}))
    with pytest.raises(ClvError, match="None of the spend's months lies wholly inside the data"):
        spend.channel_economics(outside, tx, "channel", scored, Economics())


def test_a_month_with_no_spend_has_no_ltv_to_cac_rather_than_infinity():
    tx = shop_with_channels()
    loaded = spend.spend_from(
        pd.DataFrame({"month": ["2025-01", "2025-02"], "channel": "Search", "spend": [0.0, 30.0]})
    )
    scored = pd.DataFrame({"customer_id": tx.data["customer_id"].unique(), "clv": 0.0})
    cohorts = spend.channel_economics(loaded, tx, "channel", scored, Economics()).cohorts
    january = cohorts[cohorts["month"] == pd.Timestamp("2025-01-01")].iloc[0]
    assert january["cac"] == 0 and np.isnan(january["ltv_to_cac"])


def test_value_per_customer_is_margin_so_far_plus_the_segments_clv():
    tx = ingest(*sample_bytes("retail"))
    analysis = Analysis(tx)
    econ = Economics()
    months = pd.date_range("2024-07-01", "2024-12-01", freq="MS").strftime("%Y-%m")
    channels = ["Organic search", "Paid social", "Email"]
    loaded = spend.spend_from(
        pd.DataFrame([(m, c, 1000.0) for m in months for c in channels], columns=["month", "channel", "spend"])
    )
    result = analysis.channel_economics(loaded, "channel", econ)
    scored = analysis.scored(econ).set_index("customer_id")
    acquired = spend.acquisitions(tx, "channel")
    email = acquired[(acquired["channel"] == "Email") & acquired["month"].isin(pd.to_datetime(months))]
    revenue = tx.data[tx.data["customer_id"].isin(email.index)]["amount"].sum()
    expected = (revenue * econ.gross_margin + scored.loc[email.index, "clv"].sum()) / len(email)
    row = result.channels.set_index("channel").loc["Email"]
    assert row["value"] == pytest.approx(expected)
    assert row["new_customers"] == len(email) and row["cac"] == pytest.approx(6000 / len(email))
    assert set(result.matching.customers_only) == {"Marketplace", "Referral"}


def test_the_cac_command_prints_the_pages_channel_table(tmp_path):
    import json
    import subprocess
    import sys

    orders, costs = tmp_path / "orders.csv", tmp_path / "spend.csv"
    orders.write_bytes(sample_bytes("retail")[0])
    costs.write_text("month,channel,spend\n2024-07,Email,300\n2024-08,email,300\n2024-07,TV,9\n")
    out = tmp_path / "cohorts.csv"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "clv_core",
            "cac",
            str(orders),
            "--spend",
            str(costs),
            "--model",
            "bgnbd",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    printed = json.loads(run.stdout)
    page = Analysis(ingest(*sample_bytes("retail")), model="bgnbd").channel_economics(
        spend.read_spend(costs.read_bytes(), "spend.csv"), "channel", Economics()
    )
    assert printed["blended_cac"] == pytest.approx(page.blended_cac)
    email = next(c for c in printed["channels"] if c["channel"] == "Email")
    assert email["cac"] == pytest.approx(page.channels.set_index("channel").loc["Email", "cac"])
    tv = next(c for c in printed["channels"] if c["channel"] == "TV")
    assert tv["new_customers"] == 0 and tv["cac"] is None and "cac_note" not in tv
    assert printed["spend_channels_without_customers"] == ["TV"]
    assert len(pd.read_csv(out)) == len(page.cohorts)
    missing = subprocess.run(
        [sys.executable, "-m", "clv_core", "cac", str(orders), "--spend", str(tmp_path / "nope.csv")],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr


def test_a_typed_table_with_a_row_deleted_reads_and_zero_spend_is_no_spend():
    typed = pd.DataFrame({"month": ["2025-01", "2025-01", "2025-02"], "channel": ["Search", "TV", "Email"],
                          "spend": [10.0, 5.0, 0.0]}).drop(index=1)  # fmt: skip
    read = spend.spend_from(typed)
    assert read.table["channel"].tolist() == ["Search", "Email"] and read.total == 10
    tx = shop_with_channels()
    scored = pd.DataFrame({"customer_id": tx.data["customer_id"].unique(), "clv": 0.0})
    result = spend.channel_economics(read, tx, "channel", scored, Economics())
    assert "Email" in result.matching.customers_only and not result.complete  # a 0 is no spend given
