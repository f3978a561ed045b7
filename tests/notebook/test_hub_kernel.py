"""A kernel on a JupyterHub: TALKEX_URL plus the kernel's own JUPYTERHUB_API_TOKEN. The kernel
speaks as its owner; its views never get that token, and no relay speaks for them.

The service here is a plain server that takes the token; tests/hub runs the real hub."""

from __future__ import annotations

import pytest

from talkex_widget import ChatWidget
from talkex_widget.notebook.discovery import ServerInfo, server_from_env
from talkex_widget.notebook.embedded import ServerManager, ServerThread

from .conftest import STANDALONE_TOKEN, ViewSpy

HUB = "http://hub.example:8000/services/talkex/"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"JUPYTERHUB_API_TOKEN": "hub-secret"}, None),
        (
            {"TALKEX_URL": HUB, "JUPYTERHUB_API_TOKEN": "hub-secret"},
            ServerInfo(HUB, "hub-secret", hub=True),
        ),
        (
            {"TALKEX_URL": HUB, "TALKEX_TOKEN": "t", "JUPYTERHUB_API_TOKEN": "hub-secret"},
            ServerInfo(HUB, "t"),
        ),
        (
            {"TALKEX_URL": HUB + "?token=u", "JUPYTERHUB_API_TOKEN": "hub-secret"},
            ServerInfo(HUB, "u"),
        ),
        ({"TALKEX_URL": HUB}, ServerInfo(HUB, None)),
    ],
)
def test_the_hub_token_goes_only_to_talkex_url_and_only_without_a_talkex_token(
    environ: dict[str, str], expected: ServerInfo | None
) -> None:
    found = server_from_env(environ)
    assert found == expected
    assert found is None or (found.hub, found.token) == (expected.hub, expected.token)
    assert "hub-secret" not in repr(found)


@pytest.fixture
def on_a_hub(
    servers: ServerManager, standalone: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> ServerThread:
    """The kernel environment a hub spawner gives (the standalone server plays the service)."""
    monkeypatch.setenv("TALKEX_URL", f"http://127.0.0.1:{standalone.port}/")
    monkeypatch.delenv("TALKEX_TOKEN", raising=False)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", STANDALONE_TOKEN)
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    return standalone


def test_the_kernel_speaks_as_its_owner_and_views_sign_in_themselves(
    on_a_hub: ServerThread,
) -> None:
    widget = ChatWidget(room="lobby", nickname="mallory")
    try:
        assert widget.nickname == "alice"
        assert widget.presence == {"alice": "online"}
        widget.nickname = "bob"
        assert widget.nickname == "alice"
        views = ViewSpy(widget)
        views.say({"kind": "hello", "view": "v1", "origin": "http://hub.example:8000"})
        config = views.wait(lambda m: m["kind"] == "config")
        assert config == {
            "kind": "config",
            "view": "v1",
            "server_url": f"http://127.0.0.1:{on_a_hub.port}/",
            "hub": True,
        }
        url = f"ws://127.0.0.1:{on_a_hub.port}/socket/websocket?vsn=2.0.0"
        views.say({"kind": "relay_open", "view": "v1", "conn": 1, "url": url})
        closed = views.wait(lambda m: m["kind"] == "relay_closed")
        assert closed["code"] == 1008 and "hub" in closed["reason"]
        assert STANDALONE_TOKEN not in repr(views.received)
    finally:
        widget.close()
