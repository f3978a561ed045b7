"""Signed identity tokens and the origin rule, as pure functions."""

from __future__ import annotations

import time

import pytest

from talkex_widget.core.auth import (
    MAX_ORIGINS,
    ORIGIN_TTL,
    Auth,
    Identity,
    TokenError,
    authorization_token,
    issue_token,
    loopback_host,
    read_token,
)


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
    now = time.time()
    signed = issue_token("s3cret", "ada", 60, now=now)
    assert auth.identify(signed) == Identity("ada", float(int(now + 60)))  # closed by then
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


def test_only_the_shared_token_itself_is_the_server_token() -> None:
    """Finding 7: a signed token proves a name, not the right to vouch for origins."""
    auth = Auth("shared", secret="s3cret")
    assert auth.is_server_token("shared")
    assert not auth.is_server_token(issue_token("s3cret", "ada", 60))
    assert not auth.is_server_token("shared ")
    assert not auth.is_server_token(None)
    assert not Auth(None).is_server_token("")  # auth off: there is no server token


def test_registered_origins_lapse_after_a_day() -> None:
    now = [1000.0]
    auth = Auth("t", allow_origins=("https://hub.example.org",), clock=lambda: now[0])
    auth.allow("http://127.0.0.1:8888")
    now[0] += ORIGIN_TTL - 1
    assert auth.origin_allowed("http://127.0.0.1:8888", "127.0.0.1:4000")
    auth.allow("http://127.0.0.1:8888/")  # vouched again: a new day
    now[0] += ORIGIN_TTL - 1
    assert auth.origin_allowed("http://127.0.0.1:8888", "127.0.0.1:4000")
    now[0] += 1
    assert not auth.origin_allowed("http://127.0.0.1:8888", "127.0.0.1:4000")
    assert auth.allowed_origins() == ["https://hub.example.org"]  # --allow-origin stays
    assert auth.origin_allowed("https://hub.example.org", "127.0.0.1:4000")


def test_the_registered_origins_stay_bounded_dropping_the_oldest() -> None:
    now = [0.0]
    auth = Auth("t", clock=lambda: now[0])
    for port in range(MAX_ORIGINS + 10):
        now[0] += 1
        auth.allow(f"http://127.0.0.1:{9000 + port}")
    allowed = auth.allowed_origins()
    assert len(allowed) == MAX_ORIGINS
    assert "http://127.0.0.1:9000" not in allowed  # the oldest went first
    assert f"http://127.0.0.1:{9000 + MAX_ORIGINS + 9}" in allowed  # the newest is served


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LocalHost:4000", True),
        ("127.0.0.1", True),
        ("127.0.0.1:4000", True),
        ("127.42.0.7:80", True),
        ("[::1]", True),
        ("[::1]:4000", True),
        ("::1", True),  # a bare address, as --host takes it
        ("rebind.evil.example", False),
        ("rebind.evil.example:4000", False),
        ("127.0.0.1.rebind.evil.example", False),  # a name, however it starts
        ("localhost.evil.example", False),
        ("10.0.0.5:4000", False),
        ("0.0.0.0:4000", False),
        ("[::ffff:127.0.0.1]", False),
        ("[::1]evil", False),
        ("127.0.0.1:port", False),
        ("", False),
    ],
)
def test_loopback_host(host: str, loopback: bool) -> None:
    """Finding 6: the Host names a DNS rebinding page can make a browser send are refused."""
    assert loopback_host(host) is loopback


def test_authorization_token() -> None:
    assert authorization_token("token abc") == "abc"
    assert authorization_token("Bearer abc") == "abc"
    assert authorization_token("Basic YWxhZGRpbg==") is None
    assert authorization_token("token ") is None
    assert authorization_token(None) is None
