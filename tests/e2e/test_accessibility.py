"""Every page as a reader sees it on a laptop and a small window: no card, chart title or control cut short, and no
serious or critical finding of axe-core, the accessibility engine browsers' audit tools run (its own script, injected
by Playwright, from the axe-playwright-python package that ships it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import contrast, luminance
from tests.e2e.conftest import wait_for_run
from tests.e2e.test_browser import PAGES

pytestmark = pytest.mark.e2e

#: Text in a card (label, value, delta) that its box cuts: wider than the element and not allowed to overflow.
CUT_CARDS = """() => [...document.querySelectorAll('[data-testid="stMetric"]')].flatMap(card =>
  [...card.querySelectorAll('[data-testid^="stMetric"], [data-testid^="stMetric"] *')]
    .filter(el => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflow !== 'visible')
    .map(() => card.innerText.replace(/\\s*\\n+\\s*/g, ' | ')))"""

#: Controls whose label, options or value their box cuts (an ellipsis, or options scrolled out of sight): a toggle, a
#: button, a segmented control, a select box squeezed into a narrow column ("Fill the futur…", "quarter" hidden).
CUT_CONTROLS = """() => [...document.querySelectorAll(`[data-testid="stMain"] :is([data-testid="stDownloadButton"],
    [data-testid="stButton"], [data-testid="stCheckbox"], [data-testid="stWidgetLabel"], [data-testid="stButtonGroup"],
    [data-testid="stRadio"], [data-testid="stSelectbox"], [data-testid="stMultiSelect"])`)].flatMap(w =>
  [w, ...w.querySelectorAll('*')]
    .filter(el => el.offsetParent !== null && el.textContent.trim() && el.scrollWidth > el.clientWidth + 1
                  && getComputedStyle(el).overflowX !== 'visible')
    .map(() => w.getAttribute('data-testid') + ': ' + w.innerText.replace(/\\s*\\n+\\s*/g, ' | ').slice(0, 100)))"""

#: Chart titles wider than their chart (plotly does not wrap a title: the chart's edge cuts it).
CUT_TITLES = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(plot => {
  const title = plot.querySelector('.gtitle');
  if (!title || !title.textContent) return [];
  const box = title.getBoundingClientRect(), frame = plot.getBoundingClientRect();
  return box.right > frame.right + 1 || box.left < frame.left - 1 ? [title.textContent] : [];
})"""

#: axe-core's findings of serious or critical impact: rule, impact, how many elements, and the first few of them.
AXE_RUN = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
  .filter(v => ['serious', 'critical'].includes(v.impact))
  .map(v => `${v.id} (${v.impact}, ${v.nodes.length}): ${v.help}; e.g. ${v.nodes[0].failureSummary} at `
            + v.nodes.slice(0, 2).map(n => n.target.join(' ')).join(' ; '))"""


#: Where the pages' screenshots for docs/guide.md are written when CLV_DOCS_SCREENSHOTS is set (make screenshots).
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img" if os.environ.get("CLV_DOCS_SCREENSHOTS") else None


def axe_script() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


def test_the_check_for_cut_cards_sees_a_cut_card(page, server):
    """The checks themselves: a card or chart squeezed to 120 px is reported, the same at full width is not."""
    page.goto(server)
    page.get_by_text("Revenue concentration", exact=True).wait_for()
    # On a cold server the heading can be drawn before the cards; wait for a card itself, then the run's end.
    page.locator('[data-testid="stMetric"]').first.wait_for()
    wait_for_run(page)
    assert page.evaluate(CUT_CARDS) == []
    page.evaluate("""() => { const c = document.querySelector('[data-testid="stMetric"]');
                             c.style.width = '120px'; c.style.maxWidth = '120px'; }""")
    assert len(page.evaluate(CUT_CARDS)) >= 1
    page.locator(".js-plotly-plot .gtitle").first.wait_for()
    assert page.evaluate(CUT_TITLES) == []
    page.evaluate("() => { document.querySelector('.js-plotly-plot').style.width = '120px'; }")
    assert len(page.evaluate(CUT_TITLES)) == 1


@pytest.mark.parametrize("width", [1280, 800])
def test_every_page_fits_and_passes_an_accessibility_audit(browser, server, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(300_000)
    axe = axe_script()
    cut, titles, controls, findings = {}, {}, {}, {}
    try:
        for path, text in PAGES.items():
            page.goto(f"{server}/{path}")
            page.get_by_text(text).filter(visible=True).first.wait_for()
            wait_for_run(page)
            page.wait_for_timeout(300)  # cards settle their width after the run
            assert page.locator('[data-testid="stException"]').count() == 0, path
            if cards := sorted(set(page.evaluate(CUT_CARDS))):
                cut[path or "/"] = cards
            if cut_titles := page.evaluate(CUT_TITLES):
                titles[path or "/"] = cut_titles
            if cut_controls := sorted(set(page.evaluate(CUT_CONTROLS))):
                controls[path or "/"] = cut_controls
            if width == 1280 and SCREENSHOTS:  # the guide's pictures (make screenshots), as a reader sees the page
                page.screenshot(path=str(SCREENSHOTS / f"{path or 'overview'}.png"))
            page.evaluate(axe)
            if found := page.evaluate(AXE_RUN):
                findings[path or "/"] = found
    finally:
        context.close()
    assert not cut, f"cards cut at {width} px: {cut}"
    assert not titles, f"chart titles cut at {width} px: {titles}"
    assert not controls, f"controls cut at {width} px: {controls}"
    assert not findings, f"axe-core at {width} px: {findings}"


BACKGROUNDS = """() => ({
  app: getComputedStyle(document.querySelector('[data-testid="stApp"]')).backgroundColor,
  text: getComputedStyle(document.querySelector('[data-testid="stMarkdownContainer"] p')).color,
  charts: [...document.querySelectorAll('.js-plotly-plot .main-svg')].slice(0, 3)
            .map(svg => getComputedStyle(svg).backgroundColor + ' ' + (svg.querySelector('rect.bg')?.style.fill || '')),
  ticks: [...document.querySelectorAll('.js-plotly-plot .xtick text')].slice(0, 1)
            .map(t => t.style.fill || getComputedStyle(t).fill),
})"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_app_and_its_charts_follow_the_browsers_light_or_dark_setting(browser, server, scheme):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(300_000)
    try:
        page.goto(f"{server}/cohorts")
        page.get_by_text(PAGES["cohorts"]).filter(visible=True).first.wait_for()
        wait_for_run(page)
        page.locator(".js-plotly-plot .xtick text").first.wait_for()
        seen = page.evaluate(BACKGROUNDS)
        if SCREENSHOTS:
            page.screenshot(path=str(SCREENSHOTS / f"cohorts-{scheme}.png"))
    finally:
        context.close()
    assert (luminance(seen["app"]) > 0.8) == (scheme == "light"), seen
    assert contrast(seen["app"], seen["text"]) >= 7, seen  # text readable on it
    for chart in seen["charts"]:  # no white chart box on a dark page, no dark one on a light page
        assert "rgb(255, 255, 255)" not in chart or scheme == "light", seen
    assert contrast(seen["app"], seen["ticks"][0]) >= 3, seen  # axis labels readable
