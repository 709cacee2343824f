"""Bundled samples: the real CDNOW files, and a synthetic shop that is the same every time."""

from __future__ import annotations

import pandas as pd

from clv_core.samples import SAMPLES, SUBSCRIPTION, make_retail_sample, sample_bytes
from clv_core.summary import summarise
from tests.conftest import load


def test_retail_sample_is_deterministic_and_seeded():
    assert make_retail_sample() == make_retail_sample()
    assert make_retail_sample(seed=1, n_customers=200) != make_retail_sample(seed=2, n_customers=200)


def test_retail_sample_has_what_cdnow_lacks():
    data, name = sample_bytes("retail")
    tx = load(data, name)
    assert tx.attributes == ("channel", "country", "plan")
    assert tx.mapping.order_id == "order_id" and tx.mapping.product == "product"
    assert tx.report.return_rows > 100 and tx.report.returns_policy == "net"
    assert set(tx.data["channel"]) == {"Organic search", "Paid social", "Email", "Referral", "Marketplace"}
    subs = tx.data[tx.data["product"] == SUBSCRIPTION]
    gaps = subs.groupby("customer_id")["date"].diff().dt.days.dropna()
    assert 28 <= gaps.median() <= 32  # monthly charges
    assert summarise(tx).table["frequency"].gt(0).mean() > 0.3


def test_every_sample_loads_through_the_normal_loader():
    for key in SAMPLES:
        data, name = sample_bytes(key)
        tx = load(data, name)
        assert tx.report.rows_kept > 1000 and pd.api.types.is_datetime64_any_dtype(tx.data["date"])
