"""The documents a newcomer reads first: a README that fits on a few screens and links what it promises, and a
secrets example whose defaults are the app's."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import ROOT


def test_the_readme_is_short_and_every_link_it_gives_exists():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    assert "make run" in text and "make test" in text
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        assert (ROOT / target).exists(), target


def test_the_guide_shows_every_page_with_a_screenshot_that_exists():
    from tests.e2e.test_browser import PAGES

    guide = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    pictures = re.findall(r"!\[[^\]]*\]\((img/[^)]+)\)", guide)
    assert {p.removeprefix("img/").removesuffix(".png") for p in pictures} == {p or "overview" for p in PAGES}
    for picture in pictures:
        assert (ROOT / "docs" / picture).stat().st_size > 10_000, picture


def test_the_secrets_example_parses_and_states_the_apps_own_limits():
    from clv_app.settings import ServerLimits

    example = tomllib.loads((ROOT / ".streamlit" / "secrets.toml.example").read_text(encoding="utf-8"))
    limits, defaults = example["limits"], ServerLimits()
    assert limits["max_rows"] == defaults.max_rows and limits["heavy_jobs"] == defaults.heavy_jobs
    assert limits["cache_mb"] * 1_000_000 == defaults.cache_bytes
    assert limits["workspace_quota_mb"] * 1_000_000 == defaults.workspace_quota_bytes
    assert limits["warm_up"] is True
    assert example["database"]["queries"] == "off" and example["database"]["urls"] == "off"
    assert ".streamlit/secrets.toml" in (ROOT / ".gitignore").read_text(encoding="utf-8")
