"""Sign-in for shared deployments: open without configuration, and with it only allow-listed users see data.

``at.secrets`` stands in for ``.streamlit/secrets.toml`` and ``at.user`` for the identity the OIDC provider
returned (AppTest's own way to seed ``st.user``).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from clv_app import state
from tests.app.conftest import APP, text_of

AUTH = {
    "redirect_uri": "https://clv.example.com/oauth2callback",
    "cookie_secret": "not-a-real-secret",
    "client_id": "id",
    "client_secret": "secret",
    "server_metadata_url": "https://login.example.com/.well-known/openid-configuration",
}
PAGES = ("pages/data.py", "pages/overview.py", "pages/segments.py")


def run_as(user: dict, access: dict | None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = AUTH
    if access is not None:
        at.secrets["access"] = access
    at.user = user
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def shows_data(at: AppTest) -> bool:
    """The dataset was loaded for this session and some figure was drawn."""
    return state.TRANSACTIONS in at.session_state and bool(at.metric)


def test_without_sign_in_configured_the_app_is_open_and_says_so(app):
    assert "Open for local use: sign-in is not configured" in "\n".join(c.value for c in app.sidebar.caption)
    assert shows_data(app)


@pytest.mark.parametrize("page", PAGES)
def test_signed_out_visitors_get_the_sign_in_button_and_no_data_on_any_page(page):
    at = run_as({"is_logged_in": False}, {"allowed_domains": ["example.com"]}, page)
    assert [b.label for b in at.button] == ["Sign in"]
    assert not shows_data(at)


@pytest.mark.parametrize("page", PAGES)
def test_an_allow_listed_domain_sees_every_page(page):
    at = run_as({"is_logged_in": True, "email": "Ann@Example.com"}, {"allowed_domains": ["example.com"]}, page)
    assert shows_data(at)
    assert "Signed in as Ann@Example.com" in "\n".join(c.value for c in at.sidebar.caption)


@pytest.mark.parametrize(
    ("user", "access", "message"),
    [
        ({"is_logged_in": True, "email": "eve@evilexample.com"}, {"allowed_domains": ["example.com"]}, "not allowed"),
        ({"is_logged_in": True, "email": "eve@example.com.evil.io"}, {"allowed_domains": ["example.com"]}, "allowed"),
        ({"is_logged_in": True, "email": "bob@partner.io"}, {"allowed_emails": ["cfo@partner.io"]}, "not allowed"),
        (
            {"is_logged_in": True, "email": "ann@example.com", "email_verified": False},
            {"allowed_domains": ["example.com"]},
            "not verified",
        ),
        ({"is_logged_in": True, "email": "ann@example.com"}, None, "no one is allowed in yet"),
    ],
)
def test_everyone_else_is_refused_with_the_reason_on_every_page(user, access, message):
    for page in PAGES:
        at = run_as(user, access, page)
        assert message in text_of(at), page
        assert not shows_data(at), page
        assert [b.label for b in at.button] == ["Sign out"]


def test_an_allow_listed_address_is_admitted_exactly():
    at = run_as({"is_logged_in": True, "email": "cfo@partner.io"}, {"allowed_emails": ["CFO@partner.io"]})
    assert shows_data(at)
