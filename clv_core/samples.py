"""Bundled samples, returned as file bytes so they go through exactly the loader a user's upload does.

* ``cdnow`` – the real CDNOW master file shipped in the ``lifetimes`` package (69,659 transactions of 23,570
  customers, 1997-01-01 … 1998-06-30).
* ``cdnow_sample`` – the 1/10 CDNOW sample used by Fader, Hardie & Lee (2005) (headerless, whitespace-separated).
* ``retail`` – a synthetic shop made by :func:`make_retail_sample`: channels, countries, products, a coffee
  subscription, returns, time-stamped orders. Deterministic for a given seed.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clv_core.errors import ClvError
from clv_core.names import DAYS_PER_MONTH


@dataclass(frozen=True)
class Sample:
    key: str
    label: str
    file_name: str
    description: str
    #: ISO code of the amounts' currency (the samples' files carry none).
    currency: str = "USD"


SAMPLES = {
    "cdnow": Sample(
        "cdnow",
        "CDNOW – real music-store purchases (23,570 customers)",
        "CDNOW_master.txt",
        "Every purchase of the customers who first bought at CDNOW in Q1 1997, to June 1998. The data set of "
        "the BG/NBD paper.",
    ),
    "cdnow_sample": Sample(
        "cdnow_sample",
        "CDNOW 1/10 sample (2,357 customers)",
        "CDNOW_sample.txt",
        "The 1/10 sample of CDNOW used for the published BG/NBD and Gamma–Gamma estimates.",
    ),
    "retail": Sample(
        "retail",
        "Synthetic coffee shop (channels, countries, subscriptions, returns)",
        "synthetic_retail.csv",
        "A generated online shop with acquisition channels, countries, products, a monthly subscription and "
        "refunds, to show attribute splits and contractual mode. Same data every time.",
    ),
    "donations": Sample(
        "donations",
        "Yearly donations (11,104 supporters, one drive a year)",
        "yearly_donations.csv",
        "The 11,104 first-time supporters of 1995 and their next six yearly drives, as lifetimes ships them "
        "(Fader, Hardie & Shang 2010), one row per gift on the drive's date; the amounts are generated. Purchases "
        "at fixed opportunities: the CLV forecast page offers the BG/BB model.",
    ),
}


def sample_bytes(key: str) -> tuple[bytes, str]:
    """The file bytes and file name of a bundled sample."""
    if key not in SAMPLES:
        raise ClvError(f"Unknown sample {key!r}. Samples: {', '.join(SAMPLES)}.")
    sample = SAMPLES[key]
    if key == "retail":
        return make_retail_sample(), sample.file_name
    if key == "donations":
        return make_donations_sample(), sample.file_name
    import lifetimes  # only here: the package is the data's home

    path = Path(lifetimes.__file__).parent / "datasets" / sample.file_name
    return path.read_bytes(), sample.file_name


_CHANNELS = {  # name: (share, purchase-rate multiplier, dropout multiplier)
    "Organic search": (0.30, 1.0, 1.0),
    "Paid social": (0.25, 0.7, 1.5),
    "Email": (0.15, 1.4, 0.7),
    "Referral": (0.15, 1.3, 0.6),
    "Marketplace": (0.15, 0.6, 1.8),
}
_COUNTRIES = {"US": 0.38, "UK": 0.2, "DE": 0.15, "FR": 0.1, "NL": 0.09, "CA": 0.08}
_PRODUCTS = {  # name: (share, base price)
    "Espresso beans 1kg": (0.3, 32.0),
    "Filter beans 500g": (0.25, 16.0),
    "Decaf beans 500g": (0.08, 17.0),
    "Cold brew kit": (0.07, 45.0),
    "Burr grinder": (0.05, 129.0),
    "Gift box": (0.1, 55.0),
    "Mug set": (0.08, 28.0),
    "Descaler": (0.07, 12.0),
}
SUBSCRIPTION = "Coffee Club monthly"


def _subscribers_one_offs(rng, subscribers, acquired_days, horizon, spend_scale, products) -> pd.DataFrame:
    """One-off orders of the half of subscribers who also shop (a slower purchase process than other customers'),
    from their own random stream, so that every other row of the sample is as it was before they were added."""
    product_p = np.array([v[0] for v in _PRODUCTS.values()])
    product_p /= product_p.sum()
    rows = []
    for i in subscribers:
        if rng.uniform() >= 0.5:
            continue
        rate, dropout = rng.gamma(0.9, 1 / 70.0), rng.beta(0.8, 5.0)
        t = acquired_days[i] + rng.exponential(1 / max(rate, 1e-4))
        while t <= horizon:
            k = rng.choice(len(products), p=product_p)
            qty = int(rng.choice([1, 1, 2]))
            amount = round(_PRODUCTS[products[k]][1] * qty * spend_scale[i] * rng.gamma(20, 1 / 20), 2)
            rows.append((i, t, products[k], qty, max(amount, 1.0)))
            if rng.uniform() < dropout:
                break
            t += rng.exponential(1 / max(rate, 1e-4))
    return pd.DataFrame(rows, columns=["c", "timestamp", "product", "quantity", "amount"])


def make_retail_sample(*, seed: int = 20240601, n_customers: int = 4000) -> bytes:
    """Generate the synthetic shop's transactions as CSV bytes.

    One-off buyers follow a BG/NBD process (purchase rate ~ Gamma, dropout after each purchase ~ Beta) with
    channel effects; spend per order is Gamma–Gamma. Subscribers pay 24.00 a month until they cancel, with a
    Beta-distributed monthly cancellation probability (a shifted-beta-geometric process); half of them also buy
    one-off products, more slowly than other customers (a hybrid business). About 4 % of orders are
    refunded 3–20 days later, in full or half. Acquisition grows from mid-2023 to March 2025; the data ends
    2025-06-30.

    Parameters
    ----------
    seed : int
        Random seed; the same seed gives byte-identical output.
    n_customers : int
        Number of customers.
    """
    rng = np.random.default_rng(seed)
    start, end = pd.Timestamp("2023-01-01"), pd.Timestamp("2025-06-30 23:59:59")
    span_days = (pd.Timestamp("2025-03-31") - start).days
    channels = list(_CHANNELS)
    channel = rng.choice(len(channels), size=n_customers, p=[v[0] for v in _CHANNELS.values()])
    country = rng.choice(list(_COUNTRIES), size=n_customers, p=list(_COUNTRIES.values()))
    # acquisition grows over time: density rising linearly
    acquired = start + pd.to_timedelta(np.sqrt(rng.uniform(0.05, 1, n_customers)) * span_days, unit="D")
    subscriber = rng.uniform(size=n_customers) < 0.12
    rate = rng.gamma(0.9, 1 / 45.0, n_customers) * np.array([_CHANNELS[c][1] for c in channels])[channel]
    dropout = np.clip(rng.beta(0.8, 4.0, n_customers) * np.array([_CHANNELS[c][2] for c in channels])[channel], 0, 0.95)
    spend_scale = rng.gamma(6.0, 1.0, n_customers) / 6.0
    cancel = rng.beta(0.7, 3.5, n_customers)
    products = list(_PRODUCTS)
    product_p = np.array([v[0] for v in _PRODUCTS.values()])
    product_p /= product_p.sum()

    # the simulation runs in float days since ``start``: Timestamp arithmetic in the loop is 20x slower
    acquired_days = ((acquired - start) / pd.Timedelta(days=1)).to_numpy()
    horizon = (end - start) / pd.Timedelta(days=1)
    rows: list[tuple] = []
    for i in range(n_customers):
        t = acquired_days[i] + rng.uniform(7, 22) / 24
        if subscriber[i]:
            n = 0
            while t <= horizon:
                rows.append((i, t, SUBSCRIPTION, 1, 24.0))
                n += 1
                if rng.uniform() < cancel[i]:
                    break
                t = acquired_days[i] + n * DAYS_PER_MONTH + rng.uniform(0, 3) / 24
            continue
        while t <= horizon:
            k = rng.choice(len(products), p=product_p)
            qty = int(rng.choice([1, 1, 1, 2, 2, 3]))
            amount = round(_PRODUCTS[products[k]][1] * qty * spend_scale[i] * rng.gamma(20, 1 / 20), 2)
            rows.append((i, t, products[k], qty, max(amount, 1.0)))
            if rng.uniform() < dropout[i]:
                break
            t += rng.exponential(1 / max(rate[i], 1e-4))
    frame = pd.DataFrame(rows, columns=["c", "timestamp", "product", "quantity", "amount"])
    frame["timestamp"] = start + pd.to_timedelta(np.round(frame["timestamp"] * 86400), unit="s")
    frame = frame.sort_values(["timestamp", "c"], kind="stable").reset_index(drop=True)
    frame["order_id"] = [f"SO-{n:06d}" for n in range(1, len(frame) + 1)]
    refund = rng.uniform(size=len(frame)) < 0.04
    refunds = frame.loc[refund].copy()
    refunds["timestamp"] = refunds["timestamp"] + pd.to_timedelta(rng.uniform(3, 20, len(refunds)), unit="D")
    refunds["amount"] = -np.where(
        rng.uniform(size=len(refunds)) < 0.6, refunds["amount"], (refunds["amount"] / 2).round(2)
    )
    refunds = refunds.loc[refunds["timestamp"] <= end]
    extra = _subscribers_one_offs(
        np.random.default_rng(seed + 1), np.flatnonzero(subscriber), acquired_days, horizon, spend_scale, products
    )
    extra["timestamp"] = start + pd.to_timedelta(np.round(extra["timestamp"] * 86400), unit="s")
    extra = extra.sort_values(["timestamp", "c"], kind="stable").reset_index(drop=True)
    extra["order_id"] = [f"SO-{n:06d}" for n in range(len(frame) + 1, len(frame) + len(extra) + 1)]
    frame = pd.concat([frame, refunds, extra]).sort_values(["timestamp", "order_id"], kind="stable")
    out = pd.DataFrame(
        {
            "order_id": frame["order_id"],
            "customer_id": [f"C{c + 1:05d}" for c in frame["c"]],
            "order_date": frame["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "product": frame["product"],
            "quantity": frame["quantity"],
            "amount": frame["amount"].map(lambda v: f"{v:.2f}"),
            "channel": [channels[channel[c]] for c in frame["c"]],
            "country": country[frame["c"].to_numpy()],
            "plan": np.where(subscriber[frame["c"].to_numpy()], "subscription", "one-off"),
        }
    )
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def make_donations_sample(*, seed: int = 1995) -> bytes:
    """lifetimes' donations summary as transactions: each supporter gives at the 1995 drive (15 November) and, of
    the next six, at ``frequency`` of them, the last being drive ``recency``; which of the earlier ones is drawn
    (the summary does not say, and BG/BB does not need it). Gifts are Gamma-distributed around 50.00."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifetimes' datasets import pkg_resources
        from lifetimes.datasets import load_donations

        patterns = load_donations()
    rng = np.random.default_rng(seed)
    rows = []
    supporter = 0
    for x, tx, _n, count in patterns[["frequency", "recency", "periods", "weights"]].itertuples(index=False):
        for _ in range(int(count)):
            supporter += 1
            years = [0] + ([*sorted(rng.choice(np.arange(1, tx), size=x - 1, replace=False)), tx] if x else [])
            for year in years:
                rows.append((f"D{supporter:05d}", f"{1995 + int(year)}-11-15", round(float(rng.gamma(4.0, 12.5)), 2)))
    frame = pd.DataFrame(rows, columns=["supporter_id", "gift_date", "amount"]).sort_values(
        ["gift_date", "supporter_id"], kind="stable"
    )
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
