"""Marketing spend by channel and month → CAC, LTV:CAC and payback by acquisition channel and cohort.

A spend table (CSV, Excel, Parquet, or typed in: one row per month and channel) is read with the transaction
loader's reader and its limits (:func:`clv_core.ingest.sniff.read_raw`), its columns found by name, each row
checked (a month, a channel, a spend that is a number ≥ 0), and repeated (month, channel) rows summed, all said in a
quality report. Its channels are matched to the values of the transactions' acquisition-channel attribute (case
and spacing ignored); spend channels with no customers, and channels with customers but no spend, are named.

For each channel and month: new customers = customers whose first purchase fell in that month with that channel
(the attribute's value on the first purchase), CAC = spend ÷ new customers. Value per acquired customer = the
margin of what they have bought so far plus their predicted CLV over the horizon (the scoring chain's ``clv``: the
Segments page's number), so LTV:CAC = value ÷ CAC; the payback month is the first month after acquisition in
which the cohort's cumulative margin per customer (actual purchases) reached its CAC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from clv_core.cohorts import first_purchase_attributes
from clv_core.errors import ClvError
from clv_core.ingest import BLANK_ATTRIBUTE, Transactions
from clv_core.ingest.amounts import parse_amounts
from clv_core.ingest.columns import normalise_name
from clv_core.ingest.dates import parse_dates
from clv_core.ingest.sniff import read_raw
from clv_core.runs import runs

#: Spend tables are small: a row per month and channel.
MAX_ROWS = 50_000
#: The words a column may be named by, per role (compared without case, spaces, dashes or underscores).
SYNONYMS = {
    "month": ("month", "period", "date", "monthstart", "yearmonth"),
    "channel": ("channel", "acquisitionchannel", "source", "medium", "marketingchannel", "utmsource"),
    "spend": ("spend", "cost", "costs", "amount", "budget", "adspend", "marketingspend"),
}
#: The attribute names taken for the acquisition channel when the transactions have one.
CHANNEL_ATTRIBUTES = ("channel", "acquisition channel", "acquisition_channel", "source", "utm_source", "medium")
#: The ratio a marketer's rule of thumb asks of LTV:CAC.
TARGET_RATIO = 3.0
_YEAR_MONTH = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})\s*$")


@dataclass(frozen=True)
class Spend:
    """Spend per (``month``: the month's first day, ``channel``, ``spend``), one row each, and how it was read:
    ``report`` (rows read, kept, dropped with their reasons, repeated rows summed)."""

    table: pd.DataFrame
    report: dict
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total(self) -> float:
        return float(self.table["spend"].sum())


def starting_table(transactions: Transactions | None, attribute: str | None, months: int = 6) -> pd.DataFrame:
    """A spend table to fill in: the data's last ``months`` whole months that still acquired customers (a tenth of
    a typical month's at least) for each of its channels (the 12 that acquired most customers; three example names
    without a channel attribute), spend 0."""
    channels = ["Paid search", "Paid social", "Email"]
    full = sorted(full_months(transactions)) if transactions is not None else []
    if attribute is not None and transactions is not None:
        values = acquisitions(transactions, attribute)["channel"]
        channels = [c for c in values.value_counts().index if c != BLANK_ATTRIBUTE][:12] or channels
    if transactions is not None and full:
        # the latest whole months in which customers were still acquired (at least a tenth of a typical month's)
        counts = acquisition_months(transactions).value_counts().reindex(full, fill_value=0)
        busy = [m for m in full if counts[m] >= 0.1 * max(float(counts[counts > 0].median()), 1.0)]
        full = busy or full
    last = full[-1] if full else pd.Timestamp.today().to_period("M").to_timestamp()
    chosen = [m for m in full if m > last - pd.DateOffset(months=months)] or [last]
    rows = [(m.strftime("%Y-%m"), c, 0.0) for m in chosen for c in channels]
    return pd.DataFrame(rows, columns=["month", "channel", "spend"])


def template(transactions: Transactions | None = None, attribute: str | None = None, months: int = 6) -> bytes:
    """:func:`starting_table` as a CSV (formula-safe: channel names come from the data)."""
    from clv_core.export import to_csv_bytes

    return to_csv_bytes(starting_table(transactions, attribute, months))


def read_spend(data: bytes, name: str) -> Spend:
    """Read a spend file (see the module's description); raises ClvError saying what to fix."""
    try:
        raw = read_raw(data, name, max_rows=MAX_ROWS)
    except ClvError as exc:  # the reader speaks of transactions; this is a spend table
        raise ClvError(str(exc).replace("no transactions", "no spend rows")) from exc
    frame = raw.frame
    columns = {role: _column(frame, role) for role in SYNONYMS}
    missing = [role for role, column in columns.items() if column is None]
    if missing:
        raise ClvError(
            f"The spend file needs a {', '.join(missing)} column (one row per month and channel: month, channel, "
            f"spend); its columns are: {', '.join(map(str, frame.columns[:20]))}. Download the template to start from."
        )
    return spend_from(frame[[columns["month"], columns["channel"], columns["spend"]]].set_axis(list(SYNONYMS), axis=1))


def spend_from(frame: pd.DataFrame) -> Spend:
    """Check and tidy (month, channel, spend) rows (a table typed on the page, or read from a file)."""
    frame = frame.reset_index(drop=True)  # a table with rows deleted keeps the others' labels
    n = len(frame)
    if n == 0:
        raise ClvError("The spend table has no rows: one row per month and channel, with what was spent.")
    text = frame["month"].astype(str).str.strip()
    text = text.where(~text.str.match(_YEAR_MONTH), text.str.replace(_YEAR_MONTH, r"\1-\2-01", regex=True))
    months = parse_dates(text.where(frame["month"].notna(), None), order="auto").values
    months = pd.to_datetime(months, errors="coerce").dt.to_period("M").dt.to_timestamp()
    channels = frame["channel"].astype(object).where(frame["channel"].notna(), "").astype(str).str.strip()
    amounts = parse_amounts(frame["spend"]).values
    reasons = {
        "no month that can be read": months.isna(),
        "no channel": channels.eq("") & months.notna(),
        "no spend that can be read": amounts.isna() & months.notna() & channels.ne(""),
        "negative spend": (amounts < 0) & months.notna() & channels.ne(""),
    }
    bad = np.zeros(n, dtype=bool)
    dropped = {}
    for reason, mask in reasons.items():
        mask = np.asarray(mask, dtype=bool) & ~bad
        if mask.any():
            dropped[reason] = int(mask.sum())
        bad |= mask
    kept = pd.DataFrame({"month": months[~bad], "channel": channels[~bad], "spend": amounts[~bad].astype(float)})
    if kept.empty:
        raise ClvError(
            "No row of the spend table could be read: "
            + "; ".join(f"{k}: {v:,} rows" for k, v in dropped.items())
            + ". Each row needs a month (2025-01 or a date), a channel and a spend of 0 or more."
        )
    table = kept.groupby(["month", "channel"], as_index=False, sort=True)["spend"].sum()
    repeated = len(kept) - len(table)
    report = {"rows read": n, "rows kept": len(kept), "rows dropped": dropped, "repeated rows summed": repeated}
    notes = []
    if dropped:
        notes.append(
            f"{sum(dropped.values()):,} of {n:,} rows were left out: "
            + "; ".join(f"{k} ({v:,})" for k, v in dropped.items())
            + "."
        )
    if repeated:
        rows = "row repeated a month and channel" if repeated == 1 else "rows repeated a month and channel"
        notes.append(f"{repeated:,} {rows} already given: their spend was added to it.")
    return Spend(table, report, tuple(notes))


def _column(frame: pd.DataFrame, role: str) -> str | None:
    names = {normalise_name(c): c for c in frame.columns}
    return next((names[s] for s in SYNONYMS[role] if s in names), None)


def channel_attribute(transactions: Transactions) -> str | None:
    """The transactions' acquisition-channel attribute, if it has one by name."""
    by_name = {normalise_name(a): a for a in transactions.attributes}
    return next((by_name[normalise_name(c)] for c in CHANNEL_ATTRIBUTES if normalise_name(c) in by_name), None)


def acquisition_months(transactions: Transactions) -> pd.Series:
    """Each customer's acquisition month (the first day of the month of the first purchase), by id, in the
    data's customer order (from its customer runs, as :func:`clv_core.cohorts.first_purchase_attributes`)."""
    r = runs(transactions.data)
    first = pd.to_datetime(r.first_day.astype("datetime64[D]")).to_period("M").to_timestamp()
    return pd.Series(first, index=pd.Index(r.first_of(transactions.data["customer_id"]), name="customer_id"))


def acquisitions(transactions: Transactions, attribute: str) -> pd.DataFrame:
    """Each customer's acquisition month (of the first purchase) and channel (``attribute`` on it), by id."""
    first = first_purchase_attributes(transactions)
    if attribute not in first:
        raise ClvError(f"There is no attribute {attribute!r} to read acquisition channels from.")
    months = acquisition_months(transactions).to_numpy()
    return pd.DataFrame({"month": months, "channel": first[attribute].astype(str).to_numpy()}, first.index)


def blended_cac(transactions: Transactions, spend: Spend) -> float:
    """All spend in whole months of the data ÷ the customers first buying in them: the CAC that needs no
    channel (NaN when nobody was acquired in those months)."""
    inside = spend.table[spend.table["month"].isin(full_months(transactions))]
    new = int(acquisition_months(transactions).isin(set(inside["month"])).sum())
    return float(inside["spend"].sum()) / new if new else float("nan")


@dataclass(frozen=True)
class Matching:
    """Spend channels matched to the data's (``names``: spend's name → the data's), and those not matched."""

    names: dict
    spend_only: tuple[str, ...]
    customers_only: tuple[str, ...]

    def sentences(self) -> list[str]:
        out = []
        if self.spend_only:
            out.append(
                "No customer was acquired through "
                + ", ".join(f"'{c}'" for c in self.spend_only)
                + ": their spend counts in the blended CAC only (check the channel names match the data's)."
            )
        if self.customers_only:
            out.append(
                "No spend (or only 0) was given for "
                + ", ".join(f"'{c}'" for c in self.customers_only)
                + ": their customers count in the blended CAC as acquired for free."
            )
        return out


def match(spend: Spend, acquired: pd.DataFrame) -> Matching:
    """The spend's channels matched to the acquisition channels, ignoring case and spacing."""
    ours = {normalise_name(c): c for c in acquired["channel"].unique()}
    names, unmatched = {}, []
    for channel in spend.table["channel"].unique():
        found = ours.get(normalise_name(channel))
        if found is None:
            unmatched.append(channel)
        else:
            names[channel] = found
    # channels with customers in the months the spend covers, but no spend (none given, or only zeros)
    covered = acquired["month"].isin(spend.table["month"].unique())
    paid = spend.table.groupby("channel")["spend"].sum()
    given = {names[c] for c in paid.index[paid > 0] if c in names}
    without = sorted(set(acquired.loc[covered, "channel"]) - given - {BLANK_ATTRIBUTE})
    return Matching(names, tuple(sorted(unmatched)), tuple(without))


@dataclass(frozen=True)
class ChannelEconomics:
    """``cohorts``: one row per (channel, month) with spend; ``channels``: one row per channel and a blended
    "All channels" row: spend, new customers, CAC, value per customer (margin so far + predicted CLV), LTV:CAC,
    payback month (blank when not reached). ``blended_cac``: all spend ÷ all customers acquired in its months."""

    cohorts: pd.DataFrame
    channels: pd.DataFrame
    blended_cac: float
    matching: Matching
    horizon_months: int
    months_left_out: tuple[str, ...] = ()
    unknown_channel_customers: int = 0

    def sentences(self) -> list[str]:
        """What the figures leave out, in words (besides :meth:`Matching.sentences`)."""
        out = []
        if self.months_left_out:
            out.append(
                "Spend in " + ", ".join(self.months_left_out) + " is left out: the data does not cover those months "
                "from their first day to their last (outside the data, or the month it starts or ends in), so their "
                "new customers cannot be counted."
            )
        if self.unknown_channel_customers:
            out.append(
                f"{self.unknown_channel_customers:,} customers acquired in the months with spend have no channel "
                "recorded: they count in the blended CAC only."
            )
        return out

    @property
    def complete(self) -> bool:
        """Whether every channel that acquired customers in the spend's months has spend (then the blended CAC is
        a fair default for the forecast's CAC)."""
        return not self.matching.customers_only


ALL = "All channels"


def channel_economics(
    spend: Spend, transactions: Transactions, attribute: str, scored: pd.DataFrame, econ, new_customer_clv=np.nan
):
    """CAC, value and payback per channel and cohort (see the module's description). ``scored`` is the scoring
    chain's table (``customer_id``, ``clv``) under ``econ``; ``new_customer_clv`` its CLV of a customer acquired
    today (the CLV forecast's), over which each CAC gives the forecast's CLV : CAC (``clv_to_cac``)."""
    acquired = acquisitions(transactions, attribute)
    covered = full_months(transactions)
    inside = spend.table["month"].isin(covered)
    left_out = tuple(sorted(spend.table.loc[~inside, "month"].dt.strftime("%Y-%m").unique()))
    if not inside.any():
        raise ClvError(
            "None of the spend's months lies wholly inside the data "
            f"({transactions.data['date'].min().date()} to {transactions.observation_end.date()}): "
            "new customers can be counted only in months the data covers from first day to last."
        )
    usable = Spend(spend.table[inside].reset_index(drop=True), spend.report, spend.notes)
    matching = match(usable, acquired)
    table = usable.table.assign(channel=usable.table["channel"].map(lambda c: matching.names.get(c, c)))
    table = table.groupby(["channel", "month"], as_index=False)["spend"].sum()
    margin_to_date = _margin_by_month(transactions, acquired, econ.gross_margin)
    clv = scored.set_index("customer_id")["clv"].reindex(acquired.index).fillna(0.0)
    so_far = margin_to_date.groupby(level=0).sum().reindex(acquired.index).fillna(0.0)
    customers = acquired.assign(value=so_far.to_numpy() + clv.to_numpy())
    per_cohort = customers.groupby(["channel", "month"]).agg(new_customers=("value", "size"), value=("value", "mean"))
    cohorts = table.merge(per_cohort.reset_index(), on=["channel", "month"], how="left")
    cohorts["new_customers"] = cohorts["new_customers"].fillna(0).astype(int)
    cohorts["cac"] = np.where(cohorts["new_customers"] > 0, cohorts["spend"] / cohorts["new_customers"].clip(1), np.nan)
    cohorts["ltv_to_cac"] = _ratio(cohorts["value"], cohorts["cac"])
    curves = _curves(margin_to_date, acquired, transactions.observation_end)
    cohorts["payback_month"] = [_payback(curves.get((row.channel, row.month)), row.cac) for row in cohorts.itertuples()]
    months = set(table["month"])
    rows = []
    for channel, part in cohorts.groupby("channel", sort=False):
        rows.append(_summary_row(channel, part, customers[(customers["channel"] == channel)], curves))
    in_months = customers[customers["month"].isin(months)]
    total_spend = float(table["spend"].sum())
    blended = blended_cac(transactions, usable)
    everyone = pd.DataFrame(
        {
            "channel": [ALL],
            "spend": [total_spend],
            "new_customers": [len(in_months)],
            "cac": [blended],
            "value": [float(in_months["value"].mean()) if len(in_months) else np.nan],
        }
    )
    everyone["ltv_to_cac"] = _ratio(everyone["value"], everyone["cac"])
    everyone["payback_month"] = _payback(_pooled_curve(curves, in_months), blended)
    channels = pd.concat([pd.DataFrame(rows), everyone], ignore_index=True)
    unknown = int((in_months["channel"] == BLANK_ATTRIBUTE).sum())
    for frame in (cohorts, channels):
        frame["clv_to_cac"] = _ratio(pd.Series(float(new_customer_clv), index=frame.index), frame["cac"])
    return ChannelEconomics(
        cohorts.sort_values(["channel", "month"]).reset_index(drop=True),
        channels,
        blended,
        matching,
        econ.horizon_months,
        left_out,
        unknown,
    )


def full_months(transactions: Transactions) -> set:
    """The first days of the months the data covers from their first day to their last."""
    start = transactions.data["date"].min().normalize()
    end = transactions.observation_end.normalize()
    first = start if start.day == 1 else (start + pd.offsets.MonthBegin(1))
    last = (end + pd.Timedelta(days=1)).to_period("M").to_timestamp() - pd.offsets.MonthBegin(1)
    return set(pd.date_range(first, last, freq="MS")) if first <= last else set()


def _ratio(value: pd.Series, cac: pd.Series) -> pd.Series:
    """Value ÷ CAC, empty where the CAC is 0 (no spend: nothing to compare) or unknown."""
    cac = cac.astype(float)
    return (value / cac).where(cac > 0)


def _summary_row(channel, part, customers, curves) -> dict:
    acquired = customers[customers["month"].isin(set(part["month"]))]
    spend, n = float(part["spend"].sum()), len(acquired)
    cac = spend / n if n else np.nan
    value = float(acquired["value"].mean()) if n else np.nan
    return {
        "channel": channel,
        "spend": spend,
        "new_customers": n,
        "cac": cac,
        "value": value,
        "ltv_to_cac": value / cac if n and cac > 0 else np.nan,
        "payback_month": _payback(_pooled_curve(curves, acquired), cac),
    }


def _margin_by_month(transactions: Transactions, acquired: pd.DataFrame, margin: float) -> pd.Series:
    """Margin per (customer, months since acquisition)."""
    data = transactions.data
    month = data["date"].dt.to_period("M").dt.to_timestamp()
    start = acquired["month"].reindex(data["customer_id"]).to_numpy()
    age = (month.dt.year - pd.DatetimeIndex(start).year) * 12 + (month.dt.month - pd.DatetimeIndex(start).month)
    frame = pd.DataFrame(
        {"customer_id": data["customer_id"].to_numpy(), "age": age.to_numpy(), "m": data["amount"] * margin}
    )
    return frame.groupby(["customer_id", "age"])["m"].sum()


def _curves(margin: pd.Series, acquired: pd.DataFrame, end) -> dict:
    """(channel, month) → (cumulative margin per customer by month of age, up to the age the data reaches, and
    the cohort's size)."""
    frame = margin.rename("m").reset_index().merge(acquired, left_on="customer_id", right_index=True)
    sizes = acquired.groupby(["channel", "month"]).size()
    end = pd.Timestamp(end)
    out = {}
    for key, part in frame.groupby(["channel", "month"]):
        ages = (end.year - key[1].year) * 12 + end.month - key[1].month + 1
        totals = np.bincount(part["age"].to_numpy(dtype=int), weights=part["m"].to_numpy(), minlength=ages)[:ages]
        out[key] = (np.cumsum(totals) / int(sizes[key]), int(sizes[key]))
    return out


def _pooled_curve(curves: dict, customers: pd.DataFrame):
    """The customers' cohorts' curves averaged at each age over the cohorts the data follows that far."""
    parts = [curves[k] for k in set(zip(customers["channel"], customers["month"])) if k in curves]
    if not parts:
        return None
    length = max(len(c) for c, _ in parts)
    total, weight = np.zeros(length), np.zeros(length)
    for curve, size in parts:
        total[: len(curve)] += curve * size
        weight[: len(curve)] += size
    return total / weight, int(weight[0])


def _payback(curve, cac: float):
    """The first month of age (1 = the acquisition month) whose cumulative margin per customer reaches ``cac``."""
    if curve is None or not np.isfinite(cac):
        return np.nan
    reached = np.nonzero(curve[0] >= cac)[0]
    return float(reached[0] + 1) if len(reached) else np.nan


def columns(horizon_months: int) -> dict[str, str]:
    """The meanings of the channel and cohort tables' columns (for their downloads' assumptions)."""
    return {
        "channel": "acquisition channel (the data's value on the first purchase; 'All channels': every one)",
        "month": "acquisition month (of the first purchase)",
        "spend": "marketing spend in the month(s) (currency)",
        "new_customers": "customers whose first purchase fell in the month(s) through the channel",
        "cac": "spend ÷ new customers (currency)",
        "value": f"per new customer: margin of what they bought so far plus their predicted CLV over the next "
        f"{horizon_months} months (currency)",
        "ltv_to_cac": "value ÷ CAC",
        "clv_to_cac": f"a newly acquired customer's predicted {horizon_months}-month CLV (the CLV forecast's) ÷ CAC",
        "payback_month": "first month after acquisition (1: the acquisition month) in which the margin of what the "
        "customers bought covers the CAC; empty: not reached in the data",
    }
