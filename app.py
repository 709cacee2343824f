"""CLV Studio: the entry script routes to the pages and loads the bundled sample on a fresh session."""

import streamlit as st

from clv_app import state

st.set_page_config(page_title="CLV Studio", page_icon=":material/monitoring:", layout="wide")

PAGES = [
    st.Page("pages/data.py", title="Data", icon=":material/table_view:", url_path="data", default=True),
]

state.ensure_dataset()
st.navigation(PAGES, position="sidebar").run()
