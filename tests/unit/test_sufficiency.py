"""Plain-language sufficiency gates: enough data for a forecast, and how far ahead it is supported."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from clv_core.samples import sample_bytes
from clv_core.sufficiency import OK, SHORT, THIN, assess
from clv_core.summary import summarise
from tests.conftest import load

TODAY = dt.date(2026, 11, 23)


def _gate(tx, data: pd.DataFrame | None = None, today=TODAY):
    data = tx.data if data is None else data
    summary = summarise(data, time_unit="weeks", observation_end=data["date"].max())
    return assess(summary, data["date"].min(), today=today)


def test_cdnow_master_is_enough_for_18_months_and_old():
    tx = load(*sample_bytes("cdnow"))
    gate = _gate(tx)
    verdicts = {c.name: c.verdict for c in gate.checks}
    assert verdicts == {"customers": OK, "repeat buyers": OK, "months of history": OK, "last data": THIN}
    assert gate.verdict == OK and gate.supported_months == 18  # 1997-01-01 to 1998-06-30
    assert not gate.extrapolates(18) and gate.extrapolates(19)
    assert "forecasts run from that day, not from today" in gate.sentence
    assert "up to 18 months are supported" in gate.sentence
    fresh = _gate(tx, today=dt.date(1998, 7, 15))
    assert {c.name: c.verdict for c in fresh.checks}["last data"] == OK and "days ago" not in fresh.sentence


def test_a_short_or_small_history_is_called_what_it_is():
    tx = load(*sample_bytes("cdnow"))
    short = tx.data[tx.data["date"] < "1997-04-01"]
    gate = _gate(tx, short)
    assert {c.name: c.verdict for c in gate.checks}["months of history"] == SHORT
    assert gate.verdict == SHORT and gate.supported_months == 3
    assert gate.sentence.startswith("The data is too little to act on this forecast")
    few = tx.data[tx.data["customer_id"].isin(tx.data["customer_id"].unique()[:150])]
    small = _gate(tx, few)
    verdicts = {c.name: c.verdict for c in small.checks}
    assert verdicts["customers"] == SHORT and verdicts["repeat buyers"] in (THIN, SHORT)
    assert "Only 150 customers" in small.sentence
    mid = tx.data[tx.data["customer_id"].isin(tx.data["customer_id"].unique()[:600])]
    assert {c.name: c.verdict for c in _gate(tx, mid).checks}["customers"] == THIN
