"""Which column is the customer, the date, the amount: detected from names, never picked silently.

Names are compared after casefolding and removing spaces, underscores, dashes and dots, so ``Customer ID``,
``CustomerID``, ``customer_id`` and `` customer-id `` are one name. When two columns could fill the same role
the role is left open and the user is asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import pandas as pd

from clv_core.errors import ColumnMappingError

ROLES = ("customer_id", "date", "amount", "price", "quantity", "order_id", "product")
ROLE_LABELS = {
    "customer_id": "customer id",
    "date": "date",
    "amount": "amount",
    "price": "unit price",
    "quantity": "quantity",
    "order_id": "order id",
    "product": "product",
}
_CLI_FLAGS = {"customer_id": "--customer-col", "date": "--date-col", "amount": "--amount-col"}

_SYNONYMS = {
    "customer_id": {
        "customerid",
        "customer",
        "custid",
        "cust",
        "customerno",
        "customernumber",
        "customernr",
        "customerkey",
        "customercode",
        "clientid",
        "client",
        "clientno",
        "userid",
        "user",
        "buyerid",
        "buyer",
        "memberid",
        "accountid",
        "account",
        "contactid",
        "shopperid",
        "consumerid",
        "donorid",
        "donor",
        "supporterid",
        "supporter",
        "kundennummer",
        "kundenid",
    },
    "date": {
        "date",
        "orderdate",
        "invoicedate",
        "transactiondate",
        "purchasedate",
        "datetime",
        "timestamp",
        "orderdatetime",
        "createdat",
        "orderedat",
        "saledate",
        "salesdate",
        "txndate",
        "transactiontime",
        "transactiondatetime",
        "invoicedatetime",
        "ordertime",
        "purchasetime",
        "purchasedatetime",
        "paymentdate",
        "donationdate",
        "giftdate",
        "orderplacedat",
        "datum",
        "bestelldatum",
    },
    "amount": {
        "amount",
        "revenue",
        "sales",
        "salesamount",
        "total",
        "ordertotal",
        "ordervalue",
        "value",
        "netamount",
        "grossamount",
        "totalamount",
        "giftamount",
        "donationamount",
        "spend",
        "payment",
        "paymentvalue",
        "paymentamount",
        "totalprice",
        "linetotal",
        "monetary",
        "monetaryvalue",
        "amountspent",
        "saleamount",
        "transactionamount",
        "netrevenue",
        "grossrevenue",
        "turnover",
        "netsales",
        "grosssales",
        "ordertotalamount",
        "betrag",
        "umsatz",
        "dollarvalue",
        "dollars",
        "dollaramount",
        "amountusd",
        "amounteur",
        "revenueusd",
        "salesusd",
        "transactionvalue",
        "purchaseamount",
    },
    "price": {"price", "unitprice", "itemprice", "priceeach", "priceperunit", "unitcost", "preis"},
    "quantity": {"quantity", "qty", "units", "itemcount", "numitems", "quantityordered", "unitssold", "menge"},
    "order_id": {
        "orderid",
        "invoice",
        "invoiceno",
        "invoiceid",
        "invoicenumber",
        "ordernumber",
        "orderno",
        "order",
        "transactionid",
        "txnid",
        "receiptid",
        "receiptno",
        "basketid",
        "salesorderid",
    },
    "product": {
        "product",
        "productid",
        "sku",
        "stockcode",
        "item",
        "itemid",
        "productname",
        "description",
        "productcategory",
        "category",
        "itemname",
        "article",
        "productcode",
        "itemcode",
        "articlenumber",
        "ean",
        "upc",
    },
}

#: Column names of a flag that marks cancellations and returns (values such as true/yes/1/x), and of a type column
#: whose values say it (``return``, ``refund``, ``cancel``…).
FLAG_COLUMNS = {
    "cancelled",
    "canceled",
    "iscancelled",
    "iscanceled",
    "cancellation",
    "cancel",
    "returned",
    "isreturn",
    "isreturned",
    "return",
    "refund",
    "refunded",
    "isrefund",
    "isrefunded",
}
TYPE_COLUMNS = {"type", "transactiontype", "txntype", "ordertype", "recordtype", "linetype", "kind"}

#: Where a role's names come in kinds, the kinds in the order they are preferred: a product's code identifies it
#: better than its name, and its name better than its category (an invoice-line export has both StockCode and
#: Description: the code is the product). Two candidates of the best kind present stay ambiguous.
_PREFERRED = {
    "product": (
        {"productid", "sku", "stockcode", "itemid", "productcode", "itemcode", "articlenumber", "ean", "upc"},
        {"product", "item", "productname", "itemname", "description", "article"},
        {"productcategory", "category"},
    ),
}

#: A text column with at most this many distinct values is offered as an attribute (channel, country …).
MAX_ATTRIBUTE_LEVELS = 50


def normalise_name(name: str) -> str:
    """Casefold and drop spaces, underscores, dashes and dots.

    >>> normalise_name(" Customer-ID ")
    'customerid'
    """
    return re.sub(r"[\s_\-.]+", "", str(name).casefold())


@dataclass(frozen=True)
class ColumnMapping:
    """The file column that fills each role; ``None`` when the role is unused.

    ``amount`` may be ``None`` when ``price`` and ``quantity`` are both given: amount is then price × quantity.
    ``attributes`` are categorical columns (channel, country …) kept for splits on later pages.
    """

    customer_id: str | None = None
    date: str | None = None
    amount: str | None = None
    price: str | None = None
    quantity: str | None = None
    order_id: str | None = None
    product: str | None = None
    attributes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {role: getattr(self, role) for role in ROLES}
        out["attributes"] = list(self.attributes)
        return out


@dataclass(frozen=True)
class MappingGuess:
    """What the detector found: a mapping, every candidate per role, and the roles it could not decide."""

    mapping: ColumnMapping
    candidates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ambiguous: tuple[str, ...] = ()
    attribute_candidates: tuple[str, ...] = ()


def detect_columns(frame: pd.DataFrame, *, has_header: bool = True) -> MappingGuess:
    """Guess the role of each column from its name (or, for a file without a header, from its content)."""
    candidates: dict[str, list[str]] = {role: [] for role in ROLES}
    for col in frame.columns:
        key = normalise_name(col)
        for role, names in _SYNONYMS.items():
            if key in names:
                candidates[role].append(col)
    if not has_header:
        candidates = _guess_from_content(frame)
    named = {c for cols in candidates.values() for c in cols}  # a column named for a role is never an attribute
    for role, kinds in _PREFERRED.items():
        for names in kinds:
            best = [c for c in candidates[role] if normalise_name(c) in names]
            if best:
                candidates[role] = best
                break
    chosen = {role: cols[0] for role, cols in candidates.items() if len(cols) == 1}
    ambiguous = tuple(role for role, cols in candidates.items() if len(cols) > 1)
    used = set(chosen.values()) | named
    attributes = tuple(
        c
        for c in frame.columns
        if c not in used
        and normalise_name(c) not in FLAG_COLUMNS  # they mark refunds (clv_core.ingest.refunds)
        and _is_categorical(frame[c])
    )
    mapping = ColumnMapping(**chosen, attributes=attributes)
    return MappingGuess(
        mapping=mapping,
        candidates={role: tuple(cols) for role, cols in candidates.items()},
        ambiguous=ambiguous,
        attribute_candidates=attributes,
    )


def resolve_mapping(frame: pd.DataFrame, guess: MappingGuess, **overrides: str | None) -> ColumnMapping:
    """Detected mapping with the user's choices applied; raises for roles still missing or ambiguous.

    Parameters
    ----------
    overrides : str or None
        ``customer_id=``, ``date=``, ``amount=`` …: a column name to use for that role.
    """
    mapping = replace(guess.mapping, **{k: v for k, v in overrides.items() if v is not None})
    ambiguous = [r for r in guess.ambiguous if overrides.get(r) is None]
    for role in ("customer_id", "date", "amount"):
        if role in ambiguous and not (role == "amount" and mapping.price and mapping.quantity):
            cols = guess.candidates[role]
            raise ColumnMappingError(
                f"More than one column could be the {ROLE_LABELS[role]}: {', '.join(repr(c) for c in cols)}. "
                f"Choose one in the column picker ({_CLI_FLAGS[role]} on the command line)."
            )
    for role in ("price", "quantity", "order_id", "product"):
        if role in ambiguous:
            mapping = replace(mapping, **{role: None})
    used = {getattr(mapping, r) for r in ROLES}
    mapping = replace(mapping, attributes=tuple(a for a in mapping.attributes if a not in used))
    validate_mapping(frame, mapping)
    return mapping


def validate_mapping(frame: pd.DataFrame, mapping: ColumnMapping) -> None:
    """Every mapped column exists, required roles are filled, and no column fills two roles."""
    columns = list(frame.columns)
    shown = ", ".join(str(c) for c in columns[:20]) + (" …" if len(columns) > 20 else "")
    for role in ROLES:
        col = getattr(mapping, role)
        if col is not None and col not in columns:
            raise ColumnMappingError(
                f"Column {col!r} (chosen for {ROLE_LABELS[role]}) is not in the file. Columns in file: {shown}."
            )
    for col in mapping.attributes:
        if col not in columns:
            raise ColumnMappingError(f"Attribute column {col!r} is not in the file. Columns in file: {shown}.")
    for role in ("customer_id", "date", "amount"):
        if getattr(mapping, role) is None and not (role == "amount" and mapping.price and mapping.quantity):
            flag = _CLI_FLAGS[role]
            raise ColumnMappingError(
                f"Column for {ROLE_LABELS[role]} not found. Columns in file: {shown}. "
                f"Map one in the column picker ({flag} on the command line)."
            )
    roles = [(r, getattr(mapping, r)) for r in ROLES if getattr(mapping, r) is not None]
    seen: dict[str, str] = {}
    for role, col in roles:
        if col in seen:
            raise ColumnMappingError(
                f"Column {col!r} is chosen both as {ROLE_LABELS[seen[col]]} and as {ROLE_LABELS[role]}. "
                "Pick a different column for one of them."
            )
        seen[col] = role


def _is_categorical(series: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return False
    sample = series.head(20_000).astype(str).str.strip()
    sample = sample[sample != ""]
    if sample.empty:
        return False
    if pd.to_numeric(sample, errors="coerce").notna().mean() > 0.9:
        return False
    levels = sample.nunique()
    return 1 < levels <= MAX_ATTRIBUTE_LEVELS and levels < max(2, len(sample) // 2)


_YMD8 = re.compile(r"^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")
_DATEISH = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
_DECIMAL = re.compile(r"^-?\d+[.,]\d{1,2}$")


def _guess_from_content(frame: pd.DataFrame) -> dict[str, list[str]]:
    """For a headerless file: dates are the column whose values all look like dates, the amount the last column
    with decimals, the customer the first remaining column (CDNOW's own text layout reads correctly)."""
    sample = frame.head(500).astype(str).apply(lambda c: c.str.strip())
    roles: dict[str, list[str]] = {role: [] for role in ROLES}
    date_cols = [c for c in sample if sample[c].str.match(_YMD8).all() or sample[c].str.match(_DATEISH).all()]
    amount_cols = [c for c in sample if c not in date_cols and sample[c].str.match(_DECIMAL).mean() > 0.5]
    if date_cols:
        roles["date"] = [date_cols[0]]
    if amount_cols:
        roles["amount"] = [amount_cols[-1]]
    rest = [c for c in sample if c not in date_cols and c not in amount_cols]
    if rest:
        roles["customer_id"] = [rest[0]]
    return roles
