"""AppTest fixtures: every test starts with empty caches and a fresh session."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from clv_app import cache, warmup
from tests.conftest import ROOT

APP = str(ROOT / "app.py")


@pytest.fixture(autouse=True)
def clear_caches(request, monkeypatch):
    """Empty caches; background preparation off unless a test is marked ``warm_up`` (then it is awaited before
    the caches are cleared for the next test, so nothing it computes lands in another test's cache)."""
    if not request.node.get_closest_marker("warm_up"):
        monkeypatch.setattr(warmup, "enabled", lambda: False)
    st.cache_data.clear()
    st.cache_resource.clear()
    cache.clear()
    warmup.forget()
    yield
    assert warmup.wait(timeout=600), "a background preparation did not end"
    warmup.forget()


@pytest.fixture
def app() -> AppTest:
    """The app on its Data page (it opens on the Overview: see test_pages for that first visit)."""
    at = AppTest.from_file(APP, default_timeout=300)
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception, at.exception
    return at


#: Sections drawn only once opened (``st.expander(..., on_change="rerun")``), by key: tests that check every table
#: of a page open them first (tests/app/test_money_and_tables.py checks this list against the pages' code).
LAZY_SECTIONS = ("fc-diag", "fc-formulas", "seg-migration")


def open_sections(at: AppTest) -> AppTest:
    """Open every section that is drawn only once opened (they then draw on the next run)."""
    for key in LAZY_SECTIONS:
        at.session_state[key] = True
    return at


def text_of(at: AppTest) -> str:
    """Every piece of text the page shows (markdown, captions, alerts, metrics), for content checks."""
    parts = [
        e.value
        for kind in ("markdown", "caption", "info", "success", "warning", "error", "title", "subheader")
        for e in getattr(at, kind)
    ]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    """Upload ``data`` as ``name`` on the Data page (going there first from any other page)."""
    if not any(r.key == "data-source" for r in at.radio):
        at.switch_page("pages/data.py").run()
    at.radio(key="data-source").set_value("Upload a file").run()
    at.get("file_uploader")[0].set_value((name, data, "application/octet-stream"))
    return at.run()
