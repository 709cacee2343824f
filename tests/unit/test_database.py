"""A real PostgreSQL database as a data source: the same transactions and summary as the file, and a query box
that can only read, whatever is typed into it.

Two logins: ``clv``, the superuser that owns the test cluster, and ``clv_reader``, a least-privilege role with
the GRANTs docs/deployment.md recommends. Every attack is checked on the database afterwards (tables, sequence,
schema, locks, sessions, files), not only by the error it gets.
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
import tracemalloc

import pandas as pd
import psycopg
import pytest

from clv_core.errors import ClvError
from clv_core.ingest import clean
from clv_core.ingest import database as db
from clv_core.ingest.database import parse_url, read_database, safe_url
from clv_core.summary import summarise
from tests.conftest import TODAY, load, run_cli
from tests.postgres import add_reader, load_table

# one worker runs these together: one PostgreSQL server for all of them
pytestmark = pytest.mark.xdist_group("postgres")


@pytest.fixture(scope="module")
def cdnow_in_postgres(postgres_url, cdnow_master_path):
    """CDNOW as an orders table (text ids, dates, amounts), beside the same data read from its file."""
    from_file = load(cdnow_master_path.read_bytes(), cdnow_master_path.name)
    table = from_file.data[["customer_id", "date", "amount"]].rename(columns={"date": "order_date"})
    load_table(postgres_url, "orders", table)
    return postgres_url, from_file


@pytest.fixture(scope="module")
def target(postgres_url):
    """A small table, a sequence and a procedure to attack, a folder the server could write into, and both logins."""
    with psycopg.connect(postgres_url, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS victim; CREATE TABLE victim (customer_id text, amount float8)")
        c.execute("INSERT INTO victim VALUES ('a', 1), ('b', 2)")
        c.execute("DROP SEQUENCE IF EXISTS victim_seq; CREATE SEQUENCE victim_seq")
        c.execute("CREATE OR REPLACE PROCEDURE wipe() LANGUAGE sql AS 'DELETE FROM victim'")
        c.execute("CREATE OR REPLACE FUNCTION sneaky() RETURNS int LANGUAGE sql AS 'DELETE FROM victim RETURNING 1'")
        oid = c.execute("SELECT lo_from_bytea(0, 'secret')").fetchone()[0]  # a large object lo_export could write
    reader = add_reader(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as c:
        c.execute("GRANT USAGE, SELECT ON SEQUENCE victim_seq TO clv_reader")
        c.execute("GRANT EXECUTE ON PROCEDURE wipe() TO clv_reader")
    folder = tempfile.mkdtemp(prefix="clv-pg-attack-")
    os.chmod(folder, stat.S_IRWXU | stat.S_IRWXG | stat.S_IRWXO)  # the server (user postgres) may write here
    return {"superuser": postgres_url, "reader": reader, "folder": folder, "oid": oid}


def database_state(url: str) -> dict:
    """What an attack could have changed: rows, the sequence, the schema, locks and sessions left behind."""
    with psycopg.connect(url, autocommit=True) as c:
        one = lambda q: c.execute(q).fetchone()[0]  # noqa: E731
        return {
            "victim": one("SELECT count(*) FROM victim"),
            "sequence": one("SELECT last_value FROM victim_seq"),
            "sequence_called": one("SELECT is_called FROM victim_seq"),
            "tables": one("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"),
            "large_objects": one("SELECT count(*) FROM pg_largeobject_metadata"),
            "advisory_locks": one("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"),
            "our_sessions": one("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'CLV Studio'"),
            "statement_timeout_default": one("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'"),
            "read_only_default": one("SELECT setting FROM pg_settings WHERE name = 'default_transaction_read_only'"),
        }


def attack_strings(folder: str, oid: int) -> list[str]:
    """What an attacker types: statements that end the transaction, lift the limits, write, run programs, make
    files, escape the old row-cap wrapper, or hide a write in a function."""
    return [
        "COMMIT; INSERT INTO victim VALUES ('x', 1); SELECT 1",
        "COMMIT; DROP TABLE victim; SELECT 1",
        "END; DELETE FROM victim",
        f"COMMIT; COPY (SELECT 1) TO PROGRAM 'touch {folder}/program'; SELECT 1",
        f"COPY (SELECT 1) TO '{folder}/copy'",
        "SET LOCAL statement_timeout = 0; SELECT pg_sleep(30)",
        "SELECT 1 AS a) AS x; COMMIT; INSERT INTO victim VALUES ('x', 1); SELECT * FROM (SELECT 1 AS a",
        "SELECT 1; DELETE FROM victim",
        "DELETE FROM victim",
        "DROP TABLE victim",
        "UPDATE victim SET amount = 0 RETURNING *",
        "INSERT INTO victim VALUES ('x', 1) RETURNING *",
        "WITH gone AS (DELETE FROM victim RETURNING *) SELECT * FROM gone",
        "SELECT set_config('default_transaction_read_only', 'off', false), sneaky()",
        "SELECT set_config('transaction_read_only', 'off', true), sneaky()",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        "DO $$ BEGIN DELETE FROM victim; END $$",
        "CALL wipe()",
        "SELECT sneaky()",
        "SELECT nextval('victim_seq')",
        "SELECT setval('victim_seq', 99)",
        "CREATE TABLE made_here AS SELECT 1 AS a",
        "SELECT * INTO made_here FROM victim",
        "SELECT lo_from_bytea(0, 'x')",
        f"SELECT lo_export({oid}, '{folder}/exported')",
        "SELECT lo_import('/etc/hostname')",
        "SELECT pg_read_file('/etc/hostname')",
        "SELECT pg_reload_conf()",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()",
        "SELECT pg_advisory_lock(42), pg_sleep(0)",
        "SELECT * FROM victim FOR UPDATE",
        "LOCK TABLE victim",
        "ALTER SYSTEM SET statement_timeout = 0",
        "PREPARE p AS SELECT 1",
        "SELECT set_config('statement_timeout', '0', false) AS a, pg_sleep(30) AS b",
        "SELECT set_config('statement_timeout', '0', false) AS a, pg_sleep(0.5) AS b FROM generate_series(1, 60)",
        "SELECT set_config('statement_timeout', '0', false) AS a, CASE WHEN g > 10 THEN pg_sleep(30) END AS b "
        "FROM generate_series(1, 100) AS g",  # a quick first fetch, then a slow one with no server limit left
        "/**/" * 40 + "/*",  # stalls a regular expression that skips comments (it took a day at this length)
    ]


#: Attacks the server runs as reads: what they change lives in the rolled-back transaction or the closed session.
RUN_AND_UNDONE = ("lo_from_bytea", "pg_advisory_lock")


def attack(url: str, query: str) -> tuple[str | None, float]:
    """Run one query with a 2-second limit: (the refusal message or None if it was read, seconds taken)."""
    start = time.monotonic()
    try:
        read_database(url, query=query, timeout_s=2)
    except ClvError as exc:
        return str(exc), time.monotonic() - start
    return None, time.monotonic() - start


def settled_state(url: str, timeout_s: float = 30.0) -> dict:
    """The database's state once the sessions our queries opened are gone: a closed or cancelled connection's
    backend leaves pg_stat_activity a moment after the client lets go (seconds on a loaded 2-core machine); one
    still there after ``timeout_s`` is what the caller's assertion then catches."""
    deadline = time.monotonic() + timeout_s
    state = database_state(url)
    while state["our_sessions"] and time.monotonic() < deadline:
        time.sleep(0.1)
        state = database_state(url)
    return state


def assert_unharmed(target: dict, before: dict, query: str = "") -> None:
    after = settled_state(target["superuser"])
    assert after == before, query
    assert os.listdir(target["folder"]) == [], query  # no file made by COPY, PROGRAM or lo_export


def attack_all(target: dict, login: str, skip: tuple[str, ...] = ()) -> list[str]:
    """Every attack string on ``login``; the database is checked after each. Returns the refusal messages."""
    before = settled_state(target["superuser"])  # the previous test's sessions may still be leaving
    assert before["our_sessions"] == 0
    messages = []
    for query in attack_strings(target["folder"], target["oid"]):
        if any(name in query for name in skip):
            continue
        refused, seconds = attack(target[login], query)
        assert seconds < 15, (query, seconds)  # the limit is 2 s: a stopped query, not a finished one
        assert refused or any(name in query for name in RUN_AND_UNDONE), f"{query!r} was run"
        assert_unharmed(target, before, query)
        messages.append(refused or "")
    return messages


def test_no_attack_string_changes_the_database_makes_a_file_or_outlives_the_limit(target):
    messages = attack_all(target, "reader")
    assert (
        sum("one SELECT" in m for m in messages) >= 10 and sum("longer than the 2-second" in m for m in messages) >= 2
    )


def test_a_superuser_login_takes_no_typed_query_at_all(target):
    for message in attack_all(target, "superuser"):
        assert "is a superuser" in message and "can only read" in message
    refused, _ = attack(target["superuser"], "SELECT 1")
    assert "is a superuser" in refused


def test_past_the_login_check_the_server_still_refuses_every_write(target, monkeypatch):
    """The login check is one layer: without it, a superuser's typed query still cannot write a table, run a
    program, lift the limit or keep a lock (the superuser-only file functions are what the check is for)."""
    monkeypatch.setattr(db, "_refuse_privileged", lambda connection: None)
    attack_all(target, "superuser", skip=("lo_export", "lo_import", "pg_read_file", "pg_reload_conf", "pg_terminate"))


def test_the_server_refuses_a_second_statement_and_anything_but_a_select(target):
    refused, _ = attack(target["reader"], "SELECT * FROM victim; SELECT * FROM victim")
    assert "one statement" in refused
    for query in ("DELETE FROM victim", "END; DELETE FROM victim", "/* hi */ TRUNCATE victim"):
        refused, _ = attack(target["reader"], query)
        assert "must be one SELECT" in refused, query
    refused, _ = attack(target["reader"], "SELECT * FROM victim WHERE")  # a reader's own typo: no such hint
    assert "syntax error" in refused and "must be one SELECT" not in refused
    refused, _ = attack(target["reader"], "SELECT nextval('victim_seq')")
    assert "read-only transaction" in refused and "can only read" in refused


def test_the_limit_holds_even_when_the_query_lifts_its_own_timeout(target):
    refused, seconds = attack(target["reader"], "SELECT set_config('statement_timeout', '0', false), pg_sleep(30)")
    assert "longer than the 2-second limit" in refused
    assert seconds < 15
    time.sleep(0.2)
    assert database_state(target["superuser"])["our_sessions"] == 0  # the query is gone from the server, too


def test_reads_are_read_only_at_connection_level_and_plain_selects_work(target):
    query = (
        "SELECT current_setting('default_transaction_read_only') AS session_default, "
        "current_setting('transaction_read_only') AS now, customer_id, amount FROM victim WHERE customer_id LIKE '%'"
    )
    _, raw = read_database(target["reader"], query=query)
    assert set(raw.frame["session_default"]) == {"on"} and set(raw.frame["now"]) == {"on"}
    assert len(raw.frame) == 2
    for query in ("TABLE victim", "VALUES ('a', 1.5)", "WITH v AS (SELECT * FROM victim) SELECT * FROM v -- note"):
        _, raw = read_database(target["reader"], query=query)
        assert len(raw.frame) >= 1


def test_a_superuser_login_still_reads_tables_by_name(target):
    _, raw = read_database(target["superuser"], table="victim")
    assert sorted(raw.frame["customer_id"]) == ["a", "b"]


def test_a_large_result_stops_at_the_row_cap_in_chunks_without_holding_it(target):
    query = "SELECT g AS customer_id, now() AS day, 1.5 AS amount FROM generate_series(1, 5000000) AS g"
    tracemalloc.start()
    try:
        with pytest.raises(ClvError, match="more than 100,000 rows, the most that is read here"):
            read_database(target["reader"], query=query, max_rows=100_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 150_000_000  # 5M rows as Python objects would be well over a gigabyte
    _, raw = read_database(target["reader"], query=query.replace("5000000", "250000"), max_rows=250_000)
    assert len(raw.frame) == 250_000 and raw.frame["customer_id"].is_monotonic_increasing  # chunks in order


def test_a_result_too_wide_or_too_big_in_memory_is_refused_with_the_limit(target):
    wide = "SELECT " + ", ".join(f"1 AS c{i}" for i in range(1_001))
    with pytest.raises(ClvError, match="1,001 columns; the limit is 1,000"):
        read_database(target["reader"], query=wide)
    fat = "SELECT g AS customer_id, repeat('x', 100000) AS note FROM generate_series(1, 2000) AS g"
    with pytest.raises(ClvError, match="more than 50 MB in memory, the limit"):
        read_database(target["reader"], query=fat, max_bytes=50_000_000)


def test_a_table_gives_the_same_customer_summary_as_the_file(cdnow_in_postgres):
    from clv_core.ingest import IngestOptions

    url, from_file = cdnow_in_postgres
    content_hash, raw = read_database(url, table="public.orders")
    assert len(raw.frame) == 69_659 and "orders" in raw.source_name
    tx = clean(raw, options=IngestOptions(today=TODAY), source_hash=content_hash)
    assert tx.report.rows_read == 69_659 and tx.customers == 23_570
    ours = summarise(tx, time_unit="weeks").table.set_index("customer_id").sort_index()
    theirs = summarise(from_file, time_unit="weeks").table.set_index("customer_id").sort_index()
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)
    again, _ = read_database(add_reader(url), query="SELECT * FROM orders")
    assert again == content_hash  # the data's identity, whichever way it was asked for


def test_a_query_selects_and_renames(cdnow_in_postgres):
    url = add_reader(cdnow_in_postgres[0])
    query = "SELECT customer_id AS client, order_date AS day, amount AS paid FROM orders WHERE amount > 100 -- big"
    _, raw = read_database(url, query=query)
    assert list(raw.frame.columns) == ["client", "day", "paid"] and (raw.frame["paid"] > 100).all()


def test_bad_requests_are_messages_that_keep_the_password_out(cdnow_in_postgres):
    url, _ = cdnow_in_postgres
    with pytest.raises(ClvError, match="not a table name"):
        read_database(url, table="orders; DROP TABLE orders")
    with pytest.raises(ClvError, match='relation "no_such_table" does not exist'):
        read_database(url, table="no_such_table")
    with pytest.raises(ClvError, match="more than 1,000 rows"):
        read_database(url, table="orders", max_rows=1_000)
    with pytest.raises(ClvError, match="either a table name or a query"):
        read_database(url, table="orders", query="SELECT 1")
    with pytest.raises(ClvError, match="Give the table name"):
        read_database(url, table="  ")
    secret = url.replace("clv@", "clv:hunter2@").replace("/postgres", "/no_such_db")
    with pytest.raises(ClvError) as refused:
        read_database(secret, table="orders")
    assert "hunter2" not in str(refused.value) and "***" in str(refused.value)
    assert safe_url(secret).count("***") == 1


PASSWORD_URLS = [  # (URL, the password in it, how it is shown)
    ("postgresql://ann:hunter2@db.example.com:5432/shop", "hunter2", "postgresql://ann:***@db.example.com:5432/shop"),
    ("postgresql://ann@db.example.com/shop?password=hunter2", "hunter2", "postgresql://ann:***@db.example.com/shop"),
    ("postgresql://ann:hun@ter2@db.example.com/shop", "hun@ter2", "postgresql://ann:***@db.example.com/shop"),
    ("postgresql://ann:hun:ter/2@db.example.com/shop", "hun:ter/2", "postgresql://ann:***@db.example.com/shop"),
    ("postgres://ann:hunter2%40x@[::1]:5433/shop", "hunter2@x", "postgresql://ann:***@[::1]:5433/shop"),
    ("postgresql://db.example.com/shop?user=ann&password=hunter2&sslmode=require", "hunter2", None),
    ("postgresql://db.example.com/shop?sslmode=require&user=ann&password=hun@ter2", "hun@ter2", None),
    ("postgresql://db.example.com/shop?user=ann&password=hun%40ter@2", "hun@ter@2", None),
    ("postgresql://db.example.com/shop?user=ann&password=hun+ter2", "hun+ter2", None),
]
MALFORMED_URLS = [
    ("postgresql://qz7:hunter2@db.example.com:notaport/shop", "port"),
    ("postgresql://qz7:hunter2@[::1/shop", "unclosed ["),
    ("postgresql://qz7:hunter2@db.example.com:99999/shop", "port"),
    ("postgresql://qz7:hunter2@db.example.com/shop?password", "name=value"),
    ("postgresql://qz7:hunter2@db.example.com/shop?options=-c%20default_transaction_read_only%3Doff", "not passed on"),
    ("postgresql://qz7:hunter2@a.example.com,b.example.com/shop", "one database host"),
    ("postgresql://qz7:hunter2@db\x00evil/shop", "cannot have"),
    ("postgresql://qz7:hunter2@db.example.com/shop#frag", "#"),
    ("postgresql://qz7:hunter2@db.example.com/shop?application_name=x", "not passed on"),
    ("mysql://qz7:hunter2@db.example.com/shop", "must start with postgresql://"),
]


@pytest.mark.parametrize(("url", "password", "shown"), PASSWORD_URLS)
def test_passwords_are_parsed_wherever_they_are_and_never_shown(url, password, shown):
    parsed = parse_url(url)
    assert parsed.password == password and parsed.user == "ann" and parsed.dbname == "shop"
    for part in (password, "hun", "ter"):
        assert part not in parsed.shown and part not in repr(parsed) and part not in safe_url(url)
    assert parsed.shown == (shown or "postgresql://ann:***@db.example.com/shop")


@pytest.mark.parametrize(("url", "reason"), MALFORMED_URLS)
def test_a_malformed_url_is_one_clear_message_without_the_password(url, reason):
    with pytest.raises(ClvError, match="URL") as refused:
        read_database(url, table="orders")
    assert reason in str(refused.value)
    assert "hunter2" not in str(refused.value) and "qz7" not in str(refused.value)
    assert "hunter2" not in safe_url(url)


def test_a_query_with_two_columns_of_one_name_or_odd_types_is_read_as_cells_or_refused_with_a_message(target):
    for query in ("SELECT 1 AS a, 2 AS A", "SELECT 1, 2"):
        with pytest.raises(ClvError, match="more than one column named"):
            read_database(target["reader"], query=query)
    query = (
        "SELECT 'c1' AS customer_id, now() AS day, 2.5 AS amount, interval '1 day' AS gap, ARRAY[1, 2] AS items, "
        """'{"a": 1}'::json AS extra, int4range(1, 5) AS span"""
    )
    _, raw = read_database(target["reader"], query=query)
    row = raw.frame.iloc[0]
    assert [type(row[c]) for c in ("gap", "items", "extra", "span")] == [str] * 4
    assert row["items"] == "[1, 2]" and row["amount"] == 2.5


def test_a_visitors_url_gets_one_message_for_every_failure_to_connect(target):
    reader = target["reader"]
    closed = reader.rsplit(":", 1)[0] + ":1/postgres"  # nothing listens on port 1
    messages = set()
    for url in (closed, reader.replace("/postgres", "/no_such_db"), reader.replace("clv_reader@", "nobody@")):
        with pytest.raises(ClvError) as refused:
            read_database(url, table="victim", trusted=False)
        messages.add(str(refused.value).split(": ", 1)[1])  # what follows the address
    assert len(messages) == 1 and "check the host, port, user and password" in messages.pop()
    with pytest.raises(ClvError, match="Connection refused"):  # the settings' own URL keeps the server's reason
        read_database(closed, table="victim", trusted=True)


def test_a_typed_url_cannot_use_the_servers_own_sockets_files_or_stored_passwords():
    for url in (
        "postgresql:///shop",  # no host: the server's Unix socket, with its own OS user
        "postgresql://ann@/shop?host=/var/run/postgresql",
        "postgresql://ann@db.example.com/shop?sslkey=/etc/ssl/private/server.key",
        "postgresql://ann@db.example.com/shop?passfile=/root/.pgpass",
        "postgresql://ann@db.example.com/shop?service=prod",
    ):
        with pytest.raises(ClvError):
            parse_url(url, trusted=False)
    kwargs = parse_url("postgresql://ann@db.example.com/shop", trusted=False).connect_kwargs()
    assert kwargs["passfile"] == os.devnull and kwargs["password"] == ""  # never ~/.pgpass or PGPASSWORD
    assert kwargs["sslcertmode"] == "disable" and kwargs["gssencmode"] == "disable"  # nor its certificate, tickets
    assert parse_url("postgresql://ann@/shop?host=/var/run/postgresql").host == "/var/run/postgresql"  # trusted


def test_the_command_line_reads_a_table_like_a_file(cdnow_in_postgres, cdnow_master_path, tmp_path):
    url, _ = cdnow_in_postgres
    outputs = {}
    for name, source in (("db", [url, "--table", "orders"]), ("file", [str(cdnow_master_path)])):
        out = tmp_path / f"{name}.csv"
        done = run_cli("summary", *source, "--out", str(out))
        assert done.returncode == 0, done.stderr
        outputs[name] = pd.read_csv(out, dtype={"customer_id": str}).sort_values("customer_id", ignore_index=True)
    pd.testing.assert_frame_equal(outputs["db"], outputs["file"])


@pytest.mark.parametrize("command", ["summary", "score", "segments"])
def test_the_command_line_refuses_an_attack_with_one_error_line_and_runs_a_plain_select(
    cdnow_in_postgres, target, command, tmp_path
):
    before = database_state(target["superuser"])
    reader = add_reader(cdnow_in_postgres[0])
    extra = ["--out", str(tmp_path / "out.csv")] if command in ("score", "segments") else []
    for query in ("COMMIT; DROP TABLE victim; SELECT 1", "DELETE FROM victim", "SELECT sneaky()"):
        done = run_cli(command, reader, "--query", query, *extra)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), done.stderr
        assert_unharmed(target, before, query)
    done = run_cli(command, reader, "--query", "SELECT * FROM orders WHERE amount > 0", *extra)
    assert done.returncode == 0, done.stderr
