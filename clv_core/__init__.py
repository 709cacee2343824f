"""CLV Studio's computational core: ingestion, summaries and models, with no Streamlit in sight."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

from clv_core.errors import ClvError

__all__ = ["ClvError", "__version__"]


#: setuptools-scm's guess for the next release while no release is tagged (pyproject.toml: fallback_version 0.1).
_NEXT = "0.2"


def _version() -> str:
    """The code's version, naming its commit: ``0.2.devN+g<hash>`` (N commits; ``.d<today>`` when the work tree has
    changes), what setuptools-scm makes of this untagged history (the next version after its fallback, 0.1) for an
    installed copy. In a git checkout it is read from git, so a
    checkout that moved on since an install never reports the installed commit; an installed copy reads the file
    its build wrote; else ``0.1+unknown``."""
    root = Path(__file__).resolve().parent.parent
    if (root / ".git").exists():
        try:
            git = ["git", "-C", str(root)]
            run = {"capture_output": True, "text": True, "timeout": 5, "check": True}
            commit = subprocess.run([*git, "rev-parse", "--short=9", "HEAD"], **run).stdout.strip()
            count = subprocess.run([*git, "rev-list", "--count", "HEAD"], **run).stdout.strip()
            dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], **run).stdout.strip()
            return f"{_NEXT}.dev{count}+g{commit}" + (f".d{datetime.date.today():%Y%m%d}" if dirty else "")
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        from clv_core._version import version  # written by setuptools-scm when the package is built

        return version
    except ImportError:
        return "0.1+unknown"


__version__ = _version()
