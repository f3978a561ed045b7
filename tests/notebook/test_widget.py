"""ChatWidget in this process (no kernel, no browser): traits, the token handshake, the Python
API against a real server, and the comm relay's kernel end."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import ipywidgets
import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets import TraitError

from talkex_widget import ChatWidget
from talkex_widget.client import ConnectError
from talkex_widget.core.rooms import RoomRules, iso_now
from talkex_widget.notebook.discovery import ServerInfo
from talkex_widget.notebook.embedded import ServerManager, ServerThread
from talkex_widget.notebook.widget import default_nickname, open_widgets, registry
from talkex_widget.server.app import ServerConfig

from .conftest import STANDALONE_TOKEN as TOKEN
from .conftest import ViewSpy
from .threaded import PyClient, Trap, wait_until


def test_nickname_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_USER", "hubuser")
    assert default_nickname() == "hubuser"
    monkeypatch.delenv("JUPYTERHUB_USER")
    monkeypatch.setattr("getpass.getuser", lambda: "login")
    assert default_nickname() == "login"


def test_traits_and_saved_state_hold_no_token(
    make_widget: Callable[..., ChatWidget],
    standalone: ServerThread,
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
    standalone: ServerThread,
) -> None:
    ada = make_widget(room="lobby", nickname="ada")
    bob = make_widget(room="lobby", nickname="bob")
    heard: list[dict[str, Any]] = []
    bob.on_message(heard.append)

    first = ada.send("hello bob")
    assert isinstance(first, int)
    wait_until(lambda: [m["body"] for m in bob.messages] == ["hello bob"])
    assert bob.messages[0]["id"] == first and bob.messages[0]["author"] == "ada"
    wait_until(lambda: [m["body"] for m in heard] == ["hello bob"])
    wait_until(lambda: bob.presence == {"ada": "online", "bob": "online"}, what="both in bob's")

    ada.status = "away"
    wait_until(lambda: bob.presence == {"ada": "away", "bob": "online"})

    # a callback may use the blocking API: it runs on its own thread, not the client loop
    @bob.on_message
    def reply(message: dict[str, Any]) -> None:
        if message["body"] == "ping":
            bob.send("pong")

    ada.send("ping")
    wait_until(lambda: "pong" in [m["body"] for m in ada.messages])
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

    # a kernel result arrives as a structured message, to callbacks too
    received: list[dict[str, Any]] = []
    cy.on_message(received.append)
    shared = ada.share("print(1)", caption="result")
    wait_until(lambda: any(m["id"] == shared for m in received))
    (message,) = [m for m in cy.messages if m["id"] == shared]
    assert (message["kind"], message["body"], message["language"], message["caption"]) == (
        "code",
        "print(1)",
        "python",
        "result",
    )
    assert [m for m in received if m["id"] == shared] == [message]

    # changing the room rejoins there
    cy.room = "elsewhere"
    assert cy.messages == [] and cy.presence == {"cy": "online"}
    wait_until(lambda: "cy" not in ada.presence)


def test_servers_following_the_kernel_move_with_it(
    servers: ServerManager,
    standalone: ServerThread,
) -> None:
    widget = ChatWidget(room="lobby", nickname="ada")
    try:
        assert widget in open_widgets()
        views = ViewSpy(widget)
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


def test_token_stays_out_of_the_environment_of_repr(
    make_widget: Callable[..., ChatWidget],
) -> None:
    widget = make_widget(nickname="ada")
    assert TOKEN not in repr(widget) and TOKEN not in repr(widget._server)
    assert os.environ.get("TALKEX_TOKEN") is None


@pytest.fixture
def observer(standalone: ServerThread) -> Iterator[PyClient]:
    """``py`` in the standalone server's lobby: sees presence as the room does."""
    client = PyClient(ServerInfo(f"http://127.0.0.1:{standalone.port}/", TOKEN), "py", "lobby")
    yield client
    client.close()


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    """An in-process IPython whose cells the widgets watch (hooked when a widget opens)."""
    yield InteractiveShell.instance()
    registry.cells.unwatch()


def test_quick_cells_send_no_status(
    shell: InteractiveShell, make_widget: Callable[..., ChatWidget], observer: PyClient
) -> None:
    ada = make_widget(room="lobby", nickname="ada")
    assert registry.cells.watching
    wait_until(lambda: observer.meta("ada").get("status") == "online", what="ada at py")
    joined_ref = observer.meta("ada")["phx_ref"]
    shell.user_ns["ada"] = ada
    for cell in ("x = 1", "ada.presence", "ada.messages"):
        assert shell.run_cell(cell).success
    ada.status = "away"  # a change that is seen: anything sent before it has arrived
    wait_until(lambda: observer.meta("ada").get("status") == "away", what="ada away")
    assert observer.meta("ada")["phx_ref_prev"] == joined_ref
    assert observer.statuses("ada") == ["away"]


def test_a_long_cell_says_busy_after_busy_after_and_back_when_it_ends(
    shell: InteractiveShell, make_widget: Callable[..., ChatWidget], observer: PyClient
) -> None:
    ada = make_widget(room="lobby", nickname="ada", status="away", busy_after=0.3)
    wait_until(lambda: observer.meta("ada").get("status") == "away", what="ada at py")
    started = time.monotonic()
    assert shell.run_cell("import time\ntime.sleep(0.8)").success
    # back to the status ada chose, not to "online"
    wait_until(lambda: observer.statuses("ada") == ["busy", "away"], what="busy, then away")
    (busy_at,) = [t for t, who, s in observer.announced if (who, s) == ("ada", "busy")]
    assert busy_at - started >= 0.3
    assert "activity" not in observer.meta("ada")

    ada.busy_while_running = False
    assert shell.run_cell("time.sleep(0.5)").success
    ada.status = "online"  # seen: anything sent before it has arrived
    wait_until(lambda: observer.meta("ada").get("status") == "online", what="ada online")
    assert observer.statuses("ada") == ["busy", "away", "online"]


def test_busy_after_is_seconds_not_below_zero(make_widget: Callable[..., ChatWidget]) -> None:
    widget = make_widget(nickname="ada")
    assert widget.busy_after == 2.0 and widget.busy_while_running
    with pytest.raises(TraitError):
        widget.busy_after = -1


def test_share_follows_the_servers_body_limit(servers: ServerManager) -> None:
    small = ServerThread(ServerConfig(port=0, token=TOKEN, rules=RoomRules(max_body=300))).start()
    widget = ChatWidget(nickname="ada", server=f"http://127.0.0.1:{small.port}/?token={TOKEN}")
    try:
        shared = widget.share("\n".join(f"line {i}" for i in range(500)), caption="log")
        wait_until(lambda: any(m["id"] == shared for m in widget.messages), what="shared")
        (body,) = [m["body"] for m in widget.messages if m["id"] == shared]
        assert len(body) <= 300 and body.startswith("line 0\n")
        assert body.endswith("… (truncated)")
    finally:
        widget.close()
        small.stop()


def test_the_environments_token_goes_only_to_talkex_url(
    servers: ServerManager, standalone: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{standalone.port}/"
    monkeypatch.setenv("TALKEX_URL", url)
    monkeypatch.setenv("TALKEX_TOKEN", TOKEN)
    widget = ChatWidget(nickname="ada", timeout=1)
    trap = Trap()
    try:
        assert widget.send("with the environment's token") >= 1
        with pytest.raises(ConnectError):  # the trap hangs up without answering
            widget.server_url = trap.url  # Python may move the widget: not with that token
        wait_until(lambda: trap.connections and trap.received[0], what="the trap's request")
        assert b"GET /socket/websocket" in trap.received[0]
        assert TOKEN.encode() not in trap.received[0]
        widget.server_url = url  # back home: the environment's token again
        assert widget.send("home again") >= 1
    finally:
        widget.close()
        trap.close()
