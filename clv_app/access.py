"""Optional sign-in for shared deployments: Streamlit's OpenID Connect login and an allow-list, on every page.

Configured in ``.streamlit/secrets.toml`` (never committed)::

    [auth]                      # Streamlit's own OIDC settings (see docs/deployment.md)
    redirect_uri = "https://clv.example.com/oauth2callback"
    cookie_secret = "…"
    client_id = "…"
    client_secret = "…"
    server_metadata_url = "https://accounts.google.com/.well-known/openid-configuration"

    [access]                    # who may use the app once signed in
    allowed_emails = ["cfo@example.com"]
    allowed_domains = ["example.com"]
    admins = ["cfo@example.com"]   # optional: allowed users who may also do what only administrators may

Without an ``[auth]`` section the app runs open, for local use, and the sidebar says so. With one, nobody sees
data until signed in with an address on the allow-list; an ``[auth]`` without any allow-list admits no one
(failing closed) and says what to add. :func:`guard` runs at the top of every script run, before any data is
loaded, so every page and every rerun is checked.

Who someone *is* and what they may *see* are kept apart. The workspace belongs to the account at the provider,
its issuer and subject (the ID token's ``iss`` and ``sub`` claims, which ``st.user`` carries), never to the e-mail
address: two accounts with one address (a provider that lets users type any address, or one that differs only by
a look-alike letter) each get their own. The address decides only whether the account is admitted, and only when
the provider says it is verified (``email_verified`` exactly true). Addresses and allow-list entries are compared
after NFKC normalisation and case folding, so ``"\\u212aate@example.com"`` (Kelvin sign) is ``kate@example.com``
for the allow-list, and nothing else.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st

from clv_core.errors import ClvError

AUTH, ACCESS = "auth", "access"
LOCAL = "local"


def normalise_address(text: object) -> str | None:
    """An e-mail address as the allow-list compares it (NFKC, case-folded, trimmed), or None when it is not exactly
    one ``@`` between a non-empty name and domain.

    >>> [normalise_address(a) for a in ("\\u212aate@Example.COM", "kate\\uff20example.com", "a@b@c", "@example.com")]
    ['kate@example.com', 'kate@example.com', None, None]
    """
    if not isinstance(text, str):
        return None
    address = _fold(text)
    name, at, domain = address.partition("@")
    if not (at and name and domain) or "@" in domain:
        return None
    return address


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip()


@dataclass(frozen=True)
class AllowList:
    """The ``[access]`` settings, normalised as :func:`normalise_address` does.

    Attributes
    ----------
    emails : frozenset of str
        Addresses admitted.
    domains : frozenset of str
        Domains whose every address is admitted (exactly: ``example.com`` does not admit ``evilexample.com``).
    admins : frozenset of str
        Addresses that are administrators once admitted (being listed here does not admit anyone).
    """

    emails: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    admins: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Mapping | None) -> AllowList:
        """From the ``[access]`` section: optional ``allowed_emails``, ``allowed_domains`` and ``admins`` lists (a
        single string counts as a list of one)."""

        def values(key: str) -> frozenset[str]:
            raw = settings.get(key, ()) if settings else ()
            if isinstance(raw, str):
                raw = [raw]
            return frozenset(_fold(str(v)).lstrip("@") for v in raw if _fold(str(v)))

        return cls(values("allowed_emails"), values("allowed_domains"), values("admins"))

    def __bool__(self) -> bool:
        return bool(self.emails or self.domains)

    def admits(self, email: object) -> bool:
        """Whether ``email`` is listed, or its domain is.

        >>> rules = AllowList(frozenset({"cfo@partner.io"}), frozenset({"example.com"}))
        >>> [rules.admits(e) for e in ("Ann@Example.com", "cfo@partner.io", "x@evilexample.com", "x@partner.io")]
        [True, True, False, False]
        """
        address = normalise_address(email)
        return address is not None and (address in self.emails or address.rsplit("@", 1)[1] in self.domains)

    def is_admin(self, email: object) -> bool:
        """Whether ``email`` is admitted and listed under ``admins``, spelled as listed (ASCII, any case): an address
        that only NFKC folding makes equal to an administrator's (a Kelvin sign for a K) is admitted as a user, never
        as an administrator.

        >>> rules = AllowList(domains=frozenset({"example.com"}), admins=frozenset({"kate@example.com"}))
        >>> kelvin = "\u212aate@example.com"
        >>> rules.is_admin("Kate@Example.com"), rules.is_admin(kelvin), rules.admits(kelvin)
        (True, False, True)
        """
        text = str(email).strip() if email is not None else ""
        return text.isascii() and self.admits(text) and text.lower() in self.admins


@dataclass(frozen=True)
class Identity:
    """Who this session is.

    Attributes
    ----------
    key : str
        Owner of the workspace: ``local`` without sign-in, else :func:`account_key` of the provider's issuer and
        subject. Never the e-mail address.
    label : str
        What the page shows: the e-mail address as the provider gave it, or ``local``.
    admin : bool
        Whether this user is an administrator (never without sign-in).
    """

    key: str
    label: str
    admin: bool = False


LOCAL_IDENTITY = Identity(LOCAL, LOCAL)


def account_key(issuer: str, subject: str) -> str:
    """The workspace owner for an account: issuer and subject as a JSON pair, so that no two accounts share one
    (the subject is unique only within its issuer) and none is ``local`` or an e-mail address.

    >>> account_key("https://accounts.google.com", "10769150350006150715113082367")
    '["https://accounts.google.com", "10769150350006150715113082367"]'
    """
    return json.dumps([issuer, subject])


def identify(claims: Mapping[str, object], rules: AllowList) -> Identity:
    """The identity of a signed-in user from their ID token's claims, or a :class:`ClvError` saying why they are
    refused and what to do: no allow-list, no ``iss``/``sub``, an address not verified, not an address, not listed.

    >>> rules = AllowList(domains=frozenset({"example.com"}))
    >>> identify({"iss": "https://id.example.com", "sub": "42", "email": "Ann@Example.com", "email_verified": True},
    ...          rules)
    Identity(key='["https://id.example.com", "42"]', label='Ann@Example.com', admin=False)
    """
    if not rules:
        raise ClvError(
            "Sign-in is configured but no one is allowed in yet. The administrator should add "
            "`allowed_emails` or `allowed_domains` under `[access]` in `.streamlit/secrets.toml`."
        )
    issuer, subject = claims.get("iss"), claims.get("sub")
    if not (_present(issuer) and _present(subject)):
        raise ClvError(
            "The sign-in provider did not say which account this is (its ID token has no `iss` or `sub` claim), so "
            "the app cannot keep this account's datasets apart from others'. Sign out; the administrator should "
            "use an OpenID Connect provider in `[auth]`."
        )
    email = claims.get("email")
    shown = email.strip() if isinstance(email, str) and email.strip() else "This account"
    if claims.get("email_verified") is not True:  # missing, "true", "false", None: the provider did not say it is
        raise ClvError(
            f"{shown} is not allowed to use this app (the e-mail address is not verified by the sign-in provider). "
            "Verify it with the provider, or sign out and use your company account."
        )
    if normalise_address(email) is None:
        raise ClvError(
            f"{shown} is not allowed to use this app (the sign-in provider gave no usable e-mail address). "
            "Sign out and use your company account."
        )
    if not rules.admits(email):
        raise ClvError(
            f"{shown} is not allowed to use this app. Sign out and use your company account, or ask the "
            "administrator to add you."
        )
    return Identity(account_key(issuer, subject), shown, rules.is_admin(email))


def _present(claim: object) -> bool:
    return isinstance(claim, str) and bool(claim.strip())


def section(name: str):
    """A section of ``.streamlit/secrets.toml`` (None when missing or unreadable)."""
    return _section(name)


def _section(name: str):
    try:
        return st.secrets.get(name)
    except Exception:  # no secrets.toml, or one that does not parse: treated as not configured
        return None


def sign_in_configured() -> bool:
    return _section(AUTH) is not None


def _signed_in() -> bool:
    return getattr(st.user, "is_logged_in", False) is True


def identity() -> Identity:
    """Who this session is: :data:`LOCAL_IDENTITY` when sign-in is not configured, else the signed-in, admitted
    user's :class:`Identity`. A :class:`ClvError` when sign-in is configured and this user is signed out or refused
    (:func:`guard` has then shown why and stopped the run, so pages never get here)."""
    if not sign_in_configured():
        return LOCAL_IDENTITY
    if not _signed_in():
        raise ClvError("Nobody is signed in; sign in to see the dashboards.")
    return identify(st.user.to_dict(), AllowList.from_settings(_section(ACCESS)))


def owner() -> str:
    """Whose workspace this session uses: :attr:`Identity.key` of :func:`identity` (``local`` without sign-in)."""
    return identity().key


def is_admin() -> bool:
    """Whether this session's user is a signed-in, verified, allow-listed address listed under ``admins``; False
    when sign-in is not configured, and for anyone signed out or refused."""
    try:
        return identity().admin
    except ClvError:
        return False


def guard() -> bool:
    """Whether this run may show data: the app is open (no sign-in configured) or the signed-in user is admitted.
    Otherwise it has drawn the sign-in button or the reason for refusal, and the caller stops."""
    if not sign_in_configured():
        st.sidebar.caption(
            ":material/lock_open: Open for local use: sign-in is not configured. "
            "To share the app, set up sign-in (docs/deployment.md)."
        )
        return True
    if not _signed_in():
        st.title("CLV Studio")
        st.info("Sign in with your company account to see the dashboards.", icon=":material/lock:")
        if st.button("Sign in", type="primary", icon=":material/login:"):
            st.login((_section(ACCESS) or {}).get("provider"))
        return False
    try:
        who = identity()
    except ClvError as exc:
        return _refuse(str(exc))
    with st.sidebar:
        st.caption(f":material/person: Signed in as {who.label}")
        if st.button("Sign out", icon=":material/logout:", key="access-sign-out"):
            st.logout()
    return True


def _refuse(message: str) -> bool:
    st.title("CLV Studio")
    st.error(message, icon=":material/block:")
    if st.button("Sign out", icon=":material/logout:"):
        st.logout()
    return False
