"""Raw table → canonical transactions, with a report of everything that was fixed or dropped."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from clv_core.errors import ClvError, DataQualityError
from clv_core.ingest.amounts import parse_amounts
from clv_core.ingest.columns import ColumnMapping, detect_columns, normalise_name, resolve_mapping, validate_mapping
from clv_core.ingest.dates import AUTO, DAY_FIRST, MONTH_FIRST, parse_dates
from clv_core.ingest.encodings import codec
from clv_core.ingest.encodings import delimiter as delimiter_of
from clv_core.ingest.limits import DEFAULT_MAX_CELL_CHARS, DEFAULT_MAX_COLUMNS, DEFAULT_MAX_DECOMPRESSED_BYTES
from clv_core.ingest.refunds import Netting, net_refunds, refund_flags
from clv_core.ingest.sniff import RawTable, read_raw
from clv_core.ingest.text import customer_codes, customer_date_order, text_ids
from clv_core.names import DUPLICATE_POLICIES, RETURN_POLICIES, ZERO_POLICIES

#: Text values that mean "no value" in an attribute column. Ids use only the empty string (``NA`` is an id).
#: An attribute cell the file left empty.
BLANK_ATTRIBUTE = "(blank)"
_CODE = "__customer_rank"
_CANONICAL = ("customer_id", "date", "amount", "order_id", "quantity", "product")


@dataclass(frozen=True)
class IngestOptions:
    """How to read and clean a transaction file. Every default is stated in the quality report.

    Attributes
    ----------
    date_order : {"auto", "day-first", "month-first"}
        Order of day and month in d/m/y-style dates; ``auto`` decides from the data.
    ambiguous_dates : {"day-first", "month-first"}
        Order used when ``date_order="auto"`` and no day above 12 decides it (reported as ambiguous).
    timezone : str
        Business time zone; timestamps with offsets are converted to it.
    returns : {"net", "drop", "keep"}
        Refunds (negative amounts, or rows a cancel/return column marks): net them against the purchase lines they
        refund (:mod:`clv_core.ingest.refunds`), drop them, or keep them as negative rows.
    zero_amounts : {"keep", "drop"}
        Zero-value orders (free orders, samples) count as purchases when kept.
    duplicates : {"auto", "drop", "keep"}
        Exact duplicates: rows equal in every column of the file (and so in customer, timestamp, amount, order id,
        product and quantity; two lines of one order for different products are two lines). ``auto`` drops them when
        an order id or a time of day tells orders apart, and otherwise keeps them (two identical purchases on
        one day can be two real orders) and reports them.
    min_date : str
        Dates before this are implausible and dropped (ISO date).
    today : str, optional
        The current date (ISO) for future-dated rows; default: today in ``timezone``.
    max_bad_fraction : float
        Refuse the file when more than this share of rows has an unreadable date or amount.
    max_decompressed_bytes : int
        Cap in bytes on decompressed size for .gz/.zip/.xlsx, and on the decoded values of Parquet and Excel
        (500 MB).
    max_rows : int, optional
        Refuse files with more data rows, counted before the data is parsed where the format allows.
    max_columns : int
        Refuse files with more columns (1,000).
    max_cell_chars : int
        Refuse a cell or column name longer than this many characters (32,767, Excel's own limit).
    sheet : str, optional
        Excel sheet to read (default: the first one with customer, date and amount columns).
    encoding : str, optional
        A text file's encoding, any name Python knows (``cp1251``, ``Windows-1251``); default: detected.
    delimiter : str, optional
        A text file's delimiter: one character, or ``tab`` or ``space``; default: detected.
    """

    date_order: str = AUTO
    ambiguous_dates: str = DAY_FIRST
    timezone: str = "UTC"
    returns: str = "net"
    zero_amounts: str = "keep"
    duplicates: str = "auto"
    min_date: str = "1990-01-01"
    today: str | None = None
    max_bad_fraction: float = 0.05
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES
    max_rows: int | None = None
    max_columns: int = DEFAULT_MAX_COLUMNS
    max_cell_chars: int = DEFAULT_MAX_CELL_CHARS
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None

    def __post_init__(self) -> None:
        if self.encoding:  # one spelling per encoding: cp1251 and Windows-1251 read the same
            object.__setattr__(self, "encoding", codec(self.encoding))
        if self.delimiter:
            object.__setattr__(self, "delimiter", delimiter_of(self.delimiter))
        for name, allowed in (
            ("date_order", (AUTO, DAY_FIRST, MONTH_FIRST)),
            ("ambiguous_dates", (DAY_FIRST, MONTH_FIRST)),
            ("returns", RETURN_POLICIES),
            ("zero_amounts", ZERO_POLICIES),
            ("duplicates", DUPLICATE_POLICIES),
        ):
            if getattr(self, name) not in allowed:
                raise DataQualityError(f"{name} must be one of {', '.join(allowed)}, not {getattr(self, name)!r}.")


@dataclass(frozen=True)
class DroppedRows:
    """Rows removed for one reason, with up to three examples as (row number, value)."""

    reason: str
    rows: int
    examples: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class QualityReport:
    """What was read, what was fixed, what was dropped and why. Row numbers count data rows from 1."""

    source_name: str
    file_format: str
    compression: str | None
    archive_member: str | None
    encoding: str | None
    delimiter: str | None
    has_header: bool
    sheet: str | None
    sheets: tuple[str, ...]
    columns_in_file: tuple[str, ...]
    mapping: dict
    rows_read: int
    rows_kept: int
    customers: int
    dropped: tuple[DroppedRows, ...]
    date_formats: tuple[tuple[str, int], ...]
    date_order: str | None
    dates_ambiguous: bool
    timezone: str
    tz_converted_rows: int
    two_digit_year_rows: int
    excel_serial_rows: int
    decimal_mark: str
    thousands_separator: str | None
    currencies: tuple[tuple[str, int], ...]
    amount_from_price_quantity: bool
    duplicates_policy: str
    duplicate_rows: int
    duplicates_removed: bool
    returns_policy: str
    return_rows: int
    returns_amount: float
    zero_policy: str
    zero_amount_rows: int
    future_dated_rows: int
    outlier_rows: int
    date_min: str | None
    date_max: str | None
    observation_end: str | None
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: The distinct values (up to 5) of a currency column, when the file has one.
    currency_codes: tuple[str, ...] = ()
    #: The conservation check of refund netting: revenue kept = purchases − refunds netted (policy "net").
    purchases_amount: float = 0.0
    refunds_netted: float = 0.0
    revenue_kept: float = 0.0
    #: Refunds (or the part of one) that found no purchase to net against: left out, with up to three examples.
    refunds_unmatched: DroppedRows | None = None
    #: The column that marks cancellations and returns, when the file has one, and the rows it marks.
    refund_flag_column: str | None = None
    refund_flag_rows: int = 0
    #: When the decoded text looks garbled: the warning, and the encoding that likely reads it right.
    garbled: str | None = None
    likely_encoding: str | None = None

    @property
    def rows_dropped(self) -> int:
        return sum(d.rows for d in self.dropped)

    def to_dict(self) -> dict:
        """A JSON-ready dictionary (the CLI's ``--report`` file and the app's download)."""
        out = asdict(self)
        out["rows_dropped"] = self.rows_dropped
        out["dropped"] = [_dropped_dict(d) for d in self.dropped]
        out["refunds_unmatched"] = _dropped_dict(self.refunds_unmatched) if self.refunds_unmatched else None
        for key in ("date_formats", "currencies"):
            out[key] = [{"name": k, "rows": n} for k, n in getattr(self, key)]
        out["sheets"] = list(self.sheets)
        out["columns_in_file"] = list(self.columns_in_file)
        out["notes"] = list(self.notes)
        return out


def _dropped_dict(d: DroppedRows) -> dict:
    return {"reason": d.reason, "rows": d.rows, "examples": [{"row": r, "value": v} for r, v in d.examples]}


@dataclass(frozen=True)
class Transactions:
    """The canonical transaction table and how it was made.

    Attributes
    ----------
    data : pandas.DataFrame
        ``customer_id`` (str), ``date`` (naive datetime64 in the business time zone), ``amount`` (float64),
        optional ``order_id`` (str), ``quantity`` (float64), ``product`` (str), then attribute columns (str).
        Sorted by customer and date.
    mapping : ColumnMapping
        Which file column became which role.
    attributes : tuple of str
        Names of the attribute columns in ``data``.
    observation_end : pandas.Timestamp
        The last day with a kept transaction (never after today).
    report : QualityReport
    options : IngestOptions
        The options it was cleaned with.
    content_hash : str
        SHA-256 of the source bytes (first 16 hex digits). With ``mapping`` and ``options`` it identifies the
        dataset for caches and export names.
    """

    data: pd.DataFrame
    mapping: ColumnMapping
    attributes: tuple[str, ...]
    observation_end: pd.Timestamp
    report: QualityReport
    options: IngestOptions
    content_hash: str = ""

    @property
    def customers(self) -> int:
        return self.report.customers


def content_hash(data: bytes) -> str:
    """Short SHA-256 of the bytes: the identity of an upload for caches and file names."""
    return hashlib.sha256(data).hexdigest()[:16]


def choose_sheet(heads: dict[str, pd.DataFrame]) -> str | None:
    """The first sheet whose column names give customer, date and amount without ambiguity."""
    for sheet, head in heads.items():
        guess = detect_columns(head)
        m = guess.mapping
        if m.customer_id and m.date and (m.amount or (m.price and m.quantity)) and not guess.ambiguous:
            return sheet
    return None


def ingest(
    data: bytes,
    name: str,
    *,
    mapping: ColumnMapping | None = None,
    options: IngestOptions | None = None,
    **overrides: str | None,
) -> Transactions:
    """Read a transaction file (any supported format) into canonical :class:`Transactions`.

    Parameters
    ----------
    data : bytes
        File content (CSV/TSV/TXT, .xlsx, Parquet, or one of these in .gz or a one-member .zip).
    name : str
        File name, for messages.
    mapping : ColumnMapping, optional
        Full column mapping; by default detected from the column names.
    options : IngestOptions, optional
    overrides : str
        ``customer_id=``, ``date=``, ``amount=`` …: columns that replace the detected ones.

    Raises
    ------
    clv_core.errors.ClvError
        Anything the user must fix, with a message saying what.
    """
    options = options or IngestOptions()
    raw = read_raw(
        data,
        name,
        sheet=options.sheet,
        max_decompressed_bytes=options.max_decompressed_bytes,
        max_rows=options.max_rows,
        max_columns=options.max_columns,
        max_cell_chars=options.max_cell_chars,
        sheet_chooser=choose_sheet,
        encoding=options.encoding or None,
        delimiter=options.delimiter or None,
    )
    return clean(raw, mapping=mapping, options=options, source_hash=content_hash(data), **overrides)


def clean(
    raw: RawTable,
    *,
    mapping: ColumnMapping | None = None,
    options: IngestOptions | None = None,
    source_hash: str = "",
    **overrides: str | None,
) -> Transactions:
    """Map, parse and clean a :class:`RawTable` (see :func:`ingest`)."""
    options = options or IngestOptions()
    frame = raw.frame
    try:
        if mapping is None:
            mapping = resolve_mapping(frame, detect_columns(frame, has_header=raw.has_header), **overrides)
        else:
            validate_mapping(frame, mapping)
    except ClvError as exc:  # garbled column names are often why: say so, and which encoding reads them
        if raw.garbled:
            raise type(exc)(f"{exc} {raw.garbled}") from None
        raise
    n = len(frame)
    notes = list(raw.notes)
    if raw.garbled:
        notes.append(raw.garbled)
    drops: list[DroppedRows] = []
    keep = np.ones(n, dtype=bool)

    def drop(mask: np.ndarray, reason: str, shown: pd.Series | None = None) -> None:
        mask = mask & keep
        if mask.any():
            idx = np.flatnonzero(mask)[:3]
            examples = tuple((int(i) + 1, "" if shown is None else str(shown.iloc[i])[:60]) for i in idx)
            drops.append(DroppedRows(reason, int(mask.sum()), examples))
            keep[mask] = False

    codes, labels = customer_codes(frame[mapping.customer_id])
    drop(codes < 0, "missing customer id", frame[mapping.customer_id])

    tz = options.timezone
    today = pd.Timestamp(options.today) if options.today else pd.Timestamp.now(tz=tz).normalize().tz_localize(None)
    dates = parse_dates(
        frame[mapping.date],
        order=options.date_order,
        ambiguous_default=options.ambiguous_dates,
        timezone=tz,
        today=today.date(),
    )
    date_col = frame[mapping.date]
    out_range = dates.out_of_range | (dates.values < pd.Timestamp(options.min_date)).to_numpy()
    bad_date = dates.values.isna().to_numpy() & ~out_range
    _refuse_if_many(bad_date & keep, keep, date_col, "date", options, mapping.date)
    drop(bad_date, "unreadable or missing date", date_col)
    drop(out_range, f"implausible date (before {options.min_date} or beyond year 2261)", date_col)

    amount, amount_info, from_pq = _amounts(frame, mapping, raw, notes)
    amount_col = frame[mapping.amount] if mapping.amount else frame[mapping.price]
    bad_amount = amount.values.isna().to_numpy() & ~amount.non_finite
    _refuse_if_many(bad_amount & keep, keep, amount_col, "amount", options, mapping.amount or mapping.price)
    drop(bad_amount, "unreadable or missing amount", amount_col)
    drop(amount.non_finite, "non-finite or absurdly large amount", amount_col)
    _check_currencies(amount_info.currencies, frame)

    future = (dates.values >= today + pd.Timedelta(days=1)).to_numpy()
    drop(future, f"future-dated (after {today.date()})", date_col)

    table = pd.DataFrame({"date": dates.values, "amount": amount.values}, copy=False)
    date_info = dates.info
    del dates, amount, bad_date, bad_amount, out_range, future  # the table holds the values; sorting copies them
    flag_column, flagged = refund_flags(frame)
    if flagged is not None:  # a marked row is a refund of its amount, whatever its sign
        table["amount"] = np.where(flagged, -np.abs(table["amount"].to_numpy()), table["amount"].to_numpy())
    for role in ("order_id", "product"):
        col = getattr(mapping, role)
        if col:
            table[role] = text_ids(frame[col]).fillna("").to_numpy()
    if mapping.quantity:
        table["quantity"] = parse_amounts(frame[mapping.quantity]).values.to_numpy()
    attributes = []
    for col in (c for c in mapping.attributes if c != flag_column):
        label = col if col not in _CANONICAL else f"{col} (attribute)"
        table[label] = text_ids(frame[col]).fillna(BLANK_ATTRIBUTE).to_numpy()
        attributes.append(label)
    # the kept rows in customer order; a load's peak memory is reached here, so nothing is copied that need not be:
    # when no row was dropped (most files) the codes and dates are sorted as they are, and a file already in
    # customer order is not copied at all
    if keep.all():
        pick = customer_date_order(codes, table["date"].to_numpy())
    else:
        rows = np.flatnonzero(keep)
        codes = codes[rows]
        order = customer_date_order(codes, table["date"].to_numpy()[rows])
        pick = rows if order is None else rows[order]
        del rows, order
    #: each row's position in the file (None: the same as in the table), for duplicates and the report's examples
    source = pick
    if pick is not None:
        table = table.take(pick)
        table.index = pd.RangeIndex(len(table))  # not reset_index(): that copies every column once more
        del pick
        # the rows are now in code order: the codes are each customer's code repeated, written, not looked up
        codes = np.repeat(np.arange(len(labels), dtype=np.int64), np.bincount(codes, minlength=len(labels)))
    table.insert(0, _CODE, codes)
    del codes

    key = [c for c in (_CODE, "date", "amount", "order_id", "product", "quantity") if c in table]
    dup = _duplicates(table, key, frame, source)
    duplicate_rows = int(dup.sum())
    has_time = bool((table["date"] != table["date"].dt.normalize()).any())
    drop_duplicates = options.duplicates == "drop" or (
        options.duplicates == "auto" and ("order_id" in table or has_time)
    )
    if drop_duplicates and duplicate_rows:
        table = table.loc[~dup].reset_index(drop=True)
        source = (np.arange(len(dup)) if source is None else source)[~dup]
    del dup

    table, returns = _apply_returns(table, options.returns, source)
    del source
    zero = table["amount"].to_numpy() == 0
    zero_rows = int(zero.sum())
    if options.zero_amounts == "drop" and zero_rows:
        table = table.loc[~zero].reset_index(drop=True)
    if table.empty:
        raise DataQualityError(
            f"{raw.source_name} has no usable transactions: all {n:,} rows were dropped "
            f"({'; '.join(f'{d.rows:,} {d.reason}' for d in drops) or 'by the return and zero-amount policies'})."
        )
    positive = table["amount"].to_numpy()
    positive = positive[positive > 0]
    outliers = 0
    if positive.size >= 100:
        outliers = int((positive > 100 * np.quantile(positive, 0.99)).sum())
    customer_code = table.pop(_CODE).to_numpy()
    customers = int(len(customer_code) > 0) + int(np.count_nonzero(np.diff(customer_code)))  # rows are in code order
    # a new frame over the same columns: insert() would copy the 10M-row id column it is given
    table = pd.DataFrame({"customer_id": labels.take(customer_code), **{c: table[c] for c in table}}, copy=False)
    observation_end = table["date"].max().normalize()

    notes.extend(
        _notes(date_info, amount_info, from_pq, options, returns, duplicate_rows, drop_duplicates, zero_rows, outliers)
    )
    if flag_column is not None:
        notes.append(f"{int(flagged.sum()):,} rows marked as cancellations or returns in column {flag_column!r}.")
    netting: Netting | None = returns.get("netting")
    report = QualityReport(
        source_name=raw.source_name,
        file_format=raw.file_format,
        compression=raw.compression,
        archive_member=raw.archive_member,
        encoding=raw.encoding,
        delimiter=raw.delimiter,
        garbled=raw.garbled,
        likely_encoding=raw.likely_encoding,
        has_header=raw.has_header,
        sheet=raw.sheet,
        sheets=raw.sheets,
        columns_in_file=tuple(str(c) for c in frame.columns),
        mapping=mapping.as_dict(),
        rows_read=n,
        rows_kept=len(table),
        customers=customers,
        dropped=tuple(drops),
        date_formats=date_info.formats,
        date_order=date_info.order,
        dates_ambiguous=date_info.ambiguous,
        timezone=tz,
        tz_converted_rows=date_info.tz_converted,
        two_digit_year_rows=date_info.two_digit_years,
        excel_serial_rows=date_info.excel_serials,
        decimal_mark=amount_info.decimal_mark,
        thousands_separator=amount_info.thousands_separator,
        currencies=amount_info.currencies,
        currency_codes=_currency_codes(frame),
        amount_from_price_quantity=from_pq,
        duplicates_policy=options.duplicates,
        duplicate_rows=duplicate_rows,
        duplicates_removed=bool(drop_duplicates and duplicate_rows),
        returns_policy=options.returns,
        return_rows=returns["rows"],
        returns_amount=returns["amount"],
        zero_policy=options.zero_amounts,
        zero_amount_rows=zero_rows,
        future_dated_rows=sum(d.rows for d in drops if d.reason.startswith("future")),
        outlier_rows=outliers,
        date_min=str(table["date"].min().date()),
        date_max=str(table["date"].max().date()),
        observation_end=str(observation_end.date()),
        notes=tuple(notes),
        purchases_amount=netting.purchases_amount if netting else 0.0,
        refunds_netted=netting.netted_amount if netting else 0.0,
        revenue_kept=netting.revenue_kept if netting else 0.0,
        refunds_unmatched=(
            DroppedRows("refund with no purchase to net against", netting.unmatched_rows, netting.unmatched_examples)
            if netting and netting.unmatched_rows
            else None
        ),
        refund_flag_column=flag_column,
        refund_flag_rows=int(flagged.sum()) if flagged is not None else 0,
    )
    return Transactions(
        data=table,
        mapping=mapping,
        attributes=tuple(attributes),
        observation_end=observation_end,
        report=report,
        options=options,
        content_hash=source_hash,
    )


def _amounts(frame: pd.DataFrame, mapping: ColumnMapping, raw: RawTable, notes: list[str]):
    hint = "," if raw.delimiter == "semicolon" else None
    if mapping.amount:
        parsed = parse_amounts(frame[mapping.amount], decimal_hint=hint)
        return parsed, parsed.info, False
    price = parse_amounts(frame[mapping.price], decimal_hint=hint)
    qty = parse_amounts(frame[mapping.quantity], decimal_hint=hint)
    values = price.values * qty.values
    non_finite = price.non_finite | qty.non_finite | ~np.isfinite(values.fillna(0).to_numpy())
    combined = type(price)(values=values, non_finite=non_finite, info=price.info)
    notes.append(f"Amount computed as {mapping.price} × {mapping.quantity}.")
    return combined, price.info, True


def _refuse_if_many(bad: np.ndarray, keep: np.ndarray, column: pd.Series, role: str, options, col_name) -> None:
    usable = int(keep.sum())
    if usable and bad.sum() > options.max_bad_fraction * usable:
        first = int(np.flatnonzero(bad)[0])
        raise DataQualityError(
            f"{int(bad.sum()):,} of {usable:,} rows ({bad.sum() / usable:.0%}) have a {role} that cannot be read "
            f"in column {col_name!r}; the first is row {first + 1}: {str(column.iloc[first])[:40]!r}. "
            f"Check that the right column is mapped as the {role}, or fix the file."
        )


_CURRENCY_COLUMNS = {"currency", "currencycode", "cur", "ccy", "waehrung", "währung"}


def _currency_codes(frame: pd.DataFrame) -> tuple[str, ...]:
    for column in frame.columns:
        if normalise_name(column) in _CURRENCY_COLUMNS:
            values = frame[column].dropna().astype(str).str.strip()
            return tuple(sorted(set(values.head(100_000)) - {""}))[:5]
    return ()


def _check_currencies(currencies: tuple[tuple[str, int], ...], frame: pd.DataFrame) -> None:
    if len(currencies) > 1 and not any(normalise_name(c) in _CURRENCY_COLUMNS for c in frame.columns):
        listed = ", ".join(f"{sym} in {rows:,} rows" for sym, rows in currencies)
        raise DataQualityError(
            f"The amount column mixes currencies ({listed}). Convert the amounts to one currency, "
            "or add a currency column, then upload again."
        )


def _duplicates(table: pd.DataFrame, key: list[str], frame: pd.DataFrame, source: np.ndarray | None) -> np.ndarray:
    """Rows that repeat an earlier row on every ``key`` column and on every column of the file (``frame``; row
    ``source[i]`` made table row ``i``): two lines of one order for different products, or with a different
    description, are two lines. The table is in customer and date order, so copies are neighbours: only rows
    sharing customer and timestamp with a neighbour are compared."""
    code, date = table[_CODE].to_numpy(), table["date"].to_numpy()
    same = np.zeros(len(table), dtype=bool)
    same[1:] = (code[1:] == code[:-1]) & (date[1:] == date[:-1])
    shared = same.copy()
    shared[:-1] |= same[1:]
    dup = np.zeros(len(table), dtype=bool)
    candidates = np.flatnonzero(shared)
    if candidates.size:  # first on our columns, then, for the few that repeat there, on every column of the file
        lines = table.iloc[candidates][key].reset_index(drop=True)
        repeated = lines.duplicated(keep=False).to_numpy()
        candidates, lines = candidates[repeated], lines.loc[repeated].reset_index(drop=True)
        if candidates.size:
            raw = frame.iloc[candidates if source is None else source[candidates]].reset_index(drop=True)
            raw.columns = [f"file: {i}" for i in range(raw.shape[1])]  # file names may repeat or clash with ours
            dup[candidates] = pd.concat([lines, raw.astype(str)], axis=1).duplicated(keep="first").to_numpy()
    return dup


def _apply_returns(table: pd.DataFrame, policy: str, source: np.ndarray | None) -> tuple[pd.DataFrame, dict]:
    """Apply the returns policy: ``net`` (:mod:`clv_core.ingest.refunds`), ``drop`` or ``keep`` the refunds."""
    negative = table["amount"].to_numpy() < 0
    info = {"rows": int(negative.sum()), "amount": float(-table.loc[negative, "amount"].sum())}
    if not negative.any() or policy == "keep":
        return table, info
    if policy == "drop":
        return table.loc[~negative].reset_index(drop=True), info
    table, netting = net_refunds(table, _CODE, source)
    info.update(netting=netting, unmatched=netting.unmatched_rows, fully_refunded=netting.fully_refunded)
    return table, info


def _notes(dinfo, ainfo, from_pq, options, returns, duplicate_rows, dropped_dupes, zero_rows, outliers) -> list[str]:
    notes = []
    if dinfo.formats:
        notes.append("Dates read as " + ", ".join(f"{fmt} ({rows:,} rows)" for fmt, rows in dinfo.formats) + ".")
    if dinfo.ambiguous:
        order = "DD/MM (day first)" if dinfo.order == DAY_FIRST else "MM/DD (month first)"
        notes.append(
            f"Ambiguous dates: no day above 12 tells day from month, so they were read as {order}. "
            "Switch the date order if your file uses the other one."
        )
    if dinfo.tz_converted:
        notes.append(
            f"{dinfo.tz_converted:,} timestamps with time-zone offsets converted to {options.timezone} local time."
        )
    if dinfo.two_digit_years:
        notes.append(
            f"{dinfo.two_digit_years:,} dates with two-digit years read as the latest such year not after this year."
        )
    if dinfo.excel_serials:
        notes.append(f"{dinfo.excel_serials:,} dates were Excel serial numbers (days since 1899-12-30).")
    if ainfo.decimal_mark == "," or ainfo.thousands_separator:
        sep = {None: "none", " ": "space", "'": "apostrophe"}.get(ainfo.thousands_separator, ainfo.thousands_separator)
        notes.append(f"Amounts read with decimal mark '{ainfo.decimal_mark}' and thousands separator {sep!s}.")
    if ainfo.currencies:
        notes.append("Currency symbols removed: " + ", ".join(f"{c} ({n:,} rows)" for c, n in ainfo.currencies) + ".")
    if duplicate_rows:
        if dropped_dupes:
            notes.append(f"{duplicate_rows:,} exact duplicate rows (every column of the file the same) removed.")
        else:
            notes.append(
                f"{duplicate_rows:,} rows repeat another row exactly (every column the same). They were kept: "
                "without an order id or a time of day they may be separate orders. Choose 'drop' if they are copies."
            )
    if returns["rows"]:
        what = {
            "net": "netted against the purchases they refund",
            "drop": "dropped",
            "keep": "kept as negative rows",
        }[options.returns]
        notes.append(f"{returns['rows']:,} returns/refunds totalling {returns['amount']:,.2f} {what}.")
        if netting := returns.get("netting"):
            notes.append(
                "Each refund was matched to the same product in the same order (or the order a C…, R… or -… "
                "order id names), then the same product in earlier orders, then the rest of that order, then a "
                "purchase of the same amount, then the latest purchases; one larger than the line it hits takes "
                "the rest from the next."
            )
            if netting.referenced_orders:
                notes.append(f"Refunds that name the order they cancel (C…, R… or -…): {netting.referenced_orders:,}.")
            notes.append(
                f"Revenue kept {netting.revenue_kept:,.2f} = purchases {netting.purchases_amount:,.2f} − refunds "
                f"netted {netting.netted_amount:,.2f}."
            )
            if netting.unmatched_rows:
                named = "; ".join(f"row {r}: {v}" for r, v in netting.unmatched_examples)
                notes.append(
                    f"{netting.unmatched_rows:,} refund{'s' if netting.unmatched_rows != 1 else ''} "
                    f"({netting.unmatched_amount:,.2f} in all) found no purchase to net against and "
                    f"{'were' if netting.unmatched_rows != 1 else 'was'} left out ({named})."
                )
        if returns.get("fully_refunded"):
            notes.append(f"{returns['fully_refunded']:,} purchases were refunded in full and removed.")
    if zero_rows:
        verb = "dropped" if options.zero_amounts == "drop" else "kept (they count as purchases)"
        notes.append(f"{zero_rows:,} zero-amount rows {verb}.")
    if outliers:
        notes.append(f"{outliers:,} amounts are over 100× the 99th percentile: check them before modelling spend.")
    return notes
