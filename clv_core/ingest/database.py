"""Transactions from a PostgreSQL database: a table or a query becomes the same
:class:`~clv_core.ingest.sniff.RawTable` a file does, so cleaning, the quality report and every page are the same.

Reading is safe by construction, whatever is typed:

* **One statement, and only a read.** The query is sent as the body of ``DECLARE … CURSOR FOR`` through the
  extended query protocol (psycopg's server-side cursor), so the server itself refuses a second statement
  ("cannot insert multiple commands into a prepared statement") and anything that is not a ``SELECT``,
  ``VALUES`` or ``TABLE`` (``DECLARE`` admits nothing else: no ``COMMIT``, ``SET``, ``COPY``, ``DO``, ``CALL``, no
  data-modifying ``WITH``).
* **Read-only at connection level.** The session opens with ``default_transaction_read_only=on`` and the read
  runs in a ``READ ONLY`` transaction, so a write hidden in a function (``nextval``, a function that inserts) is
  refused by the server too; what the transaction did make (a large object) is rolled back. The connection is
  closed after every read: whatever a query changed in its session (``set_config``, an advisory lock) goes with
  it.
* **A time limit the query cannot lift.** ``statement_timeout`` is set for the session, and because a query can
  change that setting (``set_config('statement_timeout', …)``) a watchdog on our side cancels the read when the
  limit has passed, whatever the session says.
* **Logins that can reach beyond the database take no typed query.** A superuser, or a member of
  ``pg_read_server_files``, ``pg_write_server_files``, ``pg_execute_server_program`` or ``pg_signal_backend``, or a
  login that may call ``dblink``, could read or write the server's files, run programs, stop other sessions or
  write through a second connection inside a ``SELECT``; a typed query on such a login is refused with the
  reason (tables can still be read: we write that SQL). The check knows the powers PostgreSQL gives by role, not
  every function a database may grant one by one (``pg_read_file``, an untrusted procedural language, another
  extension): those are the login's, which is why it should be a least-privilege role (docs/deployment.md).
* **Bounded.** Rows are fetched in chunks from the server-side cursor: the read stops past ``max_rows``, past
  ``max_columns`` and past ``max_bytes`` of memory, with the limit in the message.
* **Passwords never show.** URLs are parsed here, strictly (:func:`parse_url`), and only the parsed parts reach
  the driver; labels and messages are built from those parts, never from the text typed.

>>> url = parse_url("postgresql://ann:s3cr@t@db.example.com:5432/shop?sslmode=require")
>>> url.password, url.host, url.shown
('s3cr@t', 'db.example.com', 'postgresql://ann:***@db.example.com:5432/shop')
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import hashlib
import os
import re
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import unquote

import pandas as pd

from clv_core.errors import ClvError, ColumnMappingError, require
from clv_core.ingest.limits import DEFAULT_MAX_COLUMNS
from clv_core.ingest.sniff import RawTable

#: URL schemes read as PostgreSQL.
SCHEMES = ("postgresql", "postgresql+psycopg", "postgres")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?")
DEFAULT_TIMEOUT_S = 120
#: What a read may hold in memory (pandas' own measure of the frames fetched).
DEFAULT_MAX_BYTES = 2_000_000_000
_CONNECT_TIMEOUT_S = 10
#: Rows per fetch from the server-side cursor: the first fetch is small, later ones aim at ``_CHUNK_BYTES``.
_FIRST_CHUNK, _MIN_CHUNK, _MAX_CHUNK, _CHUNK_BYTES = 10, 1_000, 200_000, 32_000_000
#: Values kept as they come; anything else a query can return (intervals, arrays, JSON, ranges …) becomes text, as a
#: file's cells are, so cleaning sees one kind of cell.
_PLAIN = (str, int, float, decimal.Decimal, dt.date, dt.datetime, dt.time, bool)
#: Connection settings a URL may carry. File paths (sslcert, passfile, service …) only from a trusted URL: a
#: visitor's URL must not make the server read its own files or use its stored credentials.
_SAFE_PARAMS = frozenset({"sslmode", "target_session_attrs", "channel_binding", "sslnegotiation"})
_TRUSTED_PARAMS = _SAFE_PARAMS | {"sslcert", "sslkey", "sslrootcert", "sslcrl", "passfile", "service", "gssencmode"}
#: A visitor's URL signs in with what it carries, never with what the app server holds: no password file, no client
#: certificate (~/.postgresql/postgresql.crt, PGSSLCERT), no Kerberos ticket.
_UNTRUSTED_CONNECTION = {"passfile": os.devnull, "sslcertmode": "disable", "gssencmode": "disable"}
_PRIVILEGED_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program", "pg_signal_backend")
_PRIVILEGES_SQL = """
SELECT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolsuper AND pg_has_role(current_user, r.oid, 'MEMBER')),
       ARRAY(SELECT name FROM unnest(%s::text[]) AS name
             WHERE to_regrole(name) IS NOT NULL AND pg_has_role(current_user, to_regrole(name), 'MEMBER')),
       EXISTS (SELECT 1 FROM pg_proc p WHERE p.proname IN ('dblink', 'dblink_exec', 'dblink_connect')
               AND has_function_privilege(p.oid, 'EXECUTE')),
       current_user
"""


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed ``postgresql://`` URL. ``shown`` is what labels and messages may say (the password never)."""

    user: str | None
    password: str | None = field(repr=False)
    host: str | None
    port: int | None
    dbname: str | None
    params: tuple[tuple[str, str], ...] = ()
    trusted: bool = True

    @property
    def shown(self) -> str:
        user = self.user or ""
        secret = ":***" if self.password else ""
        at = "@" if user or secret else ""
        host = f"[{self.host}]" if self.host and ":" in self.host else (self.host or "")
        port = f":{self.port}" if self.port else ""
        return f"postgresql://{_safe(user)}{secret}{at}{_safe(host)}{port}/{_safe(self.dbname or '')}"

    def connect_kwargs(self) -> dict:
        """Keyword arguments for :func:`psycopg.connect`: only what was parsed, never the text typed."""
        kwargs = {k: v for k, v in self.params}
        for key in ("user", "password", "host", "port", "dbname"):
            value = getattr(self, key)
            if value is not None:
                kwargs[key] = str(value)
        if not self.trusted:  # an empty password keeps libpq from PGPASSWORD, passfile from ~/.pgpass
            kwargs.update(_UNTRUSTED_CONNECTION)
            kwargs.setdefault("password", "")
        return kwargs


def _safe(text: str, limit: int = 120) -> str:
    """Printable characters only, so a label cannot carry control characters or new lines, and at most ``limit``
    of them (a 10,000-character host name is not repeated down the page)."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_table_name(text: str) -> bool:
    """Whether ``text`` is a plain table name, ``name`` or ``schema.name`` (what a table read accepts).

    >>> is_table_name("sales.orders"), is_table_name("orders; DROP TABLE orders"), is_table_name("2024_orders")
    (True, False, False)
    """
    return bool(_IDENTIFIER.fullmatch(str(text)))


def is_database_url(text: str) -> bool:
    """Whether ``text`` names a database rather than a file.

    >>> is_database_url("postgresql://clv@db.example.com/shop"), is_database_url("orders.csv")
    (True, False)
    """
    return str(text).split("://", 1)[0].lower() in SCHEMES and "://" in str(text)


def parse_url(text: str, *, trusted: bool = True) -> DatabaseURL:
    """Parse a ``postgresql://user:password@host:port/dbname?setting=value`` URL, strictly.

    The password may contain an unencoded ``@``, ``:`` or ``/`` (the last ``@`` before any ``?`` ends it; a ``?``
    or ``#`` in it must be written ``%3F``, ``%23``) and may also come as ``?password=``. ``trusted`` URLs (from the
    settings file or the command line) may name a Unix socket and file-path settings; a URL typed by a visitor
    may not, and signs in only with what it carries.

    Raises
    ------
    ClvError
        What is wrong with the URL, never quoting its user or password part.

    >>> parse_url("postgres://db:5433/shop?user=ann&password=x").shown
    'postgresql://ann:***@db:5433/shop'
    >>> parse_url("postgresql://ann@db:notaport/shop")
    Traceback (most recent call last):
    clv_core.errors.ClvError: The port in the database URL must be a number from 1 to 65535.
    """
    text = str(text).strip()
    if not is_database_url(text):
        raise ClvError("The database URL must start with postgresql:// (e.g. postgresql://user@host:5432/db).")
    if "#" in text:
        raise ClvError("The database URL has a #: write it as %23 inside a password.")
    head, _, query = text.split("://", 1)[1].partition("?")
    userinfo, _, location = head.rpartition("@")
    hostport, _, dbname = location.partition("/")
    user, _, password = userinfo.partition(":")
    fields: dict = {
        "user": unquote(user) or None,
        "password": unquote(password) or None,
        "dbname": unquote(dbname) or None,
    }
    fields["host"], fields["port"] = _host_and_port(hostport)
    params = []
    pairs = [part.partition("=") for part in query.split("&")] if query else []
    if len(pairs) > 20 or any(not key or not eq for key, eq, _ in pairs):
        raise ClvError(
            "The settings after ? in the database URL are not name=value pairs joined by & (a ? inside a password "
            "must be written %3F)."
        )
    pairs = [(unquote(key), unquote(value)) for key, _, value in pairs]  # "+" stays "+", as libpq reads it
    allowed = _TRUSTED_PARAMS if trusted else _SAFE_PARAMS
    for key, value in pairs:
        if key in ("user", "password", "dbname"):
            fields[key] = value or None
        elif key in ("host", "port"):
            host, port = _host_and_port(value if key == "host" else f"x:{value}")
            fields[key] = host if key == "host" else port
        elif key in allowed:
            params.append((key, value))
        else:
            offered = ", ".join(sorted(allowed))
            raise ClvError(f"The database URL's setting {key[:40]!r} is not passed on. Settings accepted: {offered}.")
    host = fields["host"]
    if not trusted and (not host or host.startswith("/")):
        raise ClvError("Give the database server's host name in the URL (postgresql://user@host:5432/db).")
    return DatabaseURL(params=tuple(params), trusted=trusted, **fields)


def _host_and_port(text: str) -> tuple[str | None, int | None]:
    text = unquote(text)
    if "," in text:
        raise ClvError("Give one database host in the URL, not a list.")
    if text.startswith("["):
        if "]" not in text:
            raise ClvError("The database URL has an unclosed [ in its host (write IPv6 hosts as [::1]).")
        host, _, tail = text[1:].partition("]")
        if tail and not tail.startswith(":"):
            raise ClvError("The database URL has text after its [host]; write [host]:port.")
        port_text = tail[1:] if tail else ""
    else:
        host, _, port_text = text.partition(":") if text.count(":") <= 1 else (text, "", "")
    port = None
    if port_text or text.endswith(":"):
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ClvError("The port in the database URL must be a number from 1 to 65535.")
        port = int(port_text)
    if host and not re.fullmatch(r"[A-Za-z0-9._:%/-]+", host):
        raise ClvError("The host in the database URL has characters a host name cannot have.")
    if host and not host.startswith("/") and ":" not in host and not _HOST_NAME.fullmatch(host):
        raise ClvError("The host in the database URL is not a valid host name (at most 253 characters, 63 per part).")
    return host or None, port


_HOST_NAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?"
)


def safe_url(url: str) -> str:
    """The URL with its password hidden, for labels and messages.

    >>> safe_url("postgresql://ann:s3cret@db.example.com:5432/shop")
    'postgresql://ann:***@db.example.com:5432/shop'
    >>> safe_url("postgresql://ann:s3cret@db:notaport/shop")
    'postgresql://… (not a valid URL)'
    """
    try:
        return parse_url(url).shown
    except ClvError:
        return "postgresql://… (not a valid URL)"


def read_database(
    url: str,
    *,
    table: str | None = None,
    query: str | None = None,
    max_rows: int | None = None,
    max_columns: int = DEFAULT_MAX_COLUMNS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    trusted: bool = True,
) -> tuple[str, RawTable]:
    """Read ``table`` (``name`` or ``schema.name``) or the result of ``query`` at ``url``.

    Parameters
    ----------
    url : str
        ``postgresql://user:password@host:port/dbname`` (see :func:`parse_url`).
    table, query : str
        Exactly one: a plain (schema-qualified) table name, or one read-only statement.
    max_rows, max_columns : int
        Refuse results with more rows or columns.
    max_bytes : int
        Refuse results that take more memory than this (bytes, pandas' deep measure).
    timeout_s : float
        Seconds the whole read may take, connection included.
    trusted : bool
        False for a URL a visitor typed (see :func:`parse_url`).

    Returns
    -------
    (str, RawTable)
        The content hash of what was read (so caches and file names follow the data, not the query) and the
        raw table.

    Raises
    ------
    ClvError
        What went wrong and what to do; never the password.
    """
    if (table is None) == (query is None):
        raise ClvError("Give either a table name or a query, not both.")
    if not (table or query or "").strip():
        raise ClvError("Give the table name." if query is None else "Give the query.")
    target = parse_url(url, trusted=trusted)
    psycopg = require("psycopg", "postgres", "Reading from PostgreSQL")
    from psycopg import sql

    if table is not None:
        table = table.strip()
        if not is_table_name(table):
            raise ClvError(f"{table[:80]!r} is not a table name; write name or schema.name, or use a query.")
        statement = sql.SQL("SELECT * FROM {}").format(sql.Identifier(*table.split(".")))
        label = f"{target.shown} · {table}"
    else:
        statement = sql.SQL(query.strip().rstrip(";").strip())
        label = f"{target.shown} · query"
    limit_ms = max(1, int(timeout_s * 1000))
    options = (
        f"-c default_transaction_read_only=on -c statement_timeout={limit_ms} "
        f"-c idle_in_transaction_session_timeout={limit_ms} -c lock_timeout={limit_ms}"
    )
    watchdog = _Watchdog(timeout_s)
    stopped = ClvError(f"Reading {label} took longer than the {timeout_s:,g}-second limit and was stopped.")
    try:
        connection = _connect(target, options, label, connect_timeout=min(_CONNECT_TIMEOUT_S, max(2, int(timeout_s))))
        with connection:
            watchdog.start(connection)
            if query is not None:
                _refuse_privileged(connection)
            connection.read_only = True
            frame = _fetch(
                connection,
                statement,
                label,
                max_rows=max_rows,
                max_columns=max_columns,
                limit=max_bytes,
                expired=lambda: watchdog.fired or watchdog.expired(),
                stopped=stopped,
            )
            connection.rollback()
    except psycopg.Error as exc:
        if watchdog.fired:
            raise stopped from None
        raise ClvError(f"Reading {label} failed: {_reason(exc, target, query)}") from None
    finally:
        watchdog.stop()
    if frame.empty:
        raise ClvError(f"{label} returned no rows.")
    frame.columns = [str(c).strip() for c in frame.columns]
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    digest.update("\x1f".join(frame.columns).encode())
    return digest.hexdigest()[:16], RawTable(frame=frame, source_name=label, file_format="database")


def _connect(target: DatabaseURL, options: str, label: str, *, connect_timeout: int):
    """Open the read-only session. For a visitor's URL, every failure to connect or sign in is the same message:
    which of refused, timed out or wrong password it was would tell open ports from closed ones."""
    import psycopg

    try:
        return psycopg.connect(
            **target.connect_kwargs(), options=options, connect_timeout=connect_timeout, application_name="CLV Studio"
        )
    except (psycopg.Error, OSError, UnicodeError) as exc:  # OSError, UnicodeError: a host name the resolver refuses
        if not target.trusted:
            raise ClvError(
                f"Could not connect or sign in to {label.split(' · ')[0]}: check the host, port, user and password."
            ) from None
        reason = _reason(exc, target, None) if isinstance(exc, psycopg.Error) else type(exc).__name__
        raise ClvError(f"Reading {label} failed: {reason}") from None


def _refuse_privileged(connection) -> None:
    """Refuse a typed query on a login whose powers reach beyond reading the database (see the module notes)."""
    superuser, roles, dblink, login = connection.execute(_PRIVILEGES_SQL, [list(_PRIVILEGED_ROLES)]).fetchone()
    connection.rollback()
    powers = ["a superuser"] if superuser else [f"a member of {r}" for r in roles]
    if dblink:
        powers.append("allowed to call dblink")
    if powers:
        raise ClvError(
            f"The database login {_safe(login)!r} is {' and '.join(powers[:2])}: a query typed here could then reach "
            "beyond reading (server files, programs, other sessions), so it is not run. Use a login that can only "
            "read (docs/deployment.md › The database source), or read a table by its name."
        )


def _fetch(
    connection, statement, label: str, *, max_rows: int | None, max_columns: int, limit: int, expired, stopped
) -> pd.DataFrame:
    """The rows of ``statement`` from a server-side cursor, in chunks, within the limits. The first fetch is a few
    rows, so one wide row cannot arrive a thousand times over before it is measured; later ones aim at
    ``_CHUNK_BYTES``. ``expired()`` is asked before each fetch: between fetches the server is idle and a cancel
    would find nothing to stop."""
    chunks: list[pd.DataFrame] = []
    rows = held = 0
    with connection.cursor(name="clv_read", scrollable=False) as cursor:
        cursor.execute(statement)  # DECLARE … CURSOR FOR <statement>, extended protocol: one statement only
        names = [d.name for d in cursor.description or ()]
        if len(names) > max_columns:
            raise ClvError(f"{label} returns {len(names):,} columns; the limit is {max_columns:,}. Select fewer.")
        folded = [n.strip().casefold() for n in names]
        if twice := sorted({n for n, f in zip(names, folded) if folded.count(f) > 1}):
            raise ColumnMappingError(
                f"{label} returns more than one column named {', '.join(repr(_safe(n, 40)) for n in twice[:5])}. "
                "Give each column its own name (… AS name) and read it again."
            )
        size = _FIRST_CHUNK
        while True:
            if expired():
                raise stopped
            batch = cursor.fetchmany(size)
            if not batch:
                break
            frame = _as_cells(pd.DataFrame.from_records(batch, columns=names, coerce_float=True))
            del batch
            rows += len(frame)
            held += int(frame.memory_usage(index=False, deep=True).sum())
            if max_rows is not None and rows > max_rows:
                raise ClvError(
                    f"{label} has more than {max_rows:,} rows, the most that is read here. Read a smaller table or "
                    "view, or filter it with a query."
                )
            if held > limit:
                raise ClvError(
                    f"{label} takes more than {limit / 1e6:,.0f} MB in memory, the limit; select fewer rows or columns."
                )
            chunks.append(frame)
            per_row = max(1, held // rows)
            size = int(min(_MAX_CHUNK, max(_MIN_CHUNK, _CHUNK_BYTES // per_row)))
            if max_rows is not None:
                size = min(size, max_rows + 1 - rows)
    if not chunks:
        return pd.DataFrame(columns=names)
    frame = chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True, copy=False)
    chunks.clear()
    return frame


def _as_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Values of kinds cleaning does not read (an interval, an array, JSON) as text, like a file's cells."""
    for column in [c for c in frame.columns if pd.api.types.is_timedelta64_dtype(frame[c])]:
        frame[column] = frame[column].astype(str).where(frame[column].notna(), None)
    for column in [c for c in frame.columns if pd.api.types.is_object_dtype(frame[c])]:
        values = frame[column]
        odd = values.map(lambda v: v is not None and not isinstance(v, _PLAIN))
        if odd.any():
            frame[column] = values.where(~odd, values[odd].map(str))
    return frame


class _Watchdog:
    """Cancels the running statement once ``seconds`` have passed since it was made, from another thread, and again
    every second until :meth:`stop` (a cancel that arrives between two fetches finds nothing to stop): the limit
    holds even when the query changed its own ``statement_timeout``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._deadline = time.monotonic() + seconds
        self._done = threading.Event()

    def expired(self) -> bool:
        return time.monotonic() > self._deadline

    def start(self, connection) -> None:
        import psycopg

        def cancel() -> None:
            if self._done.wait(max(0.0, self._deadline - time.monotonic())):
                return
            self.fired = True
            while not self._done.is_set():
                with contextlib.suppress(psycopg.Error, OSError):  # closing: that ends the query anyway
                    connection.cancel_safe(timeout=5)
                self._done.wait(1.0)

        threading.Thread(target=cancel, daemon=True, name="clv-database-watchdog").start()

    def stop(self) -> None:
        self._done.set()


def _reason(exc: Exception, url: DatabaseURL, query: str | None) -> str:
    """The database's own first line, without the password, and what it means here."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if url.password:
        text = text.replace(url.password, "***")
    reads = _first_word(query or "") in ("select", "with", "values", "table", "(")
    if "multiple commands" in text:
        text = "a query must be one statement (no ; between statements)"
    elif "read-only transaction" in text or "read-write mode" in text:
        text += " (queries here can only read)"
    elif query is not None and ("DECLARE CURSOR" in text or (text.startswith("syntax error") and not reads)):
        text += " (a query here must be one SELECT, WITH … SELECT, VALUES or TABLE statement)"
    return _safe(text, 300)


def _first_word(query: str) -> str:
    """The query's first keyword (lower case) or ``(``, after spaces and comments, in one pass: a regular expression
    over comments backtracks exponentially on text such as ``/**/`` repeated (a visitor could stall the server).

    >>> _first_word("  -- a note\\n /* more */ SELECT 1"), _first_word("/**/" * 40 + "/*"), _first_word("(VALUES 1)")
    ('select', '', '(')
    """
    i, n = 0, len(query)
    while i < n:
        if query[i].isspace():
            i += 1
        elif query.startswith("--", i):
            end = query.find("\n", i)
            i = n if end < 0 else end + 1
        elif query.startswith("/*", i):
            end = query.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            break
    if i < n and query[i] == "(":
        return "("
    word = re.match(r"[A-Za-z]+", query[i : i + 16])
    return word.group(0).lower() if word else ""
