"""A real PostgreSQL server for the tests: Debian's binaries, a throwaway cluster on a free loopback port.

``make test`` installs Debian's ``postgresql`` when it is missing; without it these tests fail (never skip) and
say how to install it. As root (CI), the cluster runs as the ``postgres`` user the package creates.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest


def _binaries() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return os.path.dirname(found[-1]) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_postgres() -> Iterator[str]:
    """Start a cluster (trust authentication, superuser ``clv``) and yield its URL; stop and remove it after."""
    bin_dir = _binaries()
    if bin_dir is None:
        pytest.fail("PostgreSQL's server binaries are missing: `make test` installs them (apt-get install postgresql).")
    root = os.geteuid() == 0
    folder = tempfile.mkdtemp(prefix="clv-pg-")
    data = os.path.join(folder, "data")
    as_owner = ["runuser", "-u", "postgres", "--"] if root else []
    if root:
        shutil.chown(folder, "postgres", "postgres")
    port = _free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*as_owner, *args], capture_output=True, text=True, timeout=120)
        if done.returncode:
            pytest.fail(f"{os.path.basename(args[0])} failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")

    run(f"{bin_dir}/initdb", "-D", data, "-U", "clv", "--auth=trust", "--encoding=UTF8", "--no-instructions")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(f"{bin_dir}/pg_ctl", "-D", data, "-o", options, "-l", os.path.join(folder, "log"), "-w", "-t", "60", "start")
    try:
        url = f"postgresql://clv@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.2)
        yield url
    finally:
        subprocess.run([*as_owner, f"{bin_dir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def load_table(url: str, name: str, frame) -> None:
    """Create table ``name`` from a DataFrame (replacing it), through COPY."""
    import pandas as pd
    import psycopg
    from psycopg import sql

    def pg_type(dtype) -> str:
        if pd.api.types.is_bool_dtype(dtype):
            return "boolean"
        if pd.api.types.is_integer_dtype(dtype):
            return "bigint"
        if pd.api.types.is_float_dtype(dtype):
            return "double precision"
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return "timestamptz" if getattr(dtype, "tz", None) else "timestamp"
        return "text"

    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(str(c)), sql.SQL(pg_type(t))) for c, t in frame.dtypes.items()
    )
    rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
    with psycopg.connect(url) as connection:
        connection.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(name), columns))
        with connection.cursor().copy(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(name))) as copy:
            for row in rows:
                copy.write_row(row)


def add_reader(url: str, role: str = "clv_reader") -> str:
    """A least-privilege login (no superuser, no server-file roles) that may read every table in ``public``; returns
    its URL. The GRANTs are the ones docs/deployment.md recommends."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        for grant in (
            "GRANT CONNECT ON DATABASE postgres TO {}",
            "GRANT USAGE ON SCHEMA public TO {}",
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}",
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {}",
        ):
            connection.execute(sql.SQL(grant).format(sql.Identifier(role)))
    return url.replace("://clv@", f"://{role}@", 1)
