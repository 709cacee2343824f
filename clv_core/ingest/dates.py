"""Dates read by explicit rules, never by pandas' guess.

Each distinct text is classified into a family and parsed by that family's rule:

* ISO 8601 (year first, ``2024-01-05``, ``2024/01/05 10:30``, with or without a time-zone offset);
* day/month/year or month/day/year with ``/``, ``-`` or ``.`` separators and 2- or 4-digit years. The order is
  decided for the whole column: a first number above 12 means day first, a second number above 12 means month
  first; if neither occurs the column is *ambiguous* and the configured default is used and reported;
* ``yyyymmdd`` integers (CDNOW style);
* Excel serial day numbers (20000–80000, origin 1899-12-30);
* dates with month names (``5 Jan 2024``), read by dateutil.

Day-first is never applied to ISO dates (pandas #58859 turns ``2024-01-05`` into 1 May under ``dayfirst=True``).
Offsets are converted to the business time zone, then dropped: daily models care about the local date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import dateutil.parser
import numpy as np
import pandas as pd

from clv_core.ingest.text import distinct_values, factorized_values
from clv_core.names import AUTO, DAY_FIRST, MONTH_FIRST

_ISO = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_ISO_TZ = re.compile(r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$")
_DMY = (
    r"^(?P<a>\d{1,2})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
    r"(?:[ T](?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?\s*(?P<ampm>[AaPp][Mm])?)?$"
)
_YMD8 = re.compile(r"^\d{8}$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_TEXTUAL = re.compile(r"[A-Za-z]{3,}")

#: pandas stores nanosecond timestamps, which cover these years.
_MIN_YEAR, _MAX_YEAR = 1678, 2261


@dataclass(frozen=True)
class DateInfo:
    """How a date column was read.

    Attributes
    ----------
    formats : tuple of (str, int)
        Each format found and how many rows it covered, most common first.
    order : str or None
        ``"day-first"`` or ``"month-first"`` for d/m/y-style dates; None when none were present.
    ambiguous : bool
        True when no day above 12 decided the order, so ``order`` came from the setting.
    tz_converted : int
        Rows whose time-zone offset was converted to the business time zone.
    two_digit_years : int
        Rows with a two-digit year, read as the latest year not after this year.
    excel_serials : int
        Rows read as Excel serial day numbers.
    """

    formats: tuple[tuple[str, int], ...] = ()
    order: str | None = None
    ambiguous: bool = False
    tz_converted: int = 0
    two_digit_years: int = 0
    excel_serials: int = 0


@dataclass(frozen=True)
class ParsedDates:
    """Parsed values (naive ``datetime64[ns]`` in the business time zone, NaT where unreadable), a mask of
    values read but outside pandas' range, and how the column was read."""

    values: pd.Series
    out_of_range: np.ndarray
    info: DateInfo


def parse_dates(
    column: pd.Series,
    *,
    order: str = AUTO,
    ambiguous_default: str = DAY_FIRST,
    timezone: str = "UTC",
    today: dt.date | None = None,
) -> ParsedDates:
    """Parse a date column by the rules in this module's docstring.

    Parameters
    ----------
    column : pandas.Series
        Text, numbers, Python datetimes or a datetime64 column.
    order : {"auto", "day-first", "month-first"}
        Order for d/m/y-style dates; ``"auto"`` decides from the data.
    ambiguous_default : {"day-first", "month-first"}
        Order used when ``order="auto"`` and the data cannot decide.
    timezone : str
        Business time zone (IANA name). Values with offsets are converted to it.
    today : datetime.date, optional
        Reference for two-digit years (default: today).

    Examples
    --------
    >>> p = parse_dates(pd.Series(["13/01/2024", "05/02/2024"]))
    >>> p.values.dt.strftime("%Y-%m-%d").tolist(), p.info.order, p.info.ambiguous
    (['2024-01-13', '2024-02-05'], 'day-first', False)
    """
    today = today or dt.date.today()
    if pd.api.types.is_datetime64_any_dtype(column):
        values, converted = _from_datetime64(column, timezone)
        return ParsedDates(
            values.reset_index(drop=True),
            np.zeros(len(column), dtype=bool),
            DateInfo(formats=(("date/time values", int(values.notna().sum())),), tz_converted=converted),
        )
    # each distinct cell is read once: as text, then parsed (a date column has few distinct values)
    # (distinct cells become texts, and two cells may give one text: the rows are looked up once, at the end)
    codes, raw = distinct_values(column)
    raw_texts = _as_text(factorized_values(raw, column.dtype))
    text_codes, uniques = pd.factorize(raw_texts, use_na_sentinel=True)
    texts = pd.Series(uniques, dtype=object).str.strip()
    raw_counts = np.bincount(codes[codes >= 0], minlength=len(raw))
    known = text_codes >= 0
    counts = np.bincount(text_codes[known], weights=raw_counts[known], minlength=len(texts)).astype(np.int64)
    parsed = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[ns]")
    out_range = np.zeros(len(texts), dtype=bool)
    formats: dict[str, int] = {}
    info: dict[str, object] = {}

    iso = texts.str.match(_ISO)
    if iso.any():
        _parse_iso(texts[iso], parsed, out_range, timezone, info, counts)
        formats["ISO 8601 (YYYY-MM-DD)"] = int(counts[iso.to_numpy()].sum())
    rest = ~iso
    dmy = texts[rest].str.extract(_DMY).dropna(subset=["a"])
    if not dmy.empty:
        label = _parse_dmy(dmy, parsed, out_range, order, ambiguous_default, today, info, counts)
        formats[label] = int(counts[dmy.index.to_numpy()].sum())
    rest &= ~texts.index.isin(dmy.index)
    ymd8 = rest & texts.str.match(_YMD8)
    if ymd8.any():
        sub = texts[ymd8]
        years = sub.str[:4].astype(int)
        ok = years.between(_MIN_YEAR, _MAX_YEAR)
        out_range[sub.index[~ok]] = True
        parsed.loc[sub.index[ok]] = pd.to_datetime(sub[ok], format="%Y%m%d", errors="coerce")
        formats["YYYYMMDD"] = int(counts[ymd8.to_numpy()].sum())
    rest &= ~ymd8
    serial = rest & texts.str.match(_SERIAL)
    if serial.any():
        numbers = texts[serial].astype(float)
        numbers = numbers[numbers.between(20_000, 80_000)]
        parsed.loc[numbers.index] = pd.to_datetime(numbers, unit="D", origin="1899-12-30").dt.floor("s")
        info["excel_serials"] = int(counts[numbers.index.to_numpy()].sum())
        if info["excel_serials"]:
            formats["Excel serial number"] = info["excel_serials"]
    rest &= ~serial
    textual = rest & texts.str.contains(_TEXTUAL) & texts.str.contains(r"\d")
    if textual.any():
        text_order = order if order != AUTO else info.get("order", ambiguous_default)
        n = _parse_textual(texts[textual], parsed, out_range, text_order, timezone, info, counts)
        if n:
            formats["date with month name"] = n

    # each distinct cell's date, then each row's (code −1, an empty cell, takes the NaT appended)
    cell_dates = np.append(parsed.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns")).take(text_codes)
    cell_out = np.append(out_range, False).take(text_codes)
    return ParsedDates(
        values=pd.Series(np.append(cell_dates, np.datetime64("NaT", "ns")).take(codes)),
        out_of_range=np.append(cell_out, False).take(codes),
        info=DateInfo(
            formats=tuple(sorted(formats.items(), key=lambda kv: -kv[1])),
            order=info.get("order"),
            ambiguous=bool(info.get("ambiguous", False)),
            tz_converted=int(info.get("tz_converted", 0)),
            two_digit_years=int(info.get("two_digit_years", 0)),
            excel_serials=int(info.get("excel_serials", 0)),
        ),
    )


def _as_text(column: pd.Series) -> pd.Series:
    """Every cell as text: Excel/Parquet cells may be datetimes, numbers or strings side by side."""
    if pd.api.types.is_integer_dtype(column):
        return column.astype("Int64").astype(str).where(column.notna(), None)
    if pd.api.types.is_float_dtype(column):
        return column.map(lambda v: None if pd.isna(v) else (str(int(v)) if float(v).is_integer() else repr(v)))
    if column.dtype == object and not column.map(lambda v: isinstance(v, str)).all():
        return column.map(_cell_text)
    return column.mask(column.str.strip() == "", None)


def _cell_text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _from_datetime64(column: pd.Series, timezone: str) -> tuple[pd.Series, int]:
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        converted = int(column.notna().sum())
        return column.dt.tz_convert(timezone).dt.tz_localize(None).astype("datetime64[ns]"), converted
    return column.astype("datetime64[ns]"), 0


def _parse_iso(sub, parsed, out_range, timezone, info, counts) -> None:
    years = sub.str[:4].astype(int)
    ok = years.between(_MIN_YEAR, _MAX_YEAR)
    out_range[sub.index[~ok]] = True
    sub = sub[ok].str.replace(r"^(\d{4})[/.](\d{1,2})[/.]", r"\1-\2-", regex=True)
    aware = sub.str.contains(_ISO_TZ)
    if aware.any():
        stamps = pd.to_datetime(sub[aware], format="ISO8601", utc=True, errors="coerce")
        parsed.loc[stamps.index] = stamps.dt.tz_convert(timezone).dt.tz_localize(None)
        info["tz_converted"] = int(counts[stamps.index.to_numpy()].sum())
    naive = sub[~aware]
    if not naive.empty:
        parsed.loc[naive.index] = pd.to_datetime(naive, format="ISO8601", errors="coerce")


def _parse_dmy(dmy, parsed, out_range, order, ambiguous_default, today, info, counts) -> str:
    a, b = dmy["a"].astype(int), dmy["b"].astype(int)
    if order in (DAY_FIRST, MONTH_FIRST):
        chosen = order
    elif (a > 12).any() and not (b > 12).any():
        chosen = DAY_FIRST
    elif (b > 12).any() and not (a > 12).any():
        chosen = MONTH_FIRST
    elif (a > 12).any() and (b > 12).any():  # inconsistent column: keep the order that reads more rows
        chosen = DAY_FIRST if (b <= 12).sum() >= (a <= 12).sum() else MONTH_FIRST
    else:
        chosen = ambiguous_default
        info["ambiguous"] = True
    info["order"] = chosen
    day, month = (a, b) if chosen == DAY_FIRST else (b, a)
    year = dmy["y"].astype(int)
    short = dmy["y"].str.len() == 2
    if short.any():
        # the latest year ending in those digits that is not after this year (no 2069 for "69")
        century = (today.year // 100) * 100
        year = year.where(~short, np.where(year + century <= today.year, year + century, year + century - 100))
        info["two_digit_years"] = int(counts[dmy.index[short].to_numpy()].sum())
    ok = year.between(_MIN_YEAR, _MAX_YEAR)
    out_range[dmy.index[~ok]] = True
    hour = pd.to_numeric(dmy["h"]).fillna(0).astype(int)
    pm = dmy["ampm"].fillna("").str.lower()
    hour = hour.where(pm == "", (hour % 12) + np.where(pm == "pm", 12, 0))
    parts = pd.DataFrame(
        {
            "year": year[ok],
            "month": month[ok],
            "day": day[ok],
            "hour": hour[ok],
            "minute": pd.to_numeric(dmy["mi"]).fillna(0).astype(int)[ok],
            "second": pd.to_numeric(dmy["s"]).fillna(0).astype(int)[ok],
        }
    )
    if not parts.empty:
        parsed.loc[parts.index] = pd.to_datetime(parts, errors="coerce")
    sep = dmy["sep"].mode().iloc[0]
    yy = "YYYY" if (~short).sum() >= short.sum() else "YY"
    return sep.join(["DD", "MM", yy] if chosen == DAY_FIRST else ["MM", "DD", yy])


def _parse_textual(sub, parsed, out_range, order, timezone, info, counts) -> int:
    n = 0
    for idx, text in sub.items():
        try:
            stamp = pd.Timestamp(dateutil.parser.parse(text, dayfirst=order == DAY_FIRST))
        except (ValueError, OverflowError, TypeError, pd.errors.OutOfBoundsDatetime):
            continue
        if not _MIN_YEAR <= stamp.year <= _MAX_YEAR:
            out_range[idx] = True
            continue
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert(timezone).tz_localize(None)
            info["tz_converted"] = int(info.get("tz_converted", 0)) + int(counts[idx])
        parsed.loc[idx] = stamp
        n += int(counts[idx])
    return n
