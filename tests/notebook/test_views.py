"""The views' handshake: each view gets the token by custom message, never as a trait."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from talkex_widget import ChatWidget
from talkex_widget.notebook.embedded import ServerManager, ServerThread
from talkex_widget.notebook.viewer import ROUTE_ENV

from .conftest import STANDALONE_TOKEN as TOKEN
from .conftest import ViewSpy


def test_views_get_the_token_by_custom_message(
    make_widget: Callable[..., ChatWidget],
    standalone: ServerThread,
) -> None:
    widget = make_widget(nickname="ada")
    views = ViewSpy(widget)
    views.say({"kind": "hello", "view": "v1"})
    assert views.received == [
        {
            "kind": "config",
            "view": "v1",
            "token": TOKEN,
            "server_url": f"http://127.0.0.1:{standalone.port}/",
        }
    ]


def test_no_view_gets_the_token_when_views_chat_as_their_viewers(
    make_widget: Callable[..., ChatWidget],
    servers: ServerManager,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The extension says so in the environment of the kernels its Jupyter server starts, and
    the embedded server takes its viewer tokens: no view needs the shared token, and since
    every browser connected to the kernel hears every comm message, none gets it."""
    widget = make_widget(nickname="ada", server=None)  # the embedded server, with a view key
    info = servers.server()
    assert info.view_key and info.token
    views = ViewSpy(widget)
    monkeypatch.setenv(ROUTE_ENV, "/talkex/")
    views.say({"kind": "hello", "view": "v1"})
    monkeypatch.delenv(ROUTE_ENV)
    views.say({"kind": "hello", "view": "v2"})
    first, second = views.received
    assert first["view"] == "v1" and "token" not in first
    assert first["server_url"] == info.url
    assert second["view"] == "v2" and second["token"] == info.token  # no extension: as before


def test_a_server_that_takes_no_viewer_tokens_still_gets_the_token_to_views(
    make_widget: Callable[..., ChatWidget],
    standalone: ServerThread,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``talkex serve`` has no view key: the extension cannot vouch for anyone there."""
    monkeypatch.setenv(ROUTE_ENV, "/talkex/")
    views = ViewSpy(make_widget(nickname="ada"))
    views.say({"kind": "hello", "view": "v1"})
    assert views.received[0]["token"] == TOKEN
