"""Sign-in for shared deployments: open without configuration, and with it only allow-listed users see data.

``at.secrets`` stands in for ``.streamlit/secrets.toml`` and ``at.user`` for the identity the OIDC provider
returned (AppTest's own way to seed ``st.user``: streamlit 1.67 copies the dict as it is, so the ID token's claims
``iss``, ``sub`` and ``email_verified`` reach ``st.user`` like ``email`` does).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from clv_app import sources
from tests.app.conftest import APP, text_of, upload

AUTH = {
    "redirect_uri": "https://clv.example.com/oauth2callback",
    "cookie_secret": "not-a-real-secret",
    "client_id": "id",
    "client_secret": "secret",
    "server_metadata_url": "https://login.example.com/.well-known/openid-configuration",
}
ISSUER = "https://login.example.com"
PAGES = ("pages/data.py", "pages/overview.py", "pages/segments.py")
KELVIN_KATE = "\u212aate@example.com"  # KELVIN SIGN, then "ate": NFKC makes it kate@example.com


def account(email: str | None, sub: str = "248289761001", **claims) -> dict:
    """What ``st.user`` holds for a signed-in user: the ID token's claims, verified address unless told."""
    user = {"is_logged_in": True, "iss": ISSUER, "sub": sub, "email_verified": True, **claims}
    if email is not None:
        user["email"] = email
    return user


def run_as(user: dict, access: dict | None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.secrets["auth"] = AUTH
    if access is not None:
        at.secrets["access"] = access
    at.user = user
    at.switch_page(page or "pages/data.py")
    at.run()
    assert not at.exception, at.exception
    return at


def shows_data(at: AppTest) -> bool:
    """The dataset was loaded for this session and some figure was drawn."""
    return sources.TRANSACTIONS in at.session_state and bool(at.metric)


def saved_datasets(at: AppTest) -> list[str]:
    """What the Data page lists under Recent datasets for this user."""
    at.radio(key="data-source").set_value("Recent datasets").run()
    assert not at.exception, at.exception
    if any("Nothing saved yet" in i.value for i in at.info):
        return []
    return list(at.selectbox(key="data-saved").options)


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
    at = run_as(account("Ann@Example.com"), {"allowed_domains": ["example.com"]}, page)
    assert shows_data(at)
    assert "Signed in as Ann@Example.com" in "\n".join(c.value for c in at.sidebar.caption)


@pytest.mark.parametrize(
    ("user", "access", "message"),
    [
        (account("eve@evilexample.com"), {"allowed_domains": ["example.com"]}, "not allowed"),
        (account("eve@example.com.evil.io"), {"allowed_domains": ["example.com"]}, "allowed"),
        (account("bob@partner.io"), {"allowed_emails": ["cfo@partner.io"]}, "not allowed"),
        (account("ann@example.com", email_verified=False), {"allowed_domains": ["example.com"]}, "not verified"),
        (account("ann@example.com"), None, "no one is allowed in yet"),
    ],
)
def test_everyone_else_is_refused_with_the_reason_on_every_page(user, access, message):
    for page in PAGES:
        at = run_as(user, access, page)
        assert message in text_of(at), page
        assert not shows_data(at), page
        assert [b.label for b in at.button] == ["Sign out"]


def test_an_allow_listed_address_is_admitted_exactly():
    at = run_as(account("cfo@partner.io"), {"allowed_emails": ["CFO@partner.io"]})
    assert shows_data(at)


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("email_verified", "the e-mail address is not verified"),
        ("sub", "no `iss` or `sub` claim"),
        ("iss", "no `iss` or `sub` claim"),
    ],
)
def test_a_user_whose_provider_leaves_out_a_claim_is_refused_with_the_reason(missing, message):
    user = account("ann@example.com")
    del user[missing]
    at = run_as(user, {"allowed_domains": ["example.com"]})
    assert message in text_of(at) and not shows_data(at)
    assert [b.label for b in at.button] == ["Sign out"]


@pytest.mark.parametrize("verified", ["true", "false", None, 1])
def test_an_email_verified_claim_that_is_not_exactly_true_is_refused(verified):
    at = run_as(account("ann@example.com", email_verified=verified), {"allowed_domains": ["example.com"]})
    assert "not verified" in text_of(at) and not shows_data(at)


def test_a_kelvin_sign_account_is_kates_address_for_the_allow_list_but_gets_its_own_workspace():
    access = {"allowed_emails": ["kate@example.com"]}
    kate = run_as(account("kate@example.com", sub="kate-0001"), access)
    upload(kate, "kate.csv", b"customer_id,date,amount\na,2024-01-05,10\nb,2024-02-05,20\na,2024-03-05,5\n")
    assert not kate.exception, kate.exception
    assert [s.split(" · ")[0] for s in saved_datasets(kate)] == ["kate.csv"]

    kelvin = run_as(account(KELVIN_KATE, sub="kelvin-0002"), access)
    assert shows_data(kelvin)  # NFKC says it is kate@example.com: admitted, as the allow-list says
    assert f"Signed in as {KELVIN_KATE}" in "\n".join(c.value for c in kelvin.sidebar.caption)
    assert saved_datasets(kelvin) == []  # but another account: not kate's datasets

    again = run_as(account("kate@example.com", sub="kate-0001"), access)  # kate in a new session
    assert [s.split(" · ")[0] for s in saved_datasets(again)] == ["kate.csv"]


def test_two_accounts_with_the_same_address_and_different_subjects_see_different_workspaces():
    access = {"allowed_domains": ["example.com"]}
    first = run_as(account("ann@example.com", sub="first"), access)
    upload(first, "first.csv", b"customer_id,date,amount\na,2024-01-05,10\nb,2024-02-05,20\n")
    second = run_as(account("ann@example.com", sub="second"), access)
    upload(second, "second.csv", b"customer_id,date,amount\nc,2024-01-07,30\nd,2024-02-07,40\n")
    other_issuer = run_as(account("ann@example.com", sub="first", iss="https://other.example.org"), access)
    lists = [[s.split(" · ")[0] for s in saved_datasets(at)] for at in (first, second, other_issuer)]
    assert lists == [["first.csv"], ["second.csv"], []]


@pytest.mark.parametrize(
    ("address", "access"),
    [
        ("\u043aate@example.com", {"allowed_emails": ["kate@example.com"]}),  # CYRILLIC KA: another letter
        ("kate@exa\u200bmple.com", {"allowed_domains": ["example.com"]}),  # ZERO WIDTH SPACE: NFKC keeps it
        ("kate@ex@ample.com", {"allowed_domains": ["ample.com"]}),
        ("kate\uff20example.com@example.com", {"allowed_domains": ["example.com"]}),  # FULLWIDTH @: two after NFKC
    ],
)
def test_an_address_that_is_not_the_listed_one_after_normalisation_is_refused(address, access):
    at = run_as(account(address), access)
    assert "not allowed" in text_of(at) and not shows_data(at)


def who_am_i() -> None:
    """A one-line app: the guard, then what the app would use for the workspace and for admin-only tools."""
    import streamlit as st

    from clv_app import access
    from clv_core.errors import ClvError

    access.guard()
    try:
        owner = access.owner()
    except ClvError:
        owner = "refused"
    st.text(f"owner={owner} admin={access.is_admin()}")


def who(user: dict | None, access: dict | None) -> str:
    at = AppTest.from_function(who_am_i, default_timeout=120)
    if user is not None:
        at.secrets["auth"] = AUTH
        at.user = user
    if access is not None:
        at.secrets["access"] = access
    at.run()
    assert not at.exception, at.exception
    return at.text[-1].value


ANN_ADMIN = {"allowed_domains": ["example.com"], "admins": ["ANN@example.com"]}
REFUSED = "owner=refused admin=False"


@pytest.mark.parametrize(
    ("user", "access", "expected"),
    [
        (None, None, "owner=local admin=False"),  # open mode: nobody is an administrator
        (None, ANN_ADMIN, "owner=local admin=False"),
        (account("Ann@Example.com", sub="a1"), ANN_ADMIN, f'owner=["{ISSUER}", "a1"] admin=True'),
        (account("bob@example.com", sub="b1"), ANN_ADMIN, f'owner=["{ISSUER}", "b1"] admin=False'),
        (
            account(KELVIN_KATE, sub="k2"),  # kate's address after NFKC: admitted, in a workspace of its own, but
            {"allowed_emails": ["kate@example.com"], "admins": ["kate@example.com"]},  # not kate's administrator rights
            f'owner=["{ISSUER}", "k2"] admin=False',
        ),
        (account("ann@partner.io"), {"allowed_domains": ["example.com"], "admins": ["ann@partner.io"]}, REFUSED),
        (account("ann@example.com", email_verified=None), ANN_ADMIN, REFUSED),
        ({"is_logged_in": False}, ANN_ADMIN, REFUSED),
    ],
)
def test_the_workspace_owner_is_the_account_and_admins_are_admitted_verified_listed_addresses(user, access, expected):
    assert who(user, access) == expected
