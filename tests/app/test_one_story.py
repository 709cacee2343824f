"""One analysis per dataset: every page, export, command and report shows the same model's numbers.

On the CDNOW sample with one set of economics (a 24-month horizon and a 40 % margin, set once on the CLV forecast
page), the Overview's value, the forecast's headline, the Segments page's table and list, the segment CSV, the
command line's ``score`` and ``segments`` files and the HTML report agree to the cent, and a customer's P(alive)
and CLV are the same wherever they are shown.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pandas as pd
import pytest

from clv_app import memo, sources
from clv_core import export
from clv_core.analysis import Analysis
from clv_core.economics import Economics
from clv_core.ingest import content_hash
from clv_core.segments import ValueGroupCuts
from tests.conftest import ROOT

ECON = Economics(annual_discount_rate=0.10, gross_margin=0.40, horizon_months=24, cac=25.0)


def cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "clv_core", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def whole(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


@pytest.fixture(scope="module")
def command_line(cdnow_sample_path, tmp_path_factory):
    """The command line's files for the same data and economics (model: auto, as the app)."""
    out = tmp_path_factory.mktemp("cli")
    common = ("--horizon-months", "24", "--margin", "0.4", "--annual-discount-rate", "0.1")
    runs = {
        "score": cli("score", str(cdnow_sample_path), *common, "--out", str(out / "score.csv")),
        "segments": cli("segments", str(cdnow_sample_path), *common, "--out", str(out / "segments.csv")),
        "report": cli("report", str(cdnow_sample_path), *common, "--out", str(out / "report.html")),
    }
    for name, result in runs.items():
        assert result.returncode == 0, (name, result.stderr)
    read = {"dtype": {"customer_id": str}, "encoding": "utf-8-sig"}
    return {
        "score": pd.read_csv(out / "score.csv", **read),
        "segments": pd.read_csv(out / "segments.csv", **read),
        "report": (out / "report.html").read_text(encoding="utf-8"),
        "said": runs["segments"].stderr,
    }


def test_every_page_export_command_and_report_tells_the_same_numbers(app, cdnow_sample_path, command_line):
    app.selectbox(key="data-sample").set_value("cdnow_sample").run()
    tx = app.session_state[sources.TRANSACTIONS]
    assert tx.content_hash == content_hash(cdnow_sample_path.read_bytes())  # the file the commands read

    # Economics are set once, on the CLV forecast page
    app.switch_page("pages/forecast.py").run()
    app.slider(key="horizon").set_value(24).run()
    app.slider(key="margin").set_value(0.40).run()
    assert not app.exception, app.exception
    headline = next(m.value for m in app.metric if m.label.startswith("Base value (24 mo"))
    top = next(d.value for d in app.dataframe if len(d.value) == 100 and "clv" in d.value.columns)

    # The analysis every page asked (the shared results the pages used), and what it makes of the economics
    analysis = Analysis(tx, memo=memo.AnalysisMemo())
    table = analysis.scored(ECON, ValueGroupCuts())
    total = table["clv"].sum()
    cents = round(total, 2)
    assert whole(headline) == round(total)

    app.switch_page("pages/overview.py").run()
    app.toggle(key="overview-value").set_value(True).run()
    assert not app.exception, app.exception
    overview = next(m.value for m in app.metric if m.label.startswith("Customer-base value, next 24 months"))
    assert whole(overview) == round(total)

    app.switch_page("pages/segments.py").run()
    assert not app.exception, app.exception
    values = app.dataframe[0].value
    assert round(values["total CLV"].sum(), 2) == cents
    assert whole(next(m.value for m in app.metric if m.label == "Predicted value (24 mo)")) == round(total)
    app.multiselect(key="seg-f-group").set_value(["Top value"]).run()
    shown = [d.value for d in app.dataframe if "value_group" in d.value.columns][-1]  # the customer list

    # The segment CSV the page builds, the command line's files and the report
    page_csv = pd.read_csv(io.BytesIO(export.to_csv_bytes(table)), dtype={"customer_id": str}, encoding="utf-8-sig")
    assert round(page_csv["clv"].sum(), 2) == cents
    assert round(command_line["segments"]["clv"].sum(), 2) == cents
    assert round(command_line["score"]["clv"].sum(), 2) == cents
    report_total = re.search(r"<td>All customers</td><td>[\d,]+</td><td>([\d,]+\.\d\d)</td>", command_line["report"])
    assert report_total and float(report_total.group(1).replace(",", "")) == cents
    assert analysis.decision().line() in command_line["said"]  # the same model, said in the same words

    # One customer, wherever shown: the forecast's top list, the Segments list, the page's CSV, both commands
    customer = str(top.iloc[0]["customer_id"])
    places = {
        "forecast page": top.set_index(top["customer_id"].astype(str)),
        "segments page": shown.set_index(shown["customer_id"].astype(str)),
        "segment csv": page_csv.set_index("customer_id"),
        "cli segments": command_line["segments"].set_index("customer_id"),
        "cli score": command_line["score"].set_index("customer_id"),
    }
    expected = table.set_index(table["customer_id"].astype(str)).loc[customer]
    for where, frame in places.items():
        row = frame.loc[customer]
        assert row["p_alive"] == pytest.approx(expected["p_alive"], abs=1e-12), where
        assert round(row["clv"], 2) == round(expected["clv"], 2), where
