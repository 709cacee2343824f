"""Value groups, budget allocation, and exports that are safe to open in a spreadsheet."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from clv_core import export
from clv_core.analysis import Analysis
from clv_core.economics import Economics
from clv_core.errors import ClvError
from clv_core.segments import (
    VALUE_GROUPS,
    ValueGroupCuts,
    filter_customers,
    scored_customers,
    slipping,
    value_group_summary,
    value_groups,
)


@pytest.fixture
def customers():
    rng = np.random.default_rng(1)
    n = 1000
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "p_alive": rng.uniform(0, 1, n),
            "clv": rng.gamma(1.0, 20.0, n),
            "expected_purchases": rng.uniform(0, 3, n),
        }
    )


def test_value_group_counts_sum_to_the_customers_and_follow_the_percentiles(customers):
    table = scored_customers(customers)
    counts = table["value_group"].value_counts().reindex(VALUE_GROUPS)
    assert counts.sum() == 1000 and counts.tolist() == [50, 150, 300, 300, 200]
    assert table.groupby("value_group", observed=True)["clv"].min().is_monotonic_decreasing
    custom = value_groups(customers["clv"], ValueGroupCuts(top=90, high=70, middle=40, low=10))
    assert custom.value_counts()["Top value"] == 100
    with pytest.raises(ClvError, match="must rise"):
        ValueGroupCuts(top=50, high=80)


def test_value_groups_never_borrow_a_word_from_rfm_or_lifecycle():
    from clv_core import rfm

    words = {w.lower() for name in (*rfm.SEGMENT_ORDER, *rfm.LIFECYCLE_ORDER) for w in name.replace("/", " ").split()}
    for group in VALUE_GROUPS:
        assert not ({w.lower() for w in group.split()} - {"value"}) & words, group
    assert not {"new", "risk", "champions", "loyal", "lost"} & {w.lower() for g in VALUE_GROUPS for w in g.split()}


def test_slipping_finds_valuable_customers_who_are_probably_gone():
    clv = pd.Series([100.0, 2.0] + [1.0] * 8)
    p_alive = pd.Series([0.9, 0.05] + [0.9] * 8)  # the second would be worth 40 if alive
    assert slipping(clv, p_alive).tolist() == [False, True] + [False] * 8


def test_value_groups_budget_by_incremental_return(customers):
    """On scored value groups with the default assumptions: a budget below the stop point is spent whole, the
    more valuable groups get more per customer, and a budget past the stop point is not spent past it."""
    from clv_core.budget import allocate, curves_from, default_assumptions

    summary = value_group_summary(scored_customers(customers))
    curves = curves_from(summary, default_assumptions(summary))
    stop = allocate(curves, 1e12).stop_budget
    assert stop > 0
    small = allocate(curves, stop / 4)
    assert small.spent == pytest.approx(stop / 4) and small.kept == pytest.approx(0, abs=1e-6)
    per_customer = small.table["per customer"]
    assert per_customer["Top value"] > per_customer["Lowest value"]
    assert allocate(curves, 3 * stop).spent == pytest.approx(stop)


def test_filters_combine(customers):
    table = scored_customers(customers)
    out = filter_customers(table, value_groups=["Top value"], p_alive_range=(0.5, 1.0))
    assert set(out["value_group"]) == {"Top value"} and (out["p_alive"] >= 0.5).all()
    assert len(filter_customers(table)) == 1000


DANGEROUS = pd.DataFrame(
    {
        "customer_id": ['=HYPERLINK("http://x","click")', "+1", "@x", "-2", "\tTAB", "\rCR", "safe"],
        "clv": [1.5, -2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
        "orders": [1, 2, 3, 4, 5, 6, 7],
    }
)


def test_csv_export_neutralises_formula_text_and_leaves_numbers():
    back = pd.read_csv(io.BytesIO(export.to_csv_bytes(DANGEROUS)), encoding="utf-8-sig", dtype={"customer_id": str})
    assert back["customer_id"].tolist()[:4] == ['\'=HYPERLINK("http://x","click")', "'+1", "'@x", "'-2"]
    assert back["customer_id"].iloc[-1] == "safe"
    assert all(not v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in back["customer_id"])
    assert back["clv"].tolist() == DANGEROUS["clv"].tolist() and back["orders"].tolist() == DANGEROUS["orders"].tolist()


def test_excel_export_has_no_formula_cells():
    book = load_workbook(io.BytesIO(export.to_excel_bytes(DANGEROUS)))
    cells = [c for row in book.active.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    ids = [row[0].value for row in book.active.iter_rows(min_row=2)]
    assert ids[0].startswith("'=") and book.active["B3"].value == -2.0


def test_two_different_exports_never_share_a_name():
    day = dt.date(2024, 1, 5)
    a = export.file_name("Champions", export.to_csv_bytes(DANGEROUS), "csv", today=day)
    b = export.file_name("Champions", export.to_csv_bytes(DANGEROUS.head(3)), "csv", today=day)
    assert a != b and a.startswith("clv-champions-2024-01-05-") and a.endswith(".csv")


def test_migration_counts_every_customer_and_flags_moves():
    from clv_core.samples import sample_bytes
    from clv_core.segments import NOT_YET, migration
    from tests.conftest import load

    data, name = sample_bytes("cdnow_sample")
    options = {"model": "bgnbd", "time_unit": "weeks", "economics": Economics()}
    result = migration(load(data, name), "1997-12-31", "1998-06-30", **options)
    assert result.matrix.to_numpy().sum() == len(result.customers) == 2357
    rank = {n: i for i, n in enumerate(VALUE_GROUPS)}
    down = result.moved_down
    assert len(down) > 0 and (down["group_b"].map(rank) > down["group_a"].map(rank)).all()
    same = result.customers[result.customers["moved"] == "same"]
    assert (same["group_a"] == same["group_b"]).all()
    assert NOT_YET not in result.matrix.index  # CDNOW's customers were all acquired in Q1 1997
    with pytest.raises(ClvError, match="must come before"):
        migration(load(data, name), "1998-06-30", "1997-12-31", **options)


def test_executive_report_is_self_contained_and_escapes_user_text():
    import re

    from clv_core.report import executive_report
    from clv_core.samples import sample_bytes
    from tests.conftest import load

    data, name = sample_bytes("cdnow_sample")
    analysis = Analysis(load(data, name), model="bgnbd")
    page = executive_report(analysis, label="<script>alert('x')</script>.csv", today=dt.date(2024, 1, 5))
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;.csv" in page and "<script>alert('x')" not in page
    assert not re.search(r"<script[^>]*\bsrc=", page)  # plotly.js is inlined: no network needed
    assert page.count('class="plotly-graph-div"') == 3  # cohort heatmap, survival curve, customer equity's bridge
    for heading in (
        "Headline numbers",
        "Cohort retention",
        "How long customers stay",
        "Customers by predicted value",
        "What the customer base is worth",
        "What the names mean",
        "Assumptions",
    ):
        assert f"<h2>{heading}</h2>" in page
    assert "<h2>Products</h2>" not in page  # CDNOW has no product column: no section saying nothing
    assert "BG/NBD" in page and "10% a year" in page and "12 months" in page and "2,357 customers" in page
    assert "P(alive) is 1 for every one-time buyer" in page  # said beside the table that shows P(alive)
    for group in VALUE_GROUPS:
        assert f"<td>{group}</td>" in page


def test_report_sections_that_cannot_be_computed_say_why():
    from clv_core.report import executive_report
    from tests.conftest import load

    tiny = load("customer_id,date,amount\na,2024-01-05,10\nb,2024-01-06,20\n")
    page = executive_report(Analysis(tiny), label="tiny.csv")
    assert "Not available for this data: The models need at least 20 customers" in page


def test_fingerprints_tell_different_tables_apart():
    same = export.fingerprint(DANGEROUS.copy())
    assert same == export.fingerprint(DANGEROUS)
    changed = DANGEROUS.copy()
    changed.loc[6, "clv"] = 7.5
    assert export.fingerprint(changed) != same and export.fingerprint(DANGEROUS.head(3)) != same


def test_rfm_by_p_alive_cells_partition_the_customers_and_each_is_its_action_list(customers):
    from clv_core.segments import ALIVE_BANDS, rfm_alive_cell, rfm_alive_matrix

    rng = np.random.default_rng(7)
    table = customers.assign(rfm_segment=rng.choice(["Champions", "At Risk", "Lost"], len(customers)))
    table.loc[:3, "p_alive"] = [0.25, 0.5, 0.75, 1.0]  # edges belong to the band above (1.0 to the top one)
    cells = rfm_alive_matrix(table)
    assert len(cells) == 3 * len(ALIVE_BANDS)  # every cell, empty ones too
    assert cells["customers"].sum() == len(table)
    assert cells["total_clv"].sum() == pytest.approx(table["clv"].sum())
    assert list(cells["rfm_segment"].drop_duplicates()) == list(
        table.groupby("rfm_segment")["clv"].sum().sort_values(ascending=False).index
    )
    for row in cells.itertuples():
        members = rfm_alive_cell(table, row.rfm_segment, row.band)
        assert len(members) == row.customers and members["clv"].sum() == pytest.approx(row.total_clv)
        assert (members["rfm_segment"] == row.rfm_segment).all() and members["clv"].is_monotonic_decreasing
    top = rfm_alive_cell(table, table.loc[3, "rfm_segment"], "≥ 0.75")
    assert table.loc[3, "customer_id"] in set(top["customer_id"])
    low = rfm_alive_cell(table, table.loc[0, "rfm_segment"], "0.25 – 0.5")
    assert table.loc[0, "customer_id"] in set(low["customer_id"])
    assert (low["p_alive"] >= 0.25).all() and (low["p_alive"] < 0.5).all()


def test_the_command_lines_csv_writer_keeps_every_digit_and_every_id(tmp_path):
    from clv_core.export import write_csv

    rng = np.random.default_rng(3)
    values = np.concatenate([rng.lognormal(3, 3, 5_000), [0.1, 1e-300, 1.2345678901234567e22, 1_047_860.0, np.nan]])
    ids = [f"{i:05d}" for i in range(len(values))]
    ids[:4] = ["a,b", 'say "hi"', "two\nlines", "=1+1"]
    frame = pd.DataFrame({"customer_id": ids, "clv": values, "orders": np.arange(len(values))})
    write_csv(frame, tmp_path / "s.csv")
    back = pd.read_csv(tmp_path / "s.csv", dtype={"customer_id": str}, float_precision="round_trip")
    assert back["customer_id"].tolist() == ids  # leading zeros, delimiters, quotes and line breaks kept
    np.testing.assert_array_equal(back["clv"].to_numpy(), values)  # bit for bit; NaN read back as NaN
    assert back["orders"].tolist() == list(range(len(values)))
