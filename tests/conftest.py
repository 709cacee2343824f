"""Shared fixtures: the real CDNOW files shipped in lifetimes, and a loader with a fixed 'today'."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
import traceback
from pathlib import Path

import lifetimes
import pytest

from clv_core.ingest import IngestOptions, Transactions, ingest

ROOT = Path(__file__).resolve().parent.parent
DATASETS = Path(lifetimes.__file__).parent / "datasets"
TODAY = "2025-06-30"


@pytest.fixture(scope="session")
def cdnow_sample_path() -> Path:
    return DATASETS / "CDNOW_sample.txt"


@pytest.fixture(scope="session")
def cdnow_master_path() -> Path:
    return DATASETS / "CDNOW_master.txt"


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server for the session (see tests/postgres.py)."""
    from tests.postgres import running_postgres

    with running_postgres() as url:
        yield url


@pytest.fixture(autouse=True)
def own_workspace(tmp_path_factory, monkeypatch):
    """Every test keeps what it loads in a workspace of its own, never in the developer's."""
    folder = tmp_path_factory.mktemp("workspace")
    monkeypatch.setenv("CLV_WORKSPACE", str(folder))
    return folder


def load(content: str | bytes, name: str = "upload.csv", **options) -> Transactions:
    """Ingest text or bytes with 'today' fixed, so future-date rules do not depend on the calendar."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    overrides = {k: options.pop(k) for k in ("customer_id", "date", "amount") if k in options}
    return ingest(data, name, options=IngestOptions(today=TODAY, **options), **overrides)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``python -m clv_core ARGS`` run in this process, as the subprocess would report it: the exit status, and
    stdout and stderr as text (an uncaught exception as status 1 and its traceback, as the interpreter would).

    An interpreter start with pandas, scipy and lifetimes costs 2-4 s on a loaded 2-core machine; the tests of the
    real entry points (``python -m clv_core``, the ``clv-studio`` script) start one.
    """
    from clv_core import cli

    out, err = io.BytesIO(), io.StringIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(err):
        try:
            status = cli.main(list(args))
        except SystemExit as exc:  # argparse: --help, --version, a usage error
            status = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)  # as the interpreter says sys.exit("message")
        except Exception:
            traceback.print_exc()
            status = 1
        stdout.flush()
    text = io.TextIOWrapper(io.BytesIO(out.getvalue()), encoding="utf-8").read()  # universal newlines, as text=True
    return subprocess.CompletedProcess(["python", "-m", "clv_core", *args], status, text, err.getvalue())


def amount(text: str) -> float:
    """The number in a money figure as the pages write it (``$230,114``, ``−$5.50``, ``1,234 CHF``, ``\\$1,100``).

    >>> amount("$230,114"), amount("−$5.50"), amount("1,234 CHF")
    (230114.0, -5.5, 1234.0)
    """
    return float(re.sub(r"[^\d.\-]", "", text.replace("−", "-").replace("\\", "")))


def unescaped(markdown: str) -> str:
    """Markdown as read on the page: the backslashes that keep ``$``, ``.`` or ``-`` literal removed, and the
    zero-width spaces that keep an address from becoming a link (``clv_app.views.common.md``)."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def luminance(colour: str) -> float:
    """WCAG relative luminance of ``#RRGGBB`` or a browser's ``rgb(r, g, b)``."""
    if colour.startswith("#"):
        values = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    else:
        values = [int(v) / 255 for v in re.findall(r"\d+", colour)[:3]]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in values]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
