"""Files that expand in memory are refused, saying the limit, before they get there; files at the limits load.

Each attack file is built here. "Before it gets there" is shown by what the read allocated (tracemalloc for Python
objects and numpy, a proxy pool for Arrow) staying far below what the parse or decode would need, or by pandas'
parser never being called. Nothing is timed.
"""

from __future__ import annotations

import gzip
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
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


@pytest.fixture
def no_csv_parse(monkeypatch):
    """Fail the test if pandas' CSV parser is called: the refusal must come first."""

    def parse(*args, **kwargs):
        raise AssertionError("pandas.read_csv was called before the limit was checked")

    monkeypatch.setattr(pd, "read_csv", parse)


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
    assert "has 1,000,000 rows, more than 100,000 rows, the limit set for this run" in str(refused.value)
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


# --- at the limits, and the rest ----------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv"])
def test_a_cell_of_exactly_max_cell_chars_loads(file_format):
    note = "n" * DEFAULT_MAX_CELL_CHARS
    rows = [["customer_id", "date", "amount", "note"], ["1", "2024-01-05", "10", note]]
    data = csv_text(rows[0], rows[1:]).encode()
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


def test_a_memory_error_while_reading_becomes_a_clv_error(monkeypatch):
    def short_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(pd, "read_csv", short_of_memory)
    with pytest.raises(UnreadableFileError, match=r"needs more memory to read than is available"):
        load("customer_id,date,amount\n1,2024-01-05,10\n")
