"""What a deployment sets in ``.streamlit/secrets.toml`` beyond sign-in: who may use the database source, and the
limits on what one visitor can make the server do. Every value has a safe default and is stated where it applies.

::

    [database]
    queries = "off"          # who may type a query: "off", "admins" or "everyone"
    urls = "off"             # who may type a connection URL (without one in [connections.clv])
    tables = ["public.orders", "sales.invoices"]   # the tables offered; when set, the only ones readable (and
                                                   # typed queries are off: a query could read any other table)

    [limits]
    max_rows = 10_000_000    # rows any upload or database read may have
    heavy_jobs = 2           # large jobs (reading, fitting, backtests) the server runs at once
    cache_mb = 3_000         # memory the shared results may hold
    workspace_quota_mb = 2_000   # what one user's saved datasets may take on disk
    warm_up = true           # prepare a dataset's model work in the background when a session opens it

Defaults: with sign-in configured, or a connection in ``[connections.clv]`` (its credentials are the server's, not
the visitor's), nobody types a query; with sign-in configured, nobody types a URL. Open for local use without
either, the person at the keyboard may do both. ``admins`` means the addresses under ``[access] admins``. A value
the app does not know counts as ``off``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from clv_app import access
from clv_core.ingest.database import is_table_name

MODES = ("off", "admins", "everyone")


@dataclass(frozen=True)
class ServerLimits:
    """Limits on what one visitor can make the server do (see the module notes)."""

    max_rows: int = 10_000_000
    heavy_jobs: int = 2
    cache_bytes: int = 3_000_000_000
    workspace_quota_bytes: int = 2_000_000_000


@dataclass(frozen=True)
class DatabasePolicy:
    """Who may do what with the database source in this run.

    Attributes
    ----------
    queries, urls : {"off", "admins", "everyone"}
        Who may type a query, and who may type a connection URL.
    tables : tuple of str or None
        The tables offered (``name`` or ``schema.name``), the only ones readable; None: any table the login can
        read, typed by name. A list, even an empty one, turns typed queries off: a query could read any table.
    admin : bool
        Whether this visitor is one of ``[access] admins``.
    problem : str
        What is wrong with the ``tables`` setting, if anything (the page says it; entries it cannot use are left
        out, never read as "no list").
    """

    queries: str
    urls: str
    tables: tuple[str, ...] | None
    admin: bool
    problem: str = ""

    def may(self, what: str) -> bool:
        """Whether this visitor may type ``what`` ("queries" or "urls").

        >>> DatabasePolicy("admins", "everyone", None, admin=False).may("queries")
        False
        >>> DatabasePolicy("admins", "everyone", None, admin=True).may("queries")
        True
        >>> DatabasePolicy("everyone", "everyone", (), admin=True).may("queries")  # a table list, even empty
        False
        """
        if what == "queries" and self.tables is not None:
            return False
        mode = getattr(self, what)
        return mode == "everyone" or (mode == "admins" and self.admin)

    def table_allowed(self, table: str) -> bool:
        """Whether ``table`` may be read: any table without a list, else exactly one on it (names are case
        sensitive once quoted)."""
        return self.tables is None or table.strip() in self.tables


def _number(section, key: str, default: int, scale: float = 1) -> int:
    """A positive whole setting (``value × scale``), or ``default`` when missing, not a number, infinite or below 1."""
    raw = section.get(key) if hasattr(section, "get") else None
    try:
        value = float(raw) * scale
    except (TypeError, ValueError):
        return int(default)
    return int(value) if math.isfinite(value) and value >= 1 else int(default)


def limits() -> ServerLimits:
    """The ``[limits]`` section, each value falling back on its default when missing or not a positive number."""
    section = access.section("limits") or {}
    defaults = ServerLimits()
    return ServerLimits(
        max_rows=_number(section, "max_rows", defaults.max_rows),
        heavy_jobs=_number(section, "heavy_jobs", defaults.heavy_jobs),
        cache_bytes=_number(section, "cache_mb", defaults.cache_bytes, 1e6),
        workspace_quota_bytes=_number(section, "workspace_quota_mb", defaults.workspace_quota_bytes, 1e6),
    )


def database_policy(*, configured_connection: bool) -> DatabasePolicy:
    """The ``[database]`` section for this visitor (see the module notes for the defaults)."""
    section = access.section("database") or {}
    get = section.get if hasattr(section, "get") else (lambda key, default=None: default)
    signed = access.sign_in_configured()

    def mode(key: str, default: str) -> str:
        value = str(get(key, default)).strip().lower()
        return value if value in MODES else "off"

    tables, problem = _tables(section)
    return DatabasePolicy(
        queries=mode("queries", "off" if signed or configured_connection else "everyone"),
        urls=mode("urls", "off" if signed else "everyone"),
        tables=tables,
        admin=access.is_admin(),
        problem=problem,
    )


def _tables(section) -> tuple[tuple[str, ...] | None, str]:
    """The ``tables`` list: None when the setting is absent; otherwise the usable names and what was wrong."""
    if not hasattr(section, "get") or section.get("tables") is None:
        return None, ""
    raw = section.get("tables")
    if isinstance(raw, str) or not isinstance(raw, Sequence):
        return (), '[database] tables must be a list of table names ("name" or "schema.name"); none is offered.'
    names = [str(t).strip() for t in raw]
    usable = tuple(dict.fromkeys(n for n in names if is_table_name(n)))
    wrong = [n for n in names if not is_table_name(n)]
    problem = (
        f"[database] tables lists names that are not plain table names: {', '.join(map(repr, wrong[:5]))}."
        if wrong
        else ""
    )
    return usable, problem
