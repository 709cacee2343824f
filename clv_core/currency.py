"""The currency a dataset's amounts are in, and how its money is written: on cards, in tables, on chart axes and in
export headers. The amounts themselves are never converted; the currency only says what they are.

Where it comes from: the symbols or codes the loader removed from the amount column (``$`` in ``$12.50``, ``EUR`` in
``12,50 EUR``), else a currency column holding one code, else what the person loading the data says (the Data page's
setting, kept with the dataset). When nothing says, amounts are written as plain numbers, never with a guessed
symbol.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Currency:
    """``code`` is the ISO 4217 code ("" when not known); ``symbol`` is written before an amount (``$1,234``) and
    ``suffix`` after one (``1,234 CHF``), for currencies without a symbol readers know."""

    code: str = ""
    name: str = "Not stated"
    symbol: str = ""
    suffix: str = ""

    @property
    def known(self) -> bool:
        return bool(self.code)

    def amount(self, value: float | None, *, cents: bool = False, compact: bool = False) -> str:
        """``value`` as money: thousands separators, whole units unless ``cents``; with ``compact`` 1.23M above a
        million, whole units above 10,000 and cents below.

        >>> usd = KNOWN["USD"]
        >>> usd.amount(230113.734), usd.amount(-5.5, cents=True), KNOWN["CHF"].amount(1234), NONE.amount(1234.5)
        ('$230,114', '−$5.50', '1,234 CHF', '1,234')
        >>> usd.amount(1_234_567, compact=True), usd.amount(213330.48, compact=True), usd.amount(36.09, compact=True)
        ('$1.23M', '$213,330', '$36.09')
        >>> usd.amount(float("nan")), usd.amount(None)
        ('–', '–')
        """
        if value is None or pd.isna(value) or not math.isfinite(value):
            return "–"
        size = abs(value)
        if compact and size >= 1e6:
            number = f"{size / 1e6:,.2f}M"
        elif compact:
            number = f"{size:,.0f}" if size >= 1e4 else f"{size:,.2f}"
        else:
            number = f"{size:,.2f}" if cents else f"{size:,.0f}"
        sign = "−" if value < 0 and number.strip("0.,M") else ""
        return f"{sign}{self.symbol}{number}{self.suffix}"

    def header(self, label: str) -> str:
        """A column header or axis title for amounts: ``label (USD)``; the label alone when the currency is unknown.

        >>> KNOWN["EUR"].header("Revenue to date"), NONE.header("Revenue to date")
        ('Revenue to date (EUR)', 'Revenue to date')
        """
        return f"{label} ({self.code})" if self.code else label

    def column_format(self, *, cents: bool = True) -> str:
        """A printf format for a table's money column (Streamlit's NumberColumn): ``$%,.2f``, ``%,.0f CHF``.

        >>> KNOWN["GBP"].column_format(), KNOWN["SEK"].column_format(cents=False), NONE.column_format()
        ('£%,.2f', '%,.0f SEK', '%,.2f')
        """
        return f"{self.symbol.replace('%', '%%')}%,.{2 if cents else 0}f{self.suffix.replace('%', '%%')}"

    def axis(self) -> dict:
        """Plotly axis settings for amounts: the symbol before each tick (or the code after it), with separators.

        >>> KNOWN["USD"].axis()
        {'tickprefix': '$', 'ticksuffix': '', 'separatethousands': True}
        """
        return {"tickprefix": self.symbol, "ticksuffix": self.suffix, "separatethousands": True}

    def hover(self, field: str = "y", fmt: str = ",.2f") -> str:
        """A plotly hover template piece writing ``field`` as money: ``$%{y:,.2f}``.

        >>> KNOWN["CHF"].hover("x", ",.0f")
        '%{x:,.0f} CHF'
        """
        return f"{self.symbol}%{{{field}:{fmt}}}{self.suffix}"


NONE = Currency()

#: The currencies a person can choose on the Data page, by code; symbols for the ones readers know by symbol.
KNOWN: dict[str, Currency] = {
    c.code: c
    for c in (
        Currency("USD", "US dollar", "$"),
        Currency("EUR", "Euro", "€"),
        Currency("GBP", "Pound sterling", "£"),
        Currency("JPY", "Japanese yen", "¥"),
        Currency("CNY", "Chinese yuan", "CN¥"),
        Currency("INR", "Indian rupee", "₹"),
        Currency("KRW", "South Korean won", "₩"),
        Currency("CAD", "Canadian dollar", "CA$"),
        Currency("AUD", "Australian dollar", "A$"),
        Currency("NZD", "New Zealand dollar", "NZ$"),
        Currency("HKD", "Hong Kong dollar", "HK$"),
        Currency("BRL", "Brazilian real", "R$"),
        Currency("MXN", "Mexican peso", "MX$"),
        Currency("CHF", "Swiss franc", suffix=" CHF"),
        Currency("SEK", "Swedish krona", suffix=" SEK"),
        Currency("NOK", "Norwegian krone", suffix=" NOK"),
        Currency("DKK", "Danish krone", suffix=" DKK"),
        Currency("PLN", "Polish złoty", suffix=" PLN"),
        Currency("ZAR", "South African rand", suffix=" ZAR"),
        Currency("RUB", "Russian rouble", "₽"),
        Currency("TRY", "Turkish lira", "₺"),
    )
}

#: What the loader records for a symbol or code it removed (``clv_core.ingest.amounts``) → the currency it means.
#: "$" alone is read as the US dollar, the common meaning in exports; "kr" names three currencies and stays unknown.
_FROM_LOADER = {
    "$": "USD",
    "US$": "USD",
    "A$": "AUD",
    "AU$": "AUD",
    "C$": "CAD",
    "R$": "BRL",
    "RMB": "CNY",
    "ZŁ": "PLN",
    "FR.": "CHF",
    "₩": "KRW",
}


def from_code(code: str | None) -> Currency:
    """The currency with ISO code ``code`` (any case, surrounding blanks ignored); :data:`NONE` when not known.

    >>> from_code(" eur ").symbol, from_code("XYZ") is NONE, from_code(None) is NONE
    ('€', True, True)
    """
    return KNOWN.get(str(code or "").strip().upper(), NONE)


def detect(removed: tuple[tuple[str, int], ...], column_values: list[str] | None = None) -> Currency:
    """The currency of a dataset from the symbols the loader removed (``removed``: symbol → rows) or, failing them,
    from a currency column's distinct values (``column_values``) when it holds exactly one known code.

    >>> detect((("$", 69659),)).code, detect((("EUR", 10),)).code, detect((("KR", 3),)).code
    ('USD', 'EUR', '')
    >>> detect((), ["gbp"]).code, detect((), ["GBP", "EUR"]).code, detect(()).code
    ('GBP', '', '')
    """
    if len(removed) == 1:
        key = str(removed[0][0]).upper()
        return from_code(_FROM_LOADER.get(key, key))
    if not removed and column_values is not None:
        codes = {str(v).strip().upper() for v in column_values if str(v).strip()}
        if len(codes) == 1:
            return from_code(codes.pop())
    return NONE
