"""The two CSV readers agree: pyarrow's (fast, categorical columns) reads every file it accepts exactly as
pandas' C parser does, and leaves to pandas every file it does not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clv_core.ingest.limits import Limits
from clv_core.ingest.sniff import _read_csv_arrow, _read_csv_pandas

CELL = st.one_of(
    st.sampled_from(["", " ", "NA", "null", "nan", "0", "00123", "1,5", "-3.20", "2024-01-05", "Café", "a b", "日本"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=8),
)


def csv_bytes(rows: list[list[str]], delimiter: str) -> bytes:
    """Rows written as a spreadsheet would: a cell with the delimiter, a quote or a line break is quoted."""

    def cell(value: str) -> str:
        if any(c in value for c in (delimiter, '"', "\n")):
            return '"' + value.replace('"', '""') + '"'
        return value

    return "".join(delimiter.join(cell(v) for v in row) + "\n" for row in rows).encode("utf-8")


def as_text(frame: pd.DataFrame) -> list[list[str]]:
    return [[str(v) for v in row] for row in frame.astype(object).itertuples(index=False)]


@settings(max_examples=150, deadline=None)
@given(
    st.integers(min_value=1, max_value=4).flatmap(
        lambda width: st.lists(st.lists(CELL, min_size=width, max_size=width), min_size=1, max_size=12)
    ),
    st.sampled_from([",", ";", "\t", "|"]),
    st.booleans(),
)
def test_arrow_reads_what_pandas_reads(rows, delimiter, header):
    data = csv_bytes(rows, delimiter)
    read = _read_csv_arrow(data, delimiter, len(rows[0]), header=header)
    if read is None:  # left to pandas
        return
    ours, names = read
    theirs = as_text(_read_csv_pandas(data, delimiter, Limits()))
    if header:  # the first row apart, as the column names
        assert [str(v) for v in names] == theirs[0]
        theirs = theirs[1:]
    else:
        assert names is None
    assert as_text(ours) == theirs
    assert all(isinstance(ours[c].dtype, pd.CategoricalDtype) for c in ours)


@pytest.mark.parametrize(
    ("data", "delimiter"),
    [
        (b"a,b\n1,2,3\n", ","),  # a row wider than the header: pandas says which line
        (b"a b c\n1 2 3\n", " "),  # whitespace-separated (CDNOW's own format)
    ],
)
def test_files_arrow_does_not_cover_are_left_to_pandas(data, delimiter):
    assert _read_csv_arrow(data, delimiter, 2 if data.startswith(b"a,b") else 3, header=True) is None


def test_each_distinct_text_is_one_string_shared_by_its_rows():
    data = b"".join(b"C%05d,2024-01-0%d,10\n" % (i % 7, 1 + i % 3) for i in range(10_000))
    frame, _ = _read_csv_arrow(b"id,date,amount\n" + data, ",", 3, header=True)
    ids = frame[0]
    assert len(ids.cat.categories) == 7 and ids.cat.codes.dtype.itemsize <= 4
    assert np.array_equal(np.asarray(ids)[:7], [f"C{i:05d}" for i in range(7)])


def test_a_header_read_apart_is_in_no_column_and_its_rows_keep_their_codes():
    data = b"id,date,amount\n" + b"".join(b"%d,2024-01-0%d,10\n" % (i % 5, 1 + i % 3) for i in range(1_000))
    frame, names = _read_csv_arrow(data, ",", 3, header=True)
    assert names == ["id", "date", "amount"] and len(frame) == 1_000
    assert "id" not in set(frame[0].cat.categories)
    assert frame[0].astype(str).tolist() == [str(i % 5) for i in range(1_000)]
