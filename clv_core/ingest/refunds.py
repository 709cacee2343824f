"""Refunds netted against the purchase lines they refund, conservatively, and never lost.

A refund is a row with a negative amount, or a row a cancel/return flag column marks (its amount is then taken as
refunded whatever its sign). Each refund is matched, in this order, to

1. the same product in the same order, or in the order it names (``C543032``, ``R-1001`` or ``-1001`` cancel
   order ``543032``, ``R-1001``/``1001``: the invoice-line exports' convention);
2. the same product in the customer's earlier orders, latest first;
3. the other lines of that order;
4. an earlier purchase line of exactly the refunded amount, latest first;
5. the customer's latest purchase lines on or before the refund, latest first.

A refund larger than the line it hits takes the rest from the next candidate, so nothing vanishes. A refund that
names a product the customer never bought (and no order of theirs) finds nothing: guessing would take money from an
unrelated purchase, so it is left out and named in the quality report. Lines refunded in full are removed. The report
keeps the conservation check: revenue kept = purchases − refunds netted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clv_core.ingest.columns import FLAG_COLUMNS, TYPE_COLUMNS, normalise_name

_TRUE = {"true", "t", "yes", "y", "1", "x", "1.0", "wahr", "ja"}
_FALSE = {"false", "f", "no", "n", "0", "", "0.0", "falsch", "nein", "nan", "none"}
_REFUND_TYPE = re.compile(r"^\s*(return|refund|cancel|credit|storno|rma)", re.I)
#: An order id that names the order it cancels: C543032, R-1001, -1001.
_CANCEL_PREFIX = re.compile(r"^\s*(?:[CcRr]\s*-?|-)\s*(\S.*)$")


@dataclass(frozen=True)
class Netting:
    """What netting did: purchases, refunds and what each became."""

    refund_rows: int
    refund_amount: float
    netted_amount: float
    purchases_amount: float
    revenue_kept: float
    unmatched_rows: int
    unmatched_amount: float
    unmatched_examples: tuple[tuple[int, str], ...]
    fully_refunded: int
    spread_over_lines: int
    referenced_orders: int


def refund_flags(frame: pd.DataFrame) -> tuple[str | None, np.ndarray | None]:
    """The column that marks cancellations or returns, and which rows it marks (``None`` when there is none).

    >>> refund_flags(pd.DataFrame({"Cancelled": ["no", "yes", ""]}))[1].tolist()
    [False, True, False]
    >>> refund_flags(pd.DataFrame({"Type": ["Sale", "Return", "sale"]}))[1].tolist()
    [False, True, False]
    """
    for column in frame.columns:
        name = normalise_name(column)
        if name not in FLAG_COLUMNS and name not in TYPE_COLUMNS:
            continue
        values = frame[column]
        if pd.api.types.is_bool_dtype(values):
            return column, values.fillna(False).to_numpy(dtype=bool)
        text = values.astype(str).str.strip().str.casefold()
        if name in FLAG_COLUMNS:
            seen = set(text.head(100_000).unique())
            if seen <= _TRUE | _FALSE and seen & _TRUE:
                return column, text.isin(_TRUE).to_numpy()
        else:
            flagged = text.str.match(_REFUND_TYPE).to_numpy(dtype=bool)
            if flagged.any():
                return column, flagged
    return None, None


def net_refunds(table: pd.DataFrame, code: str, rows: np.ndarray | None) -> tuple[pd.DataFrame, Netting]:
    """Net every refund (negative ``amount``) of ``table`` against the purchase lines it refunds.

    ``table`` is in customer (``code``) and date order, with optional ``order_id`` and ``product`` ("" when
    unknown); ``rows`` gives each row's data-row position in the file (``None``: the table's own order), for the
    report's examples.
    """
    amount = table["amount"].to_numpy(dtype=float)
    negative = amount < 0
    purchases_amount = float(amount[amount > 0].sum())
    refund_rows = np.flatnonzero(negative)
    remaining = np.where(negative, 0.0, amount)
    customer = table[code].to_numpy()
    stamps = table["date"].to_numpy().view(np.int64)
    orders, refund_orders, referenced = _order_codes(table, negative)
    products = _codes(table["product"])[0] if "product" in table else np.full(len(table), -1)
    starts = np.flatnonzero(np.r_[True, customer[1:] != customer[:-1]])
    ends = np.r_[starts[1:], len(customer)]
    owner = np.searchsorted(starts, refund_rows, side="right") - 1
    netted = np.zeros(len(refund_rows))
    spread = 0
    for k, r in enumerate(refund_rows):
        s, e = starts[owner[k]], ends[owner[k]]
        due = -amount[r]
        lines = 0
        for c in _candidates(r, s, e, stamps, remaining, negative, orders, products, refund_orders[r], due):
            take = min(remaining[c], due)
            remaining[c] -= take
            due -= take
            netted[k] += take
            lines += 1
            if due <= 1e-9 * -amount[r]:
                break
        spread += lines > 1
    short = -amount[refund_rows] - netted
    unmatched = short > 1e-9 * -amount[refund_rows]
    full = (~negative) & (amount > 0) & (remaining <= 1e-9 * amount)
    kept = table.assign(amount=remaining).loc[~negative & ~full].reset_index(drop=True)
    examples = tuple(
        (int(r if rows is None else rows[r]) + 1, _describe(table, r, amount[r], short[k]))
        for k, r in enumerate(refund_rows)
        if unmatched[k]
    )[:3]
    return kept, Netting(
        refund_rows=len(refund_rows),
        refund_amount=float(-amount[refund_rows].sum()),
        netted_amount=float(netted.sum()),
        purchases_amount=purchases_amount,
        revenue_kept=float(kept["amount"].sum()),
        unmatched_rows=int(unmatched.sum()),
        unmatched_amount=float(short[unmatched].sum()),
        unmatched_examples=examples,
        fully_refunded=int(full.sum()),
        spread_over_lines=spread,
        referenced_orders=referenced,
    )


def _candidates(r, s, e, stamps, remaining, negative, orders, products, order, due):
    """The purchase lines (table positions) the refund at ``r`` (its customer's rows: ``s:e``) takes from, in the
    order it takes from them."""
    rem = remaining[s:e]
    open_ = ~negative[s:e] & (rem > 0)
    before = open_ & (stamps[s:e] <= stamps[r])
    product = products[r]
    tiers = []
    same_order = open_ & (orders[s:e] == order) if order >= 0 else None
    if product >= 0:
        same_product = products[s:e] == product
        if same_order is not None:
            tiers.append(same_order & same_product)
        tiers.append(before & same_product)
    if same_order is not None:
        tiers.append(same_order)
    if product >= 0 and not any(t.any() for t in tiers):
        return []  # it names a product this customer never bought (and no order of theirs): nothing to guess
    tiers.append(before & np.isclose(rem, due, rtol=1e-9, atol=0.0))
    tiers.append(before)
    seen: set[int] = set()
    out = []
    for tier in tiers:
        for i in np.flatnonzero(tier)[::-1]:  # latest first: the rows are in date order
            if i not in seen:
                seen.add(i)
                out.append(s + int(i))
    return out


def _codes(values) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of text values (-1 for "", unknown) and the distinct values they index."""
    codes, uniques = pd.factorize(values)
    blank = np.flatnonzero(uniques == "")
    if blank.size:
        codes = np.where(codes == blank[0], -1, codes)
    return codes, uniques


def _order_codes(table: pd.DataFrame, negative: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Each row's order code, each refund's order code (the order its id names when that order is in the file), and
    how many refunds named another order."""
    if "order_id" not in table:
        blank = np.full(len(table), -1)
        return blank, blank, 0
    ids = table["order_id"].astype(str).to_numpy(dtype=object)
    codes, uniques = _codes(ids)
    purchase_ids = set(ids[~negative]) - {""}
    position = pd.Index(uniques)
    refund_codes = codes.copy()
    referenced = 0
    for i in np.flatnonzero(negative):
        if ids[i] in purchase_ids:
            continue
        m = _CANCEL_PREFIX.match(ids[i])
        if m and m.group(1) in purchase_ids:
            refund_codes[i] = position.get_loc(m.group(1))
            referenced += 1
    return codes, refund_codes, referenced


def _describe(table: pd.DataFrame, r: int, amount: float, short: float) -> str:
    parts = [f"order {table['order_id'].iat[r]}" if "order_id" in table and table["order_id"].iat[r] else ""]
    parts.append(f"product {table['product'].iat[r]}" if "product" in table and table["product"].iat[r] else "")
    parts.append(f"refund {-amount:,.2f}" + (f", {short:,.2f} of it unmatched" if short < -amount - 1e-9 else ""))
    return ", ".join(p for p in parts if p)[:60]
