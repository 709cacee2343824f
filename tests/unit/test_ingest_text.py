"""Fast text handling for ids: identical to a cell-by-cell Python strip, and customer ordering."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from clv_core.ingest.text import (
    _ascending,
    _decimal_text_order,
    _equal_width_order,
    cell_text,
    count_customers,
    customer_codes,
    in_customer_order,
    stable_order,
    text_ids,
    text_rank,
)

WHITESPACE = " \t\n\x0b\x0c\r\x1c\x1f\x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000\u200b"


@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from("ab1é" + WHITESPACE), max_size=6))))
def test_vectorised_strip_equals_python_strip(values):
    expected = [None if cell_text(v) == "" else cell_text(v) for v in values]
    assert text_ids(pd.Series(values, dtype=object)).tolist() == expected


def test_ids_of_mixed_and_numeric_columns():
    assert text_ids(pd.Series([" x ", 7, 2.0, None], dtype=object)).tolist() == ["x", "7", "2", None]
    assert text_ids(pd.Series([3, 10], dtype="int64")).tolist() == ["3", "10"]


@given(st.lists(st.text(alphabet="aZé0 ", min_size=1, max_size=3), min_size=1, max_size=40), st.randoms())
def test_customer_order_equals_a_stable_pandas_sort(ids, rnd):
    dates = pd.to_datetime([f"2024-01-{rnd.randint(1, 9):02d}" for _ in ids])
    table = pd.DataFrame({"customer_id": ids, "date": dates, "row": np.arange(len(ids))})
    ours = in_customer_order(table, text_rank(table["customer_id"]))
    expected = table.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, expected)
    assert count_customers(ours) == table["customer_id"].nunique()


@given(
    st.lists(
        st.one_of(st.integers(0, 5), st.integers(0, 2**40), st.integers(2**62, 2**63 - 1)), min_size=0, max_size=60
    )
)
def test_stable_order_equals_numpys_stable_argsort(keys):
    """Equal keys keep their rows' order; keys too large to be made unique by position fall back to the stable
    sort itself."""
    keys = np.array(keys, dtype=np.int64)
    np.testing.assert_array_equal(stable_order(keys), np.argsort(keys, kind="stable"))


@given(
    st.integers(1, 18),
    st.lists(st.text(alphabet=st.sampled_from("aZ09 \x00é€𝄞-"), min_size=1, max_size=18), min_size=2, max_size=50),
)
def test_texts_of_one_width_are_ordered_as_python_sorts_them(width, texts):
    """Ids of one UTF-8 width (most id formats) are sorted as numbers made of their bytes: the order must be code
    point order, NULs and characters of 2–4 bytes included; other widths take the general sort."""
    distinct = sorted({t.encode()[:width].decode(errors="ignore").ljust(width, "x")[:width] for t in texts})
    same_width = [t for t in distinct if len(t.encode()) == width]
    if len(same_width) >= 2:
        order = _equal_width_order(pa.array(same_width[::-1]))
        if width > 16:  # two 64-bit numbers hold 16 bytes: longer ids take the general sort
            assert order is None
        else:
            assert [same_width[::-1][i] for i in order] == same_width
    mixed = pa.array(["b", "aa", "a"])
    assert _equal_width_order(mixed) is None


@given(
    st.lists(
        st.one_of(st.integers(0, 12), st.integers(0, 10**17 - 1), st.integers(-(10**18) + 1, 10**18 - 1)).flatmap(
            lambda n: st.sampled_from([n, n * 10 if abs(n) < 10**17 else n])
        ),
        min_size=1,
        max_size=60,
        unique=True,
    )
)
def test_integers_are_ordered_as_their_decimal_texts(numbers):
    """One key for non-negative ids below 10^17, three for the rest; both give str order (1 < 10 < 100 < 2)."""
    numbers = np.array(numbers, dtype=np.int64)
    assert numbers[_decimal_text_order(numbers)].tolist() == sorted(numbers.tolist(), key=str)


@given(st.lists(st.sampled_from(["7", "10", " 7", "", "b", "id", "0010"]), min_size=1, max_size=30), st.randoms())
def test_a_categorical_column_gives_the_codes_its_values_give(ids, rnd):
    """A file's columns arrive as categoricals, possibly with categories no row holds (the header read apart):
    the customer codes and ids are those of the same values as plain text."""
    extra = ["id", "unused"]
    categories = list(dict.fromkeys(ids + extra))
    rnd.shuffle(categories)
    column = pd.Series(pd.Categorical(ids, categories=categories))  # "" is a text, as the reader gives it
    codes, labels = customer_codes(column)
    plain_codes, plain_labels = customer_codes(pd.Series(ids, dtype=object))
    assert codes.tolist() == plain_codes.tolist() and list(labels) == list(plain_labels)


@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=40).map(sorted),
    st.integers(0, 39),
    st.integers(1, 5),
)
def test_order_checks_block_by_block_see_every_pair(rows, swap, block):
    """Sorted rows, then perhaps two neighbours swapped: the check in blocks of 1–5 rows finds a step down at
    any position, a block edge included, exactly where comparing all neighbours at once finds one."""
    if 0 < swap < len(rows):
        rows[swap - 1], rows[swap] = rows[swap], rows[swap - 1]
    keys, ties = (np.array([r[i] for r in rows], dtype=np.int64) for i in (0, 1))
    in_order = bool(np.all((np.diff(keys) > 0) | ((np.diff(keys) == 0) & (np.diff(ties) >= 0))))
    assert _ascending(keys, ties, block=block) == in_order
    assert _ascending(keys, block=block) == bool(np.all(np.diff(keys) >= 0))
