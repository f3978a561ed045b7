"""The views' handshake: each view gets the token by custom message, never as a trait."""

from __future__ import annotations

from collections.abc import Callable

from talkex_widget import ChatWidget
from talkex_widget.notebook.embedded import ServerThread

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
