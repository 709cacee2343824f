"""Who a signed-in user is and whether they are admitted, from the ID token's claims alone (no Streamlit run)."""

from __future__ import annotations

import pytest

from clv_app.access import AllowList, Identity, account_key, identify, normalise_address
from clv_core.errors import ClvError

ISSUER = "https://login.example.com"
KATE_ONLY = AllowList.from_settings({"allowed_emails": ["kate@example.com"]})


def claims(email: object, sub: object = "sub-1", **more) -> dict:
    return {"iss": ISSUER, "sub": sub, "email": email, "email_verified": True, **more}


def test_the_kelvin_sign_is_kates_address_for_the_allow_list_but_another_account_for_the_workspace():
    kate = identify(claims("kate@example.com", "kate-1"), KATE_ONLY)
    kelvin = identify(claims("\u212aate@example.com", "kelvin-2"), KATE_ONLY)
    assert kate.key != kelvin.key and kelvin.label == "\u212aate@example.com"


def test_the_same_address_at_two_subjects_or_two_issuers_is_three_owners():
    rules = AllowList.from_settings({"allowed_domains": ["example.com"]})
    keys = {
        identify(claims("ann@example.com", "1"), rules).key,
        identify(claims("ann@example.com", "2"), rules).key,
        identify(claims("ann@example.com", "1", iss="https://other.example.org"), rules).key,
    }
    assert len(keys) == 3 and "ann@example.com" not in keys and "local" not in keys


def test_an_account_key_cannot_be_made_from_another_issuer_and_subject_split_differently():
    assert account_key("https://a.example.com b", "c") != account_key("https://a.example.com", "b c")
    assert account_key('x", "y', "z") != account_key("x", 'y", "z')


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("Kate@Example.COM", "kate@example.com"),
        ("\u212aate@example.com", "kate@example.com"),  # KELVIN SIGN
        ("\uff4bate@\uff45xample.com", "kate@example.com"),  # FULLWIDTH letters
        ("kate\uff20example.com", "kate@example.com"),  # FULLWIDTH COMMERCIAL AT
        ("STRASSE@example.com", "strasse@example.com"),
        ("stra\u00dfe@example.com", "strasse@example.com"),  # casefold, not lower: ß is ss
        (" kate@example.com\u3000", "kate@example.com"),  # IDEOGRAPHIC SPACE is a space after NFKC
        ("\u043aate@example.com", "\u043aate@example.com"),  # CYRILLIC KA stays another letter
        ("kate@@example.com", None),
        ("kate@ex@ample.com", None),
        ("kate\ufe6bexample.com@example.com", None),  # SMALL COMMERCIAL AT: two after NFKC
        ("@example.com", None),
        ("kate@", None),
        ("kate", None),
        ("", None),
        (None, None),
        (["kate@example.com"], None),
    ],
)
def test_an_address_is_nfkc_normalised_and_case_folded_and_must_be_one_name_at_one_domain(address, expected):
    assert normalise_address(address) == expected


def test_allow_list_entries_and_domains_are_normalised_like_addresses():
    rules = AllowList.from_settings(
        {
            "allowed_emails": ["\u212aATE@Example.com", " "],
            "allowed_domains": "@\uff25xample.ORG",
            "admins": ["KATE@example.com"],
        }
    )
    assert rules == AllowList(
        frozenset({"kate@example.com"}), frozenset({"example.org"}), frozenset({"kate@example.com"})
    )
    assert rules.admits("kate@EXAMPLE.com") and rules.admits("anyone@example.org")
    assert not rules.admits("anyone@sub.example.org") and not rules.admits("kate@example.com.evil.io")


@pytest.mark.parametrize("verified", [None, False, "true", "false", 1, "missing"])
def test_an_address_not_verified_exactly_true_is_refused(verified):
    user = claims("kate@example.com", email_verified=verified)
    if verified == "missing":
        del user["email_verified"]
    with pytest.raises(ClvError, match=r"^kate@example.com is not allowed .* not verified by the sign-in provider"):
        identify(user, KATE_ONLY)


@pytest.mark.parametrize(
    "change", [{"sub": None}, {"iss": None}, {"sub": ""}, {"sub": "  "}, {"sub": 42}, {"iss": ["https://x"]}]
)
def test_an_account_without_issuer_and_subject_is_refused_even_with_a_listed_address(change):
    user = {k: v for k, v in {**claims("kate@example.com"), **change}.items() if v is not None}
    with pytest.raises(ClvError, match=r"no `iss` or `sub` claim"):
        identify(user, KATE_ONLY)


@pytest.mark.parametrize("email", [None, "", "kate", "kate@@example.com", 7])
def test_a_verified_account_without_a_usable_address_is_refused(email):
    with pytest.raises(ClvError, match=r"gave no usable e-mail address"):
        identify(claims(email), KATE_ONLY)


def test_without_an_allow_list_no_one_is_admitted_and_admins_alone_admit_no_one():
    for settings in (None, {}, {"admins": ["kate@example.com"]}):
        with pytest.raises(ClvError, match=r"no one is allowed in yet.*allowed_emails"):
            identify(claims("kate@example.com"), AllowList.from_settings(settings))


def test_an_admin_is_an_admitted_address_listed_under_admins_after_normalisation():
    rules = AllowList.from_settings({"allowed_domains": ["example.com"], "admins": ["\u212aate@example.com"]})
    assert identify(claims("KATE@example.com", "k"), rules) == Identity(
        account_key(ISSUER, "k"), "KATE@example.com", True
    )
    assert identify(claims("ann@example.com"), rules).admin is False
    outside = AllowList.from_settings({"allowed_domains": ["example.com"], "admins": ["eve@partner.io"]})
    with pytest.raises(ClvError, match="not allowed"):
        identify(claims("eve@partner.io"), outside)
    assert not outside.is_admin("eve@partner.io")
