"""Figures carry the numbers they are built from (a chart that drew the wrong matrix would fail here)."""

from __future__ import annotations

import itertools
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


def test_money_axes_carry_the_currency_and_other_axes_do_not():
    from clv_core.currency import KNOWN, NONE

    data, name = sample_bytes("cdnow_sample")
    table = build_cohorts(load(data, name), period="month")
    eur, chf = KNOWN["EUR"], KNOWN["CHF"]
    histogram = charts.clv_histogram(np.linspace(0, 100, 50), horizon_months=12, currency=eur).layout
    assert histogram.xaxis.tickprefix == "€" and histogram.xaxis.title.text == "Predicted CLV (EUR)"
    assert histogram.yaxis.tickprefix is None  # customers are counted, not paid
    curves = charts.cohort_curves(table, currency=chf)
    assert curves.layout.yaxis.ticksuffix == " CHF" and "%{y:,.2f} CHF" in curves.data[0].hovertemplate
    revenue = charts.cohort_heatmap(table, "revenue_per_customer", currency=eur).data[0]
    retention = charts.cohort_heatmap(table, "retention", currency=eur).data[0]
    assert revenue.colorbar.tickprefix == "€" and "€%{z" in revenue.hovertemplate
    assert not retention.colorbar.tickprefix and "€" not in retention.hovertemplate
    plain = charts.clv_histogram(np.linspace(0, 100, 50), horizon_months=12, currency=NONE).layout.xaxis
    assert plain.title.text == "Predicted CLV" and not plain.tickprefix


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
    """Every figure carries the house template itself: plotly_white's layout and the app's margins, with no
    background, text or grid colour of its own (the light or dark theme of the page gives them), without the
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
    white, dark = pio.templates["plotly_white"].layout, pio.templates["plotly_dark"].layout
    for fig in figures:
        template = fig.layout.template
        assert template.layout.margin.l == 10 and template.layout.font.size == 13
        assert template.layout.hovermode == white.hovermode and template.layout.xaxis.ticks == white.xaxis.ticks
        layout = template.layout
        assert (layout.plot_bgcolor, layout.paper_bgcolor, layout.font.color) == (None, None, None)
        assert layout.xaxis.gridcolor == "rgba(128, 128, 128, 0.25)" != dark.xaxis.gridcolor
        assert not template.data.to_plotly_json(), "per-trace template defaults are back in every figure's JSON"
    assert pio.templates.default == "plotly_dark"


# Machado, Oliveira & Fernandes (2009), severity 1: linear-RGB matrices simulating each colour-vision deficiency.
CVD = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}


def _lab(hex_colour: str, vision: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of a colour as seen with ``vision`` (3×3, linear RGB)."""
    srgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    seen = np.clip(vision @ linear, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ seen
    f = np.where(xyz / [0.95047, 1.0, 1.08883] > 0.008856, np.cbrt(xyz / [0.95047, 1.0, 1.08883]), 0)
    f = np.where(f == 0, 7.787 * xyz / [0.95047, 1.0, 1.08883] + 16 / 116, f)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("vision", ["typical", *CVD])
def test_group_colours_stay_apart_for_colour_blind_readers(vision):
    """Every two group colours differ by ΔE ≥ 15 as a reader with each deficiency sees them (the palette used
    before, whose two greens merged, reached 2.4 under tritanopia and 3.7 under deuteranopia)."""
    matrix = np.eye(3) if vision == "typical" else np.array(CVD[vision])
    labs = [_lab(c, matrix) for c in charts.GROUP_COLOURS]
    closest = min(np.linalg.norm(a - b) for i, a in enumerate(labs) for b in labs[i + 1 :])
    assert closest >= 15


def test_every_survival_curve_has_its_own_look():
    """Nine groups (eight and "Other"): no two curves share colour and line style, and each is named in the
    legend with its size, so a curve is never told by colour alone."""
    from clv_core.survival import kaplan_meier

    rng = np.random.default_rng(3)
    groups = np.repeat([f"g{i}" for i in range(9)], 20)
    km = kaplan_meier(rng.integers(1, 300, groups.size), rng.random(groups.size) < 0.7, groups)
    curves = [t for t in charts.km_chart(km).data if t.showlegend is not False]
    looks = {(t.line.color, t.line.dash) for t in curves}
    assert len(curves) == 9 and len(looks) == 9
    assert all(t.name.endswith("(20)") for t in curves)


def test_p_alive_shades_are_told_apart_by_lightness():
    """P(alive) is read from its shade: the scale must run from dark to light (readable without hue), not from
    red to green through yellow, which protan and deutan readers see as one muddy band."""
    import pandas as pd

    grid = pd.DataFrame([[0.1, 0.9]], index=[1], columns=[0, 10])
    customers = pd.DataFrame({"historical_revenue": [1.0, 2.0], "clv": [3.0, 4.0], "p_alive": [0.2, 0.8]})
    scales = [
        charts.p_alive_heatmap(grid, "weeks").data[0].colorscale,
        charts.predicted_vs_historical(customers).data[0].marker.colorscale,
    ]
    deutan = np.array(CVD["deuteranopia"])
    for scale in scales:
        lightness = [_lab(_hex(colour), deutan)[0] for _, colour in scale]
        assert all(b > a for a, b in itertools.pairwise(lightness)), lightness


def _hex(colour: str) -> str:
    """Plotly's "#rrggbb" or "rgb(r, g, b)" as "#rrggbb"."""
    if colour.startswith("#"):
        return colour
    r, g, b = (int(float(v)) for v in colour[colour.index("(") + 1 : -1].split(","))
    return f"#{r:02x}{g:02x}{b:02x}"


def test_lines_drawn_on_the_dark_theme_stand_out_from_its_background():
    """Every group colour and the reference-line ink at 3:1 or more against the dark theme's background (WCAG's
    minimum for graphics); the ink on the light theme's too. A near-black line (the palette's black, the old ink)
    vanished on the dark background at 1.1:1."""
    import tomllib

    from tests.conftest import ROOT, contrast

    theme = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["theme"]

    dark, light = theme["dark"]["backgroundColor"], theme["light"]["backgroundColor"]
    for colour in (*charts.GROUP_COLOURS, charts.INK):
        assert contrast(colour, dark) >= 3, colour
    assert contrast(charts.INK, light) >= 3


def test_the_ltv_to_cac_chart_escapes_channel_names_and_colours_by_the_target():
    import pandas as pd

    from clv_core import charts

    channels = pd.DataFrame(
        {"channel": ["<b>Email</b>", "Paid social", "All channels"], "ltv_to_cac": [4.0, 1.5, float("nan")]}
    )
    figure = charts.ltv_cac_chart(channels, 3.0)
    bar = figure.data[0]
    assert list(bar.x) == ["&lt;b&gt;Email&lt;/b&gt;", "Paid social", "All channels"]
    assert bar.marker.color[0] == charts.GREEN and bar.marker.color[1] == charts.ORANGE
    assert bar.marker.color[2] == charts.BLUE and list(bar.text) == ["4.00 : 1", "1.50 : 1", "–"]
    assert figure.layout.shapes[0].y0 == 3.0


def test_the_accuracy_chart_reads_one_origin_as_a_category_not_a_time_axis():
    import pandas as pd

    from clv_core import charts

    rolling = pd.DataFrame(
        {"origin": pd.to_datetime(["1997-12-30"]), "MAE (purchases)": [0.3], "revenue % error": [-0.12]}
    )
    figure = charts.accuracy_over_time(rolling, "BG/NBD")
    assert figure.layout.xaxis.type == "category" and list(figure.data[0].x) == ["1997-12-30"]
    assert figure.layout.title.text.startswith("BG/NBD refitted")
    low, high = figure.layout.yaxis2.range
    assert low == -high and high > 0.12
