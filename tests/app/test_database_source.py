"""The Data page reads a PostgreSQL table or query with the same cleaning and quality report as a file."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP, text_of
from tests.conftest import load
from tests.postgres import load_table

# one worker runs these together: one PostgreSQL server for all of them
pytestmark = pytest.mark.xdist_group("postgres")


def test_a_table_from_the_database_becomes_the_dataset_and_a_write_is_refused(app, postgres_url, cdnow_sample_path):
    sample = load(cdnow_sample_path.read_bytes(), cdnow_sample_path.name)
    names = {"customer_id": "client", "date": "order_date"}
    frame = sample.data[["customer_id", "date", "amount"]].rename(columns=names)
    load_table(postgres_url, "sample_orders", frame)

    app.radio(key="data-source").set_value("Database").run()
    app.text_input(key="db-url").input(postgres_url).run()
    app.text_input(key="db-table").input("sample_orders").run()
    assert any("then read it" in i.value for i in app.info)  # nothing is read while typing
    app.button(key="db-read").click().run()
    assert not app.exception, app.exception
    text = text_of(app)
    assert not app.error, [e.value for e in app.error]
    assert "Customers 2,357" in text and f"Rows read {len(sample.data):,}" in text  # the same quality report
    sidebar = "\n".join(str(m.value) for m in app.sidebar.markdown).replace("\\", "")
    assert "sample_orders" in sidebar and "clv@127.0.0.1" in sidebar

    app.switch_page("pages/overview.py").run()
    assert not app.exception and any(m.label == "Customers" and m.value == "2,357" for m in app.metric)

    # what the database returned is kept as a snapshot: a refresh reopens it without asking the database
    link = app.query_params["dataset"]
    refreshed = AppTest.from_file(APP, default_timeout=120)
    refreshed.query_params["dataset"] = link[0] if isinstance(link, list) else link
    refreshed.run()
    assert not refreshed.exception, refreshed.exception
    sidebar = "\n".join(str(m.value) for m in refreshed.sidebar.markdown).replace("\\", "")
    assert "sample_orders (snapshot" in sidebar and any(m.value == "2,357" for m in refreshed.metric)

    app.switch_page("pages/data.py").run()
    app.radio(key="data-source").set_value("Database").run()
    app.text_input(key="db-url").input(postgres_url).run()
    app.radio(key="db-how").set_value("A query").run()
    app.text_area(key="db-query").input("DELETE FROM sample_orders").run()
    app.button(key="db-read").click().run()
    assert not app.exception
    assert any("read-only" in e.value for e in app.error)
    assert any(m.label == "Customers" and m.value == "2,357" for m in app.metric)  # the dataset stays


def test_a_connection_in_secrets_is_used_without_typing_it_and_its_password_never_shows(postgres_url):
    at = AppTest.from_file(APP, default_timeout=120)
    with_password = postgres_url.replace("clv@", "clv:hunter2@")  # trust authentication ignores it
    at.secrets["connections"] = {"clv": {"url": with_password}}
    at.run()
    at.radio(key="data-source").set_value("Database").run()
    assert not at.get("text_input") or all(t.key != "db-url" for t in at.text_input)  # nothing to type
    at.text_input(key="db-table").input("no_such_table").run()
    at.button(key="db-read").click().run()
    assert not at.exception
    shown = "\n".join([c.value for c in at.caption] + [e.value for e in at.error])
    assert "clv:***@127.0.0.1" in shown.replace("\\", "") and "hunter2" not in shown
    assert any('relation "no_such_table" does not exist' in e.value.replace("\\", "") for e in at.error)
