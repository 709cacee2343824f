"""From uploaded bytes to a raw table of text cells: detect, then read with explicit options.

Nothing here interprets a value. Compression and file type come from magic bytes (a Streamlit upload is a
buffer, so pandas cannot infer them), text is decoded (or checked as UTF-8) before pandas sees it, the delimiter
is sniffed, and every cell of a text file is read as a string so that ids, dates and amounts are parsed later by
rules we control. Every size limit (:mod:`clv_core.ingest.limits`: columns, rows, cell length, decoded size) is
checked from what the file says about itself before its values are parsed or decoded.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from clv_core.errors import ColumnMappingError, UnreadableFileError
from clv_core.ingest.encodings import ENCODING_LABELS, garbled
from clv_core.ingest.limits import (
    CELL_BYTES,
    DEFAULT_MAX_CELL_CHARS,
    DEFAULT_MAX_COLUMNS,
    DEFAULT_MAX_DECOMPRESSED_BYTES,
    DEFAULT_MAX_TABLE_BYTES,
    Limits,
    LineScan,
    check_cell,
    check_columns,
    check_memory,
    check_rows,
    scan_lines,
)
from clv_core.ingest.text import PLAIN_INTEGERS, TEXT_ORDERED, decimal_digits

#: Decompression that expands more than this and past ``_BOMB_MIN_BYTES`` is treated as a compression bomb.
_BOMB_RATIO = 200
_BOMB_MIN_BYTES = 20_000_000
_CHUNK = 1 << 20

_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

_REFUSED_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\xd0\xcf\x11\xe0", "an old-style Excel (.xls) or Office file; save it as .xlsx or CSV"),
    (b"BZh", "a bzip2 archive; use gzip (.gz) or zip instead"),
    (b"\xfd7zXZ\x00", "an xz archive; use gzip (.gz) or zip instead"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive; use gzip (.gz) or zip instead"),
    (b"Rar!", "a RAR archive; use gzip (.gz) or zip instead"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a program"),
)


@dataclass(frozen=True)
class RawTable:
    """A table as read from a file, before any value is interpreted.

    Attributes
    ----------
    frame : pandas.DataFrame
        Cells as text for text files; as stored for Excel and Parquet, except that Parquet dictionary
        (categorical) columns come as their values. Column names are stripped.
    source_name : str
        The file name the user gave.
    file_format : str
        ``"text"``, ``"excel"`` or ``"parquet"``.
    compression : str or None
        ``"gzip"`` or ``"zip"`` when the file was an archive.
    archive_member : str or None
        The member read from a zip archive.
    encoding, delimiter : str or None
        Detected text encoding and field delimiter (text files only).
    has_header : bool
        False when the first line held data; columns are then named ``column_1`` … ``column_n``.
    sheet : str or None
        The Excel sheet read; ``sheets`` lists them all.
    notes : tuple of str
        What was fixed while reading (stripped header names …), for the quality report.
    garbled, likely_encoding : str or None
        Text files: a warning when the decoded text looks garbled (:func:`clv_core.ingest.encodings.garbled`),
        and the encoding that likely reads it right.
    """

    frame: pd.DataFrame
    source_name: str
    file_format: str
    compression: str | None = None
    archive_member: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    has_header: bool = True
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    garbled: str | None = None
    likely_encoding: str | None = None


def read_raw(
    data: bytes,
    name: str,
    *,
    sheet: str | None = None,
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
    max_rows: int | None = None,
    max_columns: int = DEFAULT_MAX_COLUMNS,
    max_cell_chars: int = DEFAULT_MAX_CELL_CHARS,
    max_table_bytes: int = DEFAULT_MAX_TABLE_BYTES,
    sheet_chooser=None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> RawTable:
    """Read uploaded bytes into a :class:`RawTable`, refusing what would not fit the limits before reading it.

    Parameters
    ----------
    data : bytes
        The file's content.
    name : str
        The file's name (used for messages and as a hint, never trusted over the content).
    sheet : str, optional
        Excel sheet to read. By default ``sheet_chooser(frames)`` picks one, else the first sheet.
    max_decompressed_bytes : int
        Cap in bytes on a decompressed .gz/.zip member and an .xlsx package, and on the decoded values of a
        Parquet or Excel table (a string repeated by a dictionary or shared by many cells counts every time).
    max_rows : int, optional
        Refuse tables with more data rows than this; text is counted before it is parsed, Parquet from its
        metadata, and no format is parsed past ``max_rows + 2`` rows.
    max_columns : int
        Refuse tables with more columns than this (text: counted on the header line, before parsing).
    max_cell_chars : int
        Refuse a cell or column name longer than this many characters.
    max_table_bytes : int
        Refuse a table that would take more memory than this once read, estimated before reading (text and
        Parquet): each text cell costs its characters plus ``CELL_BYTES``.
    sheet_chooser : callable, optional
        Given ``{sheet name: header-only DataFrame}``, returns the sheet holding transactions (or None).
    encoding, delimiter : str, optional
        A text file's encoding (a Python codec name, :func:`clv_core.ingest.encodings.codec`) and delimiter
        character, instead of detecting them. Excel and Parquet files have neither.

    Raises
    ------
    UnreadableFileError
        For anything that is not a readable table within the limits, with a message saying what it looks like
        instead, or the size measured and the limit.

    Examples
    --------
    >>> read_raw(b"customer_id,date,amount\\n7,2024-01-05,10\\n", "t.csv").frame.shape
    (1, 3)
    >>> read_raw(b"a,b,c\\n1,2,3\\n", "t.csv", max_columns=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clv_core.errors.UnreadableFileError: t.csv has 3 columns; the limit is 2. ...
    """
    limits = Limits(
        max_decompressed_bytes=max_decompressed_bytes,
        max_rows=max_rows,
        max_columns=max_columns,
        max_cell_chars=max_cell_chars,
        max_table_bytes=max_table_bytes,
    )
    try:
        text = (encoding, delimiter)
        return _read_raw(data, name, sheet=sheet, limits=limits, chooser=sheet_chooser, text=text)
    except MemoryError:
        # The checks above estimate sizes before allocating; this catches what they cannot see (a Parquet page
        # whose header lies about its size, a machine already short of memory) so the caller gets one message.
        raise UnreadableFileError(
            f"{name} needs more memory to read than is available, so it was not loaded. Upload only the columns "
            "and rows you need, or split the file."
        ) from None


def _read_raw(data: bytes, name: str, *, sheet, limits: Limits, chooser, text=(None, None)) -> RawTable:
    if not data:
        raise UnreadableFileError(f"{name} is empty: the file has no transactions.")
    lowered = name.lower()
    if lowered.endswith((".pkl", ".pickle", ".joblib")) or _looks_like_pickle(data):
        raise UnreadableFileError(
            f"{name} looks like a Python pickle. Pickles can run code when opened, so they are never loaded; "
            "export the table as CSV, Excel or Parquet."
        )
    compression = None
    member = None
    cap = limits.max_decompressed_bytes
    if data[:2] == b"\x1f\x8b":
        compression = "gzip"
        data = _gunzip(data, name, cap)
        member = _strip_suffix(name, ".gz")
    elif data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        if _is_xlsx(data):
            _check_zip_sizes(data, name, cap)
            return _read_excel(data, name, sheet=sheet, limits=limits, chooser=chooser)
        compression = "zip"
        member, data = _unzip_one(data, name, cap)
    if compression:
        if not data:
            raise UnreadableFileError(f"{name} holds an empty file: it has no transactions.")
        if data[:2] == b"\x1f\x8b" or (data[:4] == b"PK\x03\x04" and not _is_xlsx(data)):
            raise UnreadableFileError(f"{name} is an archive inside an archive. Upload the inner file itself.")
        if _looks_like_pickle(data):
            raise UnreadableFileError(f"{name} holds a Python pickle, which is never loaded.")
    raw = _read_by_content(data, member or name, sheet=sheet, limits=limits, chooser=chooser, text=text)
    if compression:
        return RawTable(**{**raw.__dict__, "source_name": name, "compression": compression, "archive_member": member})
    return RawTable(**{**raw.__dict__, "source_name": name})


def _read_by_content(data: bytes, name: str, *, sheet, limits: Limits, chooser, text=(None, None)) -> RawTable:
    if data[:4] == b"PAR1":
        return _read_parquet(data, name, limits=limits)
    if data[:4] == b"PK\x03\x04" and _is_xlsx(data):
        _check_zip_sizes(data, name, limits.max_decompressed_bytes)
        return _read_excel(data, name, sheet=sheet, limits=limits, chooser=chooser)
    for magic, what in _REFUSED_MAGIC:
        if data.startswith(magic):
            raise UnreadableFileError(f"{name} looks like {what}, not a table of transactions.")
    chosen_encoding, chosen_delimiter = text
    utf8, encoding = _as_utf8(data, name, chosen_encoding)
    raw = _read_text(utf8, name, encoding=encoding, limits=limits, delimiter=chosen_delimiter)
    head = utf8[: _HEAD_BYTES * 4].decode("utf-8", errors="ignore")
    found = garbled(head, data, encoding, chosen_encoding)
    if found is None:
        return raw
    return RawTable(**{**raw.__dict__, "garbled": found.sentence, "likely_encoding": found.encoding})


# --- archives -----------------------------------------------------------------------------------------------


def _bomb(name: str, limit: int) -> UnreadableFileError:
    return UnreadableFileError(
        f"{name} expands to more than {limit / 1e6:,.0f} MB when decompressed (or far more than a real data "
        "file would), so it was not opened. Upload the data as Parquet, split it, or sample it."
    )


def _gunzip(data: bytes, name: str, limit: int) -> bytes:
    out = io.BytesIO()
    pending = data
    while pending:
        decomp = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        src = io.BytesIO(pending)
        while not decomp.eof:
            chunk = src.read(_CHUNK)
            if not chunk:
                raise UnreadableFileError(f"{name} is a truncated gzip file. Upload the complete file again.")
            try:
                out.write(decomp.decompress(chunk, max(1, limit + 1 - out.tell())))
                while decomp.unconsumed_tail and out.tell() <= limit:
                    out.write(decomp.decompress(decomp.unconsumed_tail, max(1, limit + 1 - out.tell())))
            except zlib.error as exc:
                raise UnreadableFileError(f"{name} is a damaged gzip file ({exc}).") from None
            _check_growth(out.tell(), len(data), name, limit)
        pending = decomp.unused_data.lstrip(b"\x00")  # concatenated gzip members
        if pending and pending[:2] != b"\x1f\x8b":
            break
    return out.getvalue()


def _check_growth(size: int, compressed: int, name: str, limit: int) -> None:
    if size > limit or (size > _BOMB_MIN_BYTES and size > _BOMB_RATIO * max(compressed, 1)):
        raise _bomb(name, limit)


# What zipfile raises for damaged archives: a flipped byte in a header can give a "negative seek" ValueError or a
# NotImplementedError for a nonsense version or compression method, not only BadZipFile.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, RuntimeError, NotImplementedError)


def _zip(data: bytes, name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as exc:
        raise UnreadableFileError(f"{name} is a damaged or truncated zip file ({exc}).") from None


def _is_xlsx(data: bytes) -> bool:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except _ZIP_ERRORS:
        return False
    return "xl/workbook.xml" in names


def _data_members(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [
        info
        for info in zf.infolist()
        if not info.is_dir()
        and not info.filename.startswith("__MACOSX/")
        and not info.filename.rsplit("/", 1)[-1].startswith(".")
    ]


def _check_zip_sizes(data: bytes, name: str, limit: int) -> None:
    total = 0
    for info in _zip(data, name).infolist():
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if total > limit or (info.file_size > _BOMB_MIN_BYTES and ratio > _BOMB_RATIO):
            raise _bomb(name, limit)


def _unzip_one(data: bytes, name: str, limit: int) -> tuple[str, bytes]:
    zf = _zip(data, name)
    members = _data_members(zf)
    if not members:
        raise UnreadableFileError(f"{name} is an empty zip archive: it has no transactions.")
    if len(members) > 1:
        listed = ", ".join(m.filename for m in members[:5]) + (" …" if len(members) > 5 else "")
        raise UnreadableFileError(
            f"{name} holds {len(members)} files ({listed}). Upload a zip with exactly one data file, "
            "or the file itself."
        )
    info = members[0]
    _check_zip_sizes(data, name, limit)
    out = io.BytesIO()
    try:
        with zf.open(info) as fh:  # declared sizes can lie: count what really comes out
            while chunk := fh.read(_CHUNK):
                out.write(chunk)
                _check_growth(out.tell(), info.compress_size, name, limit)
    except _ZIP_ERRORS as exc:
        raise UnreadableFileError(f"{name} could not be extracted ({exc}).") from None
    return info.filename, out.getvalue()


def _looks_like_pickle(data: bytes) -> bool:
    return len(data) > 2 and data[0] == 0x80 and data[1] in (2, 3, 4, 5)


def _strip_suffix(name: str, suffix: str) -> str:
    return name[: -len(suffix)] if name.lower().endswith(suffix) else name


# --- text ---------------------------------------------------------------------------------------------------


def decode_text(data: bytes, name: str = "the file") -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM stripped), UTF-16 (BOM or NUL pattern), else Windows-1252, else Latin-1.

    UTF-8 is tried strictly first, so UTF-8 text is never mis-decoded as Latin-1 (``José`` → ``JosÃ©``).

    >>> decode_text("José".encode("utf-8"))
    ('José', 'UTF-8')
    >>> decode_text("José".encode("cp1252"))
    ('José', 'Windows-1252')
    """
    if data.startswith(codecs.BOM_UTF8):
        return _decode(data[3:], "utf-8", "UTF-8 with BOM", name)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode(data, "utf-16", "UTF-16", name)
    head = data[:4000]
    if _nul_heavy(head):
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > 0.9 * len(head) / 2 > even:
            return _decode(data, "utf-16-le", "UTF-16 (little-endian)", name)
        if even > 0.9 * len(head) / 2 > odd:
            return _decode(data, "utf-16-be", "UTF-16 (big-endian)", name)
        raise UnreadableFileError(f"{name} is a binary file, not a text table of transactions.")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1"


def _decode(data: bytes, codec: str, label: str, name: str) -> tuple[str, str]:
    try:
        return data.decode(codec), label
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(
            f"{name} starts like {label} text but is not valid {label} (byte {exc.start}). Save it again as UTF-8 CSV."
        ) from None


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_HEAD_BYTES = 65536


def _as_utf8(data: bytes, name: str, chosen: str | None = None) -> tuple[bytes, str]:
    """The text as UTF-8 bytes, what pandas' C parser reads, and the encoding found (as :func:`decode_text`), or
    decoded as ``chosen`` (a codec name) when the user said which.

    A UTF-8 file is checked in pieces and passed on as it is: no copy of the text is made. Decoding it whole and
    handing pandas a ``StringIO`` held the text twice more, the second time at four bytes per character.
    """
    if chosen is not None:
        label = f"{ENCODING_LABELS.get(chosen, chosen)}, as chosen"
        try:
            text = data.decode(chosen)
        except UnicodeError as exc:  # UnicodeDecodeError, or a codec that refuses bytes outright
            raise UnreadableFileError(
                f"{name} is not {ENCODING_LABELS.get(chosen, chosen)} text"
                + (f" (byte {exc.start:,} cannot be read that way)" if hasattr(exc, "start") else "")
                + ": choose another encoding, or leave it to detection."
            ) from None
        return text.lstrip("\ufeff").encode("utf-8"), label
    utf8 = None
    bom = data.startswith(codecs.BOM_UTF8)
    body = data[len(codecs.BOM_UTF8) :] if bom else data
    maybe_utf8 = bom or not (data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _nul_heavy(data))
    if maybe_utf8 and _valid_utf8(body):
        utf8, encoding = body, "UTF-8 with BOM" if bom else "UTF-8"
    if utf8 is None:
        text, encoding = decode_text(data, name)
        utf8 = text.encode("utf-8")
    if utf8.startswith(codecs.BOM_UTF8):  # a second BOM, left by tools that add one without looking
        utf8 = utf8[len(codecs.BOM_UTF8) :]
    return utf8, encoding


def _valid_utf8(data: bytes) -> bool:
    """Whether ``data`` is UTF-8, decoded 16 MB at a time and thrown away (ASCII, the usual case, in one pass)."""
    if data.isascii():
        return True
    view, start, step = memoryview(data), 0, _CHUNK * 16
    try:
        while start < len(view):
            _, used = codecs.utf_8_decode(view[start : start + step], "strict", start + step >= len(view))
            start += used  # a character cut at the end of a piece is decoded with the next one
    except UnicodeDecodeError:
        return False
    return True


def _read_csv_pandas(utf8: bytes, delimiter: str, limits: Limits) -> pd.DataFrame:
    return pd.read_csv(
        io.BytesIO(utf8),
        encoding="utf-8",
        sep=r"\s+" if delimiter == " " else delimiter,
        header=None,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=True,
        nrows=None if limits.max_rows is None else limits.max_rows + 2,
        engine="c",
    )


def _read_csv_arrow(
    utf8: bytes, delimiter: str, width: int, *, header: bool
) -> tuple[pd.DataFrame, list | None] | None:
    """The table as pandas' C parser reads it (every cell a str, "" for empty, blank lines skipped), parsed by
    pyarrow's multithreaded reader into categorical columns: each distinct text is one Python string and each
    row a code, so a column is factorised once and never holds a string per cell. None, so that pandas reads it
    (with its messages), for anything this path does not cover: whitespace delimiters, a single column, rows of
    another width, bytes pyarrow rejects. With ``header``, the first row is returned apart, as the column names,
    and its cells are in no column's categories.

    The reader parses plain strings (its fastest mode) and each column is then encoded once, whole: asking the
    reader for dictionaries gives each block its own, and joining millions of customer ids' dictionaries costs
    more than reading the file. Each column's strings are released as soon as it is encoded."""
    if delimiter == " " or len(delimiter) != 1 or width < 2:  # pandas skips a one-column file's blank-looking " "
        return None
    names = [f"f{i}" for i in range(width)]
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(utf8),
            read_options=pa_csv.ReadOptions(column_names=names, encoding="utf8", use_threads=True),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=b'"' in utf8),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, ValueError, OverflowError):
        return None
    if not table.num_rows:  # nothing but blank lines: pandas says so
        return None
    names_read = [table.column(name)[0].as_py() for name in names] if header else None
    table = table.slice(1) if header else table
    columns = {}
    for i, name in enumerate(names):
        strings = table.column(name)
        table = table.drop_columns([name])
        columns[i] = _encoded(strings)
        del strings
    del table
    pa.default_memory_pool().release_unused()  # give the parsed strings' memory back now: the cleaning comes next
    return pd.DataFrame(columns), names_read


def _encoded(strings: pa.ChunkedArray) -> pd.Categorical:
    """A column of strings as a Categorical, its categories in order of first appearance (as Arrow's
    dictionary_encode gives them). A column of customer or order ids has millions of distinct values, which
    Arrow's memo table hashes as strings one at a time (5 s for the 3.6 million ids of a 10M-row export); ids
    written as plain integers, or as text of one width (C0012345), are coded through 64-bit integers instead, the
    same categories in a fifth of the time (dense integers in the order of their numbers)."""
    try:
        fast = _integer_coded(strings) if _many_distinct(strings) else None
    except (pa.ArrowException, ValueError, OverflowError):  # e.g. more than 2 GB of text in one column
        fast = None
    if fast is not None:
        return fast
    encoded = pc.dictionary_encode(strings)  # one memo table for all blocks: they share its dictionary
    if len({(c.dictionary.buffers()[-1] or pa.py_buffer(b"")).address for c in encoded.chunks}) > 1:
        encoded = encoded.unify_dictionaries()  # not seen with pyarrow 15-21; kept so a change cannot mix codes
    return _categorical(encoded)


#: Rows looked at to tell an id column (mostly distinct values) from one of few values (dates, amounts, countries).
_PROBE_ROWS = 20_000


def _many_distinct(strings: pa.ChunkedArray) -> bool:
    head = strings.slice(0, _PROBE_ROWS)
    return len(head) == _PROBE_ROWS and pc.count_distinct(head).as_py() > _PROBE_ROWS // 10


def _integer_coded(strings: pa.ChunkedArray) -> pd.Categorical | None:
    """The column encoded through a 64-bit integer per row that is equal exactly when the texts are, or None when
    it has no such integer: digits (up to 18) are their number, a blank cell (a guest checkout) -1, unless two
    texts of one number differ (7 and 007); ASCII texts all of one width are the number their varying bytes
    spell when those are digits (C0012345: 12345), else those bytes (up to 8).

    Texts of one width that differ only in digits are ordered as text by that number: their categories are put
    in that order and marked so (:data:`~clv_core.ingest.text.TEXT_ORDERED`), which spares the customer codes
    sorting millions of texts."""
    sizes = pc.binary_length(strings)
    lengths = sizes.to_numpy()
    if not len(lengths) or not pc.all(pc.string_is_ascii(strings)).as_py():
        return None
    empty = pc.equal(sizes, 0)
    blanks = bool(pc.any(empty).as_py())
    filled = lengths[lengths > 0] if blanks else lengths
    if not len(filled):
        return None
    shortest, longest = int(filled.min()), int(filled.max())
    numeric = longest <= 18 and pc.all(pc.or_(empty, pc.ascii_is_decimal(strings))).as_py()
    if numeric:
        numbers = pc.cast(pc.if_else(empty, "-1", strings) if blanks else strings, pa.int64()).to_numpy()
        ordered = shortest == longest and not blanks  # digits of one width: in the order of their numbers
    elif shortest == longest and not blanks:
        numbers, ordered = _fixed_width_numbers(strings, longest)
    else:
        return None
    if numbers is None:
        return None
    codes, first = _codes(numbers, ordered=ordered)
    if numeric and (shortest != longest or blanks) and not np.array_equal(lengths, lengths[first][codes]):
        return None  # one number written two ways (7 and 007): two ids, which the number cannot tell apart
    labels = pd.Index(pc.take(strings, pa.array(first)).to_numpy(zero_copy_only=False), dtype=object)
    with contextlib.suppress(AttributeError, TypeError):
        labels._cache["is_unique"] = True
        if ordered:
            setattr(labels, TEXT_ORDERED, True)  # distinct, unpadded, non-empty, in code point order
        if numeric and not blanks:
            values = numbers.take(first)
            if np.array_equal(lengths.take(first), decimal_digits(values)):
                setattr(labels, PLAIN_INTEGERS, values)  # every id written as its number is: "12", never "012"
    dtype = pd.CategoricalDtype(labels, ordered=False)
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


def _codes(numbers: np.ndarray, *, ordered: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Each row's code (int32) and, per code, a row that holds it. Integers that fill most of their span (ids a
    database counts up: the span at most twice the rows) are coded through a table of the span, in the order of
    their values, with no hashing (0.4 s for the 3.6 million ids of a 10M-row export against 1.6 s); any others
    are hashed, in order of first appearance, or with ``ordered`` in the order of their values.

    >>> codes, rows = _codes(np.array([10**12, 5, 10**12, 7]), ordered=True)
    >>> codes.tolist(), rows.tolist()
    ([2, 0, 2, 1], [1, 3, 0])
    """
    n = len(numbers)
    if numbers.dtype == np.int64 and n:
        low, high = int(numbers.min()), int(numbers.max())
        if high - low < 2 * n < 2**31:
            offset = np.subtract(numbers, low, out=np.empty(n, dtype=np.int32), casting="unsafe")  # < 2n: fits
            present = np.zeros(high - low + 1, dtype=bool)
            present[offset] = True
            code_of = np.cumsum(present, dtype=np.int32) - 1
            del present
            codes = code_of.take(offset)
            del offset, code_of
            rows = np.empty(int(codes.max()) + 1, dtype=np.int32)
            rows[codes] = np.arange(n, dtype=np.int32)  # any row of a code: one number's rows hold one text (checked)
            return codes, rows
    codes = pd.factorize(numbers)[0].astype(np.int32)
    # categories appear in order, so a code's first row is where the running maximum of the codes steps up
    running = np.maximum.accumulate(codes)
    first = np.concatenate(([0], np.flatnonzero(running[1:] != running[:-1]) + 1))
    del running
    if ordered:
        order = np.argsort(numbers.take(first), kind="stable")
        rank = np.empty(len(order), dtype=np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        codes, first = rank.take(codes), first.take(order)
    return codes, first


def _fixed_width_numbers(strings: pa.ChunkedArray, width: int) -> tuple[np.ndarray | None, bool]:
    """ASCII texts of ``width`` bytes each as one 64-bit integer per row, equal exactly when the texts are, and
    whether their order is the texts' order: the number the bytes that vary between rows spell when those are
    all digits (up to 18 of them) and no text starts or ends with white space; else those bytes packed into a
    uint64 (up to 8; unordered); (None, False) when more vary. Worked out a block of rows at a time, with no
    temporary the length of the column but the result.

    >>> numbers, ordered = _fixed_width_numbers(pa.chunked_array([["C0012", "C0907", "C0012"]]), 5)
    >>> numbers.tolist(), ordered
    ([12, 907, 12], True)
    >>> numbers, ordered = _fixed_width_numbers(pa.chunked_array([["AB", "AC", "BB"]]), 2)
    >>> len(set(numbers.tolist())), ordered
    (3, False)
    """
    blocks = []
    for chunk in strings.chunks:
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32, count=len(chunk) + 1, offset=chunk.offset * 4)
        data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)
        blocks.append(data[offsets[0] : offsets[0] + len(chunk) * width].reshape(len(chunk), width))
    blocks = [b for b in blocks if len(b)]
    low = np.min([b.min(axis=0) for b in blocks], axis=0)
    high = np.max([b.max(axis=0) for b in blocks], axis=0)
    varying = np.flatnonzero(low != high)
    edges = np.array([low[0], low[-1]]) if width else np.zeros(0, np.uint8)
    unpadded = not np.isin(edges, _ASCII_SPACE).any()  # a varying edge byte is a digit, never white space
    digits = bool(len(varying) <= 18 and (low[varying] >= ord("0")).all() and (high[varying] <= ord("9")).all())
    if digits and unpadded:
        numbers = np.zeros(len(strings), dtype=np.int64)
        row = 0
        for block in blocks:
            part = numbers[row : row + len(block)]
            for position in varying:
                part *= 10
                part += block[:, position]
                part -= ord("0")
            row += len(block)
        return numbers, True
    if len(varying) > 8:
        return None, False
    packed = np.zeros((len(strings), 8), dtype=np.uint8)
    row = 0
    for block in blocks:
        packed[row : row + len(block), : len(varying)] = block[:, varying]
        row += len(block)
    return packed.view(np.uint64).ravel(), False


#: The ASCII bytes Python's str.strip() removes.
_ASCII_SPACE = np.array([9, 10, 11, 12, 13, 28, 29, 30, 31, 32], dtype=np.uint8)


def _categorical(column: pa.ChunkedArray) -> pd.Categorical:
    """A dictionary-encoded column (one dictionary for all chunks) as a pandas Categorical. Arrow's dictionary
    holds each value once, so pandas' check that the categories are unique (3.4 s for the 3.4 million customer
    ids of a 10M-row file) is skipped by telling the index so."""
    if not column.num_chunks:
        return pd.Categorical([], categories=[])
    labels = pd.Index(column.chunk(0).dictionary.to_numpy(zero_copy_only=False), dtype=object)
    # Arrow's dictionary holds each value once: tell the index so, or pandas hashes them all again to check
    with contextlib.suppress(AttributeError, TypeError):
        labels._cache["is_unique"] = True
    chunks = [c.indices.to_numpy(zero_copy_only=False) for c in column.chunks]
    codes = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
    dtype = pd.CategoricalDtype(labels, ordered=False)
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


def _nul_heavy(data: bytes) -> bool:
    """NUL bytes in more than a third of the first 4,000: UTF-16 without a BOM, or binary."""
    head = data[:4000]
    return len(head) >= 4 and head.count(0) * 3 > len(head)


def _read_text(utf8: bytes, name: str, *, encoding: str, limits: Limits, delimiter: str | None = None) -> RawTable:
    head = utf8[:_HEAD_BYTES].decode("utf-8", errors="ignore")  # valid UTF-8: only a cut last character is lost
    if not head.strip():
        raise UnreadableFileError(f"{name} is empty: the file has no transactions.")
    if len(_CONTROL.findall(head)) > max(3, len(head) // 200):
        raise UnreadableFileError(f"{name} is a binary file, not a text table of transactions.")
    start = head.lstrip()[:200].lower()
    if start.startswith(("<!doctype html", "<html", "<head", "<body")):
        raise UnreadableFileError(
            f"{name} is a web page (HTML), not a table of transactions. Download the data itself."
        )
    if start.startswith("<?xml"):
        raise UnreadableFileError(f"{name} is an XML document, not a table. Save it as CSV or .xlsx.")
    if start.startswith(("{", "[")):
        raise UnreadableFileError(f"{name} looks like JSON, not a table. Save it as CSV, Excel or Parquet.")

    lines = [ln for ln in head.splitlines()[:200] if ln.strip()]
    if len(utf8) > _HEAD_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line of a cut sample may be partial
    delimiter = delimiter or sniff_delimiter(lines)
    first = _split(lines[0], delimiter)
    has_header = _looks_like_header(first)

    # Limits, from the bytes, before pandas parses anything.
    _check_header_width(utf8, name, delimiter=delimiter, limit=limits.max_columns)
    scan = scan_lines(utf8, longer_than=limits.max_cell_chars)
    _check_text_rows(utf8, scan, name, has_header=has_header, limit=limits.max_rows)
    cells_unchecked = _check_long_line(utf8, scan, name, delimiter=delimiter, limit=limits.max_cell_chars)
    cells = (scan.lines - scan.empty_lines) * len(first)
    check_memory(len(utf8) + cells * CELL_BYTES, name, limit=limits.max_table_bytes, what=f"{cells:,} text cells")
    header: list | None = None
    frame = _read_csv_arrow(utf8, delimiter, len(first), header=has_header)
    if frame is not None:
        frame, header = frame
    try:
        if frame is None:
            frame = _read_csv_pandas(utf8, delimiter, limits)
    except pd.errors.ParserError as exc:
        raise UnreadableFileError(_parser_message(name, str(exc))) from None
    except (pd.errors.EmptyDataError, UnicodeError, ValueError, csv.Error, OverflowError) as exc:
        raise UnreadableFileError(f"{name} could not be read as a table ({exc}).") from None
    if limits.max_rows is not None and len(frame) > limits.max_rows + 2:
        frame = frame.iloc[: limits.max_rows + 2]
    check_columns(frame.shape[1], name, limit=limits.max_columns)
    # Fewer records than lines with content: a quoted value holds line breaks, and may be long without a long line.
    spans_lines = len(frame) + (header is not None) < scan.lines - scan.empty_lines and b'"' in utf8
    if header is not None:  # read apart by pyarrow
        header = [str(cell) for cell in header]
    elif has_header:
        header = [str(frame[c].iloc[0]) for c in frame.columns] if len(frame) else first
        frame = frame.iloc[1:].reset_index(drop=True)
    else:
        header = [f"column_{i + 1}" for i in range(frame.shape[1])]
    _check_size(frame, name, limits.max_rows)
    if cells_unchecked or spans_lines:
        _check_cells(frame, header, name, limit=limits.max_cell_chars)
    columns, notes = _clean_header(header, name)
    frame.columns = columns
    label = "whitespace" if delimiter == " " else _DELIMITERS.get(delimiter, repr(delimiter))
    if not has_header:
        notes.append("The first line holds data, not column names: columns are named column_1, column_2, ….")
    return RawTable(
        frame=frame,
        source_name=name,
        file_format="text",
        encoding=encoding,
        delimiter=label,
        has_header=has_header,
        notes=tuple(notes),
    )


_LEADING_BLANKS = re.compile(rb"[ \t\r\n]*")


def _check_header_width(utf8: bytes, name: str, *, delimiter: str, limit: int) -> None:
    """Refuse a first non-blank line of more than ``limit`` fields, read from the bytes, not the 64 K sample:
    a wide header is longer than the sample. Wider data lines are refused by the parser (ragged rows)."""
    start = _LEADING_BLANKS.match(utf8).end()  # not lstrip(): that copies the whole text
    end = utf8.find(b"\n", start)
    line = utf8[start : len(utf8) if end < 0 else end].rstrip(b"\r")
    if len(line) < limit:  # n fields need n - 1 delimiters
        return
    if delimiter == " ":
        fields = len(line.split())
    else:
        fields = line.count(delimiter.encode()) + 1
        if fields > limit and b'"' in line:  # a quoted value may hold the delimiter
            fields = len(_split(line.decode("utf-8", errors="replace"), delimiter))
    check_columns(fields, name, limit=limit)


# Lines pandas skips (skip_blank_lines): nothing but spaces and tabs. Counted only on the way to a refusal.
_BLANK_LINE = re.compile(rb"\n[ \t]+\r?(?=\n)")


def _check_text_rows(utf8: bytes, scan: LineScan, name: str, *, has_header: bool, limit: int | None) -> None:
    """Refuse from the line count when the data rows are over ``limit``.

    Lines are an exact count of rows when no value is quoted (a quoted value may hold line breaks) once the blank
    lines pandas skips are taken off. A file with quotes is left to the parse, which stops after ``limit + 2``
    rows: no more work than a file at the limit.
    """
    if limit is None or scan.lines - scan.empty_lines - has_header <= limit or b'"' in utf8:
        return
    blank = scan.empty_lines + sum(1 for _ in _BLANK_LINE.finditer(utf8))
    blank += _is_blank(utf8[: utf8.find(b"\n") + 1]) + _is_blank(utf8[utf8.rfind(b"\n") + 1 :])
    check_rows(scan.lines - blank - has_header, name, limit=limit)


def _is_blank(line: bytes) -> bool:
    """A first or last line of spaces and tabs only (empty ones are already in ``LineScan.empty_lines``)."""
    stripped = line.removesuffix(b"\n").removesuffix(b"\r")
    return bool(stripped) and not stripped.strip(b" \t")


def _check_long_line(utf8: bytes, scan: LineScan, name: str, *, delimiter: str, limit: int) -> bool:
    """Refuse the first line longer than ``limit`` bytes if one of its values is too; True if cells stay unchecked.

    A line without quotes splits exactly on the delimiter (or lies inside a quoted value that is longer still).
    Lines with quotes, and long lines after the first, are checked on the parsed table instead.
    """
    if scan.first_long is None:
        return False
    line_number, start, end = scan.first_long
    line = utf8[start:end].rstrip(b"\r").decode("utf-8", errors="replace")
    if '"' in line:
        return True
    fields = line.split() if delimiter == " " else line.split(delimiter)
    check_cell(max(map(len, fields)), name, limit=limit, where=f"line {line_number}")
    return scan.long_lines > 1


def _check_cells(frame: pd.DataFrame, header: list[str], name: str, *, limit: int) -> None:
    """Refuse the first column name, then the first cell (column by column), longer than ``limit`` characters."""
    check_cell(max(map(len, header), default=0), name, limit=limit, where="a column name")
    for position, column in enumerate(header):
        lengths = _cell_lengths(frame.iloc[:, position])
        if lengths.size and lengths.max() > limit:
            row = int(np.argmax(lengths > limit))
            check_cell(int(lengths[row]), name, limit=limit, where=f"row {row + 1}, column {column!r}")


def _cell_lengths(values: pd.Series) -> np.ndarray:
    """Characters in each text cell (0 for anything else), without copying a string.

    >>> _cell_lengths(pd.Series(["ab", 3, None, "xyz"])).tolist()
    [2, 0, 0, 3]
    """
    return np.fromiter((len(v) if type(v) is str else 0 for v in values.to_numpy()), dtype=np.int64, count=len(values))


def sniff_delimiter(lines: list[str]) -> str:
    """Pick the delimiter whose field count is >1 and most consistent with the header line.

    A decimal comma (``10,50``) inside a semicolon file does not fool it, because the header decides the count.

    >>> sniff_delimiter(["customer_id;date;amount", "1;2024-01-05;10,50"])
    ';'
    >>> sniff_delimiter(["00004 0001 19970101  2   29.33"])
    ' '
    """
    best, best_score = None, (0.0, 0)
    for delim in _DELIMITERS:
        counts = [len(_split(line, delim)) for line in lines[:100]]
        if counts[0] < 2:
            continue
        consistency = sum(c == counts[0] for c in counts) / len(counts)
        score = (consistency, counts[0])
        if score > best_score:
            best, best_score = delim, score
    if best is not None and best_score[0] >= 0.5:
        return best
    counts = [len(line.split()) for line in lines[:100]]
    if counts[0] > 1 and sum(c == counts[0] for c in counts) / len(counts) >= 0.9:
        return " "
    return best or ","


def _split(line: str, delim: str) -> list[str]:
    if delim == " ":
        return line.split()
    try:
        return next(csv.reader([line], delimiter=delim), [])
    except csv.Error:
        return line.split(delim)


_DATA_CELL = re.compile(r"^[\s\d.,:/+\-$€£¥()]*$")


def _looks_like_header(cells: list[str]) -> bool:
    """A first line is data, not names, when every cell is a number, a date or empty."""
    return not all(_DATA_CELL.match(c or "") for c in cells)


def _clean_header(header: list[str], name: str) -> tuple[list[str], list[str]]:
    notes = []
    stripped = [str(h).replace("\ufeff", "").strip() for h in header]
    padded = sum(a != b for a, b in zip(header, stripped, strict=True))
    if padded:
        notes.append(f"Removed spaces around {padded} column name(s).")
    columns = [h or f"column_{i + 1}" for i, h in enumerate(stripped)]
    seen: dict[str, int] = {}
    for col in columns:
        seen[col.casefold()] = seen.get(col.casefold(), 0) + 1
    dupes = [c for c in dict.fromkeys(columns) if seen[c.casefold()] > 1]
    if dupes:
        raise ColumnMappingError(
            f"{name} has more than one column named {', '.join(repr(d) for d in dupes)}. "
            "Rename them so each column name is unique, then upload again."
        )
    return columns, notes


def _check_size(frame: pd.DataFrame, name: str, max_rows: int | None) -> None:
    if frame.empty or frame.shape[0] == 0:
        raise UnreadableFileError(f"{name} has column names but no rows: the file has no transactions.")
    check_rows(len(frame), name, limit=max_rows, at_least=True)  # parsing stopped after max_rows + 2


_LINE = re.compile(r"line (\d+), saw (\d+)")


def _parser_message(name: str, detail: str) -> str:
    match = _LINE.search(detail)
    if match:
        return (
            f"{name}: line {match.group(1)} has {match.group(2)} fields, more than the lines before it. "
            "Check for an unquoted delimiter in a value, fix that line and upload again."
        )
    return f"{name} could not be read as a table ({detail.strip()})."


# --- Excel and Parquet --------------------------------------------------------------------------------------


def _read_excel(data: bytes, name: str, *, sheet, limits: Limits, chooser) -> RawTable:
    try:
        book = pd.ExcelFile(io.BytesIO(data), engine="openpyxl")
        sheets = tuple(book.sheet_names)
    except Exception as exc:  # openpyxl raises many unrelated types for damaged packages
        raise UnreadableFileError(f"{name} is not a readable Excel workbook ({type(exc).__name__}).") from None
    if not sheets:
        raise UnreadableFileError(f"{name} has no sheets.")
    if sheet is not None and sheet not in sheets:
        raise UnreadableFileError(f"{name} has no sheet named {sheet!r}. Sheets: {', '.join(sheets)}.")

    def read(sheet_name: str, nrows: int | None) -> pd.DataFrame:
        try:
            return book.parse(sheet_name, header=None, dtype=object, na_filter=False, nrows=nrows)
        except MemoryError:
            raise
        except Exception as exc:
            raise UnreadableFileError(
                f"{name}: sheet {sheet_name!r} could not be read ({type(exc).__name__})."
            ) from None

    heads, widths = {}, {}
    for s in sheets if sheet is None else (sheet,):
        top = read(s, 1)
        widths[s] = top.shape[1]
        if not top.empty:
            heads[s] = pd.DataFrame(columns=[str(v).strip() for v in top.iloc[0].tolist()])
    chosen = sheet or (chooser(heads) if chooser and heads else None) or next(iter(heads), sheets[0])
    check_columns(widths[chosen], name, limit=limits.max_columns)
    frame = read(chosen, None if limits.max_rows is None else limits.max_rows + 2)
    if frame.empty:
        raise UnreadableFileError(f"{name}: sheet {chosen!r} is empty: it has no transactions.")
    check_columns(frame.shape[1], name, limit=limits.max_columns)  # a data row wider than the header
    _check_sheet_text(frame, name, sheet=chosen, limits=limits)
    header = ["" if (isinstance(v, float) and pd.isna(v)) else str(v) for v in frame.iloc[0].tolist()]
    frame = frame.iloc[1:].reset_index(drop=True)
    columns, notes = _clean_header(header, name)
    frame.columns = columns
    frame = frame.loc[~(frame.astype(str).apply(lambda c: c.str.strip()) == "").all(axis=1)].reset_index(drop=True)
    _check_size(frame, name, limits.max_rows)
    if len(sheets) > 1:
        notes.append(f"Read sheet {chosen!r} of {len(sheets)} ({', '.join(sheets)}).")
    return RawTable(frame=frame, source_name=name, file_format="excel", sheet=chosen, sheets=sheets, notes=tuple(notes))


def _check_sheet_text(frame: pd.DataFrame, name: str, *, sheet: str, limits: Limits) -> None:
    """Refuse a sheet whose text, counted once per cell, is over the cap, or with a cell over the cell limit.

    openpyxl gives every cell that uses a shared string the same string object, so the sheet is still small here;
    the first operation that copies each cell (stripping, converting to Arrow) would expand it.
    """
    total = 0
    for position in range(frame.shape[1]):
        lengths = _cell_lengths(frame.iloc[:, position])
        if lengths.size and lengths.max() > limits.max_cell_chars:
            row = int(np.argmax(lengths > limits.max_cell_chars))
            where = f"cell {_column_letter(position)}{row + 1} of sheet {sheet!r}"
            check_cell(int(lengths[row]), name, limit=limits.max_cell_chars, where=where)
        total += int(lengths.sum())
        check_memory(total, name, limit=limits.max_decompressed_bytes, what="its text, counted in every cell")


def _column_letter(position: int) -> str:
    """Excel's name for a column: 0 → A, 25 → Z, 26 → AA."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _read_parquet(data: bytes, name: str, *, limits: Limits) -> RawTable:
    """Metadata first (rows, columns, nested types, sizes); then the values, text kept dictionary-encoded until
    its decoded size and longest cell are known; pandas last. The result is what ``pd.read_parquet`` gives, except
    that dictionary (categorical) columns come as their values: ``astype(str)`` on a categorical builds a
    fixed-width array of rows × longest category × 4 bytes."""
    try:
        footer = pq.ParquetFile(io.BytesIO(data))
        schema, metadata = footer.schema_arrow, footer.metadata
    except MemoryError:
        raise
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, … for damaged files
        raise UnreadableFileError(f"{name} is not a readable Parquet file ({type(exc).__name__}).") from None
    _check_parquet_metadata(schema, metadata, name, limits=limits)
    # Every text column is read as a dictionary, not only those whose metadata declares a dictionary page: that
    # declaration can be left out while the pages still are dictionary-encoded. Plain pages cost a hash each
    # (10M rows: about 0.45 s more than a plain read).
    text = [f.name for f in schema if _is_text(f.type) and not pa.types.is_dictionary(f.type)]
    try:
        reader = pq.ParquetFile(io.BytesIO(data), read_dictionary=text)
        table = _decode_dictionaries(_read_row_groups(reader, name, limits=limits))
        frame = table.to_pandas()
    except (UnreadableFileError, MemoryError):
        raise
    except Exception as exc:
        raise UnreadableFileError(f"{name} is not a readable Parquet file ({type(exc).__name__}).") from None
    frame = frame.reset_index(drop=frame.index.name is None and isinstance(frame.index, pd.RangeIndex))
    columns, notes = _clean_header([str(c) for c in frame.columns], name)
    frame.columns = columns
    _check_size(frame, name, limits.max_rows)
    return RawTable(frame=frame, source_name=name, file_format="parquet", notes=tuple(notes))


def _is_text(data_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return (
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_binary(data_type)
        or pa.types.is_large_binary(data_type)
        or pa.types.is_string_view(data_type)
        or pa.types.is_binary_view(data_type)
    )


def _fixed_bytes(data_type: pa.DataType) -> int:
    """Bytes per value of a fixed-width type (its values when dictionary-encoded), else 0."""
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    try:
        return max(1, data_type.bit_width // 8)
    except ValueError:  # not a fixed-width type
        return 0


def _check_parquet_metadata(schema: pa.Schema, metadata, name: str, *, limits: Limits) -> None:
    """Everything the footer tells, before a value is read."""
    for column_field in schema:
        data_type = column_field.type.value_type if pa.types.is_dictionary(column_field.type) else column_field.type
        if pa.types.is_nested(data_type):
            raise UnreadableFileError(
                f"{name}: column {column_field.name!r} holds {data_type} values (several values in each cell); one "
                "value per cell is expected. Flatten that column into rows, or leave it out, and upload again."
            )
    check_columns(len(schema), name, limit=limits.max_columns)
    groups = [metadata.row_group(i) for i in range(metadata.num_row_groups)]
    rows = max(metadata.num_rows, sum(g.num_rows for g in groups))
    check_rows(rows, name, limit=limits.max_rows)
    stored = sum(g.total_byte_size for g in groups)
    fixed = rows * sum(_fixed_bytes(f.type) for f in schema)
    check_memory(max(stored, fixed), name, limit=limits.max_decompressed_bytes, what="by its metadata")
    cells = rows * sum(1 for f in schema if _is_text(f.type) or not _fixed_bytes(f.type))  # Python objects in pandas
    table = max(stored, fixed) + cells * CELL_BYTES
    check_memory(table, name, limit=limits.max_table_bytes, what=f"{cells:,} text cells, by its metadata")


def _read_row_groups(reader: pq.ParquetFile, name: str, *, limits: Limits) -> pa.Table:
    """Read one row group at a time, adding up its decoded size, so reading stops at the first group over a limit."""
    if reader.num_row_groups == 0:
        return reader.read(use_pandas_metadata=True)
    parts, size, rows = [], 0, 0
    for i in range(reader.num_row_groups):
        part = reader.read_row_group(i, use_pandas_metadata=True)
        for column_field, column in zip(part.schema, part.columns):
            decoded, longest, row = _decoded_size(column)
            size += decoded
            check_memory(size, name, limit=limits.max_decompressed_bytes, what="its values once decoded")
            where = f"row {rows + row + 1}, column {column_field.name!r}"
            check_cell(longest, name, limit=limits.max_cell_chars, where=where)
        rows += part.num_rows
        check_rows(rows, name, limit=limits.max_rows)
        parts.append(part)
    return pa.concat_tables(parts)


def _decoded_size(column: pa.ChunkedArray) -> tuple[int, int, int]:
    """Bytes the column takes once its dictionaries are decoded, and the longest text cell (characters) with its
    row; text sizes are the dictionary's lengths taken by the indices, so nothing is decoded to measure them."""
    if not _is_text(column.type):
        width = _fixed_bytes(column.type)
        return (len(column) * width if width and pa.types.is_dictionary(column.type) else column.nbytes), 0, 0
    total, longest, longest_row, offset = 0, 0, 0, 0
    for chunk in column.chunks:
        values = chunk.dictionary if isinstance(chunk, pa.DictionaryArray) else chunk
        sizes = pc.binary_length(values)
        chars = pc.utf8_length(values) if pa.types.is_string(values.type) else sizes
        if isinstance(chunk, pa.DictionaryArray):
            sizes, chars = pc.take(sizes, chunk.indices), pc.take(chars, chunk.indices)
        total += pc.sum(sizes).as_py() or 0
        most = pc.max(chars).as_py() or 0
        if most > longest:
            longest, longest_row = most, offset + pc.index(chars, most).as_py()
        offset += len(chunk)
    return total, longest, longest_row


def _decode_dictionaries(table: pa.Table) -> pa.Table:
    for i, column_field in enumerate(table.schema):
        if pa.types.is_dictionary(column_field.type):
            value_type = column_field.type.value_type
            decoded = pa.chunked_array([c.dictionary_decode() for c in table.column(i).chunks], type=value_type)
            table = table.set_column(i, column_field.with_type(value_type), decoded)
    return table
