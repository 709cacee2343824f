"""A session's first page sends its cards, then pauses before the rest (clv_app.views.common.first_screen_sent): a
cold browser then shows the cards before it evaluates Plotly's and the table's scripts."""

from __future__ import annotations

import time
import types

import pytest
import streamlit as st
from streamlit.elements.metric import MetricMixin
from streamlit.elements.plotly_chart import PlotlyMixin
from streamlit.testing.v1 import AppTest

from clv_app.views import common
from tests.app.conftest import APP

PAGES = ("pages/overview.py", "pages/forecast.py", "pages/validation.py", "pages/segments.py", "pages/survival.py")


@pytest.fixture
def events(monkeypatch) -> list[str]:
    """What the pages send, in order: "card", "chart", and "pause" where the first screen ends."""
    events: list[str] = []
    metric, chart = MetricMixin.metric, PlotlyMixin.plotly_chart
    monkeypatch.setattr(MetricMixin, "metric", lambda self, *a, **k: events.append("card") or metric(self, *a, **k))
    monkeypatch.setattr(
        PlotlyMixin, "plotly_chart", lambda self, *a, **k: events.append("chart") or chart(self, *a, **k)
    )
    main = st._main  # st.metric and st.plotly_chart were bound to the main area before the patches above
    monkeypatch.setattr(st, "metric", lambda *a, **k: events.append("card") or metric(main, *a, **k))
    monkeypatch.setattr(st, "plotly_chart", lambda *a, **k: events.append("chart") or chart(main, *a, **k))
    clock = types.SimpleNamespace(sleep=lambda s: events.append(f"pause {s:g}"), perf_counter=time.perf_counter)
    monkeypatch.setattr(common, "time", clock)
    return events


@pytest.mark.parametrize("page", PAGES)
def test_a_sessions_first_page_sends_its_cards_then_pauses_before_the_rest(events, page):
    at = AppTest.from_file(APP, default_timeout=300)
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    pause = f"pause {common.FIRST_SCREEN_PAUSE_S:g}"
    assert events.count(pause) == 1, events
    first_screen, rest = events[: events.index(pause)], events[events.index(pause) + 1 :]
    assert first_screen and set(first_screen) == {"card"}, events  # the cards, and no chart before them
    assert "chart" in rest
    events.clear()
    at.run()  # the same session again (a slider, a click): its browser has the scripts, nothing is held back
    assert not at.exception, at.exception
    assert not [e for e in events if e.startswith("pause")] and "card" in events
    at.switch_page(PAGES[(PAGES.index(page) + 1) % len(PAGES)]).run()  # its next page neither
    assert not at.exception, at.exception
    assert not [e for e in events if e.startswith("pause")]
