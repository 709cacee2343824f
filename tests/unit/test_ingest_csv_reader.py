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
from clv_core.ingest.text import TEXT_ORDERED

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


def _ids(values: list[str]):
    """A column of ids read as the reader holds it before encoding: strings in several blocks."""
    import pyarrow as pa

    half = len(values) // 2
    return pa.chunked_array([pa.array(values[:half], pa.string()), pa.array(values[half:], pa.string())])


RNG = np.random.default_rng(7)
ID_COLUMNS = {
    "integers": ([str(v) for v in RNG.integers(1, 10**9, 30_000)], True),
    "dense integers (a database's ids)": ([str(v) for v in RNG.integers(1_000, 21_000, 30_000)], True),
    "dense integers, 7 and 007 both": ([str(v) for v in RNG.integers(1, 20_000, 30_000)] + ["7", "007"], False),
    "dense integers and blanks": ([str(v) if v % 4 else "" for v in RNG.integers(1, 20_000, 30_000)], True),
    "zero-padded integers": ([f"{v:07d}" for v in RNG.integers(0, 10**5, 30_000)], True),
    "one width of text": ([f"C{v:08d}" for v in RNG.integers(0, 10**6, 30_000)], True),
    "007 alone": ([str(v) for v in RNG.integers(100, 10**6, 30_000)] + ["007"], True),
    "7 and 007 both": ([str(v) for v in RNG.integers(1, 10**6, 30_000)] + ["7", "007"], False),
    "blank ids (guest checkouts)": ([str(v) if v % 4 else "" for v in RNG.integers(1, 10**6, 30_000)], True),
    "blank ids and 7 and 007": ([str(v) for v in RNG.integers(1, 10**6, 30_000)] + ["", "7", "007"], False),
    "blanks in text of one width": ([f"C{v:08d}" if v % 4 else "" for v in RNG.integers(0, 10**6, 30_000)], False),
    "varying widths of text": ([f"C{v}" for v in RNG.integers(0, 10**6, 30_000)], False),
    "one width of text, a dense run": ([f"CUST-{v:06d}" for v in RNG.integers(0, 20_000, 30_000)], True),
    "one width, letters vary": ([f"A{v:05x}" for v in RNG.integers(0, 10**6, 30_000)], True),
    "one width, a leading space": ([f" C{v:06d}" for v in RNG.integers(0, 10**6, 30_000)], True),
    "one width, 20 varying digits": ([f"K{a:010d}{a:010d}" for a in RNG.integers(0, 10**10, 30_000)], False),
    "more than 8 varying bytes": ([f"{v:012x}" for v in RNG.integers(0, 10**12, 30_000)], False),
    "not ASCII": ([f"Ü{v:06d}" for v in RNG.integers(0, 10**6, 30_000)], False),
    "a number past 18 digits": ([str(v) for v in RNG.integers(1, 10**9, 30_000)] + ["1" * 19], False),
}


#: Ids of one width that differ only in digits, none padded: read with their categories in text order, and marked so.
TEXT_ORDERED_COLUMNS = {"zero-padded integers", "one width of text", "one width of text, a dense run"}


@pytest.mark.parametrize("name", list(ID_COLUMNS))
def test_id_columns_encode_as_arrow_would_whichever_way_is_taken(name):
    """Ids coded through integers (the fast way, taken where it is exact) read as Arrow's do: each distinct text its
    own category, 7 and 007 two ids; hashed ones in Arrow's order (first appearance), dense integers in the order
    of their numbers."""
    import pyarrow.compute as pc

    from clv_core.ingest.sniff import _categorical, _encoded, _integer_coded

    values, fast = ID_COLUMNS[name]
    column = _ids(values)
    assert (_integer_coded(column) is not None) == fast
    ours, arrow = _encoded(column), _categorical(pc.dictionary_encode(column))
    assert np.asarray(ours).tolist() == values
    assert ours.categories.is_unique and sorted(ours.categories) == sorted(arrow.categories)
    in_text_order = getattr(ours.categories, TEXT_ORDERED, False)
    assert in_text_order == (name in TEXT_ORDERED_COLUMNS)
    if in_text_order:
        assert list(ours.categories) == sorted(ours.categories)
    elif not name.startswith("dense"):
        assert list(ours.categories) == list(arrow.categories) and np.array_equal(ours.codes, arrow.codes)
    elif fast:
        numbers = [int(v) if v else -1 for v in ours.categories]
        assert numbers == sorted(numbers)


ID_COLUMNS["dense integers, 010 and 1 (no 10)"] = (
    [str(v) for v in RNG.integers(100, 20_000, 30_000) if v != 10] + ["010", "1"],
    True,
)


@pytest.mark.parametrize(
    "name",
    [
        "integers",
        "dense integers (a database's ids)",
        "dense integers and blanks",
        "dense integers, 010 and 1 (no 10)",
        *sorted(TEXT_ORDERED_COLUMNS),
        "one width, a leading space",
    ],
)
def test_ids_read_as_plain_integers_give_the_customer_codes_their_texts_would(name):
    """The reader's hints (every id a plain decimal integer: its number; ids of one width in text order already)
    spare the customer codes the text work; they, and the ids in text order, are what the same ids as plain texts
    give, also once rows are dropped."""
    from clv_core.ingest.sniff import _encoded
    from clv_core.ingest.text import customer_codes, plain_integers

    values, _ = ID_COLUMNS[name]
    ours = pd.Series(_encoded(_ids(values)))
    hinted = plain_integers(ours.cat.categories)
    assert (hinted is not None) == (name in ("integers", "dense integers (a database's ids)"))  # "010" < "1" as text
    if hinted is not None:
        assert hinted.tolist() == [int(v) for v in ours.cat.categories]
    assert getattr(ours.cat.categories, TEXT_ORDERED, False) == (name in TEXT_ORDERED_COLUMNS)
    kept = ours[ours.astype(str) != values[0]]  # one customer's rows dropped: a category no row holds
    for column in (ours, kept):
        codes, labels = customer_codes(column)
        plain_codes, plain_labels = customer_codes(column.astype(object).where(column.notna(), None))
        assert labels.tolist() == plain_labels.tolist() == sorted({v.strip() for v in column.astype(str)} - {""})
        assert np.array_equal(codes, plain_codes)


def test_a_file_of_many_integer_ids_reads_as_pandas_reads_it(monkeypatch):
    """The fast way on a real file: a header read apart (the column's block then starts one row in), integer ids;
    the same table as pandas' reader, and the fast way was the one taken."""
    from clv_core.ingest import sniff

    taken = []
    real = sniff._integer_coded
    monkeypatch.setattr(sniff, "_integer_coded", lambda strings: taken.append(real(strings)) or taken[-1])
    ids = RNG.permutation(np.arange(10**5, 10**5 + 60_000))
    data = b"id,amount\n" + b"".join(b"%d,%d\n" % (v, v % 9) for v in ids)
    frame, _ = _read_csv_arrow(data, ",", 2, header=True)
    theirs = _read_csv_pandas(data, ",", Limits())
    assert any(t is not None for t in taken)
    assert frame[0].astype(str).tolist() == theirs[0].iloc[1:].tolist()
    assert frame[1].astype(str).tolist() == theirs[1].iloc[1:].tolist()


def test_guest_rows_of_a_large_export_are_dropped_as_missing_ids_on_the_fast_way():
    from clv_core.ingest import ingest

    rows = "".join(f"{'' if i % 4 == 0 else 10**5 + i % 7_000},2024-01-{1 + i % 27:02d},5\n" for i in range(30_000))
    report = ingest(("customer_id,date,amount\n" + rows).encode(), "guests.csv").report
    missing = next(d for d in report.dropped if d.reason == "missing customer id")
    assert missing.rows == 7_500 and report.rows_kept == 22_500
    assert report.customers == len({10**5 + i % 7_000 for i in range(30_000) if i % 4})
