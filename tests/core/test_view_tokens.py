"""Viewer tokens: what the Jupyter server extension signs so a view chats as its viewer."""

from __future__ import annotations

import pytest

from talkex_widget.core.auth import (
    Auth,
    Identity,
    TokenError,
    issue_token,
    issue_view_token,
    read_view_identity,
    read_view_token,
)
from talkex_widget.core.profiles import Profile


def test_a_viewer_token_binds_the_viewer_until_it_expires() -> None:
    token = issue_view_token("view-key", "Anonymous Io", ttl=60, now=1000)
    assert read_view_token("view-key", token, now=1059) == "Anonymous Io"
    with pytest.raises(TokenError, match="expired"):
        read_view_token("view-key", token, now=1060)


def test_a_viewer_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(TokenError, match="signature"):
        read_view_token("view-key", issue_view_token("other-key", "bob", ttl=60))


def test_the_kinds_never_pass_for_each_other() -> None:
    """A ``talkex token`` signed with the same text as the view key is still no viewer token."""
    with pytest.raises(TokenError, match="not a signed"):
        read_view_token("k", issue_token("k", "bob", ttl=60))
    auth = Auth("shared", secret="k")
    assert auth.identify(issue_view_token("k", "bob", ttl=60)) is None


def test_auth_takes_viewer_tokens_beside_the_shared_token() -> None:
    auth = Auth("shared", view_key="view-key")
    assert auth.identify("shared") == Identity(None)
    assert auth.identify(issue_view_token("view-key", "bob", ttl=60)) == Identity("bob")
    assert auth.identify(issue_view_token("view-key", "bob", ttl=-1)) is None
    assert auth.identify(issue_view_token("forged", "bob", ttl=60)) is None
    assert Auth("shared").identify(issue_view_token("view-key", "bob", ttl=60)) is None


def test_a_viewer_token_carries_how_the_viewer_is_shown_checked_again_on_reading() -> None:
    profile = Profile("Io Lee", "var(--jp-collaborator-color2)", "/hub/avatar/io.png")
    token = issue_view_token("view-key", "io", ttl=60, profile=profile)
    assert read_view_identity("view-key", token).profile == profile
    # A key holder that signs something the server's rules refuse gets it dropped, not shown.
    sloppy = Profile("io", "url(https://evil.example/)", "javascript:alert(1)")
    token = issue_view_token("view-key", "io", ttl=60, profile=sloppy)
    assert read_view_identity("view-key", token) == Identity("io")
    assert Auth("shared", view_key="view-key").identify(token) == Identity("io")
