"""Customer lists a spreadsheet or campaign tool can open safely.

Text cells that start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are prefixed with a single quote
so no spreadsheet evaluates them (CSV/formula injection); numbers are left alone. Excel files are written with
every cell as a value, never a formula. File names carry a segment, the date and a hash of the content.

Every export carries its assumptions (:func:`assumptions`): what the table is, each column's meaning and unit, the
model and its parameters, the economics, the model's time unit, the data's fingerprint and the app's version. Excel
files hold them on a second sheet; a CSV stays a plain table for campaign tools, with the same assumptions in a
JSON file of the same name beside it (:func:`assumptions_json`).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import math
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

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
        try:  # vectorised: a list of millions of customers in a second, not a Python call per cell
            mask = text.str.startswith(_DANGEROUS, na=False).astype(bool)
        except (AttributeError, TypeError):  # no text at all in the column
            mask = text.map(lambda v: isinstance(v, str) and v.startswith(_DANGEROUS))
        out[column] = text.where(~mask, "'" + text.astype(str))
    safe_columns = [("'" + c) if isinstance(c, str) and c.startswith(_DANGEROUS) else c for c in out.columns]
    out.columns = safe_columns
    return out


#: How a column's meaning (see :func:`assumptions`) says it holds amounts.
CURRENCY_OF_FILE = "(currency of the file)"


def in_currency(frame: pd.DataFrame, columns: dict[str, str], currency) -> tuple[pd.DataFrame, dict[str, str]]:
    """``frame`` with the currency code in the header of each money column (``clv`` → ``clv_usd``: the amounts say
    what they are in the campaign tool too) and ``columns`` (their meanings) saying it; unchanged when the
    currency is not known. A money column is one whose meaning ends in :data:`CURRENCY_OF_FILE`.

    >>> from clv_core.currency import KNOWN, NONE
    >>> frame = pd.DataFrame({"customer_id": ["a"], "clv": [1.5]})
    >>> meanings = {"customer_id": "id", "clv": "predicted value (currency of the file)"}
    >>> out, said = in_currency(frame, meanings, KNOWN["EUR"])
    >>> list(out.columns), said["clv_eur"]
    (['customer_id', 'clv_eur'], 'predicted value (EUR)')
    >>> in_currency(frame, meanings, NONE)[0] is frame
    True
    """
    if not currency.known:
        return frame, columns
    code = currency.code
    rename = {c: f"{c}_{code.lower()}" for c, text in columns.items() if CURRENCY_OF_FILE in text and c in frame}
    said = {rename.get(c, c): text.replace(CURRENCY_OF_FILE, f"({code})") for c, text in columns.items()}
    return frame.rename(columns=rename), said


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with BOM, so Excel detects the encoding) of the neutralised frame."""
    # RFC 4180 line endings: the writer then quotes any cell holding a CR or LF, so a row never splits
    return neutralise(frame).to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\r\n").encode("utf-8-sig")


def write_csv(frame: pd.DataFrame, path) -> None:
    """A large table as a plain CSV file for batch work (the command line's scores): every float in its shortest
    form that reads back exactly, a missing value empty, text quoted, the header as pandas writes it. pyarrow's
    writer: pandas' took 27 s for 3.6 million scored customers, this about 2.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> write_csv(pd.DataFrame({"customer_id": ["007", "a,b"], "clv": [0.1, float("nan")]}), path)
    >>> path.read_text().splitlines()
    ['customer_id,clv', '"007",0.1', '"a,b",']
    """
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow([str(c) for c in frame.columns])
    table = _arrow(frame)
    stream = hasattr(path, "write")  # a binary stream the caller owns (standard output): written, not closed
    with contextlib.nullcontext(path) if stream else open(path, "wb") as out:
        out.write(header.getvalue().encode("utf-8"))
        pa_csv.write_csv(table, out, write_options=pa_csv.WriteOptions(include_header=False))
        out.flush()


#: The table formats :func:`write_table` writes, by extension.
TABLE_FORMATS = (".csv", ".parquet", ".xlsx", ".json")
#: Data rows an Excel sheet holds (1,048,576 rows, one of them the header).
EXCEL_MAX_ROWS = 1_048_575


def write_table(frame: pd.DataFrame, path) -> None:
    """``frame`` written to ``path`` in the format its extension names, every number in full precision:

    * ``.csv``: UTF-8, text quoted, formula-safe (:func:`neutralise`), dates as YYYY-MM-DD (:func:`write_csv`);
    * ``.parquet``: typed columns, ids as text (``007`` stays ``007``), dates as dates;
    * ``.xlsx``: formula-safe values on one sheet (at most :data:`EXCEL_MAX_ROWS` rows);
    * ``.json``: an array of one object per row, a missing value ``null``, dates ISO.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> frame = pd.DataFrame({"customer_id": ["007", "=1+1"], "clv": [1047860.123456789, float("nan")]})
    >>> write_table(frame, folder / "t.json")
    >>> json.loads((folder / "t.json").read_text())
    [{'customer_id': '007', 'clv': 1047860.123456789}, {'customer_id': '=1+1', 'clv': None}]
    >>> write_table(frame, folder / "t.csv")
    >>> print((folder / "t.csv").read_text())
    customer_id,clv
    "007",1047860.123456789
    "'=1+1",
    <BLANKLINE>
    >>> write_table(frame, folder / "t.txt")
    Traceback (most recent call last):
    ...
    clv_core.errors.ClvError: t.txt: the extension names the format; use one of .csv, .parquet, .xlsx, .json.
    """
    from pathlib import Path

    from clv_core.errors import ClvError

    path = Path(path)
    kind = path.suffix.lower()
    if kind not in TABLE_FORMATS:
        raise ClvError(f"{path.name}: the extension names the format; use one of {', '.join(TABLE_FORMATS)}.")
    if kind == ".csv":
        write_csv(neutralise(frame), path)
    elif kind == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(_arrow(frame), path)
    elif kind == ".xlsx":
        if len(frame) > EXCEL_MAX_ROWS:
            raise ClvError(
                f"{len(frame):,} rows do not fit an Excel sheet ({EXCEL_MAX_ROWS:,} at most): write .parquet or .csv."
            )
        path.write_bytes(to_excel_bytes(frame))
    else:
        rows = _arrow(frame).to_pylist()
        path.write_text(json.dumps(rows, ensure_ascii=False, allow_nan=False, default=_json_value), encoding="utf-8")


def _json_value(value):
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _arrow(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as an Arrow table: text ids as strings whatever they look like, a column of midnight timestamps
    as dates, a missing number null."""
    import pyarrow.compute as pc

    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(table.schema):
        column = table.column(i)
        if pa.types.is_timestamp(field.type) and column.null_count < len(column):
            if pc.all(pc.equal(pc.floor_temporal(column, unit="day"), column)).as_py():
                table = table.set_column(i, field.name, pc.cast(column, pa.date32()))
        elif pa.types.is_floating(field.type):  # NaN (pandas' missing number) and infinities as null
            table = table.set_column(i, field.name, pc.if_else(pc.is_finite(column), column, None))
    return table


def to_excel_bytes(frame: pd.DataFrame, *, sheet: str = "customers", about: dict | None = None) -> bytes:
    """An .xlsx with every cell a value: strings are written as strings even if they look like formulas.
    ``about`` (from :func:`assumptions`) goes on a second sheet, "assumptions", one setting per row."""
    from openpyxl import Workbook

    safe = neutralise(frame)
    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31])
    ws.append([str(c) for c in safe.columns])
    for row in safe.itertuples(index=False):
        ws.append([_cell(v) for v in row])
    if about is not None:
        notes = book.create_sheet("assumptions")
        rows = neutralise(pd.DataFrame(flatten(about).items(), columns=["setting", "value"]))
        notes.append(["setting", "value"])
        for row in rows.itertuples(index=False):
            notes.append([_cell(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def assumptions(
    what: str,
    frame: pd.DataFrame,
    *,
    fingerprint: str,
    columns: dict[str, str] | None = None,
    fits: tuple | None = None,
    economics=None,
    settings: dict | None = None,
    version: str | None = None,
) -> dict:
    """What an exported table is and the assumptions behind its numbers.

    ``fingerprint`` identifies the data (the SHA-256 of the loaded file's bytes); ``columns`` maps column names to
    their meaning and unit; ``fits`` is (purchase fit, spend fit) when the numbers come from models; ``economics``
    an :class:`clv_core.economics.Economics`; ``settings`` anything else that shaped the table (filters,
    thresholds, dates).

    >>> about = assumptions("test", pd.DataFrame({"clv": [1.0]}), fingerprint="ab12", version="9.9")
    >>> about["export"], about["rows"], about["data fingerprint (SHA-256)"], about["app"]
    ('test', 1, 'ab12', 'CLV Studio 9.9')
    """
    from clv_core import __version__
    from clv_core.models import MODEL_LABELS

    about: dict = {
        "export": what,
        "rows": len(frame),
        "created (UTC)": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "app": f"CLV Studio {version or __version__}",
        "data fingerprint (SHA-256)": fingerprint,
    }
    if columns:
        about["columns"] = {c: columns.get(c, "as named") for c in map(str, frame.columns)}
    if fits is not None:
        for fit in fits:
            unit = fit.time_unit[:-1]
            about[f"model: {MODEL_LABELS.get(fit.model, fit.model)}"] = {
                "fitted on (customers)": fit.customers,
                "time unit": f"{fit.time_unit} (rates are per {unit})",
                "parameters": {k: float(v) for k, v in fit.params.items()},
                "penalizer": fit.penalizer,
                "log-likelihood": float(fit.log_likelihood),
            }
    if economics is not None:
        about["economics"] = economics.as_dict()
    if settings:
        about["settings"] = dict(settings)
    return about


def flatten(about: dict, prefix: str = "") -> dict:
    """Nested assumptions as one level, ``"economics / horizon (months)"``, for a two-column sheet.

    >>> flatten({"a": 1, "b": {"c": 2, "d": {"e": 3}}})
    {'a': 1, 'b / c': 2, 'b / d / e': 3}
    """
    out: dict = {}
    for key, value in about.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name} / "))
        else:
            out[name] = value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
    return out


def assumptions_json(about: dict) -> bytes:
    """The assumptions as UTF-8 JSON, to travel beside a CSV under the same name."""
    return strict_json(about, ensure_ascii=False).encode("utf-8")


def strict_json(value, *, indent: int | None = 2, ensure_ascii: bool = True) -> str:
    """JSON that every strict parser reads (jq, JavaScript, most tools): a number that is not finite is ``null``,
    never ``NaN`` or ``Infinity``, and where it is a field of an object the reason stands beside it, under the
    same name plus ``_note``. NumPy scalars are written as numbers; anything else JSON has no type for, as text.

    >>> print(strict_json({"log_likelihood": float("nan"), "params": {"r": 0.24, "s": float("inf")}}, indent=None))
    {"log_likelihood": null, "log_likelihood_note": "not a number (the computation failed)", "params": {"r": 0.24, \
"s": null, "s_note": "infinite"}}
    """
    return json.dumps(_finite(value), indent=indent, ensure_ascii=ensure_ascii, allow_nan=False, default=str)


def _finite(value):
    if isinstance(value, dict):
        out: dict = {}
        for key, item in value.items():
            item = _number(item)
            if isinstance(item, float) and not math.isfinite(item):
                out[key], out[f"{key}_note"] = None, _not_finite(item)
            else:
                out[key] = _finite(item)
        return out
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    value = _number(value)
    return None if isinstance(value, float) and not math.isfinite(value) else value  # in a list: null alone


def _number(value):
    return value.item() if isinstance(value, np.generic) else value


def _not_finite(number: float) -> str:
    if math.isnan(number):
        return "not a number (the computation failed)"
    return "infinite" if number > 0 else "minus infinite"


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
