"""Amounts read from what people actually type: ``$1,234.50``, ``€99``, ``1.234,50``, ``(12.00)``, ``12 EUR``.

The decimal mark is decided once per column by a vote of the values that can only be read one way
(``1.234,50`` and ``10,50`` vote for a decimal comma; ``1,234.50`` and ``10.5`` for a point). Values like
``1,000`` that read either way follow the vote; with no vote at all the point wins unless the file is
semicolon-separated. Thousands separators must group by three, so ``1,2,3`` is refused rather than read as 123.
"""

from __future__ import annotations

import decimal
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clv_core.ingest.text import distinct_values

#: Amounts beyond this are not transactions; they are read errors or overflow traps (sums would reach inf).
MAX_ABS_AMOUNT = 1e15

_CURRENCY = (
    r"US\$|CA\$|AU\$|A\$|NZ\$|HK\$|R\$|C\$|\$|€|£|¥|₹|₩|CHF|USD|EUR|GBP|JPY|CAD|AUD|NZD|INR|SEK|NOK|DKK|"
    r"PLN|BRL|MXN|CNY|RMB|ZAR|kr\.?|zł|Fr\."
)
_AMOUNT = re.compile(
    rf"^(?P<s1>[-+]?)\s*(?P<c1>{_CURRENCY})?\s*(?P<s2>[-+]?)\s*"
    r"(?P<num>\d(?:[\d.,' \u00a0\u202f]*\d)?|[.,]\d+)(?P<exp>[eE][-+]?\d+)?"
    rf"\s*(?P<c2>{_CURRENCY})?\s*(?P<s3>-?)$",
    re.IGNORECASE,
)
_NON_FINITE = re.compile(r"^[-+]?(inf|infinity|nan)$", re.IGNORECASE)
_SAME = {"US$": "$", "USD": "$", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "KR.": "KR"}
_SPACES = "\u00a0\u202f\u2009 "


@dataclass(frozen=True)
class AmountInfo:
    """How an amount column was read.

    Attributes
    ----------
    decimal_mark : str
        ``"."`` or ``","``.
    thousands_separator : str or None
        The grouping character seen, if any.
    currencies : tuple of (str, int)
        Currency symbols/codes seen and the rows carrying each.
    """

    decimal_mark: str = "."
    thousands_separator: str | None = None
    currencies: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class ParsedAmounts:
    """Amounts as float64 (NaN where unreadable), a mask of non-finite or absurdly large values, and how read."""

    values: pd.Series
    non_finite: np.ndarray
    info: AmountInfo


def parse_amounts(column: pd.Series, *, decimal_hint: str | None = None) -> ParsedAmounts:
    """Parse an amount column.

    Parameters
    ----------
    column : pandas.Series
        Text, numbers or Decimals.
    decimal_hint : {".", ","}, optional
        Decimal mark to use when no value decides it (``","`` for semicolon-separated files).

    Examples
    --------
    >>> parse_amounts(pd.Series(["$1,234.50", "(12.00)", "€99"])).values.tolist()
    [1234.5, -12.0, 99.0]
    >>> p = parse_amounts(pd.Series(["1.234,50", "10,5"]))
    >>> p.values.tolist(), p.info.decimal_mark
    ([1234.5, 10.5], ',')
    """
    if pd.api.types.is_bool_dtype(column):
        column = column.astype(object)
    if pd.api.types.is_numeric_dtype(column):
        values = column.astype("float64").reset_index(drop=True)
        return ParsedAmounts(values, _non_finite(values.to_numpy()), AmountInfo())
    codes, uniques = distinct_values(column)
    numbers = np.full(len(uniques), np.nan)
    flagged = np.zeros(len(uniques), dtype=bool)
    texts: dict[int, str] = {}
    for i, value in enumerate(uniques):
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float | np.integer | np.floating | decimal.Decimal):
            try:
                numbers[i] = float(value)
            except (OverflowError, ValueError):
                flagged[i] = True
        elif isinstance(value, str):
            texts[i] = value
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    info = _parse_texts(texts, numbers, flagged, counts, decimal_hint)
    flagged |= _non_finite(numbers)
    if not len(uniques):  # every cell empty
        return ParsedAmounts(pd.Series(np.nan, index=range(len(codes))), np.zeros(len(codes), dtype=bool), info)
    # per row: the value of its text, NaN for an empty cell (code −1 takes the NaN appended)
    values = pd.Series(np.append(numbers, np.nan).take(codes), dtype="float64")
    return ParsedAmounts(values, np.append(flagged, False).take(codes), info)


def _non_finite(values: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return ~np.isnan(values) & ~(np.abs(values) <= MAX_ABS_AMOUNT)


def _parse_texts(texts, numbers, flagged, counts, decimal_hint) -> AmountInfo:
    pieces: dict[int, tuple[bool, str, str]] = {}
    currencies: dict[str, int] = {}
    for i, raw in texts.items():
        text = raw.strip().replace("\u2212", "-")
        if _NON_FINITE.match(text):
            flagged[i] = True
            continue
        negative = False
        if len(text) > 2 and text[0] == "(" and text[-1] == ")":
            text, negative = text[1:-1].strip(), True
        match = _AMOUNT.match(text)
        if not match:
            continue
        signs = match["s1"] + match["s2"] + match["s3"]
        if len(signs.replace("+", "")) > 1 or (negative and "-" in signs):
            continue
        negative |= "-" in signs
        symbol = match["c1"] or match["c2"]
        if match["c1"] and match["c2"]:
            continue
        if symbol:
            key = _SAME.get(symbol.upper(), symbol.upper())
            currencies[key] = currencies.get(key, 0) + int(counts[i])
        pieces[i] = (negative, match["num"].strip(_SPACES), match["exp"] or "")
    mark = _decimal_mark((num for _, num, _ in pieces.values()), decimal_hint)
    groups = {".": ",", ",": "."}[mark]
    seen_sep: str | None = None
    for i, (negative, num, exp) in pieces.items():
        value, sep = _to_float(num, mark, groups)
        if value is None:
            continue
        if exp:
            try:
                value = float(f"{value!r}{exp}")
            except (ValueError, OverflowError):
                flagged[i] = True
                continue
        numbers[i] = -value if negative else value
        seen_sep = seen_sep or sep
    return AmountInfo(
        decimal_mark=mark,
        thousands_separator=seen_sep,
        currencies=tuple(sorted(currencies.items(), key=lambda kv: -kv[1])),
    )


_GROUPED_COMMA = re.compile(r"^\d{1,3}(,\d{3})+$")
_GROUPED_POINT = re.compile(r"^\d{1,3}(\.\d{3})+$")


def _decimal_mark(nums, hint: str | None) -> str:
    comma = point = 0
    for num in nums:
        has_c, has_p = "," in num, "." in num
        if has_c and has_p:
            if num.rfind(",") > num.rfind("."):
                comma += 1
            else:
                point += 1
        elif has_c and not _GROUPED_COMMA.match(num):
            comma += 1
        elif has_p and not _GROUPED_POINT.match(num):
            point += 1
    if comma != point:
        return "," if comma > point else "."
    return hint if hint in (".", ",") else "."


def _to_float(num: str, mark: str, groups: str) -> tuple[float | None, str | None]:
    whole, _, frac = num.rpartition(mark) if mark in num else (num, "", "")
    if frac and not frac.isdigit():
        return None, None
    if not whole and mark in num:
        whole = "0"
    seps = {c for c in whole if not c.isdigit()}
    sep = None
    if seps:
        if len(seps) > 1 or not seps <= {groups, "'", " ", "\u00a0", "\u202f", "\u2009"}:
            return None, None
        sep = seps.pop()
        if not re.fullmatch(rf"\d{{1,3}}(?:{re.escape(sep)}\d{{3}})+", whole):
            return None, None
        whole = whole.replace(sep, "")
    if not whole.isdigit():
        return None, None
    try:
        return float(f"{whole}.{frac or 0}"), sep
    except (ValueError, OverflowError):
        return None, None
