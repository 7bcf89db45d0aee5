"""The fix form's CSRF tokens: one cookie nonce, bound to one link; anything else is refused."""

from __future__ import annotations

from connector.address import fixcsrf

KEY = "test-secret-key-0123456789abcdef"


def test_the_form_token_matches_only_its_own_cookie_and_link() -> None:
    nonce = fixcsrf.new_nonce()
    cookie = fixcsrf.cookie_value(KEY, nonce)
    sent = fixcsrf.form_token(KEY, nonce, "tok-1")
    assert fixcsrf.nonce_of(KEY, cookie) == nonce
    assert fixcsrf.form_token_ok(KEY, cookie, sent, "tok-1")
    assert not fixcsrf.form_token_ok(KEY, cookie, sent, "tok-2")  # another link
    assert not fixcsrf.form_token_ok(KEY, cookie, "0" * 64, "tok-1")
    assert not fixcsrf.form_token_ok(KEY, fixcsrf.cookie_value(KEY, fixcsrf.new_nonce()), sent, "tok-1")


def test_no_cookie_or_a_foreign_or_tampered_one_has_no_nonce() -> None:
    cookie = fixcsrf.cookie_value(KEY, "n1")
    assert fixcsrf.nonce_of(KEY, None) is None
    assert fixcsrf.nonce_of(KEY, "") is None
    assert fixcsrf.nonce_of("another-secret-key-0123456789ab", cookie) is None
    assert fixcsrf.nonce_of(KEY, cookie[:-2] + "xx") is None
    assert not fixcsrf.form_token_ok(KEY, None, fixcsrf.form_token(KEY, "n1", "tok-1"), "tok-1")


def test_a_token_with_characters_outside_ascii_is_refused_not_an_error() -> None:
    nonce = fixcsrf.new_nonce()
    cookie = fixcsrf.cookie_value(KEY, nonce)
    sent = fixcsrf.form_token(KEY, nonce, "tok-1")
    assert fixcsrf.form_token_ok(KEY, cookie, sent, "tok-1")
    assert not fixcsrf.form_token_ok(KEY, cookie, "é" + sent[1:], "tok-1")
    assert not fixcsrf.form_token_ok(KEY, cookie, "€", "tok-1")
