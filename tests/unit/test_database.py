"""A real PostgreSQL database as a data source: the same transactions and summary as the file, read-only."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from clv_core.errors import ClvError
from clv_core.ingest import clean
from clv_core.ingest.database import read_database, safe_url
from clv_core.summary import summarise
from tests.conftest import ROOT, TODAY, load
from tests.postgres import load_table

# one worker runs these together: one PostgreSQL server for all of them
pytestmark = pytest.mark.xdist_group("postgres")


@pytest.fixture(scope="module")
def cdnow_in_postgres(postgres_url, cdnow_master_path):
    """CDNOW as an orders table (text ids, dates, amounts), beside the same data read from its file."""
    from_file = load(cdnow_master_path.read_bytes(), cdnow_master_path.name)
    table = from_file.data[["customer_id", "date", "amount"]].rename(columns={"date": "order_date"})
    load_table(postgres_url, "orders", table)
    return postgres_url, from_file


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
    again, _ = read_database(url, query="SELECT * FROM orders")
    assert again == content_hash  # the data's identity, whichever way it was asked for


def test_a_query_selects_and_renames_but_can_never_write(cdnow_in_postgres):
    url, _ = cdnow_in_postgres
    query = "SELECT customer_id AS client, order_date AS day, amount AS paid FROM orders WHERE amount > 100 -- big"
    _, raw = read_database(url, query=query)
    assert list(raw.frame.columns) == ["client", "day", "paid"] and (raw.frame["paid"] > 100).all()
    for statement in ("DELETE FROM orders", "DROP TABLE orders", "UPDATE orders SET amount = 0 RETURNING *"):
        with pytest.raises(ClvError, match="read-only"):
            read_database(url, query=statement)
    _, raw = read_database(url, table="orders")
    assert len(raw.frame) == 69_659 and raw.frame["amount"].gt(0).any()  # untouched


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
    secret = url.replace("clv@", "clv:hunter2@").replace("/postgres", "/no_such_db")
    with pytest.raises(ClvError) as refused:
        read_database(secret, table="orders")
    assert "hunter2" not in str(refused.value) and "***" in str(refused.value)
    assert safe_url(secret).count("***") == 1


def test_the_command_line_reads_a_table_like_a_file(cdnow_in_postgres, cdnow_master_path, tmp_path):
    url, _ = cdnow_in_postgres
    outputs = {}
    for name, source in (("db", [url, "--table", "orders"]), ("file", [str(cdnow_master_path)])):
        out = tmp_path / f"{name}.csv"
        subprocess.run(
            [sys.executable, "-m", "clv_core", "summary", *source, "--out", str(out)], cwd=ROOT, check=True, timeout=300
        )
        outputs[name] = pd.read_csv(out, dtype={"customer_id": str}).sort_values("customer_id", ignore_index=True)
    pd.testing.assert_frame_equal(outputs["db"], outputs["file"])
    done = subprocess.run(
        [sys.executable, "-m", "clv_core", "summary", url, "--query", "DELETE FROM orders"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and "read-only" in done.stderr
