"""Invoice-line exports (the UCI "Online Retail" shape): InvoiceNo, StockCode, Description, Quantity, InvoiceDate
(m/d/yyyy h:mm), UnitPrice, CustomerID (12346.0), Country; guest rows; cancellations as invoice ``C<number>`` with
a negative quantity. Built from the CDNOW sample, such a file must give exactly the plain CDNOW summary."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from clv_core.ingest import detect_columns
from clv_core.summary import summarise
from tests.conftest import DATASETS, load

HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
#: 40 products; a customer's extra (later cancelled) lines use codes of their own.
PRODUCTS = [(f"{85000 + 7 * k}{'AB'[k % 2]}", f"PRODUCT NUMBER {k} IN WHITE") for k in range(40)]


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load((DATASETS / "CDNOW_sample.txt").read_bytes(), "CDNOW_sample.txt").data


def when(day: pd.Timestamp, minute: int) -> str:
    """m/d/yyyy h:mm, as the Online Retail export writes it (no leading zeros)."""
    stamp = day + pd.Timedelta(minutes=8 * 60 + minute)
    return f"{stamp.month}/{stamp.day}/{stamp.year} {stamp.hour}:{stamp.minute:02d}"


def invoice_file(
    cdnow: pd.DataFrame,
    *,
    partial_returns: bool = False,
    later_month: bool = False,
    foreign_refund: bool = False,
) -> tuple[bytes, int]:
    """Every CDNOW purchase as an invoice of 1–3 lines (two lines of one invoice may have the same total), every
    7th invoice with an extra line cancelled afterwards (by ``C<invoice>``, or every other time by a cancellation
    invoice of its own number, as the UCI data does), guest rows, one line repeated exactly, float customer ids.
    With ``partial_returns`` some lines carry one unit more, returned later; with ``later_month`` the cancellations
    come 35 days later; with ``foreign_refund`` some customers refund a product they never bought. Returns the bytes
    and how many refunds have no purchase in the file."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(HEADER)
    cancel_no = 900000
    foreign = 0
    for i, row in enumerate(cdnow.itertuples(index=False)):
        invoice, cid = str(540000 + i), f"{int(row.customer_id)}.0"
        country = ("United Kingdom", "France", "EIRE")[i % 3]
        cents = round(row.amount * 100)
        k = 1 + i % 3 if cents >= 300 else 1
        parts = [cents // k] * (k - 1) + [cents - (cents // k) * (k - 1)]  # equal totals when k > 1
        picks = np.random.default_rng(i).choice(len(PRODUCTS), size=k, replace=False)
        later = pd.Timedelta(days=35 if later_month else 0)
        for j, (part, p) in enumerate(zip(parts, picks, strict=True)):
            code, name = PRODUCTS[p]
            qty = next(q for q in (3, 2, 1) if part % q == 0)
            extra = partial_returns and i % 5 == 0 and j == 0 and part > 0
            w.writerow([invoice, code, name, qty + extra, when(row.date, j), f"{part / qty / 100:.2f}", cid, country])
            if extra:  # one unit returned: the line's net is the CDNOW amount again
                stamp = when(row.date + later, 50)
                w.writerow([f"C{invoice}", code, name, -1, stamp, f"{part / qty / 100:.2f}", cid, country])
        if i % 7 == 0:
            code = f"EXTRA{i % 4}"
            w.writerow([invoice, code, "GIFT WRAP", 2, when(row.date, 9), "4.95", cid, country])
            cancel = f"C{invoice}" if i % 2 else f"C{(cancel_no := cancel_no + 1)}"
            w.writerow([cancel, code, "GIFT WRAP", -2, when(row.date + later, 55), "4.95", cid, country])
        if foreign_refund and i % 50 == 0 and i:
            w.writerow(
                [
                    f"C{(cancel_no := cancel_no + 1)}",
                    "NOTSOLD",
                    "RETURNED GOODS",
                    -1,
                    when(row.date, 59),
                    "7.50",
                    cid,
                    country,
                ]
            )
            foreign += 1
        if i % 100 == 0:  # a guest order: no customer
            w.writerow([f"G{invoice}", PRODUCTS[0][0], PRODUCTS[0][1], 1, when(row.date, 30), "2.55", "", country])
    text = out.getvalue()
    first_line = text.splitlines()[1]
    return (text + first_line + "\n").encode(), foreign  # the first line once more: a real exact duplicate


def plain_summary(cdnow: pd.DataFrame) -> pd.DataFrame:
    table = summarise(cdnow, time_unit="days").btyd
    table.index = table.index.astype(int)
    return table


def summary_of(data: bytes) -> tuple[pd.DataFrame, object]:
    tx = load(data, "Online Retail.csv")
    table = summarise(tx, time_unit="days").btyd
    table.index = [int(float(c)) for c in table.index]
    return table.sort_index(), tx


def test_the_invoice_line_columns_are_detected_with_the_stock_code_as_the_product():
    frame = pd.DataFrame(columns=HEADER)
    m = detect_columns(frame).mapping
    assert (m.customer_id, m.date, m.order_id, m.product, m.price, m.quantity) == (
        "CustomerID",
        "InvoiceDate",
        "InvoiceNo",
        "StockCode",
        "UnitPrice",
        "Quantity",
    )
    assert "Description" not in m.attributes


@pytest.mark.parametrize(
    "variant",
    [{}, {"partial_returns": True}, {"later_month": True}, {"foreign_refund": True, "partial_returns": True}],
    ids=["cancelled lines", "part of a line returned", "cancelled a month later", "refund of a purchase not here"],
)
def test_an_invoice_line_export_gives_exactly_the_plain_summary(cdnow, variant):
    data, foreign = invoice_file(cdnow, **variant)
    got, tx = summary_of(data)
    want = plain_summary(cdnow).sort_index()
    assert list(got.index) == list(want.index)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9, check_dtype=False, check_names=False)
    r = tx.report
    assert r.mapping["product"] == "StockCode" and r.amount_from_price_quantity
    assert r.duplicate_rows == 1 and r.duplicates_removed  # the one line repeated in every column, not look-alikes
    assert r.revenue_kept == pytest.approx(r.purchases_amount - r.refunds_netted, rel=1e-12)
    assert r.revenue_kept == pytest.approx(cdnow["amount"].sum(), rel=1e-12)
    assert r.date_order == "month-first"
    if foreign:
        assert r.refunds_unmatched.rows == foreign
        assert all("product NOTSOLD" in text for _, text in r.refunds_unmatched.examples)
        assert any(f"{foreign} refunds (" in n and "found no purchase" in n for n in r.notes)
    else:
        assert r.refunds_unmatched is None


def test_a_cancellation_takes_its_own_line_of_the_order_it_names():
    """The issue's order: 7.89, 2 × 2.63, 1.81, 2 × 12.75, then C543032 refunds the 2 × 12.75 line."""
    rows = [
        ("543032", "22423", "CAKESTAND", 1, "2/3/2011 10:05", "7.89"),
        ("543032", "21232", "MUG", 2, "2/3/2011 10:05", "2.63"),
        ("543032", "84879", "BIRD", 1, "2/3/2011 10:05", "1.81"),
        ("543032", "22720", "TINS", 2, "2/3/2011 10:05", "12.75"),
        ("543040", "22423", "CAKESTAND", 1, "2/20/2011 9:00", "24.99"),
        ("C543032", "22720", "TINS", -2, "3/1/2011 11:00", "12.75"),
    ]
    text = ",".join(HEADER) + "\n" + "".join(f"{','.join(map(str, r))},12346.0,United Kingdom\n" for r in rows)
    tx = load(text, "Online Retail.csv")
    assert tx.data["amount"].round(2).tolist() == [7.89, 5.26, 1.81, 24.99]
    assert tx.data["product"].tolist() == ["22423", "21232", "84879", "22423"]
    r = tx.report
    assert r.revenue_kept == pytest.approx(39.95) and r.refunds_netted == pytest.approx(25.50)
    assert "Refunds that name the order they cancel (C…, R… or -…): 1." in r.notes


def test_a_refund_larger_than_its_line_takes_the_rest_from_the_next_candidates():
    text = (
        "order_id,customer_id,date,product,amount\n"
        "A1,1,2024-01-05,shoes,10\nA1,1,2024-01-05,socks,5\nA2,1,2024-02-01,hat,20\n"
        "RA1,1,2024-02-10,shoes,-12\n"  # the shoes line (10), then the rest of order A1 (2 of the socks)
        "X9,1,2024-03-01,,-21\n"  # no product, an order not in the file: the latest purchases (hat 20, socks 1)
    )
    tx = load(text)
    assert tx.data["amount"].tolist() == pytest.approx([2.0])
    assert tx.data["product"].tolist() == ["socks"]
    assert tx.report.refunds_netted == pytest.approx(33.0) and tx.report.refunds_unmatched is None
    assert tx.report.revenue_kept == pytest.approx(35.0 - 33.0)


def test_a_refund_of_a_matching_amount_is_preferred_to_the_latest_purchase():
    text = "customer_id,date,amount\n1,2024-01-05,30\n1,2024-02-05,50\n1,2024-03-01,-30\n"
    assert load(text).data["amount"].tolist() == [50.0]  # the 30 purchase was refunded, not 30 of the 50


def test_a_refund_of_a_product_never_bought_is_left_out_and_named():
    text = "order_id,customer_id,date,product,amount\nA1,1,2024-01-05,shoes,10\nB7,1,2024-02-01,gloves,-8\n"
    tx = load(text)
    assert tx.data["amount"].tolist() == [10.0]
    assert tx.report.refunds_unmatched.examples == ((2, "order B7, product gloves, refund 8.00"),)


@pytest.mark.parametrize(
    ("column", "values"),
    [("Cancelled", ("no", "yes")), ("is_return", ("0", "1")), ("Transaction type", ("Sale", "Return"))],
)
def test_a_cancel_or_return_column_marks_refunds_written_as_positive_amounts(column, values):
    sale, back = values
    text = (
        f"customer_id,date,amount,{column}\n"
        f"1,2024-01-05,40,{sale}\n1,2024-01-09,25,{sale}\n1,2024-01-20,25,{back}\n2,2024-01-07,9,{sale}\n"
    )
    tx = load(text)
    assert tx.data["amount"].tolist() == [40.0, 9.0]  # the 25 purchase refunded in full
    assert tx.report.refund_flag_column == column and tx.report.refund_flag_rows == 1
    assert column not in tx.attributes


def test_two_products_with_the_same_total_in_one_invoice_are_two_lines():
    text = (
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536365,85123A,HEART HOLDER,2,12/1/2010 8:26,2.55,17850.0,United Kingdom\n"
        "536365,71053,WHITE LANTERN,2,12/1/2010 8:26,2.55,17850.0,United Kingdom\n"
        "536365,71053,WHITE LANTERN,2,12/1/2010 8:26,2.55,17850.0,United Kingdom\n"  # this one is a copy
    )
    tx = load(text, "Online Retail.csv")
    assert len(tx.data) == 2 and tx.report.duplicate_rows == 1
