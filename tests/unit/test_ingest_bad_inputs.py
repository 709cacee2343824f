"""Every applicable row of the bad-input catalogue (../shared/BAD_INPUTS.md), with its expected outcome.

Test names start with the catalogue row number they cover.
"""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import io
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest

from clv_core.errors import ClvError, ColumnMappingError, DataQualityError, UnreadableFileError
from clv_core.summary import summarise
from tests.conftest import load

BASIC = "customer_id,date,amount\n1,2024-01-05,10.00\n2,2024-01-06,20.00\n"


def dates_of(tx) -> list[str]:
    return tx.data.sort_values("amount")["date"].dt.strftime("%Y-%m-%d %H:%M").tolist()


def dropped(tx) -> dict[str, int]:
    return {d.reason.split(" (")[0]: d.rows for d in tx.report.dropped}


def test_01_missing_amount_column_is_refused_naming_the_columns():
    with pytest.raises(ColumnMappingError, match=r"Column for amount not found\. Columns in file: customer_id, date\."):
        load("customer_id,date\n1,2024-01-05\n")


@pytest.mark.parametrize(
    "header",
    [
        "Customer ID,Invoice Date,Sales Amount",
        "CustomerID,InvoiceDate,Revenue",
        "cust_id,order_date,total",
        "customer-id,Order Date,Amount",
    ],
)
def test_02_name_variants_are_detected(header):
    tx = load(f"{header}\nA7,2024-01-05,10.00\n")
    cust, date, amount = header.split(",")
    assert (tx.mapping.customer_id, tx.mapping.date, tx.mapping.amount) == (cust, date, amount)


def test_02_two_candidates_for_one_role_ask_instead_of_picking():
    text = "customer_id,date,Sales,Revenue\n1,2024-01-05,10,11\n"
    with pytest.raises(ColumnMappingError, match=r"More than one column could be the amount: 'Sales', 'Revenue'"):
        load(text)
    assert load(text, amount="Revenue").data["amount"].tolist() == [11.0]


def test_02_price_times_quantity_when_no_amount_column():
    tx = load("customer_id,date,unit_price,qty\n1,2024-01-05,2.50,4\n")
    assert tx.data["amount"].tolist() == [10.0]
    assert tx.report.amount_from_price_quantity


def test_03_padded_header_names_are_stripped_and_reported():
    tx = load(" customer_id , date ,amount \n1,2024-01-05,10\n")
    assert tx.mapping.customer_id == "customer_id"
    assert any("Removed spaces" in n for n in tx.report.notes)


def test_04_duplicate_header_names_are_refused_naming_them():
    with pytest.raises(ColumnMappingError, match=r"more than one column named 'amount'"):
        load("customer_id,date,amount,amount\n1,2024-01-05,10,11\n")


def test_05_day_first_file_is_detected_from_a_day_above_12():
    tx = load("customer_id,date,amount\n1,13/01/2024,1\n2,05/02/2024,2\n")
    assert dates_of(tx) == ["2024-01-13 00:00", "2024-02-05 00:00"]
    assert tx.report.date_order == "day-first" and not tx.report.dates_ambiguous


def test_05_month_first_file_is_detected_from_a_second_number_above_12():
    tx = load("customer_id,date,amount\n1,01/13/2024,1\n2,02/05/2024,2\n")
    assert dates_of(tx) == ["2024-01-13 00:00", "2024-02-05 00:00"]
    assert tx.report.date_order == "month-first"


def test_06_ambiguous_dates_are_reported_and_follow_the_chosen_order():
    text = "customer_id,date,amount\n1,01/02/2024,1\n2,03/04/2024,2\n"
    tx = load(text)
    assert tx.report.dates_ambiguous
    assert dates_of(tx) == ["2024-02-01 00:00", "2024-04-03 00:00"]
    assert any("Ambiguous dates" in n for n in tx.report.notes)
    assert dates_of(load(text, date_order="month-first")) == ["2024-01-02 00:00", "2024-03-04 00:00"]
    assert dates_of(load(text, ambiguous_dates="month-first")) == ["2024-01-02 00:00", "2024-03-04 00:00"]


def test_07_day_first_is_never_applied_to_iso_dates():
    tx = load("customer_id,date,amount\n1,2024-01-05,1\n2,2024-01-13,2\n", date_order="day-first")
    assert dates_of(tx) == ["2024-01-05 00:00", "2024-01-13 00:00"]


def test_08_german_dotted_dates():
    tx = load("customer_id,date,amount\n1,05.01.2024,1\n2,13.01.2024,2\n")
    assert dates_of(tx) == ["2024-01-05 00:00", "2024-01-13 00:00"]
    assert tx.report.date_formats[0][0] == "DD.MM.YYYY"


def test_09_mixed_formats_in_one_column_are_each_read_by_their_rule():
    tx = load("customer_id,date,amount\n1,2024-01-05,1\n2,20240106,2\n3,13/01/2024,3\n4,45296,4\n")
    assert dates_of(tx) == ["2024-01-05 00:00", "2024-01-06 00:00", "2024-01-13 00:00", "2024-01-05 00:00"]


def test_09_a_few_unreadable_dates_are_dropped_and_reported_with_an_example():
    rows = [f"{i},2024-01-{i % 28 + 1:02d},{i}" for i in range(1, 60)] + ["99,not a date,5"]
    tx = load("customer_id,date,amount\n" + "\n".join(rows) + "\n")
    (drop,) = [d for d in tx.report.dropped if d.reason.startswith("unreadable or missing date")]
    assert drop.rows == 1 and drop.examples == ((60, "not a date"),)


def test_09_many_unreadable_dates_are_refused_naming_the_first_bad_row():
    rows = ["1,2024-01-05,1", "2,yesterday,2", "3,2024-01-07,3", "4,soon,4"]
    with pytest.raises(DataQualityError, match=r"first is row 2: 'yesterday'"):
        load("customer_id,date,amount\n" + "\n".join(rows) + "\n")


def test_10_excel_serial_numbers_become_dates():
    tx = load("customer_id,date,amount\n1,45296,1\n")
    assert dates_of(tx) == ["2024-01-05 00:00"]
    assert tx.report.excel_serial_rows == 1


def test_11_yyyymmdd_integers_become_dates():
    tx = load("customer_id,date,amount\n1,19970101,1\n2,19971231,2\n")
    assert dates_of(tx) == ["1997-01-01 00:00", "1997-12-31 00:00"]


def test_12_two_digit_years_are_never_in_the_future():
    tx = load("customer_id,date,amount\n1,13/02/69,1\n2,13/02/24,2\n", min_date="1900-01-01")
    assert dates_of(tx) == ["1969-02-13 00:00", "2024-02-13 00:00"]
    assert tx.report.two_digit_year_rows == 2


def test_13_mixed_time_zones_become_one_local_date():
    text = (
        "customer_id,date,amount\n"
        "1,2024-01-05T23:30:00-05:00,1\n2,2024-01-05T10:00:00+01:00,2\n3,2024-01-05T08:00:00Z,3\n"
    )
    assert dates_of(load(text)) == ["2024-01-06 04:30", "2024-01-05 09:00", "2024-01-05 08:00"]
    local = load(text, timezone="America/New_York")
    assert dates_of(local) == ["2024-01-05 23:30", "2024-01-05 04:00", "2024-01-05 03:00"]
    assert local.report.tz_converted_rows == 3


def test_14_future_dated_rows_are_excluded_and_counted():
    tx = load("customer_id,date,amount\n1,2025-06-01,1\n1,2025-07-15,2\n2,2025-06-30,3\n")
    assert tx.report.future_dated_rows == 1
    assert str(tx.observation_end.date()) == "2025-06-30"
    assert tx.data["amount"].tolist() == [1.0, 3.0]


def test_15_implausible_dates_are_dropped_by_row():
    text = "customer_id,date,amount\n1,0001-01-01,1\n2,1677-06-01,2\n3,2262-05-01,3\n4,1985-01-01,4\n5,2024-01-01,5\n"
    tx = load(text)
    assert dropped(tx)["implausible date"] == 4
    assert tx.data["customer_id"].tolist() == ["5"]


RETURNS = (
    "order_id,customer_id,date,amount\n"
    "A1,1,2024-01-05,100\nA2,1,2024-02-05,50\nA1,1,2024-01-20,-40\nB1,2,2024-01-07,30\nB1,2,2024-01-09,-30\n"
)


def test_16_returns_net_against_their_order():
    tx = load(RETURNS)
    assert tx.data["amount"].tolist() == [60.0, 50.0]
    assert tx.report.return_rows == 2 and tx.report.returns_amount == 70.0
    assert any("refunded in full" in n for n in tx.report.notes)


def test_16_returns_without_order_id_net_against_the_latest_earlier_purchase():
    text = (
        "customer_id,date,amount\n"
        "1,2024-01-05,100\n1,2024-02-05,50\n1,2024-02-10,-20\n2,2024-01-01,-5\n3,2024-01-02,9\n"
    )
    tx = load(text)
    assert tx.data.set_index(["customer_id", "date"])["amount"].tolist() == [100.0, 30.0, 9.0]
    said = "1 refund (5.00 in all) found no purchase to net against and was left out (row 4: refund 5.00)."
    assert said in tx.report.notes
    assert tx.report.refunds_unmatched.rows == 1 and tx.report.refunds_unmatched.examples == ((4, "refund 5.00"),)


@pytest.mark.parametrize(
    ("policy", "amounts"), [("drop", [100.0, 50.0, 30.0]), ("keep", [100.0, -40.0, 50.0, 30.0, -30.0])]
)
def test_16_returns_policy_drop_and_keep(policy, amounts):
    assert load(RETURNS, returns=policy).data["amount"].tolist() == amounts


def test_17_zero_amounts_are_kept_as_purchases_or_dropped():
    text = "customer_id,date,amount\n1,2024-01-05,0\n1,2024-01-06,10\n"
    tx = load(text)
    assert tx.report.zero_amount_rows == 1 and len(tx.data) == 2
    assert len(load(text, zero_amounts="drop").data) == 1


def test_18_currency_symbols_and_thousands_separators():
    tx = load(
        'customer_id,date,amount\n1,2024-01-05,"$1,234.50"\n2,2024-01-06,$99\n3,2024-01-07,"1,000"\n4,2024-01-08,(12.00)\n',
        returns="keep",
    )
    assert sorted(tx.data["amount"]) == [-12.0, 99.0, 1000.0, 1234.5]


def test_18_mixed_currencies_are_refused_unless_a_currency_column_exists():
    text = "customer_id,date,amount\n1,2024-01-05,$5\n2,2024-01-06,€7\n"
    with pytest.raises(DataQualityError, match="mixes currencies"):
        load(text)
    tx = load("customer_id,date,amount,currency\n1,2024-01-05,$5,USD\n2,2024-01-06,€7,EUR\n")
    assert sorted(tx.data["amount"]) == [5.0, 7.0]


def test_19_decimal_comma_in_a_semicolon_file():
    tx = load("customer_id;date;amount\n1;2024-01-05;10,50\n2;2024-01-06;1.234,00\n")
    assert tx.data["amount"].tolist() == [10.5, 1234.0]
    assert tx.report.decimal_mark == "," and tx.report.delimiter == "semicolon"


@pytest.mark.parametrize(("sep", "label"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_20_other_delimiters_are_sniffed(sep, label):
    tx = load(BASIC.replace(",", sep))
    assert tx.report.delimiter == label and tx.data["amount"].tolist() == [10.0, 20.0]


def test_21_utf8_bom_is_stripped_from_the_first_column_name():
    tx = load(BASIC.encode("utf-8-sig"))
    assert tx.mapping.customer_id == "customer_id" and tx.report.encoding == "UTF-8 with BOM"


@pytest.mark.parametrize(("codec", "label"), [("cp1252", "Windows-1252"), ("utf-16", "UTF-16"), ("utf-8", "UTF-8")])
def test_22_encodings_decode_names_correctly(codec, label):
    tx = load("customer_id,date,amount\nJosé,2024-01-05,10\nZoë,2024-01-06,11\n".encode(codec))
    assert tx.data["customer_id"].tolist() == ["José", "Zoë"]
    assert tx.report.encoding == label


def test_23_duplicates_with_a_time_of_day_are_removed():
    text = "customer_id,date,amount\n1,2024-01-05 10:00,10\n1,2024-01-05 10:00,10\n1,2024-01-05 18:00,10\n"
    tx = load(text)
    assert len(tx.data) == 2 and tx.report.duplicate_rows == 1 and tx.report.duplicates_removed


def test_23_same_day_identical_orders_without_order_id_are_kept_and_reported():
    text = "customer_id,date,amount\n1,2024-01-05,10\n1,2024-01-05,10\n"
    tx = load(text)
    assert len(tx.data) == 2 and tx.report.duplicate_rows == 1 and not tx.report.duplicates_removed
    assert len(load(text, duplicates="drop").data) == 1


def test_24_only_an_empty_id_is_missing_and_na_is_a_real_id():
    tx = load("customer_id,date,amount\nNA,2024-01-05,1\n,2024-01-06,2\nnull,2024-01-07,3\n  ,2024-01-08,4\n")
    assert sorted(tx.data["customer_id"]) == ["NA", "null"]
    assert dropped(tx)["missing customer id"] == 2


def test_25_numeric_looking_ids_stay_text():
    tx = load("customer_id,date,amount\n00123,2024-01-05,1\n123,2024-01-06,2\n12345678901234567,2024-01-07,3\n")
    assert tx.data["customer_id"].tolist() == ["00123", "123", "12345678901234567"]
    assert tx.report.customers == 3


def test_26_a_few_non_numeric_amounts_are_dropped_many_are_refused():
    rows = [f"{i},2024-01-05,{i}.50" for i in range(40)]
    tx = load("customer_id,date,amount\n" + "\n".join([*rows, "99,2024-01-05,ten"]) + "\n")
    assert dropped(tx)["unreadable or missing amount"] == 1
    with pytest.raises(DataQualityError, match=r"amount that cannot be read .* row 2: 'ten'"):
        load("customer_id,date,amount\n1,2024-01-05,1\n2,2024-01-05,ten\n3,2024-01-05,N/A\n")


def test_27_non_finite_and_absurd_amounts_are_dropped_and_outliers_flagged():
    rows = [f"{i},2024-01-05,{10 + i % 7}" for i in range(200)]
    rows += ["x,2024-01-05,1e308", "y,2024-01-05,inf", "z,2024-01-05,99999999999999999999", "w,2024-01-05,500000"]
    tx = load("customer_id,date,amount\n" + "\n".join(rows) + "\n")
    assert dropped(tx)["non-finite or absurdly large amount"] == 3
    assert tx.report.outlier_rows == 1
    assert np.isfinite(tx.data["amount"].sum())


def test_28_formula_text_is_kept_as_text_never_evaluated():
    tx = load(
        'customer_id,date,amount,product\n=HYPERLINK("x"),2024-01-05,1,=1+1\n',
    )
    assert tx.data["customer_id"].tolist() == ['=HYPERLINK("x")']
    assert tx.data["product"].tolist() == ["=1+1"]


def _xlsx(sheets: dict[str, list[list]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_29_excel_picks_the_sheet_with_transactions_and_reports_it():
    data = _xlsx(
        {
            "Summary": [["Metric", "Figure"], ["revenue", 30]],
            "Transactions": [["Customer ID", "Order Date", "Amount"], ["007", dt.datetime(2024, 1, 5), 10.5]],
        }
    )
    tx = load(data, "book.xlsx")
    assert tx.report.sheet == "Transactions" and tx.report.sheets == ("Summary", "Transactions")
    assert tx.data["customer_id"].tolist() == ["007"]
    with pytest.raises(ColumnMappingError, match="Column for customer id not found"):
        load(data, "book.xlsx", sheet="Summary")


def test_30_excel_serials_mixed_with_real_dates_in_one_column():
    data = _xlsx({"Data": [["customer", "date", "amount"], ["a", dt.datetime(2024, 1, 5), 1], ["b", 45297, 2]]})
    assert dates_of(load(data, "mixed.xlsx")) == ["2024-01-05 00:00", "2024-01-06 00:00"]


def test_31_gzip_and_one_member_zip_are_read_by_magic_bytes_whatever_the_name():
    assert load(gzip.compress(BASIC.encode()), "upload.bin").report.compression == "gzip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("orders.csv", BASIC)
    tx = load(buffer.getvalue(), "orders.zip")
    assert tx.report.archive_member == "orders.csv" and len(tx.data) == 2


def test_31_zip_with_two_data_files_is_refused_naming_them():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("a.csv", BASIC)
        zf.writestr("b.csv", BASIC)
    with pytest.raises(UnreadableFileError, match=r"holds 2 files \(a\.csv, b\.csv\)"):
        load(buffer.getvalue(), "two.zip")


def test_31_truncated_gzip_is_refused():
    data = gzip.compress((BASIC * 200).encode())
    with pytest.raises(UnreadableFileError, match="truncated gzip"):
        load(data[: len(data) // 2], "cut.csv.gz")


def test_32_compression_bomb_is_refused_before_it_is_expanded():
    bomb = gzip.compress(b"a" * 60_000_000, compresslevel=9)
    with pytest.raises(UnreadableFileError, match="expands to more than"):
        load(bomb, "bomb.csv.gz")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.csv", b"0" * 60_000_000)
    with pytest.raises(UnreadableFileError, match="expands to more than"):
        load(buffer.getvalue(), "bomb.zip")


def test_32_decompressed_size_cap_is_enforced():
    with pytest.raises(UnreadableFileError, match="expands to more than"):
        load(gzip.compress((BASIC * 100).encode()), "x.csv.gz", max_decompressed_bytes=1000)


def test_33_row_cap_states_the_limit():
    with pytest.raises(UnreadableFileError, match="more than 1 rows"):
        load(BASIC, max_rows=1)


@pytest.mark.parametrize("content", ["", "   \n\n", "customer_id,date,amount\n"])
def test_34_empty_or_header_only_file_has_no_transactions(content):
    with pytest.raises(UnreadableFileError, match=r"no transactions|no rows"):
        load(content)


def test_35_ragged_row_is_refused_with_its_line_number():
    with pytest.raises(UnreadableFileError, match=r"line 3 has 4 fields"):
        load("customer_id,date,amount\n1,2024-01-05,1\n2,2024-01-06,2,extra\n")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "looks like a PNG image"),
        (b"<!DOCTYPE html><html><body>Sign in</body></html>", "web page"),
        (pickle.dumps({"a": 1}), "pickle"),
        (bytes(range(256)) * 20, "binary"),
        (b'{"customer_id": 1}', "JSON"),
    ],
)
def test_36_wrong_file_types_named_csv_are_refused_saying_what_they_are(content, message):
    with pytest.raises(UnreadableFileError, match=message):
        load(content, "data.csv")


def test_36_an_excel_workbook_named_csv_is_read_as_excel():
    data = _xlsx({"Sheet1": [["customer_id", "date", "amount"], ["1", "2024-01-05", 3]]})
    assert load(data, "really.csv").report.file_format == "excel"


def test_37_single_customer_loads_and_summarises():
    tx = load("customer_id,date,amount\n1,2024-01-05,10\n1,2024-02-05,20\n")
    summary = summarise(tx, time_unit="days")
    assert summary.table[["frequency", "recency", "T"]].values.tolist() == [[1.0, 31.0, 31.0]]


def test_38_all_purchases_on_one_day_load_with_zero_frequency():
    tx = load("customer_id,date,amount\n1,2024-01-05,10\n2,2024-01-05,20\n3,2024-01-05,5\n")
    assert summarise(tx).table["frequency"].sum() == 0


def test_39_parquet_odd_dtypes_become_canonical(tmp_path):
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series([101, 102, 103, 104, 105, 106], dtype="int64"),
            "date": pd.to_datetime(["2024-01-05 23:30", "2024-01-06 10:00"] * 3).tz_localize("America/New_York"),
            "amount": pd.Series(["10.50", "3.25", "1", "2", "4", "5"]).map(decimal.Decimal),
            "channel": pd.Categorical(["Email", "Paid social"] * 3),
        }
    )
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    tx = load(path.read_bytes(), "t.parquet")
    assert tx.data["customer_id"].tolist() == ["101", "102", "103", "104", "105", "106"]
    first_two = tx.data.set_index("customer_id").loc[["101", "102"], "date"].dt.strftime("%Y-%m-%d %H:%M")
    assert first_two.tolist() == ["2024-01-06 04:30", "2024-01-06 15:00"]  # UTC, the default business zone
    assert tx.data["amount"].dtype == np.float64 and tx.data["date"].dtype == "datetime64[ns]"
    assert tx.data["amount"].sum() == 25.75
    assert tx.attributes == ("channel",)


def test_40_high_cardinality_text_is_not_offered_as_an_attribute():
    rows = [f"{i},2024-01-05,{i},sku-{i},{'web' if i % 2 else 'store'}" for i in range(200)]
    tx = load("customer_id,date,amount,code,channel\n" + "\n".join(rows) + "\n")
    assert tx.attributes == ("channel",)


def test_headerless_whitespace_file_is_mapped_from_content(cdnow_sample_path):
    tx = load(cdnow_sample_path.read_bytes(), "CDNOW_sample.txt")
    assert not tx.report.has_header and tx.report.delimiter == "whitespace"
    assert (tx.mapping.customer_id, tx.mapping.date, tx.mapping.amount) == ("column_1", "column_3", "column_5")
    assert tx.report.customers == 2357 and tx.data["customer_id"].iloc[0] == "00004"


def test_every_refusal_is_a_clv_error():
    for cls in (UnreadableFileError, ColumnMappingError, DataQualityError):
        assert issubclass(cls, ClvError)
