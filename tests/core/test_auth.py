"""Signed identity tokens and the origin rule, as pure functions."""

from __future__ import annotations

import pytest

from talkex_widget.core.auth import Auth, Identity, TokenError, issue_token, read_token


def test_a_signed_token_binds_a_nickname_until_it_expires() -> None:
    token = issue_token("s3cret", "ada", ttl=60, now=1000)
    assert read_token("s3cret", token, now=1059) == "ada"
    with pytest.raises(TokenError, match="expired"):
        read_token("s3cret", token, now=1060)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("plain", "not a signed"),
        ("tx1.a.b.c", "not a signed"),
        ("tx1.eyJzdWIiOiJhZGEiLCJleHAiOjk5OTk5OTk5OTl9.forged", "signature"),
    ],
)
def test_forged_and_malformed_tokens(token: str, reason: str) -> None:
    with pytest.raises(TokenError, match=reason):
        read_token("s3cret", token)


def test_a_token_signed_with_another_secret_or_edited_is_refused() -> None:
    token = issue_token("other", "ada", ttl=60)
    with pytest.raises(TokenError, match="signature"):
        read_token("s3cret", token)
    prefix, _payload, signature = issue_token("s3cret", "ada", ttl=60).split(".")
    edited = issue_token("s3cret", "root", ttl=60).split(".")[1]
    with pytest.raises(TokenError, match="signature"):
        read_token("s3cret", f"{prefix}.{edited}.{signature}")


def test_identify_shared_and_signed_tokens() -> None:
    auth = Auth("shared", secret="s3cret")
    assert auth.identify("shared") == Identity(None)
    assert auth.identify(issue_token("s3cret", "ada", 60)) == Identity("ada")
    assert auth.identify("wrong") is None
    assert auth.identify(None) is None
    assert Auth(None).identify(None) == Identity(None)  # auth off (loopback only)


def test_origin_rule() -> None:
    auth = Auth("t", allow_origins=("https://hub.example.org/",))
    assert auth.origin_allowed(None, "127.0.0.1:4000")  # not a browser
    assert auth.origin_allowed("http://127.0.0.1:4000", "127.0.0.1:4000")
    assert auth.origin_allowed("https://hub.example.org", "127.0.0.1:4000")
    assert not auth.origin_allowed("http://evil.example", "127.0.0.1:4000")
    assert not auth.origin_allowed("http://127.0.0.1:4001", "127.0.0.1:4000")
    auth.allow("http://127.0.0.1:8888")
    assert auth.origin_allowed("http://127.0.0.1:8888", "127.0.0.1:4000")
    assert Auth.cookie_name("127.0.0.1:4000") == "talkex-token-4000"
