"""Deployment settings that protect users: checked in the config file and in the code."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT, contrast

CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())


def test_xsrf_and_cors_protection_stay_on():
    assert CONFIG["server"]["enableXsrfProtection"] is True
    assert CONFIG["server"]["enableCORS"] is True


def test_users_see_no_error_details_and_no_developer_toolbar():
    assert CONFIG["client"]["showErrorDetails"] == "none"
    assert CONFIG["client"]["toolbarMode"] == "viewer"


def test_no_raw_html_is_rendered_anywhere_in_the_app():
    # Text from a user's file reaches the page only through Streamlit's escaping widgets and views.md().
    sources = [*ROOT.glob("*.py"), *(ROOT / "pages").glob("*.py"), *(ROOT / "clv_app").glob("*.py")]
    offenders = [
        f"{p.name}:{i}"
        for p in sources
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"unsafe_allow_html\s*=\s*True|\bst\.html\(|components\.v1\.html|components\.html\(", line)
    ]
    assert sources and offenders == []


def test_the_sign_in_secrets_file_cannot_be_committed():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert ".streamlit/secrets.toml" in ignored


def test_the_app_listens_on_loopback_unless_told_otherwise():
    # Without sign-in the app is open to whoever reaches the port, and the sidebar says "open for local use".
    assert CONFIG["server"]["address"] == "127.0.0.1"
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^ADDRESS \?= 127\.0\.0\.1$", makefile, re.M)
    run = re.search(r"^run:.*\n\t(.*)$", makefile, re.M).group(1)
    assert "--server.address $(ADDRESS)" in run


def test_a_light_and_a_dark_theme_with_the_same_accent_family_and_the_browser_choosing():
    theme = CONFIG["theme"]
    assert "base" not in theme  # a base would pin one theme: the browser's setting (and the app menu) choose
    light, dark = theme["light"], theme["dark"]
    for part in ("primaryColor", "backgroundColor", "secondaryBackgroundColor", "textColor"):
        assert part in light and part in dark
    assert light["primaryColor"] == "#0072B2" and dark["primaryColor"] == "#56B4E9"  # Okabe & Ito blue, sky blue

    for scheme in (light, dark):  # body text at WCAG AA (4.5:1) or better on both backgrounds
        assert contrast(scheme["textColor"], scheme["backgroundColor"]) >= 7
