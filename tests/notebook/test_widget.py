"""ChatWidget in this process (no kernel, no browser): traits, the token handshake, the Python
API against a real server, and the comm relay's kernel end."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import ipywidgets
import nbformat
import pytest
from traitlets import TraitError

from talkex_widget import ChatWidget
from talkex_widget.core.rooms import iso_now
from talkex_widget.notebook.discovery import ServerInfo
from talkex_widget.notebook.embedded import ServerManager, ServerThread
from talkex_widget.notebook.relay import relay_target
from talkex_widget.notebook.widget import default_nickname, open_widgets

from .test_discovery import jupyter_dirs, servers, standalone  # noqa: F401 - shared fixtures

TOKEN = "standalone-token"


class Views:
    """Records what the kernel sends to the views; plays a view sending custom messages."""

    def __init__(self, widget: ChatWidget) -> None:
        self.widget = widget
        self.received: list[dict[str, Any]] = []
        self.arrived = threading.Condition()
        assert widget.comm is not None

        def comm_send(data: dict[str, Any], buffers: Any = None, **_: Any) -> None:
            if data.get("method") == "custom":
                with self.arrived:
                    self.received.append(data["content"])
                    self.arrived.notify_all()

        widget.comm.send = comm_send  # type: ignore[method-assign]

    def say(self, content: dict[str, Any]) -> None:
        self.widget._on_custom(self.widget, content, [])

    def wait(self, match: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> dict[str, Any]:
        with self.arrived:
            found = self.arrived.wait_for(
                lambda: next((m for m in self.received if match(m)), None), timeout
            )
        assert found, f"no matching message in {self.received}"
        return found


@pytest.fixture
def make_widget(
    servers: ServerManager,  # noqa: F811
    standalone: ServerThread,  # noqa: F811
) -> Iterator[Callable[..., ChatWidget]]:
    made: list[ChatWidget] = []

    def _make(**kwargs: Any) -> ChatWidget:
        kwargs.setdefault("server", f"http://127.0.0.1:{standalone.port}/?token={TOKEN}")
        widget = ChatWidget(**kwargs)
        made.append(widget)
        return widget

    yield _make
    for widget in made:
        widget.close()


def test_nickname_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_USER", "hubuser")
    assert default_nickname() == "hubuser"
    monkeypatch.delenv("JUPYTERHUB_USER")
    monkeypatch.setattr("getpass.getuser", lambda: "login")
    assert default_nickname() == "login"


def test_traits_and_saved_state_hold_no_token(
    make_widget: Callable[..., ChatWidget],
    standalone: ServerThread,  # noqa: F811
) -> None:
    widget = make_widget(room="lobby", nickname="ada")
    state = widget.get_state()
    assert {state[k] for k in ("room", "nickname", "status")} == {"lobby", "ada", "online"}
    assert state["server_url"] == f"http://127.0.0.1:{standalone.port}/"
    assert TOKEN not in json.dumps(state)
    # what a notebook saves: the widget manager state in its metadata
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": ipywidgets.Widget.get_manager_state()
    }
    saved = nbformat.writes(nb)
    assert widget.model_id in saved and TOKEN not in saved
    # a URL with a token given as the trait keeps the token out of it, too
    widget.server_url = f"http://127.0.0.1:{standalone.port}/?token={TOKEN}"
    assert widget.server_url == f"http://127.0.0.1:{standalone.port}/"


def test_views_get_the_token_by_custom_message(
    make_widget: Callable[..., ChatWidget],
    standalone: ServerThread,  # noqa: F811
) -> None:
    widget = make_widget(nickname="ada")
    views = Views(widget)
    views.say({"kind": "hello", "view": "v1"})
    assert views.received == [
        {
            "kind": "config",
            "view": "v1",
            "token": TOKEN,
            "server_url": f"http://127.0.0.1:{standalone.port}/",
        }
    ]


def test_bad_room_or_nickname_is_refused(make_widget: Callable[..., ChatWidget]) -> None:
    widget = make_widget(nickname="ada")
    with pytest.raises(TraitError, match="room name"):
        widget.room = "no spaces"
    with pytest.raises(TraitError, match="nickname"):
        widget.nickname = "\u202eevil"
    with pytest.raises(TraitError):
        widget.status = "asleep"
    with pytest.raises(TraitError):
        make_widget(room="", nickname="bob")


def test_python_api(
    make_widget: Callable[..., ChatWidget],
    standalone: ServerThread,  # noqa: F811
) -> None:
    ada = make_widget(room="lobby", nickname="ada")
    bob = make_widget(room="lobby", nickname="bob")
    heard: list[dict[str, Any]] = []
    bob.on_message(heard.append)

    first = ada.send("hello bob")
    assert isinstance(first, int)
    eventually_sync(lambda: [m["body"] for m in bob.messages] == ["hello bob"])
    assert bob.messages[0]["id"] == first and bob.messages[0]["author"] == "ada"
    eventually_sync(lambda: [m["body"] for m in heard] == ["hello bob"])
    assert bob.presence == {"ada": "online", "bob": "online"}

    ada.status = "away"
    eventually_sync(lambda: bob.presence == {"ada": "away", "bob": "online"})

    # a callback may use the blocking API: it runs on its own thread, not the client loop
    @bob.on_message
    def reply(message: dict[str, Any]) -> None:
        if message["body"] == "ping":
            bob.send("pong")

    ada.send("ping")
    eventually_sync(lambda: "pong" in [m["body"] for m in ada.messages])
    bob.on_message(reply, remove=True)

    # history: a newcomer holds the latest page and loads older ones on demand
    assert standalone.server is not None
    server = standalone.server

    async def seed() -> None:
        store = server.service.history
        for n in range(60):
            await store.append("lobby", "ada", f"n{n}", iso_now(), None)

    standalone.call(seed())
    cy = make_widget(room="lobby", nickname="cy")
    assert len(cy.messages) == 50 and cy.has_more
    older = cy.history(limit=100)
    assert [m["body"] for m in older][:2] == ["hello bob", "ping"]
    assert len(cy.messages) == 63 and not cy.has_more
    assert [m["id"] for m in cy.messages] == sorted(m["id"] for m in cy.messages)

    # a kernel object shared as a table arrives as one fenced message
    class Table:
        def to_string(self, max_rows: int, max_cols: int) -> str:
            return "   x  y\n0  1  2"

    shared = ada.share(Table(), caption="result")
    eventually_sync(lambda: any(m["id"] == shared for m in cy.messages))
    assert [m["body"] for m in cy.messages if m["id"] == shared] == [
        "result\n```\n   x  y\n0  1  2\n```"
    ]

    # changing the room rejoins there
    cy.room = "elsewhere"
    assert cy.messages == [] and cy.presence == {"cy": "online"}
    eventually_sync(lambda: "cy" not in ada.presence)


def test_servers_following_the_kernel_move_with_it(
    servers: ServerManager,  # noqa: F811
    standalone: ServerThread,  # noqa: F811
) -> None:
    widget = ChatWidget(room="lobby", nickname="ada")
    try:
        assert widget in open_widgets()
        views = Views(widget)
        views.say({"kind": "hello", "view": "v1"})
        embedded_url = widget.server_url
        assert servers.owned is not None and servers.owned.url == embedded_url
        url = f"http://127.0.0.1:{standalone.port}/"
        servers.connect(f"{url}?token={TOKEN}")
        assert widget.server_url == url
        views.wait(lambda m: m["kind"] == "config" and m["server_url"] == url)
        assert widget.send("on the standalone server") >= 1
    finally:
        widget.close()
    assert widget not in open_widgets()
    with pytest.raises(RuntimeError, match="it is closed"):
        widget.send("too late")


def test_relay_target_accepts_only_the_widgets_server() -> None:
    server = ServerInfo("http://127.0.0.1:4000/")
    ok = "ws://127.0.0.1:4000/socket/websocket?vsn=2.0.0&token=t&nickname=ada"
    assert relay_target(ok, server) == ok
    assert relay_target(ok.replace("127.0.0.1", "localhost"), server) is None
    assert relay_target(ok.replace("4000", "4001"), server) is None
    assert relay_target(ok.replace("ws:", "wss:"), server) is None
    assert relay_target(ok.replace("/socket/websocket", "/admin"), server) is None
    assert relay_target("ws://127.0.0.1:notaport/", server) is None
    assert relay_target(None, server) is None
    prefixed = ServerInfo("https://example.org:443/chat/")
    assert (
        relay_target("wss://EXAMPLE.org/chat/socket/websocket?vsn=2.0.0", prefixed)
        == "wss://example.org:443/chat/socket/websocket?vsn=2.0.0"
    )


def test_relay_carries_phoenix_frames(
    make_widget: Callable[..., ChatWidget],
    standalone: ServerThread,  # noqa: F811
) -> None:
    widget = make_widget(room="lobby", nickname="ada")
    views = Views(widget)
    url = f"ws://127.0.0.1:{standalone.port}/socket/websocket?token={TOKEN}&nickname=relayed&vsn=2.0.0"

    views.say({"kind": "relay_open", "view": "v1", "conn": 1, "url": url})
    views.wait(lambda m: m["kind"] == "relay_opened" and m.get("conn") == 1)
    join = ["1", "1", "room:lobby", "phx_join", {}]
    views.say({"kind": "relay_send", "view": "v1", "conn": 1, "data": json.dumps(join)})
    reply = views.wait(lambda m: m["kind"] == "relay_message" and '"phx_reply"' in m["data"])
    assert json.loads(reply["data"])[4]["status"] == "ok"
    eventually_sync(lambda: "relayed" in widget.presence)
    widget.send("to everyone")
    views.wait(lambda m: m["kind"] == "relay_message" and "to everyone" in m["data"])

    # a URL that is not the widget's server is refused, and nothing is opened
    views.say({"kind": "relay_open", "view": "v2", "url": "ws://127.0.0.1:9/socket/websocket"})
    closed = views.wait(lambda m: m["kind"] == "relay_closed" and m["view"] == "v2")
    assert closed["code"] == 1008

    # closed by the view: the server sees the socket go (presence leaves)
    views.say({"kind": "relay_close", "view": "v1", "conn": 1, "code": 1000, "reason": ""})
    eventually_sync(lambda: "relayed" not in widget.presence)
    assert widget._relays.count() == 0

    # a server that goes away is reported to the view
    views.say({"kind": "relay_open", "view": "v3", "url": url})
    views.wait(lambda m: m["kind"] == "relay_opened" and m["view"] == "v3")
    standalone.stop()
    closed = views.wait(lambda m: m["kind"] == "relay_closed" and m["view"] == "v3")
    assert closed["code"] == 1001


def eventually_sync(condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Poll from this (synchronous) thread: the widget's clients run on their own loop."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {condition}")
        time.sleep(0.01)


def test_token_stays_out_of_the_environment_of_repr(
    make_widget: Callable[..., ChatWidget],
) -> None:
    widget = make_widget(nickname="ada")
    assert TOKEN not in repr(widget) and TOKEN not in repr(widget._server)
    assert os.environ.get("TALKEX_TOKEN") is None


def test_cell_activity_is_the_first_line_of_code_short_and_printable() -> None:
    from talkex_widget.notebook.widget import cell_activity

    assert cell_activity("# load\n\nmodel.fit(X,\ty)\nmore()") == "running model.fit(X, y)"
    assert cell_activity("# only a comment\n   ") is None
    long = cell_activity("x = " + "1" * 200)
    assert long is not None and len(long) == 60 and long.endswith("…")
