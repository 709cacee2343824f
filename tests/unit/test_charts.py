"""Figures carry the numbers they are built from (a chart that drew the wrong matrix would fail here)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import plotly.io as pio
import pytest

from clv_core import charts
from clv_core.cohorts import build_cohorts, project_curve
from clv_core.overview import concentration, monthly_trend
from clv_core.rfm import rf_matrix, rfm, segment_summary
from clv_core.samples import sample_bytes
from clv_core.summary import summarise
from tests.conftest import ROOT, load


def test_figures_hold_their_data():
    data, name = sample_bytes("cdnow_sample")
    tx = load(data, name)
    table = build_cohorts(tx, period="month")
    for metric in charts.COHORT_METRICS:
        fig = charts.cohort_heatmap(table, metric)
        np.testing.assert_array_equal(np.asarray(fig.data[0].z, dtype=float), getattr(table, metric).to_numpy())
    retention = charts.cohort_heatmap(table, "retention").data[0]
    assert retention.zmax < 1.0  # colours scaled on periods after acquisition
    assert len(charts.cohort_curves(table).data) == len(table.sizes)
    assert len(charts.projection_chart(project_curve(table, "1997-01"), "month").data) == 3
    result = rfm(summarise(tx))
    treemap = charts.segment_treemap(segment_summary(result), "t").data[0]
    assert sum(treemap.values) == 2357
    assert np.asarray(charts.rf_heatmap(rf_matrix(result)).data[0].z).sum() == 2357
    lorenz = charts.lorenz_chart(concentration(tx.data.groupby("customer_id")["amount"].sum()))
    assert lorenz.data[1].y[-1] == pytest.approx(1.0)
    trend = monthly_trend(tx)
    bars = charts.trend_chart(trend).data
    np.testing.assert_allclose(np.asarray(bars[0].y) + np.asarray(bars[1].y), trend["revenue"])


def test_clv_histogram_bins_every_customer_once():
    values = np.concatenate([np.linspace(0, 100, 990), np.full(10, 1e6)])
    bars = charts.clv_histogram(values, horizon_months=12).data[0]
    assert sum(bars.y) == 1000 and len(bars.y) == 40
    assert bars.y[-1] >= 10  # the top 1 % is in the last bar, not off the axis


def test_importing_charts_leaves_plotlys_default_template_alone():
    """Importing clv_core or building its figures must not restyle anyone else's (they used to make the house
    template plotly's default)."""
    code = (
        "import plotly.io as pio\n"
        "before = pio.templates.default\n"
        "import clv_core.charts\n"
        "clv_core.charts.clv_histogram([1.0, 2.0, 3.0], horizon_months=12)\n"
        "assert pio.templates.default == before == 'plotly', pio.templates.default\n"
        "assert 'clv_studio' not in pio.templates, 'a template was registered'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr


def test_figures_carry_the_slim_house_template_whatever_the_default(monkeypatch):
    """Every figure carries the house template itself: plotly_white's look and the app's margins, without the
    per-trace defaults that double a chart's JSON, even when plotly's default is another template (Streamlit sets
    its own on import)."""
    monkeypatch.setattr(pio.templates, "default", "plotly_dark")
    data, name = sample_bytes("cdnow_sample")
    tx = load(data, name)
    figures = [
        charts.cohort_heatmap(build_cohorts(tx, period="month"), "retention"),
        charts.trend_chart(monthly_trend(tx)),  # built by make_subplots
        charts.clv_histogram(np.linspace(0, 100, 50), horizon_months=12),
    ]
    white = pio.templates["plotly_white"].layout
    for fig in figures:
        template = fig.layout.template
        assert template.layout.margin.l == 10 and template.layout.font.size == 13
        assert template.layout.plot_bgcolor == white.plot_bgcolor != pio.templates["plotly_dark"].layout.plot_bgcolor
        assert template.layout.xaxis.gridcolor == white.xaxis.gridcolor
        assert not template.data.to_plotly_json(), "per-trace template defaults are back in every figure's JSON"
    assert pio.templates.default == "plotly_dark"
