"""Transactions from a SQL database (PostgreSQL through SQLAlchemy): a table or a query becomes the same
:class:`~clv_core.ingest.sniff.RawTable` a file does, so cleaning, the quality report and every page are the same.

Reading is safe by construction: a table name must be a plain (schema-qualified) identifier and is quoted by
SQLAlchemy; a query runs in a read-only transaction with a statement timeout, so it cannot change the database
however it is written; a row cap stops a runaway result. Messages never show the password.
"""

from __future__ import annotations

import hashlib
import re

import pandas as pd

from clv_core.errors import ClvError
from clv_core.ingest.sniff import RawTable

#: Dialects the app reads from (others may work through SQLAlchemy, but are not tested).
SCHEMES = ("postgresql", "postgresql+psycopg", "postgres")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?")
DEFAULT_TIMEOUT_S = 120


def is_database_url(text: str) -> bool:
    """Whether ``text`` names a database rather than a file.

    >>> is_database_url("postgresql://clv@db.example.com/shop"), is_database_url("orders.csv")
    (True, False)
    """
    return str(text).split("://", 1)[0].lower() in SCHEMES and "://" in str(text)


def safe_url(url: str) -> str:
    """The URL with its password hidden, for labels and messages.

    >>> safe_url("postgresql://ann:s3cret@db.example.com:5432/shop")
    'postgresql://ann:***@db.example.com:5432/shop'
    >>> safe_url("postgresql://ann:s3cret@db:notaport/shop")
    'postgresql://…'
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # an unparseable URL: show only its scheme
        return str(url).split("://", 1)[0] + "://…"


def read_database(
    url: str,
    *,
    table: str | None = None,
    query: str | None = None,
    max_rows: int | None = None,
    timeout_s: int = DEFAULT_TIMEOUT_S,
) -> tuple[str, RawTable]:
    """Read ``table`` (``name`` or ``schema.name``) or the result of ``query`` at ``url``.

    Returns the content hash of what was read (so caches and file names follow the data, not the query) and
    the raw table. Raises :class:`ClvError` with what went wrong and what to do.
    """
    if (table is None) == (query is None) or not (table or query or "").strip():
        raise ClvError("Give either a table name or a query, not both.")
    if not is_database_url(url):
        raise ClvError("The database URL must start with postgresql:// (e.g. postgresql://user@host:5432/db).")
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    shown = safe_url(url)
    if table is not None:
        table = table.strip()
        if not _IDENTIFIER.fullmatch(table):
            raise ClvError(f"{table!r} is not a table name; write name or schema.name, or use a query.")
        schema, _, name = table.rpartition(".")
        statement = sa.select(sa.text("*")).select_from(sa.table(name, schema=schema or None))
        if max_rows is not None:
            statement = statement.limit(max_rows + 1)
        label = f"{shown} · {table}"
    else:
        body = query.strip().rstrip(";")
        # new lines around it: a query ending in a -- comment still closes the bracket
        statement = sa.text(body if max_rows is None else f"SELECT * FROM (\n{body}\n) AS q LIMIT {max_rows + 1}")
        label = f"{shown} · query"
    try:
        engine = sa.create_engine(_driver_url(url), poolclass=sa.NullPool, connect_args={"connect_timeout": 10})
        with engine.connect() as connection, connection.begin():
            connection.execute(sa.text("SET TRANSACTION READ ONLY"))
            connection.execute(sa.text(f"SET LOCAL statement_timeout = {int(timeout_s) * 1000}"))
            frame = pd.read_sql(statement, connection)
    except SQLAlchemyError as exc:
        raise ClvError(f"Reading {label} failed: {_reason(exc, url)}") from None
    if max_rows is not None and len(frame) > max_rows:
        raise ClvError(f"{label} has more than {max_rows:,} rows; raise the row limit or filter in a query.")
    if frame.empty:
        raise ClvError(f"{label} returned no rows.")
    frame.columns = [str(c).strip() for c in frame.columns]
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    digest.update("\x1f".join(frame.columns).encode())
    return digest.hexdigest()[:16], RawTable(frame=frame, source_name=label, file_format="database")


def _driver_url(url: str) -> str:
    """psycopg 3 is the driver installed; plain postgresql:// would ask SQLAlchemy for psycopg2."""
    scheme, rest = url.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme.lower() in ("postgresql", "postgres") else url


def _reason(exc: Exception, url: str) -> str:
    """The database's own first line, without the SQL echo or the password."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        password = None
    if password:
        text = text.replace(str(password), "***")
    if "read-only transaction" in text:
        text += " (queries here can only read)"
    return text
