"""Exports that explain themselves: model and parameters, economics, units, fingerprint and version travel along."""

from __future__ import annotations

import io
import json
import math

import pandas as pd
import pytest
from openpyxl import load_workbook

from clv_core import __version__, economics, export, models
from clv_core.samples import sample_bytes
from clv_core.segments import scored_columns, scored_customers
from clv_core.summary import TRANSACTION_COLUMNS, summarise, summary_columns
from tests.conftest import load


def _scored():
    tx = load(*sample_bytes("cdnow_sample"))
    summary = summarise(tx, time_unit="weeks")
    fit, spend = models.fit_purchases(summary, "bgnbd"), models.fit_spend(summary)
    econ = economics.Economics(annual_discount_rate=0.12, gross_margin=0.4, horizon_months=18)
    table = scored_customers(economics.scenario(economics.precompute(fit, spend, summary), econ).customers)
    return tx, fit, spend, econ, table


def test_assumptions_name_the_model_its_parameters_the_economics_and_every_column():
    tx, fit, spend, econ, table = _scored()
    about = export.assumptions(
        "customer list: Champions",
        table,
        fingerprint=tx.content_hash,
        columns=scored_columns(econ, tx.observation_end),
        fits=(fit, spend),
        economics=econ,
        settings={"segment thresholds": {"champions": 95}},
    )
    assert about["rows"] == len(table) and about["data fingerprint (SHA-256)"] == tx.content_hash
    assert about["app"] == f"CLV Studio {__version__}"
    bgnbd = about["model: BG/NBD"]
    assert bgnbd["parameters"] == {k: float(v) for k, v in fit.params.items()}
    assert bgnbd["time unit"] == "weeks (rates are per week)" and bgnbd["fitted on (customers)"] == 2357
    assert about["model: Gamma–Gamma"]["parameters"]["q"] == float(spend.params["q"])
    money = about["economics"]
    assert money["horizon (months)"] == 18 and money["gross margin (share of revenue)"] == 0.4
    assert money["discount rate (annual)"] == 0.12
    assert math.isclose((1 + money["discount rate (monthly equivalent)"]) ** 12, 1.12, rel_tol=1e-7)
    assert math.isclose(math.exp(money["discount rate (continuous equivalent)"]), 1.12, rel_tol=1e-7)
    assert set(about["columns"]) == set(map(str, table.columns))
    assert "as named" not in about["columns"].values(), "a scored column has no stated meaning"
    assert "18 months" in about["columns"]["clv"] and "12.0% a year" in about["columns"]["clv"]
    assert about["settings"]["segment thresholds"] == {"champions": 95}
    assert json.loads(export.assumptions_json(about)) == json.loads(json.dumps(about, default=str))


def test_excel_carries_the_assumptions_on_a_second_sheet_safely():
    tx, fit, spend, econ, table = _scored()
    about = export.assumptions("list", table, fingerprint=tx.content_hash, fits=(fit, spend), economics=econ)
    about["settings"] = {"source": '=HYPERLINK("http://evil")'}  # a file name is user data
    book = load_workbook(io.BytesIO(export.to_excel_bytes(table, about=about)))
    assert book.sheetnames == ["customers", "assumptions"]
    rows = {r[0]: r[1] for r in book["assumptions"].iter_rows(min_row=2, values_only=True)}
    assert rows["economics / horizon (months)"] == 18
    assert rows["model: BG/NBD / parameters / r"] == pytest.approx(fit.params["r"], rel=1e-15)  # Excel: 15 digits
    assert rows["data fingerprint (SHA-256)"] == tx.content_hash
    assert rows["settings / source"].startswith("'=")  # shown as text, never evaluated
    assert book["customers"].max_row == len(table) + 1
    without = load_workbook(io.BytesIO(export.to_excel_bytes(table.head(3))))
    assert without.sheetnames == ["customers"]


def test_segment_and_summary_columns_state_their_units():
    econ = economics.Economics(horizon_months=6)
    meanings = scored_columns(econ, pd.Timestamp("1998-06-30"))
    assert "6 months after 1998-06-30" in meanings["clv"] and "(0–1)" in meanings["p_alive"]
    frame = pd.DataFrame({"clv": [1.0], "extra": [2]})
    about = export.assumptions("x", frame, fingerprint="f", columns=meanings)
    assert about["columns"] == {"clv": meanings["clv"], "extra": "as named"}
    tx = load(*sample_bytes("cdnow_sample"))
    for unit in ("days", "weeks", "months"):
        described = summary_columns(unit)
        assert set(described) == set(summarise(tx, time_unit=unit).table.columns)
        assert f"({unit})" in described["recency"] and f"({unit})" in described["T"]
    assert set(TRANSACTION_COLUMNS) == set(tx.data.columns)
