"""The Data page reads a PostgreSQL table or query with the same cleaning and quality report as a file, within
what the server allows this visitor ([database] and [limits] in .streamlit/secrets.toml), and never shows a
password."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from clv_app import sources
from clv_app.views import common as views
from tests.app.conftest import APP, text_of
from tests.app.test_access import AUTH
from tests.conftest import load, unescaped
from tests.postgres import add_reader, load_table

# one worker runs these together: one PostgreSQL server for all of them
pytestmark = pytest.mark.xdist_group("postgres")


@pytest.fixture(scope="module")
def sample_table(postgres_url, cdnow_sample_path):
    sample = load(cdnow_sample_path.read_bytes(), cdnow_sample_path.name)
    names = {"customer_id": "client", "date": "order_date"}
    frame = sample.data[["customer_id", "date", "amount"]].rename(columns=names)
    load_table(postgres_url, "sample_orders", frame)
    return sample, add_reader(postgres_url)


def shown_everywhere(at: AppTest) -> str:
    """Every text the page shows, the sidebar and the session's dataset label, quality report and export notes."""
    parts = [text_of(at)]
    parts += [str(m.value) for m in at.sidebar.markdown] + [str(c.value) for c in at.sidebar.caption]
    parts += [str(e.value) for e in at.exception]
    if sources.TRANSACTIONS in at.session_state:
        tx = at.session_state[sources.TRANSACTIONS]
        parts.append(at.session_state[sources.DATASET_LABEL])
        parts.append(json.dumps(tx.report.to_dict() if hasattr(tx.report, "to_dict") else str(tx.report)))
    return "\n".join(parts).replace("\\", "").replace("\u200b", "")  # escapes, and the breaks of addresses


def read(at: AppTest, *, url: str | None = None, table: str | None = None, query: str | None = None) -> AppTest:
    at.radio(key="data-source").set_value("Database").run()
    if url is not None:
        at.text_input(key="db-url").input(url).run()
    if query is not None:
        at.radio(key="db-how").set_value("A query").run()
        at.text_area(key="db-query").input(query).run()
    elif table is not None:
        at.text_input(key="db-table").input(table).run()
    at.button(key="db-read").click().run()
    assert not at.exception, at.exception
    return at


def test_a_table_from_the_database_becomes_the_dataset_and_a_write_is_refused(app, postgres_url, sample_table):
    sample, reader = sample_table
    app.radio(key="data-source").set_value("Database").run()
    app.text_input(key="db-url").input(postgres_url).run()
    app.text_input(key="db-table").input("sample_orders").run()
    assert any("then read it" in i.value for i in app.info)  # nothing is read while typing
    app.button(key="db-read").click().run()
    assert not app.exception, app.exception
    text = text_of(app)
    assert not app.error, [e.value for e in app.error]
    assert "Customers 2,357" in text and f"Rows read {len(sample.data):,}" in text  # the same quality report
    sidebar = unescaped("\n".join(str(m.value) for m in app.sidebar.markdown))
    assert "sample_orders" in sidebar and "clv@127.0.0.1" in sidebar

    app.switch_page("pages/overview.py").run()
    assert not app.exception and any(m.label == "Customers" and m.value == "2,357" for m in app.metric)

    # what the database returned is kept as a snapshot: a refresh reopens it without asking the database
    link = app.query_params["dataset"]
    refreshed = AppTest.from_file(APP, default_timeout=300)
    refreshed.query_params["dataset"] = link[0] if isinstance(link, list) else link
    refreshed.run()
    assert not refreshed.exception, refreshed.exception
    sidebar = "\n".join(str(m.value) for m in refreshed.sidebar.markdown).replace("\\", "")
    assert "sample_orders (snapshot" in sidebar and any(m.value == "2,357" for m in refreshed.metric)

    app.switch_page("pages/data.py").run()
    read(app, url=reader, query="COMMIT; DELETE FROM sample_orders; SELECT 1")
    assert any("one SELECT" in e.value.replace("\\", "") for e in app.error)
    assert any(m.label == "Customers" and m.value == "2,357" for m in app.metric)  # the dataset stays
    read(app, url=postgres_url, query="SELECT * FROM sample_orders")  # the superuser: no typed query at all
    assert any("is a superuser" in e.value.replace("\\", "") for e in app.error)
    read(app, url=reader, query="SELECT client, order_date, amount FROM sample_orders WHERE amount > 0")
    assert not app.error and "Customers 2,3" in text_of(app)  # a plain SELECT on a read-only login works


def test_a_connection_in_secrets_is_used_without_typing_it_and_its_password_never_shows(postgres_url, sample_table):
    at = AppTest.from_file(APP, default_timeout=300)
    with_password = postgres_url.replace("clv@", "clv:hunter2@")  # trust authentication ignores it
    at.secrets["connections"] = {"clv": {"url": with_password}}
    at.switch_page("pages/data.py")
    at.run()
    at.radio(key="data-source").set_value("Database").run()
    assert not at.get("text_input") or all(t.key != "db-url" for t in at.text_input)  # nothing to type
    assert not at.get("text_area") and all(r.key != "db-how" for r in at.radio)  # and no query: off by default
    assert "Typed queries are turned off" in text_of(at)
    at.text_input(key="db-table").input("no_such_table").run()
    at.button(key="db-read").click().run()
    assert not at.exception
    shown = shown_everywhere(at)
    assert "clv:***@127.0.0.1" in shown and "hunter2" not in shown
    assert any('relation "no_such_table" does not exist' in e.value.replace("\\", "") for e in at.error)
    at.text_input(key="db-table").input("sample_orders").run()
    at.button(key="db-read").click().run()
    assert not at.error and "hunter2" not in shown_everywhere(at)
    tx = at.session_state[sources.TRANSACTIONS]
    assumptions = json.dumps(views.dataset_settings(tx))  # what every export carries about its data
    assert "clv:***@127.0.0.1" in assumptions and "hunter2" not in assumptions
    assert "hunter2" not in json.dumps(sources.workspace().entries()[0].label)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://clv:hunter2@127.0.0.1:notaport/postgres", "port"),
        ("postgresql://clv:hunter2@[::1/postgres", "unclosed ["),
        ("postgresql://clv:hun@ter2@127.0.0.1:1/postgres", "Could not connect or sign in"),
        ("postgresql://clv@127.0.0.1:1/postgres?password=hunter2", "Could not connect or sign in"),
        ("postgresql://clv:hunter2@127.0.0.1/postgres?options=-c%20statement_timeout%3D0", "not passed on"),
        ("postgresql://clv:hunter2@127.0.0.1/postgres?application_name=mytool", "not passed on"),
        ("postgresql://clv:hunter2@" + "h" * 10_000 + "/postgres", "not a valid host name"),
        ("postgresql://clv:hunter2@" + "h." * 100 + "/postgres", "Could not connect or sign in"),
    ],
)
def test_a_typed_url_never_shows_its_password_and_a_malformed_one_is_one_message(app, url, message):
    read(app, url=url, table="orders")
    assert len(app.error) == 1 and message in app.error[0].value.replace("\\", "")
    shown = shown_everywhere(app)
    assert "hunter2" not in shown and "ter2" not in shown
    assert "h" * 400 not in shown  # a long host is shortened, not repeated down the page
    assert any(m.label == "Customers" for m in app.metric)  # the sample stays open


def user(email: str, sub: str) -> dict:
    """What the OpenID provider says about a signed-in, verified user."""
    return {
        "is_logged_in": True,
        "email": email,
        "email_verified": True,
        "iss": "https://login.example.com",
        "sub": sub,
    }


def run_signed_in(email: str, secrets: dict, *, sub: str = "user-1") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.secrets["auth"] = AUTH
    access = {"allowed_domains": ["example.com"], "admins": ["boss@example.com"]}
    for name, section in {"access": access, **secrets}.items():
        at.secrets[name] = section
    at.user = user(email, sub=sub)
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception, at.exception
    at.radio(key="data-source").set_value("Database").run()
    return at


def test_with_sign_in_nobody_types_a_url_or_a_query_unless_the_settings_say_so(postgres_url, sample_table):
    at = run_signed_in("ann@example.com", {})
    assert not at.get("text_input") and "Typing a database address is turned off" in text_of(at)

    configured = {"connections": {"clv": {"url": postgres_url}}}
    at = run_signed_in("ann@example.com", {**configured, "database": {"queries": "admins"}})
    assert not at.get("text_area") and all(r.key != "db-how" for r in at.radio)  # ann is no admin
    at = run_signed_in("boss@example.com", {**configured, "database": {"queries": "admins"}}, sub="user-2")
    assert any(r.key == "db-how" for r in at.radio)  # the admin may

    at = run_signed_in("ann@example.com", {**configured, "database": {"queries": "everyone", "tables": ["orders"]}})
    assert all(r.key != "db-how" for r in at.radio)  # a table list turns queries off: they could read any table

    at = run_signed_in("ann@example.com", {"database": {"urls": "everyone", "queries": "typo"}})
    assert any(t.key == "db-url" for t in at.text_input)  # urls allowed; a mistyped mode counts as off
    assert all(r.key != "db-how" for r in at.radio)


def test_an_allow_list_offers_only_its_tables(postgres_url, sample_table):
    secrets = {
        "connections": {"clv": {"url": postgres_url}},
        "database": {"tables": ["public.sample_orders", "not a table; DROP"]},
    }
    at = run_signed_in("ann@example.com", secrets)
    assert [s.options for s in at.selectbox if s.key == "db-table-choice"] == [["public.sample_orders"]]
    assert any("not plain table names: 'not a table; DROP'" in w.value for w in at.warning)  # said, not hidden
    at.button(key="db-read").click().run()
    assert not at.exception and not at.error and "Customers 2,357" in text_of(at)

    for broken in (["sales.2024_orders"], "public.sample_orders, sales.invoices", 5):  # a list that fails closed
        at = run_signed_in("ann@example.com", {**secrets, "database": {"tables": broken, "queries": "everyone"}})
        assert not at.exception and [s.options for s in at.selectbox if s.key == "db-table-choice"] == [[]]
        assert all(r.key != "db-how" for r in at.radio) and at.warning  # no query either, and it says why


def test_a_table_off_the_allow_list_is_refused_below_the_widgets_too(monkeypatch):
    from clv_app import settings
    from clv_core.errors import ClvError

    policy = settings.DatabasePolicy("everyone", "everyone", ("public.sample_orders",), admin=False)
    assert not policy.table_allowed("PUBLIC.SAMPLE_ORDERS")  # quoted names are case sensitive: exactly as listed
    monkeypatch.setattr(sources, "database_policy", lambda: policy)
    with pytest.raises(ClvError, match=r"not one of the tables offered here \(public\.sample_orders\)"):
        sources.database("postgresql://clv@127.0.0.1:1/postgres", "pg_authid", None)
    monkeypatch.setattr(sources, "database_policy", lambda: settings.DatabasePolicy("off", "off", None, admin=False))
    with pytest.raises(ClvError, match="Typing a database address is turned off"):
        sources.database("postgresql://clv@127.0.0.1:1/postgres", "orders", None)


def test_database_reads_have_the_apps_row_cap(postgres_url, sample_table):
    at = AppTest.from_file(APP, default_timeout=300)
    at.secrets["limits"] = {"max_rows": 1000}
    at.switch_page("pages/data.py")
    at.run()
    read(at, url=postgres_url, table="sample_orders")
    assert any("more than 1,000 rows, the most that is read here" in e.value.replace("\\", "") for e in at.error)
    assert "At most 1,000 rows are read" in text_of(at)
    assert "Nothing was lost: the app keeps using Sample" in text_of(at)
