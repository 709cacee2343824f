"""How large a table may become in memory, and the refusals that say so before it gets there.

A few kilobytes can stand for gigabytes: a Parquet dictionary repeats one long string in every row, an .xlsx
shares one string among many cells, a gzip member expands 150 times into millions of rows, a header line holds a
million column names. Each reader measures what its data will take from cheap facts (metadata, the header line, a
newline count, dictionary lengths taken by their indices) and refuses through the checks below, whose messages
state the measured size, the limit and what to do. The defaults live here and nowhere else; ``IngestOptions`` and
``read_raw`` pass them on as keyword options.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clv_core.errors import UnreadableFileError

#: Decompressed .gz/.zip members, the parts of an .xlsx, and the decoded values of Parquet and Excel, in bytes.
DEFAULT_MAX_DECOMPRESSED_BYTES = 500_000_000
#: Columns in a table: a transaction file needs a handful (customer, date, amount, a few attributes).
DEFAULT_MAX_COLUMNS = 1_000
#: Characters in one cell: Excel's own limit (32,767), so nothing a spreadsheet can hold is refused.
DEFAULT_MAX_CELL_CHARS = 32_767

#: What the table read from a file may take in memory: every text cell is a Python string (its characters plus
#: ``CELL_BYTES``), so many short cells cost far more than their text (500 MB of "0,0,0…" is 15 GB as cells).
DEFAULT_MAX_TABLE_BYTES = 4_000_000_000
#: A Python string's own header (49 bytes) and the frame's pointer to it (8 bytes).
CELL_BYTES = 57

_SCAN_CHUNK = 1 << 18  # 256 KB: the compare and its positions stay in cache (0.11 s per 270 MB, 16 MB: 0.20 s)


@dataclass(frozen=True)
class Limits:
    """The limits one read is checked against.

    Attributes
    ----------
    max_decompressed_bytes : int
        Bytes a decompressed member, an .xlsx package, or the decoded values of a Parquet or Excel table may take.
    max_rows : int, optional
        Data rows; None for no limit.
    max_columns : int
        Columns.
    max_cell_chars : int
        Characters in one cell (also one column name).
    max_table_bytes : int
        Bytes the table may take once read, text cells counted as Python strings (see ``CELL_BYTES``).
    """

    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES
    max_rows: int | None = None
    max_columns: int = DEFAULT_MAX_COLUMNS
    max_cell_chars: int = DEFAULT_MAX_CELL_CHARS
    max_table_bytes: int = DEFAULT_MAX_TABLE_BYTES


def check_columns(columns: int, name: str, *, limit: int) -> None:
    """Refuse a table with more than ``limit`` columns.

    >>> check_columns(1_000_000, "wide.csv", limit=1_000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clv_core.errors.UnreadableFileError: wide.csv has 1,000,000 columns; the limit is 1,000. ...
    """
    if columns > limit:
        raise UnreadableFileError(
            f"{name} has {columns:,} columns; the limit is {limit:,}. A transaction file needs a few (customer, "
            "date, amount and some attributes): export only the columns you need and upload again."
        )


def check_rows(rows: int, name: str, *, limit: int | None, at_least: bool = False) -> None:
    """Refuse a table with more than ``limit`` data rows; ``at_least`` when ``rows`` is only where counting stopped.

    >>> check_rows(20_000_000, "big.csv", limit=10_000_000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clv_core.errors.UnreadableFileError: big.csv has 20,000,000 rows, more than 10,000,000 rows, the row limit ...
    """
    if limit is not None and rows > limit:
        counted = f"more than {limit:,} rows" if at_least else f"{rows:,} rows, more than {limit:,} rows"
        raise UnreadableFileError(
            f"{name} has {counted}, the row limit here. Load a sample or a shorter period of the file (the limit is "
            "[limits] max_rows in the app's settings, --max-rows on the command line)."
        )


def check_memory(size_bytes: int, name: str, *, limit: int, what: str = "") -> None:
    """Refuse data that would take more than ``limit`` bytes in memory; ``what`` says which part is large.

    >>> check_memory(40_000_000_000, "bomb.parquet", limit=500_000_000, what="its text values")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clv_core.errors.UnreadableFileError: bomb.parquet would take about 40,000 MB in memory (its text values); ...
    """
    if size_bytes > limit:
        part = f" ({what})" if what else ""
        raise UnreadableFileError(
            f"{name} would take about {size_bytes / 1e6:,.0f} MB in memory{part}; the limit is "
            f"{limit / 1e6:,.0f} MB. Upload only the columns and rows you need (long text such as notes or "
            "descriptions is rarely needed), or split the file."
        )


def check_cell(chars: int, name: str, *, limit: int, where: str) -> None:
    """Refuse a cell (``where``: "line 7", "row 3, column 'note'") longer than ``limit`` characters.

    >>> check_cell(40_000, "notes.csv", limit=32_767, where="line 7")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clv_core.errors.UnreadableFileError: notes.csv: line 7 has a value of 40,000 characters; the limit is 32,767 ...
    """
    if chars > limit:
        raise UnreadableFileError(
            f"{name}: {where} has a value of {chars:,} characters; the limit is {limit:,} per cell (Excel's own). "
            "Shorten or remove that value, or leave that column out, and upload again."
        )


@dataclass(frozen=True)
class LineScan:
    """Lines of a text buffer, measured without splitting it.

    Attributes
    ----------
    lines : int
        Lines, counting a last line without a newline.
    empty_lines : int
        Lines with nothing on them (or only a carriage return).
    longest : int
        Bytes in the longest line (without its newline).
    long_lines : int
        Lines longer than the ``longer_than`` the scan was given.
    first_long : tuple of int, optional
        (line number from 1, start offset, end offset) of the first such line.
    """

    lines: int
    empty_lines: int
    longest: int
    long_lines: int
    first_long: tuple[int, int, int] | None


def scan_lines(buffer: bytes, *, longer_than: int) -> LineScan:
    """Count the lines of ``buffer`` and find the longest, 256 KB at a time (numpy, no line is copied).

    >>> scan_lines(b"a,b\\n\\r\\n1,2\\n333,4444", longer_than=5)
    LineScan(lines=4, empty_lines=1, longest=8, long_lines=1, first_long=(4, 10, 18))
    """
    view = np.frombuffer(buffer, dtype=np.uint8)
    lines = empty = long_lines = longest = 0
    first_long = None
    start = 0  # offset where the current line begins
    for offset in range(0, view.size, _SCAN_CHUNK):
        ends = np.flatnonzero(view[offset : offset + _SCAN_CHUNK] == 10)
        if not ends.size:
            continue
        ends += offset
        starts = np.empty_like(ends)
        starts[0] = start
        starts[1:] = ends[:-1] + 1
        lengths = ends - starts
        longest = max(longest, int(lengths.max()))
        empty += int(np.count_nonzero(lengths == 0))
        one = starts[lengths == 1]
        empty += int(np.count_nonzero(view[one] == 13))
        over = np.flatnonzero(lengths > longer_than)
        if over.size and first_long is None:
            i = int(over[0])
            first_long = (lines + i + 1, int(starts[i]), int(ends[i]))
        long_lines += int(over.size)
        lines += int(ends.size)
        start = int(ends[-1]) + 1
    if start < view.size:  # a last line without a newline
        length = view.size - start
        longest = max(longest, length)
        empty += buffer[start:] == b"\r"
        if length > longer_than:
            long_lines += 1
            first_long = first_long or (lines + 1, start, int(view.size))
        lines += 1
    return LineScan(lines=lines, empty_lines=empty, longest=longest, long_lines=long_lines, first_long=first_long)
