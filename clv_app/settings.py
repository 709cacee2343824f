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

Defaults: with sign-in configured, or a connection in ``[connections.clv]`` (its credentials are the server's, not
the visitor's), nobody types a query; with sign-in configured, nobody types a URL. Open for local use without
either, the person at the keyboard may do both. ``admins`` means the addresses under ``[access] admins``. A value
the app does not know counts as ``off``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from clv_app import access

MODES = ("off", "admins", "everyone")
_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?")


@dataclass(frozen=True)
class Limits:
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
    tables : tuple of str
        The tables offered (``name`` or ``schema.name``); empty: any table the login can read, typed by name. A
        list turns typed queries off: a query could read any other table the login can.
    admin : bool
        Whether this visitor is one of ``[access] admins``.
    """

    queries: str
    urls: str
    tables: tuple[str, ...]
    admin: bool

    def may(self, what: str) -> bool:
        """Whether this visitor may type ``what`` ("queries" or "urls").

        >>> DatabasePolicy("admins", "everyone", (), admin=False).may("queries")
        False
        >>> DatabasePolicy("admins", "everyone", (), admin=True).may("queries")
        True
        >>> DatabasePolicy("everyone", "everyone", ("public.orders",), admin=True).may("queries")  # a table list
        False
        """
        mode = getattr(self, what)
        if what == "queries" and self.tables:
            return False
        return mode == "everyone" or (mode == "admins" and self.admin)

    def table_allowed(self, table: str) -> bool:
        return not self.tables or table.strip().casefold() in {t.casefold() for t in self.tables}


def _number(section, key: str, default: float, scale: float = 1) -> int:
    try:
        value = float(section.get(key, default / scale)) if hasattr(section, "get") else default / scale
    except (TypeError, ValueError):
        return int(default)
    return int(value * scale) if value > 0 else int(default)


def limits() -> Limits:
    """The ``[limits]`` section, each value falling back on its default when missing or not a positive number."""
    section = access.section("limits") or {}
    defaults = Limits()
    return Limits(
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

    tables = get("tables", ()) or ()
    if isinstance(tables, str):
        tables = [tables]
    return DatabasePolicy(
        queries=mode("queries", "off" if signed or configured_connection else "everyone"),
        urls=mode("urls", "off" if signed else "everyone"),
        tables=tuple(str(t).strip() for t in tables if _TABLE.fullmatch(str(t).strip())),
        admin=access.is_admin(),
    )
