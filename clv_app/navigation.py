"""The app's page registry and the guard that keeps Streamlit's classic pages/ auto-discovery out.

Streamlit runs the scripts in a ``pages/`` folder beside the main script by themselves (classic multipage
mode) until some run of the main script has called ``st.navigation``; the first visit to a fresh server at a
deep link such as ``/cohorts`` would get file-name navigation and skip ``app.py``. Every page therefore starts
with :func:`page_guard`: a page run outside :func:`run` hands itself to the navigation, which runs it properly.
"""

from __future__ import annotations

import threading

import streamlit as st

from clv_app import access, links, session, sources, warmup

_local = threading.local()  # each session's script runs in its own thread


def pages() -> list:
    return [
        # executives first: the app opens on the Overview (of the bundled sample until a file is loaded); the Data
        # page is the next link
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", url_path="overview", default=True),
        st.Page("pages/data.py", title="Data", icon=":material/table_view:", url_path="data"),
        st.Page("pages/cohorts.py", title="Cohorts", icon=":material/grid_on:", url_path="cohorts"),
        st.Page("pages/rfm.py", title="RFM & lifecycle", icon=":material/groups:", url_path="rfm"),
        st.Page("pages/products.py", title="Products", icon=":material/category:", url_path="products"),
        st.Page("pages/survival.py", title="Survival", icon=":material/timeline:", url_path="survival"),
        st.Page("pages/forecast.py", title="CLV forecast", icon=":material/trending_up:", url_path="forecast"),
        st.Page("pages/acquisition.py", title="Acquisition & CAC", icon=":material/campaign:", url_path="acquisition"),
        st.Page("pages/validation.py", title="Model validation", icon=":material/fact_check:", url_path="validation"),
        st.Page("pages/segments.py", title="Segments & export", icon=":material/download:", url_path="segments"),
    ]


def run() -> None:
    """Configure the page, check access, load the default dataset on a fresh session, then run the page the URL
    asks for. Without access nothing is loaded and the page list is hidden."""
    st.set_page_config(page_title="CLV Studio", page_icon=":material/monitoring:", layout="wide")
    allowed = access.guard()
    page = st.navigation(pages(), position="sidebar" if allowed else "hidden")
    if not allowed:
        st.stop()
    sources.ensure_dataset()
    links.start()
    session.settings()  # the model, time unit and economics every page shares, from the link on a fresh session
    _local.inside = True
    try:
        with warmup.drawing():  # background preparations wait between their steps while a page is drawn
            page.run()
    finally:
        _local.inside = False


def page_guard() -> None:
    """Call first in every page: outside :func:`run`, route through the navigation and end this run."""
    if not getattr(_local, "inside", False):
        run()
        st.stop()
