"""Files that expand in memory are refused, saying the limit, before they get there; files at the limits load.

Each attack file is built here. "Before it gets there" is shown by what the read allocated (tracemalloc for Python
objects and numpy, a proxy pool for Arrow) staying far below what the parse or decode would need, or by pandas'
parser never being called. Nothing is timed.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import tracemalloc
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from clv_core.errors import UnreadableFileError
from clv_core.ingest import read_raw
from clv_core.ingest.limits import DEFAULT_MAX_CELL_CHARS, DEFAULT_MAX_COLUMNS
from tests.conftest import load

MB = 1_000_000


@contextmanager
def python_peak() -> Iterator[dict]:
    """Peak bytes of Python objects and numpy arrays allocated inside the block."""
    seen: dict = {}
    tracemalloc.start()
    try:
        yield seen
    finally:
        seen["bytes"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


# Every pool made below lives as long as the session: a buffer allocated through a pool is freed through it, and
# Arrow may free one after the test (dropping the pool first crashed the next test's Parquet writer).
_POOLS: list[pa.MemoryPool] = []


@pytest.fixture
def arrow_peak() -> Iterator[pa.MemoryPool]:
    """Arrow's allocations during the test go through a pool of their own; its ``max_memory()`` is their peak."""
    previous = pa.default_memory_pool()
    _POOLS.append(pa.proxy_memory_pool(previous))
    pa.set_memory_pool(_POOLS[-1])
    yield _POOLS[-1]
    pa.set_memory_pool(previous)


@pytest.fixture
def no_csv_parse(monkeypatch):
    """Fail the test if a CSV parser (pandas' or pyarrow's) is called: the refusal must come first."""

    def parse(*args, **kwargs):
        raise AssertionError("a CSV parser was called before the limit was checked")

    monkeypatch.setattr(pd, "read_csv", parse)
    monkeypatch.setattr(pa_csv, "read_csv", parse)


def parquet(table: pa.Table, **options) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **options)
    return buffer.getvalue()


def repeated(value: str, rows: int) -> pa.DictionaryArray:
    """``value`` in every row, stored once: what a Parquet dictionary page holds."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array([value]))


def xlsx(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def xlsx_package(rows: list[list], shared: list[str]) -> bytes:
    """A minimal .xlsx written by hand (openpyxl writes no shared strings and cuts cells at 32,767 characters).

    Cells: an int is a number, a str an inline string, ``("s", i)`` the shared string ``shared[i]``.
    """

    def cell(ref: str, value) -> str:
        if isinstance(value, tuple):
            return f'<c r="{ref}" t="s"><v>{value[1]}</v></c>'
        if isinstance(value, str):
            return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
        return f'<c r="{ref}"><v>{value}</v></c>'

    sheet = "".join(
        f'<row r="{r}">' + "".join(cell(f"{chr(65 + c)}{r}", v) for c, v in enumerate(row)) + "</row>"
        for r, row in enumerate(rows, start=1)
    )
    parts = {
        "[Content_Types].xml": f'<Types xmlns="{_PKG}/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_TYPE}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_TYPE}.sharedStrings+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1" '
        f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
        '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{_MAIN}"><sheetData>{sheet}</sheetData></worksheet>',
        "xl/sharedStrings.xml": f'<sst xmlns="{_MAIN}">' + "".join(f"<si><t>{s}</t></si>" for s in shared) + "</sst>",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return buffer.getvalue()


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(",".join(line) for line in [header, *rows]) + "\n"


# --- text ---------------------------------------------------------------------------------------------------


def test_a_million_column_csv_is_refused_from_its_header_before_pandas_reads_it(no_csv_parse):
    columns = 1_000_000
    data = (",".join(f"c{i}" for i in range(columns)) + "\n" + ",".join("1" for _ in range(columns)) + "\n").encode()
    assert 9 * MB < len(data) < 11 * MB and data.index(b"\n") > 65_536  # the header is longer than the sample
    with python_peak() as peak, pytest.raises(UnreadableFileError, match=r"has 1,000,000 columns; the limit is 1,000"):
        load(data, "wide.csv")
    assert peak["bytes"] < len(data)  # at most one copy of the header line


def test_a_header_of_exactly_max_columns_loads_even_when_a_quoted_name_holds_the_delimiter():
    names = ['"a,b"'] + [f"c{i}" for i in range(DEFAULT_MAX_COLUMNS - 1)]
    raw = read_raw(csv_text(names, [["1"] * DEFAULT_MAX_COLUMNS]).encode(), "wide.csv")
    assert raw.frame.shape == (1, DEFAULT_MAX_COLUMNS) and raw.frame.columns[0] == "a,b"
    names.append("one_more")
    with pytest.raises(UnreadableFileError, match=r"has 1,001 columns; the limit is 1,000"):
        read_raw(csv_text(names, [["1"] * (DEFAULT_MAX_COLUMNS + 1)]).encode(), "wide.csv")


def test_a_gzip_that_expands_past_the_row_cap_is_refused_from_its_line_count_before_parsing(no_csv_parse):
    rows = 1_000_000
    block = "".join(f"{1_000_000 + (i * 7919) % 400:07d},2024-01-{1 + i % 28:02d},{10 + i % 3}.5\n" for i in range(400))
    text = ("customer_id,date,amount\n" + block * (rows // 400)).encode()
    data = gzip.compress(text, compresslevel=9)
    assert 100 < len(text) / len(data) < 200  # below the ratio refused as a bomb, as in the issue (147)
    with python_peak() as peak, pytest.raises(UnreadableFileError) as refused:
        load(data, "rows.csv.gz", max_rows=100_000)
    assert "has 1,000,000 rows, more than 100,000 rows, the row limit here" in str(refused.value)
    assert peak["bytes"] < 2.5 * len(text)  # gunzip's output, joined once; no decoded copy, no parsed table


def test_rows_are_counted_without_the_blank_lines_pandas_skips():
    rows = [f"{i},2024-01-0{i},{i}" for i in range(1, 6)]
    text = "\n\ncustomer_id,date,amount\n" + "\n \t\n".join(rows) + "\r\n\r\n  \n"
    assert len(load(text, max_rows=5).data) == 5
    with pytest.raises(UnreadableFileError, match=r"has 5 rows, more than 4 rows"):
        load(text, max_rows=4)


def test_a_quoted_value_with_line_breaks_is_not_counted_as_extra_rows():
    text = 'customer_id,date,amount,note\n1,2024-01-05,1,"line one\nline two\nline three"\n2,2024-01-06,2,plain\n'
    tx = load(text, max_rows=2)
    assert len(tx.data) == 2


def test_a_csv_value_over_the_cell_limit_is_refused_with_its_line_number_before_parsing(no_csv_parse):
    long = "x" * 40_000
    text = csv_text(
        ["customer_id", "date", "amount", "note"], [["1", "2024-01-05", "1", "ok"], ["2", "2024-01-06", "2", long]]
    )
    with pytest.raises(UnreadableFileError, match=r"line 3 has a value of 40,000 characters; the limit is 32,767"):
        load(text, "notes.csv")


def test_a_quoted_csv_value_over_the_cell_limit_is_refused_even_across_short_lines():
    half = "y" * 20_000  # each line is short; the value is 40,001 characters
    text = f'customer_id,date,amount,note\n1,2024-01-05,1,ok\n2,2024-01-06,2,"{half}\n{half}"\n'
    with pytest.raises(UnreadableFileError, match=r"row 2, column 'note' has a value of 40,001 characters"):
        load(text, "notes.csv")


def test_a_long_line_of_short_values_is_not_a_long_cell():
    header = [f"c{i}" for i in range(DEFAULT_MAX_COLUMNS)]
    raw = read_raw(csv_text(header, [["v" * 40] * DEFAULT_MAX_COLUMNS] * 3).encode(), "wide.csv")
    assert raw.frame.shape == (3, DEFAULT_MAX_COLUMNS)


# --- Parquet ------------------------------------------------------------------------------------------------


def test_the_issues_parquet_dictionary_bomb_is_refused_before_its_text_is_decoded(arrow_peak):
    rows, chars = 2_000, 20_000_000  # one 20 MB string in 2,000 rows: 40,000 MB once decoded
    table = pa.table(
        {
            "customer_id": repeated("x" * chars, rows),
            "date": pa.array(np.full(rows, np.datetime64("2024-01-05", "ns"))),
            "amount": pa.array(np.full(rows, 10.0)),
        }
    )
    data = parquet(table, compression="zstd")
    del table
    assert len(data) < 2_500
    with python_peak() as peak, pytest.raises(UnreadableFileError) as refused:
        load(data, "bomb.parquet")
    assert "would take about 40,000 MB in memory" in str(refused.value)
    assert "the limit is 500 MB" in str(refused.value)
    assert peak["bytes"] < 5 * MB  # the 20 MB value never became a Python string
    assert arrow_peak.max_memory() < 4 * chars  # the dictionary page: its compressed and decoded value


def test_a_text_column_stored_with_a_dictionary_is_measured_before_it_is_decoded(arrow_peak):
    # No Arrow schema in the file: the reader sees a plain string column whose pages hold one dictionary value.
    data = parquet(pa.table({"note": repeated("x" * 30_000, 20_000)}), compression="zstd", store_schema=False)
    assert len(data) < 2_000
    with pytest.raises(UnreadableFileError, match=r"would take about 600 MB in memory .*the limit is 500 MB"):
        read_raw(data, "notes.parquet")
    assert arrow_peak.max_memory() < 10 * MB  # decoded, it takes 600 MB


@pytest.fixture(scope="module")
def five_million_zeros() -> bytes:
    """5,000,000 rows of one int64: 40 MB in memory, a few kilobytes on disk."""
    return parquet(pa.table({"amount": pa.array(np.zeros(5_000_000, dtype=np.int64))}))


def test_parquet_rows_over_the_limit_are_refused_from_the_metadata_before_any_value_is_read(
    five_million_zeros, arrow_peak
):
    assert len(five_million_zeros) < 100_000
    with python_peak() as peak, pytest.raises(UnreadableFileError, match=r"has 5,000,000 rows, more than 1,000 rows"):
        read_raw(five_million_zeros, "big.parquet", max_rows=1_000)
    assert peak["bytes"] < 1 * MB and arrow_peak.max_memory() < 1 * MB


def test_parquet_values_over_the_memory_cap_are_refused_from_the_metadata_without_a_row_limit(
    five_million_zeros, arrow_peak
):
    with python_peak() as peak, pytest.raises(UnreadableFileError) as refused:
        read_raw(five_million_zeros, "big.parquet", max_decompressed_bytes=10 * MB)
    assert "would take about 40 MB in memory (by its metadata); the limit is 10 MB" in str(refused.value)
    assert peak["bytes"] < 1 * MB and arrow_peak.max_memory() < 1 * MB


def test_parquet_with_more_columns_than_the_limit_is_refused_from_the_metadata(arrow_peak):
    zeros = pa.array(np.zeros(20_000))
    wide = {f"c{i}": zeros for i in range(DEFAULT_MAX_COLUMNS + 1)}
    data = parquet(pa.table(wide))
    with python_peak() as peak, pytest.raises(UnreadableFileError, match=r"has 1,001 columns; the limit is 1,000"):
        read_raw(data, "wide.parquet")
    assert peak["bytes"] < 2 * MB and arrow_peak.max_memory() < 2 * MB  # the values: 160 MB
    wide.pop("c0")
    assert read_raw(parquet(pa.table(wide)), "wide.parquet").frame.shape == (20_000, DEFAULT_MAX_COLUMNS)


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (pa.array([[1, 2], [3]]), "list<"),
        (pa.array([{"a": 1}, {"a": 2}]), "struct<"),
        (pa.array([[("k", 1)], []], type=pa.map_(pa.string(), pa.int64())), "map<"),
    ],
)
def test_nested_parquet_columns_are_refused_naming_the_column(values, kind):
    data = parquet(pa.table({"customer_id": ["a", "b"], "items": values}))
    with pytest.raises(UnreadableFileError, match=rf"column 'items' holds {kind}.* values .*one value per cell"):
        read_raw(data, "nested.parquet")


def test_a_parquet_cell_over_the_limit_is_refused_with_its_row_and_column():
    notes = ["short", "y" * (DEFAULT_MAX_CELL_CHARS + 1), "short"]
    data = parquet(pa.table({"customer_id": ["a", "b", "c"], "note": notes}), row_group_size=2)
    with pytest.raises(UnreadableFileError, match=r"row 2, column 'note' has a value of 32,768 characters; the limit"):
        read_raw(data, "notes.parquet")
    data = parquet(pa.table({"customer_id": ["a", "b", "c"], "note": notes[::-1]}), row_group_size=2)
    with pytest.raises(UnreadableFileError, match=r"row 2, column 'note'"):  # found in the second row group
        read_raw(data, "notes.parquet")


def test_ordinary_parquet_reads_as_pandas_read_parquet_did():
    frame = pd.DataFrame(
        {
            "customer_id": ["007", None, "b", "007"] * 3,
            "product": [b"sku-1", b"sku-2", None, b"sku-1"] * 3,
            "date": pd.date_range("2024-01-05", periods=12, freq="D", tz="Europe/Berlin"),
            "amount": np.arange(12) * 1.5,
            "quantity": np.arange(12),
            "gift": [True, False] * 6,
        }
    )
    data = parquet(pa.Table.from_pandas(frame, preserve_index=False), row_group_size=5)
    got = read_raw(data, "t.parquet").frame
    pd.testing.assert_frame_equal(got, pd.read_parquet(io.BytesIO(data)))
    assert got["customer_id"].dtype == object and got["customer_id"].tolist()[:2] == ["007", None]


def test_a_categorical_parquet_column_comes_as_its_values_not_a_categorical():
    frame = pd.DataFrame({"channel": pd.Categorical(["Email", None, "Web"]), "amount": [1.0, 2.0, 3.0]})
    data = parquet(pa.Table.from_pandas(frame, preserve_index=False))
    got = read_raw(data, "t.parquet").frame
    assert got["channel"].dtype == object and got["channel"].tolist() == ["Email", None, "Web"]


# --- Excel --------------------------------------------------------------------------------------------------


def test_an_xlsx_with_one_long_shared_string_in_many_cells_is_refused_before_a_cell_is_copied():
    rows, chars = 20_000, 30_000  # one 30,000-character string in 20,000 cells: 600 MB once each cell has a copy
    long = "x" * chars + " "  # stripping it would copy it in every cell
    data = xlsx_package(
        [["customer_id", "date", "amount", "product"]] + [[i, 45296, 1, ("s", 0)] for i in range(rows)], [long]
    )
    assert len(data) < 1 * MB
    with python_peak() as peak, pytest.raises(UnreadableFileError) as refused:
        read_raw(data, "shared.xlsx")
    assert "would take about 600 MB in memory (its text, counted in every cell); the limit is 500 MB" in str(
        refused.value
    )
    assert peak["bytes"] < 60 * MB  # openpyxl's objects for 80,000 cells; the copies would be 600 MB


def test_an_xlsx_wider_than_the_column_limit_is_refused_and_one_at_the_limit_loads():
    header = [f"c{i}" for i in range(DEFAULT_MAX_COLUMNS)]
    assert read_raw(xlsx([header, [1] * len(header)]), "wide.xlsx").frame.shape == (1, DEFAULT_MAX_COLUMNS)
    with pytest.raises(UnreadableFileError, match=r"has 1,001 columns; the limit is 1,000"):
        read_raw(xlsx([[*header, "extra"], [1] * (len(header) + 1)]), "wide.xlsx")
    with pytest.raises(UnreadableFileError, match=r"has 1,001 columns; the limit is 1,000"):  # a wider data row
        read_raw(xlsx([["customer_id", "date", "amount"], [1] * (DEFAULT_MAX_COLUMNS + 1)]), "wide.xlsx", sheet="Sheet")


def test_an_xlsx_cell_over_the_limit_is_refused_naming_the_cell():
    data = xlsx_package([["customer_id", "date", "note"], [1, 45296, "ok"], [2, 45297, ("s", 0)]], ["z" * 40_000])
    with pytest.raises(UnreadableFileError, match=r"cell C3 of sheet 'Sheet1' has a value of 40,000 characters"):
        read_raw(data, "notes.xlsx")


def test_xlsx_rows_over_the_limit_are_refused():
    data = xlsx([["customer_id", "date", "amount"]] + [[i, dt.date(2024, 1, 5), 1] for i in range(50)])
    with pytest.raises(UnreadableFileError, match=r"more than 10 rows, the row limit here"):
        read_raw(data, "rows.xlsx", max_rows=10)


# --- at the limits, and the rest ----------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "parquet", "xlsx"])
def test_a_cell_of_exactly_max_cell_chars_loads(file_format):
    note = "n" * DEFAULT_MAX_CELL_CHARS
    rows = [["customer_id", "date", "amount", "note"], ["1", "2024-01-05", "10", note]]
    if file_format == "csv":
        data = csv_text(rows[0], rows[1:]).encode()
    elif file_format == "parquet":
        data = parquet(pa.table(dict(zip(rows[0], [[v] for v in rows[1]]))))
    else:
        data = xlsx_package(rows, [])
    tx = load(data, f"limit.{file_format}")
    assert len(tx.data) == 1 and tx.report.columns_in_file == ("customer_id", "date", "amount", "note")
    with pytest.raises(UnreadableFileError, match=r"has a value of 32,767 characters; the limit is 32,766"):
        load(data, f"limit.{file_format}", max_cell_chars=DEFAULT_MAX_CELL_CHARS - 1)


def test_limits_travel_from_ingest_options_to_every_reader():
    text = "customer_id,date,amount\n1,2024-01-05,10\n"
    with pytest.raises(UnreadableFileError, match=r"has 3 columns; the limit is 2"):
        load(text, max_columns=2)
    with pytest.raises(UnreadableFileError, match=r"a value of 11 characters; the limit is 10"):
        load(text, max_cell_chars=10)
    with pytest.raises(UnreadableFileError, match=r"has 3 columns; the limit is 2"):
        load(
            parquet(pa.table({"customer_id": ["1"], "date": ["2024-01-05"], "amount": [10]})),
            "t.parquet",
            max_columns=2,
        )
    with pytest.raises(UnreadableFileError, match=r"has 3 columns; the limit is 2"):
        load(xlsx([["customer_id", "date", "amount"], [1, "2024-01-05", 10]]), "t.xlsx", max_columns=2)


def test_a_memory_error_while_reading_becomes_a_clv_error(monkeypatch):
    def short_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(pd, "read_csv", short_of_memory)
    monkeypatch.setattr(pa_csv, "read_csv", short_of_memory)
    with pytest.raises(UnreadableFileError, match=r"needs more memory to read than is available"):
        load("customer_id,date,amount\n1,2024-01-05,10\n")


def test_many_short_text_cells_are_refused_by_what_they_take_as_a_table_before_parsing(no_csv_parse):
    """500 MB of "0,0,0…" is 250 million cells: 15 GB as Python strings, though every other limit passes."""
    row = ",".join("0" * 1 for _ in range(20)) + "\n"
    data = gzip.compress((",".join(f"c{i}" for i in range(20)) + "\n" + row * 200_000).encode(), 1)
    with pytest.raises(UnreadableFileError) as refused:
        read_raw(data, "zeros.csv.gz", max_table_bytes=100 * MB)  # 4,000,020 cells: about 236 MB as a table
    assert "4,000,020 text cells" in str(refused.value) and "the limit is 100 MB" in str(refused.value)


def test_many_short_parquet_text_cells_are_refused_from_the_metadata_before_any_value_is_read(arrow_peak):
    """1M rows × 20 dictionary-encoded columns of "ab": 53 KB on disk, 20M cells, over a gigabyte in pandas."""
    columns = {f"c{i}": repeated("ab", 1_000_000) for i in range(20)}
    data = parquet(pa.table(columns))
    assert len(data) < 200_000
    with python_peak() as peak, pytest.raises(UnreadableFileError, match=r"20,000,000 text cells, by its metadata"):
        read_raw(data, "narrow.parquet", max_table_bytes=500 * MB)
    assert peak["bytes"] < 5 * MB and arrow_peak.max_memory() < 5 * MB
    assert read_raw(data, "narrow.parquet").frame.shape == (1_000_000, 20)  # within the default 4 GB: it loads
