"""Optional sign-in for shared deployments: Streamlit's OpenID Connect login and an allow-list, on every page.

Configured in ``.streamlit/secrets.toml`` (never committed)::

    [auth]                      # Streamlit's own OIDC settings (see README › Deployment)
    redirect_uri = "https://clv.example.com/oauth2callback"
    cookie_secret = "…"
    client_id = "…"
    client_secret = "…"
    server_metadata_url = "https://accounts.google.com/.well-known/openid-configuration"

    [access]                    # who may use the app once signed in
    allowed_emails = ["cfo@example.com"]
    allowed_domains = ["example.com"]

Without an ``[auth]`` section the app runs open, for local use, and the sidebar says so. With one, nobody sees
data until signed in with an address on the allow-list; an ``[auth]`` without any allow-list admits no one
(failing closed) and says what to add. :func:`guard` runs at the top of every script run, before any data is
loaded, so every page and every rerun is checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

AUTH, ACCESS = "auth", "access"


@dataclass(frozen=True)
class AllowList:
    """E-mail addresses and domains admitted, compared case-insensitively."""

    emails: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings) -> AllowList:
        """From the ``[access]`` section (a mapping with optional ``allowed_emails`` / ``allowed_domains`` lists)."""

        def values(key: str) -> frozenset[str]:
            raw = settings.get(key, ()) if settings else ()
            if isinstance(raw, str):
                raw = [raw]
            return frozenset(str(v).strip().lower().lstrip("@") for v in raw if str(v).strip())

        return cls(values("allowed_emails"), values("allowed_domains"))

    def __bool__(self) -> bool:
        return bool(self.emails or self.domains)

    def admits(self, email: str | None) -> bool:
        """Whether ``email`` is listed, or its domain is (exactly: ``example.com`` does not admit ``evilexample.com``
        nor ``example.com.evil.io``).

        >>> rules = AllowList(frozenset({"cfo@partner.io"}), frozenset({"example.com"}))
        >>> [rules.admits(e) for e in ("Ann@Example.com", "cfo@partner.io", "x@evilexample.com", "x@partner.io")]
        [True, True, False, False]
        """
        if not email or email.count("@") != 1:
            return False
        email = email.strip().lower()
        return email in self.emails or email.rsplit("@", 1)[1] in self.domains


def section(name: str):
    """A section of ``.streamlit/secrets.toml`` (None when missing or unreadable)."""
    return _section(name)


def owner() -> str:
    """Whose workspace this session uses: the signed-in user's email, or ``local`` when sign-in is not set up."""
    if sign_in_configured() and getattr(st.user, "is_logged_in", False):
        return str(st.user.get("email") or "local").strip().lower()
    return "local"


def _section(name: str):
    try:
        return st.secrets.get(name)
    except Exception:  # no secrets.toml, or one that does not parse: treated as not configured
        return None


def sign_in_configured() -> bool:
    return _section(AUTH) is not None


def guard() -> bool:
    """Whether this run may show data: the app is open (no sign-in configured) or the signed-in user is on the
    allow-list. Otherwise it has drawn the sign-in button or the reason for refusal, and the caller stops."""
    if not sign_in_configured():
        st.sidebar.caption(
            ":material/lock_open: Open for local use: sign-in is not configured. "
            "To share the app, set up sign-in (README › Deployment)."
        )
        return True
    settings = _section(ACCESS) or {}
    rules = AllowList.from_settings(settings)
    provider = settings.get("provider")
    if not getattr(st.user, "is_logged_in", False):
        st.title("CLV Studio")
        st.info("Sign in with your company account to see the dashboards.", icon=":material/lock:")
        if st.button("Sign in", type="primary", icon=":material/login:"):
            st.login(provider)
        return False
    email = st.user.get("email")
    verified = st.user.get("email_verified", True) is not False  # providers that say "not verified" are refused
    if not rules:
        return _refuse(
            "Sign-in is configured but no one is allowed in yet. The administrator should add "
            "`allowed_emails` or `allowed_domains` under `[access]` in `.streamlit/secrets.toml`."
        )
    if not (verified and rules.admits(email)):
        return _refuse(
            f"{email or 'This account'} is not allowed to use this app"
            f"{' (the e-mail address is not verified)' if not verified else ''}. "
            "Sign out and use your company account, or ask the administrator to add you."
        )
    with st.sidebar:
        st.caption(f":material/person: Signed in as {email}")
        if st.button("Sign out", icon=":material/logout:", key="access-sign-out"):
            st.logout()
    return True


def _refuse(message: str) -> bool:
    st.title("CLV Studio")
    st.error(message, icon=":material/block:")
    if st.button("Sign out", icon=":material/logout:"):
        st.logout()
    return False
