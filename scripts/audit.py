"""Dependency audit for `make test`: every installed package against PyPI's vulnerability data (pip-audit).

pip-audit asks PyPI for each package's vulnerabilities at the installed version. Where PyPI cannot answer for a
version (some build machines reach only a mirror of the registry, which serves each project's page but not the
per-version one), this falls back to the project's page: its vulnerability list is that of the newest release,
so it audits every package pinned at the newest release. A package that neither can audit is listed as not
audited, with the reason; that is reported, not failed, because it is a limit of the machine, not a finding.

A known vulnerability fails the audit unless ``EXPLAINED`` below says why it does not affect this app.
Usage: python scripts/audit.py
"""

from __future__ import annotations

import concurrent.futures
import importlib.metadata
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

#: Vulnerability id → why it does not apply here. Keep this empty unless a fix is impossible, and say why.
EXPLAINED: dict[str, str] = {}
VENV_BIN = Path(sys.executable).parent


def pip_audit() -> list[dict]:
    """pip-audit's record of each installed distribution: name, version, and vulns or a skip_reason."""
    done = subprocess.run(
        [str(VENV_BIN / "pip-audit"), "--format", "json", "--progress-spinner", "off", "--timeout", "30"],
        capture_output=True,
        text=True,
    )
    try:
        return json.loads(done.stdout)["dependencies"]
    except (json.JSONDecodeError, KeyError):
        sys.exit(f"pip-audit did not run: {done.stderr.strip()[-2000:]}")


def latest_release_vulns(name: str, version: str) -> list[dict] | None:
    """The project page's vulnerabilities when ``version`` is its newest release; None when it is not (or no answer)."""
    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=30) as response:
            page = json.load(response)
    except (OSError, ValueError):
        return None
    if page.get("info", {}).get("version") != version:
        return None
    return [{"id": v.get("id"), "fix_versions": v.get("fixed_in", [])} for v in page.get("vulnerabilities", [])]


def _installed_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def main() -> None:
    audited, unaudited, findings = 0, [], []
    deps = [(d["name"], d.get("version") or _installed_version(d["name"]), d.get("vulns")) for d in pip_audit()]
    # pip-audit omits the version of a package it skipped; the project pages are asked 16 at a time (one after
    # the other, a hundred of them took 17 s of make test)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        fallback = {
            name: pool.submit(latest_release_vulns, name, version)
            for name, version, vulns in deps
            if vulns is None and version
        }
    for name, version, vulns in deps:
        if vulns is None and name in fallback:
            vulns = fallback[name].result()
        if vulns is None:
            unaudited.append(f"{name} {version or '?'}")
            continue
        audited += 1
        findings += [(name, version, v) for v in vulns]
    unexplained = [(n, ver, v) for n, ver, v in findings if v["id"] not in EXPLAINED]
    print(f"dependency audit: {audited} packages audited, {len(findings)} known vulnerabilities")
    for name, version, v in findings:
        status = f"explained: {EXPLAINED[v['id']]}" if v["id"] in EXPLAINED else "NOT EXPLAINED"
        print(f"  {name} {version}: {v['id']} (fixed in {', '.join(v.get('fix_versions') or ['?'])}) – {status}")
    if unaudited:
        print(
            f"  not audited ({len(unaudited)}): PyPI's per-version vulnerability data was not reachable and these "
            f"are not the newest release: {', '.join(unaudited)}"
        )
    if unexplained:
        sys.exit(1)


if __name__ == "__main__":
    main()
