"""Ids and labels as stripped text, fast on millions of rows.

A Python loop over every cell costs about 1.4 s per million rows. Columns that hold only text (the usual case)
take a vectorised path instead: pyarrow finds the few cells with surrounding whitespace, only those are stripped
in Python, and the original string objects are kept for the rest.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Every character Python's str.strip() removes (str.isspace), as an RE2 class.
_SPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
_PADDED = f"^{_SPACE}|{_SPACE}$"


def cell_text(value: object) -> str:
    """One cell as text: missing → "", 12.0 → "12", dates in ISO form, everything stripped."""
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def text_ids(column: pd.Series) -> pd.Series:
    """Ids as stripped text (object dtype); only an empty cell is missing (None): ``NA`` and ``null`` can be ids.

    The text is made once per distinct value and shared by the rows that hold it (a file of 10M rows has a few
    million customers, and an integer id column would otherwise become 10M new strings).

    Examples
    --------
    >>> text_ids(pd.Series([" a", "b ", "", None, "NA"])).tolist()
    ['a', 'b', None, None, 'NA']
    >>> text_ids(pd.Series([1.0, 2.5, None])).tolist()
    ['1', '2.5', None]
    """
    codes, uniques = distinct_values(column)
    texts, _ = _distinct_texts_of(factorized_values(uniques, column.dtype))
    # −1 (missing) takes the None appended at the end
    return pd.Series(np.append(texts, None).take(codes), index=column.index, dtype=object)


#: Set by the CSV reader on a column's categories (texts) when every one is a plain decimal integer ("12", never
#: "012", " 12" or ""): their numbers, int64, in the categories' order. A hint that saves the text work on millions
#: of ids (:func:`customer_codes`); an operation that makes new categories drops it, and the texts are read again.
PLAIN_INTEGERS = "_clv_plain_integers"


#: Set (True) by the CSV reader on a column's categories (texts) when they are distinct, non-empty, unpadded and in
#: code point order already (ids of one width that differ only in digits: "C0012345", ordered by their number), so
#: that :func:`customer_codes` need not strip or sort millions of texts. Dropped, like :data:`PLAIN_INTEGERS`, by
#: any operation that makes new categories.
TEXT_ORDERED = "_clv_text_ordered"


def plain_integers(categories) -> np.ndarray | None:
    """The numbers of ``categories`` when the reader found them all plain decimal integers (:data:`PLAIN_INTEGERS`)."""
    numbers = getattr(categories, PLAIN_INTEGERS, None)
    return numbers if numbers is not None and len(numbers) == len(categories) else None


def distinct_values(column: pd.Series) -> tuple[np.ndarray, object]:
    """``pd.factorize(column)``: each row's code (−1 where missing) and the distinct values, in no set order. A
    categorical column (as a file is read) already is that: its codes are used as they are, not hashed again, and
    categories no row holds (a header row read apart) are left out.

    >>> column = pd.Series(pd.Categorical.from_codes([2, 0, -1, 2], categories=["a", "id", "b"]))
    >>> codes, values = distinct_values(column)
    >>> codes.tolist(), list(values)
    ([1, 0, -1, 1], ['a', 'b'])
    """
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return pd.factorize(column, use_na_sentinel=True)
    codes, categories = column.cat.codes.to_numpy(), column.cat.categories
    used = np.bincount(codes[codes >= 0], minlength=len(categories)) > 0 if len(codes) else np.zeros(0, bool)
    if not used.all():
        new = np.cumsum(used) - 1
        numbers, ordered = plain_integers(categories), getattr(categories, TEXT_ORDERED, False)
        codes, categories = np.append(new, -1).take(codes), categories[used]  # −1 takes the −1 appended
        if numbers is not None:
            setattr(categories, PLAIN_INTEGERS, numbers[used])
        if ordered:
            setattr(categories, TEXT_ORDERED, True)  # a subset of ordered texts is in order
    return codes, categories


def factorized_values(uniques, dtype) -> pd.Series:
    """The distinct values ``pd.factorize`` returned, as a plain Series (a categorical column's as objects)."""
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    return pd.Series(uniques, dtype=dtype if len(uniques) else object)


def _distinct_texts_of(column: pd.Series) -> tuple[np.ndarray, bool]:
    """(texts, distinct): each value of a column of distinct values as stripped text (None where that leaves
    nothing), and whether the texts are known to be distinct and present (integers; strings none of which was
    padded or empty), so that they need not be deduplicated."""
    distinct = False
    if pd.api.types.is_integer_dtype(column):
        numbers = pa.array(column, from_pandas=True)
        text = pd.Series(pc.fill_null(numbers.cast(pa.string()), "").to_numpy(zero_copy_only=False), dtype=object)
        distinct = not numbers.null_count
    elif column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
        stripped, changed = _stripped(column)
        text, distinct = pd.Series(stripped, dtype=object), not changed
    elif pd.api.types.is_float_dtype(column) or column.dtype == object:
        text = column.map(cell_text)
    else:
        text = column.astype(str).str.strip()
    values = text.to_numpy(dtype=object)
    empty = values == ""
    if empty.any():
        values = np.where(empty, None, values)
        distinct = False
    return values, distinct


def _strip_strings(column: pd.Series) -> pd.Series:
    """Strip a column of str (and missing) values; missing becomes ""."""
    return pd.Series(_stripped(column)[0], index=column.index)


def _stripped(column: pd.Series) -> tuple[np.ndarray, bool]:
    """(values stripped, missing as "", whether any value changed)."""
    values = column.to_numpy(dtype=object)
    missing = pd.isna(values)
    array = pa.array(values, type=pa.string(), from_pandas=True)
    padded = pc.fill_null(pc.match_substring_regex(array, _PADDED), False).to_numpy(zero_copy_only=False)
    changed = bool(padded.any() or missing.any())
    out = values.copy() if changed else values
    out[missing] = ""
    for i in np.flatnonzero(padded):
        out[i] = out[i].strip()
    return out, changed


def customer_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each row's customer as a code, and the ids those codes stand for.

    Returns ``(codes, labels)``: ``labels`` holds the distinct ids as stripped text (as :func:`text_ids` makes
    them) in text (code point) order, and a row's code is the position of its id there, so sorting rows by code
    sorts them by id as text; −1 where the id is missing. The text work is done once per distinct value, not per
    row.

    Examples
    --------
    >>> codes, labels = customer_codes(pd.Series(["b", " a", "", "a", 10, 9]))
    >>> codes.tolist(), labels.tolist()
    ([3, 2, -1, 2, 0, 1], ['10', '9', 'a', 'b'])
    """
    codes, uniques = distinct_values(column)
    if isinstance(column.dtype, pd.CategoricalDtype) and getattr(uniques, TEXT_ORDERED, False):
        return codes.astype(np.int64), np.asarray(uniques, dtype=object)  # the reader's texts, in text order
    numbers = plain_integers(uniques) if isinstance(column.dtype, pd.CategoricalDtype) else None
    if numbers is not None:  # the reader's integer ids: distinct, stripped, and ordered as text by their numbers
        order = _decimal_text_order(numbers)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return np.append(rank, -1).take(codes), np.asarray(uniques, dtype=object).take(order)
    texts, distinct = _distinct_texts_of(factorized_values(uniques, column.dtype))
    if distinct:  # no two values became the same id, none became empty
        text_codes, labels = np.arange(len(texts)), texts
    else:
        text_codes, labels = pd.factorize(texts, use_na_sentinel=True)
        labels = np.asarray(labels, dtype=object)
    order = _text_order(labels, factorized_values(uniques, column.dtype) if distinct else None)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    unique_rank = np.append(rank, -1).take(text_codes)  # a text code −1 (empty) takes the −1 appended
    return np.append(unique_rank, -1).take(codes), labels.take(order)


#: Decimal integers as a file writes them (no sign, no leading zero), short enough for int64 arithmetic.
_PLAIN_INTEGER = r"^(0|[1-9][0-9]{0,17})$"


def _text_order(labels: np.ndarray, values: pd.Series | None) -> np.ndarray:
    """The order of distinct texts ``labels`` (``values``: the values they were made from, when one each). Sorting
    millions of strings is the slow part of loading a large file; integer ids, whether they arrive as numbers
    (Parquet) or as plain digit strings (CSV), are ordered by :func:`_decimal_text_order` instead."""
    if values is not None and pd.api.types.is_integer_dtype(values) and len(values):
        low, high = int(values.min()), int(values.max())  # Python ints: no wrap for uint64 or the int64 minimum
        if low > -(10**18) and high < 10**18:
            return _decimal_text_order(values.to_numpy(dtype=np.int64))
    texts = pa.array(labels, type=pa.string())
    if len(texts) > 1_000 and pc.all(pc.match_substring_regex(texts, _PLAIN_INTEGER)).as_py():
        return _decimal_text_order(pc.cast(texts, pa.int64()).to_numpy())
    order = _equal_width_order(texts)
    return pc.sort_indices(texts).to_numpy() if order is None else order


def _equal_width_order(texts: pa.StringArray) -> np.ndarray | None:
    """The code point order of distinct texts that all take the same number of UTF-8 bytes, at most 16, as most
    id formats do ("C02172879"); None for others. UTF-8 sorts bytewise in code point order, so each text is read
    as two big-endian 64-bit numbers and those are sorted: twice as fast as sorting the strings.

    >>> labels = ["b9zz", "a€", "é1x", "a0zz", "az\\x00z"]  # "€" and "é" take 3 and 2 bytes: each text is 4
    >>> [labels[i] for i in _equal_width_order(pa.array(labels))] == sorted(labels)
    True
    """
    n = len(texts)
    if n < 2 or texts.null_count:
        return None
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int32)[texts.offset : texts.offset + n + 1]
    width = int(offsets[1] - offsets[0])
    if not 0 < width <= 16 or int(offsets[-1] - offsets[0]) != n * width or np.any(np.diff(offsets) != width):
        return None
    data = np.frombuffer(texts.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    padded = np.zeros((n, 16), dtype=np.uint8)
    padded[:, :width] = data.reshape(n, width)
    keys = padded.view(">u8").astype(np.uint64)
    return np.argsort(keys[:, 0]) if width <= 8 else np.lexsort((keys[:, 1], keys[:, 0]))


def _decimal_text_order(numbers: np.ndarray) -> np.ndarray:
    """The order of integers' decimal texts (``str``), without making them: "-" sorts before the digits, and two
    digit strings compare as their numbers scaled to the same length, the shorter first on a tie ("1" < "10" <
    "9"). For |n| < 10^18. Non-negative ids below 10^17 (nearly all) take one sort of one key.

    >>> numbers = np.array([9, 10, 1, -5, -40, 0, 100])
    >>> numbers[_decimal_text_order(numbers)].tolist() == sorted(numbers.tolist(), key=str)
    True
    >>> numbers = np.array([10**16, 99_999_999_999_999_999, 1, 7, 70, 0, 12, 120, 1200])
    >>> numbers[_decimal_text_order(numbers)].tolist() == sorted(numbers.tolist(), key=str)
    True
    """
    magnitude = np.abs(numbers)
    digits = decimal_digits(magnitude)
    if len(numbers) and numbers.min() >= 0 and numbers.max() < 10**17:
        # the digits scaled to 17 places, then the length: distinct numbers have distinct keys below 1.8·10^18
        key = magnitude * _POWERS_OF_TEN.take(17 - digits)
        key *= 18
        key += digits
        return np.argsort(key)
    scaled = magnitude * _POWERS_OF_TEN.take(18 - digits)
    return np.lexsort((digits, scaled, numbers >= 0))


_POWERS_OF_TEN = np.array([10**p for p in range(19)], dtype=np.int64)


def decimal_digits(magnitude: np.ndarray) -> np.ndarray:
    """How many digits each non-negative integer below 10^18 takes written out (int64).

    >>> decimal_digits(np.array([0, 9, 10, 99, 100, 10**17])).tolist()
    [1, 1, 2, 2, 3, 18]
    """
    digits = np.searchsorted(_POWERS_OF_TEN, magnitude, side="right").astype(np.int64)  # 0 → 0, 9 → 1, 10 → 2
    digits[digits == 0] = 1
    return digits


def text_rank(values: pd.Series) -> np.ndarray:
    """Each value's rank among the distinct values in text (code point) order, as int64; equal values share one.

    Examples
    --------
    >>> text_rank(pd.Series(["b", "a", "b", "c"])).tolist()
    [1, 0, 1, 2]
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    distinct = pa.array(np.asarray(uniques, dtype=object), type=pa.string())
    rank = pc.rank(distinct, sort_keys="ascending", tiebreaker="dense").to_numpy() - 1
    return rank.astype(np.int64)[codes]


def customer_date_order(rank: np.ndarray, dates: np.ndarray) -> np.ndarray | None:
    """The stable permutation that puts rows in customer (``rank``) then date order; None when they already are
    (a file sorted by customer). A date-sorted export needs only a stable sort by customer.

    >>> customer_date_order(np.array([1, 0, 1, 0]), np.array([1, 2, 3, 4])).tolist()
    [1, 3, 0, 2]
    """
    stamps = np.asarray(dates).view(np.int64)
    if _ascending(rank, stamps):
        return None
    if _ascending(stamps):
        return stable_order(rank)
    return np.lexsort((stamps, rank))


def _ascending(keys: np.ndarray, ties: np.ndarray | None = None, block: int = 1 << 20) -> bool:
    """Whether ``keys`` never decrease (and, where a key repeats, ``ties`` do not decrease either), checked a
    million rows at a time: no temporary the length of the table, and a file out of order is usually known to be
    from its first block."""
    pairs = max(len(keys) - 1, 0)
    for start in range(0, pairs, block):
        end = min(start + block, pairs)
        head, tail = slice(start, end), slice(start + 1, end + 1)
        up = keys[tail] >= keys[head]
        if ties is not None:
            up &= (keys[tail] > keys[head]) | (ties[tail] >= ties[head])
        if not up.all():
            return False
    return True


def stable_order(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for non-negative integer keys, about 3× faster on millions of rows:
    each key made unique by its position (key · n + row, which keeps rows with equal keys in their order) and
    sorted by NumPy's unstable (vectorised) sort; the positions are what is left after the sort.

    >>> stable_order(np.array([2, 0, 2, 1, 0])).tolist()
    [1, 4, 3, 0, 2]
    """
    keys = np.asarray(keys)
    n = len(keys)
    if not n or keys.min() < 0 or int(keys.max()) >= np.iinfo(np.int64).max // max(n, 1) - 1:
        return np.argsort(keys, kind="stable")
    unique = keys.astype(np.int64)  # in place from here: a load's peak memory is reached around this sort
    unique *= n
    for start in range(0, n, 1 << 20):  # the positions a million at a time, not one more array of n
        unique[start : start + (1 << 20)] += np.arange(start, min(start + (1 << 20), n), dtype=np.int64)
    unique.sort()
    np.remainder(unique, n, out=unique)
    return unique


def in_customer_order(table: pd.DataFrame, rank: np.ndarray) -> pd.DataFrame:
    """``table`` sorted by customer id (text order, ``rank`` from :func:`text_rank`) then date, stable; a table
    already in that order (most exports are) is returned without sorting."""
    order = customer_date_order(rank, table["date"].to_numpy())
    out = table.copy(deep=False) if order is None else table.take(order)
    out.index = pd.RangeIndex(len(out))  # reset_index() would copy every column once more
    return out


def count_customers(table: pd.DataFrame) -> int:
    """Distinct customer ids of a table in customer order (see :func:`in_customer_order`)."""
    ids = table["customer_id"].to_numpy()
    return int(len(ids) > 0) + int(np.count_nonzero(ids[1:] != ids[:-1]))
